"""seqae.training.trainer: tiny models, few epochs, each behaviour checked where it can fail."""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from seqae.errors import DataError, ParameterError
from seqae.models.base import Autoencoder
from seqae.scoring.windowing import WindowSet
from seqae.training.trainer import (
    AUTO_STEPS,
    History,
    ProgressEvent,
    TrainConfig,
    _atomic_write,
    auto_budget,
    select_device,
    train,
)

SHAPE = (8, 2)  # (frame, channels) of the tiny models


@dataclass(frozen=True)
class TinyConfig:
    hidden: int = 3
    dropout: float = 0.0


class TinyAE(Autoencoder):
    """A small dense autoencoder with optional dropout."""

    name = "tiny"
    Config = TinyConfig

    def __init__(self, input_shape=SHAPE, config=None) -> None:
        super().__init__(input_shape, config or TinyConfig())
        d = int(np.prod(self.input_shape))
        self.enc = nn.Sequential(nn.Linear(d, self.config.hidden), nn.Dropout(self.config.dropout))
        self.dec = nn.Linear(self.config.hidden, d)

    def encode(self, x):
        return self.enc(x.flatten(1))

    def decode(self, z):
        return self.dec(z).reshape(-1, *self.input_shape)


class Constant(Autoencoder):
    """Reconstructs every value as one learnable number ``b``."""

    name = "constant"
    Config = TinyConfig

    def __init__(self, input_shape=(4, 1)) -> None:
        super().__init__(input_shape, TinyConfig())
        self.b = nn.Parameter(torch.zeros(()))

    def forward_train(self, x):
        return self.b.expand_as(x), {"latent": self.b.expand(len(x), 1)}

    def forward(self, x):
        return self.forward_train(x)[0]


class Probe(Autoencoder):
    """Outputs its input exactly (plus a parameter with zero gradient) and records what it saw.

    ``extras`` carry a latent ``x @ W.T`` (fixed W) and, optionally, a VAE mean/log-variance.
    """

    name = "probe"
    Config = TinyConfig

    def __init__(self, input_shape=(4, 1), vae: bool = False) -> None:
        super().__init__(input_shape, TinyConfig())
        self.p = nn.Parameter(torch.zeros(()))
        d = int(np.prod(input_shape))
        self.register_buffer("w", torch.arange(2 * d, dtype=torch.float32).reshape(2, d) / d)
        self.vae = vae
        self.seen_train: list[np.ndarray] = []
        self.seen_eval: list[np.ndarray] = []
        self.eval_modes: set[tuple[bool, bool]] = set()  # (training, grad enabled) in forward

    def encode(self, x):
        return x.flatten(1) @ self.w.T

    def forward_train(self, x):
        self.seen_train.append(x.detach()[:, 0, 0].numpy().copy())
        extras = {"latent": self.encode(x)}
        if self.vae:
            extras["mean"] = torch.ones(len(x), 2)  # KL per sample: 2 units × 0.5
            extras["log_var"] = torch.zeros(len(x), 2)
        return x + 0 * self.p, extras

    def forward(self, x):
        self.seen_eval.append(x.detach()[:, 0, 0].numpy().copy())
        self.eval_modes.add((self.training, torch.is_grad_enabled()))
        return x + 0 * self.p


class ClosedMean(Autoencoder):
    """Closed-form model: reconstructs each value as the per-position training mean."""

    name = "closed_mean"
    Config = TinyConfig
    closed_form = True

    def __init__(self, input_shape=SHAPE) -> None:
        super().__init__(input_shape, TinyConfig())
        self.register_buffer("mean", torch.zeros(input_shape))
        self.fitted_on: int | None = None

    def fit_closed_form(self, data, random_state=None):
        x = data[np.arange(len(data))]
        self.fitted_on = len(data)
        self.mean.copy_(torch.from_numpy(x.mean(0)))
        return self

    def forward(self, x):
        return self.mean.expand_as(x)


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models train fastest on one thread, and a second thread only thrashes when other
    # processes share this 2-core machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def low_rank(n=256, seed=0, shape=SHAPE, rank=2, noise=0.05):
    rng = np.random.default_rng(seed)
    d = int(np.prod(shape))
    x = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d)) + noise * rng.normal(size=(n, d))
    return x.astype(np.float32).reshape(n, *shape)


def cfg(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=32, device="cpu", validation_split=0.0, patience=0)
    return TrainConfig(**{**base, **kw})


