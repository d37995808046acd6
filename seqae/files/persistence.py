"""Save and load models as JSON configuration plus safetensors weights. Nothing is unpickled.

A saved model is either

- a folder holding ``config.json`` and ``weights.safetensors``, or
- a single ``.safetensors`` file whose header metadata carries the same JSON configuration.

The configuration records the format version and a SHA-256 of the tensors, so a truncated,
corrupted or tampered file is refused with a :class:`~seqae.errors.ModelFormatError`, and so is
a file written by a newer format. Writes are atomic: a temporary file or folder is renamed
into place only once complete, so a failed save never leaves a half-written model behind.

Examples
--------
>>> import pathlib, tempfile
>>> import numpy as np
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
>>> _ = save_model_files(folder, {"model": "demo"}, {"w": np.ones((2, 3), np.float32)})
>>> sorted(p.name for p in folder.iterdir())
['config.json', 'weights.safetensors']
>>> config, tensors = load_model_files(folder)
>>> config["format"], config["format_version"] == FORMAT_VERSION, tensors["w"].shape
('seqae-model', True, (2, 3))
>>> one_file = save_model_files(folder.with_suffix(".safetensors"), {"model": "demo"}, tensors)
>>> load_model_files(one_file)[0]["weights_sha256"] == config["weights_sha256"]  # same weights
True
>>> text = (folder / "config.json").read_text().replace(config["weights_sha256"], "0" * 64)
>>> _ = (folder / "config.json").write_text(text)
>>> load_model_files(folder)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
seqae.errors.ModelFormatError: ...: the weights do not match the checksum in the configuration...
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError, ParameterError
from .atomic import atomic_path, atomic_write_bytes
from .state import STATE_VERSION, check_version

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "atomic_write_bytes",
    "atomic_write_text",
    "load_model_files",
    "save_model_files",
]

FORMAT_NAME = "seqae-model"
#: The fitted state's version (one number for saved models and ONNX files).
FORMAT_VERSION = STATE_VERSION
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
_META_KEY = "seqae_config"


def _safetensors() -> Any:
    """The safetensors package, imported on first use: reading an ONNX file's neighbours
    (``seqae info``, the loader) must not need the training extra."""
    import safetensors
    import safetensors.numpy

    return safetensors


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Text form of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def tensors_digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over tensor names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _is_single_file(path: Path) -> bool:
    return path.suffix == ".safetensors"


def save_model_files(
    path: str | os.PathLike, config: dict[str, Any], tensors: dict[str, np.ndarray]
) -> Path:
    """Write a model atomically: a folder, or one file when ``path`` ends in ``.safetensors``.

    An existing model at ``path`` is replaced; anything else there is refused.
    """
    path = Path(path)
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    config = {**config, "format": FORMAT_NAME, "format_version": FORMAT_VERSION}
    config["weights_sha256"] = tensors_digest(tensors)
    text = json.dumps(config, indent=2, sort_keys=False, allow_nan=False)
    if not path.parent.exists():
        raise ParameterError(f"cannot save to {path}: folder {path.parent} does not exist")
    if _is_single_file(path):
        if path.is_dir():
            raise ParameterError(f"cannot save to {path}: it is a folder")
        data = _safetensors().numpy.save(tensors, metadata={_META_KEY: text})
        atomic_write_bytes(path, data)
        return path
    if path.exists() and not (path.is_dir() and (path / CONFIG_FILE).is_file()):
        raise ParameterError(
            f"refusing to overwrite {path}: it exists and is not a seqae model folder"
        )
    with atomic_path(path, folder=True) as tmp:
        (tmp / WEIGHTS_FILE).write_bytes(_safetensors().numpy.save(tensors))
        (tmp / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")
    return path


def _parse_config(text: str, where: str) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{where}: the configuration is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"{where}: not a seqae model (no '{FORMAT_NAME}' format marker)")
    check_version(config, where)  # before the checksum: a newer format may compute it otherwise
    return config


def load_model_files(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a saved model's configuration and tensors, verifying format and checksum."""
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: no such model file or folder")
    if path.is_dir():
        config_path, weights_path = path / CONFIG_FILE, path / WEIGHTS_FILE
        for needed in (config_path, weights_path):
            if not needed.is_file():
                raise ModelFormatError(f"{path}: not a seqae model folder ({needed.name} missing)")
        config = _parse_config(config_path.read_text(encoding="utf-8", errors="replace"), str(path))
        tensors = _read_tensors(weights_path)
    else:
        tensors = _read_tensors(path)
        try:
            with _safetensors().safe_open(str(path), framework="numpy") as fh:
                metadata = fh.metadata() or {}
        except Exception as exc:  # safetensors raises several private error types
            raise ModelFormatError(f"{path}: unreadable safetensors header ({exc})") from None
        if _META_KEY not in metadata:
            raise ModelFormatError(f"{path}: a safetensors file without a seqae configuration")
        config = _parse_config(metadata[_META_KEY], str(path))
    if tensors_digest(tensors) != config.get("weights_sha256"):
        raise ModelFormatError(
            f"{path}: the weights do not match the checksum in the configuration "
            "(the file was modified or damaged); re-save or re-train the model"
        )
    return config, tensors


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    try:
        return _safetensors().numpy.load(path.read_bytes())
    except Exception as exc:  # truncated or foreign bytes: safetensors' own error types vary
        raise ModelFormatError(
            f"{path}: not a readable safetensors weights file ({type(exc).__name__}: {exc})"
        ) from None
