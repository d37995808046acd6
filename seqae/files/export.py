"""Export a fitted Detector to one self-contained ONNX file.

The exported graph is the Detector's own :class:`~seqae.models.head.ScoringHead`: raw, unscaled
frames ``(batch, frame, channels)`` float32 in; the scaling, the autoencoder and the error
computation inside; four outputs, all divided by the fitted threshold (1.0 is the alarm line,
higher = more anomalous), on the same scale as :meth:`seqae.Detector.score_samples`:

- ``reconstruction`` ``(batch, frame, channels)``, in the data's units,
- ``timestep_error`` ``(batch, frame)``,
- ``channel_error`` ``(batch, frame, channels)`` (sums over channels to ``timestep_error``),
- ``window_score`` ``(batch,)``, the mean of ``timestep_error`` over the frame.

The batch axis is always dynamic; the length axis too when the model is fully convolutional
(conv1d), so a service can score a whole stream in one call. A detector fitted on images takes
raw images ``(batch, channels, height, width)`` instead, and the same four outputs are per
image: ``reconstruction`` ``(batch, C, H, W)``, ``timestep_error`` the per-pixel error
``(batch, H, W)``, ``channel_error`` ``(batch, C, H, W)`` and ``window_score`` the image's score
``(batch,)``. A detector with ``anomaly_score="elbo"`` exports its ELBO head: the outputs
then hold the negative ELBO (the KL term spread over the values) and the metadata says
``anomaly_score: "elbo"`` with its ``beta``. Everything else the Detector knows
goes into the file's ``metadata_props`` (see :mod:`seqae.files.runtime`, which reads it back),
and the
weights are embedded, so the ``.onnx`` file is all an edge service needs.

Exporter: ``torch.onnx.export(..., dynamo=True)`` (needs ``onnxscript``), opset 18 by default:
the lowest opset that exporter emits, read by onnxruntime 1.14 and later.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from ..errors import ModelFormatError, NotFittedError, ParameterError
from ..models.head import ScoringHead, convolutional_halo
from ..scoring.core import CHUNK
from .persistence import atomic_write_bytes
from .runtime import (
    DIGEST_KEY,
    INPUT_NAME,
    ONNX_FORMAT,
    OUTPUT_NAMES,
    content_digest,
    encode_metadata,
)
from .state import FittedState

__all__ = ["OPSET", "export_onnx"]

#: Default ONNX opset (the dynamo exporter's lowest; onnxruntime >= 1.14 runs it).
OPSET = 18
#: Largest relative difference between onnxruntime and torch that :func:`export_onnx` accepts.
TOLERANCE = 1e-5
_FRAME_OUTPUTS = ("reconstruction", "timestep_error", "channel_error")


def export_onnx(
    detector: Any,
    path: str | os.PathLike,
    *,
    opset: int = OPSET,
    quantize: bool = False,
    verify: bool = True,
) -> Path:
    """Export a fitted :class:`~seqae.Detector` to one self-contained ``.onnx`` file.

    Parameters
    ----------
    detector : Detector
        A fitted (or loaded) sequence detector.
    path : str or os.PathLike
        Where to write; must end in ``.onnx``. Written atomically, weights embedded (no side
        ``.onnx.data`` file).
    opset : int, default 18
        ONNX opset of the graph (18 or higher).
    quantize : bool, default False
        Quantise weights to int8 (onnxruntime's dynamic quantisation): a smaller file, scores
        close to but not equal to the Detector's. Recorded in the metadata as ``quantized``.
    verify : bool, default True
        Before writing, run the graph in onnxruntime on random frames (several lengths when
        the length is dynamic) and compare with torch; refuse to write when a float graph
        differs by more than 1e-5 relative.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    NotFittedError
        The detector is not fitted.
    ParameterError
        A bad ``path`` or ``opset``, or a model family this exporter does not handle.
    ModelFormatError
        The exporter failed, or the exported graph does not score like the Detector.

    Examples
    --------
    >>> import os, tempfile
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=1500, n_channels=3, random_state=0)
    >>> det = Detector(frame=32, epochs=1, random_state=0).fit(stream.values[:1000])
    >>> export_onnx(det, os.path.join(tempfile.mkdtemp(), "model.onnx")).name
    'model.onnx'
    """
    if not hasattr(detector, "model_"):
        raise NotFittedError("this Detector is not fitted yet: call fit(X) or Detector.load first")
    path = _check_path(path)
    max_opset = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not OPSET <= opset <= max_opset:
        raise ParameterError(f"opset must be an integer in [{OPSET}, {max_opset}], got {opset!r}")
    state = detector.state_
    # The Detector's own scoring graph (scaler, weights, score kind and threshold inside), copied
    # to the CPU so the detector itself stays where it is.
    head = copy.deepcopy(detector.head_).cpu().eval()
    model = head.model
    images = state.input_kind == "image"
    dynamic = not images and bool(getattr(model, "fully_convolutional", False))
    shape = _sample_shape(state)

    proto = _export(head, shape, dynamic, opset)
    if quantize:
        proto = _quantize(proto)
    metadata = _metadata(state, model, dynamic, opset, quantize)
    for key, value in encode_metadata(metadata).items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = (
        f"seqae {model.name} anomaly detector for channels {state.channels}: raw frames in, "
        "reconstruction and errors out (1.0 = alarm line); see metadata_props seqae.*"
    )
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ModelFormatError(f"{path}: the exported graph is not valid ONNX: {exc}") from exc
    data = _with_digest(proto)
    if verify:
        _verify(data, head, state, dynamic, exact=not quantize, where=str(path))
    atomic_write_bytes(path, data)
    return path


def _with_digest(proto: onnx.ModelProto) -> bytes:
    """Serialize with a checksum of everything else in the file as the last metadata entry."""
    digest = content_digest(proto.SerializeToString())
    proto.metadata_props.add(key=DIGEST_KEY, value=json.dumps(digest))
    data = proto.SerializeToString()
    if content_digest(data) != digest:  # guards the assumption that serialization is stable
        raise ModelFormatError("the ONNX serialization changed while adding its checksum")
    return data


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix != ".onnx":
        raise ParameterError(f"the ONNX file name must end in .onnx, got {str(path)!r}")
    if path.is_dir():
        raise ParameterError(f"cannot export to {path}: it is a folder")
    if not path.parent.is_dir():
        raise ParameterError(f"cannot export to {path}: folder {path.parent} does not exist")
    return path


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Keep the exporter's warnings and its "torchvision is not installed" log lines off the
    caller's terminal (the library never prints); the logger's level is restored after."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _sample_shape(state: FittedState) -> tuple[int, ...]:
    """One sample's shape: ``(frame, channels)``, or ``(C, H, W)`` for an image detector."""
    if state.input_kind == "image":
        return tuple(int(d) for d in state.image_shape or ())
    return (state.frame, len(state.channels))


