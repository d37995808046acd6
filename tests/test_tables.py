"""seqae.files.tables: output formats by file name, outputs checked before any work and written
complete or not at all, and scored rows as CSV or JSON."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from seqae.errors import ParameterError
from seqae.files.tables import (
    OutputFiles,
    TableWriter,
    events_document,
    output_format,
    stream_of,
)
from seqae.scoring.events import describe_events


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("out.csv", "csv"), ("out.JSONL", "json"), ("out.pq", "parquet"), ("out", "csv"),
     ("-", "csv"), ("/dev/fd/3", "csv")],
)  # fmt: skip
def test_output_format_by_extension(path, fmt):
    assert output_format(path) == fmt


def test_an_unknown_extension_is_refused_naming_the_flag_unless_a_format_is_given():
    with pytest.raises(ParameterError, match=r"--events out.xlsx: cannot write .xlsx files"):
        output_format("out.xlsx", flag="--events")
    assert output_format("out.xlsx", given="json") == "json"


def test_a_file_is_not_a_stream():
    assert stream_of("out.csv") is None


def test_outputs_appear_together_or_not_at_all(tmp_path):
    (tmp_path / "b.csv").write_text("old")
    with pytest.raises(RuntimeError), OutputFiles() as files:
        files.open(tmp_path / "a.csv").write("new a")
        files.open(tmp_path / "b.csv").write("new b")
        raise RuntimeError("the run failed half way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]
    assert (tmp_path / "b.csv").read_text() == "old"
    with OutputFiles() as files:
        files.open(tmp_path / "a.csv").write("new a")
        files.open(tmp_path / "b.csv").write("new b")
    assert (tmp_path / "a.csv").read_text() == "new a"
    assert (tmp_path / "b.csv").read_text() == "new b"


def test_bad_outputs_are_refused_before_any_work(tmp_path):
    files = OutputFiles()
    with pytest.raises(ParameterError, match=r"--output .* is a folder"):
        files.open(tmp_path, "--output")
    with pytest.raises(ParameterError, match=r"no folder .*missing; create it first"):
        files.open(tmp_path / "missing" / "out.csv")


def _frames():
    return [
        pd.DataFrame({"index": [0, 1], "score": [0.5, 2.0], "label": [0, 1]}),
        pd.DataFrame({"index": [2], "score": [0.25], "label": [0]}),
    ]


def test_csv_rows_of_several_parts_have_one_header():
    out = io.StringIO()
    writer = TableWriter(out, "csv", ["a"])
    for df in _frames():
        writer.write_frame(df)
    writer.close()
    assert out.getvalue().splitlines() == ["index,score,label", "0,0.5,0", "1,2,1", "2,0.25,0"]
    assert writer.n_rows == 3


def test_json_rows_of_several_parts_are_one_array():
    out = io.StringIO()
    writer = TableWriter(out, "json", ["a"])
    for df in _frames():
        writer.write_frame(df)
    writer.close()
    rows = json.loads(out.getvalue())
    assert [r["index"] for r in rows] == [0, 1, 2] and rows[1]["score"] == 2.0
    empty = io.StringIO()
    TableWriter(empty, "json", ["a"]).close()
    assert json.loads(empty.getvalue()) == []


def test_parquet_is_refused_on_a_text_stream():
    pytest.importorskip("pyarrow")
    with pytest.raises(ParameterError, match="Parquet cannot be written to a text stream"):
        TableWriter(io.StringIO(), "parquet", ["a"])


def test_events_document_counts_and_lists_the_events():
    labels = np.array([0, 1, 1, 0, 1])
    scores = np.array([0.1, 2.0, 3.0, 0.2, 1.5])
    events = describe_events(labels, scores, np.c_[scores, scores], channels=["a", "b"])
    doc = json.loads(events_document("s.csv", 5, ["a", "b"], 3, events))
    assert (doc["source"], doc["n_rows"], doc["n_anomalies"], doc["n_events"]) == ("s.csv", 5, 3, 2)
    assert [(e["start"], e["end"]) for e in doc["events"]] == [(1, 3), (4, 5)]
