"""The benchmark scripts: SKAB protocol on a tiny slice, scoring paths, results files.

benchmarks/ is a folder of scripts, not a package: the modules are imported by path.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


skab = _load("skab")
common = _load("common")

SKAB_PATH = skab.DEFAULT_DATA
needs_skab = pytest.mark.skipif(
    not (SKAB_PATH / "valve1" / "0.csv").is_file(), reason=f"SKAB data not at {SKAB_PATH}"
)
TWO_FILES = ("valve1/0", "other/2")  # other/2: anomalies inside its training rows
TINY_PCA = {"model": "pca", "frame": 16, "model_params": {"n_components": 2}}


@pytest.fixture(scope="module")
def two_splits():
    splits, free = skab.load_splits(SKAB_PATH, TWO_FILES)
    return splits, free


@needs_skab
def test_split_follows_the_leaderboard(two_splits):
    from seqae.datasets import load_skab

    splits, free = two_splits
    assert [s.name for s in splits] == list(TWO_FILES)
    assert free.anomaly is None
    raw = {e.name: e for e in load_skab(SKAB_PATH, groups=("valve1", "other"))}
    for s in splits:
        e = raw[s.name]
        assert s.train.shape == (400, 8)
        assert len(s.test) == len(s.labels) == len(s.timestamps) == len(e.anomaly) - 400
        np.testing.assert_array_equal(s.train, e.data.values[:400])
        np.testing.assert_array_equal(s.test, e.data.values[400:])
        np.testing.assert_array_equal(s.labels, e.anomaly[400:])
        assert s.changepoints.sum() == e.changepoint[400:].sum()
    # the protocol keeps other/2 although its training part holds anomalies
    assert raw["other/2"].anomaly[:400].sum() > 0


@needs_skab
def test_protocol_pools_the_per_file_counts(two_splits):
    splits, _ = two_splits
    results = [skab.evaluate_file(s, skab.SeqaeMethod("pca", TINY_PCA, seed=0)) for s in splits]
    pooled = skab.pool(splits, results)
    for key in ("tp", "fp", "tn", "fn"):
        assert pooled[key] == sum(r.counts[key] for r in results)
    assert pooled["tp"] + pooled["fp"] + pooled["tn"] + pooled["fn"] == sum(
        len(s.labels) for s in splits
    )
    assert pooled["tp"] + pooled["fn"] == sum(int(s.labels.sum()) for s in splits)
    for r in results:
        assert 0.0 <= r.metrics["f1"] <= 1.0
        assert 0.0 <= r.metrics["far"] <= 100.0 and 0.0 <= r.metrics["mar"] <= 100.0
        assert 0.0 <= r.metrics["auc_pr"] <= 1.0 and 0.0 <= r.metrics["vus_pr"] <= 1.0
        assert r.fit_s > 0 and r.score_s > 0
    assert 0.0 <= pooled["f1"] <= 1.0
    assert pooled["nab_standard"] <= 100.0
    assert pooled["n_cps"] == sum(int(s.changepoints.sum()) for s in splits)
    assert 0 <= pooled["missed_cps"] <= pooled["n_cps"]
    assert 0.0 <= pooled["auc_pr_pooled"] <= 1.0


@needs_skab
def test_a_perfect_method_scores_perfectly(two_splits):
    """The pooling and NAB plumbing, checked against a method that returns the truth."""
    splits, _ = two_splits

    class Oracle(skab.Method):
        name = "oracle"

        def __init__(self, labels):
            self.labels = labels

        def fit(self, train):
            pass

        def score(self, test):
            return self.labels.astype(float), self.labels

    results = [skab.evaluate_file(s, Oracle(s.labels)) for s in splits]
    pooled = skab.pool(splits, results)
    assert pooled["f1"] == 1.0 and pooled["far"] == 0.0 and pooled["mar"] == 0.0
    # SKAB counts the start of a test part that opens inside an anomaly (other/2) as an alarm
    # changepoint with no true changepoint near it: the only false one an oracle makes
    opens_inside = sum(int(s.labels[0] == 1 and s.changepoints[0] == 0) for s in splits)
    assert opens_inside == 1
    assert pooled["fp_cps"] == opens_inside
    assert pooled["auc_pr_mean"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 4])
def test_windowed_and_convolutional_scoring_flag_the_same(seed):
    """One fitted conv1d model and threshold, scored by both paths: the same alarms."""
    from seqae.datasets import make_sensor_stream

    from seqae import Detector
    from seqae.scoring.events import labels_to_intervals

    stream = make_sensor_stream(
        n_timesteps=4000,
        n_channels=4,
        anomalies=("level_shift", "drift", "correlation_break"),
        anomaly_length=(100, 200),
        random_state=seed,
    )
    train, test = stream.values[:400], stream.values[400:]  # the first 10 % is anomaly-free
    det = Detector(model="conv1d", frame=32, epochs=5, scoring="windowed", random_state=0)
    det.set_params(min_event_length=5, merge_gap=5).fit(train)
    s_win, l_win = det.score_samples(test), det.predict(test)
    det.set_params(scoring="convolutional")
    s_conv, l_conv = det.score_samples(test), det.predict(test)
    assert det._scoring_mode() == "convolutional"
    assert not np.array_equal(s_conv, s_win)  # two different computations...
    assert np.corrcoef(s_conv, s_win)[0, 1] > 0.95  # ...that track each other
    clear = (s_win >= 1.5) | (s_win <= 1 / 1.5)  # away from the alarm line
    assert clear.mean() > 0.5
    assert np.array_equal(s_conv[clear] >= 1.0, s_win[clear] >= 1.0)
    assert np.mean(l_conv == l_win) > 0.95
    for start, end in labels_to_intervals(stream.labels[400:]):
        assert l_conv[start:end].any() == l_win[start:end].any()


def test_stacked_windows_end_at_each_row():
    x = np.arange(12.0).reshape(6, 2)
    w = skab.stacked_windows(x, 3)
    assert w.shape == (6, 6)
    np.testing.assert_array_equal(w[5], x[3:6].ravel())
    np.testing.assert_array_equal(w[0], np.tile(x[0], 3))  # padded with the first row
    np.testing.assert_array_equal(w[1], np.concatenate([x[0], x[0], x[1]]))


def test_results_files_round_trip(tmp_path):
    data = {"a": np.float64(1.5), "b": [np.int64(2), float("nan")], "c": {"d": (1, 2)}}
    md = common.write_results("demo", "# title\n", data, folder=tmp_path)
    assert md.read_text() == "# title\n"
    assert json.loads(md.with_suffix(".json").read_text()) == {
        "a": 1.5,
        "b": [2, None],
        "c": {"d": [1, 2]},
    }
    table = common.table(["x", "y"], [[1, 0.12345], ["z", None]], digits=2)
    assert table.splitlines() == ["| x | y |", "|---|---|", "| 1 | 0.12 |", "| z | – |"]
    assert common.pm([1.0, 3.0]) == "2.00 ± 1.41"
    info = common.machine()
    assert info["cores"] >= 1 and "numpy" in info["versions"]


def test_published_rows_are_quoted_exactly():
    rows = {r[0]: r[1:] for r in skab.PUBLISHED_OUTLIER}
    assert rows["Conv-AE"] == (0.78, 13.55, 28.02)
    assert rows["MSET"][0] == 0.78 and rows["LSTM-AE"][0] == 0.74
    assert rows["T-squared+Q (PCA-based)"][0] == 0.76
    assert max(r[1] for r in skab.PUBLISHED_NAB) == skab.TARGETS["nab"] == 32.42


@pytest.mark.slow
@needs_skab
def test_the_script_prints_every_table_on_one_file(monkeypatch, capsys):
    """``main`` end to end on one file: pooled rows, published rows, targets, per-file tables."""
    monkeypatch.setattr(common, "apply_malloc_setting", lambda: False)  # the test process's own
    code = skab.main(
        ["--files", "valve1/0", "--models", "conv1d", "iforest", "--seeds", "0", "--no-write"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "| seqae conv1d |" in out and "| iforest |" in out
    assert "| Conv-AE | 0.78 | 13.55 | 28.02 |" in out  # quoted as published
    assert "## Published leaderboard (quoted as published, not re-run)" in out
    assert "- F1 >= 0.82:" in out and "- NAB standard > 32.42:" in out
    mean, spread = out.split("| seqae conv1d | ")[1].split(" |")[0].split(" ± ")
    assert 0.0 <= float(mean) <= 1.0 and float(spread) == 0.0  # one seed: no spread


# ------------------------------------------------------------------ development protocol


@pytest.mark.parametrize(
    "setting",
    [
        {"threshold": "sigma", "sigma": 6.0},
        {"threshold": "pot", "risk": 1e-2},
        {"threshold": "pot", "risk": 1e-4},
        {"threshold": "quantile", "contamination": 0.005},
    ],
)
def test_dev_line_is_the_line_the_detector_draws(setting):
    from seqae import Detector

    x = np.random.default_rng(0).normal(size=(400, 3)).astype(np.float32)
    in_sample = {"calibration": "training"}  # as the development rounds drew their lines
    plain = Detector(**TINY_PCA, **in_sample, random_state=0).fit(x)  # default: robust 1e-3
    tuned = Detector(**TINY_PCA, **in_sample, **setting, random_state=0).fit(x)
    raw = plain.train_scores_ * plain.threshold_
    assert skab.dev_line(raw, setting) == pytest.approx(tuned.threshold_, rel=1e-9)
    assert skab.dev_line(raw, {"threshold": "robust"}) == pytest.approx(plain.threshold_, rel=1e-9)


def test_synthetic_faults_stay_in_their_block_and_size_range():
    x = np.random.default_rng(1).normal(size=(1200, 6)).astype(np.float32)
    sd = x[: skab.TRAIN_ROWS].std(0)
    steps = 0
    for seed in range(30):
        faulty, y = skab.inject_fault(x, np.random.default_rng(seed), std_range=(2.0, 2.5))
        (where,) = np.nonzero(y)
        start, end = int(where[0]), int(where[-1]) + 1
        assert len(where) == end - start  # one block
        assert 100 <= start - skab.TRAIN_ROWS < 300 and 250 <= end - start < 450
        delta = (faulty - x).astype(np.float64)
        assert not delta[y == 0].any()  # nothing changes outside the fault
        changed = np.flatnonzero(np.abs(delta[start:end]).max(0) > 0)
        assert 1 <= len(changed) <= 3
        block = delta[start:end, changed] / sd[changed]
        if np.allclose(block, block[0], atol=1e-4):  # a step: its size is the drawn size
            steps += 1
            assert np.all((np.abs(block[0]) >= 2.0 - 1e-4) & (np.abs(block[0]) <= 2.5 + 1e-4))
    assert steps > 0


def _dev_rows(free_far, f1):
    return [{"free_far": a, "synthetic_f1": b} for a, b in zip(free_far, f1, strict=True)]


def test_pick_takes_the_best_synthetic_f1_within_the_far_budget():
    budget = skab.DEV_FAR_BUDGET
    rows = _dev_rows([budget + 5, budget, budget / 2, 0.0], [0.95, 0.8, 0.85, 0.7])
    assert skab.pick(rows) is rows[2]
    over = _dev_rows([budget + 1, budget + 2], [0.6, 0.9])
    assert skab.pick(over) is over[1]  # nothing within the budget: the best F1 of all


def test_dev_sweep_applies_every_line_and_event_rule():
    rng = np.random.default_rng(0)
    train = rng.random(400)  # scores in [0, 1): every line lies below 10
    free = np.zeros(800)
    free[100:105] = free[130:135] = 10.0  # two short alarms 25 rows apart
    fault = np.zeros(800)
    fault[200:300] = 10.0
    y = np.zeros(800, np.int8)
    y[200:300] = 1
    units = [
        ("free", train, np.zeros(800, np.int8), free),
        ("synthetic", train, y, fault),
        ("holdout", train, np.zeros(144, np.int8), np.zeros(144)),
    ]
    rows = skab._dev_sweep(units)
    assert len(rows) == len(skab.DEV_THRESHOLDS) * len(skab.DEV_EVENTS)
    for r in rows:
        merged = r["merge_gap"] >= 25
        kept = r["min_event_length"] <= (35 if merged else 5)
        assert r["free_alarms"] == (0 if not kept else 1 if merged else 2)
        assert r["free_far"] == pytest.approx(0 if not kept else 100 * (35 if merged else 10) / 800)
        assert r["synthetic_f1"] == 1.0 and r["holdout_far"] == 0.0
    assert {r["line"] for r in rows} == {skab.describe_line(t) for t in skab.DEV_THRESHOLDS}


@pytest.mark.slow
@needs_skab
def test_the_development_protocol_end_to_end(monkeypatch, capsys):
    """``--dev`` on one file with a tiny PCA: every line swept, the rule's pick reported."""
    monkeypatch.setattr(common, "apply_malloc_setting", lambda: False)
    monkeypatch.setitem(skab.CONFIGS, "pca", TINY_PCA)
    monkeypatch.setitem(skab.DEV_CANDIDATES, "pca", [])
    code = skab.main(
        ["--dev", "--files", "valve1/0", "--models", "pca", "--seeds", "0", "--no-write"]
    )
    assert code == 0
    out = capsys.readouterr().out
    n_rows = len(skab.DEV_THRESHOLDS) * len(skab.DEV_EVENTS)
    assert f"Best 10 of {n_rows} settings within the FAR budget" in out
    assert "1.5-8 training std" in out
    for family in ("| configured | sigma ", "| configured | pot ", "| configured | quantile "):
        assert family in out.split("Best setting of each threshold family")[1]
    assert "Rule picks variant configured, " in out


