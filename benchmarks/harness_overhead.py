"""Harness overhead: `zoo.fit` vs plain Keras `model.fit` on the same model and data (same epochs,
batch and pipeline, no early stopping), for the training loop and end to end.

    python -m benchmarks.harness_overhead [--quick]
"""

from __future__ import annotations

import tempfile
import time

import keras
import tensorflow as tf

import zoo
from benchmarks.common import EpochTimer, Timings, header, parse_args, print_table
from zoo.harness.build import build_model
from zoo.harness.fit import RunConfig, prepare_data
from zoo.harness.pipeline import make_dataset
from zoo.tasks import get_task

TASK = "manufacturing/rul_fd001"


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()  # zoo.fit does this too: the same kernels on both sides
    header("Harness overhead: zoo.fit vs plain model.fit", args.quick)
    epochs, limit, repeats = (2, 1000, 1) if args.quick else (4, 5000, 4)
    task = get_task(TASK).with_overrides(epochs=epochs, patience=0)
    loop = Timings(["plain", "zoo"])
    total = Timings(["plain", "zoo"])
    side = {"now": "plain"}
    fit = keras.Model.fit

    steady = Timings(["plain", "zoo"])  # epochs 2.. (epoch 1 holds tracing, whose cost varies run to run)

    def clocked_fit(self, *a, **kw):  # timing only: the same wrapper on both sides, calls straight through
        wall, cpu = time.perf_counter(), time.process_time()
        timer = EpochTimer()
        kw["callbacks"] = [*(kw.get("callbacks") or []), timer]
        try:
            return fit(self, *a, **kw)
        finally:
            loop[side["now"]].append(time.perf_counter() - wall)
            loop.cpu[side["now"]].append(time.process_time() - cpu)
            steady[side["now"]].extend(timer.seconds[1:])
            steady.cpu[side["now"]].extend(timer.cpu_seconds[1:])

    def plain() -> None:
        keras.utils.set_random_seed(0)
        data = prepare_data(task, RunConfig(task.to_dict(), max_train_examples=limit))
        model = build_model(task, data)
        batch = task.training.batch_size
        train = make_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=0)
        val = make_dataset(data.val.x, data.val.y, batch)
        model.fit(train, validation_data=val, epochs=epochs, verbose=0, shuffle=False)
        model.predict(make_dataset(data.test.x, None, 256), verbose=0)  # a plain user evaluates on test too

    def harness() -> None:
        with tempfile.TemporaryDirectory() as out:
            zoo.fit(task, out_dir=out, max_train_examples=limit, verbose=0)

    if not args.quick:  # untimed warm-up: TensorFlow's one-time start-up costs
        with tempfile.TemporaryDirectory() as out:
            zoo.fit(task, out_dir=out, epochs=1, max_train_examples=512, verbose=0)
    keras.Model.fit = clocked_fit
    try:  # B A A B: a change of machine load falls on both sides; start-up costs left fall on zoo
        for r in range(repeats):
            for name, fn in (("zoo", harness), ("plain", plain)) if r % 2 == 0 else (("plain", plain),
                                                                                    ("zoo", harness)):
                side["now"] = name
                wall, cpu = time.perf_counter(), time.process_time()
                fn()
                total[name].append(time.perf_counter() - wall)
                total.cpu[name].append(time.process_time() - cpu)
    finally:
        keras.Model.fit = fit
    rows = []
    for what, times, target in (("training epochs after the first (median s per epoch)", steady, "<= 1.02"),
                                ("training loop (model.fit, tracing included)", loop, "<= 1.02"),
                                ("end to end (load, build, fit, save, report)", total, "<= 1.02")):
        wall, cpu = times.medians()
        rows.append([what, f"{wall['plain']:.2f} / {wall['zoo']:.2f}", wall["zoo"] / wall["plain"],
                     f"{cpu['plain']:.2f} / {cpu['zoo']:.2f}", cpu["zoo"] / cpu["plain"], target])
    print(f"Task {TASK}: {epochs} epochs, batch {task.training.batch_size}, "
          f"{limit:,} of the 14,935 training windows; {repeats} run(s) per side, medians.\n")
    print_table(["what", "wall s plain / zoo", "zoo / plain (wall)", "CPU s plain / zoo", "zoo / plain (CPU)",
                 "target"], rows)
    print("zoo.fit adds: IntervalBackupAndRestore (saves at most once a minute: not in runs this short), config.json, "
          "model.keras, history.json, and the test report (scikit-learn metrics); the plain side loads, builds, fits "
          "and predicts the test split.")


if __name__ == "__main__":
    main()
