"""XLA (`jit_compile=True`) and mixed_bfloat16 vs plain float32 training, per backbone family, on
this CPU, with op determinism on (as the harness runs by default).

    python -m benchmarks.xla_precision [--quick]
"""

from __future__ import annotations

import tensorflow as tf

from benchmarks.common import (
    FAMILIES,
    family_model,
    family_task,
    fit_steps,
    header,
    parse_args,
    print_table,
    repeated_batch,
    side_by_side,
    synthetic_data,
    timed,
)

CONFIGS = {"float32": (None, False), "float32+XLA": (None, True), "bf16": ("mixed_bfloat16", False),
           "bf16+XLA": ("mixed_bfloat16", True)}


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()
    header("XLA and mixed precision vs float32, training throughput per backbone family", args.quick)
    steps, repeats = (4, 1) if args.quick else (12, 1)
    configs = list(CONFIGS)[:2] if args.quick else list(CONFIGS)  # --quick: float32 and XLA
    rows = []
    for family in FAMILIES:
        batch = family_task(family).training.batch_size
        data = synthetic_data(family, 4 * batch)
        ds = repeated_batch(data.train.x, data.train.y, batch)
        runs, first, failed = {}, {}, {}
        for name in configs:
            dtype, jit = CONFIGS[name]
            try:
                model = family_model(family, data, jit_compile=jit, dtype=dtype)
                first[name] = timed(lambda m=model, d=ds: m.fit(d, steps_per_epoch=1, epochs=1, verbose=0))
                runs[name] = fit_steps(model, ds, steps)
            except Exception as error:  # noqa: BLE001 - a configuration that does not compile is a result
                failed[name] = f"fails: {type(error).__name__}"
        wall, cpu = side_by_side(runs, repeats).medians()
        rate = {k: steps * batch / s for k, s in wall.items()}
        base = rate["float32"]
        cells = [failed.get(k) or (f"{wall['float32'] / wall[k]:.2f}x / {cpu['float32'] / cpu[k]:.2f}x"
                                   if k in wall else "not run") for k in CONFIGS if k != "float32"]
        rows.append([family, batch, f"{base:,.0f}", *cells,
                     *[f"{first[k]:.1f}" if k in first else "-" for k in CONFIGS]])
    print_table(["family", "batch", "float32 examples/s", "XLA speed-up (wall / CPU)", "bf16 speed-up (wall / CPU)",
                 "bf16+XLA speed-up (wall / CPU)",
                 "first step s: f32", "f32+XLA", "bf16", "bf16+XLA"], rows)
    print("Ratios > 1 are faster than plain float32. 'First step' is the first fit step (tracing and, with XLA, "
          "compilation), paid once per run. bf16 = mixed_bfloat16 (float32 weights and head output).")


if __name__ == "__main__":
    main()
