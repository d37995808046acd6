"""Speed of seqae: training, scoring, ONNX inference, and ``seqae detect`` end to end.

    python benchmarks/speed.py                 # every model, CPU (and GPU when there is one)
    python benchmarks/speed.py --quick         # fewer repeats, smaller streams
    python benchmarks/speed.py --models conv1d --no-cli
    python benchmarks/speed.py --peers         # only: seqae's defaults against PyOD's AutoEncoder
    python benchmarks/speed.py --forward       # only: score_samples against the bare forward pass

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

``--forward`` runs only ``score_samples`` against the bare network's forward pass on the same
1,000,000 x 8 stream (conv1d, convolutional path): the network alone over the chunks and halo
the scorer uses (numpy to tensor, forward, nothing after), then ``score_samples`` (scaling,
errors, folding, smoothing and the drift line; no per-channel attribution) and ``detect``
(with it), interleaved for ``--rounds`` rounds in one process; it writes ``speed-forward.md`` /
``.json``. The ratio ``score_samples`` / forward (rows per second) is the share of the
network's speed that scoring keeps.

``--peers`` runs only the side-by-side comparison of issue 14 and writes ``speed-peers.md`` /
``.json``: the default ``Detector(random_state=0)``'s ``fit`` + ``score_samples`` against PyOD's
AutoEncoder with its defaults on 16-step stacked, standardised windows (``skab.py``'s
``PyodAutoEncoderMethod``; scores through ``decision_function`` only, as ``score_samples`` gives
scores only), on one SKAB file, a univariate stream and 200,000 x 8 rows. Each fit + score runs
in a fresh child process (default allocator settings, torch's default threads for both), the two
sides interleaved for ``--rounds`` rounds, the order swapped every other round; the time is taken
inside the child from just before ``fit`` to just after scoring (imports and data loading
excluded), and the child's whole wall time is reported beside it.
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

#: The shared datasets folder beside the checkout (SKAB under ``skab/``).
SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PEER_SIDES = ("seqae", "pyod")
#: ``--peers`` workloads: where the rows come from, the ``[start, stop)`` rows fitted and scored
#: (``None``: to the end), and whether a second, warm fit + score follows in the same child
#: (not on 200,000 rows, to keep the run short: there the one-off costs are a smaller share).
PEER_WORKLOADS: dict[str, dict[str, Any]] = {
    "skab-valve1-0": {
        "source": "skab",
        "file": "valve1/0",
        "fit": [0, 400],
        "score": [400, None],
        "warm": True,
    },
    "univariate": {
        "source": "stream",
        "rows": 5_750,
        "channels": 1,
        "fit": [0, 750],
        "score": [750, None],
        "warm": True,
    },
    "sensors-200k": {
        "source": "stream",
        "rows": 200_000,
        "channels": 8,
        "fit": [0, 20_000],
        "score": [0, None],
    },
}
#: ``--peers --quick``: the same three shapes, smaller (for trying the script out).
PEER_QUICK_WORKLOADS: dict[str, dict[str, Any]] = {
    "skab-valve1-0": {
        "source": "skab",
        "file": "valve1/0",
        "fit": [0, 400],
        "score": [400, 800],
        "warm": True,
    },
    "univariate": {
        "source": "stream",
        "rows": 1_750,
        "channels": 1,
        "fit": [0, 750],
        "score": [750, None],
        "warm": True,
    },
    "sensors-200k": {
        "source": "stream",
        "rows": 10_000,
        "channels": 8,
        "fit": [0, 1_000],
        "score": [0, None],
    },
}


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
        steps_per_epoch=4,
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
    from seqae.scoring.windowing import WindowSet
    from seqae.training.trainer import TrainConfig, train

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


def peer_data(workload: dict[str, Any]) -> tuple[Any, Any]:
    """The rows a ``--peers`` workload fits and scores."""
    if workload["source"] == "skab":
        import pandas as pd

        path = SHARED_DATASETS / "skab" / f"{workload['file']}.csv"
        frame = pd.read_csv(path, sep=";", index_col="datetime")
        values = frame.drop(columns=["anomaly", "changepoint"]).to_numpy()
    elif workload["source"] == "stream":
        from seqae.datasets import make_sensor_stream

        values = make_sensor_stream(workload["rows"], workload["channels"], random_state=0).values
    else:
        raise ValueError(f"unknown workload source {workload['source']!r}")
    return values[slice(*workload["fit"])], values[slice(*workload["score"])]


def _peer_once(side: str, train: Any, test: Any) -> tuple[float, float, Any, dict[str, Any]]:
    """Fit ``side`` on ``train``, score ``test``: fit and score seconds, scores, settings."""
    if side == "seqae":
        from seqae import Detector

        det = Detector(random_state=0)  # the library's defaults
        t0 = time.perf_counter()
        det.fit(train)
        t1 = time.perf_counter()
        scores = det.score_samples(test)
        t2 = time.perf_counter()
        h = det.history_
        details = {
            "model": det.model,
            "frame": det.frame,
            "epochs_run": len(h["epochs"]),
            "max_epochs": h.get("max_epochs", det.epochs),
            "stopped_early": h["stopped_early"],
            "scoring": det.scorer.spec.mode,
        }
    elif side == "pyod":
        import skab  # benchmarks/ is on sys.path (above)

        method = skab.PyodAutoEncoderMethod(seed=0)
        t0 = time.perf_counter()
        method.fit(train)
        t1 = time.perf_counter()
        # scores only, like score_samples (PyOD's predict would score a second time)
        scores = method.model.decision_function(
            skab.stacked_windows(method.scale(test), method.width)
        )
        t2 = time.perf_counter()
        m = method.model
        details = {
            "window": method.width,
            "epoch_num": m.epoch_num,
            "batch_size": m.batch_size,
            "hidden_neuron_list": list(m.hidden_neuron_list),
        }
    else:
        raise ValueError(f"unknown side {side!r}")
    return t1 - t0, t2 - t1, scores, details


def task_peer(side: str, workload: dict[str, Any]) -> dict[str, Any]:
    """One fit + score of ``side`` on ``workload``, timed without imports or data loading.

    With ``workload["warm"]`` a second fit + score follows in the same process (a new model on
    the same rows): the one-off costs of a fresh process (lazy imports inside the libraries,
    numba's compilation in PyOD's scoring, first-call set-up) are in the first only.
    """
    import numpy as np
    import torch

    train, test = peer_data(workload)
    if side == "seqae":
        import seqae.detector  # noqa: F401  (imported here, not inside the timed fit)
    elif side == "pyod":
        import pyod.models.auto_encoder  # noqa: F401
        import skab  # noqa: F401
    before = set(sys.modules)
    fit_s, score_s, scores, details = _peer_once(side, train, test)
    scores = np.asarray(scores)
    lazy = sorted(set(sys.modules) - before)
    record: dict[str, Any] = {
        "side": side,
        "seconds": fit_s + score_s,
        "fit_s": fit_s,
        "score_s": score_s,
        "rows_fit": len(train),
        "rows_scored": len(test),
        "channels": int(train.shape[1]),
        "n_scores": int(scores.shape[0]),
        "scores_finite": bool(np.isfinite(scores).all()),
        "torch_threads": torch.get_num_threads(),
        "modules_imported_while_timed": len(lazy),
        "packages_imported_while_timed": sorted({m.split(".")[0] for m in lazy}),
        "details": details,
    }
    if workload.get("warm"):
        fit_s, score_s, _, _ = _peer_once(side, train, test)
        record.update(warm_seconds=fit_s + score_s, warm_fit_s=fit_s, warm_score_s=score_s)
    return record


def task_forward(rows: int, rounds: int) -> dict[str, Any]:
    """Rows per second of the bare forward pass, ``score_samples`` and ``detect`` (conv1d)."""
    import numpy as np
    import torch

    det = _detector("conv1d", "cpu")
    spec = det.scorer.spec
    x = _stream(rows)
    model = det.model_

    def forward() -> None:
        with torch.inference_mode():
            for start in range(0, rows, spec.chunk):
                stop = min(start + spec.chunk, rows)
                lo, hi = max(0, start - spec.halo), min(rows, stop + spec.halo)
                model(torch.from_numpy(np.ascontiguousarray(x[None, lo:hi])))

    runs = {
        "forward": forward,
        "score_samples": lambda: det.score_samples(x),
        "detect": lambda: det.detect(x),
    }
    det.score_samples(x[: 10 * FRAME])  # warm-up: allocator, kernels, threads
    det.detect(x[: 10 * FRAME])
    with torch.inference_mode():
        model(torch.from_numpy(np.ascontiguousarray(x[None, : 10 * FRAME])))
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            rates[name].append(rows / (time.perf_counter() - t0))
    median = {name: statistics.median(r) for name, r in rates.items()}
    return {
        "rows": rows,
        "channels": CHANNELS,
        "scoring": spec.mode,
        "threads": torch.get_num_threads(),
        "rows_s": rates,
        "median_rows_s": median,
        "score_samples_vs_forward": median["score_samples"] / median["forward"],
        "detect_vs_forward": median["detect"] / median["forward"],
    }


def main_forward(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    report: dict[str, Any] = {"date": common.now(), "command": common.command_line()}
    report["results"] = result = task_forward(args.rows, args.rounds or 3)
    report["machine"] = common.machine()
    report["wall_s"] = time.perf_counter() - t0
    med = result["median_rows_s"]
    text = "\n".join(
        [
            "# score_samples against the bare forward pass\n",
            f"{result['rows']:,} x {result['channels']} rows, conv1d ({result['scoring']}), "
            f"{result['threads']} torch threads, median of {len(result['rows_s']['forward'])} "
            f"rounds; `{report['command']}`\n",
            "| path | rows/s | share of the forward pass |",
            "|---|---:|---:|",
            *(f"| {name} | {med[name]:,.0f} | {med[name] / med['forward']:.2f} |" for name in med),
        ]
    )
    print(text)
    if not args.no_write:
        path = common.write_results(args.name or "speed-forward", text, report)
        print(f"\nwrote {path} and {path.with_suffix('.json')}")
    return 0


def child(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["task"]
    if kind == "peer":
        return task_peer(spec["side"], spec["workload"])
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


def interleaved(
    spec: dict[str, Any],
    rounds: int,
    sides: dict[str, tuple[dict[str, Any], bool]] | None = None,
    alternate: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Children alternating default and tuned allocator settings, or the given ``sides``.

    ``sides`` maps a name to (what it adds to ``spec``, tuned allocator or not); ``alternate``
    swaps the order every other round (A B, B A, ...) so that neither side always runs first.
    Each record gets ``child_wall_s``: the child's whole wall time, start and imports included.
    """
    sides = sides or {"default": ({}, False), "tuned": ({}, True)}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for r in range(rounds):
        names = list(sides)
        for name in reversed(names) if alternate and r % 2 else names:
            extra, tuned = sides[name]
            t0 = time.perf_counter()
            record = run_child({**spec, **extra}, tuned)
            record["child_wall_s"] = time.perf_counter() - t0
            out[name].append(record)
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


