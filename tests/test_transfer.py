"""Transfer against scratch (zoo.transfer) end to end on tiny synthetic data, and the commands."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from builders import HeadConfig
from zoo.data.sources import sha256
from zoo.data.types import Dataset, Split
from zoo.errors import ConfigError, DataNotFoundError, UnknownNameError
from zoo.tasks.base import BackboneSpec, Task, TrainingConfig
from zoo.transfer import (
    MATRICES,
    Corpus,
    MatrixSpec,
    TrainSettings,
    TransferReport,
    label_subset,
    load_corpus,
    load_preset,
    pretrain,
    resolve_task,
    transfer,
    transfer_matrix,
)

ROOT = Path(__file__).resolve().parents[1]


def _squares(n, seed):
    """Binary images: the bright square sits in the top half (class 1) or the bottom half (class 0)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = np.zeros((n, 12, 12, 1), "float32")
    for i in range(n):
        r = rng.integers(0, 3) + (0 if y[i] else 6)
        c = rng.integers(0, 8)
        x[i, r : r + 4, c : c + 4] = 1.0
    return x, y


def _image_task():
    return Task("demo/squares", "demo", "image", "synthetic", "Where is the square?", BackboneSpec("cnn"),
                HeadConfig("binary"), "binary_crossentropy", ["accuracy"], "roc_auc",
                training=TrainingConfig(epochs=2, batch_size=16, learning_rate=1e-2, patience=0))


def test_transfer_end_to_end_against_scratch(tmp_path):
    corpus = tmp_path / "corpus.npy"
    np.save(corpus, _squares(32, seed=9)[0])
    result = pretrain(str(corpus), tmp_path / "preset", backbone="cnn", backbone_params={"filters": [4, 8]},
                      epochs=2, batch_size=16)
    assert result.card["objective"] == "contrastive" and result.card["num_examples"] == 32
    weights_before = sha256(result.preset_dir / "model.weights.h5")

    splits = [Split(*_squares(n, seed)) for n, seed in ((40, 0), (16, 1), (24, 2))]
    data = Dataset(*splits, meta={"num_classes": 2, "class_names": ["bottom", "top"]})
    report = transfer(result.preset_dir, _image_task(), data=data, label_fractions=[0.25], seeds=1,
                      settings=TrainSettings(min_steps=1, head_min_steps=1, fine_tune=True, fine_tune_epochs=1),
                      out_dir=tmp_path / "report")

    by_arm = {r["arm"]: r for r in report.rows}
    assert list(by_arm) == ["scratch", "transfer", "fine-tuned"]
    assert {r["labelled_examples"] for r in report.rows} == {10}
    assert by_arm["transfer"]["trainable_params"] == 8 + 1  # the head only: the base is frozen
    assert by_arm["transfer"]["feature_cache"]  # trained on the frozen base's features, computed once
    assert by_arm["fine-tuned"]["trainable_params"] > by_arm["transfer"]["trainable_params"]
    assert by_arm["fine-tuned"]["epochs"] == 3  # gradual unfreezing: a third, two thirds, all (1 epoch each)
    assert by_arm["scratch"]["trainable_params"] >= by_arm["fine-tuned"]["trainable_params"]
    assert all(0.0 <= r["score"] <= 1.0 and r["seconds_per_epoch"] > 0 for r in report.rows)
    assert sha256(result.preset_dir / "model.weights.h5") == weights_before  # fine-tuning never touches the preset
    saved = json.loads((tmp_path / "report" / "transfer.json").read_text())
    assert saved["task"] == "demo/squares" and len(saved["rows"]) == 3
    assert (tmp_path / "report" / "gain.png").read_bytes()[:4] == b"\x89PNG"
    assert "| 25% | 10 | transfer |" in (tmp_path / "report" / "transfer.md").read_text()


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_report_pairs_gains_by_seed(higher_is_better, tmp_path):
    scores = {("scratch", 0): 0.60, ("transfer", 0): 0.70, ("scratch", 1): 0.80, ("transfer", 1): 0.75}
    rows = [{"seed": seed, "label_fraction": 0.1, "labelled_examples": 5, "arm": arm, "score": score, "epochs": 4,
             "seconds_per_epoch": 0.5 if arm == "transfer" else 2.0} for (arm, seed), score in scores.items()]
    report = TransferReport("presets/p", "demo/x", "metric", higher_is_better, rows, {}, {})
    summary = {r["arm"]: r for r in report.summary()}
    sign = 1 if higher_is_better else -1
    assert summary["transfer"]["mean"] == pytest.approx(0.725)
    assert summary["transfer"]["std"] == pytest.approx(np.std([0.70, 0.75], ddof=1))
    assert summary["transfer"]["gain_mean"] == pytest.approx(sign * np.mean([0.10, -0.05]))
    assert summary["transfer"]["gain_std"] == pytest.approx(np.std([0.10, -0.05], ddof=1))
    assert summary["transfer"]["seconds_per_epoch"] == 0.5 and summary["scratch"]["gain_mean"] == 0.0
    assert report.scores() == {"scratch": {0.1: [0.60, 0.80]}, "transfer": {0.1: [0.70, 0.75]}}
    assert "| 10% | 5 | transfer | 0.7250 |" in report.table()
    one = TransferReport("presets/p", "demo/x", "metric", higher_is_better, [r for r in rows if r["seed"] == 0], {}, {})
    single = {r["arm"]: r for r in one.summary()}
    assert single["transfer"]["std"] is None and single["transfer"]["gain_std"] is None  # before: 0.0, "no spread"
    assert "| transfer | 0.7000 | (1 seed) |" in one.table() and "(1 seed) | 0.500 |" in one.table()
    report.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"transfer.json", "transfer.md", "gain.png"}


