"""Scale-out on CPU with real TensorFlow: custom_fit against fit, MirroredStrategy on 2 logical CPUs,
MultiWorkerMirroredStrategy with 2 workers on 127.0.0.1, and resuming killed runs.

Runs that need their own TensorFlow runtime (logical devices, TF_CONFIG, SIGKILL) are subprocesses
of this file (`python tests/test_distributed.py {train,run,zoo-fit} ...`), bounded by timeouts; a
multi-worker cluster is killed as soon as one worker fails (`launch_local_workers`), since the
others would wait forever (tensorflow#35878). References run in this process.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.errors import ConfigError
from zoo.harness.build import build_model
from zoo.harness.distributed import (
    IntervalBackupAndRestore,
    TrainingBackup,
    WorkerError,
    backed_up_epochs,
    custom_fit,
    free_ports,
    is_chief,
    launch_local_workers,
    tf_config,
    use_logical_cpus,
    worker_timeout,
)
from zoo.harness.fit import RunConfig, _seed_everything, prepare_data, run
from zoo.harness.pipeline import make_dataset
from zoo.harness.strategy import get_strategy
from zoo.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "TF_CPP_MIN_LOG_LEVEL": "3"}
TIMEOUT = 300  # seconds for any one subprocess or cluster (the machine is shared)
SAME = 1e-5  # "the same": float32 sums in another order; anything else (batch, order, scaling) is >1e-3
EPOCHS = 4

def train_breast_cancer(runs, epochs: int, backup_dir: str | None = None, sleep: float = 0.0) -> list[dict]:
    """Train breast_cancer's default model (dropout 0: no per-replica randomness) with the harness's own
    pieces, once per `[loop, strategy, batch size, shuffle]` of `runs`; histories and weights."""

    class Epochs(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.run: list[int] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.run.append(epoch)
            time.sleep(sleep)  # a window to kill the process in

    task = get_task("medical/breast_cancer_diagnosis").with_overrides(backbone_params={"dropout": 0.0})
    # One strategy object per kind: two MirroredStrategy objects in one process reuse collective
    # instance keys ("Shape mismatch in the collective instance").
    strategies: dict[str, tf.distribute.Strategy] = {}
    results = []
    for loop, name, batch, shuffle in runs:
        if name not in strategies:
            strategies[name] = get_strategy(name)  # mirrored: over every logical CPU device
        strategy = strategies[name]
        config = RunConfig(task.to_dict())
        _seed_everything(config.seed, config.deterministic)
        data = prepare_data(task, config)
        with strategy.scope():
            model = build_model(task, data)
        train = make_dataset(data.train.x, data.train.y, batch, shuffle=shuffle, seed=config.seed)
        val = make_dataset(data.val.x, data.val.y, batch)
        seen = Epochs()
        if loop == "fit":
            history = model.fit(train, validation_data=val, epochs=epochs, callbacks=[seen], verbose=0,
                                shuffle=False).history
        else:
            history = custom_fit(model, train, val, strategy=strategy, epochs=epochs, callbacks=[seen], verbose=0,
                                 backup_dir=backup_dir)
        results.append({"replicas": strategy.num_replicas_in_sync, "chief": is_chief(strategy), "epochs_run": seen.run,
                        "history": history, "weights": [w.tolist() for w in model.get_weights()]})
    return results


def harness_run(run_dir: str, epochs: int, fine_tune_epochs: int = 0) -> dict:
    """`zoo.harness.fit.run(config, run_dir=...)` (which resumes into an existing run directory); with
    `fine_tune_epochs`, a frozen base's head for `epochs`, then the whole model for those."""
    overrides = {"freeze": True, "fine_tune_epochs": fine_tune_epochs} if fine_tune_epochs else {}
    task = get_task("medical/breast_cancer_diagnosis").with_overrides(
        epochs=epochs, patience=5, batch_size=32, backbone_params={"dropout": 0.2}, **overrides)
    result = run(RunConfig(task.to_dict(), backup_every=0.0), run_dir=run_dir, verbose=0)
    return {"history": result.history, "test": result.report["test"]}


