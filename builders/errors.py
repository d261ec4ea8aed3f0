"""Error types shared by `builders` and `zoo` (zoo re-exports and extends them)."""


class ZooError(Exception):
    """Base class of every error Vertical Zoo raises on purpose.

    The `zoo` CLI prints the message of a `ZooError` and exits with status 2 instead of
    showing a traceback.
    """


class ConfigError(ZooError, ValueError):
    """A configuration field has a value that cannot be used; the message names it."""


class UnknownNameError(ZooError, KeyError):
    """A task, backbone, head or strategy name is not registered; the message lists known ones."""

    def __str__(self) -> str:  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""
