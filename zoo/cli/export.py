"""Export commands: `zoo export RUN_DIR` (SavedModel on raw inputs, or TFLite) and `zoo verify-export DIR`."""

from __future__ import annotations

import argparse
import json


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the export commands on `sub`.

    Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["export", "runs/x", "--format", "tflite", "--quantize", "int8"])
    >>> args.format, args.quantize, args.out
    ('tflite', 'int8', None)
    """
    from zoo.export import FORMATS, QUANTIZATIONS

    p = sub.add_parser(
        "export",
        help="export a run's model (SavedModel on raw inputs, or TFLite), checked against the Keras model",
        description="Write a SavedModel whose serving signature takes raw inputs (text, pixels 0-255, sensor "
        "windows, feature dicts) or a TFLite model, run it on the test split beside the Keras model, and write "
        "export_report.json (differences, metric change, checksums) next to it.",
    )
    p.add_argument("run_dir")
    p.add_argument("--format", choices=FORMATS, default="savedmodel", help="default: savedmodel")
    p.add_argument("--quantize", choices=QUANTIZATIONS, help="TFLite only: float16 weights, or int8 (calibrated)")
    p.add_argument("--out", help="export directory (default: RUN_DIR/export/FORMAT[-QUANTIZE])")
    p.add_argument("--data-dir", help="where the dataset is (default: as at training time)")
    p.add_argument("--max-examples", type=int, default=1000, help="test rows compared at most (default: 1000)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("verify-export", help="check an export's files against the checksums in its report")
    p.add_argument("export_dir")
    p.set_defaults(func=cmd_verify_export)


def cmd_export(args: argparse.Namespace) -> int:
    from zoo.export import export

    report = export(args.run_dir, format=args.format, quantize=args.quantize, out_dir=args.out,
                    data_dir=args.data_dir, max_examples=args.max_examples)
    print(json.dumps(report, indent=2, default=str))
    return 0


def cmd_verify_export(args: argparse.Namespace) -> int:
    from zoo.export import verify_export

    checked = verify_export(args.export_dir)
    print(f"{args.export_dir}: {len(checked)} file(s) match export_report.json")
    return 0
