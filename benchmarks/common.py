"""What every benchmark script shares: the command line, side-by-side timing, tables, and the
default model of each backbone family on real or synthetic data (built with the harness's own
`zoo.harness.build.build_model`)."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from builders.heads import HeadConfig  # noqa: E402
from zoo.data.types import Dataset, Split  # noqa: E402
from zoo.harness.build import build_model, build_training_state  # noqa: E402
from zoo.harness.fit import EpochTimer  # noqa: E402,F401 - shared by the benchmark scripts
from zoo.tasks import BackboneSpec, Task, TrainingConfig, get_task  # noqa: E402

FAMILIES = ("tabular", "cnn", "rnn", "transformer")

# The default task of each family (the text task is defined here: no text task is registered yet).
FAMILY_TASKS = {
    "tabular": "medical/breast_cancer_diagnosis",
    "cnn": "medical/breastmnist",
    "rnn": "manufacturing/rul_fd001",
}

# Backbone parameters doubled for "2x width".
WIDTH_PARAMS = {
    "tabular": lambda k: {"hidden_units": [64 * k, 32 * k]},
    "cnn": lambda k: {"filters": [32 * k, 64 * k, 128 * k]},
    "rnn": lambda k: {"units": 64 * k},
    "transformer": lambda k: {"hidden_dim": 128 * k, "intermediate_dim": 256 * k},
}


def parse_args(description: str, argv: Sequence[str] | None = None, **extra: Any) -> argparse.Namespace:
    """`--quick` (small sizes, the same ratios) plus any `name=(type, default, help)` options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes: the same ratios in seconds")
    for name, (kind, default, text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    return parser.parse_args(argv)


def header(title: str, quick: bool) -> None:
    """Print what was measured where: the machine is shared, so give its load too."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n## {title}{' (--quick)' if quick else ''}\n")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other users; "
          f"load average {load:.1f} at start), TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"Python {sys.version.split()[0]}. Ratios are measured side by side in this run; 'CPU' ratios use "
          "this process's CPU time (all threads), which other users' load hardly changes.\n")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table; floats are printed with 3 significant digits."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(cell(v) for v in row) + " |")
    print(flush=True)


def timed(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of `fn()`."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Timings(dict):
    """Wall-clock seconds per name (the dict), and this process's CPU seconds (all threads) in
    `.cpu`. On a machine shared with other users, wall time includes waiting for a core; CPU time
    does not, so its ratios are the steadier of the two."""

    def __init__(self, names: Sequence[str]):
        super().__init__({n: [] for n in names})
        self.cpu: dict[str, list[float]] = {n: [] for n in names}

    def medians(self) -> tuple[dict[str, float], dict[str, float]]:
        return {k: median(v) for k, v in self.items()}, {k: median(v) for k, v in self.cpu.items()}


def side_by_side(runs: dict[str, Callable[[], Any]], repeats: int = 1) -> Timings:
    """Time each of `runs` `repeats` times, in A B B A order, so a change of machine load during
    the run falls on both sides alike. Returns wall seconds per name, CPU seconds in `.cpu`."""
    names = list(runs)
    times = Timings(names)
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            wall, cpu = time.perf_counter(), time.process_time()
            runs[name]()
            times[name].append(time.perf_counter() - wall)
            times.cpu[name].append(time.process_time() - cpu)
    return times


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def text_task(sequence_length: int = 128, vocab_size: int = 8000) -> Task:
    """Financial PhraseBank sentiment on the default `TransformerBackbone` (WordPiece tokens)."""
    return Task(
        name="finance/phrasebank_benchmark", industry="finance", modality="text", dataset="financial_phrasebank",
        description="Benchmark task: 3-class sentiment of financial sentences, default Transformer.",
        backbone=BackboneSpec("transformer"), head=HeadConfig("multiclass", 3),
        loss="sparse_categorical_crossentropy", metrics=["accuracy"], primary_metric="accuracy",
        training=TrainingConfig(epochs=10, batch_size=32, patience=0),
        preprocessing={"vocab_size": vocab_size, "sequence_length": sequence_length},
    )


def family_task(family: str, width: int = 1) -> Task:
    """The default task of a backbone family, its backbone `width` times as wide."""
    task = text_task() if family == "transformer" else get_task(FAMILY_TASKS[family])
    return task.with_overrides(backbone_params=WIDTH_PARAMS[family](width) if width != 1 else None)


def synthetic_data(family: str, n: int, seed: int = 0, sequence_length: int = 128,
                   image_shape: tuple[int, int, int] = (28, 28, 1)) -> Dataset:
    """Random inputs shaped as the family's default task's (train n, val and test n // 8)."""
    rng = np.random.default_rng(seed)

    def split(m: int) -> Split:
        if family == "tabular":
            return Split({"numeric": rng.normal(size=(m, 30)).astype("float32")}, rng.integers(0, 2, m))
        if family == "cnn":
            return Split(rng.random((m, *image_shape), dtype="float32"), rng.integers(0, 2, m))
        if family == "rnn":
            return Split(rng.random((m, 30, 14), dtype="float32"), rng.uniform(0, 125, m).astype("float32"))
        return Split(rng.integers(1, 8000, (m, sequence_length)).astype("int32"), rng.integers(0, 3, m))

    meta = {
        "tabular": {"num_classes": 2, "numeric_names": [f"f{i}" for i in range(30)]},
        "cnn": {"num_classes": 2, "input_shape": list(image_shape)},
        "rnn": {"window": 30, "feature_names": [f"s{i}" for i in range(14)]},
        "transformer": {"num_classes": 3, "vocab_size": 8000, "sequence_length": sequence_length},
    }[family]
    return Dataset(split(n), split(max(1, n // 8)), split(max(1, n // 8)), meta)


def family_model(family: str, data: Dataset, *, width: int = 1, jit_compile: bool | str = False,
                 dtype: str | None = None, freeze: bool = False, seed: int = 0) -> keras.Model:
    """The family's default model for `data`, compiled by the harness's `build_model`."""
    keras.utils.set_random_seed(seed)
    task = family_task(family, width).with_overrides(freeze=freeze)
    return xla_model(task, data, dtype=dtype, jit_compile=jit_compile)


def xla_model(task: Any, data: Dataset, *, dtype: str | None = None, jit_compile: bool | str = False) -> keras.Model:
    """`build_model(task, data, ...)`, with TensorFlow's op determinism off while it compiles when
    `jit_compile` is True.

    Keras compiles without XLA, with only a warning, when op determinism is on (as the harness and
    most benchmarks here set it, process-wide), so an "XLA" row would time the plain model. The
    model is checked to be compiled as asked.
    """
    from tensorflow.python.framework import config as tf_config  # the public API can only enable it

    deterministic = tf_config.is_op_determinism_enabled()
    if jit_compile is True and deterministic:
        tf_config.disable_op_determinism()
    try:
        model = build_model(task, data, dtype=dtype, jit_compile=jit_compile)
    finally:
        if deterministic:
            tf.config.experimental.enable_op_determinism()
    if jit_compile is True and not model.jit_compile:
        raise RuntimeError(f"{model.name} compiled without XLA although jit_compile=True was asked.")
    return model


def repeated_batch(x: Any, y: np.ndarray, batch_size: int, *, static_shape: bool = True) -> tf.data.Dataset:
    """One batch of `(x, y)` repeated forever: a pipeline that costs nothing, to time the model alone.

    `static_shape=False` leaves the batch axis unknown, as `make_dataset`'s is, so a model fed both
    traces its training step once for both."""
    first = keras.tree.map_structure(lambda a: tf.constant(np.asarray(a)[:batch_size]), (x, y))
    if static_shape:
        return tf.data.Dataset.from_tensors(first).repeat()
    return tf.data.Dataset.from_tensor_slices(first).batch(batch_size).cache().repeat()


def fit_steps(model: keras.Model, ds: tf.data.Dataset, steps: int) -> Callable[[], Any]:
    """A callable that trains `model` for `steps` steps of `ds` (warmed up, so it is traced already)."""
    build_training_state(model, ds.element_spec)  # one trace, not two, for models not made by build_model
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # ds is not shuffled: say so, no warning
    return lambda: model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
