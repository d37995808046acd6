"""The Detector: one scikit-learn-style estimator for every autoencoder family."""

from __future__ import annotations

import dataclasses
import math
import os
import platform
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from . import __version__
from .errors import DataError, ModelFormatError, NotFittedError, ParameterError
from .files.persistence import load_model_files, save_model_files
from .files.state import FittedState, json_ready
from .models import MODELS, Autoencoder, available_models, build_model, variational_models
from .models.ensemble import Ensemble
from .models.head import ScoringHead, check_channel_weights, convolutional_halo, head_runner
from .scoring.baseline import (
    N_BLOCKS,
    ONE_CHANNEL_CENTRED,
    SEVERAL_CHANNELS_RANK,
    smooth_scores,
    stuck_floor,
)
from .scoring.common import is_number
from .scoring.core import (
    SCORING_BATCH,
    RunFn,
    Scorer,
    ScoringSpec,
    StreamDetector,
    StreamScores,
    centre,
    combine_channels,
)
from .scoring.images import ImageDetectionResult, as_images, is_image_input, score_image_batches
from .scoring.results import DetectionResult
from .scoring.thresholds import best_f1_threshold, fit_threshold
from .scoring.validation import Stream, as_streams, stream_for_model
from .scoring.windowing import WindowSet, check_frame_step
from .threads import check_threads, choose_threads, threaded, torch_threads
from .training.trainer import AUTO_BATCH, History, TrainConfig, select_device, train

__all__ = ["DetectionResult", "Detector"]

_SCALERS = ("standard", "robust", "minmax", None)
_SCORING = ("auto", "windowed", "convolutional")
_FOLDS = ("mean", "max", "median")
_ANOMALY_SCORES = ("reconstruction", "elbo")
_CALIBRATIONS = ("holdout", "training")
#: With ``channel_norm``, a channel's mean normal error counts as at least this share of the
#: median channel's: a channel that was constant in training must not get an infinite weight.
_NORM_FLOOR = 0.1
#: The lowest fitted alarm line (raw error, scaled units squared): where training is
#: reconstructed exactly, a change of a thousandth of a standard deviation alarms.
MIN_LINE = 1e-6


def _blank_state() -> FittedState:
    """The state a fit starts from: its fields are set as the fit finds them."""
    return FittedState.for_scoring([], threshold=1.0, frame=1, step=1)


def _state_field(field: str, doc: str) -> property:
    """A fitted attribute (``<field>_``) kept in the detector's one :class:`FittedState`."""

    def get(self: Detector) -> Any:
        state = self.__dict__.get("_state")
        if state is None:
            raise AttributeError(f"'Detector' object has no attribute '{field}_' (not fitted)")
        return getattr(state, field)

    def set(self: Detector, value: Any) -> None:
        state = self.__dict__.get("_state") or _blank_state()
        self.__dict__["_state"] = dataclasses.replace(state, **{field: value})

    return property(get, set, doc=doc)


