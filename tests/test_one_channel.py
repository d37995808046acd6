"""Issue 24, item 3: a fault in one channel of many is not thinned by the others, and a stuck
sensor is anomalous while it is stuck (seqae.scoring.core.combine_channels,
seqae.scoring.baseline.StuckCheck, and the Detector's ``combine_power`` / ``stuck_window``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from seqae.datasets import make_sensor_stream

from seqae import Detector, OnnxDetector
from seqae.errors import ModelFormatError, ParameterError
from seqae.files.state import FittedState
from seqae.scale.streaming import ChunkedDetector
from seqae.scoring.baseline import (
    STUCK_MARGIN,
    STUCK_SCORE,
    StuckCheck,
    stuck_floor,
    window_ranges,
)
from seqae.scoring.core import combine_channels, score_convolutional, score_windowed


# ------------------------------------------------------------------ the combination
def test_power_1_is_the_sum_bit_for_bit():
    e = np.random.default_rng(0).exponential(1.0, (500, 7))
    assert np.array_equal(combine_channels(e, 1.0), e.sum(axis=1))


@pytest.mark.parametrize("power", [2.0, 4.0, 8.0])
def test_the_power_mean_is_homogeneous_and_equal_to_the_sum_when_channels_agree(power):
    e = np.random.default_rng(1).exponential(1.0, (200, 5))
    np.testing.assert_allclose(combine_channels(3.0 * e, power), 3.0 * combine_channels(e, power))
    same = np.full((4, 5), 0.2)
    np.testing.assert_allclose(combine_channels(same, power), same.sum(axis=1))


def test_one_channel_among_fifty_counts_c_to_the_1_over_p_less_not_c():
    e = np.full((2, 50), 1.0)
    e[1, 7] = 50.0  # one channel errs 50x its normal level
    plain = combine_channels(e, 1.0)
    tail = combine_channels(e, 4.0)
    assert plain[1] / plain[0] < 2.0  # the sum barely moves: 99 / 50
    assert tail[1] / tail[0] > 15.0  # the power mean sees it: 50 / 50 ** 0.25 ~ 18.8


@pytest.mark.parametrize("power", [1.0, 4.0])
def test_both_scoring_loops_combine_with_the_power(power):
    x = np.random.default_rng(2).normal(size=(300, 4)).astype(np.float32)

    def run(batch):
        return batch.astype(np.float64) ** 2, None

    windowed = score_windowed(run, x, frame=1, step=1, power=power)
    conv = score_convolutional(run, x, stride=1, halo=0, chunk=64, power=power)
    bare = score_convolutional(run, x, stride=1, halo=0, chunk=64, power=power, contributions=False)
    want = combine_channels(x.astype(np.float64) ** 2, power)
    np.testing.assert_allclose(windowed.scores, want, rtol=1e-6)
    np.testing.assert_allclose(conv.scores, want, rtol=1e-6)
    np.testing.assert_allclose(bare.scores, want, rtol=1e-6)


# ------------------------------------------------------------------ the stuck check
def _stuck_values(n=1000, start=300, end=600, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, 3))
    x[start:end, 1] = x[start - 1, 1]
    return x


def test_a_stuck_channel_is_flagged_from_its_window_th_still_row_until_it_moves():
    train = np.random.default_rng(9).normal(size=(2000, 3))
    floor = stuck_floor([train], 16)
    assert np.all(floor > 0)
    mask = StuckCheck(floor, 16).mask(_stuck_values())
    # rows 299..599 hold one value: the 16-row range is 0 from row 314 to row 599
    assert np.flatnonzero(mask[:, 1]).tolist() == list(range(314, 600))
    assert not mask[:, [0, 2]].any()


def test_a_channel_that_goes_quiet_but_keeps_moving_is_not_stuck():
    # A server metric that idles moves far less than it ever did in training, but it moves:
    # only a channel that holds one value is stuck (suite-rounds.md, round 11).
    train = np.random.default_rng(9).normal(size=(2000, 3))
    floor = stuck_floor([train], 16)
    x = np.random.default_rng(4).normal(size=(1000, 3))
    x[300:600, 1] = x[299, 1] + 1e-3 * np.random.default_rng(5).normal(size=300)
    assert not StuckCheck(floor, 16).mask(x).any()
    x[400:450, 1] = x[399, 1]  # then it holds one value for 50 rows
    assert np.flatnonzero(StuckCheck(floor, 16).mask(x)[:, 1]).tolist() == list(range(414, 450))


def test_the_stuck_check_in_parts_equals_one_pass():
    x = _stuck_values(seed=3)
    whole = StuckCheck([0.3, 0.3, 0.3], 16).mask(x)
    check = StuckCheck([0.3, 0.3, 0.3], 16)
    cuts = [0, 1, 5, 17, 300, 310, 599, 600, 1000]
    parts = [check.mask(x[a:b]) for a, b in itertools.pairwise(cuts)]
    assert np.array_equal(np.concatenate(parts), whole)


def test_a_channel_that_held_still_often_in_training_is_never_stuck():
    train = np.random.default_rng(9).normal(size=(2000, 2))
    train[500:540, 1] = 0.0  # held still for 40 rows: 2 % of its rows repeat the one before
    floor = stuck_floor([train], 16)
    assert floor[0] > 0 and floor[1] == 0
    x = np.random.default_rng(1).normal(size=(400, 2))
    x[100:300, 1] = 0.0
    assert not StuckCheck(floor, 16).mask(x).any()


def test_a_stuck_stretch_inside_the_training_rows_does_not_turn_the_check_off():
    # A file scored by a model fitted on itself holds its own stuck fault (round 15): a
    # channel that rarely repeats a value is still checked, with the floor of the windows
    # in which it moved.
    x = np.random.default_rng(9).normal(size=(20_000, 2))
    x[5000:5137, 1] = x[4999, 1]  # 136 repeats: 0.7 % of its rows
    floor = stuck_floor([x], 16)
    moved = window_ranges(x, 16)[:, 1]
    assert floor[1] == pytest.approx(STUCK_MARGIN * moved[moved > 0].min())
    assert np.flatnonzero(StuckCheck(floor, 16).mask(x)[:, 1]).tolist() == list(range(5014, 5137))
    assert stuck_floor([np.zeros((100, 1))], 16).tolist() == [0.0]  # never moved: off


def test_a_channel_whose_values_repeat_in_training_is_never_checked():
    rng = np.random.default_rng(5)
    smooth = rng.normal(size=2000)
    counter = np.round(rng.normal(size=2000) * 2)  # whole numbers: ~20 % of rows repeat
    floor = stuck_floor([np.stack([smooth, counter], axis=1)], 16)
    assert floor[0] > 0 and floor[1] == 0


def test_stuck_rows_score_at_least_the_stuck_score_named_on_the_stuck_channel():
    x = _stuck_values()
    scores = np.full(len(x), 0.3)
    contributions = np.full((len(x), 3), 0.1)
    got, shares = StuckCheck([0.3, 0.3, 0.3], 16).apply(x, scores, contributions)
    assert np.all(got[314:600] == STUCK_SCORE) and np.all(got[:314] == 0.3)
    np.testing.assert_allclose(shares.sum(axis=1), got)
    assert np.all(shares[314:600].argmax(axis=1) == 1)


def test_window_ranges_and_bad_settings():
    x = np.array([[0.0, 1.0], [3.0, 1.0], [1.0, 2.0]])
    assert window_ranges(x, 2).tolist() == [[3.0, 0.0], [2.0, 1.0]]
    assert window_ranges(x, 4).shape == (0, 2)
    for window in (1, 2.5, True):
        with pytest.raises(ParameterError, match="stuck window"):
            StuckCheck([0.1], window)
    with pytest.raises(ParameterError, match="stuck floor"):
        StuckCheck([-1.0], 4)
    with pytest.raises(ParameterError, match="shape"):
        StuckCheck([0.1, 0.1], 4).mask(np.zeros((5, 3)))


# ------------------------------------------------------------------ the detector
# one thread: seeded fits are bit-identical only at one thread count, and the default
# count follows the machine's load (it can differ between two calls under xdist)
FAST = {"model": "conv1d", "frame": 32, "epochs": 3, "random_state": 0, "n_threads": 1}


@pytest.fixture(scope="module")
def wide():
    """A 20-channel stream: fit on 3,000 rows; then a level shift in channel 5 and channel 12
    stuck, each for 300 rows."""
    stream = make_sensor_stream(6000, 20, anomalies=(), random_state=11).values
    train, test = stream[:3000], stream[3000:].copy()
    test[500:800, 5] += 3.0 * train[:, 5].std()
    test[1800:2100, 12] = test[1799, 12]
    return train, test


@pytest.fixture(scope="module")
def fitted(wide):
    return Detector(**FAST, combine_power=4, stuck_window=16).fit(wide[0])


def test_the_power_mean_finds_a_one_channel_shift_the_sum_thins(wide, fitted):
    train, test = wide
    plain = Detector(**FAST, combine_power=1.0).fit(train)
    ratio_plain = plain.score_samples(test)[500:800].mean() / plain.score_samples(test)[:400].mean()
    ratio_tail = (
        fitted.score_samples(test)[500:800].mean() / fitted.score_samples(test)[:400].mean()
    )
    assert ratio_tail - 1 > 2 * (ratio_plain - 1)  # how far above normal: 2x more


def test_a_stuck_sensor_is_one_event_named_on_it_while_it_is_stuck(wide, fitted):
    result = fitted.detect(wide[1])
    stuck = [e for e in result.events if e.start < 2100 and e.end > 1800]
    assert len(stuck) == 1
    event = stuck[0]
    assert event.top_channels[0][0] == "channel_12"
    assert 1800 <= event.start <= 1816 and event.end >= 2099
    assert result.labels[1815:2100].all()


def test_power_and_stuck_check_survive_save_export_and_chunks(wide, fitted, tmp_path):
    test = wide[1]
    want = fitted.detect(test)
    fitted.save(tmp_path / "model")
    loaded = Detector.load(tmp_path / "model")
    assert loaded.combine_power == 4 and loaded.stuck_window == 16
    np.testing.assert_allclose(loaded.score_samples(test), want.scores, rtol=1e-6, atol=1e-7)
    fitted.export_onnx(tmp_path / "model.onnx")
    onnx = OnnxDetector(tmp_path / "model.onnx").detect(test)
    np.testing.assert_allclose(onnx.scores, want.scores, rtol=1e-4, atol=1e-5)
    assert np.array_equal(onnx.labels, want.labels)
    chunked = ChunkedDetector(fitted, min_part=300)
    parts = list(chunked.run(np.split(test, [1, 700, 1810, 1811, 2500])))
    np.testing.assert_allclose(
        np.concatenate([p.scores for p in parts]), want.scores, rtol=1e-6, atol=1e-7
    )
    assert np.array_equal(chunked.labels, want.labels)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("combine_power", 0.5, "combine_power"),
        ("combine_power", float("inf"), "combine_power"),
        ("combine_power", "4", "combine_power"),
        ("stuck_window", 1, "stuck_window"),
        ("stuck_window", 8.0, "stuck_window"),
    ],
)
def test_bad_settings_are_refused(name, value, match):
    with pytest.raises(ParameterError, match=match):
        Detector(**{name: value}).fit(np.zeros((100, 2)))


def test_files_check_the_new_fields(fitted):
    data = fitted.state_.to_dict()
    old = {
        k: v for k, v in data.items() if k not in ("combine_power", "stuck_window", "stuck_floor")
    }
    upgraded = FittedState.from_dict(old, "old.json")
    assert (upgraded.combine_power, upgraded.stuck_window, upgraded.stuck_floor) == (
        1.0,
        None,
        None,
    )
    for field, value in (("combine_power", 0.0), ("stuck_floor", None), ("stuck_floor", [1.0])):
        with pytest.raises(ModelFormatError, match=field.split("_")[0]):
            FittedState.from_dict({**data, field: value}, "bad.json")
