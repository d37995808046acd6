"""What a saved model or an ``.onnx`` export is, as ``seqae info`` shows it: its fitted state
brought to the current layout, and a list of ``(name, value)`` lines.

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> from seqae import Detector
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
>>> _ = Detector(model="pca", frame=8, random_state=0).fit(np.random.rand(300, 2)).save(folder)
>>> state, _ = model_config(folder)
>>> dict(model_summary(folder, state))["frame"]
'8'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..scoring.thresholds import describe_centred, describe_drift
from .persistence import load_model_files
from .state import FittedState

__all__ = ["model_config", "model_summary"]


def model_config(path: str | os.PathLike) -> tuple[FittedState, dict[str, Any]]:
    """The model's fitted state (any format version, brought to the current layout) and
    everything the file records: the state's fields and those of its container. A path that
    cannot be a model (a CSV, say) is refused (:func:`~seqae.files.loader.check_model_path`)."""
    from .loader import check_model_path

    path = check_model_path(path)
    if path.suffix.lower() == ".onnx":
        from .runtime import OnnxDetector

        detector = OnnxDetector(path)
        return detector.state_, dict(detector.metadata)
    config, _ = load_model_files(path)
    state = FittedState.from_dict(config, str(path))
    container = {k: config[k] for k in ("format", "weights_sha256")}
    return state, {**container, **state.to_dict()}


def model_summary(path: str | os.PathLike, state: FittedState) -> list[tuple[str, str]]:
    channels = state.channels
    items = [
        (
            "file",
            f"{path} ({'ONNX export' if Path(path).suffix.lower() == '.onnx' else 'seqae model'})",
        ),
        ("model", state.model),
    ]
    is_image = state.input_kind == "image"
    if is_image:
        items.append(("input", "images of " + "×".join(str(d) for d in state.image_shape or ())))
        items.append(("scoring", "one score per image, error maps per pixel"))
    else:
        items += [
            ("channels", f"{len(channels)}: {', '.join(channels)}"),
            ("frame", str(state.frame)),
            ("step", str(state.step)),
            ("scoring", f"{state.scoring}, fold {state.fold}"),
        ]
    networks = state.model_spec.get("networks", 1)
    if networks > 1:
        frames = state.params.get("network_frames")
        trained = f", trained on frames of {', '.join(map(str, frames))} rows" if frames else ""
        items.append(("networks", f"{networks}, their errors averaged{trained}"))
    if state.anomaly_score == "elbo":
        items.append(("anomaly score", f"negative ELBO (reconstruction + KL, beta {state.beta:g})"))
    else:
        items.append(("anomaly score", "reconstruction error"))
    given = state.params.get("channel_weights")
    if given:  # the user's option, as given (a mapping or one number per channel)
        pairs = given.items() if isinstance(given, dict) else zip(channels, given, strict=False)
        items.append(("channel weights", ", ".join(f"{c} {float(w):.3g}" for c, w in pairs)))
    if state.channel_weights:  # what the score uses: the option and the learned normalisation
        why = "learned per-channel error normalisation" if state.params.get("channel_norm") else ""
        why = " × ".join(w for w in (why, "channel weights" if given else "") if w)
        shown = ", ".join(
            f"{c} {w:.3g}" for c, w in zip(channels, state.channel_weights, strict=True)
        )
        items.append(("error weights", f"{shown} ({why or 'fixed'}; mean 1)"))
    items.append(("threshold", f"{state.threshold:.6g} (raw error at score 1.0)"))
    items.append(("scaler", str(state.scaler.get("kind"))))
    if not is_image:
        rule = f"min length {state.min_event_length}, merge gap {state.merge_gap}"
        items.append(("events", rule))
        if state.combine_power != 1:
            power = f"p {state.combine_power:g}"
            how = f"{len(channels)} x the power mean ({power}) of the channel errors"
            items.append(("score", how))
        smoothing = []
        if state.centred_smoothing > 1:
            auto = state.params.get("centred_smoothing") == "auto"
            why = "data of one channel" if auto else ""
            smoothing.append(describe_centred(state.centred_smoothing, why))
        if state.score_smoothing > 1 or state.long_smoothing:
            how = f"mean of the last {state.score_smoothing} raw scores"
            if state.long_smoothing:
                long = f"{state.long_gain:.3g} x the mean of the last {state.long_smoothing}"
                how = f"the larger of the {how} and {long} (its own line)"
            smoothing.append(how)
        if smoothing:
            items.append(("smoothing", ", then ".join(smoothing)))
        if state.drift_window:
            items.append(("drift line", describe_drift(state.drift_window, state.drift_rank_power)))
        if state.rank_smoothing > 1:
            auto = state.params.get("rank_smoothing") == "auto"
            why = "data of several channels" if auto else ""
            items.append(("ranking", describe_centred(state.rank_smoothing, why)))
        if state.stuck_window:
            checked = [c for c, f in zip(channels, state.stuck_floor or [], strict=True) if f > 0]
            shown = ", ".join(checked) if checked else "none (every channel repeats in training)"
            items.append(
                ("stuck check", f"{state.stuck_window} rows of one value; checked: {shown}")
            )
    versions = [
        f"{name} {version}"
        for name, version in (
            ("seqae", state.seqae_version),
            ("torch", state.torch_version),
            ("numpy", state.numpy_version),
            ("python", state.python_version),
        )
        if version
    ]
    if versions:
        items.append(("versions", ", ".join(versions)))
    if state.created:
        items.append(("created", state.created))
    summary = state.training_summary
    if summary:
        quantiles = summary.get("train_score_quantiles", {})
        if "n_images" in summary:
            trained_on = f"{summary['n_images']:,} images"
        else:
            trained_on = (
                f"{summary.get('n_timesteps', 0):,} timesteps in "
                f"{summary.get('n_recordings', 1)} recording(s)"
            )
        items.append(("trained on", trained_on))
        if quantiles:
            shown = ", ".join(f"q{float(q) * 100:g} {v:.3g}" for q, v in quantiles.items())
            items.append(("train scores", shown))
    history = state.history
    if history.get("epochs"):
        items.append(
            (
                "training",
                f"{len(history['epochs'])} epochs (best {history.get('best_epoch')}), "
                f"{history.get('seconds', 0):.1f} s on {history.get('device')}",
            )
        )
    return items
