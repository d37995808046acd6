"""Score with an exported ONNX model: numpy and onnxruntime only, no torch.

An edge service needs the ``.onnx`` file alone. The graph takes raw frames and contains the
scaling, the autoencoder and the error computation; everything else the Detector knows (channel
names and order, frame, step, fold rule, scoring path, anomaly score (reconstruction error or
negative ELBO: computed inside the graph), event rules, threshold, training
summary) travels in the file's ``metadata_props`` under keys ``seqae.<name>``, each value a JSON
text. :class:`OnnxDetector` reads them back and scores a stream through the same windowing,
folding and event code as :class:`seqae.Detector`, so both give the same scores and labels.
A model fitted on images takes ``(N, H, W)`` or ``(N, C, H, W)`` images and scores each image
(and each pixel), as :class:`seqae.Detector` does.

This module never imports torch (nor onnx): ``from seqae.runtime import OnnxDetector`` costs
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

from .base import RunFn, ScoringSpec, StreamDetector
from .errors import DataError, ModelFormatError, ParameterError
from .images import as_images, score_image_batches
from .results import DetectionResult
from .state import check_fitted_state
from .validation import Stream, stream_for_model

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
ONNX_FORMAT_VERSION = 1
METADATA_PREFIX = "seqae."
DIGEST_KEY = f"{METADATA_PREFIX}sha256"
INPUT_NAME = "frames"
OUTPUT_NAMES = ("reconstruction", "timestep_error", "channel_error", "window_score")

#: Metadata the runtime needs to score, with the JSON types each must have.
_REQUIRED: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "format_version": (int,),
    "sha256": (str,),
    "model": (str,),
    "kind": (str,),
    "channels": (list,),
    "frame": (int,),
    "step": (int,),
    "scaler": (dict,),
    "threshold": (int, float),
    "fold": (str,),
    "scoring": (str,),
    "dynamic_length": (bool,),
    "min_event_length": (int,),
    "merge_gap": (int,),
}
_CONVOLUTIONAL: dict[str, tuple[type, ...]] = {
    "total_stride": (int,),
    "halo": (int,),
    "chunk": (int,),
}

#: The order :attr:`OnnxDetector.metadata` lists its entries in (others follow, by name).
_ORDER = (
    "format",
    "format_version",
    "seqae_version",
    "model",
    "kind",
    "image_shape",
    "channels",
    "frame",
    "step",
    "scaler",
    "threshold",
    "fold",
    "scoring",
    "anomaly_score",
    "beta",
    "channel_weights",
    "min_event_length",
    "merge_gap",
    "dynamic_length",
    "total_stride",
    "halo",
    "chunk",
    "quantized",
    "opset",
    "exporter",
    "torch_version",
    "created",
    "model_spec",
    "params",
    "training_summary",
)


# ---------------------------------------------------------------------------------- metadata
def encode_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    """``{name: value}`` to ONNX ``metadata_props`` entries ``{"seqae.<name>": json}``."""
    return {
        f"{METADATA_PREFIX}{key}": json.dumps(value, allow_nan=False, separators=(",", ":"))
        for key, value in metadata.items()
    }


def decode_metadata(props: dict[str, str], where: str = "model") -> dict[str, Any]:
    """Read back :func:`encode_metadata`'s entries and check what scoring needs.

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
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFormatError(f"{where}: metadata has no integer format_version ({version!r})")
    if version > ONNX_FORMAT_VERSION:
        raise ModelFormatError(
            f"{where}: written with seqae ONNX format {version}, this seqae reads up to "
            f"{ONNX_FORMAT_VERSION}; upgrade seqae (the file says seqae "
            f"{meta.get('seqae_version', 'unknown')})"
        )
    needed = dict(_REQUIRED)
    if meta.get("scoring") == "convolutional":
        needed.update(_CONVOLUTIONAL)
    for name, types in needed.items():
        if name not in meta:
            raise ModelFormatError(f"{where}: metadata {name!r} is missing")
        value = meta[name]
        # JSON booleans are Python bools, a subclass of int: only a bool field takes them.
        if isinstance(value, bool) != (types == (bool,)) or not isinstance(value, types):
            raise ModelFormatError(
                f"{where}: metadata {name!r} should be {types[0].__name__}, got {value!r}"
            )
    _check_consistent(meta, where)
    rank = {name: i for i, name in enumerate(_ORDER)}
    return dict(sorted(meta.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def _check_consistent(meta: dict[str, Any], where: str) -> None:
    def bad(what: str) -> ModelFormatError:
        return ModelFormatError(f"{where}: inconsistent metadata: {what}")

    check_fitted_state(meta, where)
    n = len(meta["channels"])
    if meta["kind"] not in ("sequence", "image"):
        raise bad(f"kind must be 'sequence' or 'image', got {meta['kind']!r}")
    if meta["kind"] == "image":
        shape = meta.get("image_shape")
        valid = isinstance(shape, list) and len(shape) == 3
        if not valid or not all(type(d) is int and d >= 1 for d in shape) or shape[0] != n:
            raise bad(f"image_shape must be [{n}, height, width] (channels first), got {shape!r}")
        if meta["scoring"] != "image":
            raise bad(f"an image model scores per image (scoring 'image'), got {meta['scoring']!r}")
    if meta["fold"] not in ("mean", "max", "median"):
        raise bad(f"fold must be 'mean', 'max' or 'median', got {meta['fold']!r}")
    if meta["kind"] == "sequence" and meta["scoring"] not in ("windowed", "convolutional"):
        raise bad(f"scoring must be 'windowed' or 'convolutional', got {meta['scoring']!r}")
    if meta["scoring"] == "convolutional":
        if not meta["dynamic_length"]:
            raise bad("convolutional scoring needs a dynamic length axis")
        if meta["total_stride"] < 1 or meta["halo"] < 0 or meta["chunk"] < 1:
            raise bad(
                f"total_stride={meta['total_stride']}, halo={meta['halo']}, "
                f"chunk={meta['chunk']} (need >= 1, >= 0, >= 1)"
            )
    if meta["min_event_length"] < 1 or meta["merge_gap"] < 0:
        raise bad(f"min_event_length={meta['min_event_length']}, merge_gap={meta['merge_gap']}")


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
            "seqae.runtime needs onnxruntime: pip install onnxruntime (CPU) or onnxruntime-gpu"
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
    metadata : dict
        Everything the file records (see :mod:`seqae.runtime`): seqae version, model, channels,
        frame, step, scaler, threshold, fold, scoring, training summary, ...
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
    >>> from seqae.runtime import OnnxDetector
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
        self.metadata = decode_metadata(props, str(self.path))
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
        return self.metadata["kind"] == "image"

    @property
    def channels_(self) -> list[str]:
        return list(self.metadata["channels"])

    @property
    def n_channels_(self) -> int:
        return len(self.metadata["channels"])

    @property
    def frame(self) -> int:
        return int(self.metadata["frame"])

    @property
    def step(self) -> int:
        return int(self.metadata["step"])

    @property
    def threshold_(self) -> float:
        return float(self.metadata["threshold"])

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
            )
        return ScoringSpec(m["scoring"], self.frame, self.step, m["fold"], self.batch_size)

    def _event_rules(self) -> tuple[int, int]:
        return int(self.metadata["min_event_length"]), int(self.metadata["merge_gap"])

    def _drift_params(self) -> tuple[float | None, int | None]:
        return self.metadata.get("drift_base"), self.metadata.get("drift_window")

    def _stream(self, X: Any) -> Stream:
        if self._images():
            raise DataError("this model was fitted on images; give (N, H, W) or (N, C, H, W)")
        return stream_for_model(X, self.channels_)

    def _image_scores(
        self, X: Any, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        images = as_images(X, shape=tuple(self.metadata["image_shape"]))
        names = ["timestep_error", "reconstruction"] if reconstruction else ["timestep_error"]

        def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            out = self.session.run(names, {INPUT_NAME: batch})
            return out[0], (out[1] if reconstruction else None)

        return score_image_batches(run, images, batch_size=self.batch_size)
