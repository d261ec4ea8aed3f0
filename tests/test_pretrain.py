"""Self-supervised objectives (builders.pretrain) and presets (zoo.transfer): one battery per
family, on tiny synthetic data."""

import json

import keras
import numpy as np
import pytest

from builders import (
    ApplicationBackbone,
    CNNBackbone,
    RNNBackbone,
    TabularBackbone,
    TemporalCNNBackbone,
    TransformerBackbone,
)
from builders.errors import ConfigError
from builders.pretrain import (
    ContrastivePretrainer,
    MaskedFeaturePretrainer,
    MaskedImagePretrainer,
    MaskedStepPretrainer,
    MaskedTokenPretrainer,
    WindowAgePretrainer,
    pretrain_backbone,
    pretrain_cnn,
    pretrain_rnn,
    pretrain_transformer,
    pretrain_windows,
    sequence_output,
)
from zoo.errors import ChecksumError
from zoo.transfer import load_preset, save_preset

MASK_ID = 4


def _tokens(n, seed=0):
    # A learnable language: each sequence counts up from a random start, so a masked token follows
    # from its neighbours.
    rng = np.random.default_rng(seed)
    starts = rng.integers(5, 15, size=(n, 1))
    ids = (starts + np.arange(8)) % 25 + 5
    ids[:, 6:] = 0  # padding
    return ids.astype("int32")


def _steps(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(12)[None, :, None]
    return np.sin(t / 2.0 + rng.uniform(0, 6, (n, 1, 1)) + np.arange(3)).astype("float32")


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((n, 12, 12, 1), "float32")
    for i, (r, c) in enumerate(rng.integers(0, 8, size=(n, 2))):
        img[i, r : r + 4, c : c + 4] = 1.0  # one bright square per image
    return img


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 1))
    numeric = np.concatenate([a, 2 * a + 0.1 * rng.normal(size=(n, 1)), -a], axis=1).astype("float32")
    return {"numeric": numeric, "categorical": (a > 0).astype("int32") + 1}


# (name, make backbone, data, options): every family's objective.
CASES = {
    "transformer_tokens": (
        lambda: TransformerBackbone(sequence_length=8, vocabulary_size=30, hidden_dim=16, num_layers=1, num_heads=2,
                                    intermediate_dim=32, dropout=0.0),
        _tokens, {"mask_token_id": MASK_ID, "unselectable_token_ids": [0, 1, 2, 3, 4], "mask_rate": 0.3},
    ),
    "transformer_steps": (
        lambda: TransformerBackbone(sequence_length=12, num_features=3, hidden_dim=16, num_layers=1, num_heads=2,
                                    intermediate_dim=32, dropout=0.0),
        _steps, {"span": 3},
    ),
    "rnn": (lambda: RNNBackbone(sequence_length=12, num_features=3, units=8), _steps, {"span": 3}),
    "rnn_all": (lambda: RNNBackbone(sequence_length=12, num_features=3, units=8, output="all"), _steps, {"span": 3}),
    "temporal_cnn": (lambda: TemporalCNNBackbone(sequence_length=12, num_features=3, filters=(4, 4), kernel_size=3,
                                                 dense_units=16, dropout=0.0), _steps, {"span": 3}),
    "cnn_contrastive": (lambda: CNNBackbone(input_shape=(12, 12, 1), filters=(4, 8)), _images,
                        {"objective": "contrastive", "projection_units": (16, 8)}),
    "cnn_masked": (lambda: CNNBackbone(input_shape=(12, 12, 1), filters=(4, 8)), _images, {"objective": "masked"}),
    "tabular": (lambda: TabularBackbone(num_numeric=3, categorical_cardinalities=[3], hidden_units=(16,),
                                        dropout=0.0), _rows, {}),
    "tabular_all": (lambda: TabularBackbone(num_numeric=3, categorical_cardinalities=[3], hidden_units=(16,),
                                            dropout=0.0, output="all"), _rows, {}),
}


def _make(case):
    keras.utils.set_random_seed(0)
    make, data, options = CASES[case]
    return make(), data, options