def values(n, shape=(4, 1)):
    """Sample i is filled with the value i."""
    return np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, *shape)).copy()


# --- basics -----------------------------------------------------------------------------------


def test_loss_decreases_on_a_window_set():
    rng = np.random.default_rng(0)
    t = np.arange(3000)
    stream = np.stack([np.sin(t / 5), np.cos(t / 7)], 1) + 0.05 * rng.normal(size=(3000, 2))
    ws = WindowSet([stream.astype(np.float32)], frame=8, step=1)
    torch.manual_seed(0)
    history = train(TinyAE(), ws, cfg(epochs=6, learning_rate=1e-2, validation_split=0.1))
    losses = [e["train_loss"] for e in history.epochs]
    assert losses[-1] < 0.5 * losses[0]
    assert history.epochs[-1]["val_loss"] < history.epochs[0]["val_loss"]
    assert (history.n_train, history.n_val) == (int(len(ws) * 0.9), len(ws) - int(len(ws) * 0.9))


def test_history_record_and_json():
    history = train(TinyAE(), low_rank(64), cfg(epochs=2, validation_split=0.25))
    assert isinstance(history, History)
    assert [e["epoch"] for e in history.epochs] == [1, 2]
    assert set(history.epochs[0]) == {"epoch", "train_loss", "val_loss", "seconds", "lr"}
    assert history.epochs[0]["lr"] == pytest.approx(1e-3)
    assert history.device == "cpu"
    assert history.monitor == "val_loss"
    assert history.mixed_precision is None
    assert history.seconds >= sum(e["seconds"] for e in history.epochs)
    assert (history.n_train, history.n_val) == (48, 16)
    as_json = json.loads(json.dumps(history.to_dict(), allow_nan=False))
    assert as_json["best_epoch"] == history.best_epoch
    assert History(best_loss=float("nan")).to_dict()["best_loss"] is None


def test_model_is_left_in_eval_mode_and_threads_are_restored():
    before = torch.get_num_threads()
    seen = []
    model = TinyAE()
    train(
        model,
        low_rank(64),
        cfg(num_threads=2),
        callback=lambda e: seen.append(torch.get_num_threads()),
    )
    assert seen and set(seen) == {2}
    assert torch.get_num_threads() == before
    assert not model.training


def test_global_rng_state_is_untouched():
    model = TinyAE(config=TinyConfig(dropout=0.3))
    state = torch.get_rng_state()
    train(model, low_rank(64), cfg(noise_std=0.1))
    assert torch.equal(torch.get_rng_state(), state)


# --- reproducibility --------------------------------------------------------------------------


