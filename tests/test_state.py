"""seqae.files.state: one fitted-state schema; files of every earlier layout are brought to it."""

from __future__ import annotations

from pathlib import Path

from seqae.files.state import STATE_VERSION, upgrade

FIXTURES = Path(__file__).parent / "fixtures"


def test_upgrade_brings_both_old_layouts_to_one():
    from seqae.files.persistence import load_model_files
    from seqae.files.runtime import OnnxDetector

    saved, _ = load_model_files(FIXTURES / "model-2026-12-02.safetensors")
    assert saved["format_version"] == 1 and isinstance(saved["model"], dict)
    meta = OnnxDetector(FIXTURES / "model-2026-12-02.onnx").metadata
    for upgraded in (upgrade(saved), meta):
        assert upgraded["format_version"] == STATE_VERSION
        assert upgraded["model"] == "conv1d" and upgraded["model_spec"]["name"] == "conv1d"
        assert upgraded["input_kind"] == "sequence"
        assert (upgraded["min_event_length"], upgraded["merge_gap"]) == (1, 0)
    assert meta["history"]["n_train"] == saved["history"]["n_train"]
    assert len(meta["history"]["epochs"]) == len(saved["history"]["epochs"])
    # the ONNX file's graph facts stay beside the state
    assert meta["total_stride"] == 8 and meta["dynamic_length"] is True
