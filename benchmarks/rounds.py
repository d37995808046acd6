"""The selection rule of suite-rounds.md (round 10 on), over results files of the suite.

    python benchmarks/rounds.py benchmarks/results/suite-round10-{dev,wide,short}.json

A round may run its development tracks in several suite runs (``--datasets skab smd synthetic``,
``--datasets wide``, ``--datasets short --quick``); this reads their results files, merges them
by dataset and prints each candidate's criterion: the mean over the five development tracks
(SMD, SKAB, synthetic, wide, short) of (VUS-PR + point F1) / 2, minus the SKAB anomaly-free
false-alarm share above 5 % (in points: 8 % costs 0.03). Candidates missing a track are listed
without a criterion.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

TRACKS = ("smd", "skab", "synthetic", "wide", "short")
FREE_FAR = 5.0


def merge(paths: Sequence[Path]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``runs[dataset][method]`` of every file (a later file's run of the same pair wins)."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for path in paths:
        for ds, by in json.loads(Path(path).read_text())["runs"].items():
            runs.setdefault(ds, {}).update(by)
    return runs


def criterion_rows(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[list[Any]]:
    """Per candidate: (VUS-PR + F1) / 2 per track, the anomaly-free FAR, the criterion."""
    methods = list(dict.fromkeys(m for ds in TRACKS for m in runs.get(ds, {})))
    rows = []
    for m in methods:
        parts = [runs.get(ds, {}).get(m) for ds in TRACKS]
        per = [common.rule_value(p) if p else None for p in parts]
        far = common.rule_free_far(runs.get("skab", {}).get(m) or [])
        score = None
        if all(v is not None for v in per) and far is not None:
            score = float(np.mean(per)) - max(0.0, far - FREE_FAR) / 100
        rows.append([m, *per, far, score])
    return sorted(rows, key=lambda r: -1 if r[-1] is None else r[-1], reverse=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", type=Path, help="suite results files (.json)")
    args = p.parse_args(argv)
    rows = criterion_rows(merge(args.results))
    print(common.table(["candidate", *TRACKS, "anomaly-free FAR %", "criterion"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
