"""Autoencoder families: pure nn.Modules, each registered by name (see :mod:`.registry`)."""

from __future__ import annotations

from .base import Autoencoder
from .registry import (
    MODELS,
    available_models,
    build_model,
    load_families,
    models_of_kind,
    register_model,
    variational_models,
)

__all__ = [
    "MODELS",
    "Autoencoder",
    "available_models",
    "build_model",
    "load_families",
    "models_of_kind",
    "register_model",
    "variational_models",
]
