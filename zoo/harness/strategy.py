"""One function maps a strategy name to a tf.distribute strategy (as TF Model Garden does)."""

from __future__ import annotations

import json
import os
import warnings

import tensorflow as tf

from zoo.errors import ConfigError
from zoo.harness.distributed import await_peers, wait_for_workers

STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")


def _find_tpu():
    """A connected `TPUClusterResolver`, or None when no TPU answers.

    Any failure counts as "no TPU": besides ValueError/RuntimeError/NotFoundError, the resolver
    raises `urllib.error.URLError` (an OSError) when `TPU_NAME` is set but the GCE metadata server
    or the TPU's address does not answer, and other errors from deeper in TensorFlow.
    """
    for tpu in (None, "local"):  # a TPU node on the network, then a TPU attached to this VM (TPU VMs)
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return resolver
        except Exception:  # noqa: BLE001 -- URLError, gaierror, NotFoundError, ...: no TPU answered
            continue
    return None


def _multi_worker() -> tf.distribute.MultiWorkerMirroredStrategy:
    """`MultiWorkerMirroredStrategy()` once every worker of `TF_CONFIG` has started (`await_peers`: progress
    messages, a timeout `ZOO_WORKER_TIMEOUT`, Ctrl-C and SIGTERM honoured); its own wait, short then, is
    watched too (`wait_for_workers`)."""
    await_peers()
    return wait_for_workers(tf.distribute.MultiWorkerMirroredStrategy, "connecting to the cluster")


def get_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """A `tf.distribute.Strategy` by name.

    `"auto"`: TPU when one is found (Colab/Cloud TPU), `MultiWorkerMirroredStrategy` when
    `TF_CONFIG` names several workers, `MirroredStrategy` for several GPUs, else the default
    strategy. The others force one choice.

    Example:
    >>> get_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ConfigError(f"Unknown strategy '{name}'; choose one of {', '.join(STRATEGIES)}.")
    if name == "auto":
        if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"):
            resolver = _find_tpu()
            if resolver is not None:
                return tf.distribute.TPUStrategy(resolver)
            warnings.warn("strategy 'auto': COLAB_TPU_ADDR/TPU_NAME is set but no TPU answered; training without "
                          "a TPU. Pass --strategy tpu to make a missing TPU an error.", stacklevel=2)
        workers = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {}).get("worker", [])
        if len(workers) > 1:
            return _multi_worker()
        if len(tf.config.list_logical_devices("GPU")) > 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("strategy 'multi-worker' needs TF_CONFIG (cluster and task) in the environment.")
        return _multi_worker()
    resolver = _find_tpu()
    if resolver is None:
        raise ConfigError("strategy 'tpu': no TPU found (TPUClusterResolver failed).")
    return tf.distribute.TPUStrategy(resolver)


def default_precision(strategy: tf.distribute.Strategy) -> str:
    """`"mixed_bfloat16"` on TPU, `"mixed_float16"` on GPU, `"float32"` on CPU.

    Example:
    >>> default_precision(get_strategy("default"))
    'float32'
    """
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16"
    return "float32"
