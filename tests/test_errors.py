"""seqae.errors: every failure is a SeqaeError and also the built-in (or scikit-learn) type
callers expect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from seqae import Detector, SeqaeError
from seqae.errors import DataError, DataTypeError, NotFittedError

TINY = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 16, "device": "cpu", "random_state": 0}


def _stream(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.standard_normal((n, 3)), columns=["pressure", "temp", "flow"])


def test_errors_are_seqae_and_sklearn_errors():
    det = Detector("dense", frame=4, **TINY)
    with pytest.raises(NotFittedError, match="not fitted") as info:
        det.score_samples(np.zeros((10, 2)))
    assert isinstance(info.value, SeqaeError) and isinstance(info.value, SklearnNotFittedError)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(det)

    data = _stream().to_numpy().copy()
    data[7, 1] = np.nan
    with pytest.raises(DataError, match=r"column 'channel_1' .*\(NaN\) at row 7.*NaN or inf"):
        det.fit(data)
    with pytest.raises(DataTypeError) as info:
        det.fit(np.array([[1.0, "x"]], dtype=object))
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)

    det.fit(_stream())
    with pytest.raises(ValueError, match="X has 2 features, but Detector is expecting 3"):
        det.score_samples(np.zeros((10, 2)))
    with pytest.raises(DataError, match=r"missing channel\(s\) \['flow'\]"):
        det.score_samples(_stream()[["pressure", "temp"]])
