"""Export a run's model for serving, checked against the Keras model it came from.

`export(run_dir, format="savedmodel")` writes a TensorFlow SavedModel whose serving signature
takes RAW inputs, with the preprocessing the zoo's loaders apply put inside the graph:

- text: strings (`"text"`); the run's WordPiece vocabulary (`vocabulary.txt`) tokenizes them to
  the model's sequence length. A second signature, `serve_token_ids`, takes the int32 ids.
  Loading it needs `import tensorflow_text` (keras-hub imports it), which registers the ops.
- image: pixels 0-255 (`"pixels"`, float32), divided by 255 as the loaders do; a second
  signature, `serve_uint8`, takes uint8 pixels.
- timeseries: float windows (`"windows"`, `(batch, window, features)`) of raw sensor values; when
  the loader scaled the sensors (C-MAPSS), its scaler, fitted on training data, is applied inside.
  When the task smooths each engine's sensors over its history (C-MAPSS `smoothing`), the windows
  are those smoothed values: the smoothing needs the engine's past, so it stays outside the model.
- tabular (and recommendation): the model's own input dict (numeric float32, categorical int32
  codes; `export_report.json` lists the column names and category codes). Code i + 1 is category
  i and 0 is unseen; any other code (the -1 pandas `.cat.codes` gives an unknown or missing value,
  or one past the vocabulary) is read as unseen inside the model, in TFLite as well.

`format="tflite"` converts that SavedModel with `tf.lite.TFLiteConverter`, optionally quantized
(`"float16"` weights, or `"int8"` weights and activations calibrated on training inputs).
Recurrent layers are unrolled for TFLite (builtin ops only, any batch size). TFLite has no
string ops for the tokenizer, so a text TFLite model takes token ids; the export directory holds
`vocabulary.txt` and the report the tokenizer settings.

Every export is run on the held-out test rows and compared with the Keras model: maximum and
mean absolute difference, and the task's primary metric for both (its change matters for
quantized exports). The figures, input description, file checksums and versions go to
`export_report.json` next to the export. An unquantized export that differs from the Keras model
by more than its tolerance raises `ExportError` (the report is still written).

Run models are loaded by `load_run_model`: Keras safe mode, and only Keras, keras-hub and
Vertical Zoo classes; a model with a `Lambda` layer (Python code) or any other class is refused
with a `ModelLoadError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.common import apply_scaler
from zoo.data.sources import sha256, verify
from zoo.data.types import Dataset, Inputs, take
from zoo.errors import ConfigError, ZooError

FORMATS = ("savedmodel", "tflite")
QUANTIZATIONS = ("float16", "int8")
QUANTIZATION_NOTES = {
    None: "none: float32 weights and compute",
    "float16": "weights stored as float16 (half the size), computed in float32; float32 inputs and outputs",
    "int8": "weights and activations int8, calibrated on training inputs; the in-graph input preprocessing stays "
            "float32; float32 inputs and outputs",
}
REPORT_FILE = "export_report.json"
MODEL_FILE = "model.keras"
# Top-level packages whose classes a zoo model may name; everything else is refused.
TRUSTED_PACKAGES = ("keras", "keras_hub", "builders")
# Classes that run Python code or load other files, refused even from a trusted package.
UNSAFE_CLASSES = ("Lambda", "TFSMLayer")


class ModelLoadError(ZooError, ValueError):
    """A model file was refused (unsafe contents) or could not be read; the message names it."""


class ExportError(ZooError, RuntimeError):
    """An export could not be converted or does not match the Keras model it came from."""


# === Safe loading ===


def _objects(config: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every serialized object (a dict with a `class_name`) in a Keras config, with its path."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield path, config
        for key, value in config.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(config, list):
        for i, value in enumerate(config):
            yield from _objects(value, f"{path}/{i}")


def find_unsafe_objects(model_path: str | os.PathLike) -> list[str]:
    """The objects of a `.keras` file a zoo model may not contain, described one per line.

    Allowed are classes from Keras, keras-hub and Vertical Zoo (`builders`), except `Lambda`
    layers (they hold Python bytecode) and `TFSMLayer` (it loads another SavedModel). The file's
    config is read as JSON: nothing in it is imported or run.

    Args:
        model_path: str or path. A `.keras` archive.

    Returns:
        A list of str, empty when the file is safe to deserialize.

    Example:
    >>> import keras, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.keras"
    >>> inputs = keras.Input((2,))
    >>> keras.Model(inputs, keras.layers.Lambda(lambda x: x + 1, name="plus_one")(inputs)).save(path)
    >>> find_unsafe_objects(path)  # doctest: +ELLIPSIS
    ["Lambda 'plus_one' (keras.layers) at /config/layers/1", 'Python bytecode (__lambda__) at /config/layers/1/config/function']
    """
    path = Path(model_path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"{path}: not a readable .keras archive ({error}).") from None
    found = []
    for where, obj in _objects(config):
        module, name = obj.get("module"), str(obj.get("class_name"))
        package = str(module).split(".")[0] if module else None
        if name == "__lambda__":
            found.append(f"Python bytecode (__lambda__) at {where or '/'}")
        elif name in UNSAFE_CLASSES or (package is not None and package not in TRUSTED_PACKAGES):
            label = obj.get("config", {}).get("name") if isinstance(obj.get("config"), dict) else None
            found.append(f"{name}{f' {label!r}' if label else ''} ({module}) at {where or '/'}")
    return found


def load_run_model(run_dir: str | os.PathLike, *, expected_sha256: str = "") -> Any:
    """A run's `model.keras`, loaded in Keras safe mode after checking what it contains.

    Refuses, with `ModelLoadError` naming the file and the offending layer, a model holding a
    `Lambda` layer or any class outside Keras, keras-hub and Vertical Zoo (see
    `find_unsafe_objects`). Then, when a checksum is recorded, in `expected_sha256` or in the
    run's `report.json` (`artifacts`), the file must match it (`ChecksumError` otherwise). Any
    other load failure (damaged file, unknown class) becomes a `ModelLoadError`.

    Args:
        run_dir: str or path. A run directory (holding `model.keras`).
        expected_sha256: str. The file's sha256, if known from elsewhere ("" = use the run's record).

    Returns:
        The `keras.Model`.

    Example:
    >>> load_run_model("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: /nonexistent is not a run directory (no model.keras).
    """
    import keras

    path = Path(run_dir) / MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no {MODEL_FILE}).")
    unsafe = find_unsafe_objects(path)  # reads the config as JSON: the most specific refusal comes first
    if unsafe:
        raise ModelLoadError(
            f"{path}: refused to load: it contains {'; '.join(unsafe)}. A Lambda layer holds Python code that "
            "would run on load; the zoo loads only Keras, keras-hub and Vertical Zoo layers, in Keras safe mode. "
            "Retrain the model with `zoo train`, or rebuild it from those layers."
        )
    expected = expected_sha256 or recorded_checksums(run_dir).get(MODEL_FILE, "")
    if expected and sha256(path) != expected:
        from zoo.errors import ChecksumError

        raise ChecksumError(
            f"{path}: sha256 {sha256(path)} is not the {expected} recorded in report.json when the run saved its "
            "model: the file was replaced or changed since. Restore the run's own model.keras, or train the run "
            "again (zoo train with this --run-dir after deleting model.keras)."
        )
    try:
        return keras.models.load_model(path, safe_mode=True)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(f"{path}: could not be loaded in Keras safe mode: {first}") from None


def recorded_checksums(run_dir: str | os.PathLike) -> dict[str, str]:
    """The sha256 of a run's files as its `report.json` records them (`artifacts`), if it does.

    Example:
    >>> recorded_checksums("/nonexistent")
    {}
    """
    path = Path(run_dir) / "report.json"
    try:
        artifacts = json.loads(path.read_text()).get("artifacts", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in artifacts.items()} if isinstance(artifacts, dict) else {}


# === Raw serving inputs ===


@dataclasses.dataclass
class Endpoint:
    """One serving signature: raw input specs, and the in-graph step from them to the model's inputs.

    Args:
        specs: dict of str to `tf.TensorSpec`. The signature's named raw inputs.
        to_model: callable. Raw input tensors (a dict like `specs`) -> the model's inputs.
        test: dict of str to array. The held-out rows in this raw form (the parity check).
        calibration: dict of str to array. Training rows in this raw form (int8 calibration).
    """

    specs: dict[str, Any]
    to_model: Callable[[dict[str, Any]], Any]
    test: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    calibration: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ServingInputs:
    """How a run's model is served: its endpoints, the held-out reference inputs, what to track.

    Args:
        endpoints: dict of str to `Endpoint`. The first is the default serving signature.
        reference: the held-out rows as the Keras model takes them.
        tflite_endpoint: str. The endpoint TFLite converts (TFLite has no string ops).
        description: dict. What the inputs are, for `export_report.json`.
        test_rows: array. Which test rows are compared (all, or `max_examples` of them).
        resources: list. Objects the SavedModel must track besides the model (e.g. a tokenizer).
        files: dict of str to str. Extra files written next to the export (name -> text).
    """

    endpoints: dict[str, Endpoint]
    reference: Inputs = None
    tflite_endpoint: str = "serve"
    description: dict[str, Any] = dataclasses.field(default_factory=dict)
    test_rows: np.ndarray | None = None
    resources: list = dataclasses.field(default_factory=list)
    files: dict[str, str] = dataclasses.field(default_factory=dict)


def _rows(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Up to `limit` sorted row indices of `n`, chosen with a seed (all rows when `n <= limit`)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _spec(shape: Any, dtype: Any, name: str) -> Any:
    import tensorflow as tf

    return tf.TensorSpec((None, *[None if d is None else int(d) for d in shape]), dtype, name=name)


def _model_input(model: Any) -> Any:
    """The model's single input tensor (raises for dict inputs, which only tabular models have)."""
    inputs = model.input
    if isinstance(inputs, dict | list | tuple):
        raise ConfigError(f"Model '{model.name}' has several inputs; expected one for this modality.")
    return inputs


def _text_inputs(task: Any, model: Any, data: Dataset, run_dir: Path, test_rows: np.ndarray,
                 calibration_rows: np.ndarray) -> ServingInputs:
    import tensorflow as tf

    from builders import get_backbone
    from zoo.data import text

    backbone = get_backbone(model)
    length = int(_model_input(model).shape[1] or np.shape(data.test.x)[1])  # any length: serve at the trained one
    raw = data.extra.get("text")
    if raw is None:
        raise ConfigError(f"{task.name}: exporting a text model needs the raw test texts; give the data as strings.")
    settings = data.meta["tokenizer"]
    if not text.from_vocabulary_file(settings):
        raise ConfigError(f"{task.name}: the run's texts were tokenized by its keras-hub preset's own "
                          f"{settings.get('kind')} (start and end tokens, its padding id), which the export does not "
                          "rebuild in the graph; serve the Keras model (model.keras) on that tokenizer's ids instead.")
    lowercase = bool(settings["lowercase"])  # as the run's tokenize_dataset did
    tokenizer = text.tokenizer_from_file(run_dir / "vocabulary.txt", int(backbone.vocabulary_size), lowercase)
    vocabulary = [str(t) for t in tokenizer.get_vocabulary()]
    test_text = np.asarray(raw["test"], dtype=object)[test_rows]
    train_text = np.asarray(raw["train"], dtype=object)[_rows(len(raw["train"]), len(calibration_rows))]
    # The reference ids are the training pipeline's (a vocabulary learned again from the train split), so a
    # vocabulary.txt that no longer matches the model's training shows up as a failed check, not a quiet export.
    reference = np.asarray(data.test.x)[test_rows]
    calibration_ids = text.tokenize(tokenizer, train_text, length)

    def from_text(inputs: dict[str, Any]) -> Any:
        return tokenizer(inputs["text"]).to_tensor(default_value=0, shape=[None, length])

    endpoints = {
        "serve": Endpoint({"text": tf.TensorSpec((None,), tf.string, name="text")}, from_text,
                          {"text": test_text.astype(str)}, {"text": train_text.astype(str)}),
        "serve_token_ids": Endpoint({"token_ids": _spec((length,), tf.int32, "token_ids")},
                                    lambda inputs: inputs["token_ids"], {"token_ids": reference},
                                    {"token_ids": calibration_ids}),
    }
    description = {
        "text": {"dtype": "string", "shape": [None], "meaning": "raw text, one string per example"},
        "token_ids": {"dtype": "int32", "shape": [None, length], "meaning": "WordPiece ids, 0-padded (serve_token_ids)"},
        "tokenizer": {"kind": "WordPiece", "vocabulary_file": "vocabulary.txt", "vocabulary_size": len(vocabulary),
                      "lowercase": lowercase, "sequence_length": length, "padding_id": 0,
                      "oov_token": "[UNK]", "suffix_indicator": text.SUFFIX},
    }
    return ServingInputs(endpoints, reference, "serve_token_ids", description, test_rows, [tokenizer],
                         {"vocabulary.txt": "\n".join(vocabulary) + "\n"})


def _image_inputs(model: Any, data: Dataset, test_rows: np.ndarray, calibration_rows: np.ndarray) -> ServingInputs:
    import tensorflow as tf

    shape = tuple(_model_input(model).shape[1:])
    reference = np.asarray(data.test.x, dtype=np.float32)[test_rows]
    pixels = reference * np.float32(255.0)
    calibration = np.asarray(data.train.x, dtype=np.float32)[calibration_rows] * np.float32(255.0)
    whole = np.round(pixels)
    endpoints = {
        "serve": Endpoint({"pixels": _spec(shape, tf.float32, "pixels")},
                          lambda inputs: inputs["pixels"] / 255.0, {"pixels": pixels}, {"pixels": calibration}),
    }
    if np.allclose(pixels, whole, atol=1e-3):  # images that were uint8: check the uint8 signature too
        endpoints["serve_uint8"] = Endpoint(
            {"pixels": _spec(shape, tf.uint8, "pixels")}, lambda inputs: tf.cast(inputs["pixels"], tf.float32) / 255.0,
            {"pixels": whole.astype(np.uint8)}, {"pixels": np.round(calibration).astype(np.uint8)})
    description = {"pixels": {"dtype": "float32 (serve) or uint8 (serve_uint8)", "shape": [None, *shape],
                              "meaning": "pixel values 0-255, divided by 255 inside the model as the loaders do"}}
    return ServingInputs(endpoints, reference, "serve", description, test_rows)


def _timeseries_inputs(model: Any, data: Dataset, test_rows: np.ndarray, calibration_rows: np.ndarray) -> ServingInputs:
    import tensorflow as tf

    shape = tuple(_model_input(model).shape[1:])
    reference = np.asarray(data.test.x, dtype=np.float32)[test_rows]
    train = np.asarray(data.train.x, dtype=np.float32)[calibration_rows]
    scaler = data.meta.get("scaler")
    description: dict[str, Any] = {"windows": {"dtype": "float32", "shape": [None, *shape],
                                               "features": data.meta.get("feature_names")}}
    if isinstance(scaler, dict) and "offset" in scaler and "scale" in scaler:
        offset = np.asarray(scaler["offset"], dtype=np.float64)
        scale = np.asarray(scaler["scale"], dtype=np.float64)

        def unscaled(x: np.ndarray) -> np.ndarray:
            return (x.astype(np.float64) * scale + offset).astype(np.float32)

        # The offset as a float16-exact part plus a small rest, subtracted in separate steps: float16 TFLite
        # stores every constant as float16, and a 9000-cycle offset rounded to float16 is off by up to 4.
        high = offset.astype(np.float16).astype(np.float64)

        def to_model(inputs: dict[str, Any]) -> Any:
            centred = (inputs["windows"] - tf.constant(high, tf.float32)) / tf.constant(scale, tf.float32)
            return centred - tf.constant((offset - high) / scale, tf.float32)

        test, calibration = unscaled(reference), unscaled(train)
        # What the Keras side is given: the model inputs those float32 raw windows stand for (scaled in float64, as
        # the loader scales). float32 holds a sensor of 2388.1 to 2.4e-4, a share of 1e-3 of a range of 0.3 (C-MAPSS's
        # smoothed Nf): compared with the loader's own windows, that rounding of the user's input, not the export,
        # moved the RUL by up to 0.03 cycles (RMSE by 0.001).
        reference = apply_scaler(test, scaler)
        description["windows"]["meaning"] = "raw sensor values; the loader's scaler (fitted on training data) runs inside"
        description["scaler"] = scaler
        if data.meta.get("smoothing") is not None:  # C-MAPSS: an EWMA over each engine's history, which needs state
            description["windows"]["meaning"] = (
                f"sensor values smoothed over each engine's whole history (causal EWMA, newest cycle's weight "
                f"{data.meta['smoothing']}: zoo.data.cmapss_fd001.exponential_smoothing), not rescaled; the loader's "
                "scaler (fitted on training data) runs inside")
            description["smoothing"] = data.meta["smoothing"]
    else:
        test, calibration, to_model = reference, train, lambda inputs: inputs["windows"]
        description["windows"]["meaning"] = "the values the loader gives (not rescaled)"
    endpoints = {"serve": Endpoint({"windows": _spec(shape, tf.float32, "windows")}, to_model,
                                   {"windows": test}, {"windows": calibration})}
    return ServingInputs(endpoints, reference, "serve", description, test_rows)


def _dict_inputs(model: Any, data: Dataset, test_rows: np.ndarray, calibration_rows: np.ndarray) -> ServingInputs:
    inputs = model.input if isinstance(model.input, dict) else {_model_input(model).name: model.input}
    specs = {k: _spec(v.shape[1:], v.dtype, k) for k, v in inputs.items()}

    def as_dict(x: Inputs) -> dict[str, np.ndarray]:
        x = x if isinstance(x, dict) else {next(iter(specs)): x}
        return {k: np.asarray(x[k]).astype(specs[k].dtype.as_numpy_dtype) for k in specs}

    reference = take(data.test.x, test_rows)
    endpoint = Endpoint(specs, lambda raw: raw if isinstance(model.input, dict) else next(iter(raw.values())),
                        as_dict(reference), as_dict(take(data.train.x, calibration_rows)))
    meta = data.meta
    description: dict[str, Any] = {k: {"dtype": s.dtype.name, "shape": s.shape.as_list()} for k, s in specs.items()}
    if "numeric" in description:
        description["numeric"]["columns"] = meta.get("numeric_names")
    if "categorical" in description:
        description["categorical"]["columns"] = meta.get("categorical_names")
        description["categorical"]["codes"] = ("code i + 1 is category i of categorical_vocabularies; 0 is unseen, and "
                                               "so is any code outside [0, len(vocabulary)] (e.g. -1 from pandas)")
        description["categorical_vocabularies"] = meta.get("categorical_vocabularies")
    return ServingInputs({"serve": endpoint}, reference, "serve", description, test_rows)


def serving_inputs(task: Any, model: Any, data: Dataset, run_dir: str | os.PathLike, *,
                   max_examples: int = 1000, calibration_examples: int = 200) -> ServingInputs:
    """The raw-input serving endpoints of a run's model and its held-out rows in raw form.

    Args:
        task: the run's `Task` (its modality decides the raw inputs).
        model: the run's `keras.Model`.
        data: the run's `Dataset` as `zoo.harness.fit.prepare_data` returns it.
        run_dir: str or path. The run directory (text: `vocabulary.txt`).
        max_examples: int. Test rows compared at most (chosen with seed 0 when there are more).
        calibration_examples: int. Training rows for int8 calibration.

    Returns:
        A `ServingInputs`.

    Example:
    >>> import keras
    >>> from zoo.data.types import Split
    >>> from zoo.tasks import get_task
    >>> x = {"numeric": np.arange(8, dtype="float32").reshape(4, 2)}
    >>> split = Split(x, np.array([0, 1, 0, 1]))
    >>> inputs = keras.Input((2,), name="numeric")
    >>> model = keras.Model({"numeric": inputs}, keras.layers.Dense(1)(inputs))
    >>> s = serving_inputs(get_task("medical/breast_cancer_diagnosis"), model, Dataset(split, split, split), ".")
    >>> list(s.endpoints), s.endpoints["serve"].test["numeric"].shape
    (['serve'], (4, 2))
    """
    test_rows = _rows(len(data.test), max_examples)
    calibration_rows = _rows(len(data.train), calibration_examples)
    if task.modality == "text":
        return _text_inputs(task, model, data, Path(run_dir), test_rows, calibration_rows)
    if task.modality == "image":
        return _image_inputs(model, data, test_rows, calibration_rows)
    if task.modality == "timeseries":
        return _timeseries_inputs(model, data, test_rows, calibration_rows)
    return _dict_inputs(model, data, test_rows, calibration_rows)


# === Writing and converting ===


@contextlib.contextmanager
def unrolled_recurrent_layers(model: Any) -> Iterator[list]:
    """Unroll the model's recurrent layers while functions are traced inside this block.

    An unrolled LSTM/GRU has no `while` loop and no TensorList ops, so the TFLite converter maps
    it to builtin ops for any batch size, and int8 calibration does not crash on the loop
    (TensorFlow 2.21). The layers are restored on exit. Needs a fixed number of steps.

    Example:
    >>> from builders import RNNBackbone
    >>> backbone = RNNBackbone(sequence_length=4, num_features=2, units=3)
    >>> with unrolled_recurrent_layers(backbone) as layers:
    ...     [layer.unroll for layer in layers]
    [True]
    >>> backbone.get_layer("lstm_0").unroll
    False
    """
    import keras

    changed = [
        layer for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.RNN) and not layer.unroll
    ]
    for layer in changed:
        layer.unroll = True
    try:
        yield changed
    finally:
        for layer in changed:
            layer.unroll = False


