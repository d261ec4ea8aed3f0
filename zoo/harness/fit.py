"""The shared fit/evaluate harness: any task, any strategy, one run directory per run.

A run directory holds fixed file names (as Ludwig's do), so tools read runs without code:
`config.json` (rebuilds the run), `model.keras`, `history.json`, `report.json`,
`predictions.npz` (test targets and model outputs, for plots), `checkpoints/best.keras`
(the best model so far by the task's monitored metric, saved during training when early
stopping is on), and for text tasks `vocabulary.txt`. An ensemble run (`TrainingConfig.ensemble`
> 1) trains each member in `members/<i>/` (its `model.keras`, `history.json`, checkpoints);
its `model.keras` averages them and its `history.json` is member 0's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from zoo.data import load_dataset
from zoo.data.generic import is_frame
from zoo.data.sources import sha256
from zoo.data.types import Dataset
from zoo.errors import ChecksumError, ConfigError, DataValidationError, ZooError
from zoo.harness.build import build_model, head_config
from zoo.harness.caching import adapt_frozen_head, can_cache, fit_cached
from zoo.harness.distributed import (
    IntervalBackupAndRestore,
    check_workers_agree,
    is_chief,
    run_fingerprint,
    scaled_learning_rate,
    tracked_callbacks,
    train_model,
    uses_custom_loop,
)
from zoo.harness.pipeline import make_dataset, predict
from zoo.harness.predict import INPUTS_FILE, input_spec
from zoo.harness.strategy import default_precision, get_strategy
from zoo.report.metrics import classification_metrics, regression_metrics
from zoo.tasks.base import BackboneSpec, Task, check_number
from zoo.tasks.generic import check_data_options
from zoo.tasks.registry import get_task


class BestModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint(save_best_only=True)` that always saves the full `model`.

    With feature caching (`zoo.harness.caching`) Keras's `fit` runs on a head trainer, so a plain
    `ModelCheckpoint` would save only the head; this one saves the model the run returns.

    Example:
    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(loss="mse")
    >>> path = Path(tempfile.mkdtemp()) / "best.keras"
    >>> _ = model.fit(np.ones((4, 2)), np.ones(4), validation_split=0.5, epochs=2, verbose=0,
    ...               callbacks=[BestModelCheckpoint(model, path)])
    >>> path.is_file()
    True
    """

    def __init__(self, model: keras.Model, path: str | os.PathLike, monitor: str = "val_loss"):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(str(path), monitor=monitor, save_best_only=True)
        self._full_model = model

    def set_model(self, model: keras.Model) -> None:
        super().set_model(self._full_model)


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock and process CPU seconds of every epoch (validation included).

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(loss="mse")
    >>> timer = EpochTimer()
    >>> _ = model.fit(np.ones((4, 2)), np.ones(4), epochs=2, verbose=0, callbacks=[timer])
    >>> len(timer.seconds), len(timer.cpu_seconds)
    (2, 2)
    """

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start[0])
        self.cpu_seconds.append(time.process_time() - self._start[1])


@dataclasses.dataclass
class RunConfig:
    """Everything that, with the data, determines a run; saved as the run's `config.json`.

    Args:
        task: the full task (after overrides), as a dict.
        seed: seeds Python, NumPy, TensorFlow and the shuffling.
        strategy: a name from `zoo.harness.strategy.STRATEGIES`.
        precision: `"float32"`, `"mixed_float16"`, `"mixed_bfloat16"` or None (auto: mixed
            precision on GPU/TPU, float32 on CPU).
        jit_compile: XLA: True, False or "auto" (Keras decides).
        deterministic: enable TensorFlow op determinism (same seed + data = same metrics on CPU).
        data_dir: where to look for the dataset first.
        max_train_examples: train on at most this many examples (quick runs and tests).
        tensorboard: write TensorBoard logs to `<run>/logs`.
        feature_cache: train a frozen base's head on backbone features computed once
            (`zoo.harness.caching`): None = wherever valid, True = required, False = never.
        backup_every: minimum seconds between backups of the training state in `<run>/backup`
            (0: after every epoch). Multi-worker runs back up after every epoch regardless.
    """

    task: dict[str, Any]
    seed: int = 0
    strategy: str = "auto"
    precision: str | None = None
    jit_compile: bool | str = "auto"
    deterministic: bool = True
    data_dir: str | None = None
    max_train_examples: int | None = None
    tensorboard: bool = False
    feature_cache: bool | None = None
    backup_every: float = 60.0

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision is {self.precision!r}; expected one of {', '.join(map(str, PRECISIONS))} "
                              "(None: mixed precision on GPU/TPU, float32 on CPU).")
        if self.jit_compile is True and self.deterministic:
            raise ConfigError("XLA (jit_compile=True, --xla) does not run under op determinism: Keras compiles without "
                              "it when determinism is on. Pass deterministic=False (--no-deterministic) to use XLA; "
                              "results then vary slightly from run to run.")
        check_number("seed", self.seed, minimum=0, integer=True)
        check_number("max_train_examples", self.max_train_examples, minimum=1, integer=True, optional=True)
        check_number("backup_every", self.backup_every, minimum=0)


PRECISIONS = (None, "float32", "mixed_float16", "mixed_bfloat16")
# RunConfig fields that a resumed run may change: where the data is and what is logged, not the model.
RESUMABLE_CHANGES = ("data_dir", "tensorboard", "backup_every")


@dataclasses.dataclass
class Run:
    """What `fit` returns: the run directory, the trained model, its history, its report and the task
    as trained (overrides and preset applied)."""

    run_dir: Path
    model: keras.Model
    history: dict[str, list[float]]
    report: dict[str, Any]
    task: Task | None = None


def _seed_everything(seed: int, deterministic: bool) -> None:
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def prepare_data(task: Task, config: RunConfig, data: Dataset | None = None) -> Dataset:
    """Load (unless given), tokenize text, and cut the training split as the config says."""
    if data is not None and not isinstance(data, Dataset):
        generic = task.dataset if task.dataset.startswith("csv_") else "csv_tabular"
        hint = (f" For a pandas DataFrame: data=zoo.data.load_dataset({generic!r}, path=frame, target='COLUMN', ...)"
                " validates and splits it as the same table saved as CSV.") if is_frame(data) else ""
        raise ConfigError(f"data must be a zoo.data.types.Dataset (what zoo.data.load_dataset returns), got "
                          f"{type(data).__name__}.{hint}")
    if data is None:
        check_data_options(task)
        data = load_dataset(task.dataset, config.data_dir, seed=config.seed, **task.data_options)
    if task.modality == "text" and data.train.x.dtype == object:
        from zoo.data.text import tokenize_dataset
        from zoo.transfer import load_preset, tokenize_for_preset

        preset = task.backbone.preset
        data = (tokenize_for_preset(data, load_preset(preset, verify=False)) if preset
                else tokenize_dataset(data, **task.preprocessing))
    if config.max_train_examples and len(data.train) > config.max_train_examples:
        data = data.subset(config.max_train_examples / len(data.train), seed=config.seed)
    check_dataset(task, data)
    return data


def check_dataset(task: Task, data: Dataset) -> None:
    """Check any dataset (a loader's or the user's) against what the task's model expects.

    Raises `DataValidationError` naming the split, input and row: empty splits, NaN/inf inputs
    or targets, labels outside the task's classes, a single training class, and images or
    sequences whose shape differs between splits.

    Example:
    >>> from zoo.data.types import Split
    >>> s = Split(np.array([[0.0], [np.nan]]), np.array([0, 1]))
    >>> check_dataset(get_task("medical/breast_cancer_diagnosis"), Dataset(s, s, s))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    zoo.errors.DataValidationError: breast_cancer (train), input 'x': column '#0' has NaN at row index 1...
    """
    from zoo.data import validate

    classes = {"binary": 2, "multiclass": data.meta.get("num_classes", task.head.num_outputs)}.get(task.head.kind)
    shapes = None
    for name in ("train", "val", "test"):
        split, where = getattr(data, name), f"{task.dataset} ({name})"
        validate.check_not_empty(split, where)
        parts = split.x if isinstance(split.x, dict) else {"x": split.x}
        for key, values in parts.items():
            validate.check_finite(np.asarray(values).reshape(len(values), -1), f"{where}, input '{key}'")
        these = {k: np.shape(v)[1:] for k, v in parts.items()}
        if shapes is not None and these != shapes:
            raise DataValidationError(f"{where}: input shapes {these} differ from the train split's {shapes}.")
        shapes = these
        if classes:
            validate.check_labels(split.y, int(classes), where)
        else:
            validate.check_finite(np.asarray(split.y, dtype="float64").reshape(len(split.y), -1), f"{where}, target")
    if classes:
        validate.check_two_classes(data.train.y, f"{task.dataset} (train)", data.meta.get("class_names"))
        class_weights(data.train.y, task.training.class_weight, data.meta.get("class_names"))  # refused up front


def class_weights(y: np.ndarray, mode: str | list[float] | dict | None,
                  class_names: Sequence[str] | None = None) -> dict[int, float] | None:
    """Class weights: None, `"balanced"` (n / (k * count_c) for each class c present), or
    explicit weights as a list indexed by class or a `{class: weight}` dict (e.g. a cost matrix's
    5:1 for credit risk), keyed by class id (an int) or, given `class_names`, name (a str); a class a dict
    leaves out weighs 1. A list of the wrong length, an unknown class, or a weight that is
    negative, not finite, or zero for every class is a `ConfigError` naming the classes.

    Example:
    >>> class_weights(np.array([0, 0, 0, 1]), "balanced")
    {0: 0.6666666666666666, 1: 2.0}
    >>> class_weights(np.array([0, 1]), [1.0, 5.0])
    {0: 1.0, 1: 5.0}
    >>> class_weights(np.array([0, 1]), {"fraud": 10}, class_names=["fraud", "legit"])
    {0: 10.0, 1: 1.0}
    """
    if mode is None:
        return None
    y = np.asarray(y).astype(int).reshape(-1)
    names = [str(n) for n in class_names] if class_names else [str(i) for i in range(int(y.max(initial=1)) + 1)]
    listing = ", ".join(f"{i} = {n!r}" for i, n in enumerate(names)) if class_names else f"ids 0-{len(names) - 1}"
    if isinstance(mode, str):
        if mode != "balanced":
            raise ConfigError(f"class_weight must be None, 'balanced', a list or a dict, got {mode!r}.")
        classes, counts = np.unique(y, return_counts=True)
        return {int(c): float(len(y) / (len(classes) * n)) for c, n in zip(classes, counts, strict=True)}
    if isinstance(mode, (list, tuple)):
        if len(mode) != len(names):
            raise ConfigError(f"class_weight has {len(mode)} weight(s) for {len(names)} classes ({listing}); give one "
                              "per class in that order, or a dict by class.")
        mode = dict(enumerate(mode))
    if not isinstance(mode, dict):
        raise ConfigError(f"class_weight must be None, 'balanced', a list or a dict, got {mode!r}.")
    weights = dict.fromkeys(range(len(names)), 1.0)
    for key, value in mode.items():
        index: Any = key  # an int is a class id; a str a class name, or an id as JSON spells it ("0")
        if isinstance(key, str):
            index = names.index(key) if class_names and key in names else int(key) if key.isdigit() else None
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or not 0 <= index < len(names):
            raise ConfigError(f"class_weight names class {key!r}, which the data does not have; its classes: {listing}.")
        try:
            weights[int(index)] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"class_weight for class {key!r} is {value!r}; expected a number.") from None
    bad = {names[i]: w for i, w in weights.items() if not np.isfinite(w) or w < 0}
    if bad or not any(weights.values()):
        raise ConfigError(f"class_weight {mode!r}: weights must be finite numbers >= 0, not all 0"
                          + (f" (got {bad})" if bad else "") + f"; classes: {listing}.")
    return weights


def predict_report(task: Task, model: keras.Model, data: Dataset, batch_size: int = 256,
                   run_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Test-split metrics for a trained model, as `report.json` holds them.

    With `run_dir`, the test targets and model outputs are also saved there as `predictions.npz`
    (`y_true`, `y_pred`), so `zoo report` plots without reloading the model or the data.
    """
    pred = predict(model, data.test.x, batch_size)
    if run_dir is not None:
        np.savez_compressed(Path(run_dir) / "predictions.npz", y_true=np.asarray(data.test.y), y_pred=np.asarray(pred))
    meta = data.meta
    if task.head.kind in ("binary", "multiclass"):
        names = meta.get("class_names") or [str(i) for i in range(max(2, int(pred.shape[-1])))]
        metrics = classification_metrics(data.test.y, pred, names, meta.get("cost_matrix"))
    else:
        metrics = regression_metrics(data.test.y, pred, rul=meta.get("rul_cap") is not None)
    baselines = [
        {**dataclasses.asdict(b), "ours": metrics.get(b.metric), "beaten": b.beaten_by(metrics[b.metric])}
        for b in task.baselines
        if b.metric in metrics
    ]
    return {
        "task": task.name,
        "split": meta.get("split", ""),
        "primary_metric": task.primary_metric,
        "test": metrics,
        "baselines": baselines,
        "data": {k: meta[k] for k in ("source", "sha256") if k in meta},
    }


