"""OnnxDetector: an exported file scores, labels and explains exactly like its Detector.

Every family is trained once (tiny, few epochs), exported once, and compared with the Detector
on the synthetic stream, on random data, for several batch sizes and (conv1d) lengths, and on a
real SKAB recording.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
import torch
from conftest import FAMILIES, FAST
from onnx import TensorProto, helper
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import DataError, ModelFormatError, ParameterError
from seqae.files.runtime import ONNX_FORMAT_VERSION, OUTPUT_NAMES, OnnxDetector, content_digest
from seqae.models.head import ScoringHead

REPO = Path(__file__).resolve().parents[1]
SKAB = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "skab"


def assert_same_scores(got: np.ndarray, want: np.ndarray) -> None:
    """The issue's criterion: max |onnx - torch| <= 1e-4 relative to the scores' scale."""
    assert got.shape == want.shape
    diff = float(np.abs(got - want).max())
    assert diff <= 1e-4 * float(np.abs(want).max()), f"max diff {diff:.3g}"


@pytest.fixture(scope="module")
def stream(family_stream):
    return family_stream


@pytest.fixture(scope="module")
def random_data(stream):
    # Raw, unscaled noise five standard deviations wide: far from normal, so many alarms even
    # from one-epoch models once the default score smoothing has averaged the rows.
    rng = np.random.default_rng(1)
    center, spread = stream.values.mean(0), stream.values.std(0)
    return (center + 5 * spread * rng.standard_normal((400, 4))).astype(np.float32)


@pytest.fixture(scope="module")
def exported(exported_family):
    """``exported(name) -> (Detector, path)``: each family trained and exported once a session."""
    return exported_family


# ------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_scores_labels_events_match_detector(exported, stream, random_data, name):
    det, path = exported(name)
    for data in (stream.values, random_data):
        want = det.detect(data, reconstruction=True)
        got = OnnxDetector(path).detect(data, reconstruction=True)
        assert_same_scores(got.scores, want.scores)
        assert_same_scores(got.contributions, want.contributions)
        assert_same_scores(got.reconstruction, want.reconstruction)
        np.testing.assert_array_equal(got.labels, want.labels)
        assert [(e.start, e.end, e.peak_index) for e in got.events] == [
            (e.start, e.end, e.peak_index) for e in want.events
        ]
        assert [[c for c, _ in e.top_channels] for e in got.events] == [
            [c for c, _ in e.top_channels] for e in want.events
        ]
        assert got.threshold == pytest.approx(det.threshold_)
        np.testing.assert_allclose(got.raw_scores, got.scores * det.threshold_)
    # the random data must exercise the alarm path, not only quiet scores
    assert det.predict(random_data).any()


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("batch_size", [1, 7, 1024])
def test_batch_size_does_not_change_scores(exported, stream, name, batch_size):
    det, path = exported(name)
    onnx_det = OnnxDetector(path, batch_size=batch_size)
    data = stream.values[:300]
    assert_same_scores(onnx_det.score_samples(data), det.score_samples(data))
    np.testing.assert_array_equal(onnx_det.predict(data), det.predict(data))


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("batch", [1, 7, 1024])
def test_graph_outputs_match_scoring_head(exported, random_data, name, batch):
    det, path = exported(name)
    rng = np.random.default_rng(batch)
    starts = rng.integers(0, len(random_data) - det.frame, batch)
    frames = np.stack([random_data[s : s + det.frame] for s in starts])
    got = OnnxDetector(path).score_frames(frames)
    head = fresh_head(det)
    with torch.inference_mode():
        want = [t.numpy() for t in head.eval()(torch.from_numpy(frames))]
    for key, w in zip(OUTPUT_NAMES, want, strict=True):
        assert_same_scores(got[key], w)
    np.testing.assert_allclose(got["window_score"], got["timestep_error"].mean(1), rtol=1e-5)


def fresh_head(det) -> ScoringHead:
    """A scoring head built anew from the detector's fitted state (not the detector's own)."""
    return ScoringHead(
        det.model_,
        det.scaler_["center"],
        det.scaler_["scale"],
        det.threshold_,
        channel_weights=det.channel_weights_,
    )


@pytest.mark.parametrize("length", [1, 5, 33, 100, 257])
def test_conv1d_takes_any_length(exported, random_data, length):
    det, path = exported("conv1d")
    onnx_det = OnnxDetector(path)
    frames = np.stack([random_data[:length], random_data[-length:]])
    got = onnx_det.score_frames(frames)
    head = fresh_head(det)
    with torch.inference_mode():
        want = head.eval()(torch.from_numpy(frames))[1].numpy()
    assert got["timestep_error"].shape == (2, length)
    assert_same_scores(got["timestep_error"], want)


@pytest.mark.parametrize("length", [3, 50, 1000])
def test_convolutional_scoring_of_streams_of_any_length(exported, stream, length):
    det, path = exported("conv1d_convolutional")
    data = stream.values[:length]
    assert_same_scores(OnnxDetector(path).score_samples(data), det.score_samples(data))


@pytest.mark.slow
def test_convolutional_scoring_crosses_chunks(exported):
    det, path = exported("conv1d_convolutional")
    onnx_det = OnnxDetector(path)
    assert onnx_det.metadata["chunk"] < 70_000  # several chunks, halos at the seams
    data = make_sensor_stream(n_timesteps=70_000, n_channels=4, random_state=2).values
    got, want = onnx_det.score_samples(data), det.score_samples(data)
    assert_same_scores(got, want)
    np.testing.assert_array_equal(onnx_det.predict(data), det.predict(data))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_parity_on_skab(tmp_path, name):
    if not (SKAB / "valve1" / "1.csv").is_file():
        pytest.skip(f"SKAB data not found at {SKAB}")
    from seqae.datasets import SensorData, load_skab

    experiment = next(e for e in load_skab(SKAB, groups="valve1") if e.name == "valve1/1")
    data = experiment.data
    first = SensorData(data.values[:400], data.channels, data.timestamps[:400])
    params = {**FAMILIES[name], **FAST}
    params.pop("channel_weights", None)  # one per channel of family_stream, not of SKAB
    # the top 1 % line: one-epoch models must raise events here, so the event path is compared
    params["threshold"] = "quantile"
    det = Detector(**params).fit(first)  # the SKAB protocol's training part
    onnx_det = OnnxDetector(det.export_onnx(tmp_path / "skab.onnx"), batch_size=7)
    want, got = det.detect(data), onnx_det.detect(data)
    assert_same_scores(got.scores, want.scores)
    np.testing.assert_array_equal(got.labels, want.labels)
    assert [(e.start, e.end) for e in got.events] == [(e.start, e.end) for e in want.events]
    assert got.timestamps is not None and got.events[0].start_time == want.events[0].start_time


# ------------------------------------------------------------------------------ channels
def test_named_data_is_matched_by_name(exported, stream):
    det, path = exported("dense")
    frame = pd.DataFrame(stream.values, columns=stream.channels)
    shuffled = frame[stream.channels[::-1]].assign(extra=0.0)
    onnx_det = OnnxDetector(path)
    assert onnx_det.channels_ == stream.channels
    np.testing.assert_array_equal(onnx_det.score_samples(shuffled), onnx_det.score_samples(frame))
    assert_same_scores(onnx_det.score_samples(shuffled), det.score_samples(frame))


def test_wrong_channels_fail_clearly(exported, stream):
    _, path = exported("dense")
    onnx_det = OnnxDetector(path)
    with pytest.raises(DataError, match=r"has 3 channel\(s\), the model expects 4"):
        onnx_det.score_samples(stream.values[:, :3])
    renamed = pd.DataFrame(stream.values, columns=["a", "b", "c", "d"])
    with pytest.raises(DataError, match=r"missing channel\(s\).*sensor_0"):
        onnx_det.predict(renamed)
    with pytest.raises(DataError, match="fewer than one frame of 16"):
        onnx_det.score_samples(stream.values[:10])
    with pytest.raises(DataError, match="non-finite"):
        onnx_det.score_samples(np.where(np.arange(100)[:, None] == 50, np.nan, 1.0) * np.ones(4))


def test_score_frames_checks_shapes(exported):
    _, dense = exported("dense")
    _, conv = exported("conv1d")
    with pytest.raises(DataError, match=r"expected \(batch, 16, 4\)"):
        OnnxDetector(dense).score_frames(np.zeros((2, 17, 4)))
    with pytest.raises(DataError, match=r"expected \(batch, length, 4\)"):
        OnnxDetector(conv).score_frames(np.zeros((2, 17, 5)))
    with pytest.raises(DataError, match="non-finite value at index"):
        OnnxDetector(conv).score_frames(np.full((1, 8, 4), np.inf))


# ------------------------------------------------------------------------------ metadata
def test_metadata_records_the_detector(exported):
    det, path = exported("conv1d_convolutional")
    meta = OnnxDetector(path).metadata
    assert meta["format_version"] == ONNX_FORMAT_VERSION
    assert meta["model"] == "conv1d" and meta["scoring"] == "convolutional"
    assert meta["channels"] == det.channels_
    assert (meta["frame"], meta["step"], meta["fold"]) == (det.frame, det.step, det.fold)
    assert meta["scaler"] == det.scaler_
    assert meta["threshold"] == det.threshold_
    assert (meta["min_event_length"], meta["merge_gap"]) == (3, 4)
    assert meta["dynamic_length"] is True
    assert meta["total_stride"] == det.model_.total_stride
    assert meta["halo"] >= det.model_.receptive_field
    assert meta["training_summary"]["n_timesteps"] == det.training_summary_["n_timesteps"]
    assert meta["history"] == det.history_


def test_thread_options_reach_the_session(exported):
    _, path = exported("lstm")
    onnx_det = OnnxDetector(path, intra_op_num_threads=1, inter_op_num_threads=1)
    options = onnx_det.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    with pytest.raises(ParameterError, match="intra_op_num_threads"):
        OnnxDetector(path, intra_op_num_threads=-1)
    with pytest.raises(ParameterError, match="batch_size"):
        OnnxDetector(path, batch_size=0)


def test_import_leaves_torch_out(exported, stream, tmp_path):
    _, path = exported("conv1d")
    data = tmp_path / "x.npy"
    np.save(data, stream.values[:200])
    code = (
        "import sys, numpy as np\n"
        "from seqae.files.runtime import OnnxDetector\n"
        "import seqae.scoring.core\n"
        "from seqae.scale.streaming import detect_file\n"
        f"det = OnnxDetector({str(path)!r})\n"
        f"x = np.load({str(data)!r})\n"
        "print(det.predict(x).shape)\n"
        # the streaming entry, from the .onnx path and chunks in memory
        f"result = detect_file({str(path)!r}, np.array_split(x, 3))\n"
        "assert np.allclose(result.scores, det.score_samples(x), atol=1e-6)\n"
        "heavy = [m for m in ('torch', 'onnx', 'sklearn', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(200,)"


# ------------------------------------------------------------------------------ bad files
def _edit_metadata(src: Path, dst: Path, **changes: object) -> Path:
    """Copy an exported file with metadata entries changed (None removes one), keeping the
    checksum valid so only the change itself can be what the loader refuses."""
    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    for key, value in changes.items():
        if value is None:
            props.pop(f"seqae.{key}")
        else:
            props[f"seqae.{key}"] = json.dumps(value)
    del model.metadata_props[:]
    props.pop("seqae.sha256")
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    model.metadata_props.add(key="seqae.sha256", value=json.dumps("0"))
    digest = content_digest(model.SerializeToString())
    model.metadata_props[-1].value = json.dumps(digest)
    dst.write_bytes(model.SerializeToString())
    return dst


def test_damaged_files_are_refused(exported, tmp_path):
    _, path = exported("dense")
    data = path.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside the weights: still parses, scores would change
    cases = {
        "truncated.onnx": (data[: len(data) // 2], "not a readable ONNX model"),
        "garbage.onnx": (b"not an onnx file at all" * 10, "not a readable ONNX model"),
        "flipped.onnx": (bytes(flipped), "does not match the checksum"),
    }
    for file_name, (content, message) in cases.items():
        bad = tmp_path / file_name
        bad.write_bytes(content)
        with pytest.raises(ModelFormatError, match=message) as info:
            OnnxDetector(bad)
        assert file_name in str(info.value)
    with pytest.raises(ModelFormatError, match="no such ONNX model file"):
        OnnxDetector(tmp_path / "missing.onnx")


def test_foreign_and_newer_files_are_refused(exported, tmp_path):
    det, path = exported("dense")
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "foreign",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), foreign)
    with pytest.raises(ModelFormatError, match=r"foreign\.onnx: not a seqae ONNX model"):
        OnnxDetector(foreign)

    newer = _edit_metadata(path, tmp_path / "newer.onnx", format_version=ONNX_FORMAT_VERSION + 1)
    with pytest.raises(ModelFormatError, match="upgrade seqae"):
        OnnxDetector(newer)
    missing = _edit_metadata(path, tmp_path / "missing.onnx", channels=None)
    with pytest.raises(ModelFormatError, match="'channels' is missing"):
        OnnxDetector(missing)
    wrong = _edit_metadata(path, tmp_path / "wrong.onnx", channels=["a", "b", "c"])
    with pytest.raises(ModelFormatError, match=r"field 'channels' must hold 4 names"):
        OnnxDetector(wrong)
    spec = det.model_.get_spec()
    wider = {**spec, "input_shape": [det.frame, 3]}
    wrong = _edit_metadata(
        path, tmp_path / "wrong.onnx", channels=["a", "b", "c"], model_spec=wider
    )
    with pytest.raises(ModelFormatError, match=r"field 'scaler\.center' must hold 3 numbers"):
        OnnxDetector(wrong)
    three = {"kind": "standard", "center": [0.0] * 3, "scale": [1.0] * 3}
    narrow = _edit_metadata(
        path,
        tmp_path / "narrow.onnx",
        channels=["a", "b", "c"],
        scaler=three,
        channel_weights=[1.0] * 3,
        stuck_floor=[0.0] * 3,
        model_spec=wider,
    )
    with pytest.raises(ModelFormatError, match="axis 2 is 3"):
        OnnxDetector(narrow)
    # the edit helper itself keeps a file loadable when nothing is changed
    assert OnnxDetector(_edit_metadata(path, tmp_path / "same.onnx")).channels_


def test_graph_with_other_inputs_is_refused(exported, tmp_path):
    _, path = exported("dense")
    model = onnx.load(str(path))
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 4])],
    )
    other = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    for prop in model.metadata_props:
        other.metadata_props.add(key=prop.key, value=prop.value)
    bad = tmp_path / "other.onnx"
    bad.write_bytes(other.SerializeToString())
    _edit_metadata(bad, bad)  # a valid checksum: only the inputs are wrong
    with pytest.raises(ModelFormatError, match="inputs are \\['x'\\]"):
        OnnxDetector(bad)


# ------------------------------------------------------------------------------ edge example
def _edge_service():
    path = REPO / "examples" / "edge_service.py"
    spec = importlib.util.spec_from_file_location("edge_service", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["conv1d", "conv1d_convolutional"])
def test_edge_service_streams_the_offline_scores(exported, stream, name):
    _, path = exported(name)
    data = pd.DataFrame(stream.values[:200], columns=stream.channels)
    text = data[stream.channels[::-1]].assign(time=range(200)).to_csv(index=False)
    out = io.StringIO()
    alarms = _edge_service().serve(str(path), io.StringIO(text), out, every=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["t"] for r in records] == list(range(200))
    result = OnnxDetector(path).detect(data)
    offline = result.scores
    np.testing.assert_allclose([r["score"] for r in records], offline, rtol=1e-5, atol=1e-6)
    assert alarms == int((offline >= 1.0).sum()) == sum(r["alarm"] for r in records)
    # the top channel of every timestep, as offline (ties aside: shares within 1e-6)
    top = [stream.channels.index(r["top_channel"]) for r in records]
    shares = result.contributions
    assert np.all(shares[np.arange(200), top] >= shares.max(1) - 1e-6 * np.abs(shares).max())


def test_edge_service_centres_one_channel_as_offline(stream, tmp_path):
    """One channel: the scores take a centred mean (``centred_smoothing="auto"``) and the rows
    under the line the ranking stream; both read 31 rows ahead, which the service waits for."""
    one = stream.values[:, :1]
    det = Detector("conv1d", frame=16, epochs=1, random_state=0, n_threads=1).fit(one[:600])
    assert det.centred_smoothing_ == 32 and det.rank_smoothing_ == 32
    path = det.export_onnx(tmp_path / "one.onnx")
    text = pd.DataFrame(one[:300], columns=det.channels_).to_csv(index=False)
    out = io.StringIO()
    _edge_service().serve(str(path), io.StringIO(text), out, every=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["t"] for r in records] == list(range(300))
    offline = OnnxDetector(path).score_samples(one[:300])
    np.testing.assert_allclose([r["score"] for r in records], offline, rtol=1e-5, atol=1e-6)


def test_edge_service_needs_step_one_mean_fold(exported):
    _, path = exported("gru")  # step 3, median fold
    with pytest.raises(ValueError, match="step=1 and fold='mean'"):
        _edge_service().StreamScorer(OnnxDetector(path))
