"""Tests for seqae.datasets.sensors: reading, validation, NaN policies, chunks."""

from __future__ import annotations

import gzip
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from seqae.datasets import SensorData, iter_sensor_chunks, read_sensors, sensors_from_frame

from seqae.errors import DataError, ParameterError


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def stamps(n: int, start: str = "2024-01-01") -> list[str]:
    return pd.date_range(start, periods=n, freq="1s").strftime("%Y-%m-%d %H:%M:%S").tolist()


def csv_text(header: str, rows: list[str]) -> str:
    return header + "\n" + "".join(r + "\n" for r in rows)


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_separator_is_sniffed(tmp_path, sep):
    rows = [sep.join([t, f"{i}.5", str(-i)]) for i, t in enumerate(stamps(5))]
    path = write(tmp_path, "s.csv", csv_text(sep.join(["time", "a", "b"]), rows))
    data = read_sensors(path)
    assert data.report["separator"] == sep
    assert data.channels == ["a", "b"]
    np.testing.assert_array_equal(data.values[:, 0], np.arange(5) + 0.5)
    np.testing.assert_array_equal(data.values[:, 1], -np.arange(5))


def test_semicolon_with_decimal_commas_is_not_taken_for_commas(tmp_path):
    # every data line splits evenly on ',' (one decimal comma per number) but the header does not
    path = write(tmp_path, "eu.csv", "a;b\n1,5;2,5\n3,5;4,5\n")
    with pytest.raises(DataError, match="decimal comma") as info:
        read_sensors(path)
    assert "eu.csv" in str(info.value)
    assert "'1,5'" in str(info.value)


def test_result_types_and_layout(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("time,a,b", [f"{t},1,2" for t in stamps(3)]))
    data = read_sensors(path)
    assert data.values.dtype == np.float32
    assert data.values.flags["C_CONTIGUOUS"]
    assert isinstance(data.timestamps, pd.DatetimeIndex)
    assert data.labels is None and data.label is None
    assert data.source == str(path)
    assert (data.n_timesteps, data.n_channels) == (3, 2)
    assert data.report["rows_read"] == 3 and data.report["time_column"] == "time"


def test_gzip_csv(tmp_path):
    path = tmp_path / "s.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(csv_text("a;b", ["1;2", "3;4"]))
    data = read_sensors(path)
    assert data.values.tolist() == [[1, 2], [3, 4]]
    assert data.report["compression"] == "gzip"


def test_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {"ts": pd.date_range("2024-01-01", periods=4, freq="1min"), "x": [1.0, 2, 3, 4]}
    )
    frame["y"] = np.arange(4, dtype=np.int32)
    path = tmp_path / "s.parquet"
    frame.to_parquet(path)
    data = read_sensors(path)
    assert data.channels == ["x", "y"]
    assert data.report["time_column"] == "ts"  # detected by its datetime type
    assert data.timestamps.equals(pd.DatetimeIndex(frame["ts"]))
    assert read_sensors(path, nrows=2).n_timesteps == 2
    chunks = list(iter_sensor_chunks(path, 3))
    assert [c.n_timesteps for c in chunks] == [3, 1]
    np.testing.assert_array_equal(np.concatenate([c.values for c in chunks]), data.values)


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "s.parquet"
    path.write_bytes(b"PAR1 not really")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DataError, match="pip install pyarrow") as info:
        read_sensors(path)
    assert "s.parquet" in str(info.value)


def test_corrupt_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"x" * 100)
    with pytest.raises(DataError, match=r"bad\.parquet: cannot read as Parquet"):
        read_sensors(path)