class Member(NamedTuple):
    """One trained model of a run (the run's only one unless the task trains an ensemble)."""

    model: keras.Model
    history: dict[str, list[float]]
    feature_cache: str
    training_loop: str
    train_seconds: float = 0.0


def _train_member(task: Task, data: Dataset, config: RunConfig, strategy: tf.distribute.Strategy, dtype: str,
                  member_dir: Path, seed: int, *, chief: bool, verbose: int | str, ensemble: bool) -> Member:
    """Build and train one model into `member_dir` (its checkpoints, backup and feature cache).

    An ensemble member is seeded `seed`. Once trained, a model is saved with its history and a
    `member.json` in `member_dir` (a single model's is the run directory), where a resumed run
    finds it instead of training it again: a run killed after training but before its report,
    or run again once finished, evaluates the trained model rather than training a new one.
    """
    tc, batch = task.training, task.training.batch_size
    saved = member_dir / "model.keras"
    if ensemble:
        _seed_everything(seed, config.deterministic)
    # (Not for one model across workers: only the chief writes these files, and workers that do not see them
    # would train while the chief does not.)
    finished = ensemble or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if finished and all((member_dir / name).is_file() for name in ("model.keras", "history.json", "member.json")):
        if not ensemble and verbose != 0:
            print(f"{member_dir} holds this run's trained model (member.json): evaluating it, not training again; "
                  "delete the directory to train anew.")
        with strategy.scope():
            model = keras.saving.load_model(saved, safe_mode=True)
        info = json.loads((member_dir / "member.json").read_text())
        return Member(model, json.loads((member_dir / "history.json").read_text()), **info)
    started = time.perf_counter()
    with strategy.scope():
        model = build_model(task, data, dtype=None if dtype == "float32" else dtype, jit_compile=config.jit_compile)
    train_ds = make_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=seed)
    val_ds = make_dataset(data.val.x, data.val.y, batch)
    callbacks: list[keras.callbacks.Callback] = []
    if tc.patience:
        callbacks.append(keras.callbacks.EarlyStopping(tc.monitor, patience=tc.patience, restore_best_weights=True))
        if chief:  # the best model so far, on disk while training runs
            callbacks.append(BestModelCheckpoint(model, member_dir / "checkpoints" / "best.keras", monitor=tc.monitor))
    if config.tensorboard and chief:
        callbacks.append(keras.callbacks.TensorBoard(str(member_dir / "logs")))
    weights = class_weights(data.train.y, tc.class_weight, data.meta.get("class_names"))
    cache, cache_note = (False, "off: feature_cache=False") if config.feature_cache is False else can_cache(task, model)
    if config.feature_cache and not cache:
        raise ConfigError(f"feature_cache=True, but caching is {cache_note}.")
    if cache:
        backup = IntervalBackupAndRestore(member_dir / "backup", config.backup_every, track=tracked_callbacks(callbacks),
                                          keep=True)
        fit_cached(model, (data.train.x, data.train.y), (data.val.x, data.val.y), batch_size=batch, epochs=tc.epochs,
                   seed=seed, callbacks=[*callbacks, backup], class_weight=weights, verbose=verbose,
                   cache_dir=member_dir / "features")
        history = backup.history  # every epoch's logs, those before a resume too
    else:
        adapt_frozen_head(model, data.train.x)  # a frozen base's head standardizes its features, as fit_cached does
        history = train_model(model, train_ds, val_ds, strategy=strategy, epochs=tc.epochs, callbacks=callbacks,
                              class_weight=weights, verbose=verbose, backup_dir=member_dir / "backup",
                              backup_every=config.backup_every, batch_size=batch, keep_backup=True)
    if tc.freeze and tc.fine_tune_epochs:
        from builders import unfreeze

        with strategy.scope():  # the new optimizer must be created under the strategy too
            unfreeze(model, tc.fine_tune_layers, tc.fine_tune_learning_rate)
        # Its own backup: a run killed while fine-tuning trains the head again (the same head, as seeded), then
        # resumes fine-tuning where it was.
        more = train_model(model, train_ds, val_ds, strategy=strategy, epochs=tc.fine_tune_epochs,
                           callbacks=callbacks, class_weight=weights, verbose=verbose, batch_size=batch,
                           backup_dir=member_dir / "backup-fine-tune", backup_every=config.backup_every,
                           keep_backup=True)
        history = {k: history.get(k, []) + more.get(k, []) for k in set(history) | set(more)}
    history = {k: [float(v) for v in vals] for k, vals in history.items()}
    loop = "cached head" if cache else "custom_fit" if uses_custom_loop(strategy, batch) else "fit"
    if tc.freeze and tc.fine_tune_epochs:
        tuned = "custom_fit" if uses_custom_loop(strategy, batch) else "fit"
        loop = f"{loop}, then {tuned} for fine-tuning"
        if cache:
            cache_note += f" for the head; off for the {tc.fine_tune_epochs} fine-tuning epochs (the base trains)"
    member = Member(model, history, cache_note, loop, time.perf_counter() - started)
    if chief:  # member.json last: a member counts as finished only once all three files are there
        model.save(saved)
        (member_dir / "history.json").write_text(json.dumps(history, indent=2))
        (member_dir / "member.json").write_text(json.dumps({"feature_cache": cache_note, "training_loop": loop,
                                                            "train_seconds": member.train_seconds}))
    for name in ("backup", "backup-fine-tune"):  # kept by training until the model above was saved
        shutil.rmtree(member_dir / name, ignore_errors=True)
    return member