def main(argv: list[str]) -> None:
    """The subprocesses' entry point: `python tests/test_distributed.py {train,run,zoo-fit} ...`."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train")
    p.add_argument("--runs", type=json.loads, default=[["custom", "default", 35, True]])
    p.add_argument("--logical-cpus", type=int, default=0)
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--backup-dir")
    p.add_argument("--sleep", type=float, default=0.0)
    p = sub.add_parser("run")
    p.add_argument("run_dir")
    p.add_argument("epochs", type=int)
    p.add_argument("--fine-tune-epochs", type=int, default=0)
    p = sub.add_parser("zoo-fit")
    p.add_argument("out_dir")
    p.add_argument("strategy")
    p.add_argument("--logical-cpus", type=int, default=0)
    p.add_argument("--seed-from-task", action="store_true", help="seed = this worker's TF_CONFIG index")
    a = parser.parse_args(argv)
    if a.command == "train":
        if a.logical_cpus:
            use_logical_cpus(a.logical_cpus)
        result = train_breast_cancer(a.runs, a.epochs, a.backup_dir, a.sleep)
    elif a.command == "run":
        result = harness_run(a.run_dir, a.epochs, a.fine_tune_epochs)
    else:
        if a.logical_cpus:
            use_logical_cpus(a.logical_cpus)
        seed = json.loads(os.environ["TF_CONFIG"])["task"]["index"] if a.seed_from_task else 0
        r = zoo.fit("medical/breast_cancer_diagnosis", out_dir=a.out_dir, strategy=a.strategy, epochs=2,
                    batch_size=35, verbose=0, backbone_params={"dropout": 0.0}, seed=seed)
        result = {"history": r.history, "replicas": r.report["replicas"], "run_dir": str(r.run_dir),
                  "loop": r.report["training_loop"]}
    print(json.dumps(result))


def python(args: list[str], timeout: float = TIMEOUT):
    """`python tests/test_distributed.py args` in a fresh process; its last stdout line, parsed."""
    done = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, env={**os.environ, **ENV},
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT, env={**os.environ, **ENV},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def assert_same_training(a: dict, b: dict, tol: float = SAME) -> None:
    assert sorted(a["history"]) == sorted(b["history"])
    for key, values in a["history"].items():
        np.testing.assert_allclose(b["history"][key], values, atol=tol, err_msg=key)
    for wa, wb in zip(a["weights"], b["weights"], strict=True):
        np.testing.assert_allclose(np.array(wb), np.array(wa), atol=tol)


def latest_epoch(backup: Path) -> int:
    path = tf.train.latest_checkpoint(str(backup))
    return int(path.rsplit("-", 1)[1]) if path else 0


def kill_when(proc: subprocess.Popen, ready, timeout: float = TIMEOUT) -> None:
    """SIGKILL `proc` as soon as `ready()`; fail if it ends (or the time runs out) first."""
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "the run never reached the point to kill it"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def single_process():
    """The reference, in this process: default strategy, custom_fit, shuffled, batch 35 (uneven splits)."""
    (result,) = train_breast_cancer([["custom", "default", 35, True]], EPOCHS)
    return result


# === In process: custom_fit is fit ===


def tiny_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy", "auc"])
    return model


def tiny_data(n: int = 90, seed: int = 0):
    x = np.random.default_rng(seed).normal(size=(n, 5)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    return x, y


def test_custom_fit_matches_model_fit_on_one_device():
    """Same loss, gradients, metrics, class weights, callbacks and logs as `fit` (unshuffled data; the
    shuffles are `test_custom_fit_sees_the_shuffles_of_model_fit`'s)."""
    x, y = tiny_data()
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 90 rows: a last batch of 10
    val = tf.data.Dataset.from_tensor_slices(tiny_data(30, seed=1)).batch(16)
    histories, weights = [], []
    for loop in ("fit", "custom"):
        model = tiny_model()
        stop = keras.callbacks.EarlyStopping("val_loss", min_delta=10.0, patience=1)  # stops after epoch 2
        kwargs = dict(epochs=5, callbacks=[stop], class_weight={0: 1.0, 1: 3.0}, verbose=0)
        if loop == "fit":
            histories.append(model.fit(train, validation_data=val, shuffle=False, **kwargs).history)
        else:
            histories.append(custom_fit(model, train, val, **kwargs))
        weights.append(model.get_weights())
    fit_h, custom_h = histories
    assert sorted(custom_h) == sorted(fit_h) == ["accuracy", "auc", "loss", "val_accuracy", "val_auc", "val_loss"]
    assert len(custom_h["loss"]) == len(fit_h["loss"]) == 2
    for key in fit_h:
        np.testing.assert_allclose(custom_h[key], fit_h[key], rtol=1e-6, err_msg=key)
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(b, a, atol=1e-6)


def test_custom_fit_sees_the_shuffles_of_model_fit():
    """Shuffled data: custom_fit's epoch k sees fit's epoch k batches (fit draws two orders per epoch), so the
    multi-worker loop learns what one process learns. It drew one per epoch: epoch 2 on differed (audit: 0.033
    max weight difference after 2 epochs)."""
    x, y = tiny_data()
    weights = []
    for loop in ("fit", "custom"):
        model = tiny_model()
        train = make_dataset(x, y, 16, shuffle=True, seed=3)
        if loop == "fit":
            model.fit(train, epochs=3, verbose=0, shuffle=False)
        else:
            custom_fit(model, train, epochs=3, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(b, a, atol=1e-6)


def test_custom_fit_refuses_what_it_cannot_honour(tmp_path):
    x, y = tiny_data()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    uncompiled = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    with pytest.raises(ConfigError, match="compile the model"):
        custom_fit(uncompiled, ds)
    with pytest.raises(ConfigError, match="backup_dir"):
        custom_fit(tiny_model(), ds, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path))])
    with pytest.raises(ConfigError, match="repeats forever"):
        custom_fit(tiny_model(), ds.repeat())


