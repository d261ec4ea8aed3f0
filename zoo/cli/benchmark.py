"""`zoo benchmark`: train tasks per seed and set their test metrics beside the published baselines.

The logic lives in `zoo.benchmark`; this module only parses flags and prints.
"""

from __future__ import annotations

import argparse
import json
import sys

from zoo.cli.core import add_run_arguments, download_data, resolve_task, run_kwargs


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `zoo benchmark` on `sub`.

    Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["benchmark", "--all", "--seeds", "2", "--epochs", "1"])
    >>> args.all, args.seeds, args.epochs, args.out
    (True, 2, 1, 'runs/benchmark')
    """
    p = sub.add_parser(
        "benchmark", help="train tasks per seed and compare test metrics with the published baselines",
        description="Train each task's default model once per seed (--seed, --seed+1, ...), evaluate on the test "
                    "split, and print task | metric | ours (mean ± std) | published | model, citation | train time.",
    )
    p.add_argument("tasks", nargs="*", metavar="TASK", help="task names (see `zoo list`)")
    p.add_argument("--all", action="store_true", help="every task that has data of its own (not the generic ones)")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds per task (default: 3)")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout (progress on stderr)")
    p.add_argument("--output", help="also write the JSON results to this file")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--metric", dest="extra_metrics", action="append", default=[], metavar="NAME",
                   help="also show this measured metric, e.g. 'f1[failure]' or 'macro_f1' (repeatable)")
    p.add_argument("--from", dest="from_files", nargs="+", metavar="FILE",
                   help="print the table of saved result files instead of training")
    add_run_arguments(p)
    p.set_defaults(func=cmd_benchmark, out="runs/benchmark")


def _task_names(args: argparse.Namespace) -> list[str]:
    from zoo.benchmark import default_tasks
    from zoo.errors import ConfigError

    names = list(args.tasks)
    if args.all:
        names += [n for n in default_tasks() if n not in names]
    if not names:
        raise ConfigError("zoo benchmark: name at least one task (see `zoo list`) or pass --all.")
    if args.seeds < 1:
        raise ConfigError(f"zoo benchmark: --seeds must be >= 1, got {args.seeds}.")
    return names


def cmd_benchmark(args: argparse.Namespace) -> int:
    from zoo import benchmark

    if args.from_files:
        results = benchmark.load_results(args.from_files)
    else:
        tasks = [resolve_task(argparse.Namespace(**{**vars(args), "task": name})) for name in _task_names(args)]
        download_data(tasks, args)
        kwargs = run_kwargs(args)
        del kwargs["seed"]  # one run per seed of `seeds`
        if args.json:
            kwargs["verbose"] = 0  # stdout carries only the JSON
        seeds = range(args.seed, args.seed + args.seeds)
        results = benchmark.run_benchmark(tasks, seeds, skip_missing_data=args.all,
                                          log=lambda message: print(message, file=sys.stderr, flush=True), **kwargs)
        results["environment"]["command"] = "zoo " + " ".join(sys.argv[1:])
    if args.output:
        benchmark.save_results(results, args.output)
    measured = {m for task in results["tasks"] for m in task.get("metrics", {})}
    unknown = [m for m in args.extra_metrics if m not in measured]
    if unknown:  # a typo showed nothing, without a word
        print(f"zoo benchmark: no run measured {', '.join(map(repr, unknown))}; measured: "
              f"{', '.join(sorted(measured)) or 'none'}.", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(benchmark.format_table(results, markdown=args.markdown, extra_metrics=args.extra_metrics))
    return 0