def _versions() -> dict[str, str]:
    import keras_hub

    import builders

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "keras_hub": keras_hub.__version__,
            "vertical_zoo": builders.__version__}


def fit(
    task: Task | str,
    *,
    out_dir: str | os.PathLike = "runs",
    run_dir: str | os.PathLike | None = None,
    data: Dataset | None = None,
    seed: int = 0,
    strategy: str = "auto",
    precision: str | None = None,
    jit_compile: bool | str = "auto",
    deterministic: bool = True,
    data_dir: str | None = None,
    max_train_examples: int | None = None,
    tensorboard: bool = False,
    feature_cache: bool | None = None,
    backup_every: float = 60.0,
    verbose: int | str = "auto",
    preset: str | os.PathLike | None = None,
    **training: Any,
) -> Run:
    """Train a task's model, evaluate it on the test split, and write a run directory.

    Args:
        task: a `Task` or a registered task name.
        out_dir: parent of the run directory (`<out_dir>/<industry>_<name>-<time>`).
        run_dir: train into this directory instead; if it holds the backup of a killed run,
            training resumes after its last saved epoch.
        data: a `Dataset` to use instead of the task's loader (your own data).
        preset: a preset directory (`zoo pretrain`): the model's backbone is that pretrained one
            (text: with its tokenizer), frozen unless `freeze=False` is passed, with a new head
            for the task; `fine_tune_epochs=N` then unfreezes it at `fine_tune_learning_rate`.
            Its checksums are verified first. Prepare the task's data as the preset's corpus was
            (the same loader options, e.g. C-MAPSS smoothing): only the input shapes are checked.
        training: overrides of `TrainingConfig` fields (`epochs=3`, `batch_size=64`, ...).
        Other arguments: see `RunConfig`.

    Returns:
        A `Run` with the run directory, trained model, history and report.

    Example:
    >>> import tempfile
    >>> run = fit("medical/breast_cancer_diagnosis", out_dir=tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> sorted(p.name for p in run.run_dir.iterdir() if p.is_file())
    ['config.json', 'history.json', 'inputs.json', 'member.json', 'model.keras', 'predictions.npz', 'report.json']
    """
    task = get_task(task) if isinstance(task, str) else task
    if preset is not None:
        task = with_preset(task, preset)
        if training.get("freeze") is None:
            training["freeze"] = True
    task = _absolute_data_path(task.with_overrides(**training))
    warn_random_frozen_base(task)
    config = RunConfig(task.to_dict(), seed, strategy, precision, jit_compile, deterministic, data_dir,
                       max_train_examples, tensorboard, feature_cache, backup_every)
    return run(config, data=data, out_dir=out_dir, run_dir=run_dir, verbose=verbose)


