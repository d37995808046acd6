"""The runtime install (``pip install seqae``, no torch) runs the ONNX path as the full one does.

    .venv/bin/python .ci/edge_check.py EDGE_PYTHON     (``python dev.py edge`` builds and runs it)

Run with the full install's Python (``.venv``); EDGE_PYTHON is a fresh environment holding
``pip install .`` alone. Checks, each failing with a message:

1. none of the ``train`` extra's packages (torch, scikit-learn, scipy, ...) is importable there;
2. ``seqae detect DATA --model exported_models/conv1d_synthetic.onnx -o scores.csv --events
   events.json`` and ``seqae info`` work there, and the scores and events equal the full
   install's on the same file; ``OnnxDetector`` and ``detect_file`` give the same scores;
3. the same command in the full environment imports none of those packages (torch is
   installed there, so an import that slipped in would succeed silently);
4. asking to train there (``seqae train``, ``seqae detect DATA`` without a model,
   ``seqae.Detector``) fails with exit 2 and one line naming ``pip install 'seqae[train]'``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "exported_models" / "conv1d_synthetic.onnx"
TRAIN = ("torch", "sklearn", "scipy", "safetensors", "onnx", "onnxscript")
INSTALL = "pip install 'seqae[train]'"
EDGE = "\0"  # the runtime environment's folder, set by main()


def sh(*cmd: Any, expect: int | None = 0, cwd: Any = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if str(cmd[0]).startswith(EDGE):  # the installed copy alone, whatever PYTHONPATH says
        env.pop("PYTHONPATH", None)
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env)
    if expect is not None and done.returncode != expect:
        sys.exit(
            f"edge check: {' '.join(map(str, cmd))} exited {done.returncode}, not {expect}\n"
            f"{done.stdout}{done.stderr}"
        )
    return done


def same(a: Any, b: Any, where: str = "") -> None:
    """JSON values equal, numbers to 1e-6 (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            sys.exit(f"edge check: events differ at {where}: keys {sorted(a)} vs {sorted(b)}")
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            sys.exit(f"edge check: events differ at {where}: {len(a)} vs {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9):
            sys.exit(f"edge check: events differ at {where}: {a} vs {b}")
    elif a != b and where != ".source":
        sys.exit(f"edge check: events differ at {where}: {a!r} vs {b!r}")


def main(edge_python: str) -> int:
    import numpy as np
    import pandas as pd

    global EDGE
    edge_bin = Path(edge_python).absolute().parent
    EDGE = str(edge_bin.parent)
    full_bin = Path(sys.executable).absolute().parent
    look = f"import importlib.util as u; print([m for m in {TRAIN!r} if u.find_spec(m)])"
    found = sh(edge_bin / "python", "-c", look).stdout.strip()
    if found != "[]":
        sys.exit(f"edge check: the runtime install has {found}; it must have none of them")
    print(f"edge check: torch absent ({', '.join(TRAIN)}: none installed)")

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.csv"
        sh(full_bin / "seqae", "generate", data, "--rows", "20000", "--channels", "6",
           "--seed", "0")  # fmt: skip
        for name, folder in (("edge", edge_bin), ("full", full_bin)):
            sh(folder / "seqae", "detect", data, "--model", MODEL, "-o", f"{tmp}/{name}.csv",
               "--events", f"{tmp}/{name}.json", "-q")  # fmt: skip
        edge, full = pd.read_csv(f"{tmp}/edge.csv"), pd.read_csv(f"{tmp}/full.csv")
        pd.testing.assert_frame_equal(edge, full, check_exact=False, rtol=1e-6)
        events = json.loads(Path(f"{tmp}/edge.json").read_text())
        same(events, json.loads(Path(f"{tmp}/full.json").read_text()))
        print(
            f"edge check: seqae detect --model {MODEL.name}: {len(edge)} rows, "
            f"{events['n_events']} events, scores and events equal the full install's"
        )

        api = (
            "import sys, numpy as np; from seqae import OnnxDetector, detect_file; "
            f"r = detect_file(OnnxDetector({str(MODEL)!r}), {str(data)!r}); "
            f"np.save({tmp!r} + '/api.npy', np.asarray(r.scores)); import seqae; "
            "print(seqae.__file__)"
        )  # run in tmp: from the repository root, `python -c` would import the checkout's seqae
        where = sh(edge_bin / "python", "-c", api, cwd=tmp).stdout.strip()
        if not Path(where).is_relative_to(edge_bin.parent):
            sys.exit(f"edge check: the runtime environment imported seqae from {where}")
        if not np.allclose(np.load(f"{tmp}/api.npy"), edge["score"], rtol=1e-5, atol=1e-6):
            sys.exit("edge check: detect_file(OnnxDetector(...)) scores differ from the CLI's")
        info = sh(edge_bin / "seqae", "info", MODEL).stdout
        n_info = len(info.splitlines())
        print(f"edge check: OnnxDetector + detect_file equal; seqae info: {n_info} lines")

        # The full environment has torch: the ONNX path must still not import it.
        probe = (
            "import sys; from seqae.cli.main import cli\n"
            f"cli.main(['detect', {str(data)!r}, '--model', {str(MODEL)!r}, '-o', "
            f"{tmp!r} + '/probe.csv', '-q'], standalone_mode=False)\n"
            f"cli.main(['info', {str(MODEL)!r}], standalone_mode=False)\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({TRAIN!r})))"
        )
        loaded = sh(sys.executable, "-c", probe).stdout.strip().splitlines()[-1]
        if loaded != "[]":
            sys.exit(f"edge check: the ONNX path imported {loaded} in the full install")
        print("edge check: the ONNX path imports none of them in the full install either")

        asks = {
            "seqae train": [edge_bin / "seqae", "train", data, "-o", f"{tmp}/model"],
            "seqae detect (no model)": [edge_bin / "seqae", "detect", data, "-o", f"{tmp}/x.csv"],
            "seqae.Detector": [edge_bin / "python", "-c", "import seqae; seqae.Detector().fit"],
        }
        for what, cmd in asks.items():
            done = sh(*cmd, expect=None, cwd=tmp)
            lines = done.stderr.strip().splitlines()
            one = len(lines) == 1 if what.startswith("seqae ") else True  # Python: a traceback
            if done.returncode not in (1, 2) or not one or INSTALL not in lines[-1]:
                sys.exit(f"edge check: {what} without torch: exit {done.returncode}, {done.stderr}")
            if what.startswith("seqae ") and done.returncode != 2:
                sys.exit(f"edge check: {what} without torch exited {done.returncode}, not 2")
            print(f"edge check: {what} without torch (exit {done.returncode}): {lines[-1]}")
    size = sh("du", "-sh", Path(edge_python).parent.parent).stdout.split()[0]
    print(f"edge check: passed; the runtime environment takes {size} on disk (du -sh)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
