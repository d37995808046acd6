"""Tests for seqae.datasets.synthetic: the labelled multi-sensor stream."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from seqae.datasets import SyntheticStream, make_sensor_stream, read_sensors
from seqae.datasets import synthetic as synthetic_module

from seqae.errors import ParameterError

KINDS = synthetic_module.ANOMALY_KINDS


def pair(**kwargs) -> tuple[SyntheticStream, SyntheticStream]:
    """A stream and the same seed's stream without anomalies."""
    stream = make_sensor_stream(**kwargs)
    clean = make_sensor_stream(**{**kwargs, "anomalies": (), "n_anomalies": None})
    return stream, clean


def segments(stream: SyntheticStream, kind: str):
    for a in stream.anomalies:
        if a.kind == kind:
            yield a, [stream.channels.index(c) for c in a.channels]


def test_shapes_types_and_time():
    stream = make_sensor_stream(3000, 5, random_state=0, start="2023-05-01 12:00", freq="250ms")
    assert stream.values.shape == (3000, 5) and stream.values.dtype == np.float32
    assert stream.labels.shape == (3000,) and stream.labels.dtype == np.int8
    assert stream.channels == [f"sensor_{i}" for i in range(5)]
    assert stream.timestamps[0] == pd.Timestamp("2023-05-01 12:00")
    assert (np.diff(stream.timestamps) == pd.Timedelta("250ms")).all()
    assert np.isfinite(stream.values).all()


def test_channels_are_correlated():
    stream = make_sensor_stream(5000, 6, anomalies=(), random_state=3)
    corr = np.corrcoef(stream.values.T)
    off_diagonal = np.abs(corr[~np.eye(6, dtype=bool)])
    assert off_diagonal.max() > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_match_the_records_exactly(seed):
    stream = make_sensor_stream(6000, 4, random_state=seed)
    expected = np.zeros(6000, dtype=np.int8)
    for a in stream.anomalies:
        expected[a.start : a.end] = 1
    np.testing.assert_array_equal(stream.labels, expected)
    assert sorted(a.kind for a in stream.anomalies) == sorted(KINDS)  # one of each by default


@pytest.mark.parametrize("seed", range(5))
def test_anomalies_are_separate_and_after_the_training_part(seed):
    stream = make_sensor_stream(4000, 3, n_anomalies=12, anomaly_length=(10, 60), random_state=seed)
    records = stream.anomalies
    assert len(records) == 12
    assert records[0].start >= math.ceil(0.1 * 4000)
    assert all(a.end <= 4000 for a in records)
    assert all(b.start > a.end for a, b in itertools.pairwise(records))
    for a in records:
        assert 1 <= len(a.channels) <= 3
        if a.kind != "spike":
            assert 10 <= a.end - a.start <= 60


def test_outside_anomalies_the_stream_equals_the_clean_one():
    stream, clean = pair(n_timesteps=5000, n_channels=4, random_state=7)
    touched = np.zeros(stream.values.shape, dtype=bool)
    for a in stream.anomalies:
        for c in a.channels:
            touched[a.start : a.end, stream.channels.index(c)] = True
    np.testing.assert_array_equal(stream.values[~touched], clean.values[~touched])
    for a in stream.anomalies:  # and every anomaly changes what it touches
        for c in a.channels:
            j = stream.channels.index(c)
            assert (stream.values[a.start : a.end, j] != clean.values[a.start : a.end, j]).any()


@pytest.fixture(scope="module")
def streams():
    kw = dict(n_timesteps=20_000, n_channels=4, n_anomalies=30, random_state=11)
    return pair(**kw)


def clean_std(clean: SyntheticStream, j: int) -> float:
    return float(clean.values[:, j].std())


def test_spike_is_large_against_the_local_spread(streams):
    stream, clean = streams
    found = list(segments(stream, "spike"))
    assert found
    for a, channels in found:
        assert 1 <= a.end - a.start <= 3
        for j in channels:
            before = stream.values[a.start - 50 : a.start, j]
            jump = np.abs(stream.values[a.start : a.end, j] - np.median(before))
            assert (jump > 5 * before.std()).all()
            change = np.abs(stream.values[a.start : a.end, j] - clean.values[a.start : a.end, j])
            assert (change >= 5.9 * clean_std(clean, j)).all()


def test_level_shift_moves_the_mean(streams):
    stream, clean = streams
    found = list(segments(stream, "level_shift"))
    assert found
    for a, channels in found:
        for j in channels:
            diff = stream.values[a.start : a.end, j] - clean.values[a.start : a.end, j]
            std = clean_std(clean, j)
            assert np.ptp(diff) < 1e-4 * (1 + abs(diff[0]))  # a constant offset
            assert 1.9 * std <= abs(diff.mean()) <= 4.1 * std


def test_drift_is_a_growing_ramp(streams):
    stream, clean = streams
    found = list(segments(stream, "drift"))
    assert found
    for a, channels in found:
        for j in channels:
            diff = stream.values[a.start : a.end, j] - clean.values[a.start : a.end, j]
            std = clean_std(clean, j)
            assert abs(diff[0]) < 1e-4 * std
            assert 2.9 * std <= abs(diff[-1]) <= 5.1 * std
            steps = np.diff(diff) * np.sign(diff[-1])
            assert (steps > -1e-4 * std).all()  # monotonic, up to float32 rounding


def test_stuck_sensor_is_constant_at_its_last_value(streams):
    stream, _ = streams
    found = list(segments(stream, "stuck"))
    assert found
    for a, channels in found:
        for j in channels:
            assert np.ptp(stream.values[a.start : a.end, j]) == 0
            assert stream.values[a.start, j] == stream.values[a.start - 1, j]


