"""The shared harness on real TensorFlow: run directories, reload, evaluation, validation."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from builders import get_backbone
from zoo.data.types import Dataset, Split
from zoo.errors import ChecksumError, ConfigError, DataNotFoundError, DataValidationError, UnknownNameError
from zoo.harness.fit import load_run_config, prepare_data, run
from zoo.harness.pipeline import predict

TINY_TABULAR = {"hidden_units": [8]}


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return zoo.fit("medical/breast_cancer_diagnosis", out_dir=out, epochs=2, verbose=0)


def test_run_directory_has_the_fixed_files_and_a_useful_report(tabular_run):
    files = {p.name for p in tabular_run.run_dir.iterdir()}
    assert {"config.json", "model.keras", "history.json", "report.json"} <= files
    report = json.loads((tabular_run.run_dir / "report.json").read_text())
    test = report["test"]
    assert set(test["per_class"]) == {"malignant", "benign"}
    cm = np.array(test["confusion_matrix"]["matrix"])
    assert cm.sum() == test["num_examples"] == 114
    assert 0.5 < test["roc_auc"] <= 1 and 0 < test["pr_auc"] <= 1
    assert report["baselines"][0]["citation"]
    assert (report["strategy"], report["strategy_used"], report["deterministic"]) == ("auto", "DefaultDistributionStrategy",
                                                                                     True)  # what ran, not only "auto"
    config = json.loads((tabular_run.run_dir / "config.json").read_text())
    assert config["versions"]["keras"] == keras.__version__
    assert config["data"]["sha256"]
    history = json.loads((tabular_run.run_dir / "history.json").read_text())
    assert len(history["loss"]) == 2 and "val_loss" in history


def test_saved_model_reloads_in_safe_mode_with_identical_predictions(tabular_run):
    loaded = keras.models.load_model(tabular_run.run_dir / "model.keras", safe_mode=True)
    data = zoo.data.load_dataset("breast_cancer")
    np.testing.assert_allclose(loaded.predict(data.test.x, verbose=0), tabular_run.model.predict(data.test.x, verbose=0))


def test_evaluate_reproduces_the_report(tabular_run):
    again = zoo.evaluate(tabular_run.run_dir)
    assert again["test"]["confusion_matrix"] == tabular_run.report["test"]["confusion_matrix"]
    assert again["test"]["roc_auc"] == pytest.approx(tabular_run.report["test"]["roc_auc"], abs=1e-6)


def test_config_json_rebuilds_the_run_exactly(tabular_run, tmp_path):
    config = load_run_config(tabular_run.run_dir)
    rerun = run(config, out_dir=tmp_path, verbose=0)
    assert rerun.report["test"]["accuracy"] == tabular_run.report["test"]["accuracy"]
    assert rerun.history["loss"] == pytest.approx(tabular_run.history["loss"], rel=1e-6)


def test_overrides_reach_the_model(tmp_path):
    task = zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params=TINY_TABULAR)
    r = zoo.fit(task, out_dir=tmp_path, epochs=1, batch_size=64, max_train_examples=100, verbose=0)
    assert r.report["train_examples"] == 100
    assert get_backbone(r.model).get_layer("dense_0").units == 8


def test_cosine_schedule_decays_to_zero_over_the_epochs_and_reloads(tmp_path):
    """100 examples at batch 50, 2 epochs: the cosine decay spans the 4 steps, so it ends at 0; the saved model
    reloads in safe mode with its schedule; an unknown schedule is refused with the known ones."""
    task = zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params=TINY_TABULAR)
    r = zoo.fit(task, out_dir=tmp_path, epochs=2, batch_size=50, max_train_examples=100, learning_rate=0.01,
                learning_rate_schedule="cosine", patience=0, verbose=0)
    schedule = r.model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay) and schedule.decay_steps == 4
    assert int(r.model.optimizer.iterations) == 4 and float(r.model.optimizer.learning_rate) == pytest.approx(0.0)
    loaded = keras.models.load_model(r.run_dir / "model.keras", safe_mode=True)
    assert isinstance(loaded.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    with pytest.raises(ConfigError, match="constant, cosine, step"):
        zoo.fit(task, out_dir=tmp_path, epochs=1, max_train_examples=100, learning_rate_schedule="linear", verbose=0)


def test_step_schedule_divides_by_ten_at_half_and_three_quarters_and_reloads(tmp_path):
    """100 examples at batch 50, 4 epochs = 8 steps: x0.1 from the 5th step (index 4) and again from the 7th."""
    task = zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params=TINY_TABULAR)
    r = zoo.fit(task, out_dir=tmp_path, epochs=4, batch_size=50, max_train_examples=100, learning_rate=0.01,
                learning_rate_schedule="step", patience=0, verbose=0)
    schedule = r.model.optimizer._learning_rate
    assert [round(float(schedule(step)), 6) for step in (3, 4, 5, 6)] == [0.01, 0.001, 0.001, 0.0001]
    assert float(r.model.optimizer.learning_rate) == pytest.approx(1e-4)
    loaded = keras.models.load_model(r.run_dir / "model.keras", safe_mode=True)
    assert isinstance(loaded.optimizer._learning_rate, keras.optimizers.schedules.PiecewiseConstantDecay)


def test_weight_decay_trains_with_adamw_and_reloads(tmp_path):
    task = zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params=TINY_TABULAR)
    r = zoo.fit(task, out_dir=tmp_path, epochs=1, max_train_examples=100, weight_decay=0.05, patience=0, verbose=0)
    assert isinstance(r.model.optimizer, keras.optimizers.AdamW) and r.model.optimizer.weight_decay == 0.05
    loaded = keras.models.load_model(r.run_dir / "model.keras", safe_mode=True)
    assert isinstance(loaded.optimizer, keras.optimizers.AdamW) and loaded.optimizer.weight_decay == 0.05
    with pytest.raises(ConfigError, match="weight_decay must be a finite number >= 0"):
        zoo.fit(task, out_dir=tmp_path, epochs=1, max_train_examples=100, weight_decay=-1.0, verbose=0)


def test_mixed_float16_scales_the_loss_and_reloads(tmp_path):
    """Keras wraps the optimizer in a LossScaleOptimizer only when the outer model's policy is mixed_float16; the
    zoo's models keep float32 outer layers, so under --precision mixed_float16 float16 gradients were unscaled."""
    task = zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params=TINY_TABULAR)
    r = zoo.fit(task, out_dir=tmp_path, epochs=2, max_train_examples=100, precision="mixed_float16", verbose=0)
    assert isinstance(r.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert get_backbone(r.model).compute_dtype == "float16" and np.isfinite(r.history["loss"]).all()
    loaded = keras.models.load_model(r.run_dir / "model.keras", safe_mode=True)
    assert isinstance(loaded.optimizer, keras.optimizers.LossScaleOptimizer)
    x = zoo.data.load_dataset("breast_cancer").test.x
    np.testing.assert_allclose(loaded.predict(x, verbose=0), r.model.predict(x, verbose=0), atol=1e-6)


def test_explicit_class_weights_are_checked_and_may_name_the_classes(tmp_path):
    from zoo.harness.fit import class_weights

    y, names = np.array([0, 1, 1, 1]), ["fraud", "legit"]
    assert class_weights(y, {"fraud": 10}, names) == {0: 10.0, 1: 1.0}  # by name; before: "expected numbers"
    assert class_weights(y, {"1": 3}, names) == {0: 1.0, 1: 3.0}  # a JSON key spells the id
    cases = [([1.0], "1 weight\\(s\\) for 2 classes \\(0 = 'fraud', 1 = 'legit'\\)"),  # before: a GatherV2 error
             ([1.0, 2.0, 3.0], "3 weight"), ({0: 1.0, 5: 3.0}, "names class 5, which the data does not have"),
             ([-1.0, 1.0], "finite numbers >= 0"), ([0.0, 0.0], "not all 0"),
             ([float("nan"), 1.0], "finite"), ({"Fraud": 2}, "class 'Fraud'")]  # before: accepted, or NaN at the end
    for weights, message in cases:
        with pytest.raises(ConfigError, match=message):
            class_weights(y, weights, names)
    task = zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params=TINY_TABULAR)
    with pytest.raises(ConfigError, match="class_weight has 1 weight"):
        zoo.fit(task, out_dir=tmp_path, epochs=1, class_weight=[1.0], verbose=0)
    assert not list(tmp_path.iterdir())  # refused before a run directory is made


