"""Binary alarm labels ⇄ events: intervals, clean-up, and a readable summary of each event.

Pure numpy: this module never imports torch or pandas. An *event* is a maximal run of
consecutive flagged timesteps, written as a half-open interval ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError
from .common import (
    as_scores,
    binary_labels,
    check_int,
    check_same_length,
    iso,
    merge_intervals,
)

__all__ = [
    "Event",
    "EventBuilder",
    "describe_events",
    "intervals_to_labels",
    "labels_to_intervals",
    "postprocess_labels",
    "top_channels",
]


def labels_to_intervals(labels: Any) -> np.ndarray:
    """Runs of 1s in a binary label array as half-open ``[start, end)`` intervals.

    Parameters
    ----------
    labels : array_like of shape (n,)
        0/1 labels (bool, integer or float).

    Returns
    -------
    ndarray of shape (k, 2), int64
        One row ``[start, end)`` per event, in time order.

    Examples
    --------
    >>> labels_to_intervals([0, 1, 1, 0, 0, 1]).tolist()
    [[1, 3], [5, 6]]
    """
    y = binary_labels(labels)
    edges = np.diff(y, prepend=np.uint8(0), append=np.uint8(0)).view(np.int8)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return np.stack([starts, ends], axis=1).astype(np.int64, copy=False)


def intervals_to_labels(intervals: Any, n: int) -> np.ndarray:
    """Binary labels of length ``n`` with 1 inside every ``[start, end)`` interval.

    Examples
    --------
    >>> intervals_to_labels([[1, 3], [5, 6]], 7).tolist()
    [0, 1, 1, 0, 0, 1, 0]
    """
    n = check_int("n", n, 0)
    iv = np.asarray(intervals)
    if iv.size == 0:
        return np.zeros(n, dtype=np.uint8)
    if iv.ndim != 2 or iv.shape[1] != 2 or iv.dtype.kind not in "iu":
        raise DataError(
            f"intervals must be integer [start, end) pairs shaped (k, 2), "
            f"got shape {iv.shape} dtype {iv.dtype}"
        )
    bad = (iv[:, 0] < 0) | (iv[:, 0] >= iv[:, 1]) | (iv[:, 1] > n)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"intervals row {i} is {iv[i].tolist()}: expected 0 <= start < end <= n={n}"
        )
    # +1 at each start, -1 at each end; the running sum counts the intervals covering a step
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, iv[:, 0], 1)
    np.add.at(marks, iv[:, 1], -1)
    return (np.cumsum(marks[:-1]) > 0).astype(np.uint8)


def postprocess_labels(labels: Any, *, min_length: int = 1, merge_gap: int = 0) -> np.ndarray:
    """Clean alarm labels: merge events close in time, then drop short ones.

    Parameters
    ----------
    labels : array_like of shape (n,)
        0/1 labels.
    min_length : int, default 1
        Events shorter than this many timesteps (after merging) are removed.
    merge_gap : int, default 0
        Two events separated by at most this many normal timesteps become one event (the gap
        is flagged too).

    Returns
    -------
    ndarray of shape (n,), uint8

    Examples
    --------
    >>> postprocess_labels([1, 0, 1, 0, 0, 0, 1], merge_gap=1, min_length=2).tolist()
    [1, 1, 1, 0, 0, 0, 0]
    """
    min_length = check_int("min_length", min_length, 1)
    merge_gap = check_int("merge_gap", merge_gap, 0)
    y = binary_labels(labels)
    iv = labels_to_intervals(y)
    if len(iv) == 0:
        return y
    iv = merge_intervals(iv, merge_gap)
    iv = iv[iv[:, 1] - iv[:, 0] >= min_length]
    return intervals_to_labels(iv, len(y))


@dataclass(frozen=True)
class Event:
    """One alarm event: where it is, how strong it is, and which channels drive it.

    Attributes
    ----------
    start, end : int
        Half-open interval ``[start, end)`` of timestep indices.
    peak_score, mean_score : float
        Highest and mean anomaly score inside the event.
    peak_index : int
        Timestep of the highest score.
    top_channels : tuple of (str, float)
        Up to ``top_k`` channels with their share of the event's summed per-channel
        contribution, largest first (shares of all channels sum to 1, so these sum to <= 1).
    start_time, end_time : str or None
        Time of the first and of the last timestep of the event (``end_time`` is inclusive:
        the time of timestep ``end - 1``), ISO 8601 for datetimes, when timestamps were given.

    Examples
    --------
    >>> e = Event(start=3, end=6, peak_score=2.5, mean_score=1.5, peak_index=4)
    >>> e.duration, e.to_dict()["peak_index"]
    (3, 4)
    """

    start: int
    end: int
    peak_score: float
    mean_score: float
    peak_index: int
    top_channels: tuple[tuple[str, float], ...] = ()
    start_time: str | None = None
    end_time: str | None = None

    @property
    def duration(self) -> int:
        """Length of the event in timesteps."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (plain Python numbers and strings)."""
        return {
            "start": self.start,
            "end": self.end,
            "duration": self.duration,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "peak_index": self.peak_index,
            "peak_score": self.peak_score,
            "mean_score": self.mean_score,
            "top_channels": [{"channel": c, "share": s} for c, s in self.top_channels],
        }


