"""Turn what users pass (arrays, DataFrames, SensorData) into validated float32 streams.

numpy only at import time; pandas objects are recognised without importing pandas here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError, DataTypeError

__all__ = [
    "Stream",
    "as_stream",
    "as_streams",
    "check_finite",
    "match_channels",
    "stream_for_model",
]


@dataclass(frozen=True)
class Stream:
    """A validated stream: ``values`` float32 ``(T, C)``, channel names, optional timestamps."""

    values: np.ndarray
    channels: list[str]
    timestamps: np.ndarray | None = None
    named: bool = False  # True when the channel names came from the data (DataFrame, SensorData)


def _is_pandas(obj: Any, kind: str) -> bool:
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == kind


def check_finite(values: np.ndarray, channels: Sequence[str], source: str = "X") -> None:
    """Raise a DataError naming the first NaN/inf: its column and its row."""
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = values[row, col]
        n_bad = int(bad.sum())
        raise DataError(
            f"{source}: column {channels[col]!r} has a non-finite value "
            f"({'NaN' if np.isnan(value) else value}) at row {row} (0-based; {n_bad} "
            "non-finite value(s) in all): the input contains NaN or infinity; clean the data "
            "first, e.g. read_sensors(..., nan_policy='interpolate')"
        )


def as_stream(X: Any, *, source: str = "X") -> Stream:
    """Validate one stream: a ``(T, C)`` or ``(T,)`` array, a DataFrame/Series, or SensorData.

    DataFrames keep their column names as channels and a DatetimeIndex as timestamps;
    non-numeric columns and NaN/inf values are errors that name the column and the row.

    Examples
    --------
    >>> s = as_stream([1.0, 2.0, 3.0])
    >>> s.values.shape, s.values.dtype, s.channels
    ((3, 1), dtype('float32'), ['channel_0'])
    >>> as_stream([[1.0, 2.0], [float("nan"), 0.5]], source="readings")
    Traceback (most recent call last):
    ...
    seqae.errors.DataError: readings: ...
    """
    timestamps = None
    named = False
    if type(X).__module__.startswith("scipy.sparse"):
        raise DataTypeError(
            f"{source}: sparse input is not supported; give a dense (timesteps, channels) "
            "array, e.g. X.toarray()"
        )
    if hasattr(X, "values") and hasattr(X, "channels") and not _is_pandas(X, "DataFrame"):
        values, channels, timestamps, named = X.values, list(X.channels), X.timestamps, True
        source = getattr(X, "source", source)
    elif _is_pandas(X, "DataFrame") or _is_pandas(X, "Series"):
        frame = X.to_frame() if _is_pandas(X, "Series") else X
        non_numeric = [c for c in frame.columns if frame[c].dtype.kind not in "biuf"]
        if non_numeric:
            col = non_numeric[0]
            raise DataTypeError(
                f"{source}: column {str(col)!r} is not numeric (dtype {frame[col].dtype}, first "
                f"value {frame[col].iloc[0]!r}); keep only numeric sensor columns"
            )
        values, channels, named = frame.to_numpy(dtype=np.float64), [str(c) for c in frame], True
        if type(frame.index).__name__ == "DatetimeIndex":
            timestamps = frame.index.to_numpy()
    else:
        try:
            values = np.asarray(X)
            if values.dtype.kind == "c":
                raise DataTypeError(
                    f"{source}: Complex data not supported; give real (timesteps, channels) numbers"
                )
            if values.dtype.kind != "f":  # float32 data stays as it is: no copy to score it
                values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DataTypeError):
                raise
            raise DataTypeError(
                f"{source}: expected numeric (timesteps, channels) data: {exc}"
            ) from None
        channels = []
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise DataError(
            f"{source}: expected a (timesteps, channels) array, got shape {values.shape}"
        )
    if values.shape[0] == 0:
        raise DataError(
            f"{source}: no data: 0 timestep(s) (shape={values.shape}) while a minimum of 1 is "
            "required"
        )
    if values.shape[1] == 0:
        raise DataError(
            f"{source}: no data: 0 feature(s) (shape={values.shape}) while a minimum of 1 is "
            "required (one per channel)"
        )
    if not channels:
        channels = [f"channel_{i}" for i in range(values.shape[1])]
    check_finite(values, channels, source)
    if timestamps is not None:
        timestamps = np.asarray(timestamps)
    values = np.ascontiguousarray(values, dtype=np.float32)
    return Stream(values, channels, timestamps, named)


def as_streams(X: Any, *, source: str = "X") -> list[Stream]:
    """Validate one stream or a list/tuple of streams (several recordings of normal data)."""
    items = list(X) if isinstance(X, (list, tuple)) else [X]
    if not items:
        raise DataError(f"{source}: empty list: give at least one (timesteps, channels) array")
    streams = [
        as_stream(x, source=f"{source}[{i}]" if len(items) > 1 else source)
        for i, x in enumerate(items)
    ]
    widths = {s.values.shape[1] for s in streams}
    if len(widths) != 1:
        raise DataError(f"{source}: recordings have different channel counts {sorted(widths)}")
    return streams


def match_channels(
    stream: Stream, expected: Sequence[str], *, source: str = "X", owner: str = "the model"
) -> Stream:
    """Check a stream against the channels a model was fitted on; reorder by name if needed.

    Named data (DataFrame, SensorData) is matched by name, so columns may come in any order and
    extra columns are ignored; a missing channel is an error. Unnamed arrays must have exactly
    the fitted number of channels, in the fitted order. ``owner`` names the model in messages.
    """
    expected = list(expected)
    # A model fitted on an unnamed array knows its channels by position only.
    generic = expected == [f"channel_{i}" for i in range(len(expected))]
    if stream.named and stream.channels != expected and not generic:
        missing = [c for c in expected if c not in stream.channels]
        if missing:
            raise DataError(
                f"{source}: missing channel(s) {missing}; the model was fitted on {expected}, "
                f"the data has {stream.channels}"
            )
        order = [stream.channels.index(c) for c in expected]
        values = np.ascontiguousarray(stream.values[:, order])
        return Stream(values, expected, stream.timestamps, True)
    n = stream.values.shape[1]
    if n != len(expected):
        # scikit-learn's wording, so its checks and users' habits recognise the error
        hint = "; Reshape your data: a 1-D array is one channel's series" if n == 1 else ""
        raise DataError(
            f"{source} has {n} features, but {owner} is expecting {len(expected)} features as "
            f"input ({source}: has {n} channel(s), the model expects {len(expected)}: "
            f"{expected}){hint}"
        )
    return stream


def stream_for_model(
    X: Any, channels: Sequence[str], *, source: str = "X", owner: str = "the model"
) -> Stream:
    """Validate ``X`` and match it to a fitted model's ``channels``.

    A DataFrame that holds every fitted channel by name is cut to them first, so its other
    columns (a time stamp, a label, a comment) may be of any type.
    """
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "iloc"):
        names = [str(c) for c in columns]
        if len(names) > len(channels) and all(c in names for c in channels):
            X = X[[columns[names.index(c)] for c in channels]]
    return match_channels(as_stream(X, source=source), channels, source=source, owner=owner)
