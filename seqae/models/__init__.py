"""Autoencoder families. Each module registers its models by name; see :mod:`.base`."""

from __future__ import annotations

import importlib

from .base import MODELS, Autoencoder, build_model, register_model

__all__ = [
    "MODELS",
    "Autoencoder",
    "available_models",
    "build_model",
    "register_model",
    "variational_models",
]

# One module per family; importing it registers its models.
_FAMILIES = ("conv1d", "recurrent", "dense", "pca", "vae", "image")


def _load_all() -> None:
    for family in _FAMILIES:
        try:
            importlib.import_module(f".{family}", __name__)
        except ModuleNotFoundError as exc:  # a family not written yet
            if exc.name != f"{__name__}.{family}":
                raise


def available_models() -> list[str]:
    """Names accepted by :func:`build_model` and ``Detector(model=...)``."""
    _load_all()
    return sorted(MODELS)


def variational_models() -> list[str]:
    """Names of the variational models: those with ``encode_stats`` (mean and log-variance).

    They can score by the negative ELBO (``Detector(anomaly_score="elbo")``).

    Examples
    --------
    >>> variational_models()
    ['conv2d_vae', 'vae']
    """
    _load_all()
    return sorted(
        name for name, cls in MODELS.items() if callable(getattr(cls, "encode_stats", None))
    )
