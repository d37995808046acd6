"""seqae.models.conv1d: the 1-D convolutional autoencoder: length arithmetic, receptive field,
chunking, architecture checks."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqae.errors import ParameterError
from seqae.models import build_model


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _eval(model: torch.nn.Module) -> torch.nn.Module:
    return model.double().eval()


def test_conv1d_pads_the_end_by_repetition_and_crops() -> None:
    model = _eval(build_model("conv1d", (32, 2)))
    x = torch.randn(2, 61, 2, dtype=torch.float64)
    padded = torch.cat([x, x[:, -1:].expand(-1, 3, -1)], dim=1)  # 61 -> 64 = 8 * 8
    torch.testing.assert_close(model(x), model(padded)[:, :61], rtol=0, atol=0)
    assert model.encode(x).shape == (2, 8, 16)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"upsampling": "nearest"},
        {"upsampling": "nearest", "kernel_size": 5, "dilation": 3},
        {"kernel_size": 5, "dilation": 3},
        {"kernel_size": 4, "filters": (8, 8)},
        {"stride": 3, "kernel_size": 3, "filters": (8, 8)},
        {"stride": 1, "filters": (8, 4)},
    ],
)
def test_conv1d_receptive_field_is_the_exact_reach(params: dict) -> None:
    """Output t depends on inputs t ± receptive_field, and on t - receptive_field or
    t + receptive_field for some output phase (the bound is tight)."""
    model = _eval(build_model("conv1d", (72, 2), {"activation": "tanh", **params}))
    stride, reach = model.total_stride, model.receptive_field
    n = 4 * reach + 4 * stride + 8
    x = torch.randn(stride, n, 2, dtype=torch.float64, requires_grad=True)
    centre = 2 * reach + 2 * stride
    centre -= centre % stride
    # one output per phase, each in its own batch row, so one backward gives every gradient
    model(x)[torch.arange(stride), centre + torch.arange(stride)].sum().backward()
    seen = 0
    for phase in range(stride):
        touched = torch.nonzero(x.grad[phase].abs().sum(1)).flatten()
        t = centre + phase
        seen = max(seen, t - int(touched.min()), int(touched.max()) - t)
    assert seen == reach


@settings(max_examples=25, deadline=None)
@given(
    stride=st.integers(1, 3),
    kernel_size=st.integers(1, 7),
    dilation=st.integers(1, 3),
    depth=st.integers(1, 3),
    upsampling=st.sampled_from(["transpose", "nearest"]),
    length=st.integers(1, 50),
)
def test_conv1d_any_valid_architecture_keeps_any_length(
    stride: int, kernel_size: int, dilation: int, depth: int, upsampling: str, length: int
) -> None:
    params = {
        "stride": stride,
        "kernel_size": kernel_size,
        "dilation": dilation,
        "filters": (4,) * depth,
        "upsampling": upsampling,
        "activation": "tanh",
    }
    try:
        model = build_model("conv1d", (stride**depth, 2), params)
    except ParameterError as exc:  # only the two documented architecture rules may refuse
        assert "padding" in str(exc) or "skip timesteps" in str(exc)
        return
    model = _eval(model)
    x = torch.randn(1, length, 2, dtype=torch.float64, requires_grad=True)
    out = model(x)
    assert out.shape == x.shape
    # no output may depend on an input further away than the receptive field
    t = length // 2
    out[0, t].sum().backward()
    touched = torch.nonzero(x.grad[0].abs().sum(1)).flatten()  # may be empty: holed kernels
    assert bool((touched >= t - model.receptive_field).all())
    assert bool((touched <= t + model.receptive_field).all())


def _chunked(model: torch.nn.Module, x: torch.Tensor, core: int, halo: int) -> torch.Tensor:
    """Score ``x`` chunk by chunk: cores of ``core`` steps, chunk starts on the stride grid."""
    stride, n = model.total_stride, x.shape[1]
    parts = []
    for start in range(0, n, core):
        lo = max(0, (start - halo) // stride * stride)
        hi = min(n, start + core + halo)
        out = model(x[:, lo:hi])
        parts.append(out[:, start - lo : min(start + core, n) - lo])
    return torch.cat(parts, dim=1)


@pytest.mark.parametrize(
    "params",
    [{}, {"upsampling": "nearest", "batch_norm": True}, {"kernel_size": 5, "dilation": 3}],
)
def test_conv1d_chunked_equals_one_pass_with_the_receptive_field_halo(params: dict) -> None:
    model = build_model("conv1d", (64, 3), params)
    if params.get("batch_norm"):  # give BatchNorm non-trivial running statistics
        model.train()
        model(torch.randn(16, 64, 3) * 3 + 1)
    model = _eval(model)
    x = torch.randn(1, 3001, 3, dtype=torch.float64)  # not a multiple of the stride
    whole = model(x)
    core = 400  # a multiple of the total stride, so every chunk start is aligned
    chunked = _chunked(model, x, core, model.receptive_field)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-5)
    # the test can fail: half the halo breaks the equality
    short = _chunked(model, x, core, model.receptive_field // 2)
    assert (short - whole).abs().max() > 1e-5


def test_conv1d_bad_frame_names_the_layer_and_the_frames_that_work() -> None:
    with pytest.raises(ParameterError, match=r"layer 3 gets 25.*multiple of 8 \(e\.g\. 96 or 104"):
        build_model("conv1d", (100, 2))
    build_model("conv1d", (100, 2), {"filters": (8, 8)})  # 100 = 4 * 25 fits two layers


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"padding": 0}, r"padding=0 .* choose padding in \[3, 3\]"),
        ({"kernel_size": 4, "stride": 1}, "use an odd kernel"),
        ({"dilation": 2}, "dilation=2 and stride=2 skip timesteps"),
        ({"kernel_size": 1}, "kernel_size=1, dilation=1 and stride=2 skip timesteps"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"upsampling": "bilinear"}, "upsampling must be one of"),
        ({"filters": ()}, "filters must be a non-empty"),
        ({"filters": (8, 0)}, "every entry of filters"),
        ({"dropout": 1.0}, "dropout must be"),
        ({"kernel_size": True}, "kernel_size must be an integer"),
    ],
)
def test_conv1d_bad_config(params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        build_model("conv1d", (64, 2), params)


def test_conv1d_default_size() -> None:
    model = build_model("conv1d", (128, 8))
    n_params = sum(p.numel() for p in model.parameters())
    assert 10_000 <= n_params <= 100_000
    assert model.fully_convolutional and model.total_stride == 8