def test_frequency_change_makes_the_signal_faster():
    stream, clean = pair(
        n_timesteps=20_000,
        n_channels=3,
        anomalies=("frequency",),
        n_anomalies=6,
        noise=0.0,
        random_state=5,
    )
    assert len(stream.anomalies) == 6
    for a, channels in segments(stream, "frequency"):
        for j in channels:
            fast = np.abs(np.diff(stream.values[a.start : a.end, j])).mean()
            slow = np.abs(np.diff(clean.values[a.start : a.end, j])).mean()
            assert fast > 2 * slow


def test_correlation_break_turns_the_shared_part_around():
    stream, clean = pair(
        n_timesteps=20_000,
        n_channels=4,
        anomalies=("correlation_break",),
        n_anomalies=6,
        anomaly_length=(300, 400),
        random_state=9,
    )
    assert len(stream.anomalies) == 6
    for a, channels in segments(stream, "correlation_break"):
        assert len(channels) == 1
        j = channels[0]
        segment = slice(a.start, a.end)
        assert np.corrcoef(stream.values[segment, j], clean.values[segment, j])[0, 1] < 0
        assert abs(stream.values[segment, j].mean() - clean.values[segment, j].mean()) < (
            np.abs(stream.values[segment, j] - clean.values[segment, j]).max()
        )  # the level stays roughly; the shape is what changes


def test_same_seed_same_stream_other_seed_other_stream():
    a = make_sensor_stream(2000, 3, random_state=42)
    b = make_sensor_stream(2000, 3, random_state=42)
    c = make_sensor_stream(2000, 3, random_state=43)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.anomalies == b.anomalies
    assert not np.array_equal(a.values, c.values)
    assert a.anomalies != c.anomalies


def test_a_generator_is_accepted_as_random_state():
    rng = np.random.default_rng(0)
    first, second = (
        make_sensor_stream(500, 2, random_state=rng),
        make_sensor_stream(500, 2, random_state=rng),
    )
    assert not np.array_equal(first.values, second.values)  # the generator moved on


def test_no_anomalies():
    stream = make_sensor_stream(1000, 2, anomalies=(), random_state=0)
    assert stream.anomalies == []
    assert stream.labels.sum() == 0


def test_single_channel_skips_correlation_break():
    stream = make_sensor_stream(5000, 1, random_state=0)
    kinds = {a.kind for a in stream.anomalies}
    assert kinds == set(KINDS) - {"correlation_break"}
    with pytest.raises(ParameterError, match="correlation_break needs n_channels >= 2"):
        make_sensor_stream(5000, 1, anomalies=("correlation_break",))


def test_kinds_cycle_over_n_anomalies():
    stream = make_sensor_stream(
        8000, 2, anomalies=("spike", "stuck"), n_anomalies=5, random_state=1
    )
    kinds = sorted(a.kind for a in stream.anomalies)
    assert kinds == ["spike", "spike", "spike", "stuck", "stuck"]


def test_short_default_stream_holds_fewer_anomalies_but_explicit_counts_must_fit():
    stream = make_sensor_stream(300, 2, anomaly_length=(50, 60), random_state=0)
    assert 1 <= len(stream.anomalies) < len(KINDS)
    assert all(a.start >= 30 and a.end <= 300 for a in stream.anomalies)
    with pytest.raises(ParameterError, match="do not fit"):
        make_sensor_stream(300, 2, n_anomalies=10, anomaly_length=(50, 60))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"anomalies": ("spike", "wobble")}, r"unknown anomaly kind\(s\) \['wobble'\]"),
        ({"anomaly_length": (0, 5)}, "anomaly_length must be"),
        ({"anomaly_length": (9, 5)}, "anomaly_length must be"),
        ({"noise": -0.1}, "noise must be a finite number >= 0"),
        ({"n_timesteps": 5}, "n_timesteps must be an integer >= 10, got 5"),
        ({"n_channels": 0}, "n_channels must be an integer >= 1, got 0"),
        ({"n_anomalies": -1}, "n_anomalies must be an integer >= 0"),
        ({"anomalies": (), "n_anomalies": 2}, "no anomaly kinds"),
        ({"freq": "fortnightly-ish"}, "do not make time stamps"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_sensor_stream(**{"n_timesteps": 1000, "n_channels": 2, **kwargs})


def test_to_frame():
    stream = make_sensor_stream(500, 2, random_state=0)
    frame = stream.to_frame()
    assert list(frame.columns) == ["timestamp", "sensor_0", "sensor_1", "anomaly"]
    assert frame["timestamp"].equals(pd.Series(stream.timestamps, name="timestamp"))
    np.testing.assert_array_equal(frame[["sensor_0", "sensor_1"]].to_numpy(), stream.values)
    np.testing.assert_array_equal(frame["anomaly"].to_numpy(), stream.labels)


def test_to_csv_round_trips_through_read_sensors(tmp_path):
    stream = make_sensor_stream(800, 3, random_state=4)
    path = stream.to_csv(tmp_path / "stream.csv")
    assert path == tmp_path / "stream.csv"
    assert [p.name for p in tmp_path.iterdir()] == ["stream.csv"]  # no temporary left behind
    data = read_sensors(path, label_columns="anomaly")
    np.testing.assert_array_equal(data.values, stream.values)
    np.testing.assert_array_equal(data.label, stream.labels)
    assert data.timestamps.equals(stream.timestamps.rename("timestamp"))
    assert data.channels == stream.channels


def test_to_csv_is_atomic(tmp_path, monkeypatch):
    stream = make_sensor_stream(200, 2, random_state=0)
    target = tmp_path / "s.csv"
    target.write_text("old\n")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        stream.to_csv(target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]
