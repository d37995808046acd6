"""Reconstruction errors, from frames to per-timestep scores and per-channel contributions.

:class:`ScoringHead` is the one scoring graph: raw frames in, scaling, the autoencoder and the
error out. The Detector scores through it and the ONNX exporter exports it, so a score from an
exported file equals the Python score by construction.

Units: the *raw* error of a timestep is the mean over channels of the squared reconstruction
error in scaled units, each channel's multiplied by its weight (all 1 unless given); for an
ensemble of networks, the members' squared errors summed with their fitted weights (one per
network and channel). Every output of the head is divided by the fitted raw threshold, so a
score of 1.0 is the alarm line for every model, and per-channel contributions sum to the score.

A variational model can score by its negative ELBO instead (``ScoringHead(..., elbo=True)``):
the reconstruction error of the posterior mean plus ``beta`` times the KL divergence of the
posterior from N(0, I), the KL divided by the values per sample as in the trainer's objective.
The KL term is a per-sample quantity, so the head spreads it evenly over every value of the
sample: the per-timestep (per-pixel) error still averages to the sample's score and the
per-channel errors still sum to it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError
from ..scoring.core import RunFn
from ..training.objectives import kl_per_sample
from .base import Autoencoder
from .ensemble import Ensemble

__all__ = ["ScoringHead", "check_channel_weights", "convolutional_halo", "head_runner"]


class ScoringHead(nn.Module):
    """Scale ▸ autoencoder ▸ error, for sequence frames ``(B, L, C)`` or images ``(B, C, H, W)``.

    Parameters
    ----------
    model : Autoencoder
        The fitted autoencoder (works in scaled units).
    center, scale : array-like of shape (C,)
        Scaler numbers: ``scaled = (raw - center) / scale``.
    threshold : float
        Raw error at the alarm line; outputs are divided by it.
    channel_axis : int
        Axis of the channels in the input: -1 for sequences, 1 for images.
    elbo : bool, default False
        Score by the negative ELBO instead of the reconstruction error alone: decode the
        posterior mean (deterministic) and add ``beta * KL / n_values`` per sample, where the
        KL comes from ``model.encode_stats`` and ``n_values`` is the number of values in one
        sample, spread evenly over every timestep (pixel) and channel. Needs a variational
        model (one with ``encode_stats``).
    beta : float, default 1.0
        Weight of the KL term with ``elbo=True`` (use the ``beta`` the model was trained with).
    channel_weights : array-like of shape (C,), optional
        Each channel's squared error is multiplied by its weight (default: all 1), e.g. to
        count a channel that drifts in normal operation for less.

    Raises
    ------
    ParameterError
        ``elbo=True`` for a model without ``encode_stats``, a negative or non-finite
        ``beta``, or channel weights that are not ``C`` finite numbers >= 0 with one > 0.

    Examples
    --------
    >>> from seqae.models import build_model
    >>> model = build_model("dense", (16, 2), {"hidden": (8, 4)})
    >>> head = ScoringHead(model, center=[0.0, 0.0], scale=[1.0, 1.0])
    >>> recon, timestep_error, channel_error, window_score = head(torch.zeros(3, 16, 2))
    >>> timestep_error.shape, channel_error.shape, window_score.shape
    (torch.Size([3, 16]), torch.Size([3, 16, 2]), torch.Size([3]))
    """

    def __init__(
        self,
        model: Autoencoder,
        center: np.ndarray | list[float],
        scale: np.ndarray | list[float],
        threshold: float = 1.0,
        channel_axis: int = -1,
        *,
        elbo: bool = False,
        beta: float = 1.0,
        channel_weights: np.ndarray | list[float] | None = None,
    ) -> None:
        super().__init__()
        if elbo and not callable(getattr(model, "encode_stats", None)):
            raise ParameterError(
                f"ELBO scoring needs a variational model (with encode_stats), not {model.name!r}"
            )
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta < math.inf:
            raise ParameterError(f"beta must be a finite number >= 0, got {beta!r}")
        self.model = model
        self.channel_axis = channel_axis
        self.elbo = bool(elbo)
        self.beta = float(beta)
        self._n_values = math.prod(model.input_shape)  # values per sample (VAEs: fixed shape)
        shape = [1] * (len(model.input_shape) + 1)
        shape[channel_axis] = -1
        self.register_buffer("center", torch.as_tensor(np.asarray(center), dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale), dtype=torch.float32))
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=torch.float32))
        n = self.center.numel()
        weights = (
            np.ones(n) if channel_weights is None else check_channel_weights(channel_weights, n)
        )
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self._bshape = shape

    def forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        center = self.center.reshape(self._bshape)
        scale = self.scale.reshape(self._bshape)
        scaled = (x - center) / scale  # (B, L, C) or (B, C, H, W)
        n_channels = x.shape[self.channel_axis]
        if self.elbo:
            mean, log_var = self.model.encode_stats(scaled)  # (B, Z) each
            recon = self.model.decode(mean)  # the posterior mean: deterministic
            squared = (recon - scaled) ** 2
        elif isinstance(self.model, Ensemble):
            # the members' errors averaged (not the error of their averaged reconstruction)
            recons = self.model.member_reconstructions(scaled)  # (K, *x.shape)
            squared = (self.model.shares(scaled.dim()) * (recons - scaled) ** 2).sum(dim=0)
            recon = self.model.mix(recons)
        else:
            recon = self.model(scaled)
            squared = (recon - scaled) ** 2
        weights = self.weights.reshape(self._bshape)
        channel_error = weights * squared / (n_channels * self.threshold)
        if self.elbo:
            # beta * KL per value of the sample (the trainer's scale), normalised, then shared
            # equally by the sample's values: timestep errors still average to the score.
            kl = self.beta * kl_per_sample(mean, log_var) / (self._n_values * self.threshold)
            share = (kl / n_channels).reshape(-1, *([1] * (channel_error.dim() - 1)))
            channel_error = channel_error + share.to(channel_error.dtype)
        timestep_error = channel_error.sum(dim=self.channel_axis)  # (B, L) or (B, H, W)
        window_score = timestep_error.flatten(1).mean(dim=1)  # (B,)
        return recon * scale + center, timestep_error, channel_error, window_score


def check_channel_weights(weights: Any, n_channels: int) -> np.ndarray:
    """``weights`` as a float64 array of ``n_channels`` finite values >= 0, one of them > 0.

    Raises
    ------
    ParameterError
        Anything else, with what was expected.

    Examples
    --------
    >>> check_channel_weights([1, 0.5], 2)
    array([1. , 0.5])
    """
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"channel_weights must be numbers, got {weights!r}") from None
    if w.shape != (n_channels,):
        raise ParameterError(
            f"channel_weights must have one weight per channel ({n_channels}), got shape {w.shape}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ParameterError(
            f"channel_weights must be finite numbers >= 0, at least one > 0, got {w.tolist()}"
        )
    return w


def head_runner(
    head: ScoringHead, device: torch.device | str = "cpu", *, reconstruction: bool = False
) -> RunFn:
    """The head as the ``run`` callable of the numpy scoring loops in :mod:`seqae.scoring.core`.

    ``run(frames (B, L, C) float32) -> (channel_error (B, L, C), reconstruction or None)``,
    numpy in and out, under ``torch.inference_mode`` on ``device``.

    Examples
    --------
    >>> from seqae.scoring.core import score_windowed
    >>> from seqae.models import build_model
    >>> head = ScoringHead(build_model("dense", (16, 2), {"hidden": (8, 4)}), [0, 0], [1, 1])
    >>> x = np.zeros((40, 2), dtype=np.float32)
    >>> score_windowed(head_runner(head.eval()), x, frame=16, step=4).scores.shape
    (40,)
    """
    device = torch.device(device)

    def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with torch.inference_mode():
            recon, _, channel_error, _ = head(torch.from_numpy(batch).to(device, non_blocking=True))
            out = recon.float().cpu().numpy() if reconstruction else None
            return channel_error.float().cpu().numpy(), out

    return run


def convolutional_halo(model: Autoencoder) -> int:
    """Overlap each chunk needs on both sides: the receptive field, rounded up to the stride."""
    stride = int(model.total_stride)
    return -(-int(model.receptive_field) // stride) * stride
