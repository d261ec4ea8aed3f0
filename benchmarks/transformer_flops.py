"""The default Transformer's training FLOP rate as a fraction of this machine's matmul rate, for
sizes, batch sizes, XLA, bfloat16, determinism and thread settings; the full mode also splits the
default's training step into its parts (where the time beyond the matrix products goes).

Training FLOPs are counted analytically: per token and layer, 8 d^2 (Q, K, V, output projections)
+ 4 d f (feed-forward) + 4 S d (scores and weighted values) multiply-adds x 2 forward, and 3x that
for forward + backward (~ 6 x non-embedding params x tokens + attention terms).

    python -m benchmarks.transformer_flops [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.common import (
    family_task,
    fit_steps,
    header,
    parse_args,
    print_table,
    repeated_batch,
    side_by_side,
    synthetic_data,
    xla_model,
)
from zoo.harness.build import build_model

SEQUENCE = 128


def training_flops(batch: int, seq: int, hidden: int, intermediate: int, layers: int) -> float:
    per_token_layer = 2 * (4 * hidden * hidden + 2 * hidden * intermediate + 2 * seq * hidden)
    return 3.0 * batch * seq * layers * per_token_layer


def matmul_rate(tf, dtype: str = "float32", n: int = 2048, reps: int = 10) -> tuple[float, float]:
    """FLOP per wall second and per CPU second of a big square matmul (best of 3): the machine's
    practical peak."""
    import time

    import numpy as np

    a = tf.cast(tf.constant(np.random.default_rng(0).random((n, n), dtype="float32")), dtype)

    @tf.function
    def many():
        out = a
        for _ in range(reps):
            out = tf.matmul(out, a) * 1e-3
        return out

    many().numpy()
    wall = cpu = float("inf")
    for _ in range(3):
        start = (time.perf_counter(), time.process_time())
        many().numpy()
        wall = min(wall, time.perf_counter() - start[0])
        cpu = min(cpu, time.process_time() - start[1])
    flops = 2.0 * n**3 * reps
    return flops / wall, flops / cpu


# name: (hidden, intermediate, heads, batch, XLA, dtype)
CONFIGS = {
    "default (d=128), batch 32": (128, 256, 4, 32, False, None),
    "+ XLA": (128, 256, 4, 32, True, None),
    "+ XLA, batch 128": (128, 256, 4, 128, True, None),
    "d=256, batch 32, XLA": (256, 512, 4, 32, True, None),
    "d=512, batch 32, XLA": (512, 1024, 8, 32, True, None),
    "default, bf16": (128, 256, 4, 32, False, "mixed_bfloat16"),
    "d=512, batch 32, bf16+XLA": (512, 1024, 8, 32, True, "mixed_bfloat16"),
}


def measure(names, steps: int, repeats: int, deterministic: bool = True) -> tuple[dict, dict]:
    """FLOP per wall second and per CPU second of each named configuration, timed side by side."""
    import tensorflow as tf

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    runs, flops = {}, {}
    for name in names:
        hidden, inter, heads, batch, jit, dtype = CONFIGS[name]
        data = synthetic_data("transformer", batch, sequence_length=SEQUENCE)
        task = family_task("transformer").with_overrides(
            backbone_params={"hidden_dim": hidden, "intermediate_dim": inter, "num_heads": heads})
        model = xla_model(task, data, dtype=dtype, jit_compile=jit)
        runs[name] = fit_steps(model, repeated_batch(data.train.x, data.train.y, batch), steps)
        flops[name] = steps * training_flops(batch, SEQUENCE, hidden, inter, 2)
    wall, cpu = side_by_side(runs, repeats).medians()
    return {k: flops[k] / v for k, v in wall.items()}, {k: flops[k] / v for k, v in cpu.items()}


def same_matmuls(tf, batch: int, seq: int, hidden: int, intermediate: int, heads: int, layers: int):
    """A traced step of the matrix products `training_flops` counts, forward and backward, and nothing else."""
    import numpy as np

    rng = np.random.default_rng(0)
    shapes = [(hidden, hidden)] * 4 + [(hidden, intermediate), (intermediate, hidden)]
    weights = [tf.Variable(rng.normal(size=s).astype("float32") * 0.05) for _ in range(layers) for s in shapes]
    x0 = tf.constant(rng.normal(size=(batch, seq, hidden)).astype("float32"))

    def split(t):
        return tf.reshape(t, (batch, seq, heads, hidden // heads))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            x = x0
            for i in range(layers):
                q, k, v, o, up, down = weights[6 * i : 6 * i + 6]
                scores = tf.einsum("bthd,bshd->bhts", split(x @ q), split(x @ k))
                attended = tf.reshape(tf.einsum("bhts,bshd->bthd", scores, split(x @ v)), (batch, seq, hidden))
                x = x + attended @ o
                x = x + (x @ up) @ down
            loss = tf.reduce_sum(x)
        return tape.gradient(loss, weights)

    return step


def breakdown(steps: int, repeats: int) -> list:
    """Milliseconds per training step of the default size and of variants that each drop one part."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    hidden, inter, heads, batch = CONFIGS["default (d=128), batch 32"][:4]
    data = synthetic_data("transformer", batch, sequence_length=SEQUENCE)
    ds = repeated_batch(data.train.x, data.train.y, batch)
    base = {"hidden_dim": hidden, "intermediate_dim": inter, "num_heads": heads}
    variants = {"default model (2 layers, dropout 0.1)": {}, "without dropout": {"dropout": 0.0},
                "1 layer": {"num_layers": 1}, "0 layers (embedding, pooling, head, optimizer)": {"num_layers": 0}}
    runs = {}
    for name, params in variants.items():
        task = family_task("transformer").with_overrides(backbone_params={**base, **params})
        runs[name] = fit_steps(build_model(task, data, jit_compile=False), ds, steps)
    step = same_matmuls(tf, batch, SEQUENCE, hidden, inter, heads, 2)
    step()  # traced before timing, as fit_steps warms up

    def matmuls_only():
        for _ in range(steps):
            grads = step()
        grads[0].numpy()

    runs["its matrix products alone (forward + backward)"] = matmuls_only
    wall, cpu = side_by_side(runs, repeats).medians()
    full = "default model (2 layers, dropout 0.1)"
    return [[name, f"{1e3 * wall[name] / steps:.0f}", f"{1e3 * cpu[name] / steps:.0f}",
             f"{100 * wall[name] / wall[full]:.0f}%"] for name in runs]


