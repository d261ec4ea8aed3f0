"""Vertical Zoo: industry tasks on Keras backbones, with one fit/evaluate harness.

Example:
>>> import zoo
>>> "medical/breastmnist" in zoo.list_tasks()
True
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported: keep its C++ logs quiet

from zoo.harness import Run, RunConfig, evaluate, fit, get_strategy, predict
from zoo.tasks import Task, get_task, list_tasks

__version__ = "0.1.0"

__all__ = ["Run", "RunConfig", "Task", "evaluate", "fit", "get_strategy", "get_task", "list_tasks", "predict"]

_SUBMODULES = ("benchmark", "data", "export", "report", "tasks", "transfer")


def __getattr__(name: str):
    """`zoo.transfer`, `zoo.export`, ... after a plain `import zoo` (imported on first use: they load keras-hub)."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
