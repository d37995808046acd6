"""One scoring pipeline for every detector (issue #15).

``Detector`` and ``OnnxDetector`` share the numpy scoring core (:mod:`seqae.scoring.core`);
streaming a
file (:func:`seqae.scale.streaming.detect_file`, ``seqae detect --chunk-size``) works for both and
equals the in-memory ``detect``; ``seqae detect FILE`` without a model reads and scores FILE once.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from seqae.cli.main import cli
from seqae.datasets import make_sensor_stream

import seqae
from seqae import Detector, OnnxDetector, streaming
from seqae.errors import ModelFormatError, ParameterError
from seqae.models.head import ScoringHead
from seqae.scale.streaming import ChunkedScorer, detect_file, iter_detect
from seqae.scoring.core import StreamDetector

ROWS = 5000  # more than one part of ChunkedScorer.min_part (4096) rows
CHUNK = 700  # rows per chunk read: the file is several chunks long


def run(*args, code: int = 0):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, (result.stdout, result.stderr, repr(result.exception))
    return result


@pytest.fixture(scope="module")
def stream():
    # the system of the session's shared models (conftest.family_stream), longer, with a
    # fault far out of range, so that even their one-epoch networks raise events
    s = make_sensor_stream(n_timesteps=ROWS, n_channels=4, anomalies=(), random_state=11)
    s.values[2500:2560, 1] += 25 * s.values[:, 1].std()
    s.labels[2500:2560] = 1
    return s


@pytest.fixture(scope="module")
def csv(stream, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipeline") / "sensors.csv"
    stream.to_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def models(exported_family, tmp_path_factory) -> dict[str, Path]:
    """A convolutional and a windowed model with event rules (the windowed one with score
    smoothing), fitted on another stream of the same channels (the session's shared ones,
    conftest.FAMILIES), saved and exported."""
    folder = tmp_path_factory.mktemp("models")
    out = {}
    for name, family in {"conv1d": "conv1d_convolutional", "dense": "dense"}.items():
        det, onnx_path = exported_family(family)
        det.save(folder / name)
        out[name] = folder / name
        out[f"{name}.onnx"] = onnx_path
    return out


def assert_same(got, want):
    """Scores to 1e-6, the same labels and the same events."""
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got.labels, want.labels)
    assert [(e.start, e.end, e.peak_index) for e in got.events] == [
        (e.start, e.end, e.peak_index) for e in want.events
    ]
    assert [[c for c, _ in e.top_channels] for e in got.events] == [
        [c for c, _ in e.top_channels] for e in want.events
    ]


def test_both_detectors_are_stream_detectors(models):
    assert isinstance(Detector.load(models["dense"]), StreamDetector)
    assert isinstance(OnnxDetector(models["dense.onnx"]), StreamDetector)
    assert seqae.detect_file is detect_file and seqae.iter_detect is iter_detect


@pytest.mark.parametrize("name", ["conv1d", "conv1d.onnx", "dense", "dense.onnx"])
def test_detect_file_equals_detect_in_memory(models, csv, stream, name):
    det = streaming.load_detector(models[name])
    want = det.detect(stream.values)
    assert want.events  # something to compare
    parts = []
    got = detect_file(
        models[name], csv, chunk_size=CHUNK, label_columns="anomaly", on_part=parts.append
    )
    assert_same(got, want)
    assert len(parts) > 1 and sum(len(p) for p in parts) == ROWS
    np.testing.assert_allclose(
        np.concatenate([p.contributions for p in parts]), want.contributions, atol=1e-6
    )
    # the same from chunks in memory, and part by part
    chunks = np.array_split(stream.values, 9)
    assert_same(detect_file(det, chunks), want)
    scores = np.concatenate([p.scores for p in iter_detect(det, chunks)])
    np.testing.assert_allclose(scores, want.scores, rtol=1e-6, atol=1e-6)


def test_onnx_streams_in_bounded_memory(models, stream):
    det = OnnxDetector(models["dense.onnx"])
    scorer = ChunkedScorer(det, min_part=256)
    held = []
    for chunk in np.array_split(stream.values, 20):
        scorer.push(chunk)
        held.append(scorer.n_buffered)
    assert max(held) <= 256 + det.frame + len(stream.values) // 20 + 1
    assert scorer.finish() is not None


def test_detect_file_errors(models, csv):
    with pytest.raises(ModelFormatError, match="no such model"):
        detect_file(csv.parent / "missing.onnx", csv)
    with pytest.raises(ParameterError, match="detector must be"):
        detect_file(42, csv)
    with pytest.raises(ParameterError, match="chunk_size"):
        detect_file(models["dense"], csv, chunk_size=0)
    with pytest.raises(ParameterError, match="apply to a file path"):
        detect_file(models["dense"], [np.zeros((50, 4))], nan_policy="ffill")


@pytest.mark.parametrize("name", ["conv1d.onnx", "dense.onnx"])
def test_cli_streams_an_onnx_model(models, csv, stream, tmp_path, monkeypatch, name):
    """`seqae detect big.csv --model model.onnx --chunk-size N` reads in chunks and gives the
    in-memory OnnxDetector.detect result."""
    from seqae.datasets import sensors

    whole_reads = []
    read_sensors = sensors.read_sensors

    def counting_read(*args, **kwargs):
        if kwargs.get("nrows") is None:
            whole_reads.append(args)
        return read_sensors(*args, **kwargs)

    monkeypatch.setattr(sensors, "read_sensors", counting_read)
    pushed = []
    push = streaming.ChunkedScorer.push
    monkeypatch.setattr(
        streaming.ChunkedScorer, "push", lambda self, v: pushed.append(len(v)) or push(self, v)
    )
    out, events = tmp_path / "scores.csv", tmp_path / "events.json"
    run(
        "detect", csv, "--model", models[name], "--chunk-size", CHUNK,
        "--output", out, "--events", events, "--channels",
    )  # fmt: skip
    assert whole_reads == []  # never the whole file at once...
    assert len(pushed) >= ROWS // CHUNK and max(pushed) <= CHUNK + 1  # ...but chunk by chunk
    want = OnnxDetector(models[name]).detect(stream.values)
    import pandas as pd

    got = pd.read_csv(out)
    np.testing.assert_allclose(got["score"], want.scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got["label"], want.labels)
    np.testing.assert_allclose(
        got[[f"contribution_{c}" for c in want.channels]], want.contributions, atol=1e-6
    )
    written = json.loads(events.read_text())["events"]
    assert [(e["start"], e["end"]) for e in written] == [(e.start, e.end) for e in want.events]


def test_detect_without_a_model_reads_and_scores_once(csv, stream, tmp_path, monkeypatch):
    """Training on DATA itself: one whole read (its label columns found in it, no peek
    before), one scoring pass over its rows."""
    import pandas as pd
    from seqae.datasets import sensors

    reads, raw_reads, chunked_reads, scored = [], [], [], []
    read_sensors, iter_chunks, read_csv = (
        sensors.read_sensors,
        sensors.iter_sensor_chunks,
        pd.read_csv,
    )

    def counting_read(*args, **kwargs):
        reads.append(kwargs.get("nrows"))
        return read_sensors(*args, **kwargs)

    def counting_read_csv(path, *args, **kwargs):
        if Path(path) == csv:
            raw_reads.append(kwargs.get("nrows"))
        return read_csv(path, *args, **kwargs)

    def counting_chunks(*args, **kwargs):
        chunked_reads.append(args)
        return iter_chunks(*args, **kwargs)

    forward = ScoringHead.forward

    def counting_forward(self, x):
        scored.append(x.shape[0] * x.shape[1])  # timesteps (frames x length) through the head
        return forward(self, x)

    monkeypatch.setattr(sensors, "read_sensors", counting_read)
    monkeypatch.setattr(pd, "read_csv", counting_read_csv)
    monkeypatch.setattr(sensors, "iter_sensor_chunks", counting_chunks)
    monkeypatch.setattr(ScoringHead, "forward", counting_forward)
    out = tmp_path / "scores.csv"
    result = run("detect", csv, "--frame", 32, "--epochs", 1, "--output", out)
    assert reads == [None]  # the file is read whole once...
    assert raw_reads == [None]  # ...and nothing else reads it (no peek at its labels)
    assert chunked_reads == []  # nor again in chunks to score it
    assert "vs labels: column 'anomaly'" in result.stdout  # its labels found in that read
    # conv1d scores the stream in one convolutional pass: every row goes through once
    assert sum(scored) == ROWS
    assert len(read_csv(out)) == ROWS


def test_fit_detect_equals_fit_then_detect(stream):
    kw = {"model": "dense", "frame": 16, "step": 4, "epochs": 1, "random_state": 0}
    kw.update(threshold="quantile", contamination=0.05, min_event_length=2)
    one = Detector(**kw).fit_detect(stream.values, reconstruction=True)
    two = Detector(**kw).fit(stream.values)
    want = two.detect(stream.values, reconstruction=True)
    assert want.events
    assert_same(one, want)
    np.testing.assert_allclose(one.reconstruction, want.reconstruction, rtol=1e-5, atol=1e-5)
    with pytest.raises(seqae.DataError, match="one stream"):
        Detector(**kw).fit_detect([stream.values[:1000], stream.values[1000:2000]])


@pytest.mark.parametrize("seed", range(5))
def test_events_built_part_by_part_equal_the_whole(seed):
    from seqae.scoring.events import EventBuilder, describe_events

    rng = np.random.default_rng(seed)
    n = 400
    labels = (rng.random(n) < 0.3).astype(np.int8)
    labels[:3], labels[-2:] = 1, 1  # events at both ends
    scores, contributions = rng.random(n), rng.random((n, 3))
    times = np.datetime64("2024-01-01") + np.arange(n).astype("timedelta64[m]")
    want = describe_events(labels, scores, contributions, ["a", "b", "c"], times, top_k=2)
    builder = EventBuilder(["a", "b", "c"], top_k=2)
    cuts = np.sort(rng.choice(np.arange(1, n), size=12, replace=False))
    for lo, hi in zip([0, *cuts], [*cuts, n], strict=True):
        builder.add(labels[lo:hi], scores[lo:hi], contributions[lo:hi], times[lo:hi])
    got = builder.events()
    assert len(got) == len(want) > 10
    for g, w in zip(got, want, strict=True):
        assert (g.start, g.end, g.peak_index, g.start_time, g.end_time) == (
            w.start, w.end, w.peak_index, w.start_time, w.end_time
        )  # fmt: skip
        np.testing.assert_allclose([g.peak_score, g.mean_score], [w.peak_score, w.mean_score])
        assert [c for c, _ in g.top_channels] == [c for c, _ in w.top_channels]
        np.testing.assert_allclose([s for _, s in g.top_channels], [s for _, s in w.top_channels])


def test_detect_file_without_keeping_the_rows(models, csv, stream):
    """keep=False: the same events and counts, and no per-row arrays held."""
    det = OnnxDetector(models["dense.onnx"])
    want = det.detect(stream.values)
    got = detect_file(det, csv, chunk_size=CHUNK, label_columns="anomaly", keep=False)
    assert got.scores is None and got.labels is None and got.timestamps is None
    assert (got.n_rows, got.n_anomalies) == (ROWS, want.n_anomalies)
    assert [(e.start, e.end, e.peak_index) for e in got.events] == [
        (e.start, e.end, e.peak_index) for e in want.events
    ]
