"""Turn anomaly scores into an alarm threshold (flag ``score >= threshold``).

Pure numpy + scipy: this module never imports torch or pandas. Every rule takes scores from
data assumed normal (or, for :func:`best_f1_threshold`, labelled data) and returns one float.
NaN scores are ignored by the unsupervised rules; infinite scores are an error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DataError, ParameterError
from .common import as_scores, binary_labels, check_same_length, is_number

__all__ = [
    "METHODS",
    "best_f1_threshold",
    "describe_alarm_line",
    "describe_detector_line",
    "fit_threshold",
    "pot_threshold",
    "quantile_threshold",
    "robust_threshold",
    "sigma_threshold",
]

METHODS = ("robust", "pot", "quantile", "sigma")

# Fewer excesses than this over the initial POT threshold make the GPD fit too unstable.
_MIN_EXCESSES = 10


def _check_fraction(name: str, value: Any, low: float, high: float, *, high_ok: bool) -> float:
    """Check ``low < value < high`` (or ``<= high``) and return it as a float."""
    ok = is_number(value)
    if ok:
        v = float(value)
        ok = low < v <= high if high_ok else low < v < high
    if not ok:
        bracket = "]" if high_ok else ")"
        raise ParameterError(f"{name} must be in ({low:g}, {high:g}{bracket}, got {value!r}")
    return v


def quantile_threshold(scores: Any, contamination: float) -> float:
    """The ``1 - contamination`` quantile of the scores.

    Parameters
    ----------
    scores : array_like
        Scores of (mostly) normal data.
    contamination : float in (0, 0.5]
        Expected fraction of anomalies: about this fraction of ``scores`` lies above the
        threshold.

    Examples
    --------
    >>> quantile_threshold(np.arange(101.0), contamination=0.1)
    90.0
    """
    c = _check_fraction("contamination", contamination, 0.0, 0.5, high_ok=True)
    return float(np.quantile(as_scores(scores), 1.0 - c))


def sigma_threshold(scores: Any, k: float = 3.0) -> float:
    """Mean plus ``k`` standard deviations of the scores.

    Examples
    --------
    >>> sigma_threshold([1.0, 3.0], k=2.0)  # mean 2, std 1
    4.0
    """
    if not is_number(k):
        raise ParameterError(f"k must be a positive number, got {k!r}")
    if not (math.isfinite(k) and k > 0):
        raise ParameterError(f"k must be a positive finite number, got {k!r}")
    x = as_scores(scores)
    return float(x.mean() + k * x.std())


def _fit_gpd(excesses: np.ndarray) -> tuple[float, float] | None:
    """Maximum-likelihood (shape, scale) of a generalised Pareto with location 0, or None."""
    from scipy.stats import genpareto  # ~0.3 s to import: only when POT is used

    # Fit on excesses in units of their mean (the GPD scales: Y/c has scale σ/c), so the
    # optimiser's absolute tolerances mean the same whatever the units of the scores.
    unit = float(excesses.mean())
    e = excesses / unit
    # Method-of-moments values start the optimiser close to the optimum: about 2x faster.
    r = 1.0 / float(e.var())  # mean² / variance, with mean 1
    try:
        with np.errstate(all="ignore"):
            shape, _, scale = genpareto.fit(e, 0.5 * (1.0 - r), floc=0, scale=0.5 * (1.0 + r))
    except (ValueError, RuntimeError, FloatingPointError, OverflowError):
        return None
    if not (math.isfinite(shape) and math.isfinite(scale) and scale > 0):
        return None
    return float(shape), float(scale) * unit


def pot_threshold(scores: Any, risk: float = 1e-3, init_level: float = 0.98) -> float:
    """Peaks-over-threshold (extreme value theory) threshold, as in SPOT (Siffer et al. 2017).

    The scores above the initial threshold ``t`` (the ``init_level`` quantile) are modelled
    by a generalised Pareto distribution (shape γ, scale σ, fitted by maximum likelihood
    with ``scipy.stats.genpareto``). The threshold is the score exceeded with probability
    ``risk``::

        z = t + σ/γ · ((risk · n / N_t)^(-γ) - 1)      (z = t - σ · log(risk · n / N_t) as γ → 0)

    where ``n`` is the number of scores and ``N_t`` the number above ``t``.

    Fallback: with fewer than 10 scores above ``t``, all of them equal, a failed fit, or a
    non-finite result, the threshold is the empirical ``1 - risk`` quantile of the scores, or
    ``t`` if that is larger. The result is always finite and never below ``t``.

    Parameters
    ----------
    scores : array_like
        Scores of (mostly) normal data.
    risk : float in (0, 1 - init_level)
        Target probability that a normal score exceeds the threshold (false-alarm rate).
    init_level : float in (0, 1), default 0.98
        Quantile used as the initial threshold ``t``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = pot_threshold(rng.exponential(size=100_000), risk=1e-4)
    >>> bool(abs(z - np.log(1e4)) < 0.5)  # the exact 1 - 1e-4 quantile of Exp(1) is log(1e4)
    True
    """
    level = _check_fraction("init_level", init_level, 0.0, 1.0, high_ok=False)
    q = _check_fraction("risk", risk, 0.0, 1.0 - level, high_ok=False)
    x = as_scores(scores)
    t = float(np.quantile(x, level))
    excesses = x[x > t] - t
    n_t = excesses.size

    def fallback() -> float:
        return max(t, float(np.quantile(x, 1.0 - q)))

    # ratio < 1 unless ties at t left too few excesses for the requested risk
    ratio = q * x.size / n_t if n_t else math.inf
    if n_t < _MIN_EXCESSES or ratio >= 1.0 or not np.ptp(excesses) > 0:
        return fallback()
    fit = _fit_gpd(excesses)
    if fit is None:
        return fallback()
    gamma, sigma = fit
    log_ratio = math.log(ratio)
    if abs(gamma) < 1e-12:
        z = t - sigma * log_ratio
    else:
        z = t + sigma * math.expm1(-gamma * log_ratio) / gamma
    if not math.isfinite(z) or z < t:
        return fallback()
    return z


def robust_threshold(
    scores: Any, risk: float = 1e-3, body: tuple[float, float] = (0.8, 0.95)
) -> float:
    """An exponential tail fitted to the body of the scores, extrapolated to ``risk``.

    The scores above the ``body[0]`` quantile ``u`` are modelled as ``u`` plus an exponential
    excess; the excesses are censored at the ``body[1]`` quantile, so the top ``1 - body[1]``
    of the scores (5 % by default) only count as "above it" and never move the fit. A few per
    cent of anomalies in the training data therefore do not raise the line, as they do with
    :func:`pot_threshold`, whose fit is made of exactly those top scores. The threshold is the
    score exceeded with probability ``risk`` under that tail::

        z = u + log((1 - body[0]) / risk) / λ,   λ = (excesses below the cap) / Σ min(excess, cap)

    (the maximum-likelihood rate of a right-censored exponential). Squared reconstruction
    errors have tails close to exponential (sums of squared near-normal residuals).

    Fallback: with fewer than 100 scores, no spread between the two quantiles, or no score
    between them (scores of a few levels), the :func:`pot_threshold` of the scores.

    Parameters
    ----------
    scores : array_like
        Scores of mostly normal data.
    risk : float, default 1e-3
        Probability that a normal score exceeds the threshold, in (0, 1 - body[0]).
    body : (float, float), default (0.8, 0.95)
        The quantiles between which the tail is fitted.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = rng.exponential(size=20_000)
    >>> dirty = np.concatenate([clean, np.full(200, 50.0)])  # 1 % anomalies at 50
    >>> round(robust_threshold(clean), 1), round(robust_threshold(dirty), 1)
    (7.0, 7.5)
    >>> round(pot_threshold(clean), 1), round(pot_threshold(dirty), 1)  # made of the peaks
    (6.9, 48.4)
    """
    s = as_scores(scores)
    low, high = body
    _check_fraction("body[0]", low, 0.0, 1.0, high_ok=False)
    _check_fraction("body[1]", high, low, 1.0, high_ok=False)
    _check_fraction("risk", risk, 0.0, 1.0 - low, high_ok=False)
    if len(s) < 100:
        return pot_threshold(s, risk=risk)
    u, cap = (float(q) for q in np.quantile(s, [low, high]))
    excess = s[s > u] - u
    width = cap - u
    inside = int(np.sum(excess < width))
    if not width > 0 or not inside:  # no spread, or every excess censored (a few score levels)
        return pot_threshold(s, risk=risk)
    rate = inside / float(np.sum(np.minimum(excess, width)))
    return u + math.log((1.0 - low) / risk) / rate


def best_f1_threshold(scores: Any, labels: Any) -> tuple[float, float]:
    """The threshold with the best point-wise F1 on labelled data, and that F1.

    Every distinct score is tried as a threshold (flag ``score >= threshold``) in one sort
    and a cumulative count: O(n log n). Among equally good thresholds the highest is returned.

    Parameters
    ----------
    scores : array_like of shape (n,)
        Anomaly scores.
    labels : array_like of shape (n,)
        True 0/1 labels with at least one anomaly.

    Returns
    -------
    (threshold, f1) : tuple of float

    Examples
    --------
    >>> best_f1_threshold([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    (0.35, 0.8)
    """
    s = as_scores(scores, drop_nan=False)
    y = binary_labels(labels, "labels", ravel=True)
    check_same_length(scores=s, labels=y)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise DataError("labels contain no anomaly (no 1): the best-F1 threshold is undefined")
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    tp = np.cumsum(y[order], dtype=np.int64)
    # flagging score >= s_sorted[i] flags every tie of it too: evaluate at each tie's end
    last_of_tie = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    tp = tp[last_of_tie]
    flagged = last_of_tie + 1
    f1 = 2.0 * tp / (flagged + n_pos)  # 2TP / (2TP + FP + FN), FP + TP = flagged
    best = int(np.argmax(f1))
    return float(s_sorted[last_of_tie[best]]), float(f1[best])


def fit_threshold(
    scores: Any,
    method: str | float,
    *,
    contamination: float = 0.01,
    k: float = 3.0,
    risk: float = 1e-3,
) -> float:
    """One entry point for every unsupervised threshold rule.

    Parameters
    ----------
    scores : array_like
        Scores of (mostly) normal data, e.g. the training scores.
    method : {"robust", "pot", "quantile", "sigma"} or float
        ``"robust"``: :func:`robust_threshold` with ``risk``; ``"pot"``:
        :func:`pot_threshold` with ``risk``; ``"quantile"``:
        :func:`quantile_threshold` with ``contamination``; ``"sigma"``:
        :func:`sigma_threshold` with ``k``; a number is used as the threshold itself.

    Examples
    --------
    >>> fit_threshold(np.arange(101.0), "quantile", contamination=0.05)
    95.0
    >>> fit_threshold(np.arange(101.0), 42)
    42.0
    """
    if is_number(method):
        if not math.isfinite(method):
            raise ParameterError(f"a numeric threshold method must be finite, got {method!r}")
        as_scores(scores)  # the same data checks as every other method
        return float(method)
    if method == "robust":
        return robust_threshold(scores, risk=risk)
    if method == "pot":
        return pot_threshold(scores, risk=risk)
    if method == "quantile":
        return quantile_threshold(scores, contamination)
    if method == "sigma":
        return sigma_threshold(scores, k)
    raise ParameterError(
        f"threshold method must be one of {', '.join(map(repr, METHODS))} or a number, "
        f"got {method!r}"
    )


def describe_alarm_line(
    method: str | float,
    *,
    contamination: float = 0.01,
    k: float = 3.0,
    calibration: str = "holdout",
    drift_window: int | None = None,
    drift_rank_power: float = 1.0,
    risk: float | None = None,
    score_smoothing: int = 1,
    long_smoothing: int | None = None,
    combine_power: float = 1.0,
    stuck_window: int | None = None,
    n_channels: int | None = None,
    centred_smoothing: int = 1,
    centred_auto: bool = False,
    rank_smoothing: int = 1,
    rank_auto: bool = False,
) -> str:
    """How a :class:`~seqae.Detector` with these settings places its alarm line, in words.

    The arguments are the Detector's parameters of the same names (``method`` is its
    ``threshold``; ``k`` its ``sigma``). A number is the line itself, a raw reconstruction
    error, as everywhere in seqae (``Detector(threshold=0.5)``,
    ``Detector.set_threshold(0.5)``, ``seqae detect --threshold 0.5``). ``centred_auto``:
    the centred mean's width was chosen by ``centred_smoothing="auto"`` (from one channel);
    ``rank_auto`` likewise for ``rank_smoothing`` (:func:`describe_centred`).

    Examples
    --------
    >>> describe_alarm_line("robust", drift_window=512)
    'robust tail of the training scores, raised by the held-out ones; drift-aware over 512 rows'
    >>> print(describe_alarm_line("robust", calibration="", drift_window=512, drift_rank_power=0.5))
    ... # doctest: +NORMALIZE_WHITESPACE
    robust tail of the training scores; drift-aware over 512 rows (scores under the line keep
    its factor ^ 0.5)
    >>> describe_alarm_line("robust", calibration="training", risk=3e-4, score_smoothing=8)
    'robust tail (risk 0.0003) of the training scores; scores averaged over 8 rows'
    >>> print(describe_alarm_line("sigma", score_smoothing=8, long_smoothing=32, calibration=""))
    ... # doctest: +NORMALIZE_WHITESPACE
    mean + 3 sigma of the training scores; scores averaged over 8 rows and over 32, each
    against its own line
    >>> print(describe_alarm_line("robust", calibration="", centred_smoothing=32))
    ... # doctest: +NORMALIZE_WHITESPACE
    robust tail of the training scores; scores averaged by a centred mean of 63 rows (31 each
    side)
    >>> auto = {"centred_smoothing": 32, "centred_auto": True}
    >>> print(describe_alarm_line("robust", calibration="", **auto))
    ... # doctest: +NORMALIZE_WHITESPACE
    robust tail of the training scores; scores averaged by a centred mean of 63 rows (31 each
    side; auto: data of one channel)
    >>> print(describe_alarm_line("robust", calibration="", rank_smoothing=32, rank_auto=True))
    ... # doctest: +NORMALIZE_WHITESPACE
    robust tail of the training scores; rows under the line ranked by a centred mean of 63 rows
    (31 each side; auto: data of several channels)
    >>> describe_alarm_line("quantile", contamination=0.02, calibration="training")
    'top 2.00% of the training scores'
    >>> describe_alarm_line(0.5)
    'fixed at 0.5'
    >>> print(describe_alarm_line(0.5, combine_power=4, n_channels=50, stuck_window=16))
    ... # doctest: +NORMALIZE_WHITESPACE
    fixed at 0.5; channels combined by their power mean (p 4: one channel of 50 counts 19x
    more than in their sum); stuck sensors flagged after 16 rows of one value
    """
    if is_number(method):
        rule = f"fixed at {float(method):g}"
    else:
        at_risk = "" if risk is None else f" (risk {risk:g})"
        rule = {
            "robust": f"robust tail{at_risk} of the training scores",
            "pot": f"pot{at_risk} on the training scores",
            "quantile": f"top {contamination:.2%} of the training scores",
            "sigma": f"mean + {k:g} sigma of the training scores",
        }.get(str(method), f"{method} on the training scores")
        if calibration == "holdout":
            rule += ", raised by the held-out ones"
    if centred_smoothing > 1:
        why = "data of one channel" if centred_auto else ""
        rule += f"; scores averaged by {describe_centred(centred_smoothing, why)}"
    if score_smoothing > 1 or long_smoothing:
        rule += f"; scores averaged over {score_smoothing} rows"
        if long_smoothing:
            rule += f" and over {long_smoothing}, each against its own line"
    if drift_window:
        rule += f"; {describe_drift(drift_window, drift_rank_power)}"
    if rank_smoothing > 1:
        why = "data of several channels" if rank_auto else ""
        rule += f"; rows under the line ranked by {describe_centred(rank_smoothing, why)}"
    if combine_power != 1 and n_channels != 1:
        rule += f"; channels combined by their power mean (p {combine_power:g}"
        if n_channels:
            gain = n_channels ** (1 - 1 / combine_power)
            rule += f": one channel of {n_channels} counts {gain:.0f}x more than in their sum"
        rule += ")"
    if stuck_window:
        rule += f"; stuck sensors flagged after {stuck_window} rows of one value"
    return rule


def describe_centred(width: int, auto: str = "") -> str:
    """A centred mean of ``width`` (``centred_smoothing``, ``rank_smoothing``) in words, as
    the model line and ``seqae info`` say it; ``auto``: why ``"auto"`` chose the width.

    Examples
    --------
    >>> describe_centred(32, auto="data of several channels")
    'a centred mean of 63 rows (31 each side; auto: data of several channels)'
    """
    why = f"; auto: {auto}" if auto else ""
    return f"a centred mean of {2 * width - 1} rows ({width - 1} each side{why})"


def describe_drift(window: int, rank_power: float = 1.0) -> str:
    """The drift-aware line (``drift_window``, ``drift_rank_power``) in words, as the model
    line and ``seqae info`` say it.

    Examples
    --------
    >>> describe_drift(512, 0.5)
    'drift-aware over 512 rows (scores under the line keep its factor ^ 0.5)'
    """
    text = f"drift-aware over {window} rows"
    if rank_power != 1:
        text += f" (scores under the line keep its factor ^ {rank_power:g})"
    return text


def describe_detector_line(detector: Any) -> str:
    """:func:`describe_alarm_line` of a :class:`~seqae.Detector`'s own parameters.

    Examples
    --------
    >>> from seqae import Detector
    >>> plain = Detector(threshold="sigma", drift_window=None, score_smoothing=1, stuck_window=None)
    >>> describe_detector_line(plain.set_params(combine_power=1.0, rank_smoothing=1))
    'mean + 3 sigma of the training scores, raised by the held-out ones'
    """
    return describe_alarm_line(
        detector.threshold,
        contamination=detector.contamination,
        k=detector.sigma,
        calibration=detector.calibration,
        drift_window=detector.drift_window,
        drift_rank_power=getattr(detector, "drift_rank_power", 1.0),
        risk=detector.risk,
        score_smoothing=detector.score_smoothing,
        long_smoothing=getattr(detector, "long_smoothing", None),
        combine_power=getattr(detector, "combine_power", 1.0),
        stuck_window=getattr(detector, "stuck_window", None),
        n_channels=getattr(detector, "n_features_in_", None),
        centred_smoothing=_width(detector, "centred_smoothing"),
        centred_auto=getattr(detector, "centred_smoothing", 1) == "auto",
        rank_smoothing=_width(detector, "rank_smoothing"),
        rank_auto=getattr(detector, "rank_smoothing", 1) == "auto",
    )


def _width(detector: Any, name: str) -> int:
    """The detector's centred mean ``name`` (``centred_smoothing``, ``rank_smoothing``) as it
    scores: ``"auto"`` resolved once fitted (the ``name_`` attribute), 1 before."""
    width = getattr(detector, name, 1)
    if width == "auto":
        return getattr(detector, f"{name}_") if hasattr(detector, "model_") else 1
    return int(width)