# ---------------------------------------------------------------- skab_variants.py

variants = _load("skab_variants")


def test_trailing_mean_matches_a_naive_loop():
    x = np.random.default_rng(3).normal(size=50)
    for width in (1, 4, 60):
        naive = [x[max(0, i - width + 1) : i + 1].mean() for i in range(len(x))]
        np.testing.assert_allclose(variants.trailing_mean(x, width), naive)


def test_variant_sweep_keeps_the_far_budget_and_takes_the_best_f1():
    rng = np.random.default_rng(0)
    train = rng.random((300, 2))  # per-channel errors in [0, 1)
    y = np.r_[np.zeros(200), np.ones(100)].astype(np.int8)
    fault = np.r_[rng.random((200, 2)), rng.random((100, 2)) + 5.0]
    drift = rng.random((300, 2)) + np.linspace(0, 4, 300)[:, None]  # normal, drifting
    units = [
        ("free", train, None, np.zeros(300, np.int8), drift),
        ("synthetic", train, None, y, fault),
        ("holdout", train, None, np.zeros(300, np.int8), rng.random((300, 2))),
    ]
    lines = [(f"sigma {k}", variants.sigma_line(k)) for k in (1, 20)]
    best = variants.sweep(units, lambda i, e, unit: e.sum(1), lines)
    # sigma 1 catches the fault but flags most of the drift; sigma 20 stays within budget
    assert best["line"] == "sigma 20" and best["free_far"] <= skab.DEV_FAR_BUDGET
    assert best["synthetic_f1"] == pytest.approx(1.0)


