"""The one trainer for every seqae model.

:func:`train` fits any :class:`~seqae.models.Autoencoder`: gradient models by mini-batches,
closed-form ones (PCA) by their own ``fit_closed_form``. It chooses the device (cuda > mps >
cpu), uses mixed precision on CUDA, holds out a validation set, stops early, restores the best
weights, writes checkpoints and reports progress through a callback. It never prints.

Reproducibility: with ``random_state`` set, batch order and input corruption come from local
generators seeded with it, and torch's global generator (used by dropout and a VAE's sampling)
is seeded inside :func:`torch.random.fork_rng`, so the caller's global random state is the same
after the call as before. On CPU two runs from the same weights give identical weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DataError, ParameterError
from ..files.atomic import atomic_path
from .objectives import (
    LOSSES,
    contractive_penalty,
    corrupt,
    kl_divergence,
    l1_activity,
    reconstruction_loss,
    shift_levels,
    trimmed_loss,
)

__all__ = [
    "OPTIMIZERS",
    "PROGRESS_EVERY",
    "History",
    "ProgressEvent",
    "TrainConfig",
    "auto_budget",
    "close_distributed",
    "init_distributed",
    "pretrain_layerwise",
    "select_device",
    "train",
]

OPTIMIZERS = ("adam", "adadelta", "rmsprop", "sgd")
PROGRESS_EVERY = 50  # steps between mid-epoch progress events
#: The automatic budget (``batch_size=None``, ``epochs=None``, see :func:`auto_budget`): at
#: least this many epochs and gradient steps (20 epochs of 32 batches: the budget of a long
#: stream), and the batch sizes it picks between.
AUTO_EPOCHS, AUTO_STEPS = 20, 640
AUTO_BATCH = (32, 256)


def _check(
    name: str,
    value: Any,
    kind: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    optional: bool = False,
) -> None:
    """Raise ParameterError unless ``value`` is a number of ``kind`` in the given range."""
    if optional and value is None:
        return
    number = Integral if kind == "integer" else Real
    ok = not isinstance(value, bool) and isinstance(value, number)
    if ok and kind == "number":
        ok = math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low}")
        if high is not None:
            bounds.append(f"{'<' if high_open else '<='} {high}")
        expected = f"{'an integer' if kind == 'integer' else 'a number'} {' and '.join(bounds)}"
        expected += " or None" if optional else ""
        raise ParameterError(f"TrainConfig.{name} must be {expected}, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"TrainConfig.{name} must be one of {listed}, got {value!r}")


@dataclass
class TrainConfig:
    """How to train a model; every model family takes the same options.

    Parameters
    ----------
    epochs : int or None
        The most epochs (>= 1); early stopping (``patience``) may end training sooner. None:
        chosen from the data by :func:`auto_budget` (20, more for an epoch of few steps).
    batch_size : int or None
        Samples per gradient step (>= 1). None: chosen from the data by :func:`auto_budget`
        (256, smaller for small data).
    learning_rate : float
        Step size (> 0).
    optimizer : {"adam", "adadelta", "rmsprop", "sgd"}
        ``"adam"`` applies ``weight_decay`` decoupled (AdamW); ``"sgd"`` uses momentum 0.9.
    loss : {"mse", "mae", "bce", "cross_entropy"}
        Reconstruction loss; ``"bce"`` for data in [0, 1], ``"cross_entropy"`` for class-id
        targets.
    validation_split : float
        Used only when :func:`train` gets no validation set: the last fraction of the
        inputs, in order (later windows validate earlier ones), in [0, 1).
    patience : int
        Epochs without an improvement of the monitored loss (validation loss, else training
        loss) before stopping; 0 turns early stopping off.
    min_delta : float
        Smallest decrease that counts as an improvement.
    restore_best : bool
        At the end, load the weights of the epoch with the best monitored loss.
    clip_grad_norm : float or None
        Clip the global gradient norm to this value.
    weight_decay : float
        Weight decay of the optimizer.
    device : str or None
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``; None picks cuda > mps > cpu.
    mixed_precision : bool or None
        Autocast on CUDA (bfloat16 where supported, else float16 with gradient scaling); None
        turns it on for CUDA. Other devices always train in float32.
    checkpoint_dir : str or None
        Folder that receives ``weights.safetensors`` (every epoch), ``best.safetensors``
        (when the monitored loss improves) and ``state.json``, each written atomically.
    random_state : int or None
        Seed for batch order, corruption, dropout and sampling; None is not reproducible.
    steps_per_epoch : int or None
        Cap the batches per epoch; each epoch then trains on a fresh random sample of
        ``steps_per_epoch * batch_size`` inputs (for millions of step-1 windows).
    num_threads : int or None
        Torch CPU threads during the fit; the previous value is restored afterwards.
    noise_std, mask_fraction : float
        Denoising: Gaussian noise added to, and a random fraction of values zeroed in, the
        input; the target stays the clean input.
    mask_timesteps : bool
        With ``mask_fraction``: zero whole timesteps of a sequence (all channels) instead of
        single values.
    level_std : float
        Level augmentation for sequences: each training frame's channels move by their own
        random offset (normal, this standard deviation in scaled units), in the input and the
        target alike (:func:`seqae.training.objectives.shift_levels`), so the network learns
        each channel's shape apart from its level and does not read one channel's level from
        the others'.
    l1_activity : float
        Sparse autoencoder: weight of the L1 norm of ``extras["latent"]``.
    contractive : float
        Contractive autoencoder: weight of the squared Frobenius norm of the encoder Jacobian.
    beta : float
        Weight of the KL term when the model returns ``"mean"`` and ``"log_var"`` (a VAE).
        The KL is divided by the number of values per sample, so ``beta=1`` with ``bce`` is
        the per-value ELBO.
    trim_fraction : float
        Robust training for data that may hold anomalies: in every batch the samples the model
        reconstructs worst, this share of them, give no gradient (:func:`seqae.training.objectives.
        trimmed_loss`; ``mse`` and ``mae`` only). 0 trains on every sample.
    layerwise_epochs : int
        Stacked autoencoder: when > 0, first pre-train the model greedily, one layer pair at a
        time, for this many epochs each (:func:`pretrain_layerwise`), then fine-tune the
        whole model end to end for ``epochs``. Needs a model with ``layer_stages()`` (dense).
    distributed : bool or None
        Data-parallel training across the processes of a ``torch.distributed`` process group
        (launched by ``torchrun``, joined with :func:`init_distributed`). Every process draws
        the same global batches of ``batch_size`` windows and trains on its share of each (a
        distributed sampler over windows); ``DistributedDataParallel`` all-reduces the
        gradients, so each step equals a one-process step on the whole batch up to float
        rounding. Training and validation losses are all-reduced, so every process stops at
        the same epoch with the same weights. Only rank 0 writes checkpoints and calls the
        progress callback. None: on when a process group of more than one process is
        initialised. Not with ``contractive`` (its double backward is not data-parallel).

    Examples
    --------
    >>> TrainConfig(epochs=10, noise_std=0.1).epochs
    10
    >>> TrainConfig(epochs=0)
    Traceback (most recent call last):
    ...
    seqae.errors.ParameterError: TrainConfig.epochs must be an integer >= 1 or None, got 0
    """

    epochs: int | None = 50
    batch_size: int | None = 256
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    loss: str = "mse"
    validation_split: float = 0.1
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    clip_grad_norm: float | None = None
    weight_decay: float = 0.0
    device: str | None = None
    mixed_precision: bool | None = None
    checkpoint_dir: str | None = None
    random_state: int | None = 0
    steps_per_epoch: int | None = None
    num_threads: int | None = None
    noise_std: float = 0.0
    mask_fraction: float = 0.0
    mask_timesteps: bool = False
    level_std: float = 0.0
    l1_activity: float = 0.0
    contractive: float = 0.0
    beta: float = 1.0
    trim_fraction: float = 0.0
    layerwise_epochs: int = 0
    distributed: bool | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ParameterError naming the first invalid field (also run by :func:`train`)."""
        _check("epochs", self.epochs, "integer", low=1, optional=True)
        _check("batch_size", self.batch_size, "integer", low=1, optional=True)
        _check("learning_rate", self.learning_rate, "number", low=0, low_open=True)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("loss", self.loss, LOSSES)
        _check("validation_split", self.validation_split, "number", low=0, high=1, high_open=True)
        _check("patience", self.patience, "integer", low=0)
        _check("min_delta", self.min_delta, "number", low=0)
        _check_choice("restore_best", self.restore_best, (True, False))
        _check("clip_grad_norm", self.clip_grad_norm, "number", low=0, low_open=True, optional=True)
        _check("weight_decay", self.weight_decay, "number", low=0)
        if self.device is not None and not isinstance(self.device, (str, torch.device)):
            raise ParameterError(
                f"TrainConfig.device must be a string such as 'cpu', 'cuda' or 'mps', or None, "
                f"got {self.device!r}"
            )
        _check_choice("mixed_precision", self.mixed_precision, (None, True, False))
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, (str, Path)):
            raise ParameterError(
                f"TrainConfig.checkpoint_dir must be a folder path or None, "
                f"got {self.checkpoint_dir!r}"
            )
        _check("random_state", self.random_state, "integer", low=0, high=2**63 - 1, optional=True)
        _check("steps_per_epoch", self.steps_per_epoch, "integer", low=1, optional=True)
        _check("num_threads", self.num_threads, "integer", low=1, optional=True)
        _check("noise_std", self.noise_std, "number", low=0)
        _check("mask_fraction", self.mask_fraction, "number", low=0, high=1, high_open=True)
        _check_choice("mask_timesteps", self.mask_timesteps, (False, True))
        _check("level_std", self.level_std, "number", low=0)
        if self.level_std and self.loss == "bce":
            raise ParameterError(
                f"TrainConfig.level_std={self.level_std} moves values out of [0, 1], which the "
                "bce loss needs: use loss='mse' or level_std=0"
            )
        _check("l1_activity", self.l1_activity, "number", low=0)
        _check("contractive", self.contractive, "number", low=0)
        _check("beta", self.beta, "number", low=0)
        _check("trim_fraction", self.trim_fraction, "number", low=0, high=1, high_open=True)
        if self.trim_fraction and self.loss not in ("mse", "mae"):
            raise ParameterError(
                f"TrainConfig.trim_fraction needs loss 'mse' or 'mae', got loss={self.loss!r}"
            )
        _check("layerwise_epochs", self.layerwise_epochs, "integer", low=0)
        _check_choice("distributed", self.distributed, (None, True, False))