def _new_run_dir(out_dir: str | os.PathLike, task: Task, seed: int, chief: bool) -> Path:
    """`<out_dir>/<industry>_<name>-<time>-s<seed>`; on the chief, with `-2`, `-3`, ... when another run
    started in the same second took that name (it would otherwise be refused as another configuration's
    run directory, or overwritten by a run of the same one)."""
    base = Path(out_dir) / f"{task.name.replace('/', '_')}-{time.strftime('%Y%m%d-%H%M%S')}-s{seed}"
    path, count = base, 1
    while chief and path.exists():
        count += 1
        path = base.with_name(f"{base.name}-{count}")
    return path


def with_preset(task: Task, preset: str | os.PathLike) -> Task:
    """The task with its backbone replaced by a preset's (checksums verified; the path made absolute).

    Example:
    >>> import tempfile
    >>> from builders import TabularBackbone
    >>> from zoo.transfer import save_preset
    >>> path = save_preset(TabularBackbone(num_numeric=30, hidden_units=(4,)), tempfile.mkdtemp())
    >>> with_preset(get_task("medical/breast_cancer_diagnosis"), path).backbone.name
    'tabular'
    """
    from zoo.transfer import load_preset

    if not Path(preset).is_dir():
        raise ConfigError(f"preset {preset}: no such directory; expected a preset directory (from zoo pretrain).")
    loaded = load_preset(preset)
    modality = loaded.card.get("modality")
    if modality and modality != task.modality:
        raise ConfigError(f"preset {preset} was pretrained on {modality} data ({loaded.card.get('corpus')}); "
                          f"{task.name} is a {task.modality} task.")
    return dataclasses.replace(task, backbone=BackboneSpec(loaded.backbone.registered_name, {},
                                                           preset=str(Path(preset).resolve())))