def test_hysteresis_starts_at_the_line_and_holds_down_to_the_release():
    s = np.array([0.0, 0.5, 1.2, 0.6, 0.9, 0.3, 0.6, 0.8, 0.2])
    # 0.5 before the start is under the line; the alarm holds through 0.6 and 0.9 (>= 0.4),
    # ends at 0.3; the later 0.6/0.8 never reach the line, so they start nothing
    assert variants.hysteresis(s, 1.0, 0.4).tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0]
    np.testing.assert_array_equal(variants.hysteresis(s, 1.0, 1.0), (s >= 1.0).astype(np.int8))


def test_variant_sweep_reports_the_chosen_setting_per_seed():
    rng = np.random.default_rng(1)
    train = rng.random((300, 2))
    y = np.r_[np.zeros(200), np.ones(100)].astype(np.int8)
    caught = np.r_[rng.random((200, 2)), rng.random((100, 2)) + 5.0]
    missed = rng.random((300, 2))  # a fault under every line
    units = [
        ("free", train, None, np.zeros(300, np.int8), rng.random((300, 2))),
        ("synthetic", train, None, y, caught),
        ("free", train, None, np.zeros(300, np.int8), rng.random((300, 2))),
        ("synthetic", train, None, y, missed),
    ]
    lines = [("sigma 20", variants.sigma_line(20))]
    best = variants.sweep(units, lambda i, e, unit: e.sum(1), lines, groups=[0, 0, 1, 1])
    assert best["synthetic_f1_by_group"][0] == pytest.approx(1.0)
    assert best["synthetic_f1_by_group"][1] == 0.0


