"""seqae._compat: the module paths from before the library was grouped by role still import,
as the new modules themselves."""

from __future__ import annotations

import importlib


def test_old_module_paths_are_the_new_modules():
    from seqae._compat import MOVED

    for old, new in MOVED.items():
        assert importlib.import_module(f"seqae.{old}") is importlib.import_module(f"seqae.{new}")
