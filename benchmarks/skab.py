"""SKAB benchmark under the current leaderboard protocol, with side-by-side baselines.

    python benchmarks/skab.py               # every method, seeds 0 1 2 -> results/skab.*
    python benchmarks/skab.py --quick       # one seed
    python benchmarks/skab.py --models conv1d pca --seeds 0 1 2 3 4
    python benchmarks/skab.py --dev         # the label-free development protocol only

Protocol (SKAB's leaderboard, see ../shared/datasets/skab/SOURCE.md): for each of the 34
labelled files the scaler and the detector are fitted on the first 400 rows only and score the
rest on their own; F1, FAR and MAR come from confusion counts summed over the 34 test parts;
the NAB score uses SKAB's rules (a 60 s window to the right of each true changepoint,
changepoints = |diff(binary prediction)|). Training labels are never used: ``other/2`` has an
anomaly inside its first 400 rows and is kept anyway, as upstream does.

Configuration: every setting in :data:`CONFIGS` was chosen with the development protocol of
:func:`development` (``--dev``), which looks only at training parts and at the anomaly-free
run: false alarms on normal data the detector has not seen, and synthetic faults injected into
the anomaly-free run. The test labels are read only to score the final run.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package

from seqae.metrics import (
    auc_pr,
    changepoints_from_labels,
    evaluate,
    nab_score,
    pooled_scores,
)
from seqae.scoring.events import postprocess_labels
from seqae.scoring.thresholds import fit_threshold

TRAIN_ROWS = 400
NAB_WINDOW = "60s"
#: VUS-PR buffer lengths 0..60 rows (60 s, the NAB window), not the library default (the median
#: anomaly length, ~400 rows here, would widen each anomaly over most of a test part).
VUS_MAX_WINDOW = 60
DEFAULT_DATA = common.ROOT.parent / "shared" / "datasets" / "skab"
DEFAULT_SEEDS = (0, 1, 2)

#: Marks a row whose channel weights come from the anomaly-free run (:func:`free_run_weights`),
#: computed per seed before the 34 files are scored.
FREE_RUN_WEIGHTS = "anomaly-free run"
#: The previous round's conv1d pick: summed error, equal weights (skab-dev-conv1d.md).
_CONV1D_EQUAL: dict[str, Any] = {
    "model": "conv1d",
    "frame": 64,
    "epochs": 60,
    "threshold": "sigma",
    "sigma": 14.0,
    "min_event_length": 30,
    "merge_gap": 30,
}
#: The tuned conv1d detector (the target row): channels weighted by 1 / their drift on the
#: anomaly-free run, and the alarm line and event rules that the development rule picked for
#: that score (skab-variants.md, variant free-weights-1); see NOTES.
_CONV1D: dict[str, Any] = {
    **_CONV1D_EQUAL,
    "channel_weights": FREE_RUN_WEIGHTS,
    "sigma": 8.0,
    "merge_gap": 60,
}
#: The 0.1 library defaults these rows were chosen under (line on in-sample training scores, no
#: drift-aware line, equal channel norms, unbounded epochs), pinned so the rows reproduce.
_V01: dict[str, Any] = {
    "calibration": "training",
    "drift_window": None,
    "channel_norm": False,
    "steps_per_epoch": None,
}
#: Detector settings per seqae row; one configuration for all 34 files (see --dev).
CONFIGS: dict[str, dict[str, Any]] = {
    "conv1d": _CONV1D,
    "conv1d-equal-weights": _CONV1D_EQUAL,
    "lstm": {
        "model": "lstm",
        "frame": 64,
        "epochs": 30,
        "model_params": {"hidden_size": 32, "latent_dim": 8},
        "threshold": "sigma",
        "sigma": 20.0,
        "min_event_length": 20,
        "merge_gap": 20,
    },
    "dense": {
        "model": "dense",
        "frame": 64,
        "epochs": 30,
        "threshold": "sigma",
        "sigma": 16.0,
        "min_event_length": 10,
        "merge_gap": 30,
    },
    "pca": {
        "model": "pca",
        "frame": 32,
        "model_params": {"n_components": 5},
        "threshold": "sigma",
        "sigma": 12.0,
        "min_event_length": 30,
        "merge_gap": 30,
    },
    # The previous round's pick scored frame by frame (step 1), not in one convolutional pass.
    "conv1d-windowed": {**_CONV1D_EQUAL, "scoring": "windowed"},
    # What a user gets without settings: Detector(model="conv1d") (today's defaults).
    "conv1d-defaults": {"model": "conv1d"},
    # The default line with the event rules of the pick: a fixed comparison row, NOT chosen by
    # the development rule (it breaks the rule's FAR budget on the anomaly-free run).
    "conv1d-defaults-events": {"model": "conv1d", "min_event_length": 30, "merge_gap": 30},
}
for _name, _config in CONFIGS.items():
    if _name not in ("conv1d-defaults", "conv1d-defaults-events"):
        CONFIGS[_name] = {**_V01, **_config}
PEERS = ("iforest", "pyod-ae")
ALL_METHODS = (*CONFIGS, *PEERS)
TARGET_METHOD = "conv1d"

#: The current SKAB leaderboard, quoted as published (SOURCE.md): F1, FAR %, MAR %.
PUBLISHED_OUTLIER = (
    ("Conv-AE", 0.78, 13.55, 28.02),
    ("MSET", 0.78, 39.73, 14.13),
    ("T-squared+Q (PCA-based)", 0.76, 26.62, 24.92),
    ("LSTM-AE", 0.74, 29.96, 25.92),
    ("Isolation forest", 0.29, 2.56, 82.89),
)
#: NAB standard, LowFP, LowFN, missed CPs, FPs (60 s window, right side).
PUBLISHED_NAB = (
    ("MSCRED", 32.42, 16.53, 40.28, 55, 342),
    ("Isolation forest", 26.16, 19.5, 30.82, 76, 135),
    ("T-squared+Q (PCA-based)", 25.35, 14.51, 31.33, 72, 232),
    ("Conv-AE", 23.61, 21.54, 27.55, 82, 23),
    ("LSTM-AE", 23.51, 20.11, 25.91, 88, 69),
    ("MSET", 13.84, 10.22, 17.37, 96, 66),
)
#: What a reader must know about how the configuration was chosen (printed in the results).
NOTES: tuple[str, ...] = (
    "- Rule (unchanged since the first round, fixed before any test run): the highest "
    "synthetic-fault F1 among settings whose FAR on the unseen anomaly-free run is <= 10 %.",
    "- This round (the third look at the test labels): the score weights each channel's error "
    "by 1 / its drift on the anomaly-free run (free_run_weights: median ratio of unseen to "
    "training error over the run's 8 SKAB-sized chunks; no labelled file is read). "
    "skab_variants.py judged 17 score and threshold variants by the rule on 6 seeds with 8 "
    "synthetic faults per chunk (skab-variants.md); free-weights-1 scored highest: synthetic "
    "F1 0.772 against 0.721 for equal weights, higher on 6 of 6 seeds, with sigma 8, "
    "min_event_length 30, merge_gap 60. That is the conv1d row; the variants ran before this "
    "test run, and the test labels were read only to score it.",
    "- Post-hoc, on development data only: the variants runs use 8 synthetic faults per chunk, "
    "not 2, after the equal-weight score's synthetic F1 moved from 0.77 (seeds 0-2) to 0.69 "
    "(seeds 3-5) with 2, more than the differences being judged.",
    "- Earlier rounds, for the record: round 1 picked sigma 16 (F1 0.638 on test); round 2, "
    "after seeing it, widened the development grid (sigma 4-20, pot and quantile lines, "
    "event rules) and the synthetic faults (3-8 to 1.5-8 training std), and picked sigma 14 "
    "with events >= 30 rows merged within 30: conv1d-equal-weights, re-run here. pot and "
    "quantile lines lose on the rule's own terms: with 400 training rows POT has 8 excesses "
    "and falls back to the empirical quantile, which the anomaly-free run's drift crosses "
    "(free FAR 45-95 %, skab-dev-conv1d.md).",
    "- conv1d-defaults-events is Detector() with round 2's event rules, a fixed comparison "
    "row that the rule did not choose.",
)
TARGETS = {"f1": 0.82, "far": 15.0, "mar": 25.0, "nab": 32.42}


# --------------------------------------------------------------------------- the protocol


@dataclass
class Split:
    """One file cut as the leaderboard does: the first ``TRAIN_ROWS`` rows fit, the rest test."""

    name: str
    train: np.ndarray  # (400, C) float32
    test: np.ndarray  # (T - 400, C) float32
    labels: np.ndarray  # (T - 400,) int8 anomaly labels of the test part
    changepoints: np.ndarray  # (T - 400,) int8
    timestamps: np.ndarray  # (T - 400,) datetime64[ns]


def split_experiment(experiment: Any, train_rows: int = TRAIN_ROWS) -> Split:
    """Cut one :class:`~seqae.datasets.SkabExperiment` into its training and test parts."""
    values = experiment.data.values
    if experiment.anomaly is None or len(values) <= train_rows:
        raise ValueError(f"{experiment.name}: not a labelled file longer than {train_rows} rows")
    stamps = np.asarray(experiment.data.timestamps, dtype="datetime64[ns]")
    return Split(
        name=experiment.name,
        train=values[:train_rows],
        test=values[train_rows:],
        labels=np.asarray(experiment.anomaly[train_rows:], dtype=np.int8),
        changepoints=np.asarray(experiment.changepoint[train_rows:], dtype=np.int8),
        timestamps=stamps[train_rows:],
    )


def load_splits(path: Path, files: Sequence[str] | None = None) -> tuple[list[Split], Any]:
    """The 34 labelled files as splits, and the anomaly-free run (a SkabExperiment)."""
    from seqae.datasets import load_skab

    experiments = load_skab(path, include_anomaly_free=True)
    free = next(e for e in experiments if e.anomaly is None)
    labelled = [e for e in experiments if e.anomaly is not None]
    if files:
        unknown = sorted(set(files) - {e.name for e in labelled})
        if unknown:
            raise SystemExit(f"unknown SKAB files {unknown}; names look like 'valve1/0'")
        labelled = [e for e in labelled if e.name in files]
    return [split_experiment(e) for e in labelled], free


class Method:
    """A detector under test: ``fit`` on a training part, ``score`` a test part."""

    name: str

    def fit(self, train: np.ndarray) -> None:
        raise NotImplementedError

    def score(self, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores (higher = more anomalous) and 0/1 labels per timestep."""
        raise NotImplementedError


