"""Scale-out training: a distributed custom loop, fault tolerance, and local clusters for testing.

Keras 3 `model.fit` and `model.evaluate` fail under `tf.distribute.MultiWorkerMirroredStrategy`
(`ValueError: Attempt to convert a value (PerReplica...)`, keras-team/keras#20585: `fit` reduces
a distributed input batch eagerly to learn its shapes). `custom_fit` trains the same compiled
Keras model with its own distributed train/eval steps (`strategy.run` inside a `tf.function`),
calls the same callbacks with the same log keys as `fit`, and backs up the training state every
epoch so a killed job resumes from its last finished epoch. Only the chief writes; other
workers write to temporary directories, as TensorFlow's multi-worker guide recommends.

Helpers for trying a cluster on one machine: `use_logical_cpus` (several replicas on one CPU),
`tf_config` (a worker's `TF_CONFIG`) and `launch_local_workers` (workers on 127.0.0.1, killed
on failure or timeout, since a lost worker leaves the others waiting, tensorflow#35878).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError, ZooError
from zoo.harness.build import build_training_state

WORKER_TIMEOUT_ENV = "ZOO_WORKER_TIMEOUT"  # seconds a worker waits for the others to start (and to agree)
DEFAULT_WORKER_TIMEOUT = 600.0
HISTORY_FILE = "history.json"
CHECKPOINT_NAME = "epoch"
METADATA_FILE = "training_metadata.json"  # IntervalBackupAndRestore: the epoch and the weights file to resume from


class WorkerError(ZooError, RuntimeError):
    """A worker of a local cluster failed or did not finish in time; the message shows its log."""


# === Who writes ===


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes run files: always, except on non-chief multi-worker workers.

    The chief is the `"chief"` task of `TF_CONFIG`, or worker 0 when the cluster has no chief.

    Example:
    >>> is_chief(tf.distribute.get_strategy())
    True
    """
    return bool(strategy.extended.should_checkpoint)


def uses_custom_loop(strategy: tf.distribute.Strategy, batch_size: int | None = None) -> bool:
    """Whether the harness must train with `custom_fit` instead of `model.fit`.

    Keras 3's `fit` fails under `MultiWorkerMirroredStrategy` (keras#20585), and under any
    strategy with several replicas when the global batch does not split evenly across them
    (an AddN shape mismatch deep inside TensorFlow); `custom_fit` handles both.

    Example:
    >>> uses_custom_loop(tf.distribute.get_strategy(), batch_size=35)
    False
    """
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    replicas = strategy.num_replicas_in_sync
    return batch_size is not None and replicas > 1 and batch_size % replicas != 0


def scaled_learning_rate(learning_rate: float, strategy: tf.distribute.Strategy, scale: bool = True) -> float:
    """The linear scaling rule: `learning_rate * num_replicas` when `scale`, else unchanged.

    The global batch is the user's `batch_size` whatever the number of replicas. Scale the
    learning rate only when you also raise the batch with the replicas (large-batch setups,
    Goyal et al. 2017); add warm-up when the product gets large.

    Args:
        learning_rate: float. The learning rate tuned for one replica.
        strategy: the `tf.distribute.Strategy` that will train.
        scale: bool. False returns `learning_rate` unchanged.

    Returns:
        The learning rate to compile with.

    Example:
    >>> scaled_learning_rate(1e-3, tf.distribute.get_strategy())
    0.001
    """
    return learning_rate * strategy.num_replicas_in_sync if scale else learning_rate


# === Waiting for the other workers ===


def worker_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a worker waits for the other workers of its cluster: `ZOO_WORKER_TIMEOUT`, else 600.

    Example:
    >>> worker_timeout({"ZOO_WORKER_TIMEOUT": "30"}), worker_timeout({})
    (30.0, 600.0)
    """
    value = (os.environ if environ is None else environ).get(WORKER_TIMEOUT_ENV, "")
    if not value.strip():
        return DEFAULT_WORKER_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ConfigError(f"{WORKER_TIMEOUT_ENV}={value!r}: expected a number of seconds > 0.")
    return seconds


def peers(tf_config_json: str | None = None) -> str:
    """The other tasks of this worker's `TF_CONFIG`, as `"worker 1 at host:port"` (comma-separated).

    Example:
    >>> peers(tf_config(["10.0.0.1:2222", "10.0.0.2:2222"], 0))
    'worker 1 at 10.0.0.2:2222'
    """
    return ", ".join(_cluster_tasks(tf_config_json)[1]) or "the other workers"


def _cluster_tasks(tf_config_json: str | None) -> tuple[str | None, dict[str, str]]:
    """This task's address in `TF_CONFIG` (the environment's when None) and the other tasks' addresses by name
    (`"worker 1 at host:port"`); an evaluator is no part of the strategy's cluster, so it is left out."""
    config = json.loads(tf_config_json if tf_config_json is not None else os.environ.get("TF_CONFIG", "{}"))
    me = (config.get("task", {}).get("type"), config.get("task", {}).get("index"))
    tasks = {(kind, i): address for kind, addresses in config.get("cluster", {}).items() if kind != "evaluator"
             for i, address in enumerate(addresses)}
    others = {f"{kind} {i} at {address}": address for (kind, i), address in tasks.items() if (kind, i) != me}
    return tasks.get(me), others