def test_same_seed_gives_identical_weights():
    torch.manual_seed(0)
    model = TinyAE(config=TinyConfig(dropout=0.2))
    data = low_rank(200)
    config = cfg(epochs=3, noise_std=0.1, mask_fraction=0.1, validation_split=0.2)
    first, second, other = (copy.deepcopy(model) for _ in range(3))
    # The caller's global seed must not matter: train seeds dropout itself.
    torch.manual_seed(123)
    h0 = train(first, data, config)
    torch.manual_seed(456)
    h1 = train(second, data, config)
    train(other, data, dataclasses.replace(config, random_state=1))
    pairs = list(zip(first.parameters(), second.parameters(), other.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b, _ in pairs)
    assert not all(torch.equal(a, c) for a, _, c in pairs)
    assert [e["train_loss"] for e in h0.epochs] == [e["train_loss"] for e in h1.epochs]


# --- validation -------------------------------------------------------------------------------


def test_validation_split_takes_the_last_fraction_in_order():
    model = Probe()
    history = train(model, values(10), cfg(epochs=2, batch_size=4, validation_split=0.3))
    assert (history.n_train, history.n_val) == (7, 3)
    trained = np.concatenate(model.seen_train)
    assert sorted(trained.tolist()) == sorted(list(range(7)) * 2)
    assert np.concatenate(model.seen_eval).tolist() == [7, 8, 9, 7, 8, 9]  # in order, per epoch
    assert model.eval_modes == {(False, False)}  # eval mode, no gradients


def test_explicit_validation_set_overrides_the_split():
    model = Probe()
    history = train(
        model, values(10), cfg(epochs=1, validation_split=0.5), validation=values(13)[10:]
    )
    assert (history.n_train, history.n_val) == (10, 3)
    assert sorted(np.concatenate(model.seen_train).tolist()) == list(range(10))
    assert np.concatenate(model.seen_eval).tolist() == [10, 11, 12]


def test_steps_per_epoch_samples_a_fresh_subset_each_epoch():
    model = Probe()
    train(model, values(1000), cfg(epochs=2, batch_size=10, steps_per_epoch=5))
    first, second = np.concatenate(model.seen_train[:5]), np.concatenate(model.seen_train[5:])
    assert len(model.seen_train) == 10
    assert len(set(first.tolist())) == 50 and len(set(second.tolist())) == 50
    assert set(first.tolist()) != set(second.tolist())


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (100_000, (256, 20)),  # a long stream: the stream budget, 20 x 32 batches of 256
        (8_192, (256, 20)),  # the smallest data that keeps it
        (2_637, (83, 20)),  # 3,000 rows: one pass is 32 batches of 83
        (1_000, (32, 20)),
        (540, (32, 38)),  # a few hundred images: passes of 17 batches of 32
        (5, (32, 640)),  # one step per epoch
    ],
)
def test_auto_budget_gives_every_fit_640_steps(n, expected):
    batch, epochs = auto_budget(n, 32)
    assert (batch, epochs) == expected
    per_epoch = min(32, -(-n // min(batch, n)))  # steps
    assert AUTO_STEPS <= epochs * per_epoch < AUTO_STEPS + per_epoch
    assert batch * 32 >= min(n, 8_192)  # a batch of <= 256 covers the data in 32 steps


def test_auto_budget_keeps_given_values_and_resolves_in_train():
    assert auto_budget(540, 32, batch_size=64, epochs=3) == (64, 3)
    assert auto_budget(540, None) == (256, 214)  # one pass per epoch: 3 batches of 256
    assert auto_budget(10**6, None) == (256, 20)  # 20 passes, as before
    model = Probe()
    config = cfg(epochs=None, batch_size=None, steps_per_epoch=32, patience=5)
    history = train(model, values(200), config, validation=values(40))
    # 200 samples: batches of 32, passes of 7 steps, 640 steps -> 92 epochs at most; the
    # probe reconstructs exactly, so the validation loss never falls after the first
    assert (history.batch_size, history.max_epochs) == (32, 92)
    assert [len(b) for b in model.seen_train[:7]] == [32] * 6 + [8]
    assert history.stopped_early and len(history.epochs) == 6


def test_a_last_batch_of_one_sample_is_dropped():
    model = Probe()
    history = train(model, values(21), cfg(epochs=1, batch_size=10))
    assert [len(b) for b in model.seen_train] == [10, 10]
    assert history.n_train == 21


# --- early stopping ---------------------------------------------------------------------------


def constant_run(restore_best: bool):
    # Training pulls b from 0 towards 1; the validation data sit at 0.3, so the validation
    # loss falls until b passes 0.3 and rises after.
    model = Constant()
    config = cfg(
        epochs=40, batch_size=64, learning_rate=0.05, patience=3, restore_best=restore_best
    )
    history = train(
        model,
        np.ones((64, 4, 1), np.float32),
        config,
        validation=np.full((8, 4, 1), 0.3, np.float32),
    )
    return model, history


def test_early_stopping_restores_the_best_weights():
    model, history = constant_run(restore_best=True)
    val = [e["val_loss"] for e in history.epochs]
    assert history.stopped_early
    assert len(history.epochs) == history.best_epoch + 3 < 40
    assert history.best_loss == min(val)
    assert all(v > history.best_loss for v in val[history.best_epoch :])
    assert (model.b.item() - 0.3) ** 2 == pytest.approx(history.best_loss, rel=1e-3)
    assert (model.b.item() - 0.3) ** 2 < val[-1]


def test_without_restore_the_last_weights_stay():
    model, history = constant_run(restore_best=False)
    assert history.stopped_early
    assert (model.b.item() - 0.3) ** 2 == pytest.approx(history.epochs[-1]["val_loss"], rel=1e-3)
    assert history.epochs[-1]["val_loss"] > history.best_loss


def test_patience_zero_runs_every_epoch_and_min_delta_counts():
    history = train(
        Constant(),
        np.ones((64, 4, 1), np.float32),
        cfg(epochs=15, batch_size=64, learning_rate=0.05),
        validation=np.full((8, 4, 1), 0.3, np.float32),
    )
    # the validation loss got worse for more epochs than any small patience would allow
    assert history.best_epoch + 5 < 15
    assert len(history.epochs) == 15 and not history.stopped_early
    # Without validation, the training loss is monitored; a huge min_delta never improves.
    history = train(
        Constant(),
        np.ones((64, 4, 1), np.float32),
        cfg(epochs=10, learning_rate=0.05, patience=2, min_delta=100.0),
    )
    assert history.monitor == "train_loss"
    assert history.best_epoch == 1 and len(history.epochs) == 3 and history.stopped_early


@pytest.mark.parametrize("optimizer", ["adam", "adadelta", "rmsprop", "sgd"])
def test_every_optimizer_moves_towards_the_data(optimizer):
    model = Constant()
    train(model, np.ones((64, 4, 1), np.float32), cfg(optimizer=optimizer, learning_rate=0.1))
    assert 0 < model.b.item() < 2


def test_gradient_clipping():
    # d mse / d b at b = 0 with data 1 is -2; clipped to norm 1e-3, one SGD step of 0.1
    # moves b by exactly 1e-4 (unclipped: 0.2).
    model = Constant()
    config = cfg(epochs=1, batch_size=64, optimizer="sgd", learning_rate=0.1, clip_grad_norm=1e-3)
    train(model, np.ones((64, 4, 1), np.float32), config)
    assert model.b.item() == pytest.approx(1e-4, rel=1e-4)


# --- objectives in the loop -------------------------------------------------------------------


def test_denoising_corrupts_the_input_and_keeps_the_clean_target():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2000, 4, 1)).astype(np.float32)
    # Probe reconstructs its (corrupted) input exactly, so the loss against the clean target
    # is the corruption itself: noise_std**2 for noise, fraction * mean(x**2) for masking.
    history = train(Probe(), data, cfg(epochs=1, noise_std=0.5, validation_split=0.1))
    assert history.epochs[0]["train_loss"] == pytest.approx(0.25, rel=0.05)
    assert history.epochs[0]["val_loss"] == 0.0  # validation sees clean inputs
    history = train(
        Probe(), np.full((2000, 4, 1), 2.0, np.float32), cfg(epochs=1, mask_fraction=0.3)
    )
    assert history.epochs[0]["train_loss"] == pytest.approx(0.3 * 4.0, rel=0.05)