class SeqaeMethod(Method):
    """A :class:`seqae.Detector` with fixed parameters."""

    def __init__(self, name: str, params: dict[str, Any], seed: int) -> None:
        self.name, self.params, self.seed = name, dict(params), seed

    def fit(self, train: np.ndarray) -> None:
        from seqae import Detector

        self.detector = Detector(**self.params, random_state=self.seed).fit(train)

    def score(self, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = self.detector.detect(test)
        return result.scores, result.labels


def fit_scaler(train: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    return lambda x: (x - mean) / std


class IsolationForestMethod(Method):
    """scikit-learn's IsolationForest on standardised timesteps, its default threshold."""

    name = "iforest"

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, train: np.ndarray) -> None:
        from sklearn.ensemble import IsolationForest

        self.scale = fit_scaler(train)
        self.model = IsolationForest(random_state=self.seed).fit(self.scale(train))

    def score(self, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.scale(test)
        return -self.model.score_samples(x), (self.model.predict(x) == -1).astype(np.int8)


def stacked_windows(x: np.ndarray, width: int) -> np.ndarray:
    """Row t = the ``width`` rows ending at t, flattened (the first rows repeat row 0)."""
    padded = np.concatenate([np.repeat(x[:1], width - 1, axis=0), x])
    view = np.lib.stride_tricks.sliding_window_view(padded, width, axis=0)  # (T, C, width)
    return np.ascontiguousarray(view.transpose(0, 2, 1)).reshape(len(x), -1)


class PyodAutoEncoderMethod(Method):
    """PyOD's AutoEncoder with its defaults on stacked windows of 16 timesteps."""

    name = "pyod-ae"
    width = 16

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, train: np.ndarray) -> None:
        from pyod.models.auto_encoder import AutoEncoder

        self.scale = fit_scaler(train)
        self.model = AutoEncoder(random_state=self.seed, verbose=0)
        self.model.fit(stacked_windows(self.scale(train), self.width))

    def score(self, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = stacked_windows(self.scale(test), self.width)
        return self.model.decision_function(x), self.model.predict(x).astype(np.int8)


def pyod_missing() -> str | None:
    """Why PyOD's AutoEncoder cannot be imported here (None: it can)."""
    try:
        import pyod.models.auto_encoder  # noqa: F401
    except ImportError as e:
        return f"cannot import PyOD's AutoEncoder ({e}); pip install 'seqae[bench]'"
    return None


def needs_free_run_weights(name: str) -> bool:
    """Whether the row ``name`` weights its channels by :func:`free_run_weights`."""
    return name in CONFIGS and CONFIGS[name].get("channel_weights") == FREE_RUN_WEIGHTS


def make_method(name: str, seed: int, weights: list[float] | None = None) -> Method:
    """The method ``name``; ``weights`` replace a :data:`FREE_RUN_WEIGHTS` marker."""
    if name in CONFIGS:
        params = dict(CONFIGS[name])
        if needs_free_run_weights(name):
            if weights is None:
                raise ValueError(f"{name} needs channel weights from the anomaly-free run")
            params["channel_weights"] = weights
        return SeqaeMethod(name, params, seed)
    if name == "iforest":
        return IsolationForestMethod(seed)
    if name == "pyod-ae":
        return PyodAutoEncoderMethod(seed)
    raise ValueError(f"unknown method {name!r}; choose from {ALL_METHODS}")


@dataclass
class FileResult:
    """One method on one file: counts, metrics, timings, and the arrays pooling needs."""

    name: str
    counts: dict[str, int]
    metrics: dict[str, float | None]
    fit_s: float
    score_s: float
    scores: np.ndarray = field(repr=False)
    predicted: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.name,
            **self.counts,
            **self.metrics,
            "fit_s": self.fit_s,
            "score_s": self.score_s,
        }


def evaluate_file(split: Split, method: Method) -> FileResult:
    """Fit on the training part, score the test part alone, and measure."""
    t0 = time.perf_counter()
    method.fit(split.train)
    t1 = time.perf_counter()
    scores, predicted = method.score(split.test)
    t2 = time.perf_counter()
    scores = np.asarray(scores, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.int8)
    if scores.shape != split.labels.shape or predicted.shape != split.labels.shape:
        raise RuntimeError(f"{method.name} on {split.name}: got {scores.shape}, {predicted.shape}")
    every = evaluate(split.labels, scores, predicted, vus_window=VUS_MAX_WINDOW)
    counts = {key: every[key] for key in ("tp", "fp", "tn", "fn")}
    metrics = {key: every[key] for key in ("f1", "far", "mar", "auc_pr", "vus_pr")}
    return FileResult(split.name, counts, metrics, t1 - t0, t2 - t1, scores, predicted)


def pool(splits: Sequence[Split], results: Sequence[FileResult]) -> dict[str, Any]:
    """SKAB's pooled metrics over files: summed counts, NAB, and AUC summaries."""
    point = pooled_scores((s.labels, r.predicted) for s, r in zip(splits, results, strict=True))
    true_cps = [s.changepoints for s in splits]
    pred_cps = [changepoints_from_labels(r.predicted) for r in results]
    stamps = [s.timestamps for s in splits]
    out: dict[str, Any] = dict(point)
    for profile in ("standard", "low_fp", "low_fn"):
        nab = nab_score(true_cps, pred_cps, stamps, window=NAB_WINDOW, profile=profile)
        out[f"nab_{profile}"] = nab.score
        if profile == "standard":
            out["missed_cps"], out["fp_cps"], out["n_cps"] = nab.missed, nab.fps, nab.n_changepoints
    labels = np.concatenate([s.labels for s in splits])
    out["auc_pr_pooled"] = auc_pr(labels, np.concatenate([r.scores for r in results]))
    for key in ("auc_pr", "vus_pr"):
        vals = [r.metrics[key] for r in results if r.metrics[key] is not None]
        out[f"{key}_mean"] = float(np.mean(vals)) if vals else None
    out["fit_s"] = float(sum(r.fit_s for r in results))
    out["score_s"] = float(sum(r.score_s for r in results))
    return out


def run_method(
    name: str,
    splits: Sequence[Split],
    seed: int,
    progress: Callable[[str], None] | None = None,
    free: Any = None,
) -> tuple[dict[str, Any], list[FileResult]]:
    """One method, one seed, every file: pooled metrics and per-file results.

    ``free`` (the anomaly-free run) is needed by rows weighted by :data:`FREE_RUN_WEIGHTS`;
    their weights are computed once per seed and their time counts in ``wall_s``.
    """
    results = []
    t0 = time.perf_counter()
    weights = free_run_weights(free, seed) if needs_free_run_weights(name) else None
    for split in splits:
        results.append(evaluate_file(split, make_method(name, seed, weights)))
        if progress is not None:
            progress(f"{name} seed {seed} {split.name}")
    pooled = pool(splits, results)
    pooled["wall_s"] = time.perf_counter() - t0
    return pooled, results


# ------------------------------------------------------------------ development protocol
#
# Everything below reads only the training parts (first 400 rows) and the anomaly-free run.


def _anomaly_free_chunks(free: Any, n_chunks: int = 8) -> list[np.ndarray]:
    """The anomaly-free run cut into ``n_chunks`` files of SKAB's size (~1,175 rows)."""
    values = free.data.values
    n = len(values) // n_chunks
    return [values[i * n : (i + 1) * n] for i in range(n_chunks)]


#: Size of a synthetic fault in training standard deviations. Widened from (3, 8) to (1.5, 8)
#: after the first test results (post-hoc, see NOTES): 3-8 std faults were easier than SKAB's.
FAULT_STD = (1.5, 8.0)


def inject_fault(
    x: np.ndarray, rng: np.random.Generator, std_range: tuple[float, float] = FAULT_STD
) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic fault after row ``TRAIN_ROWS`` of ``x``: a step, a ramp or extra noise.

    1-3 channels, ``std_range`` training standard deviations, starting 100-300 rows after the
    training part and lasting 250-450 rows. These ranges are assumptions (SKAB's faults are
    valve closures, leaks, imbalance, cavitation...), not read from any label.
    """
    x = x.copy()
    sd = x[:TRAIN_ROWS].std(0)
    start = TRAIN_ROWS + int(rng.integers(100, 300))
    end = min(len(x), start + int(rng.integers(250, 450)))
    kind = int(rng.integers(0, 3))
    channels = rng.choice(x.shape[1], size=int(rng.integers(1, 4)), replace=False)
    size = rng.uniform(*std_range)
    for c in channels:
        sign = rng.choice([-1.0, 1.0])
        if kind == 0:
            x[start:end, c] += sign * size * sd[c]
        elif kind == 1:
            x[start:end, c] += sign * size * sd[c] * np.linspace(0, 1.5, end - start)
        else:
            x[start:end, c] += rng.normal(0, size * sd[c], end - start).astype(x.dtype)
    y = np.zeros(len(x), np.int8)
    y[start:end] = 1
    return x, y


#: Architecture candidates the development protocol compares (threshold settings are swept on
#: top of each); the base of :data:`CONFIGS` is always included.
DEV_CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "conv1d": [
        {"frame": 32},
        {"frame": 128},
        {"frame": 64, "model_params": {"filters": (16, 16, 8)}},
        {"epochs": 30},
    ],
    "lstm": [{"frame": 32}],
    "dense": [{"frame": 32}, {"frame": 32, "model_params": {"hidden": (32, 8)}}],
    "pca": [{"frame": 64}, {"frame": 32, "model_params": {"n_components": 3}}],
}
#: Alarm lines the development protocol sweeps: three threshold families, each line fitted on
#: the raw training scores of each fitted detector exactly as ``Detector.fit`` does.
DEV_THRESHOLDS: tuple[dict[str, Any], ...] = (
    *({"threshold": "sigma", "sigma": k} for k in (4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0)),
    *({"threshold": "pot", "risk": r} for r in (1e-2, 1e-3, 1e-4)),
    *({"threshold": "quantile", "contamination": c} for c in (0.01, 0.005)),
)
#: (min_event_length, merge_gap) pairs swept on top of every line.
DEV_EVENTS = tuple(itertools.product((1, 10, 30), (0, 10, 30, 60)))
DEV_FAR_BUDGET = 10.0  # % false alarms on the unseen anomaly-free data
_SWEPT = ("threshold", "sigma", "risk", "contamination", "min_event_length", "merge_gap")
#: Not part of the architecture the development runs fit (the weights are judged by
#: skab_variants.py, on top of the equal-weight detector).
NOT_BASE = (*_SWEPT, "channel_weights")


def free_run_weights(free: Any, seed: int) -> list[float]:
    """Channel weights ``1 / median(unseen / training error)`` over the anomaly-free chunks.

    For each of the 8 SKAB-sized chunks of the anomaly-free run, the equal-weight conv1d is
    fitted on the first 400 rows; a channel's ratio is its mean error on the rest over its
    mean error on those 400 rows. Channels that drift in normal operation get small weights.
    No labelled file is read.
    """
    from seqae import Detector

    params = {k: v for k, v in CONFIGS["conv1d"].items() if k not in NOT_BASE}
    pairs = []
    for chunk in _anomaly_free_chunks(free):
        det = Detector(**params, random_state=seed).fit(chunk[:TRAIN_ROWS])
        train = det.detect(chunk[:TRAIN_ROWS]).contributions
        pairs.append((train, det.detect(chunk[TRAIN_ROWS:]).contributions))
    return drift_weights(pairs).tolist()


def drift_weights(pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``1 / median(unseen / training mean error)`` per channel, over ``(train, unseen)`` pairs.

    Each pair holds one fit's per-channel errors ``(T, C)`` on its training rows and on unseen
    normal rows; the median is over pairs.
    """
    ratios = [unseen.mean(0) / train.mean(0) for train, unseen in pairs]
    return 1.0 / np.median(ratios, axis=0)


@functools.cache
def _detector_defaults() -> dict[str, Any]:
    from seqae import Detector

    return Detector().get_params()


def dev_line(train_raw: np.ndarray, setting: dict[str, Any]) -> float:
    """The raw alarm line ``Detector(**setting, calibration="training").fit`` would draw from
    these training scores (the in-sample calibration the development rounds used)."""
    d = {**_detector_defaults(), **setting}
    return fit_threshold(
        train_raw,
        d["threshold"],
        k=d["sigma"],
        risk=d["risk"],
        contamination=d["contamination"],
    )


def describe_line(setting: dict[str, Any]) -> str:
    """``sigma 16``, ``pot 0.001``, ``quantile 0.01``: a threshold setting in a few words."""
    key = {"sigma": "sigma", "robust": "risk", "pot": "risk", "quantile": "contamination"}[
        setting["threshold"]
    ]
    return f"{setting['threshold']} {setting[key]:g}"


def dev_files(
    free: Any,
    splits: Sequence[Split],
    seed: int,
    fault_std: tuple[float, float] = FAULT_STD,
    faults_per_chunk: int = 2,
) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Every development unit as ``(kind, training rows, evaluation rows, labels)``.

    8 anomaly-free chunks (``free``: fit on the first 400 rows, score the rest), each followed by
    ``faults_per_chunk`` synthetic faults injected into that chunk (``synthetic``, the same
    training rows object),
    then every training part split into 256 rows to fit and 144 normal rows to score
    (``holdout``). No SKAB test row is used.
    """
    rng = np.random.default_rng(1000 + seed)
    for chunk in _anomaly_free_chunks(free):
        train = chunk[:TRAIN_ROWS]
        yield "free", train, chunk[TRAIN_ROWS:], np.zeros(len(chunk) - TRAIN_ROWS, np.int8)
        for _ in range(faults_per_chunk):
            x, y = inject_fault(chunk, rng, fault_std)
            yield "synthetic", train, x[TRAIN_ROWS:], y[TRAIN_ROWS:]
    cut = TRAIN_ROWS - 144
    for split in splits:
        yield "holdout", split.train[:cut], split.train[cut:], np.zeros(TRAIN_ROWS - cut, np.int8)


def _dev_units(
    params: dict[str, Any],
    free: Any,
    splits: Sequence[Split],
    seed: int,
    fault_std: tuple[float, float] = FAULT_STD,
) -> list:
    """Fit once per development file; keep raw training and raw evaluation scores."""
    from seqae import Detector

    units, train_raw, fitted_on = [], None, None
    for kind, train, test, y in dev_files(free, splits, seed, fault_std):
        if train is not fitted_on:  # synthetic units reuse their chunk's detector
            det = Detector(**params, random_state=seed).fit(train)
            train_raw, fitted_on = det.train_scores_ * det.threshold_, train
        units.append((kind, train_raw, y, det.score_samples(test) * det.threshold_))
    return units


def _dev_sweep(units: list) -> list[dict[str, Any]]:
    """Every line of :data:`DEV_THRESHOLDS` with every event rule of :data:`DEV_EVENTS`."""
    rows = []
    for setting in DEV_THRESHOLDS:
        flagged = [
            (kind, y, (raw >= dev_line(train_raw, setting)).astype(np.int8))
            for kind, train_raw, y, raw in units
        ]
        for min_length, gap in DEV_EVENTS:
            pairs: dict[str, list] = {"free": [], "synthetic": [], "holdout": []}
            for kind, y, flags in flagged:
                pairs[kind].append(
                    (y, postprocess_labels(flags, min_length=min_length, merge_gap=gap))
                )
            free, syn, hold = (pooled_scores(pairs[k]) for k in ("free", "synthetic", "holdout"))
            onsets = sum(
                int(np.sum(np.diff(f.astype(np.int8), prepend=0) == 1)) for _, f in pairs["free"]
            )
            rows.append(
                {
                    **setting,
                    "line": describe_line(setting),
                    "min_event_length": min_length,
                    "merge_gap": gap,
                    "free_far": free["far"],
                    "free_alarms": onsets / len(pairs["free"]),
                    "holdout_far": hold["far"],
                    "synthetic_f1": syn["f1"],
                    "synthetic_far": syn["far"],
                    "synthetic_mar": syn["mar"],
                }
            )
    return rows


def pick(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The rule: highest synthetic F1 among rows with free FAR <= :data:`DEV_FAR_BUDGET`.

    Ties go to the earlier row; with no row within the budget, the highest F1 of all.
    """
    ok = [r for r in rows if r["free_far"] <= DEV_FAR_BUDGET]
    return max(ok or rows, key=lambda r: r["synthetic_f1"])


def development(
    free: Any,
    splits: Sequence[Split],
    models: Sequence[str],
    seeds: Sequence[int],
    fault_std: tuple[float, float] = FAULT_STD,
) -> dict[str, Any]:
    """Sweep the alarm line and the event rules of each model on label-free data.

    The configuration of each model is then chosen by :func:`pick`.
    """
    out: dict[str, Any] = {}
    for name in models:
        if name not in DEV_CANDIDATES:  # variants of a tuned row are not tuned again
            continue
        configured = CONFIGS[name]
        base = {k: v for k, v in configured.items() if k not in NOT_BASE}
        rows = []
        for extra in [{}, *DEV_CANDIDATES.get(name, [])]:
            params = {**base, **extra}
            units = [u for seed in seeds for u in _dev_units(params, free, splits, seed, fault_std)]
            rows += [{"base": extra or "configured", **r} for r in _dev_sweep(units)]
        out[name] = {
            "base": base,
            "rows": rows,
            "best": pick(rows),
            "configured": {k: configured[k] for k in _SWEPT if k in configured},
        }
    return out


_DEV_HEADERS = [
    "variant",
    "line",
    "min_event_length",
    "merge_gap",
    "free FAR %",
    "free alarms / file",
    "holdout FAR %",
    "synthetic F1",
    "synthetic FAR %",
    "synthetic MAR %",
]


def _dev_table(rows: Sequence[dict[str, Any]]) -> str:
    keys = ("line", "min_event_length", "merge_gap", "free_far", "free_alarms", "holdout_far")
    keys += ("synthetic_f1", "synthetic_far", "synthetic_mar")
    return common.table(
        _DEV_HEADERS, [[str(r["base"]), *(r[k] for k in keys)] for r in rows], digits=2
    )


def development_markdown(
    dev: dict[str, Any], seeds: Sequence[int], fault_std: tuple[float, float] = FAULT_STD
) -> str:
    lines = ", ".join(describe_line(t) for t in DEV_THRESHOLDS)
    parts = [
        "## Development protocol (no test labels)\n",
        "Fitted per file exactly like the benchmark, on data the test labels never touch:\n",
        "- *free*: the anomaly-free run cut in 8 files of ~1,175 rows; fit on the first 400, "
        "FAR on the rest (all normal, with the slow drift of a long run); *free alarms / file*: "
        "alarm events (onsets) per free file, a label-free proxy for NAB's false changepoints.",
        "- *holdout*: each labelled file's training part; fit on rows 0-255, FAR on rows "
        "256-399 (treated as normal; labels unused).",
        "- *synthetic*: two synthetic faults per anomaly-free file (step, ramp or noise on 1-3 "
        f"channels, {fault_std[0]:g}-{fault_std[1]:g} training std, 250-450 rows long), "
        "F1/FAR/MAR.",
        f"\nLines swept: {lines}; event rules: min_event_length x merge_gap in "
        f"{sorted({m for m, _ in DEV_EVENTS})} x {sorted({g for _, g in DEV_EVENTS})}. "
        f"Rule: highest synthetic F1 with free FAR <= {DEV_FAR_BUDGET:g} %. "
        f"Seeds {list(seeds)}.\n",
    ]
    for name, d in dev.items():
        parts.append(f"### {name}\n\nBase: `{d['base']}`\n")
        within = [r for r in d["rows"] if r["free_far"] <= DEV_FAR_BUDGET] or d["rows"]
        ranked = sorted(within, key=lambda r: -r["synthetic_f1"])
        parts.append(f"Best 10 of {len(d['rows'])} settings within the FAR budget:\n")
        parts.append(_dev_table(ranked[:10]))
        best_each = [
            pick([r for r in d["rows"] if r["threshold"] == family])
            for family in dict.fromkeys(t["threshold"] for t in DEV_THRESHOLDS)
        ]
        parts.append(
            "\nBest setting of each threshold family by the same rule (within the FAR budget "
            "where the family has any setting within it):\n"
        )
        parts.append(_dev_table(best_each))
        b = d["best"]
        parts.append(
            f"\nRule picks variant {b['base']}, {b['line']}, "
            f"min_event_length {b['min_event_length']}, "
            f"merge_gap {b['merge_gap']}; configured: {d['configured']}.\n"
        )
    return "\n".join(parts)


# ------------------------------------------------------------------------------ reporting


def _summary_rows(runs: dict[str, list[dict[str, Any]]]) -> list[list[Any]]:
    rows = []
    for name, per_seed in runs.items():
        if not per_seed:
            continue

        def col(key: str, digits: int = 2, per_seed: list = per_seed) -> str:
            vals = [p[key] for p in per_seed if p.get(key) is not None]
            return common.pm(vals, digits) if vals else "–"

        rows.append(
            [
                f"seqae {name}" if name in CONFIGS else name,
                col("f1", 3),
                col("far"),
                col("mar"),
                col("nab_standard"),
                col("nab_low_fp"),
                col("nab_low_fn"),
                col("missed_cps", 1),
                col("fp_cps", 1),
                col("auc_pr_mean", 3),
                col("vus_pr_mean", 3),
                col("fit_s", 1),
                col("score_s", 2),
                col("wall_s", 1),
            ]
        )
    return rows


SUMMARY_HEADERS = [
    "method",
    "F1",
    "FAR %",
    "MAR %",
    "NAB std",
    "NAB LowFP",
    "NAB LowFN",
    "missed CPs",
    "FP CPs",
    "AUC-PR",
    "VUS-PR",
    "fit s (34 files)",
    "score s",
    "wall s",
]


def _targets(per_seed: list[dict[str, Any]]) -> list[str]:
    lines = []
    checks = (
        ("f1", "F1", ">=", TARGETS["f1"]),
        ("far", "FAR %", "<=", TARGETS["far"]),
        ("mar", "MAR %", "<=", TARGETS["mar"]),
        ("nab_standard", "NAB standard", ">", TARGETS["nab"]),
    )
    for key, label, op, goal in checks:
        m, _ = common.mean_std([p[key] for p in per_seed])
        met = m >= goal if op == ">=" else m <= goal if op == "<=" else m > goal
        gap = "" if met else f" (missed by {abs(m - goal):.3g})"
        lines.append(f"- {label} {op} {goal:g}: {m:.3f} — {'met' if met else 'missed'}{gap}")
    return lines


def markdown(report: dict[str, Any]) -> str:
    info, runs = report["machine"], report["runs"]
    pooled = {name: [s["pooled"] for s in seeds] for name, seeds in runs.items()}
    parts = [
        common.header(
            "SKAB benchmark (leaderboard protocol)", info, report["command"], report["date"]
        ),
        f"- Seeds: {report['seeds']}; files: {report['n_files']}; test rows: "
        f"{report['n_test_rows']}; total wall time {report['wall_s']:.0f} s\n",
        "Protocol: per file, the scaler and detector are fitted on the first 400 rows and score "
        "the rest alone; F1/FAR/MAR from confusion counts summed over the test parts; NAB with "
        "SKAB's rules (60 s window right of each true changepoint). Training labels are never "
        "used; `other/2` has an anomaly inside its first 400 rows and is kept, as upstream.\n",
        "## Pooled results (mean ± std over seeds)\n",
        common.table(SUMMARY_HEADERS, _summary_rows(pooled)),
        "\nAUC-PR and VUS-PR are per-file means (VUS-PR with buffers up to "
        f"{VUS_MAX_WINDOW} rows). Times are sums over the 34 files per seed.\n",
    ]
    for name, why in report.get("skipped", {}).items():
        parts.append(f"- {name}: {why}")
    parts += [
        "\n## Published leaderboard (quoted as published, not re-run)\n",
        common.table(["algorithm", "F1", "FAR %", "MAR %"], PUBLISHED_OUTLIER, digits=2),
        "",
        common.table(
            ["algorithm", "NAB std", "NAB LowFP", "NAB LowFN", "missed CPs", "FPs"],
            PUBLISHED_NAB,
            digits=2,
        ),
    ]
    if pooled.get(TARGET_METHOD):
        parts += [f"\n## Targets ({TARGET_METHOD})\n", *_targets(pooled[TARGET_METHOD])]
    parts += [
        "\n## Configurations\n",
        "Chosen once for all files by the label-free development protocol (`--dev`: training "
        "parts and the anomaly-free run only; results in skab-dev-conv1d.md for conv1d with "
        "its default convolutional scoring, skab-dev.md for the others); test labels are read "
        "only to score this run.\n",
    ]
    for name in runs:
        if name in CONFIGS:
            parts.append(f"- seqae {name}: `{CONFIGS[name]}`")
    parts += [
        "- seqae rows use the Detector's default scoring='auto': one chunked, fully "
        "convolutional pass for conv1d, step-1 windows folded by their mean for the others "
        "(and for conv1d-windowed)",
        "- iforest: scikit-learn IsolationForest, defaults (contamination 'auto'), standardised "
        "timesteps",
        "- pyod-ae: PyOD AutoEncoder, defaults (contamination 0.1, 10 epochs), 16 standardised "
        "timesteps stacked per row",
    ]
    if NOTES:
        parts += [f"\n## How the {TARGET_METHOD} configuration was chosen\n", *NOTES]
    parts += _per_file_tables(report)
    if report.get("development"):
        parts += ["", development_markdown(report["development"], report["seeds"])]
    return "\n".join(parts)


def _per_file_tables(report: dict[str, Any]) -> list[str]:
    runs = report["runs"]
    names = [n for n in runs if runs[n]]
    files = [f["file"] for f in runs[names[0]][0]["files"]] if names else []

    def mean_of(name: str, i: int, key: str) -> float | None:
        vals = [s["files"][i][key] for s in runs[name] if s["files"][i][key] is not None]
        return float(np.mean(vals)) if vals else None

    out = ["\n## Per-file F1 (mean over seeds)\n"]
    out.append(
        common.table(
            ["file", *names],
            [[f, *(mean_of(n, i, "f1") for n in names)] for i, f in enumerate(files)],
        )
    )
    for name in names:
        out.append(f"\n### {name}: per file (mean over seeds)\n")
        keys = ("f1", "far", "mar", "auc_pr", "vus_pr", "fit_s", "score_s")
        out.append(
            common.table(
                ["file", "F1", "FAR %", "MAR %", "AUC-PR", "VUS-PR", "fit s", "score s"],
                [[f, *(mean_of(name, i, k) for k in keys)] for i, f in enumerate(files)],
            )
        )
    return out


# ----------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SKAB's data/ folder")
    p.add_argument("--models", nargs="+", default=list(ALL_METHODS), choices=ALL_METHODS)
    p.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS))
    p.add_argument("--quick", action="store_true", help="one seed (the first of --seeds)")
    p.add_argument("--files", nargs="+", help="only these files, e.g. valve1/0 other/2")
    p.add_argument("--dev", action="store_true", help="run the development protocol only")
    p.add_argument(
        "--fault-std",
        nargs=2,
        type=float,
        default=list(FAULT_STD),
        metavar=("LOW", "HIGH"),
        help="size range of the --dev synthetic faults in training std",
    )
    p.add_argument("--name", default=None, help="results file name (default skab / skab-dev)")
    p.add_argument("--no-write", action="store_true", help="print only")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = args.seeds[:1] if args.quick else args.seeds
    if not args.data.is_dir():
        print(f"SKAB data not found at {args.data}; pass --data PATH", file=sys.stderr)
        return 2
    common.apply_malloc_setting()
    import torch  # noqa: F401  (so the machine description names the GPU, if any)

    t_start = time.perf_counter()
    splits, free = load_splits(args.data, args.files)
    report: dict[str, Any] = {
        "date": common.now(),
        "command": common.command_line(),
        "seeds": seeds,
        "n_files": len(splits),
        "n_test_rows": int(sum(len(s.labels) for s in splits)),
        "targets": TARGETS,
        "configs": {n: CONFIGS[n] for n in args.models if n in CONFIGS},
    }
    if args.dev:
        fault_std = (args.fault_std[0], args.fault_std[1])
        dev = development(free, splits, args.models, seeds, fault_std)
        report["development"] = dev
        report["fault_std"] = fault_std
        report["machine"] = common.machine()
        text = (
            common.header(
                "SKAB development protocol", report["machine"], report["command"], report["date"]
            )
            + "\n"
            + development_markdown(dev, seeds, fault_std)
        )
        print(text)
        if not args.no_write:
            common.write_results(args.name or "skab-dev", text, report)
        return 0

    runs: dict[str, list[dict[str, Any]]] = {}
    skipped: dict[str, str] = {}
    for name in args.models:
        if name == "pyod-ae" and (why := pyod_missing()):
            skipped[name] = why
            continue
        runs[name] = []
        for seed in seeds:
            pooled, results = run_method(name, splits, seed, free=free)
            runs[name].append(
                {"seed": seed, "pooled": pooled, "files": [r.to_dict() for r in results]}
            )
            print(
                f"{name:16s} seed {seed}: F1 {pooled['f1']:.3f}  FAR {pooled['far']:.2f}  "
                f"MAR {pooled['mar']:.2f}  NAB {pooled['nab_standard']:.2f}  "
                f"({pooled['wall_s']:.1f} s)",
                flush=True,
            )
    report.update(
        machine=common.machine(),
        runs=runs,
        skipped=skipped,
        wall_s=time.perf_counter() - t_start,
        published={"outlier": PUBLISHED_OUTLIER, "nab": PUBLISHED_NAB},
    )
    text = markdown(report)
    print()
    print(text.split("\n## Per-file F1")[0])
    if not args.no_write:
        path = common.write_results(args.name or "skab", text, report)
        print(f"\nwrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
