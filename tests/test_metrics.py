"""Tests for seqae.metrics. Expected values are computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, roc_auc_score

from seqae.errors import DataError, ParameterError
from seqae.metrics import (
    NAB_PROFILES,
    NabResult,
    auc_pr,
    auc_roc,
    changepoints_from_labels,
    confusion,
    evaluate,
    event_f1,
    far,
    mar,
    nab_score,
    point_adjusted_f1,
    pooled_scores,
    precision_recall_f1,
    range_f1,
    vus_pr,
    vus_roc,
)
from seqae.scoring.events import intervals_to_labels

FIXTURES = Path(__file__).parent / "fixtures"

# --------------------------------------------------------------------------- point metrics

Y_TRUE = [0, 0, 1, 1, 1, 0, 0, 0]
Y_PRED = [1, 0, 1, 1, 0, 0, 0, 0]
# TP = 2 (idx 2, 3), FP = 1 (idx 0), FN = 1 (idx 4), TN = 4


def test_confusion_hand_case():
    assert confusion(Y_TRUE, Y_PRED) == {"tp": 2, "fp": 1, "tn": 4, "fn": 1}


def test_point_scores_hand_case():
    p, r, f1 = precision_recall_f1(Y_TRUE, Y_PRED)
    assert (p, r) == (2 / 3, 2 / 3)
    assert f1 == 2 / (2 + (1 + 1) / 2)  # SKAB: TP / (TP + (FP + FN) / 2) = 2/3
    assert far(Y_TRUE, Y_PRED) == pytest.approx(100 / 5)  # FP / (FP + TN) = 20 %
    assert mar(Y_TRUE, Y_PRED) == pytest.approx(100 / 3)  # FN / (FN + TP) = 33.3 %


def test_skab_f1_is_the_usual_f1():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    assert precision_recall_f1(y, p).f1 == pytest.approx(f1_score(y, p))


def test_undefined_ratios_are_zero():
    # no alarm and no anomaly: precision, recall and F1 have zero denominators
    assert precision_recall_f1([0, 0], [0, 0]) == (0.0, 0.0, 0.0)
    assert mar([0, 0], [0, 0]) == 0.0
    assert far([1, 1], [1, 0]) == 0.0  # no negatives
    # the null detector: recall 0, MAR 100 %, FAR 0 %
    assert mar([0, 1, 1], [0, 0, 0]) == 100.0 and far([0, 1, 1], [0, 0, 0]) == 0.0


def test_pooled_scores_sum_counts_before_ratios():
    # file A: TP 1; file B: FN 1 (idx 0) and FP 1 (idx 2), TN 1.
    # pooled: TP 1 FP 1 FN 1 TN 2 -> F1 = 1 / (1 + 1) = 0.5, FAR 1/3, MAR 1/2.
    # The mean of per-file F1 would be (1 + 0) / 2 = 0.5 too, so add file C (TN only) that
    # changes nothing pooled but would change a per-file mean.
    r = pooled_scores([([0, 1], [0, 1]), ([1, 0, 0], [0, 0, 1]), ([0], [0])])
    assert (r["tp"], r["fp"], r["tn"], r["fn"]) == (1, 1, 3, 1)
    assert r["f1"] == 0.5 and r["precision"] == 0.5 and r["recall"] == 0.5
    assert r["far"] == pytest.approx(100 / 4) and r["mar"] == 50.0


def test_pooled_scores_errors_name_the_pair():
    with pytest.raises(DataError, match=r"pairs\[1\].*y_pred"):
        pooled_scores([([0, 1], [0, 1]), ([0, 1], [0, 3])])
    with pytest.raises(DataError, match="no"):
        pooled_scores([])
    with pytest.raises(DataError, match=r"pairs\[0\] must be"):
        pooled_scores([[0, 1, 0]])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([0, 1], [0, 1, 1], r"y_true \(2,\), y_pred \(3,\)"),
        ([0, 2], [0, 1], "y_true must hold only 0 and 1"),
        ([0, 1], [0.5, 1], "y_pred must hold only 0 and 1"),
        ([0, 1], ["a", "b"], "y_pred must hold numbers"),
    ],
)
def test_point_metric_validation(y_true, y_pred, match):
    with pytest.raises(DataError, match=match):
        confusion(y_true, y_pred)


# ------------------------------------------------------------------------------------ AUCs


def test_auc_hand_cases():
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    # ROC: of the 4 (positive, negative) pairs, 0.8 beats both, 0.35 beats 0.1 only: 3/4
    assert auc_roc(y, s) == 0.75
    # AP: ranks 0.8 (TP, precision 1), 0.4 (FP), 0.35 (TP, precision 2/3): (1 + 2/3) / 2
    assert auc_pr(y, s) == pytest.approx((1 + 2 / 3) / 2)


@pytest.mark.parametrize("metric", [auc_roc, auc_pr])
def test_auc_single_class_and_bad_scores(metric):
    with pytest.raises(DataError, match=r"both classes.*only normal points"):
        metric([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="only anomalies"):
        metric([1, 1], [0.1, 0.2])
    with pytest.raises(DataError, match="NaN"):
        metric([0, 1], [0.1, np.nan])
    with pytest.raises(DataError, match=r"y_true \(2,\), scores \(3,\)"):
        metric([0, 1], [0.1, 0.2, 0.3])


# ------------------------------------------------------------------- event and range metrics


def test_event_f1_hand_case():
    y_true = [0, 1, 1, 0, 0, 1, 1, 0, 0, 0]
    y_pred = [0, 0, 1, 0, 0, 0, 0, 0, 1, 1]
    # true events [1,3) and [5,7): the first has a flagged point, the second none -> recall 1/2
    # predicted events [2,3) (overlaps a true event) and [8,10) (does not) -> precision 1/2
    p, r, f1 = event_f1(y_true, y_pred)
    assert (p, r, f1) == (0.5, 0.5, 0.5)


def test_event_f1_counts_one_long_alarm_once():
    # one predicted event covering both true events: precision 1/1, recall 2/2
    assert event_f1([1, 0, 1], [1, 1, 1]) == (1.0, 1.0, 1.0)
    assert event_f1([0, 0, 0], [0, 0, 0]) == (0.0, 0.0, 0.0)


def test_range_f1_hand_cases():
    # true [1,5), predicted [2,4): overlap 2/4 -> recall 0.5; predicted fully inside -> 1
    assert range_f1([0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 0, 0]) == pytest.approx((1.0, 0.5, 2 / 3))
    # true [1,5) hit by two alarms [1,2) and [3,4): overlap 2/4, cardinality 1/2 -> recall 1/4
    # each alarm lies inside one true range -> precision (1 + 1) / 2 = 1
    y_true, y_pred = [0, 1, 1, 1, 1, 0], [0, 1, 0, 1, 0, 0]
    p, r, _ = range_f1(y_true, y_pred)
    assert (p, r) == (1.0, 0.25)
    # alpha = 1: recall is the existence reward only: the range is hit -> 1
    assert range_f1(y_true, y_pred, alpha=1.0).recall == 1.0
    # alpha = 0.5: 0.5 * 1 + 0.5 * 0.25
    assert range_f1(y_true, y_pred, alpha=0.5).recall == 0.625


def test_range_f1_alarm_spanning_two_true_ranges():
    # one alarm [0,5) over true [0,2) and [3,5): each true range fully covered, overlapped by 1
    # alarm -> recall 1; the alarm overlaps 4 of its 5 points but 2 ranges: (4/5) / 2 -> 0.4
    p, r, _ = range_f1([1, 1, 0, 1, 1], [1, 1, 1, 1, 1])
    assert (p, r) == pytest.approx((0.4, 1.0))


def test_range_f1_rejects_bad_alpha():
    for bad in (-0.1, 1.5, "x", True):
        with pytest.raises(ParameterError, match="alpha"):
            range_f1([0, 1], [0, 1], alpha=bad)


def test_point_adjusted_f1_warns_and_inflates():
    y_true = [0, 1, 1, 1, 1, 0, 0, 0]
    y_pred = [0, 0, 1, 0, 0, 0, 0, 1]
    # adjusted prediction [0,1,1,1,1,0,0,1]: TP 4, FP 1, FN 0 -> precision 4/5, recall 1,
    # F1 = 4 / (4 + 1/2) = 8/9; the raw point F1 is 1 / (1 + (1 + 3) / 2) = 1/3
    with pytest.warns(UserWarning, match="point adjustment inflates scores"):
        p, r, f1 = point_adjusted_f1(y_true, y_pred)
    assert (p, r) == (0.8, 1.0) and f1 == pytest.approx(8 / 9)
    assert precision_recall_f1(y_true, y_pred).f1 == pytest.approx(1 / 3)


def test_temporal_metrics_need_1d_and_equal_lengths():
    with pytest.raises(DataError, match=r"y_true \(2,\), y_pred \(3,\)"):
        event_f1([0, 1], [0, 1, 1])
    with pytest.raises(DataError, match="1-D"):
        range_f1(np.zeros((2, 2)), np.zeros((2, 2)))


# ------------------------------------------------------------------------------------- VUS


def test_vus_at_buffer_zero_is_plain_auc_roc_for_one_range():
    y = np.array([0, 0, 1, 1, 0, 0])
    s = np.array([0.1, 0.5, 0.4, 0.8, 0.2, 0.3])
    # positives 0.4 and 0.8 against negatives 0.1, 0.5, 0.2, 0.3: 0.8 beats 4, 0.4 beats 3
    assert vus_roc(y, s, max_window=0) == pytest.approx(7 / 8)
    assert vus_roc(y, s, max_window=0) == pytest.approx(roc_auc_score(y, s))
    # range-PR at buffer 0, average precision (each rise in recall times its precision):
    # >=0.8: recall 1/2, precision 1; >=0.5: 1/2, 1/2; >=0.4: 1, 2/3; lower: recall stays 1
    # area = 1/2 * 1 + 0 + 1/2 * 2/3 = 5/6
    assert vus_pr(y, s, max_window=0) == pytest.approx(5 / 6)


def test_vus_existence_factor_with_two_ranges():
    # ranges [0,2) and [5,6); the score finds the first range long before the second
    y = np.array([1, 1, 0, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.0])
    # TPR = recall x (ranges found / 2): >=0.9: 1/3 * 1/2; >=0.8: 2/3 * 1/2 = 1/3 (FPR 0);
    # then FPR 1/3, 2/3, 1 at TPR 1/3; >=0.0: TPR 1, FPR 1. Area = 1 x 1/3 = 1/3,
    # while the plain AUC is 6/9 (0.9 and 0.8 beat all 3 negatives, 0.0 none)
    assert vus_roc(y, s, max_window=0) == pytest.approx(1 / 3)
    assert roc_auc_score(y, s) == pytest.approx(2 / 3)


def test_vus_perfect_score():
    y = np.zeros(10, dtype=int)
    y[4:6] = 1
    perfect = y.astype(float)
    # buffer 2: points 3 and 6 get label sqrt(1 - 1/2) = w, but a buffer point counts in
    # P_2 only once flagged. >=1 flags the 2 anomalous points: TP 2, P_2 = 2, TPR 1, FPR 0;
    # >=0 flags all: TP 2 + 2w, P_2 = 2 + w, recall 1, FPR (8 - 2w) / (8 - w). Both curves
    # reach TPR 1 at FPR 0 and precision 1: a perfect score gets 1 at every buffer length.
    for window in (0, 1, 2, 5):
        assert vus_roc(y, perfect, max_window=window) == pytest.approx(1.0)
        assert vus_pr(y, perfect, max_window=window) == pytest.approx(1.0)


def test_vus_equals_the_tsb_ad_reference():
    # values computed by TSB-AD 1.5's generate_curve (tests/fixtures/vus_reference.py)
    ref = json.loads((FIXTURES / "vus_reference.json").read_text())
    assert ref["reference"] == "tsb-ad 1.5" and len(ref["cases"]) == 20
    for case in ref["cases"]:
        y, s = np.array(case["labels"]), np.array(case["scores"])
        args = (y, s, case["window"], case["n_thresholds"])
        assert abs(vus_roc(*args) - case["vus_roc"]) < 1e-6, case["seed"]
        assert abs(vus_pr(*args) - case["vus_pr"]) < 1e-6, case["seed"]
    # the defaults sample 250 thresholds, as the reference does
    first = ref["cases"][1]
    y, s = np.array(first["labels"]), np.array(first["scores"])
    assert vus_pr(y, s, first["window"]) == vus_pr(y, s, first["window"], 250)


def test_vus_rewards_scores_near_the_anomaly():
    # a score peaking just before the anomaly (lag) gets credit from the buffer
    y = np.zeros(200, dtype=int)
    y[100:120] = 1
    lagged = np.zeros(200)
    lagged[95:115] = 1.0
    assert vus_roc(y, lagged, max_window=20) > vus_roc(y, lagged, max_window=0)


def test_vus_default_window_and_threshold_sampling():
    rng = np.random.default_rng(0)
    y = intervals_to_labels(np.array([[10, 20], [50, 80], [120, 125]]), 200)
    s = y + rng.random(200)
    # default max_window: the median true range length (10, 30, 5 -> 10)
    assert vus_roc(y, s) == vus_roc(y, s, max_window=10)
    assert vus_pr(y, s) == vus_pr(y, s, max_window=10)
    # sampling at least n thresholds visits every rank: the exact curve
    exact = vus_roc(y, s, 10, n_thresholds=None)
    assert vus_roc(y, s, 10, n_thresholds=400) == pytest.approx(exact)
    sampled = vus_roc(y, s, 10, n_thresholds=20)
    assert sampled != exact and 0 <= sampled <= 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=2, max_size=50))
def test_vus_lies_in_unit_interval(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    for metric in (vus_roc, vus_pr):
        v = metric(y, s, max_window=6)
        assert 0.0 <= v <= 1.0 + 1e-12


def test_vus_validation():
    with pytest.raises(DataError, match="both classes"):
        vus_roc([0, 0], [0.1, 0.2])
    with pytest.raises(DataError, match=r"y_true \(3,\), scores \(2,\)"):
        vus_pr([0, 1, 0], [0.1, 0.2])
    with pytest.raises(DataError, match="NaN"):
        vus_pr([0, 1], [0.1, np.nan])
    with pytest.raises(ParameterError, match="max_window"):
        vus_roc([0, 1], [0.1, 0.2], max_window=-1)
    with pytest.raises(ParameterError, match="n_thresholds"):
        vus_roc([0, 1], [0.1, 0.2], n_thresholds=1)


def test_vus_is_fast_on_1e5_points():
    rng = np.random.default_rng(1)
    n = 100_000
    starts = np.arange(500, n - 500, 2000)
    y = intervals_to_labels(np.stack([starts, starts + 100], axis=1), n)
    s = y * 0.5 + rng.random(n)
    begin = time.perf_counter()
    v = vus_pr(y, s, max_window=100)
    # ~0.2 s measured on the 2-core dev machine
    assert time.perf_counter() - begin < 5.0
    assert 0 < v < 1


# ------------------------------------------------------------------------------------- NAB


def _improved_curve(k: int, a_tp: float, a_fp: float) -> float:
    """SKAB's score at sample k of 1000 across a window (k = 0: window start)."""
    x = -math.pi / 2 + k * math.pi / 999
    return a_fp + (a_tp - a_fp) * (1 - math.tanh(x) / math.tanh(math.pi / 2)) / 2


