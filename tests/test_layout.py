"""The library's walls: no module reaches into another's underscore names, and every public
name exported before the library was regrouped still imports.

The first test reads the source of ``seqae/``, ``cli/``, ``datasets/`` and ``benchmarks/``
(their syntax trees, not text) and refuses:

- ``from x import _y`` and ``import x._y`` (another module's private name or module);
- ``obj._name`` where ``obj`` is not ``self`` / ``cls`` / ``super()`` and the file itself does
  not define ``_name`` (a method, attribute or function of its own): a call into another
  module's object or module through its underscore door.

A module may use its own private names freely. The package ``__init__`` imports its own
private modules (``_compat``, ``_version``): that is the one allowance.

The second test imports every name in ``tests/fixtures/public_names.json``: each public
module's ``__all__`` (``seqae.__all__`` included) and the old module paths of
``seqae._compat``, as they were on the regrouped library (commit bbe04b4; the ``seqae.cli``
modules are the command's, not an import API, and are left out).

The last tests hold the tests to the library's shape: every module ``seqae/**/<name>.py`` (but
``__init__`` and ``_version``) has its tests in ``tests/test_<name>.py`` (``_compat``:
``test_compat.py``), so module names must stay unique across the subpackages. Topic files that
cut across modules (``test_reliability.py``, ``test_formats.py``, ...) may exist beside them.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("seqae", "cli", "datasets", "benchmarks")
#: file -> private names it may import from elsewhere (with the reason)
ALLOWED = {
    # the package's own private modules: the alias finder and the version string
    "seqae/__init__.py": {"_compat", "_version"},
}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_names(tree: ast.AST) -> set[str]:
    """Every name the file defines: functions, classes, assigned names and attributes,
    arguments, import aliases."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def private_uses(source: str, allowed: set[str] = frozenset()) -> list[tuple[int, str]]:
    """``(line, text)`` of each use of another module's underscore name in ``source``."""
    tree = ast.parse(source)
    own = _own_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            for alias in node.names:
                if _private(alias.name) and alias.name not in allowed:
                    found.append((node.lineno, f"from {node.module or '.'} import {alias.name}"))
            bad = [p for p in parts if _private(p) and p not in allowed]
            if bad:
                found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(_private(p) for p in alias.name.split(".")):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "super"
            ):
                continue
            if node.attr in own:
                continue
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def test_the_checker_finds_what_it_should():
    source = (
        "import seqae._atomic\n"
        "from seqae.scoring import events\n"
        "from ._compat import MOVED\n"
        "events._iso(1)\n"
        "def _mine():\n"
        "    return _mine\n"
    )
    assert [line for line, _ in private_uses(source)] == [1, 3, 4]


def test_no_module_uses_another_modules_underscore_names():
    report = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for line, text in private_uses(path.read_text(), ALLOWED.get(rel, set())):
            report.append(f"{rel}:{line}: {text}")
    assert not report, "underscore names used across modules:\n" + "\n".join(report)


PUBLIC = json.loads((ROOT / "tests" / "fixtures" / "public_names.json").read_text())


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_public_name_of_today_still_imports(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in PUBLIC[module_name] if not hasattr(module, name)]
    assert not missing, f"{module_name} lost {missing}"
    assert set(PUBLIC[module_name]) <= set(getattr(module, "__all__", [])), module_name


# ------------------------------------------------- the tests mirror the library
def mirror_file(module: str) -> str:
    """``tests/test_<name>.py`` for ``seqae/.../<name>.py`` (a leading underscore dropped)."""
    return f"tests/test_{Path(module).stem.lstrip('_')}.py"


def modules_without_tests(modules: list[str], tests: set[str]) -> list[str]:
    """Each module of ``modules`` (paths under the repository) whose test file is not in
    ``tests``, with the file it needs."""
    return [
        f"{module} has no {mirror_file(module)}"
        for module in modules
        if mirror_file(module) not in tests
    ]


def _library_modules() -> list[str]:
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "seqae").rglob("*.py")
        if p.name not in ("__init__.py", "_version.py")
    )


def test_module_names_are_unique_so_each_has_one_test_file():
    files = [mirror_file(module) for module in _library_modules()]
    shared = sorted({f for f in files if files.count(f) > 1})
    assert not shared, f"two library modules would share a test file: {shared}"


def test_every_library_module_has_a_test_file_of_its_name():
    tests = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_*.py")}
    missing = modules_without_tests(_library_modules(), tests)
    assert not missing, (
        "tests mirror the library: put a module's tests in tests/test_<module>.py\n"
        + "\n".join(missing)
    )


def test_the_mirror_check_finds_a_module_without_tests():
    tests = {"tests/test_core.py", "tests/test_compat.py"}
    modules = ["seqae/scoring/core.py", "seqae/_compat.py", "seqae/scoring/no_such_module.py"]
    assert modules_without_tests(modules, tests) == [
        "seqae/scoring/no_such_module.py has no tests/test_no_such_module.py"
    ]
