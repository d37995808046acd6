"""Which optional packages a feature needs, and the one line that says how to install them.

``pip install seqae`` is the runtime an edge service needs (numpy, onnxruntime, pandas,
click): an exported ONNX model scores arrays and files. Training, saved torch models and ONNX
export need the ``train`` extra (torch, scikit-learn, scipy, safetensors, onnx, onnxscript).
A runtime-only environment that asks for them gets a :class:`MissingDependencyError` whose
message names what is missing and the command that installs it.

This module imports nothing heavy: it only looks packages up.

Examples
--------
>>> from seqae.extras import TRAIN_INSTALL, missing_packages
>>> missing_packages(["numpy"])
[]
>>> TRAIN_INSTALL
"pip install 'seqae[train]'"
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable

from .errors import ParameterError

__all__ = [
    "TRAIN_INSTALL",
    "TRAIN_MODULES",
    "MissingDependencyError",
    "missing_dependency",
    "missing_packages",
    "require_training",
]

TRAIN_INSTALL = "pip install 'seqae[train]'"

#: import name -> distribution name, for what the ``train`` extra installs
TRAIN_MODULES: dict[str, str] = {
    "torch": "torch",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
    "safetensors": "safetensors",
    "onnx": "onnx",
    "onnxscript": "onnxscript",
}

#: what :class:`seqae.Detector` imports when it loads (onnx and onnxscript only on export)
DETECTOR_MODULES = ("torch", "sklearn", "scipy", "safetensors")


class MissingDependencyError(ParameterError, ImportError):
    """A feature needs a package this environment lacks (the CLI exits 2, a usage error).

    Also an ``ImportError``, so ``except ImportError`` around an import of seqae still works.
    """


def _importable(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_packages(modules: Iterable[str]) -> list[str]:
    """The distributions (pip names) of the ``modules`` that cannot be imported here."""
    return [TRAIN_MODULES.get(m, m) for m in modules if not _importable(m)]


def _error(what: str, missing: list[str]) -> MissingDependencyError:
    exc = MissingDependencyError(
        f"{what} needs {', '.join(missing)}, not installed here (the ONNX runtime install); "
        f"install the full toolkit: {TRAIN_INSTALL}"
    )
    exc.name = missing[0]  # as ImportError has it (the constructor takes no keywords here)
    return exc


def require_training(what: str, modules: Iterable[str] = DETECTOR_MODULES) -> None:
    """Raise :class:`MissingDependencyError` naming ``what`` unless ``modules`` all import.

    Parameters
    ----------
    what : str
        The feature asked for, as the message should name it (``"seqae train"``).
    modules : iterable of str
        Import names to look up (default: what :class:`seqae.Detector` needs).
    """
    missing = missing_packages(modules)
    if missing:
        raise _error(what, missing)


def missing_dependency(
    exc: BaseException, what: str, modules: Iterable[str] = ()
) -> MissingDependencyError | None:
    """A :class:`MissingDependencyError` for ``exc`` when it is a missing ``train`` package.

    ``exc`` is the ``ModuleNotFoundError`` an import raised; anything else (another missing
    module, a bug) gives ``None`` so that the caller re-raises it unchanged. The message names
    the missing package and those of ``modules`` that are missing too.
    """
    if not isinstance(exc, ModuleNotFoundError) or exc.name is None:
        return None
    top = exc.name.split(".")[0]
    if top not in TRAIN_MODULES:
        return None
    return _error(what, list(dict.fromkeys([TRAIN_MODULES[top], *missing_packages(modules)])))
