"""Detector(n_networks=...): several networks trained apart whose normalised errors average."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from seqae.cli.main import cli
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import ParameterError
from seqae.models import build_model
from seqae.models.ensemble import Ensemble

# one thread: seeded fits are bit-identical only at one thread count, and the default
# count follows the machine's load (it can differ between two calls under xdist)
FAST = {"frame": 32, "epochs": 2, "steps_per_epoch": 8, "random_state": 3, "n_threads": 1}


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_timesteps=1600, n_channels=3, random_state=1).values


@pytest.fixture(scope="module")
def pair(stream):
    return Detector(n_networks=2, **FAST).fit(stream[:800])


def _alone(det: Detector, i: int, x: np.ndarray) -> np.ndarray:
    """Network i's raw score (before channel normalisation, line and smoothing) alone."""
    saved = det.model_.member_weights.clone()
    try:
        det.model_.member_weights.zero_()[i] = 1.0  # network i, every channel at 1
        return det._score(x).contributions
    finally:
        det.model_.member_weights.copy_(saved)


def test_the_first_network_is_the_single_detector(stream, pair):
    single = Detector(**FAST).fit(stream[:800])
    first = pair.model_.members[0].state_dict()
    for name, value in single.model_.state_dict().items():
        assert torch.equal(value, first[name]), name
    second = pair.model_.members[1].state_dict()
    assert not all(torch.equal(v, second[k]) for k, v in first.items())  # seeds differ


def test_errors_average_with_weights_from_held_out_errors(stream, pair):
    weights = pair.model_.member_weights.numpy().astype(np.float64)  # (network, channel)
    assert weights.shape == (2, 3) and np.all(weights > 0)
    held = stream[720:800]  # the last 10 % of the training rows: never trained on
    plain = copy.deepcopy(pair)  # as weighed: before the channel normalisation and the line
    plain.channel_weights_ = None
    plain._head = plain._make_head(threshold=1.0)
    expected = []
    for i in range(2):  # each network normalised as it would be alone
        error = _alone(plain, i, held)
        per_channel = 1 / error.mean(axis=0)  # (no channel here is under the floor)
        expected.append(per_channel / np.median((error * per_channel).sum(axis=1)))
    expected = np.asarray(expected) / np.asarray(expected).sum(axis=0).mean()
    np.testing.assert_allclose(weights, expected, rtol=1e-5)
    mixed = pair._score(stream).contributions
    each = [_alone(pair, i, stream) for i in range(2)]
    np.testing.assert_allclose(mixed, weights[0] * each[0] + weights[1] * each[1], rtol=1e-4)


def test_saved_and_exported_ensembles_score_the_same(stream, pair, tmp_path):
    pair.save(tmp_path / "m.safetensors")
    loaded = Detector.load(tmp_path / "m.safetensors")
    assert loaded.n_networks == 2 and isinstance(loaded.model_, Ensemble)
    np.testing.assert_allclose(loaded.score_samples(stream), pair.score_samples(stream))
    pytest.importorskip("onnxruntime")
    from seqae import OnnxDetector

    pair.export_onnx(tmp_path / "m.onnx")
    onnx = OnnxDetector(tmp_path / "m.onnx")
    np.testing.assert_allclose(onnx.score_samples(stream), pair.score_samples(stream), atol=1e-4)


def test_images_take_an_ensemble_too():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(64, 8, 8)).astype(np.float32)
    det = Detector(model="dense", n_networks=2, epochs=2, random_state=0).fit(images)
    assert det.score_samples(images).shape == (64,)
    assert det.model_.member_weights.sum().item() == pytest.approx(1.0)  # one channel


@pytest.mark.parametrize(
    "params, words",
    [
        ({"n_networks": 0}, "n_networks must be an integer >= 1"),
        ({"n_networks": 1.5}, "n_networks must be an integer >= 1"),
        ({"n_networks": 2, "model": "pca"}, "closed form"),
        ({"n_networks": 2, "model": "vae", "anomaly_score": "elbo"}, "use n_networks=1"),
    ],
)
def test_bad_settings_are_named(stream, params, words):
    with pytest.raises(ParameterError, match=words):
        Detector(**{**FAST, **params}).fit(stream[:400])


def test_build_model_makes_and_checks_ensembles():
    net = build_model("dense", (16, 2), {"hidden": (8, 4)}, networks=3)
    assert isinstance(net, Ensemble) and net.n_networks == 3
    assert net(torch.zeros(5, 16, 2)).shape == (5, 16, 2)
    assert net.decode(net.encode(torch.zeros(5, 16, 2))).shape == (5, 16, 2)
    with pytest.raises(ParameterError, match="networks must be an integer"):
        build_model("dense", (16, 2), networks=0)


def _cli_train(stream, tmp_path):
    """A runner, the model's path and ``seqae train`` of 600 rows into it, frame 32."""
    data = tmp_path / "s.csv"
    np.savetxt(data, stream[:600], delimiter=",", header="a,b,c", comments="")
    model = tmp_path / "m.safetensors"
    return CliRunner(), model, ["train", str(data), "-o", str(model), "--frame", "32"]


