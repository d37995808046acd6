"""benchmarks/suite.py: the protocol on a tiny slice of every dataset, HitRate, KMeansAD.

benchmarks/ is a folder of scripts, not a package: the modules are imported by path. The
dataset tests skip when ../shared/datasets is missing.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(BENCH))  # suite imports skab and common by name
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models on a shared machine
suite = _load("suite")
DATA = suite.default_data()
TINY = {"model": "pca", "frame": 16, "model_params": {"n_components": 2}}
#: Per dataset: how many series, training rows and test rows the tiny slice keeps.
SLICE = {"skab": (1, 300, None), "smd": (1, 400, 600), "asd": (1, 400, 600)}
SLICE |= {"mgab": (1, 400, 600), "tep": (1, 300, 400), "synthetic": (1, 600, 900)}
SLICE |= {"short": (2, 300, 900), "wide": (1, 600, 3000)}


def tiny_slice(dataset: str) -> list:
    """A few hundred rows of 1 series (plus the all-normal one for skab and tep)."""
    if not suite.available(dataset, DATA):
        pytest.skip(f"no {dataset} folder at {DATA / dataset} (shared/ must sit beside the repo)")
    n, train_rows, test_rows = SLICE[dataset]
    series = suite.load_dataset(dataset, quick=True, data=DATA)
    kept = [s for s in series if not s.normal_only][:n] + [s for s in series if s.normal_only]
    return [suite.crop(s, train_rows, test_rows if not s.normal_only else 500) for s in kept]


@pytest.fixture
def tiny_candidate(monkeypatch):
    monkeypatch.setitem(suite.CANDIDATES, "tiny", TINY)
    return "tiny"


def _in(value, low, high) -> bool:
    return value is not None and math.isfinite(value) and low <= value <= high


@pytest.mark.parametrize("dataset", suite.DATASETS)
def test_protocol_on_a_tiny_slice(dataset, tiny_candidate):
    series = tiny_slice(dataset)
    results = [suite.run_method(tiny_candidate, s, seed=0) for s in series]
    window = suite.VUS_WINDOW[dataset]
    evals = [suite.evaluate(s, r, window) for s, r in zip(series, results, strict=True)]
    summary = suite.summarise(dataset, series, evals, [r.labels for r in results])
    for s, r, e in zip(series, results, evals, strict=True):
        assert r.scores.shape == s.labels.shape and r.contributions.shape == s.test.shape
        assert _in(e["far"], 0, 100)
        if not s.normal_only:
            for key in ("auc_pr", "vus_pr", "f1", "event_f1"):
                assert _in(e[key], 0, 1), (key, e[key])
            assert _in(e["mar"], 0, 100)
    for key in ("auc_pr", "vus_pr", "f1", "event_f1"):
        assert _in(summary[key], 0, 1), (key, summary[key])
    assert _in(summary["far"], 0, 100) and summary["time_s"] > 0
    if dataset in ("smd", "asd"):  # interpretation labels: HitRate is computed
        assert all(s.interpretation for s in series)
        assert _in(summary["hit100"], 0, 1) and _in(summary["hit150"], 0, 1)
        assert summary["hit150"] >= summary["hit100"] - 1e-12
    else:
        assert summary["hit100"] is None
    if dataset == "skab":
        assert math.isfinite(summary["nab"]) and _in(summary["normal_far"], 0, 100)
    if dataset == "tep":
        assert _in(summary["detection_rate"], 0, 1) and _in(summary["far_prefault"], 0, 100)
    if dataset == "short":
        assert all(s.test.shape[1] == 1 and len(s.train) <= 750 for s in series)
    if dataset == "wide":
        assert series[0].test.shape[1] == 50 and series[0].extra["faults"]
        assert 0 <= summary["faults_found"] <= summary["n_faults"]
    for key in ("event_recall", "false_events_5k", "false_rows_1k"):
        assert summary[key] is None or summary[key] >= 0


def test_interpretation_ranges_follow_each_dataset(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("10-13:1,3\n20-20:2\n")
    assert suite.read_interpretation(path, inclusive_end=False) == [
        (10, 13, (0, 2)),
        (20, 20, (1,)),
    ]
    assert suite.read_interpretation(path, inclusive_end=True) == [(10, 14, (0, 2)), (20, 21, (1,))]


def test_mgab_labels_are_tsb_ad_windows():
    flags = np.zeros(1000, np.int8)
    flags[300:701] = 1  # MGAB's 401-point window: cut point 500
    labels = suite.mgab_labels(flags)
    assert labels.sum() == 20 and np.flatnonzero(labels).tolist() == list(range(490, 510))


def test_hit_rate_known_answers():
    contributions = np.zeros((10, 4))
    contributions[:, 2] = 1.0  # channel 2 always ranks first
    assert suite.hit_rate(contributions, [(0, 10, (2,))]) == 1.0
    assert suite.hit_rate(contributions, [(0, 10, (0,))]) == 0.0
    # |G| = 2: @100 takes the top 2 (2 and then 0 by stable order) -> 1 of 2 true (1, 2)
    assert suite.hit_rate(contributions, [(0, 10, (1, 2))], p=1.0) == 0.5
    # @150 takes floor(3) = 3 channels: 2, 0, 1 -> both true channels
    assert suite.hit_rate(contributions, [(0, 10, (1, 2))], p=1.5) == 1.0
    labels = np.zeros(10, np.int8)
    labels[5:] = 1
    contributions[:5, 2], contributions[:5, 0] = 0.0, 1.0  # wrong on rows 0-4, unlabelled
    assert suite.hit_rate(contributions, [(0, 10, (2,))], labels) == 1.0
    assert suite.hit_rate(contributions, [(0, 10, (2,))]) == 0.5
    assert suite.hit_rate(contributions, [(3, 3, (2,))]) is None


def test_fold_windows_averages_the_covering_windows():
    folded = suite.fold_windows(np.array([1.0, 2.0, 3.0]), n=5, width=3)
    np.testing.assert_allclose(folded, [1.0, 1.5, 2.0, 2.5, 3.0])


def test_kmeans_ad_finds_an_obvious_outlier():
    t = np.arange(3000)
    rng = np.random.default_rng(0)
    clean = np.stack([np.sin(t / 10), np.cos(t / 17)], 1) + rng.normal(0, 0.05, (3000, 2))
    train, test = clean[:2000].astype(np.float32), clean[2000:].astype(np.float32).copy()
    test[500:505, 1] += 6.0
    method = suite.KMeansADMethod(seed=0)
    method.fit(train)
    scores, labels = method.score(test)
    assert scores.shape == (1000,) and labels.dtype == np.int8
    assert 490 <= int(np.argmax(scores)) <= 520
    assert labels[500:505].all() and labels[:400].mean() < 0.05
    assert np.argmax(method.contributions[502]) == 1  # the outlier's channel
    np.testing.assert_allclose(method.contributions.sum(1), 1.0)


def test_a_plain_run_is_the_headline_table_on_every_core():
    args = suite.parse_args([])
    assert args.methods == ["default", "pca", "pyod-ae", "iforest", "kmeans", "zscore"]
    assert args.jobs == (os.cpu_count() or 1) and args.threads == 1
    assert args.datasets == list(suite.DATASETS) and args.seeds == [0, 1, 2]


tracks = _load("tracks")


def test_alarm_metrics_known_answers():
    y = np.zeros(100, np.int8)
    y[10:20] = 1
    y[50:60] = 1
    p = np.zeros(100, np.int8)
    p[13:25] = 1  # finds the first event 3 rows late and runs on 5 rows past it
    p[80:82] = 1  # a false event
    m = tracks.alarm_metrics(y, p)
    assert m["event_recall"] == 0.5 and m["delay"] == 3.0
    assert m["false_rows_1k"] == pytest.approx(1000 * 7 / 80)
    assert m["false_events_5k"] == pytest.approx(5000 * 1 / 80)


def test_wide_metrics_found_named_precision():
    faults = [(10, 20, 2, "level_shift"), (50, 52, 0, "spike")]
    p = np.zeros(100, np.int8)
    p[12:18] = 1
    p[70:75] = 1
    contributions = np.full((100, 3), 0.1)
    contributions[12:18, 2] = 0.8
    m = tracks.wide_metrics(faults, p, contributions)
    assert (m["faults_found"], m["faults_named"], m["n_faults"]) == (1, 1, 2)
    assert m["event_precision"] == 0.5


def test_rolling_zscore_flags_a_jump_and_not_the_noise():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(750, 1))
    test = rng.normal(size=(1000, 1))
    test[500:505] += 8.0
    method = tracks.RollingZScoreMethod(seed=0)
    method.fit(train)
    scores, labels = method.score(test)
    assert labels[500] == 1 and scores[500] > 6
    assert labels[:500].mean() < 0.02


def test_wide_faults_are_in_one_channel_each():
    series = tracks.load_wide(9001, 50, suite)[0]
    assert series.test.shape == (tracks.WIDE_ROWS, 50)
    kinds = [f[3] for f in series.extra["faults"]]
    assert kinds == list(tracks.WIDE_KINDS)
    from seqae.datasets import make_sensor_stream

    clean = make_sensor_stream(2 * tracks.WIDE_ROWS, 50, anomalies=(), random_state=9001)
    changed = series.test != clean.values[tracks.WIDE_ROWS :]
    for start, end, channel, kind in series.extra["faults"]:
        rows = changed[start:end]
        assert rows[:, channel].any(), kind
        assert not np.delete(rows, channel, axis=1).any(), kind
        changed[start:end] = False
    assert not changed.any()  # nothing changed outside the faults


def test_a_learning_candidate_scores_through_the_learning_detector():
    t = np.arange(2400)
    x = (np.sin(t / 7) + np.random.default_rng(0).normal(0, 0.05, 2400))[:, None]
    x[1200:] += np.linspace(0, 2, 1200)[:, None]  # the normal level moves
    # no centred mean: with round 17's (32 rows on one channel) this one-epoch network flags
    # 270 of the 400 rows where the level starts moving, and learning from the rest is locked
    # out (plain detection flags 311 there)
    params = {"model": "dense", "frame": 16, "epochs": 1, "n_threads": 1, "learn_period": 400,
              "centred_smoothing": 1}  # fmt: skip
    method = suite.SeqaeMethod("learn", params, seed=0)
    assert method.learn_period == 400 and "learn_period" not in method.params
    method.fit(x[:800].astype(np.float32))
    scores, labels = method.score(x[800:].astype(np.float32))
    assert scores.shape == labels.shape == (1600,) and method.contributions is None
    plain = suite.SeqaeMethod("plain", {k: v for k, v in params.items() if k != "learn_period"}, 0)
    plain.fit(x[:800].astype(np.float32))
    # the learner follows the moving level; plain detection flags more of it
    assert labels[800:].sum() < plain.score(x[800:].astype(np.float32))[1][800:].sum()
