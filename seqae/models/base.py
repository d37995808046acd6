"""The contract every seqae autoencoder follows, and the layers several families share.

A model is a pure ``nn.Module``: it knows nothing about training, scaling or files. It is built
from an input shape and a small config dataclass, so ``(name, input_shape, asdict(config))``
in JSON plus the weights rebuild it exactly. Families register by name in :mod:`.registry`.

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

#: Names of the registry that this module gave before the registry had a module of its own.
REGISTRY_NAMES = ("MODELS", "build_model", "register_model")
__all__ = ["ACTIVATIONS", "Autoencoder", "activation_layer", *REGISTRY_NAMES]


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
    #: The fewest gradient steps the automatic budget gives a fit (``epochs=None``,
    #: ``batch_size=None``; :func:`seqae.training.auto_budget`): small data gets smaller
    #: batches and more epochs until it reaches them. 0: 20 epochs of batches of 256.
    min_train_steps: ClassVar[int] = 640

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


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}


def activation_layer(name: str) -> nn.Module:
    """A fresh activation module for a name of :data:`ACTIVATIONS`.

    Examples
    --------
    >>> activation_layer("relu")
    ReLU()
    """
    return ACTIVATIONS[name]()


def __getattr__(name: str) -> Any:
    # The registry lived here before it had a module of its own; importing it lazily keeps
    # ``from seqae.models.base import build_model`` working without an import circle.
    if name in REGISTRY_NAMES:
        from . import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
