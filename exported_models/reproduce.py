"""Rebuild the example exported model and its card, measuring every number in the card.

    python exported_models/reproduce.py

Trains a conv1d autoencoder on the first half of a seeded synthetic sensor stream, exports it
to ``conv1d_synthetic.onnx``, scores the second half with the ONNX file and with the Detector it
came from, refuses to go on unless both give the same scores, labels and events, and writes
``conv1d_synthetic.md``. A minute or two on two idle CPU cores. Training is seeded, so the
numbers repeat on the same machine and library versions (other CPUs may differ in the last
digits).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import common  # the benchmarks' machine description
from seqae.datasets import SensorData, make_sensor_stream

from seqae import Detector, __version__
from seqae.files.runtime import OnnxDetector
from seqae.metrics import auc_pr, auc_roc, event_f1, far, mar, precision_recall_f1
from seqae.scoring.thresholds import describe_detector_line

HERE = Path(__file__).resolve().parent
NAME = "conv1d_synthetic"
STREAM = {"n_timesteps": 30_000, "n_channels": 6, "random_state": 0}
# Unsupervised, as in the field: the first half is used whole, one injected anomaly included
# (64 rows, 0.4 %); the slow trends of the stream make the second half drift from the first.
TRAIN_ROWS = 15_000
# The default Detector, as a user gets it; only the device and the seed are pinned.
PARAMS = {"device": "cpu", "random_state": 0}


def _latency_us(det: OnnxDetector, frame: np.ndarray, repeats: int = 2000) -> float:
    det.score_frames(frame)  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        det.score_frames(frame)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e6)


def _scores(labels: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    point, event = precision_recall_f1(labels, predicted), event_f1(labels, predicted)
    return {
        "AUC-PR": auc_pr(labels, scores),
        "AUC-ROC": auc_roc(labels, scores),
        "point precision": point.precision,
        "point recall": point.recall,
        "point F1": point.f1,
        "event precision": event.precision,
        "event recall": event.recall,
        "event F1": event.f1,
        "FAR": far(labels, predicted),
        "MAR": mar(labels, predicted),
    }


def main(folder: Path) -> None:
    stream = make_sensor_stream(**STREAM)
    labels = stream.labels[TRAIN_ROWS:]
    train = SensorData(stream.values[:TRAIN_ROWS], stream.channels, stream.timestamps[:TRAIN_ROWS])
    test = SensorData(stream.values[TRAIN_ROWS:], stream.channels, stream.timestamps[TRAIN_ROWS:])

    det = Detector(**PARAMS).fit(train)
    path = det.export_onnx(folder / f"{NAME}.onnx")
    onnx_det = OnnxDetector(path)

    torch_result = det.detect(test)
    onnx_result = onnx_det.detect(test)
    max_diff = float(np.abs(onnx_result.scores - torch_result.scores).max())
    same_labels = bool(np.array_equal(onnx_result.labels, torch_result.labels))
    same_events = [(e.start, e.end) for e in onnx_result.events] == [
        (e.start, e.end) for e in torch_result.events
    ]
    if not (max_diff <= 1e-4 * np.abs(torch_result.scores).max() and same_labels and same_events):
        raise SystemExit(f"ONNX and Detector disagree (max diff {max_diff}); not writing the card")
    metrics = _scores(labels, onnx_result.scores, onnx_result.labels)
    frame = test.values[None, : det.frame]
    latency = _latency_us(OnnxDetector(path, intra_op_num_threads=1), frame)
    meta = onnx_det.metadata
    contamination = float(stream.labels[:TRAIN_ROWS].mean())
    card = _card(
        det, meta, path, metrics, max_diff, latency, len(onnx_result.events), contamination
    )
    (folder / f"{NAME}.md").write_text(card)
    print(card)


def _card(
    det: Detector,
    meta: dict,
    path: Path,
    metrics: dict[str, float],
    max_diff: float,
    latency_us: float,
    n_events: int,
    contamination: float,
) -> str:
    history = meta["history"]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    n_params = sum(p.numel() for p in det.model_.parameters())
    stream_call = ", ".join(f"{k}={v!r}" for k, v in STREAM.items())
    rows = "\n".join(f"| {k} | {v:.3f} |" for k, v in metrics.items())
    params = json.dumps(det.get_params(), indent=1, default=str)
    if meta["scoring"] == "convolutional":
        lag = meta["halo"] + meta["total_stride"] - 1
        how = "Scoring runs it over the whole stream in one pass (no overlapping windows)."
    else:
        lag = det.frame - 1
        how = f"Scoring uses frames of {det.frame} timesteps, step {det.step}."
    return f"""# Model card: `{NAME}.onnx`

