"""``seqae plot``: the channels with the alarms shaded, and the score under its alarm line.

>>> from click.testing import CliRunner
>>> "matplotlib" in CliRunner().invoke(plot, ["--help"]).output  # the one extra it needs
True
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import click

from seqae.errors import SeqaeError
from seqae.files.tables import OutputFiles
from seqae.policy import obtain_detector
from seqae.scale.filescoring import ReadOptions

from .app import command
from .detect import run
from .options import model_options
from .terminal import report

PLOT_HELP = """Draw the channels with the anomalies shaded, and the score with its alarm line.

Needs matplotlib (pip install 'seqae[plot]'). Long files are drawn as per-bucket min-max
bands, so spikes stay visible. Known anomalies (a label column) are marked under the score.

\b
Examples:
  seqae plot sensors.csv --model model/ --output plot.png
  seqae plot sensors.csv --train-rows 5000 --output plot.svg --max-channels 4
"""


@command(
    "plot",
    help=PLOT_HELP,
    short_help="Draw the channels, the anomalies and the score (needs matplotlib).",
)
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@model_options
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Image file: .png, .svg or .pdf.",
)
@click.option(
    "--max-channels",
    type=click.IntRange(min=1),
    default=8,
    help="Channels drawn (the first ones).",
)
@click.option(
    "--max-points",
    type=click.IntRange(min=100),
    default=5000,
    help="Points per line; longer data is drawn as min-max bands.",
)
@click.option(
    "--dpi",
    type=click.IntRange(min=20),
    default=110,
    help="Resolution of a .png: dots per inch (the figure is 12 inches wide).",
)
@click.pass_context
def plot(ctx: click.Context, data: Path, **params: Any) -> None:
    from seqae.scoring.plot import plot_detection

    if importlib.util.find_spec("matplotlib") is None:  # said before any training
        raise SeqaeError("seqae plot needs matplotlib: pip install 'seqae[plot]'")
    opts = ReadOptions.from_options(params)
    source = run(data, opts, params, call=obtain_detector)
    stream = source.data if source.data is not None else opts.read(data)
    result = source.detector.detect(stream)
    fig = plot_detection(
        stream,
        result,
        truth_name=opts.truth_column(data),
        title=data.name,
        max_channels=params["max_channels"],
        max_points=params["max_points"],
    )
    output = params["output"]
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=output.suffix.lower().lstrip(".") or "png", dpi=params["dpi"])
    except ValueError as exc:  # an image format matplotlib does not know
        raise click.BadParameter(str(exc), param_hint="--output") from None
    with OutputFiles() as files:
        files.open(output, "--output", binary=True).write(buffer.getvalue())
    anomalies = f"{result.n_anomalies:,} rows in {len(result.events)} events"
    report([("model", source.description), ("anomalies", anomalies), ("wrote", str(output))], None)
