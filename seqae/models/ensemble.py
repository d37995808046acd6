"""Several networks of one family, trained apart, that score together.

Each member is an ordinary autoencoder of the same family and shape, trained on its own from
its own seed (``Detector(n_networks=...)``). Networks that start from different weights learn
normal data alike and miss its rare shapes differently, so the mean of their errors is less
noisy than any one's. ``member_weights`` holds one weight per network and channel, fitted by
the Detector as each network would normalise itself alone (1 / the network's mean held-out
error on the channel, then 1 / the median of the network's normalised score), so a network or
a channel whose normal errors run higher does not outvote the others.
:class:`seqae.models.head.ScoringHead` sums the members' squared errors with these weights, which
makes it an ensemble of detectors rather than an average of reconstructions (measured in
``benchmarks/results/suite-rounds.md``: averaging reconstructions gains less).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import ParameterError
from .base import Autoencoder

__all__ = ["Ensemble"]


class Ensemble(Autoencoder):
    """Members of one family scored together; ``forward`` is their weighted reconstruction.

    Parameters
    ----------
    members : sequence of Autoencoder
        At least two networks of the same family and input shape, not closed-form ones.

    Examples
    --------
    >>> from seqae.models import build_model
    >>> net = build_model("conv1d", (64, 2), networks=2)
    >>> net.name, net.n_networks, net.get_spec()["networks"]
    ('conv1d', 2, 2)
    >>> net.member_reconstructions(torch.zeros(3, 64, 2)).shape  # (network, batch, ...)
    torch.Size([2, 3, 64, 2])
    >>> net.member_weights  # (network, channel); each channel's weights sum to 1
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """

    def __init__(self, members: list[Autoencoder]) -> None:
        first = members[0]
        super().__init__(first.input_shape, first.config)
        if len(members) < 2:
            raise ParameterError(f"an ensemble needs 2 networks or more, got {len(members)}")
        if first.closed_form:
            raise ParameterError(
                f"model {first.name!r} is fitted in closed form: every network would be the "
                "same; use n_networks=1"
            )
        for other in members[1:]:
            if type(other) is not type(first) or other.input_shape != first.input_shape:
                raise ParameterError("the networks of an ensemble must share family and shape")
        self.members = nn.ModuleList(members)
        # a sample is (frame, channels) or an image (channels, height, width), whatever the family
        self._images = len(first.input_shape) == 3
        n_channels = first.input_shape[0 if self._images else -1]
        self.register_buffer(
            "member_weights", torch.full((len(members), n_channels), 1.0 / len(members))
        )
        # what the scoring loops read off a model, the members' own
        self.name = first.name  # type: ignore[misc]
        self.kind = first.kind  # type: ignore[misc]
        self.fully_convolutional = first.fully_convolutional  # type: ignore[misc]

    @property
    def n_networks(self) -> int:
        return len(self.members)

    @property
    def total_stride(self) -> int:
        return int(self.members[0].total_stride)

    @property
    def receptive_field(self) -> int:
        return int(self.members[0].receptive_field)

    def member_reconstructions(self, x: torch.Tensor) -> torch.Tensor:
        """Each member's reconstruction, stacked on a new first axis."""
        return torch.stack([member(x) for member in self.members])

    def shares(self, dim: int) -> torch.Tensor:
        """``member_weights`` shaped to multiply ``(network, *x.shape)`` stacks of a
        ``dim``-dimensional batch (channels last for sequences, second for images)."""
        shape = [len(self.members)] + [1] * dim
        shape[2 if self._images else -1] = -1
        return self.member_weights.reshape(shape)

    def mix(self, stack: torch.Tensor) -> torch.Tensor:
        """The weighted mean over the first axis of a ``(network, *x.shape)`` stack."""
        share = self.shares(stack.dim() - 1)
        return (share * stack).sum(dim=0) / share.sum(dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(self.member_reconstructions(x))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The members' codes side by side on the last axis."""
        return torch.cat([member.encode(x) for member in self.members], dim=-1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        parts = torch.chunk(z, len(self.members), dim=-1)
        return self.mix(
            torch.stack([m.decode(p) for m, p in zip(self.members, parts, strict=True)])
        )

    def get_spec(self) -> dict[str, Any]:
        return {**self.members[0].get_spec(), "networks": len(self.members)}