def pyod_missing() -> str | None:
    """Why the PyOD side cannot run here (None: it can); skab.py's check."""
    import skab  # benchmarks/ is on sys.path (above)

    return skab.pyod_missing()


def run_peers(args: argparse.Namespace, done: Any = None) -> dict[str, Any]:
    """``--peers``: each workload's seqae and PyOD children, interleaved, and their summary.

    ``done(results)`` is called after each workload (the results files are written then, so a
    run cut short keeps the workloads it finished).
    """
    workloads = PEER_QUICK_WORKLOADS if args.quick else PEER_WORKLOADS
    rounds = args.rounds or (1 if args.quick else 5)
    why = pyod_missing()
    if why:
        print(f"skipped the PyOD side: {why}", file=sys.stderr)
    names = [s for s in PEER_SIDES if s != "pyod" or not why]
    sides = {name: ({"side": name}, False) for name in names}
    out: dict[str, Any] = {}
    for name, workload in workloads.items():
        load_before = list(os.getloadavg())
        children = interleaved({"task": "peer", "workload": workload}, rounds, sides, True)
        out[name] = {
            "workload": workload,
            "rounds": rounds,
            "load_avg_before": load_before,
            "load_avg_after": list(os.getloadavg()),
            "children": children,
            "summary": peer_summary(children),
        }
        print(f"{name}: {_peer_line(out[name]['summary'])}", flush=True)
        if done is not None:
            done(out)
    return out


