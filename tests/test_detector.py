"""The Detector end to end on the synthetic stream: fit, score, threshold, explain, save, load,
fit_detect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_same
from seqae.datasets import make_sensor_stream
from sklearn.base import clone
from sklearn.metrics import average_precision_score, roc_auc_score

import seqae
from seqae import Detector
from seqae.errors import DataError, NotFittedError, ParameterError
from seqae.models import models_of_kind

FAST = {"epochs": 8, "batch_size": 128, "random_state": 0}
# For checks of mechanics (threshold rules, channel order, ...) that hold for any trained model.
ONE_EPOCH = {**FAST, "epochs": 1}
# Smaller settings for some families, to keep the tests fast; every registered sequence
# family is tested (a new one with the defaults below).
SMALL = {
    "conv1d": {"frame": 32, "model_params": {"filters": (16, 16, 8)}},
    "lstm": {"frame": 16, "model_params": {"hidden_size": 32, "latent_dim": 8}},
    "gru": {"frame": 16, "model_params": {"hidden_size": 32, "latent_dim": 8}},
    "dense": {"frame": 32, "model_params": {"hidden": (64, 16)}},
    "pca": {"frame": 32, "model_params": {"n_components": 8}},
}
SEQUENCE_MODELS = {name: SMALL.get(name, {"frame": 32}) for name in models_of_kind("sequence")}


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_timesteps=6000, n_channels=4, random_state=3)


@pytest.fixture(scope="module")
def fitted(stream):
    train = stream.values[:2000]
    return Detector(frame=32, **FAST).fit(train)


@pytest.mark.parametrize("name", sorted(SEQUENCE_MODELS))
def test_each_model_finds_injected_anomalies(stream, name):
    # Train on the anomaly-free first part; the rest holds injected anomalies of six kinds.
    first = int(np.argmax(stream.labels))
    epochs = 20 if name in ("lstm", "gru") else FAST["epochs"]
    # The network's own ranking: the default smoothing over 8 rows dilutes this stream's
    # 1-3-row spikes (lstm / gru AUC-PR 0.195 / 0.218 -> 0.179 / 0.182, near the bar below).
    params = {**FAST, "epochs": epochs, "score_smoothing": 1}
    det = Detector(model=name, **SEQUENCE_MODELS[name], **params)
    det.fit(stream.values[:first])
    scores = det.score_samples(stream.values)
    assert scores.shape == (len(stream.values),)
    assert np.isfinite(scores).all()
    rate = stream.labels.mean()
    ap = average_precision_score(stream.labels, scores)
    # "Far above chance": chance AUC-PR equals the anomaly rate.
    assert ap > 2 * rate, f"{name}: AUC-PR {ap:.3f} vs anomaly rate {rate:.3f}"
    assert roc_auc_score(stream.labels, scores) > 0.6


@pytest.mark.slow
def test_default_budget_trains_lstm_until_the_validation_loss_stops_falling():
    """Issue 23: 20 epochs of 11 batches of 256 stopped lstm on 3,000 rows still learning
    (validation loss 1.03 -> 0.59, falling at the last epoch)."""
    normal = make_sensor_stream(n_timesteps=3000, n_channels=4, anomalies=(), random_state=0)
    # one thread: float sums, and so where the loss stops falling, follow the thread count,
    # which by default is chosen from how busy the CPUs are (with two the budget ran out first)
    history = Detector(model="lstm", random_state=0, n_threads=1).fit(normal.values).history_
    assert history["batch_size"] == 83  # 32 batches a pass: 640 steps in 20 epochs, not 220
    assert history["stopped_early"]  # patience ran out, not the budget
    losses = [e["val_loss"] for e in history["epochs"]]
    assert min(losses[-5:]) > min(losses) == history["best_loss"]


def test_scores_reproducible_with_seed(stream):
    # bit for bit needs one thread count: by default it is chosen per call from how busy the
    # CPUs are, and float sums follow it (README, Threads)
    train = stream.values[:1500]
    same = {**FAST, "epochs": 2, "n_threads": 1}
    a = Detector(frame=32, **same).fit(train).score_samples(stream.values)
    b = Detector(frame=32, **same).fit(train).score_samples(stream.values)
    np.testing.assert_array_equal(a, b)


def test_threshold_normalisation_and_labels(fitted, stream):
    result = fitted.detect(stream.values)
    np.testing.assert_allclose(result.raw_scores, result.scores * fitted.threshold_)
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.scores, rtol=1e-5)
    assert set(np.unique(result.labels)) <= {0, 1}
    np.testing.assert_array_equal(result.labels, (result.scores >= 1.0).astype(np.int8))
    np.testing.assert_array_equal(fitted.predict(stream.values), result.labels)
    # The training scores sit mostly under the alarm line (POT aims at a small false-alarm risk).
    assert np.mean(fitted.train_scores_ >= 1.0) < 0.02


def test_events_describe_alarms_with_channels(fitted, stream):
    result = fitted.detect(stream.values)
    assert result.events, "the synthetic stream has anomalies; some must be found"
    flagged = sum(e.end - e.start for e in result.events)
    assert flagged == result.n_anomalies
    for event in result.events:
        assert event.peak_score >= event.mean_score >= 1.0
        assert event.top_channels[0][0] in fitted.channels_


def test_threshold_rules(stream):
    train = stream.values[:1500]
    base = Detector(frame=32, calibration="training", **ONE_EPOCH)
    q = clone(base).set_params(threshold="quantile", contamination=0.05).fit(train)
    assert np.mean(q.train_scores_ >= 1.0) == pytest.approx(0.05, abs=0.01)
    s = clone(base).set_params(threshold="sigma", sigma=2.0).fit(train)
    raw = s.train_scores_ * s.threshold_
    assert s.threshold_ == pytest.approx(raw.mean() + 2.0 * raw.std(), rel=1e-4)
    fixed = clone(base).set_params(threshold=0.5).fit(train)
    assert fixed.threshold_ == 0.5


def test_holdout_calibration_raises_the_line_by_the_unseen_rows(stream):
    """The line is the training rule's line times how much higher held-out rows score."""
    train = stream.values[:1500]
    held = Detector(frame=32, threshold="quantile", contamination=0.05, **ONE_EPOCH).fit(train)
    raw = held.train_scores_ * held.threshold_
    cut = round(len(train) * 0.9)  # validation_split 0.1: the tail is never trained on
    fitted, unseen = raw[:cut], raw[cut:]
    ratio = max(1.0, np.median(unseen) / np.median(fitted))
    assert held.threshold_ == pytest.approx(np.quantile(fitted, 0.95) * ratio, rel=1e-6)
    assert np.mean(unseen >= held.threshold_) < np.mean(unseen >= np.quantile(fitted, 0.95)) + 1e-9


