"""The task catalogue. Importing this package registers every industry's tasks."""

from zoo.tasks import finance, generic, manufacturing, medical, retail  # noqa: F401  (registration side effect)
from zoo.tasks.base import BackboneSpec, Baseline, Task, TrainingConfig
from zoo.tasks.registry import get_task, list_tasks, register_task

__all__ = ["BackboneSpec", "Baseline", "Task", "TrainingConfig", "get_task", "list_tasks", "register_task"]
