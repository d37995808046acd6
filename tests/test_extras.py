"""The runtime install (``pip install seqae``: numpy, onnxruntime, pandas, click; no torch).

A fresh environment with that install alone is built and checked end to end by
``python dev.py edge`` (CI runs it). Here, in the full environment, a finder that refuses the
``train`` extra's packages stands in for their absence, and a subprocess whose imports are
watched shows that the ONNX path loads none of them even where they are installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "exported_models" / "conv1d_synthetic.onnx"
TRAIN = ("torch", "sklearn", "scipy", "safetensors", "onnx", "onnxscript")
INSTALL = "pip install 'seqae[train]'"

# Makes the train extra's packages unimportable in this interpreter, as in a runtime install.
WITHOUT_TRAIN = f"""
import sys
class _NoTrain:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {TRAIN!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _NoTrain())
"""


def python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from seqae.datasets import make_sensor_stream

    path = tmp_path_factory.mktemp("edge") / "data.csv"
    make_sensor_stream(n_timesteps=3000, n_channels=6, random_state=0).to_frame().to_csv(path)
    return path


def cli(args: list[str], cwd: Path, blocked: bool = True) -> subprocess.CompletedProcess[str]:
    code = (WITHOUT_TRAIN if blocked else "") + (
        f"from seqae.cli.main import cli\ncli.main({[str(a) for a in args]!r}, prog_name='seqae')\n"
    )
    return python(code, cwd)


def test_base_dependencies_leave_training_to_the_train_extra():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {d.split(">")[0].split("=")[0].strip() for d in project["dependencies"]}
    assert base == {"numpy", "pandas", "click", "onnxruntime"}
    train = {d.split(">")[0].strip() for d in project["optional-dependencies"]["train"]}
    assert train == {"torch", "scipy", "scikit-learn", "onnx", "onnxscript", "safetensors"}


def test_onnx_path_imports_nothing_of_the_train_extra(data, tmp_path):
    code = (
        "import sys\nfrom seqae.cli.main import cli\n"
        f"cli.main(['detect', {str(data)!r}, '--model', {str(MODEL)!r}, '-o', 'scores.csv', "
        "'--events', 'events.json', '-q'], standalone_mode=False)\n"
        f"cli.main(['info', {str(MODEL)!r}], standalone_mode=False)\n"
        "from seqae import OnnxDetector, detect_file\n"
        f"detect_file(OnnxDetector({str(MODEL)!r}), {str(data)!r})\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({TRAIN!r})))\n"
    )
    done = python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "scores.csv").stat().st_size > 0
    assert (tmp_path / "events.json").stat().st_size > 0


def test_onnx_path_runs_where_training_packages_are_missing(data, tmp_path):
    done = cli(["detect", data, "--model", MODEL, "-o", "scores.csv", "-q"], tmp_path)
    assert done.returncode == 0, done.stderr
    with_train = cli(["detect", data, "--model", MODEL, "-o", "full.csv", "-q"], tmp_path, False)
    assert with_train.returncode == 0, with_train.stderr
    assert (tmp_path / "scores.csv").read_text() == (tmp_path / "full.csv").read_text()


@pytest.mark.parametrize(
    "args",
    [["train", "DATA", "-o", "model"], ["detect", "DATA", "-o", "scores.csv"]],
    ids=["train", "detect-without-model"],
)
def test_asking_to_train_without_torch_says_what_to_install(args, data, tmp_path):
    done = cli([data if a == "DATA" else a for a in args], tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: seqae {args[0]} needs torch") and INSTALL in lines[0]
    assert "torch" in lines[0]
    assert not (tmp_path / "model").exists() and not (tmp_path / "scores.csv").exists()


def test_detector_without_torch_is_an_import_error_that_names_the_extra(tmp_path):
    code = WITHOUT_TRAIN + (
        "import seqae\nfrom seqae.extras import MissingDependencyError\n"
        "try:\n    seqae.Detector().fit\n"
        "except MissingDependencyError as exc:\n"
        "    assert isinstance(exc, ImportError) and exc.name == 'torch', exc.name\n"
        "    print(exc)\n"
        "from seqae import NotFittedError\n"  # scikit-learn's bases without scikit-learn
        "assert issubclass(NotFittedError, ValueError)\n"
        "assert issubclass(NotFittedError, AttributeError)\n"
    )
    done = python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    assert "seqae.Detector" in line and INSTALL in line
    assert "torch, scikit-learn, scipy, safetensors" in line


def test_other_missing_modules_are_not_disguised():
    from seqae.extras import missing_dependency

    assert missing_dependency(ModuleNotFoundError("x", name="pyarrow"), "seqae detect") is None
    assert missing_dependency(ValueError("torch"), "seqae detect") is None
    error = missing_dependency(ModuleNotFoundError("x", name="sklearn.metrics"), "seqae evaluate")
    assert str(error).startswith("seqae evaluate needs scikit-learn,") and INSTALL in str(error)
