"""Tests for seqae.datasets.skab on the copy in ../shared/datasets/skab (never downloading)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from seqae.datasets import SkabExperiment, load_skab
from seqae.datasets import skab as skab_module

from seqae.errors import DataError, ParameterError

SKAB = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "skab"
needs_skab = pytest.mark.skipif(
    not (SKAB / "valve1").is_dir(),
    reason=f"the SKAB copy is not at {SKAB} (shared/ must sit beside the repository)",
)

# From SOURCE.md's per-file table: rows, anomaly rows, changepoint rows, first anomalous row.
TABLE = {
    "other/2": (780, 384, 4, 104),
    "other/13": (923, 265, 4, 495),
    "valve1/0": (1147, 401, 4, 573),
    "valve1/7": (1094, 405, 4, 578),
    "valve2/3": (995, 395, 4, 564),
}
CHANNELS = [
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
]


@pytest.fixture(scope="module")
def experiments() -> list[SkabExperiment]:
    if not (SKAB / "valve1").is_dir():
        pytest.skip(f"the SKAB copy is not at {SKAB}")
    return load_skab(SKAB)


@needs_skab
def test_34_labelled_files_in_order(experiments):
    names = [e.name for e in experiments]
    expected = (
        [f"valve1/{i}" for i in range(16)]
        + [f"valve2/{i}" for i in range(4)]
        + [f"other/{i}" for i in range(1, 15)]
    )
    assert names == expected
    assert sum(e.data.n_timesteps for e in experiments) == 37_401
    assert sum(int(e.anomaly.sum()) for e in experiments) == 13_067
    assert sum(int(e.changepoint.sum()) for e in experiments) == 129


@needs_skab
@pytest.mark.parametrize("name", sorted(TABLE))
def test_per_file_counts_match_the_source_table(experiments, name):
    rows, anomalies, changepoints, first = TABLE[name]
    (exp,) = [e for e in experiments if e.name == name]
    assert exp.data.n_timesteps == rows
    assert int(exp.anomaly.sum()) == anomalies
    assert int(exp.changepoint.sum()) == changepoints
    assert int(np.argmax(exp.anomaly)) == first
    assert int(np.argmax(exp.changepoint)) == first  # the first changepoint opens the fault


@needs_skab
def test_channels_types_and_time(experiments):
    for exp in experiments:
        assert exp.data.channels == CHANNELS
        assert exp.data.values.dtype == np.float32 and exp.data.values.shape[1] == 8
        assert isinstance(exp.data.timestamps, pd.DatetimeIndex)
        assert exp.data.timestamps.is_monotonic_increasing
        assert exp.anomaly.dtype == np.int8 and exp.changepoint.dtype == np.int8
        assert exp.group == exp.name.split("/")[0]


@needs_skab
def test_one_contiguous_anomaly_segment_per_file(experiments):
    for exp in experiments:
        edges = np.diff(np.concatenate([[0], exp.anomaly, [0]]).astype(int))
        assert (edges == 1).sum() == 1, exp.name
        assert (edges == -1).sum() == 1, exp.name


@needs_skab
def test_values_match_pandas_reading_the_upstream_way():
    (exp,) = [e for e in load_skab(SKAB, groups="valve2") if e.name == "valve2/1"]
    frame = pd.read_csv(SKAB / "valve2" / "1.csv", sep=";", index_col="datetime", parse_dates=True)
    np.testing.assert_array_equal(exp.data.values, frame[CHANNELS].to_numpy(np.float32))
    np.testing.assert_array_equal(exp.anomaly, frame["anomaly"].to_numpy())
    assert exp.data.timestamps.equals(frame.index)


@needs_skab
def test_groups_and_the_anomaly_free_run():
    loaded = load_skab(SKAB, groups=("other",), include_anomaly_free=True)
    assert [e.name for e in loaded][:2] == ["other/1", "other/2"]
    free = loaded[-1]
    assert free.name == "anomaly-free/anomaly-free"
    assert free.anomaly is None and free.changepoint is None and free.data.labels is None
    assert free.data.n_timesteps == 9405


def test_unknown_group():
    with pytest.raises(ParameterError, match=r"unknown SKAB group\(s\) \['valve3'\]"):
        load_skab("anywhere", groups=("valve3",))


def test_not_a_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_skab(tmp_path / "missing")


def test_folder_not_in_skab_layout(tmp_path):
    (tmp_path / "valve1").mkdir()
    (tmp_path / "valve1" / "0.csv").write_text("x\n")
    with pytest.raises(DataError, match=r"not the SKAB layout: the folder valve2/ is missing") as e:
        load_skab(tmp_path)
    assert str(tmp_path) in str(e.value)


def test_group_folder_without_numbered_files(tmp_path):
    for group in ("valve1", "valve2", "other"):
        (tmp_path / group).mkdir()
    (tmp_path / "valve1" / "notes.csv").write_text("x\n")
    with pytest.raises(DataError, match=r"valve1: not the SKAB layout: no numbered CSV files"):
        load_skab(tmp_path)


@needs_skab
def test_file_without_the_anomaly_column(tmp_path):
    folder = tmp_path / "valve2"
    folder.mkdir()
    frame = pd.read_csv(SKAB / "valve2" / "0.csv", sep=";")
    frame.drop(columns="anomaly").to_csv(folder / "0.csv", sep=";", index=False)
    with pytest.raises(DataError) as info:
        load_skab(tmp_path, groups="valve2")
    message = str(info.value)
    assert "0.csv" in message and "'anomaly' not found" in message
    assert "a SKAB file has ';'-separated columns" in message


@needs_skab
def test_file_order_is_numeric(tmp_path):
    folder = tmp_path / "valve1"
    folder.mkdir()
    for n in (10, 2, 1):
        shutil.copy(SKAB / "valve1" / f"{n}.csv", folder / f"{n}.csv")
    assert [e.name for e in load_skab(tmp_path, groups="valve1")] == [
        "valve1/1",
        "valve1/2",
        "valve1/10",
    ]


# --------------------------------------------------------------------------- the download path
# The real code runs against a file:// URL standing in for raw.githubusercontent.com.


@needs_skab
def test_download_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(skab_module, "_BASE_URL", SKAB.as_uri())
    cache = tmp_path / "cache"
    loaded = load_skab(groups="valve2", cache_dir=cache)
    assert [e.name for e in loaded] == [f"valve2/{i}" for i in range(4)]
    for i in range(4):
        assert (cache / "valve2" / f"{i}.csv").read_bytes() == (
            SKAB / "valve2" / f"{i}.csv"
        ).read_bytes()
    assert not list(cache.rglob("*.tmp"))
    # a second call uses the cache: it works with the "network" gone
    monkeypatch.setattr(skab_module, "_BASE_URL", (tmp_path / "gone").as_uri())
    assert len(load_skab(groups="valve2", cache_dir=cache)) == 4


@needs_skab
def test_cache_location_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(skab_module, "_BASE_URL", SKAB.as_uri())
    monkeypatch.setenv("SEQAE_DATA", str(tmp_path))
    load_skab(groups="valve2")
    assert (tmp_path / "skab" / "valve2" / "3.csv").is_file()


def test_offline_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(skab_module, "_BASE_URL", (tmp_path / "nowhere").as_uri())
    with pytest.raises(DataError, match=r"could not download the SKAB file .*valve2/0\.csv") as e:
        load_skab(groups="valve2", cache_dir=tmp_path / "cache")
    assert "load_skab(path=" in str(e.value)
    assert not (tmp_path / "cache" / "valve2" / "0.csv").exists()


def test_altered_download_is_rejected(tmp_path, monkeypatch):
    fake = tmp_path / "fake" / "valve2"
    fake.mkdir(parents=True)
    (fake / "0.csv").write_text("datetime;x\n")
    monkeypatch.setattr(skab_module, "_BASE_URL", (tmp_path / "fake").as_uri())
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        load_skab(groups="valve2", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "valve2" / "0.csv").exists()
