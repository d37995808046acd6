"""Tests for seqae.scoring.events: labels ⇄ intervals, clean-up, event summaries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqae.errors import DataError, ParameterError
from seqae.scoring.events import (
    Event,
    describe_events,
    intervals_to_labels,
    labels_to_intervals,
    postprocess_labels,
)

binary_arrays = st.lists(st.integers(0, 1), min_size=0, max_size=60).map(
    lambda v: np.array(v, dtype=np.uint8)
)


# ----------------------------------------------------------------------- labels ⇄ intervals


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([0, 1, 1, 0, 0, 1], [[1, 3], [5, 6]]),  # second run touches the end
        ([1, 0, 1], [[0, 1], [2, 3]]),  # first run touches the start
        ([1, 1, 1], [[0, 3]]),
        ([0, 0], []),
        ([], []),
    ],
)
def test_labels_to_intervals_hand_cases(labels, expected):
    iv = labels_to_intervals(labels)
    assert iv.dtype == np.int64
    assert iv.shape == (len(expected), 2)
    assert iv.tolist() == expected


def test_labels_to_intervals_accepts_bool_and_float_labels():
    assert labels_to_intervals(np.array([False, True, True])).tolist() == [[1, 3]]
    assert labels_to_intervals(np.array([0.0, 1.0, 0.0])).tolist() == [[1, 2]]


@pytest.mark.parametrize("bad", [[0, 2, 1], [0.5, 1.0], [np.nan, 1.0]])
def test_non_binary_labels_are_a_data_error(bad):
    with pytest.raises(DataError, match=r"labels must hold only 0 and 1.*index"):
        labels_to_intervals(bad)


def test_two_dimensional_labels_are_a_data_error():
    with pytest.raises(DataError, match=r"1-D.*\(2, 2\)"):
        labels_to_intervals(np.zeros((2, 2)))


def test_intervals_to_labels_hand_case_with_overlap():
    # [1, 3) and [2, 4) overlap: steps 1, 2, 3 flagged; [6, 7) flags step 6
    out = intervals_to_labels(np.array([[1, 3], [2, 4], [6, 7]]), 8)
    assert out.tolist() == [0, 1, 1, 1, 0, 0, 1, 0]
    assert out.dtype == np.uint8


def test_intervals_to_labels_empty():
    assert intervals_to_labels(np.empty((0, 2), dtype=np.int64), 3).tolist() == [0, 0, 0]


@pytest.mark.parametrize("bad", [[[2, 2]], [[-1, 2]], [[3, 9]], [[4, 1]]])
def test_intervals_to_labels_rejects_bad_intervals(bad):
    with pytest.raises(DataError, match=r"row 0.*0 <= start < end <= n=5"):
        intervals_to_labels(np.array(bad), 5)


def test_intervals_to_labels_rejects_bad_shape_and_n():
    with pytest.raises(DataError, match=r"\(k, 2\)"):
        intervals_to_labels(np.array([1, 2, 3]), 5)
    with pytest.raises(ParameterError, match="n must be"):
        intervals_to_labels([[0, 1]], -1)


@given(binary_arrays)
def test_intervals_round_trip(y):
    iv = labels_to_intervals(y)
    assert np.array_equal(intervals_to_labels(iv, len(y)), y)
    # maximal runs: sorted, non-empty, separated by at least one 0
    assert (iv[:, 1] > iv[:, 0]).all()
    assert (iv[1:, 0] > iv[:-1, 1]).all()


# ------------------------------------------------------------------------- post-processing


def test_postprocess_merges_before_dropping():
    # events [0,1), [2,3), [6,7); gap of 1 between the first two merges them into [0,3)
    # (length 3 >= 2, kept); [6,7) has length 1 < 2 and is dropped
    y = [1, 0, 1, 0, 0, 0, 1]
    assert postprocess_labels(y, merge_gap=1, min_length=2).tolist() == [1, 1, 1, 0, 0, 0, 0]
    # dropping first would have removed all three single-step events
    assert postprocess_labels(y, min_length=2).tolist() == [0] * 7


def test_postprocess_gap_boundary():
    y = [1, 0, 0, 1]  # a gap of exactly 2 normal steps
    assert postprocess_labels(y, merge_gap=2).tolist() == [1, 1, 1, 1]
    assert postprocess_labels(y, merge_gap=1).tolist() == [1, 0, 0, 1]


def test_postprocess_defaults_are_identity():
    y = np.array([0, 1, 0, 1, 1, 0], dtype=np.uint8)
    assert np.array_equal(postprocess_labels(y), y)
    assert postprocess_labels([0, 0, 0], min_length=3).tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"min_length": 0}, "min_length"),
        ({"merge_gap": -1}, "merge_gap"),
        ({"merge_gap": 1.5}, "merge_gap"),
    ],
)
def test_postprocess_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        postprocess_labels([0, 1], **kwargs)


@given(binary_arrays, st.integers(1, 5), st.integers(0, 4))
def test_postprocess_properties(y, min_length, merge_gap):
    out = postprocess_labels(y, min_length=min_length, merge_gap=merge_gap)
    iv = labels_to_intervals(out)
    assert ((iv[:, 1] - iv[:, 0]) >= min_length).all()
    if len(iv) > 1:
        assert ((iv[1:, 0] - iv[:-1, 1]) > merge_gap).all()
    # merging only adds alarms (in gaps) and dropping only removes them
    if merge_gap == 0:
        assert (out <= y).all()
    if min_length == 1:
        assert (out >= y).all()


# --------------------------------------------------------------------------------- events


def test_describe_events_hand_case():
    labels = [0, 1, 1, 1, 0, 0, 1, 0]
    scores = [0.1, 0.5, 0.9, 0.4, 0.2, 0.1, 0.7, 0.0]
    contributions = [
        [1, 1, 1],
        [1, 0, 0],
        [2, 1, 0],
        [1, 1, 2],  # event 1 sums: a=4, b=2, c=2 -> shares 0.5, 0.25, 0.25
        [0, 0, 0],
        [0, 0, 0],
        [0, 3, 1],  # event 2: a=0, b=3, c=1 -> shares 0, 0.75, 0.25
        [5, 5, 5],
    ]
    ev = describe_events(labels, scores, contributions, channels=["a", "b", "c"], top_k=2)
    assert len(ev) == 2
    e1, e2 = ev
    assert (e1.start, e1.end, e1.duration) == (1, 4, 3)
    assert e1.peak_index == 2 and e1.peak_score == 0.9
    assert e1.mean_score == pytest.approx((0.5 + 0.9 + 0.4) / 3)
    # ties keep channel order: b before c
    assert e1.top_channels == (("a", 0.5), ("b", 0.25))
    assert (e2.start, e2.end, e2.peak_index, e2.peak_score) == (6, 7, 6, 0.7)
    assert e2.top_channels == (("b", 0.75), ("c", 0.25))
    assert e1.start_time is None and e1.end_time is None


def test_describe_events_without_contributions_and_default_names():
    ev = describe_events([1, 1, 0], [3.0, 1.0, 0.0])
    assert ev[0].top_channels == ()
    ev = describe_events([1, 1, 0], [3.0, 1.0, 0.0], contributions=[[0, 2], [1, 1], [9, 9]])
    # sums (1, 3) over the event -> channel_1 0.75, channel_0 0.25
    assert ev[0].top_channels == (("channel_1", 0.75), ("channel_0", 0.25))


def test_describe_events_shares_sum_to_at_most_one():
    rng = np.random.default_rng(0)
    labels = (rng.random(200) < 0.3).astype(int)
    contributions = rng.random((200, 5))
    for e in describe_events(labels, rng.random(200), contributions, top_k=3):
        shares = [s for _, s in e.top_channels]
        assert len(shares) == 3
        assert shares == sorted(shares, reverse=True)
        assert 0 < sum(shares) <= 1 + 1e-12
    full = describe_events(labels, rng.random(200), contributions, top_k=5)
    assert all(sum(s for _, s in e.top_channels) == pytest.approx(1.0) for e in full)


def test_describe_events_zero_contribution_gives_zero_shares():
    ev = describe_events([1, 0], [1.0, 0.0], contributions=[[0.0, 0.0], [1.0, 1.0]])
    assert [s for _, s in ev[0].top_channels] == [0.0, 0.0]


def test_describe_events_datetime64_timestamps():
    ts = np.array(["2020-03-01T15:44:06", "2020-03-01T15:44:07", "2020-03-01T15:44:09"], "M8[s]")
    e = describe_events([0, 1, 1], [0.0, 1.0, 2.0], timestamps=ts)[0]
    # end_time is the last timestep inside the event (index 2)
    assert (e.start_time, e.end_time) == ("2020-03-01T15:44:07", "2020-03-01T15:44:09")


def test_describe_events_python_datetimes_and_numbers():
    t0 = dt.datetime(2024, 1, 2, 3, 4, 5)
    ts = [t0, t0 + dt.timedelta(seconds=1)]
    e = describe_events([1, 1], [1.0, 2.0], timestamps=ts)[0]
    assert e.start_time == "2024-01-02T03:04:05"
    assert e.end_time == "2024-01-02T03:04:06"
    e = describe_events([0, 1], [1.0, 2.0], timestamps=np.array([10.5, 11.5]))[0]
    assert (e.start_time, e.end_time) == ("11.5", "11.5")


def test_event_to_dict_is_json_ready_and_frozen():
    ev = describe_events(
        np.array([1, 1, 0]),
        np.array([0.25, 0.75, 0.0], dtype=np.float32),
        np.array([[1.0, 3.0], [1.0, 3.0], [0.0, 0.0]]),
        channels=["x", "y"],
        timestamps=np.array(
            ["2020-01-01T00:00:00", "2020-01-01T00:00:01", "2020-01-01T00:00:02"], "M8[ns]"
        ),
    )[0]
    d = ev.to_dict()
    text = json.dumps(d)  # fails on numpy scalars
    assert json.loads(text) == d
    assert d["duration"] == 2 and d["peak_index"] == 1 and d["peak_score"] == 0.75
    assert d["top_channels"] == [{"channel": "y", "share": 0.75}, {"channel": "x", "share": 0.25}]
    assert d["start_time"].startswith("2020-01-01T00:00:00")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.start = 5  # type: ignore[misc]
    assert isinstance(ev, Event)


def test_describe_events_no_events():
    assert describe_events([0, 0, 0], [0.1, 0.2, 0.3]) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scores": [0.1, 0.2]}, r"length mismatch: labels \(3,\), scores \(2,\)"),
        (
            {"contributions": [[1.0], [1.0]]},
            r"length mismatch: scores \(3,\), contributions \(2, 1\)",
        ),
        ({"contributions": [[1.0], [-1.0], [0.0]]}, "non-negative"),
        ({"contributions": [[1.0, 2.0]] * 3, "channels": ["a"]}, "1 channel names for 2"),
        ({"timestamps": [1, 2]}, r"scores \(3,\), timestamps \(2,\)"),
        ({"top_k": -1}, "top_k"),
        ({"scores": [0.0, np.nan, 0.0]}, "NaN"),
        ({"scores": ["a", "b", "c"]}, "numeric"),
    ],
)
def test_describe_events_validation(kwargs, match):
    args = {"labels": [0, 1, 0], "scores": [0.0, 1.0, 0.0], **kwargs}
    with pytest.raises((DataError, ParameterError), match=match):
        describe_events(**args)


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
