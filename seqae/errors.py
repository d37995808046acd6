"""The exceptions seqae raises. Every user-facing failure is a :class:`SeqaeError`.

Each also derives from the built-in type scikit-learn (and most callers) expect: bad
parameters and bad data are :class:`ValueError` s (data that is not numbers also a
:class:`TypeError`), and :class:`NotFittedError` is
scikit-learn's ``sklearn.exceptions.NotFittedError`` (itself a ``ValueError`` and an
``AttributeError``). That one class is made on first use, so that importing
:mod:`seqae.files.runtime` (an edge service: numpy and onnxruntime only) never imports
scikit-learn; ``from seqae.errors import NotFittedError`` works as usual.

Examples
--------
>>> from seqae.scoring.windowing import sliding_windows
>>> try:
...     sliding_windows([[1.0], [2.0]], frame=0, step=1)
... except SeqaeError as exc:  # one root for every error seqae raises on purpose
...     print(type(exc).__name__, isinstance(exc, ValueError))
ParameterError True
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = [
    "DataError",
    "DataTypeError",
    "ModelFormatError",
    "NotFittedError",  # noqa: F822 (made on first use by __getattr__ below)
    "ParameterError",
    "SeqaeError",
]


class SeqaeError(Exception):
    """Root of every error seqae raises on purpose; the CLI turns it into a clean message."""


class ParameterError(SeqaeError, ValueError):
    """A parameter or option has an invalid value (the CLI exits 2: a usage error)."""


class DataError(SeqaeError, ValueError):
    """Input data is unusable: names the file, column, row and what was expected (exit 3)."""


class DataTypeError(DataError, TypeError):
    """Input data is not numbers (text, objects): also a ``TypeError``, as numpy raises."""


class ModelFormatError(SeqaeError):
    """A saved or exported model is corrupted, truncated, foreign or too new (exit 3)."""


_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name != "NotFittedError":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        if "NotFittedError" not in globals():
            try:
                from sklearn.exceptions import NotFittedError as SklearnNotFittedError
            except ImportError:  # the runtime install: scikit-learn's own bases, no sklearn

                class SklearnNotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
                    pass

            class NotFittedError(SeqaeError, SklearnNotFittedError):
                """A method that needs a fitted detector was called before ``fit``.

                Also scikit-learn's ``NotFittedError``, so ``check_is_fitted`` callers and
                scikit-learn's own checks recognise it.
                """

            NotFittedError.__module__ = __name__
            globals()["NotFittedError"] = NotFittedError
    return globals()["NotFittedError"]
