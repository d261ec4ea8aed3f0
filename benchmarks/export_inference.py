"""Inference throughput of exported models per backbone family: the Keras model
(`predict_on_batch`) vs a SavedModel (`model.export()`, reloaded with `tf.saved_model.load`) vs
TFLite (converted as `zoo export --format tflite` converts: built-in ops, recurrent layers unrolled),
side by side on the same batch.

    python -m benchmarks.export_inference [--quick]
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from benchmarks.common import (
    FAMILIES,
    family_model,
    header,
    parse_args,
    print_table,
    side_by_side,
    synthetic_data,
)
from zoo.export import convert_to_tflite, unrolled_recurrent_layers


def tflite_runner(saved_model: str, batch: dict[str, np.ndarray]):
    """The SavedModel's `serve` signature converted as `zoo export --format tflite` converts (built-in ops
    only, which this interpreter runs; recurrent layers unrolled), timed on `batch`."""
    interpreter = tf.lite.Interpreter(model_content=convert_to_tflite(saved_model, "serve"), num_threads=2)
    runner = interpreter.get_signature_runner()  # it resizes the free batch axis to the inputs given
    names = list(runner.get_input_details())
    inputs = batch if set(batch) == set(names) else dict(zip(names, batch.values(), strict=True))
    runner(**inputs)  # fails here if the model needs TensorFlow ops that this interpreter lacks
    return lambda: runner(**inputs)


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
    header("Exported-model inference throughput (Keras vs SavedModel vs TFLite)", args.quick)
    batch, calls, repeats = (32, 10, 1) if args.quick else (32, 50, 2)
    rows = []
    for family in FAMILIES:
        data = synthetic_data(family, batch * 8)
        model = family_model(family, data)
        x = data.train.x
        xb = {k: v[:batch] for k, v in x.items()} if isinstance(x, dict) else x[:batch]
        runs, notes = {"keras": lambda m=model, b=xb: m.predict_on_batch(b)}, []
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "saved_model")
            model.export(path, verbose=False)
            served = tf.saved_model.load(path)
            runs["savedmodel"] = lambda s=served, b=xb: s.serve(b)
            named = xb if isinstance(xb, dict) else {model.input_names[0] if hasattr(model, "input_names")
                                                     else "inputs": xb}
            try:
                lite = path
                with unrolled_recurrent_layers(model) as unrolled:  # as `zoo export --format tflite` does
                    if unrolled:  # recurrent models only: the others' SavedModel is already the one to convert
                        lite = str(Path(tmp) / "for_tflite")
                        model.export(lite, verbose=False)
                runs["tflite"] = tflite_runner(lite, {k: np.asarray(v) for k, v in named.items()})
            except Exception as error:  # noqa: BLE001 - a model that does not convert is a result
                notes.append(f"TFLite fails: {type(error).__name__}: {str(error).splitlines()[0][:70]}")
            for run in runs.values():  # warm up (tracing, allocation)
                run()
            wall, cpu = side_by_side(
                {k: (lambda r=r: [r() for _ in range(calls)]) for k, r in runs.items()}, repeats).medians()
        rate = {k: batch * calls / s for k, s in wall.items()}
        cpu_rate = {k: batch * calls / s for k, s in cpu.items()}
        rows.append([family, f"{rate['keras']:,.0f}", f"{rate['savedmodel']:,.0f}",
                     f"{rate['tflite']:,.0f}" if "tflite" in rate else "-", f"{rate['savedmodel'] / rate['keras']:.2f} / {cpu_rate['savedmodel'] / cpu_rate['keras']:.2f}",
                     f"{rate['tflite'] / rate['keras']:.2f} / {cpu_rate['tflite'] / cpu_rate['keras']:.2f}"
                     if "tflite" in rate else "-", "; ".join(notes)])
    print_table(["family", "Keras examples/s", "SavedModel examples/s", "TFLite examples/s", "SavedModel / Keras (wall / CPU)",
                 "TFLite / Keras (wall / CPU)", "notes"], rows)
    print(f"Batch {batch}, float32, {calls} calls per measurement; TFLite with 2 threads, built-in ops only "
          "(as `zoo export` converts).")


if __name__ == "__main__":
    main()