def _serving_fn(model: Any, to_model: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda inputs: {"predictions": model(to_model(inputs), training=False)}


def write_saved_model(path: str | os.PathLike, model: Any, serving: ServingInputs,
                      endpoints: list[str] | None = None) -> None:
    """Write a SavedModel with `serving`'s endpoints (the first is also `serving_default`).

    Each endpoint maps its named raw inputs to `{"predictions": ...}`: the model's output
    (probabilities for classification, values for regression).

    Args:
        path: str or path. The SavedModel directory to write.
        model: the `keras.Model`.
        serving: `ServingInputs` from `serving_inputs`.
        endpoints: list of str. The endpoints to write (default: all).

    Example:
    >>> import keras, tempfile, tensorflow as tf
    >>> inputs = keras.Input((2,), name="numeric")
    >>> model = keras.Model({"numeric": inputs}, keras.layers.Dense(1)(inputs))
    >>> spec = {"numeric": tf.TensorSpec((None, 2), tf.float32, name="numeric")}
    >>> serving = ServingInputs({"serve": Endpoint(spec, lambda x: x)})
    >>> path = Path(tempfile.mkdtemp()) / "sm"
    >>> write_saved_model(path, model, serving)
    >>> sorted(tf.saved_model.load(str(path)).signatures)
    ['serve', 'serving_default']
    """
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in serving.resources:
        archive.track(resource)
    for name in endpoints or list(serving.endpoints):
        endpoint = serving.endpoints[name]
        archive.add_endpoint(name, _serving_fn(model, endpoint.to_model), input_signature=[endpoint.specs])
    archive.write_out(str(path), verbose=False)


def convert_to_tflite(saved_model: str | os.PathLike, endpoint: str, quantize: str | None = None,
                      calibration: dict[str, np.ndarray] | None = None) -> bytes:
    """A TFLite flatbuffer of one SavedModel signature, optionally quantized.

    Args:
        saved_model: str or path. The SavedModel directory.
        endpoint: str. The signature to convert.
        quantize: None, `"float16"` (weights stored as float16) or `"int8"` (weights and
            activations int8, calibrated on `calibration`; float input and output).
        calibration: dict of str to array. Raw training inputs (int8 only), one row per step.

    Returns:
        The flatbuffer bytes.

    Example:
    >>> import keras, tempfile, tensorflow as tf
    >>> inputs = keras.Input((2,), name="numeric")
    >>> model = keras.Model({"numeric": inputs}, keras.layers.Dense(1)(inputs))
    >>> spec = {"numeric": tf.TensorSpec((None, 2), tf.float32, name="numeric")}
    >>> path = Path(tempfile.mkdtemp()) / "sm"
    >>> write_saved_model(path, model, ServingInputs({"serve": Endpoint(spec, lambda x: x)}))
    >>> convert_to_tflite(path, "serve")[4:8]
    b'TFL3'
    """
    import tensorflow as tf

    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ConfigError(f"quantize must be one of {', '.join(QUANTIZATIONS)} or None, got {quantize!r}.")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[endpoint])
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        if not calibration:
            raise ConfigError("int8 quantization needs calibration inputs (training rows).")
        rows = len(next(iter(calibration.values())))
        converter.representative_dataset = lambda: ({k: v[i : i + 1] for k, v in calibration.items()}
                                                    for i in range(rows))
    try:
        with warnings.catch_warnings():  # the calibrator's tf.lite.Interpreter warns that LiteRT will replace it
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
            return _int8_keeping_float_preprocessing(converter, saved_model, endpoint) if quantize == "int8" \
                else converter.convert()
    except ZooError:
        raise
    except Exception as error:  # the converter raises ConverterError, ValueError, RuntimeError, ...
        lines = [line for line in str(error).splitlines() if "error:" in line] or str(error).splitlines() or [""]
        raise ExportError(
            f"TFLite conversion of signature '{endpoint}' failed{f' ({quantize})' if quantize else ''}: "
            f"{lines[0].strip()[:500]}"
        ) from None


