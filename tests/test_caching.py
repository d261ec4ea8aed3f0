"""Feature caching for frozen bases (zoo.harness.caching) on real TensorFlow, and mixed precision.

Tolerance: the cached head is compared with the uncached one at rtol=1e-5, atol=1e-6. Both see
the same batches in the same order (make_dataset, same seed), the same dropout masks (the head's
own seed generators) and the same optimizer; the only difference is that the backbone's features
come from one inference pass instead of one per step, which on CPU gives identical float32 values
(measured: bit-identical), so the bound leaves room for other kernels only.
"""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from builders import HeadConfig, TransformerBackbone, get_backbone, unfreeze
from zoo.data.types import Dataset, Split
from zoo.harness.build import build_model
from zoo.harness.caching import adapt_frozen_head, can_cache, extract_features, fit_cached, padded_batches
from zoo.harness.pipeline import make_dataset
from zoo.tasks import get_task

RTOL, ATOL = 1e-5, 1e-6
EPOCHS, BATCH = 3, 8


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)

    def split(m):
        x = rng.random((m, 8, 8, 1), dtype="float32")
        return Split(x, (x.mean(axis=(1, 2, 3)) > 0.5).astype("int64"))

    return Dataset(split(n), split(16), split(16), meta={"num_classes": 2, "input_shape": [8, 8, 1]})


def _task(freeze=True, **preprocessing):
    task = get_task("medical/breastmnist").with_overrides(
        freeze=freeze, backbone_params={"filters": [4, 8], "dropout": 0.5}
    )
    # A head with dropout: its masks must match between the two paths too.
    return dataclasses.replace(task, head=HeadConfig("binary", hidden_units=[6], dropout=0.3),
                               preprocessing=preprocessing)


def _build(task, data, dtype=None):
    keras.utils.set_random_seed(0)
    return build_model(task, data, dtype=dtype)


def _early_stopping():
    return [keras.callbacks.EarlyStopping("val_loss", patience=1, restore_best_weights=True)]


def _fit_both(task, data, dtype=None, class_weight=None, **cached_kwargs):
    tf.config.experimental.enable_op_determinism()
    plain = _build(task, data, dtype)
    adapt_frozen_head(plain, data.train.x)  # the uncached path's head standardization, as the harness makes it
    history = plain.fit(make_dataset(data.train.x, data.train.y, BATCH, shuffle=True, seed=3),
                        validation_data=make_dataset(data.val.x, data.val.y, BATCH), epochs=EPOCHS,
                        callbacks=_early_stopping(), class_weight=class_weight, verbose=0, shuffle=False).history
    cached = _build(task, data, dtype)
    assert can_cache(task, cached) == (True, "on")
    cached_history = fit_cached(cached, (data.train.x, data.train.y), (data.val.x, data.val.y), batch_size=BATCH,
                                epochs=EPOCHS, seed=3, callbacks=_early_stopping(), class_weight=class_weight,
                                verbose=0, **cached_kwargs).history
    return plain, history, cached, cached_history


def _assert_same_head(plain, cached):
    head, other = plain.get_layer("head"), cached.get_layer("head")
    assert len(head.weights) == 7  # feature standardization (mean, variance, count) + hidden Dense + output Dense
    for a, b in zip(head.weights, other.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=RTOL, atol=ATOL, err_msg=a.path)


