"""Two suite tracks that look unlike the long multivariate sets (issue 24): short and wide.

short (short-history univariate): one channel at a time, fitted on at most :data:`SHORT_FIT`
rows (the last ones of the training part), scored on the whole test part.

- SMD and ASD: each channel that an interpretation label blames for an event. The labels are
  that channel's events; rows of events that do not name the channel are left out of the
  metrics (the channel may look normal there, or not: nobody said).
- MGAB: each series, fitted on the :data:`SHORT_FIT` rows before row 25,000 (the suite's split)
  and scored on the rest with TSB-AD's 20-point labels.
- SKAB: each labelled file, each of its 8 channels on its own (the leaderboard's first 400 rows
  fit, the rest scored; SKAB labels whole files, not channels).

wide: ``make_sensor_stream``'s normal stream with 50 and 200 channels (seeds :data:`WIDE_SEEDS`,
used nowhere else), 10,000 rows to fit and 10,000 to score, with six faults in one channel each
(level shift, spike, drift, stuck value, frequency change, noise burst) at fixed places. Found:
an alarm event overlaps the fault; named: that event's first-named channel (the largest mean
attribution over the event's rows) is the faulty one.

Metrics added to the suite's: event recall, false events per 5,000 normal rows, false-alarm rows
per 1,000 normal rows, detection delay (rows from an event's start to its first alarm, over the
events found) and, for wide, faults found / named and event precision.

Everything here is fixed before any run reads test labels: the channel choice comes from the
interpretation files alone, the fault places and kinds from the seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

SHORT_FIT = 750
SHORT_SOURCES = ("smd", "asd", "mgab", "skab")
#: Quick slice: the first machines / files of each source.
SHORT_QUICK = {"smd": ("1-2",), "asd": ("omi-1",), "mgab": (1,), "skab": ("valve1/0",)}
WIDE_CHANNELS = (50, 200)
WIDE_SEEDS = (9001, 9002, 9003)  # never used in docs or tests
WIDE_ROWS = 10_000
WIDE_KINDS = ("level_shift", "spike", "drift", "stuck", "frequency", "noise_burst")
#: Rolling z-score peer: window of past rows, alarm line at this quantile of training scores.
ZSCORE_WINDOW = 100
ZSCORE_QUANTILE = 0.995


# --------------------------------------------------------------------------------- short


def _channel_series(
    name: str,
    train: np.ndarray,
    test: np.ndarray,
    interpretation: Sequence[tuple[int, int, tuple[int, ...]]],
    series_cls: Any,
) -> list[Any]:
    """One univariate series per channel that the interpretation labels blame."""
    n = len(test)
    out = []
    blamed = sorted({d for _, _, dims in interpretation for d in dims})
    for c in blamed:
        labels = np.zeros(n, np.int8)
        keep = np.ones(n, bool)
        for start, end, dims in interpretation:
            if c in dims:
                labels[start:end] = 1
            else:
                keep[start:end] = False
        keep |= labels.astype(bool)  # a row of this channel's event is always kept
        if not labels.any():
            continue
        out.append(
            series_cls(
                f"{name}/ch{c + 1}",
                train[-SHORT_FIT:, c : c + 1],
                test[:, c : c + 1],
                labels,
                extra={"keep": keep},
            )
        )
    return out


def load_short(root: Path, quick: bool, suite: Any) -> list[Any]:
    """Every series of the short track (``suite`` is the suite module: its loaders)."""
    out: list[Any] = []
    smd = SHORT_QUICK["smd"] if quick else suite.SMD_MACHINES
    for m in smd:
        s = suite.npz_series(
            root / "smd" / f"machine-{m}.npz",
            root / "smd" / "interpretation_label" / f"machine-{m}.txt",
            inclusive_end=False,
        )
        out += _channel_series(f"smd-{m}", s.train, s.test, s.interpretation, suite.Series)
    asd = SHORT_QUICK["asd"] if quick else suite.ASD_ENTITIES
    for e in asd:
        s = suite.npz_series(
            root / "asd" / f"{e}.npz", root / "asd" / "interpretation_label" / f"{e}.txt", True
        )
        out += _channel_series(f"asd-{e}", s.train, s.test, s.interpretation, suite.Series)
    for s in suite.load_mgab(root, SHORT_QUICK["mgab"] if quick else suite.MGAB_FILES):
        out.append(suite.Series(s.name, s.train[-SHORT_FIT:], s.test, s.labels))
    import skab

    splits, _ = skab.load_splits(root / "skab", list(SHORT_QUICK["skab"]) if quick else None)
    for sp in splits:
        for c in range(sp.train.shape[1]):
            out.append(
                suite.Series(
                    f"skab-{sp.name}/ch{c + 1}",
                    sp.train[-SHORT_FIT:, c : c + 1],
                    sp.test[:, c : c + 1],
                    sp.labels,
                )
            )
    return out


# ---------------------------------------------------------------------------------- wide


def inject_one_channel(
    values: np.ndarray, kind: str, start: int, end: int, channel: int, rng: np.random.Generator
) -> None:
    """One fault in one channel of ``values[start:end]``, in place (sizes in channel std)."""
    x = values[:, channel]
    std = float(x.std()) or 1.0
    sign = rng.choice([-1.0, 1.0])
    if kind == "level_shift":
        x[start:end] += sign * rng.uniform(2, 4) * std
    elif kind == "spike":
        x[start:end] += sign * rng.uniform(6, 10) * std
    elif kind == "drift":
        x[start:end] += sign * np.linspace(0, rng.uniform(3, 5) * std, end - start)
    elif kind == "stuck":
        x[start:end] = x[start - 1]
    elif kind == "frequency":
        # the rows before the fault played 3-5 times faster (continuous at its start)
        speed = int(rng.integers(3, 6))
        length = end - start
        x[start:end] = x[start - length * speed : start : speed][:length]
    elif kind == "noise_burst":
        x[start:end] += rng.normal(0, rng.uniform(1.5, 3) * std, end - start)
    else:
        raise ValueError(f"unknown fault kind {kind!r}")


def load_wide(seed: int, n_channels: int, suite: Any) -> list[Any]:
    """One wide stream: fit on its first :data:`WIDE_ROWS` rows, score the next ones."""
    from seqae.datasets import make_sensor_stream

    stream = make_sensor_stream(2 * WIDE_ROWS, n_channels, anomalies=(), random_state=seed)
    values = stream.values.astype(np.float64)
    rng = np.random.default_rng(seed)
    labels = np.zeros(WIDE_ROWS, np.int8)
    faults = []
    slot = WIDE_ROWS // len(WIDE_KINDS)
    for k, kind in enumerate(WIDE_KINDS):
        length = 2 if kind == "spike" else int(rng.integers(100, 400))
        start = k * slot + int(rng.integers(slot // 4, slot - length - 50))
        channel = int(rng.integers(n_channels))
        inject_one_channel(
            values, kind, WIDE_ROWS + start, WIDE_ROWS + start + length, channel, rng
        )
        labels[start : start + length] = 1
        faults.append((start, start + length, channel, kind))
    test = values[WIDE_ROWS:]
    return [
        suite.Series(
            f"wide{n_channels}-{seed}",
            values[:WIDE_ROWS].astype(np.float32),
            test.astype(np.float32),
            labels,
            extra={"faults": faults},
        )
    ]


def crop_faults(
    faults: Sequence[tuple[int, int, int, str]], start: int, stop: int
) -> list[tuple[int, int, int, str]]:
    """The faults inside test rows ``[start, stop)``, in the cropped rows' numbering."""
    return [
        (max(a, start) - start, min(b, stop) - start, c, kind)
        for a, b, c, kind in faults
        if a < stop and b > start
    ]