def preset_summary(preset_dir: str) -> dict[str, Any]:
    """What a run records of its preset: the path, what it was pretrained on and its files' sha256.

    Example:
    >>> import tempfile
    >>> from builders import TabularBackbone
    >>> from zoo.transfer import save_preset
    >>> path = save_preset(TabularBackbone(num_numeric=3, hidden_units=(4,)), tempfile.mkdtemp(), card={"corpus": "x"})
    >>> sorted(preset_summary(str(path)))
    ['corpus', 'path', 'sha256']
    """
    from zoo.transfer import verify_preset

    card = verify_preset(Path(preset_dir)).get("vertical_zoo", {})
    keys = ("name", "objective", "corpus", "modality", "num_examples", "epochs", "sha256")
    return {"path": preset_dir, **{k: card[k] for k in keys if k in card}}


class FrozenRandomBaseWarning(UserWarning):
    """A frozen backbone that starts from random weights: only the head learns."""


def warn_random_frozen_base(task: Task) -> None:
    """Warn (`FrozenRandomBaseWarning`) when the task freezes a backbone that has no pretrained weights.

    Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_random_frozen_base(get_task("medical/breast_cancer_diagnosis").with_overrides(freeze=True))
    >>> caught[0].category.__name__
    'FrozenRandomBaseWarning'
    """
    if task.training.freeze and not task.backbone.preset and not task.backbone.params.get("weights_path"):
        warnings.warn(f"{task.name}: freeze=True, but the {task.backbone.name} backbone starts from random weights "
                      "(no preset, no weights_path), so only the head learns, on random features. Pass a preset "
                      "(zoo train --preset DIR, from zoo pretrain) or train the backbone (freeze=False).",
                      FrozenRandomBaseWarning, stacklevel=3)