def test_nrows(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a", [str(i) for i in range(10)]))
    assert read_sensors(path, nrows=4).values[:, 0].tolist() == [0, 1, 2, 3]


def test_explicit_separator(tmp_path):
    path = write(tmp_path, "s.txt", csv_text("a|b", ["1|2"]))
    assert read_sensors(path, sep="|").values.tolist() == [[1, 2]]


def test_latin1_file_keeps_column_names(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("temp °C,b\n1,2\n".encode("latin-1"))
    data = read_sensors(path)
    assert data.channels == ["temp °C", "b"]
    assert data.report["encoding"] == "latin-1"


# --------------------------------------------------------------------------- time column


@pytest.mark.parametrize("name", ["time", "Timestamp", "DATETIME", "date", "date_time"])
def test_time_column_found_by_name(tmp_path, name):
    path = write(tmp_path, "s.csv", csv_text(f"a,{name}", [f"1,{t}" for t in stamps(2)]))
    data = read_sensors(path)
    assert data.report["time_column"] == name
    assert data.channels == ["a"]
    assert data.timestamps[1] - data.timestamps[0] == pd.Timedelta("1s")


def test_time_column_found_by_its_values(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("when,a", [f"{t},1" for t in stamps(3)]))
    data = read_sensors(path)
    assert data.report["time_column"] == "when"
    assert data.timestamps[0] == pd.Timestamp("2024-01-01")


def test_day_first_dates_parse(tmp_path):
    path = write(tmp_path, "s.csv", "time,a\n01/02/2024 10:00,1\n13/02/2024 10:00,2\n")
    data = read_sensors(path)
    assert data.timestamps[1] == pd.Timestamp("2024-02-13 10:00")


def test_mixed_utc_offsets_become_utc(tmp_path):
    rows = ["2024-03-31T01:30:00+01:00,1", "2024-03-31T03:30:00+02:00,2"]
    data = read_sensors(write(tmp_path, "s.csv", csv_text("time,a", rows)))
    assert str(data.timestamps.tz) == "UTC"
    assert data.timestamps[1] - data.timestamps[0] == pd.Timedelta("1h")


def test_auto_time_leaves_requested_channels_alone(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("date,a", ["20240101,1", "20240102,2"]))
    assert read_sensors(path).report["time_column"] == "date"  # numeric, named like a time
    data = read_sensors(path, columns=["date", "a"])
    assert data.timestamps is None and data.channels == ["date", "a"]


def test_numeric_epoch_time_is_a_float_index(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("time,a", ["1700000000.5,1", "1700000001.5,2"]))
    data = read_sensors(path)
    assert not isinstance(data.timestamps, pd.DatetimeIndex)
    assert data.timestamps.dtype == np.float64
    assert data.timestamps.tolist() == [1700000000.5, 1700000001.5]


def test_explicit_time_column_missing_lists_available(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b", ["1,2"]))
    with pytest.raises(DataError, match=r"time column 'clock' not found") as info:
        read_sensors(path, time_column="clock")
    assert "s.csv" in str(info.value) and "'a', 'b'" in str(info.value)


def test_no_time_column(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("time,a", [f"{t},1" for t in stamps(2)]))
    data = read_sensors(path, time_column=None)
    assert data.timestamps is None
    assert data.channels == ["a"]
    assert data.report["skipped_columns"] == ["time"]


def test_unsorted_rows_are_sorted_and_reported(tmp_path):
    t = stamps(4)
    rows = [f"{t[2]},2", f"{t[0]},0", f"{t[3]},3", f"{t[1]},1"]
    data = read_sensors(write(tmp_path, "s.csv", csv_text("time,a", rows)))
    assert data.values[:, 0].tolist() == [0, 1, 2, 3]
    assert data.timestamps.is_monotonic_increasing
    assert data.report["sorted_by_time"] is True
    assert data.report["rows_out_of_order"] == 2


def test_duplicate_timestamps_are_reported_not_fatal(tmp_path):
    t = stamps(3)
    rows = [f"{t[0]},0", f"{t[1]},1", f"{t[1]},2", f"{t[2]},3", f"{t[2]},4"]
    data = read_sensors(write(tmp_path, "s.csv", csv_text("time,a", rows)))
    assert data.n_timesteps == 5
    assert data.report["duplicate_timestamps"] == 2
    assert data.report["first_duplicate"] == f"{t[1]} at row 3"
    assert data.report["sorted_by_time"] is False


def test_bad_time_value_names_row_and_line(tmp_path):
    rows = [f"{t},1" for t in stamps(3)] + ["yesterday,2"]
    with pytest.raises(DataError) as info:
        read_sensors(write(tmp_path, "s.csv", csv_text("time,a", rows)))
    message = str(info.value)
    assert "s.csv" in message and "'time'" in message
    assert "row 4 (line 5)" in message and "'yesterday'" in message


def test_missing_time_value_is_an_error_unless_dropping(tmp_path):
    t = stamps(3)
    path = write(tmp_path, "s.csv", csv_text("time,a", [f"{t[0]},1", ",2", f"{t[2]},3"]))
    with pytest.raises(DataError, match=r"'time' is empty at row 2 \(line 3\)"):
        read_sensors(path, nan_policy="interpolate")
    data = read_sensors(path, nan_policy="drop")
    assert data.values[:, 0].tolist() == [1, 3]
    assert data.report["rows_dropped"] == 1


# --------------------------------------------------------------------------- columns


def test_columns_pick_and_order(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b,c", ["1,2,3", "4,5,6"]))
    data = read_sensors(path, columns=["c", "a"])
    assert data.channels == ["c", "a"]
    assert data.values.tolist() == [[3, 1], [6, 4]]


def test_missing_columns_are_named_with_the_available_ones(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b", ["1,2"]))
    with pytest.raises(DataError) as info:
        read_sensors(path, columns=["a", "zz", "yy"])
    message = str(info.value)
    assert (
        "s.csv" in message and "'zz', 'yy'" in message and "available columns: 'a', 'b'" in message
    )


def test_requested_text_column_names_value_and_row(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b", ["1,2", "3,oops", "5,6"]))
    with pytest.raises(DataError) as info:
        read_sensors(path, columns=["a", "b"])
    message = str(info.value)
    assert "s.csv" in message and "'b'" in message
    assert "row 2 (line 3)" in message and "'oops'" in message


def test_text_columns_are_skipped_and_reported(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,site,b", ["1,north,2", "3,south,4"]))
    data = read_sensors(path)
    assert data.channels == ["a", "b"]
    assert data.report["skipped_columns"] == ["site"]


def test_a_number_column_with_one_stray_word_is_an_error(tmp_path):
    rows = [f"{i},{i}" for i in range(50)] + ["50,ERR"]
    with pytest.raises(DataError) as info:
        read_sensors(write(tmp_path, "s.csv", csv_text("a,b", rows)))
    message = str(info.value)
    assert "'b'" in message and "'ERR'" in message and "row 51 (line 52)" in message


def test_bool_columns_are_numeric_channels(tmp_path):
    data = read_sensors(write(tmp_path, "s.csv", csv_text("a,on", ["1,True", "2,False"])))
    assert data.channels == ["a", "on"]
    assert data.values[:, 1].tolist() == [1, 0]


def test_trailing_separator_column_is_skipped(tmp_path):
    data = read_sensors(write(tmp_path, "s.csv", "a,b,\n1,2,\n3,4,\n"))
    assert data.channels == ["a", "b"]
    assert data.report["skipped_columns"] == ["Unnamed: 2"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"columns": ["a", "a"]}, "columns lists a column twice"),
        ({"columns": ["a", "y"], "label_columns": "y"}, "one role"),
        ({"label_columns": ["y", "y"]}, "label_columns lists a column twice"),
        ({"columns": [1]}, "columns must be a column name"),
        ({"time_column": 3}, "time_column must be 'auto'"),
        ({"nan_policy": "zero"}, "nan_policy must be one of"),
        ({"nrows": 0}, "nrows must be an integer >= 1, got 0"),
        ({"sep": ""}, "sep must be a non-empty string"),
    ],
)
def test_bad_parameters(tmp_path, kwargs, match):
    path = write(tmp_path, "s.csv", csv_text("a,y", ["1,0"]))
    with pytest.raises(ParameterError, match=match):
        read_sensors(path, **kwargs)


# --------------------------------------------------------------------------- labels


def test_label_columns(tmp_path):
    rows = ["1,0.0,False,0", "2,1.0,True,1", "3,0.0,True,0"]
    path = write(tmp_path, "s.csv", csv_text("a,f,b,i", rows))
    data = read_sensors(path, label_columns=["f", "b", "i"])
    assert data.channels == ["a"]
    assert data.labels is not None and set(data.labels) == {"f", "b", "i"}
    assert all(v.dtype == np.int8 for v in data.labels.values())
    assert data.labels["f"].tolist() == [0, 1, 0]
    assert data.labels["b"].tolist() == [0, 1, 1]
    assert data.label is None  # more than one label column
    assert read_sensors(path, label_columns="i", columns=["a"]).label.tolist() == [0, 1, 0]


@pytest.mark.parametrize("bad", ["2", "0.5", "yes", ""])
def test_bad_label_value_names_column_row_and_value(tmp_path, bad):
    path = write(tmp_path, "s.csv", csv_text("a,y", ["1,0", "2,1", f"3,{bad}"]))
    with pytest.raises(DataError) as info:
        read_sensors(path, label_columns="y")
    message = str(info.value)
    assert "s.csv" in message and "label column 'y'" in message and "row 3 (line 4)" in message


def test_missing_label_column(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b", ["1,2"]))
    with pytest.raises(DataError, match=r"label column\(s\) 'anomaly' not found"):
        read_sensors(path, label_columns="anomaly")


# --------------------------------------------------------------------------- NaN / inf


@pytest.fixture
def gappy(tmp_path) -> Path:
    t = stamps(6)
    rows = [
        f"{t[0]},,10",
        f"{t[1]},1,",
        f"{t[2]},,12",
        f"{t[3]},3,inf",
        f"{t[4]},,14",
        f"{t[5]},5,15",
    ]
    return write(tmp_path, "gaps.csv", csv_text("time,a,b", rows))


def test_nan_error_names_column_row_and_line(gappy):
    with pytest.raises(DataError) as info:
        read_sensors(gappy)
    message = str(info.value)
    assert "gaps.csv" in message and "column 'a'" in message
    assert "row 1 (line 2)" in message and "nan_policy" in message


def test_inf_error(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b", ["1,2", "3,-inf"]))
    with pytest.raises(DataError, match=r"column 'b' has -inf \(infinite\) at row 2 \(line 3\)"):
        read_sensors(path)


def test_interpolate(gappy):
    data = read_sensors(gappy, nan_policy="interpolate")
    assert data.values[:, 0].tolist() == [1, 1, 2, 3, 4, 5]  # leading gap takes the first value
    assert data.values[:, 1].tolist() == [10, 11, 12, 13, 14, 15]  # inf treated as missing
    assert data.report["nan_counts"] == {"a": 3, "b": 1}
    assert data.report["inf_counts"] == {"b": 1}
    assert data.report["values_filled"] == 5


def test_ffill(gappy):
    data = read_sensors(gappy, nan_policy="ffill")
    assert data.values[:, 0].tolist() == [1, 1, 1, 3, 3, 5]
    assert data.values[:, 1].tolist() == [10, 10, 12, 12, 14, 15]


def test_drop(gappy):
    data = read_sensors(gappy, nan_policy="drop")
    assert data.values.tolist() == [[5, 15]]
    assert data.report["rows_dropped"] == 5
    assert data.timestamps.tolist() == [pd.Timestamp("2024-01-01 00:00:05")]


def test_interpolation_follows_time_order_after_sorting(tmp_path):
    t = stamps(3)
    path = write(tmp_path, "s.csv", csv_text("time,a", [f"{t[2]},4", f"{t[0]},0", f"{t[1]},"]))
    assert read_sensors(path, nan_policy="interpolate").values[:, 0].tolist() == [0, 2, 4]


def test_all_nan_column_cannot_be_filled(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b", ["1,", "2,"]))
    with pytest.raises(DataError, match="column 'b' has no valid value"):
        read_sensors(path, nan_policy="ffill")


def test_dropping_every_row(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a,b", ["1,", "2,"]))
    with pytest.raises(DataError, match="no data rows left"):
        read_sensors(path, nan_policy="drop")


def test_value_beyond_float32(tmp_path):
    path = write(tmp_path, "s.csv", csv_text("a", ["1", "1e300"]))
    with pytest.raises(
        DataError, match=r"'a' has 1e\+300 at row 2 \(line 3\), outside the float32"
    ):
        read_sensors(path)


def test_blank_lines_are_skipped_and_row_numbers_stay_file_lines(tmp_path):
    path = write(tmp_path, "s.csv", "a,b\n1,2\n\n3,\n")
    with pytest.raises(DataError, match=r"row 3 \(line 4\)"):
        read_sensors(path)
    data = read_sensors(path, nan_policy="ffill")
    assert data.values.tolist() == [[1, 2], [3, 2]]
    assert data.report["blank_rows"] == 1


# --------------------------------------------------------------------------- file errors


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_sensors(tmp_path / "nope.csv")


def test_directory(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        read_sensors(tmp_path)


@pytest.mark.parametrize("content", ["", "  \n\n"])
def test_empty_file(tmp_path, content):
    with pytest.raises(DataError, match=r"e\.csv: the file is empty"):
        read_sensors(write(tmp_path, "e.csv", content))


def test_header_only(tmp_path):
    with pytest.raises(DataError, match=r"h\.csv: has a header \('a', 'b'\) but no data rows"):
        read_sensors(write(tmp_path, "h.csv", "a;b\n"))


def test_binary_file(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"b\.csv: is a binary file"):
        read_sensors(path)


def test_zip_file(tmp_path):
    path = tmp_path / "book.csv"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sheet.xml", "<x/>")
    with pytest.raises(DataError, match=r"book\.csv: is a zip archive"):
        read_sensors(path)


def test_single_text_column(tmp_path):
    path = write(tmp_path, "notes.csv", "Dear reader\nthis is a letter\n")
    with pytest.raises(DataError) as info:
        read_sensors(path)
    message = str(info.value)
    assert "notes.csv" in message and "single column 'Dear reader'" in message


def test_no_numeric_channels(tmp_path):
    path = write(tmp_path, "t.csv", csv_text("name,city", ["bob,paris"]))
    with pytest.raises(DataError) as info:
        read_sensors(path)
    message = str(info.value)
    assert "t.csv: no numeric sensor columns" in message and "'city' (e.g. 'paris')" in message


def test_headerless_numbers(tmp_path):
    with pytest.raises(DataError, match=r"n\.csv: the first line holds data"):
        read_sensors(write(tmp_path, "n.csv", "1,2\n3,4\n"))


def test_ragged_rows(tmp_path):
    path = write(tmp_path, "r.csv", "a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"r\.csv: cannot parse.*line 3"):
        read_sensors(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n" * 100)[:30])
    with pytest.raises(DataError, match=r"c\.csv\.gz"):
        read_sensors(path)


# --------------------------------------------------------------------------- DataFrames


def test_frame_with_datetime_index():
    index = pd.date_range("2024-01-01", periods=3, freq="1h", name="t")
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0], "y": [0, 1, 0]}, index=index)
    data = sensors_from_frame(df, label_columns="y", nan_policy="interpolate")
    assert data.timestamps.equals(index)
    assert data.values[:, 0].tolist() == [1, 2, 3]
    assert data.label.tolist() == [0, 1, 0]
    assert data.source == "<DataFrame>" and data.report["time_column"] == "index"


def test_frame_errors_count_rows_without_lines():
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan]})
    with pytest.raises(DataError) as info:
        sensors_from_frame(df, source="mem")
    assert str(info.value).startswith("mem: column 'a'")
    assert "row 3" in str(info.value) and "line" not in str(info.value)


def test_frame_of_number_strings_and_int_names():
    df = pd.DataFrame({0: ["1.5", "2"], 1: [3, 4]})
    data = sensors_from_frame(df, columns=["0", "1"])
    assert data.values.tolist() == [[1.5, 3], [2, 4]]


def test_frame_type_and_emptiness():
    with pytest.raises(ParameterError, match="df must be a pandas DataFrame"):
        sensors_from_frame(np.zeros((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no data rows"):
        sensors_from_frame(pd.DataFrame({"a": []}))


def test_sensor_data_checks_shapes():
    with pytest.raises(ParameterError, match="values must have shape"):
        SensorData(np.zeros((3, 2), np.float32), ["a"])
    with pytest.raises(ParameterError, match="timestamps has length 2"):
        SensorData(np.zeros((3, 1), np.float32), ["a"], pd.date_range("2024", periods=2))


# --------------------------------------------------------------------------- round trip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 30), st.integers(1, 5)),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    ),
    sep=st.sampled_from([",", ";", "\t"]),
    with_time=st.booleans(),
)
def test_csv_round_trip(tmp_path, values, sep, with_time):
    channels = [f"c{j}" for j in range(values.shape[1])]
    frame = pd.DataFrame(values, columns=channels)
    if with_time:
        frame.insert(0, "timestamp", pd.date_range("2024-03-01", periods=len(frame), freq="250ms"))
    path = tmp_path / "rt.csv"
    frame.to_csv(path, sep=sep, index=False)
    data = read_sensors(path)
    assert data.channels == channels
    np.testing.assert_array_equal(data.values, values)
    if with_time:
        assert data.timestamps.equals(pd.DatetimeIndex(frame["timestamp"]))
    else:
        assert data.timestamps is None


# --------------------------------------------------------------------------- chunks


def concat(chunks: list[SensorData]) -> tuple[np.ndarray, pd.Index | None, np.ndarray | None]:
    values = np.concatenate([c.values for c in chunks])
    times = (
        None
        if chunks[0].timestamps is None
        else chunks[0].timestamps.append([c.timestamps for c in chunks[1:]])
    )
    labels = None if chunks[0].label is None else np.concatenate([c.label for c in chunks])
    return values, times, labels


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    n=st.integers(1, 40),
    n_channels=st.integers(1, 3),
    policy=st.sampled_from(["interpolate", "ffill", "drop"]),
    chunksize=st.integers(1, 12),
)
def test_chunks_equal_the_whole_file(tmp_path, data, n, n_channels, policy, chunksize):
    values = data.draw(
        hnp.arrays(np.float64, (n, n_channels), elements=st.floats(-100, 100, width=32))
    )
    holes = data.draw(hnp.arrays(np.bool_, (n, n_channels)))
    values[holes] = np.nan
    frame = pd.DataFrame(values, columns=[f"c{j}" for j in range(n_channels)])
    frame.insert(0, "time", stamps(n))
    frame["y"] = np.arange(n) % 2
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    try:
        whole = read_sensors(path, nan_policy=policy, label_columns="y")
    except DataError as e:  # a channel with no valid value, or every row dropped
        with pytest.raises(DataError) as info:
            list(iter_sensor_chunks(path, chunksize, nan_policy=policy, label_columns="y"))
        assert str(info.value).split(";")[0] == str(e).split(";")[0]
        return
    chunks = list(iter_sensor_chunks(path, chunksize, nan_policy=policy, label_columns="y"))
    values_c, times_c, labels_c = concat(chunks)
    np.testing.assert_array_equal(values_c, whole.values)
    assert times_c.equals(whole.timestamps)
    np.testing.assert_array_equal(labels_c, whole.label)
    assert all(c.channels == whole.channels for c in chunks)


def test_chunk_errors_count_rows_from_the_file_start(tmp_path):
    rows = [f"{i},{i}" for i in range(30)]
    rows[24] = "24,"
    path = write(tmp_path, "c.csv", csv_text("a,b", rows))
    with pytest.raises(DataError, match=r"c\.csv: column 'b' has .* at row 25 \(line 26\)"):
        list(iter_sensor_chunks(path, 10))


def test_chunks_keep_the_first_chunks_channels(tmp_path):
    # 'b' is empty in the first chunk (numeric NaN), text in the second: still a channel
    rows = ["1,5", "2,6", "3,x", "4,8"]
    path = write(tmp_path, "c.csv", csv_text("a,b", rows))
    with pytest.raises(DataError, match=r"column 'b' is not numeric: row 3 \(line 4\) has 'x'"):
        list(iter_sensor_chunks(path, 2))


def test_chunks_reject_time_going_back_across_a_border(tmp_path):
    t = stamps(4)
    rows = [f"{t[1]},1", f"{t[2]},2", f"{t[0]},0", f"{t[3]},3"]
    path = write(tmp_path, "c.csv", csv_text("time,a", rows))
    with pytest.raises(DataError, match=r"time goes back across a chunk border at row 3"):
        list(iter_sensor_chunks(path, 2))


def test_chunks_sort_within_a_chunk(tmp_path):
    t = stamps(4)
    rows = [f"{t[1]},1", f"{t[0]},0", f"{t[3]},3", f"{t[2]},2"]
    chunks = list(iter_sensor_chunks(write(tmp_path, "c.csv", csv_text("time,a", rows)), 2))
    assert concat(chunks)[0][:, 0].tolist() == [0, 1, 2, 3]
    assert [c.report["first_row"] for c in chunks] == [1, 3]


def test_chunks_of_header_only_and_empty_files(tmp_path):
    with pytest.raises(DataError, match=r"h\.csv: has a header"):
        list(iter_sensor_chunks(write(tmp_path, "h.csv", "a,b\n"), 5))
    with pytest.raises(DataError, match=r"e\.csv: the file is empty"):
        list(iter_sensor_chunks(write(tmp_path, "e.csv", ""), 5))


def test_chunksize_must_be_positive(tmp_path):
    with pytest.raises(ParameterError, match="chunksize must be an integer >= 1, got 0"):
        iter_sensor_chunks(write(tmp_path, "s.csv", "a\n1\n"), 0)


# --------------------------------------------------------------------------- speed


@pytest.mark.slow
def test_a_million_rows_parse_in_a_few_seconds(tmp_path):
    rng = np.random.default_rng(0)
    block = pd.DataFrame(rng.normal(size=(100_000, 8)).astype(np.float32))
    block.columns = [f"s{j}" for j in range(8)]
    body = block.to_csv(index=False, header=False, float_format="%.6g")
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write(",".join(block.columns) + "\n")
        for _ in range(10):
            fh.write(body)
    start = time.perf_counter()
    data = read_sensors(path)
    elapsed = time.perf_counter() - start
    assert data.values.shape == (1_000_000, 8)
    assert elapsed < 10, f"reading 1,000,000 x 8 took {elapsed:.1f} s"


# ------------------------------------------------------------------ issue 13


def test_a_headerless_file_with_a_time_column_is_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("2024-01-01 00:00:00,0.0095,1.5\n2024-01-01 00:00:01,0.0200,1.6\n")
    with pytest.raises(DataError, match=r"h\.csv: the first line holds data \(2024-01-01"):
        read_sensors(path)


def test_thousands_separators_get_a_hint(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('time,price,b\n2024-01-01,"1,308.71",1\n2024-01-02,999.5,2\n')
    hint = r"row 1 .* '1,308.71'.*thousands separator\? write 1308.71"
    with pytest.raises(DataError, match=hint):
        read_sensors(path)


def test_time_values_keep_the_column_as_read_in_the_sorted_order(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("time,a\n1704067202,1\n1704067200,2\n1704067201,3\n")
    data = read_sensors(path)
    assert data.time_values.dtype.kind == "i"
    assert data.time_values.tolist() == [1704067200, 1704067201, 1704067202]
    assert data.values[:, 0].tolist() == [2, 3, 1] and data.report["sorted_by_time"]
    chunks = list(iter_sensor_chunks(tmp_path / "e.csv", 10))
    assert chunks[0].time_values.tolist() == data.time_values.tolist()


def test_a_pipe_is_refused_with_a_true_message(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="is a pipe or device, not a file"):
        read_sensors(fifo)


# ------------------------------------------------------------------------ label columns
def test_label_columns_are_found_by_name_and_0_1_values(tmp_path):
    from seqae.datasets import find_label_columns

    rows = [
        f"{s},{i % 7}.5,{int(i == 3)},{int(i in (3, 4))},{i % 3}" for i, s in enumerate(stamps(6))
    ]
    path = write(tmp_path, "l.csv", csv_text("time,temp,changepoint,Anomaly,label", rows))
    assert find_label_columns(path) == ["Anomaly", "changepoint"]  # 'label' holds a 2
    assert find_label_columns(path, not_labels=["Anomaly"]) == ["changepoint"]
    data = read_sensors(path, label_columns=find_label_columns(path))
    assert data.channels == ["temp", "label"]
    assert data.labels["Anomaly"].tolist() == [0, 0, 0, 1, 1, 0]
    assert find_label_columns(write(tmp_path, "bad.csv", "")) == []  # the real read says why
    with pytest.raises(ParameterError, match="nrows"):
        find_label_columns(path, nrows=0)


def test_auto_label_columns_are_found_in_the_one_read(tmp_path):
    from seqae.datasets import find_label_columns

    rows = [
        f"{s},{i % 7}.5,{int(i == 3)},{int(i in (3, 4))},{i % 3}" for i, s in enumerate(stamps(6))
    ]
    path = write(tmp_path, "l.csv", csv_text("time,temp,changepoint,Anomaly,label", rows))
    data = read_sensors(path, label_columns="auto")
    assert list(data.labels) == ["Anomaly", "changepoint"] == find_label_columns(path)
    assert data.channels == ["temp", "label"]  # 'label' holds a 2: a channel
    assert data.label is None and data.labels["changepoint"].tolist() == [0, 0, 0, 1, 0, 0]
    kept = read_sensors(path, label_columns="auto", not_labels=["Anomaly"])
    assert list(kept.labels) == ["changepoint"] and kept.channels == ["temp", "Anomaly", "label"]
    chosen = read_sensors(path, label_columns="auto", columns=["temp", "Anomaly"])
    assert list(chosen.labels) == ["changepoint"]  # a chosen channel is no label
    assert read_sensors(path, label_columns="auto", nrows=2).channels == ["temp"]  # 'label' 0, 1
    plain = write(tmp_path, "p.csv", csv_text("a,b", ["1,0", "2,1"]))
    assert read_sensors(plain, label_columns="auto").labels is None
    assert read_sensors(path).n_channels == 4  # without label_columns every column a channel
    chunks = list(iter_sensor_chunks(path, 4, label_columns="auto"))  # decided on the first
    assert [list(c.labels) for c in chunks] == [["Anomaly", "changepoint"]] * 2
    df = pd.DataFrame({"x": [1.0, 2.0], "is_anomaly": [True, False]})
    assert sensors_from_frame(df, label_columns="auto").label.tolist() == [1, 0]
    gap = write(tmp_path, "g.csv", csv_text("a,anomaly", ["1,0", "2,", "3,1"]))
    with pytest.raises(DataError, match=r"label column 'anomaly' .* row 2 \(line 3\)"):
        read_sensors(gap, label_columns="auto")  # a gap in a label column is named
    with pytest.raises(ParameterError, match="not_labels"):
        read_sensors(path, label_columns="auto", not_labels=[1])
