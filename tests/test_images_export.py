"""Image detectors through ONNX: export, then the torch-free OnnxDetector scores like Python."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from seqae.datasets import load_digits

from seqae import Detector
from seqae.errors import DataError, ModelFormatError
from seqae.files.runtime import OnnxDetector
from seqae.scoring.images import ImageDetectionResult

MODELS = {
    "conv2d": {"filters": (8, 16), "latent_dim": 8},
    "conv2d_nearest": {"filters": (8, 16), "latent_dim": None, "upsampling": "nearest"},
    "dense": {"hidden": (32, 8), "output_activation": "sigmoid"},
    "vae": {"hidden": (32, 8)},
    "conv2d_vae": {"filters": (8,), "latent_dim": 4},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits():
    return load_digits().images


def _fit(name: str, images: np.ndarray) -> Detector:
    model = name.removesuffix("_nearest")
    return Detector(
        model=model,
        model_params=MODELS[name],
        scaler="minmax",
        threshold="quantile",
        contamination=0.05,
        epochs=3,
        batch_size=64,
        random_state=0,
    ).fit(images)


@pytest.fixture(scope="module")
def exported(digits, tmp_path_factory):
    """``exported(name)``: a detector fitted on the first 500 digits and its ONNX file, made
    once per module (an export takes seconds)."""
    made: dict[str, tuple[Detector, object]] = {}

    def get(name: str) -> tuple[Detector, object]:
        if name not in made:
            det = _fit(name, digits[:500])
            made[name] = (det, det.export_onnx(tmp_path_factory.mktemp(name) / "images.onnx"))
        return made[name]

    return get


# conv2d runs by default (the image ONNX path: shapes, pixel scores, reconstruction); the other
# families with the slow tests. Dense layers on images reach ONNX by default in
# test_elbo_scoring.py::test_onnx_image_parity (the vae), and every export costs seconds.
SLOW = {"conv2d_nearest", "conv2d_vae", "dense", "vae"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(MODELS)]
)
def test_onnx_scores_match_python(digits, exported, name):
    det, path = exported(name)
    onnx_det = OnnxDetector(path, batch_size=64)
    assert onnx_det.metadata["input_kind"] == "image"
    assert onnx_det.metadata["image_shape"] == [1, 8, 8]
    for n in (1, 7, 300):  # one batch of one, a ragged batch, several batches
        x = digits[500 : 500 + n]
        want, got = det.score_samples(x), onnx_det.score_samples(x)
        assert got.shape == (n,)
        assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12)) <= 1e-4
        np.testing.assert_array_equal(onnx_det.predict(x), det.predict(x))
    x = digits[500:800]
    assert 0 < det.predict(x).sum() < len(x)  # both labels occur, so equality means something
    want = det.detect(x[:20], reconstruction=True)
    got = onnx_det.detect(x[:20], reconstruction=True)
    assert isinstance(got, ImageDetectionResult)
    np.testing.assert_allclose(got.pixel_scores, want.pixel_scores, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(got.reconstruction, want.reconstruction, rtol=1e-4, atol=1e-5)
    raw = onnx_det.score_frames(x[:5, None])
    assert raw["timestep_error"].shape == (5, 8, 8)
    assert raw["window_score"].shape == (5,)


def test_onnx_image_input_checks(exported, tmp_path):
    _, path = exported("conv2d")
    onnx_det = OnnxDetector(path)
    with pytest.raises(DataError, match=r"model takes \(1, 8, 8\)"):
        onnx_det.score_samples(np.zeros((3, 9, 9), dtype=np.float32))
    with pytest.raises(DataError, match="images"):
        onnx_det.score_samples(np.zeros((100, 1), dtype=np.float32))
    # inconsistent metadata is refused at load
    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == "seqae.image_shape":
            prop.value = "[2, 8, 8]"
    (tmp_path / "bad.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(ModelFormatError, match="image_shape"):
        OnnxDetector(tmp_path / "bad.onnx")
