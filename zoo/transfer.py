"""Domain pretraining and cross-industry transfer, always measured against training from scratch.

Three steps, each a function you can call from a notebook:

1. `pretrain(corpus, backbone, out_dir)`: self-supervised pretraining (`builders.pretrain`) on
   unlabelled inputs, saved as a keras-hub preset directory: `config.json`, `model.weights.h5`,
   `metadata.json` (with the sha256 of every file, verified on load), a `README.md` card, and
   for text the tokenizer (`tokenizer.json`, `assets/tokenizer/vocabulary.txt`).
2. `transfer(preset_dir, task)`: on the same splits and seeds, a frozen pretrained base with a
   trained head (then, optionally, the whole base fine-tuned at a lower learning rate) beside the
   same architecture trained from scratch, for several label budgets.
3. `transfer_matrix(family)`: sources x targets within one backbone family (`MATRICES`).

A text preset carries its tokenizer: the target is tokenized with the SOURCE's vocabulary (the
report gives the share of target tokens that fall out of it, `[UNK]`).

Example:
>>> sorted(MATRICES)
['image', 'tabular', 'text', 'timeseries', 'timeseries_cnn']
"""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import json
import os
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from builders import build_backbone, build_head, transfer_model, unfreeze
from builders.backbones.base import Backbone
from builders.pretrain import FAMILIES, pretrain_backbone
from builders.pretrain.base import check_inputs
from zoo.data import DATASETS, load_dataset
from zoo.data.sources import sha256
from zoo.data.types import Dataset, Split, take
from zoo.errors import ChecksumError, ConfigError, DataValidationError, UnknownNameError
from zoo.harness.build import backbone_arguments, head_config
from zoo.harness.caching import adapt_frozen_head, can_cache, fit_cached
from zoo.harness.distributed import train_model
from zoo.harness.fit import EpochTimer, class_weights, predict_report
from zoo.harness.pipeline import make_dataset
from zoo.report.metrics import lower_is_better
from zoo.tasks.base import BackboneSpec, Task, TrainingConfig, check_backbone_params
from zoo.tasks.registry import get_task, list_tasks

PRESET_WEIGHTS = "model.weights.h5"
VOCABULARY_FILE = "assets/tokenizer/vocabulary.txt"
CHECKSUMMED = ("config.json", PRESET_WEIGHTS, "tokenizer.json", VOCABULARY_FILE)
DEFAULT_BACKBONES = {
    "text": BackboneSpec("transformer", {"hidden_dim": 64, "num_layers": 2, "num_heads": 4, "intermediate_dim": 128,
                                         "dropout": 0.1}),
    "image": BackboneSpec("cnn", {"filters": [32, 64, 128], "blocks_per_stage": 1}),
    "timeseries": BackboneSpec("rnn", {"cell": "lstm", "units": 64, "num_layers": 2}),
    "tabular": BackboneSpec("tabular", {"hidden_units": [64, 32]}),
}
PRETRAIN_DEFAULTS = {  # epochs, batch size, learning rate per modality (small: CPU-friendly)
    "text": (10, 32, 1e-3),
    "image": (30, 128, 1e-3),
    "timeseries": (10, 256, 1e-3),
    "tabular": (50, 64, 1e-3),
}


# === Presets ===


@dataclasses.dataclass
class Preset:
    """A loaded preset: the pretrained backbone, its tokenizer (text) and its metadata."""

    path: Path
    backbone: Backbone
    tokenizer: Any = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def card(self) -> dict[str, Any]:
        """What the backbone was pretrained on (corpus, sha256s, objective, epochs, date)."""
        return self.metadata.get("vertical_zoo", {})


def save_preset(backbone: Backbone, preset_dir: str | os.PathLike, *, tokenizer: Any = None,
                card: dict[str, Any] | None = None) -> Path:
    """Save a (pretrained) backbone as a keras-hub preset directory with checksums and a README card.

    Args:
        backbone: the backbone.
        preset_dir: the directory to write (created; existing files are overwritten).
        tokenizer: optional keras-hub tokenizer saved beside it (text backbones).
        card: what it was pretrained on; stored in `metadata.json` under `"vertical_zoo"` and
            written out as `README.md`.

    Returns:
        The preset directory.

    Example:
    >>> import tempfile
    >>> from builders import RNNBackbone
    >>> path = save_preset(RNNBackbone(sequence_length=4, num_features=2, units=3), tempfile.mkdtemp())
    >>> sorted(p.name for p in path.iterdir())
    ['README.md', 'config.json', 'metadata.json', 'model.weights.h5']
    """
    path = Path(preset_dir)
    backbone.save_to_preset(str(path))
    if tokenizer is not None:
        tokenizer.save_to_preset(str(path))
    metadata = json.loads((path / "metadata.json").read_text())
    checksums = {name: sha256(path / name) for name in CHECKSUMMED if (path / name).is_file()}
    metadata["vertical_zoo"] = {**(card or {}), "sha256": checksums}
    (path / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str))
    (path / "README.md").write_text(_readme(backbone, metadata))
    return path


def _readme(backbone: Backbone, metadata: dict[str, Any]) -> str:
    card = metadata["vertical_zoo"]
    config = {k: v for k, v in backbone.get_config().items() if k not in ("name", "trainable", "dtype")}
    lines = [f"# {card.get('name', backbone.name)}", "",
             f"A `{type(backbone).__name__}` saved as a keras-hub preset by Vertical Zoo. Load it offline with "
             "`zoo.transfer.load_preset(path)` (checks the sha256s below) or "
             "`keras_hub.models.Backbone.from_preset(path)`.", "",
             f"- Architecture: `{json.dumps(config)}` ({metadata.get('parameter_count', '?')} parameters)"]
    for key, label in (("objective", "Objective"), ("corpus", "Pretrained on"), ("num_examples", "Examples"),
                       ("epochs", "Epochs"), ("final_loss", "Final pretraining loss"), ("seed", "Seed"),
                       ("date", "Date"), ("seconds", "Pretraining time (s)")):
        if key in card:
            lines.append(f"- {label}: {card[key]}")
    for part in card.get("corpus_parts", []):
        lines.append(f"- Corpus part `{part.get('name')}`: {part.get('description', '')}")
        for file, digest in part.get("sha256", {}).items():
            lines.append(f"  - `{file}` sha256 `{digest}`")
    if card.get("note"):
        lines += ["", card["note"]]
    lines += ["", "## Files (sha256, verified by `load_preset`)", ""]
    lines += [f"- `{name}`: `{digest}`" for name, digest in card["sha256"].items()]
    return "\n".join(lines) + "\n"


def verify_preset(preset_dir: str | os.PathLike) -> dict[str, Any]:
    """Check a preset directory's files against the sha256s in its `metadata.json`; return the metadata.

    Raises:
        ConfigError: not a preset directory.
        ChecksumError: a file was changed after saving (the message names it).

    Example:
    >>> import tempfile
    >>> from builders import RNNBackbone
    >>> path = save_preset(RNNBackbone(sequence_length=4, num_features=2, units=3), tempfile.mkdtemp())
    >>> sorted(verify_preset(path)["vertical_zoo"]["sha256"])
    ['config.json', 'model.weights.h5']
    """
    path = Path(preset_dir)
    metadata = _preset_metadata(path)
    for name, expected in metadata.get("vertical_zoo", {}).get("sha256", {}).items():
        if not (path / name).is_file():
            raise ChecksumError(f"{path / name} is missing; the preset's metadata.json lists it.")
        actual = sha256(path / name)
        if actual != expected:
            raise ChecksumError(f"{path / name}: sha256 {actual} does not match {expected} recorded in metadata.json "
                                "when the preset was saved; the file was changed or damaged.")
    return metadata


