"""``seqae export`` and ``seqae info``: what a model is, and the ONNX file for the edge.

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

import click

from seqae.files.loader import load_detector
from seqae.files.tables import check_output

from .app import command
from .options import STDIO
from .terminal import report

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

    if model.suffix.lower() == ".onnx":
        raise click.BadParameter(
            "is already an .onnx file; give a saved model (folder or .safetensors)",
            param_hint="MODEL",
        )
    if str(output) == STDIO:
        raise click.BadParameter("give an .onnx file name, not -", param_hint="--output")
    if output.suffix.lower() != ".onnx":
        raise click.BadParameter(f"must end in .onnx, got {output.name!r}", param_hint="--output")
    written = export_onnx(load_detector(model), check_output(output, "--output"), quantize=quantize)
    size = f"{Path(written).stat().st_size / 1024:,.0f} KiB{', int8' if quantize else ''}"
    check = "scores match the model (verified with onnxruntime)"
    report([("model", str(model)), ("wrote", f"{written} ({size})"), ("check", check)], None)


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
    from seqae.files.summary import model_config, model_summary

    state, config = model_config(model)
    if as_json:
        click.echo(json.dumps(config, indent=2, default=str))
        return
    report(model_summary(model, state), None)