def test_backup_of_another_model_is_refused_with_its_path(tmp_path):
    model = tiny_model()
    model.optimizer.build(model.trainable_variables)
    TrainingBackup(model, tf.distribute.get_strategy(), tmp_path).save(2, {"loss": [1.0, 0.5]})
    other = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    other.compile("adam", "mse")
    other.optimizer.build(other.trainable_variables)
    with pytest.raises(ConfigError, match="does not match this model"):
        TrainingBackup(other, tf.distribute.get_strategy(), tmp_path).restore()


def test_backup_delete_clears_what_a_save_killed_midway_leaves(tmp_path):
    """A run killed inside a save leaves TensorFlow's temporary files; the run that finishes removes them
    (and the directory), but not a file the backup did not write."""
    model = tiny_model()
    model.optimizer.build(model.trainable_variables)
    backup = TrainingBackup(model, tf.distribute.get_strategy(), tmp_path / "backup")
    backup.save(1, {"loss": [1.0]})
    (backup.directory / "epoch-2_temp").mkdir()  # a sharded save's staging directory
    (backup.directory / "epoch-2_temp" / "part-00000-of-00001.index").write_text("")
    (backup.directory / "checkpoint.tmp0123abcd").write_text("")  # the state file's atomic write
    (backup.directory / ".history.json.tmp").write_text("{}")
    backup.delete()
    assert not backup.directory.exists()
    backup.save(1, {"loss": [1.0]})
    (backup.directory / "notes.txt").write_text("mine")
    backup.delete()
    assert [p.name for p in backup.directory.iterdir()] == ["notes.txt"]


def test_logical_cpus_must_come_before_tensorflow_starts():
    tf.constant(1.0)  # the runtime of this process is initialized
    with pytest.raises(ConfigError, match="fresh process"):
        use_logical_cpus(2)


# === Local clusters never hang ===


WORKER = "import json, os, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; {}"