def _preset_metadata(path: Path) -> dict[str, Any]:
    """A preset directory's `metadata.json`, or a `ConfigError` saying what is wrong with the directory."""
    if path.is_file():
        inside = (f" It is in a preset directory: pass {path.parent}." if (path.parent / "config.json").is_file()
                  and (path.parent / "metadata.json").is_file() else
                  " A keras.applications weights file goes to the application backbone's weights_path instead."
                  if path.name.endswith(".h5") else "")
        raise ConfigError(f"{path} is a file, not a preset directory: pass the directory `zoo pretrain`, "
                          "zoo.transfer.save_preset or keras-hub's save_to_preset wrote, which holds config.json, "
                          f"metadata.json and {PRESET_WEIGHTS} (text presets also tokenizer.json and assets/).{inside}")
    if not (path / "config.json").is_file() or not (path / "metadata.json").is_file():
        gone = "" if path.is_dir() else " It does not exist: if a run was trained from it, it was moved or deleted."
        raise ConfigError(f"{path} is not a preset directory (expected config.json and metadata.json; make one with "
                          f"`zoo pretrain` or zoo.transfer.save_preset).{gone}")
    try:
        metadata = json.loads((path / "metadata.json").read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path / 'metadata.json'} is damaged (not JSON: {error}); save the preset again.") from None
    if not isinstance(metadata, dict):
        raise ConfigError(f"{path / 'metadata.json'} is damaged (a JSON {type(metadata).__name__}, not an object).")
    return metadata


def _spread(std: float | None, digits: int) -> str:
    """` ± std` for a table cell, or ` (1 seed)` when there is no spread to show.

    Example:
    >>> _spread(0.01234, 3), _spread(None, 3)
    (' ± 0.012', ' (1 seed)')
    """
    return " (1 seed)" if std is None else f" ± {std:.{digits}f}"


def load_preset(preset_dir: str | os.PathLike, *, verify: bool = True, dtype: Any = None,
                sequence_length: int | None = None) -> Preset:
    """Load a local preset directory (offline): checksums, backbone with its weights, tokenizer.

    Our presets (`pretrain`, `save_preset`) load as saved. A keras-hub text model preset saved
    locally (e.g. a `BertBackbone` with its `BertTokenizer`, from `save_to_preset` or a Kaggle
    download) loads as a `builders.backbones.hub.HubTextBackbone` on token ids, with the
    preset's own tokenizer; nothing is downloaded.

    Args:
        preset_dir: the directory (`pretrain` or `save_preset` wrote it, or a keras-hub preset).
        verify: check every file against the sha256s recorded in `metadata.json` first (a
            keras-hub preset records none; its files load unchecked).
        dtype: optional dtype policy for the backbone, e.g. `"mixed_float16"`.
        sequence_length: keras-hub text presets only: token ids per example (default: the
            preset's preprocessor's `sequence_length`, else the encoder's maximum, at most 128).

    Example:
    >>> import tempfile
    >>> from builders import RNNBackbone
    >>> path = save_preset(RNNBackbone(sequence_length=4, num_features=2, units=3), tempfile.mkdtemp())
    >>> type(load_preset(path).backbone).__name__
    'RNNBackbone'
    """
    import keras_hub

    path = Path(preset_dir)
    metadata = verify_preset(path) if verify else _preset_metadata(path)
    missing = _missing_weights_file(path)
    if missing:
        raise ConfigError(f"{path / missing} is missing: the preset's config.json gives only the architecture, "
                          f"its weights are in {missing}. Copy the whole preset directory again, or save it again "
                          "(zoo.transfer.save_preset, keras-hub's save_to_preset).")
    backbone = keras_hub.models.Backbone.from_preset(str(path), **({"dtype": dtype} if dtype else {}))
    tokenizer = None
    if not isinstance(backbone, Backbone):
        return _hub_preset(path, backbone, metadata, sequence_length)
    if (path / "tokenizer.json").is_file():
        # keras-hub's Tokenizer.from_preset wants a tokenizer class registered for the backbone class;
        # rebuild it from its config and vocabulary file instead.
        tokenizer = keras.saving.deserialize_keras_object(json.loads((path / "tokenizer.json").read_text()))
        tokenizer.load_assets(str(path / Path(VOCABULARY_FILE).parent))
    return Preset(path, backbone, tokenizer, metadata)


def _missing_weights_file(path: Path) -> str | None:
    """The weights file a preset directory lacks (keras-hub reads `model.weights.h5`, or shards listed in
    `model.weights.json`), or None.

    Example:
    >>> import tempfile
    >>> _missing_weights_file(Path(tempfile.mkdtemp()))
    'model.weights.h5'
    """
    if (path / PRESET_WEIGHTS).is_file():
        return None
    shards = path / "model.weights.json"
    if not shards.is_file():
        return PRESET_WEIGHTS
    try:
        weight_map = json.loads(shards.read_text())["weight_map"]
        names = {name for value in weight_map.values() for name in ([value] if isinstance(value, str) else value)}
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        return None  # not a shard index keras-hub can read: it says what is wrong with it
    return next((name for name in sorted(names) if not (path / name).is_file()), None)


def _hub_preset(path: Path, encoder: Any, metadata: dict[str, Any], sequence_length: int | None) -> Preset:
    """A keras-hub model preset as a `Preset`: the encoder wrapped as a `HubTextBackbone`, its tokenizer."""
    import keras_hub

    from builders.backbones.hub import HubTextBackbone

    if not (path / "tokenizer.json").is_file():
        raise ConfigError(f"{path}: a keras-hub {type(encoder).__name__} preset without tokenizer.json; only text "
                          "encoders with their tokenizer can be transferred (save both with save_to_preset).")
    tokenizer = keras_hub.models.Tokenizer.from_preset(str(path))
    if sequence_length is None:
        preprocessor = path / "preprocessor.json"
        config = json.loads(preprocessor.read_text()).get("config", {}) if preprocessor.is_file() else {}
        sequence_length = int(config.get("sequence_length") or min(getattr(encoder, "max_sequence_length", 128), 128))
    padding_id = getattr(tokenizer, "pad_token_id", None)
    backbone = HubTextBackbone(encoder, sequence_length, padding_id=0 if padding_id is None else int(padding_id))
    card = {"name": path.name, "objective": f"keras-hub preset ({type(encoder).__name__}, "
            f"keras-hub {metadata.get('keras_hub_version', '?')})", **metadata.get("vertical_zoo", {})}
    return Preset(path, backbone, tokenizer, {**metadata, "vertical_zoo": card})


# === Corpora ===


@dataclasses.dataclass
class Corpus:
    """Unlabelled inputs for pretraining, and what a backbone needs to know about them.

    Args:
        name: the spec it was loaded from (e.g. `"sklearn_digits+breastmnist"`).
        modality: `"text"`, `"image"`, `"timeseries"` or `"tabular"`.
        x: the inputs: an array, a dict of arrays (tabular) or an array of str (text).
        meta: facts for the backbone's arguments (`input_shape`, `window`, `feature_names`, ...).
        parts: one dict per part: name, description, number of examples, sha256 of its files.
        task: the task of the first part that was a task name (its backbone is the default).
        ages: per window, the steps its trajectory had run at its last step (the `"age"` pretext's
            target), when every part comes from trajectories (C-MAPSS); else None.
    """

    name: str
    modality: str
    x: Any
    meta: dict[str, Any]
    parts: list[dict[str, Any]]
    task: Task | None = None
    ages: np.ndarray | None = None

    def __len__(self) -> int:
        return len(next(iter(self.x.values()))) if isinstance(self.x, dict) else len(self.x)


def sklearn_digits(size: int = 28) -> np.ndarray:
    """scikit-learn's bundled 1,797 handwritten digits (8x8), resized to `size` x `size`, in [0, 1].

    Example:
    >>> sklearn_digits(16).shape
    (1797, 16, 16, 1)
    """
    import tensorflow as tf
    from sklearn.datasets import load_digits

    images = load_digits().images.astype("float32")[..., np.newaxis] / 16.0
    return np.clip(tf.image.resize(images, (size, size)).numpy(), 0.0, 1.0).astype("float32")


