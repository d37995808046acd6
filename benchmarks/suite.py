"""The multi-dataset development suite (issue 14): one protocol over every dataset.

    python benchmarks/suite.py --quick                  # a slice of each dataset, one seed
    python benchmarks/suite.py                          # all datasets, seeds 0-2 -> results/suite.*
    python benchmarks/suite.py --datasets smd asd --methods default pca kmeans --jobs 2
    python benchmarks/suite.py --max-fit-rows 5000    # fit on each training part's last rows
    python benchmarks/suite.py --download             # fetch the datasets it lacks, then run

Data: ``--data``, else ``$SEQAE_DATASETS``, else the ``shared/datasets`` folder beside the
repository, else the download cache (``$SEQAE_DATA``, else ``~/.cache/seqae``). With
``--download``, each dataset that folder lacks is fetched from its upstream repository (pinned
commit, SHA-256 checked; ``seqae.datasets.fetch_benchmark_data``) into ``--data`` when given,
else the cache, and read from there; a dataset the folder has is read where it is.

Timing: every process runs torch with one thread (--threads): on a shared 2-core machine two
threads made the default detector's fit ~10x slower. The default detector dominates the full
run (a fit on SMD's ~23,700 training rows takes minutes), hence --max-fit-rows and --jobs.

Protocol, the same for every dataset: fit on the normal / training part only, score the test
part on its own, compare with the test labels (never used to fit or to set an alarm line).

- skab: the 34 labelled files, SKAB's leaderboard split (first 400 rows fit, the rest scored;
  ``skab.py``'s loader), pooled point F1/FAR/MAR and NAB standard as ``skab.py`` computes them;
  plus the anomaly-free run (fit on its first 400 rows, FAR on the rest).
- smd: the 13 machines TSB-AD also scores (SOURCE.md item 4); fit ``train``, score ``test``;
  interpretation lines ``start-end:dims`` = test rows ``[start:end)``, dims 1-based.
- asd: omi-1..12; fit ``train``, score ``test``; interpretation rows ``[start:end+1]``.
- mgab: 10 files; fit rows [0, 25000) and score [25000, 100000) (TSB-AD's convention), with
  TSB-AD's 20-point labels ``[i-10, i+10)`` around each cut point ``i`` (MGAB window start + 200).
- tep: fit ``d00.dat`` (transposed, 500 x 52); score ``d01_te..d21_te`` (label 1 from row 160)
  and ``d00_te`` (all normal).
- synthetic: ``make_sensor_stream(30000, 6, random_state=seed)``: fit its first 10,000 rows
  generated without anomalies, score the last 20,000 rows with anomalies of the six kinds.

Metrics per series (then the mean over series, or pooled where that is the dataset's
convention): AUC-PR, VUS-PR (buffers up to :data:`VUS_WINDOW` rows), point F1 / FAR / MAR at the
method's own alarm line, event-wise F1, HitRate@100 % / @150 % (OmniAnomaly / InterFusion) from
the per-channel attribution where interpretation labels exist, and fit + score time.

The building blocks are small on purpose, so that a test or another script can run the protocol
on a slice: :func:`load_dataset` -> list of :class:`Series`, :func:`run_method` ->
:class:`SeriesResult`, :func:`evaluate` -> dict, :func:`summarise` -> one dataset's row.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package
import skab
import tracks

from seqae.errors import DataError, ParameterError
from seqae.metrics import (
    auc_pr,
    changepoints_from_labels,
    confusion,
    event_f1,
    nab_score,
    pooled_scores,
    vus_pr,
)

DATASETS = ("skab", "smd", "asd", "mgab", "tep", "synthetic", "short", "wide")
#: Datasets generated per seed (each seed its own series); the others are read once.
PER_SEED = ("synthetic", "wide")
#: Datasets built from the folders of others.
SOURCES = {"short": tracks.SHORT_SOURCES}
#: The SMD machines in this folder that TSB-AD also scores (smd/SOURCE.md, item 4).
SMD_MACHINES = (
    "1-2", "1-3", "1-4", "1-5", "1-7", "2-1", "2-2", "2-3", "2-7", "2-8", "3-2", "3-4", "3-10",
)  # fmt: skip
ASD_ENTITIES = tuple(f"omi-{k}" for k in range(1, 13))
MGAB_FILES = tuple(range(1, 11))
MGAB_TRAIN = 25_000
MGAB_HALF = 10  # TSB-AD labels [i - 10, i + 10) around each cut point i
TEP_FAULT_START = 160
#: VUS-PR's largest buffer per dataset: skab.py's 60 rows (the NAB window) for SKAB, TSB-AD's
#: default sliding window of 100 elsewhere (TSB-AD itself estimates a period per series, so its
#: numbers are comparable in kind, not to the third digit).
VUS_WINDOW = {ds: 100 for ds in DATASETS} | {"skab": skab.VUS_MAX_WINDOW}
#: Quick slices: (series, train rows, test rows); None keeps the full length. Sized so that
#: --quick with every method takes ~1.5 min on a shared, busy 2-core machine.
QUICK = {
    "skab": (("valve1/0", "other/9"), None, 2000),
    "smd": (("1-2", "2-8"), 1000, 3000),
    "asd": (("omi-1", "omi-2"), 1000, None),
    "mgab": ((1,), 2000, 10_000),
    "tep": (("d01_te", "d11_te", "d00_te"), None, None),
    "synthetic": ((), 2000, 6000),
    "short": ((), None, None),  # tracks.SHORT_QUICK picks the slice
    "wide": ((), None, None),  # 50 channels only
}
DEFAULT_SEEDS = (0, 1, 2)
WIDTH = 16  # window of the window-based peers (pyod-ae, kmeans)

#: seqae rows: Detector keyword arguments (plus random_state=seed). "default" is Detector().
CANDIDATES: dict[str, dict[str, Any]] = {
    "default": {},
    "pca": {"model": "pca"},
    # the levers of the default one by one (suite-rounds.md, rounds 2 and 2b)
    "v0.1": {
        "calibration": "training",
        "drift_window": None,
        "channel_norm": False,
        "epochs": 50,
        "steps_per_epoch": None,
    },
    "no-drift": {"drift_window": None},
    "no-norm": {"channel_norm": False},
    # round 3: the robust tail line and one frame of merge gap (suite-rounds.md)
    "gap": {"merge_gap": 64},
    "robust": {"threshold": "robust"},
    "robust-gap": {"threshold": "robust", "merge_gap": 64},
    # round 5: scores smoothed over the last 4 or 8 timesteps (suite-rounds.md)
    "smooth4": {"score_smoothing": 4},
    "smooth8": {"score_smoothing": 8},
    # round 7: smoothed scores with a lower risk for the line (suite-rounds.md)
    "smooth4-r3": {"score_smoothing": 4, "risk": 3e-4},
    "smooth8-r3": {"score_smoothing": 8, "risk": 3e-4},
    # rounds 8 and 8b: two or three networks whose normalised errors are averaged
    # (suite-rounds.md; since 8b one weight per network and channel)
    "nets2": {"n_networks": 2},
    "nets3": {"n_networks": 3},
    # round 23: two networks, the second trained on frames of 32 rows (suite-rounds.md)
    "frames64-32": {"n_networks": 2, "network_frames": [64, 32]},
    # round 10 (issue 24): channel errors combined by their power mean; the stuck check
    "p4": {"combine_power": 4},
    "p4-stuck16": {"combine_power": 4, "stuck_window": 16},
    # round 10b: the power mean's heavier normal tail, under a lower risk for the line
    "p4-r1e-4": {"combine_power": 4, "risk": 1e-4},
    "p4-r3e-5": {"combine_power": 4, "risk": 3e-5},
    # round 10c: the stuck check (now only on channels that rarely repeat a value) with them
    "p4-stuck16-r1e-4": {"combine_power": 4, "stuck_window": 16, "risk": 1e-4},
    "p4-stuck16-r3e-5": {"combine_power": 4, "stuck_window": 16, "risk": 3e-5},
    # after round 10: the default, learning while it scores, in periods of 1,000 rows
    "learn1000": {"learn_period": 1000},
    # round 21: a lower risk for the line (wide streams' event precision)
    "r1e-5": {"risk": 1e-5},
    # after round 20: the same, each update replaying the last 3,000 normal rows it learnt
    # from (the training rows first)
    "learn1000-mem3000": {"learn_period": 1000, "learn_memory": 3000},
    # round 11: the stuck check for one held value (library), with longer smoothing
    "sm16": {"score_smoothing": 16},
    "sm32": {"score_smoothing": 32},
    # rounds 12 and 13: the larger of the trailing means over 8 and over 32 rows; round 12's
    # `long32` shared one line (the library before round 13, no longer in it), round 13's
    # `long32g` tests the long mean against its own line
    "long32g": {"long_smoothing": 32},
    # round 16: a centred triangular mean in place of the trailing one
    "cs16": {"centred_smoothing": 16, "score_smoothing": 1},
    "cs32": {"centred_smoothing": 32, "score_smoothing": 1},
    # round 17: the centred mean (32 rows, then the trailing 8) on data of one channel only
    "cs-auto": {"centred_smoothing": "auto"},
    # round 17b: the same, on the library whose alarm line ignores the centred mean
    "cs-auto-line": {"centred_smoothing": "auto"},
    # round 18 (rank05 the default since): under the alarm line, a score keeps only part of
    # the drift adjustment (the alarms are those of the whole adjustment)
    "rank05": {"drift_rank_power": 0.5},
    "rank0": {"drift_rank_power": 0.0},
    # round 19: under the alarm line, the rows ranked by a centred mean of the network's scores
    # over its own line (the alarms are those of the trailing mean)
    "rs-auto": {"rank_smoothing": "auto"},
    "rs32": {"rank_smoothing": 32},
    "rs16": {"rank_smoothing": 16},
    # round 22: level augmentation (each training frame's channels moved by their own random
    # level, input and target alike), standard deviation 0.5 and 1 in scaled units
    "lvl05": {"train_params": {"level_std": 0.5}},
    "lvl1": {"train_params": {"level_std": 1.0}},
}
PEERS = ("pyod-ae", "iforest", "kmeans", "zscore")
ALL_METHODS = (*CANDIDATES, *PEERS)
#: What a plain ``python benchmarks/suite.py`` runs: the default, the linear baseline, the peers
#: (the rounds' other candidates only when named).
HEADLINE_METHODS = ("default", "pca", *PEERS)

#: Published numbers, quoted from each SOURCE.md (not re-run here).
PUBLISHED: dict[str, list[str]] = {
    "skab": [
        "Current SKAB leaderboard (test parts, pooled): Conv-AE F1 0.78, FAR 13.55 %, "
        "MAR 28.02 %; best NAB standard MSCRED 32.42 (Conv-AE 23.61, Isolation forest 26.16).",
    ],
    "smd": [
        "TSB-AD VUS-PR, mean over the same 13 machines (tuned hyper-parameters; 1-3, 1-4 and "
        "3-2 cropped by TSB-AD, which also fits on a prefix of the test half, not on `train`): "
        "PCA 0.397, CNN 0.376, KMeansAD 0.324, AutoEncoder 0.267, IForest 0.279 "
        "(OmniAnomaly 0.189, USAD 0.167).",
    ],
    "asd": [
        "None in comparable form: ASD is in no VUS benchmark; InterFusion reports only "
        "point-adjusted best F1 averaged with other datasets."
    ],
    "mgab": [
        "TSB-AD VUS-PR, mean over 8 MGAB series (TSB-AD fits on the first 25,000 rows but "
        "scores the whole series; 20-point labels): Sub-LOF 0.440, MatrixProfile 0.289, "
        "Sub-KNN 0.244; every other method 0.004-0.008 (IForest 0.004, Sub-PCA 0.005), i.e. "
        "chance level.",
    ],
    "tep": [
        "None copied: the classic per-fault detection rates (Chiang, Russell & Braatz "
        "2000) could not be retrieved; SOURCE.md's PCA T2/Q sanity check is not published."
    ],
    "synthetic": ["None: generated here."],
    "short": [
        "None in this form (built here from SMD, ASD, MGAB and SKAB; issue 24). The "
        "rolling z-score row is the simple peer the track is meant to beat."
    ],
    "wide": ["None: generated here (tracks.py)."],
}


def default_data() -> Path:
    """``$SEQAE_DATASETS``, else ``shared/datasets`` beside the repository, else the cache.

    The cache is where ``--download`` puts what it fetches (``$SEQAE_DATA``, else
    ``~/.cache/seqae``), so that a later run without ``--download`` reads it.
    """
    from seqae.datasets.benchmark import data_home

    if env := os.environ.get("SEQAE_DATASETS"):
        return Path(env)
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    return shared if shared.is_dir() else data_home()


# ---------------------------------------------------------------------------------- data


@dataclass
class Series:
    """One fit/score unit: training rows, test rows, test labels and optional extras.

    ``interpretation`` holds ``(start, end, dims)`` with test rows ``[start:end)`` and 0-based
    channel indices. ``normal_only`` series (all labels 0) only count towards false alarms.
    """

    name: str
    train: np.ndarray  # (T_train, C) float32
    test: np.ndarray  # (T, C) float32
    labels: np.ndarray  # (T,) int8
    interpretation: list[tuple[int, int, tuple[int, ...]]] | None = None
    normal_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def crop(series: Series, train_rows: int | None, test_rows: int | None) -> Series:
    """The last ``train_rows`` training rows and ``test_rows`` test rows around the anomalies.

    The test slice starts up to 1,000 rows (a third of it) before the first anomaly, or at 0,
    so it holds some anomalies.
    """
    train = series.train if train_rows is None else series.train[-train_rows:]
    start, stop = 0, len(series.test)
    if test_rows is not None and test_rows < len(series.test):
        first = int(np.argmax(series.labels)) if series.labels.any() else 0
        lead = min(1000, test_rows // 3)
        start = max(0, min(first - lead, len(series.test) - test_rows))
        stop = start + test_rows
    interp = None
    if series.interpretation is not None:
        interp = [
            (max(s, start) - start, min(e, stop) - start, d)
            for s, e, d in series.interpretation
            if s < stop and e > start
        ]
    extra = {
        k: tracks.crop_faults(v, start, stop) if k == "faults" else v[start:stop]
        for k, v in series.extra.items()
    }
    return replace(
        series,
        train=train,
        test=series.test[start:stop],
        labels=series.labels[start:stop],
        interpretation=interp,
        extra=extra,
    )


def read_interpretation(path: Path, inclusive_end: bool) -> list[tuple[int, int, tuple[int, ...]]]:
    """``start-end:d1,d2,...`` lines as ``(start, end_exclusive, 0-based dims)``."""
    out = []
    for line in path.read_text().split():
        rows, dims = line.split(":")
        start, end = (int(v) for v in rows.split("-"))
        out.append((start, end + int(inclusive_end), tuple(int(d) - 1 for d in dims.split(","))))
    return out


def npz_series(path: Path, interp: Path, inclusive_end: bool) -> Series:
    with np.load(path) as d:
        train, test, labels = d["train"], d["test"], d["label"].astype(np.int8)
    name = path.stem
    return Series(name, train, test, labels, read_interpretation(interp, inclusive_end))


def _load_skab(root: Path, names: Sequence[str] | None) -> list[Series]:
    splits, free = skab.load_splits(root / "skab", names)
    out = [
        Series(
            s.name,
            s.train,
            s.test,
            s.labels,
            extra={"changepoints": s.changepoints, "timestamps": s.timestamps},
        )
        for s in splits
    ]
    values = free.data.values
    rest = values[skab.TRAIN_ROWS :]
    normal = np.zeros(len(rest), np.int8)
    out.append(Series("anomaly-free", values[: skab.TRAIN_ROWS], rest, normal, normal_only=True))
    return out


def mgab_labels(is_anomaly: np.ndarray, half: int = MGAB_HALF) -> np.ndarray:
    """TSB-AD's labels: ``[i - half, i + half)`` around each cut point (window start + 200)."""
    flags = np.asarray(is_anomaly, dtype=np.int8)
    starts = np.flatnonzero(np.diff(flags, prepend=0) == 1)
    labels = np.zeros(len(flags), np.int8)
    for i in starts + 200:
        labels[max(0, i - half) : i + half] = 1
    return labels


