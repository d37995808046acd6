"""seqae.files.loader: the one model loader: a path (saved folder, .safetensors, .onnx) or a
fitted detector in, a detector out; anything else refused with the path named."""

from __future__ import annotations

import numpy as np
import pytest

from seqae.errors import ModelFormatError, ParameterError
from seqae.files.loader import check_model_path, load_detector


@pytest.fixture(scope="module")
def dense(exported_family, tmp_path_factory):
    """The session's shared dense detector, saved as a folder and a single file, and exported."""
    det, onnx_path = exported_family("dense")
    folder = tmp_path_factory.mktemp("loader")
    det.save(folder / "model")
    det.save(folder / "model.safetensors")
    return det, folder, onnx_path


def test_each_kind_of_path_loads_the_same_detector(dense, family_stream):
    pytest.importorskip("onnxruntime")
    det, folder, onnx_path = dense
    want = det.score_samples(family_stream.values)
    for path, kind in [
        (folder / "model", "Detector"),
        (folder / "model.safetensors", "Detector"),
        (onnx_path, "OnnxDetector"),
        (str(onnx_path), "OnnxDetector"),
    ]:
        loaded = load_detector(path)
        assert type(loaded).__name__ == kind, path
        got = loaded.score_samples(family_stream.values)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_a_fitted_detector_is_returned_as_it_is(dense):
    det = dense[0]
    assert load_detector(det) is det


def test_what_is_not_a_model_is_refused(tmp_path):
    data = tmp_path / "sensors.csv"
    data.write_text("a,b\n1,2\n")
    with pytest.raises(ModelFormatError, match=r"sensors.csv: not a seqae model"):
        load_detector(data)
    with pytest.raises(ModelFormatError, match=r"missing: no such model file or folder"):
        check_model_path(tmp_path / "missing")
    with pytest.raises(ParameterError, match=r"detector must be .* got int"):
        load_detector(42)
    assert check_model_path(tmp_path) == tmp_path  # a folder may be a saved model