BUILTIN_CORPORA = {
    "sklearn_digits": ("image", "scikit-learn's bundled 8x8 digits (UCI Optical Recognition of Handwritten Digits), "
                                "resized to 28x28, no labels"),
}


def _unlabelled_inputs(dataset: str, data_dir: str | None, seed: int, options: dict[str, Any]) -> tuple[Any, dict]:
    """A dataset's unlabelled pretraining inputs and its meta: the dedicated loaders where the data
    has them (C-MAPSS: train and test engines' windows, and their ages in `meta["ages"]`; PubMedQA:
    all 1,000 texts, labels left out), else the train split's inputs."""
    module = inspect.getmodule(DATASETS[dataset])

    def call(loader: Any) -> Any:
        accepted = inspect.signature(loader).parameters
        return loader(data_dir, **{k: v for k, v in {"seed": seed, **options}.items() if k in accepted})

    for name in ("load_unlabelled_trajectories", "load_unlabelled_text"):
        loader = getattr(module, name, None)
        if loader is not None:
            x = call(loader)
            meta = load_dataset(dataset, data_dir, seed=seed, **options).meta
            what = "windows of the train AND test engines" if "trajector" in name else "all texts"
            meta = {**meta, "unlabelled": f"{what} ({module.__name__}.{name}); labels not used"}
            if hasattr(module, "trajectory_ages"):
                meta["ages"] = call(module.trajectory_ages)
            return x, meta
    data = load_dataset(dataset, data_dir, seed=seed, **options)
    return data.train.x, {**data.meta, "unlabelled": f"the train split's inputs (seed {seed}); labels not used",
                          "train_split_of": {"dataset": dataset, "seed": seed}}


def _load_part(spec: str, data_dir: str | None, seed: int, image_size: int | None) -> tuple[Any, str, dict, Task | None]:
    task = None
    if spec in BUILTIN_CORPORA:
        modality, description = BUILTIN_CORPORA[spec]
        return sklearn_digits(image_size or 28), modality, {"description": description}, None
    if spec in list_tasks() or spec in DATASETS:
        task = get_task(spec) if spec in list_tasks() else None
        dataset, options = (task.dataset, task.data_options) if task else (spec, {})
        x, meta = _unlabelled_inputs(dataset, data_dir, seed, dict(options))
        modality = task.modality if task else meta.get("modality", "")
        meta = {**meta, "description": f"dataset {dataset}: {meta['unlabelled']}"}
        return x, modality, meta, task
    path = Path(spec)
    if not path.is_file():
        raise UnknownNameError(f"Unknown corpus '{spec}': not a task ({', '.join(list_tasks())}), a dataset "
                               f"({', '.join(sorted(DATASETS))}), a built-in corpus ({', '.join(BUILTIN_CORPORA)}) "
                               "or an existing .txt (one text per line) / .npy file.")
    meta = {"description": f"file {path}", "sha256": {path.name: sha256(path)}}
    if path.suffix == ".txt":
        try:
            texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError as error:
            raise DataValidationError(f"{path.name}: byte {error.start} is not valid UTF-8; a text corpus is read as "
                                      "UTF-8, one text per line: convert it first (e.g. iconv -f latin1 -t utf-8)."
                                      ) from None
        return np.array(texts, dtype=object), "text", meta, None
    if path.suffix == ".npy":
        x = np.load(path, allow_pickle=False)
        modality = {4: "image", 3: "timeseries", 2: "tabular"}.get(x.ndim)
        if modality is None:
            raise ConfigError(f"{path}: array of shape {x.shape}; expected (n, h, w, c) images, (n, steps, features) "
                              "windows or (n, columns) numeric rows.")
        return (x.astype("float32") if modality != "tabular" else {"numeric": x.astype("float32")}), modality, meta, None
    raise ConfigError(f"{path}: unsupported corpus file; expected .txt (one text per line) or .npy.")


def _concat(parts: list[Any], where: str) -> Any:
    if isinstance(parts[0], dict):
        keys = set(parts[0])
        if any(set(p) != keys for p in parts):
            raise ConfigError(f"{where}: the parts have different tabular inputs; pretrain one dataset at a time.")
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    shapes = {np.shape(p)[1:] for p in parts}
    if len(shapes) > 1:
        raise ConfigError(f"{where}: the parts have different example shapes {sorted(shapes)}.")
    return np.concatenate(parts)


def load_corpus(spec: str, *, data_dir: str | None = None, seed: int = 0, image_size: int | None = None) -> Corpus:
    """Unlabelled inputs named by `spec`: parts joined by `+`, each a task, a dataset, a built-in
    corpus (`BUILTIN_CORPORA`) or a file (`.txt`: one text per line; `.npy`: an array).

    A task or dataset part gives unlabelled inputs only: C-MAPSS windows of the train and test
    engines, all PubMedQA texts, or else the train split's inputs. Labels are never used (a loader
    may read them, e.g. to fit the same scaler as the supervised splits, but they are dropped).

    Example:
    >>> corpus = load_corpus("sklearn_digits")
    >>> corpus.modality, corpus.x.shape
    ('image', (1797, 28, 28, 1))
    """
    xs, ages, modalities, parts, task, meta = [], [], set(), [], None, {}
    for name in [s.strip() for s in spec.split("+") if s.strip()]:
        x, modality, part_meta, part_task = _load_part(name, data_dir, seed, image_size)
        part_meta = dict(part_meta)
        ages.append(part_meta.pop("ages", None))
        xs.append(x)
        modalities.add(modality)
        task = task or part_task
        meta = meta or part_meta
        n = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
        parts.append({"name": name, "description": part_meta["description"], "num_examples": int(n),
                      "sha256": part_meta.get("sha256", {}),
                      **{k: part_meta[k] for k in ("train_split_of",) if k in part_meta}})
    if not xs:
        raise ConfigError("corpus is empty; name a task, dataset, built-in corpus or file.")
    if len(modalities) > 1:
        raise ConfigError(f"corpus '{spec}' mixes modalities {sorted(modalities)}; pretrain one modality at a time.")
    modality = modalities.pop()
    x = np.concatenate([np.asarray(p, dtype=object) for p in xs]) if modality == "text" else _concat(xs, spec)
    if modality == "image":
        meta = {**meta, "input_shape": list(np.shape(x)[1:])}
    elif modality == "timeseries":
        meta = {**meta, "window": int(np.shape(x)[1]),
                "feature_names": meta.get("feature_names") or [f"f{i}" for i in range(np.shape(x)[2])]}
    elif modality == "tabular" and "numeric_names" not in meta:
        meta = {**meta, "num_numeric": int(np.shape(x["numeric"])[1])}
    known = all(a is not None for a in ages)
    return Corpus(spec, modality, x, meta, parts, task, np.concatenate(ages).astype("float32") if known else None)