def await_peers(tf_config_json: str | None = None, *, timeout: float | None = None, every: float = 10.0) -> None:
    """Wait, in Python, until every other task of `TF_CONFIG` accepts a connection on its port.

    Creating `MultiWorkerMirroredStrategy` blocks in C++ until all workers have started, silently,
    forever, and deaf to SIGINT and SIGTERM (TensorFlow holds Python's lock and installs its own
    SIGTERM handler). So the zoo first meets the other workers itself: it listens on its own port
    of `TF_CONFIG` (accepting and closing connections) and connects to theirs until each has
    answered, printing who it is waiting for every `every` seconds. A worker that has gone on to
    start TensorFlow answers on the same port. Here Ctrl-C and SIGTERM work as anywhere in Python.

    Args:
        tf_config_json: the `TF_CONFIG` JSON (default: the environment's).
        timeout: float. Seconds to wait (default: `worker_timeout()`, `ZOO_WORKER_TIMEOUT`).
        every: float. Seconds between progress messages (on stderr).

    Raises:
        WorkerError: when a worker has not answered within `timeout`.

    Example:
    >>> await_peers(tf_config(["127.0.0.1:%d" % free_ports(1)[0]], 0))  # a cluster of one: nobody to wait for
    """
    timeout = worker_timeout() if timeout is None else timeout
    mine, waiting = _cluster_tasks(tf_config_json)
    listener = _listen(mine)
    start = time.monotonic()
    report = start + min(every, 2.0)
    try:
        while waiting:
            _accept_all(listener)
            for name, address in list(waiting.items()):
                host, _, port = address.rpartition(":")
                try:
                    socket.create_connection((host.strip("[]"), int(port)), timeout=1.0).close()
                    del waiting[name]
                except OSError:
                    pass
            now = time.monotonic()
            if waiting and now - start > timeout:
                raise WorkerError(f"{', '.join(waiting)} did not start within {timeout:g} s ({WORKER_TIMEOUT_ENV}). "
                                  "Start every worker of TF_CONFIG (the same command, its own task index), check "
                                  "the addresses and that their ports are open, then run it again.")
            if waiting and now >= report:
                print(f"zoo: waiting for {', '.join(waiting)} ... ({now - start:.0f} s of {timeout:g} s, "
                      f"{WORKER_TIMEOUT_ENV})", file=sys.stderr, flush=True)
                report = now + every
            if waiting:
                time.sleep(0.25)
    finally:
        if listener is not None:
            listener.close()


def _listen(address: str | None) -> socket.socket | None:
    """A non-blocking listener on `address`'s port (all interfaces), or None when the port is taken."""
    if not address:
        return None
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(address.rpartition(":")[2])))
        listener.listen(16)
    except OSError:  # e.g. this process's TensorFlow server already holds it
        listener.close()
        return None
    listener.setblocking(False)
    return listener


def _accept_all(listener: socket.socket | None) -> None:
    while listener is not None:
        try:
            listener.accept()[0].close()
        except OSError:  # BlockingIOError: nobody else is knocking
            return


_WATCHDOG = """
import os, select, signal, sys, time
pid, timeout, every, what, peers, env = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), *sys.argv[4:7]
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: outlive the worker, to say why
start = time.monotonic()
report = start + min(every, 2.0)  # a cluster that is all there answers within a second or two
while True:
    if select.select([sys.stdin], [], [], 0.2)[0]:
        if not sys.stdin.readline().startswith("done"):  # the pipe closed with no word: the worker was killed
            print(f"zoo: error: stopped while {what} (waiting for {peers}).", file=sys.stderr, flush=True)
        sys.exit(0)
    now = time.monotonic()
    if now - start > timeout:
        print(f"zoo: error: {what}: {peers} did not answer within {timeout:g} s ({env}). Start every worker of "
              "TF_CONFIG (the same command, its own task index), check the addresses and that their ports are "
              "open, then run it again.", file=sys.stderr, flush=True)
        os.kill(pid, signal.SIGKILL)  # not SIGTERM: TensorFlow catches it (its preemption notifier)
        sys.exit(0)
    if now >= report:
        print(f"zoo: {what}: waiting for {peers} ... ({now - start:.0f} s of {timeout:g} s, {env})",
              file=sys.stderr, flush=True)
        report = now + every
"""


def wait_for_workers(fn, what: str, *, timeout: float | None = None, every: float = 10.0) -> Any:
    """`fn()`, which blocks until every worker of the cluster takes part; with progress, a timeout and Ctrl-C.

    TensorFlow waits for missing workers inside C++ (creating `MultiWorkerMirroredStrategy`, a
    collective) holding Python's lock: no message, no end, and SIGINT/SIGTERM ignored, since Python
    runs its signal handlers only between bytecodes (and no Python thread can run either). So a
    small watchdog process (no TensorFlow) prints `what` and the workers waited for every `every`
    seconds on stderr, and on timeout (`ZOO_WORKER_TIMEOUT`, default 600 s) prints why and ends
    this process with SIGTERM; while `fn` runs, SIGINT and SIGTERM have their default effect (the
    process ends at once, and the watchdog says what it was waiting for).

    Args:
        fn: the blocking call, without arguments.
        what: what is waited for, e.g. `"connecting to the cluster"`.
        timeout: float. Seconds before giving up (default: `worker_timeout()`).
        every: float. Seconds between progress messages.

    Returns:
        What `fn` returns (an exception of `fn` is raised here).

    Example:
    >>> wait_for_workers(lambda: 42, "a quick call")
    42
    """
    timeout = worker_timeout() if timeout is None else timeout
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(timeout), str(every), what,
                                 peers(), WORKER_TIMEOUT_ENV], stdin=subprocess.PIPE, text=True)
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, signal.SIG_DFL) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    try:
        return fn()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        watchdog.stdin.write("done\n")
        watchdog.stdin.close()
        watchdog.wait()


# === Local clusters (one machine) ===


