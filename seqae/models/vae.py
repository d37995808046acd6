"""Variational autoencoders: the shared reparameterised encoder logic and the dense VAE.

A VAE's encoder gives the mean and log-variance of a Gaussian code. Training samples the code
with the reparameterisation trick and the trainer adds ``beta`` times the KL divergence (the
model returns ``"mean"`` and ``"log_var"`` from :meth:`forward_train`). Inference (``forward``,
``encode``) uses the mean, so scores and exported graphs are deterministic.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError
from ..training.objectives import kl_per_sample
from .base import Autoencoder, register_model
from .dense import DenseAE, DenseConfig, check_input_shape

__all__ = ["DenseVAE", "VariationalMixin"]

_LOG_VAR_LIMIT = 10.0  # keeps exp(log_var) finite early in training


class VariationalMixin:
    """``forward_train``, ``sample`` and ``negative_elbo`` for a model with ``encode_stats``.

    The class using it provides ``encode_stats(x) -> (mean, log_var)``, ``decode(z)`` and the
    attribute ``latent_dim``.
    """

    # Provided by the model class (not defined here: a mixin method would shadow them in the
    # method resolution order): latent_dim, encode_stats(x), decode(z).
    latent_dim: int

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean ``(B, latent_dim)``: the embedding of ``x``."""
        return self.encode_stats(x)[0]

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction from a sampled code (the mean in eval mode), with mean and log_var."""
        mean, log_var = self.encode_stats(x)
        z = mean
        if self.training:  # type: ignore[attr-defined]
            z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        return self.decode(z), {"latent": z, "mean": mean, "log_var": log_var}

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes drawn from the prior N(0, I): new data ``(n, *input_shape)``.

        Parameters
        ----------
        n : int
            Number of samples, >= 1.
        generator : torch.Generator, optional
            Source of randomness (CPU); the global generator when None.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ParameterError(f"n must be an integer >= 1, got {n!r}")
        device = next(self.parameters()).device  # type: ignore[attr-defined]
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        with torch.no_grad():
            return self.decode(z)

    def negative_elbo(
        self, x: torch.Tensor, *, loss: str = "mse", beta: float = 1.0
    ) -> torch.Tensor:
        """Per-sample negative evidence lower bound ``(B,)``, an anomaly score.

        The reconstruction term is that of the code's mean (deterministic): the summed
        squared error (``"mse"``) or the summed binary cross-entropy (``"bce"``: a Bernoulli
        decoder, inputs in [0, 1]); plus ``beta`` times the KL divergence of the posterior from
        the prior. This is the trainer's objective for the sample (``loss`` and ``beta`` as in
        :class:`~seqae.training.trainer.TrainConfig`) times its number of values. Use the loss and
        ``beta`` the model was trained with.
        """
        mean, log_var = self.encode_stats(x)
        recon = self.decode(mean)
        if loss == "mse":
            nll = (recon - x).pow(2).flatten(1).sum(1)
        elif loss == "bce":
            nll = F.binary_cross_entropy(recon, x, reduction="none").flatten(1).sum(1)
        else:
            raise ParameterError(f"loss must be 'mse' or 'bce', got {loss!r}")
        kl = kl_per_sample(mean, log_var)
        return nll + beta * kl


class Gaussian(nn.Module):
    """Two linear heads: mean and (clamped) log-variance of the code."""

    def __init__(self, n_in: int, latent_dim: int) -> None:
        super().__init__()
        self.mean = nn.Linear(n_in, latent_dim)
        self.log_var = nn.Linear(n_in, latent_dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_var = self.log_var(h).clamp(-_LOG_VAR_LIMIT, _LOG_VAR_LIMIT)
        return self.mean(h), log_var


@register_model
class DenseVAE(VariationalMixin, DenseAE):
    """Variational autoencoder with dense layers; ``hidden[-1]`` is the latent size.

    Works for any ``input_shape`` (flattened), like :class:`~seqae.models.dense.DenseAE`.
    ``k_sparse`` is not available (the code is Gaussian).

    Examples
    --------
    >>> import torch
    >>> from seqae.models import build_model
    >>> vae = build_model("vae", (1, 8, 8), {"hidden": (32, 4), "output_activation": "sigmoid"})
    >>> recon, extras = vae.forward_train(torch.rand(3, 1, 8, 8))
    >>> recon.shape, extras["mean"].shape
    (torch.Size([3, 1, 8, 8]), torch.Size([3, 4]))
    >>> vae.sample(5).shape
    torch.Size([5, 1, 8, 8])
    """

    name = "vae"
    Config = DenseConfig

    def __init__(self, input_shape: tuple[int, ...], config: DenseConfig) -> None:
        if config.k_sparse is not None:
            raise ParameterError("model 'vae' does not take k_sparse (its code is Gaussian)")
        Autoencoder.__init__(self, input_shape, config)
        check_input_shape(self.name, self.input_shape, None)
        n_in = math.prod(self.input_shape)
        trunk = (n_in, *config.hidden[:-1])
        self.latent_dim = config.hidden[-1]
        self.encoder = self._stack(trunk, last_is_bottleneck=True)  # every layer activated
        self.gaussian = Gaussian(trunk[-1], self.latent_dim)
        self.decoder = self._stack((n_in, *config.hidden)[::-1], last_is_bottleneck=False)

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, *input_shape)`` → mean and log-variance, each ``(B, latent_dim)``."""
        return self.gaussian(self.encoder(x.flatten(1)))

    def layer_stages(self) -> list[tuple[nn.Sequential, nn.Sequential]]:
        raise ParameterError("model 'vae' does not support layer-wise pre-training")
