"""Recurrent sequence autoencoders (LSTM and GRU).

The encoder reads the frame and summarises it in its last hidden state, projected to a latent
vector. The decoder receives that vector repeated at every timestep as its input (the
"RepeatVector" design) and starts from a zero state, so the latent is its only knowledge of the
frame; a linear read-out maps each decoder state back to the channels.

Any length works at inference (the reconstruction has the input's length), but the model
summarises a whole frame in one vector: lengths far from the training frame are out of
distribution, so it is not marked fully convolutional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .base import Autoencoder
from .registry import register_model
from .validators import check_choice, check_dropout, check_input_shape, check_int

__all__ = ["GRUAE", "LSTMAE", "RecurrentAE", "RecurrentConfig"]


@dataclass(frozen=True)
class RecurrentConfig:
    """Hyper-parameters of :class:`RecurrentAE` (``"lstm"`` and ``"gru"``).

    Parameters
    ----------
    hidden_size : int
        State size of the encoder and decoder RNNs.
    num_layers : int
        Stacked RNN layers in the encoder and in the decoder.
    latent_dim : int
        Size of the latent vector.
    bidirectional : bool
        Bidirectional encoder (the decoder always runs forward).
    dropout : float
        Dropout between stacked RNN layers (no effect when ``num_layers == 1``).
    """

    hidden_size: int = 64
    num_layers: int = 1
    latent_dim: int = 16
    bidirectional: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_int("latent_dim", self.latent_dim, 1)
        check_choice("bidirectional", self.bidirectional, (True, False))
        check_dropout(self.dropout)


class RecurrentAE(Autoencoder):
    """Encoder RNN → latent vector → decoder RNN fed the repeated latent → linear read-out.

    Registered as ``"lstm"`` (:class:`LSTMAE`) and ``"gru"`` (:class:`GRUAE`).

    Examples
    --------
    >>> import torch
    >>> from seqae.models import build_model
    >>> model = build_model("gru", (50, 4), {"hidden_size": 32, "latent_dim": 8})
    >>> model(torch.zeros(3, 50, 4)).shape
    torch.Size([3, 50, 4])
    >>> model.encode(torch.zeros(3, 50, 4)).shape
    torch.Size([3, 8])
    """

    Config = RecurrentConfig
    rnn_class: ClassVar[type[nn.RNNBase]]

    def __init__(self, input_shape: tuple[int, ...], config: RecurrentConfig) -> None:
        super().__init__(input_shape, config)
        check_input_shape(self.name, self.input_shape, 2)
        channels = self.input_shape[1]
        cfg = config
        rnn_args = {
            "hidden_size": cfg.hidden_size,
            "num_layers": cfg.num_layers,
            "batch_first": True,
            # PyTorch warns about dropout on a single layer, where it does nothing anyway.
            "dropout": cfg.dropout if cfg.num_layers > 1 else 0.0,
        }
        directions = 2 if cfg.bidirectional else 1
        self.encoder_rnn = self.rnn_class(channels, bidirectional=cfg.bidirectional, **rnn_args)
        self.to_latent = nn.Linear(directions * cfg.hidden_size, cfg.latent_dim)
        self.decoder_rnn = self.rnn_class(cfg.latent_dim, **rnn_args)
        self.readout = nn.Linear(cfg.hidden_size, channels)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C)`` → latent ``(B, latent_dim)``."""
        _, state = self.encoder_rnn(x)
        h = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c); (L * D, B, H)
        directions = 2 if self.config.bidirectional else 1
        last = h[-directions:]  # the top layer, both directions: (D, B, H)
        return self.to_latent(torch.cat(list(last.unbind(0)), dim=-1))  # (B, D*H) -> (B, Z)

    def decode(self, z: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Latent ``(B, latent_dim)`` → ``(B, length, C)``; ``length`` defaults to the frame."""
        n = self.input_shape[0] if length is None else length
        inputs = z.unsqueeze(1).expand(-1, n, -1)  # (B, T, Z)
        out, _ = self.decoder_rnn(inputs)  # (B, T, H)
        return self.readout(out)  # (B, T, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C)`` → reconstruction ``(B, T, C)``, any ``T >= 1``."""
        return self.decode(self.encode(x), x.shape[1])

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z = self.encode(x)
        return self.decode(z, x.shape[1]), {"latent": z}


@register_model
class LSTMAE(RecurrentAE):
    """LSTM autoencoder; see :class:`RecurrentAE`."""

    name = "lstm"
    rnn_class = nn.LSTM


@register_model
class GRUAE(RecurrentAE):
    """GRU autoencoder; see :class:`RecurrentAE`."""

    name = "gru"
    rnn_class = nn.GRU
