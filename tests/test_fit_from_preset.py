"""`zoo.fit(task, preset=DIR)` / `zoo train TASK --preset DIR`: a pretrained backbone into a normal run directory."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import zoo
from builders import get_backbone
from zoo.cli import main
from zoo.errors import ConfigError
from zoo.export import export
from zoo.harness.fit import FrozenRandomBaseWarning
from zoo.transfer import load_preset, pretrain

TASK = "medical/breast_cancer_diagnosis"


@pytest.fixture(scope="module")
def tabular_preset(tmp_path_factory):
    out = tmp_path_factory.mktemp("preset")
    return pretrain(TASK, out, backbone_params={"hidden_units": [16, 8], "output": "all"}, epochs=2).preset_dir


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.weights]


def test_a_run_from_a_preset_keeps_its_pretrained_base_frozen_and_reloads(tabular_preset, tmp_path):
    run = zoo.fit(TASK, preset=tabular_preset, out_dir=tmp_path, epochs=60, patience=60, verbose=0)
    pretrained = load_preset(tabular_preset).backbone
    for trained, loaded in zip(_weights(get_backbone(run.model)), _weights(pretrained), strict=True):
        np.testing.assert_array_equal(trained, loaded)  # the preset's weights, untouched by training
    assert run.report["feature_cache"].startswith("on") and run.report["preset"]["corpus"] == TASK
    assert run.report["test"]["accuracy"] > 0.8  # a head on the pretrained features learns the task
    record = json.loads((run.run_dir / "config.json").read_text())
    assert record["task"]["backbone"]["preset"] == str(tabular_preset.resolve())
    assert set(record["preset"]["sha256"]) >= {"config.json", "model.weights.h5"}
    again = zoo.evaluate(run.run_dir)  # model.keras reloads in safe mode
    assert again["test"]["accuracy"] == pytest.approx(run.report["test"]["accuracy"])
    from sklearn.datasets import load_breast_cancer

    rows = load_breast_cancer(as_frame=True).frame.head(4)
    assert len(zoo.predict(run.run_dir, rows)) == 4


def test_fine_tuning_a_preset_changes_its_base(tabular_preset, tmp_path):
    run = zoo.fit(TASK, preset=tabular_preset, out_dir=tmp_path, epochs=2, fine_tune_epochs=2,
                  fine_tune_learning_rate=1e-3, verbose=0)
    pretrained = _weights(load_preset(tabular_preset).backbone)
    changed = [not np.array_equal(a, b) for a, b in zip(_weights(get_backbone(run.model)), pretrained, strict=True)]
    assert any(changed)
    assert run.report["feature_cache"] == "on for the head; off for the 2 fine-tuning epochs (the base trains)"
    assert run.report["training_loop"] == "cached head, then fit for fine-tuning"
    unfrozen = zoo.fit(TASK, preset=tabular_preset, out_dir=tmp_path, epochs=1, freeze=False, verbose=0)
    assert unfrozen.report["feature_cache"].startswith("off")


def test_freezing_a_random_backbone_warns_and_a_wrong_preset_is_refused(tabular_preset, tmp_path):
    with pytest.warns(FrozenRandomBaseWarning, match="only the head learns"):
        zoo.fit(TASK, freeze=True, out_dir=tmp_path, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match="pretrained on tabular data .* text task"):
        zoo.fit("finance/sentiment", preset=tabular_preset, out_dir=tmp_path, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match="no such directory"):
        zoo.fit(TASK, preset=tmp_path / "nowhere", out_dir=tmp_path, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match=r"example shape \(5,\); the backbone expects \(30,\)"):
        frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 5)), columns=list("abcde"))
        frame["y"] = (frame.a > 0).astype(int)
        zoo.fit("tabular/classification", data=zoo.data.load_dataset("csv_tabular", path=frame, target="y"),
                preset=tabular_preset, out_dir=tmp_path, epochs=1, verbose=0)


def test_cli_trains_from_a_preset(tabular_preset, tmp_path, capsys):
    assert main(["train", TASK, "--preset", str(tabular_preset), "--epochs", "1", "--quiet",
                 "--out", str(tmp_path)]) == 0
    assert "run directory:" in capsys.readouterr().out
    assert main(["train", TASK, "--preset", str(tabular_preset), "--backbone", "rnn", "--out", str(tmp_path)]) == 2
    assert "drop --backbone" in capsys.readouterr().err


def test_a_text_run_from_a_preset_uses_its_tokenizer_for_new_texts(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["up", "no", "ok"]))
    with pytest.raises(ConfigError, match=r"3 texts have at most \d tokens each; .* at least 4 tokens"):
        pretrain(str(corpus), tmp_path / "short", epochs=1)
    corpus.write_text("\n".join(["profit rose strongly this quarter", "the loss fell to a weak level"] * 20))
    preset = pretrain(str(corpus), tmp_path / "preset", backbone_params={"hidden_dim": 8, "num_layers": 1,
                                                                        "num_heads": 2, "intermediate_dim": 16},
                      sequence_length=8, vocab_size=60, epochs=1).preset_dir
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    words = {0: ["loss", "fell", "weak"], 1: ["profit", "rose", "strong"]}
    texts = [" ".join(rng.choice(words[int(y)], 3)) for y in labels]
    data = zoo.data.load_dataset("csv_text", path=pd.DataFrame({"text": texts, "label": labels}),
                                 text_column="text", target="label")
    run = zoo.fit("text/classification", data=data, preset=preset, out_dir=tmp_path, epochs=1, verbose=0)
    vocabulary = (run.run_dir / "vocabulary.txt").read_text().split("\n")[:-1]
    assert vocabulary == [str(t) for t in load_preset(preset).tokenizer.get_vocabulary()]  # the preset's, not refit
    spec = json.loads((run.run_dir / "inputs.json").read_text())
    assert spec["sequence_length"] == 8 and spec["tokenizer"]["lowercase"] is True
    assert len(zoo.predict(run.run_dir, ["profit rose", "weak loss"])) == 2
    # It exports as a run trained from scratch does (it failed: the raw texts were not kept past the preset's
    # tokenizer), the in-graph tokenizer checked against the run's ids.
    assert export(run.run_dir, data=data)["checks"]["serve"]["passed"]