def test_report_shows_the_labelled_counts_of_every_seed():
    # FD001's label budgets are engines: each seed's engines give another number of windows.
    rows = [{"seed": seed, "label_fraction": 0.01, "labelled_examples": n, "arm": "scratch", "score": 20.0,
             "epochs": 4, "seconds_per_epoch": 1.0} for seed, n in ((0, 141), (1, 247), (2, 190))]
    report = TransferReport("presets/p", "demo/x", "rmse", False, rows, {}, {})
    assert report.summary()[0]["labelled_counts"] == [141, 190, 247]
    assert "| 1% | 141-247 | scratch |" in report.table()


def test_a_lower_is_better_metric_signs_the_gain(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6, 2)).astype("float32")
    y = x[:, :, 0].mean(axis=1) * 10
    data = Dataset(Split(x[:40], y[:40]), Split(x[40:50], y[40:50]), Split(x[50:], y[50:]))
    task = Task("demo/level", "demo", "timeseries", "synthetic", "Mean level.", BackboneSpec("rnn"),
                HeadConfig("regression"), "mse", [], "rmse", training=TrainingConfig(epochs=1, patience=0))
    np.save(tmp_path / "windows.npy", x)
    result = pretrain(str(tmp_path / "windows.npy"), tmp_path / "preset", backbone="rnn",
                      backbone_params={"units": 4, "num_layers": 1}, epochs=1)
    report = transfer(result.preset_dir, task, data=data, label_fractions=[1.0], seeds=1,
                      settings=TrainSettings(min_steps=1, head_min_steps=10))
    scratch, frozen = (r["score"] for r in report.rows)
    # the task's 1 epoch for scratch; the cached head at least 10 steps: 5 epochs of 2 batches (40 rows, batch 32)
    assert [r["epochs"] for r in report.rows] == [1, 5]
    assert not report.higher_is_better
    assert report.summary()[1]["gain_mean"] == pytest.approx(scratch - frozen)


