"""`zoo export`: SavedModels on raw inputs and TFLite models, checked against the Keras model."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import zoo
import zoo.cli
from builders import HeadConfig
from zoo.data.text import fit_tokenizer, tokenize
from zoo.data.types import Dataset, Split
from zoo.errors import ChecksumError, ConfigError
from zoo.export import (
    REPORT_FILE,
    Endpoint,
    ExportError,
    ServingInputs,
    convert_to_tflite,
    export,
    predict_saved_model,
    predict_tflite,
    preprocessing_nodes,
    verify_export,
    write_saved_model,
)
from zoo.tasks.base import BackboneSpec, Task

TINY_TABULAR = {"hidden_units": [16]}


def demo_task(modality, backbone, params, head, **extra):
    """A bring-your-own-data task (no registered loader) for `zoo.fit(task, data=...)`."""
    loss, primary = ("mse", "rmse") if head.kind == "regression" else ("binary_crossentropy", "accuracy")
    return Task(f"demo/{modality}", "demo", modality, f"synthetic_{modality}", "Synthetic.",
                BackboneSpec(backbone, params), head, loss, [], primary, **extra)


def splits(x, y, n_train, n_val):
    parts = np.cumsum([0, n_train, n_val, len(y)])
    return [Split(x[a:b], y[a:b]) for a, b in zip(parts[:3], parts[1:], strict=True)]


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory):
    return zoo.fit("medical/breast_cancer_diagnosis", out_dir=tmp_path_factory.mktemp("runs"), epochs=5,
                   backbone_params=TINY_TABULAR, verbose=0)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    rng = np.random.default_rng(0)
    good, bad = ["profit rose", "sales grew strongly", "record earnings"], ["loss widened", "sales fell", "debt default"]
    y = rng.integers(0, 2, 96)
    x = np.array([f"{(good if c else bad)[rng.integers(0, 3)]} {['this quarter', 'in 2024', ''][rng.integers(0, 3)]}"
                  for c in y], dtype=object)
    data = Dataset(*splits(x, y, 64, 16), meta={"num_classes": 2, "class_names": ["negative", "positive"]})
    task = demo_task("text", "transformer", {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16},
                     HeadConfig("binary"), preprocessing={"vocab_size": 200, "sequence_length": 16})
    run = zoo.fit(task, data=data, out_dir=tmp_path_factory.mktemp("runs"), epochs=2, verbose=0)
    return run, data


def test_savedmodel_takes_the_tabular_feature_dict_and_matches_keras(tabular_run, tmp_path):
    report = export(tabular_run.run_dir, out_dir=tmp_path / "sm")
    assert json.loads((tmp_path / "sm" / REPORT_FILE).read_text()) == json.loads(json.dumps(report, default=str))
    check = report["checks"]["serve"]
    assert check["passed"] and check["examples"] == 114 and check["max_abs_diff"] < 1e-5
    assert report["inputs"]["numeric"]["columns"][0] == "mean radius"
    # Independently of the report: the serving signature on the raw test features equals model.predict.
    test = zoo.data.load_dataset("breast_cancer").test.x
    served = predict_saved_model(tmp_path / "sm" / "saved_model", "serving_default", test)
    np.testing.assert_allclose(served, tabular_run.model.predict(test, verbose=0), atol=1e-6)
    assert report["source_model_sha256"] == zoo.data.sources.sha256(tabular_run.run_dir / "model.keras")


def test_tabular_codes_outside_the_vocabulary_are_unseen_in_savedmodel_and_tflite(tmp_path):
    """pandas gives -1 for an unknown or missing category, and a client may send one past the vocabulary:
    both are served as code 0 (unseen) by Keras, the SavedModel and TFLite alike, instead of the last
    category's embedding (-1) or an InvalidArgumentError."""
    import keras
    import tensorflow as tf

    from builders import TabularBackbone, build_head, transfer_model

    keras.utils.set_random_seed(0)
    backbone = TabularBackbone(num_numeric=1, categorical_cardinalities=[4], hidden_units=(4,))
    model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=False)
    specs = {"numeric": tf.TensorSpec((None, 1), tf.float32, name="numeric"),
             "categorical": tf.TensorSpec((None, 1), tf.int32, name="categorical")}
    write_saved_model(tmp_path / "sm", model, ServingInputs({"serve": Endpoint(specs, lambda x: x)}))
    (tmp_path / "m.tflite").write_bytes(convert_to_tflite(tmp_path / "sm", "serve"))
    x = {"numeric": np.zeros((5, 1), "float32"), "categorical": np.array([[-1], [4], [1000], [0], [3]], "int32")}
    unseen = model.predict({**x, "categorical": np.array([[0], [0], [0], [0], [3]], "int32")}, verbose=0)
    assert unseen[4] != pytest.approx(unseen[0])  # the last category is not "unseen"
    for served in (model.predict(x, verbose=0), predict_saved_model(tmp_path / "sm", "serving_default", x),
                   predict_tflite(tmp_path / "m.tflite", "serve", x)):
        np.testing.assert_allclose(served, unseen, atol=1e-6)


