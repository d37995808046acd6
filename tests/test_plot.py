"""seqae.scoring.plot: a scored stream drawn (channels, score under the alarm line, events
shaded, known anomalies marked), long data as per-bucket bands."""

from __future__ import annotations

import numpy as np
import pytest
from seqae.datasets import make_sensor_stream

from seqae.scoring.results import DetectionResult

pytest.importorskip("matplotlib")
from seqae.scoring.plot import plot_detection


def _scored(n: int, channels: int = 3):
    stream = make_sensor_stream(n_timesteps=n, n_channels=channels, random_state=0)
    scores = np.abs(stream.values).mean(axis=1)
    scores = scores / np.quantile(scores, 0.95)
    labels = (scores > 1).astype(np.int8)
    contributions = np.abs(stream.values) / np.abs(stream.values).sum(1, keepdims=True)
    result = DetectionResult.build(
        scores, contributions * scores[:, None], labels, channels=stream.channels, threshold=1.0
    )
    return stream, result


def test_one_axis_per_channel_and_one_for_the_score_with_the_alarm_line():
    stream, result = _scored(400)
    fig = plot_detection(stream, result, title="pump", max_channels=2)
    axes = fig.get_axes()
    assert len(axes) == 3  # two channels of three, and the score
    assert [ax.get_ylabel() for ax in axes] == [*stream.channels[:2], "score"]
    assert f"{result.n_anomalies:,} anomalous rows in {len(result.events)} events" in (
        axes[0].get_title()
    )
    score_lines = axes[-1].get_lines()
    assert any(np.allclose(line.get_ydata(), 1.0) for line in score_lines)  # the alarm line
    assert len(axes[0].patches) >= len(result.events) > 0  # each event shaded


def test_long_data_is_drawn_with_at_most_max_points_per_line():
    stream, result = _scored(20_000, channels=1)
    fig = plot_detection(stream, result, max_points=500)
    score_ax = fig.get_axes()[-1]
    drawn = max(len(line.get_xdata()) for line in score_ax.get_lines())
    assert drawn <= 500  # the score: its per-bucket maxima
    assert np.max(score_ax.get_lines()[0].get_ydata()) == pytest.approx(result.scores.max())