def _example(scaler: dict[str, Any], n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random samples ``(n, *shape)`` in the data's units (a numpy RNG: torch's global RNG
    stays untouched). ``shape`` is ``(length, C)``, or ``(C, H, W)`` for images."""
    center = np.asarray(scaler["center"], dtype=np.float64)
    scale = np.asarray(scaler["scale"], dtype=np.float64)
    if len(shape) == 3:  # images: channels first
        center, scale = center[:, None, None], scale[:, None, None]
    noise = np.random.default_rng(seed).standard_normal((n, *shape))
    return (center + scale * noise).astype(np.float32)


def _export(
    head: ScoringHead, shape: tuple[int, ...], dynamic: bool, opset: int
) -> onnx.ModelProto:
    axes: dict[int, Any] = {0: torch.export.Dim("batch")}
    if dynamic:
        # A plain Dim: a multiple-of-stride Dim exports but fails in onnxruntime at other lengths.
        axes[1] = torch.export.Dim("length")
    center = head.center.numpy().astype(np.float64).tolist()
    scale = head.scale.numpy().astype(np.float64).tolist()
    example = _example({"center": center, "scale": scale}, 2, shape)
    try:
        with _quiet_exporter(), torch.inference_mode(False):
            program = torch.onnx.export(
                head,
                (torch.from_numpy(example),),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=(axes,),
                opset_version=opset,
                external_data=False,
                optimize=True,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many internal error types
        raise ModelFormatError(
            f"torch could not export model {head.model.name!r} to ONNX: {type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        ) from exc
    proto = program.model_proto
    # Intermediate shape annotations may carry the example's static sizes; onnxruntime infers
    # shapes itself, so drop them, and name the output length axes plainly.
    del proto.graph.value_info[:]
    for output in proto.graph.output:
        dims = output.type.tensor_type.shape.dim
        dims[0].dim_param = "batch"
        if dynamic and output.name in _FRAME_OUTPUTS:
            dims[1].dim_param = "length"
    return proto


def _quantize(proto: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser warns through logging.warning(), which would configure the root logger
    # (logging.basicConfig) of a process that has not: give the root a handler meanwhile.
    root = logging.getLogger()
    quiet = logging.NullHandler() if not root.handlers else None
    if quiet is not None:
        root.addHandler(quiet)
    try:
        with tempfile.TemporaryDirectory() as tmp, _quiet_exporter():
            src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
            src.write_bytes(proto.SerializeToString())
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
            return onnx.load(str(dst))
    finally:
        if quiet is not None:
            root.removeHandler(quiet)


def _metadata(
    state: FittedState, model: Any, dynamic: bool, opset: int, quantized: bool
) -> dict[str, Any]:
    """The file's metadata: the fitted state, plus what is true of this graph only."""
    fully_conv = bool(getattr(model, "fully_convolutional", False))
    return {
        "format": ONNX_FORMAT,
        **state.to_dict(),
        "exporter": "torch.onnx.export(dynamo=True)",
        "opset": opset,
        "quantized": quantized,
        "dynamic_length": dynamic,
        "total_stride": int(model.total_stride) if fully_conv else None,
        "halo": convolutional_halo(model) if fully_conv else None,
        "chunk": CHUNK if fully_conv else None,
    }