def load_mgab(root: Path, files: Sequence[int]) -> list[Series]:
    import pandas as pd

    out = []
    for k in files:
        frame = pd.read_csv(root / "mgab" / f"{k}.csv", index_col=0)
        values = frame[["value"]].to_numpy(np.float32)
        labels = mgab_labels(frame["is_anomaly"].to_numpy())
        train, test = values[:MGAB_TRAIN], values[MGAB_TRAIN:]
        out.append(Series(f"mgab-{k}", train, test, labels[MGAB_TRAIN:]))
    return out


def _load_tep(root: Path, files: Sequence[str]) -> list[Series]:
    folder = root / "tep"
    train = np.loadtxt(folder / "d00.dat").T.astype(np.float32)
    out = []
    for name in files:
        test = np.loadtxt(folder / f"{name}.dat").astype(np.float32)
        normal = name == "d00_te"
        labels = np.zeros(len(test), np.int8)
        if not normal:
            labels[TEP_FAULT_START:] = 1
        out.append(Series(name, train, test, labels, normal_only=normal))
    return out


#: Anomalies in the whole synthetic stream (two of each kind); those after the training part
#: are scored (all six kinds for seeds 0-2).
SYNTHETIC_ANOMALIES = 12


def _load_synthetic(seed: int, train_rows: int, test_rows: int) -> list[Series]:
    """One seeded system: its first ``train_rows`` rows without anomalies fit, the rest scored.

    ``make_sensor_stream`` draws the signal before the anomalies, so the same seed with and
    without anomalies gives the same stream outside the labels. (Two seeds give two different
    systems: fitted on seed 100 + s and scored on seed s, every method flagged ~100 % of rows.)
    """
    from seqae.datasets import make_sensor_stream

    n = train_rows + test_rows
    normal = make_sensor_stream(n, 6, anomalies=(), random_state=seed)
    stream = make_sensor_stream(n, 6, n_anomalies=SYNTHETIC_ANOMALIES, random_state=seed)
    test, labels = stream.values[train_rows:], stream.labels[train_rows:].astype(np.int8)
    return [Series(f"synthetic-{seed}", normal.values[:train_rows], test, labels)]


