"""Transfer learning: a classifier on top of a trained autoencoder's encoder.

Unsupervised pre-training on plenty of unlabelled data, then a small labelled set trains a new
head (encoder frozen) or the whole network (fine-tuned), with the same trainer
(``TrainConfig(loss="cross_entropy")`` and ``targets=labels``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError
from .base import Autoencoder
from .validators import check_int

__all__ = ["EncoderClassifier", "make_classifier"]


class EncoderClassifier(nn.Module):
    """``scale ▸ encoder ▸ head``: class logits ``(B, n_classes)`` from raw samples.

    Build it with :func:`make_classifier`.

    Attributes
    ----------
    autoencoder : Autoencoder
        A copy of the trained model; only its ``encode`` is used.
    head : nn.Module
        The new layers on the flattened code.
    frozen : bool
        True when the encoder's weights are fixed (and kept in eval mode while training).
    input_shape : tuple of int
    """

    center: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self, autoencoder: Autoencoder, head: nn.Module, center: float, scale: float, frozen: bool
    ) -> None:
        super().__init__()
        self.autoencoder, self.head, self.frozen = autoencoder, head, frozen
        self.input_shape = autoencoder.input_shape
        self.register_buffer("center", torch.tensor(float(center)))
        self.register_buffer("scale", torch.tensor(float(scale)))
        if frozen:
            autoencoder.requires_grad_(False)

    def train(self, mode: bool = True) -> EncoderClassifier:
        super().train(mode)
        if self.frozen:  # no dropout or batch-norm updates in a fixed encoder
            self.autoencoder.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw samples ``(B, *input_shape)`` → logits ``(B, n_classes)``."""
        z = self.autoencoder.encode((x - self.center) / self.scale)
        return self.head(z.flatten(1))

    def predict(self, x: Any) -> np.ndarray:
        """Class ids ``(B,)`` for raw samples (numpy or tensor), in eval mode."""
        self.eval()
        device = self.center.device
        with torch.no_grad():
            logits = self(torch.as_tensor(np.asarray(x, dtype=np.float32)).to(device))
        return logits.argmax(1).cpu().numpy()


def make_classifier(
    source: Any, n_classes: int, *, freeze: bool = True, hidden: int | None = None
) -> EncoderClassifier:
    """A classifier from a trained encoder and a new head.

    Parameters
    ----------
    source : Detector or Autoencoder
        A fitted :class:`~seqae.Detector` (its scaler goes into the classifier, which then
        takes raw data, e.g. images ``(N, C, H, W)``) or a bare autoencoder (no scaling). It
        is copied: training the classifier leaves it unchanged.
    n_classes : int
        Number of classes, >= 2.
    freeze : bool, default True
        Keep the encoder's weights fixed (train the head only); False fine-tunes everything.
    hidden : int, optional
        A hidden layer of this size (ReLU) in the head; None: one linear layer.

    Returns
    -------
    EncoderClassifier
        Train it with ``train(clf, X, TrainConfig(loss="cross_entropy"), targets=y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae.models import build_model
    >>> from seqae.training.trainer import TrainConfig, train
    >>> ae = build_model("dense", (1, 8, 8), {"hidden": (16,)})
    >>> clf = make_classifier(ae, 3)
    >>> x = np.random.default_rng(0).random((30, 1, 8, 8), dtype=np.float32)
    >>> y = np.arange(30) % 3
    >>> _ = train(clf, x, TrainConfig(epochs=2, loss="cross_entropy", device="cpu"), targets=y)
    >>> clf.predict(x[:4]).shape
    (4,)
    """
    check_int("n_classes", n_classes, 2)
    if hidden is not None:
        check_int("hidden", hidden, 1)
    if freeze not in (True, False):
        raise ParameterError(f"freeze must be True or False, got {freeze!r}")
    model = getattr(source, "model_", source)
    if not isinstance(model, Autoencoder):
        raise ParameterError(
            "make_classifier needs a fitted Detector or an Autoencoder, "
            f"got {type(source).__name__}"
        )
    center, scale = 0.0, 1.0
    scaler = getattr(source, "scaler_", None)
    if scaler is not None:
        # Image detectors scale globally (one number repeated per channel).
        center, scale = float(scaler["center"][0]), float(scaler["scale"][0])
        if len(set(scaler["center"])) > 1 or len(set(scaler["scale"])) > 1:
            raise ParameterError(
                "make_classifier takes image detectors (one global scaler), not per-channel ones"
            )
    autoencoder = copy.deepcopy(model).cpu().eval()
    with torch.no_grad():
        code = autoencoder.encode(torch.zeros(1, *autoencoder.input_shape))
    n_code = code[0].numel()
    head: nn.Module = nn.Linear(n_code, n_classes)
    if hidden is not None:
        head = nn.Sequential(nn.Linear(n_code, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
    return EncoderClassifier(autoencoder, head, center, scale, freeze)
