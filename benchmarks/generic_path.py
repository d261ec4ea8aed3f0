"""The bring-your-own-data path on datasets the catalogue does not include, against scikit-learn.

scikit-learn's bundled wine (178 rows, 3 classes), diabetes (442 rows, regression) and digits (1,797
8x8 images, 10 classes) are written to files as a user would have them (CSV, NPZ) and trained with
the generic tasks exactly as `zoo train tabular/classification --data wine.csv --target cultivar`
does. On the same seeded split, scikit-learn's plain models are fitted on train + validation (the
zoo uses validation only for early stopping) and scored on the same test rows.

    python -m benchmarks.generic_path [--quick] [--seeds 3]
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import zoo
from benchmarks.common import header, parse_args, print_table
from zoo.data import load_dataset
from zoo.report.metrics import classification_metrics, regression_metrics


def write_files(folder: Path) -> dict[str, tuple[str, dict]]:
    """The three datasets as files, and each one's task and loader options."""
    wine = datasets.load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine.to_csv(folder / "wine.csv", index=False)
    diabetes = datasets.load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    diabetes.to_csv(folder / "diabetes.csv", index=False)
    digits = datasets.load_digits()
    np.savez(folder / "digits.npz", x=(digits.images * (255 / 16)).astype("uint8"), y=digits.target)
    return {
        "wine (CSV)": ("tabular/classification", {"path": str(folder / "wine.csv"), "target": "cultivar"}),
        "diabetes (CSV)": ("tabular/regression", {"path": str(folder / "diabetes.csv"), "target": "progression"}),
        "digits 8x8 (NPZ)": ("image/classification", {"path": str(folder / "digits.npz")}),
    }


def flat(x) -> np.ndarray:
    """Inputs as one 2-D array for scikit-learn (numeric columns, or flattened pixels)."""
    if isinstance(x, dict):
        return np.concatenate([np.asarray(v, dtype="float64").reshape(len(v), -1) for v in x.values()], axis=1)
    return np.asarray(x, dtype="float64").reshape(len(x), -1)


def reference_scores(data, regression: bool, seed: int) -> dict[str, float]:
    """scikit-learn's linear model and random forest on train + val, scored on test."""
    x = np.concatenate([flat(data.train.x), flat(data.val.x)])
    y = np.concatenate([data.train.y, data.val.y])
    test_x = flat(data.test.x)
    if regression:
        models = {"ridge": make_pipeline(StandardScaler(), RidgeCV()),
                  "random forest": RandomForestRegressor(300, random_state=seed)}
        return {k: regression_metrics(data.test.y, m.fit(x, y).predict(test_x))["rmse"] for k, m in models.items()}
    names = [str(c) for c in range(int(y.max()) + 1)]
    models = {"logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
              "random forest": RandomForestClassifier(300, random_state=seed)}
    return {k: classification_metrics(data.test.y, m.fit(x, y).predict_proba(test_x), names)["macro_f1"]
            for k, m in models.items()}


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv, seeds=(int, 3, "seeds per dataset"))
    header("Bring-your-own-data path vs scikit-learn on the same split", args.quick)
    seeds = range(1 if args.quick else args.seeds)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (task_name, options) in write_files(Path(folder)).items():
            task = zoo.get_task(task_name)
            task = task.with_overrides(epochs=3) if args.quick else task
            task.data_options.update(options)
            regression = task.primary_metric == "rmse"
            scores: dict[str, list[float]] = {}
            for seed in seeds:
                run = zoo.fit(task, seed=seed, out_dir=Path(folder) / "runs", verbose=0)
                scores.setdefault("zoo", []).append(run.report["test"][task.primary_metric])
                data = load_dataset(task.dataset, seed=seed, **task.data_options)
                for k, v in reference_scores(data, regression, seed).items():
                    scores.setdefault(k, []).append(v)

            def fmt(values: list[float]) -> str:
                spread = statistics.pstdev(values) if len(values) > 1 else 0.0
                return f"{statistics.mean(values):.3f} ± {spread:.3f}"

            others = [k for k in scores if k != "zoo"]
            rows.append([name, task_name, task.primary_metric, fmt(scores["zoo"]),
                         *(f"{k}: {fmt(scores[k])}" for k in others)])
    print_table(["data", "zoo task", "metric", "zoo (mean ± std)", "scikit-learn linear", "scikit-learn forest"],
                rows)
    print(f"Seeds: {list(seeds)}; test split = the zoo's seeded split (20% of rows; stratified for classes).")


if __name__ == "__main__":
    main()
