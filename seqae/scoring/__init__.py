"""Scoring, numpy only: windowing, the scoring core, tracker, thresholds, events, results.

No module here imports torch. ``ScoringHead`` (the torch scoring graph) lives in
:mod:`seqae.models.head`; ``from seqae.scoring import ScoringHead`` still works and loads it.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("ScoringHead", "head_runner", "check_channel_weights", "convolutional_halo"):
        return getattr(importlib.import_module("..models.head", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
