"""Images on the same path as sequences: validation, batch scoring and the result type.

Images skip windowing: ``(N, H, W)`` or ``(N, C, H, W)`` arrays go to the model whole. A
score is per image (the mean over pixels of the squared error, averaged over channels, in
scaled units, divided by the threshold) and per pixel (the same before the mean over pixels).

Pure numpy: used by :class:`seqae.Detector` and by the torch-free :class:`seqae.OnnxDetector`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["ImageDetectionResult", "as_images", "is_image_input", "score_image_batches"]

#: ``run(images (B, C, H, W)) -> (pixel_error (B, H, W), reconstruction (B, C, H, W) or None)``
ImageRunFn = Callable[[np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]


def is_image_input(X: Any) -> bool:
    """True for a 3-D ``(N, H, W)`` or 4-D ``(N, C, H, W)`` array (not a list of streams)."""
    return isinstance(X, np.ndarray) and X.ndim in (3, 4)


def as_images(X: Any, *, shape: tuple[int, ...] | None = None, source: str = "X") -> np.ndarray:
    """Validate images and return them as float32 ``(N, C, H, W)``.

    Parameters
    ----------
    X : array-like
        ``(N, H, W)`` (one channel) or ``(N, C, H, W)`` numbers.
    shape : tuple of int, optional
        The ``(C, H, W)`` every image must have (a fitted model's).
    source : str
        Name used in error messages.

    Raises
    ------
    DataError
        Not numeric, not 3-D/4-D, empty, the wrong image shape, or a non-finite value.

    Examples
    --------
    >>> as_images(np.zeros((5, 8, 8))).shape
    (5, 1, 8, 8)
    """
    try:
        x = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{source} must be numeric images (N, H, W) or (N, C, H, W): {exc}"
        ) from None
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise DataError(
            f"{source} must be images shaped (N, H, W) or (N, C, H, W), got shape {x.shape}"
        )
    if x.shape[0] == 0 or 0 in x.shape[1:]:
        raise DataError(f"{source} holds no images (shape {x.shape})")
    if shape is not None and x.shape[1:] != tuple(shape):
        raise DataError(
            f"{source} has images shaped {x.shape[1:]} (channels, height, width), but the model "
            f"takes {tuple(shape)}"
        )
    if not np.isfinite(x).all():
        image = int(np.flatnonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1))[0])
        raise DataError(f"{source} has a non-finite value in image {image}")
    return np.ascontiguousarray(x)


def score_image_batches(
    run: ImageRunFn, images: np.ndarray, *, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Run ``run`` over ``(N, C, H, W)`` images batch by batch.

    Returns ``(scores (N,), pixel_scores (N, H, W), reconstruction (N, C, H, W) or None)``;
    an image's score is the mean of its pixel scores.
    """
    pixels, recons = [], []
    for start in range(0, len(images), batch_size):
        pixel_error, recon = run(images[start : start + batch_size])
        pixels.append(np.asarray(pixel_error, dtype=np.float64))
        if recon is not None:
            recons.append(recon)
    pixel_scores = np.concatenate(pixels)
    scores = pixel_scores.reshape(len(pixel_scores), -1).mean(axis=1)
    return scores, pixel_scores, (np.concatenate(recons) if recons else None)


@dataclass
class ImageDetectionResult:
    """What ``detect`` finds in a set of images.

    Attributes
    ----------
    scores : ndarray (N,)
        Normalised anomaly score per image; 1.0 is the alarm line, higher = more anomalous.
    raw_scores : ndarray (N,)
        The reconstruction error behind ``scores`` (scaled units; the negative ELBO per value for a
        detector with ``anomaly_score="elbo"``).
    labels : ndarray (N,) of int8
        1 for anomalous images.
    pixel_scores : ndarray (N, H, W)
        Normalised error per pixel (channels averaged); its mean over pixels is ``scores``.
    threshold : float
        The raw threshold (``raw_scores / threshold == scores``).
    reconstruction : ndarray (N, C, H, W) or None
        The reconstructed (denoised) images in the data's units, when asked for.
    """

    scores: np.ndarray
    raw_scores: np.ndarray
    labels: np.ndarray
    pixel_scores: np.ndarray = field(repr=False)
    threshold: float
    reconstruction: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        scores: np.ndarray,
        pixel_scores: np.ndarray,
        labels: np.ndarray,
        *,
        threshold: float,
        reconstruction: np.ndarray | None = None,
    ) -> ImageDetectionResult:
        """Assemble a result from scored images and their labels (raw scores from the line)."""
        return cls(
            scores=scores,
            raw_scores=scores * threshold,
            labels=labels,
            pixel_scores=pixel_scores,
            threshold=threshold,
            reconstruction=reconstruction,
        )

    @property
    def n_anomalies(self) -> int:
        """Number of images flagged."""
        return int(self.labels.sum())

    def to_frame(self) -> Any:
        """One row per image: index, score, raw score, label."""
        import pandas as pd

        return pd.DataFrame(
            {
                "image": np.arange(len(self.scores)),
                "score": self.scores,
                "raw_score": self.raw_scores,
                "label": self.labels,
            }
        )