def _text_chunks(tokenizer: Any, texts: np.ndarray, sequence_length: int, max_tokens: int = 512) -> np.ndarray:
    """Token ids of `texts` (their first `max_tokens`) cut into consecutive chunks of `sequence_length`:
    a long abstract gives several sequences."""
    from zoo.data.text import tokenize

    ids = tokenize(tokenizer, texts, sequence_length * max(1, max_tokens // sequence_length))
    chunks = ids.reshape(-1, sequence_length)
    kept = chunks[(chunks > 0).sum(axis=1) >= 4]  # drop empty and nearly empty chunks
    if len(texts) and not len(kept):
        raise ConfigError(f"the corpus's {len(texts)} texts have at most {int((ids > 0).sum(axis=1).max())} tokens "
                          "each; masked-token pretraining needs texts of at least 4 tokens.")
    return kept


# === Pretraining ===


@dataclasses.dataclass
class PretrainResult:
    """What `pretrain` returns: the preset directory, the pretraining history and the card."""

    preset_dir: Path
    history: dict[str, list[float]]
    card: dict[str, Any]


def _backbone_spec(corpus: Corpus, backbone: str | None, params: dict | None) -> BackboneSpec:
    """The backbone to pretrain: `backbone`, else the corpus task's (if its family has an objective), else
    the modality's default (a task's bag of words, say, has nothing to pretrain)."""
    spec = corpus.task.backbone if corpus.task and corpus.task.backbone.name in FAMILIES else None
    spec = spec or DEFAULT_BACKBONES.get(corpus.modality)
    if backbone and (spec is None or backbone != spec.name):
        spec = BackboneSpec(backbone, {})
    if spec is None:
        raise ConfigError(f"No default backbone for modality '{corpus.modality}'; pass backbone=.")
    if params is not None:
        check_backbone_params(spec.name, params)
    return BackboneSpec(spec.name, {**spec.params, **(params or {})})


def pretrain(
    corpus: str | Corpus,
    out_dir: str | os.PathLike,
    *,
    backbone: str | None = None,
    backbone_params: dict | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    data_dir: str | None = None,
    vocab_size: int | None = None,
    sequence_length: int | None = None,
    objective_options: dict | None = None,
    verbose: int | str = 0,
) -> PretrainResult:
    """Pretrain a backbone on an unlabelled corpus and save it as a preset directory.

    Args:
        corpus: a corpus spec (see `load_corpus`) or a loaded `Corpus`.
        out_dir: the preset directory to write.
        backbone: registered backbone name; default: the corpus task's backbone, else
            `DEFAULT_BACKBONES[modality]`.
        backbone_params: constructor overrides, e.g. `{"hidden_dim": 32}`.
        epochs, batch_size, learning_rate: default `PRETRAIN_DEFAULTS[modality]`.
        seed: seeds the weights, the masking and the shuffling.
        data_dir: where the datasets are.
        vocab_size, sequence_length: text only: the WordPiece vocabulary learned from the corpus,
            and the tokens per sequence (long texts are cut into several sequences). Default: the
            corpus task's (its own backbone's length only), else 8000 and 128.
        objective_options: passed to the family's objective: `{"objective": "masked"}` for images
            (default contrastive), `{"objective": "age"}` for windows of trajectories (default masked
            steps; the ages come from the corpus).
        verbose: Keras `fit` verbosity.

    Returns:
        A `PretrainResult`.

    Example:
    >>> import tempfile
    >>> result = pretrain("sklearn_digits", tempfile.mkdtemp(), backbone_params={"filters": [4]},
    ...                   epochs=1, batch_size=512)
    >>> result.card["objective"], len(result.history["loss"])
    ('contrastive', 1)
    """
    keras.utils.set_random_seed(seed)
    corpus = corpus if isinstance(corpus, Corpus) else load_corpus(corpus, data_dir=data_dir, seed=seed)
    default_epochs, default_batch, default_lr = PRETRAIN_DEFAULTS.get(corpus.modality, (10, 64, 1e-3))
    options = dict(objective_options or {})
    if options.get("objective") == "age":
        if corpus.ages is None:
            raise ConfigError(f"The 'age' objective needs each window's age, which corpus '{corpus.name}' does not "
                              "have: only trajectory datasets give them (e.g. manufacturing/rul_fd001).")
        options["ages"] = corpus.ages
    meta, x, tokenizer = dict(corpus.meta), corpus.x, None
    spec = _backbone_spec(corpus, backbone, backbone_params)
    if corpus.modality == "text":
        from zoo.data.text import RESERVED_TOKENS, fit_tokenizer

        preprocessing = corpus.task.preprocessing if corpus.task else {}
        if sequence_length is None:  # an explicit value wins; the task's length suits its own model only
            own = corpus.task is not None and corpus.task.backbone.name == spec.name
            sequence_length = int(preprocessing.get("sequence_length", 128) if own else 128)
        vocab_size = int(preprocessing.get("vocab_size", 8000) if vocab_size is None else vocab_size)
        tokenizer = fit_tokenizer(corpus.x, vocab_size)
        x = _text_chunks(tokenizer, corpus.x, sequence_length)
        meta.update(vocab_size=int(tokenizer.vocabulary_size()), sequence_length=sequence_length)
        options.setdefault("mask_token_id", int(tokenizer.token_to_id("[MASK]")))
        options.setdefault("unselectable_token_ids", [int(tokenizer.token_to_id(t)) for t in RESERVED_TOKENS])
    # backbone_arguments reads only `.backbone` of the task: the corpus has no task of its own.
    model = build_backbone(spec.name, **backbone_arguments(types.SimpleNamespace(backbone=spec), meta))
    started = time.perf_counter()
    history = pretrain_backbone(model, x, epochs=epochs or default_epochs, batch_size=batch_size or default_batch,
                                learning_rate=learning_rate or default_lr, seed=seed, verbose=verbose, **options)
    seconds = time.perf_counter() - started
    objective = {"text": "masked-token language modelling (15% of tokens)",
                 "timeseries": "masked-step reconstruction (spans of 5 steps, 30%)",
                 "tabular": "masked-feature reconstruction (30% swap noise)"}.get(
        corpus.modality, options.get("objective", "contrastive"))
    if options.get("objective") == "age":
        objective = "window-age regression (cycles run at each window's last step, standardized; MSE)"
    card = {
        "name": f"{model.registered_name}-{corpus.name.replace('/', '_').replace('+', '-')}",
        "backbone": model.registered_name, "backbone_params": backbone_params or {}, "objective": objective,
        "objective_options": dict(objective_options or {}), "corpus": corpus.name, "corpus_parts": corpus.parts,
        "modality": corpus.modality,
        "num_examples": int(len(x) if not isinstance(x, dict) else len(corpus)), "epochs": len(history["loss"]),
        "batch_size": batch_size or default_batch, "learning_rate": learning_rate or default_lr, "seed": seed,
        "final_loss": round(history["loss"][-1], 5), "history": history, "seconds": round(seconds, 1),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "data_meta": {k: corpus.meta[k] for k in ("scaler", "window", "feature_names", "numeric_names",
                                                  "categorical_names", "categorical_cardinalities") if k in corpus.meta},
    }
    path = save_preset(model, out_dir, tokenizer=tokenizer, card=card)
    return PretrainResult(path, history, card)


# === Target data ===


def tokenize_for_preset(data: Dataset, preset: Preset) -> Dataset:
    """A text `Dataset` tokenized with the preset's own tokenizer, at the backbone's sequence length.

    A keras-hub model preset's ids are packed as its encoder was trained: start and end tokens
    (e.g. `[CLS]`, `[SEP]`) and its padding id, as keras-hub's `StartEndPacker` does.
    `meta["oov_rate"]` is the share of the train split's tokens that are `[UNK]` in the source
    vocabulary: the price of transferring across vocabularies (None when it has no `[UNK]`).

    Example:
    >>> import tempfile
    >>> from zoo.data.text import fit_tokenizer
    >>> from builders import TransformerBackbone
    >>> tok = fit_tokenizer(["profit rose", "profit fell"], vocab_size=40)
    >>> b = TransformerBackbone(sequence_length=4, vocabulary_size=tok.vocabulary_size(), hidden_dim=8,
    ...                         num_layers=1, num_heads=2, intermediate_dim=8)
    >>> preset = load_preset(save_preset(b, tempfile.mkdtemp(), tokenizer=tok))
    >>> s = Split(np.array(["profit rose", "xyz"], dtype=object), np.array([1, 0]))
    >>> out = tokenize_for_preset(Dataset(s, s, s), preset)
    >>> out.train.x.shape, out.meta["oov_rate"] > 0
    ((2, 4), True)
    """
    from builders.backbones.hub import HubTextBackbone
    from zoo.data.text import tokenize

    tokenizer = preset.tokenizer
    if tokenizer is None:
        raise ConfigError(f"{preset.path}: a text target needs a preset saved with its tokenizer (tokenizer.json).")
    length = int(preset.backbone.sequence_length)
    packing: dict[str, Any] = {}
    if isinstance(preset.backbone, HubTextBackbone):
        packing = {"start_id": getattr(tokenizer, "start_token_id", None),
                   "end_id": getattr(tokenizer, "end_token_id", None), "padding_id": preset.backbone.padding_id}
    ids = [tokenize(tokenizer, s.x, length, **packing) for s in (data.train, data.val, data.test)]
    splits = [Split(x, s.y) for x, s in zip(ids, (data.train, data.val, data.test), strict=True)]
    vocabulary = [str(t) for t in tokenizer.get_vocabulary()]
    oov = None
    if "[UNK]" in vocabulary:
        unk = vocabulary.index("[UNK]")
        oov = float((ids[0] == unk).sum() / max(1, (ids[0] != packing.get("padding_id", 0)).sum()))
    meta = {**data.meta, "vocab_size": int(tokenizer.vocabulary_size()), "sequence_length": length,
            "vocabulary": vocabulary, "oov_rate": oov,
            "tokenizer": {"kind": type(tokenizer).__name__, "fitted_on": f"the preset's corpus ({preset.path.name})",
                          "lowercase": getattr(tokenizer, "lowercase", None), "packing": packing or None}}
    # As tokenize_dataset keeps them: export serves raw text and checks it against these ids.
    extra = {**data.extra, "tokenizer": tokenizer, "text": {"train": data.train.x, "val": data.val.x,
                                                            "test": data.test.x}}
    return dataclasses.replace(data, train=splits[0], val=splits[1], test=splits[2], meta=meta, extra=extra)


def label_subset(data: Dataset, fraction: float, seed: int, *, classification: bool) -> Dataset:
    """Keep `fraction` of the labelled training examples (validation and test unchanged).

    Whole groups when the loader records them (C-MAPSS: `fraction` of the training ENGINES, all
    their windows); stratified for classification (at least one example of each class); else a
    seeded random share.

    Example:
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> s = Split(np.zeros((100, 1)), y)
    >>> sub = label_subset(Dataset(s, s, s), 0.1, seed=0, classification=True)
    >>> sorted(np.bincount(sub.train.y).tolist())
    [1, 9]
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"label fraction must be in (0, 1], got {fraction}.")
    if fraction == 1.0:
        return data
    rng = np.random.default_rng(seed)
    groups = data.extra.get("train_windows_unit")
    if groups is not None:
        units = np.unique(groups)
        keep = rng.permutation(units)[: max(1, int(round(fraction * len(units))))]
        index = np.flatnonzero(np.isin(groups, keep))
        extra = {**data.extra, "train_windows_unit": groups[index]}
    elif classification:
        y = np.asarray(data.train.y).astype(int)
        index = np.sort(np.concatenate([
            rng.permutation(np.flatnonzero(y == c))[: max(1, int(round(fraction * (y == c).sum())))]
            for c in np.unique(y)]))
        extra = data.extra
    else:
        return data.subset(fraction, seed)
    return dataclasses.replace(data, train=Split(take(data.train.x, index), data.train.y[index]), extra=extra)


# === Transfer ===


def _median_epoch(seconds: list[float]) -> float:
    """Median epoch time, leaving out the first epoch (graph tracing) when there are others."""
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


@dataclasses.dataclass
class TrainSettings:
    """How each arm is trained; None fields fall back to the target task's `TrainingConfig`.

    Args:
        epochs: maximum epochs of the head (transfer) and of the whole model (scratch).
        batch_size, learning_rate, patience: as in the task.
        min_steps: raise the epochs so that every run takes at least this many optimizer steps
            (a 1% label budget otherwise gets a handful of updates).
        head_min_steps: the frozen base's head, which trains on cached features (milliseconds a
            step), trains at least this many steps before early stopping may stop it: a head from
            random initialization at the task's learning rate needs hundreds of steps (measured on
            breast cancer with 37 labels: after 100 steps a linear head scored 0.37-0.72 accuracy,
            after 1,000 steps 0.96-0.97). Early stopping may stop it sooner only when it watches
            the validation loss of an unweighted task (see `head_watch_start`).
        fine_tune: after the head, unfreeze the base gradually (ULMFiT-style: the top third of its
            weighted layers, then two thirds, then all; normalization layers stay frozen) and train
            each stage with early stopping.
        fine_tune_epochs: maximum fine-tuning epochs of each stage (default: as `epochs`).
        fine_tune_learning_rate: the fine-tuning learning rate (default: learning_rate / 10).
        fine_tune_stages: number of unfreezing stages (1 = everything at once).
    """

    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    patience: int | None = None
    min_steps: int = 100
    head_min_steps: int = 1000
    fine_tune: bool = False
    fine_tune_epochs: int | None = None
    fine_tune_learning_rate: float | None = None
    fine_tune_stages: int = 3


def head_watch_start(training: TrainingConfig, floor: int) -> int:
    """The epoch from which the frozen base's head's early stopping watches its monitor.

    The validation loss of an unweighted task is what the head minimizes: it cannot prefer the
    random initial head, so it is watched from the start, and stops a head on a few labels before
    it overfits (C-MAPSS FD001 with one labelled engine: 1,000 epochs unwatched reached RMSE 62).
    A score (AUC, accuracy), or the loss of a class-weighted task, can prefer it (German credit:
    the initial head's val AUC was its best within 10 epochs, and restoring it labelled every
    applicant good), so early stopping waits out the head's `floor` epochs.

    Example:
    >>> head_watch_start(TrainingConfig(monitor="val_loss"), floor=50)
    0
    >>> head_watch_start(TrainingConfig(monitor="val_auc"), floor=50)
    50
    >>> head_watch_start(TrainingConfig(monitor="val_loss", class_weight="balanced"), floor=50)
    50
    """
    return 0 if training.monitor == "val_loss" and training.class_weight is None else floor


def _fit(model: keras.Model, task: Task, data: Dataset, s: TrainSettings, epochs: int, seed: int,
         verbose, *, cached: bool = False) -> dict[str, Any]:
    """Train (the head alone on features computed once, when `cached`); epochs run and timings."""
    tc = task.training
    batch = s.batch_size or tc.batch_size
    steps = -(-len(data.train) // batch)
    floor = -(-s.head_min_steps // steps) if cached else min(500, -(-s.min_steps // steps))
    epochs = max(epochs, floor)
    patience = tc.patience if s.patience is None else s.patience
    timer = EpochTimer()
    callbacks: list = [timer]
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(tc.monitor, patience=patience, restore_best_weights=True,
                                                       start_from_epoch=head_watch_start(tc, floor) if cached else 0))
    weights = class_weights(data.train.y, tc.class_weight, data.meta.get("class_names"))
    started = time.perf_counter()
    if cached:
        fit_cached(model, (data.train.x, data.train.y), (data.val.x, data.val.y), batch_size=batch, epochs=epochs,
                   seed=seed, callbacks=callbacks, class_weight=weights, verbose=verbose)
    else:
        adapt_frozen_head(model, data.train.x)  # the frozen arm's head standardizes its features (not when fine-tuning)
        # train_model builds the optimizer a recompile (`unfreeze`) left unbuilt: one trace per stage, not two
        train_model(model, make_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=seed),
                    make_dataset(data.val.x, data.val.y, batch), strategy=model.distribute_strategy, epochs=epochs,
                    callbacks=callbacks, class_weight=weights, verbose=verbose)
    return {"epochs": len(timer.seconds), "seconds_per_epoch": _median_epoch(timer.seconds),
            "train_seconds": time.perf_counter() - started}


def _compile(model: keras.Model, task: Task, learning_rate: float) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=task.loss, metrics=list(task.metrics))
    return model


def _score(task: Task, model: keras.Model, data: Dataset) -> float:
    return float(predict_report(task, model, data)["test"][task.primary_metric])


def _run_arms(preset_dir: Path, task: Task, data: Dataset, full_train_x: Any, seed: int, s: TrainSettings,
              verbose) -> list[dict[str, Any]]:
    """Scratch, frozen-base transfer and (optionally) fine-tuned transfer on one label subset."""
    tc = task.training
    lr = s.learning_rate or tc.learning_rate
    epochs = s.epochs or tc.epochs
    head = head_config(task, data)
    rows = []

    keras.utils.set_random_seed(seed)
    preset = load_preset(preset_dir, verify=False)  # verified once by the caller
    scratch = type(preset.backbone).from_config(preset.backbone.get_config())  # same architecture, fresh weights
    scratch.adapt(full_train_x)  # statistics of all training inputs, as the pretrained base had
    model = _compile(transfer_model(scratch, build_head(head, scratch.output_dim), freeze=False), task, lr)
    fitted = _fit(model, task, data, s, epochs, seed, verbose)
    rows.append({"arm": "scratch", "score": _score(task, model, data), **fitted, "trainable_params": _trainable(model)})

    keras.utils.set_random_seed(seed)
    base = preset.backbone
    frozen = task.with_overrides(freeze=True)  # built and trained as the harness makes a frozen-base model
    model = _compile(transfer_model(base, build_head(head_config(frozen, data), base.output_dim), freeze=True),
                     task, lr)
    cached, _ = can_cache(frozen, model)  # features computed once
    fitted = _fit(model, task, data, s, epochs, seed, verbose, cached=cached)
    rows.append({"arm": "transfer", "score": _score(task, model, data), **fitted, "trainable_params": _trainable(model),
                 "feature_cache": cached})
    if s.fine_tune:
        fitted = _fine_tune(model, task, data, s, s.fine_tune_epochs or epochs, seed,
                            s.fine_tune_learning_rate or lr / 10, verbose)
        rows.append({"arm": "fine-tuned", "score": _score(task, model, data), **fitted,
                     "trainable_params": _trainable(model)})
    return rows


def _fine_tune(model: keras.Model, task: Task, data: Dataset, s: TrainSettings, epochs: int, seed: int,
               learning_rate: float, verbose) -> dict[str, Any]:
    """Gradual unfreezing; returns the total epochs and seconds, and the seconds per epoch of the last
    stage (the whole base trainable: the cost of full fine-tuning)."""
    layers = len(unfreeze(model, None, learning_rate))  # how many layers can be unfrozen
    stages = max(1, min(s.fine_tune_stages, layers))
    total = {"epochs": 0, "train_seconds": 0.0}
    for stage in range(1, stages + 1):
        unfreeze(model, -(-layers * stage // stages), learning_rate)  # recompiles: a fresh optimizer per stage
        fitted = _fit(model, task, data, s, epochs, seed, verbose)
        total = {"epochs": total["epochs"] + fitted["epochs"],
                 "train_seconds": total["train_seconds"] + fitted["train_seconds"]}
    return {**total, "seconds_per_epoch": fitted["seconds_per_epoch"]}


def _trainable(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _higher_is_better(task: Task) -> bool:
    for b in task.baselines:
        if b.metric == task.primary_metric:
            return b.higher_is_better
    return not lower_is_better(task.primary_metric)


@dataclasses.dataclass
class TransferReport:
    """Scores of every arm, label fraction and seed, with summaries; `save` writes JSON, table and chart.

    Args:
        preset: the preset directory.
        task: the target task's name.
        metric: the task's primary metric (test split).
        higher_is_better: the metric's direction; `gain` is signed so that positive = transfer better.
        rows: one dict per (seed, label fraction, arm).
        card: the preset's pretraining card.
        settings: the training settings.
        notes: caveats of the comparison.
    """

    preset: str
    task: str
    metric: str
    higher_is_better: bool
    rows: list[dict[str, Any]]
    card: dict[str, Any]
    settings: dict[str, Any]
    notes: list[str] = dataclasses.field(default_factory=list)

    def scores(self) -> dict[str, dict[float, list[float]]]:
        """`{arm: {label_fraction: [score per seed]}}`."""
        out: dict[str, dict[float, list[float]]] = {}
        for r in self.rows:
            out.setdefault(r["arm"], {}).setdefault(r["label_fraction"], []).append(r["score"])
        return out

    def summary(self) -> list[dict[str, Any]]:
        """One dict per (label fraction, arm): mean and std of the score, the paired gain over
        scratch (same seed) and the median seconds per epoch."""
        out = []
        sign = 1.0 if self.higher_is_better else -1.0
        fractions = sorted({r["label_fraction"] for r in self.rows})
        for f in fractions:
            by_arm: dict[str, dict[int, dict]] = {}
            for r in self.rows:
                if r["label_fraction"] == f:
                    by_arm.setdefault(r["arm"], {})[r["seed"]] = r
            scratch = by_arm.get("scratch", {})
            for arm, runs in by_arm.items():
                scores = np.array([runs[k]["score"] for k in sorted(runs)])
                gains = np.array([sign * (runs[k]["score"] - scratch[k]["score"]) for k in sorted(runs) if k in scratch])
                out.append({
                    "label_fraction": f, "arm": arm,
                    "labelled_counts": sorted({int(r["labelled_examples"]) for r in runs.values()}),
                    # one seed has no spread: None (the tables say "1 seed"), not a 0.0 that reads as "no spread"
                    "seeds": len(scores), "mean": float(scores.mean()),
                    "std": float(scores.std(ddof=1)) if len(scores) > 1 else None,
                    "gain_mean": float(gains.mean()) if arm != "scratch" else 0.0,
                    "gain_std": 0.0 if arm == "scratch" else float(gains.std(ddof=1)) if len(gains) > 1 else None,
                    "seconds_per_epoch": float(np.median([r["seconds_per_epoch"] for r in runs.values()])),
                    "train_seconds": float(np.median([r.get("train_seconds", np.nan) for r in runs.values()])),
                    "epochs": float(np.mean([r["epochs"] for r in runs.values()])),
                })
        return out

    def table(self) -> str:
        """The summary as a Markdown table."""
        better = "higher" if self.higher_is_better else "lower"
        lines = [f"Target {self.task}, metric {self.metric} ({better} is better), preset {Path(self.preset).name}",
                 "", "| labels | n labelled | arm | mean | std | gain vs scratch (paired) | s/epoch | epochs |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in self.summary():
            gain = "" if r["arm"] == "scratch" else f"{r['gain_mean']:+.4f}{_spread(r['gain_std'], 4)}"
            counts = r["labelled_counts"]
            n = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
            std = "(1 seed)" if r["std"] is None else f"{r['std']:.4f}"
            lines.append(f"| {100 * r['label_fraction']:g}% | {n} | {r['arm']} | {r['mean']:.4f} "
                         f"| {std} | {gain} | {r['seconds_per_epoch']:.3f} | {r['epochs']:.1f} |")
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes])

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "summary": self.summary()}

    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write `transfer.json`, `transfer.md` and `gain.png` into `out_dir`; return it."""
        from zoo.report.plots import save_png, transfer_gain

        path = Path(out_dir)
        path.mkdir(parents=True, exist_ok=True)
        (path / "transfer.json").write_text(json.dumps(self.to_dict(), indent=2, default=str))
        (path / "transfer.md").write_text(self.table() + "\n")
        title = f"{self.task}: {Path(self.preset).name} vs scratch"
        save_png(transfer_gain(self.scores(), metric=self.metric, higher_is_better=self.higher_is_better, title=title),
                 path / "gain.png")
        return path


