"""A scored stream drawn: the channels with the alarms shaded, the score under its alarm line,
known anomalies marked under it. Needs matplotlib (``pip install 'seqae[plot]'``); long data is
drawn as per-bucket min-max bands so that spikes stay visible.

Examples
--------
>>> import os, tempfile
>>> from seqae import Detector
>>> from seqae.datasets import make_sensor_stream, read_sensors
>>> path = os.path.join(tempfile.mkdtemp(), "s.csv")
>>> _ = make_sensor_stream(n_timesteps=600, n_channels=2, random_state=0).to_csv(path)
>>> stream = read_sensors(path, label_columns="anomaly")
>>> result = Detector(model="pca", frame=16, random_state=0).fit(stream).detect(stream)
>>> fig = plot_detection(stream, result, truth_name="anomaly", title="demo")
>>> len(fig.axes)  # two channels and the score
3
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SeqaeError

__all__ = ["plot_detection"]

SHADE = {"color": "tab:red", "alpha": 0.2, "linewidth": 0}


def plot_detection(
    stream: Any,
    result: Any,
    *,
    truth_name: str | None = None,
    title: str = "",
    max_channels: int = 8,
    max_points: int = 5000,
) -> Any:
    """A matplotlib Figure of ``stream`` (SensorData) and its ``result`` (DetectionResult).

    ``truth_name`` names a label column of ``stream`` to mark; the first ``max_channels``
    channels are drawn, each line with at most ``max_points`` points.
    """
    try:
        from matplotlib.figure import Figure  # no pyplot: no GUI backend, nothing to close
    except ImportError:
        raise SeqaeError(
            "plotting needs matplotlib: pip install matplotlib (or pip install 'seqae[plot]')"
        ) from None
    truth = stream.labels[truth_name] if truth_name else None
    channels = list(result.channels)[:max_channels]
    index = [stream.channels.index(name) for name in channels]
    n = len(result.scores)
    x = np.asarray(stream.timestamps) if stream.timestamps is not None else np.arange(n)
    fig = Figure(figsize=(12, 1.3 * len(channels) + 2.4))
    axes = fig.subplots(
        len(channels) + 1,
        1,
        sharex=True,
        gridspec_kw={"height_ratios": [1] * len(channels) + [1.6]},
        squeeze=False,
    )
    axes = axes[:, 0]
    bucket = max(1, -(-n // max_points))
    for ax, name, col in zip(axes, channels, index, strict=False):
        _draw(ax, x, stream.values[:, col], bucket, color="tab:gray")
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
    score_ax = axes[-1]
    _draw(score_ax, x, result.scores, bucket, color="black", envelope=False)
    score_ax.axhline(1.0, color="tab:red", linestyle="--", linewidth=1, label="alarm line")
    score_ax.set_ylabel("score", rotation=0, ha="right", va="center", fontsize=8)
    score_ax.tick_params(labelsize=7)
    for event in result.events:
        for ax in axes:
            ax.axvspan(x[event.start], x[min(event.end, n - 1)], **SHADE)
            if event.duration * 400 < n:  # too narrow to see as a span
                ax.axvline(x[event.start], color=SHADE["color"], linewidth=0.8, alpha=0.6)
    if truth is not None:
        top = score_ax.get_xaxis_transform()
        score_ax.fill_between(
            x, 0, 0.06, where=truth.astype(bool), transform=top, color="tab:blue", linewidth=0,
            label=f"labelled ({truth_name})",
        )  # fmt: skip
    score_ax.legend(loc="upper left", fontsize=7, frameon=False)
    axes[0].set_title(
        f"{title}: {result.n_anomalies:,} anomalous rows in {len(result.events)} events (shaded)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _draw(ax: Any, x: np.ndarray, y: np.ndarray, bucket: int, color: str, envelope: bool = True):
    """A line, or for long data per-bucket min-max bands (``envelope``) or maxima."""
    if bucket == 1:
        ax.plot(x, y, color=color, linewidth=0.7)
        return
    n = len(y) // bucket * bucket
    groups = y[:n].reshape(-1, bucket)
    xs = x[:n:bucket]
    if envelope:
        ax.fill_between(xs, groups.min(axis=1), groups.max(axis=1), color=color, linewidth=0)
    else:
        ax.plot(xs, groups.max(axis=1), color=color, linewidth=0.7)
