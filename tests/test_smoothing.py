"""Detector(score_smoothing=w): scores are trailing means of the network's, fitted alike."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import assert_parts_match, load_without
from seqae.cli.main import cli
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import ParameterError
from seqae.scoring.baseline import centred_mean, smooth_scores

# one thread: the tests compare seeded fits, bit-identical only at a fixed thread count
FAST = {"model": "dense", "frame": 16, "epochs": 1, "random_state": 0, "n_threads": 1}


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_timesteps=3000, n_channels=3, random_state=4)


@pytest.fixture(scope="module")
def pair(stream):
    """The same network (same seed) without and with smoothing, fitted on two recordings (no
    stuck check: it raises stuck rows after the smoothing)."""
    recordings = [stream.values[:900], stream.values[900:1600]]
    bare = {**FAST, "drift_window": None, "stuck_window": None, "rank_smoothing": 1}
    plain = Detector(**bare, score_smoothing=1).fit(recordings)
    smoothed = Detector(**bare, score_smoothing=8).fit(recordings)
    return plain, smoothed, recordings


def test_scores_are_trailing_means_of_the_network_scores(pair, stream):
    plain, smoothed, _ = pair
    raw = plain.score_samples(stream.values) * plain.threshold_
    got = smoothed.score_samples(stream.values) * smoothed.threshold_
    np.testing.assert_allclose(got, smooth_scores(raw, 8), rtol=1e-6)


def test_the_lines_are_fitted_on_each_recording_smoothed(pair):
    plain, smoothed, recordings = pair
    raw = plain.train_scores_ * plain.threshold_
    cut = len(recordings[0])
    want = np.concatenate([smooth_scores(raw[:cut], 8), smooth_scores(raw[cut:], 8)])
    np.testing.assert_allclose(smoothed.train_scores_ * smoothed.threshold_, want, rtol=1e-6)
    assert smoothed.threshold_ != pytest.approx(plain.threshold_)  # smoothed scores: another line


def test_the_drift_base_is_the_median_of_smoothed_normal_rows(stream):
    recordings = [stream.values[:900], stream.values[900:1600]]
    det = Detector(**FAST, score_smoothing=8, validation_split=0.0).fit(recordings)
    raw = det.train_scores_ * det.threshold_  # no rows held out: every row is normal
    assert det.drift_base_ == pytest.approx(float(np.median(raw)), rel=1e-9)
    plain = Detector(**FAST, validation_split=0.0, score_smoothing=1).fit(recordings)
    assert det.drift_base_ != pytest.approx(plain.drift_base_, rel=1e-6)


def test_fit_detect_equals_fit_then_detect(stream):
    x = stream.values[:2000]
    det = Detector(**FAST, score_smoothing=8)
    result = det.fit_detect(x)
    want = det.detect(x)
    np.testing.assert_allclose(result.scores, want.scores, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(result.contributions.sum(1), result.scores, rtol=1e-9)


@pytest.mark.parametrize(
    ("name", "rows"), [("score_smoothing", 8), ("long_smoothing", 32), ("centred_smoothing", 12)]
)
def test_saved_exported_and_chunked_models_smooth_the_same(name, rows, stream, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqae.files.runtime import OnnxDetector
    from seqae.scale.streaming import iter_detect

    det = Detector(**FAST, **{name: rows}).fit(stream.values[:1500])  # with the drift line
    want = det.detect(stream.values)
    det.save(tmp_path / "m")
    loaded = Detector.load(tmp_path / "m")
    assert getattr(loaded, name) == rows and getattr(loaded.state_, name) == rows
    np.testing.assert_allclose(loaded.score_samples(stream.values), want.scores, rtol=1e-6)
    onnx = OnnxDetector(det.export_onnx(tmp_path / "m.onnx"))
    assert getattr(onnx.state_, name) == rows
    got = onnx.detect(stream.values)
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.contributions, want.contributions, rtol=1e-5, atol=1e-5)
    chunks = [stream.values[a : a + 333] for a in range(0, len(stream.values), 333)]
    chunked = np.concatenate([part.scores for part in iter_detect(det, chunks)])
    np.testing.assert_allclose(chunked, want.scores, rtol=1e-6, atol=1e-7)
    # and it really smooths: read at scoring time, without it the scores differ
    setattr(det, name, None if name == "long_smoothing" else 1)
    assert not np.allclose(det.score_samples(stream.values), want.scores, rtol=1e-3)


@pytest.mark.parametrize("bad", [0, 1.5, True])
def test_bad_smoothing_is_a_parameter_error(bad, stream):
    with pytest.raises(ParameterError, match=f"score_smoothing must be an integer >= 1, got {bad}"):
        Detector(**FAST, score_smoothing=bad).fit(stream.values[:500])


def _train_args(stream, tmp_path, model="m", channels=None):
    """``seqae train`` of the stream's first 800 rows into ``tmp_path / model``: one epoch of
    a small dense model (options are appended by the caller). ``channels``: only the time
    column and that many first channels."""
    data = tmp_path / "s.csv"
    table = stream.to_frame().iloc[:800]
    if channels is not None:
        table = table.iloc[:, : 1 + channels]
    table.to_csv(data, index=False)
    return ["train", str(data), "-o", str(tmp_path / model), "--model", "dense", "--frame", "16",
            "--epochs", "1"]  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "param", "shown", "bad"),
    [
        ("--score-smoothing", "5", ("score_smoothing", 5), "mean of the last 5 raw scores", "0"),
        ("--centred-smoothing", "8", ("centred_smoothing", 8), "centred mean of 15 rows", "0"),
        ("--rank-smoothing", "8", ("rank_smoothing", 8), "a centred mean of 15 rows", "0"),
        (
            "--drift-rank-power",
            "0.5",
            ("drift_rank_power", 0.5),
            "drift-aware over 512 rows (scores under the line keep its factor ^ 0.5)",
            "2",
        ),
    ],
)
def test_cli_trains_with_the_option_and_info_shows_it(
    option, value, param, shown, bad, stream, tmp_path
):
    runner = CliRunner()
    args = _train_args(stream, tmp_path)
    out = runner.invoke(cli, [*args, option, value])
    assert out.exit_code == 0, out.output
    name, want = param
    assert getattr(Detector.load(tmp_path / "m"), name) == want
    info = runner.invoke(cli, ["info", str(tmp_path / "m")])
    assert shown in info.output
    config = json.loads(runner.invoke(cli, ["info", "--json", str(tmp_path / "m")]).output)
    assert config[name] == want and config["params"][name] == want
    refused = runner.invoke(cli, [*args, option, bad])
    assert refused.exit_code == 2 and option in refused.output
    assert option in runner.invoke(cli, ["train", "--help"]).output


def test_train_help_gives_the_smoothing_default():
    helped = CliRunner().invoke(cli, ["train", "--help"])
    assert "--score-smoothing" in helped.output and "default: 1" in helped.output


# ------------------------------------------------------------------ the long mean (round 12)
def test_the_long_mean_is_tested_against_its_own_line(pair, stream):
    plain, smoothed, recordings = pair
    bare = {**FAST, "drift_window": None, "stuck_window": None, "rank_smoothing": 1}
    both = Detector(**bare, score_smoothing=8, long_smoothing=32).fit(recordings)
    long_only = Detector(**bare, score_smoothing=32).fit(recordings)
    # the short mean keeps its line; the long mean is scaled by the ratio of the two lines
    assert both.threshold_ == pytest.approx(smoothed.threshold_, rel=1e-9)
    assert both.long_gain_ == pytest.approx(smoothed.threshold_ / long_only.threshold_, rel=1e-9)
    raw = plain.score_samples(stream.values) * plain.threshold_
    want = np.maximum(smooth_scores(raw, 8), both.long_gain_ * smooth_scores(raw, 32))
    np.testing.assert_allclose(both.score_samples(stream.values) * both.threshold_, want, rtol=1e-6)
    assert not np.allclose(want, smooth_scores(raw, 8))  # the long mean wins somewhere
    cut = len(recordings[0])
    raw_train = plain.train_scores_ * plain.threshold_
    fitted = [smooth_scores(raw_train[:cut], 8, 32, both.long_gain_)]
    fitted.append(smooth_scores(raw_train[cut:], 8, 32, both.long_gain_))
    np.testing.assert_allclose(both.train_scores_ * both.threshold_, np.concatenate(fitted))


def test_the_long_mean_in_parts_equals_one_pass():
    from seqae.scoring.baseline import ScoreSmoother

    scores = np.random.default_rng(3).exponential(1.0, 500)
    whole = ScoreSmoother(8, 32, fill=0.5).apply(scores)
    smoother = ScoreSmoother(8, 32, fill=0.5)
    parts = [smoother.apply(scores[a:b]) for a, b in ((0, 1), (1, 20), (20, 33), (33, 500))]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12)


@pytest.mark.parametrize("bad", [0, 1.5, True, "32"])
def test_bad_long_smoothing_is_a_parameter_error(bad, stream):
    with pytest.raises(ParameterError, match="long_smoothing must be None or an integer >= 1"):
        Detector(**FAST, long_smoothing=bad).fit(stream.values[:500])


def test_cli_trains_with_the_long_mean_and_info_shows_it(stream, tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, [*_train_args(stream, tmp_path), "--long-smoothing", "24"])
    assert out.exit_code == 0, out.output
    assert Detector.load(tmp_path / "m").long_smoothing == 24
    info = runner.invoke(cli, ["info", str(tmp_path / "m")])
    assert "x the mean of the last 24 (its own line)" in info.output
    off = runner.invoke(cli, [*_train_args(stream, tmp_path, "n"), "--long-smoothing", "0"])
    assert off.exit_code == 0, off.output
    assert Detector.load(tmp_path / "n").long_smoothing is None


# ------------------------------------------------------------------ the centred mean (round 16)
def test_the_centred_mean_in_parts_equals_one_pass():
    x = np.random.default_rng(3).exponential(size=5000)
    whole = centred_mean(x, 32)
    part = centred_mean(x[1000:3000], 32)[31:-31]  # each kept row sees its whole kernel
    assert np.array_equal(part, whole[1031:2969])
    ends = centred_mean(np.r_[np.zeros(4), 6.0, np.zeros(4)], 3)
    np.testing.assert_allclose(ends, [0, 0, 2 / 3, 4 / 3, 2, 4 / 3, 2 / 3, 0, 0])
    np.testing.assert_allclose(centred_mean(np.full(7, 2.5), 5), 2.5)  # ends: own weights


def test_centred_scores_are_the_centred_mean_of_the_network_scores(stream):
    bare = {**FAST, "drift_window": None, "stuck_window": None, "score_smoothing": 1,
            "rank_smoothing": 1}  # fmt: skip
    plain = Detector(**bare).fit(stream.values[:1500])
    centred = Detector(**bare, centred_smoothing=16).fit(stream.values[:1500])
    raw = plain.score_samples(stream.values) * plain.threshold_
    got = centred.score_samples(stream.values) * centred.threshold_
    np.testing.assert_allclose(got, centred_mean(raw, 16), rtol=1e-5, atol=1e-7)
    assert centred.threshold_ != plain.threshold_  # the line is fitted on the centred scores


@pytest.mark.parametrize("model", ["dense", "conv1d"])
def test_centred_scores_of_partitions_and_chunks_equal_one_pass(model, stream):
    det = Detector(**{**FAST, "model": model}, centred_smoothing=24).fit(stream.values[:1500])
    x = stream.values
    assert_parts_match(det, x, det.detect(x), [0, 700, 701, 1800, len(x)])


def test_a_centred_mean_of_zero_is_a_parameter_error(stream):
    with pytest.raises(ParameterError, match="centred_smoothing must be an integer >= 1"):
        Detector(**FAST, centred_smoothing=0).fit(stream.values[:500])


def test_files_without_the_centred_mean_load_without_it(stream, tmp_path):
    det = Detector(**FAST).fit(stream.values[:800])
    det.save(tmp_path / "m")
    loaded = load_without(tmp_path / "m", "centred_smoothing")
    assert loaded.centred_smoothing == 1
    np.testing.assert_allclose(
        loaded.score_samples(stream.values), det.score_samples(stream.values)
    )


# ------------------------------------------------------------------ "auto" (round 17)
def test_auto_centres_one_channel_and_not_several(stream):
    from seqae.scoring.baseline import ONE_CHANNEL_CENTRED
    from seqae.scoring.thresholds import describe_detector_line

    one = stream.values[:1500, :1]
    auto = Detector(**FAST, centred_smoothing="auto").fit(one)
    fixed = Detector(**FAST, centred_smoothing=ONE_CHANNEL_CENTRED).fit(one)
    assert auto.centred_smoothing_ == ONE_CHANNEL_CENTRED == auto.state_.centred_smoothing
    assert auto.state_.params["centred_smoothing"] == "auto"  # the choice, as asked
    np.testing.assert_array_equal(auto.score_samples(stream.values[:, :1]),
                                  fixed.score_samples(stream.values[:, :1]))  # fmt: skip
    assert (
        "a centred mean of 63 rows (31 each side; auto: data of one channel)"
        in describe_detector_line(auto)
    )
    several = Detector(**FAST, centred_smoothing="auto").fit(stream.values[:1500])
    plain = Detector(**FAST).fit(stream.values[:1500])
    assert several.centred_smoothing_ == 1 == several.state_.centred_smoothing
    np.testing.assert_array_equal(several.score_samples(stream.values),
                                  plain.score_samples(stream.values))  # fmt: skip
    assert "scores averaged by a centred mean" not in describe_detector_line(several)


def test_auto_survives_save_load_and_a_refit_chooses_again(stream, tmp_path):
    one = stream.values[:1500, :1]
    det = Detector(**FAST, centred_smoothing="auto").fit(one)
    det.save(tmp_path / "m")
    loaded = Detector.load(tmp_path / "m")
    assert loaded.centred_smoothing_ == 32
    np.testing.assert_allclose(
        loaded.score_samples(stream.values[:, :1]), det.score_samples(stream.values[:, :1])
    )
    det.fit(stream.values[:1500])  # the same detector on three channels: chosen again
    assert det.centred_smoothing_ == 1


def test_the_default_on_one_channel_exports_and_streams_as_in_memory(stream, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqae.files.runtime import OnnxDetector
    from seqae.scale.streaming import iter_detect

    one = stream.values[:, 1:2]
    det = Detector(**FAST).fit(one[:1500])  # centred_smoothing="auto": 32 rows here
    assert det.centred_smoothing == "auto" and det.centred_smoothing_ == 32
    want = det.detect(one)
    onnx = OnnxDetector(det.export_onnx(tmp_path / "m.onnx"))
    assert onnx.state_.centred_smoothing == 32
    np.testing.assert_allclose(onnx.detect(one).scores, want.scores, rtol=1e-5, atol=1e-5)
    chunks = [one[a : a + 250] for a in range(0, len(one), 250)]
    parts = list(iter_detect(det, chunks))
    np.testing.assert_allclose(
        np.concatenate([p.scores for p in parts]), want.scores, rtol=1e-6, atol=1e-7
    )
    assert np.array_equal(np.concatenate([p.labels for p in parts]), want.labels)


def test_cli_takes_auto_and_info_says_why(stream, tmp_path):
    runner = CliRunner()
    args = _train_args(stream, tmp_path, channels=1)
    out = runner.invoke(cli, [*args, "--centred-smoothing", "auto"])
    assert out.exit_code == 0, out.output
    info = runner.invoke(cli, ["info", str(tmp_path / "m")])
    assert "centred mean of 63 rows (31 each side; auto: data of one channel)" in info.output
    bad = runner.invoke(cli, [*args, "--centred-smoothing", "often"])
    assert bad.exit_code == 2 and "an integer >= 1 or 'auto'" in bad.output
    with pytest.raises(ParameterError, match="an integer >= 1 or 'auto', got 'often'"):
        Detector(**FAST, centred_smoothing="often").fit(stream.values[:500])
