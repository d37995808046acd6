"""Cut streams into frames and fold per-frame values back to one value per timestep.

Pure numpy: this module never imports torch, so the ONNX runtime shares it with the library.

A stream is ``(T, C)``: T timesteps, C channels. Frames of ``frame`` timesteps start every
``step`` timesteps. When the grid ``0, step, 2*step, ...`` does not reach the end of the stream
(``(T - frame) % step != 0``), one more frame is aligned to the end, so every timestep is
covered: :func:`frame_starts` lists that frame, :func:`sliding_windows` (a zero-copy strided
view) does not, because a strided view cannot hold an off-grid frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import DataError, ParameterError

__all__ = [
    "FoldAccumulator",
    "WindowSet",
    "check_frame_step",
    "fold",
    "frame_starts",
    "gather_windows",
    "n_grid_frames",
    "sliding_windows",
]

FoldRule = Literal["mean", "max", "median"]


def check_frame_step(frame: int, step: int, n_timesteps: int | None = None) -> None:
    """Validate frame/step arithmetic; raise a clear error naming the bad value.

    Raises
    ------
    ParameterError
        ``frame`` or ``step`` is not a positive integer.
    DataError
        The stream has fewer than ``frame`` timesteps.
    """
    for name, value in (("frame", frame), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ParameterError(f"{name} must be an integer >= 1, got {value!r}")
        if value < 1:
            raise ParameterError(f"{name} must be >= 1, got {value}")
    if n_timesteps is not None and n_timesteps < frame:
        raise DataError(
            f"frame={frame} is longer than the stream ({n_timesteps} timesteps): "
            f"give at least {frame} rows or use a smaller frame"
        )


def n_grid_frames(n_timesteps: int, frame: int, step: int) -> int:
    """Number of frames on the regular grid (those :func:`sliding_windows` returns)."""
    check_frame_step(frame, step, n_timesteps)
    return (n_timesteps - frame) // step + 1


def frame_starts(n_timesteps: int, frame: int, step: int) -> np.ndarray:
    """Start index of every frame, including an end-aligned frame that covers the tail.

    With ``step <= frame`` every timestep lies in at least one frame; a larger step leaves gaps
    (fine for sampling training frames; :func:`fold` rejects it).

    Examples
    --------
    >>> frame_starts(10, 4, 3).tolist()
    [0, 3, 6]
    >>> frame_starts(11, 4, 3).tolist()  # the grid stops at 6+4=10 < 11: one more frame at 7
    [0, 3, 6, 7]
    """
    n = n_grid_frames(n_timesteps, frame, step)
    starts = np.arange(n, dtype=np.int64) * step
    if starts[-1] + frame < n_timesteps:
        starts = np.append(starts, n_timesteps - frame)
    return starts


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim != 2:
        raise DataError(f"expected a (timesteps, channels) array, got shape {x.shape}")
    return x


def sliding_windows(x: np.ndarray, frame: int, step: int = 1) -> np.ndarray:
    """Zero-copy ``(N, frame, C)`` view of the grid frames of a ``(T, C)`` (or ``(T,)``) array.

    The view shares memory with ``x``: do not write to it. Frames start at ``0, step, ...``;
    the end-aligned tail frame of :func:`frame_starts`, when there is one, is not included.

    Examples
    --------
    >>> x = np.arange(10.0).reshape(5, 2)
    >>> w = sliding_windows(x, frame=3, step=2)
    >>> w.shape, np.shares_memory(w, x)
    ((2, 3, 2), True)
    """
    x = _as_2d(x)
    check_frame_step(frame, step, x.shape[0])
    view = sliding_window_view(x, frame, axis=0)  # (T - frame + 1, C, frame)
    return view[::step].transpose(0, 2, 1)


def gather_windows(x: np.ndarray, starts: np.ndarray | Sequence[int], frame: int) -> np.ndarray:
    """Copy the frames starting at ``starts`` into a contiguous ``(n, frame, C)`` array.

    Raises
    ------
    ParameterError
        A start is not an integer in ``[0, T - frame]`` (negative starts do not wrap).
    """
    x = _as_2d(x)
    check_frame_step(frame, 1, x.shape[0])
    starts = np.asarray(starts)
    if starts.size == 0:
        starts = starts.astype(np.int64)
    if starts.dtype.kind not in "iu":
        raise ParameterError(f"starts must be integers, got dtype {starts.dtype}")
    last = x.shape[0] - frame
    bad = (starts < 0) | (starts > last)
    if bad.any():
        raise ParameterError(
            f"starts must lie in [0, {last}] (T={x.shape[0]}, frame={frame}), "
            f"got {starts[bad].flat[0]}"
        )
    all_frames = sliding_window_view(x, frame, axis=0)  # (T - frame + 1, C, frame), a view
    return np.ascontiguousarray(all_frames[starts].transpose(0, 2, 1))


class WindowSet:
    """Frames from one or more recordings, indexed as one sequence, gathered on demand.

    Frames never span two recordings. Indexing with an integer array copies just those frames,
    so a training loop over millions of overlapping frames needs memory for one batch only.

    Parameters
    ----------
    streams : sequence of ndarray
        ``(T_i, C)`` arrays with the same number of channels.
    frame, step : int
        Frame length and the step between frame starts (tail frames included).

    Examples
    --------
    >>> ws = WindowSet([np.zeros((10, 2)), np.ones((6, 2))], frame=4, step=2)
    >>> len(ws), ws[np.array([0, 4])].shape
    (6, (2, 4, 2))
    """

    def __init__(self, streams: Sequence[np.ndarray], frame: int, step: int = 1) -> None:
        self.streams = [_as_2d(s) for s in streams]
        if not self.streams:
            raise DataError("no data: give at least one (timesteps, channels) array")
        widths = {s.shape[1] for s in self.streams}
        if len(widths) != 1:
            raise DataError(f"all recordings must have the same number of channels, got {widths}")
        check_frame_step(frame, step)
        for i, s in enumerate(self.streams):
            if len(s) < frame:
                raise DataError(
                    f"recording {i} has {len(s)} timesteps, fewer than frame={frame}: "
                    "drop it or use a smaller frame"
                )
        self.frame, self.step = frame, step
        starts = [frame_starts(len(s), frame, step) for s in self.streams]
        self.stream_index = np.concatenate(
            [np.full(len(st), i, dtype=np.int64) for i, st in enumerate(starts)]
        )
        self.starts = np.concatenate(starts)
        self._views = [sliding_window_view(s, frame, axis=0) for s in self.streams]

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self), self.frame, self.streams[0].shape[1])

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, idx: np.ndarray | slice | int) -> np.ndarray:
        if isinstance(idx, slice):
            idx = np.arange(*idx.indices(len(self)))
        idx = np.asarray(idx)
        if idx.dtype == np.bool_:
            if idx.shape != (len(self),):
                raise IndexError(f"boolean index of shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = idx.astype(np.int64)
        scalar = idx.ndim == 0
        idx = np.atleast_1d(idx)
        out = np.empty((len(idx), self.frame, self.streams[0].shape[1]), self.streams[0].dtype)
        which = self.stream_index[idx]
        for i in np.unique(which):
            mask = which == i
            out[mask] = self._views[i][self.starts[idx[mask]]].transpose(0, 2, 1)
        return out[0] if scalar else out


class FoldAccumulator:
    """Fold per-frame values into per-timestep values incrementally, batch by batch.

    Scoring millions of overlapping frames never holds them all: each batch of frame values is
    added as it is computed, and :meth:`result` returns the fold. :func:`fold` is the one-shot
    form of the same computation.

    Parameters
    ----------
    n_timesteps, frame, step : int
        The windowing (frames as listed by :func:`frame_starts`, tail frame included).
    how : {"mean", "max", "median"}
        How overlapping frames combine at a timestep. "median" keeps every overlapping value
        (memory ``n_timesteps * (ceil(frame / step) + 1)`` per channel).
    trailing_shape : tuple of int
        Shape of each timestep's value: ``()`` for scores, ``(C,)`` for per-channel values.

    Examples
    --------
    >>> acc = FoldAccumulator(n_timesteps=5, frame=3, step=2)
    >>> acc.add(0, np.array([[1.0, 1.0, 1.0]]))
    >>> acc.add(1, np.array([[3.0, 3.0, 3.0]]))
    >>> acc.result().tolist()
    [1.0, 1.0, 2.0, 3.0, 3.0]
    """

    def __init__(
        self,
        n_timesteps: int,
        frame: int,
        step: int,
        how: FoldRule = "mean",
        trailing_shape: tuple[int, ...] = (),
    ) -> None:
        if how not in ("mean", "max", "median"):
            raise ParameterError(f"how must be 'mean', 'max' or 'median', got {how!r}")
        self.starts = frame_starts(n_timesteps, frame, step)
        if step > frame:
            raise ParameterError(
                f"step={step} is larger than frame={frame}: the frames leave gaps, so some "
                "timesteps would get no value; fold needs step <= frame"
            )
        self.n_timesteps, self.frame, self.step, self.how = n_timesteps, frame, step, how
        self.trailing_shape = tuple(trailing_shape)
        self._count = np.zeros(n_timesteps, dtype=np.int64)
        if how == "median":
            # the most frames that can overlap one timestep, the tail frame included
            depth = -(-frame // step) + 1
            self._out = np.full((n_timesteps, depth, *self.trailing_shape), np.nan)
        else:
            fill = -np.inf if how == "max" else 0.0
            self._out = np.full((n_timesteps, *self.trailing_shape), fill)

    @property
    def n_frames(self) -> int:
        return len(self.starts)

    def add(self, first: int, values: np.ndarray) -> None:
        """Add the values of frames ``first, first + 1, ...`` (shape ``(n, frame, *trailing)``
        or ``(n,)`` / ``(n, *trailing)`` for one value per frame)."""
        values = np.asarray(values)
        starts = self.starts[first : first + len(values)]
        if len(starts) != len(values):
            raise DataError(
                f"values must hold one row per frame: expected {self.n_frames} frames "
                f"(frame={self.frame}, step={self.step}, {self.n_timesteps} timesteps, tail "
                f"frame included), got frames {first} to {first + len(values) - 1}"
            )
        if values.shape[1:] == self.trailing_shape:  # one value per frame: spread over it
            values = np.broadcast_to(
                values[:, None], (len(values), self.frame, *self.trailing_shape)
            )
        if values.shape[1:] != (self.frame, *self.trailing_shape):
            raise DataError(
                f"values must be shaped (frames, {self.frame}"
                f"{''.join(f', {d}' for d in self.trailing_shape)}), got {values.shape}"
            )
        # Within one offset k the indices starts + k are distinct, so plain fancy-index updates
        # are exact; the loop runs over the frame length, not over frames.
        for k in range(self.frame):
            idx = starts + k
            if self.how == "mean":
                self._out[idx] += values[:, k]
            elif self.how == "max":
                self._out[idx] = np.maximum(self._out[idx], values[:, k])
            else:
                self._out[idx, self._count[idx]] = values[:, k]
            self._count[idx] += 1

    def result(self) -> np.ndarray:
        """Per-timestep values, float64, ``(n_timesteps, *trailing_shape)``."""
        if (self._count == 0).any():
            missing = int(np.flatnonzero(self._count == 0)[0])
            raise DataError(f"fold is incomplete: timestep {missing} received no frame yet")
        if self.how == "median":
            return np.nanmedian(self._out, axis=1)
        if self.how == "max":
            return self._out.copy()
        return self._out / self._count.reshape(-1, *([1] * len(self.trailing_shape)))


def fold(
    values: np.ndarray,
    frame: int,
    step: int,
    n_timesteps: int,
    how: FoldRule = "mean",
) -> np.ndarray:
    """Fold per-frame values back to one value per timestep.

    Parameters
    ----------
    values : ndarray
        One row per frame of :func:`frame_starts` (tail frame included), shaped ``(N,)`` (one
        value per frame, spread over its timesteps), ``(N, frame)`` or ``(N, frame, C)``.
    frame, step, n_timesteps : int
        The windowing that produced ``values``.
    how : {"mean", "max", "median"}
        How overlapping frames combine at a timestep.

    Returns
    -------
    ndarray
        ``(n_timesteps,)`` or ``(n_timesteps, C)``, float64. Every timestep is covered.

    Examples
    --------
    >>> fold(np.array([1.0, 3.0]), frame=3, step=2, n_timesteps=5).tolist()
    [1.0, 1.0, 2.0, 3.0, 3.0]
    """
    values = np.asarray(values)
    if values.ndim == 0:
        raise DataError(f"values must be an array of per-frame values, got a scalar {values!r}")
    trailing = values.shape[2:] if values.ndim >= 2 and values.shape[1] == frame else ()
    if values.ndim >= 2 and values.shape[1] != frame:
        raise DataError(
            f"values must hold frames of frame={frame} timesteps, got shape {values.shape}"
        )
    acc = FoldAccumulator(n_timesteps, frame, step, how, trailing)
    if len(values) != acc.n_frames:
        raise DataError(
            f"values must hold one row per frame: expected {acc.n_frames} frames (frame={frame}, "
            f"step={step}, {n_timesteps} timesteps, tail frame included), got shape {values.shape}"
        )
    acc.add(0, values)
    return acc.result()