def _absolute_data_path(task: Task) -> Task:
    """The task with a relative `data_options["path"]` that exists from here made absolute, so that the run's
    `config.json` finds the file from any directory (a path found only under `data_dir` stays as given)."""
    path = task.data_options.get("path")
    if path is None or Path(path).is_absolute() or not Path(path).exists():
        return task
    return dataclasses.replace(task, data_options={**task.data_options, "path": str(Path(path).resolve())})


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        out.update(_flatten(value, f"{prefix}{key}.") if isinstance(value, dict) and value else {prefix + key: value})
    return out


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _check_same_run(run_dir: Path, record: dict[str, Any]) -> None:
    """Refuse to train into `run_dir` when its `config.json` is another run's (another task, training,
    seed or data): resuming a killed run of the same configuration is what a reused run directory is for."""
    if not (run_dir / "config.json").is_file():
        return
    ignored = (*RESUMABLE_CHANGES, "versions", "data.source", "data.split", "data.passed_in")
    old, new = (_flatten(r) for r in (_saved_config(run_dir), json.loads(json.dumps(record, default=str))))
    changed = [f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}" for k in sorted(set(old) | set(new))
               if old.get(k) != new.get(k) and not k.startswith(ignored) and (k in old or k != "data.fingerprint")]
    if old.get("task.name") != new.get("task.name"):
        changed = [f"task {old.get('task.name')}, not {new.get('task.name')}"]
    if changed:
        raise ConfigError(
            f"{run_dir} holds a run of another configuration ({'; '.join(changed[:5])}"
            f"{'; ...' if len(changed) > 5 else ''}). Train into a new directory (another --run-dir, or --out), or "
            f"delete {run_dir} first; only a run of the same configuration resumes there.")


def check_same_data(recorded: dict[str, str] | None, current: dict[str, str] | None, where: str) -> None:
    """Raise `ChecksumError` naming the file and both hashes when a file's sha256 differs from the recorded one.

    Example:
    >>> check_same_data({"a.csv": "11"}, {"a.csv": "22"}, "runs/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    zoo.errors.ChecksumError: a.csv: sha256 22 now, but 11 when runs/x was trained...
    """
    for name, expected in (recorded or {}).items():
        found = (current or {}).get(name)
        if found != expected:
            raise ChecksumError(
                f"{name}: sha256 {found} now, but {expected} when {where} was trained (its config.json): the data "
                f"changed since, so the split and the test metrics would not be the run's. Evaluate with the "
                f"original file, or pass the new data explicitly (zoo.evaluate(run_dir, data=...)).")