def _verify(
    data: bytes,
    head: ScoringHead,
    state: FittedState,
    dynamic: bool,
    *,
    exact: bool,
    where: str,
) -> None:
    """Score random frames in onnxruntime and in torch; raise when they disagree."""
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    shape = _sample_shape(state)
    if len(shape) == 3:  # images: batch sizes 1, 3 and 7
        inputs = [_example(state.scaler, n, shape, seed=n) for n in (1, 3, 7)]
    else:
        frame, n_channels = shape
        lengths = [frame, 3 * frame + 5, 1] if dynamic else [frame]
        inputs = [
            _example(state.scaler, 3, (length, n_channels), seed=i + 1)
            for i, length in enumerate(lengths)
        ]
    for x in inputs:
        got = session.run(list(OUTPUT_NAMES), {INPUT_NAME: x})
        with torch.inference_mode():
            want = [t.numpy() for t in head(torch.from_numpy(x))]
        for name, g, w in zip(OUTPUT_NAMES, got, want, strict=True):
            if g.shape != w.shape or not np.isfinite(g).all():
                raise ModelFormatError(
                    f"{where}: the exported {name!r} has shape {g.shape} (finite: "
                    f"{bool(np.isfinite(g).all())}) for input {x.shape}, torch gives {w.shape}"
                )
            scale = max(float(np.abs(w).max()), np.finfo(np.float32).tiny)
            diff = float(np.abs(g - w).max()) / scale
            if exact and diff > TOLERANCE:
                raise ModelFormatError(
                    f"{where}: the exported graph's {name!r} differs from torch by {diff:.2e} "
                    f"(relative) for input {x.shape}; not written"
                )
