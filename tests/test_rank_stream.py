"""``rank_smoothing``: the rows under the alarm line ranked by a centred mean of the scores."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_parts_match, load_without
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import ModelFormatError, ParameterError
from seqae.scoring.baseline import CentredMean, StreamTracker, centred_mean, lift_under_line
from seqae.scoring.thresholds import describe_detector_line

# one thread: the tests compare seeded fits, bit-identical only at a fixed thread count
FAST = {"model": "dense", "frame": 16, "epochs": 1, "random_state": 0, "n_threads": 1}


@pytest.fixture(scope="module")
def faulty():
    """Training rows, and test rows with a lasting shift in channel 1 and a spike in 2."""
    stream = make_sensor_stream(n_timesteps=3200, n_channels=3, random_state=4).values
    train, test = stream[:1500], stream[1500:].copy()
    test[300:900, 1] += 2 * stream[:1500, 1].std()
    test[1300:1303, 2] += 6 * stream[:1500, 2].std()
    return train, test


@pytest.fixture(scope="module")
def pair(faulty):
    """One fit with the ranking stream and the same detector without it."""
    train, _ = faulty
    ranked = Detector(**FAST, rank_smoothing=16).fit(train)
    plain = Detector(**FAST, rank_smoothing=16).fit(train)
    plain.rank_smoothing = 1  # the same network and alarm line, no ranking stream
    return ranked, plain


def test_lift_keeps_the_alarms_and_only_raises_the_scores_under_the_line():
    rng = np.random.default_rng(0)
    scores = rng.exponential(0.4, 5000)
    rank = rng.exponential(0.5, 5000)
    factors = rng.uniform(0.2, 1.0, 5000)
    for f, power in ((None, 1.0), (factors, 0.5), (factors, 0.0)):
        lifted = lift_under_line(scores, rank, f, power)
        over = scores >= 1.0
        assert 0 < over.sum() < len(scores)
        assert np.array_equal(lifted[over], scores[over])
        assert (lifted[~over] < 1.0).all() and (lifted >= scores).all()
    low = (scores < 1) & (rank < 0.5)
    np.testing.assert_array_equal(lift_under_line(scores, rank)[low], np.maximum(scores, rank)[low])
    # the whole drift discount is the floor: a rank that the line does not move keeps it
    np.testing.assert_array_equal(
        lift_under_line(scores, rank, np.ones(5000), 0.5), lift_under_line(scores, rank)
    )


def test_a_tracker_with_a_ranking_stream_needs_its_scores():
    with pytest.raises(ParameterError, match="give the rank scores"):
        StreamTracker(None, None, rank_gain=1.0).apply(np.zeros(10), None)


def test_the_same_alarms_and_a_better_ranking(pair, faulty):
    ranked, plain = pair
    _, test = faulty
    assert ranked.rank_smoothing_ == 16 and plain.rank_smoothing_ == 1
    assert ranked.rank_gain_ > 0 and np.isfinite(ranked.rank_gain_)
    a, b = plain.detect(test), ranked.detect(test)
    assert np.array_equal(a.labels, b.labels)
    assert [(e.start, e.end) for e in a.events] == [(e.start, e.end) for e in b.events]
    over = a.scores >= 1.0
    assert np.array_equal(b.scores[over], a.scores[over])
    assert (b.scores >= a.scores).all() and (b.scores[~over] < 1.0).all()
    assert (b.scores > a.scores).mean() > 0.2  # it does move the rows under the line
    np.testing.assert_allclose(b.contributions.sum(1), b.scores, rtol=1e-9)
    # the centred mean does not lag: the shift's first rows rank higher than the trailing mean's
    assert b.scores[300:316].mean() > a.scores[300:316].mean()


def test_fit_detect_equals_fit_then_detect(faulty):
    train, _ = faulty
    det = Detector(**FAST, rank_smoothing=16)
    got = det.fit_detect(train)
    np.testing.assert_allclose(got.scores, det.score_samples(train), rtol=1e-6, atol=1e-7)


def test_saved_exported_and_streamed_with_the_ranking_stream(pair, faulty, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqae.files.runtime import OnnxDetector

    det, _ = pair
    _, test = faulty
    want = det.detect(test)
    det.save(tmp_path / "m")
    loaded = Detector.load(tmp_path / "m")
    assert loaded.rank_smoothing == 16 and loaded.rank_gain_ == det.rank_gain_
    np.testing.assert_allclose(loaded.score_samples(test), want.scores, rtol=1e-6)
    onnx = OnnxDetector(det.export_onnx(tmp_path / "m.onnx"))
    assert onnx.state_.rank_smoothing == 16 and onnx.state_.rank_gain == det.rank_gain_
    np.testing.assert_allclose(onnx.detect(test).scores, want.scores, rtol=1e-5, atol=1e-5)
    # parts cut inside the shift and near the spike, where the centred mean reads both sides
    assert_parts_match(det, test, want, [0, 310, 311, 1295, 1310, len(test)], rtol=1e-6, atol=1e-7)


def test_files_without_the_ranking_stream_score_as_before(pair, faulty, tmp_path):
    _, plain = pair
    _, test = faulty
    plain.save(tmp_path / "m")
    config = (tmp_path / "m" / "config.json").read_text()
    assert '"rank_gain"' in config
    loaded = load_without(tmp_path / "m", "rank_smoothing")
    assert loaded.rank_smoothing == 1
    np.testing.assert_array_equal(loaded.score_samples(test), plain.score_samples(test))


def test_auto_ranks_several_channels_only(faulty):
    train, _ = faulty
    several = Detector(**FAST, rank_smoothing="auto").fit(train)
    one = Detector(**FAST, rank_smoothing="auto").fit(train[:, :1])
    assert several.rank_smoothing_ == 32 and one.rank_smoothing_ == 1
    assert "rows under the line ranked by a centred mean of 63 rows" in describe_detector_line(
        several
    )
    assert "auto: data of several channels" in describe_detector_line(several)
    assert several.state_.params["rank_smoothing"] == "auto"


@pytest.mark.parametrize("bad", [0, 1.5, True, "often"])
def test_bad_rank_smoothing_is_a_parameter_error(bad, faulty):
    with pytest.raises(ParameterError, match="rank_smoothing must be an integer >= 1 or 'auto'"):
        Detector(**FAST, rank_smoothing=bad).fit(faulty[0])


def test_a_bad_rank_gain_in_a_file_is_a_model_error(pair, tmp_path):
    import json

    det, _ = pair
    det.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["rank_gain"] = -1.0
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="rank_gain"):
        Detector.load(tmp_path / "m")


@pytest.mark.parametrize("width", [1, 2, 32])
@pytest.mark.parametrize("part", [1, 5, 31, 400])
def test_centred_mean_in_parts_equals_one_pass(width, part):
    scores = np.random.default_rng(width + part).exponential(1.0, 300)
    stream = CentredMean(width)
    parts = [stream.push(scores[i : i + part]) for i in range(0, len(scores), part)]
    got = np.concatenate([*parts, stream.finish()])
    np.testing.assert_allclose(got, centred_mean(scores, width), rtol=1e-12)
    if width > 1 and part < len(scores):  # a mean waits for the rows it reads ahead
        assert len(parts[0]) == max(0, part - (width - 1))
