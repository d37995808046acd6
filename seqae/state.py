"""The fitted state a model file carries, and the one check every loader runs on it.

A saved model (``config.json`` / the ``.safetensors`` header, read by
:meth:`seqae.Detector.load`) and an exported ``.onnx`` file (its ``seqae.*`` metadata, read by
:class:`seqae.runtime.OnnxDetector`) both record the channels, frame, step, scaler numbers,
threshold and channel weights the model was fitted with. A file can be edited or written by
a buggy tool, so :func:`check_fitted_state` holds every field to its type and range, to the
other fields and to what the weights expect, and refuses a file that lies with a
:class:`~seqae.errors.ModelFormatError` naming the field and the file. Fields it does not
know are left alone (newer seqae versions may add some).

Pure Python and numpy only: the ONNX runtime uses it without torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .errors import ModelFormatError

__all__ = ["check_fitted_state", "check_saved_config"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_fitted_state(
    state: Mapping[str, Any],
    where: str,
    *,
    n_inputs: int | None = None,
    model_frame: int | None = None,
) -> None:
    """Refuse a fitted state whose fields contradict their types, each other or the weights.

    Parameters
    ----------
    state : mapping
        The fields of a saved configuration or of ONNX metadata: ``channels``, ``threshold``,
        ``scaler`` (``center``, ``scale``), ``frame``, ``step``, optional ``channel_weights``,
        ``params`` (the constructor parameters; their ``frame`` / ``step`` must agree with the
        top-level ones), ``input_kind`` or ``kind`` (``"image"`` skips the frame checks).
    where : str
        The file, named in every message.
    n_inputs : int, optional
        The number of channels the weights take, when the caller knows it.
    model_frame : int, optional
        The frame the network was built for (windowed models), when the caller knows it.

    Raises
    ------
    ModelFormatError
        ``"<where>: field 'threshold' must be a finite number > 0, got -1"`` and the like.
    """

    def bad(name: str, expected: str, value: Any) -> ModelFormatError:
        shown = repr(value)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        return ModelFormatError(
            f"{where}: field {name!r} {expected}, got {shown}; the model file was edited or "
            "damaged: re-save or re-export the model"
        )

    channels = state.get("channels")
    if not isinstance(channels, list) or not channels:
        raise bad("channels", "must be a non-empty list of names", channels)
    if not all(isinstance(c, str) and c for c in channels):
        raise bad("channels", "must hold non-empty text names", channels)
    twice = sorted({c for c in channels if channels.count(c) > 1})
    if twice:
        raise bad("channels", f"must name each channel once ({twice[0]!r} twice)", channels)
    n = len(channels)
    if n_inputs is not None and n != n_inputs:
        raise bad("channels", f"must hold {n_inputs} names (the weights take {n_inputs})", channels)

    threshold = state.get("threshold")
    if not _is_number(threshold) or not math.isfinite(threshold) or threshold <= 0:
        raise bad("threshold", "must be a finite number > 0", threshold)

    scaler = state.get("scaler")
    if not isinstance(scaler, Mapping):
        raise bad("scaler", "must be an object with 'center' and 'scale'", scaler)
    for part in ("center", "scale"):
        values = scaler.get(part)
        name = f"scaler.{part}"
        if not isinstance(values, list) or len(values) != n:
            raise bad(name, f"must hold {n} numbers (one per channel)", values)
        if not all(_is_number(v) and math.isfinite(v) for v in values):
            raise bad(name, "must hold finite numbers", values)
        if part == "scale" and not all(v > 0 for v in values):
            raise bad(name, "must hold numbers > 0", values)

    weights = state.get("channel_weights")
    if weights is not None:
        if not isinstance(weights, list) or len(weights) != n:
            raise bad("channel_weights", f"must be null or {n} numbers (one per channel)", weights)
        if not all(_is_number(w) and math.isfinite(w) and w >= 0 for w in weights):
            raise bad("channel_weights", "must hold finite numbers >= 0", weights)

    # The drift-aware line (seqae.baseline): both fields or neither (files before 0.2 lack both).
    base, window = state.get("drift_base"), state.get("drift_window")
    if (base is None) != (window is None):
        raise bad("drift_window", "and 'drift_base' must be both null or both set", window)
    if base is not None:
        if not _is_number(base) or not math.isfinite(base) or base <= 0:
            raise bad("drift_base", "must be null or a finite number > 0", base)
        if not _is_int(window) or window < 16:
            raise bad("drift_window", "must be null or an integer >= 16", window)

    if "image" in (state.get("input_kind"), state.get("kind")):
        return
    frame, step = state.get("frame"), state.get("step")
    if not _is_int(frame) or frame < 1:
        raise bad("frame", "must be an integer >= 1", frame)
    if not _is_int(step) or not 1 <= step <= frame:
        raise bad("step", f"must be an integer in [1, frame={frame}]", step)
    params = state.get("params")
    if isinstance(params, Mapping):
        # The top-level fields are what info shows and what scoring uses: one truth.
        for name, value in (("frame", frame), ("step", step)):
            if name in params and params[name] != value:
                raise bad(name, f"must equal params.{name} ({params[name]!r})", value)
    if model_frame is not None and frame != model_frame:
        raise bad("frame", f"must equal the frame the network was built for ({model_frame})", frame)


def check_saved_config(config: Mapping[str, Any], where: str) -> None:
    """:func:`check_fitted_state` for a saved model's configuration, held to its network.

    The network's ``model.input_shape`` (``[frame, channels]`` for sequences, ``[channels,
    height, width]`` for images) fixes the channel count and the frame the file may claim.
    """
    spec = config.get("model")
    shape = spec.get("input_shape") if isinstance(spec, Mapping) else None
    if not isinstance(shape, list) or not shape or not all(_is_int(d) and d > 0 for d in shape):
        raise ModelFormatError(
            f"{where}: field 'model.input_shape' must be a list of integers > 0, got {shape!r}"
        )
    image = config.get("input_kind") == "image"
    check_fitted_state(
        config,
        where,
        n_inputs=shape[0] if image else shape[-1],
        model_frame=None if image or len(shape) != 2 else shape[0],
    )
