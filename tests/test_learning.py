"""seqae.scale.learning: a stream scored period by period while the model learns from the rows
it did not flag. The results do not depend on the chunking, a model that never learns gives
``detect`` on the whole stream, a moving normal level is learnt, a period full of alarms
teaches nothing, and a checkpoint resumed at a boundary continues the run exactly."""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pytest
from conftest import split
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import DataError, ModelFormatError, NotFittedError, ParameterError
from seqae.scale.learning import MEMORY_FILE, STATE_FILE, LearningDetector

PERIOD = 600
# windowed with a step, smoothing and event rules (dense); the chunked convolutional path
CASES = {
    "dense": {
        "model": "dense",
        "frame": 16,
        "step": 3,
        "merge_gap": 8,
        "min_event_length": 2,
        "score_smoothing": 4,
        "model_params": {"hidden": (16, 4)},
    },
    "conv1d-convolutional": {
        "model": "conv1d",
        "frame": 32,
        "scoring": "convolutional",
        "model_params": {"filters": (8, 8, 4)},
    },
}
# a low line (5 % of the training scores above it): alarms and events to compare
ALARMS = {"threshold": "quantile", "contamination": 0.05, "calibration": "training"}
# one torch thread: bit-for-bit repeatable training whatever else runs on the machine
FAST = {"epochs": 1, "batch_size": 64, "n_threads": 1, "random_state": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def stream():
    """``(train, rest)``: 1000 rows to fit on, then 4100 rows (with anomalies) to learn on:
    6 complete periods of 600 and an incomplete seventh."""
    values = make_sensor_stream(n_timesteps=5100, n_channels=3, random_state=3).values
    return values[:1000], values[1000:]


@pytest.fixture(scope="module")
def fitted(stream):
    train, _ = stream
    return {name: Detector(**kw, **ALARMS, **FAST).fit(train) for name, kw in CASES.items()}


def run(learner: LearningDetector, chunks) -> tuple[np.ndarray, np.ndarray, list]:
    parts = list(learner.run(chunks))
    assert [p.start for p in parts] == sorted(p.start for p in parts)
    for a, b in itertools.pairwise(parts):
        assert a.stop == b.start
    return (
        np.concatenate([p.scores for p in parts]),
        np.concatenate([p.labels for p in parts]),
        parts,
    )


def spans(events) -> list[tuple[int, int, int]]:
    return [(e.start, e.end, e.peak_index) for e in events]


@pytest.mark.parametrize("case", list(CASES))
def test_results_do_not_depend_on_the_chunking(fitted, stream, case):
    _, rest = stream
    whole = LearningDetector(copy.deepcopy(fitted[case]), PERIOD)
    scores, labels, parts = run(whole, [rest])
    assert len(scores) == len(rest) and [p.start for p in parts] == list(range(0, 4101, PERIOD))
    assert whole.n_updates >= 3 and whole.n_updates + whole.n_skipped == 6
    assert labels.sum() > 0 and len(whole.events) > 0

    chunked = LearningDetector(copy.deepcopy(fitted[case]), PERIOD)
    got_scores, got_labels, got_parts = run(
        chunked, split(rest, [1, 5, 700, 3, 2100, 1, 1, 13, 600])
    )
    np.testing.assert_allclose(got_scores, scores, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(got_labels, labels)
    for got, want in zip(got_parts, parts, strict=True):
        np.testing.assert_allclose(got.contributions, want.contributions, atol=1e-6, rtol=0)
    assert spans(chunked.events) == spans(whole.events)
    assert (chunked.n_updates, chunked.n_skipped) == (whole.n_updates, whole.n_skipped)
    # row by row for the first periods: the same again
    row_by_row = LearningDetector(copy.deepcopy(fitted[case]), PERIOD)
    first = 1500
    got = [p for row in rest[:first] for p in row_by_row.push(row[None])]
    got += row_by_row.push(rest[first:]) + row_by_row.finish()
    np.testing.assert_allclose(np.concatenate([p.scores for p in got]), scores, atol=1e-6, rtol=0)
    # and learn() is the same run
    result = LearningDetector(copy.deepcopy(fitted[case]), PERIOD).learn(rest, chunk=777)
    np.testing.assert_allclose(result.scores, scores, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(result.labels, labels)
    assert result.n_updates == whole.n_updates


@pytest.mark.parametrize("case", list(CASES))
def test_a_model_that_never_learns_gives_detect_on_the_whole_stream(fitted, stream, case):
    """The exactness rule: each period is the whole-stream scoring by its model, cut."""
    _, rest = stream
    det = copy.deepcopy(fitted[case])
    det.partial_fit = lambda runs: det  # the model stays as it is
    learner = LearningDetector(det, PERIOD)
    scores, labels, parts = run(learner, split(rest, [999, 1, 1234]))
    want = fitted[case].detect(rest)
    np.testing.assert_allclose(scores, want.scores, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(labels, want.labels)
    np.testing.assert_allclose(
        np.concatenate([p.contributions for p in parts]), want.contributions, atol=1e-6, rtol=0
    )
    assert spans(learner.events) == spans(want.events)
    assert learner.n_anomalies == want.n_anomalies


def test_the_first_period_is_scored_by_the_model_as_given(fitted, stream):
    _, rest = stream
    learner = LearningDetector(copy.deepcopy(fitted["dense"]), PERIOD)
    scores, _, _ = run(learner, [rest])
    want = fitted["dense"].score_samples(rest)
    np.testing.assert_allclose(scores[:PERIOD], want[:PERIOD], atol=1e-6, rtol=0)
    assert learner.n_updates > 0
    assert not np.allclose(scores[PERIOD:], want[PERIOD:], atol=1e-3)  # later models differ


def test_learning_follows_a_moving_normal_level():
    """The level of every channel ramps up by 3 standard deviations over 1500 rows: the plain
    detector flags most of the later rows, the learning one almost none."""
    values = make_sensor_stream(n_timesteps=7000, n_channels=3, anomalies=(), random_state=1)
    train, rest = values.values[:1000], values.values[1000:].copy()
    ramp = np.clip((np.arange(len(rest)) - 1200) / 1500, 0, 1)[:, None]
    rest += 3 * ramp * train.std(axis=0)
    # no drift-aware line: it would follow a lasting level shift by itself
    det = Detector(model="dense", frame=16, drift_window=None, **FAST).fit(train)
    plain = det.detect(rest).labels
    learner = LearningDetector(copy.deepcopy(det), PERIOD)
    scores, labels, n_updates = learner.learn(rest)
    assert n_updates == len(rest) // PERIOD  # every period was normal enough to learn from
    late = slice(3 * len(rest) // 5, None)  # the level has moved for good
    assert plain[late].mean() > 0.8
    assert labels[late].mean() < 0.05
    assert labels[late].sum() * 10 < plain[late].sum()
    assert np.median(scores[late]) < 1.0


def test_a_period_full_of_alarms_teaches_nothing():
    """A fault covering the whole third period (and beyond): that period is not learnt
    from (``min_rows``); every other complete period is, each with its own seed."""
    values = make_sensor_stream(n_timesteps=5200, n_channels=3, anomalies=(), random_state=4)
    train, rest = values.values[:1000], values.values[1000:].copy()
    fault = slice(2 * PERIOD - 20, 3 * PERIOD + 40)
    rest[fault] += 8 * train.std(axis=0)
    # no drift-aware line: it would take a fault longer than its window for the new normal
    params = {**FAST, "random_state": 7, "drift_window": None}
    det = Detector(model="dense", frame=16, **params).fit(train)
    fresh = copy.deepcopy(det)
    seeds, taught = [], []
    learn = det.partial_fit

    def spy(runs):
        seeds.append(det.random_state)
        taught.extend(runs)
        return learn(runs)

    det.partial_fit = spy
    learner = LearningDetector(det, PERIOD)
    _, labels, _ = run(learner, split(rest, [100, 1500]))
    assert labels[2 * PERIOD : 3 * PERIOD].all()
    assert (learner.n_updates, learner.n_skipped) == (6, 1)
    assert seeds == [7 + k for k in (0, 1, 3, 4, 5, 6)]  # base seed + period index, not 2
    assert det.random_state == 7  # restored
    assert all(len(r) >= det.frame for r in taught)
    faulty = {row.tobytes() for row in rest[fault].astype(np.float32)}
    assert not any(row.tobytes() in faulty for r in taught for row in r)
    # even with min_rows 0 the faulty period has no run of normal rows to learn from
    lenient = LearningDetector(fresh, PERIOD, min_rows=0)
    lenient.learn(rest)
    assert (lenient.n_updates, lenient.n_skipped) == (6, 1)


@pytest.mark.parametrize("case", list(CASES))
def test_a_checkpoint_resumed_at_a_boundary_continues_the_run(fitted, stream, tmp_path, case):
    _, rest = stream
    reference = LearningDetector(copy.deepcopy(fitted[case]), PERIOD)
    want_scores, want_labels, _ = run(reference, [rest])

    first = LearningDetector(copy.deepcopy(fitted[case]), PERIOD)
    before = first.push(rest[:1000]) + first.push(rest[1000:2000])
    boundary = first.next_start
    assert boundary == before[-1].stop and boundary % PERIOD == 0 and boundary < 2000
    path = tmp_path / "checkpoint"
    first.save(path)
    state = json.loads((path / STATE_FILE).read_text())
    assert state == first.state
    assert state["rows_seen"] == boundary and state["period"] == PERIOD
    assert state["n_updates"] == first.n_updates and state["base_seed"] == 0
    assert sorted(p.name for p in path.iterdir()) == [STATE_FILE, "model"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left over

    n_context = state["context_rows"]
    assert 0 < n_context < boundary
    resumed = LearningDetector.resume(path, context=rest[:boundary])  # more is fine
    again = LearningDetector.resume(path, context=rest[boundary - n_context : boundary])
    for learner in (resumed, again):
        assert (learner.next_start, learner.n_updates) == (boundary, first.n_updates)
        assert learner.detector.n_threads == 1  # restored: Detector.save leaves it out
        scores, labels, parts = run(learner, split(rest[boundary:], [7, 1500]))
        assert parts[0].start == boundary
        np.testing.assert_allclose(scores, want_scores[boundary:], atol=1e-6, rtol=0)
        np.testing.assert_array_equal(labels, want_labels[boundary:])
        assert learner.n_updates == reference.n_updates
        assert all(e.start >= boundary for e in learner.events)
    np.testing.assert_array_equal(
        np.concatenate([p.labels for p in before]), want_labels[:boundary]
    )


def test_errors(fitted, stream, tmp_path):
    train, rest = stream
    det = fitted["dense"]
    for period in (16, 5, 0, -600):
        with pytest.raises(ParameterError, match="period must be more than the detector's frame"):
            LearningDetector(det, period)
    for period in (600.0, "600", True, None):
        with pytest.raises(ParameterError, match="period must be an integer"):
            LearningDetector(det, period)
    with pytest.raises(ParameterError, match="min_rows must be in"):
        LearningDetector(det, PERIOD, min_rows=PERIOD + 1)
    with pytest.raises(ParameterError, match="min_rows must be an integer"):
        LearningDetector(det, PERIOD, min_rows=0.5)

    learner = LearningDetector(copy.deepcopy(det), PERIOD)
    learner.push(rest[:10])
    with pytest.raises(DataError, match="has 2 features, but LearningDetector is expecting 3"):
        learner.push(rest[10:20, :2])
    with pytest.raises(DataError, match="non-finite"):
        learner.push(np.full((3, 3), np.nan))
    assert learner.push(rest[:0]) == []  # an empty chunk is nothing
    assert learner.n_seen == 10

    with pytest.raises(DataError, match="no rows"):
        LearningDetector(copy.deepcopy(det), PERIOD).finish()
    with pytest.raises(DataError, match="fewer than one frame"):
        LearningDetector(copy.deepcopy(det), PERIOD).learn(rest[:5])
    done = LearningDetector(copy.deepcopy(det), PERIOD)
    done.learn(rest[:700])
    with pytest.raises(DataError, match="has finished"):
        done.push(rest[:10])
    with pytest.raises(ParameterError, match="chunk must be >= 1"):
        LearningDetector(copy.deepcopy(det), PERIOD).learn(rest, chunk=0)

    # models that cannot learn while scoring
    with pytest.raises(NotFittedError):
        LearningDetector(Detector(model="dense", frame=16), PERIOD)
    with pytest.raises(ParameterError, match=r"trainable seqae\.Detector"):
        LearningDetector(object(), PERIOD)
    images = np.random.default_rng(0).random((64, 8, 8)).astype(np.float32)
    image_model = Detector(model="dense", scaler="minmax", **FAST).fit(images)
    with pytest.raises(ParameterError, match="fitted on images"):
        LearningDetector(image_model, PERIOD)
    pca = Detector(model="pca", frame=16, random_state=0).fit(train)
    with pytest.raises(ParameterError, match="closed form"):
        LearningDetector(pca, PERIOD)

    # checkpoints
    with pytest.raises(ModelFormatError, match="not a LearningDetector checkpoint"):
        LearningDetector.resume(tmp_path)
    path = tmp_path / "checkpoint"
    learner = LearningDetector(copy.deepcopy(det), PERIOD)
    learner.push(rest[:1500])
    learner.save(path)
    with pytest.raises(DataError, match=r"needs the \d+ rows before it as context"):
        LearningDetector.resume(path)
    with pytest.raises(DataError, match="context has 5 rows"):
        LearningDetector.resume(path, context=rest[595:600])
    with pytest.raises(DataError, match="features"):
        LearningDetector.resume(path, context=rest[:600, :2])
    state = json.loads((path / STATE_FILE).read_text())
    (path / STATE_FILE).write_text(json.dumps({**state, "rows_seen": 601}))
    with pytest.raises(ModelFormatError, match="not a period boundary"):
        LearningDetector.resume(path, context=rest[:601])


MEMORY = 1000


def test_a_replay_memory_trains_on_the_latest_normal_rows_too(fitted, stream):
    """With ``memory``, each update gets the most recent ``memory`` rows it learnt from before
    (``history`` first) ahead of the period's own normal runs, every run a frame or longer;
    the results still do not depend on the chunking."""
    train, rest = stream
    det = copy.deepcopy(fitted["dense"])
    calls = []
    learn = det.partial_fit

    def spy(runs):
        calls.append(([m.copy() for m in learner._memory], [r.copy() for r in runs]))
        return learn(runs)

    det.partial_fit = spy
    learner = LearningDetector(det, PERIOD, memory=MEMORY, history=train[:900])
    assert learner.memory_rows == 900  # the history, shorter than the memory
    scores, labels, _ = run(learner, [rest])
    assert len(calls) == learner.n_updates >= 3
    np.testing.assert_array_equal(calls[0][0][0], train[:900].astype(np.float32))
    for k, (memory, runs) in enumerate(calls):
        assert all(len(r) >= det.frame for r in runs)
        assert sum(len(m) for m in memory) <= MEMORY
        for m, r in zip(memory, runs, strict=False):  # the memory comes first, as it was
            np.testing.assert_array_equal(r, m)
        own = runs[len(memory) :]
        assert own and sum(len(r) for r in own) <= PERIOD
        if k + 1 < len(calls):  # the next update's memory: the tail of this one's rows
            after = np.concatenate(calls[k + 1][0])
            np.testing.assert_array_equal(after, np.concatenate(runs)[-len(after) :])
            assert len(after) > MEMORY - det.frame or len(after) == sum(len(r) for r in runs)
    assert learner.memory_rows <= MEMORY

    chunked = LearningDetector(
        copy.deepcopy(fitted["dense"]), PERIOD, memory=MEMORY, history=train[:900]
    )
    got_scores, got_labels, _ = run(chunked, split(rest, [1, 700, 13, 2100]))
    np.testing.assert_allclose(got_scores, scores, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(got_labels, labels)
    plain = LearningDetector(copy.deepcopy(fitted["dense"]), PERIOD).learn(rest)
    assert not np.allclose(plain.scores, scores, atol=1e-3)  # the memory changed the models


def test_a_checkpoint_keeps_the_replay_memory(fitted, stream, tmp_path):
    train, rest = stream
    det = fitted["dense"]
    reference = LearningDetector(copy.deepcopy(det), PERIOD, memory=MEMORY, history=train)
    want_scores, want_labels, _ = run(reference, [rest])

    first = LearningDetector(copy.deepcopy(det), PERIOD, memory=MEMORY, history=train)
    first.push(rest[:2000])
    boundary = first.next_start
    path = tmp_path / "checkpoint"
    first.save(path)
    assert sorted(p.name for p in path.iterdir()) == [STATE_FILE, MEMORY_FILE, "model"]
    state = json.loads((path / STATE_FILE).read_text())
    assert state["memory"] == MEMORY and sum(state["memory_runs"]) == first.memory_rows
    resumed = LearningDetector.resume(path, context=rest[:boundary])
    assert resumed.memory == MEMORY and resumed.memory_rows == first.memory_rows
    scores, labels, _ = run(resumed, [rest[boundary:]])
    np.testing.assert_allclose(scores, want_scores[boundary:], atol=1e-6, rtol=0)
    np.testing.assert_array_equal(labels, want_labels[boundary:])

    # a checkpoint written before the memory existed (no memory fields) resumes with none
    (path / STATE_FILE).write_text(
        json.dumps({k: v for k, v in state.items() if not k.startswith("memory")})
    )
    assert LearningDetector.resume(path, context=rest[:boundary]).memory_rows == 0
    # a memory file that does not match the state is refused
    (path / STATE_FILE).write_text(json.dumps(state))
    np.save(path / MEMORY_FILE, np.zeros((3, 3), np.float32), allow_pickle=False)
    with pytest.raises(ModelFormatError, match="does not hold the"):
        LearningDetector.resume(path, context=rest[:boundary])
    with pytest.raises(ParameterError, match="memory must be >= 0"):
        LearningDetector(det, PERIOD, memory=-1)
    with pytest.raises(ParameterError, match="give memory > 0"):
        LearningDetector(det, PERIOD, history=train)
    with pytest.raises(DataError, match="history"):
        LearningDetector(det, PERIOD, memory=MEMORY, history=train[:, :2])
