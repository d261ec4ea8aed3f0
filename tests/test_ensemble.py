"""Ensembles: `builders.average_ensemble` and the harness's `ensemble` training option."""

import json

import keras
import numpy as np
import pytest

import zoo
from builders import average_ensemble, get_backbone
from builders.errors import ConfigError
from zoo.data import load_dataset
from zoo.report.html import write_report


def _member(seed, units=3, name="x"):
    keras.utils.set_random_seed(seed)
    x = keras.Input((4,), name=name)
    return keras.Model(x, keras.layers.Dense(units, activation="softmax")(keras.layers.Dense(5)(x)))


def test_average_ensemble_averages_and_round_trips_in_safe_mode(tmp_path):
    members = [_member(s) for s in range(3)]
    x = np.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    ensemble = average_ensemble(members)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, rtol=1e-6)
    ensemble.save(tmp_path / "e.keras")
    loaded = keras.saving.load_model(tmp_path / "e.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)
    assert [layer.name for layer in loaded.layers[1:4]] == ["member_0", "member_1", "member_2"]


def test_average_ensemble_refuses_mismatched_or_too_few_members():
    with pytest.raises(ConfigError, match="two or more"):
        average_ensemble([_member(0)])
    with pytest.raises(ConfigError, match="member 1 takes"):
        average_ensemble([_member(0), _member(1, units=2)])
    with pytest.raises(ConfigError, match="member 1 takes"):
        average_ensemble([_member(0), _member(1, name="y")])


@pytest.fixture(scope="module")
def data():
    return load_dataset("breast_cancer")


def _fit(data, out, **kw):
    return zoo.fit("medical/breast_cancer_diagnosis", data=data, out_dir=out, epochs=2, verbose=0,
                   backbone_params={"hidden_units": [8]}, **kw)


def test_members_are_the_single_models_of_their_seeds(data, tmp_path):
    ensemble = _fit(data, tmp_path, seed=1, ensemble=2)
    assert ensemble.report["ensemble"] == {"members": 2, "seeds": [2, 3], "epochs_run": [2, 2]}
    x = data.test.x
    singles = [_fit(data, tmp_path, seed=s).model.predict(x, verbose=0) for s in (2, 3)]
    for i, single in enumerate(singles):
        np.testing.assert_allclose(ensemble.model.get_layer(f"member_{i}").predict(x, verbose=0), single, rtol=1e-5)
    np.testing.assert_allclose(ensemble.model.predict(x, verbose=0), np.mean(singles, axis=0), rtol=1e-5)
    assert not np.allclose(singles[0], singles[1])  # different seeds, different members
    saved = np.load(ensemble.run_dir / "predictions.npz")["y_pred"]
    np.testing.assert_allclose(saved, np.mean(singles, axis=0), rtol=1e-5)
    assert get_backbone(ensemble.model).name == get_backbone(ensemble.model.get_layer("member_0")).name
    page = write_report(ensemble.run_dir, tmp_path / "report.html").read_text()
    assert "an ensemble of 2 models, epochs run [2, 2] (curves: member 0)" in page


def test_a_resumed_ensemble_run_keeps_finished_members(data, tmp_path):
    first = _fit(data, tmp_path, ensemble=2)
    members = first.run_dir / "members"
    kept, redone = ((members / i / "model.keras").stat().st_mtime_ns for i in ("0", "1"))
    history = json.loads((members / "1" / "history.json").read_text())
    (members / "1" / "member.json").unlink()  # member 1 was killed before it wrote its last file
    again = _fit(data, tmp_path, ensemble=2, run_dir=first.run_dir)
    assert (members / "0" / "model.keras").stat().st_mtime_ns == kept  # loaded, not trained again
    assert (members / "1" / "member.json").is_file()
    assert (members / "1" / "model.keras").stat().st_mtime_ns != redone  # trained again
    x = data.test.x
    np.testing.assert_allclose(again.model.predict(x, verbose=0), first.model.predict(x, verbose=0), rtol=1e-5)
    assert json.loads((members / "1" / "history.json").read_text())["loss"] == pytest.approx(history["loss"], rel=1e-5)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_ensemble_sizes_are_config_errors(data, tmp_path, bad):
    with pytest.raises(zoo.errors.ConfigError, match="ensemble must be an integer >= 1"):
        _fit(data, tmp_path, ensemble=bad)
    assert not any(tmp_path.iterdir())  # refused before a run directory is made