@dataclass(frozen=True)
class ProgressEvent:
    """What :func:`train` tells its callback, every ``progress_every`` steps and per epoch.

    ``step`` counts batches within ``epoch`` (1-based); at the end of an epoch
    ``step == n_steps`` and ``val_loss`` is set (when there is validation data).
    ``train_loss`` is the mean training objective so far in the epoch; ``elapsed`` the
    seconds since training began; ``done`` is True on the very last event.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae.models import build_model
    >>> events = []
    >>> model = build_model("dense", (8, 1), {"hidden": (2,)})
    >>> config = TrainConfig(epochs=2, batch_size=8, device="cpu", validation_split=0.25)
    >>> _ = train(model, np.zeros((32, 8, 1), np.float32), config, callback=events.append)
    >>> [(e.epoch, e.step, e.n_steps, e.val_loss is not None, e.done) for e in events]
    [(1, 3, 3, True, False), (2, 3, 3, True, True)]
    """

    epoch: int
    n_epochs: int
    step: int
    n_steps: int
    train_loss: float
    val_loss: float | None
    elapsed: float
    done: bool


@dataclass
class History:
    """Record of one :func:`train` call.

    Attributes
    ----------
    epochs : list of dict
        Per epoch: ``epoch`` (1-based), ``train_loss`` (the training objective, penalties and
        corruption included), ``val_loss`` (reconstruction loss of the clean validation
        inputs in eval mode, or None), ``seconds``, ``lr``.
    best_epoch, best_loss : int, float
        The epoch with the lowest monitored loss, and that loss.
    stopped_early : bool
        True when patience ran out before ``TrainConfig.epochs``.
    device : str
        Where the model trained.
    seconds : float
        Wall time of the whole call.
    n_train, n_val : int
        Training and validation samples.
    monitor : str
        ``"val_loss"`` or ``"train_loss"``: what early stopping and ``best_*`` follow.
    batch_size, max_epochs : int
        The batch size and the most epochs the fit had (:func:`auto_budget` resolves None).
    mixed_precision : str or None
        The autocast dtype (``"bfloat16"``, ``"float16"``), or None for float32.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae.models import build_model
    >>> model = build_model("pca", (8, 1), {"n_components": 2})
    >>> history = train(model, np.eye(8, dtype=np.float32)[:, :, None], TrainConfig(device="cpu"))
    >>> history.to_dict()["best_epoch"], history.n_train, history.n_val, history.monitor
    (1, 7, 1, 'val_loss')
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = math.inf
    stopped_early: bool = False
    device: str = "cpu"
    seconds: float = 0.0
    n_train: int = 0
    n_val: int = 0
    monitor: str = "val_loss"
    mixed_precision: str | None = None
    batch_size: int = 0
    max_epochs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy; non-finite numbers become None (strict JSON has no NaN)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(dataclasses.asdict(self))


def select_device(device: str | torch.device | None = None) -> torch.device:
    """Resolve a device name; None picks cuda, then mps, then cpu.

    Raises
    ------
    ParameterError
        The name is not a device, or the device is not available on this machine.

    Examples
    --------
    >>> select_device("cpu")
    device(type='cpu')
    """
    if device is None:
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(
            f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}"
        ) from exc
    if resolved.type == "cpu":
        return torch.device("cpu")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(f"device {device!r} requested, but CUDA is not available here")
        index = torch.cuda.current_device() if resolved.index is None else resolved.index
        if index >= torch.cuda.device_count():
            raise ParameterError(
                f"device {device!r} requested, but there are only "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
        return torch.device("cuda", index)
    if resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise ParameterError(f"device {device!r} requested, but MPS is not available here")
        return torch.device("mps")
    raise ParameterError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")


# ---------------------------------------------------------------------------------------------
# data


class _Rows:
    """Rows ``start .. start + length - 1`` of an indexable, indexed from 0 (no copy)."""

    def __init__(self, source: Any, start: int, length: int) -> None:
        self.source, self.start, self.length = source, start, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return self.source[np.asarray(idx) + self.start]


@dataclass
class _Data:
    x: Any
    y: Any  # None: the target is the clean input

    def __len__(self) -> int:
        return len(self.x)


def _as_indexable(data: Any, name: str) -> Any:
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    if isinstance(data, (list, tuple)):
        return np.asarray(data)
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        raise DataError(
            f"{name} must be an array or a WindowSet (sized, indexable by an integer array), "
            f"got {type(data).__name__}"
        )
    return data


def _prepare_data(
    inputs: Any, targets: Any, validation: Any, validation_targets: Any, config: TrainConfig
) -> tuple[_Data, _Data | None]:
    inputs = _as_indexable(inputs, "inputs")
    if len(inputs) == 0:
        raise DataError("inputs are empty: give at least one sample to train on")
    if targets is not None:
        targets = _as_indexable(targets, "targets")
        if len(targets) != len(inputs):
            raise DataError(
                f"targets must have one row per input: {len(targets)} targets "
                f"for {len(inputs)} inputs"
            )
    if validation is None:
        if validation_targets is not None:
            raise ParameterError("validation_targets were given without a validation set")
        n = len(inputs)
        # Keras's rule (the validation part is the last n - n_train); the epsilon keeps
        # 0.7 * 10 = 6.999... from losing a sample to rounding.
        n_train = int(n * (1 - config.validation_split) + 1e-9)
        if n_train == 0:
            raise DataError(
                f"validation_split={config.validation_split} leaves no training samples out of {n}"
            )
        if n_train == n:
            return _Data(inputs, targets), None
        y_train = None if targets is None else _Rows(targets, 0, n_train)
        y_val = None if targets is None else _Rows(targets, n_train, n - n_train)
        return (
            _Data(_Rows(inputs, 0, n_train), y_train),
            _Data(_Rows(inputs, n_train, n - n_train), y_val),
        )
    validation = _as_indexable(validation, "validation")
    if len(validation) == 0:
        raise DataError("the validation set is empty: give samples or validation=None")
    if (targets is None) != (validation_targets is None):
        raise DataError(
            "targets and validation_targets go together: give both or neither "
            f"(targets {'given' if targets is not None else 'missing'}, validation_targets "
            f"{'given' if validation_targets is not None else 'missing'})"
        )
    if validation_targets is not None:
        validation_targets = _as_indexable(validation_targets, "validation_targets")
        if len(validation_targets) != len(validation):
            raise DataError(
                f"validation_targets must have one row per validation input: "
                f"{len(validation_targets)} for {len(validation)}"
            )
    return _Data(inputs, targets), _Data(validation, validation_targets)


def _target_dtype(loss: str) -> type:
    return np.int64 if loss == "cross_entropy" else np.float32


def _gather(source: Any, idx: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(source[idx], dtype=dtype)


def _check_samples(model: nn.Module, data: _Data, name: str, loss: str) -> None:
    """Check one sample of ``data`` against the model before any work starts."""
    first = np.zeros(1, dtype=np.int64)
    x = np.asarray(data.x[first])
    expected = getattr(model, "input_shape", None)
    # a fully convolutional network trains and scores frames of any length
    any_length = getattr(model, "fully_convolutional", False) and expected is not None
    if any_length and x.ndim == 3 and x.shape[2:] == tuple(expected)[1:]:
        expected = None
    if expected is not None and x.shape[1:] != tuple(expected):
        raise DataError(
            f"{name} give samples shaped {x.shape[1:]}, but the model takes {tuple(expected)}"
        )
    if data.y is not None:
        y = np.asarray(data.y[first])
        if loss == "cross_entropy" and not np.issubdtype(y.dtype, np.integer):
            raise DataError(
                f"loss='cross_entropy' needs integer class ids as {name} targets, "
                f"got dtype {y.dtype}"
            )


class _ToDevice:
    """Moves numpy batches to the device; on CUDA through two pinned buffers used in turn.

    A buffer is refilled only after the asynchronous copy that last read it has finished
    (its CUDA event), so ``non_blocking=True`` copies overlap the previous step safely.
    """

    def __init__(self, device: torch.device, batch_size: int) -> None:
        self.device, self.batch_size = device, batch_size
        self.cuda = device.type == "cuda"
        self.slots: list[list[Any]] = []  # [pinned buffer, event of its last copy]
        self.turn = 0

    def __call__(self, array: np.ndarray) -> torch.Tensor:
        host = torch.from_numpy(array)
        if not self.cuda:
            return host.to(self.device)  # the same tensor on CPU
        if not self.slots:
            shape = (self.batch_size, *host.shape[1:])
            self.slots = [
                [torch.empty(shape, dtype=host.dtype, pin_memory=True), None] for _ in range(2)
            ]
        slot = self.slots[self.turn]
        self.turn ^= 1
        if slot[1] is not None:
            slot[1].synchronize()
        pinned = slot[0][: len(host)]
        pinned.copy_(host)
        out = pinned.to(self.device, non_blocking=True)
        slot[1] = torch.cuda.Event()
        slot[1].record()
        return out


# ---------------------------------------------------------------------------------------------
# distributed (torchrun)


@dataclass(frozen=True)
class _World:
    """This process's place in a data-parallel run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    size: int = 1

    @property
    def active(self) -> bool:
        return self.size > 1


