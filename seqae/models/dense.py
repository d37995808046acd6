"""Fully connected autoencoder on the flattened sample (sequence frames or images)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

from ..training.objectives import k_sparse
from .base import ACTIVATIONS, Autoencoder, activation_layer
from .registry import register_model
from .validators import check_choice, check_dropout, check_input_shape, check_int, check_int_tuple

__all__ = ["ACTIVATIONS", "DenseAE", "DenseConfig", "LinearAE", "LinearConfig", "activation_layer"]


@dataclass(frozen=True)
class DenseConfig:
    """Hyper-parameters of :class:`DenseAE`.

    Parameters
    ----------
    hidden : tuple of int
        Encoder layer sizes; the last one is the bottleneck. The decoder mirrors them.
    activation : {"relu", "gelu", "tanh", "elu", "leaky_relu"} or None
        Applied after every hidden layer (bottleneck included). None with one hidden layer
        gives the linear autoencoder (equivalent to PCA at its optimum).
    output_activation : None or "sigmoid"
        "sigmoid" for data scaled to [0, 1] (images with a BCE loss).
    dropout : float
        Dropout after every hidden activation except the bottleneck.
    k_sparse : int or None
        k-sparse autoencoder: keep only the ``k`` largest units of the code (training and
        inference alike), zero the rest.
    """

    hidden: tuple[int, ...] = (64, 16)
    activation: str | None = "relu"
    output_activation: str | None = None
    dropout: float = 0.0
    k_sparse: int | None = None

    def __post_init__(self) -> None:
        check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, (*ACTIVATIONS, None))
        check_choice("output_activation", self.output_activation, (None, "sigmoid"))
        check_dropout(self.dropout)
        if self.k_sparse is not None:
            check_int("k_sparse", self.k_sparse, 1)


@register_model
class DenseAE(Autoencoder):
    """Multilayer perceptron autoencoder over the whole flattened sample.

    Works for any ``input_shape``: ``(frame, channels)`` frames or ``(C, H, W)`` images. It is
    bound to its input shape (no other frame length).

    Examples
    --------
    >>> import torch
    >>> from seqae.models import build_model
    >>> model = build_model("dense", (32, 3), {"hidden": (64, 8)})
    >>> model(torch.zeros(5, 32, 3)).shape
    torch.Size([5, 32, 3])
    >>> model.encode(torch.zeros(5, 32, 3)).shape
    torch.Size([5, 8])
    """

    name = "dense"
    Config = DenseConfig

    def __init__(self, input_shape: tuple[int, ...], config: DenseConfig) -> None:
        super().__init__(input_shape, config)
        check_input_shape(self.name, self.input_shape, None)
        n_in = math.prod(self.input_shape)
        sizes = (n_in, *config.hidden)
        self.encoder = self._stack(sizes, last_is_bottleneck=True)
        self.decoder = self._stack(sizes[::-1], last_is_bottleneck=False)

    def _stack(self, sizes: tuple[int, ...], last_is_bottleneck: bool) -> nn.Sequential:
        cfg = self.config
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(pairwise(sizes)):
            layers.append(nn.Linear(n_in, n_out))
            is_last = i == len(sizes) - 2
            if is_last and not last_is_bottleneck:  # the read-out layer
                if cfg.output_activation == "sigmoid":
                    layers.append(nn.Sigmoid())
                continue
            if cfg.activation is not None:
                layers.append(activation_layer(cfg.activation))
            if cfg.dropout > 0 and not is_last:
                layers.append(nn.Dropout(cfg.dropout))
        return nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, *input_shape)`` → latent ``(B, hidden[-1])``."""
        z = self.encoder(x.flatten(1))  # (B, D) -> (B, Z)
        return z if self.config.k_sparse is None else k_sparse(z, self.config.k_sparse)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(B, hidden[-1])`` → reconstruction ``(B, *input_shape)``."""
        return self.decoder(z).reshape(-1, *self.input_shape)  # (B, D) -> (B, *input_shape)

    def layer_stages(self) -> list[tuple[nn.Sequential, nn.Sequential]]:
        """``(encoder block, decoder block)`` pairs, outermost first, for greedy pre-training.

        Block ``i`` maps hidden layer ``i - 1`` (the flattened input for ``i = 0``) to hidden
        layer ``i`` and back; the blocks share their modules with the model, so training a
        stage trains the model's own layers (see :func:`seqae.training.trainer.pretrain_layerwise`).
        """
        enc, dec = _split_at_linear(self.encoder), _split_at_linear(self.decoder)
        return list(zip(enc, reversed(dec), strict=True))


def _split_at_linear(stack: nn.Sequential) -> list[nn.Sequential]:
    """Cut a Sequential into blocks that each start with a Linear layer."""
    starts = [i for i, layer in enumerate(stack) if isinstance(layer, nn.Linear)]
    return [stack[a:b] for a, b in zip(starts, [*starts[1:], len(stack)], strict=True)]


@dataclass(frozen=True)
class LinearConfig(DenseConfig):
    """:class:`DenseConfig` with linear defaults: one bottleneck layer, no activation."""

    hidden: tuple[int, ...] = (8,)
    activation: str | None = None


@register_model
class LinearAE(DenseAE):
    """Linear autoencoder: at its optimum it spans the same subspace as PCA.

    Examples
    --------
    >>> import torch
    >>> from seqae.models import build_model
    >>> build_model("linear", (1, 8, 8), {"hidden": (4,)}).encode(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 4])
    """

    name = "linear"
    Config = LinearConfig