def load_dataset(
    name: str, quick: bool = False, *, data: Path | None = None, seed: int = 0
) -> list[Series]:
    """Every series of dataset ``name`` (or its quick slice). ``seed`` matters for synthetic."""
    root = data or default_data()
    pick, train_rows, test_rows = QUICK[name] if quick else ((), None, None)
    if name == "skab":
        series = _load_skab(root, list(pick) or None)
        return [crop(s, None, test_rows) if s.normal_only else s for s in series]
    if name == "smd":
        folder = root / "smd"
        series = [
            npz_series(
                folder / f"machine-{m}.npz",
                folder / "interpretation_label" / f"machine-{m}.txt",
                inclusive_end=False,
            )
            for m in (pick or SMD_MACHINES)
        ]
    elif name == "asd":
        folder = root / "asd"
        series = [
            npz_series(folder / f"{e}.npz", folder / "interpretation_label" / f"{e}.txt", True)
            for e in (pick or ASD_ENTITIES)
        ]
    elif name == "mgab":
        series = load_mgab(root, pick or MGAB_FILES)
    elif name == "tep":
        files = pick or (*(f"d{k:02d}_te" for k in range(1, 22)), "d00_te")
        return _load_tep(root, files)
    elif name == "synthetic":
        return _load_synthetic(seed, train_rows or 10_000, test_rows or 20_000)
    elif name == "short":
        return tracks.load_short(root, quick, sys.modules[__name__])
    elif name == "wide":
        widths = tracks.WIDE_CHANNELS[:1] if quick else tracks.WIDE_CHANNELS
        stream_seed = tracks.WIDE_SEEDS[0] + seed
        return [s for c in widths for s in tracks.load_wide(stream_seed, c, sys.modules[__name__])]
    else:
        raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")
    return [crop(s, train_rows, test_rows) for s in series]


