"""Principal-component reconstruction: the closed-form linear baseline.

The fitted mean and components are registered buffers, so they save with the weights and
become constants of an exported graph; there is nothing to train by gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import DataError, ParameterError
from .base import Autoencoder
from .registry import register_model
from .validators import check_input_shape, check_int

__all__ = ["PCAConfig", "PCAReconstruction"]


@dataclass(frozen=True)
class PCAConfig:
    """Hyper-parameters of :class:`PCAReconstruction`.

    Parameters
    ----------
    n_components : int or float
        Number of components, or a fraction in (0, 1) of explained variance to keep (the
        number is then resolved by :meth:`PCAReconstruction.fit_closed_form`).
    whiten : bool
        Scale the latent code to unit variance per component (the reconstruction is the same).
    max_samples : int
        Fit on at most this many windows, taken evenly spaced over the data.
    """

    n_components: int | float = 3
    whiten: bool = False
    max_samples: int = 100_000

    def __post_init__(self) -> None:
        n = self.n_components
        if isinstance(n, float):
            if not 0 < n < 1:
                raise ParameterError(
                    f"n_components must be an integer >= 1 or a fraction in (0, 1), got {n!r}"
                )
        else:
            check_int("n_components", n, 1)
        if self.whiten not in (True, False):
            raise ParameterError(f"whiten must be True or False, got {self.whiten!r}")
        check_int("max_samples", self.max_samples, 1)


@register_model
class PCAReconstruction(Autoencoder):
    """Reconstruct a flattened sample from its first principal components.

    ``forward(x) = (x - mean) @ components.T @ components + mean`` on ``x`` flattened to
    ``(B, D)``. Fit with :meth:`fit_closed_form`.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae.models import build_model
    >>> rng = np.random.default_rng(0)
    >>> windows = rng.normal(size=(200, 16, 2)).astype(np.float32)
    >>> model = build_model("pca", (16, 2), {"n_components": 4}).fit_closed_form(windows)
    >>> tuple(model.components.shape)
    (4, 32)
    >>> model.get_spec()["config"]["n_components"]
    4
    """

    name = "pca"
    Config = PCAConfig
    closed_form = True

    mean: torch.Tensor
    components: torch.Tensor
    explained_variance: torch.Tensor

    def __init__(self, input_shape: tuple[int, ...], config: PCAConfig) -> None:
        super().__init__(input_shape, config)
        check_input_shape(self.name, self.input_shape, None)
        n_features = math.prod(self.input_shape)
        n = config.n_components
        if isinstance(n, int) and n > n_features:
            raise ParameterError(
                f"n_components={n} is more than the {n_features} values of one sample "
                f"(input_shape {self.input_shape})"
            )
        # A fractional n_components is resolved at fit; until then there are no components.
        self._allocate(n if isinstance(n, int) else 0, n_features)

    def _allocate(self, n_components: int, n_features: int, **like: Any) -> None:
        self.register_buffer("mean", torch.zeros(n_features, **like))
        self.register_buffer("components", torch.zeros(n_components, n_features, **like))
        self.register_buffer("explained_variance", torch.ones(n_components, **like))

    @property
    def n_components_(self) -> int:
        """Number of components held (0 before fitting a fractional ``n_components``)."""
        return self.components.shape[0]

    def get_spec(self) -> dict[str, Any]:
        """Like :meth:`Autoencoder.get_spec`, with ``n_components`` as the resolved count."""
        spec = super().get_spec()
        if self.n_components_ > 0:
            spec["config"]["n_components"] = self.n_components_
        return spec

    def fit_closed_form(self, windows: Any, random_state: int | None = None) -> PCAReconstruction:
        """Fit the components with scikit-learn's PCA and copy them into the buffers.

        Parameters
        ----------
        windows : sized, integer-array indexable
            ``len(windows)`` samples; ``windows[idx]`` returns ``(len(idx), *input_shape)``
            float arrays (a :class:`seqae.scoring.windowing.WindowSet` or an ndarray).
        random_state : int, optional
            Seed of the randomized SVD scikit-learn may choose for large data.

        Returns
        -------
        self
        """
        from sklearn.decomposition import PCA

        cfg = self.config
        n_total = len(windows)
        n_use = min(n_total, cfg.max_samples)
        idx = np.unique(np.linspace(0, n_total - 1, n_use).round().astype(np.int64))
        data = np.asarray(windows[idx], dtype=np.float32)
        if data.shape[1:] != self.input_shape:
            raise DataError(
                f"pca expected windows shaped (n, {', '.join(map(str, self.input_shape))}), "
                f"got {data.shape}"
            )
        data = data.reshape(len(data), -1)  # (N, D)
        n_features = data.shape[1]
        if not np.isfinite(data).all():
            row = int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0])
            raise DataError(f"pca got a non-finite value in window {int(idx[row])}")
        n = cfg.n_components
        if isinstance(n, int) and n > min(len(data), n_features):
            raise DataError(f"n_components={n} needs at least {n} windows to fit, got {len(data)}")
        if len(data) < 2:
            raise DataError(f"pca needs at least 2 windows to fit, got {len(data)}")
        pca = PCA(
            n_components=n,
            svd_solver="full" if isinstance(n, float) else "auto",
            random_state=random_state,
        )
        with np.errstate(divide="ignore", invalid="ignore"):  # constant data: 0 / 0 variance ratio
            pca.fit(data)
        # Register again: a fractional n_components only now knows the buffer sizes.
        self._allocate(
            pca.n_components_, n_features, dtype=self.mean.dtype, device=self.mean.device
        )
        self.mean.copy_(torch.from_numpy(pca.mean_))
        self.components.copy_(torch.from_numpy(pca.components_))
        self.explained_variance.copy_(torch.from_numpy(pca.explained_variance_))
        return self

    def _scale(self) -> torch.Tensor:
        # Clamped so zero-variance components (data of lower rank) do not divide by zero;
        # encode and decode use the same clamped value, so the round trip stays exact.
        return self.explained_variance.clamp_min(1e-12).sqrt()  # (k,)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, *input_shape)`` → component scores ``(B, k)`` (unit variance if ``whiten``)."""
        z = (x.flatten(1) - self.mean) @ self.components.T  # (B, D) @ (D, k) -> (B, k)
        return z / self._scale() if self.config.whiten else z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, k)`` → reconstruction ``(B, *input_shape)``."""
        z = z * self._scale() if self.config.whiten else z
        out = z @ self.components + self.mean  # (B, k) @ (k, D) -> (B, D)
        return out.reshape(-1, *self.input_shape)
