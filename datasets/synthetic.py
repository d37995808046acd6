"""A seeded multi-sensor stream with labelled anomalies of several kinds.

Each channel mixes a few shared latent sources (so channels are correlated), adds its own
periodic component, a slow trend and Gaussian noise, then gets its own scale and offset.
Anomalies are injected at non-overlapping random places after the first 10 % of the stream,
so the start can serve as normal training data.

The normal signal and the anomalies draw from two independent random streams: for one seed,
the values outside the anomalies (and of the channels an anomaly leaves alone) are the same
whatever anomalies are asked for.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqae.errors import ParameterError
from seqae.files.atomic import atomic_path

__all__ = ["ANOMALY_KINDS", "InjectedAnomaly", "SyntheticStream", "make_sensor_stream"]

ANOMALY_KINDS = ("spike", "level_shift", "drift", "frequency", "stuck", "correlation_break")
_TRAIN_FRACTION = 0.1  # no anomaly starts in the first 10 % of the stream
_SPIKE_LENGTH = (1, 3)  # spikes are short whatever anomaly_length says
_TWO_PI = 2 * np.pi


@dataclass(frozen=True)
class InjectedAnomaly:
    """One injected anomaly: timesteps ``start`` to ``end`` (exclusive) of ``channels``."""

    kind: str
    start: int
    end: int
    channels: tuple[str, ...]


@dataclass(frozen=True)
class SyntheticStream:
    """A generated stream with its labels and the record of every injected anomaly.

    Attributes
    ----------
    values : numpy.ndarray
        float32 ``(T, C)``.
    labels : numpy.ndarray
        int8 ``(T,)``: 1 inside an injected anomaly.
    channels : list of str
        ``["sensor_0", "sensor_1", ...]``.
    timestamps : pandas.DatetimeIndex
        Regular time stamps from ``start`` every ``freq``.
    anomalies : list of InjectedAnomaly
        In time order.

    Examples
    --------
    >>> stream = make_sensor_stream(n_timesteps=1000, n_channels=3, random_state=0)
    >>> stream.values.shape, stream.channels
    ((1000, 3), ['sensor_0', 'sensor_1', 'sensor_2'])
    >>> a = stream.anomalies[0]
    >>> bool(stream.labels[a.start:a.end].all())
    True
    >>> list(stream.to_frame().columns)
    ['timestamp', 'sensor_0', 'sensor_1', 'sensor_2', 'anomaly']
    """

    values: np.ndarray
    labels: np.ndarray
    channels: list[str]
    timestamps: pd.DatetimeIndex
    anomalies: list[InjectedAnomaly]

    def to_frame(self) -> pd.DataFrame:
        """The stream as a DataFrame: ``timestamp``, one column per channel, ``anomaly``."""
        frame = pd.DataFrame(self.values, columns=self.channels)
        frame.insert(0, "timestamp", self.timestamps)
        frame["anomaly"] = self.labels
        return frame

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_frame` as CSV, atomically (a temporary file, then a rename).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        path = Path(path)
        with atomic_path(path) as tmp:
            self.to_frame().to_csv(tmp, index=False)
        return path


class _Signal:
    """The normal signal as a function of (possibly fractional) time, channel by channel."""

    def __init__(self, rng: np.random.Generator, n_timesteps: int, n_channels: int) -> None:
        n_sources = max(1, min(3, n_channels - 1))
        # each latent source and each channel's own part: sinusoids of channel-specific period
        self.src_period = rng.uniform(30, 300, size=(n_sources, 2))
        self.src_phase = rng.uniform(0, _TWO_PI, size=(n_sources, 2))
        self.src_amp = rng.uniform(0.5, 1.0, size=(n_sources, 2))
        mixing = rng.normal(size=(n_channels, n_sources))
        self.mixing = mixing / np.linalg.norm(mixing, axis=1, keepdims=True)
        self.own_period = rng.uniform(20, 200, size=n_channels)
        self.own_phase = rng.uniform(0, _TWO_PI, size=n_channels)
        self.trend_period = n_timesteps * rng.uniform(1, 3, size=n_channels)
        self.trend_phase = rng.uniform(0, _TWO_PI, size=n_channels)
        self.scale = np.exp(rng.uniform(np.log(0.5), np.log(2.0), size=n_channels))
        self.offset = rng.normal(0, 2, size=n_channels)

    def shared(self, t: np.ndarray, c: int) -> np.ndarray:
        """Channel ``c``'s part of the latent sources at times ``t``."""
        waves = self.src_amp[..., None] * np.sin(
            _TWO_PI * t / self.src_period[..., None] + self.src_phase[..., None]
        )
        return self.mixing[c] @ waves.sum(axis=1)

    def own(self, t: np.ndarray, c: int) -> np.ndarray:
        return 0.3 * np.sin(_TWO_PI * t / self.own_period[c] + self.own_phase[c])

    def trend(self, t: np.ndarray, c: int) -> np.ndarray:
        return 0.5 * np.sin(_TWO_PI * t / self.trend_period[c] + self.trend_phase[c])

    def channel(self, t: np.ndarray, c: int, *, warp: float = 1.0, flip: bool = False):
        """Channel ``c`` without noise; ``warp`` speeds up the periodic parts from ``t[0]``,
        ``flip`` negates the shared part (the channel stops following the others)."""
        tw = t[0] + warp * (t - t[0])
        shared = -self.shared(tw, c) if flip else self.shared(tw, c)
        return self.offset[c] + self.scale[c] * (shared + self.own(tw, c) + self.trend(t, c))


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_kinds(anomalies: str | Sequence[str], n_channels: int) -> list[str]:
    kinds = [anomalies] if isinstance(anomalies, str) else list(anomalies)
    unknown = [k for k in kinds if k not in ANOMALY_KINDS]
    if unknown:
        raise ParameterError(
            f"unknown anomaly kind(s) {unknown}; choose among {', '.join(ANOMALY_KINDS)}"
        )
    if n_channels == 1 and "correlation_break" in kinds:
        kept = [k for k in kinds if k != "correlation_break"]
        if not kept:
            raise ParameterError("a correlation_break needs n_channels >= 2")
        return kept
    return kinds