def test_text_targets_use_the_source_vocabulary(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["profit rose in the quarter", "sales fell sharply", "the outlook is stable"] * 6))
    result = pretrain(str(corpus), tmp_path / "preset", backbone_params={"hidden_dim": 8, "num_layers": 1,
                                                                         "num_heads": 2, "intermediate_dim": 16},
                      sequence_length=8, vocab_size=60, epochs=1)
    preset = load_preset(result.preset_dir)
    assert preset.backbone.vocabulary_size == preset.tokenizer.vocabulary_size()
    texts = np.array(["profit rose", "sales fell", "zebra quokka", "outlook stable"] * 5, dtype=object)
    labels = np.arange(20) % 2
    data = Dataset(Split(texts, labels), Split(texts[:8], labels[:8]), Split(texts[:8], labels[:8]),
                   meta={"num_classes": 2, "class_names": ["a", "b"]})
    task = Task("demo/text", "demo", "text", "synthetic", "Text.", BackboneSpec("transformer"),
                HeadConfig("binary"), "binary_crossentropy", [], "accuracy",
                training=TrainingConfig(epochs=1, batch_size=8, patience=0))
    report = transfer(result.preset_dir, task, data=data, label_fractions=[1.0], seeds=1,
                      settings=TrainSettings(min_steps=1, head_min_steps=1))
    assert any("[UNK]" in note for note in report.notes)  # "zebra quokka" is not in the source vocabulary


def test_a_task_whose_backbone_has_no_objective_pretrains_the_modality_default(tmp_path):
    """A corpus task with a bag of words (nothing to pretrain) gets the default text Transformer, at the
    pretraining length, not the bag of words' 1,024 tokens."""
    texts = np.array(["profit rose in the quarter", "sales fell sharply", "the outlook is stable"] * 6, dtype=object)
    task = Task("demo/bow", "demo", "text", "synthetic", "Text.", BackboneSpec("bag_of_words"), HeadConfig("binary"),
                "binary_crossentropy", [], "accuracy", preprocessing={"sequence_length": 1024})
    corpus = Corpus("demo", "text", texts, {}, [], task)
    result = pretrain(corpus, tmp_path / "preset", backbone_params={"hidden_dim": 8, "num_layers": 1, "num_heads": 2,
                                                                    "intermediate_dim": 16},
                      sequence_length=8, vocab_size=60, epochs=1)
    backbone = load_preset(result.preset_dir).backbone
    assert type(backbone).__name__ == "TransformerBackbone" and backbone.sequence_length == 8


def test_label_subset_keeps_whole_engines_or_every_class():
    units = np.repeat(np.arange(1, 11), 5)  # 10 engines x 5 windows
    s = Split(np.zeros((50, 3, 2), "float32"), np.arange(50, dtype="float32"))
    data = Dataset(s, s, s, extra={"train_windows_unit": units})
    sub = label_subset(data, 0.2, seed=0, classification=False)
    kept = np.unique(sub.extra["train_windows_unit"])
    assert len(kept) == 2 and len(sub.train) == 10
    assert set(sub.train.y.astype(int)) == set(np.flatnonzero(np.isin(units, kept)))
    assert label_subset(data, 0.2, seed=1, classification=False).extra["train_windows_unit"].tolist() != \
        sub.extra["train_windows_unit"].tolist()

    y = np.array([0] * 95 + [1] * 5)
    c = Split({"numeric": np.arange(100.0).reshape(-1, 1)}, y)
    sub = label_subset(Dataset(c, c, c), 0.01, seed=0, classification=True)
    assert sorted(sub.train.y.tolist()) == [0, 1]  # 1% of 100, but never a class left out
    assert label_subset(Dataset(c, c, c), 1.0, seed=0, classification=True).train is c
    with pytest.raises(ConfigError, match="label fraction"):
        label_subset(Dataset(c, c, c), 0.0, seed=0, classification=True)


def test_corpus_errors_name_the_problem(tmp_path):
    with pytest.raises(UnknownNameError, match="Unknown corpus 'no_such_corpus'"):
        load_corpus("no_such_corpus")
    (tmp_path / "t.txt").write_text("some text\n")
    with pytest.raises(ConfigError, match="mixes modalities"):
        load_corpus(f"sklearn_digits+{tmp_path / 't.txt'}")
    np.save(tmp_path / "odd.npy", np.zeros((2, 2, 2, 2, 2)))
    with pytest.raises(ConfigError, match="array of shape"):
        load_corpus(str(tmp_path / "odd.npy"))


