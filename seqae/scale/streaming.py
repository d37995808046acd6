"""Score a long stream chunk by chunk, with bounded memory, equal to scoring it whole.

A file too large for memory arrives as successive ``(n_i, C)`` chunks (for example from
:func:`seqae.datasets.iter_sensor_chunks`). :class:`ChunkedScorer` keeps only the overlap that
the next chunk needs and returns, after each chunk, the per-timestep scores and channel
contributions of the timesteps that no later data can change:

- windowed scoring: a timestep is final once every frame covering it has been seen. Frames lie
  on the global grid ``0, step, 2*step, ...``; the end-aligned tail frame of
  :func:`seqae.scoring.windowing.frame_starts` is known only when the stream ends, so the last
  ``frame`` timesteps wait for :meth:`ChunkedScorer.finish`. The frames of the overlap are
  scored again with the next part (``frame / step`` frames per part, a small cost).
- convolutional scoring: parts start at multiples of the model's total stride and carry a halo
  of the model's receptive field (:attr:`seqae.scoring.core.ScoringSpec.halo`) on each side.

:class:`ChunkedDetector` adds labels and events. The event rules (``min_event_length``,
``merge_gap``) look a bounded distance around each timestep, so the labels of a timestep are
final ``min_event_length + merge_gap + 1`` timesteps after its score. Events are described as
the parts come (:class:`seqae.scoring.events.EventBuilder`: each keeps only its running peak,
sums and
times); the ``(T, C)`` contributions and reconstruction are never all held: each part is handed
to the caller and forgotten. The ``(T,)`` scores, labels and timestamps are kept for the caller
(a few bytes per timestep) unless ``keep=False``: then memory does not grow with the stream.

Results equal :meth:`seqae.Detector.detect` on the whole stream up to float rounding (the model
sees the frames in other batches). Any :class:`seqae.scoring.core.StreamDetector` streams: a
:class:`seqae.Detector` (torch) or a :class:`seqae.OnnxDetector` (onnxruntime, no torch), through
the same scoring loops as their in-memory ``detect``.

:func:`detect_file` and :func:`iter_detect` are the library's entry: a model (or the path of a
saved model or an ``.onnx`` file) and a file (or any iterable of chunks) in, the scored parts
out, in bounded memory.

This module never imports torch; a saved (torch) model is loaded only when one is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError, ParameterError
from ..files.loader import load_detector
from ..scoring.core import Scorer, StreamDetector, StreamScores
from ..scoring.events import Event
from ..scoring.results import ScoredPart, StreamResult
from ..scoring.validation import as_stream, match_channels

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ChunkedDetector",
    "ChunkedScorer",
    "Overlap",
    "ScoredPart",
    "StreamResult",
    "detect_file",
    "iter_detect",
    "load_detector",
    "score_range",
]

#: Rows read at a time by :func:`detect_file` and :func:`iter_detect`.
DEFAULT_CHUNK_SIZE = 100_000

# Score once at least this many new timesteps are final, so the re-scored overlap stays small
# whatever the size of the chunks pushed.
MIN_PART = 4096


@dataclass(frozen=True)
class Overlap:
    """Which raw rows score a range of timesteps exactly as one pass over the whole stream.

    The one statement of the overlap rule, used by :class:`ChunkedScorer` (a file in chunks)
    and by :mod:`seqae.scale.distributed` (a Dask stream in partitions).

    Parameters
    ----------
    mode : {"windowed", "convolutional"}
        The detector's scoring path.
    frame, step : int
        Frame length and step of windowed scoring (frames start on the global grid
        ``0, step, 2*step, ...``, plus the end-aligned tail frame of the whole stream).
    stride, halo : int
        Convolutional scoring: the model's total stride (segment starts must be multiples of
        it) and the context each side needs (a multiple of ``stride``).
    centred : int
        The width of the wider centred mean of the scores (the alarms' or the ranking
        stream's, :attr:`~seqae.scoring.core.ScoringSpec.reach`): a score also reads the
        network's scores ``centred - 1`` rows on either side.

    Examples
    --------
    >>> ov = Overlap("windowed", frame=16, step=4)
    >>> ov.rows(100, 200)  # raw rows whose frames give timesteps [100, 200) their final scores
    (88, 212)
    >>> ov.rows(100, 200, total=210)  # the stream ends at 210: its tail frame is needed too
    (88, 210)
    >>> Overlap("convolutional", frame=64, step=1, stride=8, halo=48).rows(100, 200)
    (48, 248)
    >>> Overlap("convolutional", frame=64, step=1, stride=8, halo=48, centred=32).rows(100, 200)
    (16, 279)
    """

    mode: str
    frame: int
    step: int
    stride: int = 1
    halo: int = 0
    centred: int = 1

    @classmethod
    def of(cls, detector: StreamDetector | Scorer) -> Overlap:
        """The overlap of a fitted detector (``Detector``, ``OnnxDetector``, ...) or of its
        :class:`~seqae.scoring.core.Scorer`."""
        spec = (detector if isinstance(detector, Scorer) else detector.scorer).spec
        centred = spec.reach
        if spec.mode == "convolutional":
            return cls(spec.mode, spec.frame, spec.step, int(spec.stride), int(spec.halo), centred)
        return cls(spec.mode, spec.frame, spec.step, centred=centred)

    @property
    def depth(self) -> int:
        """Rows either side of a range that :meth:`rows` may need (at most)."""
        if self.mode == "windowed":
            return self.frame + self.centred - 1
        return self.halo + self.stride + self.centred - 1

    def start(self, first: int) -> int:
        """Where the raw rows needed to score timesteps from ``first`` on begin."""
        first = max(0, first - (self.centred - 1))  # the centred mean reads back this far
        if self.mode == "windowed":
            # the first grid frame that reaches ``first``
            return max(0, -(-(first - self.frame + 1) // self.step) * self.step)
        # a multiple of the stride, at least ``halo`` before ``first``
        return max(0, (first - self.halo) // self.stride * self.stride)

    def last_final(self, n_seen: int) -> int:
        """One past the last timestep that rows after ``n_seen`` cannot change."""
        if self.mode == "windowed":
            network = n_seen - self.frame
        else:
            network = (n_seen - self.halo) // self.stride * self.stride
        return network - (self.centred - 1)

    def rows(self, first: int, end: int, total: int | None = None) -> tuple[int, int]:
        """Raw rows ``[lo, hi)`` whose scores on ``[first, end)`` equal a whole-stream pass.

        ``total`` is the stream's length when known; the range then may reach the end (the
        tail frame of windowed scoring is known only there). Without it, ``end`` must be at
        most :meth:`last_final` of the rows available.
        """
        lo = self.start(first)
        end += self.centred - 1  # the centred mean reads ahead this far
        if total is not None:
            end = min(end, total)
        if self.mode == "windowed":
            if total is not None and end > total - self.frame:
                return lo, total
            # the last grid frame that starts before ``end``; no tail frame inside the range
            return lo, (end - 1) // self.step * self.step + self.frame
        hi = end + self.halo
        return lo, hi if total is None else min(total, hi)


def score_range(
    scorer: Scorer, values: np.ndarray, offset: int, first: int, end: int, total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, slice]:
    """Scores, labels and contributions of timesteps ``[first, end)`` of a stream of ``total``
    rows, from raw ``values``: its rows ``offset, offset + 1, ...`` (at least
    :func:`range_rows` of them). Equal to scoring and labelling the whole stream, then
    cutting ``[first, end)``: a Dask partition or a Spark part scored on its own.

    Returns ``(scores, labels, contributions, keep)``, ``keep`` the positions of
    ``[first, end)`` within ``values``.
    """
    ctx = scorer.label_context
    s_first, s_end = max(0, first - ctx), min(total, end + ctx)  # labels need scores around
    # the drift-aware line and the attribution read the raw scores from `d_first` on
    tracker = scorer.tracker()
    d_first = tracker.warm_up_from(s_first)
    lo, hi = Overlap.of(scorer).rows(d_first, s_end, total)
    if lo < offset or hi > offset + len(values):
        raise DataError(
            f"rows {offset}..{offset + len(values)} given, {lo}..{hi} needed "
            "(the partition overlap is too small)"
        )
    values = values[lo - offset : hi - offset]
    out = scorer.score(values)
    scores, contributions = out.scores, out.contributions
    warm = slice(d_first - lo, s_first - lo)
    tracker.warm_up(scores[warm], contributions[warm], values[warm])
    now = slice(s_first - lo, s_end - lo)
    rank = None if out.rank is None else out.rank[now]
    scores[now], contributions[now] = tracker.apply(
        scores[now], contributions[now], values[now], rank
    )
    labels = scorer.labels(scores[now])[first - s_first : end - s_first]
    keep = slice(first - lo, end - lo)
    return scores[keep], labels, contributions[keep], slice(first - offset, end - offset)


def range_rows(scorer: Scorer, first: int, end: int, total: int) -> tuple[int, int]:
    """The raw rows ``[lo, hi)`` that :func:`score_range` needs for ``[first, end)``."""
    ctx = scorer.label_context
    s_first, s_end = max(0, first - ctx), min(total, end + ctx)
    return Overlap.of(scorer).rows(scorer.tracker().warm_up_from(s_first), s_end, total)


def _concat(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        return b if a is None else a
    return np.concatenate([a, b])


def _slice(part: ScoredPart, lo: int, hi: int) -> ScoredPart:
    """Timesteps ``[lo, hi)`` (positions within ``part``)."""
    cut = slice(lo, hi)
    return ScoredPart(
        part.start + lo,
        part.scores[cut],
        part.contributions[cut],
        None if part.reconstruction is None else part.reconstruction[cut],
        None if part.labels is None else part.labels[cut],
        None if part.timestamps is None else part.timestamps[cut],
    )


def _join(a: ScoredPart | None, b: ScoredPart) -> ScoredPart:
    if a is None or len(a) == 0:
        return b
    return ScoredPart(
        a.start,
        np.concatenate([a.scores, b.scores]),
        np.concatenate([a.contributions, b.contributions]),
        _concat(a.reconstruction, b.reconstruction),
        _concat(a.labels, b.labels),
        _concat(a.timestamps, b.timestamps),
    )


class ChunkedScorer:
    """Per-timestep scores of a stream pushed chunk by chunk, equal to scoring it whole.

    Parameters
    ----------
    detector : StreamDetector
        A fitted ``Detector`` or ``OnnxDetector``; its scoring mode (windowed or
        convolutional), frame, step and fold rule are used.
    reconstruction : bool, default False
        Also return the reconstructed signal.
    min_part : int, default 4096
        Score once at least this many new timesteps are final (fewer, larger parts re-score
        less overlap; memory holds about ``min_part + frame`` rows plus the last chunk).

    Examples
    --------
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=3000, n_channels=2, random_state=0)
    >>> det = Detector(model="dense", frame=16, epochs=1, random_state=0)
    >>> det = det.fit(stream.values[:1000])
    >>> scorer = ChunkedScorer(det)
    >>> parts = [scorer.push(chunk) for chunk in np.array_split(stream.values, 3)]
    >>> parts.append(scorer.finish())
    >>> scores = np.concatenate([p.scores for p in parts if p is not None])
    >>> bool(np.allclose(scores, det.score_samples(stream.values), atol=1e-6))
    True
    """

    def __init__(
        self, detector: StreamDetector, *, reconstruction: bool = False, min_part: int = MIN_PART
    ) -> None:
        scorer = detector.scorer
        if isinstance(min_part, bool) or not isinstance(min_part, (int, np.integer)):
            raise ParameterError(f"min_part must be an integer >= 1, got {min_part!r}")
        if min_part < 1:
            raise ParameterError(f"min_part must be >= 1, got {min_part}")
        self.detector = detector
        self.scorer = scorer
        self.reconstruction = reconstruction
        self.min_part = int(min_part)
        self.overlap = Overlap.of(scorer)
        self.mode = self.overlap.mode
        self.n_channels = scorer.n_channels
        # raw rows from stream index `_buffer_start` on, as pushed (joined only to score, so
        # many small chunks do not copy the buffer again and again)
        self._buffer: list[np.ndarray] = []
        self._buffer_start = 0
        self.n_seen = 0  # timesteps pushed
        self.n_done = 0  # timesteps returned
        self._finished = False
        self.source = "the stream"  # named in error messages
        self._tracker = scorer.tracker()  # parts come in order: one tracker for the stream

    def push(self, values: np.ndarray) -> ScoredPart | None:
        """Add the next raw ``(n, C)`` chunk; return the timesteps that became final, if any."""
        if self._finished:
            raise DataError(
                f"{self.source}: this ChunkedScorer has finished; start a new one for a new stream"
            )
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or values.shape[1] != self.n_channels:
            raise DataError(
                f"chunk has shape {values.shape}, expected (n, {self.n_channels}) raw values"
            )
        self._buffer.append(values)
        self.n_seen += len(values)
        end = self._final_end()
        if end - self.n_done < self.min_part:
            return None
        return self._score_until(end, at_end=False)

    @property
    def n_buffered(self) -> int:
        """Raw rows held for the next part (the carried overlap and the unscored rows)."""
        return self.n_seen - self._buffer_start

    def finish(self) -> ScoredPart | None:
        """The stream has ended: return the remaining timesteps (None when there are none)."""
        self._finished = True
        if self.mode == "windowed" and self.n_seen < self.overlap.frame:
            raise DataError(
                f"{self.source}: {self.n_seen} timesteps, fewer than one frame of "
                f"{self.overlap.frame}: give more rows or use a model with a smaller frame"
            )
        if self.n_done == self.n_seen:
            return None
        return self._score_until(self.n_seen, at_end=True)

    def _final_end(self) -> int:
        """One past the last timestep that no later data can change."""
        return max(self.n_done, self.overlap.last_final(self.n_seen))

    def _score_until(self, end: int, *, at_end: bool) -> ScoredPart:
        lo, hi = self.overlap.rows(self.n_done, end, self.n_seen if at_end else None)
        rows = np.concatenate(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        values = rows[lo - self._buffer_start : hi - self._buffer_start]
        result = self._score(values)
        keep = slice(self.n_done - lo, end - lo)
        rank = None if result.rank is None else result.rank[keep]
        scores, contributions = self._tracker.apply(
            result.scores[keep], result.contributions[keep], values[keep], rank
        )
        part = ScoredPart(
            self.n_done,
            scores,
            contributions,
            None if result.reconstruction is None else result.reconstruction[keep],
        )
        self.n_done = end
        drop = self.overlap.start(end) - self._buffer_start
        self._buffer = [rows[drop:].copy()]
        self._buffer_start += drop
        return part

    def _score(self, segment: np.ndarray) -> StreamScores:
        # The detector's own scoring, so a chunked run cannot drift from an in-memory one.
        return self.scorer.score(segment, reconstruction=self.reconstruction)


class ChunkedDetector:
    """Scores, labels and events of a stream pushed chunk by chunk (``Detector.detect`` in parts).

    Each :meth:`push` returns the timesteps whose scores *and labels* became final, as a
    :class:`ScoredPart`; write it out and drop it. After :meth:`finish`, :attr:`events`
    describes the whole stream (built part by part: each event keeps only its running numbers),
    :attr:`n_anomalies` counts the flagged timesteps, and, with ``keep=True``, :attr:`scores`,
    :attr:`labels` and :attr:`timestamps` hold the stream's ``(T,)`` arrays.

    Parameters
    ----------
    detector : StreamDetector
        A fitted ``Detector`` or ``OnnxDetector``.
    reconstruction : bool, default False
        Also return the reconstructed signal with every part.
    top_k : int, default 3
        Channels listed per event.
    min_part : int, default 4096
        See :class:`ChunkedScorer`.
    keep : bool, default True
        Keep the ``(T,)`` scores, labels and time stamps (a few bytes per timestep). With
        False memory does not grow with the stream at all; :attr:`scores`, :attr:`labels`
        and :attr:`timestamps` stay None.

    Examples
    --------
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=3000, n_channels=2, random_state=0)
    >>> det = Detector(model="dense", frame=16, epochs=1, random_state=0)
    >>> det = det.fit(stream.values[:1000])
    >>> chunked = ChunkedDetector(det)
    >>> parts = list(chunked.run(np.array_split(stream.values, 3)))
    >>> whole = det.detect(stream.values)
    >>> sum(len(p) for p in parts), len(chunked.events) == len(whole.events)
    (3000, True)
    """

    def __init__(
        self,
        detector: StreamDetector,
        *,
        reconstruction: bool = False,
        top_k: int = 3,
        min_part: int = MIN_PART,
        keep: bool = True,
    ) -> None:
        self.detector = detector
        self.top_k = top_k
        self.keep = bool(keep)
        self.scorer = ChunkedScorer(detector, reconstruction=reconstruction, min_part=min_part)
        self.channels = self.scorer.scorer.channels
        # labels of timestep t depend on the raw alarms within this distance of t
        self.context = self.scorer.scorer.label_context
        self._pending: ScoredPart | None = None  # scored, not yet labelled
        self._times: list[np.ndarray] = []  # time stamps of timesteps not yet scored
        self._has_times: bool | None = None
        self._recent = np.zeros(0)  # the last `context` labelled scores
        self._builder = self.scorer.scorer.event_builder(top_k)
        self.n_anomalies = 0  # timesteps flagged so far
        # with keep: (T,) pieces of everything labelled so far
        self._scores: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []
        self._stamps: list[np.ndarray] = []
        self.events: list[Event] | None = None
        self.scores: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.timestamps: np.ndarray | None = None

    @property
    def n_seen(self) -> int:
        """Timesteps pushed so far."""
        return self.scorer.n_seen

    def push(self, chunk: Any) -> ScoredPart | None:
        """Add the next chunk (SensorData, DataFrame or ``(n, C)`` array of the fitted channels).

        Returns the timesteps whose scores and labels became final, or None.
        """
        if np.shape(getattr(chunk, "values", chunk))[0] == 0:
            return None
        source = f"the chunk from timestep {self.n_seen}"
        stream = as_stream(chunk, source=source)
        source = getattr(chunk, "source", source)
        if self.n_seen == 0:
            self.scorer.source = source
        stream = match_channels(stream, self.channels, source=source)
        has_times = stream.timestamps is not None
        if self._has_times is None:
            self._has_times = has_times
        elif has_times != self._has_times:
            raise DataError(f"{source}: some chunks have time stamps and others do not")
        if has_times:
            self._times.append(stream.timestamps)
        return self._label(self.scorer.push(stream.values), at_end=False)

    def finish(self) -> ScoredPart | None:
        """The stream has ended: return the remaining timesteps and describe the events."""
        part = self._label(self.scorer.finish(), at_end=True)
        if self._builder.n_seen == 0:
            raise DataError(f"{self.scorer.source}: no data, the stream has no rows")
        self.events = self._builder.events()
        if self.keep:
            self.scores, self.labels = np.concatenate(self._scores), np.concatenate(self._labels)
            self.timestamps = np.concatenate(self._stamps) if self._has_times else None
            self._scores, self._labels, self._stamps = [], [], []
        return part

    def run(self, chunks: Iterable[Any]) -> Iterator[ScoredPart]:
        """Push every chunk, then finish; yield the parts as they become final."""
        for chunk in chunks:
            part = self.push(chunk)
            if part is not None:
                yield part
        part = self.finish()
        if part is not None:
            yield part

    def _label(self, scored: ScoredPart | None, *, at_end: bool) -> ScoredPart | None:
        if scored is not None:
            if self._has_times:
                stamps = np.concatenate(self._times)
                scored.timestamps = stamps[: len(scored)]
                self._times = [stamps[len(scored) :]]
            self._pending = _join(self._pending, scored)
        pending = self._pending
        if pending is None:
            return None
        done = pending.stop if at_end else pending.stop - self.context
        n_ready = done - pending.start
        if n_ready <= 0:
            return None
        # the labelled timesteps just before the pending ones are the left context
        window = np.concatenate([self._recent, pending.scores])
        pending.labels = self.scorer.scorer.labels(window)[len(self._recent) :]
        ready = _slice(pending, 0, n_ready)
        self._pending = _slice(pending, n_ready, len(pending))
        self._pending.labels = None
        self._recent = window[: len(self._recent) + n_ready][-self.context :]
        self.n_anomalies += int(ready.labels.sum())
        self._builder.add(ready.labels, ready.scores, ready.contributions, ready.timestamps)
        if self.keep:
            self._scores.append(ready.scores)
            self._labels.append(ready.labels)
            if ready.timestamps is not None:
                self._stamps.append(ready.timestamps)
        return ready


# ------------------------------------------------------------------------------ library entry
def _chunks(source: Any, chunk_size: int, read_options: dict[str, Any]) -> Iterable[Any]:
    _check_chunk_size(chunk_size)
    if isinstance(source, (str, os.PathLike)):
        from ..datasets.sensors import iter_sensor_chunks

        return iter_sensor_chunks(source, chunk_size, **read_options)
    if read_options:
        raise ParameterError(
            f"read options {sorted(read_options)} apply to a file path, not to chunks"
        )
    return source


def _check_chunk_size(chunk_size: Any) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ParameterError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if chunk_size < 1:
        raise ParameterError(f"chunk_size must be >= 1, got {chunk_size}")


def iter_detect(
    detector: Any,
    source: Any,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    reconstruction: bool = False,
    **read_options: Any,
) -> Iterator[ScoredPart]:
    """Score a stream too large for memory part by part; yield each part once it is final.

    Every part holds consecutive timesteps with their scores, labels, contributions (and
    time stamps, and the reconstruction when asked for), equal to what
    ``detector.detect`` gives for the whole stream. Memory stays bounded by the chunk size.
    For the events, use :func:`detect_file` (or :class:`ChunkedDetector`).

    Parameters
    ----------
    detector : Detector, OnnxDetector, str or os.PathLike
        A fitted detector, or the path of a saved model or an ``.onnx`` file.
    source : str, os.PathLike or iterable
        A CSV or Parquet file (read with :func:`seqae.datasets.iter_sensor_chunks`), or an
        iterable of chunks: SensorData, DataFrames or ``(n, C)`` arrays.
    chunk_size : int, default 100000
        Rows read at a time from a file (results do not depend on it).
    reconstruction : bool, default False
        Also give the reconstructed signal with every part.
    **read_options
        Passed to :func:`~seqae.datasets.iter_sensor_chunks` for a file (``time_column``,
        ``columns``, ``nan_policy``, ...).

    Yields
    ------
    ScoredPart

    Examples
    --------
    >>> import os, tempfile
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=3000, n_channels=2, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "sensors.csv")
    >>> stream.to_frame().to_csv(path, index=False)
    >>> det = Detector(model="dense", frame=16, epochs=1, random_state=0).fit(stream.values[:1000])
    >>> parts = list(iter_detect(det, path, chunk_size=500, label_columns="anomaly"))
    >>> scores = np.concatenate([p.scores for p in parts])
    >>> bool(np.allclose(scores, det.score_samples(stream.values), atol=1e-6))
    True
    """
    chunked = ChunkedDetector(load_detector(detector), reconstruction=reconstruction)
    yield from chunked.run(_chunks(source, chunk_size, read_options))


def detect_file(
    detector: Any,
    path: Any,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_part: Callable[[ScoredPart], None] | None = None,
    reconstruction: bool = False,
    top_k: int = 3,
    keep: bool = True,
    **read_options: Any,
) -> StreamResult:
    """Scores, labels and events of a file too large for memory, read and scored in chunks.

    The same scores (to 1e-6), labels and events as ``detector.detect`` on the whole file,
    with memory bounded by the chunk size plus a few bytes per row for the ``(T,)`` arrays.
    Each final part (with its ``(n, C)`` contributions) goes to ``on_part`` and is dropped.

    Parameters
    ----------
    detector : Detector, OnnxDetector, str or os.PathLike
        A fitted detector, or the path of a saved model or an ``.onnx`` file.
    path : str, os.PathLike or iterable
        A CSV or Parquet file, or an iterable of chunks (SensorData, DataFrames, arrays).
    chunk_size : int, default 100000
        Rows read at a time.
    on_part : callable, optional
        Called with every :class:`ScoredPart`, in order (e.g. to write it out).
    reconstruction : bool, default False
        Give the parts the reconstructed signal too.
    top_k : int, default 3
        Channels listed per event.
    keep : bool, default True
        Keep the ``(T,)`` scores, labels and time stamps in the result (a few bytes per row).
        False: memory does not grow with the file at all (the events and counts remain).
    **read_options
        Passed to :func:`~seqae.datasets.iter_sensor_chunks` (``time_column``, ``columns``,
        ``label_columns``, ``nan_policy``, ...).

    Returns
    -------
    StreamResult

    Examples
    --------
    >>> import os, tempfile
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=3000, n_channels=2, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "sensors.csv")
    >>> stream.to_frame().to_csv(path, index=False)
    >>> det = Detector(model="dense", frame=16, epochs=1, random_state=0).fit(stream.values[:1000])
    >>> result = detect_file(det, path, chunk_size=500, label_columns="anomaly")
    >>> whole = det.detect(stream.values)
    >>> result.n_rows, bool(np.array_equal(result.labels, whole.labels))
    (3000, True)
    >>> len(result.events) == len(whole.events)
    True
    """
    det = load_detector(detector)
    chunked = ChunkedDetector(det, reconstruction=reconstruction, top_k=top_k, keep=keep)
    for part in chunked.run(_chunks(path, chunk_size, read_options)):
        if on_part is not None:
            on_part(part)
    return StreamResult(
        n_rows=chunked.n_seen,
        n_anomalies=chunked.n_anomalies,
        events=chunked.events or [],
        channels=list(det.channels_),
        threshold=float(det.threshold_),
        scores=chunked.scores,
        labels=chunked.labels,
        timestamps=chunked.timestamps,
    )