def run(config: RunConfig, *, data: Dataset | None = None, out_dir: str | os.PathLike = "runs",
        run_dir: str | os.PathLike | None = None, verbose: int | str = "auto") -> Run:
    """Carry out a `RunConfig` (what `fit` does once it has made one); `run_dir` resumes a run."""
    task = Task.from_dict(config.task)
    n = task.training.ensemble
    _seed_everything(config.seed, config.deterministic)
    passed_in = data is not None
    data = prepare_data(task, config, data)
    strategy = get_strategy(config.strategy)
    if task.training.scale_learning_rate:
        task = task.with_overrides(learning_rate=scaled_learning_rate(task.training.learning_rate, strategy))
    tc = task.training
    dtype = config.precision or default_precision(strategy)
    chief = is_chief(strategy)  # only the chief writes the run directory (multi-worker)
    fingerprint = data_fingerprint(data)
    check_workers_agree(strategy, run_fingerprint(dataclasses.asdict(config), fingerprint))  # before any file
    run_dir = Path(run_dir) if run_dir is not None else _new_run_dir(out_dir, task, config.seed, chief)
    preset = preset_summary(task.backbone.preset) if task.backbone.preset else None  # its files hashed once
    created = chief and not run_dir.exists()
    if chief:
        record = {**dataclasses.asdict(config), "versions": _versions(),
                  "data": {**{k: data.meta.get(k) for k in ("source", "sha256", "split")}, "passed_in": passed_in,
                           "fingerprint": fingerprint}}
        if preset:
            record["preset"] = preset
        _check_same_run(run_dir, record)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(record, indent=2, default=str))
        (run_dir / INPUTS_FILE).write_text(json.dumps(input_spec(data.meta, task.modality), indent=2, default=str))
        if "vocabulary" in data.meta:
            (run_dir / "vocabulary.txt").write_text("\n".join(data.meta["vocabulary"]) + "\n")

    try:
        members = [_train_member(task, data, config, strategy, dtype,
                                 run_dir if n == 1 else run_dir / "members" / str(i), config.seed * n + i,
                                 chief=chief, verbose=verbose, ensemble=n > 1) for i in range(n)]
    except BaseException:
        if created:
            _remove_if_unstarted(run_dir)
        raise
    seconds = sum(m.train_seconds for m in members)  # a member a resumed run loaded keeps its own training time
    model, history = members[0].model, members[0].history
    if n > 1:
        from builders import average_ensemble

        with strategy.scope():
            model = average_ensemble([m.model for m in members], name=task.name.replace("/", "_"))
    # every worker predicts (multi-worker predict is collective); only the chief writes
    report = predict_report(task, model, data, run_dir=run_dir if chief else None)
    report.update(train_seconds=seconds, epochs_run=len(next(iter(history.values()), [])), seed=config.seed,
                  strategy=config.strategy, strategy_used=type(strategy).__name__.lstrip("_"),
                  replicas=strategy.num_replicas_in_sync, deterministic=config.deterministic, precision=dtype,
                  learning_rate=tc.learning_rate, train_examples=len(data.train),
                  class_weight=class_weights(data.train.y, tc.class_weight, data.meta.get("class_names")),
                  feature_cache=members[0].feature_cache,
                  training_loop=members[0].training_loop, xla=bool(getattr(members[0].model, "jit_compile", False)),
                  head=dataclasses.asdict(head_config(task, data)))  # as built: classes and target scale from the data
    if preset:
        report["preset"] = {k: v for k, v in preset.items() if k != "sha256"}
    if n > 1:  # history.json holds member 0's curves; each member's are in members/<i>/history.json
        report["ensemble"] = {"members": n, "seeds": [config.seed * n + i for i in range(n)],
                              "epochs_run": [len(next(iter(m.history.values()), [])) for m in members]}
    if chief:
        model.save(run_dir / "model.keras")
        report["artifacts"] = {"model.keras": sha256(run_dir / "model.keras")}  # checked when the run is loaded
        (run_dir / "history.json").write_text(json.dumps(history, indent=2))
        (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    return Run(run_dir, model, history, report, task)


def _remove_if_unstarted(run_dir: Path) -> None:
    """Delete a run directory this run created if it holds only what `run` writes before training
    (a model that failed to build leaves no directory behind); keep it once training saved anything."""
    before_training = {"config.json", INPUTS_FILE, "vocabulary.txt"}
    if all(p.is_dir() or p.relative_to(run_dir).as_posix() in before_training for p in run_dir.rglob("*")):
        shutil.rmtree(run_dir, ignore_errors=True)


def _saved_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """A run directory's `config.json` as written (the `RunConfig`, versions and data checksums)."""
    if not isinstance(run_dir, (str, os.PathLike)):
        raise ConfigError(f"run_dir must be a run directory's path (str or os.PathLike), got {run_dir!r}.")
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no config.json).")
    return json.loads(path.read_text())


