"""Objectives: hand-computed small cases for every loss, regulariser and corruption."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seqae.errors import ParameterError
from seqae.training.objectives import (
    contractive_penalty,
    corrupt,
    k_sparse,
    kl_divergence,
    l1_activity,
    reconstruction_loss,
    shift_levels,
)


class LinearEncoder(torch.nn.Module):
    def __init__(self, weight: torch.Tensor, activation=None) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(weight.clone())
        self.activation = activation

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1) @ self.weight.T
        return z if self.activation is None else self.activation(z)


# --- reconstruction losses -------------------------------------------------------------------


def test_mse_and_mae_by_hand():
    recon = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[0.0, 2.0], [1.0, 7.0]])
    # errors 1, 0, 2, -3
    assert reconstruction_loss("mse", recon, target).item() == pytest.approx((1 + 0 + 4 + 9) / 4)
    assert reconstruction_loss("mae", recon, target).item() == pytest.approx((1 + 0 + 2 + 3) / 4)


def test_bce_by_hand():
    recon = torch.tensor([[0.25, 0.5]])
    target = torch.tensor([[1.0, 0.0]])
    expected = -(math.log(0.25) + math.log(0.5)) / 2
    assert reconstruction_loss("bce", recon, target).item() == pytest.approx(expected)


def test_cross_entropy_takes_logits_and_class_ids():
    logits = torch.tensor([[0.0, math.log(3.0)], [math.log(3.0), 0.0]])  # p = 1/4, 3/4
    target = torch.tensor([1, 1])
    expected = -(math.log(0.75) + math.log(0.25)) / 2
    assert reconstruction_loss("cross_entropy", logits, target).item() == pytest.approx(expected)


def test_loss_is_float32_for_half_inputs():
    recon = torch.tensor([[1.0, 2.0]], dtype=torch.bfloat16)
    loss = reconstruction_loss("mse", recon, torch.zeros(1, 2, dtype=torch.bfloat16))
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(2.5)


def test_unknown_loss_is_a_parameter_error():
    with pytest.raises(ParameterError, match="'huber'"):
        reconstruction_loss("huber", torch.zeros(2), torch.zeros(2))


# --- KL and L1 --------------------------------------------------------------------------------


def test_kl_of_standard_normal_is_zero():
    assert kl_divergence(torch.zeros(5, 3), torch.zeros(5, 3)).item() == 0.0


def test_kl_by_hand():
    # one unit N(1, 1): 0.5 * 1; one unit N(0, 2): 0.5 * (2 - 1 - ln 2); summed per sample
    mean = torch.tensor([[1.0, 0.0]])
    log_var = torch.tensor([[0.0, math.log(2.0)]])
    expected = 0.5 + 0.5 * (1.0 - math.log(2.0))
    assert kl_divergence(mean, log_var).item() == pytest.approx(expected)
    # averaged over the batch: a second sample with zero KL halves it
    mean2, log_var2 = torch.cat([mean, torch.zeros(1, 2)]), torch.cat([log_var, torch.zeros(1, 2)])
    assert kl_divergence(mean2, log_var2).item() == pytest.approx(expected / 2)


@given(
    mean=arrays(np.float32, (3, 4), elements=st.floats(-3, 3, width=32)),
    log_var=arrays(np.float32, (3, 4), elements=st.floats(-3, 3, width=32)),
)
@settings(max_examples=30, deadline=None)
def test_kl_is_non_negative(mean, log_var):
    assert kl_divergence(torch.from_numpy(mean), torch.from_numpy(log_var)).item() >= -1e-5


def test_l1_activity_is_the_mean_per_sample_l1_norm():
    latent = torch.tensor([[1.0, -2.0], [3.0, 0.0]])
    assert l1_activity(latent).item() == pytest.approx((3.0 + 3.0) / 2)


# --- contractive penalty ----------------------------------------------------------------------


def test_contractive_penalty_of_linear_encoder_is_frobenius_norm():
    w = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    model = LinearEncoder(w)
    penalty = contractive_penalty(model, torch.randn(7, 3))
    assert penalty.item() == pytest.approx(float((w**2).sum()))
    penalty.backward()  # d ||W||^2 / dW = 2W: the penalty trains the encoder
    torch.testing.assert_close(model.weight.grad, 2 * w)


def test_contractive_penalty_matches_explicit_jacobians():
    torch.manual_seed(0)
    model = LinearEncoder(torch.randn(4, 6), activation=torch.tanh)
    x = torch.randn(5, 2, 3)
    expected = np.mean(
        [float(torch.autograd.functional.jacobian(model.encode, xi[None]).pow(2).sum()) for xi in x]
    )
    assert contractive_penalty(model, x).item() == pytest.approx(expected, rel=1e-5)


def test_contractive_penalty_reuses_a_given_latent():
    model = LinearEncoder(torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
    x = torch.randn(4, 2, requires_grad=True)
    assert contractive_penalty(model, x, model.encode(x)).item() == pytest.approx(13.0)
    with pytest.raises(ParameterError, match="requires grad"):
        contractive_penalty(model, x.detach(), model.encode(x))


# --- corruption -------------------------------------------------------------------------------


def test_shift_levels_moves_each_frame_channel_by_one_offset():
    x = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    y = x * 2
    xs, ys = shift_levels(x, y, 2.0, torch.Generator().manual_seed(1))
    offset = xs - x
    assert torch.allclose(ys - y, offset)  # the target moves as the input does
    assert torch.allclose(offset, offset[:, :1].expand_as(offset))  # one level per frame/channel
    assert len(torch.unique(offset[:, 0])) == 6  # each frame and channel its own
    again, _ = shift_levels(x, y, 2.0, torch.Generator().manual_seed(1))
    assert torch.equal(again, xs)
    big = shift_levels(torch.zeros(4000, 1, 2), torch.zeros(4000, 1, 2), 2.0)[0]
    assert float(big.std()) == pytest.approx(2.0, rel=0.05)
    with pytest.raises(ParameterError, match="sequences"):
        shift_levels(torch.zeros(2, 3), torch.zeros(2, 3), 1.0)
    with pytest.raises(ParameterError, match="sequences"):
        shift_levels(x, torch.zeros(2), 1.0)


def test_corrupt_without_noise_returns_the_input():
    x = torch.randn(3, 4)
    assert corrupt(x) is x


def test_gaussian_noise_has_the_requested_std_and_keeps_x():
    x = torch.ones(200, 100)
    g = torch.Generator().manual_seed(0)
    y = corrupt(x, noise_std=0.5, generator=g)
    assert torch.equal(x, torch.ones(200, 100))  # the clean input is untouched
    assert (y - x).std().item() == pytest.approx(0.5, rel=0.02)
    assert (y - x).mean().item() == pytest.approx(0.0, abs=0.01)


def test_masking_zeroes_the_requested_fraction():
    x = torch.full((200, 100), 3.0)
    y = corrupt(x, mask_fraction=0.3, generator=torch.Generator().manual_seed(1))
    zeroed = y == 0
    assert zeroed.float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert torch.all(y[~zeroed] == 3.0)


def test_corruption_is_reproducible_with_a_generator():
    x = torch.zeros(10, 10)
    a = corrupt(x, 1.0, 0.2, torch.Generator().manual_seed(5))
    b = corrupt(x, 1.0, 0.2, torch.Generator().manual_seed(5))
    c = corrupt(x, 1.0, 0.2, torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize(("noise_std", "mask_fraction"), [(-0.1, 0.0), (0.0, 1.0), (0.0, -0.5)])
def test_corrupt_rejects_bad_amounts(noise_std, mask_fraction):
    with pytest.raises(ParameterError):
        corrupt(torch.zeros(2, 2), noise_std, mask_fraction)


# --- k-sparse ---------------------------------------------------------------------------------


def test_k_sparse_by_hand():
    z = torch.tensor([[0.5, -1.0, 2.0, 1.5], [4.0, 3.0, -2.0, 0.0]])
    expected = torch.tensor([[0.0, 0.0, 2.0, 1.5], [4.0, 3.0, 0.0, 0.0]])
    assert torch.equal(k_sparse(z, 2), expected)


@given(
    z=arrays(np.float32, (4, 3, 2), elements=st.floats(-10, 10, width=32), unique=True),
    k=st.integers(1, 6),
)
@settings(max_examples=40, deadline=None)
def test_k_sparse_keeps_exactly_the_k_largest(z, k):
    out = k_sparse(torch.from_numpy(z), k).numpy().reshape(4, -1)
    flat = z.reshape(4, -1)
    for row, kept in zip(flat, out, strict=True):
        top = np.sort(np.argsort(row)[-k:])
        np.testing.assert_array_equal(kept[top], row[top])
        rest = np.setdiff1d(np.arange(row.size), top)
        assert np.all(kept[rest] == 0)


def test_k_sparse_gradient_flows_through_kept_units_only():
    z = torch.tensor([[1.0, 5.0, 3.0]], requires_grad=True)
    k_sparse(z, 2).sum().backward()
    assert z.grad.tolist() == [[0.0, 1.0, 1.0]]


def test_k_sparse_with_k_at_least_the_units_is_identity():
    z = torch.randn(3, 4)
    assert torch.equal(k_sparse(z, 4), z)
    assert torch.equal(k_sparse(z, np.int64(10)), z)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_k_sparse_rejects_bad_k(k):
    with pytest.raises(ParameterError, match="k must be"):
        k_sparse(torch.zeros(2, 3), k)


def test_timestep_masking_zeroes_whole_timesteps():
    x = torch.ones(4, 50, 3)
    y = corrupt(
        x, mask_fraction=0.4, generator=torch.Generator().manual_seed(0), mask_timesteps=True
    )
    zero_rows = (y == 0).all(dim=-1)
    assert ((y == 0).any(dim=-1) == zero_rows).all()  # a timestep is masked whole or not at all
    assert 0.25 < zero_rows.float().mean() < 0.55
    with pytest.raises(ParameterError, match="mask_timesteps"):
        corrupt(torch.ones(2, 1, 8, 8), mask_fraction=0.1, mask_timesteps=True)