def test_a_failing_worker_ends_the_cluster_at_once():
    start = time.monotonic()
    with pytest.raises(WorkerError, match="worker 1 exited with status 3") as error:
        launch_local_workers(["-c", WORKER.format("print('boom', file=sys.stderr); sys.exit(3) if i else time.sleep(60)")],
                             2, timeout=60)
    assert time.monotonic() - start < 20  # worker 0 (sleeping 60 s) was killed, not waited for
    assert "boom" in str(error.value)


def test_a_hung_cluster_is_killed_after_its_timeout():
    start = time.monotonic()
    with pytest.raises(WorkerError, match="did not finish within 2 s"):
        launch_local_workers(["-c", WORKER.format("time.sleep(60)")], 2, timeout=2)
    assert time.monotonic() - start < 20


# === Subprocesses: replicas, workers, kills ===


def test_mirrored_on_two_logical_cpus_matches_the_default_strategy():
    """(a) Same seed, same global batch: MirroredStrategy on 2 logical CPUs trains the same model.

    custom_fit: shuffled, batch 35 (every last batch splits 18/17 across replicas: each replica's
    loss is weighted by its share of the global batch). model.fit (the harness's mirrored path):
    unshuffled batch 32, since Keras's fit consumes one extra shuffle under a strategy and fails when
    the global batch does not split evenly (AddN shape mismatch, the reduce of keras#20585).
    """
    runs = [["custom", "default", 35, True], ["custom", "mirrored", 35, True],
            ["fit", "default", 32, False], ["fit", "mirrored", 32, False]]
    custom_1, custom_2, fit_1, fit_2 = python(["train", "--logical-cpus", "2", "--epochs", "2", "--runs", json.dumps(runs)])
    assert (custom_1["replicas"], custom_2["replicas"], fit_2["replicas"]) == (1, 2, 2)
    assert_same_training(custom_1, custom_2)
    assert_same_training(fit_1, fit_2)
    assert custom_2["history"]["val_accuracy"][-1] > 0.85  # it did learn


def test_two_workers_on_loopback_match_one_process(single_process, tmp_path):
    """(b) MultiWorkerMirroredStrategy, 2 workers on 127.0.0.1 through custom_fit, backing up each epoch:
    the same history and weights as one process, on both workers; only the chief writes the backup,
    and it is removed when training ends."""
    backup = tmp_path / "backup"
    runs = json.dumps([["custom", "multi-worker", 35, True]])
    outs = launch_local_workers([__file__, "train", "--runs", runs, "--backup-dir", str(backup)], 2,
                                timeout=TIMEOUT, env=ENV, cwd=ROOT)
    chief, worker = (json.loads(out.splitlines()[-1])[0] for out in outs)
    assert (chief["chief"], worker["chief"]) == (True, False)
    assert chief["replicas"] == worker["replicas"] == 2
    assert_same_training(single_process, chief)
    assert_same_training(chief, worker, tol=0.0)  # all-reduced: bit-identical on every worker
    assert not backup.exists()


def test_killed_custom_fit_resumes_after_its_last_saved_epoch(single_process, tmp_path):
    """(c) SIGKILL after epoch k is saved; the same command resumes at epoch k+1 (replaying the skipped
    shuffles) and ends with the weights of the run that was never stopped."""
    backup = tmp_path / "backup"
    command = ["train", "--backup-dir", str(backup), "--sleep", "0.5"]
    kill_when(start(command), lambda: latest_epoch(backup) >= 2)
    saved = latest_epoch(backup)
    assert 2 <= saved < EPOCHS
    resumed = python(command)[0]
    assert resumed["epochs_run"] == list(range(saved, EPOCHS))  # not from 0
    assert len(resumed["history"]["loss"]) == EPOCHS  # the history of the epochs before the kill too
    assert_same_training(single_process, resumed)
    assert not backup.exists()


