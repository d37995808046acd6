"""Detector.partial_fit: the fitted network trains further on new normal data, the scaler and
channels stay, and the numbers scoring depends on are fitted anew as fit fits them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import DataError, ParameterError
from seqae.models.ensemble import Ensemble

# drift_window=None: the drift-aware line would follow a lasting level shift by itself
# one thread: the tests compare seeded fits, bit-identical only at a fixed thread count (the
# default count follows the machine's load, which differs between two calls under xdist)
SMALL = {
    "model": "dense",
    "frame": 16,
    "epochs": 1,
    "drift_window": None,
    "random_state": 0,
    "n_threads": 1,
}
SHIFT = np.array([3.0, -2.0, 2.5])


@pytest.fixture(scope="module")
def data():
    """``(old, shifted)``: normal rows, then normal rows whose level has moved by a few
    standard deviations per channel (a new operating point)."""
    values = make_sensor_stream(n_timesteps=2400, n_channels=3, anomalies=(), random_state=1)
    values = values.values
    return values[:1200], values[1200:] + SHIFT * values.std(axis=0)


def _fitted(old: np.ndarray, **params) -> Detector:
    return Detector(**{**SMALL, **params}).fit(old)


def test_partial_fit_learns_the_new_level(data):
    old, shifted = data
    det = _fitted(old, channel_norm=False)
    scaler, channels = det.scaler_, det.channels_
    later = shifted[800:]  # never trained on
    alarms_before = (det.score_samples(later) > 1).mean()
    raw_before = np.median(det.score_samples(later) * det.threshold_)
    events = []
    assert det.partial_fit(shifted[:800], callback=events.append) is det
    alarms_after = (det.score_samples(later) > 1).mean()
    raw_after = np.median(det.score_samples(later) * det.threshold_)
    assert alarms_before > 0.2 and alarms_after < alarms_before / 4
    assert raw_after < raw_before / 2  # the network learnt it, not only the line moved
    assert det.scaler_ == scaler and det.channels_ == channels  # the inputs keep their units
    assert events and events[-1].done
    assert det.history_["n_train"] + det.history_["n_val"] < 800  # this training's record
    assert len(det.train_scores_) == 800
    summary = det.training_summary_
    assert summary["n_timesteps"] == 2000 and summary["n_recordings"] == 2
    both = np.concatenate([old, shifted[:800]])
    np.testing.assert_allclose(summary["channel_mean"], both.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(summary["channel_std"], both.std(0), rtol=1e-4)


def test_fitted_numbers_are_fitted_anew_not_compounded(data):
    old, shifted = data
    # partial_fit scores from raw errors again (the user's weights, a line at 1), so the same
    # new data on the same network gives the same numbers however often it is fitted
    det = _fitted(old, learning_rate=1e-12, channel_weights=[1.0, 2.0, 1.0])
    det.partial_fit(shifted)
    first = (det.channel_weights_, det.threshold_)
    det.partial_fit(shifted)  # a network that barely moves: the same numbers
    np.testing.assert_allclose(det.channel_weights_, first[0], rtol=1e-6)
    assert det.threshold_ == pytest.approx(first[1], rel=1e-6)
    det.set_params(channel_norm=False).partial_fit(shifted)
    assert det.channel_weights_ == pytest.approx([0.75, 1.5, 0.75])  # the user's, mean 1


def test_partial_fit_is_deterministic(data):
    old, shifted = data
    a = _fitted(old, n_networks=2).partial_fit(shifted[:800])
    b = _fitted(old, n_networks=2).partial_fit(shifted[:800])
    assert isinstance(a.model_, Ensemble)
    for (name, x), (_, y) in zip(
        a.model_.state_dict().items(), b.model_.state_dict().items(), strict=True
    ):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)
    np.testing.assert_array_equal(a.score_samples(shifted), b.score_samples(shifted))
    assert a.threshold_ == b.threshold_
    # ...and it trained: the networks moved from where fit left them, and were weighed anew
    fitted = _fitted(old, n_networks=2)
    assert not np.array_equal(fitted.score_samples(shifted), a.score_samples(shifted))
    before, after = fitted.model_.member_weights.numpy(), a.model_.member_weights.numpy()
    assert np.abs(after - before).max() > 1e-3
    assert after.sum(axis=0).mean() == pytest.approx(1.0)  # scaled as fit scales them


def test_named_channels_are_matched_by_name(data):
    old, shifted = data
    names = ["a", "b", "c"]
    ordered = pd.DataFrame(shifted[:800], columns=names)
    shuffled = ordered[["c", "a", "b"]].assign(note="x")  # other order, an extra column
    a = Detector(**SMALL).fit(pd.DataFrame(old, columns=names)).partial_fit(ordered)
    b = Detector(**SMALL).fit(pd.DataFrame(old, columns=names)).partial_fit(shuffled)
    np.testing.assert_array_equal(a.score_samples(ordered), b.score_samples(ordered))
    # a list of recordings, as fit takes
    c = Detector(**SMALL).fit(pd.DataFrame(old, columns=names))
    c.partial_fit([ordered.iloc[:400], shuffled.iloc[400:]])
    assert c.training_summary_["n_recordings"] == 3


def test_data_errors_are_those_of_fit(data):
    old, shifted = data
    det = Detector(**SMALL).fit(pd.DataFrame(old, columns=["a", "b", "c"]))
    weights = {k: v.clone() for k, v in det.model_.state_dict().items()}
    with pytest.raises(DataError, match=r"missing channel\(s\) \['c'\]"):
        det.partial_fit(pd.DataFrame(shifted[:, :2], columns=["a", "b"]))
    with pytest.raises(DataError, match="expecting 3 features"):
        det.partial_fit(shifted[:, :2])
    with pytest.raises(DataError, match="empty list"):
        det.partial_fit([])
    for bad in (shifted[:10], np.where(np.arange(800)[:, None] == 5, np.nan, shifted[:800])):
        with pytest.raises(DataError) as fit_error:
            Detector(**SMALL).fit(bad)
        with pytest.raises(DataError) as partial_error:
            det.partial_fit(bad)
        assert str(partial_error.value) == str(fit_error.value)
    # nothing trained on a refused call
    for name, value in det.model_.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), weights[name].numpy(), err_msg=name)


def test_an_unfitted_detector_is_fitted_as_fit_would(data):
    old, _ = data
    first = Detector(**SMALL).partial_fit(old)
    np.testing.assert_array_equal(
        first.score_samples(old), Detector(**SMALL).fit(old).score_samples(old)
    )


def test_stuck_floors_only_go_down(data):
    old, shifted = data
    det = Detector(**SMALL, stuck_window=16).fit(old)
    before = np.asarray(det.stuck_floor_)
    quiet = shifted.copy()
    quiet[:, 0] = quiet[:, 0] * 0.01  # channel 0 moves far less than it did
    det.partial_fit(quiet)
    after = np.asarray(det.stuck_floor_)
    assert after[0] < 0.1 * before[0] and np.all(after <= before)


def test_what_partial_fit_refuses(data):
    old, shifted = data
    images = np.random.default_rng(0).normal(size=(32, 8, 8)).astype(np.float32)
    image_det = Detector(model="dense", epochs=1, random_state=0).fit(images)
    with pytest.raises(ParameterError, match="fitted on images"):
        image_det.partial_fit(images)
    pca = Detector(**{**SMALL, "model": "pca"}).fit(old)
    with pytest.raises(ParameterError, match="closed form"):
        pca.partial_fit(shifted)


@pytest.mark.parametrize("model", ["dense", "conv1d"])  # windowed, convolutional scoring
def test_save_load_after_partial_fit(data, tmp_path, model):
    old, shifted = data
    det = _fitted(old, model=model, drift_window=64).partial_fit(shifted[:800])
    det.save(tmp_path / "m")
    back = Detector.load(tmp_path / "m")
    np.testing.assert_array_equal(back.score_samples(shifted), det.score_samples(shifted))
    for name in ("threshold_", "channel_weights_", "drift_base_", "training_summary_"):
        assert getattr(back, name) == getattr(det, name), name
    assert back.training_summary_["n_timesteps"] == 2000


def test_onnx_export_after_partial_fit_scores_the_same(data, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from seqae.files.runtime import OnnxDetector

    old, shifted = data
    det = _fitted(old, drift_window=64).partial_fit(shifted[:800])
    edge = OnnxDetector(det.export_onnx(tmp_path / "m.onnx"))
    want, got = det.score_samples(shifted), edge.score_samples(shifted)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    np.testing.assert_array_equal(edge.predict(shifted), det.predict(shifted))