def test_channel_norm_equalises_normal_channel_errors(stream):
    det = Detector(frame=32, channel_norm=True, **FAST).fit(stream.values[:1500])
    result = det.detect(stream.values[1350:1500])  # the held-out tail: normal, unseen
    shares = result.contributions.mean(axis=0)
    assert np.mean(det.channel_weights_) == pytest.approx(1.0)
    # each channel's mean error on the held-out rows was made equal (floors aside)
    assert shares.max() / shares.min() < 3.0


def test_calibrate_picks_best_f1(stream):
    det = Detector(frame=32, scoring="windowed", **FAST).fit(stream.values[:1500])
    before = det.threshold_
    det.calibrate(stream.values, stream.labels)
    pred = det.predict(stream.values)
    tp = np.sum((pred == 1) & (stream.labels == 1))
    f1 = 2 * tp / (pred.sum() + stream.labels.sum())
    assert det.threshold_ != before
    assert f1 > 0.3


def test_sklearn_params_and_clone():
    det = Detector(model="lstm", frame=16, epochs=3)
    params = det.get_params()
    assert params["model"] == "lstm" and params["frame"] == 16
    twin = clone(det)
    assert twin.get_params() == params and twin is not det
    det.set_params(frame=24)
    assert det.frame == 24


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": "transformer"}, "model must be one of"),
        ({"frame": 0}, "frame must be >= 1"),
        ({"scaler": "zscore"}, "scaler must be"),  # "minmax" is valid (images)
        ({"scoring": "fast"}, "scoring must be"),
        ({"validation_split": 1.5}, "validation_split"),
        ({"threshold": "magic"}, "magic"),
        ({"model_params": {"bogus": 1}}, "bogus"),
        ({"min_event_length": 0}, "min_event_length must be an integer >= 1"),
        ({"merge_gap": -1}, "merge_gap must be an integer >= 0"),
    ],
)
def test_bad_parameters_are_clear(stream, params, message):
    with pytest.raises(ParameterError, match=message):
        Detector(**{**FAST, "epochs": 1, "frame": 32, **params}).fit(stream.values[:500])


def test_not_fitted_and_data_errors(fitted, stream):
    with pytest.raises(NotFittedError, match="fit"):
        Detector().score_samples(stream.values)
    with pytest.raises(DataError, match="4"):
        fitted.score_samples(stream.values[:, :3])
    with pytest.raises(DataError, match="fewer than one frame"):
        Detector(frame=64, epochs=1).fit(stream.values[:10])
    bad = stream.values[:500].copy()
    bad[17, 2] = np.nan
    with pytest.raises(DataError, match="row 17"):
        fitted.score_samples(bad)


def test_timestamps_reach_events(stream):
    frame = pd.DataFrame(stream.values, columns=stream.channels, index=stream.timestamps)
    det = Detector(frame=32, threshold="quantile", contamination=0.05, **ONE_EPOCH)
    result = det.fit(frame.iloc[:1500]).detect(frame)  # a low line: some events for sure
    assert result.events and result.events[0].start_time is not None
    assert str(stream.timestamps[result.events[0].start].date()) in result.events[0].start_time