def _int8_keeping_float_preprocessing(converter: Any, saved_model: str | os.PathLike, endpoint: str) -> bytes:
    """Full-integer quantization that leaves the in-graph input preprocessing in float32.

    Raw inputs get one int8 scale for all their columns (a 0-9000 sensor next to a 0-10 one, so the
    small one rounds to nothing); from the first weighted op on, values are normalized and int8 fits.
    """
    import tensorflow as tf

    front = preprocessing_nodes(convert_to_tflite(saved_model, endpoint))
    if not front:
        return converter.convert()
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=converter.representative_dataset,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=front))
    return debugger.get_nondebug_quantized_model()


_WEIGHTED_OPS = frozenset({"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "BATCH_MATMUL",
                           "GATHER", "EMBEDDING_LOOKUP"})


def preprocessing_nodes(flatbuffer: bytes) -> list[str]:
    """Output tensors of a float TFLite model's input preprocessing: the ops between the inputs
    and the first weighted op (Dense, convolution, embedding) that read only inputs or each other.

    Example:
    >>> import keras, tempfile, tensorflow as tf
    >>> inputs = keras.Input((2,), name="numeric")
    >>> model = keras.Model({"numeric": inputs}, keras.layers.Dense(1)(inputs))
    >>> spec = {"numeric": tf.TensorSpec((None, 2), tf.uint8, name="numeric")}
    >>> cast = Endpoint(spec, lambda x: {"numeric": tf.cast(x["numeric"], tf.float32)})
    >>> path = Path(tempfile.mkdtemp()) / "sm"
    >>> write_saved_model(path, model, ServingInputs({"serve": cast}))
    >>> preprocessing_nodes(convert_to_tflite(path, "serve"))
    ['Cast']
    """
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # no public API lists a flatbuffer's ops in order
    inputs = {d["index"] for d in interpreter.get_input_details()}
    produced = {i for op in ops for i in op["outputs"]} | inputs
    front, found = set(inputs), []
    for op in ops:  # execution order
        consumed = [i for i in op["inputs"] if i in produced]
        if op["op_name"] not in _WEIGHTED_OPS and consumed and all(i in front for i in consumed):
            front.update(op["outputs"])
            found.append(names[op["outputs"][0]])
    return found


