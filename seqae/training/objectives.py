"""Training objectives: reconstruction losses, regularisers and input corruption.

Pure functions on tensors, used by :func:`seqae.training.trainer.train` and usable with every model.
Denoising, sparse, contractive and variational autoencoders are training options here, not
separate model classes.

Scales
------
Reconstruction losses are a mean over every value of the batch. Regularisers of the code are
per-sample quantities (summed over the latent units) averaged over the batch, as in their
papers: the L1 norm of the code, the KL divergence of the code's posterior from N(0, I), and
the squared Frobenius norm of the encoder's Jacobian.

Examples
--------
>>> import torch
>>> kl_divergence(torch.zeros(4, 2), torch.zeros(4, 2)).item()  # N(0, 1) against N(0, 1)
0.0
>>> k_sparse(torch.tensor([[0.5, -1.0, 2.0, 1.5]]), k=2).tolist()
[[0.0, 0.0, 2.0, 1.5]]
"""

from __future__ import annotations

from numbers import Integral

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError

__all__ = [
    "LOSSES",
    "contractive_penalty",
    "corrupt",
    "k_sparse",
    "kl_divergence",
    "kl_per_sample",
    "l1_activity",
    "reconstruction_loss",
    "shift_levels",
    "trimmed_loss",
]

LOSSES = ("mse", "mae", "bce", "cross_entropy")