def describe_events(
    labels: Any,
    scores: Any,
    contributions: Any = None,
    channels: Sequence[str] | None = None,
    timestamps: Any = None,
    top_k: int = 3,
) -> list[Event]:
    """Summarise every event (run of 1s) in ``labels``.

    Parameters
    ----------
    labels : array_like of shape (n,)
        0/1 alarm labels.
    scores : array_like of shape (n,)
        Anomaly score per timestep (higher = more anomalous).
    contributions : array_like of shape (n, C), optional
        Non-negative per-channel contribution to the score at each timestep (e.g. the
        per-channel reconstruction error). Gives each event its ``top_channels``.
    channels : sequence of str, optional
        Channel names (default ``"channel_0"``, ``"channel_1"``, ...).
    timestamps : sequence of datetimes or numbers, optional
        One per timestep (numpy ``datetime64``, ``datetime.datetime``, or numbers); fills
        ``start_time`` / ``end_time``.
    top_k : int, default 3
        How many channels to list per event.

    Returns
    -------
    list of Event
        In time order.

    Examples
    --------
    >>> ev = describe_events([0, 1, 1, 0], [0.1, 0.9, 0.5, 0.2],
    ...                      contributions=[[1, 0], [3, 1], [1, 3], [0, 0]], channels=["a", "b"])
    >>> ev[0].start, ev[0].end, ev[0].peak_index, ev[0].top_channels
    (1, 3, 1, (('a', 0.5), ('b', 0.5)))
    """
    top_k = check_int("top_k", top_k, 0)
    y = binary_labels(labels)
    if np.ndim(scores) != 1:
        raise DataError(f"scores must be a 1-D array, got shape {np.shape(scores)}")
    s = as_scores(scores, drop_nan=False)
    check_same_length(labels=y, scores=s)

    c = None
    if contributions is not None:
        c = np.asarray(contributions, dtype=np.float64)
        if c.ndim == 1:
            c = c[:, None]
        if c.ndim != 2:
            raise DataError(f"contributions must be shaped (n, channels), got shape {c.shape}")
        check_same_length(scores=s, contributions=c)
        if not np.isfinite(c).all() or (c < 0).any():
            raise DataError("contributions must be finite and non-negative")
    names = None
    if c is not None:
        names = [f"channel_{i}" for i in range(c.shape[1])] if channels is None else channels
        if len(names) != c.shape[1]:
            raise DataError(f"got {len(names)} channel names for {c.shape[1]} contribution columns")

    times = None
    if timestamps is not None:
        times = np.asarray(timestamps)
        if times.ndim != 1:
            raise DataError(f"timestamps must be 1-D, got shape {times.shape}")
        check_same_length(scores=s, timestamps=times)

    builder = EventBuilder(names, top_k=top_k)
    builder.add(y, s, c, times)
    return builder.events()


