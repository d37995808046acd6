"""seqae.models.pca: the closed-form PCA autoencoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqae.errors import DataError
from seqae.models import build_model
from seqae.scoring.windowing import WindowSet


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


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
