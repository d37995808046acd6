"""Every public module's examples run, and every public module has at least one.

Modules are found on disk (``seqae/`` and each of its subpackages, and the ``datasets/`` and
``cli/`` folders mapped into ``seqae.datasets`` / ``seqae.cli``), so a new module is checked without
being listed here. Examples use tiny data: a module's examples take well under a second,
except those listed in ``SLOW`` (they export ONNX files), which run with the slow tests.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
from pathlib import Path

import pytest

# Examples that export an ONNX file: seconds, so they run with --all.
SLOW = {"seqae.files.export", "seqae.files.runtime"}


def _folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    return Path(next(iter(spec.submodule_search_locations)))


def public_modules() -> list[str]:
    names = ["seqae"]
    subpackages = sorted(p.parent.name for p in _folder("seqae").glob("*/__init__.py"))
    for package in ("seqae", *(f"seqae.{s}" for s in subpackages), "seqae.datasets", "seqae.cli"):
        folder = _folder(package)
        names += [
            f"{package}.{path.stem}"
            for path in sorted(folder.glob("*.py"))
            if not path.stem.startswith("_")
        ]
    return names


def _param(name: str) -> object:
    return pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name


@pytest.mark.parametrize("name", [_param(name) for name in public_modules()])
def test_examples_run(name):
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    assert tests, f"{name} has no example: add a small runnable one to a public docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_every_package_is_searched():
    found = public_modules()
    for expected in ("seqae.metrics", "seqae.models.conv1d", "seqae.datasets.sensors",
                     "seqae.cli.detect"):  # fmt: skip
        assert expected in found