def use_logical_cpus(count: int) -> None:
    """Split the CPU into `count` logical devices, so `MirroredStrategy` has `count` replicas.

    Must run before TensorFlow initializes its devices (first op, first model): at the top of a
    script or notebook. Then use `tf.distribute.MirroredStrategy([d.name for d in
    tf.config.list_logical_devices("CPU")])`.

    Args:
        count: int. Number of logical CPU devices.

    Raises:
        ConfigError: when TensorFlow has already initialized its devices.

    Example:
    >>> use_logical_cpus(2)  # doctest: +SKIP
    >>> len(tf.config.list_logical_devices("CPU"))  # doctest: +SKIP
    2
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        raise ConfigError(
            f"use_logical_cpus({count}): TensorFlow has already initialized its devices; call it first thing "
            "in a fresh process."
        ) from None


def tf_config(workers: Sequence[str], index: int, task_type: str = "worker") -> str:
    """The `TF_CONFIG` JSON of one task of a cluster of `workers` (`"host:port"` each).

    Example:
    >>> json.loads(tf_config(["10.0.0.1:2222", "10.0.0.2:2222"], 1))["task"]
    {'type': 'worker', 'index': 1}
    """
    if not 0 <= index < len(workers):
        raise ConfigError(f"tf_config: index {index} is not in 0..{len(workers) - 1}.")
    return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": task_type, "index": index}})


def free_ports(count: int) -> list[int]:
    """`count` TCP ports free on 127.0.0.1 right now.

    Example:
    >>> len(set(free_ports(3)))
    3
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def launch_local_workers(
    argv: Sequence[str],
    num_workers: int = 2,
    *,
    timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> list[str]:
    """Run `python <argv>` as `num_workers` workers of one cluster on 127.0.0.1 and collect stdout.

    Each worker gets its own `TF_CONFIG` (free loopback ports). If a worker fails, or the cluster
    has not finished after `timeout` seconds, every worker still running is killed (a lost worker
    leaves the others blocked in a collective) and `WorkerError` shows the workers' logs.

    Args:
        argv: arguments after `python`, e.g. `["train.py", "--epochs", "3"]`.
        num_workers: int. Number of worker processes.
        timeout: float. Seconds for the whole cluster.
        env: extra environment variables for every worker.
        cwd: working directory of the workers.

    Returns:
        Each worker's standard output, in worker order.

    Example:
    >>> code = "import json, os; print(json.loads(os.environ['TF_CONFIG'])['task']['index'])"
    >>> launch_local_workers(["-c", code], 2, timeout=30)
    ['0\\n', '1\\n']
    """
    workers = [f"127.0.0.1:{p}" for p in free_ports(num_workers)]
    logs = tempfile.mkdtemp(prefix="zoo-workers-")
    procs, outs, errs = [], [], []
    try:
        for i in range(num_workers):
            outs.append(open(os.path.join(logs, f"worker{i}.out"), "w+"))
            errs.append(open(os.path.join(logs, f"worker{i}.err"), "w+"))
            worker_env = {**os.environ, **(env or {}), "TF_CONFIG": tf_config(workers, i)}
            procs.append(subprocess.Popen([sys.executable, *argv], env=worker_env, cwd=cwd,
                                          stdout=outs[i], stderr=errs[i]))
        deadline = time.monotonic() + timeout
        problem = None
        while problem is None and any(p.poll() is None for p in procs):
            failed = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
            if failed:
                problem = f"worker {failed[0]} exited with status {procs[failed[0]].returncode}"
            elif time.monotonic() > deadline:
                problem = f"the cluster did not finish within {timeout:g} s"
            else:
                time.sleep(0.1)
        failed = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
        if problem is None and failed:
            problem = f"worker {failed[0]} exited with status {procs[failed[0]].returncode}"
        if problem is not None:
            tails = []
            for i, err in enumerate(errs):
                err.seek(0)
                tails.append(f"--- worker {i} stderr (last lines) ---\n" + "\n".join(err.read().splitlines()[-15:]))
            raise WorkerError(f"Local cluster {' '.join(argv[:2])}: {problem}.\n" + "\n".join(tails))
        result = []
        for out in outs:
            out.seek(0)
            result.append(out.read())
        return result
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for f in outs + errs:
            f.close()
        shutil.rmtree(logs, ignore_errors=True)


# === Fault tolerance ===


def _replace_json(path: Path, value: Any) -> None:
    """Write `value` as JSON to `path` in one rename: a reader sees the old file or the new, never half of
    one. The scratch file is `.<name>.tmp` beside it."""
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(json.dumps(value))
    os.replace(scratch, path)


class IntervalBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that saves at most once every `every` seconds, and resumes
    a killed run as if it had never stopped.

    Saving the weights and optimizer state after each epoch costs tens of milliseconds, a few
    percent of a short epoch; saved at most once a minute, a killed run still loses at most a
    minute of training plus one epoch. The last save before training ends is not forced: a run
    that finishes deletes its backup anyway. `every=0` saves after every epoch (Keras's default).

    A save is atomic, unlike Keras's (which rewrites `latest.weights.h5` in place, so a run killed
    while saving left a truncated file that the next run could not load): the weights go to a new
    `epoch-<n>.weights.h5`, then `training_metadata.json` is replaced in one rename to name it,
    then older weights are removed. A restart loads exactly what the metadata names.

    Beyond Keras's (weights, optimizer, epoch), a save holds the layers' random seed states (dropout
    draws the masks it would have), the logs of the finished epochs
    (`history`, so a resumed run's history and report cover every epoch) and the progress of the
    `track`ed callbacks: an `EarlyStopping`'s wait, best value and best weights, a
    `ModelCheckpoint`'s best value. Put this callback after them: it then saves what they made of
    the epoch, and restores them after they reset at the start of training. The data's order is
    the caller's to replay (`replay_shuffles`).

    Args:
        backup_dir: str or path. Where the backup lives (`<run_dir>/backup`).
        every: float. Minimum seconds between two saves (counted from the start of training).
        track: `EarlyStopping` / `ModelCheckpoint` callbacks of the same `fit` whose state resumes.
        keep: save the final state when training ends and keep the backup (the caller deletes it
            once the model is saved); a rerun then trains no more epochs. Default: delete it.

    Example:
    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> backup = IntervalBackupAndRestore(tempfile.mkdtemp(), every=60.0)
    >>> model.fit(np.ones((4, 2)), np.ones(4), epochs=2, verbose=0, callbacks=[backup]).epoch
    [0, 1]
    >>> len(backup.history["loss"])
    2
    """

    def __init__(self, backup_dir: str | os.PathLike, every: float = 0.0,
                 track: Sequence[keras.callbacks.Callback] = (), keep: bool = False):
        super().__init__(str(backup_dir), delete_checkpoint=not keep)
        self.every = float(every)
        self.track = list(track)
        self.keep = keep
        self.history: dict[str, list[float]] = {}
        self._finished = False
        self._last_save = time.monotonic()

    def on_train_end(self, logs=None):
        if self.keep:  # the final state, kept until the caller has saved the model: a kill before that loses nothing
            self._finished, self._last_save = True, -math.inf
            self._save_model()
        super().on_train_end(logs)

    def on_train_begin(self, logs=None):
        self.history = {}
        super().on_train_begin(logs)
        self._last_save = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(np.asarray(value).tolist())
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        if time.monotonic() - self._last_save < self.every:
            return
        directory = Path(self.backup_dir)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{CHECKPOINT_NAME}-{self._current_epoch}.weights.h5"
        scratch = directory / f"saving-{name}"
        self.model.save_weights(scratch, overwrite=True)
        os.replace(scratch, directory / name)
        states = [_callback_state(c, directory, self._current_epoch) for c in self.track]
        seeds = [np.asarray(v.numpy()).tolist() for v in _seed_states(self.model)]
        _replace_json(directory / METADATA_FILE, {"epoch": self._current_epoch, "batch": self._last_batch_seen,
                                                  "weights": name, "history": self.history, "callbacks": states,
                                                  "seed_states": seeds, "finished": self._finished})
        keep = {name, *(state["best_weights"] for state in states if state.get("best_weights"))}
        for old in [*directory.glob(f"{CHECKPOINT_NAME}-*.weights.h5"), *directory.glob("best-*.npz")]:
            if old.name not in keep:
                old.unlink()
        self._last_save = time.monotonic()

    def _load_model(self):
        path = Path(self.backup_dir) / METADATA_FILE
        if not path.is_file():
            return
        metadata = json.loads(path.read_text())
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(Path(self.backup_dir) / metadata["weights"])
            states = metadata.get("callbacks", [])
            if len(states) != len(self.track):
                raise ValueError(f"it tracked {len(states)} callback(s), this run {len(self.track)}")
            for callback, state in zip(self.track, states, strict=True):
                _restore_callback_state(callback, state, Path(self.backup_dir))
            variables, seeds = _seed_states(self.model), metadata.get("seed_states", [])
            if len(seeds) != len(variables):
                raise ValueError(f"it saved {len(seeds)} random seed state(s), this model has {len(variables)}")
            for variable, value in zip(variables, seeds, strict=True):
                variable.assign(np.asarray(value, dtype=variable.dtype))
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(
                f"The backup in {self.backup_dir} does not match this model or is damaged ({str(e).splitlines()[0]}); "
                "delete that directory to start over."
            ) from None
        self.history = {k: list(v)[: metadata["epoch"]] for k, v in metadata.get("history", {}).items()}
        # A finished training (early stopping included) runs no more epochs.
        self.model._initial_epoch = int(self.params.get("epochs", 0)) if metadata.get("finished") else metadata["epoch"]


def _seed_states(model: keras.Model) -> list[Any]:
    """The model's variables that are not weights: the states of its layers' seed generators (dropout's
    masks), which `save_weights` leaves out and a resumed run must continue from."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


_TRACKED = {keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
            keras.callbacks.ModelCheckpoint: ("best",)}


def _tracked_fields(callback: keras.callbacks.Callback) -> tuple[str, ...]:
    for kind, fields in _TRACKED.items():
        if isinstance(callback, kind):
            return fields
    raise ConfigError(f"IntervalBackupAndRestore cannot track a {type(callback).__name__}; it tracks "
                      "EarlyStopping and ModelCheckpoint.")


def _callback_state(callback: keras.callbacks.Callback, directory: Path, epoch: int) -> dict[str, Any]:
    """What a tracked callback has made of the epochs so far (its best weights in `best-<epoch>.npz`)."""
    state: dict[str, Any] = {f: float(v) if isinstance(v, float | np.floating) else v
                             for f in _tracked_fields(callback) if (v := getattr(callback, f, None)) is not None}
    if getattr(callback, "best_weights", None) is not None:
        state["best_weights"] = f"best-{epoch}.npz"
        scratch = directory / f"saving-best-{epoch}.npz"
        with open(scratch, "wb") as file:  # a file object: np.savez would append .npz to a name
            np.savez(file, *callback.best_weights)
        os.replace(scratch, directory / state["best_weights"])
    return state


def _restore_callback_state(callback: keras.callbacks.Callback, state: dict[str, Any], directory: Path) -> None:
    fields = _tracked_fields(callback)
    for name, value in state.items():
        if name in fields:
            setattr(callback, name, value)
    if state.get("best_weights"):
        with np.load(directory / state["best_weights"]) as arrays:
            callback.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def tracked_callbacks(callbacks: Sequence[keras.callbacks.Callback]) -> list[keras.callbacks.Callback]:
    """The callbacks whose progress an `IntervalBackupAndRestore` must save to resume exactly
    (`EarlyStopping`, `ModelCheckpoint`).

    Example:
    >>> tracked_callbacks([keras.callbacks.EarlyStopping(), keras.callbacks.History()])
    [<keras.src.callbacks.early_stopping.EarlyStopping object at ...>]
    """
    return [c for c in callbacks if isinstance(c, tuple(_TRACKED))]


def replay_shuffles(dataset: tf.data.Dataset, finished_epochs: int) -> None:
    """Draw the shuffle orders `finished_epochs` epochs of Keras's `fit` drew, so a resumed run's
    next epoch sees the batches the uninterrupted run's would have (each new iterator of a
    seeded, reshuffling `tf.data` pipeline draws the next order). `fit` makes two iterators per
    epoch of known length (the second, made at the epoch's end, goes unused) and one otherwise.

    Example:
    >>> ds = tf.data.Dataset.range(4).shuffle(4, seed=0)
    >>> replay_shuffles(ds, 1)  # then ds's next iterator draws the order of fit's second epoch
    """
    for _ in range(fit_shuffles_per_epoch(dataset) * finished_epochs):
        iter(dataset)


def fit_shuffles_per_epoch(dataset: tf.data.Dataset) -> int:
    """How many iterators (so shuffle orders) Keras 3's `fit` on one device makes of `dataset` per epoch:
    two when its length is known (the second, made at the epoch's end, goes unused), else one.

    Example:
    >>> fit_shuffles_per_epoch(tf.data.Dataset.range(4).batch(2)), fit_shuffles_per_epoch(tf.data.Dataset.range(4).repeat())
    (2, 1)
    """
    return 2 if int(dataset.cardinality()) > 0 else 1


def backed_up_epochs(backup_dir: str | os.PathLike) -> int:
    """The finished epochs an `IntervalBackupAndRestore` in `backup_dir` resumes after (0: none).

    Example:
    >>> import tempfile
    >>> backed_up_epochs(tempfile.mkdtemp())
    0
    """
    path = Path(backup_dir) / METADATA_FILE
    try:
        return int(json.loads(path.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


class TrainingBackup:
    """Each epoch's training state in `directory` (`tf.train.CheckpointManager`), restored at start.

    The checkpoint holds every model variable (weights, normalization statistics, dropout seed
    state) and every optimizer variable; `history.json` beside it holds the logs of the finished
    epochs. The checkpoint number is the number of finished epochs (`epoch-3` = resume at epoch
    index 3). Only the chief writes to `directory`; other workers write the same checkpoint to a
    temporary directory and delete it (every worker must take part in saving). Every worker
    restores from `directory`, so on a cluster it must be on storage all workers read (NFS, GCS).

    Args:
        model: a built, compiled Keras model (its optimizer built).
        strategy: the strategy the model was built under.
        directory: str or path. The backup directory, e.g. `<run_dir>/backup`.

    Example:
    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> model.optimizer.build(model.trainable_variables)
    >>> backup = TrainingBackup(model, tf.distribute.get_strategy(), tempfile.mkdtemp())
    >>> backup.save(1, {"loss": [0.5]})
    >>> backup.restore()
    (1, {'loss': [0.5]})
    """

    def __init__(self, model: keras.Model, strategy: tf.distribute.Strategy, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.strategy = strategy
        self.chief = is_chief(strategy)
        self.checkpoint = tf.train.Checkpoint(model=list(model.variables), optimizer=list(model.optimizer.variables))
        self.manager = self._manager(self.directory) if self.chief else None

    def restore(self) -> tuple[int, dict[str, list[float]]]:
        """Load the latest checkpoint, if any: `(finished_epochs, history_so_far)`, else `(0, {})`."""
        path = tf.train.latest_checkpoint(str(self.directory))
        epochs = int(path.rsplit("-", 1)[1]) if path else 0
        if isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            _check_same_on_all_workers(self.strategy, epochs, f"finished epochs in the backup {self.directory}")
        if not path:
            return 0, {}
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (AssertionError, ValueError) as e:
            raise ConfigError(
                f"The backup {path} does not match this model ({str(e).splitlines()[0]}); delete {self.directory} "
                "to start over."
            ) from None
        history: dict[str, list[float]] = {}
        history_path = self.directory / HISTORY_FILE
        if history_path.is_file():
            history = {k: v[:epochs] for k, v in json.loads(history_path.read_text()).items()}
        return epochs, history

    def save(self, epochs: int, history: Mapping[str, Sequence[float]]) -> None:
        """Save the state after `epochs` finished epochs (every worker must call this)."""
        target = self.directory if self.chief else Path(tempfile.mkdtemp(prefix="zoo-worker-backup-"))
        target.mkdir(parents=True, exist_ok=True)
        if self.chief:  # history first: restore() cuts it to the checkpoint's epochs
            _replace_json(target / HISTORY_FILE, {k: list(v) for k, v in history.items()})
        (self.manager or self._manager(target)).save(checkpoint_number=epochs)
        if not self.chief:
            shutil.rmtree(target, ignore_errors=True)

    def _manager(self, directory: Path) -> tf.train.CheckpointManager:
        return tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=2, checkpoint_name=CHECKPOINT_NAME)

    def delete(self) -> None:
        """Remove the backup (the chief's files) once training has finished.

        Also removes what a run killed in the middle of a save leaves behind: TensorFlow's
        `checkpoint.tmp<hex>` and `epoch-<n>_temp/` and this class's `.history.json.tmp`. Files it
        did not write stay, and so does the directory then.
        """
        if not (self.chief and self.directory.is_dir()):
            return
        for path in self.directory.iterdir():
            if _is_backup_file(path.name):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        if not any(self.directory.iterdir()):
            self.directory.rmdir()


def _is_backup_file(name: str) -> bool:
    """Whether `name` in a backup directory was written by `TrainingBackup` (or its interrupted saves)."""
    return (name in ("checkpoint", HISTORY_FILE, f".{HISTORY_FILE}.tmp")
            or name.startswith(("checkpoint.tmp", CHECKPOINT_NAME + "-")))


def _check_same_on_all_workers(strategy: tf.distribute.Strategy, value: int, what: str) -> None:
    """Raise `ConfigError` unless every worker holds the same `value` (else they would hang apart)."""

    @tf.function
    def sums():
        def replica_fn():
            ctx = tf.distribute.get_replica_context()
            v = tf.constant(float(value))
            return ctx.all_reduce("SUM", v), ctx.all_reduce("SUM", v * v)

        total, squares = strategy.run(replica_fn)
        return strategy.experimental_local_results(total)[0], strategy.experimental_local_results(squares)[0]

    total, squares = (float(t) for t in sums())
    replicas = strategy.num_replicas_in_sync
    if not np.isclose(squares * replicas, total * total):  # equal iff all values are equal
        raise ConfigError(
            f"The workers disagree on the {what} (this worker: {value}; mean over replicas: {total / replicas:g}). "
            "Put the backup directory on storage every worker can read, with the same path."
        )


# === The workers agree before they train ===

# RunConfig fields that may differ between workers: where each machine keeps the data, what only the chief
# writes (TensorBoard logs), and the backup interval (custom_fit backs up after every epoch regardless).
PER_WORKER_FIELDS = ("data_dir", "tensorboard", "backup_every")


def run_fingerprint(config: Mapping[str, Any], data_fingerprint: str) -> dict[str, Any]:
    """What every worker of one multi-worker run must share, by part: a `RunConfig` as a dict, and
    the fingerprint of the data as prepared (`zoo.harness.fit.data_fingerprint`).

    Example:
    >>> sorted(run_fingerprint({"task": {"name": "t", "training": {"epochs": 3}}, "seed": 1}, "ab12"))
    ['data', 'run settings', 'seed', 'task', 'training config']
    """
    task = dict(config.get("task", {}))
    training = task.pop("training", {})
    settings = {k: v for k, v in config.items() if k not in ("task", "seed", *PER_WORKER_FIELDS)}
    return {"task": task, "training config": training, "seed": config.get("seed"), "data": data_fingerprint,
            "run settings": settings}


def _code(value: Any) -> int:
    """An int64 standing for `value`: a small int itself (so a message can show it), else 62 bits of a sha256."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**62:
        return value
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def check_workers_agree(strategy: tf.distribute.Strategy, parts: Mapping[str, Any]) -> None:
    """Raise `ConfigError` on every worker unless all the workers of `strategy` hold the same `parts`.

    Workers started with different seeds, tasks, data or training settings would each run, all-reduce
    gradients of different batches and models and finish with status 0 and a damaged model. Each
    worker turns every part into an int64 (`_code`: the value for an int, a hash otherwise) and the
    workers gather them in one collective before training: every worker then names the parts that
    differ and the workers holding each value. A no-op unless the strategy spans several workers.

    Args:
        strategy: the strategy the run trains under.
        parts: `{name: JSON-able value}`, e.g. `run_fingerprint(config, data_fingerprint)`.

    Example:
    >>> check_workers_agree(tf.distribute.get_strategy(), {"seed": 1})  # one process: nothing to compare
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    names = list(parts)
    codes = tf.constant([[_code(parts[n]) for n in names]], tf.int64)

    def replica_fn():
        return tf.distribute.get_replica_context().all_gather(codes, axis=0)

    @tf.function
    def gather():
        return strategy.experimental_local_results(strategy.run(replica_fn))[0]

    table = wait_for_workers(lambda: gather().numpy(), "checking that the workers run the same configuration")
    rows = table[::max(1, len(strategy.extended.worker_devices))]  # one row per worker (one per replica before)
    differ = [j for j in range(len(names)) if len(set(rows[:, j].tolist())) > 1]
    if not differ:
        return
    me = strategy.cluster_resolver.task_id if strategy.cluster_resolver is not None else "?"
    details = []
    for j in differ:
        groups: dict[int, list[int]] = {}
        for worker, code in enumerate(rows[:, j].tolist()):
            groups.setdefault(code, []).append(worker)
        shown = isinstance(parts[names[j]], int)
        details.append(f"{names[j]} (" + "; ".join(
            f"worker{'s' if len(ws) > 1 else ''} {', '.join(map(str, ws))}" + (f": {code}" if shown else "")
            for code, ws in groups.items()) + ")")
    raise ConfigError(
        f"The workers of this multi-worker run were started with different configurations: {'; '.join(details)} "
        f"differ{'s' if len(details) == 1 else ''} (this is worker {me}). Trained together they would mix the "
        "gradients of different models and data; start every worker with the same command and data (only "
        "TF_CONFIG's task index differs)."
    )


# === The custom loop ===


def _loss_tracker(model: keras.Model) -> keras.metrics.Metric:
    return next(m for m in model.metrics if m.name == "loss")


def _make_step(model: keras.Model, strategy: tf.distribute.Strategy, spec: Any, training: bool):
    """A `tf.function` that runs one distributed train (or eval) step and returns the running logs.

    Each replica computes the compiled loss on its part of the global batch and weights it by
    its share (local size / global size), so the summed gradient is that of the mean loss over
    the whole global batch, even when the last batch does not split evenly across replicas.
    Metric states are summed across replicas in one all-reduce per step (not one per variable).
    """
    replicas = strategy.num_replicas_in_sync
    tracker = _loss_tracker(model)
    if any(v.aggregation != "sum" for m in model.metrics for v in m.variables):
        raise ConfigError("custom_fit: every metric variable must have aggregation='sum' (all Keras metrics do).")

    def replica_step(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        ctx = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            y_pred = model(x, training=training)
            # Keras divides the local mean loss by the number of replicas; undo that, then weight
            # by this replica's share of the global batch.
            local = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
            local = local * tf.cast(replicas, local.dtype)
            n = tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], local.dtype)
            loss = local * n / ctx.all_reduce("SUM", n)
            scaled = model.optimizer.scale_loss(loss)
        if training:
            grads = tape.gradient(scaled, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        tracker.update_state(local, sample_weight=n)
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        totals = iter(ctx.all_reduce("SUM", [tf.identity(v.value) for m in model.metrics for v in m.variables]))
        logs = {}
        for metric in model.metrics:
            result = metric.stateless_result([next(totals) for _ in metric.variables])
            logs.update(result if isinstance(result, dict) else {metric.name: result})
        return logs

    @tf.function(input_signature=(spec,))
    def step(data):
        return strategy.experimental_local_results(strategy.run(replica_step, args=(data,)))[0]

    return step


def _as_floats(logs: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(np.asarray(v)) for k, v in logs.items()}


# What a collective raises when another worker died or was cut off ("Collective ops is aborted by: ... tasks
# are unhealthy", "Connection reset by peer", a deadline).
LOST_WORKER_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError,
                      tf.errors.CancelledError)


def lost_worker_error(error: Exception, epoch: int, saved: int, backup_dir: Path | None) -> WorkerError:
    """The `WorkerError` for a collective that failed because a worker was lost during `epoch` (0-based),
    saying how to resume; `saved` is the number of finished epochs the backup in `backup_dir` holds.

    Example:
    >>> print(lost_worker_error(RuntimeError("Connection reset by peer"), 4, 4, Path("runs/r/backup")))
    ... # doctest: +NORMALIZE_WHITESPACE
    A worker of this multi-worker run was lost during epoch 5 (TensorFlow: Connection reset by peer). Restart
    every worker with the same command (the same TF_CONFIG each): training resumes from the last backup,
    runs/r/backup, after epoch 4.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    detail = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]  # "... unhealthy: /job:worker/task:1"
    detail = detail.split("}} ", 1)[-1][:300]  # past TensorFlow's {{function_node ...}} prefix
    if backup_dir is not None and saved:
        resume = f"training resumes from the last backup, {backup_dir}, after epoch {saved}."
    elif backup_dir is not None:
        resume = f"no epoch had been backed up yet ({backup_dir}), so training starts over."
    else:
        resume = "there is no backup (backup_dir=None), so training starts over."
    return WorkerError(f"A worker of this multi-worker run was lost during epoch {epoch + 1} (TensorFlow: {detail}). "
                       f"Restart every worker with the same command (the same TF_CONFIG each): {resume}")


def custom_fit(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    val_ds: tf.data.Dataset | None = None,
    *,
    strategy: tf.distribute.Strategy | None = None,
    epochs: int = 1,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    class_weight: Mapping[int, float] | None = None,
    verbose: int | str = "auto",
    backup_dir: str | os.PathLike | None = None,
) -> dict[str, list[float]]:
    """Train a compiled Keras model with a distributed custom loop; `model.fit`'s results, any strategy.

    Same contract as `model.fit(train_ds, validation_data=val_ds, ...)`: the global batch is the
    dataset's batch (split across replicas by `strategy.experimental_distribute_dataset`), the
    loss is the compiled loss averaged over the global batch, metrics are aggregated across
    replicas and workers, callbacks (EarlyStopping, TensorBoard, ...) see the same log keys
    (`loss`, metric names, `val_*`), and a Keras progress bar shows on the chief.

    With `backup_dir`, the training state is saved after every epoch (`TrainingBackup`) and
    restored at start: a killed job, started again with the same arguments, resumes at the epoch
    after the last one saved, replays the dataset's per-epoch shuffles it skipped (so it ends
    with the same weights as a run never stopped), and returns the history of all epochs. The
    backup is deleted when training ends normally. Callback state (e.g. EarlyStopping's patience
    count) restarts at resume, as with `keras.callbacks.BackupAndRestore`.

    Args:
        model: a Keras model built and compiled under `strategy.scope()`.
        train_ds: a batched `tf.data.Dataset` of `(x, y)` or `(x, y, sample_weight)`.
        val_ds: optional batched validation dataset, evaluated after each epoch.
        strategy: the `tf.distribute.Strategy` (default: the model's).
        epochs: int. Total epochs (including any restored from the backup).
        callbacks: Keras callbacks (not `BackupAndRestore`: pass `backup_dir`).
        class_weight: optional `{class_index: weight}`, as in `fit`.
        verbose: `"auto"`/1 (progress bar), 2 (one line per epoch) or 0; workers are always quiet.
        backup_dir: optional str or path. Where to keep the per-epoch backup (`<run_dir>/backup`).

    Returns:
        The history, `{"loss": [...], "val_loss": [...], ...}` as `fit(...).history`.

    Example:
    >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    >>> ds = tf.data.Dataset.from_tensor_slices((x, x.sum(1))).batch(16)
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    >>> history = custom_fit(model, ds, ds, epochs=2, verbose=0)
    >>> sorted(history), len(history["loss"])
    (['loss', 'mae', 'val_loss', 'val_mae'], 2)
    """
    strategy = strategy or model.distribute_strategy
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise ConfigError("custom_fit: compile the model (optimizer and loss) before training.")
    if strategy.num_replicas_in_sync > 1 and model.distribute_strategy is not strategy:
        raise ConfigError("custom_fit: build and compile the model under `strategy.scope()` of the strategy passed.")
    if any(isinstance(c, keras.callbacks.BackupAndRestore) for c in callbacks):
        raise ConfigError("custom_fit: pass `backup_dir=` instead of a BackupAndRestore callback.")
    if train_ds.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ConfigError("custom_fit: train_ds repeats forever; an epoch is one pass, so drop the `.repeat()`.")
    if class_weight:
        from keras.src.trainers.data_adapters.tf_dataset_adapter import make_class_weight_map_fn

        train_ds = train_ds.map(make_class_weight_map_fn(dict(class_weight)))
    with strategy.scope():
        # What fit does before its first step, from the dataset's spec instead of a distributed
        # batch (reducing that batch is what fails under MultiWorkerMirroredStrategy, keras#20585).
        build_training_state(model, train_ds.element_spec)
        backup = TrainingBackup(model, strategy, backup_dir) if backup_dir is not None else None
    initial_epoch, history = backup.restore() if backup else (0, {})

    train_dist = strategy.experimental_distribute_dataset(train_ds)
    val_dist = strategy.experimental_distribute_dataset(val_ds) if val_ds is not None else None
    train_step = _make_step(model, strategy, train_dist.element_spec, training=True)
    test_step = _make_step(model, strategy, val_dist.element_spec, training=False) if val_dist is not None else None
    # Each new iterator draws the next shuffle order. Draw as many per epoch as `fit` does on one device (two
    # for a dataset of known length: it makes the next epoch's iterator at the end of each epoch, unused), so
    # epoch k sees the batches of fit's epoch k; a resumed run first draws those of the epochs it skips.
    per_epoch = fit_shuffles_per_epoch(train_ds)
    for _ in range(per_epoch * initial_epoch):
        iter(train_dist)

    verbose = (1 if verbose == "auto" else int(verbose)) if is_chief(strategy) else 0
    steps = int(train_ds.cardinality())
    cbs = keras.callbacks.CallbackList(list(callbacks), add_history=True, add_progbar=verbose != 0, model=model,
                                       verbose=verbose, epochs=epochs, steps=steps if steps >= 0 else None)
    model.stop_training = False
    cbs.on_train_begin()
    logs: dict[str, float] = {}
    saved = initial_epoch  # finished epochs the backup holds
    for epoch in range(initial_epoch, epochs):
        try:
            model.reset_metrics()
            cbs.on_epoch_begin(epoch)
            for i, batch in enumerate(train_dist):
                cbs.on_train_batch_begin(i)
                logs = _as_floats(train_step(batch))
                cbs.on_train_batch_end(i, logs)
            if test_step is not None:
                model.reset_metrics()
                cbs.on_test_begin()
                val_logs: dict[str, float] = {}
                for i, batch in enumerate(val_dist):
                    cbs.on_test_batch_begin(i)
                    val_logs = _as_floats(test_step(batch))
                    cbs.on_test_batch_end(i, val_logs)
                cbs.on_test_end(val_logs)
                logs = {**logs, **{f"val_{k}": v for k, v in val_logs.items()}}
            cbs.on_epoch_end(epoch, logs)
            for k, v in logs.items():
                history.setdefault(k, []).append(v)
            for _ in range(per_epoch - 1):  # the orders fit draws and leaves unused
                iter(train_dist)
            if backup:
                backup.save(epoch + 1, history)
                saved = epoch + 1
        except LOST_WORKER_ERRORS as e:
            if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
                raise
            raise lost_worker_error(e, epoch, saved, backup.directory if backup else None) from None
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    if backup:
        backup.delete()
    return history


def train_model(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    val_ds: tf.data.Dataset | None = None,
    *,
    strategy: tf.distribute.Strategy,
    epochs: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    class_weight: Mapping[int, float] | None = None,
    verbose: int | str = "auto",
    backup_dir: str | os.PathLike | None = None,
    backup_every: float = 0.0,
    batch_size: int | None = None,
    keep_backup: bool = False,
) -> dict[str, list[float]]:
    """Train with `model.fit`, or with `custom_fit` where `fit` cannot run (`uses_custom_loop`).

    Either way the optimizer and metric variables are built before the first step
    (`build_training_state`), so the step is traced once, also after a recompile.

    With `backup_dir`, `fit` gets `IntervalBackupAndRestore(backup_dir, backup_every)` (after the
    callbacks, tracking their early stopping and checkpoint progress; the finished epochs' shuffles
    are replayed) and `custom_fit` its own per-epoch checkpoint there; either way a killed run
    resumes as if it had never stopped, and the history returned holds every epoch.
    `custom_fit` saves after every epoch whatever `backup_every` says: its workers must all
    decide alike to save, and clocks differ between them.

    Args:
        model, train_ds, val_ds, epochs, callbacks, class_weight, verbose: as `model.fit`.
        strategy: the strategy the model was built under.
        backup_dir: optional str or path. Where to back up the training state.
        backup_every: float. `fit` path: minimum seconds between backups (0: every epoch).
        batch_size: optional int. The global batch of `train_ds`, to check it splits across replicas.
        keep_backup: `fit` path: keep the final state in `backup_dir` for the caller to delete once
            the model is saved (`IntervalBackupAndRestore(keep=True)`).

    Returns:
        The history dict (`fit(...).history`).

    Example:
    >>> x = np.ones((8, 2), "float32")
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> ds = tf.data.Dataset.from_tensor_slices((x, x[:, 0])).batch(4)
    >>> list(train_model(model, ds, strategy=tf.distribute.get_strategy(), epochs=1, verbose=0))
    ['loss']
    """
    if uses_custom_loop(strategy, batch_size):
        return custom_fit(model, train_ds, val_ds, strategy=strategy, epochs=epochs, callbacks=callbacks,
                          class_weight=class_weight, verbose=verbose, backup_dir=backup_dir)
    with strategy.scope():  # variables a recompile (e.g. `unfreeze`) left unbuilt; a no-op otherwise
        build_training_state(model, train_ds.element_spec)
    if backup_dir is None:
        return model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=list(callbacks),
                         class_weight=class_weight, verbose=verbose, shuffle=False).history
    backup = IntervalBackupAndRestore(backup_dir, backup_every, track=tracked_callbacks(callbacks), keep=keep_backup)
    replay_shuffles(train_ds, backed_up_epochs(backup_dir))
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[*callbacks, backup],
              class_weight=class_weight, verbose=verbose, shuffle=False)
    return backup.history  # every epoch's logs, those before a resume too
