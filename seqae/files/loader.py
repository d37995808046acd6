"""The one model loader: a path in, a fitted :class:`seqae.Detector` or
:class:`seqae.OnnxDetector` out.

Used by :func:`seqae.scale.streaming.detect_file`, the Dask and Spark tasks
(:func:`seqae.scale.distributed.load_model` keeps what it loads per process) and the CLI. An
``.onnx`` file needs numpy and onnxruntime only; torch is imported only for a saved Detector.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ModelFormatError, ParameterError

__all__ = ["MODEL_SUFFIXES", "check_model_path", "load_detector"]

#: File names a model may have (a saved model may also be a folder).
MODEL_SUFFIXES = (".safetensors", ".onnx")


def check_model_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path, or a clear refusal when nothing is there or it cannot be a model
    (a CSV, say).

    Examples
    --------
    >>> check_model_path("sensors.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seqae.errors.ModelFormatError: sensors.csv: no such model file or folder
    """
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: no such model file or folder")
    if path.is_file() and path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelFormatError(
            f"{path}: not a seqae model; give a model folder or a .safetensors file "
            "(from seqae train) or an .onnx file (from seqae export)"
        )
    return path


def load_detector(model: Any, *, device: str | None = "cpu") -> Any:
    """A fitted detector as given, or loaded from the path of a saved model or an ``.onnx``
    file.

    Parameters
    ----------
    model : Detector, OnnxDetector, str or os.PathLike
        A fitted detector (returned as it is), a saved :class:`seqae.Detector` (folder or
        ``.safetensors``), or an exported ``.onnx`` file (an :class:`seqae.OnnxDetector`, no
        torch needed).
    device : str or None, default "cpu"
        Device of a saved Detector (None: the best available); ignored for ``.onnx``.

    Raises
    ------
    ModelFormatError
        The path does not exist or holds no model.
    ParameterError
        ``model`` is neither a detector nor a path.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from seqae import Detector
    >>> path = os.path.join(tempfile.mkdtemp(), "model")
    >>> det = Detector(model="dense", frame=8, epochs=1, random_state=0)
    >>> det.fit(np.random.default_rng(0).normal(size=(200, 2))).save(path)
    >>> type(load_detector(path)).__name__
    'Detector'
    """
    from ..scoring.core import StreamDetector

    if isinstance(model, StreamDetector):
        return model
    if not isinstance(model, (str, os.PathLike)):
        raise ParameterError(
            "detector must be a fitted Detector or OnnxDetector, or the path of a saved model "
            f"or an .onnx file, got {type(model).__name__}"
        )
    path = check_model_path(model)
    if path.suffix.lower() == ".onnx":
        from .runtime import OnnxDetector

        return OnnxDetector(path)
    from ..detector import Detector

    return Detector.load(path, device=device)
