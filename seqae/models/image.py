"""Convolutional autoencoders for images ``(channels, height, width)``.

The encoder halves the image with each stride-2 ``Conv2d``; an optional dense bottleneck turns
the last feature map into a code vector; the decoder mirrors the encoder with
``ConvTranspose2d`` (or nearest-neighbour upsampling and a ``Conv2d``), with the output padding
of each layer chosen so that every size, odd or even, comes back exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ParameterError
from ..training.objectives import k_sparse
from .base import Autoencoder, register_model
from .dense import ACTIVATIONS, activation_layer, check_choice, check_int, check_int_tuple
from .vae import Gaussian, VariationalMixin

__all__ = ["Conv2dAE", "Conv2dConfig", "Conv2dVAE"]


@dataclass(frozen=True)
class Conv2dConfig:
    """Hyper-parameters of :class:`Conv2dAE` and :class:`Conv2dVAE`.

    Parameters
    ----------
    filters : tuple of int
        Output channels of the encoder's stride-2 convolutions; the decoder mirrors them.
    kernel_size : int
        Odd kernel size of every convolution.
    latent_dim : int or None
        Size of a dense bottleneck after the last convolution; None keeps the last feature
        map as the code (fully convolutional code; not for the VAE).
    activation : {"relu", "gelu", "tanh", "elu", "leaky_relu"}
        After every layer but the read-out (the dense code included).
    output_activation : None or "sigmoid"
        "sigmoid" for images scaled to [0, 1] trained with the BCE loss.
    upsampling : {"transpose", "nearest"}
        ``ConvTranspose2d`` layers, or nearest-neighbour upsampling followed by ``Conv2d``
        (no checkerboard artefacts).
    k_sparse : int or None
        Keep only the ``k`` largest units of each code (k-sparse autoencoder).
    """

    filters: tuple[int, ...] = (16, 32)
    kernel_size: int = 3
    latent_dim: int | None = 16
    activation: str = "relu"
    output_activation: str | None = None
    upsampling: str = "transpose"
    k_sparse: int | None = None

    def __post_init__(self) -> None:
        check_int_tuple("filters", self.filters)
        check_int("kernel_size", self.kernel_size, 1)
        if self.kernel_size % 2 == 0:
            raise ParameterError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.latent_dim is not None:
            check_int("latent_dim", self.latent_dim, 1)
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        check_choice("output_activation", self.output_activation, (None, "sigmoid"))
        check_choice("upsampling", self.upsampling, ("transpose", "nearest"))
        if self.k_sparse is not None:
            check_int("k_sparse", self.k_sparse, 1)


def _check_image_shape(model: str, input_shape: tuple[int, ...]) -> None:
    if len(input_shape) != 3 or any(d < 1 for d in input_shape):
        raise ParameterError(
            f"model {model!r} takes input_shape (channels, height, width) with sizes >= 1, "
            f"got {input_shape!r}"
        )


class _ConvBase(Autoencoder):
    """The convolutional encoder trunk and decoder shared by the AE and the VAE."""

    kind = "image"
    Config = Conv2dConfig

    def __init__(self, input_shape: tuple[int, ...], config: Conv2dConfig) -> None:
        super().__init__(input_shape, config)
        _check_image_shape(self.name, self.input_shape)
        channels, height, width = self.input_shape
        k, pad = config.kernel_size, config.kernel_size // 2
        sizes = [(height, width)]
        encoder: list[nn.Module] = []
        n_in = channels
        for n_out in config.filters:
            encoder += [nn.Conv2d(n_in, n_out, k, stride=2, padding=pad)]
            encoder += [activation_layer(config.activation)]
            h, w = sizes[-1]
            sizes.append(((h + 1) // 2, (w + 1) // 2))  # (h + 2 pad - k) // 2 + 1 for odd k
            n_in = n_out
        self.encoder = nn.Sequential(*encoder)
        self.feature_shape = (config.filters[-1], *sizes[-1])  # (F, h, w) of the last map

        decoder: list[nn.Module] = []
        outs = [*config.filters[-2::-1], channels]
        for i, n_out in enumerate(outs):
            n_in = config.filters[-1 - i]
            target = sizes[-2 - i]
            if config.upsampling == "transpose":
                h, w = sizes[-1 - i]
                # ConvTranspose2d(stride 2) gives 2 * size - 1 + output_padding
                extra = (target[0] - 2 * h + 1, target[1] - 2 * w + 1)
                decoder.append(
                    nn.ConvTranspose2d(n_in, n_out, k, stride=2, padding=pad, output_padding=extra)
                )
            else:
                decoder += [nn.Upsample(size=target, mode="nearest")]
                decoder += [nn.Conv2d(n_in, n_out, k, padding=pad)]
            if i < len(outs) - 1:
                decoder.append(activation_layer(config.activation))
            elif config.output_activation == "sigmoid":
                decoder.append(nn.Sigmoid())
        self.decoder = nn.Sequential(*decoder)

    def _from_code(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(-1, *self.feature_shape)  # (B, Z) or (B, F, h, w) -> (B, F, h, w)


@register_model
class Conv2dAE(_ConvBase):
    """Convolutional image autoencoder: stride-2 ``Conv2d`` encoder, mirrored decoder.

    Examples
    --------
    >>> import torch
    >>> from seqae.models import build_model
    >>> model = build_model("conv2d", (1, 28, 28), {"filters": (8, 16, 16), "latent_dim": 10})
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
    >>> model.encode(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    name = "conv2d"

    def __init__(self, input_shape: tuple[int, ...], config: Conv2dConfig) -> None:
        super().__init__(input_shape, config)
        n_features = math.prod(self.feature_shape)
        if config.latent_dim is None:
            self.bottleneck_in: nn.Module = nn.Identity()
            self.bottleneck_out: nn.Module = nn.Identity()
        else:
            self.bottleneck_in = nn.Sequential(
                nn.Flatten(),
                nn.Linear(n_features, config.latent_dim),
                activation_layer(config.activation),
            )
            self.bottleneck_out = nn.Sequential(
                nn.Linear(config.latent_dim, n_features), activation_layer(config.activation)
            )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` → code ``(B, latent_dim)``, or the last map ``(B, F, h, w)``."""
        z = self.bottleneck_in(self.encoder(x))
        return z if self.config.k_sparse is None else k_sparse(z, self.config.k_sparse)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Code → reconstruction ``(B, C, H, W)``."""
        return self.decoder(self._from_code(self.bottleneck_out(z)))


@register_model
class Conv2dVAE(VariationalMixin, _ConvBase):
    """Convolutional variational autoencoder: a Gaussian code of ``latent_dim`` units.

    Examples
    --------
    >>> import torch
    >>> from seqae.models import build_model
    >>> vae = build_model("conv2d_vae", (1, 8, 8), {"latent_dim": 4})
    >>> vae(torch.zeros(2, 1, 8, 8)).shape, vae.sample(3).shape
    (torch.Size([2, 1, 8, 8]), torch.Size([3, 1, 8, 8]))
    """

    name = "conv2d_vae"

    def __init__(self, input_shape: tuple[int, ...], config: Conv2dConfig) -> None:
        if config.latent_dim is None:
            raise ParameterError("model 'conv2d_vae' needs an integer latent_dim, got None")
        if config.k_sparse is not None:
            raise ParameterError("model 'conv2d_vae' does not take k_sparse (its code is Gaussian)")
        super().__init__(input_shape, config)
        self.latent_dim = config.latent_dim
        n_features = math.prod(self.feature_shape)
        self.gaussian = Gaussian(n_features, config.latent_dim)
        self.bottleneck_out = nn.Sequential(
            nn.Linear(config.latent_dim, n_features), activation_layer(config.activation)
        )

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, C, H, W)`` → mean and log-variance, each ``(B, latent_dim)``."""
        return self.gaussian(self.encoder(x).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Code ``(B, latent_dim)`` → reconstruction ``(B, C, H, W)``."""
        return self.decoder(self._from_code(self.bottleneck_out(z)))
