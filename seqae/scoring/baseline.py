"""A drift-aware alarm line: scores relative to the level the stream has been running at.

Normal operation drifts away from the data a detector was fitted on (a temperature follows the
season, a pump wears), and a model's error drifts with it. A fixed line is then crossed by the
drift and the alarms flood. :class:`DriftBaseline` follows the typical level of the score over
the last ``window`` timesteps and lowers the scores by the amount that level has risen above
the level of held-out normal data, so slow drift stops raising alarms while a fault, which
changes the score far faster, still crosses the line.

How the level is measured, in one pass and causally (a timestep is adjusted by the past alone):
the stream is cut into blocks of ``window // 16`` timesteps; each block's median score is one
sample of the level; a block's level is the ``quantile`` (0.25) of the medians of the 16 blocks
before it. A fault therefore has to fill three quarters of a window before it is taken for the
new normal, while single spikes never move the level. The history starts filled with the fitted
``base``, as if the stream had been running at the held-out level before its first timestep.

The adjustment decides the alarms. How the scores under the line rank need not take all of it:
with ``rank_power`` < 1 (the Detector's ``drift_rank_power``, 0.5 by default since round 18)
such a score keeps only that power of the factor, so a fault the level has caught up with still
ranks above normal rows, and it stays under the line (:meth:`DriftBaseline.under_line`).

Before the line, the scores can be smoothed (:class:`StreamTracker`'s ``smoothing``): each
becomes the trailing mean of the last ``smoothing`` raw scores, as Telemanom smooths its
prediction errors, so the noise of single rows stops crossing the line.

The state carries across calls, so a stream scored part by part gives the same result as one
pass. Pure numpy: used by the torch ``Detector`` and the onnxruntime ``OnnxDetector`` alike.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> drifting = rng.exponential(0.1, 20_000) * np.linspace(1, 8, 20_000)  # error level x8
>>> adjusted = DriftBaseline(base=0.07, window=1024).adjust(drifting)
>>> bool((drifting[-5000:] > 1).mean() > 0.05), bool((adjusted[-5000:] > 1).mean() < 0.01)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ParameterError
from .common import is_number

__all__ = [
    "ATTRIBUTION_FRAMES",
    "N_BLOCKS",
    "QUANTILE",
    "STUCK_MARGIN",
    "STUCK_REPEATS",
    "STUCK_SCORE",
    "UNDER_LINE_KNEE",
    "Attribution",
    "CentredMean",
    "DriftBaseline",
    "ScoreSmoother",
    "StreamTracker",
    "StuckCheck",
    "TrailingMean",
    "apply_baseline",
    "centred_mean",
    "lift_under_line",
    "smooth_scores",
]

#: Blocks per window: the level is re-measured every ``window // N_BLOCKS`` timesteps.
N_BLOCKS = 16
#: Which quantile of the block medians is the level.
QUANTILE = 0.25
#: Frames of errors averaged by a detector's attribution (suite-rounds.md, round 9).
ATTRIBUTION_FRAMES = 2
#: A channel is stuck when its range over the stuck window is below this share of the
#: smallest range it had over any window of the training data in which it moved: when it
#: holds one value (to float rounding). Half the range took server metrics that go quiet
#: for stuck (suite-rounds.md, rounds 11 and 15).
STUCK_MARGIN = 1e-6
#: The score of a timestep while a channel is stuck (at least; 1.0 is the alarm line).
STUCK_SCORE = 2.0
#: Only a channel whose training values repeat from one row to the next at most this often is
#: checked: a quantised or idle-prone channel (a counter, a CPU share) holds still in normal
#: operation (suite-rounds.md, round 10).
STUCK_REPEATS = 0.01

#: Under the line, a drift-adjusted score (``rank_power`` < 1) is bent toward the line from
#: here on, so it never reaches it: the alarms stay those of the full adjustment.
UNDER_LINE_KNEE = 0.9
_BELOW_ONE = float(np.nextafter(1.0, 0.0))

#: ``centred_smoothing="auto"``'s width on data of one channel: the centred mean ranked the
#: one-channel histories of SMD machines that no track scores 0.376 -> 0.459 VUS-PR at
#: 32 rows (0.467 at 64, with a third more false rows); suite-rounds.md, round 17.
ONE_CHANNEL_CENTRED = 32

#: ``rank_smoothing="auto"``'s width on data of several channels (the default, 32, takes it
#: on every stream): the centred mean of the network's scores ranks the rows under the line
#: (suite-rounds.md, round 19).
SEVERAL_CHANNELS_RANK = 32


class DriftBaseline:
    """Adjust scores for slow drift of their level; stateful, so streams can come in parts.

    Parameters
    ----------
    base : float
        The normal level: the median score of held-out normal data (> 0).
    window : int
        Timesteps over which the level is measured (>= ``N_BLOCKS``).

    Examples
    --------
    >>> import numpy as np
    >>> baseline = DriftBaseline(base=0.1, window=64)  # blocks of 4 timesteps
    >>> baseline.adjust(np.full(8, 0.1)).tolist()  # at the normal level: unchanged
    [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    >>> adjusted = baseline.adjust(np.full(200, 0.4))  # the level rises 4x and stays
    >>> float(adjusted[0]), float(adjusted[-1])  # new at first; then the level follows
    (0.4, 0.1)

    With ``rank_power`` < 1 (scores normalised so that the alarm line is 1.0), a score the
    adjustment leaves under the line keeps only ``factor ** rank_power`` of the discount, so
    a lasting fault the level has caught up with still ranks above normal rows; such scores
    bend toward the line above ``UNDER_LINE_KNEE`` and never reach it, so which rows cross
    is exactly as with the full discount:

    >>> ranked = DriftBaseline(base=0.1, window=64, rank_power=0.5)
    >>> ranked.adjust(np.full(200, 0.4))[-1].round(3)  # 0.4 x sqrt(0.1 / 0.4)
    np.float64(0.2)
    >>> DriftBaseline(base=0.1, window=64, rank_power=0.0).adjust(np.full(200, 5.0))[-1] < 1
    np.True_
    """

    def __init__(self, base: float, window: int, rank_power: float = 1.0) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
            raise ParameterError(f"drift window must be an integer >= {N_BLOCKS}, got {window!r}")
        if window < N_BLOCKS:
            raise ParameterError(f"drift window must be >= {N_BLOCKS} timesteps, got {window}")
        if not (isinstance(base, (int, float, np.floating)) and math.isfinite(base) and base > 0):
            raise ParameterError(f"drift base must be a finite number > 0, got {base!r}")
        if not (is_number(rank_power) and 0.0 <= rank_power <= 1.0):
            raise ParameterError(f"drift rank power must be a number in [0, 1], got {rank_power!r}")
        self.base = float(base)
        self.rank_power = float(rank_power)
        self.block = int(window) // N_BLOCKS
        self._stats = np.full(N_BLOCKS, self.base)  # medians of the last N_BLOCKS blocks
        self._pending = np.zeros(0)  # scores of the current, unfinished block

    def warm_up_from(self, start: int) -> int:
        """Where a fresh baseline must start reading to score a stream from index ``start`` on.

        Feed it the scores from the returned index up to ``start`` (and discard their
        factors), then the scores from ``start`` on: they come out exactly as in one pass
        over the whole stream. This is how a partition of a stream is scored on its own.

        Examples
        --------
        >>> import numpy as np
        >>> scores = np.random.default_rng(0).exponential(0.1, 5000) * np.linspace(1, 3, 5000)
        >>> whole = DriftBaseline(0.07, 256).adjust(scores)
        >>> part = DriftBaseline(0.07, 256)
        >>> first = part.warm_up_from(3000)
        >>> _ = part.factors(scores[first:3000])
        >>> bool(np.array_equal(part.adjust(scores[3000:]), whole[3000:]))
        True
        """
        return max(0, (int(start) // self.block - N_BLOCKS) * self.block)

    def factors(self, scores: Any) -> np.ndarray:
        """The factor (<= 1) each of the next ``len(scores)`` scores is multiplied by."""
        scores = np.asarray(scores, dtype=np.float64)
        s = np.concatenate([self._pending, scores])
        n_full = len(s) // self.block
        medians = np.median(s[: n_full * self.block].reshape(n_full, self.block), axis=1)
        history = np.concatenate([self._stats, medians])
        # block j's level: the quantile of the N_BLOCKS medians before it (history[j : j + N])
        level = np.quantile(sliding_window_view(history, N_BLOCKS), QUANTILE, axis=1)
        per_block = self.base / np.maximum(level, self.base)
        first = len(self._pending)
        self._stats = history[-N_BLOCKS:]
        self._pending = s[n_full * self.block :]
        return np.repeat(per_block, self.block)[first : first + len(scores)]

    def adjust(self, scores: Any) -> np.ndarray:
        """The next part of the stream's scores, adjusted (a new array)."""
        scores = np.asarray(scores, dtype=np.float64)
        return self.under_line(scores, self.factors(scores))

    def under_line(self, scores: np.ndarray, factors: np.ndarray) -> np.ndarray:
        """``scores * factors``, but under the line (1.0) only ``factors ** rank_power`` of the
        discount, bent below the line (see the class); the rows at or over it are unchanged."""
        adjusted = scores * factors
        if self.rank_power == 1.0:
            return adjusted
        under = adjusted < 1.0
        kept = scores[under] * factors[under] ** self.rank_power
        # never below the whole adjustment: a score the line did not move stays as it is
        adjusted[under] = _under_line(kept, adjusted[under])
        return adjusted


def _under_line(kept: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """``kept`` bent toward the line (1.0) above ``UNDER_LINE_KNEE`` and capped just under
    it, but never below ``floor`` (itself capped under the line)."""
    knee = UNDER_LINE_KNEE
    bent = 1.0 - (1.0 - knee) * np.exp(-(kept - knee) / (1.0 - knee))
    bent = np.minimum(np.where(kept < knee, kept, bent), _BELOW_ONE)
    return np.maximum(np.minimum(floor, _BELOW_ONE), bent)


def lift_under_line(
    scores: np.ndarray,
    rank: np.ndarray,
    factors: np.ndarray | None = None,
    power: float = 1.0,
) -> np.ndarray:
    """Scores under the line (1.0) raised to a ranking stream's; those at or over it unchanged.

    ``rank`` (normalised to its own line) is drift-adjusted as :meth:`DriftBaseline.under_line`
    adjusts a score under the line (``factors ** power`` of the discount, never less than the
    whole of it), bent toward the line above ``UNDER_LINE_KNEE`` and kept under it. A score
    then only rises, and never to the line, so which rows cross it (the alarms) does not
    change: only the order of the rows under it does.

    Examples
    --------
    >>> scores = np.array([0.1, 0.5, 1.2, 0.3])
    >>> rank = np.array([0.4, 0.2, 0.1, 3.0])
    >>> lift_under_line(scores, rank).round(4).tolist()
    [0.4, 0.5, 1.2, 1.0]
    >>> bool(lift_under_line(scores, rank)[3] < 1.0)
    True
    """
    scores = np.asarray(scores, dtype=np.float64)
    rank = np.asarray(rank, dtype=np.float64)
    if factors is None:
        lifted = _under_line(rank, rank)
    else:
        lifted = _under_line(rank * factors**power, rank * factors)
    under = scores < 1.0
    out = scores.copy()
    out[under] = np.maximum(scores[under], lifted[under])
    return out


def apply_baseline(
    baseline: DriftBaseline | None, scores: np.ndarray, contributions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The next part's ``(scores (n,), contributions (n, C))``, drift-adjusted alike.

    Contributions keep summing to the score. ``baseline=None`` returns them unchanged.
    """
    if baseline is None:
        return scores, contributions
    scores = np.asarray(scores, dtype=np.float64)
    adjusted = baseline.under_line(scores, baseline.factors(scores))
    ratio = np.divide(adjusted, scores, out=np.ones_like(adjusted), where=scores != 0)
    return adjusted, contributions * ratio[:, None]


class TrailingMean:
    """Causal trailing means over the last ``window`` rows; stateful, so streams can come in parts.

    Row ``i`` of a stream becomes the mean of rows ``i - window + 1 .. i``; the first rows of
    a stream average the rows they have. The last ``window - 1`` rows carry to the next call.

    Parameters
    ----------
    window : int
        Rows averaged (>= 1).
    name : str, default "window"
        The parameter named in the error for a bad ``window``.
    fill : float, optional
        The value of the ``window - 1`` rows before the stream's first: the first rows then
        average as many values as every other row (None: they average the rows they have).

    Examples
    --------
    >>> import numpy as np
    >>> mean = TrailingMean(3)
    >>> mean.apply(np.array([3.0, 6.0])).tolist(), mean.apply(np.array([9.0, 0.0])).tolist()
    ([3.0, 4.5], [6.0, 5.0])
    >>> TrailingMean(3, fill=0.0).apply(np.array([3.0, 6.0])).tolist()
    [1.0, 3.0]
    """

    def __init__(self, window: int, name: str = "window", fill: float | None = None) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise ParameterError(f"{name} must be an integer >= 1, got {window!r}")
        self.window = int(window)
        self._recent: np.ndarray | None = None  # the last window - 1 rows
        if fill is not None:
            self._recent = np.full(self.window - 1, float(fill))

    def apply(self, rows: Any) -> np.ndarray:
        """Trailing means of the next part's ``rows`` (shape ``(n,)`` or ``(n, C)``)."""
        rows = np.asarray(rows, dtype=np.float64)
        recent = self._recent if self._recent is not None else np.zeros((0, *rows.shape[1:]))
        n_recent, w = len(recent), self.window
        rows = np.concatenate([recent, rows])
        n = len(rows)
        sums = np.empty((n + 1, *rows.shape[1:]))
        sums[0] = 0.0
        np.cumsum(rows, axis=0, out=sums[1:])
        self._recent = rows[-(w - 1) :] if w > 1 else rows[:0]
        # row i's mean is (sums[i + 1] - sums[max(i + 1 - w, 0)]) / its count: slices, not
        # gathers; the first k rows (fewer than w before them) start at sums[0]
        out = sums[n_recent + 1 :].copy()
        k = max(0, min(n - n_recent, w - 1 - n_recent))
        out[:k] -= sums[0]
        out[k:] -= sums[n_recent + k + 1 - w : n + 1 - w]
        counts = np.arange(n_recent + 1, n_recent + 1 + k, dtype=np.float64)
        out[:k] /= counts.reshape(-1, *([1] * (rows.ndim - 1)))
        out[k:] /= w
        return out


class ScoreSmoother:
    """Trailing means of the scores over ``window`` rows and, optionally, ``long`` rows; each
    row's smoothed score is the larger of the short mean and ``gain`` times the long one.
    Stateful, like :class:`TrailingMean`.

    The short mean takes the noise of single rows off the line; the long one lets a lasting
    stretch of moderate errors rise above it, while a short burst keeps the short mean's
    height (suite-rounds.md, rounds 12 and 13). ``gain`` puts the long mean on the short
    one's scale: the Detector fits it as the ratio of the two means' own alarm lines, so each
    mean is tested against its own line.

    Parameters
    ----------
    window : int
        Rows of the short mean (1: the raw scores).
    long : int, optional
        Rows of the long mean (None: the short mean alone).
    gain : float, default 1.0
        The long mean's factor (> 0).
    fill : float, optional
        The score assumed before the stream's first row (see :class:`TrailingMean`).

    Examples
    --------
    >>> burst = np.r_[np.zeros(8), 4.0, np.zeros(3), np.ones(8)]
    >>> ScoreSmoother(2, long=4).apply(burst).tolist()[7:]
    [0.0, 2.0, 2.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    >>> ScoreSmoother(2, long=4, gain=1.5).apply(burst).tolist()[7:]
    [0.0, 2.0, 2.0, 1.5, 1.5, 0.5, 1.0, 1.125, 1.5, 1.5, 1.5, 1.5, 1.5]
    """

    def __init__(
        self,
        window: int,
        long: int | None = None,
        gain: float = 1.0,
        fill: float | None = None,
    ) -> None:
        if not (isinstance(gain, (int, float, np.floating)) and math.isfinite(gain) and gain > 0):
            raise ParameterError(f"long_gain must be a finite number > 0, got {gain!r}")
        self.gain = float(gain)
        self._means = [TrailingMean(window, "score_smoothing", fill=fill)]
        if long is not None:
            self._means.append(TrailingMean(long, "long_smoothing", fill=fill))
        #: The rows a smoothed score reads (the longer window).
        self.window = max(m.window for m in self._means)

    def apply(self, scores: Any) -> np.ndarray:
        """Smoothed scores of the next part's ``scores`` ``(n,)``."""
        scores = np.asarray(scores, dtype=np.float64)
        means = [m.apply(scores) if m.window > 1 else scores for m in self._means]
        return means[0] if len(means) == 1 else np.maximum(means[0], self.gain * means[1])


class CentredMean:
    """:func:`centred_mean` of a stream whose scores come in parts, in order.

    Each :meth:`push` returns the means that became final (a row's mean is final ``width - 1``
    rows after it); :meth:`finish`, at the stream's end, the rest. Together they equal
    :func:`centred_mean` of the whole stream (to float rounding). For a caller that runs the
    network part by part or row by row (an edge service).

    Examples
    --------
    >>> scores = np.random.default_rng(0).exponential(1.0, 50)
    >>> stream = CentredMean(4)
    >>> parts = [stream.push(scores[i : i + 7]) for i in range(0, 50, 7)] + [stream.finish()]
    >>> bool(np.allclose(np.concatenate(parts), centred_mean(scores, 4)))
    True
    """

    def __init__(self, width: int) -> None:
        centred_mean(np.zeros(1), width)  # the width's check
        self.width = int(width)
        self._scores = np.zeros(0)  # from stream index `_first` on: the context and the pending
        self._first = 0
        self._done = 0  # means returned
        self._seen = 0

    def push(self, scores: Any) -> np.ndarray:
        """Add the next scores; return the means that no later score can change."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        self._scores = np.concatenate([self._scores, scores])
        self._seen += len(scores)
        return self._emit(max(self._done, self._seen - (self.width - 1)))

    def finish(self) -> np.ndarray:
        """The stream has ended: the remaining means."""
        return self._emit(self._seen)

    def _emit(self, end: int) -> np.ndarray:
        means = centred_mean(self._scores, self.width)[self._done - self._first : end - self._first]
        self._done = end
        # keep the rows the next means read back to (all of them from the stream's start)
        drop = max(0, end - (self.width - 1)) - self._first
        self._scores, self._first = self._scores[drop:], self._first + drop
        return means


def centred_mean(scores: Any, width: int) -> np.ndarray:
    """Each score replaced by a centred, triangular weighted mean of its neighbours.

    Row ``i`` becomes the mean of rows ``i - width + 1 .. i + width - 1`` weighted
    ``width - |j - i|`` (the frame-total error spread evenly over each frame's steps, as
    TSB-AD's window methods fold scores, for a frame of ``width``); rows near either end of
    the stream average the rows they have. Not causal: a row's value is final ``width - 1``
    rows after it, which the streaming overlap (:class:`seqae.scale.streaming.Overlap`)
    waits for. A trailing mean lags a fault by half its window; this one does not.

    Parameters
    ----------
    scores : array-like of shape (n,)
    width : int
        Rows from the centre to the kernel's end (1: unchanged).

    Examples
    --------
    >>> centred_mean(np.r_[np.zeros(4), 6.0, np.zeros(4)], 3).round(3).tolist()
    [0.0, 0.0, 0.667, 1.333, 2.0, 1.333, 0.667, 0.0, 0.0]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ParameterError(f"centred_smoothing must be an integer >= 1, got {width!r}")
    if width == 1 or len(scores) == 0:
        return scores.copy()
    kernel = np.r_[np.arange(1, width + 1), np.arange(width - 1, 0, -1)].astype(np.float64)
    inside = slice(width - 1, width - 1 + len(scores))
    total = np.convolve(scores, kernel)[inside]
    # the weights each row's kernel finds inside the stream (whole numbers: exact)
    weight = np.convolve(np.ones(len(scores)), kernel)[inside]
    return total / weight


def smooth_scores(
    scores: Any, window: int, long: int | None = None, gain: float = 1.0
) -> np.ndarray:
    """One whole stream's scores smoothed by :class:`ScoreSmoother` (1 and None: unchanged).

    Examples
    --------
    >>> smooth_scores([1.0, 3.0, 5.0, 0.0], 2).tolist()
    [1.0, 2.0, 4.0, 2.5]
    >>> smooth_scores([1.0, 3.0, 5.0, 0.0], 1, long=3).tolist()
    [1.0, 3.0, 5.0, 2.6666666666666665]
    """
    if window == 1 and long is None:
        return np.asarray(scores, dtype=np.float64)
    return ScoreSmoother(window, long, gain).apply(scores)


class Attribution:
    """Which channels an alarm comes from: each channel's recent error, in its own units.

    A score is the sum of per-channel errors weighted for detection (``channel_norm`` makes a
    channel's usual error count the same as any other's). For saying *which sensor* is off,
    the weights are taken back out, so each channel's error is in the units its data was
    scaled to. An autoencoder's error spreads from a faulty channel to the channels it
    reconstructs together with it; those stay near their usual values, so each channel's
    error counts ``1 + z**2`` times, ``z`` the channel's value in its scaled units (the
    training data's mean at 0, one standard deviation at 1). The errors are averaged over the
    last ``window`` timesteps, so that the answer follows the fault rather than the noise of
    single rows, each row counting by its squared score, so a spike's own row outweighs the
    normal rows around it. The shares of those averages split each timestep's score:
    contributions still sum to the score.

    Stateful, like :class:`DriftBaseline`: a stream given in parts is attributed as in one pass.

    Parameters
    ----------
    weights : array-like of shape (C,) or None
        The channel weights inside the scores (None: all 1). A weight of 0 gives a share of 0.
    window : int
        Timesteps averaged (>= 1).
    center, scale : array-like of shape (C,) or None
        The scaler (``scaled = (raw - center) / scale``); with them every call needs the raw
        ``values`` of its rows. None: no ``1 + z**2`` factor.

    Examples
    --------
    >>> import numpy as np
    >>> att = Attribution(weights=[1.0, 4.0], window=2)
    >>> contributions = np.array([[1.0, 4.0], [3.0, 4.0]])  # unweighted errors 1, 1 then 3, 1
    >>> att.apply(contributions.sum(1), contributions).round(2).tolist()  # rows count 25, 49
    [[2.5, 2.5], [4.89, 2.11]]
    >>> att = Attribution(None, window=1, center=[0.0, 0.0], scale=[1.0, 1.0])
    >>> values = np.array([[3.0, 0.0]])  # channel a is 3 deviations out, b at its mean
    >>> att.apply([2.0], [[1.0, 1.0]], values).round(2).tolist()  # equal errors; a counts 10x
    [[1.82, 0.18]]
    """

    def __init__(self, weights: Any, window: int, center: Any = None, scale: Any = None) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise ParameterError(f"attribution window must be an integer >= 1, got {window!r}")
        if (center is None) != (scale is None):
            raise ParameterError("attribution needs both center and scale, or neither")
        self.window = int(window)
        self._inverse = None
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            self._inverse = np.divide(1.0, w, out=np.zeros_like(w), where=w > 0)
        self._center = None if center is None else np.asarray(center, dtype=np.float64)
        self._scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        self._mean = TrailingMean(self.window)  # of the unweighted errors

    def _errors(self, contributions: Any, values: Any) -> np.ndarray:
        """Each row's unweighted errors times ``1 + z**2``, times the row's squared score."""
        weighted = np.asarray(contributions, dtype=np.float64)
        errors = weighted if self._inverse is None else weighted * self._inverse
        if self._center is not None:
            if values is None:
                raise ParameterError(
                    "this attribution weighs channels by their deviation: give the rows' values"
                )
            values = np.asarray(values, dtype=np.float64)
            if values.shape != weighted.shape:
                raise ParameterError(
                    f"values have shape {values.shape}, contributions {weighted.shape}"
                )
            errors = errors * (1.0 + ((values - self._center) / self._scale) ** 2)
        return errors * weighted.sum(axis=1, keepdims=True) ** 2

    def warm_up(self, contributions: Any, values: Any = None) -> None:
        """Read the rows before the first one to attribute (their shares are not needed)."""
        self._mean.apply(self._errors(contributions, values))

    def apply(self, scores: Any, contributions: Any, values: Any = None) -> np.ndarray:
        """The next part's contributions: ``scores`` split by the channels' recent shares.

        ``values``: the part's raw rows, needed when the attribution has a scaler.
        """
        scores = np.asarray(scores, dtype=np.float64)
        smoothed = self._mean.apply(self._errors(contributions, values))
        total = smoothed.sum(axis=1, keepdims=True)
        shares = np.divide(smoothed, total, out=np.zeros_like(smoothed), where=total > 0)
        return scores[:, None] * shares


def _sliding(values: np.ndarray, window: int, op: np.ufunc) -> np.ndarray:
    """``op`` (an idempotent ufunc: maximum, minimum, logical_and) over each full window of
    ``window`` rows: ``(T - window + 1, ...)``, ``window <= T``.

    By doubling: ``op`` over spans of 1, 2, 4, ... rows, then each window as the two largest
    power-of-two spans that cover it, so the cost is ``log2(window)`` passes over the data.
    """
    span = 1
    while 2 * span <= window:  # spans of 2 * span rows from two of span rows
        values = op(values[:-span], values[span:])
        span *= 2
    rest = window - span  # a window: the span at its start and the span ending at its end
    m = len(values) - rest
    return op(values[:m], values[rest : rest + m])


def window_ranges(values: Any, window: int) -> np.ndarray:
    """Each full window's range (max - min) per channel: ``(T - window + 1, C)`` of ``(T, C)``,
    in ``log2(window)`` passes over the data whatever the window.

    Examples
    --------
    >>> window_ranges(np.array([[0.0], [2.0], [1.0], [1.0]]), 2).ravel().tolist()
    [2.0, 1.0, 0.0]
    """
    values = np.asarray(values)
    if values.dtype != np.float32:  # max and min are exact in any float: keep float32 rows
        values = values.astype(np.float64)
    if len(values) < window:
        return np.empty((0, values.shape[1]), dtype=values.dtype)
    return _sliding(values, window, np.maximum) - _sliding(values, window, np.minimum)


def stuck_floor(streams: Any, window: int) -> np.ndarray:
    """Each channel's stuck floor: :data:`STUCK_MARGIN` times its smallest range over any
    ``window`` rows of the training ``streams`` (a list of ``(T, C)`` arrays) in which it
    moved. A channel gets 0, and is never taken for stuck, when more than
    :data:`STUCK_REPEATS` of its training rows repeat the row before (every channel does when
    no recording is ``window`` rows long), or when it never moved over a window.

    A window where the channel held one value is left out of its smallest range: in a
    channel that rarely repeats a value it is a stuck stretch inside the training data (a
    file scored by a model fitted on itself holds its own faults), not a range that normal
    operation needs (suite-rounds.md, round 15).

    Examples
    --------
    >>> t = np.arange(200)
    >>> x = np.stack([np.sin(t / 3), np.r_[np.zeros(50), np.ones(150)], np.round(t / 40)], 1)
    >>> (stuck_floor([x], 16) * 1e6).round(3).tolist()  # a smooth sensor, a step, a ramp
    [1.79, 0.0, 0.0]
    >>> long = np.sin(np.arange(4000) / 3)[:, None]
    >>> long[1000:1030] = long[1000]  # stuck for 30 rows in training: still checked
    >>> bool(stuck_floor([long], 16)[0] > 0)
    True
    """
    ranges = [window_ranges(s, window) for s in streams if len(s) >= window]
    if not ranges:  # no window to learn from: no channel is ever taken for stuck
        return np.zeros(np.asarray(streams[0]).shape[1])
    repeats = np.concatenate(
        [np.diff(np.asarray(s, dtype=np.float64), axis=0) == 0 for s in streams]
    )
    moved = np.concatenate(ranges).astype(np.float64)
    moved[moved == 0] = np.inf
    smallest = moved.min(axis=0)
    floor = STUCK_MARGIN * np.where(np.isfinite(smallest), smallest, 0.0)
    return np.where(repeats.mean(axis=0) <= STUCK_REPEATS, floor, 0.0)


class StuckCheck:
    """Which channels hold still as they never did in training: a stuck or dead sensor.

    A reconstruction can be good exactly while a sensor is stuck (a constant is easy to
    reproduce), so the check looks at the raw values instead: channel ``c`` is stuck at a
    timestep when its range over the last ``window`` rows is below ``floor[c]``
    (:func:`stuck_floor`: a millionth of the smallest range it had over any window of the
    training data in which it moved, so the channel holds one value). It holds from the
    ``window``-th stuck row on and ends with the first row that moves.
    Rows before a stream's ``window``-th are never stuck (a shorter range proves nothing).

    Stateful, like :class:`DriftBaseline`: a stream given in parts is checked as in one pass.

    Parameters
    ----------
    floor : array-like of shape (C,)
        Each channel's floor in raw units; 0 turns the check off for that channel.
    window : int
        Rows a channel must hold still (>= 2).

    Examples
    --------
    >>> check = StuckCheck(floor=[0.5, 0.5], window=3)
    >>> x = np.array([[0.0, 0], [1, 1], [1, 0], [1, 1], [1, 0], [2, 1]])
    >>> check.mask(x[:4])[:, 0].tolist(), check.mask(x[4:])[:, 0].tolist()
    ([False, False, False, True], [True, False])
    """

    def __init__(self, floor: Any, window: int) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 2:
            raise ParameterError(f"stuck window must be an integer >= 2, got {window!r}")
        self.floor = np.asarray(floor, dtype=np.float64)
        if self.floor.ndim != 1 or not np.all(np.isfinite(self.floor) & (self.floor >= 0)):
            raise ParameterError(f"stuck floor must be finite numbers >= 0, got {floor!r}")
        self.window = int(window)
        self._checked = np.flatnonzero(self.floor > 0)  # a floor of 0 is never undercut
        self._recent: np.ndarray | None = None  # their last window - 1 rows

    def mask(self, values: Any) -> np.ndarray:
        """``(n, C)`` bool: which channels of the next ``n`` rows are stuck."""
        values = np.asarray(values)
        if values.ndim != 2 or values.shape[1] != len(self.floor):
            raise ParameterError(
                f"stuck check: values must have shape (n, {len(self.floor)}), got {values.shape}"
            )
        checked = values[:, self._checked]
        rows = checked if self._recent is None else np.concatenate([self._recent, checked])
        self._recent = rows[len(rows) - min(len(rows), self.window - 1) :]
        out = np.zeros(values.shape, dtype=bool)
        n_windows = len(rows) - self.window + 1  # one per row from the window-th on
        if n_windows <= 0:
            return out
        floor = self.floor[self._checked]
        # A window's range is below the floor only if each step inside it is: find windows of
        # still steps by doubling (cheap, boolean), and measure ranges only in their channels.
        loose = np.nextafter(floor.astype(rows.dtype), np.inf)  # never drops a true window
        still = np.abs(np.diff(rows, axis=0)) <= loose
        windows = _sliding(still, self.window - 1, np.logical_and)  # all window - 1 steps
        maybe = np.flatnonzero(windows.any(axis=0))
        if len(maybe):
            ranges = window_ranges(rows[:, maybe], self.window)
            out[len(values) - n_windows :, self._checked[maybe]] = ranges < floor[maybe]
        return out

    def apply(
        self, values: Any, scores: np.ndarray, contributions: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Raise the scores of rows with a stuck channel to :data:`STUCK_SCORE` (at least),
        the raise shared by the stuck channels' contributions."""
        stuck = self.mask(values)
        n_stuck = stuck.sum(axis=1)
        rows = n_stuck > 0
        if not rows.any():
            return scores, contributions
        scores = scores.copy()
        raise_by = np.maximum(STUCK_SCORE - scores[rows], 0.0)
        scores[rows] += raise_by
        if contributions is not None:
            contributions = contributions.copy()
            contributions[rows] += stuck[rows] * (raise_by / n_stuck[rows])[:, None]
        return scores, contributions


class StreamTracker:
    """What a stream carries from one part to the next after the network.

    The network's scores go through, in order: the score smoothing (trailing means over
    ``smoothing`` rows or, with ``long_smoothing``, the larger of those and longer means), the
    drift-aware line (:class:`DriftBaseline`, optional, fed the smoothed scores) and the
    channel attribution (:class:`Attribution`, fed the network's
    per-channel errors, splitting the adjusted scores), applied together to consecutive parts
    of one stream.

    Parameters
    ----------
    drift : DriftBaseline or None
    attribution : Attribution or None
        None: no per-channel contributions (:meth:`apply` returns None for them, and costs
        only the scores' smoothing and drift line).
    smoothing : int, default 1
        Rows of raw scores averaged into each score (1: no smoothing).
    long_smoothing : int, optional
        Rows of a second, longer mean; each score is the larger of the short mean and
        ``long_gain`` times the long one (:class:`ScoreSmoother`).
    long_gain : float, default 1.0
        The long mean's factor (the Detector's ``long_gain_``).
    stuck : StuckCheck, optional
        Raises the scores of rows where a channel is stuck (last, after the attribution;
        it reads the raw ``values``).
    smoothing_fill : float, optional
        The score the smoother assumes before the stream's first row (the normal level), so
        the first rows are not averages of fewer, noisier rows.
    rank_gain : float, optional
        Lift the scores under the line to a ranking stream's (:func:`lift_under_line`):
        :meth:`apply` then takes the part's ``rank`` scores (the network's centred mean),
        multiplied by ``rank_gain`` (the alarm line over the ranking stream's own line) and
        drift-adjusted by the same factors. None: no ranking stream.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> contributions = rng.exponential(0.05, (3000, 2)) * np.linspace(1, 3, 3000)[:, None]
    >>> scores = contributions.sum(1)
    >>> def tracker():
    ...     return StreamTracker(DriftBaseline(0.1, 256), Attribution(None, 64), smoothing=8)
    >>> whole = tracker().apply(scores, contributions)
    >>> part = tracker()
    >>> first = part.warm_up_from(2000)
    >>> part.warm_up(scores[first:2000], contributions[first:2000])
    >>> rest = part.apply(scores[2000:], contributions[2000:])
    >>> bool(np.allclose(rest[0], whole[0][2000:]) and np.allclose(rest[1], whole[1][2000:]))
    True
    """

    def __init__(
        self,
        drift: DriftBaseline | None,
        attribution: Attribution | None,
        smoothing: int = 1,
        *,
        long_smoothing: int | None = None,
        long_gain: float = 1.0,
        stuck: StuckCheck | None = None,
        smoothing_fill: float | None = None,
        rank_gain: float | None = None,
    ) -> None:
        self.drift = drift
        self.rank_gain = rank_gain
        self.attribution = attribution
        self.stuck = stuck
        # 1 skips the smoother, so the scores pass bit for bit
        smoother = ScoreSmoother(smoothing, long_smoothing, long_gain, fill=smoothing_fill)
        #: Rows of raw scores a smoothed score reads (the longer mean's).
        self.smoothing = smoother.window
        self._smoother = smoother if self.smoothing > 1 else None
        # (first, smoother's first, drift's first, window's first, start): warm_up_from's
        self._plan: tuple[int, int, int, int, int] | None = None

    @property
    def _window(self) -> int:
        """Rows of raw values (and errors) a row's attribution and stuck check read."""
        attribution = 1 if self.attribution is None else self.attribution.window
        return max(attribution, 1 if self.stuck is None else self.stuck.window)

    @property
    def context(self) -> int:
        """At most how many rows before a timestep its adjusted values depend on."""
        drift = 0 if self.drift is None else self.drift.block * (N_BLOCKS + 1)
        return max(drift + self.smoothing - 1, self._window - 1)

    def warm_up_from(self, start: int) -> int:
        """Where a fresh tracker must start reading to continue a stream at index ``start``.

        Each part reads its own rows of what :meth:`warm_up` is then given: the drift line
        the smoothed scores from its block-aligned first row, the smoother the raw scores
        ``smoothing - 1`` rows before that, the attribution and the stuck check the last
        ``window - 1`` rows.
        """
        start = int(start)
        drift = start if self.drift is None else self.drift.warm_up_from(start)
        smooth = max(0, drift - (self.smoothing - 1))
        attribution = max(0, start - (self._window - 1))
        first = min(smooth, attribution)
        self._plan = (first, smooth, drift, attribution, start)
        return first

    def warm_up(self, scores: Any, contributions: Any, values: Any = None) -> None:
        """Read the rows from :meth:`warm_up_from` up to the first one to adjust.

        Without :meth:`warm_up_from`, every part reads all the rows (a stream from its start).
        ``values``: the rows' raw values, needed when the attribution has a scaler.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if self._plan is None:
            first = smooth = drift = attribution = 0
        else:
            first, smooth, drift, attribution, start = self._plan
            n_rows = len(scores) if contributions is None else len(contributions)
            if len(scores) != start - first or n_rows != len(scores):
                raise ParameterError(
                    f"warm_up needs rows {first}..{start} ({start - first} rows), got "
                    f"{len(scores)} scores and {n_rows} contribution rows"
                )
        self._plan = None
        smoothed = self._smooth(scores[smooth - first :])
        if self.drift is not None:
            self.drift.factors(smoothed[drift - smooth :])
        rows = None if values is None else np.asarray(values)[attribution - first :]
        if self.attribution is not None:
            self.attribution.warm_up(np.asarray(contributions)[attribution - first :], rows)
        if self.stuck is not None:
            self.stuck.mask(self._values(rows))

    def _values(self, values: Any) -> np.ndarray:
        if values is None:
            raise ParameterError("the stuck check reads the raw rows: give their values")
        return np.asarray(values)

    def _smooth(self, scores: np.ndarray) -> np.ndarray:
        return scores if self._smoother is None else self._smoother.apply(scores)

    def apply(
        self, scores: Any, contributions: Any, values: Any = None, rank: Any = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The next part's ``(scores (n,), contributions (n, C))``: smoothed, drift-adjusted
        scores, split over the channels by :class:`Attribution` (contributions sum to them;
        None for a tracker without attribution, which does not read ``contributions``).

        ``values``: the part's raw rows ``(n, C)``, needed when the attribution has a scaler
        or a stuck check. ``rank``: the part's ranking scores, needed with ``rank_gain``.
        """
        scores = self._smooth(np.asarray(scores, dtype=np.float64))
        factors = None
        if self.drift is not None:
            factors = self.drift.factors(scores)
            scores = self.drift.under_line(scores, factors)
        if self.rank_gain is not None:
            if rank is None:
                raise ParameterError("this tracker ranks under the line: give the rank scores")
            rank = self.rank_gain * np.asarray(rank, dtype=np.float64)
            power = 1.0 if self.drift is None else self.drift.rank_power
            scores = lift_under_line(scores, rank, factors, power)
        shares = None
        if self.attribution is not None:
            shares = self.attribution.apply(scores, contributions, values)
        if self.stuck is not None:
            scores, shares = self.stuck.apply(self._values(values), scores, shares)
        return scores, shares
