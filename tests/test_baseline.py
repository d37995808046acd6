"""The drift-aware alarm line: seqae.scoring.baseline and how the detectors use it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqae import Detector
from seqae.errors import ParameterError
from seqae.scale.streaming import ChunkedScorer
from seqae.scoring.baseline import (
    N_BLOCKS,
    Attribution,
    DriftBaseline,
    StreamTracker,
    StuckCheck,
    TrailingMean,
    apply_baseline,
    smooth_scores,
)


def test_a_stream_at_the_normal_level_is_unchanged():
    scores = np.random.default_rng(0).exponential(0.1, 5000)
    baseline = DriftBaseline(base=float(np.median(scores)), window=512)
    assert np.array_equal(baseline.factors(scores[:100]), np.ones(100)) or np.all(
        baseline.factors(scores[100:]) <= 1.0
    )
    adjusted = DriftBaseline(base=float(np.median(scores)), window=512).adjust(scores)
    assert np.mean(adjusted == scores) > 0.95  # only chance dips of the level change anything


def test_slow_drift_is_followed_and_a_fast_fault_still_stands_out():
    rng = np.random.default_rng(1)
    n = 30_000
    level = np.linspace(1.0, 6.0, n)  # the normal error level rises six-fold
    scores = rng.exponential(0.1, n) * level
    scores[25_000:25_200] += 3.0 * level[25_000:25_200]  # a fault: far above the drifted level
    adjusted = DriftBaseline(base=0.07, window=1024).adjust(scores)
    normal = np.ones(n, bool)
    normal[25_000:25_200] = False
    assert np.mean(scores[normal][-10_000:] >= 1.0) > 0.1  # a fixed line floods
    assert np.mean(adjusted[normal][-10_000:] >= 1.0) < 0.01  # the drift-aware one does not
    assert np.mean(adjusted[25_000:25_200] >= 1.0) > 0.9  # the fault is still flagged


def test_a_fault_is_not_taken_for_the_new_normal_before_it_fills_the_window():
    scores = np.full(4000, 0.1)
    scores[1000:] = 2.0  # a lasting fault from row 1000 on
    adjusted = DriftBaseline(base=0.1, window=1024).adjust(scores)
    assert np.all(adjusted[1000:1700] == 2.0)  # three quarters of a window: unchanged
    assert adjusted[-1] == pytest.approx(0.1)  # long after, it is the new level


def test_parts_equal_one_pass():
    scores = np.random.default_rng(2).exponential(0.1, 10_000) * np.linspace(1, 4, 10_000)
    whole = DriftBaseline(0.07, 256).adjust(scores)
    baseline = DriftBaseline(0.07, 256)
    cuts = [0, 1, 17, 500, 501, 4096, 9999, 10_000]
    parts = [baseline.adjust(scores[a:b]) for a, b in itertools.pairwise(cuts)]
    assert np.array_equal(np.concatenate(parts), whole)


def test_contributions_keep_summing_to_the_score():
    rng = np.random.default_rng(3)
    contributions = rng.exponential(0.05, (3000, 4)) * np.linspace(1, 5, 3000)[:, None]
    scores, adjusted = apply_baseline(DriftBaseline(0.1, 256), contributions.sum(1), contributions)
    assert np.allclose(adjusted.sum(axis=1), scores)
    assert apply_baseline(None, scores, adjusted)[0] is scores


@pytest.mark.parametrize(
    ("base", "window"), [(0.0, 512), (-1.0, 512), (float("nan"), 512), (0.1, N_BLOCKS - 1)]
)
def test_bad_settings_are_refused(base, window):
    with pytest.raises(ParameterError):
        DriftBaseline(base, window)


def test_detector_drift_window_is_checked():
    with pytest.raises(ParameterError, match="drift_window"):
        Detector(drift_window=8).fit(np.zeros((200, 2), np.float32))


@pytest.fixture(scope="module")
def drifting():
    """A 2-channel stream whose first channel drifts slowly after the training part."""
    rng = np.random.default_rng(4)
    t = np.arange(12_000)
    x = np.stack([np.sin(t / 20), np.cos(t / 20)], axis=1) + rng.normal(0, 0.1, (12_000, 2))
    x[:, 0] += np.clip((t - 2000) / 10_000, 0, None) * 2.0  # up to +2 over the scored part
    return x.astype(np.float32)


def test_detector_stops_flooding_on_drift_and_streams_equal_memory(drifting):
    # a model of 3 epochs of batches of 256 (21 steps) that floods on the drift without the
    # drift-aware line (the default budget trains one that reconstructs this drift: 5 % alarms)
    # one thread: two seeded fits are bit-identical only at a fixed thread count (README)
    kwargs = {"model": "conv1d", "frame": 32, "epochs": 3, "batch_size": 256, "random_state": 0}
    kwargs["n_threads"] = 1
    fixed = Detector(drift_window=None, **kwargs).fit(drifting[:2000])
    aware = Detector(drift_window=512, **kwargs).fit(drifting[:2000])
    assert aware.threshold_ == fixed.threshold_  # the same line; only the scores follow
    late = slice(8000, None)
    assert fixed.predict(drifting)[late].mean() > 0.2
    assert aware.predict(drifting)[late].mean() < 0.05
    scorer = ChunkedScorer(aware, min_part=1000)
    parts = [scorer.push(c) for c in np.array_split(drifting, 7)] + [scorer.finish()]
    streamed = np.concatenate([p.scores for p in parts if p is not None])
    assert np.allclose(streamed, aware.score_samples(drifting), rtol=1e-5, atol=1e-7)


def test_saved_and_exported_models_carry_the_baseline(drifting, tmp_path):
    pytest.importorskip("onnxruntime")
    det = Detector(model="conv1d", frame=32, epochs=2, random_state=0).fit(drifting[:2000])
    det.save(tmp_path / "model")
    loaded = Detector.load(tmp_path / "model")
    assert loaded.drift_base_ == det.drift_base_ and loaded.drift_window == 512
    assert np.allclose(loaded.score_samples(drifting), det.score_samples(drifting), rtol=1e-5)
    from seqae.files.runtime import OnnxDetector

    det.export_onnx(tmp_path / "model.onnx")
    onnx = OnnxDetector(tmp_path / "model.onnx")
    assert np.allclose(onnx.score_samples(drifting), det.score_samples(drifting), rtol=1e-4)


# ------------------------------------------------------------------------ attribution


def _errors(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    contributions = rng.exponential(0.05, (n, 3)) * np.linspace(1, 4, n)[:, None]
    return contributions.sum(1), contributions


def test_attribution_in_random_parts_equals_one_pass():
    scores, contributions = _errors()
    whole = Attribution([1.0, 2.0, 0.5], 64).apply(scores, contributions)
    att = Attribution([1.0, 2.0, 0.5], 64)
    cuts = np.sort(np.random.default_rng(1).choice(np.arange(1, 3000), 12, replace=False))
    parts = [
        att.apply(scores[a:b], contributions[a:b])
        for a, b in zip([0, *cuts], [*cuts, 3000], strict=True)
    ]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12)
    np.testing.assert_allclose(whole.sum(1), scores, rtol=1e-12)


def test_attribution_names_the_channel_whose_own_error_rose():
    """A heavily weighted channel's normal error does not outvote a fault on another one."""
    rng = np.random.default_rng(2)
    errors = rng.exponential(1.0, (400, 2))
    errors[200:260, 1] *= 6.0  # channel 1's own error rises six-fold
    weights = np.array([10.0, 1.0])  # channel 0's errors count ten times in the score
    contributions = errors * weights
    shares = Attribution(weights, 32).apply(contributions.sum(1), contributions)
    assert (contributions[230:260].argmax(1) == 0).mean() > 0.4  # weighted: often channel 0
    assert (shares[230:260].argmax(1) == 1).all()  # attributed: channel 1, every row


