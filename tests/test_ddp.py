"""Data-parallel training: torchrun with 2 CPU processes (gloo) against one process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from seqae.datasets import make_sensor_stream

from seqae import Detector
from seqae.errors import ParameterError
from seqae.training.trainer import TrainConfig, init_distributed, train

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which(
    "torchrun"
)
# The same settings for both runs; --batch-size is the global batch in both.
ARGS = ["--model", "conv1d", "--frame", "32", "--epochs", "3", "--batch-size", "64"]
ARGS += ["--steps-per-epoch", "20", "--device", "cpu", "--seed", "0", "--scoring", "auto"]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
@pytest.mark.skipif(TORCHRUN is None, reason="torchrun (from torch) is not on PATH")
def test_torchrun_two_cpu_processes_match_one(tmp_path):
    data = tmp_path / "normal.csv"
    stream = make_sensor_stream(n_timesteps=3000, n_channels=3, anomalies=(), random_state=0)
    stream.to_frame().to_csv(data, index=False)
    ddp_dir, one_dir = tmp_path / "ddp", tmp_path / "one"
    ddp_dir.mkdir()
    one_dir.mkdir()
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "seqae.cli.main", "train"]
    out = subprocess.run(
        [*cmd, str(data), "--output", str(ddp_dir / "model"), *ARGS, "--distributed"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("saved") == 1  # rank 0 alone reports
    assert sorted(p.name for p in ddp_dir.iterdir()) == ["model"]  # one model, nothing else
    assert sorted(p.name for p in (ddp_dir / "model").iterdir()) == [
        "config.json",
        "weights.safetensors",
    ]
    one = subprocess.run(
        [
            sys.executable,
            "-m",
            "seqae.cli.main",
            "train",
            str(data),
            "-o",
            one_dir / "model",
            *ARGS,
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    ddp, single = Detector.load(ddp_dir / "model"), Detector.load(one_dir / "model")
    # Both runs draw the same global batches from the same initial weights, and each DDP step
    # averages two half-batch gradients weighted to equal the whole batch's mean gradient: only
    # the float summation order differs (all-reduce of two partial sums vs one sum), ~1e-7
    # relative per gradient. Adam divides by sqrt(v), which is tiny in the first steps, so these
    # last-bit differences grow: measured here, losses agree to ~1e-5 relative after 60 steps,
    # per-timestep raw errors to 0.12 % at most (median 0.02 %). The test allows 1e-4 on the
    # loss and 1 % per timestep: a real mistake (a missed all-reduce, a half batch, another
    # seed) moves them by tens of percent. With channel_norm the per-channel weights come from
    # those errors too, so the smallest scores (1 % of the median) get a small absolute floor.
    for got, want in zip(ddp.history_["epochs"], single.history_["epochs"], strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-4)
        assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-4)
    x = stream.values
    want = single.score_samples(x) * single.threshold_
    np.testing.assert_allclose(
        ddp.score_samples(x) * ddp.threshold_,
        want,
        rtol=1e-2,
        atol=1e-2 * float(np.median(want)),
    )


def test_distributed_needs_a_process_group(monkeypatch):
    from seqae.models import build_model

    x = np.random.default_rng(0).normal(size=(64, 16, 2)).astype(np.float32)
    model = build_model("dense", (16, 2), {"hidden": (8,)})
    with pytest.raises(ParameterError, match="torchrun"):
        train(model, x, TrainConfig(epochs=1, device="cpu", distributed=True))
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(ParameterError, match="missing RANK"):
        init_distributed()