def test_class_weights_balanced_recorded(tmp_path):
    r = zoo.fit("medical/breast_cancer_diagnosis", out_dir=tmp_path, epochs=1, class_weight="balanced", verbose=0)
    weights = r.report["class_weight"]
    assert weights["0"] > weights["1"] if isinstance(next(iter(weights)), str) else weights[0] > weights[1]


def _dataset(x, y):
    s = Split(x, y)
    return Dataset(s, s, s, meta={"num_classes": 2, "class_names": ["a", "b"], "numeric_names": ["f0", "f1"]})


def test_bad_input_gives_clear_errors(tmp_path):
    task = zoo.get_task("medical/breast_cancer_diagnosis")
    x = {"numeric": np.array([[0.0, 1.0], [np.inf, 2.0], [1.0, 1.0]], "float32")}
    with pytest.raises(DataValidationError, match=r"input 'numeric'.*inf at row index 1"):
        zoo.fit(task, data=_dataset(x, np.array([0, 1, 0])), out_dir=tmp_path, verbose=0)
    x = {"numeric": np.ones((3, 2), "float32")}
    with pytest.raises(DataValidationError, match=r"label"):
        zoo.fit(task, data=_dataset(x, np.array([0, 1, 7])), out_dir=tmp_path, verbose=0)
    with pytest.raises(DataValidationError, match=r"one class|single class|only class|2 classes|two classes"):
        zoo.fit(task, data=_dataset(x, np.array([1, 1, 1])), out_dir=tmp_path, verbose=0)
    wrong = Dataset(Split({"numeric": np.ones((3, 2))}, np.array([0, 1, 0])),
                    Split({"numeric": np.ones((3, 5))}, np.array([0, 1, 0])),
                    Split({"numeric": np.ones((3, 2))}, np.array([0, 1, 0])), meta={"num_classes": 2})
    with pytest.raises(DataValidationError, match=r"shapes"):
        zoo.fit(task, data=wrong, out_dir=tmp_path, verbose=0)
    images = Dataset(Split(np.ones((3, 28, 28, 1)), np.array([0, 1, 0])), Split(np.ones((3, 32, 32, 3)), np.array([0, 1, 0])),
                     Split(np.ones((3, 28, 28, 1)), np.array([0, 1, 0])), meta={"num_classes": 2})
    with pytest.raises(DataValidationError, match=r"\(32, 32, 3\)"):
        zoo.fit("medical/breastmnist", data=images, out_dir=tmp_path, verbose=0)


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="medical/breastmnist"):
        zoo.get_task("medical/nope")


