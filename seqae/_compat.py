"""The module paths of seqae before the library was grouped by role, as aliases.

``import seqae.windowing`` gives the module :mod:`seqae.scoring.windowing` itself (the same
object, so patching one patches the other); nothing is copied and nothing loads before it is
asked for. New code imports the new paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType

#: old module name (under ``seqae``) -> new one
MOVED: dict[str, str] = {
    "windowing": "scoring.windowing",
    "base": "scoring.core",
    "baseline": "scoring.baseline",
    "thresholds": "scoring.thresholds",
    "events": "scoring.events",
    "results": "scoring.results",
    "images": "scoring.images",
    "validation": "scoring.validation",
    "state": "files.state",
    "persistence": "files.persistence",
    "export": "files.export",
    "runtime": "files.runtime",
    "_atomic": "files.atomic",
    "streaming": "scale.streaming",
    "distributed": "scale.distributed",
    "objectives": "training.objectives",
}


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``<package>.<old name>`` and answers with the module at its new path."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.aliases = {f"{package}.{old}": f"{package}.{new}" for old, new in MOVED.items()}

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        if fullname in self.aliases:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.aliases[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """The module ran when it was imported under its new name."""


def install(package: str) -> None:
    """Put the alias finder for ``package`` on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, AliasFinder) and f.package == package for f in sys.meta_path):
        sys.meta_path.append(AliasFinder(package))