def _weights(model):
    return [w.numpy().copy() for w in model.trainable_weights]


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_step_changes_the_backbone_weights(case):
    backbone, data, options = _make(case)
    before = _weights(backbone)
    history = pretrain_backbone(backbone, data(16), epochs=1, batch_size=16, **options)
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
    changed = [not np.array_equal(a, b) for a, b in zip(before, _weights(backbone), strict=True)]
    assert sum(changed) >= len(changed) // 2, f"only {sum(changed)} of {len(changed)} backbone weights moved"


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_decreases_on_a_tiny_learnable_set(case):
    backbone, data, options = _make(case)
    history = pretrain_backbone(backbone, data(64), epochs=8, batch_size=16, learning_rate=3e-3, **options)
    first, last = np.mean(history["loss"][:2]), np.mean(history["loss"][-2:])
    assert last < 0.9 * first, history["loss"]


def _ageing(n, seed=0):
    # Windows cut from trajectories that drift with age: a window's level gives its age away.
    rng = np.random.default_rng(seed)
    ages = rng.integers(12, 200, n).astype("float32")
    steps = ages[:, None] - 11 + np.arange(12)
    x = np.stack([steps / 200, np.sin(steps / 3), np.full_like(steps, 0.5)], axis=-1)
    return (x + 0.01 * rng.normal(size=x.shape)).astype("float32"), ages


@pytest.mark.parametrize("case", ["rnn", "temporal_cnn", "transformer_steps"])
def test_window_age_objective_trains_every_window_backbone(case):
    backbone, _, _ = _make(case)
    x, ages = _ageing(64)
    before = _weights(backbone)
    history = pretrain_backbone(backbone, x, objective="age", ages=ages, epochs=8, batch_size=16,
                                learning_rate=3e-3)
    first, last = np.mean(history["loss"][:2]), np.mean(history["loss"][-2:])
    assert last < 0.7 * first, history["loss"]
    changed = [not np.array_equal(a, b) for a, b in zip(before, _weights(backbone), strict=True)]
    assert sum(changed) >= len(changed) // 2, f"only {sum(changed)} of {len(changed)} backbone weights moved"


def test_window_age_regresses_the_standardized_age():
    backbone = TemporalCNNBackbone(sequence_length=12, num_features=3, filters=(4,), kernel_size=3, dense_units=8)
    ages = np.arange(12, 44, dtype="float32")
    x = np.broadcast_to(ages[:, None, None], (32, 12, 3)).astype("float32")  # each window holds its own age
    pretrain_windows(backbone, x / 50, objective="age", ages=ages, epochs=1)
    p = WindowAgePretrainer(backbone, age_mean=float(ages.mean()), age_std=float(ages.std()))
    batch_x, batch_y = next(iter(p.make_dataset({"windows": x, "ages": ages}, 32, seed=0)))
    assert batch_x.shape == (32, 12, 3) and not np.array_equal(batch_x[:, 0, 0], ages)  # shuffled
    np.testing.assert_allclose(batch_y[:, 0], (batch_x[:, 0, 0] - ages.mean()) / ages.std(), atol=1e-5)


def test_pretrainers_round_trip_in_safe_mode(tmp_path):
    backbone = TransformerBackbone(sequence_length=8, vocabulary_size=30, hidden_dim=8, num_layers=1, num_heads=2,
                                   intermediate_dim=16)
    pretrainers = [
        MaskedTokenPretrainer(backbone, mask_token_id=MASK_ID),
        MaskedStepPretrainer(RNNBackbone(sequence_length=6, num_features=2, units=4)),
        MaskedImagePretrainer(CNNBackbone(input_shape=(8, 8, 1), filters=(4,))),
        MaskedFeaturePretrainer(TabularBackbone(num_numeric=3, hidden_units=(4,))),
        ContrastivePretrainer(CNNBackbone(input_shape=(8, 8, 1), filters=(4,)), projection_units=(8, 4)),
        WindowAgePretrainer(TemporalCNNBackbone(sequence_length=6, num_features=2, filters=(4,), dense_units=8),
                            age_mean=50.0, age_std=20.0),
    ]
    inputs = [
        {"token_ids": _tokens(2), "mask_positions": np.array([[1, 2], [0, 3]], "int32")},
        np.random.rand(2, 6, 2).astype("float32"),
        np.random.rand(2, 8, 8, 1).astype("float32"),
        {"numeric": np.random.rand(2, 3).astype("float32")},
        np.random.rand(2, 8, 8, 1).astype("float32"),
        np.random.rand(2, 6, 2).astype("float32"),
    ]
    pretrainers[3].backbone.adapt({"numeric": np.random.rand(10, 3)})
    for p, x in zip(pretrainers, inputs, strict=True):
        p(x)
        path = tmp_path / f"{p.name}.keras"
        p.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        assert type(loaded) is type(p) and loaded.get_config() == p.get_config()
        np.testing.assert_allclose(loaded.backbone.get_weights()[0], p.backbone.get_weights()[0])
        if not isinstance(p, ContrastivePretrainer):  # its call augments on purpose
            keras.tree.map_structure(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), loaded(x), p(x))


