"""Argument checks shared by the builders: sizes and lists of sizes, refused with a `ConfigError`
that names the argument, the allowed range and the value received (as sklearn's `check_scalar`,
and in the same words as `zoo`'s `check_number`)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

from builders.errors import ConfigError


def is_int(value) -> bool:
    """True for Python and NumPy integers, False for bools, floats and strings.

    Example:
    >>> is_int(3), is_int(True), is_int(3.0), is_int("3")
    (True, False, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_size(owner: str, name: str, value, minimum: int = 1, optional: bool = False) -> int | None:
    """`value` as an `int` if it is an integer >= `minimum` (or None when `optional`), else a `ConfigError`.

    Args:
        owner: str. Who takes the argument, e.g. `"RNNBackbone"`, for the message.
        name: str. The argument's name.
        value: the value received.
        minimum: int. The smallest allowed value.
        optional: bool. Whether None is allowed (and returned as None).

    Example:
    >>> check_size("RNNBackbone", "units", 8)
    8
    >>> check_size("RNNBackbone", "units", 0)
    Traceback (most recent call last):
    builders.errors.ConfigError: RNNBackbone: units must be an integer >= 1, got 0.
    """
    if value is None and optional:
        return None
    if not is_int(value) or value < minimum:
        allowed = f"an integer >= {minimum}{' or None' if optional else ''}"
        got = f"{value!r}" + ("" if is_int(value) or value is None else f" ({type(value).__name__})")
        raise ConfigError(f"{owner}: {name} must be {allowed}, got {got}.")
    return int(value)


def check_sizes(owner: str, name: str, values, minimum: int = 1) -> tuple[int, ...]:
    """`values` as a tuple of `int` if it is a list or tuple of integers >= `minimum`, else a `ConfigError`.

    A string is refused rather than read character by character (`"64"` is not `[6, 4]`).

    Example:
    >>> check_sizes("TabularBackbone", "hidden_units", [64, 32])
    (64, 32)
    >>> check_sizes("TabularBackbone", "hidden_units", "64")
    Traceback (most recent call last):
    builders.errors.ConfigError: TabularBackbone: hidden_units must be a list of integers >= 1, got '64' (str).
    """
    items = list(values) if isinstance(values, Iterable) and not isinstance(values, str | bytes) else None
    if items is None or not all(is_int(v) and v >= minimum for v in items):
        got = f"{values!r}" + (f" ({type(values).__name__})" if isinstance(values, str | bytes) else "")
        raise ConfigError(f"{owner}: {name} must be a list of integers >= {minimum}, got {got}.")
    return tuple(int(v) for v in items)
