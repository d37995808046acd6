"""``seqae plot``: the channels with the alarms shaded, and the score under its alarm line.

Examples
--------
>>> from click.testing import CliRunner
>>> "matplotlib" in CliRunner().invoke(plot, ["--help"]).output  # the one extra it needs
True
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import click
import numpy as np

from seqae.errors import SeqaeError

from .app import command
from .detect import get_detector
from .inputs import DataOptions
from .options import model_options
from .output import AtomicFiles, pairs

PLOT_HELP = """Draw the channels with the anomalies shaded, and the score with its alarm line.

Needs matplotlib (pip install 'seqae[plot]'). Long files are drawn as per-bucket min-max
bands, so spikes stay visible. Known anomalies (a label column) are marked under the score.

\b
Examples:
  seqae plot sensors.csv --model model/ --output plot.png
  seqae plot sensors.csv --train-rows 5000 --output plot.svg --max-channels 4
"""

SHADE = {"color": "tab:red", "alpha": 0.2, "linewidth": 0}


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
    show_default=True,
    help="Channels drawn (the first ones).",
)
@click.option(
    "--max-points",
    type=click.IntRange(min=100),
    default=5000,
    show_default=True,
    help="Points per line; longer data is drawn as min-max bands.",
)
@click.option("--dpi", type=click.IntRange(min=20), default=110, show_default=True)
@click.pass_context
def plot(ctx: click.Context, data: Path, **params: Any) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SeqaeError(
            "seqae plot needs matplotlib: pip install matplotlib (or pip install 'seqae[plot]')"
        ) from None
    opts = DataOptions.from_params(params)
    source = get_detector(ctx, data, opts, params)
    stream = source.whole if source.whole is not None else opts.read(data)
    result = source.detector.detect(stream)
    truth_name = opts.truth_column(data)
    truth = stream.labels[truth_name] if truth_name else None

    channels = list(result.channels)[: params["max_channels"]]
    index = [stream.channels.index(name) for name in channels]
    n = len(result.scores)
    x = np.asarray(stream.timestamps) if stream.timestamps is not None else np.arange(n)
    fig, axes = plt.subplots(
        len(channels) + 1,
        1,
        sharex=True,
        figsize=(12, 1.3 * len(channels) + 2.4),
        gridspec_kw={"height_ratios": [1] * len(channels) + [1.6]},
        squeeze=False,
    )
    axes = axes[:, 0]
    bucket = max(1, -(-n // params["max_points"]))
    for ax, name, col in zip(axes, channels, index, strict=False):
        _draw(ax, x, stream.values[:, col], bucket, color="tab:gray")
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
    score_ax = axes[-1]
    _draw(score_ax, x, result.scores, bucket, color="black", envelope=False)
    score_ax.axhline(1.0, color="tab:red", linestyle="--", linewidth=1, label="alarm line")
    score_ax.set_ylabel("score", rotation=0, ha="right", va="center", fontsize=8)
    score_ax.tick_params(labelsize=7)
    for event in result.events:
        for ax in axes:
            ax.axvspan(x[event.start], x[min(event.end, n - 1)], **SHADE)
            if event.duration * 400 < n:  # too narrow to see as a span
                ax.axvline(x[event.start], color=SHADE["color"], linewidth=0.8, alpha=0.6)
    if truth is not None:
        top = score_ax.get_xaxis_transform()
        score_ax.fill_between(
            x, 0, 0.06, where=truth.astype(bool), transform=top, color="tab:blue", linewidth=0,
            label=f"labelled ({truth_name})",
        )  # fmt: skip
    score_ax.legend(loc="upper left", fontsize=7, frameon=False)
    axes[0].set_title(
        f"{data.name}: {result.n_anomalies:,} anomalous rows in {len(result.events)} events "
        f"(shaded)",
        fontsize=9,
    )
    fig.tight_layout()
    output = params["output"]
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=output.suffix.lower().lstrip(".") or "png", dpi=params["dpi"])
    except ValueError as exc:  # an image format matplotlib does not know
        raise click.BadParameter(str(exc), param_hint="--output") from None
    finally:
        plt.close(fig)
    with AtomicFiles() as files:
        files.temp(output).write_bytes(buffer.getvalue())
    click.echo(
        pairs(
            [
                ("model", source.description),
                ("anomalies", f"{result.n_anomalies:,} rows in {len(result.events)} events"),
                ("wrote", str(output)),
            ]
        )
    )


def _draw(ax: Any, x: np.ndarray, y: np.ndarray, bucket: int, color: str, envelope: bool = True):
    """A line, or for long data per-bucket min-max bands (``envelope``) or maxima."""
    if bucket == 1:
        ax.plot(x, y, color=color, linewidth=0.7)
        return
    n = len(y) // bucket * bucket
    groups = y[:n].reshape(-1, bucket)
    xs = x[:n:bucket]
    if envelope:
        ax.fill_between(xs, groups.min(axis=1), groups.max(axis=1), color=color, linewidth=0)
    else:
        ax.plot(xs, groups.max(axis=1), color=color, linewidth=0.7)