def test_level_augmentation_moves_input_and_target_alike():
    # zeros in: what the probe sees is the offsets; it outputs them, so a target moved alike
    # gives a loss of exactly 0 (an unmoved target would give level_std ** 2)
    probe = Probe()
    history = train(probe, np.zeros((2000, 4, 1), np.float32), cfg(epochs=1, level_std=0.5))
    seen = np.concatenate(probe.seen_train)
    assert seen.std() == pytest.approx(0.5, rel=0.1)
    assert history.epochs[0]["train_loss"] == 0.0
    with pytest.raises(ParameterError, match="level_std"):
        cfg(level_std=-1.0)
    with pytest.raises(ParameterError, match="bce"):
        cfg(level_std=1.0, loss="bce")
    with pytest.raises(ParameterError, match="level_std"):
        train(ClosedMean(), low_rank(100), cfg(level_std=0.1))


def test_l1_activity_contractive_and_kl_enter_the_objective():
    data = np.full((64, 4, 1), 2.0, np.float32)
    w = Probe().w  # latent = x @ w.T; each latent unit is sum(2 * w_row)
    l1 = float((2 * w).sum(1).abs().sum())
    history = train(Probe(), data, cfg(epochs=1, l1_activity=0.1))
    assert history.epochs[0]["train_loss"] == pytest.approx(0.1 * l1, rel=1e-5)
    history = train(Probe(), data, cfg(epochs=1, contractive=0.1))
    assert history.epochs[0]["train_loss"] == pytest.approx(0.1 * float((w**2).sum()), rel=1e-5)
    # KL of N(1, 1) over 2 units is 1 per sample, divided by the 4 values of a sample
    history = train(Probe(vae=True), data, cfg(epochs=1, beta=2.0))
    assert history.epochs[0]["train_loss"] == pytest.approx(2.0 * 1.0 / 4)


def test_supervised_targets_with_cross_entropy():
    class Classifier(TinyAE):
        def forward_train(self, x):
            return self.enc(x.flatten(1)), {}

        def forward(self, x):
            return self.enc(x.flatten(1))

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    centers = rng.normal(size=(3, *SHAPE)) * 3
    data = (centers[labels] + 0.3 * rng.normal(size=(300, *SHAPE))).astype(np.float32)
    torch.manual_seed(0)
    model = Classifier()
    history = train(
        model,
        data,
        cfg(epochs=8, learning_rate=3e-2, loss="cross_entropy", validation_split=0.2),
        targets=labels,
    )
    assert history.epochs[-1]["val_loss"] < 0.5 * history.epochs[0]["val_loss"]
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(data)).argmax(1).numpy() == labels).mean()
    assert accuracy > 0.9
    with pytest.raises(DataError, match="integer class ids"):
        train(model, data, cfg(loss="cross_entropy"), targets=labels.astype(np.float32))