def test_sequence_output_shares_the_backbone_weights():
    backbone = TransformerBackbone(sequence_length=6, num_features=2, hidden_dim=8, num_layers=2, num_heads=2,
                                   intermediate_dim=16)
    sub = sequence_output(backbone)
    assert {id(w) for w in sub.weights} <= {id(w) for w in backbone.weights}
    assert sub.output_shape == (None, 6, 8)


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match="per-token outputs"):
        pretrain_rnn(RNNBackbone(sequence_length=8, vocabulary_size=30, units=4), _tokens(4))
    with pytest.raises(ConfigError, match="mask_token_id"):
        pretrain_transformer(CASES["transformer_tokens"][0](), _tokens(4))
    with pytest.raises(ConfigError, match=r"example shape \(10, 3\); the backbone expects \(12, 3\)"):
        pretrain_rnn(RNNBackbone(sequence_length=12, num_features=3, units=4), np.zeros((4, 10, 3), "float32"))
    with pytest.raises(ConfigError, match="objective must be one of"):
        pretrain_cnn(CNNBackbone(input_shape=(8, 8, 1), filters=(4,)), _images(2)[:, :8, :8], objective="jigsaw")
    with pytest.raises(ConfigError, match="pretrain_backbone \\(rnn\\): .*unexpected keyword.*colour"):
        pretrain_backbone(RNNBackbone(sequence_length=12, num_features=3, units=4), _steps(4), colour="red")
    rnn = RNNBackbone(sequence_length=12, num_features=3, units=4)
    with pytest.raises(ConfigError, match="objective must be one of \\['age', 'masked'\\], got 'contrastive'"):
        pretrain_backbone(rnn, _steps(4), objective="contrastive")
    with pytest.raises(ConfigError, match="missing 1 required keyword-only argument: 'ages'"):
        pretrain_backbone(rnn, _steps(4), objective="age")
    with pytest.raises(ConfigError, match=r"ages has shape \(3,\); expected one age per window \(4,\)"):
        pretrain_backbone(rnn, _steps(4), objective="age", ages=[1, 2, 3])
    with pytest.raises(ConfigError, match="not all equal"):
        pretrain_backbone(rnn, _steps(4), objective="age", ages=[5, 5, 5, 5])
    with pytest.raises(ConfigError, match="must take continuous windows"):
        WindowAgePretrainer(TabularBackbone(num_numeric=3, hidden_units=(4,)))
    with pytest.raises(ConfigError, match="no trainable weights, so there is nothing to pretrain"):
        pretrain_backbone(TabularBackbone(num_numeric=3, hidden_units=[]), _rows(4))


# === Presets ===


def _text_preset(tmp_path):
    from zoo.data.text import fit_tokenizer

    tokenizer = fit_tokenizer(["profit rose sharply", "the loss widened", "sales fell"], vocab_size=60)
    backbone = TransformerBackbone(sequence_length=8, vocabulary_size=tokenizer.vocabulary_size(), hidden_dim=8,
                                   num_layers=1, num_heads=2, intermediate_dim=16)
    return backbone, tokenizer, save_preset(backbone, tmp_path / "preset", tokenizer=tokenizer,
                                            card={"objective": "test", "corpus": "three sentences"})


def test_preset_round_trip_gives_identical_features_and_tokenizer(tmp_path):
    backbone, tokenizer, path = _text_preset(tmp_path)
    preset = load_preset(path)
    ids = _tokens(4) % tokenizer.vocabulary_size()
    np.testing.assert_allclose(preset.backbone.predict(ids, verbose=0), backbone.predict(ids, verbose=0), atol=1e-6)
    assert preset.tokenizer.get_vocabulary() == tokenizer.get_vocabulary()
    assert preset.card["objective"] == "test"
    assert {"config.json", "model.weights.h5", "metadata.json", "README.md", "tokenizer.json"} <= {
        p.name for p in path.iterdir()}
    readme = (path / "README.md").read_text()
    assert "three sentences" in readme and preset.card["sha256"]["model.weights.h5"] in readme


def test_keras_hub_loads_the_preset_offline(tmp_path):
    import keras_hub

    backbone, _, path = _text_preset(tmp_path)
    loaded = keras_hub.models.Backbone.from_preset(str(path))
    assert type(loaded) is TransformerBackbone and loaded.get_config() == backbone.get_config()