def test_missing_data_says_where_it_looked(tmp_path, no_local_data):
    with pytest.raises(DataNotFoundError, match=r"(?s)breastmnist.*Looked in.*--data-dir"):
        zoo.fit("medical/breastmnist", data_dir=str(tmp_path), out_dir=tmp_path, verbose=0)


@pytest.mark.parametrize("feature_cache", [False, True])
def test_best_checkpoint_is_the_full_model_at_the_best_validation_epoch(tmp_path, feature_cache):
    task = zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(
        monitor="val_loss", patience=5, epochs=4, freeze=feature_cache)
    r = zoo.fit(task, out_dir=tmp_path, feature_cache=feature_cache, verbose=0)
    assert r.report["feature_cache"].startswith("on") == feature_cache
    best = keras.saving.load_model(r.run_dir / "checkpoints" / "best.keras", safe_mode=True)
    assert best.count_params() == r.model.count_params()  # the whole model, not the cached head alone
    data = prepare_data(task, load_run_config(r.run_dir))
    val_loss = best.evaluate(data.val.x, data.val.y, verbose=0, batch_size=len(data.val), return_dict=True)["loss"]
    assert val_loss == pytest.approx(min(r.history["val_loss"]), rel=1e-4)


def test_predict_traces_each_model_once_and_returns_every_row_in_order():
    """70 rows in batches of 32: the last batch is padded to 32 (one predict trace, not two) and the
    padding rows are dropped; outputs equal the model's own, row for row, for array and dict inputs."""
    x = np.random.default_rng(0).normal(size=(70, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    out = predict(model, x, batch_size=32)
    assert model.predict_function.experimental_get_tracing_count() == 1
    np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-6)
    inputs = {"a": keras.Input((1,), name="a"), "b": keras.Input((2,), name="b")}
    both = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()([inputs["a"], inputs["b"]])))
    split = {"a": x[:, :1], "b": x[:, 1:]}
    np.testing.assert_allclose(predict(both, split, batch_size=32), both(split).numpy(), rtol=1e-6)
    assert predict(model, x[:5], batch_size=32).shape == (5, 2)  # fewer rows than a batch: one batch of 5


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": "1"}, r"epochs must be an integer >= 1, got '1' \(str\)"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0"),
    ({"max_train_examples": 0}, "max_train_examples must be an integer >= 1 or None, got 0"),
    ({"backup_every": -5}, "backup_every must be a finite number >= 0"),
    ({"seed": -1}, "seed must be an integer >= 0"),
])
def test_bad_run_settings_are_refused_before_a_run_directory_is_made(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        zoo.fit("medical/breast_cancer_diagnosis", out_dir=tmp_path, verbose=0, **kwargs)
    assert not any(tmp_path.iterdir())


def test_a_model_that_fails_to_build_leaves_no_run_directory_but_an_existing_one_stays(tmp_path):
    with pytest.raises(ConfigError, match="hidden_units must be a list of integers >= 1"):
        zoo.fit("medical/breast_cancer_diagnosis", out_dir=tmp_path, verbose=0, backbone_params={"hidden_units": [0]})
    assert not any(tmp_path.iterdir())  # before: a directory with only config.json, and the next run got "-2"
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(ConfigError, match="hidden_units must be a list of integers >= 1"):
        zoo.fit("medical/breast_cancer_diagnosis", run_dir=mine, verbose=0, backbone_params={"hidden_units": [0]})
    assert (mine / "config.json").is_file()  # a directory the user named is theirs: kept


def test_the_report_records_the_head_as_built_from_the_data(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90), "y": np.arange(90) % 3})
    run = zoo.fit("tabular/classification", data=zoo.data.load_dataset("csv_tabular", path=frame, target="y"),
                  out_dir=tmp_path, epochs=1, verbose=0, backbone_params=TINY_TABULAR)
    config_head = json.loads((run.run_dir / "config.json").read_text())["task"]["head"]
    built = json.loads((run.run_dir / "report.json").read_text())["head"]
    # config.json keeps the recipe (num_outputs 2, the task's placeholder); the report, the 3 outputs the model has
    assert config_head["num_outputs"] == 2 and built["num_outputs"] == 3 == run.model.output_shape[-1]


