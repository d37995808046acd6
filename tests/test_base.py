"""The contract every family keeps (seqae.models.base.Autoencoder): shapes, any length, the input
shape check, and a spec that rebuilds the model exactly; every registered family is checked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqae.errors import ParameterError
from seqae.models import build_model, models_of_kind

SEQUENCE_MODELS = models_of_kind("sequence")  # every registered family, none listed by hand


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _eval(model: torch.nn.Module) -> torch.nn.Module:
    return model.double().eval()


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
@pytest.mark.parametrize(("frame", "channels"), [(8, 1), (32, 3), (64, 8)])
def test_round_trip_shape(name: str, frame: int, channels: int) -> None:
    model = build_model(name, (frame, channels))
    x = torch.randn(5, frame, channels)
    out = model(x)
    assert out.shape == x.shape
    assert out.dtype == torch.float32
    recon, extras = model.forward_train(x)
    assert recon.shape == x.shape
    assert extras["latent"].shape[0] == 5


@pytest.mark.parametrize("name", ["conv1d", "lstm", "gru"])
@pytest.mark.parametrize("length", [1, 7, 64, 203])
def test_sequence_models_take_other_lengths(name: str, length: int) -> None:
    model = build_model(name, (32, 2))
    assert model(torch.randn(3, length, 2)).shape == (3, length, 2)


@pytest.mark.parametrize("name", ["conv1d", "lstm", "gru"])
def test_sequence_models_need_frame_and_channels(name: str) -> None:
    with pytest.raises(ParameterError, match="input_shape"):
        build_model(name, (1, 8, 8))


SPEC_CASES = [
    ("conv1d", {"batch_norm": True, "filters": (4, 8), "upsampling": "nearest"}),
    ("lstm", {"num_layers": 2, "bidirectional": True, "dropout": 0.1}),
    ("gru", {"hidden_size": 8, "latent_dim": 3}),
    ("dense", {"hidden": (32, 8, 4), "dropout": 0.2}),
    ("pca", {"n_components": 5, "whiten": True}),
    ("pca", {"n_components": 0.9}),
]


@pytest.mark.parametrize(("name", "params"), SPEC_CASES)
def test_spec_rebuilds_an_identical_model(name: str, params: dict) -> None:
    model = build_model(name, (16, 3), params)
    if model.closed_form:
        model.fit_closed_form(np.random.default_rng(0).normal(size=(300, 16, 3)))
    elif params.get("batch_norm"):
        model(torch.randn(8, 16, 3) * 2 + 1)  # move the running statistics off their defaults
    model.eval()
    spec = json.loads(json.dumps(model.get_spec()))  # as it travels in config.json
    again = build_model(spec["name"], tuple(spec["input_shape"]), spec["config"]).eval()
    again.load_state_dict(model.state_dict())
    x = torch.randn(4, 16, 3)
    torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)