def reconstruction_loss(name: str, recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean reconstruction loss over every value of the batch.

    Parameters
    ----------
    name : {"mse", "mae", "bce", "cross_entropy"}
        ``"bce"`` expects ``recon`` and ``target`` in [0, 1] (a sigmoid output);
        ``"cross_entropy"`` expects logits ``(batch, classes, ...)`` and integer class ids
        ``(batch, ...)`` as the target.
    recon, target : Tensor
        The model's output and what it should have produced.

    Returns
    -------
    Tensor
        A scalar, computed in float32 whatever the inputs' precision.
    """
    recon = recon.float()
    if name == "cross_entropy":
        return F.cross_entropy(recon, target.long())
    target = target.float()
    if name == "mse":
        return F.mse_loss(recon, target)
    if name == "mae":
        return F.l1_loss(recon, target)
    if name == "bce":
        # Autocast refuses binary_cross_entropy (unsafe in half precision): run it in float32.
        with torch.autocast(recon.device.type, enabled=False):
            return F.binary_cross_entropy(recon, target)
    raise ParameterError(f"loss must be one of {', '.join(LOSSES)}, got {name!r}")


def trimmed_loss(name: str, recon: torch.Tensor, target: torch.Tensor, trim: float) -> torch.Tensor:
    """Reconstruction loss of the samples that fit best, dropping the worst ``trim`` share.

    Robust training for data that may hold anomalies: the samples of a batch the model
    reconstructs worst (likely the anomalous ones) give no gradient, so the model does not
    learn to reconstruct them. ``trim=0`` is :func:`reconstruction_loss`.

    Parameters
    ----------
    name : {"mse", "mae"}
    recon, target : Tensor of shape (B, ...)
    trim : float in [0, 1)
        Share of the batch's samples left out (rounded down, always keeping one).

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(4, 3)
    >>> recon = torch.tensor([[0.0] * 3, [1.0] * 3, [0.0] * 3, [9.0] * 3])
    >>> trimmed_loss("mse", recon, x, trim=0.25).item()  # the 9s are dropped
    0.3333333432674408
    """
    if trim <= 0:
        return reconstruction_loss(name, recon, target)
    if name not in ("mse", "mae"):
        raise ParameterError(f"trimmed training needs loss 'mse' or 'mae', got {name!r}")
    diff = recon.float() - target.float()
    per_sample = (diff**2 if name == "mse" else diff.abs()).flatten(1).mean(dim=1)  # (B,)
    keep = max(1, int(per_sample.numel() * (1.0 - trim)))
    return torch.topk(per_sample, keep, largest=False, sorted=False).values.mean()


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL divergence of N(mean, exp(log_var)) from N(0, I), summed over units, batch mean.

    ``KL = -0.5 * sum(1 + log_var - mean**2 - exp(log_var))`` (Kingma & Welling 2014).

    Examples
    --------
    >>> import torch
    >>> kl_divergence(torch.tensor([[1.0]]), torch.tensor([[0.0]])).item()  # N(1, 1)
    0.5
    """
    return kl_per_sample(mean, log_var).mean()


def kl_per_sample(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL divergence of N(mean, exp(log_var)) from N(0, I) for each sample, summed over units.

    Parameters
    ----------
    mean, log_var : Tensor of shape (B, ...)
        The posterior's mean and log-variance, one row per sample.

    Returns
    -------
    Tensor of shape (B,)
        ``0.5 * sum(mean**2 + exp(log_var) - 1 - log_var)`` per sample, in float32.

    Examples
    --------
    >>> import torch
    >>> kl_per_sample(torch.tensor([[1.0], [0.0]]), torch.zeros(2, 1)).tolist()
    [0.5, 0.0]
    """
    mean, log_var = mean.float(), log_var.float()
    per_unit = mean.pow(2) + log_var.exp() - 1.0 - log_var
    return 0.5 * per_unit.flatten(1).sum(1)


def l1_activity(latent: torch.Tensor) -> torch.Tensor:
    """L1 norm of each sample's code, averaged over the batch (sparse autoencoder penalty)."""
    return latent.float().abs().reshape(len(latent), -1).sum(1).mean()


def contractive_penalty(
    model: nn.Module, x: torch.Tensor, latent: torch.Tensor | None = None
) -> torch.Tensor:
    """Squared Frobenius norm of ``d model.encode(x) / d x``, averaged over the batch.

    The contractive autoencoder's penalty (Rifai et al. 2011). The Jacobian is computed exactly,
    one vectorised backward pass per latent unit (``torch.autograd.grad`` with
    ``is_grads_batched``), with a graph, so the penalty trains the encoder. Samples are treated
    as independent: a layer that mixes samples (batch norm in training mode) adds its
    cross-sample terms.

    Parameters
    ----------
    model : nn.Module
        Anything with an ``encode`` method.
    x : Tensor
        A batch of inputs.
    latent : Tensor, optional
        ``model.encode(x)`` already computed from an ``x`` that requires grad (the trainer
        passes the code from its forward pass, saving a second encoder pass).

    Examples
    --------
    >>> import torch
    >>> class Linear(torch.nn.Module):
    ...     def encode(self, x):
    ...         return x @ torch.tensor([[1.0, 0.0], [2.0, 3.0]]).T
    >>> contractive_penalty(Linear(), torch.randn(5, 2)).item()  # ||W||_F^2 = 1 + 4 + 9
    14.0
    """
    if latent is None:
        x = x.detach().requires_grad_(True)
        latent = model.encode(x)
    elif not x.requires_grad:
        raise ParameterError(
            "contractive_penalty: a precomputed latent needs an input x that requires grad"
        )
    z = latent.reshape(len(latent), -1)  # (B, k)
    n_units = z.shape[1]
    basis = torch.eye(n_units, device=z.device, dtype=z.dtype).unsqueeze(1)
    basis = basis.expand(n_units, *z.shape)  # (k, B, k): one unit vector per backward pass
    (jacobian,) = torch.autograd.grad(
        z, x, grad_outputs=basis, is_grads_batched=True, create_graph=True
    )  # (k, B, *x.shape[1:])
    return jacobian.float().pow(2).sum() / len(z)


def shift_levels(
    x: torch.Tensor,
    y: torch.Tensor,
    std: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and its target ``y``, each frame's channels moved by one random level apiece.

    Parameters
    ----------
    x, y : Tensor of shape (batch, frame, channels)
        Input frames and their reconstruction targets (left untouched).
    std : float
        Standard deviation of the offsets (normal, one per frame and channel).
    generator : torch.Generator, optional
        Source of randomness, on ``x``'s device; the global generator when None.

    Returns
    -------
    (Tensor, Tensor)
        ``x + offset`` and ``y + offset`` (the same offsets).

    Examples
    --------
    >>> x = torch.zeros(2, 4, 3)
    >>> xs, ys = shift_levels(x, x, 1.0, torch.Generator().manual_seed(0))
    >>> bool(torch.equal(xs, ys)), bool((xs[:, 0] == xs[:, 3]).all()), bool(xs.any())
    (True, True, True)
    """
    if x.dim() != 3 or y.shape != x.shape:
        raise ParameterError(
            f"level_std needs (batch, frame, channels) sequences reconstructed as themselves, "
            f"got input {tuple(x.shape)} and target {tuple(y.shape)}"
        )
    shape = (x.shape[0], 1, x.shape[2])
    offset = std * torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + offset, y + offset.to(y.dtype)


def corrupt(
    x: torch.Tensor,
    noise_std: float = 0.0,
    mask_fraction: float = 0.0,
    generator: torch.Generator | None = None,
    *,
    mask_timesteps: bool = False,
) -> torch.Tensor:
    """Corrupted copy of ``x`` for denoising: Gaussian noise, then masking noise.

    Parameters
    ----------
    x : Tensor
        Clean inputs (left untouched; the clean values stay the training target).
    noise_std : float
        Standard deviation of added Gaussian noise.
    mask_fraction : float
        Probability that each value is set to zero (after the noise), in [0, 1).
    generator : torch.Generator, optional
        Source of randomness, on ``x``'s device; the global generator when None.
    mask_timesteps : bool, default False
        Mask whole timesteps (every channel of a ``(batch, frame, channels)`` frame at once,
        as a sensor outage would) instead of single values.

    Returns
    -------
    Tensor
        ``x`` itself when both amounts are zero, else a new tensor.
    """
    if noise_std < 0:
        raise ParameterError(f"noise_std must be >= 0, got {noise_std!r}")
    if not 0 <= mask_fraction < 1:
        raise ParameterError(f"mask_fraction must be in [0, 1), got {mask_fraction!r}")
    if noise_std > 0:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = x + noise_std * noise
    if mask_timesteps and x.dim() != 3:
        raise ParameterError(
            f"mask_timesteps needs (batch, frame, channels) sequences, got shape {tuple(x.shape)}"
        )
    if mask_fraction > 0:
        shape = (*x.shape[:-1], 1) if mask_timesteps else x.shape
        keep = torch.rand(shape, generator=generator, device=x.device) >= mask_fraction
        x = x * keep
    return x


def k_sparse(z: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest latent units of each sample, zero the others.

    The k-sparse autoencoder's code (Makhzani & Frey 2013): units are ranked by value, ties
    broken by position, so exactly ``min(k, units)`` stay. Gradients flow through the kept
    units only.

    Parameters
    ----------
    z : Tensor
        Codes ``(batch, ...)``; all axes after the first are one sample's units.
    k : int
        Units kept per sample, >= 1.
    """
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ParameterError(f"k must be an integer >= 1, got {k!r}")
    flat = z.reshape(len(z), -1)
    if k >= flat.shape[1]:
        return z
    top = flat.topk(int(k), dim=1).indices
    mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, top, True)
    return torch.where(mask, flat, flat.new_zeros(())).reshape(z.shape)
