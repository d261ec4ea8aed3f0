"""TFDS commands: `zoo tfds prepare NAME`, TFDS's own builder fed from the zoo's local files (offline)."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the TFDS commands on `sub`.

    Example:
    >>> parser = argparse.ArgumentParser(prog="zoo")
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["tfds", "prepare", "german_credit", "--tfds-dir", "d"]).tfds_dir
    'd'
    """
    from zoo.data.tfds_builders import TFDS_DATASETS

    p = sub.add_parser(
        "tfds",
        help="prepare TensorFlow Datasets' copy of a dataset from the zoo's local files (offline)",
        description="TFDS catalogues two of the zoo's datasets. `zoo tfds prepare NAME` runs TFDS's own builder on the "
        "local files (checksums verified) instead of its download, so tfds.load(..., download=False) reads them.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    prepare = actions.add_parser("prepare", help="write TFDS's prepared copy of NAME")
    prepare.add_argument("name", choices=sorted(TFDS_DATASETS), help="the zoo dataset")
    prepare.add_argument("--data-dir", help="where the dataset's files are (default: ZOO_DATA_DIR, ../shared/data)")
    prepare.add_argument("--tfds-dir", help="TFDS's data directory (default: TFDS's, ~/tensorflow_datasets)")
    prepare.set_defaults(func=cmd_prepare)


def cmd_prepare(args: argparse.Namespace) -> int:
    from zoo.data.tfds_builders import TFDS_DATASETS, prepare

    builder = prepare(args.name, data_dir=args.data_dir, tfds_data_dir=args.tfds_dir)
    name, examples = TFDS_DATASETS[args.name].tfds_name, builder.info.splits["train"].num_examples
    where = f", data_dir={args.tfds_dir!r}" if args.tfds_dir else ""
    print(f"{name}: {examples} examples in {builder.data_dir}; read it with tfds.load({name!r}{where}, download=False)")
    return 0
