"""seqae.models.recurrent: the LSTM and GRU autoencoders: the latent is the decoder's only
knowledge of the frame, any length decodes, and the bidirectional encoder reads both ways."""

from __future__ import annotations

import pytest
import torch

from seqae.models import build_model


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_the_decoder_sees_the_frame_only_through_the_latent(name):
    model = build_model(name, (12, 3), {"hidden_size": 8, "latent_dim": 4}).double().eval()
    x = torch.randn(2, 12, 3, dtype=torch.float64)
    z = model.encode(x)
    assert z.shape == (2, 4)
    torch.testing.assert_close(model(x), model.decode(z, 12), rtol=0, atol=0)
    # any length decodes from the same code; a longer decode starts as the shorter one
    long = model.decode(z, 30)
    assert long.shape == (2, 30, 3)
    torch.testing.assert_close(long[:, :12], model.decode(z, 12), rtol=0, atol=1e-12)
    assert model.decode(z).shape == (2, 12, 3)  # the frame by default


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_code_depends_on_the_first_timestep_in_both_directions(bidirectional):
    """The code is read from the last hidden state: forward only, it still has seen the first
    step; with a backward direction the first step is that direction's last input."""
    params = {"hidden_size": 8, "latent_dim": 4, "bidirectional": bidirectional}
    model = build_model("gru", (10, 2), params).double().eval()
    x = torch.randn(1, 10, 2, dtype=torch.float64, requires_grad=True)
    model.encode(x).sum().backward()
    assert x.grad[0, 0].abs().sum() > 0 and x.grad[0, -1].abs().sum() > 0
    assert model.to_latent.in_features == (16 if bidirectional else 8)


def test_stacked_layers_and_dropout_are_built_as_asked():
    model = build_model("lstm", (8, 2), {"hidden_size": 6, "num_layers": 2, "dropout": 0.5})
    assert model.encoder_rnn.num_layers == model.decoder_rnn.num_layers == 2
    assert model.encoder_rnn.dropout == 0.5
    single = build_model("lstm", (8, 2), {"num_layers": 1, "dropout": 0.5})
    assert single.encoder_rnn.dropout == 0.0  # nothing to drop between layers: not passed on