def test_attribution_weighs_each_channel_by_its_deviation():
    """Equal errors: the channel far from its training mean takes the larger share."""
    values = np.zeros((100, 3))
    values[:, 0] = 10.0 + 2.0 * 3  # channel 0 three standard deviations above its mean
    values[:, 2] = 5.0 - 1.0 * 1  # channel 2 one below
    contributions = np.ones((100, 3))
    att = Attribution(None, 16, center=[10.0, 0.0, 5.0], scale=[2.0, 1.0, 1.0])
    shares = att.apply(contributions.sum(1), contributions, values)
    np.testing.assert_allclose(shares[-1], 3 * np.array([10.0, 1.0, 2.0]) / 13.0, rtol=1e-12)
    np.testing.assert_allclose(shares.sum(1), 3.0, rtol=1e-12)
    plain = Attribution(None, 16).apply(contributions.sum(1), contributions)
    np.testing.assert_allclose(plain, 1.0, rtol=1e-12)  # without a scaler: equal shares


def test_attribution_with_a_scaler_needs_the_rows_values():
    scores, contributions = _errors(100)
    att = Attribution(None, 16, center=np.zeros(3), scale=np.ones(3))
    with pytest.raises(ParameterError, match="give the rows' values"):
        att.apply(scores, contributions)
    with pytest.raises(ParameterError, match=r"values have shape \(100, 2\)"):
        att.apply(scores, contributions, np.zeros((100, 2)))
    with pytest.raises(ParameterError, match="both center and scale"):
        Attribution(None, 16, center=np.zeros(3))


