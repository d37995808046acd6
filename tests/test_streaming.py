"""seqae.scale.streaming: chunked scoring equals scoring the whole stream (scores, contributions,
labels and events), and detect_file streams a file or chunks through a Detector or an
OnnxDetector to the in-memory ``detect`` result."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import FILE_ROWS, assert_same, split
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqae.datasets import make_sensor_stream

from seqae import Detector, OnnxDetector, streaming
from seqae.errors import DataError, ModelFormatError, ParameterError
from seqae.models.head import convolutional_halo
from seqae.scale.streaming import ChunkedDetector, ChunkedScorer, detect_file, iter_detect

# one thread: seeded fits are bit-identical only at one thread count, and the default
# count follows the machine's load (it can differ between two calls under xdist)
FAST = {"epochs": 2, "batch_size": 128, "random_state": 0, "n_threads": 1}
# A low alarm line (5 % of the training scores above it) gives many events to compare.
ALARMS = {"threshold": "quantile", "contamination": 0.05, "calibration": "training"}
CASES = {
    "conv1d-convolutional": {
        "model": "conv1d",
        "frame": 32,
        "scoring": "convolutional",
        "model_params": {"filters": (8, 8, 4)},
    },
    "dense-step1": {"model": "dense", "frame": 16, "model_params": {"hidden": (16, 4)}},
    "dense-step5-tail-rules": {
        "model": "dense",
        "frame": 16,
        "step": 5,
        "model_params": {"hidden": (16, 4)},
        "min_event_length": 3,
        "merge_gap": 4,
        "score_smoothing": 8,  # carried across parts with the drift line's history
    },
    "lstm-step3-median": {
        "model": "lstm",
        "frame": 8,
        "step": 3,
        "fold": "median",
        "model_params": {"hidden_size": 8, "latent_dim": 4},
    },
}
N = 9_011  # (N - 16) % 5 != 0 and (N - 8) % 3 != 0: the windowed cases have a tail frame


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_timesteps=N, n_channels=3, random_state=5)


@pytest.fixture(scope="module")
def detectors(stream):
    train = stream.values[:2500]
    return {name: Detector(**kw, **FAST, **ALARMS).fit(train) for name, kw in CASES.items()}


def run_chunked(det, chunks, **kw):
    chunked = ChunkedDetector(det, **kw)
    parts = list(chunked.run(chunks))
    return chunked, parts


def assert_same_events(chunked_events, whole_events):
    assert len(chunked_events) == len(whole_events)
    for got, want in zip(chunked_events, whole_events, strict=True):
        assert (got.start, got.end, got.peak_index) == (want.start, want.end, want.peak_index)
        assert (got.start_time, got.end_time) == (want.start_time, want.end_time)
        np.testing.assert_allclose(
            [got.peak_score, got.mean_score], [want.peak_score, want.mean_score], rtol=1e-6
        )
        assert [c for c, _ in got.top_channels] == [c for c, _ in want.top_channels]
        np.testing.assert_allclose(
            [s for _, s in got.top_channels], [s for _, s in want.top_channels], atol=1e-6
        )


# Irregular chunks: a single row, chunks shorter than a frame, and several long ones.
SIZES = [1, 5, 700, 3, 2100, 1, 4000, 30]


@pytest.mark.parametrize("name", sorted(CASES))
def test_chunked_equals_whole_stream(stream, detectors, name):
    det = detectors[name]
    whole = det.detect(stream.values, reconstruction=True)
    chunked, parts = run_chunked(
        det, split(stream.values, SIZES), reconstruction=True, min_part=500
    )

    # parts come in order, cover every timestep once, and are released before the end
    assert [p.start for p in parts] == [0, *np.cumsum([len(p) for p in parts])[:-1]]
    assert sum(len(p) for p in parts) == N
    assert len(parts) >= 4

    scores = np.concatenate([p.scores for p in parts])
    np.testing.assert_allclose(scores, whole.scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        np.concatenate([p.contributions for p in parts]), whole.contributions, atol=1e-6
    )
    np.testing.assert_allclose(
        np.concatenate([p.reconstruction for p in parts]), whole.reconstruction, atol=1e-5
    )
    labels = np.concatenate([p.labels for p in parts])
    np.testing.assert_array_equal(labels, whole.labels)
    np.testing.assert_array_equal(chunked.labels, whole.labels)
    np.testing.assert_allclose(chunked.scores, whole.scores, rtol=1e-6, atol=1e-6)
    assert len(whole.events) >= 5, "the case should raise several alarms"
    assert_same_events(chunked.events, whole.events)


@pytest.mark.parametrize("name", ["dense-step5-tail-rules", "conv1d-convolutional"])
def test_parts_that_end_inside_events(stream, detectors, name):
    # Cut the stream so that parts end one step into, and one step before the end of, every
    # event: the event rules (min length, merge gap) must see across those borders.
    det = copy.deepcopy(detectors[name]).set_params(min_event_length=3, merge_gap=4)
    det.set_threshold(0.5, relative=True)  # a lower line: enough events to cut through
    whole = det.detect(stream.values)
    # a part ends `lag` timesteps before the end of what was pushed (rounded down to the
    # stride on the convolutional path)
    convolutional = name.startswith("conv1d")
    lag = convolutional_halo(det.model_) if convolutional else det.frame
    inside = sorted({b for e in whole.events for b in (e.start + 1, e.end - 1) if b > e.start})
    cuts = np.diff([0, *(b + lag for b in inside if b + lag < N)])
    chunked, parts = run_chunked(det, split(stream.values, list(cuts)), min_part=1)
    borders = np.array([p.start for p in parts])
    crossed = [e for e in whole.events if ((borders > e.start) & (borders < e.end)).any()]
    assert len(crossed) >= max(5, len(whole.events) // 5)
    np.testing.assert_array_equal(chunked.labels, whole.labels)
    assert_same_events(chunked.events, whole.events)


def test_memory_stays_bounded(stream, detectors):
    det = detectors["dense-step1"]
    scorer = ChunkedScorer(det, min_part=256)
    held = []
    for chunk in split(stream.values, [300] * 29):
        scorer.push(chunk)
        held.append(scorer.n_buffered)
    # the overlap carried plus at most one part in waiting and one chunk, never the stream
    assert max(held) <= 256 + det.frame + 300
    assert scorer.finish() is not None


def test_scorer_matches_score_samples(stream, detectors):
    det = detectors["conv1d-convolutional"]
    scorer = ChunkedScorer(det, min_part=1000)
    parts = [scorer.push(c) for c in split(stream.values, [2000, 17, 3000])]
    parts.append(scorer.finish())
    scores = np.concatenate([p.scores for p in parts if p is not None])
    np.testing.assert_allclose(scores, det.score_samples(stream.values), atol=1e-6)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(st.integers(1, 1200), min_size=0, max_size=8),
    min_part=st.integers(1, 2000),
)
def test_any_chunking_gives_the_same_result(stream, detectors, cuts, min_part):
    det = detectors["dense-step5-tail-rules"]
    values = stream.values[:4000]
    whole = det.detect(values)
    chunked, parts = run_chunked(det, split(values, cuts), min_part=min_part)
    np.testing.assert_allclose(chunked.scores, whole.scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate([p.labels for p in parts]), whole.labels)
    assert_same_events(chunked.events, whole.events)


@pytest.fixture(scope="module")
def frame(stream):
    """The stream as a DataFrame: named channels and a DatetimeIndex."""
    return stream.to_frame().set_index("timestamp").drop(columns="anomaly")


@pytest.fixture(scope="module")
def named(frame):
    return Detector(model="dense", frame=16, **FAST, **ALARMS).fit(frame.iloc[:2000])


def test_named_chunks_keep_timestamps_and_match_by_name(frame, named):
    det = named
    whole = det.detect(frame)
    reordered = frame[frame.columns[::-1]]  # matched by name, not position
    chunks = [reordered.iloc[i : i + 1500] for i in range(0, len(frame), 1500)]
    chunked, parts = run_chunked(det, chunks, min_part=100)
    stamps = np.concatenate([p.timestamps for p in parts])
    np.testing.assert_array_equal(stamps, frame.index.to_numpy())
    np.testing.assert_allclose(chunked.scores, whole.scores, rtol=1e-6, atol=1e-6)
    assert whole.events and whole.events[0].start_time is not None
    assert_same_events(chunked.events, whole.events)


def test_too_short_and_empty_streams_are_errors(detectors):
    det = detectors["dense-step1"]
    with pytest.raises(DataError, match="fewer than one frame"):
        list(ChunkedDetector(det).run([np.zeros((5, 3), np.float32)]))
    with pytest.raises(DataError, match="no data"):
        list(ChunkedDetector(detectors["conv1d-convolutional"]).run([]))


def test_bad_chunks_are_errors(detectors, named):
    det = detectors["dense-step1"]
    with pytest.raises(DataError, match="expects 3"):
        ChunkedDetector(det).push(np.zeros((50, 2), np.float32))
    with pytest.raises(DataError, match=r"missing channel.*sensor_0"):
        ChunkedDetector(named).push(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}))
    scorer = ChunkedScorer(det)
    scorer.push(np.zeros((40, 3), np.float32))
    scorer.finish()
    with pytest.raises(DataError, match="finished"):
        scorer.push(np.zeros((40, 3), np.float32))
    with pytest.raises(ParameterError, match="min_part"):
        ChunkedScorer(det, min_part=0)


def test_mixing_chunks_with_and_without_timestamps_is_an_error(stream, detectors):
    det = detectors["dense-step1"]
    frame = pd.DataFrame(stream.values[:100], columns=det.channels_)
    timed = frame.set_index(pd.date_range("2024-01-01", periods=100, freq="s"))
    chunked = ChunkedDetector(det)
    chunked.push(timed)
    with pytest.raises(DataError, match="time stamps"):
        chunked.push(frame)


CHUNK = 700  # rows per chunk read: the file is several chunks long


@pytest.mark.parametrize("name", ["conv1d", "conv1d.onnx", "dense", "dense.onnx"])
def test_detect_file_equals_detect_in_memory(models, csv, file_stream, name):
    det = streaming.load_detector(models[name])
    want = det.detect(file_stream.values)
    assert want.events  # something to compare
    parts = []
    got = detect_file(
        models[name], csv, chunk_size=CHUNK, label_columns="anomaly", on_part=parts.append
    )
    assert_same(got, want)
    assert len(parts) > 1 and sum(len(p) for p in parts) == FILE_ROWS
    np.testing.assert_allclose(
        np.concatenate([p.contributions for p in parts]), want.contributions, atol=1e-6
    )
    # the same from chunks in memory, and part by part
    chunks = np.array_split(file_stream.values, 9)
    assert_same(detect_file(det, chunks), want)
    scores = np.concatenate([p.scores for p in iter_detect(det, chunks)])
    np.testing.assert_allclose(scores, want.scores, rtol=1e-6, atol=1e-6)


def test_onnx_streams_in_bounded_memory(models, file_stream):
    det = OnnxDetector(models["dense.onnx"])
    scorer = ChunkedScorer(det, min_part=256)
    held = []
    for chunk in np.array_split(file_stream.values, 20):
        scorer.push(chunk)
        held.append(scorer.n_buffered)
    assert max(held) <= 256 + det.frame + len(file_stream.values) // 20 + 1
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


def test_detect_file_without_keeping_the_rows(models, csv, file_stream):
    """keep=False: the same events and counts, and no per-row arrays held."""
    det = OnnxDetector(models["dense.onnx"])
    want = det.detect(file_stream.values)
    got = detect_file(det, csv, chunk_size=CHUNK, label_columns="anomaly", keep=False)
    assert got.scores is None and got.labels is None and got.timestamps is None
    assert (got.n_rows, got.n_anomalies) == (FILE_ROWS, want.n_anomalies)
    assert [(e.start, e.end, e.peak_index) for e in got.events] == [
        (e.start, e.end, e.peak_index) for e in want.events
    ]
