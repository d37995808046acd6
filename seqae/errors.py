"""The exceptions seqae raises. Every user-facing failure is a :class:`SeqaeError`.

Examples
--------
>>> from seqae.windowing import sliding_windows
>>> try:
...     sliding_windows([[1.0], [2.0]], frame=0, step=1)
... except SeqaeError as exc:  # one root for every error seqae raises on purpose
...     print(type(exc).__name__, isinstance(exc, ValueError))
ParameterError True
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "ModelFormatError",
    "NotFittedError",
    "ParameterError",
    "SeqaeError",
]


class SeqaeError(Exception):
    """Root of every error seqae raises on purpose; the CLI turns it into a clean message."""


class ParameterError(SeqaeError, ValueError):
    """A parameter or option has an invalid value (the CLI exits 2: a usage error)."""


class DataError(SeqaeError, ValueError):
    """Input data is unusable: names the file, column, row and what was expected (exit 3)."""


class NotFittedError(SeqaeError, AttributeError):
    """A method that needs a fitted detector was called before ``fit``."""


class ModelFormatError(SeqaeError):
    """A saved or exported model is corrupted, truncated, foreign or too new (exit 3)."""