class Detector(StreamDetector, TransformerMixin, BaseEstimator):
    """Anomaly detector: an autoencoder learns normal frames; reconstruction error flags the rest.

    Parameters
    ----------
    model : str, default "conv1d"
        Autoencoder family: ``"conv1d"``, ``"lstm"``, ``"gru"``, ``"dense"``, ``"linear"``,
        ``"vae"`` or ``"pca"``; for images also ``"conv2d"`` and ``"conv2d_vae"``. Images
        (a 3-D ``(N, H, W)`` or 4-D ``(N, C, H, W)`` array) skip windowing: ``frame``,
        ``step`` and the event rules do not apply, the scaler is one global pair of numbers
        (``"minmax"`` maps to [0, 1] for a sigmoid output and the BCE loss), and scores are
        per image (``detect`` adds per-pixel scores).
    frame : int, default 64
        Timesteps per frame.
    step : int, default 1
        Timesteps between frame starts, for training and for windowed scoring.
    scaler : {"standard", "robust", "minmax", None}, default "standard"
        Per-channel scaling fitted on the training data (one global pair for images).
    threshold : {"robust", "pot", "quantile", "sigma"} or float, default "robust"
        How training scores become the alarm line: an exponential tail fitted to the body of
        the scores and extrapolated to ``risk`` (a few per cent of anomalies in the training
        data do not move it; :func:`~seqae.scoring.thresholds.robust_threshold`),
        peaks-over-threshold
        (extreme value theory, fitted on the top 2 %), the ``1 - contamination`` quantile,
        mean + ``sigma`` standard deviations, or a fixed raw error value.
    contamination : float, default 0.01
        Expected share of anomalous training timesteps (for ``threshold="quantile"``).
    sigma : float, default 3.0
        ``k`` of ``threshold="sigma"``.
    risk : float, default 1e-4
        False-alarm probability aimed at by ``threshold="robust"`` and ``"pot"`` (per row of
        smoothed scores; 3e-4 was chosen with ``score_smoothing=8`` on the development suite,
        where 1e-3 let the steadier smoothed scores of shifted normal data cross the line;
        1e-4 with ``combine_power=4``, whose normal scores have a heavier tail: round 10 of
        ``benchmarks/results/suite-rounds.md``).
    calibration : {"holdout", "training"}, default "holdout"
        Which scores place the alarm line. A model reconstructs the rows it was trained on
        better than any unseen normal row, so a line fitted on them alone is too low.
        ``"holdout"``: the last ``validation_split`` of each training recording is never
        trained on; the line is fitted with ``threshold`` on the training scores and raised by
        the ratio of the held-out rows' median score to the training rows' (when above 1).
        ``"training"``: the training scores alone (as before 0.2).
    channel_norm : bool, default True
        Divide each channel's error by its mean error on the held-out rows (training rows
        when none are held out), so every channel's normal error counts the same: a channel
        the model reconstructs badly even when it is normal stops dominating the score and
        the attribution. Folded into ``channel_weights_`` (multiplied with
        ``channel_weights``), so saved models and ONNX exports carry it.
    epochs : int or None, default None
        The most epochs; training stops sooner when the validation loss has not fallen for
        ``patience`` epochs. None: 20, or more where an epoch is a pass of fewer than
        ``steps_per_epoch`` batches, so that a fit may take 640 gradient steps whatever the
        data size (:func:`~seqae.training.trainer.auto_budget`).
    batch_size : int or None, default None
        Windows (images) per gradient step. None: 256, or on small data the size that makes
        one pass over the training windows ``steps_per_epoch`` batches, but at least 32: a
        few hundred images or a few thousand rows then get hundreds of gradient steps, not
        a few dozen, for about the same work.
    learning_rate, validation_split, patience
        Training settings (see :class:`seqae.training.trainer.TrainConfig`); the validation part is
        the end of each training recording, never shuffled across time.
    steps_per_epoch : int or None, default 32
        A training budget: each epoch trains on at most this many batches, drawn at random
        from every training window (None: all windows, every epoch). With the defaults a fit
        on a long stream costs 20 epochs of 32 batches of 256 whatever its length: on the
        development suite this matched unbounded training in quality at half the time.
    n_networks : int, default 1
        How many networks of the family to train, each on its own from its own seed
        (``random_state + i``), scoring together: each network's error on each channel
        counts as that network would normalise it alone (1 / its mean error on the channel
        with ``channel_norm``, then 1 / the median of its score, on the held-out rows), so
        the score is the mean of comparable errors (:class:`seqae.models.ensemble.Ensemble`).
        Fit and scoring take this many times as long; one file and one ONNX graph hold them
        all. Not for closed-form models (``"pca"``) nor ``anomaly_score="elbo"``.
    network_frames : sequence of int, optional
        The frame length each network of ``n_networks`` trains on, one per network, each at
        most ``frame`` (None: all train on ``frame``). Only for fully convolutional models
        (``"conv1d"``), which score any length: every network scores the same ``frame``,
        so scoring, saving, streaming and the ONNX export are unchanged. Networks trained
        on different lengths err differently on normal data that the training rows did
        not cover, so averaging them cancels more of it than averaging seeds does.
        ``n_networks=2, network_frames=(64, 32)`` is measured in
        ``benchmarks/results/suite-rounds.md`` (round 23): on 200-channel streams with one
        faulty channel, event precision 1.0 on every stream and seed tried (one network:
        0.23-1.0), for 1.7 times the fit + score time and a little less ranking on server
        metrics and single channels (SMD VUS-PR -0.007).
    model_params : dict, optional
        Architecture settings of the model family (e.g. ``{"filters": (32, 16)}``).
    train_params : dict, optional
        Further :class:`~seqae.training.TrainConfig` fields (``optimizer``, ``noise_std``, ...).
    scoring : {"auto", "windowed", "convolutional"}, default "auto"
        ``convolutional`` runs a fully convolutional model (conv1d) over the whole stream in
        chunks and reads the per-timestep error directly: tens of times faster than
        ``windowed`` at step 1 and, with a frame of 64 or more, the same AUC-PR to +-0.02 on
        the synthetic stream and on SKAB (a frame shorter than twice the receptive field,
        e.g. 32 for the default conv1d, trains every position next to zero padding and can
        lose more). ``windowed`` scores frame by frame (step ``step``) and folds the
        overlapping frames. ``auto`` picks convolutional where the model allows it.
    anomaly_score : {"reconstruction", "elbo"}, default "reconstruction"
        What a score measures. ``"reconstruction"``: the reconstruction error. ``"elbo"``
        (variational models only: ``"vae"``, ``"conv2d_vae"``): the negative ELBO, i.e. the
        reconstruction error of the posterior mean plus ``beta`` (from ``train_params``,
        default 1.0) times the KL divergence of the posterior from the prior, the KL divided
        by the values per sample as in the training objective. The KL term is spread evenly
        over the sample's timesteps (pixels) and channels, so contributions still sum to the
        score; thresholds and normalisation work on it unchanged.
    channel_weights : sequence of float or dict, optional
        Weight of each channel's squared error in the score (default: all 1). A sequence gives
        one weight per channel in order; a dict maps channel names to weights (unnamed
        channels keep 1). Weights are rescaled to average 1 at fit time, so only their ratios
        matter. Use it to count a channel that drifts in normal operation for less; the
        ``benchmarks/skab.py`` row derives them from a separate anomaly-free recording.
    drift_window : int or None, default 512
        A drift-aware alarm line (:class:`seqae.scoring.baseline.DriftBaseline`): the typical score
        level over the last ``drift_window`` timesteps is followed, and scores are divided by
        how far it has risen above the held-out normal level, so slow drift of normal
        operation stops raising alarms while faults, far faster, still do. Causal (only past
        timesteps count), so streams scored in parts give the same scores. None turns it off.
    drift_rank_power : float, default 0.5
        How much of the drift adjustment a score under the alarm line keeps: its factor
        (<= 1) to this power (:meth:`seqae.scoring.baseline.DriftBaseline.under_line`). Which
        rows cross the line never depends on it; what it changes is how the rows under the
        line rank. 1: the whole factor; 0.5: half of it (in log terms), so a lasting fault
        that the drift-aware line has taken for the new normal still ranks above normal rows;
        such scores bend toward the line above 0.9 and never reach it. Chosen by round 18
        (``benchmarks/results/suite-rounds.md``: VUS-PR on SMD 0.391 -> 0.423, the wide
        track 0.854 -> 0.877, SKAB 0.871 -> 0.864; alarms unchanged).
    score_smoothing : int, default 8
        Each timestep's score becomes the trailing mean of the network's scores over the last
        ``score_smoothing`` timesteps of the stream (the first timesteps average what they
        have, with the held-out normal level before the stream's first timestep), as Telemanom
        smooths its prediction errors; 1 turns it off. The noise of single
        rows then stops crossing the line and lasting faults rank above it, while short
        spikes are diluted by up to this factor. The alarm line and the drift-aware line are
        fitted on smoothed training scores (each recording smoothed on its own), and the
        drift-aware line follows the smoothed scores; the attribution is not smoothed. Causal,
        so streams scored in parts give the same scores. Streams only (images: ignored).
    long_smoothing : int or None, default None
        Rows of a second, longer trailing mean of the network's scores, tested against its
        own alarm line (fitted as the first one is): each timestep's score is the larger of
        the two means, each over its line (:class:`seqae.scoring.baseline.ScoreSmoother`;
        ``long_gain_`` is the ratio of the lines). A lasting stretch of moderate errors then
        crosses while a short burst keeps the short mean's height. None: the
        ``score_smoothing`` mean alone. Causal and streamed like ``score_smoothing``.
    centred_smoothing : int or "auto", default "auto"
        Width of a centred, triangular mean of the network's scores
        (:func:`seqae.scoring.baseline.centred_mean`): each score becomes the mean of the
        scores within ``centred_smoothing - 1`` rows on either side, weighted down linearly
        with the distance (a frame's total error spread over its steps, as TSB-AD's window
        methods fold scores). Unlike the trailing ``score_smoothing`` it does not lag a
        fault, but a score is final ``centred_smoothing - 1`` rows later: streaming, Dask and
        Spark read that far ahead. Applied before ``score_smoothing``; the lines are fitted
        on the smoothed scores. 1 turns it off. ``"auto"`` (the default): ``ONE_CHANNEL_CENTRED``
        (32) rows on data of one channel, where it ranks faults better and raises fewer false
        events, and 1 on data of several, where it spreads alarms before the faults (rounds 16
        and 17 of ``benchmarks/results/suite-rounds.md``); ``centred_smoothing_`` is the width
        chosen, and the model line says why.
    rank_smoothing : int or "auto", default 32
        A ranking stream for the rows under the alarm line: a centred, triangular mean of the
        network's scores over ``rank_smoothing - 1`` rows on either side, over its own line
        (fitted as the alarm line is; ``rank_gain_`` is the ratio of the lines). A score under
        the line rises to it (drift-adjusted as a score under the line is, bent toward the
        line and kept under it: :func:`seqae.scoring.baseline.lift_under_line`), so which rows
        cross the line (labels, events, F1) does not change; only the order of the rows
        under it does, which is what VUS-PR and a line set lower see. A score is final
        ``rank_smoothing - 1`` rows later: streaming, Dask and Spark read that far ahead.
        1: none (the scores under the line are then the trailing mean's, as before round 19).
        ``"auto"``: 32 rows on data of several channels and none on data of one (whose scores
        already take the centred mean of ``centred_smoothing="auto"``). Chosen by round 19 of
        ``benchmarks/results/suite-rounds.md`` (VUS-PR with training cut to 2,000 rows: SMD
        0.423 -> 0.441, SKAB 0.864 -> 0.877, synthetic 0.779 -> 0.890; wide 0.877 -> 0.926;
        short 0.453 -> 0.458; every alarm metric unchanged).
    combine_power : float, default 4.0
        How each timestep's (normalised) channel errors combine into its score: ``C`` times
        their power mean (:func:`seqae.scoring.core.combine_channels`). 1 is their sum; a
        larger power moves the score toward the largest channel errors, so a fault in one
        channel of many is not thinned by the others (with 50 channels, power 4 counts a
        one-channel error 19x more than the sum). The alarm line is fitted on the combined
        scores. Chosen by round 10 (wide data: 6 -> 12 of 12 one-channel faults found; SKAB
        and SMD lose about 0.01 VUS-PR). Streams only.
    stuck_window : int or None, default 16
        Check for stuck sensors: a channel that holds one value over the last
        ``stuck_window`` rows (its range there is below a millionth of the smallest range it
        had over any such window of the training data in which it moved) is stuck, and its
        rows score at least 2.0 (twice the alarm line), named on that channel, until it moves
        again. A channel that only goes quiet is not stuck (round 11: server metrics do, in
        normal work). A reconstruction can be good exactly while a sensor is stuck, so
        the check reads the raw values. Channels whose training values repeat the row before
        more than 1 % of the time (a counter, an idle-prone server metric), or that never
        moved over a window, are never taken for stuck. None turns it off.
        Streams only.
    fold : {"mean", "max", "median"}, default "mean"
        How overlapping frames combine into one score per timestep (windowed scoring).
    min_event_length : int, default 1
        Alarms shorter than this many timesteps are dropped.
    merge_gap : int, default 64
        Alarms separated by at most this many normal timesteps are merged into one event
        (the default frame: alarms less than a frame apart are read from overlapping data).
    device : str, optional
        ``"cuda"``, ``"mps"`` or ``"cpu"``; default: the best available.
    n_threads : int, optional
        torch CPU threads for fitting and scoring, set around each call and restored after.
        Default: chosen per call from the CPUs this process may use (affinity, cgroup
        quota), the other processes running on them and the size of the work
        (:func:`seqae.threads.choose_threads`).
    random_state : int, optional
        Seed for reproducible training.

    Attributes
    ----------
    model_ : Autoencoder
    scaler_ : dict
        ``{"kind", "center", "scale"}``.
    threshold_ : float
        Raw error at the alarm line.
    channels_ : list of str
    n_features_in_ : int
        The number of channels (streams only), as scikit-learn names it.
    feature_names_in_ : ndarray of str
        The channel names, when fitted on named columns (a DataFrame, SensorData).
    history_ : dict
    train_scores_ : ndarray
        Normalised scores of the training data (smoothed with ``score_smoothing``, not
        drift-adjusted).
    channel_weights_ : list of float or None
        The weights in use (averaging 1), or None for equal weights.
    state_ : FittedState
        Everything fitted but the weights, as model files carry it; the attributes above
        (and ``n_channels_``, ``drift_base_``, ``training_summary_``, ``input_kind_``,
        ``image_shape_``) are views of it.

    Examples
    --------
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=3000, n_channels=4, random_state=0)
    >>> det = Detector(frame=32, epochs=3, random_state=0).fit(stream.values[:1500])
    >>> result = det.detect(stream.values)
    >>> result.scores.shape, result.contributions.shape
    ((3000,), (3000, 4))
    """

    # The fitted numbers live in one FittedState (``self._state``); these are views of it.
    channels_ = _state_field("channels", "Channel names, in the order the network takes them.")
    scaler_ = _state_field("scaler", "``{'kind', 'center', 'scale'}``.")
    threshold_ = _state_field("threshold", "Raw error at the alarm line.")
    channel_weights_ = _state_field("channel_weights", "The channel weights in use, or None.")
    drift_base_ = _state_field("drift_base", "The drift-aware line's base (raw), or None.")
    long_gain_ = _state_field("long_gain", "The long mean's factor (``long_smoothing``).")
    rank_gain_ = _state_field("rank_gain", "The ranking stream's factor (``rank_smoothing``).")
    stuck_window_ = _state_field("stuck_window", "The stuck check's window, or None.")
    stuck_floor_ = _state_field("stuck_floor", "Each channel's stuck floor (raw), or None.")
    history_ = _state_field("history", "The training record.")
    training_summary_ = _state_field("training_summary", "A summary of the training data.")
    input_kind_ = _state_field("input_kind", "``'sequence'`` or ``'image'``.")
    image_shape_ = _state_field("image_shape", "``[channels, height, width]`` or None.")

    @property
    def n_channels_(self) -> int:
        """The number of channels."""
        return len(self.channels_)

    def __init__(
        self,
        model: str = "conv1d",
        frame: int = 64,
        step: int = 1,
        *,
        scaler: str | None = "standard",
        threshold: str | float = "robust",
        contamination: float = 0.01,
        sigma: float = 3.0,
        risk: float = 1e-4,
        calibration: str = "holdout",
        channel_norm: bool = True,
        epochs: int | None = None,
        steps_per_epoch: int | None = 32,
        batch_size: int | None = None,
        learning_rate: float = 1e-3,
        validation_split: float = 0.1,
        patience: int = 5,
        n_networks: int = 1,
        network_frames: Sequence[int] | None = None,
        model_params: dict[str, Any] | None = None,
        train_params: dict[str, Any] | None = None,
        scoring: str = "auto",
        anomaly_score: str = "reconstruction",
        channel_weights: Sequence[float] | dict[str, float] | None = None,
        drift_window: int | None = 512,
        drift_rank_power: float = 0.5,
        score_smoothing: int = 8,
        long_smoothing: int | None = None,
        centred_smoothing: int | str = "auto",
        rank_smoothing: int | str = 32,
        combine_power: float = 4.0,
        stuck_window: int | None = 16,
        fold: str = "mean",
        min_event_length: int = 1,
        merge_gap: int = 64,
        device: str | None = None,
        n_threads: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.frame = frame
        self.step = step
        self.scaler = scaler
        self.threshold = threshold
        self.contamination = contamination
        self.sigma = sigma
        self.risk = risk
        self.calibration = calibration
        self.channel_norm = channel_norm
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_split = validation_split
        self.patience = patience
        self.n_networks = n_networks
        self.network_frames = network_frames
        self.model_params = model_params
        self.train_params = train_params
        self.scoring = scoring
        self.anomaly_score = anomaly_score
        self.channel_weights = channel_weights
        self.drift_window = drift_window
        self.drift_rank_power = drift_rank_power
        self.score_smoothing = score_smoothing
        self.long_smoothing = long_smoothing
        self.centred_smoothing = centred_smoothing
        self.rank_smoothing = rank_smoothing
        self.combine_power = combine_power
        self.stuck_window = stuck_window
        self.fold = fold
        self.min_event_length = min_event_length
        self.merge_gap = merge_gap
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if self.model not in available_models():
            raise ParameterError(f"model must be one of {available_models()}, got {self.model!r}")
        check_frame_step(self.frame, self.step)
        check_threads(self.n_threads)
        if self.step > self.frame:
            raise ParameterError(
                f"step must be <= frame ({self.frame}) so every timestep is scored, got {self.step}"
            )
        if self.scaler not in _SCALERS:
            raise ParameterError(
                f"scaler must be 'standard', 'robust', 'minmax' or None, got {self.scaler!r}"
            )
        if self.scoring not in _SCORING:
            raise ParameterError(f"scoring must be one of {_SCORING}, got {self.scoring!r}")
        if self.calibration not in _CALIBRATIONS:
            raise ParameterError(
                f"calibration must be one of {_CALIBRATIONS}, got {self.calibration!r}"
            )
        if self.channel_norm not in (True, False):
            raise ParameterError(f"channel_norm must be True or False, got {self.channel_norm!r}")
        if self.drift_window is not None and (
            isinstance(self.drift_window, bool)
            or not isinstance(self.drift_window, (int, np.integer))
            or self.drift_window < N_BLOCKS
        ):
            raise ParameterError(
                f"drift_window must be None or an integer >= {N_BLOCKS}, got {self.drift_window!r}"
            )
        if self.fold not in _FOLDS:
            raise ParameterError(f"fold must be one of {_FOLDS}, got {self.fold!r}")
        self._check_anomaly_score()
        self._check_networks()
        if not 0.0 <= self.validation_split < 1.0:
            raise ParameterError(
                f"validation_split must be in [0, 1), got {self.validation_split!r}"
            )
        for name, low in (
            ("min_event_length", 1),
            ("merge_gap", 0),
            ("score_smoothing", 1),
            ("centred_smoothing", 1),
            ("rank_smoothing", 1),
        ):
            value = getattr(self, name)
            auto = name in ("centred_smoothing", "rank_smoothing")
            if auto and isinstance(value, str) and value == "auto":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                also = " or 'auto'" if auto else ""
                raise ParameterError(f"{name} must be an integer >= {low}{also}, got {value!r}")
        power = self.combine_power
        if not is_number(power) or not 1 <= power < math.inf:
            raise ParameterError(f"combine_power must be a finite number >= 1, got {power!r}")
        rank = self.drift_rank_power
        if not is_number(rank) or not 0 <= rank <= 1:
            raise ParameterError(f"drift_rank_power must be a number in [0, 1], got {rank!r}")
        for name, low in (("long_smoothing", 1), ("stuck_window", 2)):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
            ):
                raise ParameterError(f"{name} must be None or an integer >= {low}, got {value!r}")

    def _check_anomaly_score(self) -> None:
        """Raise ParameterError unless ``anomaly_score`` is known and fits the model family."""
        if self.anomaly_score not in _ANOMALY_SCORES:
            raise ParameterError(
                f"anomaly_score must be one of {_ANOMALY_SCORES}, got {self.anomaly_score!r}"
            )
        if self.anomaly_score == "elbo" and self.model not in variational_models():
            raise ParameterError(
                f"anomaly_score='elbo' needs a variational model (one of "
                f"{variational_models()}), got model={self.model!r}; use "
                "anomaly_score='reconstruction' for it"
            )

    def _check_networks(self) -> None:
        n = self.n_networks
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n_networks must be an integer >= 1, got {n!r}")
        if n > 1 and MODELS[self.model].closed_form:
            raise ParameterError(
                f"model {self.model!r} is fitted in closed form: its networks would all be the "
                "same; use n_networks=1"
            )
        if n > 1 and self.anomaly_score == "elbo":
            raise ParameterError("anomaly_score='elbo' scores one network: use n_networks=1")
        frames = self.network_frames
        if frames is None:
            return
        if (
            isinstance(frames, (str, bytes))
            or not isinstance(frames, Sequence)
            or len(frames) != n
            or any(
                isinstance(f, bool)
                or not isinstance(f, (int, np.integer))
                or not 1 <= f <= self.frame
                for f in frames
            )
        ):
            raise ParameterError(
                f"network_frames must be None or {n} integer(s) (one per network, "
                f"n_networks={n}), each in [1, frame={self.frame}], got {frames!r}"
            )
        if any(f != self.frame for f in frames) and not MODELS[self.model].fully_convolutional:
            raise ParameterError(
                f"network_frames other than frame={self.frame} need a fully convolutional "
                f"model (one that scores frames of any length, such as 'conv1d'), got "
                f"model={self.model!r}"
            )

    def _score_beta(self) -> float:
        """The KL weight of ELBO scores: ``train_params["beta"]``, the training default else."""
        return float((self.train_params or {}).get("beta", TrainConfig.beta))

    def __sklearn_tags__(self) -> Any:
        # scikit-learn >= 1.6 reads these. An outlier detector (scores, 1 = anomaly) that also
        # transforms (latent codes, float32 whatever the input); rows are timesteps in order,
        # so checks that shuffle or subset rows do not apply (see tests/test_sklearn.py).
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.target_tags.required = False
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "this Detector is not fitted yet: call fit(X) first, or Detector.load(path)"
            )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        callback: Callable[[Any], None] | None = None,
    ) -> Detector:
        """Learn normal behaviour from ``X``: one ``(T, C)`` stream or a list of recordings.

        Parameters
        ----------
        X : array-like, DataFrame, SensorData, or a list of them
            Normal (mostly anomaly-free) data. DataFrame columns name the channels.
        y : ignored
            Present for scikit-learn compatibility; use :meth:`calibrate` with labels.
        callback : callable, optional
            Receives a :class:`seqae.training.ProgressEvent` after each epoch and every few
            steps.

        Returns
        -------
        self
        """
        self._check_params()
        # the work of one training step: a batch of frames (auto batches are at most 256)
        work = (self.batch_size or AUTO_BATCH[1]) * self.frame
        with torch_threads(choose_threads(self.n_threads, work)):
            if self._image_fit(X):
                return self._fit_images(X, callback)
            self._fit_streams(as_streams(X), callback)
        return self

    def fit_detect(
        self,
        X: Any,
        *,
        callback: Callable[[Any], None] | None = None,
        reconstruction: bool = False,
        top_k: int = 3,
    ) -> DetectionResult | ImageDetectionResult:
        """Fit on ``X``, then detect anomalies in ``X`` itself, scoring it once.

        The same as ``fit(X).detect(X)`` (to float rounding), without scoring ``X`` a second
        time: the scores that place the alarm line are the detection's scores.

        Parameters
        ----------
        X : array-like, DataFrame or SensorData
            One stream (or a set of images).
        callback : callable, optional
            As in :meth:`fit`.
        reconstruction, top_k
            As in :meth:`detect`.

        Examples
        --------
        >>> from seqae.datasets import make_sensor_stream
        >>> stream = make_sensor_stream(n_timesteps=2000, n_channels=2, random_state=0)
        >>> det = Detector(model="dense", frame=16, epochs=1, random_state=0)
        >>> result = det.fit_detect(stream.values)
        >>> bool(np.allclose(result.scores, det.score_samples(stream.values), atol=1e-6))
        True
        """
        self._check_params()
        if self._image_fit(X):  # images are scored in one batch loop already
            return self._fit_images(X, callback).detect(
                X, reconstruction=reconstruction, top_k=top_k
            )
        streams = as_streams(X)
        if len(streams) != 1:
            raise DataError(
                f"fit_detect takes one stream, got {len(streams)} recordings: fit them, then "
                "detect each"
            )
        raw = self._fit_streams(streams, callback, reconstruction=reconstruction)[0]
        scored = StreamScores(
            raw.scores / self.threshold_,
            raw.contributions / self.threshold_,
            raw.reconstruction,
            None if raw.rank is None else raw.rank / self.threshold_,
        )
        scorer = self.scorer
        adjusted = scorer.adjust(scored, streams[0].values)
        return scorer.result(adjusted, streams[0].timestamps, top_k=top_k)

    def partial_fit(
        self,
        X: Any,
        y: Any = None,
        *,
        callback: Callable[[Any], None] | None = None,
    ) -> Detector:
        """Train the fitted network further on new normal data ``X``, then refit the alarm line.

        For normal operation that has moved since :meth:`fit` (a new operating point, a
        serviced machine): the network keeps its weights and trains further on ``X`` (each network
        of ``n_networks`` with its own seed), with the budget, settings and held-out tail
        that :meth:`fit` uses. The scaler and the channels stay those of the first fit, so
        the network's inputs keep their units. Then what scoring depends on is fitted anew
        from ``X`` alone, by the code :meth:`fit` fits it with: each network's share
        (``n_networks``), the channel normalisation (``channel_norm``), the alarm line, the
        drift-aware line's base, ``train_scores_``. ``history_`` becomes this training's record;
        ``training_summary_`` counts the timesteps and recordings of every fit so far (its
        channel means and spreads too; its score quantiles are ``X``'s).

        Parameters
        ----------
        X : array-like, DataFrame, SensorData, or a list of them
            New normal data: one ``(T, C)`` stream or a list of recordings. Named data is
            matched to the fitted channels by name (as :meth:`detect` matches it); unnamed
            data must hold them in the fitted order.
        y : ignored
            Present for scikit-learn compatibility.
        callback : callable, optional
            As in :meth:`fit`.

        Returns
        -------
        self

        An unfitted detector is fitted on ``X`` (:meth:`fit`), as scikit-learn's
        ``partial_fit`` does. The stuck check's floors only go down: each channel keeps the
        lower of its old floor and the one ``X`` gives (new normal data can show a channel
        quieter than before, never make an old quiet stretch abnormal).

        Raises
        ------
        ParameterError
            An image model, or a model fitted in closed form (``"pca"``): fit it again.
        DataError
            As in :meth:`fit`: a recording shorter than one frame, missing channels,
            non-finite values.

        Examples
        --------
        >>> from seqae.datasets import make_sensor_stream
        >>> stream = make_sensor_stream(n_timesteps=2000, n_channels=2, random_state=0)
        >>> det = Detector(model="dense", frame=16, epochs=1, random_state=0)
        >>> det = det.fit(stream.values[:1000])
        >>> scaler = det.scaler_
        >>> det = det.partial_fit(stream.values[1000:] + 0.5)  # the normal level moved
        >>> det.scaler_ == scaler, det.training_summary_["n_timesteps"]
        (True, 2000)
        """
        if not self.__sklearn_is_fitted__():
            return self.fit(X, callback=callback)
        if self._images():
            raise ParameterError(
                "partial_fit trains sequence models; this Detector was fitted on images: "
                "fit it again on all the images"
            )
        model = self.model_
        networks = list(model.members) if isinstance(model, Ensemble) else [model]
        if getattr(networks[0], "closed_form", False):
            raise ParameterError(
                f"model {model.name!r} is fitted in closed form and cannot train further: "
                "fit it again on all the data"
            )
        self._check_params()
        items = list(X) if isinstance(X, (list, tuple)) else [X]
        if not items:
            raise DataError("X: empty list: give at least one (timesteps, channels) array")
        streams = [
            stream_for_model(
                x,
                self.channels_,
                source=f"X[{i}]" if len(items) > 1 else "X",
                owner=type(self).__name__,
            )
            for i, x in enumerate(items)
        ]
        self._check_lengths(streams)
        center = np.asarray(self.scaler_["center"], dtype=np.float64)
        scale = np.asarray(self.scaler_["scale"], dtype=np.float64)
        scaled = [((s.values - center) / scale).astype(np.float32) for s in streams]
        train_parts, held_parts = self._split(scaled)
        val_parts = [x for x in held_parts if len(x) >= self.frame]
        data = WindowSet(train_parts, self.frame, self.step)
        validation = WindowSet(val_parts, self.frame, self.step) if val_parts else None
        work = (self.batch_size or AUTO_BATCH[1]) * self.frame
        previous = dict(self.training_summary_)
        old_floor = self.stuck_floor_ if self.stuck_window_ == self.stuck_window else None
        with torch_threads(choose_threads(self.n_threads, work)):
            histories = []
            for i, net in enumerate(networks):
                config = self._train_config(self._network_seed(i))
                data_i, validation_i = self._network_windows(i, data, validation)
                histories.append(
                    train(net, data_i, config, validation=validation_i, callback=callback)
                )
            model.eval()
            self.history_ = _training_record(histories)
            self.device_ = self.history_["device"]
            # scoring starts again from raw errors: the user's weights, a line at 1
            self.channel_weights_ = self._resolve_channel_weights(list(self.channels_))
            self._head = self._make_head(threshold=1.0)
            if isinstance(model, Ensemble):
                self._weigh_networks(model, streams, train_parts)
            self._fit_scoring(streams, train_parts)
        if old_floor is not None and self.stuck_floor_ is not None:
            self.stuck_floor_ = np.minimum(old_floor, self.stuck_floor_).tolist()
        self.training_summary_ = _add_summaries(previous, self.training_summary_)
        return self

    def _image_fit(self, X: Any) -> bool:
        """Whether ``X`` is fitted as images; sets ``input_kind_`` (and forgets the fitted
        attributes that only streams set)."""
        for name in ("n_features_in_", "feature_names_in_"):  # set anew below, where they apply
            self.__dict__.pop(name, None)
        self._state = _blank_state()  # a new fit forgets the last one's numbers
        image = is_image_input(X) or MODELS[self.model].kind == "image"
        self.input_kind_ = "image" if image else "sequence"
        return image

    def _fit_streams(
        self,
        streams: list[Stream],
        callback: Callable[[Any], None] | None,
        *,
        reconstruction: bool = False,
    ) -> list[StreamScores]:
        """:meth:`fit` for sequences; returns each stream's raw scores (channel-normalised,
        not yet divided by the threshold, smoothed nor drift-adjusted)."""
        channels = streams[0].channels
        for s in streams[1:]:
            if s.named and streams[0].named and s.channels != channels:
                raise DataError(f"recordings have different channels: {channels} vs {s.channels}")
        self._check_lengths(streams)
        self.n_features_in_ = len(channels)
        if streams[0].named:
            self.feature_names_in_ = np.asarray(channels, dtype=object)
        weights = self._resolve_channel_weights(list(channels))
        center, scale = _fit_scaler(self.scaler, np.concatenate([s.values for s in streams]))
        scaled = [((s.values - center) / scale).astype(np.float32) for s in streams]
        train_parts, held_parts = self._split(scaled)
        # Held-out tails validate the training where they fit a frame; all of them calibrate.
        val_parts = [x for x in held_parts if len(x) >= self.frame]

        model, self.history_ = self._train_networks(
            (self.frame, len(channels)),
            WindowSet(train_parts, self.frame, self.step),
            WindowSet(val_parts, self.frame, self.step) if val_parts else None,
            callback,
        )
        self.model_ = model
        self.channels_ = list(channels)
        self.channel_weights_ = weights
        self.scaler_ = {
            "kind": self.scaler,
            "center": center.astype(np.float64).tolist(),
            "scale": scale.astype(np.float64).tolist(),
        }
        self.device_ = self.history_["device"]
        self._head = self._make_head(threshold=1.0)
        if isinstance(model, Ensemble):
            self._weigh_networks(model, streams, train_parts)
        return self._fit_scoring(streams, train_parts, reconstruction=reconstruction)

    def _fit_scoring(
        self,
        streams: list[Stream],
        train_parts: list[np.ndarray],
        *,
        reconstruction: bool = False,
    ) -> list[StreamScores]:
        """Fit the numbers scoring depends on from the network's scores of ``streams``: the
        channel normalisation (``channel_norm``), the alarm line, the drift base,
        ``train_scores_`` and ``training_summary_``. Rows past ``len(train_parts[i])`` of
        recording ``i`` are the held-out ones. ``_head`` must score raw errors (threshold 1,
        the channel weights before normalisation). Returns each stream's raw scores, as
        :meth:`_fit_streams` does."""
        scored = [self._score(s.values, reconstruction=reconstruction) for s in streams]
        contributions = np.concatenate([r.contributions for r in scored])
        held = np.concatenate(
            [np.arange(len(s.values)) >= len(t) for s, t in zip(streams, train_parts, strict=True)]
        )
        normal = held if held.any() else np.ones_like(held)  # unseen rows, else all of them
        if self.channel_norm:
            factors = self._normalise_channels(contributions[normal])
            spec = self._scoring_spec()
            for r in scored:  # the scores again from the normalised errors, as scoring gives
                r.contributions = r.contributions * factors
                r.scores = combine_channels(r.contributions, self.combine_power)
                centre(r, spec)
        raw = np.concatenate([r.scores for r in scored])  # each stream's, combined once
        # the lines are fitted on scores as detection sees them, each recording smoothed alone
        parts = np.split(raw, np.cumsum([len(s.values) for s in streams])[:-1])
        short = np.concatenate([smooth_scores(p, self.score_smoothing) for p in parts])
        self._set_fitted_threshold(short[~held], short[held])
        self.long_gain_ = 1.0
        raw = short
        if self.long_smoothing:
            # the long mean against its own line: scaled onto the short mean's
            long = np.concatenate([smooth_scores(p, self.long_smoothing) for p in parts])
            line = self._fitted_line(long[~held], long[held])
            if np.isfinite(line) and line > 0:
                self.long_gain_ = self.threshold_ / line
            raw = np.maximum(short, self.long_gain_ * long)
        self.rank_gain_ = 1.0
        if self._rank() > 1:  # the ranking stream against its own line, scaled onto the alarms'
            rank = np.concatenate([r.rank for r in scored])
            line = self._fitted_line(rank[~held], rank[held])
            if np.isfinite(line) and line > 0:
                self.rank_gain_ = self.threshold_ / line
        self.drift_base_ = float(np.median(raw[normal])) if self.drift_window else None
        if self.drift_base_ is not None and not self.drift_base_ > 0:
            self.drift_base_ = None  # a perfect fit of normal data: no level to follow
        self.stuck_window_ = self.stuck_window
        self.stuck_floor_ = (
            None
            if self.stuck_window is None
            else stuck_floor([s.values for s in streams], self.stuck_window).tolist()
        )
        self.train_scores_ = raw / self.threshold_
        self.training_summary_ = {
            "n_recordings": len(streams),
            "n_timesteps": int(sum(len(s.values) for s in streams)),
            "channel_mean": np.concatenate([s.values for s in streams]).mean(0).tolist(),
            "channel_std": np.concatenate([s.values for s in streams]).std(0).tolist(),
            "train_score_quantiles": {
                q: float(np.quantile(self.train_scores_, float(q)))
                for q in ("0.5", "0.9", "0.99", "0.999")
            },
        }
        return scored

    def _train_networks(
        self,
        shape: tuple[int, ...],
        data: Any,
        validation: Any,
        callback: Callable[[Any], None] | None,
    ) -> tuple[Autoencoder, dict[str, Any]]:
        """``n_networks`` networks trained one after the other, network ``i`` seeded
        ``random_state + i``: the network (or their Ensemble) and the first one's training
        history, with every network's under ``"networks"`` when there are several."""
        networks, histories = [], []
        for i in range(int(self.n_networks)):
            seed = self._network_seed(i)
            # Seed the weight initialisation too (the trainer seeds only its own loop),
            # without touching the caller's global RNG state.
            with torch.random.fork_rng(devices=[]):
                if seed is not None:
                    torch.manual_seed(seed)
                net = build_model(self.model, shape, self.model_params)
            config = self._train_config(seed)
            data_i, validation_i = self._network_windows(i, data, validation)
            histories.append(train(net, data_i, config, validation=validation_i, callback=callback))
            networks.append(net.eval())
        record = _training_record(histories)
        if len(networks) == 1:
            return networks[0], record
        return Ensemble(networks).to(histories[0].device), record

    def _check_lengths(self, streams: list[Stream]) -> None:
        """Refuse a training recording shorter than one frame."""
        for i, s in enumerate(streams):
            if len(s.values) < self.frame:
                raise DataError(
                    f"training recording {i} has {len(s.values)} timesteps (n_samples="
                    f"{len(s.values)}), fewer than one frame of {self.frame}: use a smaller frame "
                    "or more data"
                )

    def _network_windows(self, i: int, data: Any, validation: Any) -> tuple[Any, Any]:
        """The training and validation frames of network ``i``: ``network_frames[i]`` rows
        long where set (a fully convolutional network scores any length, so one trained on
        shorter frames scores the same ``frame`` as the others), else ``data`` as given."""
        f = self.frame if self.network_frames is None else int(self.network_frames[i])
        if f == self.frame:  # images never get here with frames: _fit_images refuses them
            return data, validation
        step = min(self.step, f)
        return WindowSet(data.streams, f, step), (
            None if validation is None else WindowSet(validation.streams, f, step)
        )

    def _network_seed(self, i: int) -> int | None:
        """The seed of network ``i`` (``random_state + i``), None without ``random_state``."""
        return None if self.random_state is None else int(self.random_state) + i

    def _weigh_networks(
        self, model: Ensemble, streams: list[Stream], train_parts: list[np.ndarray]
    ) -> None:
        """Weigh each network and channel as that network would normalise itself alone, on
        the held-out rows (all rows when none are held out): 1 / its mean error on the channel
        (with ``channel_norm``), then 1 / the median of its normalised score."""
        held = [s.values[len(t) :] for s, t in zip(streams, train_parts, strict=True)]
        held = [x for x in held if len(x) >= self.frame] or [s.values for s in streams]
        errors = _each_network_alone(
            model, lambda: np.concatenate([self._score(x).contributions for x in held])
        )
        _set_network_weights(model, errors, per_channel=self.channel_norm)

    def _resolve_channel_weights(self, channels: list[str]) -> list[float] | None:
        """``channel_weights`` as one weight per channel, averaging 1 (None: all equal)."""
        w = self.channel_weights
        if w is None:
            return None
        if isinstance(w, dict):
            unknown = [name for name in w if name not in channels]
            if unknown:
                raise ParameterError(
                    f"channel_weights names channels that are not in the data: {unknown}; "
                    f"the channels are {channels}"
                )
            w = [w.get(name, 1.0) for name in channels]
        arr = check_channel_weights(w, len(channels))
        return (arr / arr.mean()).tolist()

    def _normalise_channels(self, contributions: np.ndarray) -> np.ndarray:
        """Fold 1 / each channel's mean normal error into ``channel_weights_`` (mean 1).

        Returns the factor by which each channel's contributions change.
        """
        error = _channel_error(contributions)
        old = np.ones(len(error)) if self.channel_weights_ is None else self.channel_weights_
        new = np.asarray(old) / error
        new = new / new.mean()
        # Scores are linear in the weights: rescale what was scored instead of scoring again.
        self.channel_weights_ = new.tolist()
        self._head = self._make_head(threshold=1.0)
        return new / np.asarray(old)

    def _set_fitted_threshold(self, raw: np.ndarray, held: np.ndarray | None = None) -> None:
        """Fit ``threshold_`` on raw training scores and move the scoring head's line to it.

        ``held``: raw scores of held-out normal rows (see :meth:`_fitted_line`).
        """
        self.threshold_ = self._fitted_line(raw, held)
        if not np.isfinite(self.threshold_):
            raise DataError(
                f"the fitted threshold is {self.threshold_!r}: the training scores are not "
                "finite; check the data or pass threshold=<float>"
            )
        self._head.threshold.fill_(self.threshold_)

    def _fitted_line(self, raw: np.ndarray, held: np.ndarray | None = None) -> float:
        """The alarm line of raw training scores by the ``threshold`` rule.

        ``held``: raw scores of held-out normal rows; with ``calibration="holdout"`` the line
        rises by how much higher they run than the training scores (median ratio, >= 1).
        """
        fitted = (
            raw if held is None or self.calibration == "holdout" else np.concatenate([raw, held])
        )
        line = fit_threshold(
            fitted,
            self.threshold,
            contamination=self.contamination,
            k=self.sigma,
            risk=self.risk,
        )
        if (
            self.calibration == "holdout"
            and held is not None
            and len(held)
            and not is_number(self.threshold)
        ):
            base = float(np.median(raw))
            if base > 0:
                line *= max(1.0, float(np.median(held)) / base)
        if np.isfinite(line) and line <= 0:
            # The training rows were reconstructed exactly (a channel that never moved, a
            # closed-form model spanning the data): any error is new. The line sits on the
            # held-out rows' largest score, at least MIN_LINE (a thousandth of a standard
            # deviation, squared), so the first real change alarms instead of failing the fit.
            top = float(np.max(held)) if held is not None and len(held) else 0.0
            line = max(top, MIN_LINE)
        return float(line)

    def _fit_images(self, X: Any, callback: Callable[[Any], None] | None) -> Detector:
        """:meth:`fit` for images ``(N, H, W)`` or ``(N, C, H, W)``: no windows, a global scaler."""
        if self.network_frames is not None:
            raise ParameterError(
                "network_frames sets each network's frame length on streams; images have no "
                "frames: leave it None"
            )
        images = as_images(X)
        n, shape = len(images), images.shape[1:]
        channels = [f"channel_{i}" for i in range(shape[0])]
        weights = self._resolve_channel_weights(channels)
        center, scale = _fit_scaler(self.scaler, images.reshape(-1, 1))  # one global pair
        scaled = ((images - center[0]) / scale[0]).astype(np.float32)
        # Images have no time order: validate on a seeded random share.
        order = np.random.default_rng(self.random_state).permutation(n)
        n_train = max(1, round(n * (1 - self.validation_split)))
        train_idx, val_idx = np.sort(order[:n_train]), np.sort(order[n_train:])
        model, self.history_ = self._train_networks(
            shape, scaled[train_idx], scaled[val_idx] if len(val_idx) else None, callback
        )
        self.model_ = model
        self.image_shape_ = [int(d) for d in shape]
        self.channels_ = channels
        self.channel_weights_ = weights
        self.scaler_ = {
            "kind": self.scaler,
            "center": [float(center[0])] * shape[0],
            "scale": [float(scale[0])] * shape[0],
        }
        self.device_ = self.history_["device"]
        self._head = self._make_head(threshold=1.0)
        if isinstance(model, Ensemble):
            held = images[val_idx] if len(val_idx) else images
            errors = _each_network_alone(model, lambda: self._score_images(held)[0][:, None])
            _set_network_weights(model, errors, per_channel=False)
        raw = self._score_images(images)[0]
        self._set_fitted_threshold(raw)
        self.train_scores_ = raw / self.threshold_
        self.training_summary_ = {
            "n_images": n,
            "image_shape": self.image_shape_,
            "pixel_mean": float(images.mean()),
            "pixel_std": float(images.std()),
            "train_score_quantiles": {
                q: float(np.quantile(self.train_scores_, float(q)))
                for q in ("0.5", "0.9", "0.99", "0.999")
            },
        }
        return self

    def _images(self) -> bool:
        state = self.__dict__.get("_state")
        return state is not None and state.input_kind == "image"

    def _score_images(
        self, images: np.ndarray, *, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(scores (N,), pixel scores (N, H, W), reconstruction or None)`` of checked images."""
        device = self._device()

        def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            with torch.inference_mode():
                recon, pixel_error, _, _ = self._head(torch.from_numpy(batch).to(device))
                out = recon.float().cpu().numpy() if reconstruction else None
                return pixel_error.float().cpu().numpy(), out

        return score_image_batches(run, images)

    def _check_images(self, X: Any) -> np.ndarray:
        self._check_fitted()
        if not self._images():
            raise DataError(
                "this Detector was fitted on sequences; give a (T, C) stream, not images"
            )
        return as_images(X, shape=tuple(self.image_shape_))

    def _train_config(self, seed: int | None = None) -> TrainConfig:
        extra = dict(self.train_params or {})
        fixed = {
            "epochs",
            "batch_size",
            "learning_rate",
            "patience",
            "device",
            "random_state",
            "steps_per_epoch",
        }
        clash = sorted(fixed & set(extra))
        if clash:
            raise ParameterError(
                f"train_params may not set {clash}: they are Detector parameters of their own"
            )
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            validation_split=0.0,  # the Detector splits in time itself (see _split)
            patience=self.patience,
            device=self.device,
            random_state=self.random_state if seed is None else seed,
            steps_per_epoch=self.steps_per_epoch,
            **extra,
        )

    def _split(self, scaled: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Hold out the end of each recording (``validation_split``) where a frame is left.

        Returns the parts to train on and the held-out tails (possibly shorter than a frame;
        empty where the recording is too short to spare any).
        """
        train_parts, held_parts = [], []
        for x in scaled:
            cut = round(len(x) * (1 - self.validation_split))
            if self.validation_split == 0 or cut < self.frame or cut == len(x):
                cut = len(x)
            train_parts.append(x[:cut])
            held_parts.append(x[cut:])
        return train_parts, held_parts

    # ------------------------------------------------------------------ scoring
    @property
    def head_(self) -> ScoringHead:
        """The fitted torch scoring graph (scaling, the network, the errors, the threshold):
        what :meth:`export_onnx` exports and :attr:`scorer` runs.

        Raises
        ------
        NotFittedError
            The detector is not fitted (or loaded).
        """
        self._check_fitted()
        return self._head

    # ------------------------------------------------------------------ scoring
    def _make_head(self, threshold: float) -> ScoringHead:
        head = ScoringHead(
            self.model_,
            self.scaler_["center"],
            self.scaler_["scale"],
            threshold=threshold,
            channel_axis=1 if self._images() else -1,
            elbo=self.anomaly_score == "elbo",
            beta=self._score_beta(),
            channel_weights=self.channel_weights_,
        )
        return head.to(self._device()).eval()

    def _device(self) -> torch.device:
        return torch.device(self.device_)

    def _scoring_mode(self) -> str:
        if self._images():
            return "image"
        if self.scoring == "auto":
            return (
                "convolutional"
                if getattr(self.model_, "fully_convolutional", False)
                else "windowed"
            )
        if self.scoring == "convolutional" and not getattr(
            self.model_, "fully_convolutional", False
        ):
            raise ParameterError(
                f"scoring='convolutional' needs a fully convolutional model, not {self.model!r}"
            )
        return self.scoring

    # the StreamDetector surface: the network and the fitted numbers its loops need
    def _runner(self, reconstruction: bool = False) -> RunFn:
        run = head_runner(self._head, self._device(), reconstruction=reconstruction)
        return threaded(run, self.n_threads)

    def _scoring_spec(self) -> ScoringSpec:
        mode = self._scoring_mode()
        if mode == "convolutional":
            stride = int(self.model_.total_stride)
            return ScoringSpec(
                mode,
                self.frame,
                self.step,
                stride=stride,
                halo=convolutional_halo(self.model_),
                power=self.combine_power,
                centred=self._centred(),
                rank=self._rank(),
            )
        return ScoringSpec(
            mode,
            self.frame,
            self.step,
            self.fold,
            SCORING_BATCH,
            power=self.combine_power,
            centred=self._centred(),
            rank=self._rank(),
        )

    def _centred(self) -> int:
        """The centred mean's width (images: none; ``"auto"``: by the fitted channels)."""
        if self._images():
            return 1
        if isinstance(self.centred_smoothing, str):  # "auto", checked by _check_params
            return ONE_CHANNEL_CENTRED if len(self.channels_) == 1 else 1
        return int(self.centred_smoothing)

    def _rank(self) -> int:
        """The ranking stream's width (images: none; ``"auto"``: by the fitted channels)."""
        if self._images():
            return 1
        if isinstance(self.rank_smoothing, str):  # "auto", checked by _check_params
            return 1 if len(self.channels_) == 1 else SEVERAL_CHANNELS_RANK
        return int(self.rank_smoothing)

    @property
    def rank_smoothing_(self) -> int:
        """The ranking stream's width in use (``rank_smoothing`` with ``"auto"`` resolved)."""
        self._check_fitted()
        return self._rank()

    @property
    def centred_smoothing_(self) -> int:
        """The centred mean's width in use (``centred_smoothing`` with ``"auto"`` resolved)."""
        self._check_fitted()
        return self._centred()

    def _image_scores(
        self, X: Any, reconstruction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        return self._score_images(self._check_images(X), reconstruction=reconstruction)

    def _stream(self, X: Any) -> Stream:
        self._check_fitted()
        if self._images():
            raise DataError(
                "this Detector was fitted on images; give (N, H, W) or (N, C, H, W) images"
            )
        return stream_for_model(X, self.channels_, owner=type(self).__name__)

    def reconstruct(self, X: Any) -> np.ndarray:
        """The model's reconstruction of ``X`` in the data's units: a cleaned (denoised) signal.

        Images give ``(N, C, H, W)``; a stream gives ``(T, C)`` (overlapping frames folded).
        """
        if self._images():
            return self._score_images(self._check_images(X), reconstruction=True)[2]
        return self._score(self._stream(X).values, reconstruction=True).reconstruction

    def transform(self, X: Any) -> np.ndarray:
        """Latent codes (embeddings), one row per image or per frame, for any model.

        Returns
        -------
        ndarray of shape (n_samples, n_code)
            Images: one row per image. A stream: one row per frame (``frame`` timesteps every
            ``step``). Codes are flattened; a VAE gives its posterior mean; several
            networks (``n_networks``) give their codes side by side.
        """
        if self._images():
            samples: Any = self._check_images(X)
        else:
            values = self._stream(X).values
            if len(values) < self.frame:
                raise DataError(
                    f"the data has {len(values)} timesteps, fewer than one frame of {self.frame}"
                )
            samples = WindowSet([values], self.frame, self.step)
        center = np.asarray(self.scaler_["center"], dtype=np.float32)
        scale = np.asarray(self.scaler_["scale"], dtype=np.float32)
        if self._images():
            center, scale = center[:, None, None], scale[:, None, None]
        device, codes = self._device(), []
        with torch.inference_mode():
            for start in range(0, len(samples), 1024):
                idx = np.arange(start, min(start + 1024, len(samples)))
                batch = (np.asarray(samples[idx], dtype=np.float32) - center) / scale
                z = self.model_.encode(torch.from_numpy(batch).to(device))
                codes.append(z.flatten(1).float().cpu().numpy())
        return np.concatenate(codes)

    def set_threshold(self, value: float, *, relative: bool = False) -> Detector:
        """Move the alarm line; scores stay normalised, so 1.0 is the new line.

        Parameters
        ----------
        value : float
            The new raw threshold (reconstruction error), or with ``relative=True`` the new
            line in today's score units (``2.0`` doubles it, ``0.5`` halves it).
        relative : bool, default False

        Returns
        -------
        self
        """
        self._check_fitted()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ParameterError(f"threshold must be a positive number, got {value!r}")
        if not np.isfinite(value) or value <= 0:
            raise ParameterError(f"threshold must be a positive, finite number, got {value!r}")
        new = float(value) * (self.threshold_ if relative else 1.0)
        if len(self.train_scores_):
            self.train_scores_ = self.train_scores_ * self.threshold_ / new
        self.threshold_ = new
        self._head.threshold.fill_(new)
        return self

    def calibrate(self, X: Any, y: Any) -> Detector:
        """Set the threshold that maximises point F1 on labelled data ``(X, y)``; returns self."""
        scorer = self.scorer
        # what the alarms compare: the whole drift adjustment and no ranking stream under the line
        alarms = Scorer(
            dataclasses.replace(scorer.state, drift_rank_power=1.0, rank_smoothing=1),
            scorer.runner,
            dataclasses.replace(scorer.spec, rank=1),
            scorer.image_scores_fn,
        )
        scores = self._scores_by(alarms, X)
        y = np.asarray(y)
        if y.shape != scores.shape:
            raise DataError(
                f"y has shape {y.shape}, expected one label per timestep {scores.shape}"
            )
        best, _ = best_f1_threshold(scores * self.threshold_, y)
        return self.set_threshold(float(best))

    # ------------------------------------------------------------------ persistence
    @property
    def state_(self) -> FittedState:
        """The fitted state (everything but the weights) that model files carry.

        Raises
        ------
        NotFittedError
            The detector has not been fitted (or loaded) yet.
        """
        self._check_fitted()
        state = self._scoring_state()  # the parameters are read now: they may be set after fit
        fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
        fields.update(
            # n_threads belongs to the machine that runs the model, not to the model
            params={k: v for k, v in self.get_params().items() if k != "n_threads"},
            seqae_version=__version__,
            torch_version=torch.__version__,
            numpy_version=np.__version__,
            python_version=platform.python_version(),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        return FittedState(**json_ready(fields))

    def _scoring_state(self) -> FittedState:
        """The fitted state with the scoring numbers the parameters say now: what
        :attr:`state_` holds for scoring, without its record of the parameters and versions
        (the scorer is built at every call: it must be cheap)."""
        drifting = (
            self._state.drift_base is not None and bool(self.drift_window) and not self._images()
        )
        return dataclasses.replace(
            self._state,
            model=self.model_.name,
            model_spec=self.model_.get_spec(),
            frame=self.frame,
            step=self.step,
            fold=self.fold,
            scoring=self._scoring_mode(),
            anomaly_score=self.anomaly_score,
            beta=self._score_beta() if self.anomaly_score == "elbo" else None,
            drift_window=self.drift_window if drifting else None,
            drift_rank_power=float(self.drift_rank_power),
            score_smoothing=self.score_smoothing,
            long_smoothing=self.long_smoothing,
            centred_smoothing=self._centred(),
            rank_smoothing=self._rank(),
            combine_power=float(self.combine_power),
            min_event_length=self.min_event_length,
            merge_gap=self.merge_gap,
        )

    def to_config(self) -> dict[str, Any]:
        """Everything needed to rebuild this fitted detector but the weights, as JSON-ready
        data: ``state_.to_dict()`` (see :class:`seqae.files.state.FittedState`)."""
        return self.state_.to_dict()

    def save(self, path: str | os.PathLike) -> None:
        """Save to a folder (config.json + weights.safetensors) or one ``.safetensors`` file.

        The write is atomic; nothing is pickled.

        Raises
        ------
        NotFittedError
            The detector has not been fitted (or loaded) yet.
        """
        self._check_fitted()
        tensors = {k: v.detach().cpu().numpy() for k, v in self.model_.state_dict().items()}
        save_model_files(path, self.to_config(), tensors)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = "cpu") -> Detector:
        """Load a detector saved with :meth:`save` (never unpickles).

        Files of older seqae versions load too (:func:`seqae.files.state.upgrade`).

        Raises
        ------
        ModelFormatError
            The file is missing, corrupted, tampered with, or from a newer format.
        """
        config, tensors = load_model_files(path)
        state = FittedState.from_dict(config, str(path))
        try:
            det = cls(**{**state.params, "device": device})
            spec = state.model_spec
            model = build_model(
                spec["name"],
                tuple(spec["input_shape"]),
                spec["config"],
                networks=spec.get("networks", 1),
            )
            weights = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}
            for name, value in weights.items():  # closed-form models size buffers at fit time
                if name in dict(model.named_buffers()):
                    model.get_buffer(name).resize_(value.shape)
            _check_shapes(model, weights, path, spec["config"])
            model.load_state_dict(weights, strict=True)
            model.to(select_device(device)).eval()
            det._check_anomaly_score()
        except (KeyError, TypeError, ValueError, RuntimeError, ParameterError) as exc:
            raise ModelFormatError(f"{path}: the model configuration is invalid ({exc})") from None
        det.model_ = model
        det._state = state  # the fitted numbers, as the file carries them
        det.drift_window = state.drift_window  # the parameters scoring reads, as fitted
        det.drift_rank_power = state.drift_rank_power
        det.score_smoothing = state.score_smoothing
        det.long_smoothing = state.long_smoothing
        det.centred_smoothing = state.centred_smoothing
        det.rank_smoothing = state.rank_smoothing
        det.combine_power = state.combine_power
        det.stuck_window = state.stuck_window
        if state.input_kind == "sequence":
            det.n_features_in_ = len(state.channels)
        det.device_ = str(select_device(device))
        det._head = det._make_head(det.threshold_)
        det.train_scores_ = np.array([])
        return det

    def export_onnx(self, path: str | os.PathLike, **kwargs: Any) -> Any:
        """Export to one self-contained ONNX file; see :func:`seqae.files.export.export_onnx`."""
        from .files.export import export_onnx

        return export_onnx(self, path, **kwargs)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")


def _channel_error(contributions: np.ndarray) -> np.ndarray:
    """Each channel's mean error, floored at a tenth of the median channel's (and 1 for a
    channel without any), the divisor of channel normalisation."""
    error = contributions.mean(axis=0)
    error = np.maximum(error, _NORM_FLOOR * np.median(error))
    return np.where(error > 0, error, 1.0)


def _training_record(histories: list[History]) -> dict[str, Any]:
    """The first network's training history as a dict, with every network's under
    ``"networks"`` when there are several."""
    record = histories[0].to_dict()
    if len(histories) > 1:
        record["networks"] = [h.to_dict() for h in histories]
    return record


def _add_summaries(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new``'s training summary counting the data of ``old``'s too: the timesteps and
    recordings added, the channel means and spreads pooled. A count ``old`` lacks (a file of
    an older seqae) is left as ``new`` has it."""
    merged = dict(new)
    for name in ("n_recordings", "n_timesteps"):
        if is_number(old.get(name)):
            merged[name] = int(old[name]) + int(new[name])
    n_old, n_new = old.get("n_timesteps"), new["n_timesteps"]
    parts = [old.get("channel_mean"), old.get("channel_std")]
    if is_number(n_old) and all(
        isinstance(p, list) and len(p) == len(new["channel_mean"]) for p in parts
    ):
        w = n_old / (n_old + n_new)
        mean_old, std_old = np.asarray(parts[0], float), np.asarray(parts[1], float)
        mean_new, std_new = np.asarray(new["channel_mean"]), np.asarray(new["channel_std"])
        mean = w * mean_old + (1 - w) * mean_new
        second = w * (std_old**2 + mean_old**2) + (1 - w) * (std_new**2 + mean_new**2)
        merged["channel_mean"] = mean.tolist()
        merged["channel_std"] = np.sqrt(np.maximum(second - mean**2, 0.0)).tolist()
    return merged


def _each_network_alone(model: Ensemble, score: Callable[[], np.ndarray]) -> list[np.ndarray]:
    """``score()`` with each network of ``model`` alone (its weights 1, the others' 0); the
    weights are left for :func:`_set_network_weights` to set."""
    errors = []
    for i in range(model.n_networks):
        model.member_weights.zero_()[i] = 1.0
        errors.append(score())
    return errors


def _set_network_weights(model: Ensemble, errors: list[np.ndarray], per_channel: bool) -> None:
    """``member_weights`` from each network's normal errors ``(rows, channels or 1)``: 1 / the
    channel's mean error (``per_channel``), then 1 / the median of the network's score so
    weighted; scaled so that each channel's weights average 1 / the number of networks."""
    rows = []
    n_channels = model.member_weights.shape[1]
    for error in errors:
        factors = 1.0 / _channel_error(error) if per_channel else np.ones(error.shape[1])
        median = float(np.median((error * factors).sum(axis=1)))
        rows.append(np.broadcast_to(factors / max(median, 1e-30), (n_channels,)))
    weights = np.asarray(rows)
    weights = weights / weights.sum(axis=0).mean()
    model.member_weights.copy_(torch.as_tensor(weights))


def _fit_scaler(kind: str | None, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel center and scale (a zero spread becomes 1, so constant channels pass)."""
    values = values.astype(np.float64)
    if kind is None:
        return np.zeros(values.shape[1]), np.ones(values.shape[1])
    if kind == "standard":
        center, spread = values.mean(axis=0), values.std(axis=0)
    elif kind == "minmax":  # to [0, 1]: for sigmoid outputs and the BCE loss
        center, spread = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
    else:
        q25, center, q75 = np.percentile(values, [25, 50, 75], axis=0)
        spread = q75 - q25
    spread = np.where(spread > 1e-12 * np.maximum(1.0, np.abs(center)), spread, 1.0)
    return center, spread


def _check_shapes(
    model: torch.nn.Module, weights: dict[str, torch.Tensor], path: Any, config: Any
) -> None:
    """One line naming the first weight whose shape the config's layer sizes do not give
    (rather than torch's dump of every mismatched tensor)."""
    for name, own in model.state_dict().items():
        value = weights.get(name)
        if value is not None and tuple(own.shape) != tuple(value.shape):
            raise ModelFormatError(
                f"{path}: config.json does not match the weights: {name} is "
                f"{tuple(value.shape)} in the weights file but {tuple(own.shape)} "
                f"by config.json's model_spec.config {json_ready(config)}"
            )
