"""Negative-ELBO scoring for variational autoencoders: ``Detector(anomaly_score="elbo")``.

The option is validated, round-trips through get_params / clone / save / load / ``seqae info``,
scores equal a hand computation (reconstruction error of the posterior mean + beta * KL per
value, over the threshold), keep the contribution invariants, detect novel digits, and travel
into the exported ONNX graph.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from seqae.cli.main import cli
from seqae.datasets import make_sensor_stream
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from seqae import Detector
from seqae.errors import ModelFormatError, ParameterError
from seqae.files.runtime import OnnxDetector
from seqae.models.head import ScoringHead, head_runner
from seqae.scoring.core import score_windowed
from seqae.training.objectives import kl_per_sample

BETA = 0.5
# one thread: seeded fits are bit-identical only at one thread count, and the default
# count follows the machine's load (it can differ between two calls under xdist)
FAST = {"batch_size": 32, "learning_rate": 3e-3, "patience": 0, "random_state": 0, "n_threads": 1}
TINY_VAE = {
    "model": "vae",
    "model_params": {"hidden": (16, 4)},
    "train_params": {"beta": BETA},
    "scaler": "minmax",
    "epochs": 3,
    **FAST,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits(digits_novelty):
    """``(train, test, y)`` of the shared digits novelty split."""
    return digits_novelty[1:]


@pytest.fixture(scope="module")
def tiny(digits):
    """A tiny dense VAE on digits, scoring by the negative ELBO."""
    train_x, _, _ = digits
    return Detector(anomaly_score="elbo", **TINY_VAE).fit(train_x[:300])


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_timesteps=1200, n_channels=3, random_state=4)


def _scaled(det: Detector, images: np.ndarray) -> torch.Tensor:
    center, scale = det.scaler_["center"][0], det.scaler_["scale"][0]
    return torch.from_numpy(((images[:, None] - center) / scale).astype(np.float32))


# ---------------------------------------------------------------------------- the parameter
def test_default_and_params_roundtrip():
    assert Detector().anomaly_score == "reconstruction"
    det = Detector("vae", anomaly_score="elbo", train_params={"beta": BETA})
    assert det.get_params()["anomaly_score"] == "elbo"
    copy = clone(det)
    assert copy.anomaly_score == "elbo" and copy.train_params == {"beta": BETA}
    assert clone(det.set_params(anomaly_score="reconstruction")).anomaly_score == "reconstruction"


def test_elbo_needs_a_variational_model(stream, digits):
    with pytest.raises(ParameterError, match=r"anomaly_score='elbo'.*'conv2d_vae', 'vae'.*conv1d"):
        Detector("conv1d", frame=32, epochs=1, anomaly_score="elbo").fit(stream.values)
    with pytest.raises(ParameterError, match=r"anomaly_score='elbo'.*conv2d"):
        Detector("conv2d", epochs=1, anomaly_score="elbo").fit(digits[0][:50])
    with pytest.raises(ParameterError, match="anomaly_score must be one of"):
        Detector("vae", anomaly_score="kl").fit(stream.values)


def test_head_refuses_elbo_without_encode_stats():
    from seqae.models import build_model

    model = build_model("dense", (16, 2), {"hidden": (8, 4)})
    with pytest.raises(ParameterError, match="variational"):
        ScoringHead(model, [0.0, 0.0], [1.0, 1.0], elbo=True)


# ---------------------------------------------------------------------------- the numbers
def test_image_scores_equal_hand_computation(tiny, digits):
    _, test_x, _ = digits
    x = _scaled(tiny, test_x[:50])
    with torch.no_grad():
        mean, log_var = tiny.model_.encode_stats(x)
        recon = tiny.model_.decode(mean)
        n_values = x[0].numel()
        mse = ((recon - x) ** 2).flatten(1).mean(1)
        kl = 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum(1)
        hand = ((mse + BETA * kl / n_values) / tiny.threshold_).numpy()
        # the same as the model's own negative_elbo, per value
        elbo = tiny.model_.negative_elbo(x, loss="mse", beta=BETA).numpy()
    scores = tiny.score_samples(test_x[:50])
    np.testing.assert_allclose(scores, hand, rtol=1e-5)
    np.testing.assert_allclose(scores, elbo / n_values / tiny.threshold_, rtol=1e-5)
    assert tiny.to_config()["beta"] == BETA

    # The reconstruction score of the very same model is lower by the KL term, never equal.
    head = ScoringHead(
        tiny.model_, tiny.scaler_["center"], tiny.scaler_["scale"], tiny.threshold_, 1
    ).eval()
    with torch.no_grad():
        raw_x = torch.from_numpy(test_x[:50, None].astype(np.float32))
        recon_scores = head(raw_x)[3].numpy()
        kl_term = (BETA * kl_per_sample(mean, log_var) / n_values / tiny.threshold_).numpy()
    assert (scores > recon_scores).all()
    np.testing.assert_allclose(scores - recon_scores, kl_term, rtol=1e-4, atol=1e-7)


def test_image_result_invariants(tiny, digits):
    _, test_x, _ = digits
    result = tiny.detect(test_x[:40], reconstruction=True)
    # pixel maps still average to the image's score; raw scores are the un-normalised ELBO
    np.testing.assert_allclose(result.pixel_scores.mean(axis=(1, 2)), result.scores, rtol=1e-6)
    np.testing.assert_allclose(result.raw_scores, result.scores * tiny.threshold_, rtol=1e-12)
    # the threshold was fitted on ELBO training scores: 1.0 is the alarm line as usual
    assert np.median(tiny.train_scores_) < 1.0 and (tiny.train_scores_ >= 1.0).mean() < 0.1
    # the reconstruction is that of the posterior mean (the model's deterministic forward)
    np.testing.assert_allclose(tiny.reconstruct(test_x[:40]), result.reconstruction, atol=1e-6)


def test_sequence_vae_contributions_sum_to_elbo_scores(stream):
    frame = 16
    det = Detector(
        "vae",
        frame=frame,
        step=frame,  # windows do not overlap: each timestep holds one window's share
        anomaly_score="elbo",
        model_params={"hidden": (16, 4)},
        train_params={"beta": BETA},
        epochs=2,
        batch_size=64,
        random_state=0,
        channel_norm=False,  # the plain ELBO arithmetic: no channel weights,
        drift_window=None,  # no drift-aware rescaling
        score_smoothing=1,  # nor smoothing across windows
        combine_power=1.0,  # channel errors summed
        rank_smoothing=1,  # the scores under the line are the ELBO too
        stuck_window=None,
    ).fit(stream.values[:800])
    test = stream.values[800:]
    result = det.detect(test)
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.scores, rtol=1e-6)
    # each window's timesteps average to its negative ELBO per value (over the threshold)
    n = len(test) // frame * frame
    center = np.asarray(det.scaler_["center"], dtype=np.float32)
    scale = np.asarray(det.scaler_["scale"], dtype=np.float32)
    frames = torch.from_numpy(((test[:n] - center) / scale).astype(np.float32)).reshape(
        -1, frame, 3
    )
    with torch.no_grad():
        elbo = det.model_.negative_elbo(frames, beta=BETA).numpy() / (frame * 3)
    per_window = result.scores[:n].reshape(-1, frame).mean(axis=1)
    np.testing.assert_allclose(per_window, elbo / det.threshold_, rtol=1e-5)
    # the KL share is spread evenly: within a window it adds the same to every timestep
    head = ScoringHead(det.model_, det.scaler_["center"], det.scaler_["scale"], det.threshold_)
    recon_only = score_windowed(head_runner(head.eval()), test, frame, frame).scores
    kl_share = (result.scores - recon_only)[:n].reshape(-1, frame)
    assert (kl_share > 0).all()
    np.testing.assert_allclose(kl_share, kl_share[:, :1].repeat(frame, axis=1), rtol=1e-4)


# ---------------------------------------------------------------------------- novelty
def test_elbo_scores_detect_novel_digits(digits):
    train_x, test_x, y = digits
    det = Detector(
        "vae",
        anomaly_score="elbo",
        scaler="minmax",
        model_params={"hidden": (32, 8)},
        train_params={"beta": BETA},
        epochs=30,
        **FAST,
    ).fit(train_x)
    scores = det.score_samples(test_x)
    assert np.isfinite(scores).all()
    auc = roc_auc_score(y, scores)
    assert auc > 0.8, f"AUC-ROC {auc:.3f} (chance is 0.5)"


# ---------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("name", ["folder", "model.safetensors"])
def test_save_load_roundtrip(tiny, digits, tmp_path, name):
    _, test_x, _ = digits
    path = tmp_path / name
    tiny.save(path)
    loaded = Detector.load(path)
    assert loaded.anomaly_score == "elbo"
    assert loaded.get_params()["train_params"] == {"beta": BETA}
    np.testing.assert_array_equal(loaded.score_samples(test_x), tiny.score_samples(test_x))
    if name == "folder":
        config = json.loads((path / "config.json").read_text())
        assert config["params"]["anomaly_score"] == "elbo"
        assert config["anomaly_score"] == "elbo" and config["beta"] == BETA
        out = CliRunner().invoke(cli, ["info", str(path)])
        assert out.exit_code == 0, out.output
        assert "negative ELBO" in out.output and "beta 0.5" in out.output


def test_load_refuses_elbo_for_a_plain_model(stream, tmp_path):
    det = Detector("dense", frame=16, model_params={"hidden": (8, 4)}, epochs=1, random_state=0)
    det.fit(stream.values[:400]).save(tmp_path / "m")
    assert "reconstruction error" in CliRunner().invoke(cli, ["info", str(tmp_path / "m")]).output
    config_path = tmp_path / "m" / "config.json"
    config = json.loads(config_path.read_text())
    config["params"]["anomaly_score"] = "elbo"
    config_path.write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="anomaly_score"):
        Detector.load(tmp_path / "m")


# ---------------------------------------------------------------------------- ONNX
def test_onnx_image_parity(tiny, digits, tmp_path):
    _, test_x, _ = digits
    onnx_det = OnnxDetector(tiny.export_onnx(tmp_path / "vae.onnx"), batch_size=64)
    assert onnx_det.metadata["anomaly_score"] == "elbo"
    assert onnx_det.metadata["beta"] == BETA
    for n in (1, 7, 300):
        x = test_x[:n]
        want, got = tiny.score_samples(x), onnx_det.score_samples(x)
        assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12)) <= 1e-4
        np.testing.assert_array_equal(onnx_det.predict(x), tiny.predict(x))
    want, got = tiny.detect(test_x[:20]), onnx_det.detect(test_x[:20])
    np.testing.assert_allclose(got.pixel_scores, want.pixel_scores, rtol=1e-4, atol=1e-7)
    out = CliRunner().invoke(cli, ["info", str(tmp_path / "vae.onnx")])
    assert out.exit_code == 0, out.output
    assert "negative ELBO" in out.output


def test_onnx_sequence_parity(stream, tmp_path):
    det = Detector(
        "vae",
        frame=16,
        step=4,
        anomaly_score="elbo",
        model_params={"hidden": (16, 4)},
        epochs=1,
        batch_size=64,
        random_state=0,
    ).fit(stream.values[:800])
    onnx_det = OnnxDetector(det.export_onnx(tmp_path / "seq.onnx"))
    assert onnx_det.metadata["anomaly_score"] == "elbo" and onnx_det.metadata["beta"] == 1.0
    want, got = det.detect(stream.values), onnx_det.detect(stream.values)
    assert np.max(np.abs(got.scores - want.scores) / np.abs(want.scores)) <= 1e-4
    np.testing.assert_allclose(got.contributions, want.contributions, rtol=1e-4, atol=1e-7)


# ---------------------------------------------------------------------------- command line
def test_cli_train_anomaly_score(digits, stream, tmp_path):
    train_x, _, _ = digits
    np.save(tmp_path / "train.npy", train_x[:200])
    model = tmp_path / "model"
    args = ["train", str(tmp_path / "train.npy"), "--model", "vae", "--epochs", "1", "-o"]
    result = CliRunner().invoke(cli, [*args, str(model), "--anomaly-score", "elbo"])
    assert result.exit_code == 0, result.output
    assert Detector.load(model).anomaly_score == "elbo"
    assert "negative ELBO" in CliRunner().invoke(cli, ["info", str(model)]).output
    args[3] = "conv2d"
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "m2"), "--score", "elbo"])
    assert result.exit_code == 2, result.output
    assert "anomaly_score='elbo' needs a variational model" in result.output
