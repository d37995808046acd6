"""seqae.models.image: the convolutional image autoencoders keep any image size."""

from __future__ import annotations

import pytest
import torch

from seqae.models import build_model


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 7, 5), (2, 1, 1)])
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("conv2d", {"filters": (4, 8, 8)}),
        ("conv2d", {"filters": (4, 8), "latent_dim": None, "upsampling": "nearest"}),
        ("conv2d_vae", {"filters": (4,), "latent_dim": 3}),
        ("vae", {"hidden": (8, 3)}),
        ("linear", {}),
    ],
)
def test_image_models_keep_any_shape(name, params, shape):
    model = build_model(name, shape, params).train()
    x = torch.rand(3, *shape)
    recon, extras = model.forward_train(x)
    assert recon.shape == x.shape
    assert model.eval()(x).shape == x.shape
    assert extras["latent"].shape[0] == 3
