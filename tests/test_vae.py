"""seqae.models.vae: variational autoencoders sample, and infer deterministically."""

from __future__ import annotations

import pytest
import torch

from seqae.errors import ParameterError
from seqae.models import build_model


def test_vae_sample_and_deterministic_inference():
    vae = build_model("conv2d_vae", (1, 8, 8), {"latent_dim": 4, "output_activation": "sigmoid"})
    samples = vae.sample(6, generator=torch.Generator().manual_seed(0))
    again = vae.sample(6, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (6, 1, 8, 8)
    torch.testing.assert_close(samples, again)
    assert ((samples >= 0) & (samples <= 1)).all()
    x = torch.rand(4, 1, 8, 8)
    vae.eval()
    torch.testing.assert_close(vae(x), vae(x))
    vae.train()
    a, b = vae.forward_train(x)[0], vae.forward_train(x)[0]
    assert not torch.equal(a, b)  # training samples the code
    with pytest.raises(ParameterError, match="n must be"):
        vae.sample(0)
