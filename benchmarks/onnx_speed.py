"""onnxruntime vs torch on CPU: batch-1 latency, batch-1024 throughput, cold start, int8.

    python benchmarks/onnx_speed.py            # conv1d, lstm, dense; about 5 minutes
    python benchmarks/onnx_speed.py --quick    # fewer calls and rounds

For each model (frame 64, 8 channels, trained briefly on the synthetic stream) the same scoring
graph runs three ways: torch (``ScoringHead`` under ``torch.inference_mode``, torch's default
threads), onnxruntime on the exported float file (default threads, and one thread), and
onnxruntime on the int8 file (``export_onnx(quantize=True)``, dynamic quantisation). Each
measurement runs in fresh child processes, alternating glibc's default allocator settings and
the raised ``MALLOC_*_THRESHOLD_`` ones (DESIGN.md), and inside a child the backends take turns
in short blocks, because these machines have slow spells; cells are medians.

Also measured: the cold start of a fresh process up to its first score (``from seqae.files.runtime
import OnnxDetector`` vs ``from seqae import Detector`` + ``Detector.load``), and what int8 does
to the scores (largest difference, AUC-PR, labels that change) on the synthetic stream.
Results: ``benchmarks/results/onnx_speed.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package

FRAME, CHANNELS = 64, 8
MODELS = {
    "conv1d": {"epochs": 8},
    "lstm": {"epochs": 2},
    "dense": {"epochs": 8},
}
STREAM = {"n_timesteps": 20_000, "n_channels": CHANNELS, "random_state": 0}
TRAIN_ROWS = 8_000
RESULT_TAG = "ONNX-SPEED-RESULT "
BACKENDS = ("torch", "ort", "ort_1thread", "ort_int8")


# ------------------------------------------------------------------------- child process
def _backends(folder: Path, model: str) -> dict[str, Any]:
    """``name -> run(frames)`` for every backend, all returning the same four outputs."""
    import torch

    from seqae import Detector
    from seqae.files.runtime import OnnxDetector
    from seqae.models.head import ScoringHead

    det = Detector.load(folder / model)
    head = ScoringHead(det.model_, det.scaler_["center"], det.scaler_["scale"], det.threshold_)
    head.eval()

    def run_torch(x: Any) -> Any:
        with torch.inference_mode():
            return [t.numpy() for t in head(torch.from_numpy(x))]

    onnx_file, int8_file = folder / f"{model}.onnx", folder / f"{model}.int8.onnx"
    return {
        "torch": run_torch,
        "ort": OnnxDetector(onnx_file).score_frames,
        "ort_1thread": OnnxDetector(onnx_file, intra_op_num_threads=1).score_frames,
        "ort_int8": OnnxDetector(int8_file).score_frames,
    }


def _timed(fn: Any, x: Any, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return times


def child(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import torch

    folder = Path(spec["folder"])
    rng = np.random.default_rng(0)
    one = rng.standard_normal((1, FRAME, CHANNELS)).astype(np.float32)
    big = rng.standard_normal((1024, FRAME, CHANNELS)).astype(np.float32)
    out: dict[str, Any] = {"torch_threads": torch.get_num_threads()}
    for model in spec["models"]:
        runs = _backends(folder, model)
        latency: dict[str, list[float]] = {b: [] for b in BACKENDS}
        throughput: dict[str, list[float]] = {b: [] for b in BACKENDS}
        for fn in runs.values():  # warm-up: threads, allocator, kernels
            _timed(fn, one, 20)
            _timed(fn, big, 1)
        for _ in range(spec["blocks"]):  # backends take turns
            for name, fn in runs.items():
                latency[name] += _timed(fn, one, spec["calls"])
        for _ in range(spec["big_calls"]):
            for name, fn in runs.items():
                throughput[name] += [1024 / t for t in _timed(fn, big, 1)]
        out[model] = {
            "batch1_us": {b: statistics.median(v) * 1e6 for b, v in latency.items()},
            "batch1024_frames_s": {b: statistics.median(v) for b, v in throughput.items()},
        }
    return out


# --------------------------------------------------------------------------- orchestrator
def _env(tuned: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in common.MALLOC_ENV}
    if tuned:
        env.update(common.MALLOC_ENV)
    return env


def _run_child(spec: dict[str, Any], tuned: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    proc = subprocess.run(
        cmd, env=_env(tuned), capture_output=True, text=True, check=False, cwd=common.ROOT
    )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    raise RuntimeError("benchmark child failed: " + " / ".join(tail))


def prepare(folder: Path) -> dict[str, Any]:
    """Train, save and export every model; measure what int8 does to the scores."""
    import numpy as np
    from seqae.datasets import make_sensor_stream

    from seqae import Detector
    from seqae.files.runtime import OnnxDetector
    from seqae.metrics import auc_pr

    stream = make_sensor_stream(**STREAM)
    train, test = stream.values[:TRAIN_ROWS], stream.values[TRAIN_ROWS:]
    labels = stream.labels[TRAIN_ROWS:]
    info: dict[str, Any] = {}
    for model, params in MODELS.items():
        det = Detector(model, frame=FRAME, device="cpu", random_state=0, **params).fit(train)
        det.save(folder / model)
        t0 = time.perf_counter()
        plain = det.export_onnx(folder / f"{model}.onnx")
        export_s = time.perf_counter() - t0
        int8 = det.export_onnx(folder / f"{model}.int8.onnx", quantize=True)
        a, b = OnnxDetector(plain).score_samples(test), OnnxDetector(int8).score_samples(test)
        la, lb = (a >= 1.0), (b >= 1.0)
        info[model] = {
            "parameters": sum(p.numel() for p in det.model_.parameters()),
            "export_s": export_s,
            "bytes": plain.stat().st_size,
            "int8_bytes": int8.stat().st_size,
            "auc_pr": auc_pr(labels, a),
            "int8_auc_pr": auc_pr(labels, b),
            "int8_max_rel_diff": float(np.abs(a - b).max() / np.abs(a).max()),
            "int8_median_rel_diff": float(np.median(np.abs(a - b) / np.maximum(a, 1e-12))),
            "int8_labels_changed": int((la != lb).sum()),
            "alarms": int(la.sum()),
            "test_rows": len(test),
        }
        print(f"prepared {model}: {json.dumps(info[model])}", flush=True)
    return info


COLD = {
    "onnxruntime": (
        "from seqae.files.runtime import OnnxDetector; import numpy as np; "
        "OnnxDetector({onnx!r}).score_frames(np.zeros((1, {frame}, {channels}), np.float32))"
    ),
    "torch": (
        "from seqae import Detector; import numpy as np; "
        "Detector.load({saved!r}).score_samples(np.zeros(({frame}, {channels}), np.float32))"
    ),
}


def cold_start(folder: Path, rounds: int) -> dict[str, float]:
    """Seconds from a fresh interpreter to the first score, median over rounds."""
    times: dict[str, list[float]] = {k: [] for k in COLD}
    fill = {
        "onnx": str(folder / "conv1d.onnx"),
        "saved": str(folder / "conv1d"),
        "frame": FRAME,
        "channels": CHANNELS,
    }
    for _ in range(rounds):
        for name, code in COLD.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code.format(**fill)], check=True, cwd=common.ROOT)
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _median_over(children: list[dict[str, Any]], model: str, kind: str, backend: str) -> float:
    return statistics.median(c[model][kind][backend] for c in children)


def report(results: dict[str, Any], info: dict[str, Any], when: str, command: str) -> str:
    lines = [common.header("ONNX runtime speed: onnxruntime vs torch (CPU)", info, command, when)]
    lines.append(
        f"\nFrame {FRAME}, {CHANNELS} channels; torch with {results['torch_threads']} threads, "
        "onnxruntime with its default threads unless marked. Medians over "
        f"{results['rounds']} child process(es) per allocator setting; "
        '"tuned" = MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ raised (DESIGN.md).\n'
    )
    for kind, title, digits in (
        ("batch1_us", "Latency, batch 1 (µs per call, lower is better)", 0),
        ("batch1024_frames_s", "Throughput, batch 1024 (frames/s, higher is better)", 0),
    ):
        rows = []
        for model in results["models"]:
            for setting in ("default", "tuned"):
                cells = {b: _median_over(results[setting], model, kind, b) for b in BACKENDS}
                ratio = (
                    cells["torch"] / cells["ort"]
                    if kind == "batch1_us"
                    else cells["ort"] / cells["torch"]
                )
                rows.append([model, setting, *(round(cells[b]) for b in BACKENDS), f"{ratio:.2f}×"])
        headers = ["model", "allocator", "torch", "ort", "ort 1 thread", "ort int8", "ort/torch"]
        lines += [f"\n## {title}\n", common.table(headers, rows, digits)]
    lines.append("\n(ort/torch: how many times faster onnxruntime (float) is than torch.)\n")
    cold = results["cold_start_s"]
    lines += [
        "\n## Cold start: fresh process to first score (conv1d, seconds)\n",
        common.table(
            ["runtime", "seconds"],
            [[f"`{k}`", round(v, 2)] for k, v in cold.items()],
            2,
        ),
    ]
    prep = results["prepared"]
    rows = [
        [
            m,
            p["parameters"],
            p["bytes"],
            p["int8_bytes"],
            round(p["export_s"], 1),
            round(p["auc_pr"], 3),
            round(p["int8_auc_pr"], 3),
            f"{p['int8_max_rel_diff']:.2e}",
            f"{p['int8_labels_changed']} of {p['alarms']}",
        ]
        for m, p in prep.items()
    ]
    lines += [
        "\n## int8 dynamic quantisation: size and accuracy\n",
        f"Scores of the last {next(iter(prep.values()))['test_rows']:,} rows of "
        f"`make_sensor_stream({', '.join(f'{k}={v!r}' for k, v in STREAM.items())})`, models "
        f"trained on the first {TRAIN_ROWS:,} (few epochs: speed, not quality, is the point).\n",
        common.table(
            [
                "model",
                "parameters",
                "float bytes",
                "int8 bytes",
                "export s",
                "AUC-PR float",
                "AUC-PR int8",
                "max rel. score diff",
                "labels changed (of float alarms)",
            ],
            rows,
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT_TAG + json.dumps(child(json.loads(args.child))), flush=True)
        return
    when, command = common.now(), common.command_line()
    rounds = 1 if args.quick else 2
    spec = {
        "models": list(MODELS),
        "blocks": 5 if args.quick else 10,
        "calls": 40 if args.quick else 100,
        "big_calls": 3 if args.quick else 6,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec["folder"] = str(folder)
        results: dict[str, Any] = {"models": list(MODELS), "rounds": rounds, "spec": spec}
        results["prepared"] = prepare(folder)
        results["default"], results["tuned"] = [], []
        for _ in range(rounds):
            for setting in ("default", "tuned"):
                child_result = _run_child(spec, setting == "tuned")
                results[setting].append(child_result)
                results["torch_threads"] = child_result["torch_threads"]
                print(f"{setting}: {json.dumps(child_result)}", flush=True)
        results["cold_start_s"] = cold_start(folder, 2 if args.quick else 3)
    machine = common.machine()
    markdown = report(results, machine, when, command)
    path = common.write_results(
        "onnx_speed",
        markdown,
        {"date": when, "command": command, "machine": machine, **results},
    )
    print(markdown)
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
