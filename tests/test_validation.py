"""seqae.scoring.validation: what users pass (arrays, DataFrames, SensorData) becomes a checked
float32 stream; named data is matched to the fitted channels by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import DataError, DataTypeError
from seqae.scoring.validation import as_stream, as_streams, match_channels

# one thread: two scorings compared exactly must run at one thread count (the default count
# follows the machine's load, which differs between two calls under xdist)
ONE_EPOCH = {"epochs": 1, "batch_size": 128, "random_state": 0, "n_threads": 1}


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_timesteps=6000, n_channels=4, random_state=3)


def test_a_dataframe_keeps_its_names_and_its_datetime_index():
    index = pd.date_range("2024-01-01", periods=5, freq="min")
    frame = pd.DataFrame({"p": np.arange(5.0), "t": np.ones(5)}, index=index)
    s = as_stream(frame)
    assert s.channels == ["p", "t"] and s.named and s.values.dtype == np.float32
    np.testing.assert_array_equal(s.timestamps, index.to_numpy())
    plain = as_stream(np.zeros((5, 2)))
    assert plain.channels == ["channel_0", "channel_1"] and not plain.named


def test_bad_streams_name_the_source_column_and_row():
    with pytest.raises(DataTypeError, match=r"readings: column 'note' is not numeric"):
        as_stream(pd.DataFrame({"a": [1.0], "note": ["x"]}), source="readings")
    with pytest.raises(DataError, match=r"column 'channel_1' .*\(inf\) at row 2"):
        as_stream(np.array([[0, 0], [0, 0], [0, np.inf]]))
    with pytest.raises(DataError, match=r"X\[1\]: .*shape"):
        as_streams([np.zeros((4, 2)), np.zeros((4, 2, 2))])
    with pytest.raises(DataError, match=r"different channel counts \[2, 3\]"):
        as_streams([np.zeros((4, 2)), np.zeros((4, 3))])


def test_match_channels_reorders_named_data_and_counts_unnamed_data():
    fitted = ["a", "b"]
    s = match_channels(as_stream(pd.DataFrame({"b": [2.0], "x": [9.0], "a": [1.0]})), fitted)
    assert s.channels == fitted and s.values.tolist() == [[1.0, 2.0]]
    with pytest.raises(DataError, match="expecting 2"):
        match_channels(as_stream(np.zeros((3, 3))), fitted)


def test_dataframe_channels_reordered_by_name(stream):
    frame = pd.DataFrame(stream.values, columns=stream.channels)
    det = Detector(frame=32, **ONE_EPOCH).fit(frame.iloc[:1500])
    assert det.channels_ == list(stream.channels)
    shuffled = frame[list(reversed(stream.channels))]
    np.testing.assert_allclose(det.score_samples(shuffled), det.score_samples(frame), rtol=1e-6)
    with pytest.raises(DataError, match="missing channel"):
        det.score_samples(frame.drop(columns=[stream.channels[0]]))


def test_dataframes_with_other_columns_are_cut_to_the_channels(stream):
    frame = pd.DataFrame(stream.values, columns=list("abcd"))
    named = Detector(frame=32, **ONE_EPOCH).fit(frame.iloc[:2000])
    expected = named.score_samples(frame)
    busy = frame[["d", "b"]].assign(time=[f"t{i}" for i in range(len(frame))], note="x")
    busy = busy.join(frame[["a", "c"]])
    np.testing.assert_array_equal(named.score_samples(busy), expected)
    with pytest.raises(DataError, match="not numeric"):
        named.score_samples(busy.drop(columns="a"))  # a channel missing: no cut, clear error