def test_killed_harness_run_resumes_through_backup_and_restore(tmp_path):
    """(c) The single-process `model.fit` path: `run(config, run_dir=...)` killed after epoch k and run
    again resumes at k+1 from `<run_dir>/backup` and ends as the run that was never stopped: the backup
    also holds the logs of the finished epochs, dropout's seed states and early stopping's progress
    (wait, best value, best weights), and the resumed run replays the shuffles the finished epochs
    drew. (Keras's BackupAndRestore alone kept none of these: the history held only the epochs after
    the resume, and the model differed by up to 0.03 in validation loss and test accuracy.)"""
    epochs = 8
    reference = harness_run(str(tmp_path / "reference"), epochs)
    run_dir = tmp_path / "killed"
    metadata = run_dir / "backup" / "training_metadata.json"

    kill_when(start(["run", str(run_dir), str(epochs)]), lambda: backed_up_epochs(metadata.parent) >= 2)
    saved = backed_up_epochs(metadata.parent)
    assert 2 <= saved < epochs and not (run_dir / "model.keras").exists()
    resumed = python(["run", str(run_dir), str(epochs)])
    assert resumed["history"] == reference["history"]  # every epoch, those before the kill too, to the bit
    assert resumed["test"] == reference["test"]
    assert (run_dir / "model.keras").exists() and not (run_dir / "backup").exists()


def test_a_run_killed_while_fine_tuning_resumes_its_fine_tuning(tmp_path):
    """Fine-tuning has its own backup (`<run_dir>/backup-fine-tune`): killed there, the rerun trains the
    head again (the same head, as seeded) and resumes fine-tuning after its last saved epoch, ending as
    the run never stopped. (It had no backup: the rerun started the whole run over.)"""
    args = ["3", "--fine-tune-epochs", "40"]
    reference = harness_run(str(tmp_path / "reference"), 3, 40)
    run_dir = tmp_path / "killed"
    metadata = run_dir / "backup-fine-tune" / "training_metadata.json"

    kill_when(start(["run", str(run_dir), *args]), lambda: backed_up_epochs(metadata.parent) >= 2)
    assert not (run_dir / "model.keras").exists()
    resumed = python(["run", str(run_dir), *args])
    assert resumed["history"] == reference["history"] and resumed["test"] == reference["test"]
    assert not (run_dir / "backup-fine-tune").exists()


@pytest.mark.parametrize("every, saved_after", [(0.0, [1, 2, 3]), (3600.0, [])])
def test_interval_backup_saves_at_most_once_per_interval(tmp_path, every, saved_after):
    """every=0 saves after each epoch, every=3600 (an hour) never in a short run; training ends with no
    backup left either way."""
    metadata = tmp_path / "backup" / "training_metadata.json"
    saved: list[int] = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # runs after the backup's own on_epoch_end
            if metadata.exists() and json.loads(metadata.read_text())["epoch"] == epoch + 1:
                saved.append(epoch + 1)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 2)), np.ones(4), epochs=3, verbose=0,
              callbacks=[IntervalBackupAndRestore(tmp_path / "backup", every), Probe()])
    assert saved == saved_after
    assert not (tmp_path / "backup").exists()


def test_interval_backup_resumes_from_its_last_whole_save_after_a_save_killed_midway(tmp_path):
    """A run that crashes after 2 epochs, with a third save cut short (a truncated weights file and an
    unrenamed metadata file), resumes at epoch 3 with the weights of epoch 2; a damaged backup is
    refused with its path, not TensorFlow's HDF5 error."""
    backup = tmp_path / "backup"
    x, y = tiny_data()

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("killed")

    model = tiny_model()
    with pytest.raises(RuntimeError, match="killed"):
        model.fit(x, y, epochs=4, verbose=0, callbacks=[IntervalBackupAndRestore(backup), Crash()])
    after_two = [w.copy() for w in model.get_weights()]
    (backup / "saving-epoch-3.weights.h5").write_bytes(b"\x89HDF\r\n")
    (backup / ".training_metadata.json.tmp").write_text('{"epoch": 3')

    class Start(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):  # runs after the backup's own on_train_begin (the restore)
            self.weights = [w.copy() for w in self.model.get_weights()]

    resumed, start = tiny_model(seed=1), Start()
    history = resumed.fit(x, y, epochs=4, verbose=0, callbacks=[IntervalBackupAndRestore(backup), start])
    assert history.epoch == [2, 3]
    for restored, saved in zip(start.weights, after_two, strict=True):
        np.testing.assert_array_equal(restored, saved)
    assert not backup.exists()

    with pytest.raises(RuntimeError, match="killed"):
        tiny_model().fit(x, y, epochs=4, verbose=0, callbacks=[IntervalBackupAndRestore(backup), Crash()])
    (backup / "epoch-2.weights.h5").write_bytes(b"damaged")
    with pytest.raises(ConfigError, match="is damaged.*delete that directory"):
        tiny_model().fit(x, y, epochs=4, verbose=0, callbacks=[IntervalBackupAndRestore(backup)])