def _world(config: TrainConfig) -> _World:
    import torch.distributed as dist

    ready = dist.is_available() and dist.is_initialized()
    if config.distributed is False or (config.distributed is None and not ready):
        return _World()
    if not ready:
        raise ParameterError(
            "TrainConfig.distributed=True needs a torch.distributed process group: launch "
            "with torchrun and call seqae.training.trainer.init_distributed() first (seqae train "
            "--distributed does)"
        )
    return _World(dist.get_rank(), dist.get_world_size())


def init_distributed(backend: str | None = None) -> tuple[int, int, str]:
    """Join the process group that ``torchrun`` describes in the environment.

    Parameters
    ----------
    backend : str, optional
        ``"nccl"`` (CUDA) or ``"gloo"`` (CPU); default: nccl when CUDA is available.

    Returns
    -------
    (rank, world_size, device)
        ``device`` is ``"cuda:<LOCAL_RANK>"`` (made current) with CUDA, else ``"cpu"``.

    Raises
    ------
    ParameterError
        Not started by torchrun (no ``RANK`` / ``WORLD_SIZE`` / ``MASTER_ADDR`` in the
        environment).

    Examples
    --------
    Under ``torchrun --nproc_per_node 2 script.py``::

        rank, world, device = init_distributed()
        det = Detector(device=device, train_params={"distributed": True}).fit(x)
        if rank == 0:
            det.save("model/")
        close_distributed()
    """
    import os

    import torch.distributed as dist

    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR") if k not in os.environ]
    if missing:
        raise ParameterError(
            f"distributed training needs the environment torchrun sets (missing "
            f"{', '.join(missing)}): launch it as torchrun --nproc_per_node N -m seqae.cli.main "
            "train ... --distributed"
        )
    cuda = torch.cuda.is_available() and backend != "gloo"
    device = "cpu"
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if cuda else "gloo"))
    return dist.get_rank(), dist.get_world_size(), device


