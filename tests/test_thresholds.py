"""Tests for seqae.scoring.thresholds."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from seqae.errors import DataError, ParameterError
from seqae.scoring.thresholds import (
    best_f1_threshold,
    fit_threshold,
    pot_threshold,
    quantile_threshold,
    robust_threshold,
    sigma_threshold,
)

# ------------------------------------------------------------------------ quantile / sigma


def test_quantile_hand_case():
    # 0..100: the 0.9 quantile is 90 exactly, the 0.5 quantile 50
    assert quantile_threshold(np.arange(101.0), 0.1) == 90.0
    assert quantile_threshold(np.arange(101.0), 0.5) == 50.0


def test_quantile_ignores_nan():
    x = np.append(np.arange(101.0), [np.nan] * 7)
    assert quantile_threshold(x, 0.1) == 90.0


@pytest.mark.parametrize("bad", [0, 0.0, 0.6, -0.1, True, "0.1", math.nan])
def test_quantile_rejects_bad_contamination(bad):
    with pytest.raises(ParameterError, match=r"contamination must be in \(0, 0.5\]"):
        quantile_threshold([1.0, 2.0], bad)


def test_sigma_hand_case():
    # [1, 3]: mean 2, population std 1 -> 2 + 2 * 1 = 4
    assert sigma_threshold([1.0, 3.0], k=2.0) == 4.0
    # [0, 0, 0, 4]: mean 1, std sqrt((1 + 1 + 1 + 9) / 4) = sqrt(3)
    assert sigma_threshold([0.0, 0.0, 0.0, 4.0]) == pytest.approx(1 + 3 * math.sqrt(3))


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, None, "3"])
def test_sigma_rejects_bad_k(bad):
    with pytest.raises(ParameterError, match="k must be"):
        sigma_threshold([1.0, 2.0], bad)


@pytest.mark.parametrize("rule", [quantile_threshold, sigma_threshold, pot_threshold])
@pytest.mark.parametrize(
    ("scores", "match"),
    [([], "empty"), ([np.nan, np.nan], "all NaN"), ([1.0, np.inf], "inf"), (["a"], "numeric")],
)
def test_rules_reject_unusable_scores(rule, scores, match):
    args = (0.1,) if rule is quantile_threshold else ()
    with pytest.raises(DataError, match=match):
        rule(scores, *args)


# -------------------------------------------------------------------------------- POT


def test_pot_exponential_matches_the_true_quantile():
    # Exp(1) excesses over any level are Exp(1) again (GPD with shape 0, scale 1), so
    # z = t + log(N_t / (risk n)) with t = log(1 / 0.02), N_t / n = 0.02: z = log(1 / risk)
    x = np.random.default_rng(0).exponential(size=200_000)
    for risk in (1e-3, 1e-4, 1e-5):
        assert pot_threshold(x, risk=risk) == pytest.approx(math.log(1 / risk), abs=0.35)


def test_pot_heavy_tail_matches_the_true_quantile():
    # Lomax(3) (numpy's pareto): P(X > z) = (1 + z)^-3, so the 1 - 1e-4 quantile is
    # 1e4^(1/3) - 1 = 20.54; the empirical quantile from 200k samples is much noisier
    x = np.random.default_rng(1).pareto(3.0, size=200_000)
    assert pot_threshold(x, risk=1e-4) == pytest.approx(1e4 ** (1 / 3) - 1, rel=0.1)


def test_pot_is_above_the_initial_threshold_and_extrapolates():
    x = np.random.default_rng(2).standard_normal(50_000)
    t = np.quantile(x, 0.98)
    z = pot_threshold(x, risk=1e-6)  # far beyond the data: 1 in a million
    assert math.isfinite(z) and z > t
    assert z > x.max()  # only 50k samples: the threshold lies past all of them


def test_pot_is_unit_free():
    x = np.random.default_rng(3).standard_normal(20_000) ** 2
    z = pot_threshold(x, risk=1e-4)
    for c in (1e-9, 1e6):
        assert pot_threshold(c * x, risk=1e-4) == pytest.approx(c * z, rel=1e-6)


def test_pot_falls_back_with_too_few_excesses():
    # 0..99: t = 0.98 quantile = 97.02, only 98 and 99 exceed it (< 10 excesses), so the
    # fallback is the 1 - 0.001 quantile: 0.999 * 99 = 98.901 by linear interpolation
    assert pot_threshold(np.arange(100.0), risk=1e-3) == pytest.approx(98.901)


def test_pot_falls_back_on_constant_and_tied_scores():
    assert pot_threshold(np.full(1000, 2.5)) == 2.5
    # 99 % zeros, then 100 ones: t = 0 and all 100 excesses equal 1 (no tail to fit), so
    # the fallback is the 0.999 quantile: 1.0
    x = np.concatenate([np.zeros(9900), np.ones(100)])
    assert pot_threshold(x, risk=1e-3) == 1.0


def test_pot_falls_back_when_ties_leave_too_few_excesses_for_the_risk():
    # 99.5 % zeros and 50 values 1..50: t = 0, N_t = 50, risk n / N_t = 0.01 * 10000 / 50 = 2
    # is not a tail probability; fallback: max(t, 0.99 quantile) = max(0, 0) = 0
    x = np.concatenate([np.zeros(9950), np.arange(1.0, 51.0)])
    assert pot_threshold(x, risk=0.01) == 0.0


def test_pot_rejects_bad_parameters():
    with pytest.raises(ParameterError, match=r"risk must be in \(0, 0.02\)"):
        pot_threshold([1.0, 2.0], risk=0.05)  # not beyond the initial level
    with pytest.raises(ParameterError, match="init_level"):
        pot_threshold([1.0, 2.0], init_level=1.0)
    with pytest.raises(ParameterError, match="risk"):
        pot_threshold([1.0, 2.0], risk=0)


def test_pot_is_fast_on_a_million_scores():
    x = np.random.default_rng(4).standard_normal(1_000_000)
    pot_threshold(x)  # warm-up (imports, caches)
    start = time.perf_counter()
    pot_threshold(x)
    # ~20 ms measured on the 2-core dev machine; generous for slow CI runners
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------- best F1


def test_best_f1_hand_case():
    # thresholds (flag >=): 0.8 -> TP1 FP0 FN1, F1 2/3; 0.4 -> TP1 FP1 FN1, 1/2;
    # 0.35 -> TP2 FP1 FN0, 4/5; 0.1 -> TP2 FP2 FN0, 2/3. Best: 0.35 with F1 0.8
    assert best_f1_threshold([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == (0.35, 0.8)


def test_best_f1_handles_ties():
    # flag >= 1 flags both tied 1s: TP1 FP1 -> F1 2/3; flag >= 0 flags all: 2/4
    threshold, f1 = best_f1_threshold([1.0, 1.0, 0.0], [1, 0, 0])
    assert threshold == 1.0 and f1 == pytest.approx(2 / 3)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1)), min_size=1, max_size=40))
def test_best_f1_matches_brute_force(pairs):
    scores = np.array([p[0] for p in pairs], dtype=float)
    labels = np.array([p[1] for p in pairs])
    if labels.sum() == 0:
        labels[0] = 1
    threshold, f1 = best_f1_threshold(scores, labels)
    brute = max(f1_score(labels, scores >= t) for t in np.unique(scores))
    assert f1 == pytest.approx(brute)
    assert f1_score(labels, scores >= threshold) == pytest.approx(f1)


def test_best_f1_validation():
    with pytest.raises(DataError, match="no anomaly"):
        best_f1_threshold([0.1, 0.2], [0, 0])
    with pytest.raises(DataError, match=r"scores \(3,\), labels \(2,\)"):
        best_f1_threshold([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(DataError, match="labels must hold only 0 and 1"):
        best_f1_threshold([0.1, 0.2], [0, 2])
    with pytest.raises(DataError, match="NaN"):
        best_f1_threshold([0.1, np.nan], [0, 1])


# ---------------------------------------------------------------------------- dispatch


def test_fit_threshold_dispatches():
    x = np.random.default_rng(5).exponential(size=10_000)
    assert fit_threshold(x, "quantile", contamination=0.05) == quantile_threshold(x, 0.05)
    assert fit_threshold(x, "sigma", k=2.0) == sigma_threshold(x, 2.0)
    assert fit_threshold(x, "pot", risk=1e-3) == pot_threshold(x, risk=1e-3)
    assert fit_threshold(x, "robust", risk=1e-3) == robust_threshold(x, risk=1e-3)
    assert fit_threshold(x, 1.25) == 1.25
    assert fit_threshold(x, np.float32(2.0)) == 2.0


@pytest.mark.parametrize("bad", ["POT", "iqr", None, True, math.nan])
def test_fit_threshold_rejects_bad_methods(bad):
    with pytest.raises(ParameterError, match=r"'robust', 'pot', 'quantile', 'sigma'|finite"):
        fit_threshold([1.0, 2.0], bad)


def test_fit_threshold_checks_parameters_and_data():
    with pytest.raises(ParameterError, match="contamination"):
        fit_threshold([1.0, 2.0], "quantile", contamination=0.9)
    with pytest.raises(ParameterError, match="k must be"):
        fit_threshold([1.0, 2.0], "sigma", k=-1)
    with pytest.raises(DataError, match="all NaN"):
        fit_threshold([np.nan], 1.0)


@pytest.mark.parametrize("risk", [1e-2, 1e-3, 1e-4])
def test_robust_threshold_is_the_tail_quantile_of_exponential_scores(risk):
    x = np.random.default_rng(0).exponential(2.0, size=200_000)
    assert robust_threshold(x, risk=risk) == pytest.approx(-2.0 * math.log(risk), rel=0.05)


@pytest.mark.parametrize("share", [0.005, 0.01, 0.03])
def test_robust_threshold_is_not_moved_by_a_few_anomalies(share):
    """Anomalies in the training scores become the POT line; the robust line barely moves."""
    rng = np.random.default_rng(1)
    clean = rng.exponential(size=50_000)
    dirty = np.concatenate([clean, rng.uniform(30, 60, size=int(share * len(clean)))])
    assert robust_threshold(dirty) < 1.35 * robust_threshold(clean)
    assert pot_threshold(dirty) > 25  # what the peaks-over-threshold line does with them


def test_robust_threshold_falls_back_to_pot_without_a_body():
    few = np.random.default_rng(2).exponential(size=50)
    assert robust_threshold(few) == pot_threshold(few)
    flat = np.concatenate([np.zeros(990), np.arange(1.0, 11.0)])  # no spread in the body
    assert robust_threshold(flat) == pot_threshold(flat)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"risk": 0.5}, "risk"), ({"risk": 0.0}, "risk"), ({"body": (0.9, 0.8)}, r"body\[1\]")],
)
def test_robust_threshold_checks_its_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        robust_threshold(np.arange(1000.0), **kwargs)


def test_robust_line_of_scores_with_a_few_levels_falls_back_to_pot():
    # 85 % at 0, 15 % at 1: the 80 % quantile is 0, the 95 % one is 1, and every excess is
    # censored at the cap (no exponential tail to fit): the line is the POT one, not a crash
    scores = np.r_[np.zeros(850), np.ones(150)]
    line = robust_threshold(scores, risk=1e-4)
    assert line == pot_threshold(scores, risk=1e-4) and np.isfinite(line)