class EventBuilder:
    """Describe the events of a stream that arrives in consecutive parts, in bounded memory.

    The one event describer: :func:`describe_events` is a builder fed one part, and
    :class:`seqae.scale.streaming.ChunkedDetector` feeds it part by part. An event that runs across
    a border is continued; each event keeps only its running numbers (peak, sum of scores,
    per-channel sums, times), so the result equals describing the whole stream at once.

    Parameters
    ----------
    channels : sequence of str, optional
        Channel names of the contributions (None: no ``top_channels``).
    top_k : int, default 3
        Channels listed per event.

    Examples
    --------
    >>> builder = EventBuilder(["a", "b"], top_k=1)
    >>> builder.add([0, 1], [0.1, 2.0], [[0, 0], [1, 3]])
    >>> builder.add([1, 0], [3.0, 0.2], [[1, 1], [0, 0]])
    >>> event = builder.events()[0]
    >>> event.start, event.end, event.peak_index, event.mean_score, event.top_channels
    (1, 3, 2, 2.5, (('b', 0.6666666666666666),))
    """

    def __init__(
        self, channels: Sequence[str] | None = None, *, top_k: int = 3, start: int = 0
    ) -> None:
        self.channels = None if channels is None else [str(c) for c in channels]
        self.top_k = check_int("top_k", top_k, 0)
        self.n_seen = check_int("start", start, 0)  # the index of the next row
        self._done: list[dict[str, Any]] = []  # closed runs
        self._open: dict[str, Any] | None = None  # the run reaching the last timestep seen

    def add(
        self, labels: Any, scores: Any, contributions: Any = None, timestamps: Any = None
    ) -> None:
        """The next part: ``(n,)`` 0/1 labels and scores, ``(n, C)`` contributions (when the
        builder has channels) and ``(n,)`` time stamps (optional)."""
        y = np.asarray(labels)
        s = np.asarray(scores, dtype=np.float64)
        iv = labels_to_intervals(y)
        sums = None
        if self.channels is not None and contributions is not None and len(iv):
            sums = _event_sums(np.asarray(contributions, dtype=np.float64), iv)
        offset = self.n_seen
        runs = []
        for i, (a, b) in enumerate(iv.tolist()):
            seg = s[a:b]
            peak = int(np.argmax(seg))
            runs.append(
                {
                    "start": offset + a,
                    "end": offset + b,
                    "peak": float(seg[peak]),
                    "peak_index": offset + a + peak,
                    "total": float(seg.sum()),
                    "sums": None if sums is None else sums[i],
                    "start_time": None if timestamps is None else iso(timestamps[a]),
                    "end_time": None if timestamps is None else iso(timestamps[b - 1]),
                }
            )
        self.add_runs(runs, len(s))

    def add_runs(self, runs: Sequence[dict[str, Any]], n_rows: int) -> None:
        """The next ``n_rows`` rows, given as the alarm runs another builder found in them
        (its :meth:`runs`, e.g. from a Dask or Spark partition): a run that starts where the
        open event ends continues it."""
        offset = self.n_seen
        for run in runs:
            last = self._open
            if last is not None and last["end"] == run["start"] == offset:  # it goes on
                if run["peak"] > last["peak"]:  # ties keep the earlier peak, as argmax does
                    last["peak"], last["peak_index"] = run["peak"], run["peak_index"]
                last["end"], last["end_time"] = run["end"], run["end_time"]
                last["total"] += run["total"]
                if last["sums"] is not None and run["sums"] is not None:
                    last["sums"] = last["sums"] + run["sums"]
            else:
                self._close()
                self._open = dict(run)
        self.n_seen = offset + int(n_rows)
        if self._open is not None and self._open["end"] < self.n_seen:
            self._close()

    def runs(self) -> list[dict[str, Any]]:
        """The alarm runs so far (the open one last), for :meth:`add_runs` of a builder that
        describes a longer stretch of the stream."""
        return self._done + ([] if self._open is None else [dict(self._open)])

    def _close(self) -> None:
        if self._open is not None:
            self._done.append(self._open)
            self._open = None

    def _event(self, run: dict[str, Any]) -> Event:
        top: tuple[tuple[str, float], ...] = ()
        if run["sums"] is not None and self.channels is not None and self.top_k > 0:
            top = top_channels(run["sums"], self.channels, self.top_k)
        return Event(
            start=run["start"],
            end=run["end"],
            peak_score=run["peak"],
            mean_score=run["total"] / (run["end"] - run["start"]),
            peak_index=run["peak_index"],
            top_channels=top,
            start_time=run["start_time"],
            end_time=run["end_time"],
        )

    def events(self) -> list[Event]:
        """Every event so far, in time order (one still open at the last timestep included)."""
        return [self._event(run) for run in self.runs()]


def top_channels(
    sums: np.ndarray, channels: Sequence[str], top_k: int
) -> tuple[tuple[str, float], ...]:
    """The ``top_k`` channels by share of one event's summed contributions ``sums`` (C,).

    Ties keep the channel order; an event without any contribution gives every share 0.

    Examples
    --------
    >>> top_channels(np.array([1.0, 3.0, 0.0]), ["a", "b", "c"], 2)
    (('b', 0.75), ('a', 0.25))
    """
    total = sums.sum()
    shares = sums / total if total > 0 else np.zeros_like(sums)
    order = np.argsort(-shares, kind="stable")[:top_k]
    return tuple((channels[j], float(shares[j])) for j in order)


def _event_sums(values: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Sum of ``values`` rows inside each ``[start, end)`` interval, shape (k, C)."""
    # reduceat over the boundaries start0, end0, start1, ... sums [start_i, end_i) at even
    # positions; a zero row appended keeps an end equal to len(values) a valid index.
    padded = np.concatenate([values, np.zeros((1, values.shape[1]))])
    return np.add.reduceat(padded, intervals.ravel(), axis=0)[::2]
