"""Speed of seqae: training, scoring, ONNX inference, and ``seqae detect`` end to end.

    python benchmarks/speed.py                 # every model, CPU (and GPU when there is one)
    python benchmarks/speed.py --quick         # fewer repeats, smaller streams
    python benchmarks/speed.py --models conv1d --no-cli

Every measurement runs in a fresh child process, once with glibc's default allocator settings
and once with ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` raised (see DESIGN.md),
the two interleaved (default, tuned, default, tuned) because these machines have slow spells;
each cell is the median over children and repeats. Peak memory is the growth of the child's
peak resident set (VmHWM, reset before each call) over its resident set before the call.

- training: frames per second (frame 128, 8 channels, batch 256), after a warm-up.
- scoring: timesteps per second through ``Detector.score_samples`` on a float32 stream
  (1,000,000 x 8 for the fully convolutional path; the frame-by-frame ``windowed`` path, step
  1, on a shorter stream, since its cost per timestep does not depend on the length).
- ONNX: ``Detector.export_onnx`` then onnxruntime on one frame (batch-1 latency) and on
  batches of 1,024 frames (throughput).
- CLI: ``seqae detect`` on a 1,000,000-row, 8-channel CSV with a saved conv1d model, parsing
  and writing included.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package

FRAME, CHANNELS, BATCH = 128, 8, 256
MODELS = ("conv1d", "lstm", "gru", "dense", "pca")
TARGETS = {
    "conv1d_scoring_timesteps_s": 3_000_000,
    "conv1d_training_frames_s": 10_000,
    "onnx_batch1_ms": 0.1,
    "cli_seconds": 10.0,
}
RESULT_TAG = "SPEED-RESULT "


# ------------------------------------------------------------------------- child process


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> int:
    """Reset VmHWM to the current RSS (Linux); returns the RSS in KiB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_kib("VmRSS")


def _measure(fn: Any) -> tuple[float, float]:
    """Seconds and peak memory growth (MiB) of one call."""
    before = _reset_peak()
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    return seconds, max(0, _status_kib("VmHWM") - before) / 1024


