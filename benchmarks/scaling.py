"""Training time at 1x, 2x and 4x data and at 1x and 2x backbone width, per backbone family, in one
table (time should grow linearly with data: ratios 2 and 4).

    python -m benchmarks.scaling [--quick]
"""

from __future__ import annotations

import tensorflow as tf

from benchmarks.common import (
    FAMILIES,
    family_model,
    family_task,
    header,
    parse_args,
    print_table,
    side_by_side,
    synthetic_data,
)
from zoo.harness.pipeline import make_dataset

BASE_STEPS = {"tabular": 64, "cnn": 16, "rnn": 8, "transformer": 8}  # training steps at 1x data


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()
    header("Scaling with data (1x, 2x, 4x) and backbone width (1x, 2x)", args.quick)
    repeats = 1 if args.quick else 2
    rows = []
    for family in FAMILIES:
        batch = family_task(family).training.batch_size
        n = BASE_STEPS[family] * batch // (4 if args.quick else 1)
        data = synthetic_data(family, 4 * n)
        sizes = {f"{k}x": make_dataset(*_rows(data.train, k * n), batch, shuffle=True) for k in (1, 2, 4)}
        base_time = None
        for width in (1,) if args.quick else (1, 2):  # --quick: data scaling only
            model = family_model(family, data, width=width)
            model.fit(sizes["1x"], epochs=1, verbose=0)  # trace
            t, cpu = side_by_side(
                {k: (lambda m=model, d=d: m.fit(d, epochs=1, verbose=0)) for k, d in sizes.items()}, repeats).medians()
            base_time = base_time or (t["1x"], cpu["1x"])
            rows.append([family, f"{width}x", f"{model.count_params():,}", n, f"{t['1x']:.2f}",
                         f"{t['2x'] / t['1x']:.2f} / {cpu['2x'] / cpu['1x']:.2f}",
                         f"{t['4x'] / t['1x']:.2f} / {cpu['4x'] / cpu['1x']:.2f}",
                         f"{t['1x'] / base_time[0]:.2f} / {cpu['1x'] / base_time[1]:.2f}"])
    print_table(["family", "width", "params", "examples at 1x", "1x data s/epoch",
                 "2x / 1x data, wall / CPU (ideal 2)", "4x / 1x data, wall / CPU (ideal 4)",
                 "vs width 1x at 1x data, wall / CPU"], rows)
    print("Synthetic inputs shaped as each family's default task, the default batch size, one epoch through "
          "make_dataset (shuffled) after a tracing epoch.")


def _rows(split, m):
    x = {k: v[:m] for k, v in split.x.items()} if isinstance(split.x, dict) else split.x[:m]
    return x, split.y[:m]


if __name__ == "__main__":
    main()