def _corpus_overlap_notes(card: dict[str, Any], dataset: str, seeds: Sequence[int]) -> list[str]:
    """A note when the preset was pretrained on the target dataset's train split of one seed and the
    transfer runs other seeds, whose test splits then hold some of those (unlabelled) inputs.

    Example:
    >>> card = {"corpus_parts": [{"train_split_of": {"dataset": "breast_cancer", "seed": 0}}]}
    >>> _corpus_overlap_notes(card, "breast_cancer", [0]), len(_corpus_overlap_notes(card, "breast_cancer", [0, 1]))
    ([], 1)
    """
    notes = []
    for part in card.get("corpus_parts", []):
        source = part.get("train_split_of") or {}
        seed = source.get("seed")
        if source.get("dataset") == dataset and (others := [s for s in seeds if s != seed]):
            notes.append(f"The preset was pretrained on {dataset}'s train split of seed {seed}: the test splits of "
                         f"seed(s) {others} hold some of those inputs (unlabelled; their labels were never used), so "
                         f"the transfer arm has seen them. Seed {seed}'s comparison is clean.")
    return notes


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    """The seeds to run: `range(seeds)` for a count, else the given list; none at all is a `ConfigError`.

    Example:
    >>> _seed_list(2), _seed_list([5])
    ([0, 1], [5])
    >>> _seed_list(0)
    Traceback (most recent call last):
    builders.errors.ConfigError: seeds must be a number of seeds >= 1 (--seeds N) or a non-empty list of seeds, got 0.
    """
    listed = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not listed:
        raise ConfigError(f"seeds must be a number of seeds >= 1 (--seeds N) or a non-empty list of seeds, got {seeds!r}.")
    return listed