A conv1d autoencoder that flags anomalies in a six-channel sensor stream, exported with
`Detector.export_onnx` for services that have numpy and onnxruntime but not torch.

## Use

```python
from seqae.files.runtime import OnnxDetector  # numpy + onnxruntime only

det = OnnxDetector("exported_models/{NAME}.onnx")
result = det.detect(rows)  # rows: (T, 6) array or a DataFrame with the channels
result.scores, result.labels, result.events
```

Streaming, one row at a time with a ring buffer: `examples/edge_service.py`
(`python examples/edge_service.py exported_models/{NAME}.onnx < rows.csv`); its per-row scores
equal the offline ones, {lag} rows later.

- Input `frames`: raw, unscaled float32 `(batch, length, 6)`; the length is dynamic (the model is
  fully convolutional). {how}
- Channels, in order: {", ".join(f"`{c}`" for c in meta["channels"])}.
- Outputs: `reconstruction`, `timestep_error`, `channel_error`, `window_score`, already divided by
  the threshold: 1.0 is the alarm line, higher = more anomalous.
- The file holds everything else in its metadata (`seqae info exported_models/{NAME}.onnx`
  prints it): scaler ({meta["scaler"]["kind"]}), threshold {meta["threshold"]:.6g} (raw error;
  {describe_detector_line(det)}), fold `{meta["fold"]}`, event rules
  (`min_event_length` {meta["min_event_length"]}, `merge_gap` {meta["merge_gap"]}).

## Data

`seqae.datasets.make_sensor_stream({stream_call})`: six correlated channels
(periodic parts, shared factors, noise) with six injected anomalies of six kinds (spike, level
shift, drift, frequency change, stuck sensor, correlation break) and slow trends. Training:
rows 0 to {TRAIN_ROWS - 1}, unlabelled, as in the field ({contamination:.2%} of them inside an
injected anomaly); evaluation: rows {TRAIN_ROWS} to {STREAM["n_timesteps"] - 1}
({STREAM["n_timesteps"] - TRAIN_ROWS:,} rows, {int(n_events)} alarm events raised). The trends
carry the second half beyond the range seen in training; the drift-aware line follows them.

## Parameters

`Detector(**{PARAMS!r})`: the library's defaults, all of them below.

```json
{params}
```

Architecture ({n_params:,} parameters, total stride {meta["total_stride"]}):
`{json.dumps(meta["model_spec"]["config"])}`. Training: {len(history["epochs"])} epochs (best
{history["best_epoch"]}, validation loss {history["best_loss"]:.4f}, early stopping:
{history["stopped_early"]}), {history["n_train"]:,} training and
{history["n_val"]:,} validation frames.

## Scores on the evaluation rows

Scores and labels of the ONNX file (the Detector's are identical); FAR and MAR in percent
(false alarms among normal rows, missed anomalous rows).

| metric | value |
|---|---|
{rows}

## The file

- Size {path.stat().st_size:,} bytes, SHA-256 `{sha}`.
- ONNX opset {meta["opset"]}, exported by seqae {meta["seqae_version"]} with torch
  {meta["torch_version"]} (`torch.onnx.export(dynamo=True)`), weights embedded, checked with
  `onnx.checker`.
- ONNX vs Detector on the evaluation rows: max |score difference| {max_diff:.2e}; the same
  labels and events.
- Latency of one {det.frame}-timestep frame (batch 1, one thread): {latency_us:.0f} µs median
  (onnxruntime {version("onnxruntime")}, {common.machine()["cpu"]}).

## Reproduce

```
python exported_models/reproduce.py
```

seqae {__version__}, numpy {np.__version__}, Python {platform.python_version()}.
"""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE, help="folder for the .onnx and .md")
    main(parser.parse_args().output)