def close_distributed() -> None:
    """Leave the process group joined by :func:`init_distributed` (nothing if none)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _sum_over_ranks(values: list[float], world: _World, device: torch.device) -> list[float]:
    """``values`` summed over every process (unchanged when not distributed)."""
    if not world.active:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


class _TrainForward(nn.Module):
    """``model.forward_train`` as a module's forward, so DDP can wrap it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        forward_train = getattr(self.model, "forward_train", None)
        return forward_train(x) if forward_train is not None else (self.model(x), {})


# ---------------------------------------------------------------------------------------------
# training


@contextlib.contextmanager
def _seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed torch's global generators for the block and restore their states afterwards.

    On CUDA, call it with ``device`` current (inside ``torch.cuda.device(device)``).
    """
    if seed is None:
        yield
        return
    accelerator = device.type in ("cuda", "mps")
    devices = [device.index if device.type == "cuda" else device] if accelerator else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if accelerator else None):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.manual_seed(seed)  # the current device: train() selects it
        elif device.type == "mps":
            torch.mps.manual_seed(seed)
        yield


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or config.mixed_precision is False:
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _make_optimizer(config: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate, config.weight_decay
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    cls, extra = (
        (torch.optim.AdamW, {})
        if config.optimizer == "adam"
        else (torch.optim.SGD, {"momentum": 0.9})
    )
    try:
        # The fused kernel updates every parameter in one call: a 3x faster step on CPU
        # (~0.1 instead of 0.34 ms for a 25k-parameter conv AE), the same update.
        return cls(params, lr=lr, weight_decay=wd, fused=True, **extra)
    except (RuntimeError, ValueError):  # a device or dtype without fused kernels
        return cls(params, lr=lr, weight_decay=wd, **extra)


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it into place."""
    with atomic_path(path) as tmp:
        write(tmp)


