"""The layout promises of DESIGN.md: one import package, ``seqae``, and nothing generic on sys.path.

``cli/`` and ``datasets/`` sit at the repository root without ``__init__.py`` and are mapped
to ``seqae.cli`` / ``seqae.datasets``. These tests run Python in subprocesses, so what they
see is a fresh interpreter's view of the source tree or of the installed package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAPPED = ("cli", "datasets")  # folder at the repo root -> seqae.<folder>
DATASET_EXPORTS = {  # public name -> module inside datasets/
    "SensorData": "sensors",
    "read_sensors": "sensors",
    "iter_sensor_chunks": "sensors",
    "sensors_from_frame": "sensors",
    "find_label_columns": "sensors",
    "make_sensor_stream": "synthetic",
    "SyntheticStream": "synthetic",
    "load_skab": "skab",
    "SkabExperiment": "skab",
    "load_nab": "nab",
    "fetch_benchmark_data": "benchmark",
    "fetch_skab": "benchmark",
    "fetch_smd": "benchmark",
    "fetch_asd": "benchmark",
    "fetch_mgab": "benchmark",
    "fetch_tep": "benchmark",
    "ImageSet": "images",
    "load_digits": "images",
    "load_mnist": "images",
    "read_images": "images",
}
# modules that must stay importable without torch (DESIGN.md, "Rules of the house")
TORCH_FREE = (
    "seqae",
    "seqae.errors",
    "seqae.scoring.windowing",
    "seqae.scoring.core",  # the scoring loops and detector surface of Detector and OnnxDetector
    "seqae.files.runtime",
    "seqae.scoring.events",
    "seqae.metrics",
    "seqae.scoring.thresholds",
    "seqae.scale.streaming",  # the overlap rule, also on Spark executors that have only onnxruntime
    "seqae.scale.distributed",
    "seqae.datasets.sensors",
    "seqae.datasets.synthetic",
)


def run_python(code: str, cwd: Path, pythonpath: list[Path] | None = None):
    """Run ``python -c code`` in a clean environment; ``-c`` puts ``cwd`` first on sys.path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


# ---------------------------------------------------------------- (a) no shadowing


@pytest.mark.parametrize("folder", MAPPED)
def test_mapped_folders_have_no_init(folder):
    assert (REPO / folder).is_dir()
    assert not (REPO / folder / "__init__.py").exists()


@pytest.mark.parametrize("folder", MAPPED)
def test_repo_root_never_shadows_a_real_package(folder, tmp_path):
    fake = tmp_path / "site" / folder
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("FAKE = True\n")
    code = (
        "import sys\n"
        f"assert sys.path[0] in ('', {str(REPO)!r}), sys.path[:2]\n"  # repo root is first
        f"import {folder}\n"
        f"print({folder}.__file__)\n"
        f"assert {folder}.FAKE is True\n"
    )
    proc = run_python(code, cwd=REPO, pythonpath=[tmp_path / "site"])
    assert_ok(proc)
    assert Path(proc.stdout.strip()) == fake / "__init__.py"


# ---------------------------------------------------------------- (b) lazy dataset exports

IMPORT_DATASETS = (
    "import seqae, seqae.datasets as d\n"
    f"names = {sorted(DATASET_EXPORTS)!r}\n"
    "assert sorted(d.__all__) == names, d.__all__\n"
    "from seqae.datasets import make_sensor_stream, read_sensors\n"
    "assert callable(make_sensor_stream) and callable(read_sensors)\n"
    "for name in names:\n"
    "    print(name, getattr(d, name).__module__)\n"
    "print('SEQAE', seqae.__file__)\n"
)


def _check_dataset_exports(proc: subprocess.CompletedProcess) -> Path:
    assert_ok(proc)
    lines = proc.stdout.strip().splitlines()
    modules = dict(line.split(" ", 1) for line in lines[:-1])
    assert modules == {k: f"seqae.datasets.{v}" for k, v in DATASET_EXPORTS.items()}
    return Path(lines[-1].split(" ", 1)[1])


def test_dataset_exports_from_source_tree():
    seqae_file = _check_dataset_exports(run_python(IMPORT_DATASETS, cwd=REPO))
    assert seqae_file == REPO / "seqae" / "__init__.py"


def test_dataset_exports_from_installed_package(tmp_path):
    seqae_file = _check_dataset_exports(run_python(IMPORT_DATASETS, cwd=tmp_path))
    assert not seqae_file.is_relative_to(tmp_path)


def test_unknown_dataset_name_is_an_import_error():
    proc = run_python("from seqae.datasets import no_such_loader", cwd=REPO)
    assert proc.returncode != 0
    assert "no_such_loader" in proc.stderr
    assert "ImportError" in proc.stderr


# ---------------------------------------------------------------- (c) no torch in pure modules


@pytest.mark.parametrize("module", TORCH_FREE)
def test_pure_modules_do_not_import_torch(module):
    code = (
        f"import sys, importlib\nimportlib.import_module({module!r})\n"
        "heavy = sorted(m for m in ('torch', 'onnx', 'onnxscript') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    assert_ok(run_python(code, cwd=REPO))


# ---------------------------------------------------------------- (d) console script


def test_console_script_help(tmp_path):
    # The script pip installed beside this interpreter (a venv's bin/), else the one on PATH:
    # a fresh machine has no seqae on PATH unless the venv is activated.
    exe = shutil.which("seqae", path=str(Path(sys.executable).parent)) or shutil.which("seqae")
    assert exe is not None, "no seqae console script beside this Python or on PATH"
    proc = subprocess.run(
        [exe, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout and "seqae" in proc.stdout


# ---------------------------------------------------------------- (e) the wheel


def _copy_source(dest: Path) -> Path:
    """Copy what a build reads, so building never writes build/ or *.egg-info into the repo."""
    dest.mkdir()
    for path in REPO.iterdir():
        if path.is_file() and (
            path.name in ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in")
            or path.name.startswith(("README", "LICENSE"))
        ):
            shutil.copy2(path, dest / path.name)
    for folder in ("seqae", *MAPPED):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = _copy_source(tmp / "src")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
         str(tmp / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = (tmp / "dist").glob("seqae-*.whl")
    return built


@pytest.mark.slow
def test_wheel_maps_cli_and_datasets_under_seqae(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "seqae/datasets/sensors.py" in names
    assert "seqae/cli/main.py" in names
    for folder in MAPPED:
        for py in (REPO / folder).glob("*.py"):
            assert f"seqae/{folder}/{py.name}" in names
        assert not [n for n in names if n.startswith(f"{folder}/")]
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"seqae"}
    (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["seqae"]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "seqae = seqae.cli.main:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_installed_wheel_exports_datasets(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target",
         str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (target / "datasets").exists() and not (target / "cli").exists()
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    seqae_file = _check_dataset_exports(run_python(IMPORT_DATASETS, run_dir, [target]))
    assert seqae_file == target / "seqae" / "__init__.py"
