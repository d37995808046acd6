"""Score with an exported ONNX model: numpy and onnxruntime only, no torch.

An edge service needs the ``.onnx`` file alone. The graph takes raw frames and contains the
scaling, the autoencoder and the error computation; everything else the Detector knows, its
fitted state (:class:`seqae.state.FittedState`: channel names and order, frame, step, fold rule,
scoring path, anomaly score (reconstruction error or negative ELBO: computed inside the graph),
event rules, threshold, training record), plus a few facts about the graph, travels in the
file's ``metadata_props`` under keys ``seqae.<name>``, each value a JSON text.
:class:`OnnxDetector` reads them back and scores a stream through the same windowing, folding
and event code as :class:`seqae.Detector`, so both give the same scores and labels.
A model fitted on images takes ``(N, H, W)`` or ``(N, C, H, W)`` images and scores each image
(and each pixel), as :class:`seqae.Detector` does.

This module never imports torch (nor onnx): ``from seqae.runtime import OnnxDetector`` costs
numpy and, on first use, onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .baseline import DriftBaseline, apply_baseline
from .errors import DataError, ModelFormatError, ParameterError
from .events import postprocess_labels
from .images import ImageDetectionResult, as_images, score_image_batches
from .results import DetectionResult
from .state import STATE_VERSION, FittedState, upgrade
from .validation import stream_for_model
from .windowing import FoldAccumulator, FoldRule, frame_starts, gather_windows

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
    "score_chunked",
    "score_folded",
]

ONNX_FORMAT = "seqae-onnx"
#: The fitted state's version (one number for saved models and ONNX files).
ONNX_FORMAT_VERSION = STATE_VERSION
METADATA_PREFIX = "seqae."
DIGEST_KEY = f"{METADATA_PREFIX}sha256"
INPUT_NAME = "frames"
OUTPUT_NAMES = ("reconstruction", "timestep_error", "channel_error", "window_score")

#: What the file's metadata adds to the fitted state (:class:`seqae.state.FittedState`): facts
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

#: ``run(frames) -> (channel_error, reconstruction or None)`` for a ``(B, L, C)`` float32 batch.
RunFn = Callable[[np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]


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
    the current layout (:meth:`seqae.state.FittedState.from_dict`), plus the graph's facts.

    Returns
    -------
    state : FittedState
    metadata : dict
        ``format``, the state's fields (:meth:`~seqae.state.FittedState.to_dict`), then the
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


# ---------------------------------------------------------------------------------- scoring
def score_folded(
    run: RunFn,
    x: np.ndarray,
    frame: int,
    step: int,
    *,
    how: FoldRule = "mean",
    batch_size: int = 1024,
    reconstruction: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Score a ``(T, C)`` stream frame by frame and fold the errors back to timesteps.

    Frames are gathered batch by batch from the stream, so memory stays at one batch plus the
    result. Returns ``(scores (T,), contributions (T, C), reconstruction (T, C) or None)``.
    """
    n, n_channels = x.shape
    starts = frame_starts(n, frame, step)
    errors = FoldAccumulator(n, frame, step, how, (n_channels,))
    recon_acc = FoldAccumulator(n, frame, step, how, (n_channels,)) if reconstruction else None
    for first in range(0, len(starts), batch_size):
        channel_error, recon = run(gather_windows(x, starts[first : first + batch_size], frame))
        errors.add(first, channel_error)
        if recon_acc is not None:
            recon_acc.add(first, recon)
    contributions = errors.result()
    recon_out = None if recon_acc is None else recon_acc.result()
    return contributions.sum(axis=1), contributions, recon_out