def test_tflite_float_and_int8_quantized_with_metric_change(tabular_run, tmp_path):
    flat = export(tabular_run.run_dir, format="tflite", out_dir=tmp_path / "f32")
    int8 = export(tabular_run.run_dir, format="tflite", quantize="int8", out_dir=tmp_path / "int8")
    assert flat["checks"]["serve"]["passed"] and flat["checks"]["serve"]["max_abs_diff"] < 1e-5
    q = int8["checks"]["serve"]
    assert q["tolerance"] is None and q["passed"] is None  # quantized: reported, not gated
    assert q["metric_keras"] == flat["checks"]["serve"]["metric_keras"]
    assert q["metric_change"] == pytest.approx(q["metric_export"] - q["metric_keras"])
    # The normalization of raw features stays float32, so the int8 model still separates the classes
    # (quantizing the raw 0-4000 inputs with one scale drops the 0-0.3 columns: agreement about 0.66).
    assert q["label_agreement"] >= 0.95 and abs(q["metric_change"]) <= 0.03
    assert int8["size_bytes"] < flat["size_bytes"]
    assert (tmp_path / "int8" / "model.tflite").read_bytes()[4:8] == b"TFL3"


def test_text_savedmodel_takes_strings_and_tokenizes_like_training(text_run, tmp_path):
    run, data = text_run
    report = export(run.run_dir, data=data, out_dir=tmp_path / "sm")
    assert set(report["checks"]) == {"serve", "serve_token_ids"}
    assert all(c["passed"] and c["max_abs_diff"] < 1e-5 for c in report["checks"].values())
    assert report["inputs"]["tokenizer"]["sequence_length"] == 16
    texts = ["Profit ROSE this quarter", "an unseen word: zebra", ""]
    served = predict_saved_model(tmp_path / "sm" / "saved_model", "serving_default", {"text": np.array(texts)})
    ids = tokenize(fit_tokenizer(data.train.x, vocab_size=200), texts, 16)  # as training tokenizes
    assert ids[1].tolist().count(1) >= 1  # "zebra" is out of vocabulary: [UNK] (id 1)
    np.testing.assert_allclose(served, run.model.predict(ids, verbose=0), atol=1e-6)


def test_text_tflite_takes_token_ids_and_ships_the_vocabulary(text_run, tmp_path):
    run, data = text_run
    report = export(run.run_dir, format="tflite", data=data, out_dir=tmp_path / "lite")
    assert list(report["checks"]) == ["serve_token_ids"] and report["checks"]["serve_token_ids"]["passed"]
    assert (tmp_path / "lite" / "vocabulary.txt").read_text() == (run.run_dir / "vocabulary.txt").read_text()
    assert "vocabulary.txt" in report["sha256"]


def test_bag_of_words_exports_on_raw_text_and_to_tflite_builtin_ops(text_run, tmp_path):
    """The TF-IDF backbone (no sequence_length of its own: serves at the data's length) on raw strings
    as a SavedModel, and as TFLite with built-in ops only (its counts are a scatter, not a bincount)."""
    _, data = text_run
    task = demo_task("text", "bag_of_words", {}, HeadConfig("binary"),
                     preprocessing={"vocab_size": 200, "sequence_length": 16})
    run = zoo.fit(task, data=data, out_dir=tmp_path / "runs", epochs=2, verbose=0)
    saved = export(run.run_dir, data=data, out_dir=tmp_path / "sm")
    assert saved["checks"]["serve"]["passed"] and saved["inputs"]["tokenizer"]["sequence_length"] == 16
    lite = export(run.run_dir, format="tflite", data=data, out_dir=tmp_path / "lite")
    assert lite["checks"]["serve_token_ids"]["passed"]