def test_trajectory_corpora_carry_window_ages_for_the_age_pretext(tmp_path):
    try:
        corpus = load_corpus("manufacturing/rul_fd001")
    except DataNotFoundError as error:
        pytest.skip(f"C-MAPSS FD001 is not on this machine: {str(error).splitlines()[0]}")
    assert corpus.ages.shape == (len(corpus),) and corpus.ages[:3].tolist() == [30.0, 31.0, 32.0]
    assert load_corpus("manufacturing/rul_fd001+manufacturing/rul_fd001").ages.shape == (2 * len(corpus),)
    first = int(np.argmin(np.diff(corpus.ages))) + 1  # where the second engine starts
    small = dataclasses.replace(corpus, x=corpus.x[: first + 64], ages=corpus.ages[: first + 64])
    result = pretrain(small, tmp_path / "preset", backbone="temporal_cnn",
                      backbone_params={"filters": [4, 4], "dense_units": 8}, epochs=1,
                      objective_options={"objective": "age"})
    assert result.card["objective"].startswith("window-age regression")
    assert result.card["objective_options"] == {"objective": "age"}
    assert load_preset(result.preset_dir).backbone.sequence_length == 30
    without = dataclasses.replace(small, ages=None)
    with pytest.raises(ConfigError, match="'age' objective needs each window's age"):
        pretrain(without, tmp_path / "other", backbone="temporal_cnn", epochs=1, objective_options={"objective": "age"})


def test_transfer_rejects_a_preset_of_another_shape(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((4, 8, 8, 1), "float32"))
    result = pretrain(str(tmp_path / "c.npy"), tmp_path / "preset", backbone_params={"filters": [4]}, epochs=1)
    data = Dataset(*(Split(*_squares(8, s)) for s in range(3)), meta={"num_classes": 2})
    with pytest.raises(ConfigError, match=r"example shape \(12, 12, 1\); the backbone expects \(8, 8, 1\)"):
        transfer(result.preset_dir, _image_task(), data=data, label_fractions=[1.0], seeds=1)


@pytest.mark.parametrize("family", sorted(MATRICES))
def test_every_matrix_names_a_registered_backbone_and_tasks_of_its_modality(family):
    from builders.registry import list_backbones

    spec = MATRICES[family]
    assert spec.backbone in list_backbones()
    targets = {label: resolve_task(name) for label, name in spec.targets.items()}
    assert len({t.modality for t in targets.values()}) == 1
    for source, target in spec.pairs or []:  # without pairs, every source meets every target
        assert source in spec.sources and target in spec.targets
    assert set(spec.target_training) <= set(spec.targets)


def test_matrix_pretrains_each_source_once_and_reuses_its_preset(tmp_path):
    spec = MatrixSpec(sources={"bc": "breast_cancer"}, targets={"bc": "medical/breast_cancer_diagnosis"},
                      backbone="tabular", backbone_params={"hidden_units": [8]},
                      target_training={"bc": {"epochs": 1}})  # the target task's own: 60, patience 10
    settings = TrainSettings(min_steps=1, head_min_steps=1)
    result = transfer_matrix("tabular", tmp_path, spec=spec, label_fractions=[0.1], seeds=1, settings=settings,
                             pretrain_epochs=1)
    assert [(c["source"], c["target"]) for c in result["cells"]] == [("bc", "bc")]
    rows = json.loads((tmp_path / "bc__bc" / "transfer.json").read_text())["rows"]
    assert {r["epochs"] for r in rows} == {1}
    assert (tmp_path / "matrix.md").read_text().startswith("| source | target |")
    stamp = (tmp_path / "presets" / "bc" / "model.weights.h5").stat().st_mtime_ns
    transfer_matrix("tabular", tmp_path, spec=spec, label_fractions=[0.1], seeds=1, settings=settings)
    assert (tmp_path / "presets" / "bc" / "model.weights.h5").stat().st_mtime_ns == stamp


def _cli():
    from zoo.cli import COMMAND_MODULES

    module = "zoo" if "zoo.cli.transfer" in COMMAND_MODULES else "zoo.cli.transfer"
    return [sys.executable, "-m", module]


