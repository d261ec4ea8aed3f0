"""Backbones by name: a dict filled by the `@register_backbone` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from builders.errors import ConfigError, UnknownNameError, ZooError

_BACKBONES: dict[str, type] = {}


def register_backbone(name: str) -> Callable[[type], type]:
    """Class decorator that makes a backbone buildable by `name`.

    Example:
    >>> get_backbone_class("cnn").registered_name
    'cnn'
    """

    def decorator(cls: type) -> type:
        _BACKBONES[name] = cls
        cls.registered_name = name
        return cls

    return decorator


def list_backbones() -> list[str]:
    """Names of every registered backbone.

    Example:
    >>> "transformer" in list_backbones()
    True
    """
    return sorted(_BACKBONES)


def get_backbone_class(name: str) -> type:
    """The backbone class registered as `name`.

    Example:
    >>> get_backbone_class("rnn").__name__
    'RNNBackbone'
    """
    if name not in _BACKBONES:
        raise UnknownNameError(f"Unknown backbone '{name}'. Known backbones: {', '.join(list_backbones())}.")
    return _BACKBONES[name]


def build_backbone(name: str, **kwargs: Any):
    """Build the backbone registered as `name` with constructor arguments `kwargs`.

    Example:
    >>> build_backbone("rnn", sequence_length=5, num_features=3, units=4).output_shape
    (None, 4)
    """
    import inspect

    cls = get_backbone_class(name)
    params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
    unknown = sorted(set(kwargs) - set(params) - {"name", "trainable"})
    if unknown:
        raise UnknownNameError(f"Backbone '{name}': unknown argument(s) {unknown}. It takes: {', '.join(params)}.")
    try:
        return cls(**kwargs)
    except ZooError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError, OSError) as e:
        # A missing argument, or a value Keras cannot build from (a negative size, a float where an int goes, a
        # weights file that is not there): name the backbone and the arguments, not Keras's internals.
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"Backbone '{name}' cannot be built from ({shown}): {message}") from e
