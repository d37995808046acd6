"""Training: the one trainer (loop, early stopping, checkpoints, the DDP mode) and its objectives.

``from seqae.training import TrainConfig, train`` keeps working; the code lives in
:mod:`.trainer` and :mod:`.objectives`.
"""

from __future__ import annotations

from .trainer import (
    OPTIMIZERS,
    PROGRESS_EVERY,
    History,
    ProgressEvent,
    TrainConfig,
    close_distributed,
    init_distributed,
    pretrain_layerwise,
    select_device,
    train,
)

__all__ = [
    "OPTIMIZERS",
    "PROGRESS_EVERY",
    "History",
    "ProgressEvent",
    "TrainConfig",
    "close_distributed",
    "init_distributed",
    "pretrain_layerwise",
    "select_device",
    "train",
]
