"""Channel weights: each channel's squared error counts by its weight, in Python and in ONNX."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seqae.datasets import make_sensor_stream
from sklearn.base import clone

from seqae import Detector
from seqae.errors import ParameterError
from seqae.models.head import check_channel_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def stream() -> np.ndarray:
    return make_sensor_stream(n_timesteps=1200, n_channels=3, random_state=0).values


def fitted(x: np.ndarray, **kw) -> Detector:
    # channel_norm=False: the weights under test alone (channel_norm multiplies its own in)
    return Detector(frame=32, epochs=2, random_state=0, channel_norm=False, **kw).fit(x[:600])


def test_weights_scale_each_channel_error_and_average_one(stream):
    # drift_window=None: the drift-aware line rescales whole scores; here raw errors compare
    plain = fitted(stream, drift_window=None)
    weighted = fitted(stream, drift_window=None, channel_weights=[4, 2, 0])
    assert weighted.channel_weights_ == [2.0, 1.0, 0.0]  # rescaled to average 1
    # the network's per-channel errors (before the attribution splits the scores)
    raw_plain = plain._score(stream).contributions * plain.threshold_
    raw_weighted = weighted._score(stream).contributions * weighted.threshold_
    np.testing.assert_allclose(raw_weighted, raw_plain * [2.0, 1.0, 0.0], rtol=1e-4, atol=1e-7)
    result = weighted.detect(stream)
    np.testing.assert_allclose(result.contributions.sum(1), result.scores, rtol=1e-5)
    assert (result.contributions[:, 2] == 0).all()  # a weight of 0: never the channel named
    # the attribution takes the weights back out: channel 0 (weight 2) is not named more
    # often than without weights (rows still count by their own, weighted, score)
    top = result.contributions[:, :2].argmax(1)
    plain_top = plain.detect(stream).contributions[:, :2].argmax(1)
    assert abs((top == 0).mean() - (plain_top == 0).mean()) < 0.1
    assert plain.channel_weights_ is None


def test_a_dict_weighs_channels_by_name_and_others_keep_one(stream):
    df = pd.DataFrame(stream, columns=["flow", "pressure", "temp"])
    det = Detector(
        frame=32, epochs=1, random_state=0, channel_norm=False, channel_weights={"temp": 0.25}
    )
    det.fit(df.iloc[:600])
    w = np.array([1.0, 1.0, 0.25])
    np.testing.assert_allclose(det.channel_weights_, w / w.mean())
    assert clone(det).get_params()["channel_weights"] == {"temp": 0.25}


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([1.0, 1.0], "one weight per channel"),
        ([1.0, -1.0, 1.0], ">= 0"),
        ([0.0, 0.0, 0.0], "at least one > 0"),
        ([1.0, float("nan"), 1.0], "finite"),
        (["a", 1, 1], "numbers"),
        ({"nope": 1.0}, "not in the data"),
    ],
)
def test_bad_weights_are_refused_before_training(stream, weights, match):
    det = Detector(frame=32, epochs=50, channel_weights=weights)
    with pytest.raises(ParameterError, match=match):
        det.fit(stream[:600])
    assert not hasattr(det, "model_")


def test_check_channel_weights_returns_floats():
    assert check_channel_weights((1, 3), 2).tolist() == [1.0, 3.0]


def test_weights_survive_save_load_and_onnx(exported_family, family_stream, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqae.files.runtime import OnnxDetector

    # the session's shared windowed conv1d model, fitted with channel_weights=[1, 0.5, 3, 1]
    det, path = exported_family("conv1d")
    stream = family_stream.values
    assert det.channel_weights is not None and det.channel_weights_ is not None
    det.save(tmp_path / "m")
    back = Detector.load(tmp_path / "m")
    assert back.channel_weights_ == det.channel_weights_
    np.testing.assert_array_equal(back.score_samples(stream), det.score_samples(stream))
    edge = OnnxDetector(path)
    assert edge.metadata["channel_weights"] == det.channel_weights_
    np.testing.assert_allclose(edge.score_samples(stream), det.score_samples(stream), rtol=1e-4)