def test_evaluate_without_a_run_directory_is_a_config_error():
    with pytest.raises(ConfigError, match="run_dir must be a run directory's path"):
        zoo.evaluate(None)


def _write_csv(path, rows):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 2))
    lines = [f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in x]
    path.write_text("a,b,label\n" + "\n".join(lines) + "\n")


def test_relative_data_path_is_stored_absolute_and_evaluate_refuses_changed_data(tmp_path, monkeypatch):
    """A run on `--data table.csv` from its folder evaluates from anywhere; after rows are appended to the file,
    evaluate names the file and both hashes instead of re-splitting; data passed explicitly is evaluated as given."""
    work = tmp_path / "work"
    work.mkdir()
    _write_csv(work / "table.csv", 160)
    task = zoo.get_task("tabular/classification").with_overrides(backbone_params=TINY_TABULAR)
    task.data_options.update(path="table.csv", target="label")
    monkeypatch.chdir(work)
    r = zoo.fit(task, out_dir=tmp_path / "runs", epochs=1, verbose=0)
    saved = json.loads((r.run_dir / "config.json").read_text())
    assert saved["task"]["data_options"]["path"] == str(work / "table.csv")
    monkeypatch.chdir(tmp_path)
    assert zoo.evaluate(r.run_dir)["test"]["accuracy"] == r.report["test"]["accuracy"]
    recorded = saved["data"]["sha256"]["table.csv"]
    _write_csv(work / "table.csv", 200)
    with pytest.raises(ChecksumError, match=rf"table.csv: sha256 [0-9a-f]{{64}} now, but {recorded} when"):
        zoo.evaluate(r.run_dir)
    data = zoo.data.load_dataset("csv_tabular", path=work / "table.csv", target="label")
    assert zoo.evaluate(r.run_dir, data=data)["test"]["num_examples"] == len(data.test)