def test_drift_weights_invert_the_median_unseen_to_training_ratio():
    ones = np.ones((4, 2))
    pairs = [(ones, np.tile([2.0, 4.0], (3, 1))), (ones, np.tile([4.0, 2.0], (3, 1)))]
    pairs.append((ones, np.tile([8.0, 1.0], (3, 1))))
    # per-channel ratios: [2, 4, 8] and [4, 2, 1] -> medians 4 and 2
    np.testing.assert_allclose(skab.drift_weights(pairs), [0.25, 0.5])
    # skab_variants leaves one chunk out and reads the anomaly-free units only
    units = [("free", tr, None, None, ev) for tr, ev in pairs]
    units.append(("synthetic", ones, None, None, np.full((3, 2), 100.0)))
    np.testing.assert_allclose(variants.drift_weights(units, [0, 1, 2, 2], exclude=2), [1 / 3] * 2)


# ---------------------------------------------------------- speed.py --peers (issue 14)

speed = _load("speed")

#: The three --peers workloads' shapes, tiny: SKAB rows, a univariate stream, 8 channels.
TINY_PEERS = {
    "skab-valve1-0": {"source": "skab", "file": "valve1/0", "fit": [0, 200], "score": [200, 300]},
    "univariate": {
        "source": "stream",
        "rows": 500,
        "channels": 1,
        "fit": [0, 200],
        "score": [200, None],
        "warm": True,
    },
    "sensors": {
        "source": "stream",
        "rows": 600,
        "channels": 8,
        "fit": [0, 200],
        "score": [0, None],
    },
}
PEER_SIDE = [
    "seqae",
    pytest.param(
        "pyod",
        marks=[
            pytest.mark.slow,  # importing pyod and its backend takes seconds
            pytest.mark.skipif(
                importlib.util.find_spec("pyod") is None,
                reason="pyod is not installed: no PyOD side to time",
            ),
        ],
    ),
]


