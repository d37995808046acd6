"""Detection quality: point, event and range metrics, AUCs, VUS, and SKAB's NAB score.

Pure numpy + scikit-learn: this module never imports torch or pandas. Labels are 0/1 arrays
(1 = anomalous); scores are "higher = more anomalous". Ratios that are undefined (a zero
denominator, e.g. precision with no alarm at all) are 0.0, as scikit-learn's
``zero_division=0``.

scikit-learn (which loads pandas) is imported on the first call of :func:`auc_pr` or
:func:`auc_roc`, so importing this module stays light.

Point metrics follow SKAB's definitions: F1 = TP / (TP + (FP + FN) / 2) (the usual harmonic
mean of precision and recall), FAR = FP / (FP + TN) · 100, MAR = FN / (FN + TP) · 100.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from .errors import DataError, ParameterError
from .scoring.common import (
    as_scores,
    binary_labels,
    check_int,
    check_same_length,
    is_number,
    merge_intervals,
)
from .scoring.events import labels_to_intervals

__all__ = [
    "NAB_PROFILES",
    "PRF",
    "NabResult",
    "auc_pr",
    "auc_roc",
    "changepoints_from_labels",
    "confusion",
    "evaluate",
    "event_f1",
    "far",
    "mar",
    "nab_score",
    "point_adjusted_f1",
    "pooled_scores",
    "precision_recall_f1",
    "range_f1",
    "vus_pr",
    "vus_roc",
]


class PRF(NamedTuple):
    """Precision, recall and F1 (a plain tuple with names).

    Examples
    --------
    >>> p, r, f1 = PRF(0.5, 1.0, 2 / 3)
    >>> PRF(0.5, 1.0, 2 / 3).recall
    1.0
    """

    precision: float
    recall: float
    f1: float


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def _prf(precision: float, recall: float) -> PRF:
    return PRF(precision, recall, _ratio(2.0 * precision * recall, precision + recall))


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated flat 0/1 arrays of equal shape."""
    shapes = (np.shape(y_true), np.shape(y_pred))
    if shapes[0] != shapes[1]:
        raise DataError(
            f"shape mismatch: y_true {shapes[0]}, y_pred {shapes[1]}; they must be the same"
        )
    return binary_labels(y_true, "y_true", ravel=True), binary_labels(y_pred, "y_pred", ravel=True)


