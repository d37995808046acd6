"""The registry of model families: a family is one module in this folder that registers a class.

A new family is one file here: a config dataclass, an :class:`~.base.Autoencoder` subclass with
a ``name``, and ``@register_model`` on it. :func:`load_families` imports every module of the
folder, so the family appears in :func:`available_models`, ``Detector(model=...)``, the CLI's
``--model`` choices and the tests that read the registry without editing any list. A family
defined outside the folder registers the same way when its module is imported.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

from ..errors import ParameterError
from .base import Autoencoder
from .ensemble import Ensemble

__all__ = [
    "MODELS",
    "available_models",
    "build_model",
    "config_from",
    "load_families",
    "models_of_kind",
    "register_model",
    "variational_models",
]

MODELS: dict[str, type[Autoencoder]] = {}

# Modules of this folder that are not model families.
NOT_FAMILIES = frozenset({"base", "classifier", "ensemble", "head", "registry", "validators"})


def register_model(cls: type[Autoencoder]) -> type[Autoencoder]:
    """Class decorator: make a model buildable by name.

    Examples
    --------
    >>> from seqae.models.pca import PCAReconstruction as PCA
    >>> register_model(PCA) is PCA and MODELS["pca"] is PCA
    True
    """
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} needs a non-empty `name`")
    MODELS[cls.name] = cls
    return cls


def load_families() -> None:
    """Import every family module in this folder (each registers its models on import)."""
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in NOT_FAMILIES and not info.name.startswith("_"):
            importlib.import_module(f"{__package__}.{info.name}")


def config_from(cls: type[Autoencoder], params: dict[str, Any]) -> Any:
    """The family's config dataclass from a dict of its fields (unknown names are an error)."""
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ParameterError(
            f"model {cls.name!r} has no parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(fields))}"
        )
    # JSON turns tuples into lists; give the dataclass back the tuples it was built with.
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return cls.Config(**params)


def build_model(
    name: str,
    input_shape: tuple[int, ...],
    params: dict[str, Any] | None = None,
    *,
    networks: int = 1,
) -> Autoencoder:
    """Build a registered model by name.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS` (``"conv1d"``, ``"lstm"``, ``"gru"``, ``"dense"``, ``"pca"``, ...).
    input_shape : tuple of int
        ``(frame, channels)`` for sequences, ``(channels, height, width)`` for images.
    params : dict, optional
        Fields of the model's config dataclass; unknown names are a ``ParameterError``.
    networks : int, default 1
        More than 1: an :class:`~seqae.models.ensemble.Ensemble` of that many such networks.

    Examples
    --------
    >>> import torch
    >>> model = build_model("dense", (16, 2), {"hidden": (8, 4)})
    >>> model(torch.zeros(3, 16, 2)).shape  # (batch, frame, channels) in and out
    torch.Size([3, 16, 2])
    >>> build_model("dense", (16, 2), {"layers": 3})
    Traceback (most recent call last):
    ...
    seqae.errors.ParameterError: model 'dense' has no parameter(s) layers; it takes: ...
    """
    load_families()
    if name not in MODELS:
        raise ParameterError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    cls = MODELS[name]
    if isinstance(networks, bool) or not isinstance(networks, int) or networks < 1:
        raise ParameterError(f"networks must be an integer >= 1, got {networks!r}")
    nets = [cls(tuple(input_shape), config_from(cls, dict(params or {}))) for _ in range(networks)]
    if networks == 1:
        return nets[0]
    return Ensemble(nets)


def available_models() -> list[str]:
    """Names accepted by :func:`build_model` and ``Detector(model=...)``."""
    load_families()
    return sorted(MODELS)


def variational_models() -> list[str]:
    """Names of the variational models: those with ``encode_stats`` (mean and log-variance).

    They can score by the negative ELBO (``Detector(anomaly_score="elbo")``).

    Examples
    --------
    >>> variational_models()
    ['conv2d_vae', 'vae']
    """
    load_families()
    return sorted(
        name for name, cls in MODELS.items() if callable(getattr(cls, "encode_stats", None))
    )


def models_of_kind(kind: str) -> list[str]:
    """Names of the registered models of one kind: ``"sequence"`` or ``"image"``.

    Examples
    --------
    >>> "conv1d" in models_of_kind("sequence") and "conv2d" in models_of_kind("image")
    True
    """
    load_families()
    return sorted(name for name, cls in MODELS.items() if cls.kind == kind)
