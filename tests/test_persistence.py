"""seqae.files.persistence: saved models are checked when read (checksum, format version, JSON),
and a save never clobbers a folder or leaves half a file."""

from __future__ import annotations

import json

import pytest

from seqae import Detector
from seqae.errors import ModelFormatError, ParameterError


@pytest.fixture(scope="module")
def fitted(exported_family):
    """A fitted conv1d, the session's shared one (saving does not change it)."""
    return exported_family("conv1d")[0]


def test_tampered_and_truncated_models_refused(fitted, tmp_path):
    folder = tmp_path / "model"
    fitted.save(folder)
    weights = folder / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="checksum"):
        Detector.load(folder)

    single = tmp_path / "model.safetensors"
    fitted.save(single)
    single.write_bytes(single.read_bytes()[:200])
    with pytest.raises(ModelFormatError, match=r"model.safetensors"):
        Detector.load(single)


def test_newer_format_and_foreign_files_refused(fitted, tmp_path):
    folder = tmp_path / "model"
    fitted.save(folder)
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="format 99"):
        Detector.load(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="JSON"):
        Detector.load(folder)
    foreign = tmp_path / "x.safetensors"
    foreign.write_bytes(b"hello world, not a model")
    with pytest.raises(ModelFormatError):
        Detector.load(foreign)
    with pytest.raises(ModelFormatError, match="no such"):
        Detector.load(tmp_path / "missing")


def test_save_refuses_to_clobber_other_folders(fitted, tmp_path):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(ParameterError, match="refusing to overwrite"):
        fitted.save(other)
    assert (other / "cat.jpg").read_bytes() == b"meow"


def test_failed_save_leaves_nothing(fitted, tmp_path, monkeypatch):
    import safetensors.numpy

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []
