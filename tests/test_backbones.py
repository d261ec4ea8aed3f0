"""One battery for every registered backbone (as keras-hub's run_backbone_test): output shape,
config round-trip, save/load with identical predictions in safe mode, a fit step, frozen weights
(BatchNorm statistics included) unchanged, unfreeze, and local keras-hub presets."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import keras_hub
import numpy as np
import pytest
from backbone_fixtures import TINY, registry_name, sample_inputs

import builders
from builders import HeadConfig, build_backbone, build_head, get_backbone, transfer_model, unfreeze
from builders.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

CASES = sorted(TINY)


def make(case):
    keras.utils.set_random_seed(1)
    return build_backbone(registry_name(case), **TINY[case])


def test_every_registered_backbone_has_a_tiny_config():
    assert set(builders.list_backbones()) <= {registry_name(c) for c in CASES}


@pytest.mark.parametrize("case", CASES)
def test_output_shape_and_config_round_trip(case):
    backbone = make(case)
    x = sample_inputs(case)
    features = backbone(x)
    assert features.shape == (8, backbone.output_dim)
    config = backbone.get_config()
    clone = backbone.__class__.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(backbone.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), backbone.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_transfer_model_saves_and_reloads_in_safe_mode(case, tmp_path):
    backbone = make(case)
    model = transfer_model(backbone, build_head(HeadConfig("multiclass", 3), backbone.output_dim), freeze=False)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = sample_inputs(case)
    model.fit(x, np.arange(8) % 3, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert type(get_backbone(loaded)) is type(backbone)


@pytest.mark.parametrize("case", ["cnn", "tabular"])
def test_frozen_backbone_stays_frozen_after_reload(case, tmp_path):
    backbone = make(case)
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=True)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert len(loaded.trainable_weights) == len(model.trainable_weights) == 2
    assert not get_backbone(loaded).trainable_weights


def _snapshot(layer):
    return [w.numpy().copy() for w in layer.weights]


@pytest.mark.parametrize("case", CASES)
def test_frozen_base_keeps_every_backbone_weight_and_statistic(case):
    backbone = make(case)
    head = build_head(HeadConfig("binary", hidden_units=[4]), backbone.output_dim)
    model = transfer_model(backbone, head, freeze=True)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    before_base, before_head = _snapshot(backbone), _snapshot(head)
    model.fit(sample_inputs(case, 16), np.arange(16) % 2, epochs=2, batch_size=4, verbose=0)
    for a, b in zip(before_base, _snapshot(backbone), strict=True):
        np.testing.assert_array_equal(a, b)  # includes BatchNorm moving mean/variance
    assert any(not np.array_equal(a, b) for a, b in zip(before_head, _snapshot(head), strict=True))


def test_a_backbone_trained_from_scratch_uses_dropout_and_batch_statistics():
    backbone = make("cnn")
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=False)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    x = sample_inputs("cnn", 16)
    assert not np.allclose(model(x, training=True), model(x, training=False))  # BatchNorm and Dropout are live
    bn = backbone.get_layer("stem_bn")
    mean_before = bn.moving_mean.numpy().copy()
    model.fit(x, np.arange(16) % 2, epochs=1, batch_size=4, verbose=0)
    assert not np.array_equal(mean_before, bn.moving_mean.numpy())


def test_an_unfrozen_pretrained_base_keeps_its_batchnorm_statistics_but_weights_train():
    backbone = make("cnn")
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=True)
    model.compile("adam", "binary_crossentropy")
    unfreeze(model, learning_rate=0.05)  # fine-tuning: keras#9214
    bn = backbone.get_layer("stem_bn")
    mean_before, kernel_before = bn.moving_mean.numpy().copy(), backbone.get_layer("stem_conv").kernel.numpy().copy()
    x = sample_inputs("cnn", 16)
    np.testing.assert_array_equal(model(x, training=True), model(x, training=False))
    model.fit(x, np.arange(16) % 2, epochs=1, batch_size=4, verbose=0)
    np.testing.assert_array_equal(mean_before, bn.moving_mean.numpy())
    assert not np.array_equal(kernel_before, backbone.get_layer("stem_conv").kernel.numpy())


def test_unfreeze_makes_exactly_the_chosen_layers_trainable_and_takes_effect():
    backbone = make("cnn")
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim))
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    x, y = sample_inputs("cnn", 16), np.arange(16) % 2
    model.fit(x, y, epochs=1, verbose=0)
    names = unfreeze(model, num_layers=2, learning_rate=1e-3)
    assert names == ["stage1_block0_conv2", "stage1_block0_proj"]
    trainable = {layer.name for layer in backbone._flatten_layers(include_self=False) if layer.trainable_weights}
    assert trainable == set(names)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    frozen = backbone.get_layer("stem_conv").kernel.numpy().copy()
    chosen = backbone.get_layer("stage1_block0_conv2").kernel.numpy().copy()
    model.fit(x, y, epochs=1, verbose=0)  # no recompile by the user
    np.testing.assert_array_equal(frozen, backbone.get_layer("stem_conv").kernel.numpy())
    assert not np.array_equal(chosen, backbone.get_layer("stage1_block0_conv2").kernel.numpy())
    assert "accuracy" in model.evaluate(x, y, return_dict=True, verbose=0)


def test_a_partly_unfrozen_model_reloads_with_the_same_layers_frozen_and_its_optimizer_state(tmp_path):
    backbone = make("cnn")
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=True)
    model.compile("adam", "binary_crossentropy")
    unfreeze(model, num_layers=2)  # BatchNorm stays frozen too
    x, y = sample_inputs("cnn", 16), np.arange(16) % 2
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: "Skipping variable loading for optimizer 'adam'" (state lost)
        loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert [v.path.split("/")[-2:] for v in loaded.trainable_weights] == [
        v.path.split("/")[-2:] for v in model.trainable_weights]  # 4 of them; before: every BatchNorm's too
    for mine, theirs in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    mean = get_backbone(loaded).get_layer("stem_bn").moving_mean.numpy().copy()
    loaded.fit(x, y, epochs=1, batch_size=4, verbose=0)  # training on after the reload: BatchNorm still frozen
    np.testing.assert_array_equal(mean, get_backbone(loaded).get_layer("stem_bn").moving_mean.numpy())


def test_unfreeze_all_and_none():
    backbone = make("rnn")
    model = transfer_model(backbone, build_head(HeadConfig("regression"), backbone.output_dim))
    assert unfreeze(model, num_layers=0) == []
    assert len(unfreeze(model)) == 4  # two bidirectional layers, two directions each
    assert backbone.trainable_weights
    unfreeze(model, num_layers=0)
    assert len(unfreeze(model, num_layers=6)) == 4  # more than there are: all (the slice wrapped round to the last 2)


def test_unfreeze_keeps_the_compile_settings_and_loss_scaling():
    backbone = make("tabular")
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim))
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01)), "binary_crossentropy",
                  metrics=["auc"], weighted_metrics=["accuracy"])
    x, y = sample_inputs("tabular", 16), np.arange(16) % 2
    model.fit(x, y, epochs=1, verbose=0)
    unfreeze(model, learning_rate=1e-3)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    model.fit(x, y, sample_weight=np.ones(16), epochs=1, verbose=0)
    assert {"auc", "accuracy"} <= set(model.evaluate(x, y, return_dict=True, verbose=0))  # accuracy was dropped


@pytest.mark.parametrize("case", ["cnn", "transformer", "tabular"])
def test_local_keras_hub_preset_round_trip(case, tmp_path):
    backbone = make(case)
    backbone.save_to_preset(str(tmp_path / "preset"))
    loaded = keras_hub.models.Backbone.from_preset(str(tmp_path / "preset"))
    x = sample_inputs(case)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), backbone.predict(x, verbose=0), atol=1e-6)


def test_mixed_precision_dtype_reaches_every_layer():
    backbone = build_backbone("transformer", dtype="mixed_float16", **TINY["transformer"])
    head = build_head(HeadConfig("binary"), backbone.output_dim, dtype="mixed_float16")
    policies = {
        layer.dtype_policy.name
        for layer in backbone._flatten_layers(include_self=False)
        if not isinstance(layer, keras.layers.InputLayer)
    }
    assert policies == {"mixed_float16"}
    model = transfer_model(backbone, head)
    assert model(sample_inputs("transformer")).dtype == "float32"


def _policies(model):
    """The dtype policies of a model and all its layers, nested ones included (not its float inputs)."""
    inputs = [layer for layer in model.layers if isinstance(layer, keras.layers.InputLayer)]
    return {layer.dtype_policy.name for layer in model._flatten_layers(recursive=True) if layer not in inputs}


def test_mixed_precision_dtype_reaches_every_layer_of_an_application_network(tmp_path):
    """The keras.applications network was built float32 whatever the dtype: only the resize, grey-to-RGB
    and rescaling layers around it were mixed_float16."""
    backbone = build_backbone("application", dtype="mixed_float16", **TINY["application"])
    network = [layer for layer in backbone.layers if isinstance(layer, keras.Model)][0]
    assert len(list(network._flatten_layers(include_self=False))) > 100
    assert _policies(backbone) == {"mixed_float16"}
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim, dtype="mixed_float16"))
    x = sample_inputs("application")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert _policies(get_backbone(loaded)) == {"mixed_float16"}
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert keras.config.dtype_policy().name == "float32"


def test_tabular_columns_are_normalized_in_float32_under_mixed_precision():
    """A column of variance above float16's 65,504 (breast cancer's areas, credit amounts) came out of a
    float16 normalization as exactly 0: the column was lost under --precision mixed_float16."""
    from builders import TabularBackbone

    rng = np.random.default_rng(0)
    x = {"numeric": np.stack([rng.normal(2500, 600, 256), rng.normal(0, 1, 256)], axis=1).astype("float32")}
    backbone = TabularBackbone(num_numeric=2, hidden_units=(4,), dtype="mixed_float16")
    backbone.adapt(x)
    normalized = keras.Model(backbone.input, backbone.get_layer("normalization").output)(x)
    np.testing.assert_allclose(np.std(keras.ops.convert_to_numpy(normalized), axis=0), [1.0, 1.0], rtol=0.01)


def test_bad_arguments_raise_config_errors():
    with pytest.raises(builders.errors.ConfigError, match="num_heads=3 must divide hidden_dim=8"):
        build_backbone("transformer", sequence_length=4, vocabulary_size=5, hidden_dim=8, num_heads=3)
    with pytest.raises(builders.errors.UnknownNameError, match="Known backbones"):
        build_backbone("resnet9000")
    with pytest.raises(builders.errors.UnknownNameError, match="It takes"):
        build_backbone("rnn", num_features=3, colour="red")
    with pytest.raises(builders.errors.ConfigError, match="cell must be"):
        build_backbone("rnn", num_features=3, cell="tcn")


@pytest.mark.parametrize("kind,shape", [("binary", (8, 1)), ("multiclass", (8, 3)), ("multilabel", (8, 3)),
                                        ("regression", (8, 3)), ("forecast", (8, 4, 3))])
def test_heads(kind, shape, tmp_path):
    head = build_head(HeadConfig(kind, num_outputs=shape[-1], horizon=4, output_scale=2.0), 5)
    out = head(np.ones((8, 5), "float32"))
    assert out.shape == shape and out.dtype == "float32"
    head.save(tmp_path / "h.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "h.keras").predict(np.ones((8, 5)), verbose=0), out, rtol=1e-5)


def test_cnn_batchnorm_momentum_reaches_every_batchnorm_layer():
    backbone = builders.CNNBackbone(input_shape=(8, 8, 1), filters=(4, 8), batch_norm_momentum=0.8)
    norms = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 6 and {layer.momentum for layer in norms} == {0.8}
    assert builders.CNNBackbone.from_config(backbone.get_config()).get_layer("stem_bn").momentum == 0.8


def test_cnn_stem_stride_halves_the_first_stage_and_round_trips():
    backbone = builders.CNNBackbone(input_shape=(28, 28, 1), filters=(4, 8), stem_stride=2)
    assert backbone.get_layer("stem_conv").output.shape[1:3] == (14, 14)
    assert backbone.get_layer("stage1_block0_out").output.shape[1:3] == (7, 7)
    again = builders.CNNBackbone.from_config(backbone.get_config())
    assert again.get_layer("stem_conv").strides == (2, 2) and again.count_params() == backbone.count_params()


# Trains a CNN whose stage-1 projection reads 8 channels on batches of 23 with 2 intra-op threads: with a 1x1
# stride-2 convolution there, oneDNN's weight gradient overran its workspace (uxlfoundation/oneDNN#6035) and the
# process died with "double free or corruption" or a segfault (3 of 3 runs before the fix).
_NARROW_PROJECTION_FIT = """
import numpy as np, tensorflow as tf, keras, builders
tf.config.threading.set_intra_op_parallelism_threads(2)
keras.utils.set_random_seed(0)
backbone = builders.CNNBackbone(input_shape=(28, 28, 1), filters=(8, 16))
model = keras.Sequential([backbone, keras.layers.Dense(1, activation="sigmoid")])
model.compile("adam", "binary_crossentropy")
x = np.random.default_rng(0).random((23, 28, 28, 1), dtype="float32")
model.fit(x, (x.mean((1, 2, 3)) > 0.5).astype("float32"), batch_size=23, epochs=3, verbose=0)
print("trained")
"""


def test_cnn_trains_a_narrow_strided_projection_on_an_odd_batch_without_crashing():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    done = subprocess.run([sys.executable, "-c", _NARROW_PROJECTION_FIT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "trained" in done.stdout, (done.returncode, done.stderr[-2000:])


def test_cnn_narrow_strided_projection_subsamples_then_convolves_as_the_strided_convolution():
    backbone = builders.CNNBackbone(input_shape=(28, 28, 1), filters=(8, 16))
    proj, subsample = backbone.get_layer("stage1_block0_proj"), backbone.get_layer("stage1_block0_proj_subsample")
    assert proj.strides == (1, 1) and subsample.stride == 2 and subsample.output.shape[1:3] == (14, 14)
    x = np.random.default_rng(0).random((3, 28, 28, 8), dtype="float32")
    strided = keras.ops.conv(x, proj.kernel, strides=2, padding="valid")
    np.testing.assert_allclose(proj(subsample(x)), strided, rtol=1e-6, atol=1e-6)
    wide = builders.CNNBackbone(input_shape=(28, 28, 1), filters=(16, 32))  # unaffected: unchanged layers
    assert wide.get_layer("stage1_block0_proj").strides == (2, 2)
    assert not [layer for layer in wide.layers if isinstance(layer, builders.backbones.cnn.Subsample2D)]
    again = builders.CNNBackbone.from_config(backbone.get_config())
    assert again.get_layer("stage1_block0_proj_subsample").stride == 2


def test_tabular_all_layers_output_includes_the_normalized_columns():
    backbone = builders.TabularBackbone(num_numeric=3, hidden_units=(8, 4), output="all")
    x = {"numeric": np.random.default_rng(0).normal(size=(16, 3)).astype("float32")}
    backbone.adapt(x)
    features = np.asarray(backbone(x))
    assert features.shape == (16, 3 + 8 + 4)
    np.testing.assert_allclose(features[:, :3], np.asarray(backbone.get_layer("normalization")(x["numeric"])))
    with pytest.raises(builders.errors.ConfigError, match="output must be"):
        builders.TabularBackbone(num_numeric=3, architecture="transformer", output="all")


def test_tabular_interactions_are_computed_in_the_model_and_normalized_on_their_own():
    rng = np.random.default_rng(0)
    raw = np.stack([rng.uniform(295, 305, 64), rng.uniform(1200, 2900, 64), rng.uniform(3, 77, 64)], 1)
    x = {"numeric": raw.astype("float32")}
    interactions = [["difference", 1, 0], ["product", 1, 2]]
    backbone = builders.TabularBackbone(num_numeric=3, hidden_units=(8,), interactions=interactions, output="all")
    backbone.adapt(x)
    derived = np.stack([raw[:, 1] - raw[:, 0], raw[:, 1] * raw[:, 2]], 1)
    np.testing.assert_allclose(np.asarray(backbone.get_layer("interactions")(x["numeric"])), derived, rtol=1e-6)
    features = np.asarray(backbone(x))
    assert features.shape == (64, 3 + 2 + 8)
    # The derived columns (a product up to ~2e5) reach the MLP standardized, beside the standardized columns.
    np.testing.assert_allclose(features[:, :5].mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(features[:, :5].std(axis=0), 1.0, rtol=1e-3)
    numpy_index = builders.TabularBackbone(num_numeric=3, interactions=[["product", np.int64(0), 2]])
    assert numpy_index.get_config()["interactions"] == [["product", 0, 2]]  # JSON-serializable ints
    for bad in (["ratio", 0, 1], ["product", 0, 3], ["product", 0], "product", ["product", True, 1]):
        with pytest.raises(builders.errors.ConfigError, match="each interaction is"):
            builders.TabularBackbone(num_numeric=3, interactions=[bad])


def test_rnn_all_output_appends_the_last_step_and_the_window_mean():
    backbone = builders.RNNBackbone(sequence_length=5, num_features=3, units=4, output="all")
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    features = np.asarray(backbone(x))
    assert features.shape == (2, 4 + 3 + 3)
    np.testing.assert_allclose(features[:, 4:7], x[:, -1, :])
    np.testing.assert_allclose(features[:, 7:], x.mean(axis=1), rtol=1e-6)
    with pytest.raises(builders.errors.ConfigError, match="output must be"):
        builders.RNNBackbone(sequence_length=5, vocabulary_size=10, output="all")


def test_cnn_augmentation_is_live_from_scratch_and_off_in_a_frozen_base(tmp_path):
    x = sample_inputs("cnn")
    keras.utils.set_random_seed(0)
    backbone = builders.CNNBackbone(input_shape=x.shape[1:], filters=(4, 8), augmentation=0.2)
    scratch = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=False)
    assert not np.allclose(scratch(x, training=True), scratch(x, training=True))  # a new draw every step
    np.testing.assert_array_equal(scratch(x, training=False), scratch(x, training=False))
    scratch.compile("adam", "binary_crossentropy")
    scratch.fit(x, np.arange(8) % 2, verbose=0)
    scratch.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), scratch.predict(x, verbose=0), atol=1e-6)
    frozen = builders.CNNBackbone(input_shape=x.shape[1:], filters=(4, 8), augmentation=0.2)
    model = transfer_model(frozen, build_head(HeadConfig("binary"), frozen.output_dim), freeze=True)
    np.testing.assert_array_equal(model(x, training=True), model(x, training=False))


def test_bag_of_words_is_tf_idf_blind_to_order_and_padding():
    ids = np.random.default_rng(0).integers(0, 30, (40, 12))
    backbone = build_backbone("bag_of_words", vocabulary_size=30)
    backbone.adapt(ids)
    present = np.zeros((40, 30), bool)
    present[np.repeat(np.arange(40), 12), ids.reshape(-1)] = True
    idf = np.log(41 / (1 + present.sum(0))) + 1  # scikit-learn's smoothed idf
    idf[0] = 0.0  # padding
    np.testing.assert_allclose(backbone.get_layer("tf_idf").idf.numpy(), idf, rtol=1e-6)
    one = backbone(np.array([[3, 4, 4, 0, 0]]), training=False).numpy()
    np.testing.assert_allclose(backbone(np.array([[4, 3, 4]]), training=False).numpy(), one, rtol=1e-6)
    expected = np.zeros(30)
    expected[[3, 4]] = np.log1p([1, 2]) * idf[[3, 4]]
    np.testing.assert_allclose(one[0], expected / np.linalg.norm(expected), rtol=1e-6)
    with pytest.raises(ConfigError, match=r"in \[0, 30\).*ids 1\.\.31"):
        backbone.adapt(np.array([[1, 31]]))


def test_recommender_implicit_feedback_is_svdpp_and_saves_the_rated_items(tmp_path):
    users, items = np.array([0, 0, 0, 1, 2]), np.array([1, 4, 7, 2, 2])
    backbone = build_backbone("recommender", num_users=4, num_items=9, embedding_dim=3, implicit=True)
    backbone.adapt({"user": users, "item": items})
    layer = backbone.get_layer("implicit_feedback")
    y = np.asarray(layer.item_factors)
    implicit = np.asarray(layer(np.array([0, 1, 3])))
    np.testing.assert_allclose(implicit[0], y[[1, 4, 7]].sum(axis=0) / np.sqrt(3), rtol=1e-5)
    np.testing.assert_allclose(implicit[1], y[2], rtol=1e-5)
    np.testing.assert_array_equal(implicit[2], 0.0)  # user 3 rated nothing in training
    x = {"user": np.array([0, 3]), "item": np.array([5, 5])}
    p, q = (np.asarray(backbone.get_layer(n)(x[k])) for n, k in (("user_embedding", "user"), ("item_embedding", "item")))
    np.testing.assert_allclose(np.asarray(backbone(x))[:, :3], (p + np.asarray(layer(x["user"]))) * q, rtol=1e-5)
    backbone.save(tmp_path / "b.keras")
    loaded = keras.models.load_model(tmp_path / "b.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(backbone(x)), rtol=1e-6)
    with pytest.raises(builders.errors.ConfigError, match="item ids must be in"):
        backbone.adapt({"user": np.array([0]), "item": np.array([9])})


@pytest.mark.parametrize("build,message", [
    (lambda: builders.CNNBackbone(input_shape=(-28, 28, 1)), r"CNNBackbone: input_shape must be a list of integers >= 1"),
    (lambda: builders.CNNBackbone(filters="32"), r"filters must be a list of integers >= 1, got '32' \(str\)"),
    (lambda: builders.CNNBackbone(filters=()), "filters must list at least one"),
    (lambda: builders.ApplicationBackbone("MobileNetV2", input_shape=(0, 32, 3)), "ApplicationBackbone: input_shape"),
    (lambda: builders.ApplicationBackbone("MobileNetV2", preprocess="no"), "ApplicationBackbone: preprocess must be"),
    (lambda: builders.RNNBackbone(num_features=3, units=0), "RNNBackbone: units must be an integer >= 1, got 0"),
    (lambda: builders.RNNBackbone(sequence_length=-10, num_features=3), "sequence_length must be an integer >= 1 or None"),
    (lambda: builders.RNNBackbone(vocabulary_size=0), "vocabulary_size must be an integer >= 2 or None, got 0"),
    (lambda: builders.TabularBackbone(num_numeric=2, categorical_cardinalities=[0]),
     r"categorical_cardinalities must be a list of integers >= 1, got \[0\]"),
    (lambda: builders.TabularBackbone(num_numeric=2, hidden_units="64"), r"hidden_units must be .*, got '64' \(str\)"),
    (lambda: builders.TabularBackbone(num_numeric=-1, categorical_cardinalities=[3]), "num_numeric must be an integer >= 0"),
    (lambda: builders.TabularBackbone(num_numeric=2, architecture="transformer", num_heads=0), "num_heads must be"),
    (lambda: builders.TransformerBackbone(8, vocabulary_size=0), "vocabulary_size must be an integer >= 2 or None, got 0"),
    (lambda: builders.TransformerBackbone(0, vocabulary_size=50), "sequence_length must be an integer >= 1, got 0"),
    (lambda: builders.TransformerBackbone(8, vocabulary_size=50, num_heads=0), "num_heads must be an integer >= 1"),
    (lambda: builders.TransformerBackbone(8, vocabulary_size=50, oov_id=50), r"oov_id must be a token id in \[0, "),
    (lambda: builders.TemporalCNNBackbone(sequence_length=-5, num_features=3), "sequence_length must be an integer >= 1"),
    (lambda: builders.TemporalCNNBackbone(sequence_length=5, num_features=3, filters="10"), "filters must be a list"),
    (lambda: builders.TemporalCNNBackbone(sequence_length=5, num_features=3, dense_units=-1), "dense_units must be .* >= 0"),
    (lambda: build_backbone("bag_of_words", vocabulary_size=1), "vocabulary_size must be an integer >= 2, got 1"),
    (lambda: builders.RecommenderBackbone(num_users="10", num_items=3), r"num_users must be an integer >= 1, got '10'"),
    (lambda: builders.RecommenderBackbone(num_users=10, num_items=3, mlp_units="8"), "mlp_units must be a list"),
    (lambda: builders.HubTextBackbone(keras_hub.models.BertBackbone(20, 1, 2, 8, 16, max_sequence_length=12), 0),
     "HubTextBackbone: sequence_length must be an integer >= 1, got 0"),
    (lambda: build_head(HeadConfig("binary"), 0), "build_head: input_dim must be an integer >= 1, got 0"),
])
def test_bad_sizes_raise_config_errors_naming_the_argument_and_range(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_sizes_from_numpy_are_accepted_and_stored_as_json_ints():
    backbone = builders.TabularBackbone(num_numeric=np.int64(2), categorical_cardinalities=np.array([3, 4]),
                                        hidden_units=(np.int32(4),))
    config = backbone.get_config()
    assert config["categorical_cardinalities"] == [3, 4] and config["hidden_units"] == [4]
    assert all(type(v) is int for v in [config["num_numeric"], *config["categorical_cardinalities"]])
    assert build_backbone("bag_of_words", vocabulary_size=np.int64(20)).output_dim == 20


def test_get_backbone_of_a_name_says_it_takes_a_model_and_where_names_go():
    with pytest.raises(ConfigError, match=r"takes a keras.Model .* got str 'tabluar'.*builders.build_backbone\('tabluar'"):
        get_backbone("tabluar")


def test_tabular_codes_outside_the_vocabulary_are_read_as_unseen_and_survive_save(tmp_path):
    keras.utils.set_random_seed(0)
    backbone = builders.TabularBackbone(num_numeric=1, categorical_cardinalities=[4, 3], hidden_units=(4,))
    model = transfer_model(backbone, build_head(HeadConfig("multiclass", 3), backbone.output_dim), freeze=False)
    numeric = np.zeros((5, 1), "float32")
    codes = np.array([[-1, 2], [4, -7], [99, 3], [0, 0], [3, 2]], "int32")
    unseen = np.array([[0, 2], [0, 0], [0, 0], [0, 0], [3, 2]], "int32")
    expected = np.asarray(model({"numeric": numeric, "categorical": unseen}))
    np.testing.assert_allclose(np.asarray(model({"numeric": numeric, "categorical": codes})), expected)
    assert not np.allclose(expected[0], expected[4])  # the codes in range still matter
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict({"numeric": numeric, "categorical": codes}, verbose=0), expected, atol=1e-6)


def test_transformer_ids_outside_the_vocabulary_become_padding_or_the_oov_id(tmp_path):
    keras.utils.set_random_seed(0)
    small = dict(sequence_length=6, vocabulary_size=20, hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=8)
    padded = builders.TransformerBackbone(**small)
    np.testing.assert_allclose(np.asarray(padded(np.array([[5, 7, 20, -1, 500]]))),
                               np.asarray(padded(np.array([[5, 7, 0, 0, 0]]))), atol=1e-6)
    backbone = builders.TransformerBackbone(**small, oov_id=1)
    expected = np.asarray(backbone(np.array([[5, 1, 1]])))
    np.testing.assert_allclose(np.asarray(backbone(np.array([[5, 20, -3]]))), expected, atol=1e-6)
    assert builders.TransformerBackbone.from_config(backbone.get_config()).oov_id == 1
    backbone.save(tmp_path / "b.keras")
    loaded = keras.models.load_model(tmp_path / "b.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(np.array([[5, 20, -3]]), verbose=0), expected, atol=1e-6)


def test_a_transformer_of_zero_layers_is_its_pooled_token_embeddings():
    """num_layers=0 (a bag of embeddings: the FLOP benchmark's fixed part, a PubMedQA probe) was refused since
    the size checks came in, which broke benchmarks/transformer_flops.py's breakdown."""
    backbone = builders.TransformerBackbone(8, vocabulary_size=20, hidden_dim=8, num_layers=0, num_heads=2,
                                            intermediate_dim=8)
    ids = np.array([[3, 4, 0, 0, 0, 0, 0, 0]], "int32")
    embedded = backbone.get_layer("embedding")(ids)
    np.testing.assert_allclose(backbone(ids), keras.ops.mean(embedded[:, :2], axis=1), rtol=1e-5, atol=1e-6)


# The smallest network of each keras.applications family, at the smallest size it accepts.
_FAMILY_NETWORKS = {"convnext": "ConvNeXtTiny", "densenet": "DenseNet121", "efficientnet": "EfficientNetB0",
                    "efficientnet_v2": "EfficientNetV2B0", "inception_resnet_v2": "InceptionResNetV2",
                    "inception_v3": "InceptionV3", "mobilenet": "MobileNet", "mobilenet_v2": "MobileNetV2",
                    "mobilenet_v3": "MobileNetV3Small", "nasnet": "NASNetMobile", "resnet": "ResNet50",
                    "resnet_v2": "ResNet50V2", "vgg16": "VGG16", "vgg19": "VGG19", "xception": "Xception"}
_MIN_SIZE = {"inception_v3": 75, "inception_resnet_v2": 75, "xception": 71}


def test_every_keras_applications_family_has_its_preprocessing_known():
    from builders.backbones.cnn import PREPROCESSING, application_family

    networks = [name for name in dir(keras.applications) if name[0].isupper() and callable(getattr(keras.applications, name))]
    assert {application_family(name) for name in networks} == set(PREPROCESSING) == set(_FAMILY_NETWORKS)


@pytest.mark.parametrize("family", sorted(_FAMILY_NETWORKS))
def test_application_network_is_fed_its_own_preprocess_input_of_the_0_255_image(family):
    """The backbone only rescaled [0, 1] images to 0-255: ImageNet weights of MobileNetV2 ([-1, 1]), DenseNet
    (mean/std) or ResNet50 (BGR minus means) were fed inputs of another range."""
    import importlib

    size = _MIN_SIZE.get(family, 32)
    backbone = builders.ApplicationBackbone(_FAMILY_NETWORKS[family], input_shape=(size, size, 3), image_size=size)
    network = [layer for layer in backbone.layers if isinstance(layer, keras.Model)][0]
    fed = keras.Model(backbone.input, network._inbound_nodes[0].input_tensors[0])
    x = np.random.default_rng(0).random((2, size, size, 3)).astype("float32")
    expected = importlib.import_module(f"keras.applications.{family}").preprocess_input(x * 255.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fed(x)), expected, atol=1e-4)


def test_application_grey_images_are_preprocessed_and_old_configs_reload_unpreprocessed():
    backbone = build_backbone("application", **TINY["application"])  # 16x16 grey, resized to 32
    network = [layer for layer in backbone.layers if isinstance(layer, keras.Model)][0]
    fed = keras.Model(backbone.input, network._inbound_nodes[0].input_tensors[0])
    x = sample_inputs("application", 2)
    rgb = np.repeat(keras.ops.convert_to_numpy(keras.layers.Resizing(32, 32)(x)), 3, axis=-1)
    expected = keras.applications.mobilenet_v2.preprocess_input(rgb * 255.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fed(x)), expected, atol=1e-4)
    assert backbone.get_config()["preprocess"] is True
    old = {k: v for k, v in backbone.get_config().items() if k != "preprocess"}  # saved before preprocessing
    assert "preprocess" not in [layer.name for layer in builders.ApplicationBackbone.from_config(old).layers]


def _weights_file(tmp_path, kind):
    if kind == "imagenet":
        return "imagenet"
    if kind == "missing":
        return str(tmp_path / "mobilenet_v2_notop.h5")
    if kind == "directory":
        return str(tmp_path)
    if kind == "not_hdf5":
        (tmp_path / "garbage.h5").write_text("not hdf5")
        return str(tmp_path / "garbage.h5")
    if kind == "whole_model":
        (tmp_path / "model.keras").write_bytes(b"PK")
        return str(tmp_path / "model.keras")
    other = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35)
    other.save_weights(tmp_path / "mobilenet_v2_035_notop.weights.h5")
    return str(tmp_path / "mobilenet_v2_035_notop.weights.h5")


@pytest.mark.parametrize("kind,message", [
    ("imagenet", "is not downloaded: ApplicationBackbone never downloads weights"),
    ("missing", "does not exist"),
    ("directory", "is a directory, not a weights file"),
    ("not_hdf5", "is not an HDF5 file"),
    ("whole_model", r"is not a .h5 or .weights.h5 weights file"),
    ("other_architecture", r"does not hold weights of keras.applications.MobileNetV2\(include_top=False\)"),
])
def test_application_weights_path_errors_name_the_file_and_what_to_pass(kind, message, tmp_path):
    """h5py's "Unable to synchronously open file" / "file signature not found", Keras's "File format not
    supported" for 'imagenet', and ~70 Keras warnings before a shape ValueError for another network's file."""
    path = _weights_file(tmp_path, kind)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ConfigError, match=message) as error:
        warnings.simplefilter("always")
        builders.ApplicationBackbone("MobileNetV2", input_shape=(32, 32, 3), image_size=32, weights_path=path)
    assert f"ApplicationBackbone: weights_path={path!r}" in str(error.value)
    assert "_notop.h5" in str(error.value) and "include_top=False, weights='imagenet')" in str(error.value)
    assert not [w for w in caught if "keras" in w.filename], [str(w.message)[:80] for w in caught][:3]