def test_several_recordings(stream):
    parts = [stream.values[:800], stream.values[800:1600]]
    det = Detector(frame=32, **ONE_EPOCH).fit(parts)
    assert det.training_summary_["n_recordings"] == 2
    assert det.score_samples(stream.values).shape == (len(stream.values),)


@pytest.mark.parametrize("single_file", [False, True])
def test_save_load_bit_identical(fitted, stream, tmp_path, single_file):
    path = tmp_path / ("model.safetensors" if single_file else "model")
    fitted.save(path)
    loaded = Detector.load(path)
    np.testing.assert_array_equal(
        loaded.score_samples(stream.values), fitted.score_samples(stream.values)
    )
    assert loaded.channels_ == fitted.channels_
    assert loaded.get_params()["frame"] == fitted.frame


@pytest.mark.parametrize("name", sorted(SEQUENCE_MODELS))
def test_save_load_every_family(stream, tmp_path, name):
    det = Detector(model=name, **SEQUENCE_MODELS[name], **{**FAST, "epochs": 2})
    det.fit(stream.values[:1000])
    det.save(tmp_path / "m")
    loaded = Detector.load(tmp_path / "m")
    x = stream.values[:700]
    np.testing.assert_array_equal(loaded.score_samples(x), det.score_samples(x))


def test_windowed_and_convolutional_paths_agree(stream):
    first = int(np.argmax(stream.labels))
    windowed = Detector(frame=32, scoring="windowed", **FAST).fit(stream.values[:first])
    conv = clone(windowed).set_params(scoring="convolutional").fit(stream.values[:first])
    a, b = conv.predict(stream.values), windowed.predict(stream.values)
    # Same model and seed; the paths differ at frame edges only, so alarms mostly coincide.
    assert (a == b).mean() > 0.95
    assert (
        np.corrcoef(conv.score_samples(stream.values), windowed.score_samples(stream.values))[0, 1]
        > 0.3
    )


def test_set_threshold_moves_the_alarm_line(stream):
    # the whole drift adjustment, no ranking stream: every score is the raw error over the line
    det = Detector(frame=32, merge_gap=0, drift_rank_power=1.0, rank_smoothing=1, **ONE_EPOCH)
    det.fit(stream.values[:2000])
    scores = det.score_samples(stream.values)
    raw = scores * det.threshold_
    det.set_threshold(2.0, relative=True)
    np.testing.assert_allclose(det.score_samples(stream.values), scores / 2, rtol=1e-5)
    det.set_threshold(float(np.quantile(raw, 0.9)))
    assert abs(det.predict(stream.values).mean() - 0.1) < 0.01
    for bad in (0, -1.0, float("nan"), "high", True):
        with pytest.raises(ParameterError, match="threshold must be"):
            det.set_threshold(bad)


def test_denoising_with_masked_timesteps_trains_a_sequence_model(stream):
    params = {"noise_std": 0.1, "mask_fraction": 0.2, "mask_timesteps": True}
    det = Detector(frame=32, train_params=params, **{**FAST, "epochs": 2})
    scores = det.fit(stream.values[:1500]).score_samples(stream.values[:3000])
    assert np.isfinite(scores).all() and len(det.history_["epochs"]) == 2


@pytest.mark.parametrize("model", ["pca", "conv1d"])
def test_a_constant_training_history_fits_and_a_change_alarms(model):
    # A sensor that never moved in its few hundred training rows: the fit must not fail on
    # a line of 0 (pca reconstructs it exactly), and a later change is one event.
    train = np.full((750, 1), 3.0, np.float32)
    test = np.concatenate([np.full(300, 3.0), np.full(100, 3.5), np.full(300, 3.0)])
    det = Detector(model=model, random_state=0).fit(train)
    assert det.threshold_ > 0
    result = det.detect(test[:, None].astype(np.float32))
    # one channel: the centred mean ("auto") may alarm up to its width - 1 rows early
    early = det.centred_smoothing_ - 1
    assert result.labels[: 300 - early].sum() == 0 and result.labels[300:400].all()
    assert len(result.events) == 1


def test_fit_detect_equals_fit_then_detect(file_stream):
    kw = {"model": "dense", "frame": 16, "step": 4, "epochs": 1, "random_state": 0}
    kw.update(threshold="quantile", contamination=0.05, min_event_length=2)
    one = Detector(**kw).fit_detect(file_stream.values, reconstruction=True)
    two = Detector(**kw).fit(file_stream.values)
    want = two.detect(file_stream.values, reconstruction=True)
    assert want.events
    assert_same(one, want)
    np.testing.assert_allclose(one.reconstruction, want.reconstruction, rtol=1e-5, atol=1e-5)
    with pytest.raises(seqae.DataError, match="one stream"):
        Detector(**kw).fit_detect([file_stream.values[:1000], file_stream.values[1000:2000]])