# --- closed form ------------------------------------------------------------------------------


def test_closed_form_model_fits_once_on_the_training_part():
    data = low_rank(100)
    model = ClosedMean()
    events = []
    history = train(model, data, cfg(validation_split=0.2), callback=events.append)
    assert model.fitted_on == 80
    assert len(history.epochs) == 1 and history.best_epoch == 1
    mean = data[:80].mean(0)
    assert history.epochs[0]["train_loss"] == pytest.approx(
        ((data[:80] - mean) ** 2).mean(), rel=1e-5
    )
    assert history.epochs[0]["val_loss"] == pytest.approx(
        ((data[80:] - mean) ** 2).mean(), rel=1e-5
    )
    assert history.best_loss == history.epochs[0]["val_loss"]
    assert len(events) == 1 and events[0].done
    with pytest.raises(ParameterError, match="noise_std"):
        train(ClosedMean(), data, cfg(noise_std=0.1))


# --- callback, checkpoints --------------------------------------------------------------------


def test_callback_receives_step_and_epoch_events():
    events: list[ProgressEvent] = []
    history = train(
        TinyAE(),
        low_rank(100),
        cfg(epochs=2, batch_size=10),
        callback=events.append,
        progress_every=3,
    )
    assert [(e.epoch, e.step) for e in events] == [(ep, s) for ep in (1, 2) for s in (3, 6, 9, 10)]
    assert [e.done for e in events] == [False] * 7 + [True]
    assert all(e.n_steps == 10 and e.n_epochs == 2 for e in events)
    ends = [e for e in events if e.step == e.n_steps]
    assert [e.train_loss for e in ends] == [e["train_loss"] for e in history.epochs]
    assert all(e.elapsed >= 0 for e in events)


