"""seqae.files.summary: what ``seqae info`` shows, for old and new files alike, in one layout."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from seqae import Detector
from seqae.files.state import STATE_VERSION, FittedState

FIXTURES = Path(__file__).parent / "fixtures"


FIELDS = [f.name for f in dataclasses.fields(FittedState)]


#: Fields that say when and with what a file was written, not what was fitted.
WRITTEN = {"seqae_version", "torch_version", "numpy_version", "python_version", "created"}


def _info(path: Path, *args: str) -> str:
    from click.testing import CliRunner
    from seqae.cli.main import cli

    result = CliRunner().invoke(cli, ["info", *args, str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_info_reads_old_and_new_files_through_one_schema(tmp_path):
    pytest.importorskip("onnxruntime")
    old_saved, old_onnx = (FIXTURES / f"model-2026-12-02.{ext}" for ext in ("safetensors", "onnx"))
    det = Detector.load(old_saved)
    new_saved = tmp_path / "new.safetensors"
    det.save(new_saved)
    new_onnx = det.export_onnx(tmp_path / "new.onnx")
    files = [old_saved, old_onnx, new_saved, new_onnx]

    states = {}
    for path in files:
        data = json.loads(_info(path, "--json"))
        # every file, whatever its version, is shown in the current layout
        assert data["format_version"] == STATE_VERSION
        assert set(FIELDS) <= set(data), sorted(set(FIELDS) - set(data))
        assert "kind" not in data and isinstance(data["model"], str)
        states[path] = FittedState.from_dict(data, str(path))
    fitted = {name: getattr(states[old_saved], name) for name in FIELDS if name not in WRITTEN}
    for path in files:
        # the first ONNX files kept only a summary of the training record (see upgrade)
        same = [name for name in fitted if name != "history" or path != old_onnx]
        got = {name: getattr(states[path], name) for name in same}
        got["params"] = {**got["params"], "device": None}  # load(device="cpu") records "cpu"
        assert got == {name: fitted[name] for name in same}, path
    history = states[old_saved].history
    for name in ("best_epoch", "best_loss", "n_train", "n_val", "seconds", "device"):
        assert states[old_onnx].history[name] == history[name]

    summaries = [dict(_pairs(_info(path))) for path in files]
    assert all(list(summary) == list(summaries[0]) for summary in summaries)
    assert summaries[0]["channels"] == "2: pressure, temp"
    assert "2 epochs (best 2)" in summaries[1]["training"]  # rebuilt from the old summary
    for label in ("file", "versions", "created"):
        for summary in summaries:
            summary.pop(label)
    assert all(summary == summaries[0] for summary in summaries)  # the same values too


def _pairs(text: str) -> list[tuple[str, str]]:
    return [tuple(part.strip() for part in line.split(":", 1)) for line in text.splitlines()]


def test_info_says_how_channels_combine_and_which_are_checked_for_sticking(tmp_path):
    rng = np.random.default_rng(0)
    values = np.stack([rng.normal(size=800), np.round(rng.normal(size=800))], axis=1)
    det = Detector(model="dense", frame=16, epochs=1, random_state=0).fit(values)
    det.save(tmp_path / "m")
    out = _info(tmp_path / "m")
    assert "2 x the power mean (p 4) of the channel errors" in out
    assert "stuck check:   16 rows of one value; checked: channel_0\n" in out  # channel_1 repeats
