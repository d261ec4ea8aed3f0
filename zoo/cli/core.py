"""Core commands: `zoo list`, `zoo info TASK`, `zoo train TASK`, `zoo predict RUN_DIR`, `zoo evaluate RUN_DIR`."""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import Any


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the core commands on `sub`."""
    p = sub.add_parser("list", help="list the tasks")
    p.add_argument("--industry", help="only this industry's tasks")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="a task's model card: data, license, model, metrics, baseline")
    p.add_argument("task")
    p.add_argument("--json", action="store_true", help="print the task config as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a task's model and write a run directory")
    p.add_argument("task")
    add_run_arguments(p)
    p.add_argument("--run-dir", help="train into this run directory (a killed run there resumes from its backup)")
    p.add_argument("--backup-every", type=float, default=60.0, metavar="SECONDS",
                   help="back up the training state at most this often (default 60; 0: after every epoch)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="a run's predictions for new data, encoded as its training data was")
    p.add_argument("run_dir")
    p.add_argument("--data", required=True,
                   help="new data in the training data's format: a CSV of the training columns (tabular), of the "
                        "text column (text), of user and item ids (recommendation), or of long-format series with "
                        "the feature, group and time columns (one prediction per series, from its last window; "
                        "C-MAPSS runs also read NASA's test_FD001.txt); a folder or file of images (image)")
    p.add_argument("--every-window", action="store_true",
                   help="time series: a prediction for every window of each series (its trajectory), not only the last")
    p.add_argument("--out", help="write the predictions to this CSV (default: print them)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="re-evaluate a run directory on its test split")
    p.add_argument("run_dir")
    p.add_argument("--data-dir", help="where the dataset is (default: as at training time)")
    p.set_defaults(func=cmd_evaluate)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command that trains (`train`, `benchmark`, ...)."""
    p.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs (default: the task's)")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--learning-rate-schedule", choices=["constant", "cosine", "step"],
                   help="constant; cosine decay to 0 over the epochs; or step: x0.1 at 1/2 and 3/4 of the epochs "
                        "(default: the task's)")
    p.add_argument("--weight-decay", type=float, help="decoupled weight decay (AdamW) when > 0 (default: the task's)")
    p.add_argument("--backbone", help="another registered backbone (builders.list_backbones())")
    p.add_argument("--backbone-params", type=json_flag, help='JSON overrides, e.g. \'{"units": 32}\'')
    p.add_argument("--preset", metavar="DIR",
                   help="start from a pretrained backbone: a preset directory from zoo pretrain (frozen unless "
                        "--no-freeze; a new head for the task)")
    p.add_argument("--freeze", action=argparse.BooleanOptionalAction, default=None,
                   help="freeze the backbone (--no-freeze trains it); default: frozen with --preset, else the task's")
    p.add_argument("--fine-tune-epochs", type=int, metavar="N",
                   help="after training the head of a frozen backbone, N epochs with the backbone unfrozen")
    p.add_argument("--fine-tune-learning-rate", type=float, help="learning rate of those epochs (default 1e-5)")
    p.add_argument("--class-weight", type=class_weight_flag, metavar="balanced|JSON",
                   help="'balanced' (inversely to class frequency), or weights as JSON by class name or id, e.g. "
                        "'{\"fraud\": 10}' or '[1, 5]' (a class left out weighs 1)")
    p.add_argument("--ensemble", type=int, metavar="N",
                   help="train N models (different seeds, same split) and average their outputs (default: the task's)")
    p.add_argument("--data-dir", help="directory holding the dataset (else $ZOO_DATA_DIR, ../shared/data)")
    p.add_argument("--download", action="store_true",
                   help="no local copy found: download the dataset's official release once into the Keras cache, "
                        "checksums verified (needs network)")
    p.add_argument("--data", help="your own data for a generic task (CSV file, image folder or NPZ)")
    p.add_argument("--target", help="target column of --data")
    p.add_argument("--text-column", help="text column of --data (text tasks)")
    p.add_argument("--data-options", type=json_flag, help='JSON loader options, e.g. \'{"subset": "allagree"}\'')
    p.add_argument("--out", default="runs", help="parent directory of the run directory (default: runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strategy", default="auto", help="auto, default, mirrored, multi-worker or tpu")
    p.add_argument("--scale-learning-rate", action="store_true", default=None,
                   help="multiply the learning rate by the number of replicas (large-batch setups)")
    p.add_argument("--precision", help="float32, mixed_float16 or mixed_bfloat16 (default: auto)")
    p.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                   help="XLA compilation (needs --no-deterministic: Keras turns XLA off under op determinism)")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="TensorFlow op determinism: the same seed and data give the same metrics (default: on)")
    p.add_argument("--feature-cache", action=argparse.BooleanOptionalAction, default=None,
                   help="frozen base: train the head on backbone features computed once (default: where valid)")
    p.add_argument("--max-train-examples", type=int, help="train on at most this many examples")
    p.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs into the run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments for `zoo.fit` from the shared run flags."""
    return dict(
        out_dir=args.out, seed=args.seed, strategy=args.strategy, precision=args.precision,
        jit_compile="auto" if args.xla is None else args.xla, deterministic=args.deterministic, data_dir=args.data_dir,
        max_train_examples=args.max_train_examples, tensorboard=args.tensorboard, feature_cache=args.feature_cache,
        verbose=0 if args.quiet else "auto", epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
        learning_rate=args.learning_rate, learning_rate_schedule=args.learning_rate_schedule,
        weight_decay=args.weight_decay, freeze=args.freeze, class_weight=args.class_weight,
        scale_learning_rate=args.scale_learning_rate, ensemble=args.ensemble, preset=args.preset,
        fine_tune_epochs=args.fine_tune_epochs, fine_tune_learning_rate=args.fine_tune_learning_rate,
    )


def resolve_task(args: argparse.Namespace):
    """The task named on the command line with its backbone overrides applied."""
    from zoo.errors import ConfigError
    from zoo.tasks import get_task

    if getattr(args, "preset", None) and (args.backbone or args.backbone_params):
        raise ConfigError("--preset gives the backbone (architecture and weights); drop --backbone and "
                          "--backbone-params.")
    task = get_task(args.task).with_overrides(backbone=args.backbone, backbone_params=args.backbone_params)
    if args.data_options is not None and not isinstance(args.data_options, dict):
        raise ConfigError(f"--data-options must be a JSON object such as '{{\"drop\": [\"id\"]}}', "
                          f"got {json.dumps(args.data_options)}.")
    flags = {"path": args.data, "target": args.target, "text_column": args.text_column}
    # An explicit null in --data-options is kept: it turns an option off (e.g. {"smoothing": null} for raw sensors).
    task.data_options.update({**{k: v for k, v in flags.items() if v is not None}, **(args.data_options or {})})
    return task


def download_data(tasks, args: argparse.Namespace) -> None:
    """With `--download`, fetch each built-in dataset the tasks read that has no local copy (`zoo.data.fetch`).

    The release lands in the Keras cache, where every later run looks, so `--data-dir` stays as given.
    """
    from zoo.data import fetch, source_of

    if getattr(args, "download", False):
        for name in sorted({t.dataset for t in tasks if source_of(t.dataset) is not None}):
            fetch(name, args.data_dir)


def cmd_list(args: argparse.Namespace) -> int:
    from zoo.tasks import get_task, list_tasks

    rows = [get_task(n) for n in list_tasks(args.industry)]
    width = max((len(t.name) for t in rows), default=4)
    print(f"{'task':<{width}}  {'modality':<14} {'backbone':<12} {'dataset'}")
    for t in rows:
        print(f"{t.name:<{width}}  {t.modality:<14} {t.backbone.name:<12} {t.dataset}")
    return 0


def model_card(task) -> str:
    """The model card of a task as plain text (what `zoo info` prints)."""
    wrap = lambda s: textwrap.fill(s, 96, initial_indent="  ", subsequent_indent="  ")  # noqa: E731
    from zoo.data import source_of

    source = source_of(task.dataset)
    data_lines = [] if source is None else [
        f"Data source: {source.citation}" if source.citation else "",
        f"  official download: {source.url}" if source.url else "",
        "  redistributable: " + ("yes" if source.redistributable else "no (the zoo never ships it; use your copy)")]
    lines = [task.name, "=" * len(task.name), wrap(task.description), "",
             f"Industry: {task.industry}    Modality: {task.modality}    Dataset: {task.dataset}",
             *[line for line in data_lines if line],
             f"License: {task.license or 'see the dataset SOURCE'}", "",
             "Model:", f"  backbone {task.backbone.describe()}",
             f"  head {task.head.kind}, loss {task.loss}, trained {'frozen-base' if task.training.freeze else 'end to end'}",
             f"  training: {task.training.epochs} epochs max, batch {task.training.batch_size}, "
             f"lr {task.training.learning_rate}"
             + (f", an ensemble of {task.training.ensemble} models (outputs averaged)" if task.training.ensemble > 1 else ""),
             "",
             f"Metrics: {task.primary_metric} on the test split (primary); logged while training: "
             f"{', '.join(task.metrics)}", "", "Published baselines:" + ("" if task.baselines else " none (your data)")]
    for b in task.baselines:
        better = "higher" if b.higher_is_better else "lower"
        lines.append(f"  {b.metric} {b.value} ({better} is better) - {b.model}; {b.citation}")
        if b.note:
            lines.append(f"    note: {b.note}")
    lines += ["", "Intended use:", wrap(task.intended_use or "-"), "", "Known limitations:", wrap(task.limitations or "-")]
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    from zoo.tasks import get_task

    task = get_task(args.task)
    print(task.to_json() if args.json else model_card(task))
    return 0


def json_flag(value: str) -> Any:
    """A flag's JSON value, or argparse's error saying where the JSON breaks (not "invalid loads value").

    Example:
    >>> json_flag('{"units": 32}')
    {'units': 32}
    """
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not JSON ({error.msg}, character {error.pos}); e.g. "
                                         '\'{"units": 32}\', keys and strings in double quotes') from None


def class_weight_flag(value: str) -> str | list | dict:
    """`--class-weight`: "balanced", or a JSON list or object of weights (checked against the data's classes later).

    Example:
    >>> class_weight_flag("balanced"), class_weight_flag('{"fraud": 10}')
    ('balanced', {'fraud': 10})
    """
    if value == "balanced":
        return value
    try:
        weights = json.loads(value)
    except json.JSONDecodeError:
        weights = None
    if not isinstance(weights, list | dict):
        raise argparse.ArgumentTypeError(f"expected 'balanced' or JSON weights such as '{{\"fraud\": 10}}' or '[1, 5]', "
                                         f"got {value!r}")
    return weights


def print_report(report: dict) -> None:
    """A short human summary of a report."""
    test = report["test"]
    keys = [k for k in ("accuracy", "macro_f1", "roc_auc", "pr_auc", "average_cost", "rmse", "mae", "phm08_score")
            if k in test]
    positive = f" (positive class: {test['positive_class']})" if "positive_class" in test else ""
    print("test: " + ", ".join(f"{k} {test[k]:.4f}" for k in keys) + positive)
    for b in report.get("baselines", []):
        verdict = "meets/beats" if b["beaten"] else "falls short of"
        print(f"  {b['metric']} {b['ours']:.4f} {verdict} {b['value']} ({b['model']}, {b['citation']})")


def cmd_train(args: argparse.Namespace) -> int:
    import zoo

    task = resolve_task(args)
    download_data([task], args)
    run = zoo.fit(task, **run_kwargs(args), run_dir=args.run_dir, backup_every=args.backup_every)
    print_report(run.report)
    print(f"run directory: {run.run_dir}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import zoo

    predictions = zoo.predict(args.run_dir, args.data, every_window=args.every_window)
    if args.out:
        predictions.to_csv(args.out, index_label=[name or "row" for name in predictions.index.names])
        print(f"{len(predictions)} predictions written to {args.out}")
    else:
        print(predictions.to_string())
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import zoo

    print_report(zoo.evaluate(args.run_dir, data_dir=args.data_dir))
    return 0
