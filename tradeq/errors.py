"""The errors a user can cause, and only those: each message names the setting, column, row or file.

The entry points catch :class:`TradeqError` and print its message as one ``error:`` line
(exit status 2, no traceback); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TradeqError(ValueError):
    """A problem with the user's input, stated in one line."""


class ConfigError(TradeqError):
    """A setting that cannot work with this model or data; the message names the setting."""


class DataError(TradeqError):
    """A panel that cannot be used as asked: missing column, wrong type, duplicate rows, empty sample."""
