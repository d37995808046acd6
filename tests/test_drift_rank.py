"""``drift_rank_power``: under the alarm line a score keeps only part of the drift adjustment."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_parts_match, load_without
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import ParameterError
from seqae.scoring.baseline import UNDER_LINE_KNEE, DriftBaseline

# one thread: the tests compare seeded fits, bit-identical only at a fixed thread count
FAST = {"model": "dense", "frame": 16, "epochs": 1, "random_state": 0, "n_threads": 1}


def _drifting_with_a_fault() -> np.ndarray:
    """Normalised scores (line 1.0): a slow drift of the level, then a lasting fault."""
    rng = np.random.default_rng(0)
    scores = rng.exponential(0.15, 8000) * np.linspace(1, 4, 8000)
    scores[5000:6500] *= 8  # lasting: the level catches up with it
    return scores


@pytest.fixture(scope="module")
def shifted():
    """Training rows, and test rows in which channel 1 shifts by 4 spreads for 1,200 rows."""
    stream = make_sensor_stream(n_timesteps=3200, n_channels=3, random_state=4).values
    train, test = stream[:1500], stream[1500:].copy()
    test[300:1500, 1] += 4 * stream[:1500, 1].std()
    return train, test


def test_rank_power_one_is_the_whole_adjustment():
    scores = _drifting_with_a_fault()
    want = scores * DriftBaseline(0.15, 256).factors(scores)
    assert np.array_equal(DriftBaseline(0.15, 256).adjust(scores), want)
    assert np.array_equal(DriftBaseline(0.15, 256, 1.0).adjust(scores), want)


@pytest.mark.parametrize("power", [0.5, 0.0])
def test_the_same_rows_cross_the_line_and_those_under_it_keep_more(power):
    scores = _drifting_with_a_fault()
    factors = DriftBaseline(0.15, 256).factors(scores)
    whole = scores * factors
    part = DriftBaseline(0.15, 256, power).adjust(scores)
    over = whole >= 1.0
    assert 0 < over.sum() < len(scores)
    assert np.array_equal(part >= 1.0, over)  # the alarms do not depend on the power
    assert np.array_equal(part[over], whole[over])
    assert (part[~over] < 1.0).all() and (part[~over] >= whole[~over]).all()
    kept = scores * factors**power
    low = ~over & (kept < UNDER_LINE_KNEE)
    np.testing.assert_allclose(part[low], kept[low])  # below the knee: exactly the kept part
    # the fault, once the level has caught up, ranks above the normal rows before it:
    # the share of (fault row, normal row) pairs in that order, 0.5 for no better than chance
    late, normal = slice(6000, 6500), slice(3000, 5000)
    assert (whole[late] < 1).mean() > 0.9  # taken for the new normal by the whole adjustment

    def ahead(x):
        return (x[late][:, None] > x[normal][None, :]).mean()

    assert ahead(whole) < 0.55 and ahead(part) > 0.7


def test_the_kept_part_in_parts_equals_one_pass():
    scores = _drifting_with_a_fault()
    whole = DriftBaseline(0.15, 256, 0.5).adjust(scores)
    part = DriftBaseline(0.15, 256, 0.5)
    first = part.warm_up_from(5600)
    part.factors(scores[first:5600])
    assert np.array_equal(part.adjust(scores[5600:]), whole[5600:])


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "half", float("nan")])
def test_bad_rank_power_is_a_parameter_error(bad, shifted):
    with pytest.raises(ParameterError, match=r"drift rank power must be a number in \[0, 1\]"):
        DriftBaseline(0.1, 64, bad)
    with pytest.raises(ParameterError, match=r"drift_rank_power must be a number in \[0, 1\]"):
        Detector(**FAST, drift_rank_power=bad).fit(shifted[0])


def test_the_detector_alarms_alike_and_ranks_the_lasting_fault_higher(shifted):
    train, test = shifted
    whole = Detector(**FAST, drift_rank_power=1.0).fit(train)
    part = Detector(**FAST).fit(train)  # the default: 0.5
    assert part.drift_rank_power == 0.5
    assert part.threshold_ == whole.threshold_  # the fit does not read it
    a, b = whole.detect(test), part.detect(test)
    assert np.array_equal(a.labels, b.labels)
    assert [(e.start, e.end) for e in a.events] == [(e.start, e.end) for e in b.events]
    assert (b.scores[b.labels == 0] < 1.0).all()
    np.testing.assert_allclose(b.contributions.sum(1), b.scores, rtol=1e-9)
    late = slice(1000, 1500)  # the shift's last rows: the drift level has caught up
    assert b.scores[late].mean() > a.scores[late].mean()
    assert np.array_equal(a.scores[:300], b.scores[:300])  # no drift yet: the same scores


def test_saved_exported_and_streamed_with_the_rank_power(shifted, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqae.files.runtime import OnnxDetector

    train, test = shifted
    det = Detector(**FAST, drift_rank_power=0.5).fit(train)
    want = det.detect(test)
    det.save(tmp_path / "m")
    loaded = Detector.load(tmp_path / "m")
    assert loaded.drift_rank_power == 0.5 and loaded.state_.drift_rank_power == 0.5
    np.testing.assert_allclose(loaded.score_samples(test), want.scores, rtol=1e-6)
    onnx = OnnxDetector(det.export_onnx(tmp_path / "m.onnx"))
    assert onnx.state_.drift_rank_power == 0.5
    np.testing.assert_allclose(onnx.detect(test).scores, want.scores, rtol=1e-5, atol=1e-5)
    assert_parts_match(det, test, want, [0, 700, 701, 1300, len(test)], rtol=1e-6, atol=1e-7)


def test_files_without_the_rank_power_keep_the_whole_adjustment(shifted, tmp_path):
    train, test = shifted
    det = Detector(**FAST, drift_rank_power=1.0).fit(train)
    det.save(tmp_path / "m")
    loaded = load_without(tmp_path / "m", "drift_rank_power")
    assert loaded.drift_rank_power == 1.0
    np.testing.assert_array_equal(loaded.score_samples(test), det.score_samples(test))


def test_calibrate_places_the_line_on_what_the_alarms_compare(shifted):
    train, test = shifted
    labels = np.zeros(len(test), dtype=int)
    labels[300:1500] = 1  # the lasting shift
    lines = []
    for power, rank in ((1.0, 1), (0.5, 1), (0.5, 32)):
        det = Detector(**FAST, drift_rank_power=power, rank_smoothing=rank).fit(train)
        det.calibrate(test, labels)
        assert (det.drift_rank_power, det.rank_smoothing) == (power, rank)  # left as they were
        lines.append(det.threshold_)
    assert lines[0] == lines[1] == lines[2]
