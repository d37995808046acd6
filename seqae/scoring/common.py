"""Checks and small helpers shared inside seqae: one copy of each, with public names.

Numbers, integer parameters, 0/1 labels, score arrays and matching lengths are checked here
for :mod:`seqae.scoring.events`, :mod:`seqae.scoring.thresholds`, :mod:`seqae.metrics`, the
fitted-state reader and :class:`seqae.Detector`; :func:`merge_intervals` and :func:`iso` serve
the event and metric code. Pure numpy. Internal to the package: the names are public so that
modules can share them, not a promise to users.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from ..errors import DataError, ParameterError

__all__ = [
    "as_scores",
    "binary_labels",
    "check_int",
    "check_same_length",
    "is_number",
    "iso",
    "merge_intervals",
]


def is_number(value: Any) -> bool:
    """True for Python and numpy real numbers, False for bools and everything else.

    Examples
    --------
    >>> is_number(np.float32(1.5)), is_number(True), is_number("1")
    (True, False, False)
    """
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def binary_labels(labels: Any, name: str = "labels", *, ravel: bool = False) -> np.ndarray:
    """Validate 0/1 labels (bool, integer or float) and return them as a uint8 array.

    The one label check shared by :mod:`seqae.scoring.events` and :mod:`seqae.metrics`.
    """
    arr = np.asarray(labels)
    if ravel:
        arr = arr.ravel()
    elif arr.ndim != 1:
        raise DataError(f"{name} must be a 1-D array of 0/1 labels, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if arr.dtype.kind not in "iuf":
        raise DataError(f"{name} must hold numbers 0 or 1, got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)  # NaN is caught here too
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name} must hold only 0 and 1 (binary labels), got {arr[i]!r} at index {i}"
        )
    return arr.astype(np.uint8)


def as_scores(scores: Any, name: str = "scores", *, drop_nan: bool = True) -> np.ndarray:
    """Validate scores and return them as a flat float64 array.

    The one score check shared by :mod:`seqae.scoring.events`, :mod:`seqae.scoring.thresholds` and
    :mod:`seqae.metrics`. With
    ``drop_nan`` NaN scores are removed (unsupervised rules); without it they are an error
    (metrics, where scores must stay aligned with labels).
    """
    try:
        x = np.asarray(scores, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric, got {type(scores).__name__}: {exc}") from None
    nan = np.isnan(x)
    if nan.any():
        if not drop_nan:
            i = int(np.flatnonzero(nan)[0])
            raise DataError(f"{name} contain NaN (first at index {i}); scores must be finite")
        x = x[~nan]
    if x.size == 0:
        raise DataError(f"{name} are empty (or all NaN): give at least one finite score")
    if np.isinf(x).any():
        i = int(np.flatnonzero(np.isinf(x))[0])
        raise DataError(f"{name} contain inf (at index {i} of the non-NaN scores)")
    return x


def check_same_length(**arrays: np.ndarray) -> None:
    """Raise a DataError naming the arguments when their first dimensions differ."""
    shapes = {name: np.shape(a) for name, a in arrays.items()}
    if len({s[0] if s else None for s in shapes.values()}) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise DataError(f"length mismatch: {listed}; they must have the same length")


def merge_intervals(intervals: np.ndarray, max_gap: int) -> np.ndarray:
    """Merge sorted ``[start, end)`` intervals separated by at most ``max_gap`` steps.

    Examples
    --------
    >>> merge_intervals(np.array([[0, 2], [3, 5], [9, 10]]), 1).tolist()
    [[0, 5], [9, 10]]
    """
    if len(intervals) < 2:
        return intervals
    new_event = np.concatenate([[True], intervals[1:, 0] - intervals[:-1, 1] > max_gap])
    group = np.cumsum(new_event) - 1
    ends = np.zeros(group[-1] + 1, dtype=np.int64)
    np.maximum.at(ends, group, intervals[:, 1])
    return np.stack([intervals[new_event, 0], ends], axis=1)


def iso(value: Any) -> str:
    """One timestamp as text: ISO 8601 for datetimes, ``str`` for anything else."""
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return str(value)