# ------------------------------------------------------------------------------- the peer


class RollingZScoreMethod:
    """Windowed Gaussian: each channel's distance from the mean of its last rows, in their std.

    Score of row t = max over channels of |x_t - mean(x_{t-w..t-1})| / std(x_{t-w..t-1})
    with w = :data:`ZSCORE_WINDOW` (the training rows warm the window up); the alarm line is
    the :data:`ZSCORE_QUANTILE` quantile of the training scores.
    """

    name = "zscore"

    def __init__(self, seed: int, window: int = ZSCORE_WINDOW) -> None:
        self.seed, self.window = seed, window

    def _scores(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        w = self.window
        cum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, 0)])
        cum2 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x * x, 0)])
        t = np.arange(len(x))
        lo = np.maximum(t - w, 0)
        count = np.maximum(t - lo, 1)[:, None]
        mean = (cum[t] - cum[lo]) / count
        var = np.maximum((cum2[t] - cum2[lo]) / count - mean**2, 0.0)
        std = np.sqrt(var)
        floor = 1e-6 * (np.abs(mean) + 1.0)
        z = np.abs(x - mean) / np.maximum(std, floor)
        z[t < 2] = 0.0
        return z

    def fit(self, train: np.ndarray) -> None:
        self.tail = np.asarray(train[-self.window :], np.float64)
        z = self._scores(train)
        self.line = float(np.quantile(z.max(1)[2:], ZSCORE_QUANTILE))

    def score(self, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        both = np.concatenate([self.tail, np.asarray(test, np.float64)])
        z = self._scores(both)[len(self.tail) :]
        total = z.sum(1, keepdims=True)
        self.contributions = z / np.where(total > 0, total, 1.0)
        scores = z.max(1)
        return scores, (scores > self.line).astype(np.int8)


# ------------------------------------------------------------------------------- metrics


def runs_of(labels: np.ndarray) -> np.ndarray:
    """``[start, end)`` of each run of 1s."""
    d = np.diff(np.concatenate([[0], labels.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1)


def alarm_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    """Event recall, false events per 5,000 normal rows, false rows per 1,000, delay."""
    true_ev, pred_ev = runs_of(y), runs_of(p)
    normal = int((y == 0).sum())
    found, delays = 0, []
    for a, b in true_ev:
        hit = np.flatnonzero(p[a:b])
        if len(hit):
            found += 1
            delays.append(int(hit[0]))
    cum = np.concatenate([[0], np.cumsum(y)])
    false_events = sum(1 for a, b in pred_ev if cum[b] - cum[a] == 0)
    false_rows = int(((p == 1) & (y == 0)).sum())
    return {
        "event_recall": found / len(true_ev) if len(true_ev) else None,
        "false_events_5k": 5000.0 * false_events / normal if normal else None,
        "false_rows_1k": 1000.0 * false_rows / normal if normal else None,
        "delay": float(np.mean(delays)) if delays else None,
    }


def wide_metrics(
    faults: Sequence[tuple[int, int, int, str]], p: np.ndarray, contributions: np.ndarray | None
) -> dict[str, Any]:
    """Faults found and named, and event precision, for one wide stream."""
    events = runs_of(p)
    found = named = 0
    for a, b, channel, _ in faults:
        overlapping = [(s, e) for s, e in events if s < b and e > a]
        if not overlapping:
            continue
        found += 1
        if contributions is not None:
            s, e = overlapping[0]
            named += int(np.argmax(contributions[s:e].mean(0)) == channel)
    true_events = sum(1 for s, e in events if any(s < b and e > a for a, b, _, _ in faults))
    return {
        "faults_found": found,
        "faults_named": named if contributions is not None else None,
        "n_faults": len(faults),
        "event_precision": true_events / len(events) if len(events) else None,
    }