def _one_hot(n: int, *idx: int) -> np.ndarray:
    out = np.zeros(n, dtype=int)
    out[list(idx)] = 1
    return out


def test_changepoints_from_labels():
    # |diff| with the first label kept: alarm runs start and end as changepoints
    assert changepoints_from_labels([1, 1, 0, 0, 1]).tolist() == [1, 0, 1, 0, 1]
    assert changepoints_from_labels([0, 1, 1, 1]).tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize("profile", list(NAB_PROFILES))
def test_nab_perfect_is_100_and_null_is_0(profile):
    true = [_one_hot(50, 5, 30), _one_hot(40, 12)]
    perfect = nab_score(true, true, window=10, profile=profile)
    null = nab_score(true, [np.zeros(50), np.zeros(40)], window=10, profile=profile)
    assert perfect.score == pytest.approx(100.0)
    assert (perfect.missed, perfect.fps, perfect.n_changepoints) == (0, 0, 3)
    assert null.score == pytest.approx(0.0)
    assert (null.missed, null.fps) == (3, 0)


def test_nab_detection_mid_window():
    # CP at 5, window [5, 15]; alarm at 10: (10 - 5) / 10 * 1000 = sample 500.
    # S = curve(500); perfect = 1, null = -1 -> 100 (S + 1) / 2
    r = nab_score(_one_hot(20, 5), _one_hot(20, 10), window=10)
    expected = _improved_curve(500, 1.0, -0.11)
    assert r.score == pytest.approx(100 * (expected + 1) / 2)
    assert 0 < expected < 1  # later than the CP: less than A_tp, more than A_fp


