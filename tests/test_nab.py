"""Tests for seqae.datasets.nab on small files the tests write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from seqae.datasets.nab import load_nab

from seqae.errors import DataError, ParameterError


@pytest.fixture
def nab(tmp_path) -> Path:
    """A NAB-like tree: data/realKnownCause/machine.csv, 10 rows 5 minutes apart."""
    folder = tmp_path / "data" / "realKnownCause"
    folder.mkdir(parents=True)
    times = pd.date_range("2014-02-19 10:00", periods=10, freq="5min")
    frame = pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M:%S"), "value": range(10)})
    frame.to_csv(folder / "machine.csv", index=False)
    return folder / "machine.csv"


def write_json(path: Path, content) -> Path:
    path.write_text(json.dumps(content))
    return path


def test_without_labels(nab):
    data = load_nab(nab)
    assert data.channels == ["value"]
    assert data.values[:, 0].tolist() == list(range(10))
    assert isinstance(data.timestamps, pd.DatetimeIndex)
    assert data.labels is None


def test_windows_label_their_rows_ends_included(nab, tmp_path):
    windows = {
        "realKnownCause/machine.csv": [
            ["2014-02-19 10:05:00.000000", "2014-02-19 10:15:00.000000"],
            ["2014-02-19 10:40:00.000000", "2014-02-19 10:45:00.000000"],
        ],
        "realKnownCause/other.csv": [["2014-02-19 10:00:00", "2014-02-19 10:45:00"]],
    }
    data = load_nab(nab, write_json(tmp_path / "windows.json", windows))
    assert data.label.tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 1, 1]
    assert data.label.dtype == np.int8
    assert data.report["labels_key"] == "realKnownCause/machine.csv"


def test_point_labels(nab, tmp_path):
    points = {"realKnownCause/machine.csv": ["2014-02-19 10:20:00", "2014-02-19 10:30:00"]}
    data = load_nab(nab, write_json(tmp_path / "labels.json", points))
    assert np.flatnonzero(data.label).tolist() == [4, 6]


def test_explicit_key_and_a_file_without_windows(nab, tmp_path):
    labels = {"a/x.csv": [], "b/x.csv": [["2014-02-19 10:00:00", "2014-02-19 10:00:00"]]}
    path = write_json(tmp_path / "w.json", labels)
    assert load_nab(nab, path, key="a/x.csv").label.sum() == 0
    assert load_nab(nab, path, key="b/x.csv").label.tolist() == [1] + [0] * 9


def test_key_matched_by_file_name_alone(nab, tmp_path):
    path = write_json(tmp_path / "w.json", {"somewhere/machine.csv": []})
    assert load_nab(nab, path).report["labels_key"] == "somewhere/machine.csv"


def test_no_matching_key_suggests_close_ones(nab, tmp_path):
    path = write_json(tmp_path / "w.json", {"realKnownCause/machine_2.csv": []})
    with pytest.raises(DataError) as info:
        load_nab(nab, path)
    message = str(info.value)
    assert "w.json" in message and "realKnownCause/machine.csv" in message
    assert "realKnownCause/machine_2.csv" in message and "key=" in message


def test_ambiguous_key(nab, tmp_path):
    path = write_json(tmp_path / "w.json", {"a/machine.csv": [], "b/machine.csv": []})
    with pytest.raises(DataError, match=r"several keys match machine\.csv"):
        load_nab(nab, path)


def test_unknown_explicit_key(nab, tmp_path):
    path = write_json(tmp_path / "w.json", {"realKnownCause/machine.csv": []})
    with pytest.raises(DataError, match=r"w\.json: no key 'realKnownCause/machin\.csv'"):
        load_nab(nab, path, key="realKnownCause/machin.csv")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not a NAB labels JSON file"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_labels_file(nab, tmp_path, content, match):
    path = tmp_path / "w.json"
    path.write_text(content)
    with pytest.raises(DataError, match=match) as info:
        load_nab(nab, path)
    assert "w.json" in str(info.value)


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([["2014-02-19 10:20:00", "2014-02-19 10:10:00"]], "ends before it starts"),
        ([["yesterday", "2014-02-19 10:10:00"]], "not a list of date/times"),
        ([[1, 2, 3]], "each entry must be"),
        ("2014-02-19", "expected a list"),
    ],
)
def test_bad_windows(nab, tmp_path, entries, match):
    path = write_json(tmp_path / "w.json", {"realKnownCause/machine.csv": entries})
    with pytest.raises(DataError, match=match) as info:
        load_nab(nab, path)
    assert "w.json" in str(info.value) and "machine.csv" in str(info.value)


def test_missing_files(nab, tmp_path):
    with pytest.raises(DataError, match=r"gone\.json: file not found"):
        load_nab(nab, tmp_path / "gone.json")
    with pytest.raises(DataError, match=r"gone\.csv: file not found"):
        load_nab(tmp_path / "gone.csv")


def test_key_without_labels_file(nab):
    with pytest.raises(ParameterError, match="key needs labels_path"):
        load_nab(nab, key="realKnownCause/machine.csv")
