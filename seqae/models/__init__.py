"""Autoencoder families. Each module registers its models by name; see :mod:`.base`."""

from __future__ import annotations

import importlib
import pkgutil

from .base import MODELS, Autoencoder, build_model, register_model

__all__ = [
    "MODELS",
    "Autoencoder",
    "available_models",
    "build_model",
    "register_model",
    "variational_models",
]

# Modules here that are not model families (importing a family module registers its models).
_NOT_FAMILIES = frozenset({"base", "classifier", "ensemble", "head", "validators"})


def load_all() -> None:
    """Import every family module in this folder: a new file with a registration is found."""
    for info in pkgutil.iter_modules(__path__):
        if info.name not in _NOT_FAMILIES and not info.name.startswith("_"):
            importlib.import_module(f".{info.name}", __name__)


def available_models() -> list[str]:
    """Names accepted by :func:`build_model` and ``Detector(model=...)``."""
    load_all()
    return sorted(MODELS)


def variational_models() -> list[str]:
    """Names of the variational models: those with ``encode_stats`` (mean and log-variance).

    They can score by the negative ELBO (``Detector(anomaly_score="elbo")``).

    Examples
    --------
    >>> variational_models()
    ['conv2d_vae', 'vae']
    """
    load_all()
    return sorted(
        name for name, cls in MODELS.items() if callable(getattr(cls, "encode_stats", None))
    )
