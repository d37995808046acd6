"""Score with an exported ONNX model: numpy and onnxruntime only, no torch.

An edge service needs the ``.onnx`` file alone. The graph takes raw frames and contains the
scaling, the autoencoder and the error computation; everything else the Detector knows, its
fitted state (:class:`seqae.files.state.FittedState`: channel names and order, frame, step,
fold rule,
scoring path, anomaly score (reconstruction error or negative ELBO: computed inside the graph),
event rules, threshold, training record), plus a few facts about the graph, travels in the
file's ``metadata_props`` under keys ``seqae.<name>``, each value a JSON text.
:class:`OnnxDetector` reads them back and scores a stream through the same windowing, folding
and event code as :class:`seqae.Detector`, so both give the same scores and labels.
A model fitted on images takes ``(N, H, W)`` or ``(N, C, H, W)`` images and scores each image
(and each pixel), as :class:`seqae.Detector` does.

This module never imports torch (nor onnx): ``from seqae.files.runtime import OnnxDetector`` costs
numpy and, on first use, onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, ModelFormatError, ParameterError
from ..scoring.core import RunFn, ScoringSpec, StreamDetector
from ..scoring.images import as_images, score_image_batches
from ..scoring.results import DetectionResult
from ..scoring.validation import Stream, stream_for_model
from ..threads import default_threads
from .state import STATE_VERSION, FittedState, upgrade

__all__ = [
    "INPUT_NAME",
    "ONNX_FORMAT",
    "ONNX_FORMAT_VERSION",
    "OUTPUT_NAMES",
    "DetectionResult",
    "OnnxDetector",
    "content_digest",
    "decode_metadata",
    "encode_metadata",
]

ONNX_FORMAT = "seqae-onnx"
#: The fitted state's version (one number for saved models and ONNX files).
ONNX_FORMAT_VERSION = STATE_VERSION
METADATA_PREFIX = "seqae."
DIGEST_KEY = f"{METADATA_PREFIX}sha256"
INPUT_NAME = "frames"
OUTPUT_NAMES = ("reconstruction", "timestep_error", "channel_error", "window_score")

#: What the file's metadata adds to the fitted state (:class:`seqae.files.state.FittedState`): facts
#: about this graph (also ``opset``, ``quantized``, ``exporter``), with the JSON types the
#: runtime needs them to have.
_GRAPH: dict[str, tuple[type, ...]] = {
    "sha256": (str,),
    "dynamic_length": (bool,),
}
#: The convolutional geometry: the model's total stride, the halo that covers its receptive
#: field, the chunk length; needed for convolutional scoring, null otherwise.
_CONVOLUTIONAL: dict[str, tuple[type, ...]] = {
    "total_stride": (int,),
    "halo": (int,),
    "chunk": (int,),
}


# ---------------------------------------------------------------------------------- metadata
def encode_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    """``{name: value}`` to ONNX ``metadata_props`` entries ``{"seqae.<name>": json}``."""
    return {
        f"{METADATA_PREFIX}{key}": json.dumps(value, allow_nan=False, separators=(",", ":"))
        for key, value in metadata.items()
    }


def decode_metadata(
    props: dict[str, str], where: str = "model"
) -> tuple[FittedState, dict[str, Any]]:
    """Read back :func:`encode_metadata`'s entries: the fitted state, checked and brought to
    the current layout (:meth:`seqae.files.state.FittedState.from_dict`), plus the graph's facts.

    Returns
    -------
    state : FittedState
    metadata : dict
        ``format``, the state's fields (:meth:`~seqae.files.state.FittedState.to_dict`), then the
        graph's entries (``sha256``, ``opset``, ``dynamic_length``, ...) and any others.

    Raises
    ------
    ModelFormatError
        No seqae metadata, a foreign or newer format, or a missing or malformed entry.
    """
    if f"{METADATA_PREFIX}format" not in props:
        raise ModelFormatError(
            f"{where}: not a seqae ONNX model (no '{METADATA_PREFIX}format' metadata); export "
            "one with Detector.export_onnx(path) or `seqae export MODEL --output model.onnx`"
        )
    meta: dict[str, Any] = {}
    for key, text in props.items():
        if not key.startswith(METADATA_PREFIX):
            continue
        name = key[len(METADATA_PREFIX) :]
        try:
            meta[name] = json.loads(text)
        except json.JSONDecodeError:
            raise ModelFormatError(
                f"{where}: metadata {key!r} is not valid JSON: {text[:80]!r}"
            ) from None
    if meta["format"] != ONNX_FORMAT:
        raise ModelFormatError(
            f"{where}: metadata format is {meta['format']!r}, expected {ONNX_FORMAT!r}"
        )
    fitted = FittedState.from_dict(meta, where)
    state = fitted.to_dict()
    graph = {k: v for k, v in upgrade(meta).items() if k not in state and k != "format"}
    needed = dict(_GRAPH)
    if state["scoring"] == "convolutional":
        needed.update(_CONVOLUTIONAL)
    for name, types in needed.items():
        if name not in graph:
            raise ModelFormatError(f"{where}: metadata {name!r} is missing")
        value = graph[name]
        # JSON booleans are Python bools, a subclass of int: only a bool field takes them.
        if isinstance(value, bool) != (types == (bool,)) or not isinstance(value, types):
            raise ModelFormatError(
                f"{where}: metadata {name!r} should be {types[0].__name__}, got {value!r}"
            )
    if state["scoring"] == "convolutional":
        if not graph["dynamic_length"]:
            raise ModelFormatError(
                f"{where}: inconsistent metadata: convolutional scoring needs a dynamic length axis"
            )
        if graph["total_stride"] < 1 or graph["halo"] < 0 or graph["chunk"] < 1:
            raise ModelFormatError(
                f"{where}: inconsistent metadata: total_stride={graph['total_stride']}, "
                f"halo={graph['halo']}, chunk={graph['chunk']} (need >= 1, >= 0, >= 1)"
            )
    return fitted, {"format": meta["format"], **state, **dict(sorted(graph.items()))}


# ---------------------------------------------------------------------------------- checksum
_METADATA_FIELD = 14  # ModelProto.metadata_props


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or malformed varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fields(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """Top-level protobuf fields of ``data``: ``(number, whole field bytes, payload)``."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        payload = b""
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            payload = data[pos : pos + length]
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(data) or number == 0:
            raise ValueError("truncated or malformed protobuf field")
        yield number, data[start:pos], payload


