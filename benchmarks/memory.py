"""Peak memory of ``seqae detect FILE --model M`` as the file grows: it should stay flat.

    OMP_NUM_THREADS=1 python benchmarks/memory.py                   # 1,000,000 and 5,000,000 rows
    OMP_NUM_THREADS=1 python benchmarks/memory.py --rows 100000 200000 --no-write   # a quick look

Writes a CSV of N rows x 8 channels (a time column, sines plus noise; generated in blocks, in a
temporary folder) for each N, trains a small conv1d Detector once on 20,000 rows of the same
signal, saves it and exports it to ONNX, then runs ``seqae detect CSV --model M`` for each file
and each model in a fresh child process. A child's peak resident set comes from
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by a tiny wrapper process around it, so
each number covers that one command alone. The target (issue 15): the peak grows by at most
20 % from the smallest to the largest file, for the saved model and for the ONNX export alike.

The file is read and scored in ``--chunk-size`` rows (the CLI's default unless given); what
still grows with the file is the ``(T,)`` per-row state kept for the summary and the events
(scores, labels: a few bytes per row).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package

CHANNELS = 8
FRAME = 64
BLOCK = 250_000  # rows generated and written at a time
TARGET_GROWTH = 0.20
# Runs one command and prints its peak RSS (KiB on Linux): RUSAGE_CHILDREN of a process whose
# only child is the command.
WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t0 = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "seconds = time.perf_counter() - t0\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "import json\n"
    "print(json.dumps({'rc': done.returncode, 'peak_kib': peak, 'seconds': seconds,\n"
    "                  'tail': (done.stderr or done.stdout).strip().splitlines()[-3:]}))\n"
)


def signal(start: int, rows: int, seed: int = 0) -> np.ndarray:
    """Rows ``[start, start + rows)`` of one long 8-channel stream: sines plus noise."""
    t = np.arange(start, start + rows, dtype=np.float64)[:, None]
    periods = np.array([50, 80, 130, 210, 340, 550, 890, 1440], dtype=np.float64)[:CHANNELS]
    rng = np.random.default_rng(seed + start)
    return (np.sin(2 * np.pi * t / periods) + 0.1 * rng.normal(size=(rows, CHANNELS))).astype(
        np.float32
    )


def write_csv(path: Path, rows: int) -> float:
    """A sensor CSV with a time column, written block by block; returns seconds taken."""
    import pandas as pd

    t0 = time.perf_counter()
    start_time = np.datetime64("2024-01-01T00:00:00")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for first in range(0, rows, BLOCK):
            n = min(BLOCK, rows - first)
            frame = pd.DataFrame(signal(first, n), columns=[f"sensor_{i}" for i in range(CHANNELS)])
            frame.insert(
                0, "time", start_time + np.arange(first, first + n).astype("timedelta64[s]")
            )
            frame.to_csv(fh, index=False, header=first == 0, float_format="%.5f")
    return time.perf_counter() - t0


def make_models(folder: Path) -> dict[str, Path]:
    """A small conv1d Detector, saved, and its ONNX export."""
    from seqae import Detector

    det = Detector(frame=FRAME, epochs=2, steps_per_epoch=16, random_state=0)
    det.fit(signal(0, 20_000, seed=1))
    det.save(folder / "model")
    det.export_onnx(folder / "model.onnx")
    return {"detector": folder / "model", "onnx": folder / "model.onnx"}


def measure(csv: Path, model: Path, chunk_size: int | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "seqae.cli.main", "detect", str(csv), "--model", str(model)]
    if chunk_size:
        cmd += ["--chunk-size", str(chunk_size)]
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_mib"] = result.pop("peak_kib") / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--chunk-size", type=int, default=None, help="default: the CLI's")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    when, info, command = common.now(), common.machine(), common.command_line()
    rows_out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models = make_models(folder)
        for rows in sorted(args.rows):
            csv = folder / f"sensors-{rows}.csv"
            write_s = write_csv(csv, rows)
            mib = csv.stat().st_size / 2**20
            print(f"wrote {rows:,} rows ({mib:.0f} MiB) in {write_s:.0f} s", flush=True)
            for kind, model in models.items():
                result = measure(csv, model, args.chunk_size)
                result.update(rows=rows, model=kind, csv_mib=mib)
                rows_out.append(result)
                print(
                    f"{kind:>8} {rows:>10,} rows: peak RSS {result['peak_mib']:.0f} MiB, "
                    f"{result['seconds']:.1f} s, exit {result['rc']}",
                    flush=True,
                )
                if result["rc"] not in (0, 1):
                    print("  " + " / ".join(result["tail"]), flush=True)
            csv.unlink()
    summary = {}
    for kind in ("detector", "onnx"):
        peaks = [r["peak_mib"] for r in rows_out if r["model"] == kind and r["rc"] in (0, 1)]
        if len(peaks) >= 2:
            growth = peaks[-1] / peaks[0] - 1
            summary[kind] = {"growth": growth, "met": growth <= TARGET_GROWTH}
    table = common.table(
        ["model", "rows", "CSV (MiB)", "peak RSS (MiB)", "seconds", "exit"],
        [
            [r["model"], f"{r['rows']:,}", r["csv_mib"], r["peak_mib"], r["seconds"], r["rc"]]
            for r in rows_out
        ],
        digits=0,
    )
    verdict = "\n".join(
        f"- {kind}: peak RSS {s['growth']:+.1%} from {min(args.rows):,} to {max(args.rows):,} "
        f"rows: target (<= +{TARGET_GROWTH:.0%}) {'met' if s['met'] else 'missed'}"
        for kind, s in summary.items()
    )
    chunk = f" --chunk-size {args.chunk_size}" if args.chunk_size else ""
    cli = f"seqae detect sensors-N.csv --model M{chunk}"
    markdown = (
        common.header("Peak memory of seqae detect (issue 15)", info, command, when)
        + f"- Each run: `{cli}` in a fresh process, M a saved conv1d Detector (frame {FRAME}) "
        "or its ONNX export; peak RSS by getrusage(RUSAGE_CHILDREN) of a wrapper process.\n"
        + f"- Environment: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}. The "
        "machine is shared with other work (2 cores, other jobs running): timings are "
        "indicative; peak RSS hardly depends on the load.\n\n" + table + "\n\n" + verdict + "\n"
    )
    print("\n" + markdown)
    if not args.no_write:
        data = {"date": when, "machine": info, "command": command, "cli": cli}
        data["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
        data.update(runs=rows_out, summary=summary, target_growth=TARGET_GROWTH)
        print(common.write_results("memory", markdown, data))


if __name__ == "__main__":
    main()