def test_callback_exception_stops_training():
    def stop(event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(TinyAE(), low_rank(64), cfg(), callback=stop)


def test_checkpoints_are_written_and_loadable(tmp_path):
    model = TinyAE()
    history = train(
        model,
        low_rank(64),
        cfg(
            epochs=3,
            restore_best=False,
            validation_split=0.25,
            device=torch.device("cpu"),
            checkpoint_dir=tmp_path / "ckpt",
        ),
    )
    folder = tmp_path / "ckpt"
    assert sorted(p.name for p in folder.iterdir()) == [
        "best.safetensors",
        "state.json",
        "weights.safetensors",
    ]
    weights = load_file(folder / "weights.safetensors")
    for name, tensor in model.state_dict().items():
        assert torch.equal(weights[name], tensor)
    with safe_open(folder / "weights.safetensors", "pt") as fh:
        assert fh.metadata()["epoch"] == "3"
    with safe_open(folder / "best.safetensors", "pt") as fh:
        assert fh.metadata()["epoch"] == str(history.best_epoch)
    state = json.loads((folder / "state.json").read_text())
    assert state["epoch"] == 3
    assert state["model"]["name"] == "tiny"
    assert state["train_config"]["epochs"] == 3
    assert state["train_config"]["device"] == "cpu"
    assert state["history"]["epochs"] == history.to_dict()["epochs"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")

    def broken(path):
        path.write_text("half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    _atomic_write(target, lambda p: p.write_text("new"))
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_checkpoint_dir_that_is_a_file_is_rejected(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ParameterError, match="checkpoint_dir"):
        train(TinyAE(), low_rank(64), cfg(checkpoint_dir=str(tmp_path / "f")))


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("epochs", 2.5),
        ("epochs", True),
        ("batch_size", 0),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("optimizer", "adagrad"),
        ("loss", "huber"),
        ("validation_split", 1.0),
        ("validation_split", -0.1),
        ("patience", -1),
        ("min_delta", -1e-3),
        ("restore_best", "yes"),
        ("clip_grad_norm", 0.0),
        ("weight_decay", -1.0),
        ("device", 3),
        ("mixed_precision", "auto"),
        ("checkpoint_dir", 5),
        ("random_state", -1),
        ("random_state", 0.5),
        ("steps_per_epoch", 0),
        ("num_threads", 0),
        ("noise_std", -0.1),
        ("mask_fraction", 1.0),
        ("l1_activity", -1.0),
        ("contractive", -1.0),
        ("beta", -0.5),
    ],
)
def test_bad_config_values_raise_parameter_error(field, value):
    with pytest.raises(ParameterError, match=rf"TrainConfig\.{field} must be .*got {value!r}"):
        TrainConfig(**{field: value})


def test_config_changed_after_creation_is_checked_by_train():
    config = cfg()
    config.batch_size = -3
    with pytest.raises(ParameterError, match="batch_size"):
        train(TinyAE(), low_rank(64), config)


def test_numpy_integers_are_accepted():
    config = TrainConfig(epochs=np.int64(2), batch_size=np.int32(16), random_state=np.int64(3))
    assert config.epochs == 2


def test_bad_data_raises_data_error():
    with pytest.raises(DataError, match="empty"):
        train(TinyAE(), np.zeros((0, *SHAPE), np.float32), cfg())
    with pytest.raises(DataError, match=r"shaped \(8, 3\).*\(8, 2\)"):
        train(TinyAE(), np.zeros((10, 8, 3), np.float32), cfg())
    with pytest.raises(DataError, match="one row per input"):
        train(TinyAE(), low_rank(10), cfg(), targets=np.zeros((9, *SHAPE)))
    with pytest.raises(DataError, match="validation set is empty"):
        train(TinyAE(), low_rank(10), cfg(), validation=np.zeros((0, *SHAPE)))
    with pytest.raises(DataError, match="leaves no training samples"):
        train(TinyAE(), low_rank(1), cfg(validation_split=0.5))
    with pytest.raises(DataError, match="validation_targets"):
        train(TinyAE(), low_rank(10), cfg(), targets=low_rank(10), validation=low_rank(4))
    with pytest.raises(DataError, match="WindowSet"):
        train(TinyAE(), 5, cfg())


def test_non_finite_loss_raises_data_error():
    data = low_rank(64)
    data[3, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        train(TinyAE(), data, cfg())


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(ParameterError, match="'bogus'"):
        select_device("bogus")
    with pytest.raises(ParameterError, match="'xla'"):
        select_device("xla")
    if torch.cuda.is_available():
        assert select_device(None).type == "cuda"
        assert select_device("cuda").index is not None
    else:
        with pytest.raises(ParameterError, match="CUDA is not available"):
            select_device("cuda:0")
        if not torch.backends.mps.is_available():
            assert select_device(None) == torch.device("cpu")
            with pytest.raises(ParameterError, match="MPS is not available"):
                select_device("mps")


def test_model_without_parameters_is_rejected():
    class Fixed(TinyAE):
        def __init__(self):
            super().__init__()
            for p in self.parameters():
                p.requires_grad_(False)

    with pytest.raises(ParameterError, match="no trainable parameters"):
        train(Fixed(), low_rank(64), cfg())


# --- the linear autoencoder learns the PCA subspace ---------------------------------------------


def test_linear_autoencoder_matches_pca():
    from seqae.models import build_model

    rng = np.random.default_rng(0)
    n, shape, k = 600, (16, 2), 3
    basis = np.linalg.qr(rng.normal(size=(32, k)))[0].T  # (k, 32), orthonormal rows
    factors = rng.normal(size=(n, k)) * np.array([3.0, 2.0, 1.0])
    x = factors @ basis + 0.1 * rng.normal(size=(n, 32)) + 0.5
    x = x.astype(np.float32).reshape(n, *shape)

    def mse(model):
        with torch.no_grad():
            return float(((model(torch.from_numpy(x)) - torch.from_numpy(x)) ** 2).mean())

    pca = build_model("pca", shape, {"n_components": k})
    history = train(pca, x, cfg(epochs=1))
    assert history.epochs[0]["train_loss"] == pytest.approx(mse(pca), rel=1e-4)
    torch.manual_seed(0)
    linear = build_model("dense", shape, {"hidden": (k,), "activation": None})
    train(linear, x, cfg(epochs=25, learning_rate=1e-2))
    # PCA is the optimum of every rank-k linear reconstruction (Eckart–Young), and gradient
    # descent on the linear autoencoder reaches its subspace (Oja 1982; Baldi & Hornik 1989).
    assert mse(pca) * (1 - 1e-3) <= mse(linear) <= 1.05 * mse(pca)