def transfer(
    preset_dir: str | os.PathLike,
    task: str | Task,
    *,
    label_fractions: Sequence[float] = (0.01, 0.1, 1.0),
    seeds: int | Sequence[int] = 3,
    settings: TrainSettings | None = None,
    data_dir: str | None = None,
    data: Dataset | None = None,
    out_dir: str | os.PathLike | None = None,
    verbose: int | str = 0,
) -> TransferReport:
    """Frozen pretrained base + head (optionally then fine-tuned) vs the same architecture from scratch.

    For each seed the task's data is loaded with that seed (same splits for every arm); for each
    label fraction the same labelled subset (`label_subset`) trains every arm; early stopping
    watches the full validation split; the test split scores them.

    Args:
        preset_dir: a preset directory (from `pretrain` or `save_preset`).
        task: the target task or its registered name.
        label_fractions: shares of the training labels to use.
        seeds: a number of seeds (0, 1, ...) or a list of them.
        settings: `TrainSettings` (epochs, fine-tuning, ...).
        data_dir: where the task's dataset is.
        data: a `Dataset` to use instead of loading the task's (then every seed reuses its split).
        out_dir: if given, `save` the report there.
        verbose: Keras `fit` verbosity.

    Returns:
        A `TransferReport`.

    Example:
    >>> import tempfile
    >>> from builders import TabularBackbone
    >>> from zoo.tasks import get_task
    >>> rng = np.random.default_rng(0)
    >>> s = Split({"numeric": rng.normal(size=(40, 3)).astype("float32")}, rng.integers(0, 2, 40))
    >>> preset = save_preset(TabularBackbone(num_numeric=3, hidden_units=(4,)), tempfile.mkdtemp())
    >>> report = transfer(preset, get_task("medical/breast_cancer_diagnosis"), label_fractions=[0.5], seeds=1,
    ...                   data=Dataset(s, s, s, {"num_classes": 2}),
    ...                   settings=TrainSettings(epochs=1, min_steps=1, head_min_steps=1))
    >>> [r["arm"] for r in report.rows]
    ['scratch', 'transfer']
    """
    seed_list = _seed_list(seeds)  # before anything is loaded or written
    settings = settings or TrainSettings()
    task = get_task(task) if isinstance(task, str) else task
    preset = load_preset(preset_dir)
    classification = task.head.kind in ("binary", "multiclass")
    rows = []
    oov = None
    for seed in seed_list:
        full = data if data is not None else load_dataset(task.dataset, data_dir, seed=seed, **task.data_options)
        if task.modality == "text" or (not isinstance(full.train.x, dict) and full.train.x.dtype == object):
            full = tokenize_for_preset(full, preset)
            oov = full.meta["oov_rate"]
        check_inputs(preset.backbone, full.train.x, f"transfer of {preset.path.name} to {task.name}")
        for fraction in label_fractions:
            subset = label_subset(full, float(fraction), seed, classification=classification)
            for row in _run_arms(preset.path, task, subset, full.train.x, seed, settings, verbose):
                rows.append({"seed": seed, "label_fraction": float(fraction), "labelled_examples": len(subset.train),
                             **row})
    notes = [
        "Scratch = the preset's architecture with fresh weights, trained end to end; transfer = the pretrained base "
        "frozen (inference mode) with a new head" + (
            "; fine-tuned = that model after gradual unfreezing of the base at a lower learning rate"
            if settings.fine_tune else "") + ".",
        "Same splits, labelled subsets and seeds for every arm; early stopping on the full validation split; "
        "gain is paired by seed and signed so that positive means transfer is better.",
    ]
    if oov is not None:
        notes.append(f"Target tokenized with the SOURCE vocabulary: {100 * oov:.1f}% of its train tokens are [UNK].")
    if task.dataset == "cmapss_fd001":
        notes.append("Label fraction = share of the training ENGINES (all windows of the chosen engines).")
    notes += _corpus_overlap_notes(preset.card, task.dataset, seed_list)
    report = TransferReport(str(preset.path), task.name, task.primary_metric, _higher_is_better(task), rows,
                            {k: v for k, v in preset.card.items() if k != "history"},
                            dataclasses.asdict(settings), notes)
    if out_dir is not None:
        report.save(out_dir)
    return report