def child(argv) -> None:
    """Run in a fresh process: thread settings must be made before TensorFlow starts."""
    intra, inter, deterministic, steps = int(argv[0]), int(argv[1]), argv[2] == "1", int(argv[3])
    import tensorflow as tf

    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    wall, cpu = measure(["+ XLA"], steps, 1, deterministic)
    peak_wall, peak_cpu = matmul_rate(tf)
    print(json.dumps({"wall": wall["+ XLA"], "cpu": cpu["+ XLA"], "peak_wall": peak_wall, "peak_cpu": peak_cpu}))


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return child(argv[1:])
    args = parse_args(__doc__.splitlines()[0], argv)
    header("Transformer training FLOP rate vs this machine's matmul rate", args.quick)
    import tensorflow as tf

    steps, repeats = (3, 1) if args.quick else (8, 1)
    names = list(CONFIGS)[:1] if args.quick else list(CONFIGS)  # --quick: the default only
    reps = 3 if args.quick else 10
    peak = {"float32": matmul_rate(tf, reps=reps), "bfloat16": matmul_rate(tf, "bfloat16", reps=reps)}
    wall, cpu = measure(names, steps, repeats)
    again = matmul_rate(tf, reps=reps)  # again after: the better of two
    peak["float32"] = (max(peak["float32"][0], again[0]), max(peak["float32"][1], again[1]))
    rows = []
    for name in names:
        bf16 = CONFIGS[name][5] is not None
        rows.append([name, f"{wall[name] / 1e9:.1f}", f"{100 * wall[name] / peak['float32'][0]:.0f}%",
                     f"{cpu[name] / 1e9:.1f}", f"{100 * cpu[name] / peak['float32'][1]:.0f}%",
                     f"{100 * cpu[name] / peak['bfloat16'][1]:.0f}%" if bf16 else "-"])
    variants = [("intra 2, inter 1", "2", "1", "1"), ("intra 1, inter 1", "1", "1", "1"),
                ("no op determinism", "0", "0", "0")]
    for label, intra, inter, det in variants[: 0 if args.quick else 3]:  # --quick: no fresh processes
        out = subprocess.run([sys.executable, "-m", "benchmarks.transformer_flops", "--child", intra, inter, det,
                              str(steps)], capture_output=True, text=True, env={**os.environ}, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([f"+ XLA, {label} (own process)", f"{r['wall'] / 1e9:.1f}", f"{100 * r['wall'] / r['peak_wall']:.0f}%",
                     f"{r['cpu'] / 1e9:.1f}", f"{100 * r['cpu'] / r['peak_cpu']:.0f}%", "-"])
    print(f"Matmul rate (2048^2 tf.matmul, best of 3), per wall second: float32 {peak['float32'][0] / 1e9:.0f}, "
          f"bfloat16 {peak['bfloat16'][0] / 1e9:.0f} GFLOP/s; per CPU second: float32 {peak['float32'][1] / 1e9:.0f}, "
          f"bfloat16 {peak['bfloat16'][1] / 1e9:.0f} GFLOP/s. Sequence length {SEQUENCE}, 2 encoder layers, "
          f"synthetic tokens in memory, {steps} training steps per measurement.\n")
    print_table(["configuration", "GFLOP/s (wall)", "% of fp32 matmul (wall)", "GFLOP per CPU s",
                 "% of fp32 matmul (CPU)", "% of bf16 matmul (CPU)"], rows)
    if not args.quick:  # where the default's step goes: each variant drops one part
        print("\nThe default's training step, side by side (median of 3, wall and CPU ms per step):\n")
        print_table(["step", "ms (wall)", "ms (CPU)", "of the default (wall)"], breakdown(steps, 3))


if __name__ == "__main__":
    main()
