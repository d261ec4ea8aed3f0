"""Tasks by name: `@register_task` fills the registry; `list_tasks` / `get_task` read it."""

from __future__ import annotations

from collections.abc import Callable

from zoo.errors import UnknownNameError
from zoo.tasks.base import Task, did_you_mean

_TASKS: dict[str, Callable[[], Task]] = {}


def register_task(factory: Callable[[], Task]) -> Callable[[], Task]:
    """Register a zero-argument function returning a `Task`, under the task's own name.

    Example:
    >>> "medical/breast_cancer_diagnosis" in list_tasks()
    True
    """
    _TASKS[factory().name] = factory
    return factory


def list_tasks(industry: str | None = None) -> list[str]:
    """Names of the registered tasks, optionally of one industry (an unknown one is an `UnknownNameError`).

    Example:
    >>> all(name.startswith("medical/") for name in list_tasks("medical"))
    True
    """
    names = sorted(n for n in _TASKS if industry is None or n.split("/")[0] == industry)
    if industry is not None and not names:
        industries = sorted({n.split("/")[0] for n in _TASKS})
        raise UnknownNameError(f"No tasks of industry '{industry}'.{did_you_mean(str(industry), industries)} "
                               f"Industries: {', '.join(industries)}.")
    return names


def get_task(name: str) -> Task:
    """A fresh copy of the task registered as `name`.

    Example:
    >>> get_task("medical/breast_cancer_diagnosis").modality
    'tabular'
    >>> get_task("medical/breast_cancer")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    builders.errors.UnknownNameError: Unknown task 'medical/breast_cancer'. Did you mean 'medical/breast_cancer_diagnosis'...
    """
    if name not in _TASKS:
        raise UnknownNameError(f"Unknown task '{name}'.{did_you_mean(str(name), _TASKS)} Known tasks:\n  "
                               + "\n  ".join(list_tasks()))
    return _TASKS[name]()
