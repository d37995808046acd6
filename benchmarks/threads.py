"""Training and scoring time of the default detector by torch thread count, idle and busy.

    python benchmarks/threads.py            # 3 rounds, 4 epochs (about 5-10 minutes)
    python benchmarks/threads.py --quick    # 2 rounds, 2 epochs, fits capped at 30 s (< 4 min)

Each measurement fits ``Detector(epochs=E, random_state=0, n_threads=N)`` on 10,000 x 4 rows
of ``make_sensor_stream`` and scores the same rows, for N = 1, 2, every usable CPU (when more
than 2) and None (auto: :func:`seqae.threads.choose_threads`). Two conditions: "idle" (no
process of this benchmark competing) and "busy" (one CPU-bound ``python -c 'while True:
pass'`` per usable CPU, started before and killed after each measurement). The conditions
alternate (idle, busy, idle, busy, ...) and the order of the thread counts within each runs
forwards in one round and backwards in the next, so slow spells of the machine fall on all
of them; each round gives auto's time over the best fixed
count's time in the same round and condition, and the results report the median of those
ratios. Target (issue 23): auto within 1.2x of the best count in both conditions.

Run it without ``OMP_NUM_THREADS`` (it would only change torch's starting count, which every
measurement sets anyway). Writes ``benchmarks/results/threads.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package

ROWS, CHANNELS = 10_000, 4
TARGET = 1.2
# CPU-bound, and gone with its parent (a benchmark killed before its cleanup leaves none)
SPIN = "import os\nparent = os.getppid()\nwhile os.getppid() == parent: pass"


class TooSlow(Exception):
    """A fit that ran past the cap: stopped, its time reported as at least the cap."""


@contextlib.contextmanager
def neighbours(n: int) -> Iterator[None]:
    """``n`` CPU-bound processes for the duration of the block (none when ``n`` is 0)."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]
    try:
        if procs:
            time.sleep(0.5)  # let them reach the run queue
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def measure(values: Any, n_threads: int | None, epochs: int, cap: float) -> dict[str, Any]:
    import torch

    from seqae import Detector

    seen: list[int] = []
    det = Detector(epochs=epochs, random_state=0, n_threads=n_threads)
    start = time.perf_counter()

    def watch(event: Any) -> None:
        seen.append(torch.get_num_threads())
        if time.perf_counter() - start > cap:
            raise TooSlow

    try:
        det.fit(values, callback=watch)
        stopped = False
    except TooSlow:
        stopped = True
    fit_s = time.perf_counter() - start
    score_s = 0.0
    if not stopped:
        start = time.perf_counter()
        det.score_samples(values)
        score_s = time.perf_counter() - start
    return {
        "fit_s": fit_s,
        "score_s": None if stopped else score_s,
        "total_s": fit_s + score_s,
        "stopped": stopped,
        "fit_threads": statistics.mode(seen) if seen else None,
        "running": open("/proc/loadavg").read().split()[3]
        if os.path.exists("/proc/loadavg")
        else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 epochs, 30 s cap")
    parser.add_argument("--rounds", type=int, help="rounds of idle + busy (default 3, quick 2)")
    parser.add_argument("--epochs", type=int, help="epochs per fit (default 4, quick 2)")
    parser.add_argument(
        "--cap", type=float, help="stop a fit after this many seconds (default 120, quick 30)"
    )
    parser.add_argument(
        "--note", default="", help="a line for the results file (the machine's state)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    epochs = args.epochs or (2 if args.quick else 4)
    cap = args.cap or (30.0 if args.quick else 120.0)

    import torch
    from seqae.datasets import make_sensor_stream

    from seqae.threads import available_cpus

    when, info, command = common.now(), common.machine(), common.command_line()
    cpus = available_cpus()
    counts: list[int | None] = sorted({1, 2, cpus})
    settings: list[int | None] = [*counts, None]
    values = make_sensor_stream(n_timesteps=ROWS, n_channels=CHANNELS, random_state=0).values
    measure(values[:2000], 1, 1, cap)  # warm-up: imports, first-call costs
    torch_default = torch.get_num_threads()

    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        for condition, busy in (("idle", 0), ("busy", cpus)):
            # forwards, then backwards: each setting follows a different one from round to round
            shift = (r // 2) % len(settings)
            order = settings[shift:] + settings[:shift]
            order = order if r % 2 == 0 else order[::-1]
            for n in order:
                with neighbours(busy):
                    result = measure(values, n, epochs, cap)
                runs.append({"round": r, "condition": condition, "threads": n, **result})
                name = "auto" if n is None else n
                print(
                    f"round {r + 1}/{rounds} {condition:4s} threads {name!s:4s}: fit "
                    f"{'>=' if result['stopped'] else '  '}{result['fit_s']:6.2f} s, score "
                    f"{result['score_s'] or 0:5.2f} s "
                    f"(fit on {result['fit_threads']}; running {result['running']})",
                    flush=True,
                )

    def label(n: int | None) -> str:
        return "auto" if n is None else str(n)

    def seconds(mine: list[dict[str, Any]], key: str) -> str:
        vals = [x[key] for x in mine if x[key] is not None]
        if not vals:
            return "–"
        stopped = key != "score_s" and any(x["stopped"] for x in mine)
        return f"{'>= ' if stopped else ''}{statistics.median(vals):.2f}"

    rows, verdicts, summary = [], [], {}
    for condition in ("idle", "busy"):
        ratios, bound, hits = [], False, 0
        for r in range(rounds):
            this = {
                x["threads"]: x for x in runs if x["round"] == r and x["condition"] == condition
            }
            best = min(counts, key=lambda n: this[n]["total_s"])
            ratios.append(this[None]["total_s"] / this[best]["total_s"])
            bound |= this[None]["stopped"]
            hits += this[None]["fit_threads"] == best
        for n in settings:
            mine = [x for x in runs if x["condition"] == condition and x["threads"] == n]
            picked = sorted({x["fit_threads"] for x in mine if x["fit_threads"] is not None})
            rows.append(
                [
                    condition,
                    label(n),
                    seconds(mine, "fit_s"),
                    seconds(mine, "score_s"),
                    seconds(mine, "total_s"),
                    ", ".join(map(str, picked)),
                ]
            )
        ratio = statistics.median(ratios)
        summary[condition] = {
            "auto_over_best": ratio,
            "per_round": ratios,
            "lower_bound": bound,
            "auto_ran_on_best_count": hits,
        }
        verdicts.append(
            f"- {condition}: auto / best fixed count = {'>= ' if bound else ''}{ratio:.2f} "
            f"(median of {rounds} round{'s' if rounds > 1 else ''}: "
            f"{', '.join(f'{x:.2f}' for x in ratios)}): target (<= {TARGET}) "
            f"{'met' if ratio <= TARGET and not bound else 'NOT met'}; auto trained on the "
            f"fastest count of that round in {hits} of {rounds}"
        )
    table = common.table(
        ["condition", "threads", "fit (s)", "score (s)", "total (s)", "fit ran on"],
        rows,
        digits=2,
    )
    print(table)
    print("\n".join(verdicts))
    if args.no_write:
        return 0
    markdown = "\n".join(
        [
            common.header("Torch threads, idle and busy (issue 23)", info, command, when),
            f"- Work: `Detector(epochs={epochs}, random_state=0, n_threads=N)` fitted on "
            f"{ROWS:,} x {CHANNELS} rows of `make_sensor_stream(random_state=0)`, then "
            "`score_samples` on the same rows; torch's own default here: "
            f"{torch_default} threads; usable CPUs (affinity, cgroup quota): {cpus}.",
            f"- Busy: {cpus} CPU-bound Python loops (`while os.getppid() == parent: pass`, one "
            "per usable CPU), "
            "started before and killed after each measurement. Idle: none of ours; other work "
            "on the machine is whatever it was (load average above).",
            f"- {rounds} round(s), conditions alternating, thread counts forwards then backwards; "
            "medians. "
            "'fit ran on': torch's thread count seen during the fit. '>=': a fit stopped "
            f"after {cap:.0f} s (--cap), its time a lower bound and its scoring not run.",
            *([f"- Note: {args.note}"] if args.note else []),
            "",
            table,
            "",
            *verdicts,
        ]
    )
    data = {"when": when, "machine": info, "command": command, "runs": runs, "summary": summary}
    print(common.write_results("threads", markdown, data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
