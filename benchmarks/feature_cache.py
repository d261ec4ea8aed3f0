"""Cached frozen-base head training (`zoo.harness.caching.fit_cached`) vs the naive frozen-base
`model.fit`, per epoch and end to end for 3 epochs, on the default CNN (BreastMNIST) and the
default Transformer (Financial PhraseBank tokens); the full mode also on 8x the images and on all
PhraseBank training sentences, where tracing weighs less.

    python -m benchmarks.feature_cache [--quick]
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from benchmarks.common import (
    EpochTimer,
    header,
    median,
    parse_args,
    print_table,
    side_by_side,
    text_task,
    timed,
)
from builders import get_backbone
from zoo.data.types import Dataset, Split
from zoo.harness.build import build_model
from zoo.harness.caching import FEATURE_BATCH_SIZE, adapt_frozen_head, extract_features, fit_cached
from zoo.harness.fit import RunConfig, prepare_data
from zoo.harness.pipeline import make_dataset
from zoo.tasks import get_task


def compare(name: str, task, data, epochs: int, repeats: int, passes: int) -> list:
    batch = task.training.batch_size
    sides = ("naive", "cached")
    timers: dict[str, list[EpochTimer]] = {k: [] for k in sides}
    losses: dict[str, list[float]] = {}

    def build():
        keras.utils.set_random_seed(0)  # the same initial weights and dropout seeds on every side
        return build_model(task, data)

    def standardized(model):  # the naive side's head standardization, adapted untimed with the model's building
        adapt_frozen_head(model, data.train.x)  # (fit_cached adapts it from the features it computes anyway)
        return model

    # Models are built before timing (the same work on every side); everything after it is timed.
    models = {"naive": [standardized(build()) for _ in range(repeats)], "cached": [build() for _ in range(repeats)]}

    def naive():
        timer = EpochTimer()
        train = make_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=0)
        val = make_dataset(data.val.x, data.val.y, batch)
        history = models["naive"].pop().fit(train, validation_data=val, epochs=epochs, callbacks=[timer],
                                             verbose=0, shuffle=False)
        timers["naive"].append(timer)
        losses["naive"] = history.history["val_loss"]

    def cached():
        timer = EpochTimer()
        history = fit_cached(models["cached"].pop(), (data.train.x, data.train.y), (data.val.x, data.val.y),
                             batch_size=batch, epochs=epochs, seed=0, callbacks=[timer], verbose=0)
        timers["cached"].append(timer)
        losses["cached"] = history.history["val_loss"]

    totals, cpu = side_by_side({"naive": naive, "cached": cached}, repeats).medians()
    per_epoch = {k: median([s for t in ts for s in t.seconds[1:]]) for k, ts in timers.items()}
    per_epoch_cpu = {k: median([s for t in ts for s in t.cpu_seconds[1:]]) for k, ts in timers.items()}
    # One backbone pass over train + val with one trace of the forward function (XLA or not as the model
    # is compiled), as `fit_cached` makes it.
    model = build()
    backbone, xla = get_backbone(model), bool(model.jit_compile)
    train_and_val = keras.tree.map_structure(lambda a, b: np.concatenate([a, b]), data.train.x, data.val.x)
    one_pass = median([timed(lambda: extract_features(backbone, train_and_val, batch_size=FEATURE_BATCH_SIZE,
                                                      jit_compile=xla))
                       for _ in range(passes)])
    diff = float(np.max(np.abs(np.array(losses["naive"]) - np.array(losses["cached"]))))
    return [name, len(data.train), f"{per_epoch['naive']:.3f} / {per_epoch['cached']:.4f}",
            per_epoch["naive"] / per_epoch["cached"], per_epoch_cpu["naive"] / per_epoch_cpu["cached"],
            f"{totals['naive']:.2f} / {totals['cached']:.2f}", totals["naive"] / totals["cached"],
            cpu["naive"] / cpu["cached"], totals["naive"] / one_pass, f"{diff:.1e}"]


def repeated(data: Dataset, times: int) -> Dataset:
    """`data` with its train and val splits repeated `times` times (a larger set, for timing only)."""
    def grow(split: Split) -> Split:
        return Split(keras.tree.map_structure(lambda a: np.concatenate([a] * times), split.x),
                     np.concatenate([split.y] * times))

    return dataclasses.replace(data, train=grow(data.train), val=grow(data.val))


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()  # as the harness does by default
    header("Feature caching: cached head training vs naive frozen-base fit", args.quick)
    cnn = get_task("medical/breastmnist").with_overrides(freeze=True, patience=0)
    text = text_task(sequence_length=64 if args.quick else 128).with_overrides(freeze=True)
    rows = []
    repeats = 1 if args.quick else 3
    cases = [("CNN (BreastMNIST 28x28)", cnn, 512 if args.quick else None, 1),
             ("Transformer (PhraseBank tokens)", text, 288 if args.quick else 1500, 1)]
    if not args.quick:  # where the fixed costs (tracing) weigh less: more data, the same models
        cases += [("CNN (BreastMNIST train and val x8)", cnn, None, 8),
                  ("Transformer (all PhraseBank training sentences)", text, None, 1)]
    for name, task, limit, times in cases:
        data = repeated(prepare_data(task, RunConfig(task.to_dict(), max_train_examples=limit)), times)
        rows.append(compare(name, task, data, epochs=3, repeats=repeats, passes=1 if args.quick else 3))
    print_table(["base", "train examples", "s/epoch naive / cached", "per-epoch speed-up (target >= 30)",
                 "same, CPU", "3 epochs s naive / cached", "end-to-end speed-up (target >= 3)",
                 "end-to-end speed-up, CPU", "ceiling: naive 3 epochs / one backbone pass", "max abs diff val_loss"],
                rows)
    print("Per epoch: median of epochs 2-3 (epoch 1 holds tracing); a cached epoch (training and validation) is one "
          "tf.function call (`fit_head`). End to end: the whole `fit` call after "
          "the model is built (naive: tracing + 3 epochs with validation; cached: one backbone pass over train and "
          "val + tracing + 3 head epochs). Ceiling: no cached run can beat the naive run by more than the naive "
          "time over the one backbone pass it must still make.")


if __name__ == "__main__":
    main()