@pytest.mark.parametrize("side", PEER_SIDE)
def test_peer_child_task_times_fit_and_score(side, one_torch_thread):
    records = {}
    for name, workload in TINY_PEERS.items():
        if workload["source"] == "skab" and not (SKAB_PATH / "valve1" / "0.csv").is_file():
            continue  # the SKAB shape needs the shared data; the streams need nothing
        r = speed.task_peer(side, workload)
        assert r["side"] == side
        for key in ("seconds", "fit_s", "score_s"):
            assert np.isfinite(r[key]) and r[key] > 0, (name, key, r[key])
        assert r["seconds"] == pytest.approx(r["fit_s"] + r["score_s"])
        stop = workload["score"][1] or workload.get("rows")
        assert r["rows_fit"] == 200 and r["rows_scored"] == stop - workload["score"][0]
        assert r["n_scores"] == r["rows_scored"] and r["scores_finite"]
        assert r["channels"] == workload.get("channels", 8) and r["torch_threads"] == 1
        assert ("warm_seconds" in r) == bool(workload.get("warm"))
        if "warm_seconds" in r:
            assert r["warm_seconds"] == pytest.approx(r["warm_fit_s"] + r["warm_score_s"])
            assert r["warm_fit_s"] > 0 and r["warm_score_s"] > 0
        records[name] = r
    if side == "seqae":  # the library's defaults, whatever they are
        from seqae import Detector

        assert records["univariate"]["details"]["frame"] == Detector().frame
    else:
        assert records["univariate"]["details"]["window"] == 16
    # the record goes through the orchestrator's summary and table like a child's
    children = {side: [{**records["sensors"], "child_wall_s": 2 * records["sensors"]["seconds"]}]}
    summary = speed.peer_summary(children)
    assert summary[side]["median_s"] == records["sensors"]["seconds"]