# === The matrix ===


@dataclasses.dataclass
class MatrixSpec:
    """Sources x targets of one backbone family.

    Args:
        sources: `{label: corpus spec}`.
        targets: `{label: task name or dataset name}` (a dataset resolves to the task that uses it).
        backbone: the backbone every source pretrains.
        backbone_params: its constructor arguments.
        pairs: only these (source, target) labels; None = every pair.
        pretrain_options: more keyword arguments of `pretrain` (e.g. `{"sequence_length": 64}`).
        source_options: per source label, keyword arguments of `pretrain` over `pretrain_options`
            (e.g. `{"objective_options": {"objective": "age"}}`: one corpus, two pretexts).
        note: what the matrix can and cannot show.
        target_training: per target label, `TrainingConfig` overrides for its arms (e.g. when the
            target task's own settings were chosen for another backbone than the matrix's).
    """

    sources: dict[str, str]
    targets: dict[str, str]
    backbone: str
    backbone_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    pairs: list[tuple[str, str]] | None = None
    pretrain_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    source_options: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    note: str = ""
    target_training: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


MATRICES = {
    "text": MatrixSpec(
        sources={"pubmedqa": "pubmedqa_pqal", "phrasebank": "financial_phrasebank"},
        targets={"phrasebank": "finance/sentiment", "pubmedqa": "medical/pubmedqa"},
        backbone="transformer",
        backbone_params=dict(DEFAULT_BACKBONES["text"].params),
        pretrain_options={"sequence_length": 64, "vocab_size": 8000},
        note="Each target is tokenized with its source's vocabulary (it comes with the preset), 64 tokens per text "
             "(PubMedQA inputs are cut short: the matrix compares transfer with scratch, not the task's best "
             "setting). The PubMedQA corpus holds all 1,000 texts (test inputs included, labels never), in chunks "
             "of 64 tokens; the PhraseBank corpus its train split (seed 0: for seeds 1 and 2 some of those sentences "
             "are test sentences, inputs only, never labels).",
        # PubMedQA's own settings are a bag of words' (learning rate 3e-3, 200 epochs); its Transformer arms keep
        # those of its former Transformer default, with which the recorded matrix ran.
        target_training={"pubmedqa": {"epochs": 30, "batch_size": 16, "learning_rate": 5e-4, "patience": 6}},
    ),
    "image": MatrixSpec(
        sources={"digits+breastmnist": "sklearn_digits+breastmnist", "breastmnist": "breastmnist",
                 "digits": "sklearn_digits"},
        targets={"breastmnist": "medical/breastmnist"},
        backbone="cnn",
        backbone_params={"filters": [16, 32, 64], "blocks_per_stage": 1},
        note="Unlabelled images: scikit-learn's digits (resized to 28x28) and/or BreastMNIST's train split.",
    ),
    "timeseries": MatrixSpec(
        sources={"fd001-trajectories": "manufacturing/rul_fd001", "fd001-age": "manufacturing/rul_fd001"},
        targets={"rul_fd001": "manufacturing/rul_fd001"},
        backbone="rnn",
        backbone_params={"cell": "lstm", "units": 32, "num_layers": 1, "output": "all"},
        source_options={"fd001-age": {"objective_options": {"objective": "age"}}},
        note="The corpus: windows of all 100 train AND 100 test engines' inputs (never their RUL labels), "
             "pretrained by masked-step reconstruction (fd001-trajectories) or window-age regression (fd001-age). "
             "Label fraction = share of the training engines. The backbone's features are the LSTM's final state, "
             "the window's last step and its mean.",
    ),
    "timeseries_cnn": MatrixSpec(
        sources={"fd001-trajectories": "manufacturing/rul_fd001_cnn", "fd001-age": "manufacturing/rul_fd001_cnn"},
        targets={"rul_fd001": "manufacturing/rul_fd001_cnn"},
        backbone="temporal_cnn",
        source_options={"fd001-age": {"objective_options": {"objective": "age"}}},
        note="The DCNN of the task manufacturing/rul_fd001_cnn (Li et al. 2018's architecture, full size), "
             "pretrained on the same corpus as the timeseries matrix (windows of all 100 train AND 100 test engines' "
             "inputs, never their RUL labels) by one of two pretexts: masked-step reconstruction "
             "(fd001-trajectories) or regressing each window's age, the cycles its engine had run (fd001-age; "
             "known while an engine runs, so no failure time is used). Label fraction = share of the training "
             "engines. The backbone's features are its dense layer's 100 units.",
    ),
    "tabular": MatrixSpec(
        sources={"breast_cancer": "breast_cancer", "german_credit": "german_credit", "ai4i2020": "ai4i2020"},
        targets={"breast_cancer": "medical/breast_cancer_diagnosis", "german_credit": "finance/credit_risk",
                 "ai4i2020": "manufacturing/predictive_maintenance"},
        backbone="tabular",
        backbone_params={"hidden_units": [64, 32], "dropout": 0.1, "output": "all"},
        pairs=[("breast_cancer", "breast_cancer"), ("german_credit", "german_credit"), ("ai4i2020", "ai4i2020")],
        note="Within-dataset only: the tabular tasks have different feature sets, so a backbone pretrained on one "
             "cannot take another's rows. The corpus is the train split's inputs (seed 0), labels never used. "
             "The backbone's features are its normalized columns and every hidden layer, concatenated.",
    ),
}


