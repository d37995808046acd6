"""The zero-set-up path, run as a user runs it: `seqae detect FILE` with no model.

    python benchmarks/zero_setup.py               # seeds 0 1 2 -> results/zero-setup.*
    python benchmarks/zero_setup.py --seeds 7     # one seed
    python benchmarks/zero_setup.py --channels 1  # one channel -> results/zero-setup-1ch.*

For each seed, `seqae generate` writes the synthetic stream (20,000 rows, 6 channels unless
--channels says otherwise, one anomaly of each of its 6 kinds) and the same stream without
anomalies; `seqae detect FILE --events events.json` then trains the default detector on the
file itself and reports its events. Counted: how many of the 6 anomalies an event overlaps,
the share of events that overlap an anomaly (event precision), and the events raised on the
clean stream. Issue 14's targets: >= 5 of 6 found, event precision >= 0.8, <= 2 events on the
clean stream.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package

from seqae.scoring.events import labels_to_intervals

ROWS, CHANNELS = 20_000, 6


def seqae_command() -> list[str]:
    """The installed console script beside this Python, else ``python -m seqae.cli.main``."""
    script = shutil.which("seqae", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "seqae.cli.main"]


def run(*args: Any) -> subprocess.CompletedProcess:
    cmd = [*seqae_command(), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def events_of(path: Path) -> list[tuple[int, int]]:
    """``(start, end)`` row ranges of the events that ``seqae detect --events`` wrote."""
    return [(int(e["start"]), int(e["end"])) for e in json.loads(path.read_text())["events"]]


def one_seed(seed: int, folder: Path, channels: int = CHANNELS) -> dict[str, Any]:
    data, clean = folder / f"sensors-{seed}.csv", folder / f"clean-{seed}.csv"
    run("generate", data, "--rows", ROWS, "--channels", channels, "--seed", seed)
    run("generate", clean, "--rows", ROWS, "--channels", channels, "--seed", seed,
        "--anomalies", "none")  # fmt: skip
    truth = labels_to_intervals(pd.read_csv(data)["anomaly"].to_numpy())
    start = time.perf_counter()
    run("detect", data, "--events", folder / f"events-{seed}.json", "--quiet")
    seconds = time.perf_counter() - start
    found = events_of(folder / f"events-{seed}.json")
    run("detect", clean, "--events", folder / f"clean-events-{seed}.json", "--quiet")
    on_clean = events_of(folder / f"clean-events-{seed}.json")

    def overlaps(a: tuple[int, int], b: Sequence[int]) -> bool:
        return a[0] < b[1] and b[0] < a[1]

    hit = sum(any(overlaps(e, t) for e in found) for t in truth)
    correct = sum(any(overlaps(e, t) for t in truth) for e in found)
    return {
        "seed": seed,
        "anomalies": len(truth),
        "found": hit,
        "events": len(found),
        "event_precision": correct / len(found) if found else float("nan"),
        "clean_events": len(on_clean),
        "seconds": seconds,
    }


def markdown(report: dict[str, Any]) -> str:
    rows = [
        [r["seed"], f"{r['found']} / {r['anomalies']}", r["events"], r["event_precision"],
         r["clean_events"], r["seconds"]]
        for r in report["seeds"]
    ]  # fmt: skip
    mean = report["mean"]
    rows.append(
        ["mean", f"{mean['found']:.2f}", f"{mean['events']:.1f}", mean["event_precision"],
         f"{mean['clean_events']:.2f}", mean["seconds"]]
    )  # fmt: skip
    return "\n".join(
        [
            common.header(
                "seqae detect with no model (issue 14)",
                report["machine"],
                report["command"],
                report["date"],
            ),
            __doc__.split("\n\n", 2)[2].strip(),
            "",
            common.table(
                [
                    "seed",
                    "anomalies found",
                    "events",
                    "event precision",
                    "clean-stream events",
                    "detect s",
                ],
                rows,
            ),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--channels", type=int, default=CHANNELS, help="channels of the stream")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    if args.channels < 1:
        p.error(f"--channels must be >= 1, got {args.channels}")
    report: dict[str, Any] = {
        "machine": common.machine(),
        "command": common.command_line(),
        "date": common.now(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        report["seeds"] = [one_seed(seed, Path(tmp), args.channels) for seed in args.seeds]
    keys = ("found", "events", "event_precision", "clean_events", "seconds")
    report["mean"] = {k: float(np.nanmean([r[k] for r in report["seeds"]])) for k in keys}
    text = markdown(report)
    print(text)
    if not args.no_write:
        name = "zero-setup" if args.channels == CHANNELS else f"zero-setup-{args.channels}ch"
        print("wrote", common.write_results(name, text, report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