@pytest.mark.parametrize("file", ["model.weights.h5", "assets/tokenizer/vocabulary.txt"])
def test_a_tampered_preset_file_is_detected(tmp_path, file):
    _, _, path = _text_preset(tmp_path)
    with open(path / file, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ChecksumError, match=file.split("/")[-1]):
        load_preset(path)


def test_not_a_preset_directory(tmp_path):
    with pytest.raises(ConfigError, match="not a preset directory"):
        load_preset(tmp_path)


def test_application_backbone_loads_keras_applications_weights_from_a_local_file(tmp_path):
    keras.utils.set_random_seed(0)
    network = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    path = tmp_path / "mobilenet_v2_notop.weights.h5"
    network.save_weights(path)
    keras.utils.set_random_seed(1)  # a different random init, overwritten by the file
    backbone = ApplicationBackbone("MobileNetV2", input_shape=(32, 32, 3), image_size=32, weights_path=str(path))
    inner = lambda b: [layer for layer in b.layers if isinstance(layer, keras.Model)][0]  # noqa: E731
    for a, b in zip(network.get_weights(), inner(backbone).get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    fresh = ApplicationBackbone("MobileNetV2", input_shape=(32, 32, 3), image_size=32)
    assert not all(np.array_equal(a, b) for a, b in zip(network.get_weights(), inner(fresh).get_weights(),
                                                         strict=True))
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    # the backbone rescales [0, 1] images to 0-255 and applies MobileNetV2's own preprocessing itself
    expected = network.predict(keras.applications.mobilenet_v2.preprocess_input(x * 255.0), verbose=0)
    np.testing.assert_allclose(backbone.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_metadata_records_checksums_of_every_file(tmp_path):
    _, _, path = _text_preset(tmp_path)
    recorded = json.loads((path / "metadata.json").read_text())["vertical_zoo"]["sha256"]
    assert set(recorded) == {"config.json", "model.weights.h5", "tokenizer.json", "assets/tokenizer/vocabulary.txt"}


# === keras-hub model presets as transfer sources ===

_BERT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "profit", "rose", "fell", "the", "loss", "sales",
                    "widened", "sharply"]


def _bert(sequence_length=12):
    import keras_hub

    keras.utils.set_random_seed(0)
    return keras_hub.models.BertBackbone(vocabulary_size=len(_BERT_VOCABULARY), num_layers=1, num_heads=2,
                                         hidden_dim=8, intermediate_dim=16, max_sequence_length=sequence_length)


@pytest.mark.parametrize("pooling", ["auto", "mean", "first"])
def test_hub_text_backbone_pools_the_encoder_and_reloads_in_safe_mode(pooling, tmp_path):
    from builders import HeadConfig, HubTextBackbone, build_head, transfer_model

    encoder = _bert()
    backbone = HubTextBackbone(encoder, sequence_length=12, pooling=pooling)
    ids = np.array([[2, 5, 6, 3] + [0] * 8, [2, 7, 3] + [0] * 9], "int32")
    out = encoder.predict({"token_ids": ids, "padding_mask": (ids != 0).astype("int32"),
                           "segment_ids": np.zeros_like(ids)}, verbose=0)
    mask = (ids != 0)[..., None]
    expected = {"auto": out["pooled_output"], "first": out["sequence_output"][:, 0],
                "mean": (out["sequence_output"] * mask).sum(1) / mask.sum(1)}[pooling]
    np.testing.assert_allclose(backbone.predict(ids, verbose=0), expected, atol=1e-5)
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=True)
    assert len(model.trainable_weights) == 2  # the head's kernel and bias: the encoder is frozen
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0), atol=1e-6)


def test_hub_text_backbone_refuses_what_it_cannot_wrap():
    from builders import HubTextBackbone

    with pytest.raises(ConfigError, match="max_sequence_length 12"):
        HubTextBackbone(_bert(), sequence_length=20)
    with pytest.raises(ConfigError, match="pooling"):
        HubTextBackbone(_bert(), sequence_length=12, pooling="max")
    with pytest.raises(ConfigError, match="does not take token ids"):
        HubTextBackbone(RNNBackbone(sequence_length=4, num_features=2, units=3), sequence_length=4)
    with pytest.raises(ConfigError, match="keras-hub Backbone, got Sequential"):
        HubTextBackbone(keras.Sequential([keras.layers.Dense(2)]), sequence_length=4)