def _series(y_true: Any, other: Any, other_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated 1-D labels and a 1-D companion array (labels or scores) of equal length."""
    y = binary_labels(y_true, "y_true")
    if other_name == "y_pred":
        o = binary_labels(other, "y_pred")
    else:
        o = as_scores(other, other_name, drop_nan=False)
        if np.ndim(other) != 1:
            raise DataError(f"{other_name} must be 1-D, got shape {np.shape(other)}")
    check_same_length(y_true=y, **{other_name: o})
    return y, o


# --------------------------------------------------------------------------- point metrics


def confusion(y_true: Any, y_pred: Any) -> dict[str, int]:
    """Point-wise confusion counts.

    Examples
    --------
    >>> confusion([0, 1, 1, 0], [1, 1, 0, 0])
    {'tp': 1, 'fp': 1, 'tn': 1, 'fn': 1}
    """
    t, p = _pair(y_true, y_pred)
    tp = int(np.count_nonzero(t & p))
    fp = int(np.count_nonzero(p)) - tp
    fn = int(np.count_nonzero(t)) - tp
    return {"tp": tp, "fp": fp, "tn": len(t) - tp - fp - fn, "fn": fn}


def _from_counts(c: dict[str, int]) -> dict[str, float]:
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(tp, tp + (fp + fn) / 2),
        "far": 100.0 * _ratio(fp, fp + tn),
        "mar": 100.0 * _ratio(fn, fn + tp),
    }


def precision_recall_f1(y_true: Any, y_pred: Any) -> PRF:
    """Point-wise precision, recall and F1.

    Examples
    --------
    >>> precision_recall_f1([0, 1, 1, 0], [0, 1, 1, 1])
    PRF(precision=0.6666666666666666, recall=1.0, f1=0.8)
    """
    r = _from_counts(confusion(y_true, y_pred))
    return PRF(r["precision"], r["recall"], r["f1"])


def far(y_true: Any, y_pred: Any) -> float:
    """False alarm rate in percent: FP / (FP + TN) · 100."""
    return _from_counts(confusion(y_true, y_pred))["far"]


def mar(y_true: Any, y_pred: Any) -> float:
    """Missed alarm rate in percent: FN / (FN + TP) · 100."""
    return _from_counts(confusion(y_true, y_pred))["mar"]


def pooled_scores(pairs: Iterable[tuple[Any, Any]]) -> dict[str, float]:
    """Point metrics over several files, micro-pooled as SKAB does.

    The confusion counts of every ``(y_true, y_pred)`` pair are summed first; precision,
    recall, F1, FAR and MAR are computed once from the sums.

    Returns
    -------
    dict
        ``tp, fp, tn, fn`` (int) and ``precision, recall, f1, far, mar`` (float; FAR and MAR in
        percent).

    Examples
    --------
    >>> r = pooled_scores([([0, 1], [0, 1]), ([1, 0, 0], [0, 0, 1])])
    >>> r["tp"], r["fp"], r["fn"], r["f1"]
    (1, 1, 1, 0.5)
    """
    total = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    n = 0
    for i, pair in enumerate(pairs):
        try:
            y_true, y_pred = pair
        except (TypeError, ValueError):
            raise DataError(f"pairs[{i}] must be a (y_true, y_pred) pair") from None
        try:
            c = confusion(y_true, y_pred)
        except DataError as exc:
            raise DataError(f"pairs[{i}]: {exc}") from None
        for key in total:
            total[key] += c[key]
        n += 1
    if n == 0:
        raise DataError("pooled_scores got no (y_true, y_pred) pairs")
    return {**total, **_from_counts(total)}


# ---------------------------------------------------------------------- threshold-free AUCs


def _two_classes(y: np.ndarray, what: str) -> None:
    if y.min() == y.max():
        only = "anomalies" if y[0] else "normal points"
        raise DataError(
            f"{what} needs both classes in y_true, but it holds only {only} ({len(y)} points)"
        )


def _labels_and_scores(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    if np.shape(y_true) != np.shape(scores):
        raise DataError(
            f"shape mismatch: y_true {np.shape(y_true)}, scores {np.shape(scores)}; "
            "they must be the same"
        )
    return binary_labels(y_true, "y_true", ravel=True), as_scores(scores, drop_nan=False)


def auc_pr(y_true: Any, scores: Any) -> float:
    """Area under the precision-recall curve (average precision, scikit-learn).

    Examples
    --------
    >>> auc_pr([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # (1 + 2/3) / 2
    0.8333333333333333
    """
    from sklearn.metrics import average_precision_score

    y, s = _labels_and_scores(y_true, scores)
    _two_classes(y, "auc_pr")
    return float(average_precision_score(y, s))


def auc_roc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve (scikit-learn).

    Examples
    --------
    >>> auc_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y, s = _labels_and_scores(y_true, scores)
    _two_classes(y, "auc_roc")
    return float(roc_auc_score(y, s))


# ------------------------------------------------------------------ event and range metrics


def _interval_sums(cum: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Sums over ``[start, end)`` intervals from a cumulative sum with a leading 0."""
    return cum[intervals[:, 1]] - cum[intervals[:, 0]]


def _cumsum0(y: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(y, dtype=np.int64)])


def event_f1(y_true: Any, y_pred: Any) -> PRF:
    """Event-wise precision, recall and F1.

    A true event (run of 1s in ``y_true``) is detected when any of its points is flagged:
    recall = detected true events / true events. A predicted event is correct when it
    overlaps any true event: precision = correct predicted events / predicted events.

    Examples
    --------
    >>> event_f1([0, 1, 1, 0, 0, 1, 1], [0, 0, 1, 0, 1, 0, 0])  # 1 of 2 found, 1 of 2 right
    PRF(precision=0.5, recall=0.5, f1=0.5)
    """
    t, p = _series(y_true, y_pred, "y_pred")
    true_iv, pred_iv = labels_to_intervals(t), labels_to_intervals(p)
    detected = np.count_nonzero(_interval_sums(_cumsum0(p), true_iv) > 0)
    correct = np.count_nonzero(_interval_sums(_cumsum0(t), pred_iv) > 0)
    return _prf(_ratio(correct, len(pred_iv)), _ratio(detected, len(true_iv)))


def _range_side(
    ranges: np.ndarray, other: np.ndarray, other_cum: np.ndarray, alpha: float
) -> float:
    """Mean Tatbul reward of ``ranges`` against ``other`` (flat bias, γ = 1/overlap count)."""
    if len(ranges) == 0:
        return 0.0
    overlap = _interval_sums(other_cum, ranges) / (ranges[:, 1] - ranges[:, 0])
    # ranges and other are sorted and disjoint: those of other with start < end minus
    # those with end <= start overlap each range
    n_hit = np.searchsorted(other[:, 0], ranges[:, 1], "left") - np.searchsorted(
        other[:, 1], ranges[:, 0], "right"
    )
    cardinality = 1.0 / np.maximum(n_hit, 1)
    reward = alpha * (n_hit > 0) + (1.0 - alpha) * cardinality * overlap
    return float(reward.mean())


def range_f1(y_true: Any, y_pred: Any, alpha: float = 0.0) -> PRF:
    """Range-based precision, recall and F1 (Tatbul et al., NeurIPS 2018).

    Flat positional bias; the cardinality factor is 1 / (number of ranges overlapped), so a
    true range split into several alarms earns less. Recall of a true range R is
    ``alpha · [R is hit] + (1 - alpha) · cardinality · |R ∩ alarms| / |R|``; precision of a
    predicted range uses no existence reward. Both are averaged over ranges.

    Parameters
    ----------
    alpha : float in [0, 1], default 0
        Weight of the existence reward in recall.

    Examples
    --------
    >>> range_f1([0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 0, 0])  # recall 2/4, precision 1
    PRF(precision=1.0, recall=0.5, f1=0.6666666666666666)
    """
    if not is_number(alpha):
        raise ParameterError(f"alpha must be a number in [0, 1], got {alpha!r}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ParameterError(f"alpha must be in [0, 1], got {alpha!r}")
    t, p = _series(y_true, y_pred, "y_pred")
    true_iv, pred_iv = labels_to_intervals(t), labels_to_intervals(p)
    recall = _range_side(true_iv, pred_iv, _cumsum0(p), float(alpha))
    precision = _range_side(pred_iv, true_iv, _cumsum0(t), 0.0)
    return _prf(precision, recall)


def point_adjusted_f1(y_true: Any, y_pred: Any) -> PRF:
    """Point-adjusted precision, recall and F1 (warns: the adjustment inflates scores).

    Every true event with at least one flagged point counts as entirely flagged; then the
    point metrics are computed. Widely reported, but a random detector can reach a high
    point-adjusted F1 on long events: report it only beside point, event or range metrics.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     point_adjusted_f1([0, 1, 1, 1, 0], [0, 0, 1, 0, 0])
    PRF(precision=1.0, recall=1.0, f1=1.0)
    """
    warnings.warn(
        "point adjustment inflates scores (one flagged point credits its whole event, so even "
        "random alarms score well); report it beside point, event or range F1",
        UserWarning,
        stacklevel=2,
    )
    t, p = _series(y_true, y_pred, "y_pred")
    true_iv = labels_to_intervals(t)
    hit = true_iv[_interval_sums(_cumsum0(p), true_iv) > 0]
    adjusted = p.copy()
    for a, b in hit.tolist():
        adjusted[a:b] = 1
    return precision_recall_f1(t, adjusted)


# ------------------------------------------------------------------------------------- VUS


def _threshold_cuts(sorted_desc: np.ndarray, n_thresholds: int | None) -> np.ndarray:
    """Last sorted position flagged at each threshold (flag ``score >= threshold``)."""
    n = len(sorted_desc)
    tie_end = np.flatnonzero(np.append(sorted_desc[1:] != sorted_desc[:-1], True))
    if n_thresholds is None:
        return tie_end
    # thresholds at evenly spaced ranks, as the reference implementation samples them
    pos = np.unique(np.linspace(0, n - 1, n_thresholds).astype(np.int64))
    group = np.searchsorted(tie_end, pos, "left")
    return np.unique(tie_end[group])


def _soft_labels(y: np.ndarray, intervals: np.ndarray, window: int) -> np.ndarray:
    """Labels with a buffer of ``window // 2`` points each side, weight √(1 - d / window)."""
    lab = y.astype(np.float64)
    half = window // 2
    if half == 0:
        return lab
    d = np.arange(1, half + 1)
    w = np.sqrt(1.0 - d / window)
    n = len(y)
    left = (intervals[:, :1] - d).ravel()  # starts - d
    right = (intervals[:, 1:] - 1 + d).ravel()  # last anomalous point + d
    pos = np.concatenate([left, right])
    val = np.tile(w, 2 * len(intervals))
    keep = (pos >= 0) & (pos < n)
    np.add.at(lab, pos[keep], val[keep])
    return np.minimum(lab, 1.0)


def _widened_ranges(intervals: np.ndarray, half: int, n: int) -> np.ndarray:
    """Anomaly ranges widened by ``half`` each side, clipped to the series.

    Ranges that overlap after widening merge; ranges that only touch stay apart, as in the
    reference (TSB-AD's ``new_sequence``).
    """
    lo = np.maximum(intervals[:, 0] - half, 0)
    hi = np.minimum(intervals[:, 1] + half, n)
    return merge_intervals(np.stack([lo, hi], axis=1), -1)


def _range_auc_curves(
    y: np.ndarray, s: np.ndarray, max_window: int, n_thresholds: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Range-AUC-ROC and range-AUC-PR for every buffer length 0..max_window."""
    n = len(y)
    intervals = labels_to_intervals(y)
    order = np.argsort(-s, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    cuts = _threshold_cuts(s[order], n_thresholds)
    flagged = (cuts + 1).astype(np.float64)
    n_pos = float(y.sum())
    tp_hard = np.cumsum(y[order])[cuts]
    rank_padded = np.append(rank, n)  # keeps a range end equal to n a valid reduceat index

    roc = np.empty(max_window + 1)
    pr = np.empty(max_window + 1)
    for window in range(max_window + 1):
        lab = _soft_labels(y, intervals, window)
        tp = np.cumsum(lab[order])[cuts]
        # P_ℓ averages the hard positives with the labels' total, where a buffer point
        # counts only once it is flagged (so P_ℓ grows as the threshold falls)
        p_new = n_pos + (tp - tp_hard) / 2.0
        recall = np.minimum(tp / p_new, 1.0)
        ranges = _widened_ranges(intervals, window // 2, n)
        # a range counts as found once its best-ranked point is flagged
        best = np.minimum.reduceat(rank_padded, ranges.ravel())[::2]
        found = np.searchsorted(np.sort(best), cuts, "right") / len(ranges)
        tpr = recall * found
        fpr = (flagged - tp) / (n - p_new)
        precision = tp / flagged
        tpr_c = np.concatenate([[0.0], tpr, [1.0]])
        fpr_c = np.concatenate([[0.0], fpr, [1.0]])
        roc[window] = np.sum(np.diff(fpr_c) * (tpr_c[1:] + tpr_c[:-1]) / 2.0)
        # average precision: each rise in TPR times the precision where it happens
        pr[window] = np.sum(np.diff(tpr_c[:-1]) * precision)
    return roc, pr


def _vus(
    y_true: Any, scores: Any, max_window: int | None, n_thresholds: int | None, what: str
) -> tuple[np.ndarray, np.ndarray]:
    y, s = _series(y_true, scores, "scores")
    _two_classes(y, what)
    if max_window is None:
        lengths = np.diff(labels_to_intervals(y), axis=1)
        max_window = int(np.median(lengths))
    max_window = check_int("max_window", max_window, 0)
    if n_thresholds is not None:
        n_thresholds = check_int("n_thresholds", n_thresholds, 2)
    return _range_auc_curves(y, s, max_window, n_thresholds)


_VUS_DOC = """Volume under the range-{kind} surface (Paparrizos et al., VLDB 2022), as in TSB-AD.

    Equal to TSB-AD 1.5's ``generate_curve(labels, score, max_window, "opt", n_thresholds)``
    (tested to 1e-6 on fixed cases computed with that package). For each buffer length
    ℓ = 0, 1, ..., ``max_window`` the labels are softened: the ``ℓ // 2`` points before and
    after each anomaly get weight √(1 - d/ℓ) at distance d. At every threshold (flag
    ``score >= threshold``): TP = Σ soft label over flagged points, FP = flagged - TP,
    P_ℓ = hard positives + half the soft weight of the flagged buffer points, recall =
    min(TP / P_ℓ, 1), TPR = recall × (fraction of widened anomaly ranges with a flagged
    point), FPR = FP / (n - P_ℓ), precision = TP / flagged. The range-AUC-ROC is the
    trapezoidal area from (0, 0) to (1, 1); the range-AUC-PR is the average precision
    Σ (TPR_k - TPR_(k-1)) · precision_k; VUS is the mean over ℓ. At ℓ = 0 with one anomaly
    range the range-AUC-ROC is the plain AUC-ROC. A perfect binary score gets 1 at every ℓ
    (a buffer point counts in P_ℓ only once it is flagged).

    Parameters
    ----------
    y_true : array_like of shape (n,)
        0/1 labels with both classes.
    scores : array_like of shape (n,)
        Finite anomaly scores.
    max_window : int, optional
        Largest buffer length ℓ (TSB-AD's ``slidingWindow``; its ``get_metrics`` default is
        100). Default: the median length of the true anomaly ranges.
    n_thresholds : int or None, default 250
        Thresholds at this many evenly spaced score ranks, as the reference samples them
        (TSB-AD's ``thre``). None evaluates every distinct score (the exact curve).

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1, 0, 0])
    >>> {name}(y, y.astype(float), max_window=0)
    1.0
    """


def vus_roc(
    y_true: Any, scores: Any, max_window: int | None = None, n_thresholds: int | None = 250
) -> float:
    roc, _ = _vus(y_true, scores, max_window, n_thresholds, "vus_roc")
    return float(roc.mean())


def vus_pr(
    y_true: Any, scores: Any, max_window: int | None = None, n_thresholds: int | None = 250
) -> float:
    _, pr = _vus(y_true, scores, max_window, n_thresholds, "vus_pr")
    return float(pr.mean())


vus_roc.__doc__ = _VUS_DOC.format(kind="ROC", name="vus_roc")
vus_pr.__doc__ = _VUS_DOC.format(kind="PR", name="vus_pr")


# ----------------------------------------------------------------------------- NAB (SKAB)

#: SKAB's NAB profiles: (A_tp, A_fp, A_fn).
NAB_PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, -0.11, -1.0),
    "low_fp": (1.0, -0.22, -1.0),
    "low_fn": (1.0, -0.11, -2.0),
}
_SIDES = ("right", "left", "center")
# SKAB's "improved" scoring curve is sampled at 1000 points across each window
_CURVE_X = np.linspace(-np.pi / 2, np.pi / 2, 1000)
_CURVE = -np.tanh(_CURVE_X) / np.tanh(np.pi / 2)  # +1 at the window start, -1 at its end
_UNITS_NS = {
    "ns": 1,
    "us": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "sec": 10**9,
    "m": 60 * 10**9,
    "min": 60 * 10**9,
    "t": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}


@dataclass(frozen=True)
class NabResult:
    """NAB score and the counts behind it.

    Attributes
    ----------
    score : float
        100 for a perfect detector, 0 for one that never alarms (can be negative).
    missed : int
        True changepoints with no predicted changepoint in their window.
    fps : int
        Predicted changepoints outside every window.
    n_changepoints : int
        True changepoints (windows) in all files.
    profile : str
        The profile used.

    Examples
    --------
    >>> NabResult(score=100.0, missed=0, fps=0, n_changepoints=3, profile="standard").missed
    0
    """

    score: float
    missed: int
    fps: int
    n_changepoints: int
    profile: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return asdict(self)


def changepoints_from_labels(labels: Any) -> np.ndarray:
    """Changepoints of a binary prediction as SKAB derives them: ``|diff(labels)|``.

    The first element is the first label itself, so an alarm at the very start counts.

    Examples
    --------
    >>> changepoints_from_labels([1, 1, 0, 0, 1]).tolist()
    [1, 0, 1, 0, 1]
    """
    y = binary_labels(labels).astype(np.int8)
    return np.abs(np.diff(y, prepend=np.int8(0))).astype(np.uint8)


def _window_length(window: Any, datetimes: bool) -> float:
    """The window in timestamp units: nanoseconds for datetimes, else the numbers' units."""
    if isinstance(window, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([a-zA-Z]+)\s*", window)
        unit = m.group(2).lower() if m else ""
        if unit not in _UNITS_NS:
            raise ParameterError(
                f"window must look like '60s', '500ms', '2min', '1h', got {window!r}"
            )
        if not datetimes:
            raise ParameterError(
                f"window {window!r} is a duration but the timestamps are not datetimes: "
                "give the window as a number in timestamp units"
            )
        value = float(m.group(1)) * _UNITS_NS[unit]
    elif isinstance(window, (np.timedelta64, _dt.timedelta)):
        if not datetimes:
            raise ParameterError(
                f"window {window!r} is a duration but the timestamps are not datetimes"
            )
        value = float(np.timedelta64(window, "ns").astype(np.int64))
    elif is_number(window):
        value = float(window) * (10**9 if datetimes else 1)  # a number is seconds for dates
    else:
        raise ParameterError(f"window must be a duration string or a number, got {window!r}")
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"window must be positive, got {window!r}")
    return value


def _as_times(timestamps: Any, n: int, where: str) -> tuple[np.ndarray, bool]:
    """Timestamps as int64 nanoseconds (datetimes) or float64, strictly increasing."""
    if timestamps is None:
        return np.arange(n, dtype=np.float64), False
    arr = np.asarray(timestamps)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype("datetime64[ns]")
        except (TypeError, ValueError):
            raise DataError(f"{where}: timestamps must be datetimes or numbers") from None
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(
            f"length mismatch: {where} timestamps {arr.shape}, labels ({n},); they must match"
        )
    datetimes = arr.dtype.kind == "M"
    if datetimes:
        if np.isnat(arr).any():
            raise DataError(f"{where}: timestamps contain NaT")
        t = arr.astype("datetime64[ns]").astype(np.int64)
    elif arr.dtype.kind in "iuf":
        t = arr.astype(np.float64)
        if not np.isfinite(t).all():
            raise DataError(f"{where}: timestamps must be finite")
    else:
        raise DataError(f"{where}: timestamps must be datetimes or numbers, got {arr.dtype}")
    if n > 1 and not (np.diff(t) > 0).all():
        i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise DataError(f"{where}: timestamps must be strictly increasing (row {i} is not)")
    return t, datetimes


def _nab_file(
    cp_times: np.ndarray, pred_times: np.ndarray, width: float | int, side: str
) -> tuple[int, int, int, np.ndarray]:
    """One file: (windows, missed, false positives, curve index of each detection)."""
    half = width // 2 if isinstance(width, int) else width / 2
    lo, hi = {"right": (0, width), "left": (-width, 0), "center": (-half, half)}[side]
    starts, ends = cp_times + lo, cp_times + hi
    if len(starts) > 1:
        # overlapping windows: the later one starts where the earlier one ends
        starts[1:] = np.where(ends[:-1] >= starts[1:], ends[:-1], starts[1:])
    # a prediction is a false positive when it lies in no closed window [start, end]
    if len(starts):
        k = np.searchsorted(starts, pred_times, "right") - 1
        inside = (k >= 0) & (pred_times <= ends[np.maximum(k, 0)])
    else:
        inside = np.zeros(len(pred_times), dtype=bool)
    fps = int(np.count_nonzero(~inside))
    # each window scores its first prediction only
    j = np.searchsorted(pred_times, starts, "left")
    first = pred_times[np.minimum(j, len(pred_times) - 1)] if len(pred_times) else starts
    hit = (j < len(pred_times)) & (first <= ends)
    position = (first[hit] - starts[hit]) / (ends[hit] - starts[hit])
    index = np.minimum((position * len(_CURVE)).astype(np.int64), len(_CURVE) - 1)
    return len(starts), int(np.count_nonzero(~hit)), fps, index


def nab_score(
    true_changepoints_list: Any,
    predicted_changepoints_list: Any,
    timestamps_list: Any = None,
    window: Any = "60s",
    side: str = "right",
    profile: str = "standard",
) -> NabResult:
    """SKAB's NAB-style changepoint score over one or several files.

    Each true changepoint opens a scoring window of length ``window`` (to its right by
    default; SKAB's current leaderboard uses 60 s on the right). Where windows overlap,
    the later one starts where the earlier one ends. Per window, the first predicted
    changepoint inside it (both ends included) scores by SKAB's "improved" curve,
    ``A_fp + (A_tp - A_fp) · (1 - tanh(x) / tanh(π/2)) / 2`` on ``x`` from -π/2 at the window
    start to π/2 at its end, sampled at 1000 points (A_tp at the start, A_fp at the end);
    later predictions in the same window are ignored. A window without a prediction costs
    A_fn, and a prediction outside every window costs A_fp. The summed score S over all
    files is scaled as ``100 · (S - S_null) / (S_perfect - S_null)`` with
    ``S_perfect = n_windows · A_tp`` and ``S_null = n_windows · A_fn``: a detector that
    alarms at the start of every window scores 100 and one that never alarms scores 0.
    (SKAB rounds the result to 2 decimals; this function does not.)

    Where two changepoints are closer than ``window``, SKAB's rule moves the second window
    past the first, so an alarm exactly at the second changepoint falls in the first
    window and the second window counts as missed: on SKAB's test parts (60 s, right side)
    the true changepoints used as predictions score 92.91 with 9 missed, not 100.

    Parameters
    ----------
    true_changepoints_list, predicted_changepoints_list : sequence of array_like
        Per file, 0/1 arrays with 1 at each changepoint (a single 1-D array means one
        file). Turn a binary anomaly prediction into changepoints with
        :func:`changepoints_from_labels`.
    timestamps_list : sequence of array_like, optional
        Per file, strictly increasing ``datetime64`` values (or datetimes, or numbers).
        Default: row positions.
    window : str, timedelta or number, default "60s"
        Window length: a duration (``"60s"``, ``"500ms"``, ``"2min"``, ``"1h"``, a
        ``timedelta``) for datetime timestamps, where a plain number means seconds; a number
        in timestamp units otherwise.
    side : {"right", "left", "center"}, default "right"
        Where the window lies relative to its changepoint.
    profile : {"standard", "low_fp", "low_fn"}, default "standard"
        (A_tp, A_fp, A_fn) = (1, -0.11, -1), (1, -0.22, -1), (1, -0.11, -2).

    Returns
    -------
    NabResult

    Examples
    --------
    >>> cp = np.array([0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    >>> nab_score([cp], [cp], window=3).score  # perfect
    100.0
    >>> nab_score([cp], [np.zeros(10)], window=3).score  # null
    0.0
    """
    if profile not in NAB_PROFILES:
        raise ParameterError(
            f"profile must be one of {', '.join(map(repr, NAB_PROFILES))}, got {profile!r}"
        )
    if side not in _SIDES:
        raise ParameterError(f"side must be one of {', '.join(map(repr, _SIDES))}, got {side!r}")
    a_tp, a_fp, a_fn = NAB_PROFILES[profile]

    single = isinstance(true_changepoints_list, np.ndarray) and true_changepoints_list.ndim == 1
    trues = [true_changepoints_list] if single else list(true_changepoints_list)
    preds = [predicted_changepoints_list] if single else list(predicted_changepoints_list)
    if timestamps_list is None:
        stamps: Sequence[Any] = [None] * len(trues)
    else:
        stamps = [timestamps_list] if single else list(timestamps_list)
    if not (len(trues) == len(preds) == len(stamps)):
        raise DataError(
            f"got {len(trues)} true, {len(preds)} predicted and {len(stamps)} timestamp "
            "arrays: give one of each per file"
        )
    if not trues:
        raise DataError("nab_score got no files")

    half_range = (a_tp - a_fp) / 2.0
    curve = half_range * _CURVE + half_range + a_fp
    total = 0.0
    n_windows = missed = fps = 0
    for i, (true_cp, pred_cp, ts) in enumerate(zip(trues, preds, stamps, strict=True)):
        where = f"file {i}"
        try:
            t, p = _series(true_cp, pred_cp, "y_pred")
        except DataError as exc:
            raise DataError(f"{where}: {exc}") from None
        times, datetimes = _as_times(ts, len(t), where)
        width = _window_length(window, datetimes)
        if datetimes:  # integer nanoseconds: float64 cannot hold epoch nanoseconds exactly
            width = round(width)
        w, m, f, index = _nab_file(times[t == 1], times[p == 1], width, side)
        n_windows, missed, fps = n_windows + w, missed + m, fps + f
        total += a_fp * f + a_fn * m + float(curve[index].sum())
    if n_windows == 0:
        raise DataError("no true changepoints in any file: the NAB score is undefined")
    perfect, null = n_windows * a_tp, n_windows * a_fn
    score = 100.0 * (total - null) / (perfect - null)
    return NabResult(score, missed, fps, n_windows, profile)


# --------------------------------------------------------------------------- the bundle

#: The keys of :func:`evaluate`, in the order reports list them.
EVALUATE_KEYS = (
    "n_rows", "n_labelled", "n_flagged", "tp", "fp", "tn", "fn",
    "precision", "recall", "f1", "far", "mar",
    "event_precision", "event_recall", "event_f1",
    "auc_pr", "auc_roc", "vus_pr",
)  # fmt: skip


_RANKING = ("auc_pr", "auc_roc", "vus_pr")


def evaluate(
    y_true: Any,
    scores: Any,
    labels: Any,
    *,
    vus_window: int | None = None,
    ranking: bool = True,
) -> dict[str, Any]:
    """Every detection-quality metric of one labelled series, as one flat dict.

    The one bundle that ``seqae evaluate``, ``seqae detect`` and the benchmarks report.

    Parameters
    ----------
    y_true : array-like of 0/1, shape (T,)
        Known anomalies.
    scores : array-like of float, shape (T,)
        Anomaly scores, higher = more anomalous (for the ranking metrics).
    labels : array-like of 0/1, shape (T,)
        The detector's alarms (for the point and event metrics).
    vus_window : int, optional
        ``max_window`` of :func:`vus_pr` (default: the median anomaly length).
    ranking : bool, default True
        Compute the threshold-free metrics; False leaves ``auc_pr``, ``auc_roc`` and
        ``vus_pr`` out (VUS costs a pass per window length: a summary of a long series may
        skip it).

    Returns
    -------
    dict
        The keys of :data:`EVALUATE_KEYS`: row counts (``n_rows``, ``n_labelled``,
        ``n_flagged``), the confusion counts, point ``precision``, ``recall``, ``f1``, ``far``
        and ``mar`` (percent), event ``event_precision``, ``event_recall``, ``event_f1`` and
        the threshold-free ``auc_pr``, ``auc_roc``, ``vus_pr``. A metric that is undefined
        for these labels is None: the ranking metrics when ``y_true`` holds one class only;
        recall, F1, MAR and the event metrics when it holds no anomaly.

    Examples
    --------
    >>> m = evaluate([0, 0, 1, 1, 0, 0], [0.1, 0.2, 0.9, 0.7, 0.3, 0.1], [0, 0, 1, 1, 1, 0])
    >>> m["tp"], m["fp"], m["precision"], m["recall"], m["auc_pr"]
    (2, 1, 0.6666666666666666, 1.0, 1.0)
    >>> evaluate([0, 0, 0], [0.1, 0.5, 0.2], [0, 1, 0])["f1"] is None  # no anomaly to find
    True
    """
    y, s = _series(y_true, scores, "scores")
    p = binary_labels(labels, "labels")
    check_same_length(y_true=y, labels=p)
    counts = confusion(y, p)
    point = _from_counts(counts)
    anomalies = bool(y.any())
    both = ranking and anomalies and not y.all()
    event = event_f1(y, p) if anomalies else None
    out: dict[str, Any] = {
        "n_rows": len(y),
        "n_labelled": int(y.sum()),
        "n_flagged": int(p.sum()),
        **counts,
        "precision": point["precision"],
        "recall": point["recall"] if anomalies else None,
        "f1": point["f1"] if anomalies else None,
        "far": point["far"],
        "mar": point["mar"] if anomalies else None,
        "event_precision": event.precision if event else None,
        "event_recall": event.recall if event else None,
        "event_f1": event.f1 if event else None,
        "auc_pr": auc_pr(y, s) if both else None,
        "auc_roc": auc_roc(y, s) if both else None,
        "vus_pr": vus_pr(y, s, max_window=vus_window) if both else None,
    }
    return {key: out[key] for key in EVALUATE_KEYS if ranking or key not in _RANKING}
