"""Models written by earlier versions of seqae still load and score as they did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqae import Detector

FIXTURES = Path(__file__).parent / "fixtures"


def _stream() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(600)
    x = np.c_[np.sin(t / 10), np.cos(t / 13)].astype(np.float32)
    x += 0.05 * rng.standard_normal((600, 2)).astype(np.float32)
    return pd.DataFrame(x, columns=["pressure", "temp"])


def test_saved_model_of_2026_12_02_loads_and_scores_as_it_did():
    det = Detector.load(FIXTURES / "model-2026-12-02.safetensors")
    assert det.channels_ == ["pressure", "temp"]
    expected = np.load(FIXTURES / "scores-2026-12-02.npy")
    np.testing.assert_allclose(det.score_samples(_stream()), expected, rtol=1e-5, atol=1e-6)


def test_onnx_model_of_2026_12_02_loads_and_scores_as_it_did():
    pytest.importorskip("onnxruntime")
    from seqae.files.runtime import OnnxDetector

    det = OnnxDetector(FIXTURES / "model-2026-12-02.onnx")
    assert det.channels_ == ["pressure", "temp"]
    expected = np.load(FIXTURES / "scores-2026-12-02.npy")
    np.testing.assert_allclose(det.score_samples(_stream()), expected, rtol=1e-4, atol=1e-5)
