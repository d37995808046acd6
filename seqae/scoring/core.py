"""The numpy-only detector surface of :class:`seqae.Detector` and :class:`seqae.OnnxDetector`.

Everything after the network is here, once: the windowed (fold) and the convolutional (chunked,
with a halo) scoring loops, the drift-aware line, the alarm labels and their event rules, and
the detection result. A detector supplies only the network, as one callable

    ``run(batch (B, L, C) float32) -> (channel_error (B, L, C), reconstruction (B, L, C) or None)``

(a torch :class:`~seqae.models.head.ScoringHead` or an onnxruntime session), and the fitted numbers
the loops need (:class:`ScoringSpec`, the event rules, the drift base). Streaming a file in
chunks (:mod:`seqae.scale.streaming`) and scoring Dask or Spark partitions
(:mod:`seqae.scale.distributed`)
use the same loops through the same surface, so every path gives the same scores.

This module never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError, ParameterError
from .baseline import ATTRIBUTION_FRAMES, Attribution, DriftBaseline, StreamTracker
from .events import postprocess_labels
from .images import ImageDetectionResult
from .results import DetectionResult
from .validation import Stream
from .windowing import FoldAccumulator, FoldRule, frame_starts, gather_windows

__all__ = [
    "CHUNK",
    "SCORING_BATCH",
    "ProgressFn",
    "RunFn",
    "ScoringSpec",
    "StreamDetector",
    "StreamScores",
    "score_convolutional",
    "score_windowed",
]

#: Frames per call of ``run`` in windowed scoring.
SCORING_BATCH = 1024
#: Timesteps per call of ``run`` in convolutional scoring (before the halo).
CHUNK = 65536

#: ``run(frames (B, L, C)) -> (channel_error (B, L, C), reconstruction (B, L, C) or None)``.
RunFn = Callable[[np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]
#: ``progress(done, total)``: frames (windowed) or timesteps (convolutional) scored so far.
ProgressFn = Callable[[int, int], None]


@dataclass
class StreamScores:
    """Per-timestep results of scoring one stream (normalised by the model's threshold).

    Attributes
    ----------
    scores : ndarray (T,)
    contributions : ndarray (T, C)
        Per-channel shares; they sum over channels to ``scores``.
    reconstruction : ndarray (T, C) or None
        The reconstructed signal in raw units, when the ``run`` callable returned one.
    """

    scores: np.ndarray
    contributions: np.ndarray
    reconstruction: np.ndarray | None = None


def score_windowed(
    run: RunFn,
    x: np.ndarray,
    frame: int,
    step: int,
    *,
    how: FoldRule = "mean",
    batch_size: int = SCORING_BATCH,
    progress: ProgressFn | None = None,
) -> StreamScores:
    """Score a raw ``(T, C)`` stream frame by frame and fold the errors back to timesteps.

    Frames lie on the grid ``0, step, 2*step, ...`` plus the end-aligned tail frame of
    :func:`seqae.scoring.windowing.frame_starts`. They are gathered batch by batch from a zero-copy
    view, so memory stays at one batch plus the ``(T, C)`` result whatever the overlap. The
    reconstruction is folded too when ``run`` returns one.

    Examples
    --------
    >>> x = np.arange(10, dtype=np.float32).reshape(5, 2)
    >>> run = lambda frames: (frames ** 2, None)  # a stand-in for the network
    >>> out = score_windowed(run, x, frame=2, step=1)
    >>> out.scores.tolist()
    [1.0, 13.0, 41.0, 85.0, 145.0]
    """
    n, n_channels = x.shape
    starts = frame_starts(n, frame, step)
    errors = FoldAccumulator(n, frame, step, how, (n_channels,))
    recon_acc: FoldAccumulator | None = None
    for first in range(0, len(starts), batch_size):
        channel_error, recon = run(gather_windows(x, starts[first : first + batch_size], frame))
        errors.add(first, channel_error)
        if recon is not None:
            if recon_acc is None:
                recon_acc = FoldAccumulator(n, frame, step, how, (n_channels,))
            recon_acc.add(first, recon)
        if progress is not None:
            progress(min(first + batch_size, len(starts)), len(starts))
    contributions = errors.result()
    return StreamScores(
        scores=contributions.sum(axis=1),
        contributions=contributions,
        reconstruction=None if recon_acc is None else recon_acc.result(),
    )


def score_convolutional(
    run: RunFn,
    x: np.ndarray,
    *,
    stride: int,
    halo: int,
    chunk: int = CHUNK,
    progress: ProgressFn | None = None,
) -> StreamScores:
    """Score a raw ``(T, C)`` stream in one fully convolutional pass, chunk by chunk.

    Chunk starts are multiples of the model's total ``stride`` and each chunk carries ``halo``
    timesteps of context on both sides (the receptive field, a multiple of ``stride``), so the
    result equals one pass over the whole stream (to float rounding) while memory stays
    bounded by the chunk size.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    >>> run = lambda seq: (seq ** 2, seq)  # pointwise: any chunking gives the same result
    >>> whole = score_convolutional(run, x, stride=1, halo=0, chunk=1000)
    >>> parts = score_convolutional(run, x, stride=4, halo=8, chunk=30)
    >>> bool(np.allclose(whole.scores, parts.scores)), parts.reconstruction.shape
    (True, (100, 2))
    """
    n, n_channels = x.shape
    chunk = max(stride, chunk // stride * stride)
    contributions = np.empty((n, n_channels), dtype=np.float64)
    recon_out: np.ndarray | None = None
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        lo, hi = max(0, start - halo), min(n, stop + halo)
        channel_error, recon = run(np.ascontiguousarray(x[None, lo:hi]))
        keep = slice(start - lo, stop - lo)
        contributions[start:stop] = channel_error[0, keep]
        if recon is not None:
            if recon_out is None:
                recon_out = np.empty((n, n_channels), dtype=np.float32)
            recon_out[start:stop] = recon[0, keep]
        if progress is not None:
            progress(stop, n)
    return StreamScores(contributions.sum(axis=1), contributions, recon_out)


@dataclass(frozen=True)
class ScoringSpec:
    """The fitted numbers the scoring loops need: how a detector turns a stream into scores.

    Parameters
    ----------
    mode : {"windowed", "convolutional", "image"}
    frame, step : int
        Frame length and step of windowed scoring (``frame`` is also the shortest stream a
        windowed model scores).
    fold : {"mean", "max", "median"}
        How overlapping frames combine (windowed).
    batch_size : int
        Frames (or images) per call of ``run``.
    chunk, stride, halo : int
        Convolutional scoring: timesteps per call, the model's total stride, and the context
        each side of a chunk needs (a multiple of ``stride``).

    Examples
    --------
    >>> ScoringSpec("convolutional", frame=64, step=1, stride=8, halo=48).mode
    'convolutional'
    """

    mode: str
    frame: int
    step: int
    fold: str = "mean"
    batch_size: int = SCORING_BATCH
    chunk: int = CHUNK
    stride: int = 1
    halo: int = 0


class StreamDetector:
    """What every fitted seqae detector does after the network, in numpy.

    :class:`seqae.Detector` (torch) and :class:`seqae.OnnxDetector` (onnxruntime) derive from
    it, and so can any other source of reconstruction errors. A subclass provides:

    - the attributes ``channels_``, ``n_channels_`` and ``threshold_`` (the raw alarm line);
    - :meth:`_runner` (the network as a ``run`` callable), :meth:`_scoring_spec`,
      :meth:`_event_rules`, :meth:`_drift_params`, :meth:`_score_smoothing`,
      :meth:`_channel_weights`, :meth:`_scaler`, :meth:`_images`,
      :meth:`_check_fitted`,
      :meth:`_stream` (input to a validated stream) and, for image models,
      :meth:`_image_scores`.

    In return it gets :meth:`score_samples`, :meth:`predict` and :meth:`detect`, and works
    with :mod:`seqae.scale.streaming` (files in chunks) and :mod:`seqae.scale.distributed`,
    which use
    only the methods above plus :meth:`_score`, :meth:`tracker` and :meth:`_labels`.

    Examples
    --------
    A detector whose "network" predicts every value as 0, so the error is the value squared:

    >>> import numpy as np
    >>> from seqae.scoring.core import ScoringSpec, StreamDetector
    >>> from seqae.scoring.validation import stream_for_model
    >>> class Zero(StreamDetector):
    ...     channels_, n_channels_, threshold_ = ["a", "b"], 2, 1.0
    ...     def _runner(self, reconstruction=False):
    ...         return lambda frames: (frames ** 2 / 2, None)
    ...     def _scoring_spec(self):
    ...         return ScoringSpec("windowed", frame=4, step=1)
    ...     def _stream(self, X):
    ...         return stream_for_model(X, self.channels_)
    >>> x = np.zeros((20, 2), dtype=np.float32)
    >>> x[10:13, 1] = 2.0
    >>> result = Zero().detect(x)
    >>> result.labels.tolist()[8:15], result.events[0].top_channels
    ([0, 0, 1, 1, 1, 0, 0], (('b', 1.0), ('a', 0.0)))
    """

    channels_: list[str]
    n_channels_: int
    threshold_: float

    # ------------------------------------------------------------- what a subclass supplies
    def _check_fitted(self) -> None:
        """Raise :class:`~seqae.errors.NotFittedError` unless the detector can score."""

    def _images(self) -> bool:
        """True for a model fitted on images (scores per image; no windows, no events)."""
        return False

    def _runner(self, reconstruction: bool = False) -> RunFn:
        """The network as ``run(batch) -> (channel_error, reconstruction or None)``."""
        raise NotImplementedError

    def _scoring_spec(self) -> ScoringSpec:
        """The scoring path and its numbers (see :class:`ScoringSpec`)."""
        raise NotImplementedError

    def _event_rules(self) -> tuple[int, int]:
        """``(min_event_length, merge_gap)`` of the alarm labels."""
        return 1, 0

    def _drift_params(self) -> tuple[float | None, int | None]:
        """``(base, window)`` of the drift-aware line, ``base`` as a raw error (None: off)."""
        return None, None

    def _scaler(self) -> tuple[list[float], list[float]] | None:
        """``(center, scale)`` of the network's input scaling (None: the attribution does
        not weigh channels by their deviation)."""
        return None

    def _score_smoothing(self) -> int:
        """Rows of raw scores averaged into each score, before the drift line (1: none)."""
        return 1

    def _channel_weights(self) -> list[float] | None:
        """The channel weights inside the network's errors (None: all 1)."""
        return None

    def _stream(self, X: Any) -> Stream:
        """``X`` as a validated stream in the model's channel order."""
        raise NotImplementedError

    def _image_scores(
        self, X: Any, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(scores (N,), pixel scores (N, H, W), reconstruction or None)`` of images ``X``."""
        raise NotImplementedError

    # ------------------------------------------------------------- what every detector gets
    def _score(
        self,
        values: np.ndarray,
        *,
        reconstruction: bool = False,
        progress: ProgressFn | None = None,
    ) -> StreamScores:
        """The network's scores of a raw ``(T, C)`` stream (no drift adjustment)."""
        spec = self._scoring_spec()
        run = self._runner(reconstruction)
        if spec.mode == "convolutional":
            return score_convolutional(
                run, values, stride=spec.stride, halo=spec.halo, chunk=spec.chunk, progress=progress
            )
        if spec.mode != "windowed":
            raise ParameterError(f"a {spec.mode!r} model does not score streams")
        if len(values) < spec.frame:
            raise DataError(
                f"the data has {len(values)} timesteps, fewer than one frame of {spec.frame}"
            )
        return score_windowed(
            run,
            values,
            spec.frame,
            spec.step,
            how=spec.fold,  # type: ignore[arg-type]
            batch_size=spec.batch_size,
            progress=progress,
        )

    def _drift(self) -> DriftBaseline | None:
        """A fresh drift baseline for one stream, in score units (None when it is off)."""
        base, window = self._drift_params()
        if base is None or not window or self._images():
            return None
        return DriftBaseline(base / self.threshold_, window)

    def tracker(self) -> StreamTracker:
        """A fresh :class:`~seqae.scoring.baseline.StreamTracker` for one stream: the score
        smoothing,
        the drift-aware line and the channel attribution over two frames.

        What a caller that runs the network itself (row by row at the edge, say) applies to
        the network's scores, part after part in order, to get the detector's scores; its
        ``apply`` takes each part's raw values too (the attribution weighs channels by how far
        they are from their training mean)."""
        window = ATTRIBUTION_FRAMES * self._scoring_spec().frame
        scaler = self._scaler()
        center, scale = (None, None) if scaler is None else scaler
        attribution = Attribution(self._channel_weights(), window, center, scale)
        return StreamTracker(self._drift(), attribution, self._score_smoothing())

    def _score_stream(
        self,
        values: np.ndarray,
        *,
        reconstruction: bool = False,
        progress: ProgressFn | None = None,
    ) -> StreamScores:
        """The detector's scores of one whole stream: the network's, then smoothed and
        drift-adjusted."""
        result = self._score(values, reconstruction=reconstruction, progress=progress)
        return self._adjust(result, values)

    def _adjust(self, result: StreamScores, values: np.ndarray) -> StreamScores:
        """Network scores of one whole stream (raw ``values``), smoothed, drift-adjusted and
        attributed."""
        scores, contributions = self.tracker().apply(result.scores, result.contributions, values)
        return StreamScores(scores, contributions, result.reconstruction)

    def _labels(self, scores: np.ndarray) -> np.ndarray:
        """Alarm labels (int8) of consecutive scores: the line, then the event rules."""
        labels = (scores >= 1.0).astype(np.int8)
        if self._images():  # images are independent: no event rules
            return labels
        min_length, merge_gap = self._event_rules()
        return postprocess_labels(labels, min_length=min_length, merge_gap=merge_gap).astype(
            np.int8
        )

    def _result(self, stream: Stream, scored: StreamScores, top_k: int) -> DetectionResult:
        """The detection result of a whole stream's drift-adjusted scores."""
        return DetectionResult.build(
            scored.scores,
            scored.contributions,
            self._labels(scored.scores),
            channels=self.channels_,
            threshold=self.threshold_,
            timestamps=stream.timestamps,
            reconstruction=scored.reconstruction,
            top_k=top_k,
        )

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly score per timestep (per image for an image model), normalised so that 1.0
        is the alarm line (higher = more anomalous).

        ``X`` is a ``(T, C)`` array in the model's channel order, or named data (a DataFrame,
        SensorData) matched by channel name.
        """
        self._check_fitted()
        if self._images():
            return self._image_scores(X)[0]
        return self._score_stream(self._stream(X).values).scores

    def predict(self, X: Any) -> np.ndarray:
        """1 for anomalous timesteps (images), 0 otherwise (int8), after the event rules."""
        return self._labels(self.score_samples(X))

    def detect(
        self, X: Any, *, reconstruction: bool = False, top_k: int = 3
    ) -> DetectionResult | ImageDetectionResult:
        """Scores, labels, per-channel contributions and events for one stream.

        For an image model, ``X`` holds images and the result is an
        :class:`~seqae.scoring.images.ImageDetectionResult` (per-image scores and labels, per-pixel
        scores, and the reconstructed images when asked for). To score a file too large for
        memory, use :func:`seqae.scale.streaming.detect_file`: it gives the same scores and events.

        Parameters
        ----------
        X : array-like, DataFrame or SensorData
            Data with the model's channels (named data is matched by name, in any order).
        reconstruction : bool, default False
            Also return the reconstructed (cleaned) signal.
        top_k : int, default 3
            Channels listed per event.
        """
        self._check_fitted()
        if self._images():
            scores, pixels, recon = self._image_scores(X, reconstruction)
            return ImageDetectionResult.build(
                scores,
                pixels,
                self._labels(scores),
                threshold=self.threshold_,
                reconstruction=recon,
            )
        stream = self._stream(X)
        return self._result(
            stream, self._score_stream(stream.values, reconstruction=reconstruction), top_k
        )