def _save_weights(path: Path, state: dict[str, torch.Tensor], epoch: int) -> None:
    from safetensors.torch import save_file

    # Copies on the CPU: no shared storage (tied weights) and nothing left on the device.
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}
    meta = {"format": "seqae-checkpoint", "epoch": str(epoch)}
    _atomic_write(path, lambda p: save_file(tensors, str(p), metadata=meta))


def _save_checkpoint(
    directory: Path,
    model: nn.Module,
    config: TrainConfig,
    history: History,
    improved: bool,
) -> None:
    epoch = history.epochs[-1]["epoch"]
    state = model.state_dict()
    _save_weights(directory / "weights.safetensors", state, epoch)
    if improved:
        _save_weights(directory / "best.safetensors", state, epoch)
    spec = model.get_spec() if hasattr(model, "get_spec") else None
    payload = {
        "format": "seqae-checkpoint",
        "epoch": epoch,
        "model": spec,
        "train_config": {
            k: str(v) if isinstance(v, (Path, torch.device)) else v
            for k, v in dataclasses.asdict(config).items()
        },
        "history": history.to_dict(),
    }
    text = json.dumps(payload, indent=2)
    _atomic_write(directory / "state.json", lambda p: p.write_text(text, encoding="utf-8"))


def _checkpoint_dir(config: TrainConfig) -> Path | None:
    if config.checkpoint_dir is None:
        return None
    directory = Path(config.checkpoint_dir)
    if directory.exists() and not directory.is_dir():
        raise ParameterError(
            f"TrainConfig.checkpoint_dir must be a folder, but {str(directory)!r} is a file"
        )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _evaluate(
    model: nn.Module,
    data: _Data,
    loss: str,
    batch_size: int,
    to_x: _ToDevice,
    to_y: _ToDevice,
    amp: torch.dtype | None,
    world: _World = _World(),
) -> float:
    """Mean reconstruction loss of ``data`` in eval mode, in order, without gradients.

    Distributed, each process evaluates every ``world.size``-th sample and the sums are
    all-reduced: every process gets the loss of the whole set."""
    model.eval()
    device = to_x.device
    total = torch.zeros((), device=device)
    mine = np.arange(world.rank, len(data), world.size)
    with torch.no_grad():
        for start in range(0, len(mine), batch_size):
            idx = mine[start : start + batch_size]
            x = to_x(_gather(data.x, idx, np.float32))
            y = x if data.y is None else to_y(_gather(data.y, idx, _target_dtype(loss)))
            with _autocast(device, amp):
                recon = model(x)
            total += reconstruction_loss(loss, recon, y) * len(idx)
    loss_sum, count = _sum_over_ranks([total.item(), float(len(mine))], world, device)
    return loss_sum / count