def test_a_vocabulary_file_that_no_longer_matches_the_training_fails_the_check(text_run, tmp_path):
    run, data = text_run
    tampered = Path(shutil.copytree(run.run_dir, tmp_path / "run"))
    vocabulary = (tampered / "vocabulary.txt").read_text().split("\n")
    i, j = [k for k, token in enumerate(vocabulary) if len(token) > 3 and token.isalpha()][:2]  # two whole words
    vocabulary[i], vocabulary[j] = vocabulary[j], vocabulary[i]  # same size, same tokens: two words swap ids
    (tampered / "vocabulary.txt").write_text("\n".join(vocabulary))
    with pytest.raises(ExportError, match=r"differs by up to .* \(signature\(s\) serve;"):
        export(tampered, data=data, out_dir=tmp_path / "sm")
    report = json.loads((tmp_path / "sm" / REPORT_FILE).read_text())
    assert report["checks"]["serve"]["passed"] is False and report["checks"]["serve_token_ids"]["passed"] is True


def test_image_signatures_take_pixels_0_255_float_and_uint8(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    y = (pixels.reshape(40, -1).mean(1) > 127.5).astype(np.int64)
    data = Dataset(*splits(pixels.astype(np.float32) / 255.0, y, 24, 8),
                   meta={"num_classes": 2, "class_names": ["dark", "bright"], "input_shape": [8, 8, 1]})
    task = demo_task("image", "cnn", {"filters": [4]}, HeadConfig("binary"))
    run = zoo.fit(task, data=data, out_dir=tmp_path / "runs", epochs=1, verbose=0)
    report = export(run.run_dir, data=data, out_dir=tmp_path / "sm")
    assert set(report["checks"]) == {"serve", "serve_uint8"}
    assert all(c["passed"] and c["max_abs_diff"] < 1e-5 for c in report["checks"].values())
    served = predict_saved_model(tmp_path / "sm" / "saved_model", "serve_uint8", {"pixels": pixels[32:]})
    np.testing.assert_allclose(served, run.model.predict(data.test.x, verbose=0), atol=1e-6)


@pytest.fixture(scope="module")
def sensor_run(tmp_path_factory):
    """Windows of raw sensor values far from 0 (a 9000-rpm shaft, an 8-bar pressure), scaled by the loader."""
    rng = np.random.default_rng(2)
    offset, scale = np.array([9000.0, 500.0, 8.0]), np.array([20.0, 5.0, 0.5])
    scaled = rng.random((90, 6, 3)).astype(np.float32)
    y = (scaled[:, -1] @ np.array([30.0, -10.0, 20.0]) + 50).astype(np.float32)
    meta = {"window": 6, "feature_names": ["shaft_rpm", "temperature", "pressure"], "target_name": "rul",
            "scaler": {"kind": "minmax", "offset": offset.tolist(), "scale": scale.tolist()}}
    data = Dataset(*splits(scaled, y, 60, 10), meta=meta)
    task = demo_task("timeseries", "rnn", {"units": 8}, HeadConfig("regression"))
    run = zoo.fit(task, data=data, out_dir=tmp_path_factory.mktemp("runs"), epochs=30, learning_rate=0.01, verbose=0)
    return run, data, offset, scale


def test_timeseries_signature_takes_raw_sensor_values_and_scales_inside(sensor_run, tmp_path):
    run, data, offset, scale = sensor_run
    report = export(run.run_dir, data=data, out_dir=tmp_path / "sm")
    assert report["checks"]["serve"]["passed"] and report["inputs"]["scaler"]["offset"] == offset.tolist()
    assert "smoothing" not in report["inputs"]
    raw = (data.test.x * scale + offset).astype(np.float32)
    served = predict_saved_model(tmp_path / "sm" / "saved_model", "serving_default", {"windows": raw})
    np.testing.assert_allclose(served, run.model.predict(data.test.x, verbose=0), atol=1e-3)


def test_timeseries_export_says_when_the_windows_are_smoothed_outside_the_model(sensor_run, tmp_path):
    run, data, _, _ = sensor_run
    smoothed = Dataset(data.train, data.val, data.test, {**data.meta, "smoothing": 0.1})
    inputs = export(run.run_dir, data=smoothed, out_dir=tmp_path / "sm")["inputs"]
    assert inputs["smoothing"] == 0.1 and "exponential_smoothing" in inputs["windows"]["meaning"]


def test_cmapss_export_is_checked_on_the_raw_windows_it_serves(tmp_path):
    from zoo.data import sources

    if not any((d / "test_FD001.txt").is_file() for d in sources.candidate_dirs("cmapss_fd001")):
        pytest.skip("real data for 'cmapss_fd001' not found; set ZOO_DATA_DIR to run this test")
    run = zoo.fit("manufacturing/rul_fd001", out_dir=tmp_path, epochs=2, backbone_params={"units": 16}, verbose=0)
    report = export(run.run_dir, out_dir=tmp_path / "sm")  # real smoothed sensors: ranges as narrow as 0.3
    assert report["checks"]["serve"]["passed"] and report["checks"]["serve"]["max_abs_diff"] < 1e-3


@pytest.mark.parametrize("quantize", [None, "float16", "int8"])
def test_timeseries_tflite_unrolls_the_lstm_and_quantizes_raw_inputs_well(sensor_run, tmp_path, quantize):
    run, data, _, _ = sensor_run
    report = export(run.run_dir, format="tflite", quantize=quantize, data=data, out_dir=tmp_path / "lite")
    check = report["checks"]["serve"]
    spread = float(np.std(data.test.y))
    # float16 stores the 9000 offset exactly (split in two) and int8 keeps the scaling in float32; rounding
    # the raw offset to float16 (error up to 4 units of 20) or to one int8 scale would move outputs by ~spread.
    limit = {None: 1e-3, "float16": 0.02 * spread, "int8": 0.1 * spread}[quantize]
    assert check["max_abs_diff"] < limit, check
    if quantize is None:  # the scaler's three steps come before the first weighted op
        assert len(preprocessing_nodes((tmp_path / "lite" / "model.tflite").read_bytes())) >= 3


def test_verify_export_detects_a_tampered_or_added_file(tabular_run, tmp_path):
    export(tabular_run.run_dir, format="tflite", out_dir=tmp_path / "lite")
    assert set(verify_export(tmp_path / "lite")) == {"model.tflite"}
    model = tmp_path / "lite" / "model.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"model\.tflite: sha256 .* does not match"):
        verify_export(tmp_path / "lite")
    model.unlink()
    with pytest.raises(ChecksumError, match="missing"):
        verify_export(tmp_path / "lite")


def test_bad_requests_raise_config_errors_and_leave_other_directories_alone(tabular_run, tmp_path):
    with pytest.raises(ConfigError, match="quantize must be one of"):
        export(tabular_run.run_dir, quantize="int8")
    with pytest.raises(ConfigError, match="format must be one of"):
        export(tabular_run.run_dir, format="onnx")
    mine = tmp_path / "my_documents"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(ConfigError, match="not a zoo export"):
        export(tabular_run.run_dir, out_dir=mine)
    assert (mine / "thesis.txt").read_text() == "precious"
    with pytest.raises(ConfigError, match="not a run directory"):
        export(tmp_path)


@pytest.fixture
def cli(monkeypatch, capsys):
    """`zoo.cli.main` with the export commands registered (as COMMAND_MODULES will list them)."""
    if "zoo.cli.export" not in zoo.cli.COMMAND_MODULES:
        monkeypatch.setattr(zoo.cli, "COMMAND_MODULES", (*zoo.cli.COMMAND_MODULES, "zoo.cli.export"))

    def run(*argv):
        status = zoo.cli.main(list(argv))
        out = capsys.readouterr()
        return status, out.out, out.err

    return run


def test_cli_export_prints_the_report_and_user_errors_exit_2(tabular_run, tmp_path, cli):
    status, out, err = cli("export", str(tabular_run.run_dir), "--format", "tflite", "--quantize", "float16",
                           "--out", str(tmp_path / "f16"))
    assert status == 0, err
    printed = json.loads(out)
    assert printed["quantize"] == "float16" and printed["checks"]["serve"]["metric_change"] is not None
    status, out, err = cli("verify-export", str(tmp_path / "f16"))
    assert status == 0 and "1 file(s) match" in out
    status, out, err = cli("export", str(tmp_path), "--format", "savedmodel")
    assert status == 2 and err.startswith("zoo: error:") and "not a run directory" in err and "Traceback" not in err