def _stream(rows: int, seed: int = 0) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float32)[:, None]
    phase = rng.uniform(0, 6.28, CHANNELS).astype(np.float32)
    x = np.sin(t / 50 + phase) + 0.1 * rng.standard_normal((rows, CHANNELS), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


def _detector(model: str, device: str) -> Any:
    """A briefly fitted detector (speed does not depend on how well it is trained)."""
    from seqae import Detector

    det = Detector(
        model=model,
        frame=FRAME,
        epochs=1,
        train_params={"steps_per_epoch": 4},
        device=device,
        random_state=0,
    )
    return det.fit(_stream(4000, seed=1))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def task_train(model: str, device: str, repeats: int, steps: int) -> dict[str, Any]:
    from seqae.models import build_model
    from seqae.training import TrainConfig, train
    from seqae.windowing import WindowSet

    net = build_model(model, (FRAME, CHANNELS))
    n_params = sum(p.numel() for p in net.parameters())
    if getattr(net, "closed_form", False):  # fitted in one pass over 100,000 frames
        data = WindowSet([_stream(100_000 + FRAME - 1)], FRAME, 1)
        config = TrainConfig(epochs=1, validation_split=0.0, device=device, random_state=0)
        frames = len(data)
    else:
        data = WindowSet([_stream(200_000)], FRAME, 1)
        config = TrainConfig(
            epochs=1,
            batch_size=BATCH,
            steps_per_epoch=steps,
            validation_split=0.0,
            patience=0,
            device=device,
            random_state=0,
        )
        frames = steps * BATCH
    train(net, data, config)  # warm-up: allocator, kernels, threads
    rates, peaks = [], []
    for _ in range(repeats):
        seconds, peak = _measure(lambda: (train(net, data, config), _sync(device)))
        rates.append(frames / seconds)
        peaks.append(peak)
    return {"frames_s": rates, "peak_mib": max(peaks), "params": n_params, "frames": frames}


def task_score(model: str, device: str, repeats: int, rows: int, window_rows: int) -> dict:
    det = _detector(model, device)
    conv = getattr(det.model_, "fully_convolutional", False)
    paths = ["convolutional", "windowed"] if conv else ["windowed"]
    streams = {"convolutional": _stream(rows), "windowed": _stream(window_rows)}
    out: dict[str, Any] = {}
    for path in paths:
        det.set_params(scoring=path)
        det.score_samples(streams[path][: 10 * FRAME])  # warm-up
        out[path] = {"timesteps_s": [], "peak_mib": 0.0, "rows": len(streams[path])}
    for _ in range(repeats):  # interleaved: conv, windowed, conv, windowed, ...
        for path in paths:
            det.set_params(scoring=path)
            x = streams[path]
            seconds, peak = _measure(lambda x=x: (det.score_samples(x), _sync(device)))
            out[path]["timesteps_s"].append(len(x) / seconds)
            out[path]["peak_mib"] = max(out[path]["peak_mib"], peak)
    return out


def task_onnx(model: str, repeats: int, n_single: int) -> dict[str, Any]:
    import numpy as np
    import onnxruntime as ort

    det = _detector(model, "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{model}.onnx"
        t0 = time.perf_counter()
        det.export_onnx(path)
        export_s = time.perf_counter() - t0
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob("*.data"))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    one = _stream(FRAME)[None]  # (1, frame, C)
    big = np.ascontiguousarray(np.broadcast_to(one, (1024, FRAME, CHANNELS)))
    for _ in range(50):
        session.run(None, {inp.name: one})
    session.run(None, {inp.name: big})
    latencies, throughput = [], []
    for _ in range(repeats):
        times = []
        for _ in range(n_single):
            t0 = time.perf_counter()
            session.run(None, {inp.name: one})
            times.append(time.perf_counter() - t0)
        latencies.append(statistics.median(times) * 1e3)
        t0 = time.perf_counter()
        session.run(None, {inp.name: big})
        throughput.append(1024 / (time.perf_counter() - t0))
    return {
        "batch1_ms": latencies,
        "batch1024_frames_s": throughput,
        "export_s": export_s,
        "file_bytes": size,
        "input": [inp.name, [str(d) for d in inp.shape]],
    }


def child(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["task"]
    if kind == "train":
        return task_train(spec["model"], spec["device"], spec["repeats"], spec["steps"])
    if kind == "score":
        return task_score(
            spec["model"], spec["device"], spec["repeats"], spec["rows"], spec["window_rows"]
        )
    if kind == "onnx":
        return task_onnx(spec["model"], spec["repeats"], spec["n_single"])
    raise ValueError(f"unknown task {kind!r}")


# --------------------------------------------------------------------------- orchestrator


def _env(tuned: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in common.MALLOC_ENV}
    if tuned:
        env.update(common.MALLOC_ENV)
    return env


def run_child(spec: dict[str, Any], tuned: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, env=_env(tuned), capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": " / ".join(tail) or f"exit code {proc.returncode}"}


def interleaved(spec: dict[str, Any], rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Children alternating default and tuned allocator settings."""
    out: dict[str, list[dict[str, Any]]] = {"default": [], "tuned": []}
    for _ in range(rounds):
        for setting in ("default", "tuned"):
            out[setting].append(run_child(spec, setting == "tuned"))
    return out


def _median(children: list[dict[str, Any]], *keys: str) -> float | None:
    vals: list[float] = []
    for c in children:
        if "error" in c:
            continue
        v: Any = c
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, list):
            vals.extend(v)
        elif v is not None:
            vals.append(v)
    return statistics.median(vals) if vals else None


def _errors(children: dict[str, list[dict[str, Any]]]) -> str | None:
    errs = [c["error"] for cs in children.values() for c in cs if "error" in c]
    return errs[0] if errs else None


def write_csv(path: Path, rows: int) -> float:
    """A 1,000,000-row, 8-channel sensor CSV with a time column; returns seconds taken."""
    import pandas as pd

    t0 = time.perf_counter()
    x = _stream(rows, seed=2)
    frame = pd.DataFrame(x, columns=[f"sensor_{i}" for i in range(CHANNELS)])
    frame.insert(0, "time", pd.date_range("2024-01-01", periods=rows, freq="s"))
    frame.to_csv(path, index=False, float_format="%.5f")
    return time.perf_counter() - t0


def cli_detect(rows: int, rounds: int) -> dict[str, Any]:
    """``seqae detect`` on a CSV with a saved conv1d model, timed end to end."""
    import shutil

    exe = shutil.which("seqae")
    base = [exe] if exe else [sys.executable, "-m", "seqae.cli.main"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        csv, model, out = tmp_path / "sensors.csv", tmp_path / "model", tmp_path / "scores.csv"
        csv_s = write_csv(csv, rows)
        det = _detector("conv1d", "cpu")
        det.save(model)
        cmd = [*base, "detect", str(csv), "--model", str(model), "--output", str(out)]
        result: dict[str, Any] = {
            "command": " ".join(["seqae", *cmd[len(base) :]]).replace(tmp, "$TMP"),
            "rows": rows,
            "csv_write_s": csv_s,
            "csv_mib": csv.stat().st_size / 2**20,
        }
        for setting in ("default", "tuned"):
            result[setting] = []
        for _ in range(rounds):
            for setting in ("default", "tuned"):
                t0 = time.perf_counter()
                proc = subprocess.run(
                    cmd, env=_env(setting == "tuned"), capture_output=True, text=True, check=False
                )
                seconds = time.perf_counter() - t0
                if proc.returncode != 0:
                    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                    result["error"] = f"exit {proc.returncode}: " + " / ".join(tail)
                    return result
                result[setting].append(seconds)
    return result


def run_all(args: argparse.Namespace, devices: list[str]) -> dict[str, Any]:
    rounds, repeats = (1, 2) if args.quick else (2, 3)
    rows = 200_000 if args.quick else args.rows
    window_rows = 20_000 if args.quick else args.window_rows
    results: dict[str, Any] = {"train": {}, "score": {}, "onnx": {}}
    for device in devices:
        for model in args.models:
            key = f"{model}@{device}"
            steps = 40 if model in ("conv1d", "dense") else 8
            spec = {"task": "train", "model": model, "device": device, "repeats": repeats}
            results["train"][key] = interleaved({**spec, "steps": steps}, rounds)
            print(f"train {key}: {_summary_line(results['train'][key], 'frames_s')}", flush=True)
            spec = {"task": "score", "model": model, "device": device, "repeats": repeats}
            spec.update(rows=rows, window_rows=window_rows)
            results["score"][key] = interleaved(spec, rounds)
            for path in ("convolutional", "windowed"):
                line = _summary_line(results["score"][key], path, "timesteps_s")
                print(f"score {key} {path}: {line}", flush=True)
    if not args.no_onnx:
        for model in args.models:
            spec = {"task": "onnx", "model": model, "repeats": repeats, "n_single": 2000}
            results["onnx"][model] = interleaved(spec, rounds)
            print(f"onnx {model}: {_summary_line(results['onnx'][model], 'batch1_ms')}", flush=True)
    if not args.no_cli:
        results["cli"] = cli_detect(args.rows, rounds)
        print(f"cli: {results['cli']}", flush=True)
    return results


def _summary_line(children: dict[str, list[dict[str, Any]]], *keys: str) -> str:
    err = _errors(children)
    if err:
        return f"error: {err}"
    return "  ".join(f"{s} {common.fmt(_median(children[s], *keys), 4)}" for s in children)


# ------------------------------------------------------------------------------ reporting


def _cell(children: dict[str, list[dict[str, Any]]], setting: str, *keys: str, digits: int = 0):
    if _errors(children):
        return "error"
    return common.fmt(_median(children[setting], *keys), digits)


def markdown(report: dict[str, Any]) -> str:
    res = report["results"]
    parts = [
        common.header("seqae speed", report["machine"], report["command"], report["date"]),
        "Each cell: median over child processes and repeats; *default* = glibc's allocator "
        "settings, *tuned* = `MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_="
        "1000000000` in the child's environment (interleaved). torch threads: "
        f"{report['machine'].get('torch_threads')}.\n",
        f"## Training (frame {FRAME}, {CHANNELS} channels, batch {BATCH})\n",
        common.table(
            ["model@device", "params", "frames/s default", "frames/s tuned", "peak MiB"],
            [
                [
                    key,
                    common.fmt(_median(c["default"], "params"), 0),
                    _cell(c, "default", "frames_s"),
                    _cell(c, "tuned", "frames_s"),
                    _cell(c, "tuned", "peak_mib", digits=1),
                ]
                for key, c in res["train"].items()
            ],
        ),
        "\nPCA is fitted in closed form on 100,000 frames: its rate is frames fitted per second.\n",
        f"## Scoring (`Detector.score_samples`, {CHANNELS} channels, frame {FRAME}, step 1)\n",
    ]
    rows = []
    for key, c in res["score"].items():
        for path in ("convolutional", "windowed"):
            if _errors(c) or _median(c["default"], path, "rows") is None:
                if _errors(c) and path == "convolutional":
                    rows.append([key, path, "error", _errors(c), "", ""])
                continue
            rows.append(
                [
                    key,
                    path,
                    common.fmt(_median(c["default"], path, "rows"), 0),
                    _cell(c, "default", path, "timesteps_s"),
                    _cell(c, "tuned", path, "timesteps_s"),
                    _cell(c, "tuned", path, "peak_mib", digits=1),
                ]
            )
    parts.append(
        common.table(
            [
                "model@device",
                "path",
                "rows",
                "timesteps/s default",
                "timesteps/s tuned",
                "peak MiB",
            ],
            rows,
        )
    )
    if res.get("onnx"):
        parts += [
            "\n## ONNX (onnxruntime, CPU, one frame of 128 x 8)\n",
            common.table(
                [
                    "model",
                    "batch-1 ms default",
                    "batch-1 ms tuned",
                    "batch-1024 frames/s",
                    "export s",
                    "file KiB",
                ],
                [
                    [
                        m,
                        _cell(c, "default", "batch1_ms", digits=4),
                        _cell(c, "tuned", "batch1_ms", digits=4),
                        _cell(c, "tuned", "batch1024_frames_s"),
                        _cell(c, "default", "export_s", digits=1),
                        common.fmt((_median(c["default"], "file_bytes") or 0) / 1024, 0),
                    ]
                    for m, c in res["onnx"].items()
                ],
            ),
        ]
    cli = res.get("cli")
    if cli:
        parts.append("\n## `seqae detect` end to end\n")
        if "error" in cli:
            parts.append(f"Failed: {cli['error']} (`{cli.get('command')}`)")
        else:
            parts.append(
                f"`{cli['command']}` on {cli['rows']:,} rows x {CHANNELS} channels "
                f"({cli['csv_mib']:.0f} MiB CSV), saved conv1d model: median "
                f"{statistics.median(cli['default']):.2f} s default, "
                f"{statistics.median(cli['tuned']):.2f} s tuned (runs: {cli['default']} / "
                f"{cli['tuned']})."
            )
    parts += ["\n## Targets (this machine)\n", *targets_lines(report)]
    return "\n".join(parts)


def targets_lines(report: dict[str, Any]) -> list[str]:
    res, lines = report["results"], []

    def line(label: str, value: float | None, goal: float, higher: bool) -> None:
        if value is None:
            lines.append(f"- {label}: not measured")
            return
        met = value >= goal if higher else value <= goal
        op = ">=" if higher else "<="
        lines.append(
            f"- {label} {op} {goal:,g}: {value:,.4g} — {'met' if met else 'missed'}"
            + ("" if met else f" (by {abs(value - goal) / goal:.0%})")
        )

    def best(children: dict | None, *keys: str, higher: bool = True) -> float | None:
        if not children or _errors(children):
            return None
        vals = [_median(children[s], *keys) for s in ("default", "tuned")]
        vals = [v for v in vals if v is not None]
        return (max if higher else min)(vals) if vals else None

    line(
        "conv1d scoring timesteps/s (convolutional, CPU)",
        best(res["score"].get("conv1d@cpu"), "convolutional", "timesteps_s"),
        TARGETS["conv1d_scoring_timesteps_s"],
        True,
    )
    line(
        "conv1d training frames/s (CPU)",
        best(res["train"].get("conv1d@cpu"), "frames_s"),
        TARGETS["conv1d_training_frames_s"],
        True,
    )
    line(
        "conv1d ONNX batch-1 ms per frame",
        best(res.get("onnx", {}).get("conv1d"), "batch1_ms", higher=False),
        TARGETS["onnx_batch1_ms"],
        False,
    )
    cli = res.get("cli")
    cli_s = (
        min(statistics.median(cli["default"]), statistics.median(cli["tuned"]))
        if cli and "error" not in cli
        else None
    )
    line("seqae detect, 1,000,000 x 8 CSV, seconds", cli_s, TARGETS["cli_seconds"], False)
    lines.append("\n(The better of the two allocator settings is compared with each target.)")
    return lines


# ----------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the scored stream")
    p.add_argument("--window-rows", type=int, default=100_000, help="rows for windowed scoring")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--quick", action="store_true", help="one round, smaller streams")
    p.add_argument("--no-onnx", action="store_true")
    p.add_argument("--no-cli", action="store_true")
    p.add_argument("--name", default=None, help="results file name (default speed / speed-gpu)")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(RESULT_TAG + json.dumps(child(json.loads(args.child))), flush=True)
        return 0
    import torch

    devices = ["cpu"]
    if args.device in ("auto", "cuda") and torch.cuda.is_available():
        devices.append("cuda")
    if args.device == "cuda":
        devices = [d for d in devices if d == "cuda"] or devices
    t0 = time.perf_counter()
    report: dict[str, Any] = {"date": common.now(), "command": common.command_line()}
    report["results"] = run_all(args, devices)
    report["machine"] = common.machine()
    report["wall_s"] = time.perf_counter() - t0
    report["targets"] = TARGETS
    text = markdown(report)
    print()
    print(text)
    if not args.no_write:
        name = args.name or ("speed-gpu" if "cuda" in devices else "speed")
        path = common.write_results(name, text, report)
        print(f"\nwrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