# === Checking ===


def _batches(inputs: dict[str, np.ndarray], batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    n = len(next(iter(inputs.values())))
    for start in range(0, n, batch_size):
        yield {k: v[start : start + batch_size] for k, v in inputs.items()}


def predict_saved_model(path: str | os.PathLike, endpoint: str, inputs: dict[str, np.ndarray],
                        batch_size: int = 256) -> np.ndarray:
    """Run a SavedModel signature on named inputs, in batches; returns its `predictions`.

    Example:
    >>> import keras, tempfile, tensorflow as tf
    >>> inputs = keras.Input((2,), name="numeric")
    >>> model = keras.Model({"numeric": inputs}, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
    >>> spec = {"numeric": tf.TensorSpec((None, 2), tf.float32, name="numeric")}
    >>> path = Path(tempfile.mkdtemp()) / "sm"
    >>> write_saved_model(path, model, ServingInputs({"serve": Endpoint(spec, lambda x: x)}))
    >>> predict_saved_model(path, "serving_default", {"numeric": np.ones((3, 2), "float32")}).ravel().tolist()
    [2.0, 2.0, 2.0]
    """
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures[endpoint]
    return np.concatenate([
        signature(**{k: tf.constant(v) for k, v in batch.items()})["predictions"].numpy()
        for batch in _batches(inputs, batch_size)
    ])


def predict_tflite(path: str | os.PathLike, endpoint: str, inputs: dict[str, np.ndarray],
                   batch_size: int = 64) -> np.ndarray:
    """Run a TFLite signature on named inputs, in batches; returns its `predictions`.

    Example:
    >>> import keras, tempfile, tensorflow as tf
    >>> inputs = keras.Input((2,), name="numeric")
    >>> model = keras.Model({"numeric": inputs}, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
    >>> spec = {"numeric": tf.TensorSpec((None, 2), tf.float32, name="numeric")}
    >>> d = Path(tempfile.mkdtemp())
    >>> write_saved_model(d / "sm", model, ServingInputs({"serve": Endpoint(spec, lambda x: x)}))
    >>> _ = (d / "m.tflite").write_bytes(convert_to_tflite(d / "sm", "serve"))
    >>> predict_tflite(d / "m.tflite", "serve", {"numeric": np.ones((3, 2), "float32")}).ravel().tolist()
    [2.0, 2.0, 2.0]
    """
    import tensorflow as tf

    with warnings.catch_warnings():  # tf.lite.Interpreter warns that LiteRT will replace it
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        runner = tf.lite.Interpreter(model_path=str(path)).get_signature_runner(endpoint)
    return np.concatenate([runner(**batch)["predictions"] for batch in _batches(inputs, batch_size)])


def _test_metrics(task: Any, meta: dict[str, Any], y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from zoo.report.metrics import classification_metrics, regression_metrics

    if task.head.kind in ("binary", "multiclass"):
        names = meta.get("class_names") or [str(i) for i in range(max(2, int(pred.shape[-1])))]
        if task.head.kind == "multiclass":  # a quantized softmax sums to 1 only roughly; ROC-AUC needs exactly
            pred = np.clip(pred, 0.0, None) + 1e-12
            pred = pred / pred.sum(axis=-1, keepdims=True)
        return classification_metrics(y, pred, names, meta.get("cost_matrix"))
    return regression_metrics(y, pred, rul=meta.get("rul_cap") is not None)


def _labels(task: Any, pred: np.ndarray) -> np.ndarray | None:
    if task.head.kind == "binary":
        return (pred.reshape(-1) >= 0.5).astype(int)
    if task.head.kind == "multiclass":
        return pred.argmax(axis=-1)
    return None


def parity(task: Any, meta: dict[str, Any], y: np.ndarray, reference: np.ndarray, exported: np.ndarray,
           tolerance: float | None) -> dict[str, Any]:
    """How an export's predictions differ from the Keras model's on the same held-out rows.

    Args:
        task: the `Task` (head kind and primary metric).
        meta: the dataset's meta (class names, cost matrix, RUL scoring).
        y: array. The held-out targets.
        reference: array. The Keras model's predictions.
        exported: array. The export's predictions.
        tolerance: float or None. The largest absolute difference accepted (None: report only).

    Returns:
        A dict: examples, max/mean absolute difference, the primary metric for both and its
        change, label agreement (classification), tolerance and whether it passed.

    Example:
    >>> from zoo.tasks import get_task
    >>> p = parity(get_task("medical/breast_cancer_diagnosis"), {"class_names": ["m", "b"]}, np.array([0, 1]),
    ...            np.array([[0.2], [0.9]]), np.array([[0.3], [0.9]]), tolerance=None)
    >>> round(p["max_abs_diff"], 3), p["metric_change"], p["label_agreement"]
    (0.1, 0.0, 1.0)
    """
    reference = np.asarray(reference, dtype=np.float64)
    exported = np.asarray(exported, dtype=np.float64).reshape(reference.shape)
    broken = int(np.size(exported) - np.isfinite(exported).sum())  # NaN/inf outputs: no metric, a failed check
    diff = np.abs(exported - reference)
    primary = task.primary_metric
    before = _test_metrics(task, meta, y, reference).get(primary)
    after = None if broken else _test_metrics(task, meta, y, exported).get(primary)
    result: dict[str, Any] = {
        "examples": int(len(reference)),
        "max_abs_diff": None if broken else float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": None if broken else float(diff.mean()) if diff.size else 0.0,
        "non_finite_outputs": broken,
        "primary_metric": primary,
        "metric_keras": before,
        "metric_export": after,
        "metric_change": None if before is None or after is None else float(after - before),
    }
    labels = _labels(task, reference), _labels(task, exported)
    if labels[0] is not None:
        result["label_agreement"] = float(np.mean(labels[0] == labels[1]))
    result["tolerance"] = tolerance
    result["passed"] = False if broken else None if tolerance is None else bool(result["max_abs_diff"] <= tolerance)
    return result


def file_checksums(directory: str | os.PathLike) -> dict[str, str]:
    """The sha256 of every file under `directory` except the report, by relative path.

    Example:
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a").write_bytes(b"abc")
    >>> file_checksums(d)["a"][:8]
    'ba7816bf'
    """
    root = Path(directory)
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != REPORT_FILE}


def verify_export(export_dir: str | os.PathLike) -> dict[str, str]:
    """Check every file of an export against the sha256 its `export_report.json` records.

    Raises `ChecksumError` naming the first file that changed or went missing, and
    `ConfigError` when there is no report. Run it before serving an export you copied around.

    Returns:
        The verified checksums (relative path -> sha256).

    Example:
    >>> verify_export("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: /nonexistent is not a zoo export (no export_report.json).
    """
    from zoo.errors import ChecksumError

    root = Path(export_dir)
    report = root / REPORT_FILE
    if not report.is_file():
        raise ConfigError(f"{export_dir} is not a zoo export (no {REPORT_FILE}).")
    recorded = json.loads(report.read_text()).get("sha256", {})
    for name, digest in recorded.items():
        if not (root / name).is_file():
            raise ChecksumError(f"{root / name}: missing; {REPORT_FILE} lists it with sha256 {digest}.")
        verify(root / name, digest)
    extra = sorted(set(file_checksums(root)) - set(recorded))
    if extra:
        raise ChecksumError(f"{root / extra[0]}: not part of the export ({REPORT_FILE} does not list it).")
    return recorded


# === The export ===


def _prepare_out_dir(out: Path) -> None:
    """Refuse an existing directory unless it is empty or a previous export (replaced at the end)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / REPORT_FILE).is_file())):
        raise ConfigError(f"{out} exists and is not a zoo export; choose a new or empty directory with --out.")


def export(
    run_dir: str | os.PathLike,
    *,
    format: str = "savedmodel",
    quantize: str | None = None,
    out_dir: str | os.PathLike | None = None,
    data: Dataset | None = None,
    data_dir: str | None = None,
    max_examples: int = 1000,
) -> dict[str, Any]:
    """Export a run's model (SavedModel on raw inputs, or TFLite) and check it on held-out rows.

    Args:
        run_dir: str or path. A run directory written by `zoo.fit` / `zoo train`.
        format: str. `"savedmodel"` or `"tflite"`.
        quantize: None, `"float16"` or `"int8"` (TFLite only).
        out_dir: str or path. Where to write (default `<run_dir>/export/<format>[-<quantize>]`). An
            existing directory must be empty or a previous export, which is replaced.
        data: a `Dataset` to check against instead of reloading the run's data (your own data;
            text as raw strings).
        data_dir: where the run's dataset is (default: as at training time).
        max_examples: int. Test rows compared at most.

    Returns:
        The report written to `<out_dir>/export_report.json`.

    Example:
    >>> import tempfile, zoo
    >>> run = zoo.fit("medical/breast_cancer_diagnosis", out_dir=tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> report = export(run.run_dir)
    >>> report["checks"]["serve"]["passed"], sorted(report["sha256"])[0]
    (True, 'saved_model/fingerprint.pb')
    """
    from zoo.harness.fit import _versions, load_run_config, run_data
    from zoo.tasks.base import Task

    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}.")
    if not isinstance(max_examples, int) or max_examples < 1:
        raise ConfigError(f"max_examples must be a positive integer, got {max_examples!r}.")
    if quantize is not None and (format != "tflite" or quantize not in QUANTIZATIONS):
        raise ConfigError(f"quantize must be one of {', '.join(QUANTIZATIONS)} with format 'tflite'; "
                          f"got {quantize!r} with {format!r}.")
    started = time.perf_counter()
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if data_dir:
        config.data_dir = data_dir
    task = Task.from_dict(config.task)
    out = Path(out_dir) if out_dir else run_dir / "export" / (format + (f"-{quantize}" if quantize else ""))
    _prepare_out_dir(out)
    model = load_run_model(run_dir)
    data = run_data(run_dir, task, config, data)
    serving = serving_inputs(task, model, data, run_dir, max_examples=max_examples)

    from zoo.harness.pipeline import make_dataset

    reference = model.predict(make_dataset(serving.reference, None, 256), verbose=0)
    y = np.asarray(data.test.y)[serving.test_rows]
    tolerance = None if quantize else 1e-4 * max(1.0, float(np.abs(reference).max()))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        if format == "savedmodel":
            write_saved_model(partial / "saved_model", model, serving)
            names = list(serving.endpoints)
            predictions = {name: predict_saved_model(partial / "saved_model", name, serving.endpoints[name].test)
                           for name in names}
            artifact = "saved_model"
        else:
            name = serving.tflite_endpoint
            with tempfile.TemporaryDirectory() as tmp, unrolled_recurrent_layers(model):
                write_saved_model(Path(tmp) / "saved_model", model, serving, [name])
                flatbuffer = convert_to_tflite(Path(tmp) / "saved_model", name, quantize,
                                               serving.endpoints[name].calibration)
            (partial / "model.tflite").write_bytes(flatbuffer)
            predictions = {name: predict_tflite(partial / "model.tflite", name, serving.endpoints[name].test)}
            artifact = "model.tflite"
        for file_name, text in serving.files.items():
            (partial / file_name).write_text(text, encoding="utf-8")
        checks = {name: parity(task, data.meta, y, reference, pred, tolerance) for name, pred in predictions.items()}
        report = {
            "run_dir": str(run_dir),
            "task": task.name,
            "format": format,
            "quantize": quantize,
            "quantization": QUANTIZATION_NOTES[quantize],
            "path": str(out / artifact),
            "signatures": {name: {"inputs": sorted(serving.endpoints[name].specs), "outputs": ["predictions"]}
                           for name in predictions},
            "default_signature": "serving_default" if format == "savedmodel" else serving.tflite_endpoint,
            "inputs": serving.description,
            "outputs": {"predictions": _output_meaning(task, data.meta)},
            "checks": checks,
            "held_out": f"test split, {len(y)} of {len(data.test)} rows",
            "size_bytes": sum((partial / f).stat().st_size for f in file_checksums(partial)),
            "sha256": file_checksums(partial),
            "source_model_sha256": sha256(run_dir / MODEL_FILE),
            "versions": _versions(),
            "seconds": round(time.perf_counter() - started, 2),
        }
        (partial / REPORT_FILE).write_text(json.dumps(report, indent=2, default=str))
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    failed = [name for name, check in checks.items() if check["passed"] is False]
    if failed:
        worst = [checks[name]["max_abs_diff"] for name in failed]
        how = "gives NaN or infinite outputs" if None in worst else f"differs by up to {max(worst):.3g}"
        raise ExportError(
            f"{out}: the export {how} on held-out rows, beside the Keras model (signature(s) {', '.join(failed)}; "
            f"tolerance {tolerance}); see {out / REPORT_FILE}."
        )
    return report


def _output_meaning(task: Any, meta: dict[str, Any]) -> str:
    kind = task.head.kind
    if kind == "binary":
        names = meta.get("class_names") or ["0", "1"]
        return f"probability of class 1 ({names[1]!r}), shape (batch, 1)"
    if kind == "multiclass":
        return f"class probabilities, shape (batch, classes), classes {meta.get('class_names')}"
    if kind == "multilabel":
        return "independent label probabilities, shape (batch, labels)"
    return f"predicted {meta.get('target_name', 'target')} in the target's units"