def resolve_task(name: str) -> Task:
    """A registered task by name, or the first registered task whose dataset is `name`.

    Example:
    >>> resolve_task("breastmnist").name
    'medical/breastmnist'
    """
    if name in list_tasks():
        return get_task(name)
    for task_name in list_tasks():
        task = get_task(task_name)
        if task.dataset == name:
            return task
    raise UnknownNameError(f"No registered task is named or uses dataset '{name}'. Known tasks: "
                           f"{', '.join(list_tasks())}.")


def transfer_matrix(
    family: str,
    out_dir: str | os.PathLike,
    *,
    spec: MatrixSpec | None = None,
    label_fractions: Sequence[float] = (0.01, 0.1, 1.0),
    seeds: int | Sequence[int] = 3,
    settings: TrainSettings | None = None,
    pretrain_epochs: int | None = None,
    data_dir: str | None = None,
    verbose: int | str = 0,
) -> dict[str, Any]:
    """Pretrain every source of a family once, transfer each to every target, against scratch.

    Presets go to `<out_dir>/presets/<source>` (reused when one with the same corpus, backbone and
    epochs is already there and its checksums hold), reports
    to `<out_dir>/<source>__<target>/`, and the whole matrix to `<out_dir>/matrix.json` and
    `matrix.md`.

    Args:
        family: a key of `MATRICES` (`"text"`, `"image"`, `"timeseries"`, `"timeseries_cnn"`, `"tabular"`).
        out_dir: where presets and reports go.
        spec: a `MatrixSpec` to use instead of `MATRICES[family]`.
        label_fractions, seeds, settings, data_dir, verbose: as `transfer`.
        pretrain_epochs: pretraining epochs (default: `PRETRAIN_DEFAULTS`).

    Returns:
        `{"family", "note", "cells": [{"source", "target", "pretrain", "summary", "table"}, ...]}`.
    """
    if spec is None and family not in MATRICES:
        raise UnknownNameError(f"Unknown matrix family '{family}'; known: {', '.join(sorted(MATRICES))}.")
    spec = spec or MATRICES[family]
    seed_list = _seed_list(seeds)  # before any preset is pretrained
    out = Path(out_dir)
    pairs = spec.pairs or [(s, t) for s in spec.sources for t in spec.targets]
    cells = []
    for source in dict.fromkeys(s for s, _ in pairs):
        preset_dir = out / "presets" / source
        try:
            card = verify_preset(preset_dir)["vertical_zoo"]
        except (ConfigError, ChecksumError):
            card = {}
        options = {**spec.pretrain_options, **spec.source_options.get(source, {})}
        wanted = {"corpus": spec.sources[source], "backbone": spec.backbone, "backbone_params": spec.backbone_params,
                  "objective_options": options.get("objective_options", {})}
        got = {"objective_options": {}, **card}  # a preset from before cards recorded them: the defaults
        if any(got.get(k) != v for k, v in wanted.items()) or pretrain_epochs not in (None, card.get("epochs")):
            card = pretrain(spec.sources[source], preset_dir, backbone=spec.backbone,
                            backbone_params=spec.backbone_params, epochs=pretrain_epochs, data_dir=data_dir,
                            verbose=verbose, **options).card
        for target in [t for s, t in pairs if s == source]:
            task = resolve_task(spec.targets[target]).with_overrides(**spec.target_training.get(target, {}))
            report = transfer(preset_dir, task, label_fractions=label_fractions,
                              seeds=seed_list, settings=settings, data_dir=data_dir, out_dir=out / f"{source}__{target}",
                              verbose=verbose)
            cells.append({"source": source, "target": target, "task": report.task, "metric": report.metric,
                          "pretrain": {k: card.get(k) for k in ("corpus", "objective", "num_examples", "epochs",
                                                                "final_loss", "seconds")},
                          "summary": report.summary(), "table": report.table()})
    result = {"family": family, "note": spec.note, "cells": cells}
    out.mkdir(parents=True, exist_ok=True)
    (out / "matrix.json").write_text(json.dumps(result, indent=2, default=str))
    (out / "matrix.md").write_text(matrix_table(result) + "\n")
    return result


def matrix_table(result: dict[str, Any]) -> str:
    """A Markdown table of a `transfer_matrix` result: one row per (source, target, fraction, arm).

    Example:
    >>> print(matrix_table({"family": "x", "note": "", "cells": []}).splitlines()[0])
    | source | target | metric | labels | scratch | transfer | gain | fine-tuned | gain |
    """
    lines = ["| source | target | metric | labels | scratch | transfer | gain | fine-tuned | gain |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cell in result["cells"]:
        by_fraction: dict[float, dict[str, dict]] = {}
        for r in cell["summary"]:
            by_fraction.setdefault(r["label_fraction"], {})[r["arm"]] = r
        for f, arms in sorted(by_fraction.items()):
            def fmt(arm: str, arms: dict = arms) -> tuple[str, str]:
                if arm not in arms:
                    return "", ""
                r = arms[arm]
                gain = "" if arm == "scratch" else f"{r['gain_mean']:+.3f}{_spread(r['gain_std'], 3)}"
                return f"{r['mean']:.3f}{_spread(r['std'], 3)}", gain

            scratch, _ = fmt("scratch")
            frozen, frozen_gain = fmt("transfer")
            tuned, tuned_gain = fmt("fine-tuned")
            lines.append(f"| {cell['source']} | {cell['target']} | {cell['metric']} | {100 * f:g}% | {scratch} | "
                         f"{frozen} | {frozen_gain} | {tuned} | {tuned_gain} |")
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines)