def test_nab_window_end_is_included_and_scores_a_fp():
    # alarm exactly at the window end: sample 1000 -> clipped to 999 = A_fp = -0.11
    # S = -0.11 -> 100 (0.89) / 2 = 44.5
    r = nab_score(_one_hot(20, 5), _one_hot(20, 15), window=10)
    assert r.score == pytest.approx(44.5)
    assert (r.missed, r.fps) == (0, 0)
    # one step later it is a false positive and the CP is missed: S = -0.11 - 1
    r = nab_score(_one_hot(20, 5), _one_hot(20, 16), window=10)
    assert (r.missed, r.fps) == (1, 1)
    assert r.score == pytest.approx(100 * (-1.11 + 1) / 2)


def test_nab_false_positive_and_extra_alarms():
    # alarms at 2 (before the window: FP, -0.11), 5 (A_tp) and 7 (second in the window:
    # ignored). S = 1 - 0.11 -> 100 (1.89) / 2 = 94.5
    r = nab_score(_one_hot(20, 5), _one_hot(20, 2, 5, 7), window=10)
    assert r.score == pytest.approx(94.5)
    assert (r.missed, r.fps) == (0, 1)
    # low_fp doubles the FP cost: S = 1 - 0.22 -> 89
    assert nab_score(_one_hot(20, 5), _one_hot(20, 2, 5), window=10, profile="low_fp").score == (
        pytest.approx(89.0)
    )
    # low_fn: a missed CP costs -2: null = -2, one FP and a miss: S = -0.11 - 2 -> 100 (-0.11) / 3
    r = nab_score(_one_hot(20, 5), _one_hot(20, 19), window=10, profile="low_fn")
    assert r.score == pytest.approx(100 * (-0.11) / 3)