def _peer_record(side, seconds, rows_fit=400, rows_scored=100):
    return {
        "side": side,
        "seconds": seconds,
        "fit_s": 0.75 * seconds,
        "score_s": 0.25 * seconds,
        "rows_fit": rows_fit,
        "rows_scored": rows_scored,
        "channels": 8,
        "n_scores": rows_scored,
        "scores_finite": True,
        "torch_threads": 2,
        "details": {"model": "conv1d"} if side == "seqae" else {"window": 16},
        "child_wall_s": seconds + 3.0,
        "packages_imported_while_timed": ["numba"] if side == "pyod" else [],
        "warm_seconds": seconds / 2,
        "warm_fit_s": seconds / 4,
        "warm_score_s": seconds / 4,
    }


def _peer_result(seqae_s, pyod_s):
    children = {
        "seqae": [_peer_record("seqae", s) for s in seqae_s],
        "pyod": [_peer_record("pyod", s) for s in pyod_s],
    }
    return {
        "workload": {},
        "rounds": len(seqae_s),
        "load_avg_before": [0.5, 0.5, 0.5],
        "load_avg_after": [0.7, 0.6, 0.5],
        "children": children,
        "summary": speed.peer_summary(children),
    }


def test_peer_summary_and_markdown_have_a_row_per_workload():
    res = {
        "skab-valve1-0": _peer_result([1.0, 3.0, 2.0], [4.0, 5.0, 6.0]),
        "univariate": _peer_result([2.0, 2.0, 9.0], [1.0, 1.0, 1.0]),
        "sensors-200k": _peer_result([1.0], [1.0]),
    }
    s = res["skab-valve1-0"]["summary"]
    assert (s["seqae"]["min_s"], s["seqae"]["median_s"], s["seqae"]["max_s"]) == (1.0, 2.0, 3.0)
    assert s["ratio"] == pytest.approx(2.0 / 5.0) and s["met"] is True
    assert s["seqae"]["child_wall_s"] == 5.0 and s["pyod"]["fit_s"] == 3.75
    assert res["univariate"]["summary"]["met"] is False
    assert res["sensors-200k"]["summary"]["met"] is True  # equal is not slower
    report = {
        "date": "2026-12-02T01:00:00+00:00",
        "command": "python benchmarks/speed.py --peers",
        "machine": common.machine(),
        "results": {"peers": res},
    }
    md = speed.peers_markdown(report)
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for name in res:
        assert sum(line.startswith(f"| {name} | 400 | 100 | 8 |") for line in rows) == 1
        assert sum(line.startswith(f"| {name} | seqae |") for line in rows) == 1
        assert sum(line.startswith(f"| {name} | pyod |") for line in rows) == 1
    assert "| 1.000 / **2.000** / 3.000 | 4.000 / **5.000** / 6.000 | 0.400 | met |" in md
    assert "- univariate, median fit + score seqae / PyOD <= 1: 2.000 — missed" in md
    assert "torch threads in the children: 2" in md and "0.50 to 0.70" in md
    assert "| 0.500 / **1.000** / 1.500 | 2.000 / **2.500** / 3.000 | 0.400 |" in md  # warm
    assert "| skab-valve1-0 | pyod | 3.750 | 1.250 | 8.00 | 3 | window 16 | numba |" in md
    # a run without pyod still gets its row, marked as not measured
    no_pyod = {"seqae": [_peer_record("seqae", 1.0)]}
    s = speed.peer_summary(no_pyod)
    assert s["pyod"] == {"missing": "pyod is not installed"} and s["met"] is None


