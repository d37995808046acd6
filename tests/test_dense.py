"""seqae.models.dense: the dense autoencoder on sequences and images."""

from __future__ import annotations

import pytest
import torch

from seqae.models import build_model


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_linear_dense_has_no_nonlinearity() -> None:
    model = build_model("dense", (16, 3), {"hidden": (5,), "activation": None}).double()
    a, b = torch.randn(2, 4, 16, 3, dtype=torch.float64)
    zero = model(torch.zeros_like(a))
    torch.testing.assert_close(model(a + b) - zero, (model(a) - zero) + (model(b) - zero))
    relu = build_model("dense", (16, 3), {"hidden": (5,)}).double()
    zero = relu(torch.zeros_like(a))
    assert not torch.allclose(relu(a + b) - zero, (relu(a) - zero) + (relu(b) - zero))


def test_dense_takes_image_shapes_and_sigmoid_output() -> None:
    model = build_model("dense", (1, 8, 8), {"output_activation": "sigmoid"})
    out = model(torch.randn(6, 1, 8, 8) * 10)
    assert out.shape == (6, 1, 8, 8)
    assert out.min() >= 0 and out.max() <= 1