def test_zoo_fit_multi_worker_trains_and_only_the_chief_writes(tmp_path):
    outs = launch_local_workers([__file__, "zoo-fit", str(tmp_path / "runs"), "multi-worker"], 2, timeout=TIMEOUT,
                                env=ENV, cwd=ROOT)
    chief, worker = (json.loads(out.splitlines()[-1]) for out in outs)
    assert chief["replicas"] == worker["replicas"] == 2
    assert chief["history"] == worker["history"]
    (run_dir,) = (tmp_path / "runs").iterdir()  # one run directory, written by the chief
    files = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "history.json", "model.keras", "report.json"} <= files and "backup" not in files
    assert json.loads((run_dir / "report.json").read_text())["replicas"] == 2
    assert chief["loop"] == "custom_fit"


def test_zoo_fit_mirrored_with_a_batch_that_does_not_split_evenly(tmp_path):
    """Keras's fit fails under MirroredStrategy when the global batch does not split across the replicas;
    the harness trains through custom_fit instead, and says so in the report."""
    out = python(["zoo-fit", str(tmp_path / "runs"), "mirrored", "--logical-cpus", "2"])  # batch 35 on 2 replicas
    assert (out["replicas"], out["loop"]) == (2, "custom_fit")
    assert len(out["history"]["loss"]) == 2 and np.isfinite(out["history"]["val_loss"]).all()


if __name__ == "__main__":
    main(sys.argv[1:])