def auto_budget(
    n_samples: int,
    steps_per_epoch: int | None,
    batch_size: int | None = None,
    epochs: int | None = None,
    min_steps: int = AUTO_STEPS,
) -> tuple[int, int]:
    """The batch size and the most epochs of a fit on ``n_samples``, where they are None.

    The budget is counted in gradient steps: ``min_steps`` (640, :data:`AUTO_STEPS`, what 20
    epochs of 32 batches of 256 give a long stream), whatever the data size. A model family
    sets its own floor (``Autoencoder.min_train_steps``); 0 keeps 20 epochs of batches of 256
    at every size (the stream default ``conv1d``, whose budget the suite chose).

    - ``batch_size=None``: the size that makes one pass over the samples ``steps_per_epoch``
      batches, between 32 and 256 (256 without ``steps_per_epoch``). A long stream keeps
      batches of 256; a few thousand windows get smaller batches, so about the same work as
      20 passes buys 640 steps instead of a few dozen.
    - ``epochs=None``: 20 (:data:`AUTO_EPOCHS`), or more where an epoch has fewer than 32
      steps (under about 1,000 samples), so that every fit may take 640 steps. Early stopping
      (``patience``) ends a fit sooner when the validation loss stops falling.

    Parameters
    ----------
    n_samples : int
        Training samples (windows, images).
    steps_per_epoch : int or None
        As :attr:`TrainConfig.steps_per_epoch` (the most batches per epoch).
    batch_size, epochs : int or None
        Given values are kept.

    Returns
    -------
    (int, int)
        ``(batch_size, epochs)``.

    Examples
    --------
    >>> auto_budget(20_000, 32)  # a long stream: 20 epochs of 32 batches of 256
    (256, 20)
    >>> auto_budget(2_637, 32)  # 3,000 rows: 20 epochs of 32 batches of 83
    (83, 20)
    >>> auto_budget(540, 32)  # 540 images: 38 epochs of 17 batches of 32
    (32, 38)
    >>> auto_budget(540, 32, min_steps=0)  # no floor: 20 epochs of batches of 256
    (256, 20)
    """
    n = max(int(n_samples), 1)
    low, high = AUTO_BATCH
    if batch_size is None:
        batch_size = high if steps_per_epoch is None or not min_steps else -(-n // steps_per_epoch)
        batch_size = min(high, max(low, batch_size))
    if epochs is None:
        steps = -(-n // min(batch_size, n))
        if steps_per_epoch is not None:
            steps = min(steps, steps_per_epoch)
        epochs = max(AUTO_EPOCHS, -(-min_steps // steps))
    return batch_size, epochs


def _epoch_plan(n_train: int, config: TrainConfig) -> tuple[int, int]:
    """(samples drawn per epoch, steps per epoch)."""
    bs = config.batch_size
    n_steps = -(-n_train // bs)
    if config.steps_per_epoch is not None and config.steps_per_epoch < n_steps:
        return config.steps_per_epoch * bs, config.steps_per_epoch
    # A last batch of one sample is dropped: batch norm cannot train on it.
    if n_steps > 1 and n_train % bs == 1:
        return n_train - 1, n_steps - 1
    return n_train, n_steps


def _history(
    device: torch.device,
    train: _Data,
    val: _Data | None,
    amp: torch.dtype | None,
    config: TrainConfig,
) -> History:
    return History(
        device=str(device),
        n_train=len(train),
        n_val=0 if val is None else len(val),
        monitor="train_loss" if val is None else "val_loss",
        mixed_precision=None if amp is None else str(amp).removeprefix("torch."),
        batch_size=int(config.batch_size or 0),
        max_epochs=int(config.epochs or 0),
    )


def train(
    model: nn.Module,
    inputs: Any,
    config: TrainConfig | None = None,
    *,
    targets: Any = None,
    validation: Any = None,
    validation_targets: Any = None,
    callback: Callable[[ProgressEvent], None] | None = None,
    progress_every: int = PROGRESS_EVERY,
) -> History:
    """Train ``model`` in place and return its :class:`History`.

    Parameters
    ----------
    model : Autoencoder
        Any seqae model. It is moved to the training device and left there, in eval mode.
        Closed-form models (``model.closed_form``) are fitted by
        ``model.fit_closed_form(inputs, random_state=...)`` and evaluated once (one epoch).
    inputs : WindowSet or ndarray
        ``len(inputs)`` samples; ``inputs[idx]`` (an integer array) returns
        ``(len(idx), *model.input_shape)`` float values. Batches are gathered by index, so a
        WindowSet over millions of overlapping windows needs memory for one batch only.
    config : TrainConfig, optional
        Training options; defaults to ``TrainConfig()``.
    targets : ndarray, optional
        Row-aligned targets; None trains an autoencoder (target = the clean input).
    validation, validation_targets : optional
        A held-out set like ``inputs`` (and its targets). Without it the last
        ``config.validation_split`` of the inputs validates.
    callback : callable, optional
        Called with a :class:`ProgressEvent` every ``progress_every`` steps and after
        every epoch. An exception it raises stops training and propagates.
    progress_every : int
        Steps between mid-epoch events.

    Returns
    -------
    History

    Raises
    ------
    ParameterError
        Invalid configuration, or an unavailable device.
    DataError
        Empty or mis-shaped data, or a non-finite training loss (NaN/inf in the data, or a
        learning rate that diverges).

    Examples
    --------
    >>> import numpy as np
    >>> from seqae.models import build_model
    >>> x = np.random.default_rng(0).normal(size=(64, 16, 2)).astype(np.float32)
    >>> model = build_model("dense", (16, 2), {"hidden": (8,)})
    >>> history = train(model, x, TrainConfig(epochs=2, batch_size=16, device="cpu"))
    >>> len(history.epochs), history.n_train, history.n_val
    (2, 57, 7)
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise ParameterError(f"config must be a TrainConfig, got {type(config).__name__}")
    config.validate()
    if (
        isinstance(progress_every, bool)
        or not isinstance(progress_every, Integral)
        or (progress_every < 1)
    ):
        raise ParameterError(f"progress_every must be an integer >= 1, got {progress_every!r}")
    start = time.perf_counter()
    device = select_device(config.device)
    train_data, val_data = _prepare_data(inputs, targets, validation, validation_targets, config)
    _check_samples(model, train_data, "inputs", config.loss)
    if config.batch_size is None or config.epochs is None:
        floor = getattr(model, "min_train_steps", AUTO_STEPS)
        batch_size, epochs = auto_budget(
            len(train_data), config.steps_per_epoch, config.batch_size, config.epochs, floor
        )
        config = dataclasses.replace(config, batch_size=batch_size, epochs=epochs)
    if val_data is not None:
        _check_samples(model, val_data, "validation inputs", config.loss)
    world = _world(config)
    checkpoints = _checkpoint_dir(config) if world.rank == 0 else None
    if world.rank != 0:  # one voice: rank 0 reports progress
        callback = None
    # Stream, event and RNG calls act on the current CUDA device: make it the training one.
    current = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    with _torch_threads(config.num_threads), current, _seeded(config.random_state, device):
        if config.layerwise_epochs > 0:
            pretrain_layerwise(model, train_data.x, config)
        if getattr(model, "closed_form", False):
            history = _fit_closed_form(model, train_data, val_data, config, device, callback, start)
        else:
            history = _fit_gradient(
                model,
                train_data,
                val_data,
                config,
                device,
                callback,
                progress_every,
                checkpoints,
                start,
                world,
            )
    model.eval()
    history.seconds = time.perf_counter() - start
    if checkpoints is not None and getattr(model, "closed_form", False):
        _save_checkpoint(checkpoints, model, config, history, improved=True)
    return history


def _fit_closed_form(
    model: nn.Module,
    train_data: _Data,
    val_data: _Data | None,
    config: TrainConfig,
    device: torch.device,
    callback: Callable[[ProgressEvent], None] | None,
    start: float,
) -> History:
    for name in ("noise_std", "mask_fraction", "level_std", "l1_activity", "contractive"):
        if getattr(config, name) > 0:
            raise ParameterError(
                f"TrainConfig.{name}={getattr(config, name)} has no effect on the closed-form "
                f"model {getattr(model, 'name', type(model).__name__)!r}: set it to 0"
            )
    if train_data.y is not None:
        raise ParameterError("a closed-form model reconstructs its inputs: targets must be None")
    t0 = time.perf_counter()
    model.fit_closed_form(train_data.x, random_state=config.random_state)
    model.to(device)
    amp = _autocast_dtype(config, device)
    to_x, to_y = _ToDevice(device, config.batch_size), _ToDevice(device, config.batch_size)
    args = (config.loss, config.batch_size, to_x, to_y, amp)
    train_loss = _evaluate(model, train_data, *args)
    val_loss = None if val_data is None else _evaluate(model, val_data, *args)
    history = _history(device, train_data, val_data, amp, config)
    history.epochs.append(
        {
            "epoch": 1,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "seconds": time.perf_counter() - t0,
            "lr": None,
        }
    )
    history.best_epoch = 1
    history.best_loss = train_loss if val_loss is None else val_loss
    if callback is not None:
        callback(ProgressEvent(1, 1, 1, 1, train_loss, val_loss, time.perf_counter() - start, True))
    return history


def _fit_gradient(
    model: nn.Module,
    train_data: _Data,
    val_data: _Data | None,
    config: TrainConfig,
    device: torch.device,
    callback: Callable[[ProgressEvent], None] | None,
    progress_every: int,
    checkpoints: Path | None,
    start: float,
    world: _World = _World(),
) -> History:
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ParameterError(
            f"model {getattr(model, 'name', type(model).__name__)!r} has no trainable "
            "parameters and is not closed-form"
        )
    if world.active and config.contractive > 0:
        raise ParameterError("TrainConfig.contractive does not train distributed: set it to 0")
    if world.active and config.batch_size < world.size:
        raise ParameterError(
            f"TrainConfig.batch_size ({config.batch_size}) is the global batch: it must be >= "
            f"the number of processes ({world.size})"
        )
    optimizer = _make_optimizer(config, params)
    amp = _autocast_dtype(config, device)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    seed = config.random_state
    if world.active and seed is None:  # every process must draw the same batches
        seed = int(
            _sum_over_ranks(
                [float(np.random.default_rng().integers(2**31)) * (world.rank == 0)], world, device
            )[0]
        )
    rng = np.random.default_rng(seed)
    noise = torch.Generator(device=device)
    noise.manual_seed(int(rng.integers(2**63 - 1)) + world.rank)
    to_x, to_y = _ToDevice(device, config.batch_size), _ToDevice(device, config.batch_size)
    y_dtype = _target_dtype(config.loss)
    forward_train = getattr(model, "forward_train", None) or (lambda x: (model(x), {}))
    if world.active:
        from torch.nn.parallel import DistributedDataParallel

        cuda_ids = None
        if device.type == "cuda":
            cuda_ids = [device.index if device.index is not None else torch.cuda.current_device()]
        forward_train = DistributedDataParallel(_TrainForward(model), device_ids=cuda_ids)
    denoise = config.noise_std > 0 or config.mask_fraction > 0
    loss_name, l1, cae, beta = config.loss, config.l1_activity, config.contractive, config.beta
    values_per_sample: int | None = None

    def step(x: torch.Tensor, y: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        nonlocal values_per_sample
        if config.level_std:
            x, y = shift_levels(x, y, config.level_std, noise)
        x_in = (
            corrupt(
                x,
                config.noise_std,
                config.mask_fraction,
                noise,
                mask_timesteps=config.mask_timesteps,
            )
            if denoise
            else x
        )
        if cae:
            x_in = x_in.detach().requires_grad_(True)
        with _autocast(device, amp):
            recon, extras = forward_train(x_in)
            loss = trimmed_loss(loss_name, recon, y, config.trim_fraction)
            if l1 or cae:
                latent = _latent(extras)
                if l1:
                    loss = loss + l1 * l1_activity(latent)
                if cae:
                    loss = loss + cae * contractive_penalty(model, x_in, latent)
            if "mean" in extras and "log_var" in extras:
                values_per_sample = values_per_sample or y[0].numel()
                kl = kl_divergence(extras["mean"], extras["log_var"])
                loss = loss + beta * kl / values_per_sample
        optimizer.zero_grad(set_to_none=True)
        mean_loss = loss.detach()
        if weight != 1.0:  # this process's share of the global batch (distributed)
            loss = loss * weight
        if scaler is not None:
            scaler.scale(loss).backward()
            if config.clip_grad_norm is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(params, config.clip_grad_norm)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if config.clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, config.clip_grad_norm)
            optimizer.step()
        return mean_loss

    history = _history(device, train_data, val_data, amp, config)
    n_draw, n_steps = _epoch_plan(len(train_data), config)
    bs = config.batch_size
    best_state: dict[str, torch.Tensor] | None = None
    waited = 0
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        if n_draw < len(train_data):
            order = rng.choice(len(train_data), n_draw, replace=False)
        else:
            order = rng.permutation(len(train_data))
        total = torch.zeros((), device=device)  # sum of batch losses × batch sizes
        n_seen = 0
        for i in range(n_steps):
            idx, weight = order[i * bs : (i + 1) * bs], 1.0
            if world.active:
                # DDP averages the processes' gradients: weigh each share by its size, so the
                # step is the one of the mean loss over the whole global batch
                mine = idx[world.rank :: world.size]
                weight = len(mine) * world.size / len(idx)
                idx = mine if len(mine) else idx[:1]  # an empty share still joins the all-reduce
            x = to_x(_gather(train_data.x, idx, np.float32))
            y = x if train_data.y is None else to_y(_gather(train_data.y, idx, y_dtype))
            n_used = len(idx) if weight > 0 else 0
            total.add_(step(x, y, weight), alpha=n_used)
            n_seen += n_used
            if callback is not None and (i + 1) % progress_every == 0 and i + 1 < n_steps:
                so_far = total.item() / max(n_seen, 1)
                callback(
                    ProgressEvent(
                        epoch,
                        config.epochs,
                        i + 1,
                        n_steps,
                        so_far,
                        None,
                        time.perf_counter() - start,
                        False,
                    )
                )
        loss_sum, count = _sum_over_ranks([total.item(), float(n_seen)], world, device)
        train_loss = loss_sum / count
        if not math.isfinite(train_loss):
            raise DataError(
                f"the training loss became {train_loss} in epoch {epoch}: check the data for "
                f"NaN/inf values, or lower learning_rate (now {config.learning_rate})"
            )
        val_loss = None
        if val_data is not None:
            val_loss = _evaluate(model, val_data, loss_name, bs, to_x, to_y, amp, world)
        monitored = train_loss if val_loss is None else val_loss
        improved = monitored < history.best_loss - config.min_delta
        if improved:
            history.best_epoch, history.best_loss, waited = epoch, monitored, 0
            if config.restore_best:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
        history.epochs.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "seconds": time.perf_counter() - t0,
                "lr": optimizer.param_groups[0]["lr"],
            }
        )
        out_of_patience = config.patience > 0 and waited >= config.patience
        history.stopped_early = out_of_patience and epoch < config.epochs
        done = out_of_patience or epoch == config.epochs
        if checkpoints is not None:
            _save_checkpoint(checkpoints, model, config, history, improved)
        if callback is not None:
            callback(
                ProgressEvent(
                    epoch,
                    config.epochs,
                    n_steps,
                    n_steps,
                    train_loss,
                    val_loss,
                    time.perf_counter() - start,
                    done,
                )
            )
        if done:
            break
    if best_state is not None and history.best_epoch != history.epochs[-1]["epoch"]:
        model.load_state_dict(best_state)
    return history


def _latent(extras: dict[str, torch.Tensor]) -> torch.Tensor:
    if "latent" not in extras:
        raise ParameterError(
            "l1_activity and contractive need a model whose forward_train returns extras['latent']"
        )
    return extras["latent"]


class _Stage(nn.Module):
    """One layer pair of a stacked autoencoder, trained as a shallow autoencoder."""

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, input_shape: tuple[int, ...]
    ) -> None:
        super().__init__()
        self.encoder, self.decoder, self.input_shape = encoder, decoder, input_shape

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x)).reshape(x.shape)


def pretrain_layerwise(model: nn.Module, inputs: Any, config: TrainConfig) -> list[History]:
    """Greedy layer-wise pre-training of a stacked autoencoder, in place.

    Stage ``i`` trains the model's ``i``-th encoder layer and its mirror decoder layer as a
    shallow autoencoder of the codes of the (already trained, now fixed) stages before it,
    with :func:`train` and ``config``'s options for ``config.layerwise_epochs`` epochs (no
    validation split; the first stage uses ``config.loss``, inner stages ``"mse"``; denoising
    applies to every stage, which gives the stacked denoising autoencoder). Fine-tune the
    whole model afterwards: :func:`train` with ``layerwise_epochs > 0`` does both.

    Parameters
    ----------
    model : Autoencoder
        A model with ``layer_stages()`` (``dense``, ``linear``).
    inputs : ndarray or WindowSet
        Training samples, as for :func:`train`.
    config : TrainConfig
        Options; ``layerwise_epochs`` (>= 1) sets the epochs per stage.

    Returns
    -------
    list of History
        One per stage, outermost first.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae.models import build_model
    >>> x = np.random.default_rng(0).random((64, 1, 8, 8), dtype=np.float32)
    >>> model = build_model("dense", (1, 8, 8), {"hidden": (32, 8)})
    >>> cfg = TrainConfig(epochs=1, layerwise_epochs=2, batch_size=16, device="cpu")
    >>> [len(h.epochs) for h in pretrain_layerwise(model, x, cfg)]
    [2, 2]
    """
    stages = getattr(model, "layer_stages", None)
    if stages is None:
        raise ParameterError(
            f"layer-wise pre-training needs a model with layer_stages() (dense, linear), not "
            f"{getattr(model, 'name', type(model).__name__)!r}"
        )
    epochs = max(1, config.layerwise_epochs)
    device = select_device(config.device)
    codes = _as_indexable(inputs, "inputs")
    shape = tuple(getattr(model, "input_shape", np.asarray(codes[np.zeros(1, int)]).shape[1:]))
    histories = []
    for i, (encoder, decoder) in enumerate(stages()):
        stage = _Stage(encoder, decoder, shape)
        stage_config = dataclasses.replace(
            config,
            epochs=epochs,
            layerwise_epochs=0,
            loss=config.loss if i == 0 else "mse",
            validation_split=0.0,
            l1_activity=0.0,
            contractive=0.0,
            checkpoint_dir=None,
        )
        histories.append(train(stage, codes, stage_config))
        codes = _encode_all(stage, codes, histories[-1].batch_size, device)
        shape = codes.shape[1:]
    return histories


def _encode_all(stage: _Stage, data: Any, batch_size: int, device: torch.device) -> np.ndarray:
    """The stage's codes of every sample, in order, as float32."""
    stage.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            idx = np.arange(start, min(start + batch_size, len(data)))
            x = torch.from_numpy(_gather(data, idx, np.float32)).to(device)
            out.append(stage.encode(x).float().cpu().numpy())
    return np.concatenate(out)
