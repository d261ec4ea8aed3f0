"""The zoo's own error types: every failure a user can cause ends in one of these."""

from builders.errors import ConfigError, UnknownNameError, ZooError

__all__ = [
    "ChecksumError",
    "ConfigError",
    "DataNotFoundError",
    "DataValidationError",
    "UnknownNameError",
    "ZooError",
]


class DataNotFoundError(ZooError, FileNotFoundError):
    """A dataset's files were not found; the message says where the zoo looked."""


class DataValidationError(ZooError, ValueError):
    """Input data failed a check; the message names the file, column or index."""


class ChecksumError(ZooError):
    """A file's checksum does not match the one the zoo expects."""