def _check_length(anomaly_length: int | tuple[int, int]) -> tuple[int, int]:
    pair = (
        (anomaly_length, anomaly_length)
        if isinstance(anomaly_length, (int, np.integer))
        else tuple(anomaly_length)
    )
    if (
        len(pair) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)
        or not 1 <= pair[0] <= pair[1]
    ):
        raise ParameterError(
            f"anomaly_length must be an integer or a pair (low, high) with 1 <= low <= high, "
            f"got {anomaly_length!r}"
        )
    return int(pair[0]), int(pair[1])


def _place(
    rng: np.random.Generator,
    kinds: list[str],
    lengths: np.ndarray,
    first: int,
    n_timesteps: int,
    gap: int,
) -> np.ndarray:
    """Random non-overlapping starts, ``gap`` apart at least, in ``[first, n_timesteps)``."""
    free = n_timesteps - first - int(lengths.sum()) - gap * (len(kinds) - 1)
    spare = np.sort(rng.integers(0, free + 1, size=len(kinds)))  # spare room used so far
    before = np.concatenate([[0], np.cumsum(lengths[:-1] + gap)])
    return first + spare + before


def make_sensor_stream(
    n_timesteps: int = 10_000,
    n_channels: int = 8,
    *,
    anomalies: str | Sequence[str] = ANOMALY_KINDS,
    n_anomalies: int | None = None,
    anomaly_length: int | tuple[int, int] = (20, 200),
    noise: float = 0.1,
    random_state: int | np.random.Generator | None = None,
    start: str | pd.Timestamp = "2024-01-01",
    freq: str | pd.Timedelta = "1s",
) -> SyntheticStream:
    """Generate a correlated multi-sensor stream with labelled anomalies.

    Parameters
    ----------
    n_timesteps : int, default 10000
        Length T (at least 10).
    n_channels : int, default 8
        Number of channels C.
    anomalies : sequence of str
        Kinds to inject, cycled over the anomalies: ``"spike"`` (1-3 timesteps of 6-10
        standard deviations, whatever ``anomaly_length`` says), ``"level_shift"`` (the mean
        moves by 2-4 std), ``"drift"`` (a ramp to 3-5 std), ``"frequency"`` (the periodic
        parts run 3-5 times faster), ``"stuck"`` (the channel repeats its last value),
        ``"correlation_break"`` (the channel's shared part flips sign, so it stops following
        the others; skipped for a single channel). ``()`` gives a normal stream.
    n_anomalies : int, optional
        How many to inject. Default: one of each kind, fewer if they do not fit.
    anomaly_length : int or (int, int), default (20, 200)
        Length range in timesteps (spikes excepted).
    noise : float, default 0.1
        Noise standard deviation relative to each channel's scale.
    random_state : int, numpy.random.Generator or None
        Seed; the same seed gives the same stream.
    start, freq
        First time stamp and sampling interval of ``timestamps``.

    Returns
    -------
    SyntheticStream

    Raises
    ------
    ParameterError
        A bad parameter, or ``n_anomalies`` anomalies that cannot fit after the first 10 %.

    Examples
    --------
    >>> stream = make_sensor_stream(2000, 4, anomalies=("stuck",), random_state=1)
    >>> [a.kind for a in stream.anomalies], stream.values.dtype.name
    (['stuck'], 'float32')
    """
    n_timesteps = _check_int(n_timesteps, "n_timesteps", 10)
    n_channels = _check_int(n_channels, "n_channels", 1)
    kinds = _check_kinds(anomalies, n_channels)
    low, high = _check_length(anomaly_length)
    if n_anomalies is not None:
        n_anomalies = _check_int(n_anomalies, "n_anomalies", 0)
        if n_anomalies and not kinds:
            raise ParameterError(f"n_anomalies={n_anomalies} but no anomaly kinds were given")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < math.inf:
        raise ParameterError(f"noise must be a finite number >= 0, got {noise!r}")
    try:
        timestamps = pd.date_range(start=start, periods=n_timesteps, freq=freq)
    except (TypeError, ValueError) as e:
        raise ParameterError(f"start={start!r} / freq={freq!r} do not make time stamps: {e}") from e

    seeds = np.random.default_rng(random_state).integers(0, 2**63, size=2)
    base_rng, anomaly_rng = (np.random.default_rng(int(s)) for s in seeds)
    signal = _Signal(base_rng, n_timesteps, n_channels)
    t = np.arange(n_timesteps, dtype=np.float64)
    values = np.stack([signal.channel(t, c) for c in range(n_channels)], axis=1)
    noise_draw = base_rng.standard_normal(values.shape) * (noise * signal.scale)
    values += noise_draw
    std = values.std(axis=0)

    n = len(kinds) if n_anomalies is None else n_anomalies
    sequence = [kinds[i % len(kinds)] for i in range(n)] if kinds else []
    sequence = [sequence[i] for i in anomaly_rng.permutation(n)]
    lengths = np.array(
        [
            anomaly_rng.integers(*_SPIKE_LENGTH, endpoint=True)
            if k == "spike"
            else anomaly_rng.integers(low, high, endpoint=True)
            for k in sequence
        ],
        dtype=np.int64,
    )
    first, gap = math.ceil(_TRAIN_FRACTION * n_timesteps), low

    def fits(m: int) -> bool:
        return int(lengths[:m].sum()) + gap * max(m - 1, 0) <= n_timesteps - first

    if not fits(n):  # try the shortest lengths first; by default drop anomalies that do not fit
        lengths = np.where(np.array(sequence) == "spike", np.minimum(lengths, 1), low)
    if not fits(n):
        if n_anomalies is not None:
            raise ParameterError(
                f"{n_anomalies} anomalies of at least {low} timesteps (with gaps of {gap}) do "
                f"not fit in the last {n_timesteps - first} of n_timesteps={n_timesteps}; "
                "lower n_anomalies or anomaly_length, or raise n_timesteps"
            )
        while n and not fits(n):
            n -= 1
        sequence, lengths = sequence[:n], lengths[:n]

    starts = _place(anomaly_rng, sequence, lengths, first, n_timesteps, gap) if n else []
    labels = np.zeros(n_timesteps, dtype=np.int8)
    records = []
    for kind, s, length in zip(sequence, starts, lengths, strict=True):
        s, e = int(s), int(s + length)
        affected = _inject(kind, values, signal, noise_draw, std, s, e, anomaly_rng)
        labels[s:e] = 1
        records.append(InjectedAnomaly(kind, s, e, tuple(f"sensor_{c}" for c in affected)))
    return SyntheticStream(
        values=np.ascontiguousarray(values, dtype=np.float32),
        labels=labels,
        channels=[f"sensor_{c}" for c in range(n_channels)],
        timestamps=timestamps,
        anomalies=records,
    )


