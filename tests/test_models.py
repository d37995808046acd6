"""The autoencoder families: shapes, length arithmetic, chunking, specs and closed forms."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqae.errors import DataError, ParameterError
from seqae.models import available_models, build_model, models_of_kind
from seqae.scoring.windowing import WindowSet

SEQUENCE_MODELS = models_of_kind("sequence")  # every registered family, none listed by hand


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _eval(model: torch.nn.Module) -> torch.nn.Module:
    return model.double().eval()


def test_registry_names() -> None:
    assert set(SEQUENCE_MODELS) <= set(available_models())


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


def test_unknown_model_and_unknown_field() -> None:
    with pytest.raises(ParameterError, match=r"unknown model 'transformer'.*conv1d"):
        build_model("transformer", (32, 2))
    with pytest.raises(ParameterError, match=r"no parameter.*hiden_size.*hidden_size"):
        build_model("lstm", (32, 2), {"hiden_size": 8})


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("lstm", {"hidden_size": 0}, "hidden_size must be an integer >= 1"),
        ("gru", {"bidirectional": "yes"}, "bidirectional must be one of"),
        ("dense", {"activation": "softmax"}, "activation must be one of"),
        ("dense", {"output_activation": "tanh"}, "output_activation must be one of"),
        ("pca", {"n_components": 1.5}, r"fraction in \(0, 1\)"),
        ("pca", {"n_components": 0}, "n_components must be an integer >= 1"),
        ("pca", {"n_components": 100}, "n_components=100 is more than the 64 values"),
    ],
)
def test_other_bad_configs(name: str, params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        build_model(name, (32, 2), params)


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


def test_pca_reconstructs_a_rank_k_signal_exactly() -> None:
    rng = np.random.default_rng(1)
    k, frame, channels = 3, 20, 4
    basis = rng.normal(size=(k, frame * channels))
    offset = rng.normal(size=frame * channels)
    windows = (rng.normal(size=(400, k)) @ basis + offset).reshape(400, frame, channels)
    model = build_model("pca", (frame, channels), {"n_components": k})
    model.fit_closed_form(windows.astype(np.float32))
    x = torch.from_numpy(windows[:50]).float()
    torch.testing.assert_close(model(x), x, rtol=0, atol=1e-4)
    # one component fewer cannot: the test above is not vacuous
    smaller = build_model("pca", (frame, channels), {"n_components": k - 1})
    smaller.fit_closed_form(windows.astype(np.float32))
    assert (smaller(x) - x).abs().max() > 0.1


def test_pca_fraction_resolves_the_component_count_and_whiten_keeps_reconstruction() -> None:
    rng = np.random.default_rng(2)
    windows = (rng.normal(size=(500, 2)) @ rng.normal(size=(2, 24))).reshape(500, 12, 2)
    windows += 1e-3 * rng.normal(size=windows.shape)
    plain = build_model("pca", (12, 2), {"n_components": 0.99}).fit_closed_form(windows)
    assert plain.n_components_ == 2
    assert plain.get_spec()["config"]["n_components"] == 2
    white = build_model("pca", (12, 2), {"n_components": 2, "whiten": True})
    white.fit_closed_form(windows)
    x = torch.from_numpy(windows[:40]).float()
    torch.testing.assert_close(white(x), plain(x), rtol=1e-4, atol=1e-5)
    z = white.encode(torch.from_numpy(windows).float())
    torch.testing.assert_close(z.std(0), torch.ones(2), rtol=1e-2, atol=0)


def test_pca_fits_a_window_set_with_at_most_max_samples() -> None:
    requested: list[int] = []

    class Recording(WindowSet):
        def __getitem__(self, idx):  # type: ignore[no-untyped-def]
            requested.extend(np.atleast_1d(idx).tolist())
            return super().__getitem__(idx)

    rng = np.random.default_rng(3)
    windows = Recording([rng.normal(size=(1000, 2)).astype(np.float32)], frame=10, step=1)
    model = build_model("pca", (10, 2), {"n_components": 4, "max_samples": 100})
    model.fit_closed_form(windows)
    assert len(requested) == 100
    assert requested[0] == 0 and requested[-1] == len(windows) - 1
    assert model.components.shape == (4, 20)


def test_pca_data_errors() -> None:
    model = build_model("pca", (8, 2), {"n_components": 3})
    with pytest.raises(DataError, match=r"expected windows shaped \(n, 8, 2\)"):
        model.fit_closed_form(np.zeros((10, 8, 3), dtype=np.float32))
    with pytest.raises(DataError, match="needs at least 3 windows"):
        model.fit_closed_form(np.zeros((2, 8, 2), dtype=np.float32))
    bad = np.zeros((10, 8, 2), dtype=np.float32)
    bad[6, 3, 1] = np.nan
    with pytest.raises(DataError, match="non-finite value in window 6"):
        model.fit_closed_form(bad)


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
