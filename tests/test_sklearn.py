"""scikit-learn's estimator contract, checked by scikit-learn's own suite.

A Detector's rows are timesteps in order, scored in frames of neighbouring timesteps; the few
checks that assume independent rows are declared expected failures, each with its reason, and
:func:`test_only_the_declared_checks_fail` holds that list to what really fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", minversion="1.6")  # __sklearn_tags__, expected_failed_checks
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from seqae import Detector

TINY = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 16, "device": "cpu", "random_state": 0}
DENSE = Detector("dense", frame=4, model_params={"hidden": (4, 2)}, **TINY)
CONV = Detector("conv1d", frame=8, model_params={"filters": (4,)}, **TINY)

_PER_FRAME = (
    "transform gives one latent code per frame (frame timesteps every step), not one row per "
    "input row"
)
#: The checks that treat rows as independent samples, and why a Detector differs.
ROWS_ARE_TIMESTEPS = {
    "check_methods_sample_order_invariance": (
        "rows are timesteps in order: shuffling them changes every frame, so a row's score "
        "depends on its neighbours"
    ),
    "check_methods_subset_invariance": (
        "a row is scored within a frame of neighbouring timesteps; a single row is shorter "
        "than a frame"
    ),
    "check_transformer_general": _PER_FRAME,
    "check_transformer_data_not_an_array": _PER_FRAME,
    "check_fit1d": (
        "a 1-D array is one channel's series of timesteps, accepted on purpose (univariate "
        "streams), not an ambiguous sample"
    ),
}


def _expected_failures(estimator: Detector) -> dict[str, str]:
    return ROWS_ARE_TIMESTEPS


@parametrize_with_checks([DENSE, CONV], expected_failed_checks=_expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [DENSE, CONV], ids=["dense", "conv1d"])
def test_only_the_declared_checks_fail(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == set(ROWS_ARE_TIMESTEPS)


def _stream(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.standard_normal((n, 3)), columns=["pressure", "temp", "flow"])


def test_fitted_attributes_follow_the_input():
    data = _stream()
    det = Detector("dense", frame=4, model_params={"hidden": (4, 2)}, **TINY).fit(data)
    assert det.n_features_in_ == 3
    assert det.feature_names_in_.dtype == object
    assert list(det.feature_names_in_) == ["pressure", "temp", "flow"]
    det.fit(data.to_numpy())  # a refit on unnamed data forgets the names
    assert det.n_features_in_ == 3 and not hasattr(det, "feature_names_in_")
    np.testing.assert_allclose(
        det.fit_transform(data), det.fit(data).transform(data), rtol=1e-6, atol=1e-6
    )