def test_a_run_directory_of_another_config_is_refused_and_the_same_config_reruns(tmp_path):
    kwargs = dict(run_dir=tmp_path / "run", epochs=1, max_train_examples=64, backbone_params=TINY_TABULAR, verbose=0)
    first = zoo.fit("medical/breast_cancer_diagnosis", **kwargs)
    before = (first.run_dir / "config.json").read_text()
    with pytest.raises(ConfigError, match=r"holds a run of another configuration \(task.training.epochs: 1 -> 2\)"):
        zoo.fit("medical/breast_cancer_diagnosis", **{**kwargs, "epochs": 2})
    with pytest.raises(ConfigError, match="task medical/breast_cancer_diagnosis, not finance/credit_risk"):
        zoo.fit("finance/credit_risk", **{**kwargs, "data": zoo.data.load_dataset("breast_cancer")})
    assert (first.run_dir / "config.json").read_text() == before
    # The same run again: the trained model is evaluated, not trained anew (nor overwritten by another).
    model_file = (first.run_dir / "model.keras").read_bytes()
    again = zoo.fit("medical/breast_cancer_diagnosis", **{**kwargs, "backup_every": 0.0})
    assert again.report["test"] == first.report["test"] and again.history == first.history
    assert again.report["train_seconds"] == first.report["train_seconds"]  # its training time, not ~0
    # Killed after training, before its report: the rerun evaluates the trained model (it trained again).
    (first.run_dir / "report.json").unlink()
    (first.run_dir / "model.keras").write_bytes(model_file)
    resumed = zoo.fit("medical/breast_cancer_diagnosis", **kwargs)
    assert resumed.report["test"] == first.report["test"] and (first.run_dir / "report.json").is_file()


def test_a_run_given_its_data_in_python_is_evaluated_only_on_that_data(tmp_path):
    """evaluate reloads the task's data only when it is what the run was trained on (the splits' fingerprint)."""
    full = zoo.data.load_dataset("breast_cancer")
    same = zoo.fit("medical/breast_cancer_diagnosis", data=full, out_dir=tmp_path, epochs=1, verbose=0)
    assert zoo.evaluate(same.run_dir)["test"]["accuracy"] == same.report["test"]["accuracy"]
    half = full.subset(0.5)
    other = zoo.fit("medical/breast_cancer_diagnosis", data=half, out_dir=tmp_path, epochs=1, verbose=0, seed=1)
    with pytest.raises(ChecksumError, match=r"not the data the run was trained on.*pass the same Dataset again"):
        zoo.evaluate(other.run_dir)
    assert zoo.evaluate(other.run_dir, data=half)["test"]["accuracy"] == other.report["test"]["accuracy"]
    frame = pd.DataFrame(full.train.x["numeric"][:, :3], columns=["a", "b", "c"]).assign(y=full.train.y)
    own = zoo.fit("tabular/classification", data=zoo.data.load_dataset("csv_tabular", path=frame, target="y"),
                  out_dir=tmp_path, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match=r"cannot be reloaded from the run's files alone .*pass the same Dataset "
                                          r"again as data=\. The command line cannot pass a Dataset") as error:
        zoo.evaluate(own.run_dir)
    assert "--data PATH" not in str(error.value)  # before: zoo train's flags, which zoo evaluate does not have



def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path):
    """Run directories are named by the second; a second run in that second gets `-2` instead of colliding."""
    from zoo.harness.fit import _new_run_dir

    task = zoo.get_task("medical/breast_cancer_diagnosis")
    first = _new_run_dir(tmp_path, task, 0, chief=True)
    first.mkdir()
    second = _new_run_dir(tmp_path, task, 0, chief=True)
    assert second != first and not second.exists()  # `-2`, or the next second's name


def test_tensorboard_logs_are_written(tmp_path):
    """--tensorboard failed at the first epoch's end: the tensorboard package was not installed with the zoo."""
    run = zoo.fit("medical/breast_cancer_diagnosis", out_dir=tmp_path, epochs=1, tensorboard=True, verbose=0)
    assert list((run.run_dir / "logs").rglob("events.out.tfevents.*"))


def test_run_settings_that_would_silently_do_something_else_are_refused():
    from zoo.harness.fit import RunConfig

    task = zoo.get_task("medical/breast_cancer_diagnosis").to_dict()
    with pytest.raises(ConfigError, match="precision is 'float16'; expected one of None, float32"):
        RunConfig(task, precision="float16")  # overflowed in training, accuracy 0.38
    with pytest.raises(ConfigError, match="does not run under op determinism.*--no-deterministic"):
        RunConfig(task, jit_compile=True)  # Keras compiled without XLA while the run said XLA
    assert RunConfig(task, jit_compile=True, deterministic=False).jit_compile is True
    with pytest.raises(ConfigError, match="fine_tune_epochs=2 follows a frozen-base phase"):
        zoo.get_task("medical/breast_cancer_diagnosis").with_overrides(fine_tune_epochs=2)
