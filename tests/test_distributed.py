"""seqae.scale.distributed on a real distributed.LocalCluster (2 in-process workers)."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import DataError, ParameterError

dask = pytest.importorskip("dask", reason="needs the dask extra: pip install 'seqae[dask]'")
distributed = pytest.importorskip("distributed", reason="needs the dask extra")
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402

from seqae import distributed as sd  # noqa: E402

N_ROWS = 6000
# Anomalies placed so that partition borders (below) fall inside them.
ANOMALIES = ((1450, 1560), (2990, 3020), (4700, 4705))
BORDERS = (1500, 3000, 4702)


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster, client


@pytest.fixture(scope="module")
def stream():
    s = make_sensor_stream(n_timesteps=N_ROWS, n_channels=3, anomalies=(), random_state=0)
    values = s.values.copy()
    for a, b in ANOMALIES:
        values[a:b, 1] += 6.0
    return pd.DataFrame(values, index=s.timestamps, columns=["a", "b", "c"])


def _fit(kind: str, stream: pd.DataFrame, **params) -> Detector:
    # event rules that look past a partition border; one epoch of batches of 256 (5 steps): a
    # cheap model whose alarms cross the borders (what is checked is that the parts agree)
    det = Detector(
        model=kind,
        epochs=1,
        batch_size=256,
        random_state=0,
        min_event_length=3,
        merge_gap=4,
        **params,
    )
    return det.fit(stream.iloc[:1200])


@pytest.fixture(scope="module")
def models(stream, tmp_path_factory, one_torch_thread):
    folder = tmp_path_factory.mktemp("models")
    conv = _fit("conv1d", stream, frame=32)
    conv.save(folder / "conv1d")
    # the centred mean reads ahead of each row: the partitions' overlap must carry it
    _fit("conv1d", stream, frame=32, centred_smoothing=24).save(folder / "conv1d-centred")
    lstm = _fit(
        "lstm",
        stream,
        frame=8,  # the exporter unrolls the recurrence: its time grows with the frame
        step=3,
        model_params={"hidden_size": 8, "latent_dim": 4},
        score_smoothing=8,  # the partitions' warm-up reads the raw scores the smoother needs
    )
    lstm.save(folder / "lstm")
    lstm.export_onnx(folder / "lstm.onnx")
    return folder


def _chunks(n: int, borders: tuple[int, ...] = BORDERS) -> tuple[int, ...]:
    edges = (0, *borders, n)
    return tuple(b - a for a, b in itertools.pairwise(edges))


@pytest.mark.parametrize("name", ["conv1d", "conv1d-centred", "lstm", "lstm.onnx"])
def test_stream_equals_in_memory(cluster, models, stream, name):
    _, client = cluster
    path = models / name
    whole = sd.load_model(path).detect(stream)
    assert whole.labels.sum() > 0
    # one more border in the middle of the longest event, so an event surely spans a border
    longest = max(whole.events, key=lambda e: e.end - e.start)
    borders = tuple(sorted({*BORDERS, (longest.start + longest.end) // 2}))
    x = da.from_array(stream.to_numpy(), chunks=(_chunks(len(stream), borders), 3))
    result = sd.score_stream(x, path, client=client)
    np.testing.assert_allclose(result.frame["score"], whole.scores, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(result.frame["label"], whole.labels)
    contributions = result.frame[["contribution_a", "contribution_b", "contribution_c"]]
    np.testing.assert_allclose(contributions, whole.contributions, rtol=0, atol=1e-6)
    assert result.n_anomalies == int(whole.labels.sum())
    # events stitched across the borders: same intervals, peaks and channel ranking
    assert [(e.start, e.end, e.peak_index) for e in result.events] == [
        (e.start, e.end, e.peak_index) for e in whole.events
    ]
    assert any(e.start < b < e.end for e in result.events for b in borders)
    for got, want in zip(result.events, whole.events, strict=True):
        assert got.mean_score == pytest.approx(want.mean_score, abs=1e-6)
        assert [c for c, _ in got.top_channels] == [c for c, _ in want.top_channels]


def test_stream_dataframe_to_parquet_with_times(cluster, models, stream, tmp_path):
    _, client = cluster
    path = tmp_path / "model"
    shutil.copytree(models / "conv1d", path)  # a model no test has loaded yet
    frame = stream.assign(comment="x")  # other columns are ignored
    ddf = dd.from_pandas(frame, npartitions=5)
    before = sd.model_loads()
    seen = []
    result = sd.score_stream(
        ddf, path, tmp_path / "out", client=client, progress=lambda d, t: seen.append((d, t))
    )
    # in-process workers share this process: one load for the client and 5 partition tasks
    assert sd.model_loads() == before + 1
    assert seen[-1] == (5, 5)
    assert [f.name for f in result.files] == [f"part-{i:05d}.parquet" for i in range(5)]
    rows = pd.concat([pd.read_parquet(f) for f in result.files], ignore_index=True)
    whole = sd.load_model(path).detect(stream)
    np.testing.assert_allclose(rows["score"], whole.scores, atol=1e-6)
    assert (rows["time"].to_numpy() == stream.index.to_numpy()).all()
    assert result.events[0].start_time == whole.events[0].start_time
    assert result.frame is None


def test_stream_local_threads_and_errors(models, stream):
    x = da.from_array(stream.to_numpy(), chunks=(2500, 3))
    seen = []
    result = sd.score_stream(x, models / "lstm.onnx", progress=lambda d, t: seen.append(d))
    whole = sd.load_model(models / "lstm.onnx").score_samples(stream)
    np.testing.assert_allclose(result.frame["score"], whole, atol=1e-6)
    assert seen == [1, 2, 3]
    with pytest.raises(ParameterError, match="Dask DataFrame or Array"):
        sd.score_stream(stream, models / "conv1d")
    with pytest.raises(DataError, match=r"\(T, C\)"):
        sd.score_stream(da.zeros(10), models / "conv1d")


def _fleet(n_units: int, rows: int) -> pd.DataFrame:
    frames = []
    for u in range(n_units):
        s = make_sensor_stream(n_timesteps=rows, n_channels=3, n_anomalies=1, random_state=u)
        frame = pd.DataFrame(s.values, columns=["a", "b", "c"])
        frames.append(frame.assign(unit=f"unit{u:02d}", t=range(rows)))
    # interleave the units in time, as a fleet's log would be
    return pd.concat(frames).sort_values(["t", "unit"], ignore_index=True)


def _alone(det, fleet: pd.DataFrame, unit: str):
    return det.detect(fleet[fleet.unit == unit].sort_values("t")[["a", "b", "c"]])


def test_fleet_of_20_units_equals_each_alone(cluster, models, tmp_path):
    _, client = cluster
    fleet = _fleet(20, 400)
    path = models / "conv1d"
    summary = sd.score_fleet(
        dd.from_pandas(fleet, npartitions=4), path, tmp_path, order_by="t", client=client
    )
    assert summary["unit"].tolist() == [f"unit{u:02d}" for u in range(20)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"unit{u:02d}.parquet" for u in range(20)]
    det = sd.load_model(path)
    for row in summary.itertuples():
        alone = _alone(det, fleet, row.unit)
        got = pd.read_parquet(row.file)
        np.testing.assert_allclose(got["score"], alone.scores, atol=1e-6)
        np.testing.assert_array_equal(got["label"], alone.labels)
        assert row.events == len(alone.events) and row.rows == 400


def test_fleet_survives_a_killed_worker(models, tmp_path):
    # A cluster of its own: one of its workers is closed mid-run.
    fleet = _fleet(20, 1500)
    units = {u: g.sort_values("t")[["a", "b", "c"]] for u, g in fleet.groupby("unit")}
    path = models / "lstm"  # windowed step-3 scoring: slow enough to be mid-run
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        done_at_kill = []

        def progress(done, total):
            if done == 2 and not done_at_kill:
                victim = next(iter(cluster.workers.values()))
                client.loop.add_callback(victim.close)
                done_at_kill.append(done)

        summary = sd.score_fleet(units, path, tmp_path, client=client, progress=progress)
        deadline = time.monotonic() + 10
        while len(client.scheduler_info()["workers"]) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(client.scheduler_info()["workers"]) == 1  # the worker did go
    assert done_at_kill == [2]
    assert summary["unit"].tolist() == sorted(units)  # every unit once
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"{u}.parquet" for u in sorted(units)]  # no temp files, no duplicates
    det = sd.load_model(path)
    for unit in ("unit00", "unit07", "unit19"):
        got = pd.read_parquet(tmp_path / f"{unit}.parquet")
        np.testing.assert_allclose(got["score"], det.score_samples(units[unit]), atol=1e-6)


def test_fleet_training_per_unit_and_shared(cluster, tmp_path):
    _, client = cluster
    fleet = _fleet(3, 300)
    params = {"model": "dense", "frame": 16, "epochs": 1, "random_state": 0}
    paths = sd.train_fleet(fleet, tmp_path / "models", params=params, order_by="t", client=client)
    assert sorted(paths) == ["unit00", "unit01", "unit02"]
    alone = Detector(**params).fit(fleet[fleet.unit == "unit01"].sort_values("t")[["a", "b", "c"]])
    saved = Detector.load(paths["unit01"])
    data = fleet[fleet.unit == "unit01"].sort_values("t")[["a", "b", "c"]]
    np.testing.assert_allclose(saved.score_samples(data), alone.score_samples(data), atol=1e-6)
    # scoring with one model per unit, by pattern
    summary = sd.score_fleet(
        fleet, str(tmp_path / "models" / "{unit}"), tmp_path / "out", order_by="t", client=client
    )
    assert summary["rows"].tolist() == [300, 300, 300]
    shared = sd.train_shared(fleet, tmp_path / "shared", params=params, order_by="t", client=client)
    assert Detector.load(shared).training_summary_["n_recordings"] == 3


def test_fleet_errors(models, tmp_path):
    with pytest.raises(DataError, match="unit column 'machine'"):
        sd.score_fleet(_fleet(2, 100), models / "conv1d", tmp_path, unit_column="machine")
    with pytest.raises(DataError, match="cannot name an output file"):
        sd.score_fleet({"../x": np.zeros((100, 3))}, models / "conv1d", tmp_path)
    with pytest.raises(ParameterError, match="no model given for unit 'b'"):
        sd.score_fleet({"b": np.zeros((100, 3))}, {"a": models / "conv1d"}, tmp_path)


def test_overlap_rule_is_the_streaming_one(models):
    from seqae.scale.streaming import Overlap

    ov = Overlap.of(sd.load_model(models / "lstm.onnx"))
    assert dataclasses.astuple(ov) == dataclasses.astuple(
        Overlap.of(sd.load_model(models / "lstm"))
    )


def test_cli_fleet_score_stream_and_train(models, stream, tmp_path):
    from click.testing import CliRunner
    from seqae.cli.main import cli

    units = tmp_path / "units"
    units.mkdir()
    fleet = _fleet(3, 300)
    for unit, rows in fleet.groupby("unit"):
        rows.sort_values("t")[["a", "b", "c"]].to_csv(units / f"{unit}.csv", index=False)
    runner = CliRunner()
    out = tmp_path / "scores"
    got = runner.invoke(
        cli, ["fleet", "score", str(units), "-m", str(models / "lstm.onnx"), "-o", str(out)]
    )
    assert got.exit_code == 0, got.output
    assert "3 scored" in got.output
    assert sorted(p.name for p in out.iterdir()) == [
        "summary.json",
        "unit00.parquet",
        "unit01.parquet",
        "unit02.parquet",
    ]
    big = tmp_path / "big.parquet"
    stream.rename_axis("timestamp").reset_index().to_parquet(big, row_group_size=1500)
    got = runner.invoke(
        cli,
        [
            "fleet",
            "stream",
            str(big),
            "-m",
            str(models / "conv1d"),
            "-o",
            str(tmp_path / "s"),
            "--time-column",
            "timestamp",
            "--fail-on-anomaly",
        ],
    )
    assert got.exit_code == 1, got.output  # anomalies found, as asked
    rows = pd.concat(pd.read_parquet(f) for f in sorted((tmp_path / "s").glob("part-*.parquet")))
    assert list(rows.columns[:3]) == ["timestamp", "score", "label"]  # the input's name kept
    assert "partitions" in got.output and " in 4 partitions" in got.output  # one per row group
    whole = sd.load_model(models / "conv1d").score_samples(stream)
    np.testing.assert_allclose(rows["score"], whole, atol=1e-6)
    got = runner.invoke(
        cli,
        [
            "fleet",
            "train",
            str(units),
            "-o",
            str(tmp_path / "m"),
            "--model",
            "dense",
            "--frame",
            "16",
            "--epochs",
            "1",
        ],
    )
    assert got.exit_code == 0, got.output
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["unit00", "unit01", "unit02"]
    got = runner.invoke(
        cli, ["fleet", "score", str(units), "-m", str(tmp_path / "nowhere"), "-o", str(out)]
    )
    assert got.exit_code == 3 and "no such model" in got.output


@pytest.mark.parametrize("name", ["conv1d", "conv1d-centred", "lstm.onnx"])
def test_stream_with_tiny_partitions(models, stream, name):
    # partitions shorter than the overlap: a partition's context spans several neighbours
    chunks = (7, 3, 1, 1489, 2, 1498, 5, 2995)
    assert sum(chunks) == N_ROWS
    x = da.from_array(stream.to_numpy(), chunks=(chunks, 3))
    result = sd.score_stream(x, models / name)
    whole = sd.load_model(models / name).detect(stream)
    np.testing.assert_allclose(result.frame["score"], whole.scores, atol=1e-6)
    np.testing.assert_array_equal(result.frame["label"], whole.labels)
    assert [(e.start, e.end) for e in result.events] == [(e.start, e.end) for e in whole.events]


def test_onnx_partition_scoring_needs_no_torch(models, stream, tmp_path):
    # what a Spark executor or Dask worker with only onnxruntime runs
    import subprocess
    import sys
    from pathlib import Path

    data = tmp_path / "rows.npy"
    np.save(data, stream.to_numpy()[:2000])
    code = (
        "import sys, numpy as np\n"
        "from seqae import distributed as sd\n"
        f"det = sd.load_model({str(models / 'lstm.onnx')!r})\n"
        f"x = np.load({str(data)!r})\n"
        "s, labels, c, _ = sd._score_range(det, x, 0, 500, 1500, 2000, source='part')\n"
        "assert np.allclose(s, det.score_samples(x)[500:1500], atol=1e-6)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": root, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
