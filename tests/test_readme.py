"""Every Python example in README.md runs as printed (issue 22: the examples keep working).

The blocks are read from the README itself, so an edited example is the one tested. Blocks that
use names the README leaves to the reader (``rows``, ``write_part``, a model file) get them from
a short prelude, written here, in a fresh folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


def block(start: str) -> str:
    """The one README block whose first line starts with ``start``."""
    found = [b for b in BLOCKS if b.lstrip().startswith(start)]
    assert len(found) == 1, f"{len(found)} README blocks start with {start!r}"
    return found[0]


def run(code: str, folder: Path, monkeypatch, **names) -> dict:
    monkeypatch.chdir(folder)
    scope = {"__name__": "__main__", **names}
    exec(compile(code, str(README), "exec"), scope)
    return scope


@pytest.fixture
def exported(tmp_path):
    """What the ONNX and streaming examples assume: model/, model.onnx, big.csv, rows."""
    from seqae.datasets import make_sensor_stream

    from seqae import Detector

    stream = make_sensor_stream(n_timesteps=3000, n_channels=3, random_state=0)
    frame = stream.to_frame().drop(columns="anomaly")
    det = Detector(frame=32, epochs=1, random_state=0).fit(frame[stream.channels][:1000])
    det.save(tmp_path / "model")
    det.export_onnx(tmp_path / "model.onnx")
    frame.to_csv(tmp_path / "big.csv", index=False)
    return stream


def test_the_library_example(tmp_path, monkeypatch, capsys):
    assert len(BLOCKS) >= 5
    run(block("from seqae import Detector\nfrom seqae.datasets"), tmp_path, monkeypatch)
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"\d+ anomalous timesteps in \d+ events", lines[0])
    assert lines[-1] == "True" and (tmp_path / "model").is_dir()


def test_the_one_channel_example(tmp_path, monkeypatch, capsys):
    scope = run(block("from seqae import Detector\nfrom seqae.datasets"), tmp_path, monkeypatch)
    capsys.readouterr()
    run(block("one = data["), tmp_path, monkeypatch, **scope)
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"32 \d+ anomalous timesteps in \d+ events", lines[0])
    assert len(lines) > 1  # at least one event, each on its own line


def test_the_image_example(tmp_path, monkeypatch, capsys):
    run(block("from sklearn.metrics import roc_auc_score"), tmp_path, monkeypatch)
    auc = float(capsys.readouterr().out.split("AUC-ROC, unseen 5-9 vs 0-4:")[1].split()[0])
    assert auc > 0.85


def test_the_onnx_and_streaming_examples(tmp_path, monkeypatch, exported):
    scope = run(
        block("from seqae import OnnxDetector"), tmp_path, monkeypatch, rows=exported.values
    )
    assert len(scope["result"].scores) == len(exported.values)
    parts = []
    scope = run(
        block("from seqae import detect_file"), tmp_path, monkeypatch, write_part=parts.append
    )
    assert scope["result"].n_anomalies >= 0 and parts


def test_the_dask_example(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    run(block("import dask.array as da"), tmp_path, monkeypatch)
    assert sorted(p.name for p in (tmp_path / "fleet-scores").iterdir())[:1] == ["pump0.parquet"]
    assert (tmp_path / "models" / "pump0").exists() or (tmp_path / "models").is_dir()


def test_the_spark_example(tmp_path, monkeypatch, exported):
    pytest.importorskip("pyspark")
    import sys

    import pandas as pd

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter

    values = exported.values
    units = pd.concat(
        pd.DataFrame(values[:500], columns=exported.channels).assign(unit=u, time=np.arange(500))
        for u in ("a", "b")
    )
    units.to_parquet(tmp_path / "fleet.parquet")
    long = pd.DataFrame(values, columns=exported.channels).assign(position=np.arange(len(values)))
    long.to_parquet(tmp_path / "long.parquet")
    # Spark's JVM reads and writes relative paths against the folder it started in, which is
    # another test's when a session already runs: the example's files get this folder's paths.
    code = block("from pyspark.sql import SparkSession")
    for name in ("fleet.parquet", "long.parquet", "fleet-scores.parquet", "long-scores.parquet"):
        code = code.replace(f'"{name}"', repr(str(tmp_path / name)))
    run(code, tmp_path, monkeypatch)
    assert (tmp_path / "fleet-scores.parquet").exists()
    assert (tmp_path / "long-scores.parquet").exists()
