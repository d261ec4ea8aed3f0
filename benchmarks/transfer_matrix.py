"""Domain pretraining + transfer vs training from scratch, per backbone family (`zoo.transfer`).

For each family, every source corpus is pretrained once (self-supervised, no labels) and each
target task is trained three ways on the same splits, labelled subsets and seeds: from scratch
(same architecture, fresh weights), frozen pretrained base + head, and that model fine-tuned by
gradual unfreezing (top third, two thirds, all) at a tenth of the learning rate. Prints the score tables (mean and std over seeds, gain
paired by seed, positive = transfer better) and seconds per epoch of head-only training vs full
training, for BENCHMARKS.md.

    python -m benchmarks.transfer_matrix [--quick] [--families timeseries,timeseries_cnn,image,text,tabular]
        [--seeds 3] [--fractions 0.01,0.1,1.0] [--out runs/benchmarks/transfer_matrix] [--pairs SRC:TGT,...]

Presets are kept in `<out>/<family>/presets/` and reused by the next run (delete to re-pretrain).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from benchmarks.common import header, parse_args, print_table
from zoo.transfer import MATRICES, TrainSettings, matrix_table, transfer_matrix

# Small sizes that keep each family within minutes on two shared CPU cores.
SETTINGS = {  # fine_tune_epochs: per unfreezing stage (up to 3 stages)
    "timeseries": TrainSettings(epochs=15, patience=4, fine_tune=True, fine_tune_epochs=10),
    # The DCNN learns slowly at its paper's batch of 512 (the task's best epochs: 73-150 of 150).
    "timeseries_cnn": TrainSettings(epochs=60, patience=10, fine_tune=True, fine_tune_epochs=10),
    "image": TrainSettings(epochs=30, patience=8, fine_tune=True, fine_tune_epochs=10),
    "text": TrainSettings(epochs=12, patience=3, fine_tune=True, fine_tune_epochs=4),
    "tabular": TrainSettings(epochs=40, patience=8, fine_tune=True, fine_tune_epochs=10),
}
PRETRAIN_EPOCHS = {"timeseries": 10, "timeseries_cnn": 10, "image": 15, "text": 10, "tabular": 50}
QUICK = TrainSettings(epochs=2, patience=0, min_steps=1, head_min_steps=1, fine_tune=True, fine_tune_epochs=1)


def timing_rows(family: str, result: dict) -> list[list]:
    """Seconds at the largest label fraction: frozen head (on cached features) vs full training."""
    rows = []
    for cell in result["cells"]:
        top = max(r["label_fraction"] for r in cell["summary"])
        arms = {r["arm"]: r for r in cell["summary"] if r["label_fraction"] == top}
        frozen, scratch = arms["transfer"], arms["scratch"]
        full = arms.get("fine-tuned", scratch)
        rows.append([family, f"{cell['source']} -> {cell['target']}", f"{100 * top:g}%", frozen["seconds_per_epoch"],
                     full["seconds_per_epoch"], scratch["seconds_per_epoch"],
                     full["seconds_per_epoch"] / frozen["seconds_per_epoch"], frozen["train_seconds"],
                     scratch["train_seconds"]])
    return rows


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv,
                      families=(str, ",".join(SETTINGS), "comma-separated families"),
                      seeds=(int, 3, "seeds per cell"), fractions=(str, "0.01,0.1,1.0", "label fractions"),
                      out=(str, "runs/benchmarks/transfer_matrix", "presets and reports"),
                      pairs=(str, "", "only these cells, e.g. 'phrasebank:pubmedqa,pubmedqa:pubmedqa' (one family)"))
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    fractions = [float(f) for f in args.fractions.split(",")]
    header("Pretrained + transferred vs from scratch, by label budget", args.quick)
    timing = []
    for family in families:
        spec = MATRICES[family]
        if args.pairs:
            pairs = [tuple(p.split(":")) for p in args.pairs.split(",")]
            spec = dataclasses.replace(spec, pairs=pairs, sources={s: spec.sources[s] for s, _ in pairs},
                                       targets={t: spec.targets[t] for _, t in pairs})
        if args.quick:  # one source, one target, tiny budgets: the same code path in seconds
            source, target = (spec.pairs or [(next(iter(spec.sources)), next(iter(spec.targets)))])[0]
            spec = dataclasses.replace(spec, sources={source: spec.sources[source]},
                                       targets={target: spec.targets[target]}, pairs=[(source, target)])
        started = time.perf_counter()
        result = transfer_matrix(family, Path(args.out) / family, spec=spec, label_fractions=fractions,
                                 seeds=1 if args.quick else args.seeds,
                                 settings=QUICK if args.quick else SETTINGS[family],
                                 pretrain_epochs=1 if args.quick else PRETRAIN_EPOCHS[family])
        print(f"### {family} ({time.perf_counter() - started:.0f} s)\n")
        for cell in result["cells"]:
            p = cell["pretrain"]
            print(f"- {cell['source']}: {p['objective']} on {p['corpus']} ({p['num_examples']} examples, "
                  f"{p['epochs']} epochs, final loss {p['final_loss']}, {p['seconds']} s)")
        print()
        print(matrix_table(result), "\n", flush=True)
        timing += timing_rows(family, result)
    print("### Seconds per epoch: frozen-base head training vs full training\n")
    print_table(["family", "cell", "labels", "frozen s/epoch (cached head)", "fine-tune s/epoch", "scratch s/epoch",
                 "full / frozen per epoch (target >= 5)", "frozen s in all (incl. feature pass)", "scratch s in all"],
                timing)


if __name__ == "__main__":
    main()