def available(name: str, data: Path | None = None) -> bool:
    """Whether dataset ``name``'s folders exist (generated ones always do)."""
    root = Path(data or default_data())
    if name == "short":
        return all((root / src).is_dir() for src in tracks.SHORT_SOURCES)
    return name in PER_SEED or (root / name).is_dir()


def data_roots(
    datasets: Sequence[str],
    data: Path,
    *,
    download: bool = False,
    into: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """The folder each dataset is read from: ``data`` where it has the dataset's folder.

    With ``download``, the others are fetched into ``into`` (default ``$SEQAE_DATA`` or
    ``~/.cache/seqae``) and read from there; a fetch checks what is already there and only
    downloads the missing or altered files.
    """
    from seqae.datasets import fetch_benchmark_data

    missing = [ds for ds in datasets if not available(ds, data)]
    roots = {ds: data for ds in datasets}
    if download and missing:
        # the short track is read from the folders of the sets it takes its channels from
        fetch = sorted({src for ds in missing for src in SOURCES.get(ds, (ds,))})
        cache = fetch_benchmark_data(fetch, into, progress=progress)
        roots |= {ds: cache for ds in missing}
    return roots


# ------------------------------------------------------------------------------- methods


class SeqaeMethod(skab.SeqaeMethod):
    """skab.py's seqae row, keeping the per-channel attribution of ``detect``.

    A candidate with ``learn_period`` scores its test part with
    :class:`seqae.scale.learning.LearningDetector` (periods of that many rows, training on the
    rows it did not flag) instead: no attribution then. ``learn_memory`` is its replay memory,
    which starts with the training rows.
    """

    def __init__(self, name: str, params: dict[str, Any], seed: int) -> None:
        params = dict(params)
        self.learn_period = params.pop("learn_period", None)
        self.learn_memory = params.pop("learn_memory", 0)
        super().__init__(name, params, seed)

    def fit(self, train: np.ndarray) -> None:
        super().fit(train)
        self.train = train if self.learn_memory else None

    def score(self, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.learn_period:
            from seqae.scale.learning import LearningDetector

            learned = LearningDetector(
                self.detector, self.learn_period, memory=self.learn_memory, history=self.train
            ).learn(test)
            self.contributions = None
            return learned.scores, learned.labels
        result = self.detector.detect(test)
        self.contributions = result.contributions
        return result.scores, result.labels


def fold_windows(values: np.ndarray, n: int, width: int) -> np.ndarray:
    """Per-window values ``(n - width + 1, ...)`` -> per-step means over the covering windows."""
    cum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    t = np.arange(n)
    hi = np.minimum(t, len(values) - 1) + 1  # windows j in [t - width + 1, t]
    lo = np.maximum(t - width + 1, 0)
    count = (hi - lo).reshape(-1, *([1] * (values.ndim - 1)))
    return (cum[hi] - cum[lo]) / count


class KMeansADMethod(skab.Method):
    """TSB-AD's KMeansAD: k-means on sliding windows, distance to the nearest centroid.

    Windows of :data:`WIDTH` standardised steps (stride 1), ``k`` = 20 centroids fitted on at
    most 20,000 training windows; a step's score is the mean distance of the windows covering
    it; the alarm line is the 99th percentile of the training scores. The per-channel share of
    the squared distance is the attribution.
    """

    name = "kmeans"

    def __init__(self, seed: int, k: int = 20, width: int = WIDTH, max_windows: int = 20_000):
        self.seed, self.k, self.width, self.max_windows = seed, k, width, max_windows

    def _windows(self, x: np.ndarray) -> np.ndarray:
        view = np.lib.stride_tricks.sliding_window_view(self.scale(x), self.width, axis=0)
        return view.reshape(len(view), -1)  # (N, C * width), channel-major

    def _per_step(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = self._windows(x)
        nearest = self.model.predict(w)
        sq = (w - self.model.cluster_centers_[nearest]) ** 2
        per_channel = sq.reshape(len(w), -1, self.width).sum(-1)  # (N, C)
        dist = np.sqrt(per_channel.sum(1))
        return fold_windows(dist, len(x), self.width), fold_windows(per_channel, len(x), self.width)

    def fit(self, train: np.ndarray) -> None:
        from sklearn.cluster import KMeans

        self.scale = skab.fit_scaler(train)
        w = self._windows(train)
        if len(w) > self.max_windows:
            rng = np.random.default_rng(self.seed)
            w = w[np.sort(rng.choice(len(w), self.max_windows, replace=False))]
        self.model = KMeans(n_clusters=min(self.k, len(w)), n_init="auto", random_state=self.seed)
        self.model.fit(w)
        self.line = float(np.percentile(self._per_step(train)[0], 99))

    def score(self, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, per_channel = self._per_step(test)
        total = per_channel.sum(1, keepdims=True)
        self.contributions = per_channel / np.where(total > 0, total, 1.0)
        return scores, (scores > self.line).astype(np.int8)


def make_method(name: str, seed: int) -> skab.Method:
    if name in CANDIDATES:
        return SeqaeMethod(name, CANDIDATES[name], seed)
    if name == "iforest":
        return skab.IsolationForestMethod(seed)
    if name == "pyod-ae":
        return skab.PyodAutoEncoderMethod(seed)
    if name == "kmeans":
        return KMeansADMethod(seed)
    if name == "zscore":
        return tracks.RollingZScoreMethod(seed)
    raise ValueError(f"unknown method {name!r}; choose from {ALL_METHODS}")


@dataclass
class SeriesResult:
    """One method on one series and seed: scores, labels, attribution, timings."""

    method: str
    series: str
    seed: int
    scores: np.ndarray  # (T,) float64
    labels: np.ndarray  # (T,) int8
    contributions: np.ndarray | None  # (T, C) or None where the method has no attribution
    fit_s: float
    score_s: float
    fit_rows: int


def run_method(
    method: str, series: Series, seed: int, cache: dict[Any, Any] | None = None
) -> SeriesResult:
    """Fit ``method`` on ``series.train`` and score ``series.test`` alone.

    With a ``cache`` dict, a method fitted on identical training rows (TEP's one ``d00.dat``)
    is reused instead of fitted again; its fit time then counts once.
    """
    key = (method, seed, series.train.shape, hashlib.sha1(series.train.tobytes()).hexdigest())
    t0 = time.perf_counter()
    if cache is not None and key in cache:
        m = cache[key]
    else:
        m = make_method(method, seed)
        m.fit(series.train)
        if cache is not None:
            cache.clear()  # keep one fitted method: the next series usually shares it or none
            cache[key] = m
    t1 = time.perf_counter()
    scores, labels = m.score(series.test)
    t2 = time.perf_counter()
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int8)
    if scores.shape != series.labels.shape or labels.shape != series.labels.shape:
        raise RuntimeError(f"{method} on {series.name}: got {scores.shape}, {labels.shape}")
    contributions = getattr(m, "contributions", None)
    return SeriesResult(
        method,
        series.name,
        seed,
        scores,
        labels,
        contributions,
        t1 - t0,
        t2 - t1,
        len(series.train),
    )


# ------------------------------------------------------------------------------- metrics


def hit_rate(
    contributions: np.ndarray,
    interpretation: Sequence[tuple[int, int, Sequence[int]]],
    labels: np.ndarray | None = None,
    p: float = 1.0,
) -> float | None:
    """HitRate@P (OmniAnomaly / InterFusion) over the labelled rows of the segments.

    For each anomalous row inside a segment with true dimensions G, the top
    ``max(1, floor(p * |G|))`` channels by attribution are compared with G: hit = |top ∩ G| / |G|.
    The mean over those rows; None when there is none. ``labels`` (optional) restricts the
    rows to those labelled 1.
    """
    hits = []
    n_channels = contributions.shape[1]
    for start, end, dims in interpretation:
        rows = np.arange(start, min(end, len(contributions)))
        if labels is not None:
            rows = rows[labels[rows] == 1]
        g = np.unique(np.asarray(dims, dtype=np.int64))
        if len(rows) == 0 or len(g) == 0:
            continue
        k = min(max(1, math.floor(p * len(g))), n_channels)
        top = np.argsort(-contributions[rows], axis=1, kind="stable")[:, :k]
        truth = np.zeros(n_channels, bool)
        truth[g] = True
        hits.append(truth[top].sum(1) / len(g))
    return float(np.concatenate(hits).mean()) if hits else None


METRICS = ("auc_pr", "vus_pr", "f1", "far", "mar", "event_f1", "hit100", "hit150", "time_s")
#: tracks.alarm_metrics, per series then averaged
ALARM_METRICS = ("event_recall", "false_events_5k", "false_rows_1k", "delay")


def evaluate(series: Series, result: SeriesResult, vus_window: int | None = 100) -> dict[str, Any]:
    """Every metric of one series; None where it is undefined (one class, no attribution).

    Rows outside ``series.extra["keep"]`` (the short track's events that blame other channels)
    are left out of every metric.
    """
    y, s, p = series.labels, result.scores, result.labels
    keep = series.extra.get("keep")
    if keep is not None:
        y, s, p = y[keep], s[keep], p[keep]
    both = 0 < int(y.sum()) < len(y)
    point = pooled_scores([(y, p)])
    out: dict[str, Any] = {
        "series": series.name,
        "method": result.method,
        "seed": result.seed,
        **confusion(y, p),
        "auc_pr": auc_pr(y, s) if both else None,
        "vus_pr": vus_pr(y, s, max_window=vus_window) if both else None,
        "f1": point["f1"] if y.any() else None,
        "far": point["far"],
        "mar": point["mar"] if y.any() else None,
        "event_f1": event_f1(y, p).f1 if y.any() else None,
        "hit100": None,
        "hit150": None,
        "fit_s": result.fit_s,
        "score_s": result.score_s,
        "time_s": result.fit_s + result.score_s,
        "fit_rows": result.fit_rows,
    }
    if series.interpretation and result.contributions is not None:
        for key, share in (("hit100", 1.0), ("hit150", 1.5)):
            out[key] = hit_rate(result.contributions, series.interpretation, y, share)
    out.update(tracks.alarm_metrics(y, p))
    if "faults" in series.extra:
        out.update(tracks.wide_metrics(series.extra["faults"], p, result.contributions))
    return out


def _mean(values: Sequence[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def summarise(
    dataset: str,
    series: Sequence[Series],
    evals: Sequence[dict[str, Any]],
    predicted: Sequence[np.ndarray] | None = None,
) -> dict[str, Any]:
    """One method and seed over one dataset: per-series means, pooled where that is the rule.

    skab: F1/FAR/MAR pooled over the 34 test parts and NAB standard (needs ``predicted``, the
    0/1 labels per series); ``free_far`` on the anomaly-free run. tep: ``detection_rate`` after
    row 160 and ``far_prefault`` on rows 0-159 of the fault files plus d00_te (pooled).
    """
    scored = [(s, e) for s, e in zip(series, evals, strict=True) if not s.normal_only]
    out: dict[str, Any] = {k: _mean([e.get(k) for _, e in scored]) for k in METRICS + ALARM_METRICS}
    out["time_s"] = _mean([e["time_s"] for e in evals])
    out["n_series"] = len(scored)
    out["fit_rows"] = int(sum(e["fit_rows"] for e in evals))
    normal = [e for s, e in zip(series, evals, strict=True) if s.normal_only]
    if normal:
        out["normal_far"] = _mean([e["far"] for e in normal])
    if dataset == "skab" and predicted is not None:
        idx = [i for i, s in enumerate(series) if not s.normal_only]
        pooled = pooled_scores([(series[i].labels, predicted[i]) for i in idx])
        out.update(f1=pooled["f1"], far=pooled["far"], mar=pooled["mar"])
        nab = nab_score(
            [series[i].extra["changepoints"] for i in idx],
            [changepoints_from_labels(predicted[i]) for i in idx],
            [series[i].extra["timestamps"] for i in idx],
            window=skab.NAB_WINDOW,
        )
        out["nab"] = nab.score
    if dataset == "wide":
        for key in ("faults_found", "faults_named", "n_faults"):
            vals = [e.get(key) for e in evals]
            out[key] = None if None in vals else int(sum(vals))
        for key in ("faults_found", "faults_named"):
            vals = [e.get(key) for e in evals]
            out[f"{key}_min"] = None if None in vals else int(min(vals))
        out["event_precision"] = _mean([e.get("event_precision") for e in evals])
    if dataset == "tep":
        tp = sum(e["tp"] for _, e in scored)
        fn = sum(e["fn"] for _, e in scored)
        fp = sum(e["fp"] for e in evals)
        tn = sum(e["tn"] for e in evals)
        out["detection_rate"] = tp / (tp + fn) if tp + fn else None
        out["far_prefault"] = 100.0 * fp / (fp + tn) if fp + tn else None
    return out


# ------------------------------------------------------------------------------- running


_FITTED: dict[Any, Any] = {}  # per process: the last fitted method (see run_method)


def _task(dataset: str, method: str, seed: int, series: Series) -> tuple[dict, np.ndarray]:
    import torch

    from seqae.threads import thread_default

    # A Detector without n_threads chooses per call from the machine's load, and a seeded fit
    # is bit-identical only at one thread count: pin it to the run's (--threads; 1 per job).
    with thread_default(torch.get_num_threads()):
        result = run_method(method, series, seed, _FITTED)
    t0 = time.perf_counter()
    out = evaluate(series, result, VUS_WINDOW.get(dataset, 100))
    out["eval_s"] = time.perf_counter() - t0
    return out, result.labels


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    common.apply_malloc_setting()


def _print(line: str) -> None:
    print(line, flush=True)


def method_seeds(method: str, seeds: Sequence[int]) -> list[int]:
    """seqae rows run every seed; the peers run once, on the first seed."""
    return list(seeds) if method in CANDIDATES else list(seeds[:1])


def run_suite(
    datasets: Sequence[str],
    methods: Sequence[str],
    seeds: Sequence[int],
    *,
    quick: bool = False,
    data: Path | Mapping[str, Path] | None = None,
    jobs: int = 1,
    max_fit_rows: int | None = None,
    threads: int = 1,
    progress: Callable[[str], None] | None = _print,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``runs[dataset][method]`` = one entry per seed: its summary and its per-series metrics.

    ``data`` is the datasets folder, or one folder per dataset (:func:`data_roots`).
    """
    series: dict[tuple[str, int], list[Series]] = {}
    for ds in datasets:
        root = data.get(ds) if isinstance(data, Mapping) else data
        for seed in seeds if ds in PER_SEED else seeds[:1]:
            loaded = load_dataset(ds, quick, data=root, seed=seed)
            if max_fit_rows is not None:
                loaded = [crop(s, max_fit_rows, None) for s in loaded]
            series[ds, seed] = loaded

    def units(ds: str, seed: int) -> list[Series]:
        return series[ds, seed if ds in PER_SEED else seeds[0]]

    keys = [
        (ds, m, seed, i)
        for ds in datasets
        for m in methods
        for seed in method_seeds(m, seeds)
        for i in range(len(units(ds, seed)))
    ]
    pool = None
    if jobs > 1:
        pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(threads,))
    done: dict[tuple[str, str, int, int], tuple[dict, np.ndarray]] = {}

    def note(key: tuple[str, str, int, int]) -> None:
        e = done[key][0]
        if progress is not None:
            progress(
                f"  {key[0]} {key[1]} seed {key[2]} {e['series']}: fit {e['fit_s']:.1f} s, "
                f"score {e['score_s']:.1f} s, metrics {e['eval_s']:.1f} s"
            )

    try:
        if pool is None:
            for k in keys:
                done[k] = _task(k[0], k[1], k[2], units(k[0], k[2])[k[3]])
                note(k)
        else:
            futures = {
                k: pool.submit(_task, k[0], k[1], k[2], units(k[0], k[2])[k[3]]) for k in keys
            }
            for k, f in futures.items():
                done[k] = f.result()
                note(k)
    finally:
        if pool is not None:
            pool.shutdown()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for ds in datasets:
        runs[ds] = {}
        for m in methods:
            runs[ds][m] = []
            for seed in method_seeds(m, seeds):
                group = units(ds, seed)
                outs = [done[ds, m, seed, i] for i in range(len(group))]
                evals, predicted = [o[0] for o in outs], [o[1] for o in outs]
                summary = summarise(ds, group, evals, predicted)
                runs[ds][m].append({"seed": seed, "summary": summary, "series": evals})
                if progress is not None:
                    progress(f"{ds:9s} {m:8s} seed {seed}: " + _brief(summary))
    return runs


def _brief(summary: dict[str, Any]) -> str:
    keys = ("vus_pr", "auc_pr", "f1", "far", "time_s")
    return "  ".join(f"{k} {common.fmt(summary.get(k))}" for k in keys)


# ----------------------------------------------------------------------------- reporting

COLUMNS = (
    ("auc_pr", "AUC-PR", 3),
    ("vus_pr", "VUS-PR", 3),
    ("f1", "F1", 3),
    ("far", "FAR %", 1),
    ("mar", "MAR %", 1),
    ("event_f1", "event F1", 3),
    ("hit100", "HR@100", 3),
    ("hit150", "HR@150", 3),
    ("time_s", "time s", 1),
)
EXTRA_COLUMNS = {
    "skab": (("nab", "NAB std", 2), ("normal_far", "anomaly-free FAR %", 1)),
    "tep": (("detection_rate", "detection rate", 3), ("far_prefault", "FAR rows<160+d00 %", 1)),
    "short": (
        ("event_recall", "event recall", 3),
        ("false_events_5k", "false events /5k", 2),
        ("false_rows_1k", "false rows /1k", 1),
        ("delay", "delay rows", 0),
    ),
    "wide": (
        ("faults_found", "found", 0),
        ("faults_named", "named first", 0),
        ("n_faults", "faults", 0),
        ("faults_found_min", "found, worst stream", 0),
        ("faults_named_min", "named, worst stream", 0),
        ("event_precision", "event precision", 3),
    ),
}


def cell(per_seed: Sequence[dict[str, Any]], key: str, digits: int) -> str:
    vals = [p["summary"].get(key) for p in per_seed]
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    return common.pm(vals, digits) if len(per_seed) > 1 else common.fmt(vals[0], digits)


def row_name(method: str) -> str:
    return f"seqae {method}" if method in CANDIDATES else method


def dataset_table(dataset: str, by_method: dict[str, list[dict[str, Any]]]) -> str:
    cols = (*COLUMNS, *EXTRA_COLUMNS.get(dataset, ()))
    rows = [
        [row_name(m), *(cell(per_seed, k, d) for k, _, d in cols)]
        for m, per_seed in by_method.items()
        if per_seed
    ]
    return common.table(["method", *(h for _, h, _ in cols)], rows)


def headline_table(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    methods = list(dict.fromkeys(m for by in runs.values() for m in by))
    rows = [
        [row_name(m), *(cell(runs[ds].get(m, []), "vus_pr", 3) for ds in runs)] for m in methods
    ]
    return common.table(["method", *runs], rows)


#: The development datasets and the FAR budget of the selection rule in suite-rounds.md.
RULE_DATASETS = ("smd", "skab", "synthetic")
RULE_FREE_FAR = 5.0


def selection_scores(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[list[Any]]:
    """Per seqae row: mean over the development datasets of (VUS-PR + F1) / 2, and eligibility."""
    if not all(ds in runs for ds in RULE_DATASETS):
        return []
    rows = []
    for m in CANDIDATES:
        if not all(runs[ds].get(m) for ds in RULE_DATASETS):
            continue
        per_ds = [common.rule_value(runs[ds][m]) for ds in RULE_DATASETS]
        free = common.rule_free_far(runs["skab"][m])
        time_s = _mean([p["summary"]["time_s"] for ds in RULE_DATASETS for p in runs[ds][m]])
        eligible = free is not None and free <= RULE_FREE_FAR
        rows.append([row_name(m), *per_ds, float(np.mean(per_ds)), free, eligible, time_s])
    return rows


def markdown(report: dict[str, Any]) -> str:
    runs = report["runs"]
    parts = [
        common.header(
            "Development suite (issue 14)", report["machine"], report["command"], report["date"]
        ),
        f"- Seeds: {report['seeds']} (seqae rows: mean ± std over seeds; peers once, on the "
        f"first seed); quick: {report['quick']}; training rows capped at "
        f"{report['max_fit_rows'] or 'none (full)'}; total wall time {report['wall_s']:.0f} s",
        f"- seqae imported from {report.get('seqae_source', '?')}\n",
        "Protocol: fit on each series' normal / training part only, score its test part alone; "
        "labels are only read to score. VUS-PR buffers up to 60 rows on SKAB, 100 elsewhere. "
        "F1 / FAR / MAR / event F1 at each method's own alarm line (seqae: `detect().labels`; "
        "iforest: `predict`; pyod-ae: its fitted threshold; kmeans: 99th percentile of its "
        "training scores). HR@P: HitRate@P% from the per-channel attribution on the labelled "
        "rows of the interpretation segments (seqae: `contributions`; kmeans: each channel's "
        "share of the squared distance; pyod-ae and iforest have none).\n",
        "## Headline: VUS-PR per dataset\n",
        headline_table(runs),
    ]
    sel = selection_scores(runs)
    if sel:
        parts += [
            "\n## Selection rule (suite-rounds.md)\n",
            "(VUS-PR + F1) / 2 per development dataset, their mean, and the SKAB anomaly-free "
            f"FAR (eligible at <= {RULE_FREE_FAR:g} %).\n",
            common.table(
                ["candidate", *RULE_DATASETS, "mean", "anomaly-free FAR %", "eligible", "time s"],
                sel,
            ),
        ]
    for ds, by_method in runs.items():
        parts += [f"\n## {ds}\n", report["describe"][ds], "", dataset_table(ds, by_method)]
        parts += ["", *(f"Published: {line}" for line in PUBLISHED[ds])]
    parts += ["\n## Methods\n"]
    for m in report["methods"]:
        if m in CANDIDATES:
            parts.append(f"- seqae {m}: `Detector(**{CANDIDATES[m]}, random_state=seed)`")
    parts += [
        "- pyod-ae: PyOD AutoEncoder, documented defaults (contamination 0.1), 16 standardised "
        "steps stacked per row (skab.py's row); labels from its fitted threshold",
        "- iforest: scikit-learn IsolationForest, defaults, random_state=seed, standardised rows",
        "- kmeans: TSB-AD's KMeansAD: windows of 16 standardised steps, stride 1, k=20 KMeans on "
        "at most 20,000 training windows, distance to the nearest centroid averaged over the "
        "windows covering each step; alarm line at the 99th percentile of training scores",
        "- zscore: rolling z-score (windowed Gaussian): each channel's distance from the mean of "
        f"its last {tracks.ZSCORE_WINDOW} rows in their standard deviation, the largest over "
        f"channels; alarm line at the {tracks.ZSCORE_QUANTILE:.1%} quantile of training scores",
    ]
    for line in report.get("skipped", []):
        parts.append(f"- skipped: {line}")
    parts += [
        "\n## Rounds\n",
        "Each development round that read test labels, and the selection rule, are recorded in "
        "[suite-rounds.md](suite-rounds.md) (appended to by hand; this script never rewrites it).",
    ]
    return "\n".join(parts)


def describe(ds: str, by_method: dict[str, list[dict[str, Any]]], max_fit_rows: int | None) -> str:
    """One line: how many series, scored rows and fitted rows the table covers."""
    first = next((p for per in by_method.values() for p in per), None)
    if first is None:
        return ""
    n_rows = sum(e["tp"] + e["fp"] + e["tn"] + e["fn"] for e in first["series"])
    cap = ""
    if max_fit_rows:
        cap = f" (training parts longer than {max_fit_rows:,} rows cut to their last ones)"
    return (
        f"{len(first['series'])} series, {n_rows:,} scored rows, "
        f"{first['summary']['fit_rows']:,} fitted rows{cap}; time = fit + score s per series."
    )


# ---------------------------------------------------------------------------------- main


def seqae_source() -> str:
    """Where ``seqae`` was imported from, and the repository's HEAD commit."""
    import subprocess

    import seqae

    where = Path(seqae.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(common.ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        head = ""
    return f"{where} (repository HEAD {head or 'unknown'} at the start of the run)"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="datasets folder (default: $SEQAE_DATASETS, else shared/datasets beside the "
        "repository, else the download cache)",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="fetch the datasets the folder lacks from their upstream repositories (pinned "
        "commits, SHA-256 checked) into --data if given, else $SEQAE_DATA or ~/.cache/seqae",
    )
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument(
        "--methods",
        nargs="+",
        default=list(HEADLINE_METHODS),
        choices=ALL_METHODS,
        help=f"default: {' '.join(HEADLINE_METHODS)}",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 0 1 2 (--quick: 0)")
    p.add_argument(
        "--quick", action="store_true", help="a slice of each dataset, one seed unless --seeds"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes over series (default: one per core, each with --threads torch threads)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per process (default 1: on a shared 2-core machine two threads "
        "ran the default detector's fit 10x slower)",
    )
    p.add_argument("--max-fit-rows", type=int, default=None, help="cap every training part")
    p.add_argument("--name", default=None, help="results name (default suite / suite-quick)")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    args.seeds = args.seeds or list(DEFAULT_SEEDS[:1] if args.quick else DEFAULT_SEEDS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = args.seeds
    data = args.data or default_data()
    common.apply_malloc_setting()
    import torch  # (and so the machine description names the GPU, if any)

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    source = seqae_source()  # now: HEAD may move while a long run goes on
    try:
        roots = data_roots(
            args.datasets, data, download=args.download, into=args.data, progress=_print
        )
    except (DataError, ParameterError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    skipped = [
        f"{ds}: no folder at {roots[ds] / ds} (--download fetches it)"
        for ds in args.datasets
        if not available(ds, roots[ds])
    ]
    datasets = [ds for ds in args.datasets if available(ds, roots[ds])]
    methods = list(args.methods)
    if "pyod-ae" in methods and (why := skab.pyod_missing()):
        methods.remove("pyod-ae")
        skipped.append(f"pyod-ae: {why}")
        print(f"skipped pyod-ae: {why}", file=sys.stderr)
    runs = run_suite(
        datasets, methods, seeds, quick=args.quick, data=roots, jobs=args.jobs,
        max_fit_rows=args.max_fit_rows, threads=args.threads,
    )  # fmt: skip
    report: dict[str, Any] = {
        "date": common.now(),
        "command": common.command_line(),
        "machine": common.machine(),
        "seqae_source": source,
        "seeds": seeds,
        "quick": args.quick,
        "max_fit_rows": args.max_fit_rows,
        "methods": methods,
        "candidates": CANDIDATES,
        "vus_window": VUS_WINDOW,
        "skipped": skipped,
        "published": PUBLISHED,
        "describe": {ds: describe(ds, runs[ds], args.max_fit_rows) for ds in runs},
        "runs": runs,
        "wall_s": time.perf_counter() - t0,
    }
    text = markdown(report)
    print()
    print(text)
    if not args.no_write:
        path = common.write_results(
            args.name or ("suite-quick" if args.quick else "suite"), text, report
        )
        print(f"\nwrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
