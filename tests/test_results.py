"""seqae.scoring.results: what detection returns (DetectionResult, ScoredPart) and the one table
of scored rows (score_frame)."""

from __future__ import annotations

import numpy as np

from seqae.scoring.results import DetectionResult, ScoredPart, score_frame


def _result(timestamps=None) -> DetectionResult:
    scores = np.array([0.2, 1.5, 2.5, 0.3, 0.1, 1.2])
    labels = (scores > 1).astype(np.int8)
    contributions = np.c_[scores * 0.25, scores * 0.75]
    return DetectionResult.build(
        scores, contributions, labels, channels=["a", "b"], threshold=4.0, timestamps=timestamps
    )


def test_build_describes_the_events_and_keeps_the_raw_scores():
    result = _result()
    np.testing.assert_allclose(result.raw_scores, result.scores * 4.0)
    assert result.n_anomalies == 3
    assert [(e.start, e.end, e.peak_index) for e in result.events] == [(1, 3, 2), (5, 6, 5)]
    assert result.events[0].top_channels[0][0] == "b"  # the larger share


def test_to_frame_has_time_score_label_and_the_blocks_asked_for():
    times = np.datetime64("2024-01-01") + np.arange(6).astype("timedelta64[h]")
    df = _result(times).to_frame()
    assert list(df.columns) == ["time", "score", "label", "contribution_a", "contribution_b"]
    np.testing.assert_allclose(df["contribution_a"] + df["contribution_b"], df["score"])
    assert list(_result().to_frame(contributions=False).columns) == ["score", "label"]


def test_score_frame_uses_the_index_without_times_and_adds_reconstruction():
    df = score_frame(
        np.array([0.5, 2.0]),
        np.array([0, 1]),
        ["x"],
        index=np.array([10, 11]),
        reconstruction=np.array([[1.0], [2.0]]),
    )
    assert list(df.columns) == ["index", "score", "label", "reconstruction_x"]
    assert df["index"].tolist() == [10, 11] and df["reconstruction_x"].tolist() == [1.0, 2.0]


def test_a_scored_part_knows_where_it_ends():
    part = ScoredPart(start=100, scores=np.zeros(7), contributions=np.zeros((7, 2)))
    assert len(part) == 7 and part.stop == 107