def load_run_config(run_dir: str | os.PathLike) -> RunConfig:
    """The `RunConfig` saved in a run directory.

    Example:
    >>> load_run_config(None)
    Traceback (most recent call last):
    builders.errors.ConfigError: run_dir must be a run directory's path (str or os.PathLike), got None.
    """
    saved = _saved_config(run_dir)
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    kept = {k: v for k, v in saved.items() if k in fields}
    if kept.get("jit_compile") is True and kept.get("deterministic", True):
        kept["jit_compile"] = False  # a run saved before that was refused: Keras trained it without XLA
    return RunConfig(**kept)


def data_fingerprint(data: Dataset) -> str:
    """One sha256 over every split's inputs and targets, as the model sees them (after `prepare_data`).

    Example:
    >>> from zoo.data import load_dataset
    >>> data = load_dataset("breast_cancer")
    >>> data_fingerprint(data) == data_fingerprint(load_dataset("breast_cancer")) != data_fingerprint(data.subset(0.5))
    True
    """
    digest = hashlib.sha256()
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        parts = split.x if isinstance(split.x, dict) else {"x": split.x}
        for key, values in [*sorted(parts.items()), ("y", split.y)]:
            values = np.asarray(values)
            digest.update(f"{name}/{key}/{values.dtype}/{values.shape}".encode())
            digest.update("\x00".join(map(str, values.ravel())).encode() if values.dtype == object
                          else np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def run_data(run_dir: str | os.PathLike, task: Task, config: RunConfig, data: Dataset | None = None) -> Dataset:
    """A saved run's data as `prepare_data` makes it: `data` if given, else reloaded as the run's `config.json`
    says and refused where it is not the data the run was trained on: `ChecksumError` when a file's sha256
    changed since, or when the reloaded splits differ from the run's (`data_fingerprint`), e.g. a run given
    its data in Python (`fit(data=...)`).

    Example:
    >>> import tempfile
    >>> from zoo.data import load_dataset
    >>> half = load_dataset("breast_cancer").subset(0.5)
    >>> r = fit("medical/breast_cancer_diagnosis", data=half, out_dir=tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> task, config = get_task("medical/breast_cancer_diagnosis"), load_run_config(r.run_dir)
    >>> run_data(r.run_dir, task, config)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    zoo.errors.ChecksumError: ...: the data reloaded now is not the data the run was trained on...
    >>> len(run_data(r.run_dir, task, config, data=half).train) == len(half.train)
    True
    """
    if data is not None:
        return prepare_data(task, config, data)
    saved = _saved_config(run_dir).get("data") or {}
    given = " It was given its data in Python (fit(data=...)): pass the same Dataset again as data=." \
        if saved.get("passed_in") else ""
    try:
        prepared = prepare_data(task, config)
    except ZooError as error:
        if not given:
            raise
        # (Not the loader's own message: its hints are `zoo train`'s flags, which evaluate and export do not take.)
        raise ConfigError(f"{run_dir}: its data cannot be reloaded from the run's files alone ({type(error).__name__}"
                          f" from its loader).{given} The command line cannot pass a Dataset: evaluate or export "
                          "such a run in Python (zoo.evaluate(run_dir, data=...), zoo.export.export(run_dir, "
                          "data=...)).") from None
    check_same_data(saved.get("sha256"), prepared.meta.get("sha256"), str(run_dir))
    if saved.get("fingerprint") not in (None, data_fingerprint(prepared)):
        raise ChecksumError(
            f"{run_dir}: the data reloaded now is not the data the run was trained on (its splits' fingerprint "
            f"differs from the one in config.json), so its metrics would not be the run's.{given}")
    return prepared


def evaluate(run_dir: str | os.PathLike, *, data: Dataset | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """Reload a run's model (safe mode) and data, recompute the test report, and rewrite `report.json`.

    Without `data`, the data is loaded as at training time and its files' sha256 must be those in the
    run's `config.json` (else `ChecksumError`): a changed file would give another split and other metrics.

    Example:
    >>> import tempfile
    >>> r = fit("medical/breast_cancer_diagnosis", out_dir=tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> evaluate(r.run_dir)["test"]["accuracy"] == r.report["test"]["accuracy"]
    True
    """
    config = load_run_config(run_dir)
    if data_dir:
        config.data_dir = data_dir
    task = Task.from_dict(config.task)
    from zoo.export import load_run_model

    # Safe mode, only Keras/keras-hub/zoo classes, the recorded checksum; a refusal is a ZooError (CLI: exit 2).
    model = load_run_model(run_dir)
    report_path = Path(run_dir) / "report.json"
    previous = json.loads(report_path.read_text()) if report_path.is_file() else {}
    data = run_data(run_dir, task, config, data)
    report = {**previous, **predict_report(task, model, data, run_dir=run_dir)}
    report_path.write_text(json.dumps(report, indent=2))
    return report