def test_cached_head_matches_the_uncached_fit():
    data = _data()
    plain, history, cached, cached_history = _fit_both(_task(), data)
    assert sorted(cached_history) == sorted(history)
    for key in history:
        np.testing.assert_allclose(cached_history[key], history[key], rtol=RTOL, atol=ATOL, err_msg=key)
    _assert_same_head(plain, cached)
    # Training moved the head (so the comparison is not of two untouched initialisations) and the
    # backbone never moved.
    untrained = _build(_task(), data)
    assert not np.allclose(untrained.get_layer("head").weights[0].numpy(), cached.get_layer("head").weights[0].numpy())
    for a, b in zip(untrained.get_layer("cnn_backbone_inference").weights,
                    cached.get_layer("cnn_backbone_inference").weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # The model's own optimizer did the steps, as a plain fit leaves it.
    assert int(cached.optimizer.iterations) == int(plain.optimizer.iterations) > 0


def test_features_on_disk_give_the_same_head(tmp_path):
    data = _data()
    plain, _, cached, _ = _fit_both(_task(), data, cache_dir=tmp_path, max_memory_bytes=0, keep_files=True)
    assert {p.name for p in tmp_path.iterdir()} == {"train_features.npy", "val_features.npy"}
    assert np.load(tmp_path / "train_features.npy").shape == (len(data.train), 8)
    _assert_same_head(plain, cached)


def test_class_weights_give_the_same_head_and_history():
    plain, history, cached, cached_history = _fit_both(_task(), _data(), class_weight={0: 3.0, 1: 0.5})
    for key in history:
        np.testing.assert_allclose(cached_history[key], history[key], rtol=RTOL, atol=ATOL, err_msg=key)
    _assert_same_head(plain, cached)
    unweighted = _fit_both(_task(), _data())[1]
    assert not np.isclose(unweighted["loss"][0], history["loss"][0])  # the weights changed the training


def test_cached_model_saves_and_reloads_with_the_same_predictions(tmp_path):
    data = _data()
    model = _build(_task(), data)
    fit_cached(model, (data.train.x, data.train.y), (data.val.x, data.val.y), batch_size=BATCH, epochs=2, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(data.test.x, verbose=0), model.predict(data.test.x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    assert not loaded.get_layer("head").compiled  # the head trainer left nothing behind


def test_caching_is_off_with_a_reason_when_invalid():
    data = _data()
    unfrozen = _task(freeze=False)
    assert can_cache(unfrozen, _build(unfrozen, data)) == (False, "off: the backbone is trained (freeze=False)")

    augmented = _task(augment=True)
    assert can_cache(augmented, _build(augmented, data)) == (False, "off: the inputs are augmented")
    assert can_cache(_task(), _build(_task(), data), augment=True) == (False, "off: the inputs are augmented")

    model = _build(_task(), data)
    unfreeze(model, num_layers=1)  # a fine-tuning phase: the backbone trains again
    assert can_cache(None, model) == (False, "off: the backbone has trainable weights (unfrozen)")

    # An augmentation layer between the inputs and the frozen backbone changes every epoch's features.
    base = _build(_task(), data)
    inputs = keras.Input((8, 8, 1))
    flipped = keras.layers.RandomFlip(name="flip")(inputs)
    outputs = base.get_layer("head")(base.get_layer("cnn_backbone_inference")(flipped))
    wrapped = keras.Model(inputs, outputs)
    wrapped.compile("adam", "binary_crossentropy")
    ok, reason = can_cache(_task(), wrapped)
    assert not ok and reason.startswith("off: the model is not inputs -> frozen backbone -> head") and "flip" in reason

    # Under any tf.distribute strategy, even OneDeviceStrategy whose variables are plain (not DistributedValues),
    # the cached head's updates outside a replica context fail in Keras's optimizer ("NoneType has no attribute
    # merge_call", measured), so the check is on the strategy, not on the variables.
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        one_device = _build(_task(), data)
    assert not isinstance(one_device.trainable_weights[0].value, tf.distribute.DistributedValues)
    assert can_cache(_task(), one_device)[1].startswith("off: OneDeviceStrategy with 1 replica(s)")


def test_mixed_bfloat16_head_output_and_loss_are_float32():
    data = _data(n=16)
    model = _build(_task(freeze=False), data, dtype="mixed_bfloat16")
    backbone = get_backbone(model)
    assert backbone.compute_dtype == "bfloat16" and backbone.output.dtype == "bfloat16"
    x, y = data.train.x, data.train.y
    out = model(x, training=True)
    assert out.dtype == tf.float32 and model.get_layer("head").get_layer("predictions").compute_dtype == "float32"
    loss = model.compute_loss(x=x, y=y, y_pred=out)
    assert loss.dtype == tf.float32
    history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_cached_head_matches_under_mixed_bfloat16():
    plain, _, cached, _ = _fit_both(_task(), _data(), dtype="mixed_bfloat16")
    _assert_same_head(plain, cached)


def test_harness_reports_whether_the_cache_was_used(tmp_path):
    import zoo

    task = get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params={"hidden_units": [8]})
    frozen = zoo.fit(task, out_dir=tmp_path, epochs=2, freeze=True, verbose=0)
    assert frozen.report["feature_cache"] == "on"
    loaded = keras.models.load_model(frozen.run_dir / "model.keras", safe_mode=True)
    x = zoo.data.load_dataset("breast_cancer").test.x
    np.testing.assert_allclose(loaded.predict(x, verbose=0), frozen.model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    uncached = zoo.fit(task, out_dir=tmp_path, epochs=2, freeze=True, feature_cache=False, verbose=0)
    assert uncached.report["feature_cache"] == "off: feature_cache=False"
    np.testing.assert_allclose(frozen.history["val_loss"], uncached.history["val_loss"], rtol=RTOL, atol=ATOL)
    trained = zoo.fit(task, out_dir=tmp_path, epochs=1, freeze=False, verbose=0)
    assert trained.report["feature_cache"] == "off: the backbone is trained (freeze=False)"
    # Under a tf.distribute strategy (here MirroredStrategy on one device) the head trains uncached: the cached
    # loop's updates outside a replica context failed with TensorFlow's DistributedVariable error.
    mirrored = zoo.fit(task, out_dir=tmp_path, epochs=2, freeze=True, strategy="mirrored", fine_tune_epochs=1,
                       verbose=0)
    assert mirrored.report["feature_cache"].startswith("off: MirroredStrategy")


def test_fit_head_resumes_from_its_backup_after_an_interruption(tmp_path):
    """A run killed after its second epoch resumes at the third and ends as the run never stopped: the
    head's weights, optimizer state, dropout seed states and early stopping's progress come back from
    the backup, the skipped shuffles are replayed, and the history holds every epoch."""
    from zoo.harness.caching import fit_head
    from zoo.harness.distributed import IntervalBackupAndRestore

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("killed")

    x = np.random.default_rng(0).random((32, 3), dtype="float32")

    def trainer():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(6), keras.layers.Dropout(0.3),
                                  keras.layers.Dense(1)])
        model.compile("adam", "mse")
        return model

    def train(model, backup_dir, *extra):
        stop = keras.callbacks.EarlyStopping("val_loss", patience=3, restore_best_weights=True)
        backup = IntervalBackupAndRestore(backup_dir, track=[stop])
        ds = make_dataset(x, x.sum(axis=1, keepdims=True), 8, shuffle=True)  # a new process's: no orders drawn yet
        fit_head(model, ds, make_dataset(x, x.sum(axis=1, keepdims=True), 8), epochs=5,
                 callbacks=[stop, *extra, backup], verbose=0)
        return backup.history

    reference = trainer()
    expected = train(reference, tmp_path / "reference")
    with pytest.raises(RuntimeError, match="killed"):
        train(trainer(), tmp_path / "backup", Interrupt())
    resumed = trainer()
    assert train(resumed, tmp_path / "backup") == expected and len(expected["loss"]) == 5
    assert int(resumed.optimizer.iterations) == 5 * 4  # 2 epochs restored + 3 run, 4 steps each
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_token_features_from_trimmed_batches_match_the_padded_pass():
    # extract_features sorts token ids by length and cuts each batch to its longest row; with the padding
    # masked, every row's features must equal those of the full-length, unsorted pass.
    keras.utils.set_random_seed(0)
    backbone = TransformerBackbone(sequence_length=12, vocabulary_size=30, hidden_dim=8, num_layers=2, num_heads=2,
                                   intermediate_dim=16, dropout=0.3)
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 13, size=37)
    ids = np.where(np.arange(12) < lengths[:, None], rng.integers(1, 30, size=(37, 12)), 0).astype("int32")
    padded = backbone.predict(ids, batch_size=37, verbose=0)
    np.testing.assert_allclose(extract_features(backbone, ids, batch_size=5), padded, rtol=RTOL, atol=1e-5)
    assert len({batch.shape[1] for _, batch in padded_batches(ids, 5)}) > 3  # the batches were cut