def _run(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(_cli() + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_cli_pretrain_then_transfer(tmp_path):
    out = _run(["pretrain", "--corpus", "medical/breast_cancer_diagnosis", "--backbone-params",
                '{"hidden_units": [8]}', "--out", "preset", "--epochs", "2", "--quiet"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "masked-feature reconstruction" in out.stdout and (tmp_path / "preset" / "README.md").is_file()
    out = _run(["transfer", "preset", "medical/breast_cancer_diagnosis", "--label-fraction", "0.1", "--seeds", "1",
                "--epochs", "1", "--min-steps", "1", "--head-min-steps", "1", "--out", "report", "--quiet"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "| 10% |" in out.stdout and "| transfer |" in out.stdout
    settings = json.loads((tmp_path / "report" / "transfer.json").read_text())["settings"]
    assert (settings["min_steps"], settings["head_min_steps"], settings["patience"]) == (1, 1, None)
    assert {"transfer.json", "transfer.md", "gain.png"} <= {p.name for p in (tmp_path / "report").iterdir()}


def test_cli_errors_are_one_line(tmp_path):
    out = _run(["transfer", "missing_preset", "medical/breast_cancer_diagnosis"], tmp_path)
    assert out.returncode == 2 and "zoo: error: missing_preset is not a preset directory" in out.stderr
    assert "Traceback" not in out.stderr
    np.save(tmp_path / "windows.npy", np.zeros((8, 6, 2), "float32"))
    out = _run(["pretrain", "--corpus", "windows.npy", "--objective", "age", "--out", "p", "--quiet"], tmp_path)
    assert out.returncode == 2 and "'age' objective needs each window's age" in out.stderr
    assert "Traceback" not in out.stderr


# === load_preset: what is wrong with the path ===


def _tiny_preset(tmp_path):
    from builders import RNNBackbone
    from zoo.transfer import save_preset

    return save_preset(RNNBackbone(sequence_length=4, num_features=2, units=3), tmp_path / "preset")


def test_load_preset_of_a_file_says_it_is_a_file_and_what_to_pass(tmp_path):
    """A .weights.h5 file that exists was reported as "not a preset directory ... It does not exist"."""
    preset = _tiny_preset(tmp_path)
    with pytest.raises(ConfigError, match="is a file, not a preset directory") as error:
        load_preset(preset / "model.weights.h5")
    assert "does not exist" not in str(error.value)
    assert "config.json, metadata.json and model.weights.h5" in str(error.value)
    assert f"pass {preset}." in str(error.value)
    weights = tmp_path / "mobilenet_v2_notop.weights.h5"
    weights.write_bytes(b"")
    with pytest.raises(ConfigError, match="is a file, not a preset directory.*weights_path") as error:
        load_preset(weights)
    assert str(weights) in str(error.value) and "does not exist" not in str(error.value)


def test_load_preset_names_a_missing_weights_file(tmp_path):
    """A keras-hub preset without model.weights.h5 failed with keras-hub's "model.weights.json doesn't exist"."""
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "profit", "loss"]
    path = tmp_path / "bert"
    keras_hub.models.BertBackbone(vocabulary_size=len(vocabulary), num_layers=1, num_heads=2, hidden_dim=8,
                                  intermediate_dim=16, max_sequence_length=8).save_to_preset(str(path))
    keras_hub.models.BertTokenizer(vocabulary=vocabulary).save_to_preset(str(path))
    assert type(load_preset(path).backbone).__name__ == "HubTextBackbone"
    (path / "model.weights.h5").unlink()
    with pytest.raises(ConfigError, match="model.weights.h5 is missing") as error:
        load_preset(path)
    assert str(path / "model.weights.h5") in str(error.value) and "model.weights.json" not in str(error.value)
    ours = _tiny_preset(tmp_path)  # unverified, our own preset says the same
    (ours / "model.weights.h5").unlink()
    with pytest.raises(ConfigError, match="model.weights.h5 is missing"):
        load_preset(ours, verify=False)