def test_interleaved_alternates_sides_and_times_each_child(monkeypatch):
    calls = []

    def fake_child(spec, tuned):
        calls.append((spec.get("side"), tuned))
        return {"ok": True}

    monkeypatch.setattr(speed, "run_child", fake_child)
    sides = {"seqae": ({"side": "seqae"}, False), "pyod": ({"side": "pyod"}, False)}
    out = speed.interleaved({"task": "peer"}, 3, sides, alternate=True)
    assert [c[0] for c in calls] == ["seqae", "pyod", "pyod", "seqae", "seqae", "pyod"]
    assert len(out["seqae"]) == len(out["pyod"]) == 3
    assert all(r["child_wall_s"] >= 0 for rs in out.values() for r in rs)
    calls.clear()  # the allocator comparison the rest of speed.py runs is unchanged
    out = speed.interleaved({"task": "score"}, 2)
    assert calls == [(None, False), (None, True), (None, False), (None, True)]
    assert list(out) == ["default", "tuned"]


def test_peers_flag_only_runs_the_comparison(monkeypatch, capsys):
    args = speed.parse_args(["--peers", "--rounds", "2"])
    assert args.peers and args.rounds == 2
    assert speed.parse_args([]).peers is False  # the default run is the full benchmark
    seen = []

    def fake_interleaved(spec, rounds, sides=None, alternate=False):
        seen.append((spec["workload"]["fit"], rounds, sorted(sides), alternate))
        return {s: [_peer_record(s, 1.0)] for s in sides}

    monkeypatch.setattr(speed, "interleaved", fake_interleaved)
    monkeypatch.setattr(speed, "pyod_missing", lambda: None)
    assert speed.main(["--peers", "--rounds", "2", "--no-write"]) == 0
    assert [s[0] for s in seen] == [w["fit"] for w in speed.PEER_WORKLOADS.values()]
    assert {s[1] for s in seen} == {2} and all(s[3] for s in seen)
    assert all(s[2] == ["pyod", "seqae"] for s in seen)
    assert speed.PEER_WORKLOADS["sensors-200k"]["fit"] == [0, 20_000]
    assert speed.PEER_WORKLOADS["univariate"]["score"] == [750, None]
    out = capsys.readouterr().out
    assert "## Fit + score seconds" in out and "## Training" not in out


def test_the_round_criterion_merges_tracks_and_charges_the_anomaly_free_far(tmp_path):
    rounds = _load("rounds")

    def run(vus, f1, far=None):
        summary = {"vus_pr": vus, "f1": f1}
        if far is not None:
            summary["normal_far"] = far
        return [{"seed": 0, "summary": summary, "series": []}]

    dev = {
        "smd": {"a": run(0.4, 0.2), "b": run(0.5, 0.3)},
        "skab": {"a": run(0.8, 0.8, far=4.0), "b": run(0.9, 0.8, far=8.0)},
        "synthetic": {"a": run(0.6, 0.6), "b": run(0.6, 0.6)},
    }
    tracks = {"wide": {"a": run(0.4, 0.2), "b": run(0.4, 0.2)}, "short": {"a": run(0.3, 0.1)}}
    paths = []
    for name, runs in (("dev", dev), ("tracks", tracks)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps({"runs": runs}))
    rows = {r[0]: r for r in rounds.criterion_rows(rounds.merge(paths))}
    # a: (0.3 + 0.8 + 0.6 + 0.3 + 0.2) / 5 = 0.44, its FAR under 5 %: no charge
    assert rows["a"][-1] == pytest.approx(0.44)
    assert rows["b"][-1] is None  # no short track: no criterion
    assert rows["b"][-2] == 8.0
