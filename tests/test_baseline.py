"""The drift-aware alarm line: seqae.baseline and how the detectors use it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqae import Detector
from seqae.baseline import N_BLOCKS, DriftBaseline, apply_baseline
from seqae.errors import ParameterError
from seqae.streaming import ChunkedScorer


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
    kwargs = {"model": "conv1d", "frame": 32, "epochs": 3, "random_state": 0}
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
    from seqae.runtime import OnnxDetector

    det.export_onnx(tmp_path / "model.onnx")
    onnx = OnnxDetector(tmp_path / "model.onnx")
    assert np.allclose(onnx.score_samples(drifting), det.score_samples(drifting), rtol=1e-4)
