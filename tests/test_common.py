"""seqae.scoring.common: the shared checks (numbers, integers, 0/1 labels, scores, lengths) and
the interval merge and timestamp text the event and metric code use."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from seqae.errors import DataError, ParameterError
from seqae.scoring.common import (
    as_scores,
    binary_labels,
    check_int,
    check_same_length,
    is_number,
    iso,
    merge_intervals,
)


def test_is_number_takes_real_numbers_only():
    assert all(is_number(v) for v in (1, 2.5, np.int8(3), np.float32(0.5)))
    assert not any(is_number(v) for v in (True, np.bool_(True), "1", None, 1j, [1]))


def test_check_int_names_the_parameter():
    assert check_int("frame", np.int64(8), 1) == 8
    with pytest.raises(ParameterError, match=r"frame must be an integer >= 1, got 2.0"):
        check_int("frame", 2.0, 1)
    with pytest.raises(ParameterError, match="frame must be an integer"):
        check_int("frame", True, 1)
    with pytest.raises(ParameterError, match=r"frame must be >= 2, got 1"):
        check_int("frame", 1, 2)


def test_binary_labels_accept_bool_int_float_and_name_the_first_bad_value():
    np.testing.assert_array_equal(binary_labels([True, False]), [1, 0])
    out = binary_labels(np.array([0.0, 1.0, 1.0]))
    assert out.dtype == np.uint8 and out.tolist() == [0, 1, 1]
    with pytest.raises(DataError, match=r"truth must hold only 0 and 1 .*2\)? at index 1"):
        binary_labels([0, 2, 1], "truth")
    with pytest.raises(DataError, match="at index 0"):
        binary_labels([np.nan, 1.0])
    with pytest.raises(DataError, match="1-D array"):
        binary_labels(np.zeros((2, 2)))
    assert binary_labels(np.zeros((2, 2)), ravel=True).shape == (4,)
    with pytest.raises(DataError, match="dtype <U1"):
        binary_labels(np.array(["0", "1"]))


def test_as_scores_drops_or_refuses_nan_and_refuses_inf():
    np.testing.assert_array_equal(as_scores([1.0, np.nan, 3.0]), [1.0, 3.0])
    with pytest.raises(DataError, match=r"contain NaN \(first at index 1\)"):
        as_scores([1.0, np.nan], drop_nan=False)
    with pytest.raises(DataError, match=r"contain inf \(at index 1"):
        as_scores([1.0, np.inf])
    with pytest.raises(DataError, match="empty"):
        as_scores([np.nan])
    with pytest.raises(DataError, match="must be numeric"):
        as_scores(["high"])


def test_check_same_length_names_both_arrays():
    check_same_length(a=np.zeros(3), b=np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"labels \(3,\), scores \(4,\)"):
        check_same_length(labels=np.zeros(3), scores=np.zeros(4))


@pytest.mark.parametrize(
    ("intervals", "gap", "merged"),
    [
        ([[0, 2], [3, 5], [9, 10]], 1, [[0, 5], [9, 10]]),
        ([[0, 2], [3, 5], [9, 10]], 0, [[0, 2], [3, 5], [9, 10]]),
        ([[0, 2], [3, 5], [9, 10]], 4, [[0, 10]]),
        ([[0, 8], [2, 3], [9, 10]], 0, [[0, 8], [9, 10]]),  # a contained interval keeps the end
        ([[4, 6]], 0, [[4, 6]]),
    ],
)
def test_merge_intervals(intervals, gap, merged):
    assert merge_intervals(np.array(intervals), gap).tolist() == merged


def test_iso_writes_datetimes_in_iso_and_the_rest_as_text():
    assert iso(np.datetime64("2024-01-02T03:04:05")) == "2024-01-02T03:04:05"
    assert iso(dt.datetime(2024, 1, 2, 3, 4)) == "2024-01-02T03:04:00"
    assert iso(np.int64(7)) == "7" and iso("t0") == "t0"
