"""The first training epoch (tracing included) of each family's default model, with the optimizer and
metric variables built before it (`build_training_state`, what `build_model` does) vs built by Keras
while it traces the first step (TensorFlow then traces the step twice), side by side.

    python -m benchmarks.first_epoch [--quick]
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from benchmarks.common import FAMILIES, family_task, header, parse_args, print_table, side_by_side
from zoo.harness.build import build_model, build_training_state
from zoo.harness.fit import RunConfig, prepare_data
from zoo.harness.pipeline import make_dataset


def unbuilt_copy(model: keras.Model, seed: int = 0) -> keras.Model:
    """`model` rebuilt from its config with the same weights, dropout seeds and compile arguments, its
    optimizer and metric variables not yet created (a model compiled by hand, as most Keras users do)."""
    keras.utils.set_random_seed(seed)  # the dropout layers' seed generators draw their seeds when built
    copy = model.__class__.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    copy.compile(**{k: keras.saving.deserialize_keras_object(v) if isinstance(v, dict) else v
                    for k, v in model.get_compile_config().items()})
    return copy


def compare(family: str, repeats: int) -> list:
    """One table row: the family's first epoch with Keras building the variables vs prebuilt."""
    task = family_task(family)
    data = prepare_data(task, RunConfig(task.to_dict(), max_train_examples=256))
    batch = task.training.batch_size
    keras.utils.set_random_seed(0)
    model = build_model(task, data)
    # Every side starts from the same unbuilt copy (made before timing); the timed part is the first fit,
    # plus build_training_state on the prebuilt side.
    models = {side: [unbuilt_copy(model) for _ in range(repeats)] for side in ("keras", "prebuilt")}
    losses: dict[str, list[float]] = {"prebuilt": [], "keras": []}

    def first_epoch(side: str) -> None:
        m = models[side].pop()
        train = make_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=0)
        val = make_dataset(data.val.x, data.val.y, batch)
        if side == "prebuilt":
            build_training_state(m, train.element_spec)
        losses[side] += m.fit(train, validation_data=val, epochs=1, verbose=0).history["val_loss"]

    t, cpu = side_by_side({"keras": lambda: first_epoch("keras"), "prebuilt": lambda: first_epoch("prebuilt")},
                          repeats).medians()
    diff = float(np.max(np.abs(np.array(losses["prebuilt"]) - np.array(losses["keras"]))))
    return [family, task.dataset, len(data.train), f"{t['keras']:.2f} / {t['prebuilt']:.2f}",
            t["keras"] / t["prebuilt"], cpu["keras"] / cpu["prebuilt"], f"{diff:.1e}"]


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()
    header("First training epoch: optimizer and metrics built before tracing vs during it", args.quick)
    repeats = 1 if args.quick else 3
    rows = [compare(family, repeats) for family in FAMILIES]
    print_table(["family", "data", "train examples", "first epoch s, Keras builds / prebuilt", "speed-up (wall)",
                 "speed-up (CPU)", "max abs diff val_loss"], rows)
    print(f"Timed: one epoch with validation on at most 256 training examples, from a compiled model whose optimizer "
          f"and metric variables do not exist yet; the prebuilt side's time includes build_training_state. Median of "
          f"{repeats} run(s) per side; the same initial weights on both sides.")


if __name__ == "__main__":
    main()
