"""Our backbones vs reference implementations, training throughput side by side: the default
`TransformerBackbone` vs a keras-hub `BertBackbone` of the same size (random weights, built from its
constructor), and `CNNBackbone` vs keras.applications networks (weights=None) on the same 32x32x3
images: MobileNetV3Small (alpha 0.75, minimalistic) of about the same size by throughput (full mode: also our CNN
with a stride-2 stem), and the far larger VGG16 and ResNet50 per training FLOP (FLOPs counted by TensorFlow's profiler on the forward graph, x3 for
training).

    python -m benchmarks.reference_backbones [--quick]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import keras
import keras_hub
import tensorflow as tf

from benchmarks.common import (
    family_model,
    family_task,
    fit_steps,
    header,
    parse_args,
    print_table,
    repeated_batch,
    side_by_side,
    synthetic_data,
)
from benchmarks.transformer_flops import training_flops
from zoo.harness.build import build_model

# The same-size network first (the target's ratio); then larger ones, compared per FLOP.
# MobileNetV3Small (alpha 0.75, minimalistic): 274k parameters to our CNN's 308k, the closest keras.applications size.
REFERENCE_CNNS = [("MobileNetV3Small", {"alpha": 0.75, "minimalistic": True}), ("VGG16", {}), ("ResNet50", {})]


def forward_flops(model: keras.Model) -> float:
    """FLOPs of one example's forward pass, from TensorFlow's profiler on the frozen graph."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = keras.tree.map_structure(lambda t: tf.TensorSpec((1, *t.shape[1:]), t.dtype), model.input)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph=graph, cmd="op", options=options).total_float_ops)


def bert_model(seq: int, vocab: int, classes: int) -> keras.Model:
    """keras-hub BERT of the default Transformer's size, with a softmax head on the [CLS] output."""
    bert = keras_hub.models.BertBackbone(vocabulary_size=vocab, num_layers=2, num_heads=4, hidden_dim=128,
                                         intermediate_dim=256, max_sequence_length=seq, dropout=0.1)
    tokens = keras.Input((seq,), dtype="int32", name="token_ids")
    outputs = bert({"token_ids": tokens, "segment_ids": keras.ops.zeros_like(tokens),
                    "padding_mask": keras.ops.cast(keras.ops.not_equal(tokens, 0), "int32")})
    model = keras.Model(tokens, keras.layers.Dense(classes, activation="softmax")(outputs["pooled_output"]))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)
    return model


def application_model(name: str, classes: int = 1, **kwargs) -> keras.Model:
    """keras.applications `name` (e.g. "ResNet50", "VGG16") at 32x32x3 with random weights and a sigmoid head."""
    base = getattr(keras.applications, name)(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg",
                                             **kwargs)
    model = keras.Model(base.input, keras.layers.Dense(classes, activation="sigmoid")(base.output))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy", "auc"], jit_compile=False)
    return model


class _Timed(NamedTuple):
    """A model ready to time: its name, the model, its warmed-up training run and that run's training FLOPs."""

    name: str
    model: keras.Model
    run: Callable[[], Any]
    flops: float


def _timed(name: str, model: keras.Model, data: tf.data.Dataset, steps: int, batch: int) -> _Timed:
    return _Timed(name, model, fit_steps(model, data, steps), 3 * forward_flops(model) * steps * batch)


def _cnn_row(ours: _Timed, ref: _Timed, steps: int, batch: int, repeats: int, same_size: bool) -> list:
    """One CNN comparison: throughput against the same-size network, training FLOP rate otherwise."""
    t, cpu = side_by_side({"ours": ours.run, "ref": ref.run}, repeats).medians()
    rates = {side: m.flops / t[side] for side, m in (("ours", ours), ("ref", ref))}
    cpu_rates = {side: m.flops / cpu[side] for side, m in (("ours", ours), ("ref", ref))}
    ratio = (t["ref"] / t["ours"], cpu["ref"] / cpu["ours"]) if same_size else (
        rates["ours"] / rates["ref"], cpu_rates["ours"] / cpu_rates["ref"])
    return [f"{ours.name} vs {ref.name}, 32x32x3 ({'throughput' if same_size else 'per FLOP'})",
            f"{ours.model.count_params():,} / {ref.model.count_params():,}",
            f"{steps * batch / t['ours']:.0f} / {steps * batch / t['ref']:.0f}",
            f"{rates['ours'] / 1e9:.1f} / {rates['ref'] / 1e9:.1f}", *ratio]


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()
    header("Our backbones vs keras-hub BERT and keras.applications CNNs (training throughput)", args.quick)
    steps, repeats = (3, 1) if args.quick else (10, 3)
    batch, seq = 32, 128
    rows = []

    # Transformer vs BERT: same size, same tokens, same head size, same optimizer.
    data = synthetic_data("transformer", batch, sequence_length=seq)
    ours = family_model("transformer", data)
    bert = bert_model(seq, 8000, 3)
    ds = repeated_batch(data.train.x, data.train.y, batch)
    t, cpu = side_by_side({"ours": fit_steps(ours, ds, steps), "ref": fit_steps(bert, ds, steps)}, repeats).medians()
    flops = training_flops(1, seq, 128, 256, 2)
    rows.append(["TransformerBackbone vs BertBackbone (d=128, 2 layers, seq 128)",
                 f"{ours.count_params():,} / {bert.count_params():,}",
                 f"{steps * batch / t['ours']:.0f} / {steps * batch / t['ref']:.0f}",
                 f"{flops * steps * batch / t['ours'] / 1e9:.1f} / {flops * steps * batch / t['ref'] / 1e9:.1f}",
                 t["ref"] / t["ours"], cpu["ref"] / cpu["ours"]])

    # CNN vs keras.applications: the same-size network (REFERENCE_CNNS[0]) on the same 32x32x3 images by
    # throughput; the larger VGG16 and ResNet50 (full mode) per training FLOP, as they do far more work per image.
    images = synthetic_data("cnn", batch, image_shape=(32, 32, 3))
    data = repeated_batch(images.train.x, images.train.y, batch)
    ours = [_timed("CNNBackbone", family_model("cnn", images), data, steps, batch)]
    if not args.quick:  # also our CNN with a stride-2 stem (`stem_stride=2`), against the same-size network only
        keras.utils.set_random_seed(0)
        strided = build_model(family_task("cnn").with_overrides(backbone_params={"stem_stride": 2}), images,
                              jit_compile=False)
        ours.append(_timed("CNNBackbone stem_stride 2", strided, data, steps, batch))
    # --quick: the same-size network only (ResNet50's first training step alone takes ~30 s to trace here)
    for name, kwargs in REFERENCE_CNNS[:1] if args.quick else REFERENCE_CNNS:
        label = name + "".join(f" {k} {v}" for k, v in kwargs.items())
        ref = _timed(label, application_model(name, **kwargs), data, steps, batch)
        same_size = name == REFERENCE_CNNS[0][0]
        for side in ours if same_size else ours[:1]:
            rows.append(_cnn_row(side, ref, steps, batch, repeats, same_size))
    print_table(["comparison", "params ours / ref", "train examples/s ours / ref", "train GFLOP/s ours / ref",
                 "ours / ref (target >= 1.0)", "ours / ref, CPU"], rows)
    print(f"Batch {batch}, float32, no XLA (the CPU default), synthetic inputs in memory, {steps} steps per "
          f"measurement, median of {repeats} run(s) per side. Ratios: throughput against the same-size networks (BERT, MobileNetV3Small), training "
          "FLOP rate against the larger VGG16 and ResNet50.")


if __name__ == "__main__":
    main()