def test_features_of_many_models_in_one_process_trace_without_retracing_warnings(caplog):
    from builders import TabularBackbone

    x = {"numeric": np.random.default_rng(0).normal(size=(10, 3)).astype("float32")}
    with caplog.at_level("WARNING", logger="tensorflow"):
        for _ in range(8):  # e.g. zoo transfer's seeds x label budgets, each a new model
            assert extract_features(TabularBackbone(num_numeric=3, hidden_units=(4,)), x, batch_size=4).shape == (10, 4)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_a_frozen_heads_features_are_standardized_on_both_paths():
    """A frozen base's features can vary over a range far from 1 (a small contrastive preset's: mean |f| 0.31,
    spread 0.08): a head at the task's learning rate barely moved, and learned only the class prior (train AUC
    0.43 after 20 epochs). Its input is now standardized with the training features' statistics."""
    data = _data()
    cached = _build(_task(), data)
    assert cached.get_layer("head").layers[0].name == "feature_normalization"
    fit_cached(cached, (data.train.x, data.train.y), None, batch_size=BATCH, epochs=1, verbose=0)
    features = extract_features(get_backbone(cached), data.train.x)
    standardized = cached.get_layer("head").get_layer("feature_normalization")(features).numpy()
    np.testing.assert_allclose(standardized.mean(axis=0), 0.0, atol=1e-4)  # each feature centred
    assert np.sqrt(np.mean(standardized.var(axis=0))) == pytest.approx(1.0, rel=1e-3)  # unit overall scale
    ratio = standardized.std(axis=0) / features.std(axis=0)  # one scale for all: a near-constant one is not blown up
    np.testing.assert_allclose(ratio[features.std(axis=0) > 1e-6], ratio.max(), rtol=1e-3)
    uncached = _build(_task(), data)
    assert adapt_frozen_head(uncached, data.train.x)
    norm = [m.get_layer("head").get_layer("feature_normalization") for m in (cached, uncached)]
    np.testing.assert_allclose(norm[0].mean.numpy(), norm[1].mean.numpy(), rtol=1e-6)
    scratch = _build(_task(freeze=False), data)  # trained end to end: no standardization, nothing to adapt
    assert all(la.name != "feature_normalization" for la in scratch.get_layer("head").layers)
    assert not adapt_frozen_head(scratch, data.train.x)