def test_nab_overlapping_windows_follow_skab():
    # CPs at 5 and 8, window 10: the second window [15, 18] starts where the first ends.
    # Alarms at 5 and 8 both fall in the first window; the second CP is missed.
    # S = 1 - 1 = 0 -> 100 (0 + 2) / 4 = 50
    r = nab_score(_one_hot(30, 5, 8), _one_hot(30, 5, 8), window=10)
    assert (r.missed, r.fps) == (1, 0)
    assert r.score == pytest.approx(50.0)
    # an alarm at 15 sits on both window edges: the first window's first alarm is at 5,
    # the second window's is at its start: both TP at A_tp -> 100
    assert nab_score(_one_hot(30, 5, 8), _one_hot(30, 5, 15), window=10).score == (
        pytest.approx(100.0)
    )


def test_nab_sides():
    true = _one_hot(30, 15)
    # left window [5, 15]: an alarm at its start (5) scores A_tp, one at the CP A_fp
    assert nab_score(true, _one_hot(30, 5), window=10, side="left").score == pytest.approx(100)
    assert nab_score(true, _one_hot(30, 15), window=10, side="left").score == pytest.approx(44.5)
    # center window [10, 20]: the CP is the middle, sample 500
    r = nab_score(true, _one_hot(30, 15), window=10, side="center")
    assert r.score == pytest.approx(100 * (_improved_curve(500, 1.0, -0.11) + 1) / 2)