def test_cli_trains_and_describes_an_ensemble(stream, tmp_path):
    runner, model, args = _cli_train(stream, tmp_path)
    args = [*args, "--networks", "2"]
    done = runner.invoke(cli, [*args, "--epochs", "1", "--steps-per-epoch", "4"])
    assert done.exit_code == 0, done.output
    assert "conv1d ×2" in done.output and "(network 1 of 2)" in done.output
    info = runner.invoke(cli, ["info", str(model), "--json"])
    assert json.loads(info.output)["model_spec"]["networks"] == 2
    text = runner.invoke(cli, ["info", str(model)]).output
    assert "networks" in text and "2, their errors averaged" in text
    bad = runner.invoke(cli, [*args[:-2], "--networks", "0"])
    assert bad.exit_code == 2 and "--networks" in bad.output


def test_an_ensemble_scores_a_stream_in_parts_as_a_whole(stream, pair):
    from seqae import iter_detect

    parts = list(iter_detect(pair, [stream[i : i + 250] for i in range(0, len(stream), 250)]))
    whole = pair.detect(stream)
    np.testing.assert_allclose(np.concatenate([p.scores for p in parts]), whole.scores, rtol=1e-5)


@pytest.fixture(scope="module")
def framed(stream):
    return Detector(n_networks=2, network_frames=(32, 16), **FAST).fit(stream[:800])


def test_each_network_trains_on_its_own_frame_length(stream, framed):
    # network 1 is the lone detector of frame 16 and its seed: same start, same windows
    seed = FAST["random_state"] + 1
    lone = Detector(**{**FAST, "frame": 16, "random_state": seed}).fit(stream[:800])
    second = framed.model_.members[1].state_dict()
    for name, value in lone.model_.state_dict().items():
        assert torch.equal(value, second[name]), name
    counts = [h["n_train"] for h in framed.history_["networks"]]
    assert counts == [720 - 32 + 1, 720 - 16 + 1]  # frames of the first 720 rows (90 %)
    # both score frames of 32 rows: the file and the graph hold one frame
    assert framed.model_.members[1].input_shape == (32, 3)
    again = copy.deepcopy(framed).partial_fit(stream[800:])
    assert [h["n_train"] for h in again.history_["networks"]] == counts


def test_networks_of_several_frames_save_export_and_stream_alike(stream, framed, tmp_path):
    framed.save(tmp_path / "m.safetensors")
    loaded = Detector.load(tmp_path / "m.safetensors")
    assert list(loaded.network_frames) == [32, 16]
    np.testing.assert_allclose(loaded.score_samples(stream), framed.score_samples(stream))
    from seqae import iter_detect

    parts = list(iter_detect(framed, [stream[i : i + 250] for i in range(0, len(stream), 250)]))
    whole = framed.detect(stream)
    np.testing.assert_allclose(np.concatenate([p.scores for p in parts]), whole.scores, rtol=1e-5)
    pytest.importorskip("onnxruntime")
    from seqae import OnnxDetector

    framed.export_onnx(tmp_path / "m.onnx")
    onnx = OnnxDetector(tmp_path / "m.onnx")
    np.testing.assert_allclose(onnx.score_samples(stream), whole.scores, atol=1e-4)


@pytest.mark.parametrize(
    "params, words",
    [
        ({"n_networks": 2, "network_frames": (32,)}, "2 integer"),
        ({"n_networks": 2, "network_frames": (32, 64)}, r"each in \[1, frame=32\]"),
        ({"n_networks": 2, "network_frames": (32, 0)}, r"each in \[1, frame=32\]"),
        ({"n_networks": 2, "network_frames": "32,16"}, "integer"),
        ({"n_networks": 2, "network_frames": (32, 16), "model": "dense"}, "fully convolutional"),
    ],
)
def test_bad_network_frames_are_named(stream, params, words):
    with pytest.raises(ParameterError, match=words):
        Detector(**{**FAST, **params}).fit(stream[:400])


def test_images_refuse_network_frames():
    images = np.random.default_rng(0).normal(size=(32, 8, 8)).astype(np.float32)
    det = Detector(model="dense", n_networks=2, network_frames=(64, 64), epochs=1)
    with pytest.raises(ParameterError, match="images have no frames"):
        det.fit(images)


def test_cli_trains_networks_on_their_frames(stream, tmp_path):
    runner, model, args = _cli_train(stream, tmp_path)
    args = [*args, "--epochs", "1"]
    done = runner.invoke(cli, [*args, "--networks", "2", "--network-frames", "32,16"])
    assert done.exit_code == 0, done.output
    assert "conv1d ×2 (frames 32, 16)" in done.output
    text = runner.invoke(cli, ["info", str(model)]).output
    assert "trained on frames of 32, 16 rows" in text
    bad = runner.invoke(cli, [*args, "--networks", "2", "--network-frames", "32,x"])
    assert bad.exit_code == 2 and "--network-frames" in bad.output
    lone = runner.invoke(cli, [*args, "--network-frames", "32,16"])
    assert lone.exit_code == 2 and "n_networks=1" in lone.output
