"""export_onnx: one valid, self-contained file whose graph and metadata carry the whole Detector."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import onnx
import pytest
import torch

import seqae.files.export
from seqae import Detector
from seqae.errors import ModelFormatError, NotFittedError, ParameterError
from seqae.files.export import OPSET, export_onnx
from seqae.files.runtime import OUTPUT_NAMES, OnnxDetector


# The session's shared models (conftest.FAMILIES): exported once for every module that reads them.
@pytest.fixture(scope="module")
def stream(family_stream):
    return family_stream


@pytest.fixture(scope="module")
def conv(exported_family):
    return exported_family("conv1d")[0]  # windowed scoring, frame 32


@pytest.fixture(scope="module")
def dense(exported_family):
    return exported_family("dense")[0]  # frame 16


@pytest.fixture(scope="module")
def conv_file(exported_family):
    return exported_family("conv1d")[1]


@pytest.fixture(scope="module")
def dense_file(exported_family):
    return exported_family("dense")[1]


def _dims(value_info: onnx.ValueInfoProto) -> list[str | int]:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_one_valid_self_contained_file(conv_file):
    # the shared folder holds the session's exports only: no .onnx.data, no temporary file
    assert [p.name for p in conv_file.parent.iterdir() if p.suffix != ".onnx"] == []
    model = onnx.load(str(conv_file))
    onnx.checker.check_model(model, full_check=True)
    assert all(not t.external_data for t in model.graph.initializer)
    assert {o.domain: o.version for o in model.opset_import}[""] == OPSET
    assert [i.name for i in model.graph.input] == ["frames"]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)


def test_axes_dynamic_where_the_model_allows(conv_file, dense_file):
    conv, dense = onnx.load(str(conv_file)), onnx.load(str(dense_file))
    assert _dims(conv.graph.input[0]) == ["batch", "length", 4]
    assert _dims(dense.graph.input[0]) == ["batch", 16, 4]
    shapes = {o.name: _dims(o) for o in conv.graph.output}
    assert shapes == {
        "reconstruction": ["batch", "length", 4],
        "timestep_error": ["batch", "length"],
        "channel_error": ["batch", "length", 4],
        "window_score": ["batch"],
    }
    assert _dims(dense.graph.output[1]) == ["batch", 16]


def test_metadata_travels_in_the_file(conv, conv_file):
    model = onnx.load(str(conv_file))
    props = {p.key: json.loads(p.value) for p in model.metadata_props}  # every value is JSON
    assert all(key.startswith("seqae.") for key in props)
    assert props["seqae.format"] == "seqae-onnx"
    assert props["seqae.seqae_version"] == seqae.__version__
    assert props["seqae.model"] == "conv1d"
    assert (
        props["seqae.channels"]
        == conv.channels_
        == ["sensor_0", "sensor_1", "sensor_2", "sensor_3"]
    )
    assert (props["seqae.frame"], props["seqae.step"]) == (32, 1)
    assert props["seqae.scaler"] == conv.scaler_
    assert props["seqae.threshold"] == conv.threshold_
    assert props["seqae.fold"] == "mean" and props["seqae.scoring"] == "windowed"
    assert props["seqae.opset"] == OPSET
    assert props["seqae.quantized"] is False
    assert props["seqae.model_spec"] == json.loads(json.dumps(conv.model_.get_spec()))
    assert props["seqae.training_summary"]["n_timesteps"] == 1200  # the whole stream
    assert props["seqae.history"]["best_epoch"] == conv.history_["best_epoch"]
    # the runtime reads the same numbers back
    assert OnnxDetector(conv_file).metadata["threshold"] == conv.threshold_


def test_graph_contains_scaling_and_threshold(conv, conv_file, stream):
    # Raw, unscaled data in; the same normalised scores as the Detector out.
    x = stream.values[None, :256]
    out = OnnxDetector(conv_file).score_frames(x)
    head = conv._head  # the Detector's own scoring graph
    with torch.inference_mode():
        want = head(torch.from_numpy(np.ascontiguousarray(x)))
    for name, w in zip(OUTPUT_NAMES, want, strict=True):
        np.testing.assert_allclose(out[name], w.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_loaded_detector_exports_the_same_model(dense, stream, tmp_path):
    dense.save(tmp_path / "saved")
    loaded = Detector.load(tmp_path / "saved")
    onnx_det = OnnxDetector(loaded.export_onnx(tmp_path / "loaded.onnx"))
    want = dense.score_samples(stream)
    got = onnx_det.score_samples(stream)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    np.testing.assert_array_equal(onnx_det.predict(stream), dense.predict(stream))


def test_bad_arguments(dense, tmp_path):
    with pytest.raises(NotFittedError):
        export_onnx(Detector(), tmp_path / "m.onnx")
    with pytest.raises(ParameterError, match=r"must end in \.onnx"):
        dense.export_onnx(tmp_path / "m.onx")
    with pytest.raises(ParameterError, match="does not exist"):
        dense.export_onnx(tmp_path / "nowhere" / "m.onnx")
    (tmp_path / "dir.onnx").mkdir()
    with pytest.raises(ParameterError, match="it is a folder"):
        dense.export_onnx(tmp_path / "dir.onnx")
    with pytest.raises(ParameterError, match="opset must be an integer"):
        dense.export_onnx(tmp_path / "m.onnx", opset=11)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_export_is_quiet_and_leaves_global_state(dense, tmp_path, capfd):
    rng_state = torch.get_rng_state()
    filters = list(warnings.filters)
    handlers = list(logging.getLogger().handlers)
    dense.export_onnx(tmp_path / "quiet.onnx")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert warnings.filters == filters
    assert logging.getLogger().handlers == handlers


def test_a_graph_that_scores_differently_is_not_written(dense, dense_file, tmp_path, monkeypatch):
    # Any difference at all fails a negative tolerance: the check runs and blocks the write.
    monkeypatch.setattr(seqae.files.export, "TOLERANCE", -1.0)
    # The exporter's graph of this detector, as the session already traced it (seconds saved);
    # the metadata goes, export_onnx writes its own.
    graph = onnx.load(str(dense_file))
    del graph.metadata_props[:]
    monkeypatch.setattr(seqae.files.export, "_export", lambda *args: graph)
    with pytest.raises(ModelFormatError, match="differs from torch"):
        dense.export_onnx(tmp_path / "bad.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_quantized_export_scores_close(conv, stream, tmp_path):
    plain = OnnxDetector(conv.export_onnx(tmp_path / "float.onnx", opset=OPSET + 2))
    quant = OnnxDetector(conv.export_onnx(tmp_path / "int8.onnx", quantize=True))
    assert quant.metadata["quantized"] is True and plain.metadata["opset"] == OPSET + 2
    a, b = plain.score_samples(stream), quant.score_samples(stream)
    assert not np.array_equal(a, b)  # the weights did change
    assert np.corrcoef(a, b)[0, 1] > 0.99
    assert np.abs(a - b).max() < 0.1 * np.abs(a).max()