def score_chunked(
    run: RunFn,
    x: np.ndarray,
    *,
    chunk: int,
    stride: int,
    halo: int,
    reconstruction: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Score a ``(T, C)`` stream in one fully convolutional pass, chunk by chunk.

    Chunk starts are multiples of the model's total ``stride`` and each chunk carries ``halo``
    timesteps of context on both sides, so the result equals one pass over the whole stream.
    Returns ``(scores (T,), contributions (T, C), reconstruction (T, C) or None)``.
    """
    n, n_channels = x.shape
    chunk = max(stride, chunk // stride * stride)
    contributions = np.empty((n, n_channels), dtype=np.float64)
    recon_out = np.empty((n, n_channels), dtype=np.float32) if reconstruction else None
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        lo, hi = max(0, start - halo), min(n, stop + halo)
        channel_error, recon = run(np.ascontiguousarray(x[None, lo:hi]))
        keep = slice(start - lo, stop - lo)
        contributions[start:stop] = channel_error[0, keep]
        if recon_out is not None:
            recon_out[start:stop] = recon[0, keep]
    return contributions.sum(axis=1), contributions, recon_out


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


class OnnxDetector:
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
        The fitted state the file carries (:class:`seqae.state.FittedState`), in the current
        layout whatever seqae version wrote the file.
    metadata : dict
        Everything the file records (see :mod:`seqae.runtime`): the state's fields (version,
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
        if self._images:
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
    @property
    def _images(self) -> bool:
        return self.state_.input_kind == "image"

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
        if self._images:
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

    def _run(self, reconstruction: bool) -> RunFn:
        names = ["channel_error", "reconstruction"] if reconstruction else ["channel_error"]

        def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            out = self.session.run(names, {INPUT_NAME: batch})
            return out[0], (out[1] if reconstruction else None)

        return run

    def _score(
        self, values: np.ndarray, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        m = self.metadata
        run = self._run(reconstruction)
        if m["scoring"] == "convolutional":
            return score_chunked(
                run,
                values,
                chunk=m["chunk"],
                stride=m["total_stride"],
                halo=m["halo"],
                reconstruction=reconstruction,
            )
        if len(values) < self.frame:
            raise DataError(
                f"the data has {len(values)} timesteps, fewer than one frame of {self.frame}"
            )
        return score_folded(
            run,
            values,
            self.frame,
            self.step,
            how=m["fold"],
            batch_size=self.batch_size,
            reconstruction=reconstruction,
        )

    def _values(self, X: Any) -> Any:
        if self._images:
            raise DataError("this model was fitted on images; give (N, H, W) or (N, C, H, W)")
        return stream_for_model(X, self.channels_)

    def _score_images(
        self, X: Any, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        images = as_images(X, shape=tuple(self.metadata["image_shape"]))
        names = ["timestep_error", "reconstruction"] if reconstruction else ["timestep_error"]

        def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            out = self.session.run(names, {INPUT_NAME: batch})
            return out[0], (out[1] if reconstruction else None)

        return score_image_batches(run, images, batch_size=self.batch_size)

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly score per timestep, normalised so 1.0 is the alarm line (higher = worse).

        ``X`` is a ``(T, C)`` array in the model's channel order, or named data (a DataFrame,
        SensorData) matched by channel name. An image model takes images and scores each one.
        """
        if self._images:
            return self._score_images(X)[0]
        return self._score_stream(self._values(X).values)[0]

    def _drift(self) -> DriftBaseline | None:
        """A fresh drift baseline for one stream, as the Detector's (None when off)."""
        base, window = self.metadata.get("drift_base"), self.metadata.get("drift_window")
        if base is None or not window or self._images:
            return None
        return DriftBaseline(base / self.threshold_, window)

    def _score_stream(
        self, values: np.ndarray, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The whole stream's scores: the network's, then drift-adjusted as in the Detector."""
        scores, contributions, recon = self._score(values, reconstruction)
        scores, contributions = apply_baseline(self._drift(), scores, contributions)
        return scores, contributions, recon

    def predict(self, X: Any) -> np.ndarray:
        """1 for anomalous timesteps, 0 otherwise (int8), after event post-processing."""
        return self._labels(self.score_samples(X))

    def _labels(self, scores: np.ndarray) -> np.ndarray:
        labels = (scores >= 1.0).astype(np.int8)
        if self._images:  # independent images: no event rules
            return labels
        return postprocess_labels(
            labels,
            min_length=self.metadata["min_event_length"],
            merge_gap=self.metadata["merge_gap"],
        ).astype(np.int8)

    def detect(
        self, X: Any, *, reconstruction: bool = False, top_k: int = 3
    ) -> DetectionResult | ImageDetectionResult:
        """Scores, labels, per-channel contributions and events for one stream.

        An image model returns an :class:`~seqae.images.ImageDetectionResult` instead.

        Parameters
        ----------
        X : array-like, DataFrame or SensorData
            Data with the model's channels (named data is matched by name, in any order).
        reconstruction : bool, default False
            Also return the reconstructed (cleaned) signal.
        top_k : int, default 3
            Channels listed per event.
        """
        if self._images:
            scores, pixels, images = self._score_images(X, reconstruction)
            return ImageDetectionResult.build(
                scores,
                pixels,
                self._labels(scores),
                threshold=self.threshold_,
                reconstruction=images,
            )
        stream = self._values(X)
        scores, contributions, recon = self._score_stream(stream.values, reconstruction)
        return DetectionResult.build(
            scores,
            contributions,
            self._labels(scores),
            channels=self.channels_,
            threshold=self.threshold_,
            timestamps=stream.timestamps,
            reconstruction=recon,
            top_k=top_k,
        )