def test_nab_datetime64_timestamps_and_window_forms():
    # a 1 Hz stream with a 2 s gap; CP at t=10 s, alarm at t=40 s: sample 500 of a 60 s window
    seconds = np.concatenate([np.arange(0, 30), np.arange(32, 102)])
    ts = np.datetime64("2020-03-01T15:44:06", "ns") + seconds.astype("m8[s]")
    true = (seconds == 10).astype(int)
    pred = (seconds == 40).astype(int)
    expected = 100 * (_improved_curve(500, 1.0, -0.11) + 1) / 2
    for window in (
        "60s",
        "60S",
        "1min",
        "60000ms",
        60,
        np.timedelta64(60, "s"),
        dt.timedelta(minutes=1),
    ):
        r = nab_score([true], [pred], [ts], window=window)
        assert r.score == pytest.approx(expected), window
    # the same with numeric timestamps in seconds and a numeric window
    assert nab_score([true], [pred], [seconds], window=60).score == pytest.approx(expected)
    # python datetimes are accepted too
    py = [dt.datetime(2020, 3, 1) + dt.timedelta(seconds=int(s)) for s in seconds]
    assert nab_score([true], [pred], [py], window="60s").score == pytest.approx(expected)


def test_nab_pools_files_before_scaling():
    # file A: CP found at its start (+1); file B: CP missed (-1) and one FP (-0.11).
    # S = -0.11, perfect 2, null -2 -> 100 (-0.11 + 2) / 4 = 47.25
    r = nab_score([_one_hot(20, 3), _one_hot(20, 3)], [_one_hot(20, 3), _one_hot(20, 19)], window=5)
    assert r.score == pytest.approx(47.25)
    assert r == NabResult(r.score, missed=1, fps=1, n_changepoints=2, profile="standard")
    assert r.to_dict()["missed"] == 1


