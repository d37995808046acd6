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
from ..files.state import FittedState
from .baseline import (
    ATTRIBUTION_FRAMES,
    Attribution,
    DriftBaseline,
    StreamTracker,
    StuckCheck,
    centred_mean,
)
from .events import Event, EventBuilder, postprocess_labels
from .images import ImageDetectionResult
from .results import DetectionResult
from .validation import Stream
from .windowing import FoldAccumulator, FoldRule, frame_starts, gather_windows

__all__ = [
    "CHUNK",
    "SCORING_BATCH",
    "ImageScoresFn",
    "ProgressFn",
    "RunFn",
    "RunnerFn",
    "Scorer",
    "ScoringSpec",
    "StreamDetector",
    "StreamScores",
    "centre",
    "combine_channels",
    "score_convolutional",
    "score_windowed",
]

#: Frames per call of ``run`` in windowed scoring.
SCORING_BATCH = 1024
#: Timesteps per call of ``run`` in convolutional scoring (before the halo).
CHUNK = 65536

#: ``run(frames (B, L, C)) -> (channel_error (B, L, C), reconstruction (B, L, C) or None)``.
RunFn = Callable[[np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]
#: ``runner(reconstruction) -> run``: the network, with or without its reconstruction output.
RunnerFn = Callable[[bool], RunFn]
#: ``image_scores(X, reconstruction) -> (scores (N,), pixel scores, reconstruction or None)``.
ImageScoresFn = Callable[[Any, bool], tuple[np.ndarray, np.ndarray, "np.ndarray | None"]]
#: ``progress(done, total)``: frames (windowed) or timesteps (convolutional) scored so far.
ProgressFn = Callable[[int, int], None]


@dataclass
class StreamScores:
    """Per-timestep results of scoring one stream (normalised by the model's threshold).

    Attributes
    ----------
    scores : ndarray (T,)
    contributions : ndarray (T, C) or None
        Per-channel shares; they sum over channels to ``scores`` (None where they were not
        asked for: :meth:`Scorer.score_stream` with ``contributions=False``).
    reconstruction : ndarray (T, C) or None
        The reconstructed signal in raw units, when the ``run`` callable returned one.
    rank : ndarray (T,) or None
        The network's scores of the ranking stream (:attr:`ScoringSpec.rank`), before the
        tracker; None without one, and in the tracker's output.
    """

    scores: np.ndarray
    contributions: np.ndarray | None
    reconstruction: np.ndarray | None = None
    rank: np.ndarray | None = None


def combine_channels(errors: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Each timestep's score from its ``(T, C)`` channel errors: ``C`` times their power mean.

    ``power`` 1 is the sum. A larger ``power`` moves the score toward the largest channel
    errors, so a fault in one channel of many is not thinned by the channels that stay normal:
    where every channel errs by ``e`` the score is ``C * e`` at any power, but one channel's
    error ``E`` counts ``E / C`` of that level in the sum and ``E / C ** (1 / power)`` in the
    power mean (50 channels at power 4: ``E / 2.7``, not ``E / 50``). The score is
    homogeneous (errors times ``a`` give the score times ``a``), so a line divides either.

    Examples
    --------
    >>> e = np.array([[1.0, 1.0, 1.0, 1.0], [4.0, 0.0, 0.0, 0.0]])
    >>> combine_channels(e).tolist(), combine_channels(e, 4).round(3).tolist()
    ([4.0, 4.0], [4.0, 11.314])
    """
    if power == 1:
        return errors.sum(axis=1)
    e = np.asarray(errors, dtype=np.float64)
    n = e.shape[1]
    if power in (2, 4):  # products and square roots: far faster than float powers
        lifted = e * e
        if power == 4:
            lifted *= lifted
        root = np.sqrt(lifted.mean(axis=1))
        return n * (np.sqrt(root) if power == 4 else root)
    return n * np.mean(e**power, axis=1) ** (1.0 / power)


def score_windowed(
    run: RunFn,
    x: np.ndarray,
    frame: int,
    step: int,
    *,
    how: FoldRule = "mean",
    batch_size: int = SCORING_BATCH,
    progress: ProgressFn | None = None,
    power: float = 1.0,
) -> StreamScores:
    """Score a raw ``(T, C)`` stream frame by frame and fold the errors back to timesteps.

    Frames lie on the grid ``0, step, 2*step, ...`` plus the end-aligned tail frame of
    :func:`seqae.scoring.windowing.frame_starts`. They are gathered batch by batch from a zero-copy
    view, so memory stays at one batch plus the ``(T, C)`` result whatever the overlap. The
    reconstruction is folded too when ``run`` returns one. Each timestep's score combines its
    channel errors by :func:`combine_channels` with ``power``.

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
        scores=combine_channels(contributions, power),
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
    contributions: bool = True,
    power: float = 1.0,
) -> StreamScores:
    """Score a raw ``(T, C)`` stream in one fully convolutional pass, chunk by chunk.

    Chunk starts are multiples of the model's total ``stride`` and each chunk carries ``halo``
    timesteps of context on both sides (the receptive field, a multiple of ``stride``), so the
    result equals one pass over the whole stream (to float rounding) while memory stays
    bounded by the chunk size. Without ``contributions`` only the scores are kept (the same
    numbers; the ``(T, C)`` errors are summed chunk by chunk and dropped).

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
    shares = np.empty((n, n_channels), dtype=np.float64) if contributions else None
    scores = None if contributions else np.empty(n, dtype=np.float64)
    recon_out: np.ndarray | None = None
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        lo, hi = max(0, start - halo), min(n, stop + halo)
        channel_error, recon = run(np.ascontiguousarray(x[None, lo:hi]))
        keep = slice(start - lo, stop - lo)
        if shares is not None:
            shares[start:stop] = channel_error[0, keep]
        else:  # the same float64 row sums as summing the whole (T, C) block below
            scores[start:stop] = combine_channels(channel_error[0, keep].astype(np.float64), power)
        if recon is not None:
            if recon_out is None:
                recon_out = np.empty((n, n_channels), dtype=np.float32)
            recon_out[start:stop] = recon[0, keep]
        if progress is not None:
            progress(stop, n)
    if shares is not None:
        scores = combine_channels(shares, power)
    return StreamScores(scores, shares, recon_out)


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
    power : float
        How each timestep's channel errors combine (:func:`combine_channels`; 1: their sum).
    centred : int
        The width of the centred mean of the scores (:func:`~seqae.scoring.baseline.centred_mean`;
        1: none). A score then reads ``centred - 1`` rows on either side.
    rank : int
        The width of the centred mean of the network's scores that ranks the rows under the
        line (:func:`~seqae.scoring.baseline.lift_under_line`; 1: none). It reads
        ``rank - 1`` rows on either side.

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
    power: float = 1.0
    centred: int = 1
    rank: int = 1

    @property
    def reach(self) -> int:
        """The wider of the two centred means: a score reads ``reach - 1`` rows either side."""
        return max(int(self.centred), int(self.rank))


def score_network(
    run: RunFn,
    spec: ScoringSpec,
    values: np.ndarray,
    *,
    progress: ProgressFn | None = None,
    contributions: bool = True,
) -> StreamScores:
    """The network's scores of a raw ``(T, C)`` stream on the path ``spec`` names, with the
    centred mean of ``spec.centred`` and the ranking stream of ``spec.rank`` (no trailing
    smoothing, drift line nor attribution):
    :func:`score_convolutional` or :func:`score_windowed`. The contributions stay the
    network's own. Without ``contributions`` the result may omit them (the scores are the
    same)."""
    if spec.mode == "convolutional":
        out = score_convolutional(
            run,
            values,
            stride=spec.stride,
            halo=spec.halo,
            chunk=spec.chunk,
            progress=progress,
            contributions=contributions,
            power=spec.power,
        )
    elif spec.mode != "windowed":
        raise ParameterError(f"a {spec.mode!r} model does not score streams")
    elif len(values) < spec.frame:
        raise DataError(
            f"the data has {len(values)} timesteps, fewer than one frame of {spec.frame}"
        )
    else:
        out = score_windowed(
            run,
            values,
            spec.frame,
            spec.step,
            how=spec.fold,  # type: ignore[arg-type]
            batch_size=spec.batch_size,
            progress=progress,
            power=spec.power,
        )
    return centre(out, spec)


def centre(scored: StreamScores, spec: ScoringSpec) -> StreamScores:
    """``scored``, whose ``scores`` are the network's combined errors, with the centred means
    ``spec`` names: the ranking stream's (``spec.rank``, into ``rank``) and the alarms'
    (``spec.centred``, in place of ``scores``). Changes ``scored`` and returns it."""
    if spec.rank > 1:  # from the combined errors, not from the alarms' centred mean
        scored.rank = centred_mean(scored.scores, spec.rank)
    if spec.centred > 1:
        scored.scores = centred_mean(scored.scores, spec.centred)
    return scored


class Scorer:
    """The public scoring surface of a fitted detector: its fitted state and its network.

    Every detector gives one (:attr:`StreamDetector.scorer`): :class:`seqae.Detector` with its
    torch scoring head, :class:`seqae.OnnxDetector` with its onnxruntime session. Streaming a
    file in chunks (:mod:`seqae.scale.streaming`), Dask and Spark partitions
    (:mod:`seqae.scale.distributed`), the export and the CLI all score through it, so every
    path gives the same scores, labels and events.

    Parameters
    ----------
    state : FittedState
        The fitted numbers: channels, threshold, event rules, drift line, smoothing, channel
        weights, scaler (:class:`seqae.files.state.FittedState`).
    runner : callable
        ``runner(reconstruction) -> run``; ``run(batch (B, L, C)) -> (channel_error (B, L, C),
        reconstruction or None)``, the errors already divided by the threshold.
    spec : ScoringSpec
        The scoring path and its numbers.
    image_scores : callable, optional
        ``image_scores(X, reconstruction)`` of an image model.

    Examples
    --------
    >>> from seqae.files.state import FittedState
    >>> state = FittedState.for_scoring(["a", "b"], threshold=1.0, frame=4, step=1)
    >>> scorer = Scorer(state, lambda recon: lambda f: (f ** 2 / 2, None),
    ...                 ScoringSpec("windowed", frame=4, step=1))
    >>> x = np.zeros((20, 2), dtype=np.float32)
    >>> x[10:13, 1] = 2.0
    >>> scored = scorer.score_stream(x)
    >>> labels = scorer.labels(scored.scores)
    >>> labels.tolist()[8:15], scorer.events(labels, scored.scores, scored.contributions)[0].start
    ([0, 0, 1, 1, 1, 0, 0], 10)
    """

    def __init__(
        self,
        state: FittedState,
        runner: RunnerFn,
        spec: ScoringSpec,
        image_scores: ImageScoresFn | None = None,
    ) -> None:
        self.state = state
        self.runner = runner
        self.spec = spec
        self.image_scores_fn = image_scores

    # ------------------------------------------------------------------ facts
    @property
    def channels(self) -> list[str]:
        """The channel names, in the order the network takes them."""
        return list(self.state.channels)

    @property
    def n_channels(self) -> int:
        return len(self.state.channels)

    @property
    def threshold(self) -> float:
        """The raw alarm line (score 1.0)."""
        return float(self.state.threshold)

    @property
    def images(self) -> bool:
        """True for a model fitted on images (scores per image; no windows, no events)."""
        return self.state.input_kind == "image"

    @property
    def event_rules(self) -> tuple[int, int]:
        """``(min_event_length, merge_gap)`` of the alarm labels."""
        return int(self.state.min_event_length), int(self.state.merge_gap)

    @property
    def label_context(self) -> int:
        """The labels of a timestep depend on the raw alarms at most this close to it."""
        return sum(self.event_rules) + 1

    # ------------------------------------------------------------------ scoring
    def score(
        self,
        values: np.ndarray,
        *,
        reconstruction: bool = False,
        progress: ProgressFn | None = None,
        contributions: bool = True,
    ) -> StreamScores:
        """The network's scores of a raw ``(T, C)`` stream (or any part of one, with the
        overlap :class:`seqae.scale.streaming.Overlap` names): not yet smoothed, drift-adjusted
        nor attributed (see :meth:`tracker`). Without ``contributions`` the per-channel errors
        may be dropped (the scores are the same)."""
        run = self.runner(reconstruction)
        return score_network(run, self.spec, values, progress=progress, contributions=contributions)

    def tracker(self, *, contributions: bool = True) -> StreamTracker:
        """A fresh :class:`~seqae.scoring.baseline.StreamTracker` for one stream: the score
        smoothing, the drift-aware line, the ranking stream under the line (its ``apply``
        then takes the network's rank scores, :attr:`StreamScores.rank`), (with
        ``contributions``) the channel attribution over two frames, and the stuck-channel
        check when the model has one.

        What a caller that runs the network itself (part by part, or row by row at the edge)
        applies to the network's scores, part after part in order, to get the detector's
        scores; its ``apply`` takes each part's raw values too (the attribution weighs channels
        by how far they are from their training mean)."""
        state = self.state
        drift = None
        if state.drift_base is not None and state.drift_window and not self.images:
            drift = DriftBaseline(
                state.drift_base / self.threshold, state.drift_window, state.drift_rank_power
            )
        attribution = None
        if contributions:
            window = ATTRIBUTION_FRAMES * self.spec.frame
            center, scale = state.scaler["center"], state.scaler["scale"]
            attribution = Attribution(state.channel_weights, window, center, scale)
        stuck = None
        if state.stuck_window and not self.images:
            stuck = StuckCheck(state.stuck_floor, state.stuck_window)
        # the smoother starts as if the stream had run at the held-out level (the drift base)
        fill = None if state.drift_base is None else state.drift_base / self.threshold
        rank = state.rank_gain if state.rank_smoothing > 1 and not self.images else None
        return StreamTracker(
            drift,
            attribution,
            state.score_smoothing,
            long_smoothing=state.long_smoothing,
            long_gain=state.long_gain,
            stuck=stuck,
            smoothing_fill=fill,
            rank_gain=rank,
        )

    def adjust(
        self, scored: StreamScores, values: np.ndarray, *, contributions: bool = True
    ) -> StreamScores:
        """Network scores of one whole stream (raw ``values``), smoothed, drift-adjusted and
        (with ``contributions``) attributed."""
        tracker = self.tracker(contributions=contributions)
        scores, shares = tracker.apply(
            scored.scores, scored.contributions if contributions else None, values, scored.rank
        )
        return StreamScores(scores, shares, scored.reconstruction)

    def score_stream(
        self,
        values: np.ndarray,
        *,
        reconstruction: bool = False,
        contributions: bool = True,
        progress: ProgressFn | None = None,
    ) -> StreamScores:
        """The detector's scores of one whole raw stream: the network's, then smoothed and
        drift-adjusted; the per-channel contributions only with ``contributions`` (the scores
        do not depend on it)."""
        scored = self.score(
            values, reconstruction=reconstruction, progress=progress, contributions=contributions
        )
        return self.adjust(scored, values, contributions=contributions)

    def labels(self, scores: np.ndarray) -> np.ndarray:
        """Alarm labels (int8) of consecutive scores: the line, then the event rules."""
        labels = (np.asarray(scores) >= 1.0).astype(np.int8)
        if self.images:  # images are independent: no event rules
            return labels
        min_length, merge_gap = self.event_rules
        return postprocess_labels(labels, min_length=min_length, merge_gap=merge_gap).astype(
            np.int8
        )

    def event_builder(self, top_k: int = 3, *, start: int = 0) -> EventBuilder:
        """An :class:`~seqae.scoring.events.EventBuilder` over this model's channels, for rows
        from index ``start`` on."""
        return EventBuilder(self.channels, top_k=top_k, start=start)

    def events(
        self,
        labels: np.ndarray,
        scores: np.ndarray,
        contributions: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        *,
        top_k: int = 3,
    ) -> list[Event]:
        """The events of one stream's labels and scores (top channels from the contributions)."""
        builder = self.event_builder(top_k)
        builder.add(labels, scores, contributions, timestamps)
        return builder.events()

    def result(
        self, scored: StreamScores, timestamps: np.ndarray | None = None, *, top_k: int = 3
    ) -> DetectionResult:
        """The detection result of a whole stream's adjusted scores (with contributions)."""
        if scored.contributions is None:
            raise ParameterError("a detection result needs the contributions: score with them")
        return DetectionResult.build(
            scored.scores,
            scored.contributions,
            self.labels(scored.scores),
            channels=self.channels,
            threshold=self.threshold,
            timestamps=timestamps,
            reconstruction=scored.reconstruction,
            top_k=top_k,
        )

    def image_scores(
        self, X: Any, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(scores (N,), pixel scores (N, H, W), reconstruction or None)`` of images ``X``."""
        if self.image_scores_fn is None:
            raise ParameterError("this model was fitted on sequences: it does not score images")
        return self.image_scores_fn(X, reconstruction)


class StreamDetector:
    """What every fitted seqae detector does after the network, in numpy.

    :class:`seqae.Detector` (torch) and :class:`seqae.OnnxDetector` (onnxruntime) derive from
    it, and so can any other source of reconstruction errors. A subclass provides:

    - ``state_``, its :class:`~seqae.files.state.FittedState` (channels, threshold, event
      rules, drift line, ...), and the attributes ``channels_``, ``n_channels_`` and
      ``threshold_``;
    - the hooks :meth:`_runner` (the network as a ``run`` callable), :meth:`_scoring_spec`,
      :meth:`_check_fitted`, :meth:`_stream` (input to a validated stream) and, for image
      models, :meth:`_image_scores`.

    In return it gets :attr:`scorer` (the public :class:`Scorer` that streaming, Dask, Spark,
    the export and the CLI use), :meth:`score_samples`, :meth:`predict`, :meth:`detect` and
    :meth:`tracker`.

    Examples
    --------
    A detector whose "network" predicts every value as 0, so the error is the value squared:

    >>> import numpy as np
    >>> from seqae.files.state import FittedState
    >>> from seqae.scoring.core import ScoringSpec, StreamDetector
    >>> from seqae.scoring.validation import stream_for_model
    >>> class Zero(StreamDetector):
    ...     channels_, n_channels_, threshold_ = ["a", "b"], 2, 1.0
    ...     state_ = FittedState.for_scoring(["a", "b"], threshold=1.0, frame=4, step=1)
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
    state_: FittedState

    # ------------------------------------------------------------- what a subclass supplies
    def _check_fitted(self) -> None:
        """Raise :class:`~seqae.errors.NotFittedError` unless the detector can score."""

    def _runner(self, reconstruction: bool = False) -> RunFn:
        """The network as ``run(batch) -> (channel_error, reconstruction or None)``."""
        raise NotImplementedError

    def _scoring_spec(self) -> ScoringSpec:
        """The scoring path and its numbers (see :class:`ScoringSpec`)."""
        raise NotImplementedError

    def _stream(self, X: Any) -> Stream:
        """``X`` as a validated stream in the model's channel order."""
        raise NotImplementedError

    def _scoring_state(self) -> FittedState:
        """The fitted state the :attr:`scorer` reads (default: ``state_``; a subclass may
        give a cheaper one holding the same scoring numbers)."""
        return self.state_

    def _image_scores(
        self, X: Any, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(scores (N,), pixel scores (N, H, W), reconstruction or None)`` of images ``X``."""
        raise NotImplementedError

    # ------------------------------------------------------------- what every detector gets
    @property
    def scorer(self) -> Scorer:
        """The public scoring surface: this detector's fitted state and network
        (:class:`Scorer`).

        Raises
        ------
        NotFittedError
            The detector is not fitted (or loaded).
        """
        self._check_fitted()
        state = self._scoring_state()
        images = state.input_kind == "image"
        return Scorer(
            state, self._runner, self._scoring_spec(), self._image_scores if images else None
        )

    def _score(
        self,
        values: np.ndarray,
        *,
        reconstruction: bool = False,
        progress: ProgressFn | None = None,
    ) -> StreamScores:
        """The network's scores of a raw ``(T, C)`` stream (no drift adjustment); usable
        while fitting, before the fitted state is complete."""
        run = self._runner(reconstruction)
        return score_network(run, self._scoring_spec(), values, progress=progress)

    def tracker(self) -> StreamTracker:
        """A fresh :class:`~seqae.scoring.baseline.StreamTracker` for one stream (see
        :meth:`Scorer.tracker`)."""
        return self.scorer.tracker()

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly score per timestep (per image for an image model), normalised so that 1.0
        is the alarm line (higher = more anomalous).

        ``X`` is a ``(T, C)`` array in the model's channel order, or named data (a DataFrame,
        SensorData) matched by channel name. The per-channel contributions are not computed
        (:meth:`detect` gives them, with the same scores).
        """
        return self._scores_by(self.scorer, X)

    def _scores_by(self, scorer: Scorer, X: Any) -> np.ndarray:
        """``scorer``'s scores of ``X`` without contributions: per image for an image model,
        else per timestep of the stream ``X`` (matched to the channels)."""
        if scorer.images:
            return scorer.image_scores(X)[0]
        return scorer.score_stream(self._stream(X).values, contributions=False).scores

    def predict(self, X: Any) -> np.ndarray:
        """1 for anomalous timesteps (images), 0 otherwise (int8), after the event rules."""
        return self.scorer.labels(self.score_samples(X))

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
        scorer = self.scorer
        if scorer.images:
            scores, pixels, recon = scorer.image_scores(X, reconstruction)
            return ImageDetectionResult.build(
                scores,
                pixels,
                scorer.labels(scores),
                threshold=scorer.threshold,
                reconstruction=recon,
            )
        stream = self._stream(X)
        scored = scorer.score_stream(stream.values, reconstruction=reconstruction)
        return scorer.result(scored, stream.timestamps, top_k=top_k)