def content_digest(data: bytes) -> str:
    """SHA-256 of a serialized ONNX model, every byte but the digest's own metadata entry.

    Weights, graph and metadata are all covered, so a file damaged or edited after export is
    refused. Computed from the protobuf wire format directly (no ``onnx`` package needed).

    Raises
    ------
    ValueError
        ``data`` is not a well-formed protobuf message.
    """
    digest = hashlib.sha256()
    own_key = DIGEST_KEY.encode()
    for number, raw, payload in _fields(data):
        if number == _METADATA_FIELD and any(
            n == 1 and p == own_key for n, _, p in _fields(payload)
        ):
            continue
        digest.update(raw)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------- detector
def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(
            "seqae.files.runtime needs onnxruntime: pip install onnxruntime (CPU) or "
            "onnxruntime-gpu"
        ) from None
    return onnxruntime


def _check_threads(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(
            f"{name} must be an integer >= 0 (0: onnxruntime's default), got {value!r}"
        )


class OnnxDetector(StreamDetector):
    """Score streams with an exported seqae model, without torch.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.onnx`` file written by :meth:`seqae.Detector.export_onnx` or ``seqae export``.
    intra_op_num_threads, inter_op_num_threads : int, optional
        onnxruntime's thread pools (0 or None: its default, one thread per physical core).
        A service scoring one frame at a time is often fastest with 1.
    session_options : onnxruntime.SessionOptions, optional
        Full control of the session; the thread arguments, when given, override its fields.
    providers : sequence of str, optional
        Execution providers, default ``["CPUExecutionProvider"]``.
    batch_size : int, default 1024
        Frames per onnxruntime call in windowed scoring.

    Attributes
    ----------
    state_ : FittedState
        The fitted state the file carries (:class:`seqae.files.state.FittedState`), in the current
        layout whatever seqae version wrote the file.
    metadata : dict
        Everything the file records (see :mod:`seqae.files.runtime`): the state's fields (version,
        model, channels, frame, step, scaler, threshold, fold, scoring, history, training
        summary, ...) and the graph's (opset, dynamic_length, total_stride, halo, chunk, ...).
    channels_ : list of str
    threshold_ : float
        The raw threshold (the graph's outputs are already divided by it).
    session : onnxruntime.InferenceSession

    Raises
    ------
    ModelFormatError
        The file is missing, corrupted, truncated, not a seqae model, or from a newer format.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae import Detector
    >>> from seqae.files.runtime import OnnxDetector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=2000, n_channels=3, random_state=0)
    >>> det = Detector(frame=32, epochs=2, random_state=0).fit(stream.values[:1000])
    >>> import os, tempfile
    >>> path = det.export_onnx(os.path.join(tempfile.mkdtemp(), "model.onnx"))
    >>> onnx_det = OnnxDetector(path)
    >>> onnx_det.channels_
    ['channel_0', 'channel_1', 'channel_2']
    >>> bool(np.allclose(onnx_det.score_samples(stream.values), det.score_samples(stream.values),
    ...                  rtol=1e-4, atol=1e-6))
    True
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        intra_op_num_threads: int | None = None,
        inter_op_num_threads: int | None = None,
        session_options: Any = None,
        providers: Sequence[str] | None = None,
        batch_size: int = 1024,
    ) -> None:
        _check_threads("intra_op_num_threads", intra_op_num_threads)
        _check_threads("inter_op_num_threads", inter_op_num_threads)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if batch_size < 1:
            raise ParameterError(f"batch_size must be >= 1, got {batch_size}")
        self.path = Path(path)
        self.batch_size = int(batch_size)
        if not self.path.is_file():
            raise ModelFormatError(f"{self.path}: no such ONNX model file")
        ort = _onnxruntime()
        options = session_options if session_options is not None else ort.SessionOptions()
        if intra_op_num_threads is None:  # `seqae ... --threads N` (seqae.threads)
            intra_op_num_threads = default_threads()
        if intra_op_num_threads is not None:
            options.intra_op_num_threads = int(intra_op_num_threads)
        if inter_op_num_threads is not None:
            options.inter_op_num_threads = int(inter_op_num_threads)
        data = self.path.read_bytes()
        try:
            self.session = ort.InferenceSession(
                data,
                sess_options=options,
                providers=list(providers) if providers else ["CPUExecutionProvider"],
            )
            props = dict(self.session.get_modelmeta().custom_metadata_map)
        except Exception as exc:  # onnxruntime raises several private error types
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ModelFormatError(
                f"{self.path}: not a readable ONNX model (corrupted, truncated or not ONNX): "
                f"{type(exc).__name__}: {reason[:300]}"
            ) from None
        self.state_, self.metadata = decode_metadata(props, str(self.path))
        try:
            intact = content_digest(data) == self.metadata["sha256"]
        except ValueError:
            intact = False
        if not intact:
            raise ModelFormatError(
                f"{self.path}: the file does not match the checksum recorded at export (it was "
                "modified or damaged); export the model again"
            )
        self._check_signature()

    # ------------------------------------------------------------------ load checks
    def _check_signature(self) -> None:
        where = str(self.path)
        inputs = self.session.get_inputs()
        if [i.name for i in inputs] != [INPUT_NAME]:
            raise ModelFormatError(
                f"{where}: the graph's inputs are {[i.name for i in inputs]}, "
                f"expected one input {INPUT_NAME!r}"
            )
        outputs = {o.name for o in self.session.get_outputs()}
        missing = [name for name in OUTPUT_NAMES if name not in outputs]
        if missing:
            raise ModelFormatError(
                f"{where}: the graph lacks output(s) {missing}; it has {sorted(outputs)}"
            )
        frames = inputs[0]
        shape = list(frames.shape)
        if self._images():
            expected = [None, *self.metadata["image_shape"]]
            layout = "(batch, channels, height, width)"
        else:
            length = None if self.metadata["dynamic_length"] else self.frame
            expected = [None, length, self.n_channels_]
            layout = "(batch, frame, channels)"
        if frames.type != "tensor(float)" or len(shape) != len(expected):
            raise ModelFormatError(
                f"{where}: input {INPUT_NAME!r} is {frames.type} of shape {shape}, expected "
                f"float32 {layout}"
            )
        for axis, (have, want) in enumerate(zip(shape, expected, strict=True)):
            if want is not None and have != want:
                raise ModelFormatError(
                    f"{where}: input {INPUT_NAME!r} has shape {shape}, but the metadata says "
                    f"axis {axis} is {want}"
                )

    # ------------------------------------------------------------------ properties
    def _images(self) -> bool:
        return self.state_.input_kind == "image"

    @property
    def channels_(self) -> list[str]:
        return list(self.state_.channels)

    @property
    def n_channels_(self) -> int:
        return len(self.state_.channels)

    @property
    def frame(self) -> int:
        return self.state_.frame

    @property
    def step(self) -> int:
        return self.state_.step

    @property
    def threshold_(self) -> float:
        return self.state_.threshold

    def __repr__(self) -> str:
        m = self.metadata
        return (
            f"OnnxDetector({str(self.path)!r}, model={m['model']!r}, frame={m['frame']}, "
            f"channels={m['channels']!r})"
        )

    # ------------------------------------------------------------------ scoring
    def score_frames(self, frames: Any) -> dict[str, np.ndarray]:
        """Run the graph on raw frames ``(batch, length, channels)``.

        ``length`` must be the model's frame unless the model takes any length (conv1d). An
        image model takes raw images ``(batch, channels, height, width)``; its outputs are per
        pixel (``timestep_error`` ``(B, H, W)``) and per image (``window_score``).

        Returns
        -------
        dict
            ``reconstruction`` (B, L, C) in raw units, ``timestep_error`` (B, L),
            ``channel_error`` (B, L, C) and ``window_score`` (B,), all normalised so that 1.0
            is the alarm line.
        """
        x = self._check_frames(frames)
        outputs = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: x})
        return dict(zip(OUTPUT_NAMES, outputs, strict=True))

    def _check_frames(self, frames: Any) -> np.ndarray:
        if self._images():
            return as_images(frames, shape=tuple(self.metadata["image_shape"]), source="frames")
        try:
            x = np.asarray(frames, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"frames must be numeric (batch, frame, channels) data: {exc}"
            ) from None
        length = "length" if self.metadata["dynamic_length"] else self.frame
        expected = f"(batch, {length}, {self.n_channels_})"
        if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 1 or x.shape[2] != self.n_channels_:
            raise DataError(f"frames have shape {x.shape}, expected {expected}")
        if not self.metadata["dynamic_length"] and x.shape[1] != self.frame:
            raise DataError(f"frames have shape {x.shape}, expected {expected}")
        if not np.isfinite(x).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
            raise DataError(f"frames hold a non-finite value at index {index}")
        return np.ascontiguousarray(x)

    # the StreamDetector surface: the session and the file's metadata
    def _runner(self, reconstruction: bool = False) -> RunFn:
        names = ["channel_error", "reconstruction"] if reconstruction else ["channel_error"]

        def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            out = self.session.run(names, {INPUT_NAME: batch})
            return out[0], (out[1] if reconstruction else None)

        return run

    def _scoring_spec(self) -> ScoringSpec:
        m = self.metadata
        if m["scoring"] == "convolutional":
            return ScoringSpec(
                "convolutional",
                self.frame,
                self.step,
                chunk=m["chunk"],
                stride=m["total_stride"],
                halo=m["halo"],
                power=self.state_.combine_power,
                centred=self.state_.centred_smoothing,
                rank=self.state_.rank_smoothing,
            )
        return ScoringSpec(
            m["scoring"],
            self.frame,
            self.step,
            m["fold"],
            self.batch_size,
            power=self.state_.combine_power,
            centred=self.state_.centred_smoothing,
            rank=self.state_.rank_smoothing,
        )

    def _stream(self, X: Any) -> Stream:
        if self._images():
            raise DataError("this model was fitted on images; give (N, H, W) or (N, C, H, W)")
        return stream_for_model(X, self.channels_, owner=type(self).__name__)

    def _image_scores(
        self, X: Any, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        images = as_images(X, shape=tuple(self.metadata["image_shape"]))
        names = ["timestep_error", "reconstruction"] if reconstruction else ["timestep_error"]

        def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            out = self.session.run(names, {INPUT_NAME: batch})
            return out[0], (out[1] if reconstruction else None)

        return score_image_batches(run, images, batch_size=self.batch_size)
