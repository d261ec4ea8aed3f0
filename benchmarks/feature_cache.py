"""Cached frozen-base head training (`zoo.harness.caching.fit_cached`) vs the naive frozen-base
`model.fit`, per epoch and end to end for 3 epochs, on the default CNN (BreastMNIST) and the
default Transformer (Financial PhraseBank tokens).

    python -m benchmarks.feature_cache [--quick]
"""

from __future__ import annotations

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
)
from zoo.harness.build import build_model
from zoo.harness.caching import fit_cached
from zoo.harness.fit import RunConfig, prepare_data
from zoo.harness.pipeline import make_dataset
from zoo.tasks import get_task


def compare(name: str, task, data, epochs: int, repeats: int) -> list:
    batch = task.training.batch_size
    timers: dict[str, list[EpochTimer]] = {"naive": [], "cached": []}
    losses: dict[str, list[float]] = {}

    def build():
        keras.utils.set_random_seed(0)  # the same initial weights and dropout seeds on both sides
        return build_model(task, data)

    # Models are built before timing (the same work on both sides); everything after it is timed.
    models = {"naive": [build() for _ in range(repeats)], "cached": [build() for _ in range(repeats)]}

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
    diff = float(np.max(np.abs(np.array(losses["naive"]) - np.array(losses["cached"]))))
    return [name, len(data.train), f"{per_epoch['naive']:.3f} / {per_epoch['cached']:.4f}",
            per_epoch["naive"] / per_epoch["cached"], per_epoch_cpu["naive"] / per_epoch_cpu["cached"],
            f"{totals['naive']:.2f} / {totals['cached']:.2f}", totals["naive"] / totals["cached"],
            cpu["naive"] / cpu["cached"], f"{diff:.1e}"]


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()  # as the harness does by default
    header("Feature caching: cached head training vs naive frozen-base fit", args.quick)
    repeats = 1
    cnn = get_task("medical/breastmnist").with_overrides(freeze=True, patience=0)
    text = text_task(sequence_length=64 if args.quick else 128).with_overrides(freeze=True)
    rows = []
    for name, task, limit in (("CNN (BreastMNIST 28x28)", cnn, None),
                              ("Transformer (PhraseBank tokens)", text, 1000 if args.quick else 1500)):
        data = prepare_data(task, RunConfig(task.to_dict(), max_train_examples=limit))
        rows.append(compare(name, task, data, epochs=3, repeats=repeats))
    print_table(["base", "train examples", "s/epoch naive / cached", "per-epoch speed-up (target >= 30)",
                 "per-epoch speed-up, CPU", "3 epochs s naive / cached", "end-to-end speed-up (target >= 3)",
                 "end-to-end speed-up, CPU", "max abs diff val_loss"], rows)
    print("Per epoch: median of epochs 2-3 (epoch 1 holds tracing). End to end: the whole `fit` call after the "
          "model is built (naive: tracing + 3 epochs with validation; cached: one backbone pass over train and "
          "val + tracing + 3 head epochs).")


if __name__ == "__main__":
    main()
