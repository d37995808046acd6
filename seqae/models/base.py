"""The contract every seqae autoencoder follows, and the registry that names them.

A model is a pure ``nn.Module``: it knows nothing about training, scaling or files. It is built
from an input shape and a small config dataclass, so ``(name, input_shape, asdict(config))``
in JSON plus the weights rebuild it exactly.

Input shapes
------------
- sequences: ``(frame, channels)``; tensors are ``(batch, frame, channels)``.
- images: ``(channels, height, width)``; tensors are ``(batch, channels, height, width)``.

Every model maps a batch to a reconstruction of the same shape. ``forward_train`` returns the
reconstruction and a dict of extra tensors the objectives need (``"latent"`` for sparse
penalties, ``"mean"``/``"log_var"`` for a VAE).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import ParameterError

__all__ = ["MODELS", "Autoencoder", "build_model", "register_model"]

MODELS: dict[str, type[Autoencoder]] = {}


class Autoencoder(nn.Module):
    """Base class: subclasses set ``name``, ``Config`` and implement ``encode``/``decode``.

    Attributes
    ----------
    input_shape : tuple of int
        Shape of one sample, without the batch axis.
    config : dataclass
        The family's hyper-parameters.
    fully_convolutional : bool
        True when the model accepts sequences longer than its training frame.
    closed_form : bool
        True when the model is fitted by :meth:`fit_closed_form` instead of gradient steps.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type]
    fully_convolutional: ClassVar[bool] = False
    closed_form: ClassVar[bool] = False
    kind: ClassVar[str] = "sequence"  # or "image"

    def __init__(self, input_shape: tuple[int, ...], config: Any) -> None:
        super().__init__()
        self.input_shape = tuple(int(d) for d in input_shape)
        self.config = config

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction plus the extra tensors regularisers need (default: the latent code)."""
        z = self.encode(x)
        return self.decode(z), {"latent": z}

    def get_spec(self) -> dict[str, Any]:
        """JSON-ready description that :func:`build_model` turns back into this model."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "config": dataclasses.asdict(self.config),
        }


def register_model(cls: type[Autoencoder]) -> type[Autoencoder]:
    """Class decorator: make a model buildable by name."""
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} needs a non-empty `name`")
    MODELS[cls.name] = cls
    return cls


def _config_from(cls: type[Autoencoder], params: dict[str, Any]) -> Any:
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
    >>> model = build_model("dense", (16, 2), {"hidden": (8, 4)})
    >>> model(torch.zeros(3, 16, 2)).shape  # (batch, frame, channels) in and out
    torch.Size([3, 16, 2])
    >>> build_model("dense", (16, 2), {"layers": 3})
    Traceback (most recent call last):
    ...
    seqae.errors.ParameterError: model 'dense' has no parameter(s) layers; it takes: ...
    """
    from . import load_all

    load_all()
    if name not in MODELS:
        raise ParameterError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    cls = MODELS[name]
    if isinstance(networks, bool) or not isinstance(networks, int) or networks < 1:
        raise ParameterError(f"networks must be an integer >= 1, got {networks!r}")
    nets = [cls(tuple(input_shape), _config_from(cls, dict(params or {}))) for _ in range(networks)]
    if networks == 1:
        return nets[0]
    from .ensemble import Ensemble

    return Ensemble(nets)
