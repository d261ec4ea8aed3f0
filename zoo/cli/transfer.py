"""Pretraining and transfer commands: `zoo pretrain`, `zoo transfer`, `zoo transfer-matrix`.

`python -m zoo.cli.transfer ...` runs these commands alone (the same as `zoo ...`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from zoo.cli.core import json_flag


def _fractions(text: str) -> list[float]:
    """`"0.01,0.1,1"` -> `[0.01, 0.1, 1.0]`.

    Example:
    >>> _fractions("0.01, 0.1,1")
    [0.01, 0.1, 1.0]
    """
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers in (0, 1], got {text!r}") from None
    if not values or any(not 0.0 < v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"label fractions must be in (0, 1], got {text!r}")
    return values


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `pretrain`, `transfer` and `transfer-matrix` on `sub`.

    Example:
    >>> parser = argparse.ArgumentParser(prog="zoo")
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["transfer", "presets/x", "medical/breastmnist", "--label-fraction", "0.1"]).label_fraction
    [0.1]
    """
    p = sub.add_parser("pretrain", help="self-supervised pretraining on unlabelled data; saves a preset directory")
    p.add_argument("--corpus", required=True,
                   help="a task, a dataset, 'sklearn_digits', or a .txt/.npy file; join several with '+'")
    p.add_argument("--backbone", help="registered backbone (default: the corpus task's, else the modality's)")
    p.add_argument("--backbone-params", type=json_flag, help='JSON overrides, e.g. \'{"hidden_dim": 64}\'')
    p.add_argument("--out", required=True, help="the preset directory to write")
    p.add_argument("--epochs", type=int, help="pretraining epochs (default depends on the modality)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--objective", choices=["contrastive", "masked", "age"],
                   help="images: contrastive (default) or masked; time series: masked (default) or age (regress "
                        "each window's age; trajectory corpora such as manufacturing/rul_fd001)")
    p.add_argument("--vocab-size", type=int, help="text: WordPiece vocabulary learned from the corpus "
                   "(default: the corpus task's, else 8000)")
    p.add_argument("--sequence-length", type=int, help="text: tokens per sequence (default: the corpus task's, else 128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", help="directory holding the datasets")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("transfer", help="pretrained preset vs training from scratch on a task, by label budget")
    p.add_argument("preset", help="a preset directory (from `zoo pretrain`)")
    p.add_argument("task", help="the target task")
    _add_comparison_arguments(p)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("transfer-matrix", help="sources x targets within a backbone family, against scratch")
    p.add_argument("--family", default="all", help="text, image, timeseries, timeseries_cnn, tabular or all (default)")
    p.add_argument("--pretrain-epochs", type=int, help="pretraining epochs of every source")
    _add_comparison_arguments(p)
    p.set_defaults(func=cmd_transfer_matrix)


def _add_comparison_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--label-fraction", type=_fractions, default=[0.01, 0.1, 1.0],
                   help="shares of the training labels, comma-separated (default 0.01,0.1,1.0)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    p.add_argument("--fine-tune", action="store_true", help="after the head, fine-tune the whole base at a lower LR")
    p.add_argument("--epochs", type=int, help="epochs per arm (default: the task's); raised where needed so a run makes "
                   "--min-steps optimizer steps (--head-min-steps for the frozen head): small label fractions get "
                   "more epochs, shown in the report's epochs column")
    p.add_argument("--fine-tune-epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--fine-tune-learning-rate", type=float, help="default: learning rate / 10")
    p.add_argument("--patience", type=int, help="early-stopping patience (default: the task's)")
    p.add_argument("--min-steps", type=int, help="at least this many optimizer steps per run (default 100)")
    p.add_argument("--head-min-steps", type=int,
                   help="at least this many steps for the frozen base's head, on cached features (default 1000)")
    p.add_argument("--data-dir", help="directory holding the datasets")
    p.add_argument("--out", help="output directory (default: runs/transfer-...)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _settings(args: argparse.Namespace):
    from zoo.transfer import TrainSettings

    given = {name: getattr(args, name) for name in ("epochs", "batch_size", "learning_rate", "patience", "min_steps",
                                                    "head_min_steps", "fine_tune_epochs", "fine_tune_learning_rate")}
    # flags left out keep TrainSettings' own defaults (one place for them)
    return TrainSettings(fine_tune=args.fine_tune, **{k: v for k, v in given.items() if v is not None})


def cmd_pretrain(args: argparse.Namespace) -> int:
    from zoo.transfer import pretrain

    options = {"objective": args.objective} if args.objective else None
    result = pretrain(args.corpus, args.out, backbone=args.backbone, backbone_params=args.backbone_params,
                      epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
                      data_dir=args.data_dir, vocab_size=args.vocab_size, sequence_length=args.sequence_length,
                      objective_options=options, verbose=0 if args.quiet else 2)
    card = result.card
    print(f"pretrained {card['name']} on {card['corpus']} ({card['num_examples']} examples): {card['objective']}, "
          f"{card['epochs']} epoch{'s' if card['epochs'] != 1 else ''}, "
          + (f"loss {card['final_loss']:.4f} (one epoch: no trend yet), " if len(result.history["loss"]) == 1 else
             f"loss {result.history['loss'][0]:.4f} -> {card['final_loss']:.4f}, ")
          + f"{card['seconds']:.0f} s")
    print(f"preset directory: {result.preset_dir}")
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    from zoo.transfer import transfer

    out = args.out or str(Path("runs") / f"transfer-{Path(args.preset).name}-{args.task.replace('/', '_')}-"
                                           f"{time.strftime('%Y%m%d-%H%M%S')}")
    report = transfer(args.preset, args.task, label_fractions=args.label_fraction, seeds=args.seeds,
                      settings=_settings(args), data_dir=args.data_dir, out_dir=out, verbose=0 if args.quiet else 2)
    print(report.table())
    print(f"report directory: {out}")
    return 0


def cmd_transfer_matrix(args: argparse.Namespace) -> int:
    from zoo.errors import UnknownNameError
    from zoo.transfer import MATRICES, matrix_table, transfer_matrix

    families = sorted(MATRICES) if args.family == "all" else [args.family]
    if any(f not in MATRICES for f in families):
        raise UnknownNameError(f"Unknown family '{args.family}'; choose all or one of {', '.join(sorted(MATRICES))}.")
    out = Path(args.out or "runs/transfer-matrix")
    for family in families:
        result = transfer_matrix(family, out / family, label_fractions=args.label_fraction, seeds=args.seeds,
                                 settings=_settings(args), pretrain_epochs=args.pretrain_epochs,
                                 data_dir=args.data_dir, verbose=0 if args.quiet else 2)
        print(f"## {family}\n\n{matrix_table(result)}\n")
    print(f"matrix directory: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m zoo.cli.transfer`: these commands without the rest of `zoo`; returns the exit status."""
    import os

    from builders.errors import ZooError

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="zoo", description="Vertical Zoo: pretraining and transfer.")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZooError as e:
        print(f"zoo: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
