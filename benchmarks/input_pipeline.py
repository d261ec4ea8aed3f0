"""The real input pipeline (`zoo.harness.pipeline.make_dataset` over each default task's real data:
slices, cache, seeded shuffle, batch, prefetch) vs the same model fed one in-memory batch over
and over (a pipeline that costs nothing), training throughput side by side.

    python -m benchmarks.input_pipeline [--quick]
"""

from __future__ import annotations

import math

import tensorflow as tf

from benchmarks.common import (
    FAMILIES,
    family_model,
    family_task,
    header,
    parse_args,
    print_table,
    repeated_batch,
    side_by_side,
    timed,
)
from zoo.harness.fit import RunConfig, prepare_data
from zoo.harness.pipeline import make_dataset


def gathered_dataset(x, y, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """The proposed `make_dataset`: shuffle and batch row indices, then gather whole batches from
    tensors held in memory. The same batches in the same order (the shuffle permutes positions
    with the same seed and buffer), without per-example slicing and re-batching."""
    tensors = tf.nest.map_structure(tf.convert_to_tensor, (x, y))
    n = int(tf.nest.flatten(tensors)[0].shape[0])
    index = tf.data.Dataset.range(n)
    if shuffle:
        index = index.shuffle(min(n, 100_000), seed=seed, reshuffle_each_iteration=True)
    ds = index.batch(batch_size).map(lambda i: tf.nest.map_structure(lambda t: tf.gather(t, i), tensors),
                                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()
    header("Input pipeline: make_dataset on real data vs in-memory tensors", args.quick)
    repeats = 1 if args.quick else 2
    rows = []
    for family in FAMILIES:
        task = family_task(family)
        # --quick: whole batches only (a last, smaller batch costs a second trace of the training step)
        limit = {"tabular": 352, "cnn": 256, "rnn": 1536, "transformer": 288} if args.quick else {"transformer": 2000}
        data = prepare_data(task, RunConfig(task.to_dict(), max_train_examples=limit.get(family)))
        batch = task.training.batch_size
        steps = math.ceil(len(data.train) / batch)
        epochs = max(1, math.ceil((8 if args.quick else 150) / steps))  # enough steps to time
        pipelines = {"real": make_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=0)}
        if not args.quick:  # the alternative that lost (see BENCHMARKS.md); --quick times only the target
            pipelines["gathered"] = gathered_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=0)
        ideal = repeated_batch(data.train.x, data.train.y, batch, static_shape=False)  # batch axis as the pipelines'
        model = family_model(family, data)  # one model for every side: the same traced step
        fits = {k: {"x": d} for k, d in pipelines.items()} | {"memory": {"x": ideal, "steps_per_epoch": steps}}
        for d in pipelines.values():  # trace the step (the in-memory side shares it) and fill each pipeline's cache
            model.fit(d, epochs=1, verbose=0)
        runs = {k: lambda m=model, kw=kw, e=epochs: m.fit(**kw, epochs=e, verbose=0) for k, kw in fits.items()}
        t, cpu = side_by_side(runs, repeats).medians()
        alone = {k: steps * epochs / timed(lambda d=d, e=epochs: [None for _ in range(e) for _ in d])  # by itself
                 for k, d in pipelines.items()}
        ratios = {k: [t["memory"] / t[k], cpu["memory"] / cpu[k]] for k in pipelines}
        rows.append([family, task.dataset, len(data.train), batch, steps * epochs, f"{alone['real']:,.0f}",
                     f"{alone['gathered']:,.0f}" if "gathered" in alone else "-",
                     f"{steps * epochs / t['real']:.1f}", *ratios["real"], *ratios.get("gathered", ["-", "-"])])
    print_table(["family", "data", "train examples", "batch", "steps timed", "make_dataset alone batches/s",
                 "proposed alone batches/s", "training steps/s", "make_dataset / in-memory (target >= 0.9)",
                 "same, CPU", "proposed / in-memory", "same, CPU"], rows)
    print("Throughput ratios: training on the pipeline vs on one in-memory batch repeated. 'Proposed' gathers "
          "shuffled index batches from in-memory tensors (same batches, same order as make_dataset).")


if __name__ == "__main__":
    main()
