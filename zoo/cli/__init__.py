"""The `zoo` command line. Each command group lives in its own module with `add_commands(subparsers)`.

Errors the user can fix (unknown task, missing data, bad input) end with one message on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from builders.errors import ZooError

COMMAND_MODULES = ("zoo.cli.core", "zoo.cli.benchmark", "zoo.cli.report", "zoo.cli.export", "zoo.cli.transfer",
                   "zoo.cli.tfds")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command group's subcommands.

    Example:
    >>> build_parser().parse_args(["info", "medical/breastmnist"]).task
    'medical/breastmnist'
    """
    import importlib

    parser = argparse.ArgumentParser(prog="zoo", description="Vertical Zoo: industry models on Keras backbones.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print the zoo's own warnings (small splits, class imbalance, ...) as one line, others as Python does.

    Example:
    >>> from zoo.data.validate import SmallSplitWarning
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err): show_warning(SmallSplitWarning("val: 5 rows"), SmallSplitWarning, "f.py", 1)
    >>> err.getvalue().strip()
    'zoo: warning: val: 5 rows'
    """
    if category.__module__.split(".")[0] in ("zoo", "builders"):
        print(f"zoo: warning: {message}", file=file or sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Entry point of `zoo` and `python -m zoo`; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return int(args.func(args) or 0)
    except ZooError as e:
        print(f"zoo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zoo: interrupted; run it again with --run-dir RUN_DIR to resume from the last saved epoch.", file=sys.stderr)
        return 130
