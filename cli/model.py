"""``seqae export`` and ``seqae info``: what a model is, and the ONNX file for the edge.

Examples
--------
>>> import pathlib, tempfile
>>> import numpy as np
>>> from click.testing import CliRunner
>>> from seqae import Detector
>>> x = np.random.default_rng(0).normal(size=(300, 2))
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
>>> Detector(model="pca", frame=8, random_state=0).fit(x).save(folder)
>>> lines = CliRunner().invoke(info, [str(folder)]).output.splitlines()
>>> [line.split() for line in lines if line.startswith(("model:", "frame:"))]
[['model:', 'pca'], ['frame:', '8']]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .app import command
from .inputs import check_model_path, is_onnx, load_model
from .options import STDIO
from .output import pairs, prepare_output

if TYPE_CHECKING:
    from seqae.files.state import FittedState

EXPORT_HELP = """Export a saved model to one self-contained ONNX file.

The graph takes raw frames and computes the same scores as seqae; channels, scaler, frame,
step, threshold and event rules travel in the file's metadata, so an edge service needs the
.onnx file alone (numpy + onnxruntime, no torch). The export is checked against the model
before it is written.

\b
Examples:
  seqae export model/ --output model.onnx
  seqae info model.onnx
  seqae detect sensors.csv --model model.onnx
"""


@command("export", help=EXPORT_HELP)
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The .onnx file to write.",
)  # fmt: skip
@click.option(
    "--quantize", is_flag=True, help="int8 weights: a smaller file, scores close but not equal."
)
def export(model: Path, output: Path, quantize: bool) -> None:
    from seqae.files.export import export_onnx

    if is_onnx(model):
        raise click.BadParameter(
            "is already an .onnx file; give a saved model (folder or .safetensors)",
            param_hint="MODEL",
        )
    if str(output) == STDIO:
        raise click.BadParameter("give an .onnx file name, not -", param_hint="--output")
    if output.suffix.lower() != ".onnx":
        raise click.BadParameter(f"must end in .onnx, got {output.name!r}", param_hint="--output")
    detector = load_model(model)
    written = export_onnx(detector, prepare_output(output), quantize=quantize)
    size = Path(written).stat().st_size
    click.echo(
        pairs(
            [
                ("model", str(model)),
                ("wrote", f"{written} ({size / 1024:,.0f} KiB{', int8' if quantize else ''})"),
                ("check", "scores match the model (verified with onnxruntime)"),
            ]
        )
    )


INFO_HELP = """Show what a model expects and how it was trained.

MODEL is a saved model (folder or .safetensors) or an exported .onnx file: its channels, frame,
step, threshold, scaler, event rules, versions and a summary of its training data.

\b
Examples:
  seqae info model/
  seqae info model.onnx --json
"""


@command("info", help=INFO_HELP)
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full configuration as JSON.")
def info(model: Path, as_json: bool) -> None:
    state, config = _config(model)
    if as_json:
        click.echo(json.dumps(config, indent=2, default=str))
        return
    click.echo(pairs(_summary(model, state)))


def _config(path: Path) -> tuple[FittedState, dict[str, Any]]:
    """The model's fitted state (any format version, brought to the current layout) and
    everything the file records: the state's fields and those of its container."""
    check_model_path(path)
    if is_onnx(path):
        detector = load_model(path)
        return detector.state_, dict(detector.metadata)
    from seqae.files.persistence import load_model_files
    from seqae.files.state import FittedState

    config, _ = load_model_files(path)
    state = FittedState.from_dict(config, str(path))
    container = {k: config[k] for k in ("format", "weights_sha256")}
    return state, {**container, **state.to_dict()}


def _summary(path: Path, state: FittedState) -> list[tuple[str, str]]:
    channels = state.channels
    items = [
        ("file", f"{path} ({'ONNX export' if is_onnx(path) else 'seqae model'})"),
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
        items.append(("networks", f"{networks}, their errors averaged"))
    if state.anomaly_score == "elbo":
        items.append(("anomaly score", f"negative ELBO (reconstruction + KL, beta {state.beta:g})"))
    else:
        items.append(("anomaly score", "reconstruction error"))
    if state.channel_weights:
        shown = ", ".join(
            f"{c} {w:.3g}" for c, w in zip(channels, state.channel_weights, strict=True)
        )
        items.append(("channel weights", shown))
    items.append(("threshold", f"{state.threshold:.6g} (raw error at score 1.0)"))
    items.append(("scaler", str(state.scaler.get("kind"))))
    if not is_image:
        rule = f"min length {state.min_event_length}, merge gap {state.merge_gap}"
        items.append(("events", rule))
        if state.score_smoothing > 1:
            items.append(("smoothing", f"mean of the last {state.score_smoothing} raw scores"))
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
