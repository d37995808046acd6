"""A seeded multi-sensor stream with labelled anomalies of several kinds.

Each channel mixes a few shared latent sources (so channels are correlated), a channel's own
periodic pattern, a slow trend and noise. Anomalies are injected at non-overlapping places after
the first 10 % of the stream, so the start can serve as normal training data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqae.errors import ParameterError

__all__ = ["KINDS", "InjectedAnomaly", "SyntheticStream", "make_sensor_stream"]

KINDS = ("spike", "level_shift", "drift", "frequency", "stuck", "correlation_break")


@dataclass(frozen=True)
class InjectedAnomaly:
    """One injected anomaly: its kind, span ``[start, end)`` and the channels it touches."""

    kind: str
    start: int
    end: int
    channels: tuple[int, ...]


@dataclass
class SyntheticStream:
    """A generated stream: values ``(T, C)`` float32, labels ``(T,)`` int8 and what was injected.

    Examples
    --------
    >>> s = make_sensor_stream(n_timesteps=1000, n_channels=3, random_state=0)
    >>> s.values.shape, s.labels.shape, s.channels
    ((1000, 3), (1000,), ['sensor_0', 'sensor_1', 'sensor_2'])
    """

    values: np.ndarray
    labels: np.ndarray
    channels: list[str]
    timestamps: object  # pandas.DatetimeIndex
    anomalies: list[InjectedAnomaly] = field(default_factory=list)

    def to_frame(self):  # -> pandas.DataFrame
        """A DataFrame with a ``timestamp`` column, the channels and an ``anomaly`` label column."""
        import pandas as pd

        frame = pd.DataFrame(self.values, columns=self.channels)
        frame.insert(0, "timestamp", self.timestamps)
        frame["anomaly"] = self.labels
        return frame

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_csv` atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            self.to_frame().to_csv(tmp, index=False, float_format="%.6g")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def make_sensor_stream(
    n_timesteps: int = 10_000,
    n_channels: int = 8,
    *,
    anomalies: Sequence[str] = KINDS,
    n_anomalies: int | None = None,
    anomaly_length: tuple[int, int] = (20, 200),
    noise: float = 0.1,
    random_state: int | None = None,
    start: str = "2024-01-01",
    freq: str = "1s",
) -> SyntheticStream:
    """Generate a correlated multi-channel stream with labelled anomalies.

    Parameters
    ----------
    n_timesteps, n_channels : int
        Size of the stream.
    anomalies : sequence of str
        Kinds to inject, cycled: ``spike``, ``level_shift``, ``drift``, ``frequency``,
        ``stuck``, ``correlation_break``. Empty for an anomaly-free stream.
    n_anomalies : int, optional
        How many to inject (default: about one per 1,500 timesteps, at least one per kind).
    anomaly_length : (int, int)
        Range of anomaly lengths in timesteps (a spike is always 1-3 timesteps).
    noise : float
        Standard deviation of the additive noise.
    random_state : int, optional
        Seed; the same seed gives the same stream.
    """
    import pandas as pd

    unknown = sorted(set(anomalies) - set(KINDS))
    if unknown:
        raise ParameterError(f"unknown anomaly kind(s) {unknown}; choose from {list(KINDS)}")
    if n_timesteps < 100 or n_channels < 1:
        raise ParameterError(
            f"need n_timesteps >= 100 and n_channels >= 1, got {n_timesteps}, {n_channels}"
        )
    lo_len, hi_len = anomaly_length
    if not 1 <= lo_len <= hi_len:
        raise ParameterError(
            f"anomaly_length must be (min, max) with 1 <= min <= max, got {anomaly_length}"
        )
    rng = np.random.default_rng(random_state)
    t = np.arange(n_timesteps, dtype=np.float64)

    n_sources = min(3, n_channels)
    periods = rng.uniform(40, 400, size=n_sources)
    sources = np.stack([np.sin(2 * np.pi * t / p + rng.uniform(0, 2 * np.pi)) for p in periods], 1)
    mixing = rng.normal(size=(n_sources, n_channels))
    own_period = rng.uniform(20, 120, size=n_channels)
    own_phase = rng.uniform(0, 2 * np.pi, size=n_channels)
    own = 0.3 * np.sin(2 * np.pi * t[:, None] / own_period + own_phase)
    trend = np.outer(t / n_timesteps, rng.normal(0, 0.1, size=n_channels))
    clean = sources @ mixing + own + trend
    values = clean + rng.normal(0, noise, size=clean.shape)
    labels = np.zeros(n_timesteps, dtype=np.int8)
    injected: list[InjectedAnomaly] = []

    kinds = list(anomalies)
    if kinds:
        count = n_anomalies if n_anomalies is not None else max(len(kinds), n_timesteps // 1500)
        begin = n_timesteps // 10
        slot = (n_timesteps - begin) // max(count, 1)
        if slot < hi_len + 2:
            raise ParameterError(
                f"{count} anomalies of up to {hi_len} timesteps do not fit in {n_timesteps} "
                "timesteps: ask for fewer or shorter anomalies"
            )
        for i in range(count):
            kind = kinds[i % len(kinds)]
            length = (
                int(rng.integers(1, 4))
                if kind == "spike"
                else int(rng.integers(lo_len, hi_len + 1))
            )
            a = begin + i * slot + int(rng.integers(0, slot - length))
            b = a + length
            width = 2 if kind == "correlation_break" and n_channels >= 2 else 1
            chans = tuple(int(c) for c in rng.choice(n_channels, size=width, replace=False))
            _inject(kind, values, clean, a, b, chans, rng, t)
            labels[a:b] = 1
            injected.append(InjectedAnomaly(kind, a, b, chans))

    timestamps = pd.date_range(start=start, periods=n_timesteps, freq=freq)
    return SyntheticStream(
        values=np.ascontiguousarray(values, dtype=np.float32),
        labels=labels,
        channels=[f"sensor_{i}" for i in range(n_channels)],
        timestamps=timestamps,
        anomalies=injected,
    )


def _inject(
    kind: str,
    values: np.ndarray,
    clean: np.ndarray,
    a: int,
    b: int,
    chans: tuple[int, ...],
    rng: np.random.Generator,
    t: np.ndarray,
) -> None:
    spread = clean.std(axis=0)
    for c in chans:
        amp = max(spread[c], 0.5)
        if kind == "spike":
            values[a:b, c] += rng.choice([-1, 1]) * rng.uniform(4, 6) * amp
        elif kind == "level_shift":
            values[a:b, c] += rng.choice([-1, 1]) * rng.uniform(1.5, 2.5) * amp
        elif kind == "drift":
            values[a:b, c] += np.linspace(0, rng.choice([-1, 1]) * 2.5 * amp, b - a)
        elif kind == "frequency":
            # the channel's pattern oscillates several times faster than normal
            values[a:b, c] += amp * np.sin(2 * np.pi * t[a:b] / rng.uniform(4, 8))
        elif kind == "stuck":
            values[a:b, c] = values[a, c]
        elif kind == "correlation_break":
            # replace the channel by an unrelated signal with the same level and spread
            mean, std = values[a:b, c].mean(), max(values[a:b, c].std(), 0.5 * amp)
            values[a:b, c] = mean + std * np.sin(2 * np.pi * t[a:b] / rng.uniform(30, 90) + 1.0)
