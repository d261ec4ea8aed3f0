"""Our backbones vs reference implementations, training throughput side by side: the default
`TransformerBackbone` vs a keras-hub `BertBackbone` of the same size (random weights, built from its
constructor), and `CNNBackbone` vs keras.applications VGG16 and ResNet50 (weights=None; not the same
size, so compared per FLOP: FLOPs counted by TensorFlow's profiler on the forward graph, x3 for
training).

    python -m benchmarks.reference_backbones [--quick]
"""

from __future__ import annotations

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from benchmarks.common import (
    family_model,
    fit_steps,
    header,
    parse_args,
    print_table,
    repeated_batch,
    side_by_side,
    synthetic_data,
)
from benchmarks.transformer_flops import training_flops


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


def application_model(name: str, classes: int = 1) -> keras.Model:
    """keras.applications `name` (e.g. "ResNet50", "VGG16") at 32x32x3 with random weights and a sigmoid head."""
    base = getattr(keras.applications, name)(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    model = keras.Model(base.input, keras.layers.Dense(classes, activation="sigmoid")(base.output))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy", "auc"], jit_compile=False)
    return model


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tf.config.experimental.enable_op_determinism()
    header("Our backbones vs keras-hub BERT and keras.applications VGG16 / ResNet50 (training throughput)", args.quick)
    steps, repeats = (3, 1) if args.quick else (10, 1)
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

    # CNN vs keras.applications networks at 32x32x3 (their smallest input): compared per training FLOP.
    images = synthetic_data("cnn", batch)
    cnn = family_model("cnn", images)
    rgb = np.repeat(np.pad(images.train.x, ((0, 0), (2, 2), (2, 2), (0, 0))), 3, axis=-1)
    ours = fit_steps(cnn, repeated_batch(images.train.x, images.train.y, batch), steps)
    step_flops = {"ours": 3 * forward_flops(cnn) * steps * batch}  # training FLOPs of the timed steps
    # --quick: VGG16 only (ResNet50's first training step alone takes ~30 s to trace here)
    for name in ["VGG16"] if args.quick else ["VGG16", "ResNet50"]:
        reference = application_model(name)
        step_flops["ref"] = 3 * forward_flops(reference) * steps * batch
        t, cpu = side_by_side({"ours": ours, "ref": fit_steps(reference, repeated_batch(rgb, images.train.y, batch),
                                                             steps)}, repeats).medians()
        rates = {side: flops / t[side] for side, flops in step_flops.items()}
        cpu_rates = {side: flops / cpu[side] for side, flops in step_flops.items()}
        rows.append([f"CNNBackbone 28x28x1 vs {name} 32x32x3 (per FLOP)",
                     f"{cnn.count_params():,} / {reference.count_params():,}",
                     f"{steps * batch / t['ours']:.0f} / {steps * batch / t['ref']:.0f}",
                     f"{rates['ours'] / 1e9:.1f} / {rates['ref'] / 1e9:.1f}", rates["ours"] / rates["ref"],
                     cpu_rates["ours"] / cpu_rates["ref"]])
    print_table(["comparison", "params ours / ref", "train examples/s ours / ref", "train GFLOP/s ours / ref",
                 "ours / ref (target >= 1.0)", "ours / ref, CPU"], rows)
    print(f"Batch {batch}, float32, no XLA (the CPU default), synthetic inputs in memory, {steps} steps per "
          "measurement. Transformer ratio = throughput (same size and FLOPs); CNN ratio = training FLOP rate.")


if __name__ == "__main__":
    main()
