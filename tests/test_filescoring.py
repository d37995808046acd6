"""seqae.scale.filescoring: a sensor file read and scored end to end as ``seqae detect`` does it:
``--chunk-size`` streams a saved or exported model through the file in chunks and gives the
in-memory ``detect`` result; ``seqae detect FILE`` without a model reads and scores FILE once.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FILE_ROWS
from seqae.cli.main import cli

from seqae import OnnxDetector, streaming
from seqae.models.head import ScoringHead

CHUNK = 700  # rows per chunk read: the file is several chunks long


def run(*args, code: int = 0):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, (result.stdout, result.stderr, repr(result.exception))
    return result


@pytest.mark.parametrize("name", ["conv1d.onnx", "dense.onnx"])
def test_cli_streams_an_onnx_model(models, csv, file_stream, tmp_path, monkeypatch, name):
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
    assert len(pushed) >= FILE_ROWS // CHUNK and max(pushed) <= CHUNK + 1  # ...but chunk by chunk
    want = OnnxDetector(models[name]).detect(file_stream.values)
    import pandas as pd

    got = pd.read_csv(out)
    np.testing.assert_allclose(got["score"], want.scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got["label"], want.labels)
    np.testing.assert_allclose(
        got[[f"contribution_{c}" for c in want.channels]], want.contributions, atol=1e-6
    )
    written = json.loads(events.read_text())["events"]
    assert [(e["start"], e["end"]) for e in written] == [(e.start, e.end) for e in want.events]


def test_detect_without_a_model_reads_and_scores_once(csv, file_stream, tmp_path, monkeypatch):
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
    assert sum(scored) == FILE_ROWS
    assert len(read_csv(out)) == FILE_ROWS