def peer_summary(children: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Min / median / max of each side's fit + score seconds, and the median ratio."""
    out: dict[str, Any] = {}
    for side in PEER_SIDES:
        runs = [c for c in children.get(side, []) if "error" not in c]
        errors = [c["error"] for c in children.get(side, []) if "error" in c]
        if side not in children:
            out[side] = {"missing": "pyod is not installed"}
            continue
        if not runs:
            out[side] = {"error": errors[0] if errors else "no runs"}
            continue
        secs = [c["seconds"] for c in runs]
        out[side] = {
            "runs": len(runs),
            "errors": errors,
            "min_s": min(secs),
            "median_s": statistics.median(secs),
            "max_s": max(secs),
            "fit_s": statistics.median(c["fit_s"] for c in runs),
            "score_s": statistics.median(c["score_s"] for c in runs),
            "child_wall_s": statistics.median(c["child_wall_s"] for c in runs),
            "rows_fit": runs[0]["rows_fit"],
            "rows_scored": runs[0]["rows_scored"],
            "channels": runs[0]["channels"],
            "torch_threads": sorted({c["torch_threads"] for c in runs}),
            "scores_finite": all(c["scores_finite"] for c in runs),
            "packages_imported_while_timed": sorted(
                {p for c in runs for p in c.get("packages_imported_while_timed", [])}
            ),
            "details": runs[0]["details"],
        }
        warm = [c["warm_seconds"] for c in runs if "warm_seconds" in c]
        if warm:
            out[side].update(
                warm_min_s=min(warm),
                warm_median_s=statistics.median(warm),
                warm_max_s=max(warm),
                warm_fit_s=statistics.median(c["warm_fit_s"] for c in runs),
                warm_score_s=statistics.median(c["warm_score_s"] for c in runs),
            )
    for prefix in ("", "warm_"):
        a, b = out["seqae"].get(f"{prefix}median_s"), out["pyod"].get(f"{prefix}median_s")
        out[f"{prefix}ratio"] = a / b if a is not None and b else None
    out["met"] = out["ratio"] <= 1.0 if out["ratio"] is not None else None
    return out


def _peer_line(summary: dict[str, Any]) -> str:
    parts = []
    for side in PEER_SIDES:
        s = summary[side]
        if "median_s" in s:
            parts.append(f"{side} median {s['median_s']:.3f} s")
        else:
            parts.append(f"{side} {s.get('error') or s.get('missing')}")
    ratio = summary["ratio"]
    return "  ".join(parts) + (f"  ratio {ratio:.3f}" if ratio is not None else "")


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


def _spread(s: dict[str, Any], prefix: str = "") -> str:
    if f"{prefix}median_s" not in s:
        return s.get("error") or s.get("missing") or "–"
    low, mid, high = (s[f"{prefix}{k}_s"] for k in ("min", "median", "max"))
    return f"{low:.3f} / **{mid:.3f}** / {high:.3f}"


def peers_markdown(report: dict[str, Any]) -> str:
    """``speed-peers.md``: one row per workload, then the split into fit and score."""
    res, info = report["results"]["peers"], report["machine"]
    threads = sorted({t for r in res.values() for s in PEER_SIDES for t in _threads(r, s)})
    loads = [r[k][0] for r in res.values() for k in ("load_avg_before", "load_avg_after")]
    rounds = sorted({r["rounds"] for r in res.values()})
    parts = [
        common.header(
            "seqae against PyOD's AutoEncoder: fit + score time",
            info,
            report["command"],
            report["date"],
        ),
        "The default `Detector(random_state=0)` (`fit` + `score_samples`) against PyOD's "
        "`AutoEncoder` with its defaults on 16-step stacked windows, standardised with the "
        "training rows' mean and std (`benchmarks/skab.py`'s `PyodAutoEncoderMethod`; scored "
        "with `decision_function` only, since `score_samples` gives scores only). Every fit + "
        "score runs in a fresh child process with the default allocator settings; the two sides "
        f"interleaved for {', '.join(map(str, rounds))} round(s), the order swapped every other "
        "round. Seconds are taken inside the child from just before `fit` to just after "
        "scoring (imports and data loading excluded); *child s* is the child's whole wall time "
        "(interpreter start, imports, data loading included). torch threads in the children: "
        f"{', '.join(map(str, threads)) or '–'} (torch's default, the same for both sides; the "
        f"parent's: {info.get('torch_threads')}). 1-minute load average over the run: "
        f"{min(loads):.2f} to {max(loads):.2f}.\n",
        "## Fit + score seconds (min / **median** / max)\n",
        common.table(
            [
                "workload",
                "rows fitted",
                "rows scored",
                "channels",
                "seqae s",
                "PyOD AE s",
                "median ratio seqae / PyOD",
                "target: ratio <= 1",
            ],
            [
                [
                    name,
                    _first(r["summary"], "rows_fit"),
                    _first(r["summary"], "rows_scored"),
                    _first(r["summary"], "channels"),
                    _spread(r["summary"]["seqae"]),
                    _spread(r["summary"]["pyod"]),
                    common.fmt(r["summary"]["ratio"], 3),
                    {True: "met", False: "missed", None: "not measured"}[r["summary"]["met"]],
                ]
                for name, r in res.items()
            ],
        ),
        "\n## Medians split into fit and score\n",
        common.table(
            [
                "workload",
                "side",
                "fit s",
                "score s",
                "child s",
                "runs",
                "settings",
                "imported while timed",
            ],
            [
                [
                    name,
                    side,
                    common.fmt(s.get("fit_s"), 3),
                    common.fmt(s.get("score_s"), 3),
                    common.fmt(s.get("child_wall_s"), 2),
                    common.fmt(s.get("runs")),
                    _settings(s.get("details") or {}),
                    ", ".join(s.get("packages_imported_while_timed", [])) or "–",
                ]
                for name, r in res.items()
                for side in PEER_SIDES
                for s in [r["summary"][side]]
            ],
        ),
        "\n*imported while timed*: packages the libraries imported lazily inside `fit` or "
        "scoring (the first fit + score in a fresh process pays for them, and for numba's "
        "compilation of PyOD's distance function).\n",
    ]
    warm = {n: r for n, r in res.items() if r["summary"].get("warm_ratio") is not None}
    if warm:
        parts += [
            "## Second fit + score in the same child (warm), min / **median** / max\n",
            "A new model on the same rows after the first: one-off costs of a fresh process "
            "left out. Not run on the 200,000-row workload.\n",
            common.table(
                [
                    "workload",
                    "seqae s",
                    "PyOD AE s",
                    "median ratio seqae / PyOD",
                    "seqae fit / score s",
                    "PyOD fit / score s",
                ],
                [
                    [
                        name,
                        _spread(r["summary"]["seqae"], "warm_"),
                        _spread(r["summary"]["pyod"], "warm_"),
                        common.fmt(r["summary"]["warm_ratio"], 3),
                        _fit_score(r["summary"]["seqae"]),
                        _fit_score(r["summary"]["pyod"]),
                    ]
                    for name, r in warm.items()
                ],
            ),
            "",
        ]
    parts.append("## Targets (this machine)\n")
    for name, r in res.items():
        ratio = r["summary"]["ratio"]
        if ratio is None:
            parts.append(f"- {name}: not measured")
        else:
            verdict = "met" if ratio <= 1 else f"missed (seqae {ratio - 1:.0%} slower)"
            if r["summary"].get("warm_ratio") is not None:
                verdict += (
                    f"; second fit + score in the same child {r['summary']['warm_ratio']:.3f}"
                )
            parts.append(f"- {name}, median fit + score seqae / PyOD <= 1: {ratio:.3f} — {verdict}")
    return "\n".join(parts)


def _fit_score(s: dict[str, Any]) -> str:
    return f"{s['warm_fit_s']:.3f} / {s['warm_score_s']:.3f}"


def _threads(result: dict[str, Any], side: str) -> list[int]:
    return result["summary"][side].get("torch_threads", [])


def _first(summary: dict[str, Any], key: str) -> Any:
    for side in PEER_SIDES:
        if key in summary[side]:
            return summary[side][key]
    return None


def _settings(details: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {'/'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in details.items()
    )


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
    p.add_argument(
        "--peers", action="store_true", help="only seqae's defaults against PyOD's AutoEncoder"
    )
    p.add_argument(
        "--forward", action="store_true", help="only score_samples against the forward pass"
    )
    p.add_argument(
        "--rounds", type=int, help="--peers: children per side (default 5); --forward: rounds (3)"
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(RESULT_TAG + json.dumps(child(json.loads(args.child))), flush=True)
        return 0
    import torch

    if args.peers:
        return main_peers(args)
    if args.forward:
        return main_forward(args)
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


def main_peers(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    report: dict[str, Any] = {"date": common.now(), "command": common.command_line()}
    report["load_avg_start"] = list(os.getloadavg())

    def finish(results: dict[str, Any]) -> str:
        report["results"] = {"peers": results}
        report["machine"] = common.machine()
        report["wall_s"] = time.perf_counter() - t0
        text = peers_markdown(report)
        if not args.no_write:
            common.write_results(args.name or "speed-peers", text, report)
        return text

    text = finish(run_peers(args, done=finish))
    print()
    print(text)
    if not args.no_write:
        path = common.RESULTS / f"{args.name or 'speed-peers'}.md"
        print(f"\nwrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
