"""Set up a development environment and run seqae's main jobs. Needs only Python >= 3.10.

    python dev.py demo    # venv + install, generate sensors.csv, seqae detect on it
    python dev.py test    # venv + install, run the tests (the slow ones too with --all)
    python dev.py setup   # venv + install only
    python dev.py edge    # a fresh .venv-edge with the runtime install alone (no torch): the
                          # ONNX path end to end, equal to the full install's output

The virtual environment lives in ``.venv/``. torch is pinned to 2.13.0 there (on CI machines a
CPU build of exactly that version is served locally; an unpinned torch would pull gigabytes of
CUDA packages). The editable install is refreshed whenever pyproject.toml or the set of files
under seqae/, cli/ or datasets/ changes (strict editable installs link file by file).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
TORCH = "torch==2.13.0"
STAMP = VENV / ".seqae-install-stamp"


def run(*cmd: str | Path, check: bool = True, extra_env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    # The venv's bin/ first on PATH, as if activated: tests and the demo call `seqae` by name.
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    env.update(extra_env or {})
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check, env=env).returncode


def _install_key() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for folder in ("seqae", "cli", "datasets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
    return digest.hexdigest()


def setup() -> None:
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    key = _install_key()
    if STAMP.exists() and STAMP.read_text() == key:
        return
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    probe = "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')"
    if subprocess.run([str(PY), "-c", probe], capture_output=True).returncode != 0:
        run(*pip, TORCH)
    run(*pip, "-e", ".[train,dev,plot,dask]", "--config-settings", "editable_mode=strict")
    STAMP.write_text(key)


def demo() -> int:
    setup()
    (ROOT / "demo-out").mkdir(exist_ok=True)
    seqae = BIN / "seqae"
    data = "demo-out/sensors.csv"  # relative to ROOT, where run() works, so the output reads well
    run(seqae, "generate", data, "--rows", "20000", "--channels", "6", "--seed", "7")
    # No model given: detect trains the default detector on the file itself, then scores it.
    events = ("--events", "demo-out/events.json")
    return run(seqae, "detect", data, "--output", "demo-out/scores.csv", *events, check=False)


def test(args: list[str]) -> int:
    """pytest with ``args``; the tests marked slow only with ``--all`` (as CI runs them).

    The default run spreads over the machine's cores (pytest-xdist, ``-n auto``, one thread per
    worker: torch's own threads would oversubscribe the cores and run slower than one process)
    unless ``args`` choose otherwise; ``--all`` runs in one process, as the subprocess, Dask,
    Spark and DDP tests among the slow ones start servers and workers of their own.
    """
    setup()
    env: dict[str, str] = {}
    if "--all" in args:
        args = [a for a in args if a != "--all"]
    else:
        spread = not any(a == "-n" or a.startswith("-n") for a in args)
        if spread:
            env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        args = ["-m", "not slow", *(["-n", "auto"] if spread else []), *args]
    return run(PY, "-m", "pytest", *args, check=False, extra_env=env)


def edge() -> int:
    """Build ``.venv-edge`` afresh with ``pip install .`` (the runtime alone) and check it.

    Runs ``.ci/edge_check.py`` with both interpreters: torch absent, the ONNX path from a file
    to scores and events, the same output as the full install, one line for asking to train.
    """
    setup()
    edge_venv = ROOT / ".venv-edge"
    venv.EnvBuilder(with_pip=True, clear=True).create(edge_venv)
    edge_py = edge_venv / BIN.name / PY.name
    # --no-compile: no byte code for modules an edge service never imports (pandas' tests)
    run(edge_py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-compile", ".")
    return run(PY, ".ci/edge_check.py", edge_py, check=False)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("setup", "demo", "test", "edge"):
        print(__doc__)
        return 2
    if argv[0] == "setup":
        setup()
        return 0
    if argv[0] == "edge":
        return edge()
    return demo() if argv[0] == "demo" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