def test_a_kept_backup_of_finished_training_resumes_with_no_more_epochs(tmp_path):
    """keep=True saves the final state (after early stopping restored the best weights) and leaves the backup
    for the harness to delete once the model is saved: a run killed in between reruns no epoch and ends with
    the same weights and history (it used to train again from scratch)."""
    from zoo.harness.distributed import train_model
    from zoo.harness.pipeline import make_dataset

    x, y = tiny_data()

    def train(keep_dir):
        model = tiny_model()
        stop = keras.callbacks.EarlyStopping("val_loss", patience=2, restore_best_weights=True)
        history = train_model(model, make_dataset(x, y, 8, shuffle=True, seed=1), make_dataset(x, y, 8),
                              strategy=tf.distribute.get_strategy(), epochs=30, callbacks=[stop], verbose=0,
                              backup_dir=keep_dir, keep_backup=True)
        return model, history

    first, history = train(tmp_path / "backup")
    assert json.loads((tmp_path / "backup" / "training_metadata.json").read_text())["finished"]
    again, resumed = train(tmp_path / "backup")
    assert resumed == history
    for a, b in zip(first.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# === Strategy choice ===


def test_auto_falls_back_when_tpu_name_is_set_but_no_tpu_answers(monkeypatch):
    """TPU_NAME set, no TPU: the resolver raises URLError (an OSError); `auto` warns and trains without a
    TPU, `tpu` gives the clean "no TPU found" error instead of the raw traceback."""
    import urllib.error

    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setenv("TPU_NAME", "my-tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", unreachable)
    with pytest.warns(UserWarning, match="no TPU answered"):
        assert get_strategy("auto").num_replicas_in_sync == 1
    with pytest.raises(ConfigError, match="no TPU found"):
        get_strategy("tpu")


# === A worker alone says so, gives up in time and can be stopped ===


LONE = "from zoo.harness.strategy import get_strategy; get_strategy('multi-worker'); print('connected')"


def start_lone_worker(log: Path, timeout: str = "600") -> subprocess.Popen:
    """Worker 0 of a cluster of 2 whose worker 1 never starts (TensorFlow alone would wait forever, silently)."""
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    env = {**os.environ, **ENV, "TF_CONFIG": tf_config(workers, 0), "ZOO_WORKER_TIMEOUT": timeout}
    # Ctrl-C as in a terminal: pytest-xdist's workers ignore SIGINT, a child inherits that, and Python then keeps
    # it ignored (no KeyboardInterrupt), so the SIGINT case failed under `-n 2` only.
    return subprocess.Popen([sys.executable, "-c", LONE], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_a_lone_worker_reports_whom_it_waits_for_and_gives_up_after_its_timeout(tmp_path):
    proc = start_lone_worker(tmp_path / "err", timeout="4")
    try:
        proc.wait(timeout=120)
    finally:
        proc.kill()
    err = (tmp_path / "err").read_text()
    assert proc.returncode != 0 and "connected" not in err
    assert "waiting for worker 1 at 127.0.0.1:" in err
    assert "did not start within 4 s (ZOO_WORKER_TIMEOUT)" in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_lone_worker_stops_on_ctrl_c_and_sigterm(tmp_path, sig):
    proc = start_lone_worker(tmp_path / "err")
    try:
        deadline = time.monotonic() + 120
        while "waiting for worker 1" not in (tmp_path / "err").read_text():  # it waits: the signal must end it
            assert proc.poll() is None and time.monotonic() < deadline, "the worker never said it was waiting"
            time.sleep(0.1)
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode != 0


def test_worker_timeout_comes_from_the_environment():
    assert worker_timeout({"ZOO_WORKER_TIMEOUT": "2.5"}) == 2.5
    with pytest.raises(ConfigError, match="ZOO_WORKER_TIMEOUT"):
        worker_timeout({"ZOO_WORKER_TIMEOUT": "soon"})


def test_workers_started_with_different_seeds_refuse_to_train_together(tmp_path):
    """Two workers, seeds 0 and 1: each trained its own split and shuffle and all-reduced the gradients, ending
    with status 0 and a damaged model; now both stop before training, naming what differs."""
    with pytest.raises(WorkerError) as error:
        launch_local_workers([__file__, "zoo-fit", str(tmp_path), "multi-worker", "--seed-from-task"], 2,
                             timeout=TIMEOUT, env=ENV, cwd=ROOT)
    assert "started with different configurations: seed (worker 0: 0; worker 1: 1)" in str(error.value)
    assert not list(tmp_path.rglob("model.keras"))


def test_a_worker_killed_mid_training_leaves_the_other_a_zoo_error_saying_how_to_resume(tmp_path):
    """SIGKILL worker 1 after epoch 1 is backed up: worker 0 ends with a WorkerError naming the lost worker
    and the backup to resume from, not ~140 lines ending in UnavailableError [Op:CollectiveReduceV2]."""
    backup = tmp_path / "backup"
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    args = [__file__, "train", "--runs", json.dumps([["custom", "multi-worker", 35, True]]), "--epochs", "50",
            "--backup-dir", str(backup), "--sleep", "0.5"]
    procs = [subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=(tmp_path / f"err{i}").open("w"),
                              env={**os.environ, **ENV, "TF_CONFIG": tf_config(workers, i)}) for i in range(2)]
    try:
        kill_when(procs[1], lambda: latest_epoch(backup) >= 1)
        procs[0].wait(timeout=120)
    finally:
        for p in procs:
            p.kill()
    err = (tmp_path / "err0").read_text()
    assert procs[0].returncode != 0
    assert "WorkerError: A worker of this multi-worker run was lost during epoch" in err
    assert f"training resumes from the last backup, {backup}, after epoch" in err
    assert "[Op:CollectiveReduceV2]" not in err.split("WorkerError")[0][-2000:]  # no raw collective error above