@pytest.mark.parametrize("start", [0, 1, 63, 64, 500, 1234, 2999])
@pytest.mark.parametrize("drift", [None, 256, 1024])
@pytest.mark.parametrize("smoothing", [1, 8, 33])
def test_stream_tracker_continues_a_stream_exactly(start, drift, smoothing):
    scores, contributions = _errors()
    values = np.random.default_rng(4).normal(0.0, 2.0, contributions.shape)
    values[1200:1900, 1] = values[1199, 1]  # a stuck channel: the check carries across parts

    def tracker() -> StreamTracker:
        baseline = None if drift is None else DriftBaseline(0.1, drift)
        attribution = Attribution(None, 64, center=[0.0, 1.0, -1.0], scale=[1.0, 2.0, 0.5])
        stuck = StuckCheck([0.5, 0.5, 0.5], 16)
        return StreamTracker(baseline, attribution, smoothing, stuck=stuck, smoothing_fill=0.1)

    whole = tracker().apply(scores, contributions, values)
    part = tracker()
    first = part.warm_up_from(start)
    assert 0 <= first <= max(0, start - 63) and start - first <= part.context + 64
    if drift is not None:  # the smoother reads the raw scores the drift's first row needs
        assert first <= max(0, DriftBaseline(0.1, drift).warm_up_from(start) - (smoothing - 1))
    part.warm_up(scores[first:start], contributions[first:start], values[first:start])
    rest = part.apply(scores[start:], contributions[start:], values[start:])
    np.testing.assert_allclose(rest[0], whole[0][start:], rtol=1e-10)
    np.testing.assert_allclose(rest[1], whole[1][start:], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(rest[1].sum(1), rest[0], rtol=1e-12)


def test_stream_tracker_smooths_then_follows_the_drift_of_the_smoothed_scores():
    scores, contributions = _errors()
    smoothed = np.array([scores[max(0, i - 7) : i + 1].mean() for i in range(len(scores))])
    np.testing.assert_allclose(smooth_scores(scores, 8), smoothed, rtol=1e-12)
    got, shares = StreamTracker(DriftBaseline(0.1, 256), Attribution(None, 64), 8).apply(
        scores, contributions
    )
    np.testing.assert_allclose(got, DriftBaseline(0.1, 256).adjust(smoothed), rtol=1e-12)
    # the attribution splits the adjusted, smoothed score by the unsmoothed channel errors
    want = Attribution(None, 64).apply(got, contributions)
    np.testing.assert_allclose(shares, want, rtol=1e-12)
    np.testing.assert_allclose(shares.sum(1), got, rtol=1e-12)


def test_smoothing_of_1_passes_the_scores_bit_for_bit():
    scores, contributions = _errors()
    plain = StreamTracker(DriftBaseline(0.1, 256), Attribution(None, 64))
    one = StreamTracker(DriftBaseline(0.1, 256), Attribution(None, 64), smoothing=1)
    got, want = one.apply(scores, contributions), plain.apply(scores, contributions)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert np.array_equal(smooth_scores(scores, 1), scores)


def test_trailing_mean_in_random_parts_equals_one_pass():
    rows = np.random.default_rng(3).exponential(1.0, 1000)
    cuts = [1, 2, 3, 50, 51, 400, 999]
    mean = TrailingMean(33)
    parts = [mean.apply(rows[a:b]) for a, b in zip([0, *cuts], [*cuts, 1000], strict=True)]
    np.testing.assert_allclose(np.concatenate(parts), smooth_scores(rows, 33), rtol=1e-12)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8", None])
def test_smoothing_must_be_an_integer_of_at_least_1(bad):
    with pytest.raises(ParameterError, match="score_smoothing must be an integer >= 1"):
        StreamTracker(None, Attribution(None, 8), bad)
    with pytest.raises(ParameterError, match="score_smoothing"):
        Detector(score_smoothing=bad).fit(np.zeros((100, 2), np.float32))


def test_warm_up_refuses_rows_other_than_the_planned_ones():
    scores, contributions = _errors()
    tracker = StreamTracker(DriftBaseline(0.1, 256), Attribution(None, 64), 8)
    first = tracker.warm_up_from(1000)
    with pytest.raises(ParameterError, match=f"rows {first}..1000"):
        tracker.warm_up(scores[first + 1 : 1000], contributions[first + 1 : 1000])


def test_attribution_checks_its_window():
    with pytest.raises(ParameterError, match="attribution window"):
        Attribution(None, 0)


@pytest.mark.parametrize("window", [1, 2, 7, 300])
def test_trailing_mean_in_parts_equals_the_definition(window):
    """The mean of the last ``window`` rows (fewer at the start): bit for bit in one part, to
    rounding in any parts (each part's running sums start afresh)."""
    from seqae.scoring.baseline import TrailingMean

    rows = np.random.default_rng(window).exponential(size=(1000, 2))
    sums = np.concatenate([np.zeros((1, 2)), np.cumsum(rows, axis=0)])
    end = np.arange(1, 1001)
    first = np.maximum(end - window, 0)
    expected = (sums[end] - sums[first]) / (end - first)[:, None]
    np.testing.assert_array_equal(TrailingMean(window).apply(rows), expected)
    mean = TrailingMean(window)
    parts = np.split(rows, [1, 3, 3, 250, 600])
    got = np.concatenate([mean.apply(p) for p in parts])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)
