"""Properties of seqae.scoring.windowing, checked against naive copying implementations."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqae.errors import DataError, ParameterError
from seqae.scoring.windowing import (
    FoldAccumulator,
    WindowSet,
    check_frame_step,
    fold,
    frame_starts,
    gather_windows,
    n_grid_frames,
    sliding_windows,
)

FAST = settings(max_examples=100, deadline=None)
HOWS = ("mean", "max", "median")


# ---------------------------------------------------------------- naive references


def naive_windows(x: np.ndarray, starts, frame: int) -> np.ndarray:
    """Copy each frame with a Python loop; ``x`` is (T,) or (T, C)."""
    x2 = x.reshape(len(x), -1)
    out = np.empty((len(starts), frame, x2.shape[1]), dtype=x.dtype)
    for i, s in enumerate(starts):
        for k in range(frame):
            out[i, k] = x2[s + k]
    return out


def naive_fold(values: np.ndarray, starts, frame: int, n_timesteps: int, how: str) -> np.ndarray:
    """Collect every value that lands on each timestep, then combine them one timestep at a time."""
    per_frame = values.ndim == 1
    buckets: list[list[np.ndarray]] = [[] for _ in range(n_timesteps)]
    for j, s in enumerate(starts):
        for k in range(frame):
            buckets[s + k].append(np.asarray(values[j] if per_frame else values[j, k], float))
    combine = {"mean": np.mean, "max": np.max, "median": np.median}[how]
    return np.stack([combine(np.stack(b), axis=0) for b in buckets])


def base_chain(a) -> list:
    chain = []
    while a is not None:
        chain.append(a)
        a = getattr(a, "base", None)
    return chain


def assert_names(excinfo: pytest.ExceptionInfo, name: str, value) -> None:
    """The message names the parameter and shows the bad value as a whole token."""
    msg = str(excinfo.value)
    assert re.search(rf"\b{re.escape(name)}\b", msg), msg
    token = repr(value) if isinstance(value, str) else str(value)
    assert re.search(rf"(?<![\w.]){re.escape(token)}(?![\w.])", msg), msg


# ---------------------------------------------------------------- strategies


@st.composite
def streams(draw, min_t: int = 1, max_t: int = 40):
    """A (T, C) or (T,) array, sometimes non-contiguous, with its frame and step."""
    t = draw(st.integers(min_t, max_t))
    c = draw(st.integers(1, 4))
    frame = draw(st.integers(1, t))
    step = draw(st.integers(1, t + 2))
    seed = draw(st.integers(0, 2**32 - 1))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    layout = draw(st.sampled_from(["C", "F", "strided", "1d"]))
    rng = np.random.default_rng(seed)
    if layout == "1d":
        x = rng.normal(size=t * 2)[::2]  # a non-contiguous 1-D stream
    elif layout == "strided":
        x = rng.normal(size=(t, 2 * c))[:, ::2]
    else:
        x = np.asarray(rng.normal(size=(t, c)), order=layout)
    return (x * 100).astype(dtype), frame, step


@st.composite
def fold_cases(draw):
    """A covering windowing (step <= frame) and values of one of the accepted shapes."""
    t = draw(st.integers(1, 40))
    frame = draw(st.integers(1, t))
    step = draw(st.integers(1, frame))
    trailing = draw(st.sampled_from([None, (), (1,), (3,)]))  # None: one value per frame
    seed = draw(st.integers(0, 2**32 - 1))
    return t, frame, step, trailing, np.random.default_rng(seed)


# ---------------------------------------------------------------- sliding_windows


@FAST
@given(streams())
def test_sliding_windows_equal_naive_grid_frames(case):
    x, frame, step = case
    w = sliding_windows(x, frame, step)
    grid = range(0, len(x) - frame + 1, step)
    np.testing.assert_array_equal(w, naive_windows(x, list(grid), frame))
    assert w.shape == (n_grid_frames(len(x), frame, step), frame, x.reshape(len(x), -1).shape[1])
    assert w.dtype == x.dtype


@FAST
@given(streams())
def test_sliding_windows_is_a_read_only_view(case):
    x, frame, step = case
    w = sliding_windows(x, frame, step)
    assert np.shares_memory(w, x)
    assert any(a is x for a in base_chain(w))  # no copy anywhere between x and the view
    assert not w.flags.writeable


def test_sliding_windows_1d_is_one_channel():
    x = np.arange(7.0)
    w = sliding_windows(x, frame=3, step=2)
    assert w.shape == (3, 3, 1)
    np.testing.assert_array_equal(w, sliding_windows(x[:, None], 3, 2))
    np.testing.assert_array_equal(w[:, :, 0], [x[0:3], x[2:5], x[4:7]])


def test_sliding_windows_rejects_3d_input():
    with pytest.raises(DataError, match=r"\(2, 3, 4\)"):
        sliding_windows(np.zeros((2, 3, 4)), frame=1)


# ---------------------------------------------------------------- frame_starts


@FAST
@given(t=st.integers(1, 300), data=st.data())
def test_frame_starts_cover_every_timestep_and_end_at_t(t, data):
    frame = data.draw(st.integers(1, t))
    step = data.draw(st.integers(1, frame))
    starts = frame_starts(t, frame, step)
    assert starts[0] == 0
    assert np.all(np.diff(starts) > 0)
    assert starts[-1] + frame == t
    covered = np.zeros(t, bool)
    for s in starts:
        covered[s : s + frame] = True
    assert covered.all()


@FAST
@given(streams())
def test_grid_frames_are_those_of_sliding_windows(case):
    x, frame, step = case
    t = len(x)
    starts = frame_starts(t, frame, step)
    n = n_grid_frames(t, frame, step)
    np.testing.assert_array_equal(starts[:n], np.arange(n) * step)
    np.testing.assert_array_equal(
        gather_windows(x, starts[:n], frame), sliding_windows(x, frame, step)
    )
    # at most one extra frame, aligned to the end, only when the grid falls short of T
    assert len(starts) - n == (1 if (t - frame) % step else 0)
    assert np.all((starts >= 0) & (starts <= t - frame))


# ---------------------------------------------------------------- gather_windows


@FAST
@given(case=streams(), data=st.data())
def test_gather_windows_equals_naive(case, data):
    x, frame, _ = case
    last = len(x) - frame
    starts = data.draw(st.lists(st.integers(0, last), max_size=12))  # unsorted, repeats allowed
    got = gather_windows(x, starts, frame)
    np.testing.assert_array_equal(got, naive_windows(x, starts, frame))
    assert got.flags.c_contiguous
    assert not np.shares_memory(got, x)


@pytest.mark.parametrize("bad", [-1, 8])
def test_gather_windows_rejects_out_of_range_starts(bad):
    with pytest.raises(ParameterError) as excinfo:
        gather_windows(np.zeros((10, 2)), [0, bad], frame=3)
    assert_names(excinfo, "starts", bad)


def test_gather_windows_rejects_float_starts():
    with pytest.raises(ParameterError, match="starts"):
        gather_windows(np.zeros((10, 2)), np.array([0.0, 1.5]), frame=3)


# ---------------------------------------------------------------- WindowSet


@st.composite
def recordings(draw):
    frame = draw(st.integers(1, 8))
    step = draw(st.integers(1, 10))
    c = draw(st.integers(1, 3))
    lengths = draw(st.lists(st.integers(frame, 30), min_size=1, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return [rng.normal(size=(n, c)).astype(np.float32) for n in lengths], frame, step, rng


@FAST
@given(recordings())
def test_windowset_equals_naive_concatenation(case):
    recs, frame, step, rng = case
    ws = WindowSet(recs, frame, step)
    expected = np.concatenate(
        [naive_windows(r, frame_starts(len(r), frame, step), frame) for r in recs]
    )
    assert len(ws) == len(expected)
    assert ws.shape == expected.shape
    np.testing.assert_array_equal(ws[:], expected)
    i = int(rng.integers(len(ws)))
    np.testing.assert_array_equal(ws[i], expected[i])
    np.testing.assert_array_equal(ws[np.int64(i)], expected[i])
    np.testing.assert_array_equal(ws[-1], expected[-1])
    np.testing.assert_array_equal(ws[1::2], expected[1::2])
    np.testing.assert_array_equal(ws[::-3], expected[::-3])
    idx = rng.integers(len(ws), size=7)
    np.testing.assert_array_equal(ws[idx], expected[idx])
    np.testing.assert_array_equal(ws[idx.tolist()], expected[idx])
    mask = rng.random(len(ws)) < 0.5
    np.testing.assert_array_equal(ws[mask], expected[mask])
    assert ws[np.array([], dtype=np.int64)].shape == (0, *expected.shape[1:])
    assert ws[[]].shape == (0, *expected.shape[1:])


@FAST
@given(recordings())
def test_windowset_frames_never_cross_recordings(case):
    recs, frame, step, _ = case
    constant = [np.full_like(r, i) for i, r in enumerate(recs)]  # recording i holds only i
    ws = WindowSet(constant, frame, step)
    frames = ws[:]
    assert np.all(frames == frames[:, :1, :1])  # each frame from one recording only
    # every recording contributes its own frames, in order
    ids = frames[:, 0, 0].astype(int)
    assert np.all(np.diff(ids) >= 0)
    assert set(ids) == set(range(len(recs)))


def test_windowset_index_errors():
    ws = WindowSet([np.zeros((10, 2))], frame=4, step=2)
    with pytest.raises(IndexError):
        ws[len(ws)]
    with pytest.raises(IndexError):
        ws[np.ones(len(ws) + 1, bool)]
    assert len(list(ws)) == len(ws)  # iteration stops at the end (IndexError protocol)


def test_windowset_rejects_bad_recordings():
    with pytest.raises(DataError, match="at least one"):
        WindowSet([], frame=2)
    with pytest.raises(DataError, match="channels"):
        WindowSet([np.zeros((5, 2)), np.zeros((5, 3))], frame=2)
    with pytest.raises(DataError) as excinfo:
        WindowSet([np.zeros((5, 2)), np.zeros((3, 2))], frame=4)
    assert_names(excinfo, "recording", 1)
    assert_names(excinfo, "frame", 4)


# ---------------------------------------------------------------- fold


def _values_for(t, frame, step, trailing, rng):
    starts = frame_starts(t, frame, step)
    shape = (len(starts),) if trailing is None else (len(starts), frame, *trailing)
    return starts, rng.normal(size=shape)


@FAST
@given(fold_cases())
def test_fold_equals_naive(case):
    t, frame, step, trailing, rng = case
    starts, values = _values_for(t, frame, step, trailing, rng)
    for how in HOWS:
        got = fold(values, frame, step, t, how=how)
        expected = naive_fold(values, starts, frame, t, how)
        assert got.shape == expected.shape == (t, *(trailing or ()))
        assert not np.isnan(got).any()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@FAST
@given(fold_cases())
def test_fold_round_trips_a_per_timestep_signal(case):
    t, frame, step, trailing, rng = case
    starts = frame_starts(t, frame, step)
    signal = rng.normal(size=(t, *(trailing or ())))
    values = naive_windows(signal, starts, frame).reshape(len(starts), frame, *signal.shape[1:])
    for how in HOWS:
        got = fold(values, frame, step, t, how=how)
        np.testing.assert_allclose(got, signal, rtol=1e-12, atol=1e-12)


@FAST
@given(fold_cases(), st.floats(-1e6, 1e6))
def test_fold_of_a_constant_is_that_constant(case, c):
    t, frame, step, _, _ = case
    n = len(frame_starts(t, frame, step))
    for how in HOWS:
        np.testing.assert_allclose(fold(np.full(n, c), frame, step, t, how=how), c, rtol=1e-12)


@FAST
@given(fold_cases(), st.data())
def test_fold_accumulator_in_batches_equals_fold(case, data):
    t, frame, step, trailing, rng = case
    _, values = _values_for(t, frame, step, trailing, rng)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=4)))
    for how in HOWS:
        acc = FoldAccumulator(t, frame, step, how=how, trailing_shape=trailing or ())
        for a, b in zip([0, *cuts], [*cuts, len(values)], strict=True):
            acc.add(a, values[a:b])
        np.testing.assert_allclose(acc.result(), fold(values, frame, step, t, how=how))


def test_fold_accumulator_reports_missing_frames():
    acc = FoldAccumulator(10, frame=4, step=2)
    acc.add(0, np.ones(2))
    with pytest.raises(DataError, match="incomplete"):
        acc.result()


def test_fold_handles_integer_values():
    starts = frame_starts(9, 3, 2)
    values = np.arange(len(starts))
    got = fold(values, 3, 2, 9, how="mean")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, naive_fold(values, starts, 3, 9, "mean"))


# ---------------------------------------------------------------- error paths


def _frame_calls(frame, step):
    x = np.zeros((10, 2))
    return [
        lambda: check_frame_step(frame, step),
        lambda: n_grid_frames(10, frame, step),
        lambda: frame_starts(10, frame, step),
        lambda: sliding_windows(x, frame, step),
        lambda: WindowSet([x], frame, step),
        lambda: fold(np.zeros(3), frame, step, 10),
        lambda: FoldAccumulator(10, frame, step),
    ]


@pytest.mark.parametrize(
    ("frame", "step", "name", "bad"),
    [
        (0, 1, "frame", 0),
        (-3, 1, "frame", -3),
        (2, 0, "step", 0),
        (2, -1, "step", -1),
        (2.5, 1, "frame", 2.5),
        (3.0, 1, "frame", 3.0),
        ("3", 1, "frame", "3"),
        (True, 1, "frame", True),
        (2, False, "step", False),
        (2, 1.0, "step", 1.0),
    ],
)
def test_bad_frame_or_step_is_a_parameter_error(frame, step, name, bad):
    for call in _frame_calls(frame, step):
        with pytest.raises(ParameterError) as excinfo:
            call()
        assert_names(excinfo, name, bad)


def test_numpy_integers_are_accepted():
    assert frame_starts(np.int64(10), np.int32(4), np.uint8(3)).tolist() == [0, 3, 6]


@pytest.mark.parametrize(("t", "frame"), [(3, 5), (0, 1), (9, 10)])
def test_stream_shorter_than_frame_is_a_data_error(t, frame):
    x = np.zeros((t, 2))
    calls = [
        lambda: check_frame_step(frame, 1, t),
        lambda: frame_starts(t, frame, 1),
        lambda: sliding_windows(x, frame),
        lambda: gather_windows(x, [], frame),
        lambda: fold(np.zeros(1), frame, 1, t),
    ]
    for call in calls:
        with pytest.raises(DataError) as excinfo:
            call()
        assert_names(excinfo, "frame", frame)
        assert re.search(rf"\b{t} timesteps\b", str(excinfo.value))


@pytest.mark.parametrize("delta", [-3, -1, 1])
def test_fold_wrong_number_of_frames(delta):
    n = len(frame_starts(10, 4, 3))
    with pytest.raises(DataError) as excinfo:
        fold(np.zeros(n + delta), 4, 3, 10)
    assert_names(excinfo, "values", (n + delta,))
    assert re.search(rf"\b{n} frames\b", str(excinfo.value))


def test_fold_wrong_frame_length():
    with pytest.raises(DataError) as excinfo:
        fold(np.zeros((3, 5)), 4, 3, 10)
    assert_names(excinfo, "frame", 4)
    assert "(3, 5)" in str(excinfo.value)


def test_fold_scalar_values():
    with pytest.raises(DataError, match="values"):
        fold(np.float64(1.0), 4, 3, 10)


@pytest.mark.parametrize("how", ["sum", "MEAN", "", None])
def test_fold_bad_how(how):
    with pytest.raises(ParameterError) as excinfo:
        fold(np.zeros(3), 4, 3, 10, how=how)
    assert_names(excinfo, "how", how)


def test_fold_rejects_step_larger_than_frame():
    n = len(frame_starts(12, 2, 5))
    with pytest.raises(ParameterError) as excinfo:
        fold(np.zeros(n), 2, 5, 12)
    assert_names(excinfo, "step", 5)
    assert_names(excinfo, "frame", 2)


def test_errors_are_value_errors_too():
    # callers catching ValueError (numpy habits) still catch ours
    with pytest.raises(ValueError):
        sliding_windows(np.zeros(3), 0)


# ---------------------------------------------------------------- performance sanity


def test_large_views_and_batches_allocate_little():
    """Loose checks, no timing: windows over a big stream cost no memory; a batch costs a batch."""
    x = np.zeros((1_000_000, 8), np.float32)  # 32 MB
    tracemalloc.start()
    try:
        w = sliding_windows(x, frame=128, step=1)
        _, peak_view = tracemalloc.get_traced_memory()
        ws = WindowSet([x[:500_000], x[500_000:]], frame=128, step=1)
        idx = np.arange(0, len(ws), len(ws) // 256)[:256]
        # the per-frame index arrays (~16 MB) are WindowSet's fixed cost: measure above them
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        batch = ws[idx]
        _, peak = tracemalloc.get_traced_memory()
        peak_batch = peak - held
    finally:
        tracemalloc.stop()
    assert w.shape == (len(x) - 127, 128, 8)
    assert peak_view < 1_000_000
    assert batch.shape == (256, 128, 8)
    assert peak_batch < 4 * batch.nbytes + 1_000_000  # not proportional to the ~1M frames


def test_fold_of_many_frames_runs():
    t, frame = 200_000, 64
    n = len(frame_starts(t, frame, 1))
    got = fold(np.ones((n, frame), np.float32), frame, 1, t, how="mean")
    assert got.shape == (t,)
    np.testing.assert_allclose(got, 1.0)