def test_a_local_keras_hub_bert_preset_is_a_transfer_source(tmp_path):
    import keras_hub

    from builders import HubTextBackbone
    from zoo.data.types import Dataset, Split
    from zoo.tasks import get_task
    from zoo.transfer import TrainSettings, tokenize_for_preset, transfer

    encoder = _bert()
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=_BERT_VOCABULARY)
    path = tmp_path / "bert"
    encoder.save_to_preset(str(path))
    keras_hub.models.BertTextClassifierPreprocessor(tokenizer=tokenizer, sequence_length=10).save_to_preset(str(path))
    preset = load_preset(path)
    assert isinstance(preset.backbone, HubTextBackbone) and preset.backbone.sequence_length == 10
    assert "BertBackbone" in preset.card["objective"]
    # The pretrained weights are the preset's.
    for a, b in zip(encoder.get_weights(), preset.backbone.encoder.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    texts = np.array(["profit rose sharply", "the loss widened", "sales fell", "profit fell"] * 6, dtype=object)
    split = Split(texts, np.arange(len(texts)) % 3)
    data = Dataset(split, split, split, {"num_classes": 3, "class_names": ["negative", "neutral", "positive"]})
    ids = tokenize_for_preset(data, preset).train.x
    assert ids[0].tolist() == [2, 5, 6, 12, 3] + [0] * 5  # [CLS] profit rose sharply [SEP], padded
    report = transfer(path, get_task("finance/sentiment"), data=data, label_fractions=[1.0], seeds=1,
                      settings=TrainSettings(epochs=1, min_steps=1, head_min_steps=1))
    assert [r["arm"] for r in report.rows] == ["scratch", "transfer"]
    assert report.rows[1]["feature_cache"] and report.rows[1]["trainable_params"] == 8 * 3 + 3
    assert report.rows[0]["trainable_params"] == encoder.count_params() + 8 * 3 + 3  # scratch: the whole encoder
    import zoo

    run = zoo.fit(get_task("finance/sentiment"), data=data, preset=path, out_dir=tmp_path / "runs", epochs=1,
                  verbose=0)  # a task trained from the keras-hub preset, into a run directory
    assert run.task.backbone.name == "hub_text" and len(run.model.trainable_weights) == 2
    with pytest.raises(ConfigError, match="keras-hub preset"):
        zoo.predict(run.run_dir, ["profit rose"])  # its BertTokenizer's packing is not rebuilt from vocabulary.txt
    assert len(zoo.predict(run.run_dir, ids[:2])) == 2


def test_explicit_text_settings_win_over_the_corpus_tasks(tmp_path):
    """--vocab-size and --sequence-length were silently replaced by the corpus task's own preprocessing."""
    from zoo.tasks import get_task
    from zoo.transfer import Corpus, load_preset, pretrain

    texts = np.array(["profit rose strongly this quarter", "the loss fell to a weak level"] * 20, dtype=object)
    corpus = Corpus("sentences", "text", texts, {}, [], task=get_task("finance/sentiment"))  # the task: 64 tokens
    tiny = {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16}
    preset = pretrain(corpus, tmp_path / "p", backbone_params=tiny, sequence_length=12, vocab_size=50,
                      epochs=1).preset_dir
    assert int(load_preset(preset).backbone.sequence_length) == 12
    default = pretrain(corpus, tmp_path / "d", backbone_params=tiny, epochs=1).preset_dir
    assert int(load_preset(default).backbone.sequence_length) == 64  # the task's, when none is given


def test_a_corpus_file_that_is_not_utf8_is_named_with_the_fix(tmp_path):
    from zoo.errors import DataValidationError
    from zoo.transfer import load_corpus

    (tmp_path / "latin.txt").write_bytes("Espa\xf1a exports rose strongly\n".encode("latin-1") * 5)
    with pytest.raises(DataValidationError, match=r"latin.txt: byte 4 is not valid UTF-8.*iconv"):
        load_corpus(str(tmp_path / "latin.txt"))


def test_a_moved_or_damaged_preset_is_named(tmp_path):
    """A text run whose preset was moved failed in evaluate with a bare FileNotFoundError; a damaged
    metadata.json with a bare JSONDecodeError."""
    from zoo.transfer import verify_preset

    with pytest.raises(ConfigError, match="does not exist: if a run was trained from it, it was moved or deleted"):
        load_preset(tmp_path / "moved", verify=False)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "metadata.json").write_text('{"keras_version": ')
    with pytest.raises(ConfigError, match=r"metadata.json is damaged \(not JSON"):
        verify_preset(tmp_path)
