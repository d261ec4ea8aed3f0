"""Report commands: `zoo report RUN_DIR [--out FILE]`, a self-contained HTML report of a run."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the report commands on `sub`.

    Example:
    >>> parser = argparse.ArgumentParser(prog="zoo")
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["report", "runs/x", "--out", "r.html"]).out
    'r.html'
    """
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report of a run (metrics, baselines, plots, explanations, model card)",
        description="Write a self-contained HTML report of a run directory: images are embedded, nothing is "
        "fetched, so the file can be mailed or archived as it is.",
    )
    p.add_argument("run_dir", help="a run directory written by `zoo train`")
    p.add_argument("--out", help="the HTML file to write (default: RUN_DIR/report.html)")
    p.add_argument("--data-dir", help="where the dataset is (default: as at training time)")
    p.add_argument("--no-explain", dest="explain", action="store_false",
                   help="skip permutation importance, token attributions and subgroup metrics (faster)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from zoo.report.html import write_report

    path = write_report(args.run_dir, args.out, data_dir=args.data_dir, explain_model=args.explain)
    print(f"report: {path}")
    return 0
