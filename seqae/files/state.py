"""The fitted state a model file carries: one schema for saved models and ONNX exports.

A saved model (``config.json`` / the ``.safetensors`` header, read by
:meth:`seqae.Detector.load`), an exported ``.onnx`` file (its ``seqae.*`` metadata, read by
:class:`seqae.files.runtime.OnnxDetector`) and ``seqae info`` all read and write one
:class:`FittedState`: the channels, frame, step, scaler numbers, threshold, channel weights,
fold and event rules, score smoothing, drift line, network spec, training record and versions.
The containers add only what belongs to them: the saved format's marker and weights checksum;
the ONNX file's marker, checksum and facts about its graph (``opset``, ``dynamic_length``,
``quantized``, the convolutional ``total_stride`` / ``halo`` / ``chunk``).

A file can be edited or written by a buggy tool, so :meth:`FittedState.from_dict` holds every
field to its type and range, to the other fields and to the network spec, and refuses a file
that lies with a :class:`~seqae.errors.ModelFormatError` naming the field and the file. Fields
it does not know are left alone (newer seqae versions may add some). Older layouts are brought
to the current one by :func:`upgrade`, in one place.

Pure Python and numpy only: the ONNX runtime uses it without torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from ..scoring.common import is_number

__all__ = ["STATE_VERSION", "FittedState", "check_fitted_state", "check_version", "upgrade"]

#: Version of the fitted-state layout, written as ``format_version`` by both containers.
#: 1: seqae 0.1 (files up to 2026-12-02), two layouts (see :func:`upgrade`). 2: one layout.
STATE_VERSION = 2

_FOLDS = ("mean", "max", "median")
_KINDS = ("sequence", "image")
_ANOMALY_SCORES = ("reconstruction", "elbo")

#: The ONNX metadata of version 1 merged these training-record numbers into its
#: ``training_summary`` (name there -> name in ``history``); version 2 carries ``history``.
_V1_ONNX_HISTORY = {
    "best_epoch": "best_epoch",
    "best_loss": "best_loss",
    "stopped_early": "stopped_early",
    "n_train_frames": "n_train",
    "n_val_frames": "n_val",
    "train_seconds": "seconds",
    "device": "device",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(where: str, name: str, expected: str, value: Any) -> ModelFormatError:
    shown = repr(value)
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    return ModelFormatError(
        f"{where}: field {name!r} {expected}, got {shown}; the model file was edited or "
        "damaged: re-save or re-export the model"
    )


def json_ready(value: Any) -> Any:
    """A strict-JSON copy: numpy scalars become Python numbers, tuples lists, and non-finite
    floats None (strict JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class FittedState:
    """Everything a fitted detector knows except its weights: what model files carry.

    Built by :attr:`seqae.Detector.state_`, written by :meth:`to_dict` into a saved model's
    configuration and an ONNX file's metadata, read back (checked, older layouts upgraded) by
    :meth:`from_dict`.

    Attributes
    ----------
    model : str
        The model family (``"conv1d"``, ...).
    model_spec : dict
        The network's ``{"name", "input_shape", "config"}``, plus ``"networks"`` for an
        ensemble of more than one: it is rebuilt from this.
    input_kind : {"sequence", "image"}
    channels : list of str
        Channel names, in the order the network takes them.
    frame, step : int
        Timesteps per frame and between frame starts.
    image_shape : list of int or None
        ``[channels, height, width]`` of an image model, else None.
    scaler : dict
        ``{"kind", "center", "scale"}``, one center and scale per channel.
    threshold : float
        Raw error at the alarm line (score 1.0).
    fold : {"mean", "max", "median"}
        How overlapping frames combine (windowed scoring).
    scoring : {"windowed", "convolutional", "image"}
    anomaly_score : {"reconstruction", "elbo"}
    beta : float or None
        KL weight of ELBO scores (None for reconstruction scores).
    channel_weights : list of float or None
    drift_window : int or None
    drift_base : float or None
        The drift-aware line (:mod:`seqae.scoring.baseline`): both set, or both None.
    drift_rank_power : float
        How much of the drift adjustment a score under the line keeps, as a power of its
        factor (:meth:`seqae.scoring.baseline.DriftBaseline.under_line`; 1: all of it).
    score_smoothing : int
        Raw scores averaged into each score (trailing mean) before the drift line; 1: none.
    long_smoothing : int or None
        Rows of a second, longer trailing mean; each score is the larger of the short mean and
        ``long_gain`` times the long one (:class:`seqae.scoring.baseline.ScoreSmoother`);
        None: the short mean alone.
    long_gain : float
        The long mean's factor: the short mean's alarm line over the long mean's (> 0).
    centred_smoothing : int
        Width of the centred triangular mean of the network's scores, before the trailing
        means (:func:`seqae.scoring.baseline.centred_mean`); 1: none.
    rank_smoothing : int
        Width of the centred mean of the network's scores that ranks the rows under the
        line (:func:`seqae.scoring.baseline.lift_under_line`); 1: none.
    rank_gain : float
        The ranking stream's factor: the alarm line over its own line (> 0).
    combine_power : float
        How each timestep's channel errors combine into its score
        (:func:`seqae.scoring.core.combine_channels`; 1: their sum).
    stuck_window : int or None
    stuck_floor : list of float or None
        The stuck-channel check (:class:`seqae.scoring.baseline.StuckCheck`): both set, or
        both None.
    min_event_length, merge_gap : int
        The event rules.
    params : dict
        The constructor parameters of the :class:`~seqae.Detector`.
    history, training_summary : dict
        The training record and a summary of the training data.
    seqae_version, torch_version, numpy_version, python_version, created : str or None
        Where and when the state was written.

    Examples
    --------
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=600, n_channels=2, random_state=0)
    >>> state = Detector("dense", frame=16, epochs=1, random_state=0).fit(stream.values).state_
    >>> again = FittedState.from_dict(state.to_dict(), "example")
    >>> again == state, again.channels, again.frame
    (True, ['channel_0', 'channel_1'], 16)
    """

    model: str
    model_spec: dict[str, Any]
    input_kind: str
    channels: list[str]
    frame: int
    step: int
    image_shape: list[int] | None
    scaler: dict[str, Any]
    threshold: float
    fold: str
    scoring: str
    anomaly_score: str
    beta: float | None
    channel_weights: list[float] | None
    drift_window: int | None
    drift_base: float | None
    drift_rank_power: float
    score_smoothing: int
    long_smoothing: int | None
    long_gain: float
    centred_smoothing: int
    rank_smoothing: int
    rank_gain: float
    combine_power: float
    stuck_window: int | None
    stuck_floor: list[float] | None
    min_event_length: int
    merge_gap: int
    params: dict[str, Any]
    history: dict[str, Any]
    training_summary: dict[str, Any]
    seqae_version: str | None
    torch_version: str | None
    numpy_version: str | None
    python_version: str | None
    created: str | None

    @classmethod
    def for_scoring(
        cls,
        channels: list[str],
        *,
        threshold: float,
        frame: int,
        step: int,
        model: str = "custom",
        **fields: Any,
    ) -> FittedState:
        """A state with what scoring reads and defaults for the rest (no event rules, drift
        line, smoothing nor channel weights; no scaling): for a detector built on another
        source of reconstruction errors.

        Examples
        --------
        >>> FittedState.for_scoring(["a", "b"], threshold=2.0, frame=8, step=1).merge_gap
        0
        """
        n = len(channels)
        values: dict[str, Any] = {
            "model": model,
            "model_spec": {"name": model, "input_shape": [frame, n], "config": {}},
            "input_kind": "sequence",
            "channels": list(channels),
            "frame": frame,
            "step": step,
            "image_shape": None,
            "scaler": {"kind": None, "center": [0.0] * n, "scale": [1.0] * n},
            "threshold": float(threshold),
            "fold": "mean",
            "scoring": "windowed",
            "anomaly_score": "reconstruction",
            "beta": None,
            "channel_weights": None,
            "drift_window": None,
            "drift_base": None,
            "drift_rank_power": 1.0,
            "score_smoothing": 1,
            "long_smoothing": None,
            "long_gain": 1.0,
            "centred_smoothing": 1,
            "rank_smoothing": 1,
            "rank_gain": 1.0,
            "combine_power": 1.0,
            "stuck_window": None,
            "stuck_floor": None,
            "min_event_length": 1,
            "merge_gap": 0,
            "params": {},
            "history": {},
            "training_summary": {},
            "seqae_version": None,
            "torch_version": None,
            "numpy_version": None,
            "python_version": None,
            "created": None,
        }
        values.update(fields)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The state as strict-JSON data, with ``format_version`` first."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return json_ready({"format_version": STATE_VERSION, **fields})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> FittedState:
        """Read a state written by this or an older seqae: version check, upgrade, validation.

        Parameters
        ----------
        data : mapping
            A saved model's configuration or an ONNX file's decoded metadata; keys of the
            container and keys this seqae does not know are ignored.
        where : str
            The file, named in every message.

        Raises
        ------
        ModelFormatError
            A newer format, a missing field, or a field that contradicts its type, the other
            fields or the network spec (``"<where>: field 'threshold' must be a finite number >
            0, got -1; ..."``).
        """
        check_version(data, where)
        data = upgrade(data)
        for f in dataclasses.fields(cls):
            if f.name not in data:
                raise ModelFormatError(
                    f"{where}: field {f.name!r} is missing; the model file was edited or "
                    "damaged: re-save or re-export the model"
                )
        _check_spec(data, where)
        _check_rules(data, where)
        spec_shape = data["model_spec"]["input_shape"]
        image = data["input_kind"] == "image"
        check_fitted_state(
            data,
            where,
            n_inputs=spec_shape[0] if image else spec_shape[-1],
            model_frame=None if image or len(spec_shape) != 2 else spec_shape[0],
        )
        values = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        values["threshold"] = float(values["threshold"])
        return cls(**values)


def check_version(data: Mapping[str, Any], where: str) -> None:
    """Refuse a state without an integer ``format_version``, or one newer than this seqae reads.

    Examples
    --------
    >>> check_version({"format_version": STATE_VERSION}, "m.onnx")  # readable: no error
    >>> check_version({"format_version": 99}, "m.onnx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seqae.errors.ModelFormatError: m.onnx: written with model format 99, this seqae reads up to 2...
    """
    version = data.get("format_version")
    if not _is_int(version) or version < 1:
        raise ModelFormatError(f"{where}: the model has no valid format_version ({version!r})")
    if version > STATE_VERSION:
        raise ModelFormatError(
            f"{where}: written with model format {version}, this seqae reads up to "
            f"{STATE_VERSION}; upgrade seqae (the file says seqae {data.get('seqae_version')})"
        )


def upgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """Bring a state written by an older seqae to the current layout (a new dict).

    Version 1 (seqae 0.1, files up to 2026-12-02) had two layouts, told apart by ``model``:

    - a saved model's configuration: ``model`` was the network spec (now ``model_spec``,
      with the family name in ``model``); the event rules were only in ``params``;
    - an ONNX file's metadata: ``kind`` was the input kind (now ``input_kind``); ``history``
      was not carried, its summary numbers were merged into ``training_summary`` (now they
      are moved back into ``history``, whose per-epoch losses are known for the last epoch
      only).

    Files written before seqae 0.2 lack the drift line, channel weights and ELBO fields:
    they score as they always did (no drift line, equal weights, reconstruction error).
    Files of either version without ``score_smoothing`` did not smooth: it becomes 1 (in
    ``params`` too, as the current :class:`~seqae.Detector` records it). Files whose
    ``params`` lack ``n_networks`` hold one network: it becomes 1; without
    ``network_frames`` every network trained on ``frame``: None.
    Files without ``combine_power`` summed the channel errors and had no stuck check: 1 and
    None (in ``params`` too). Files without ``long_smoothing`` had one trailing mean: None;
    without ``long_gain``, the long mean was not scaled: 1. Files without
    ``centred_smoothing`` had no centred mean: 1 (in ``params`` too). Files without
    ``drift_rank_power`` adjusted every score by the whole drift factor: 1 (in ``params`` too).
    Files without ``rank_smoothing`` had no ranking stream: 1 and a gain of 1 (in ``params``
    too).
    ``format_version`` is assumed checked (:func:`check_version`).
    """
    data = dict(data)
    if data["format_version"] == 1:
        spec = data.get("model")
        if isinstance(spec, Mapping):  # a saved configuration
            data["model_spec"] = spec
            data["model"] = spec.get("name")
        else:  # ONNX metadata
            data["input_kind"] = data.pop("kind", None)
            data["training_summary"] = summary = dict(data.get("training_summary") or {})
            history = {new: summary.pop(old, None) for old, new in _V1_ONNX_HISTORY.items()}
            epochs_run = summary.pop("epochs_run", None) or 0
            last = {
                "train_loss": summary.pop("final_train_loss", None),
                "val_loss": summary.pop("final_val_loss", None),
            }
            early = [{"train_loss": None, "val_loss": None}] * (epochs_run - 1)
            history["epochs"] = [*early, last] if epochs_run else []
            data["history"] = history
        params = data.get("params")
        params = params if isinstance(params, Mapping) else {}
        for name in ("min_event_length", "merge_gap"):
            data.setdefault(name, params.get(name))
        defaults = {
            "input_kind": "sequence",
            "image_shape": None,
            "anomaly_score": "reconstruction",
            "beta": None,
            "channel_weights": None,
            "drift_window": None,
            "drift_base": None,
            "history": {},
            "training_summary": {},
            "torch_version": None,
            "numpy_version": None,
            "python_version": None,
            "created": None,
        }
        for name, value in defaults.items():
            data.setdefault(name, value)
        data["format_version"] = 2
    if "score_smoothing" not in data:  # written before the smoothing: it did not smooth
        data["score_smoothing"] = 1
        if isinstance(data.get("params"), Mapping):
            data["params"] = {**data["params"], "score_smoothing": 1}
    params = data.get("params")
    if isinstance(params, Mapping):  # before ensembles: one network; before round 23: one frame
        data["params"] = {"n_networks": 1, "network_frames": None, **params}
    if "combine_power" not in data:  # before issue 24: channel errors summed, no stuck check
        data["combine_power"] = 1.0
        data.setdefault("stuck_window", None)
        data.setdefault("stuck_floor", None)
        params = data.get("params")
        if isinstance(params, Mapping):  # as the current Detector records them
            data["params"] = {"combine_power": 1.0, "stuck_window": None, **params}
    data.setdefault("long_gain", 1.0)  # before round 13: the long mean unscaled
    if "long_smoothing" not in data:  # before round 12: one trailing mean
        data["long_smoothing"] = None
        if isinstance(data.get("params"), Mapping):
            data["params"] = {"long_smoothing": None, **data["params"]}
    if "centred_smoothing" not in data:  # before round 16: no centred mean
        data["centred_smoothing"] = 1
        if isinstance(data.get("params"), Mapping):
            data["params"] = {"centred_smoothing": 1, **data["params"]}
    if "drift_rank_power" not in data:  # before round 18: the whole factor under the line too
        data["drift_rank_power"] = 1.0
        if isinstance(data.get("params"), Mapping):
            data["params"] = {"drift_rank_power": 1.0, **data["params"]}
    if "rank_smoothing" not in data:  # before round 19: no ranking stream
        data["rank_smoothing"] = 1
        data.setdefault("rank_gain", 1.0)
        if isinstance(data.get("params"), Mapping):
            data["params"] = {"rank_smoothing": 1, **data["params"]}
    return data


def _check_spec(data: Mapping[str, Any], where: str) -> None:
    """The network spec: ``{"name": <model>, "input_shape": [ints > 0], "config": {...}}``."""
    model, spec = data["model"], data["model_spec"]
    if not isinstance(model, str) or not model:
        raise _bad(where, "model", "must be the model family's name", model)
    if not isinstance(spec, Mapping):
        raise _bad(where, "model_spec", "must be an object", spec)
    if spec.get("name") != model:
        raise _bad(where, "model_spec.name", f"must equal 'model' ({model!r})", spec.get("name"))
    shape = spec.get("input_shape")
    if not isinstance(shape, list) or not shape or not all(_is_int(d) and d > 0 for d in shape):
        raise _bad(where, "model_spec.input_shape", "must be a list of integers > 0", shape)
    if not isinstance(spec.get("config"), Mapping):
        raise _bad(where, "model_spec.config", "must be an object", spec.get("config"))
    networks = spec.get("networks", 1)
    if not _is_int(networks) or networks < 1:
        raise _bad(where, "model_spec.networks", "must be an integer >= 1", networks)
    for name in ("params", "history", "training_summary"):
        if not isinstance(data[name], Mapping):
            raise _bad(where, name, "must be an object", data[name])
    for name in ("seqae_version", "torch_version", "numpy_version", "python_version", "created"):
        if data[name] is not None and not isinstance(data[name], str):
            raise _bad(where, name, "must be null or text", data[name])


def _check_rules(data: Mapping[str, Any], where: str) -> None:
    """Input kind, scoring path, fold, score kind and event rules: known values that agree."""
    kind, scoring = data["input_kind"], data["scoring"]
    if kind not in _KINDS:
        raise _bad(where, "input_kind", f"must be one of {_KINDS}", kind)
    if kind == "image":
        shape, spec_shape = data["image_shape"], data["model_spec"]["input_shape"]
        if shape != spec_shape or len(shape) != 3:
            raise _bad(
                where,
                "image_shape",
                f"must be [channels, height, width] as the network takes ({spec_shape})",
                shape,
            )
        if scoring != "image":
            raise _bad(where, "scoring", "must be 'image' for an image model", scoring)
    elif scoring not in ("windowed", "convolutional"):
        raise _bad(where, "scoring", "must be 'windowed' or 'convolutional'", scoring)
    if data["fold"] not in _FOLDS:
        raise _bad(where, "fold", f"must be one of {_FOLDS}", data["fold"])
    score, beta = data["anomaly_score"], data["beta"]
    if score not in _ANOMALY_SCORES:
        raise _bad(where, "anomaly_score", f"must be one of {_ANOMALY_SCORES}", score)
    if score == "elbo" and (not is_number(beta) or not math.isfinite(beta) or beta < 0):
        raise _bad(where, "beta", "must be a finite number >= 0 for ELBO scores", beta)
    for name, low in (
        ("min_event_length", 1),
        ("merge_gap", 0),
        ("score_smoothing", 1),
        ("centred_smoothing", 1),
        ("rank_smoothing", 1),
    ):
        value = data[name]
        if not _is_int(value) or value < low:
            raise _bad(where, name, f"must be an integer >= {low}", value)
    params = data["params"]
    long = data["long_smoothing"]
    if long is not None and (not _is_int(long) or long < 1):
        raise _bad(where, "long_smoothing", "must be an integer >= 1 or null", long)
    for name in ("long_gain", "rank_gain"):
        gain = data[name]
        if not is_number(gain) or not 0 < gain < math.inf:
            raise _bad(where, name, "must be a finite number > 0", gain)
    rank = data["drift_rank_power"]
    if not is_number(rank) or not 0 <= rank <= 1:
        raise _bad(where, "drift_rank_power", "must be a number in [0, 1]", rank)
    for name in (
        "min_event_length",
        "merge_gap",
        "score_smoothing",
        "long_smoothing",
        "centred_smoothing",
        "rank_smoothing",
        "drift_rank_power",
        "fold",
        "anomaly_score",
    ):
        if name in ("centred_smoothing", "rank_smoothing") and (
            params.get(name) == "auto" or kind == "image"
        ):
            continue  # resolved at fit time by the channels (images: 1, no stream to smooth)
        if name in params and params[name] != data[name]:
            raise _bad(where, name, f"must equal params.{name} ({params[name]!r})", data[name])
    power = data["combine_power"]
    if not is_number(power) or not 1 <= power < math.inf:
        raise _bad(where, "combine_power", "must be a finite number >= 1", power)


def check_fitted_state(
    state: Mapping[str, Any],
    where: str,
    *,
    n_inputs: int | None = None,
    model_frame: int | None = None,
) -> None:
    """Refuse fitted-state numbers that contradict their types, each other or the weights.

    Parameters
    ----------
    state : mapping
        The fields of a state (:meth:`FittedState.to_dict`): ``channels``, ``threshold``,
        ``scaler`` (``center``, ``scale``), ``frame``, ``step``, optional ``channel_weights``,
        ``stuck_window`` / ``stuck_floor``,
        ``drift_base`` / ``drift_window``, ``params`` (the constructor parameters; their
        ``frame`` / ``step`` must agree with the top-level ones), ``input_kind`` (``"image"``
        skips the frame checks).
    where : str
        The file, named in every message.
    n_inputs : int, optional
        The number of channels the weights take, when the caller knows it.
    model_frame : int, optional
        The frame the network was built for (windowed models), when the caller knows it.

    Raises
    ------
    ModelFormatError
        ``"<where>: field 'threshold' must be a finite number > 0, got -1"`` and the like.
    """

    def bad(name: str, expected: str, value: Any) -> ModelFormatError:
        return _bad(where, name, expected, value)

    channels = state.get("channels")
    if not isinstance(channels, list) or not channels:
        raise bad("channels", "must be a non-empty list of names", channels)
    if not all(isinstance(c, str) and c for c in channels):
        raise bad("channels", "must hold non-empty text names", channels)
    twice = sorted({c for c in channels if channels.count(c) > 1})
    if twice:
        raise bad("channels", f"must name each channel once ({twice[0]!r} twice)", channels)
    n = len(channels)
    if n_inputs is not None and n != n_inputs:
        raise bad("channels", f"must hold {n_inputs} names (the weights take {n_inputs})", channels)

    threshold = state.get("threshold")
    if not is_number(threshold) or not math.isfinite(threshold) or threshold <= 0:
        raise bad("threshold", "must be a finite number > 0", threshold)

    scaler = state.get("scaler")
    if not isinstance(scaler, Mapping):
        raise bad("scaler", "must be an object with 'center' and 'scale'", scaler)
    for part in ("center", "scale"):
        values = scaler.get(part)
        name = f"scaler.{part}"
        if not isinstance(values, list) or len(values) != n:
            raise bad(name, f"must hold {n} numbers (one per channel)", values)
        if not all(is_number(v) and math.isfinite(v) for v in values):
            raise bad(name, "must hold finite numbers", values)
        if part == "scale" and not all(v > 0 for v in values):
            raise bad(name, "must hold numbers > 0", values)

    weights = state.get("channel_weights")
    if weights is not None:
        if not isinstance(weights, list) or len(weights) != n:
            raise bad("channel_weights", f"must be null or {n} numbers (one per channel)", weights)
        if not all(is_number(w) and math.isfinite(w) and w >= 0 for w in weights):
            raise bad("channel_weights", "must hold finite numbers >= 0", weights)

    # The stuck-sensor check (seqae.scoring.baseline.StuckCheck): both fields or neither.
    window, floor = state.get("stuck_window"), state.get("stuck_floor")
    if (window is None) != (floor is None):
        raise bad("stuck_window", "and stuck_floor must both be set, or both null", window)
    if window is not None:
        if not _is_int(window) or window < 2:
            raise bad("stuck_window", "must be an integer >= 2", window)
        if (
            not isinstance(floor, list)
            or len(floor) != n
            or not all(is_number(f) and math.isfinite(f) and f >= 0 for f in floor)
        ):
            raise bad("stuck_floor", f"must be {n} finite numbers >= 0", floor)

    # The drift-aware line (seqae.scoring.baseline): both fields or neither (files before 0.2
    # lack both).
    base, window = state.get("drift_base"), state.get("drift_window")
    if (base is None) != (window is None):
        raise bad("drift_window", "and 'drift_base' must be both null or both set", window)
    if base is not None:
        if not is_number(base) or not math.isfinite(base) or base <= 0:
            raise bad("drift_base", "must be null or a finite number > 0", base)
        if not _is_int(window) or window < 16:
            raise bad("drift_window", "must be null or an integer >= 16", window)

    if state.get("input_kind") == "image":
        return
    frame, step = state.get("frame"), state.get("step")
    if not _is_int(frame) or frame < 1:
        raise bad("frame", "must be an integer >= 1", frame)
    if not _is_int(step) or not 1 <= step <= frame:
        raise bad("step", f"must be an integer in [1, frame={frame}]", step)
    params = state.get("params")
    if isinstance(params, Mapping):
        # The top-level fields are what info shows and what scoring uses: one truth.
        for name, value in (("frame", frame), ("step", step)):
            if name in params and params[name] != value:
                raise bad(name, f"must equal params.{name} ({params[name]!r})", value)
    if model_frame is not None and frame != model_frame:
        raise bad("frame", f"must equal the frame the network was built for ({model_frame})", frame)
