"""What the commands read: standard input made a file, read options from the flags, saved models.

Examples
--------
>>> read_options({"time_column": "none", "label_column": "anomaly"}).label_column
'anomaly'
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from seqae.errors import ModelFormatError
from seqae.scale.filescoring import ReadOptions

from .options import STDIO


def read_options(params: dict[str, Any]) -> ReadOptions:
    """The reader's options from ``--time-column``, ``--columns``, ``--label-column``, ..."""
    time_column, label = params.get("time_column", "auto"), params.get("label_column", "auto")
    return ReadOptions(
        time_column=None if time_column.lower() == "none" else time_column,
        columns=params.get("columns"),
        label_column=None if label.lower() == "none" else label,
        nan_policy=params.get("nan_policy", "error"),
    )


def local(ctx: click.Context, path: Path, options: ReadOptions | None = None) -> Path:
    """``path`` as a regular file: standard input (``-``), a pipe or a process substitution is
    copied to a temporary file first (removed when the command ends), as the reader goes over a
    file twice (its format, then its rows)."""
    if str(path) != STDIO and (not path.exists() or path.is_file() or path.is_dir()):
        return path
    folder = Path(tempfile.mkdtemp(prefix="seqae-input-"))
    ctx.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    copy = folder / "input"
    with open(copy, "wb") as out:
        if str(path) == STDIO:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        else:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
    if options is not None:
        options.names[str(copy)] = "<stdin>" if str(path) == STDIO else str(path)
    return copy


def is_onnx(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def check_model_path(path: str | os.PathLike) -> None:
    """Refuse, with a clear message, a path that cannot be a model (a CSV, say)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() not in (".safetensors", ".onnx"):
        raise ModelFormatError(
            f"{path}: not a seqae model; give a model folder or a .safetensors file "
            "(from seqae train) or an .onnx file (from seqae export)"
        )


def load_model(path: str | os.PathLike, device: str | None = None) -> Any:
    """A saved Detector (folder or ``.safetensors``) or an exported ``.onnx`` OnnxDetector."""
    from seqae.files.loader import load_detector

    check_model_path(path)
    return load_detector(path, device=device or "cpu")


def describe_images(data: Any) -> str:
    """``"1,797 images of 1×8×8"``."""
    shape = data.images.shape[1:] if data.images.ndim == 4 else (1, *data.images.shape[1:])
    return f"{len(data.images):,} images of {'×'.join(map(str, shape))}"