def test_nab_single_array_means_one_file():
    assert nab_score(_one_hot(20, 3), _one_hot(20, 3), window=5).score == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"profile": "LowFP"}, ParameterError, "'standard', 'low_fp', 'low_fn'"),
        ({"side": "righter"}, ParameterError, "'right', 'left', 'center'"),
        ({"window": "60 parsecs"}, ParameterError, "window must look like"),
        ({"window": 0}, ParameterError, "positive"),
        ({"window": "60s"}, ParameterError, "not datetimes"),  # numeric timestamps
        ({"predicted_changepoints_list": [_one_hot(20, 3) * 2]}, DataError, "file 0.*y_pred"),
        ({"predicted_changepoints_list": [np.zeros(19)]}, DataError, r"file 0.*\(20,\).*\(19,\)"),
        ({"timestamps_list": [np.arange(20)[::-1]]}, DataError, "strictly increasing"),
        ({"timestamps_list": [np.arange(19)]}, DataError, "length mismatch"),
        ({"true_changepoints_list": [np.zeros(20)]}, DataError, "no true changepoints"),
        ({"predicted_changepoints_list": []}, DataError, "1 true, 0 predicted"),
    ],
)
def test_nab_validation(kwargs, error, match):
    args = {
        "true_changepoints_list": [_one_hot(20, 3)],
        "predicted_changepoints_list": [_one_hot(20, 4)],
        "timestamps_list": None,
        "window": 5,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        nab_score(**args)


# ------------------------------------------------------------------------------ evaluate


def test_evaluate_bundles_the_metrics_each_function_computes():
    rng = np.random.default_rng(0)
    y = np.zeros(300, np.uint8)
    y[100:130] = y[200:210] = 1
    scores = rng.random(300) + y
    labels = (scores > 0.9).astype(np.uint8)
    m = evaluate(y, scores, labels, vus_window=5)
    p, r, f1 = precision_recall_f1(y, labels)
    ev = event_f1(y, labels)
    assert {k: m[k] for k in ("tp", "fp", "tn", "fn")} == confusion(y, labels)
    assert (m["precision"], m["recall"], m["f1"]) == (p, r, f1)
    assert (m["far"], m["mar"]) == (far(y, labels), mar(y, labels))
    assert (m["event_precision"], m["event_recall"], m["event_f1"]) == tuple(ev)
    assert m["auc_pr"] == auc_pr(y, scores) and m["auc_roc"] == auc_roc(y, scores)
    assert m["vus_pr"] == vus_pr(y, scores, max_window=5)
    assert (m["n_rows"], m["n_labelled"], m["n_flagged"]) == (300, 40, int(labels.sum()))
    quick = evaluate(y, scores, labels, ranking=False)
    assert quick == {k: v for k, v in m.items() if k not in ("auc_pr", "auc_roc", "vus_pr")}


def test_evaluate_gives_none_for_what_the_labels_leave_undefined():
    m = evaluate([0, 0, 0, 0], [0.1, 0.9, 0.2, 0.3], [0, 1, 0, 0])
    assert m["far"] == pytest.approx(25.0) and m["precision"] == 0.0
    undefined = ("recall", "f1", "mar", "event_f1", "auc_pr", "auc_roc", "vus_pr")
    assert all(m[k] is None for k in undefined)
    every = evaluate([1, 1], [0.5, 0.6], [1, 0])  # anomalies only: no ranking
    assert every["recall"] == 0.5 and every["auc_pr"] is None


def test_evaluate_names_the_bad_argument():
    with pytest.raises(DataError, match="labels"):
        evaluate([0, 1, 0], [0.1, 0.2, 0.3], [0, 2, 0])
    with pytest.raises(DataError, match="scores"):
        evaluate([0, 1, 0], [0.1, 0.2], [0, 1, 0])