def _inject(
    kind: str,
    values: np.ndarray,
    signal: _Signal,
    noise_draw: np.ndarray,
    std: np.ndarray,
    s: int,
    e: int,
    rng: np.random.Generator,
) -> list[int]:
    """Inject one anomaly into ``values[s:e]`` in place; return the affected channels."""
    n_channels = values.shape[1]
    many = kind in ("level_shift", "drift", "frequency")
    count = int(rng.integers(1, min(3, n_channels), endpoint=True)) if many else 1
    affected = sorted(int(c) for c in rng.choice(n_channels, size=count, replace=False))
    t = np.arange(s, e, dtype=np.float64)
    for c in affected:
        sign = rng.choice([-1.0, 1.0])
        if kind == "spike":
            values[s:e, c] += sign * rng.uniform(6, 10) * std[c]
        elif kind == "level_shift":
            values[s:e, c] += sign * rng.uniform(2, 4) * std[c]
        elif kind == "drift":
            values[s:e, c] += sign * np.linspace(0, rng.uniform(3, 5) * std[c], e - s)
        elif kind == "frequency":
            warped = signal.channel(t, c, warp=rng.uniform(3, 5))
            values[s:e, c] = warped + noise_draw[s:e, c]
        elif kind == "stuck":
            values[s:e, c] = values[s - 1, c]
        else:  # correlation_break
            values[s:e, c] = signal.channel(t, c, flip=True) + noise_draw[s:e, c]
    return affected
