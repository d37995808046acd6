"""``seqae generate``: a synthetic labelled sensor file to try seqae on.

>>> import pathlib, tempfile
>>> from click.testing import CliRunner
>>> path = pathlib.Path(tempfile.mkdtemp()) / "sensors.csv"
>>> CliRunner().invoke(generate, [str(path), "--rows", "50", "--channels", "2"]).exit_code
0
>>> path.read_text().splitlines()[0]
'timestamp,sensor_0,sensor_1,anomaly'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .app import command
from .options import split_names
from .terminal import report, table

GENERATE_HELP = """Write a synthetic multi-sensor CSV with labelled anomalies.

Correlated channels with periodic parts, trends and noise; anomalies of several kinds are
injected after the first 10 % of the rows (a quiet start to train on). Columns: timestamp,
sensor_0 ... sensor_<C-1>, and anomaly (0/1, the ground truth). OUTPUT's folder is
created when missing.

\b
Kinds: spike, level_shift, drift, frequency, stuck, correlation_break.

\b
Examples:
  seqae generate demo-out/sensors.csv --rows 20000 --channels 6 --seed 7
  seqae generate spikes.csv --anomalies spike,stuck --n-anomalies 10
  seqae detect demo-out/sensors.csv --output demo-out/scores.csv --events demo-out/events.json
"""


@command("generate", help=GENERATE_HELP)
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rows", type=click.IntRange(min=10), default=10_000)
@click.option("--channels", type=click.IntRange(min=1), default=8)
@click.option("--seed", type=click.IntRange(min=0), default=0)
@click.option(
    "--anomalies",
    multiple=True,
    callback=split_names,
    metavar="KIND,KIND,...",
    help="Anomaly kinds to inject [default: all]; none for a normal stream.",
)
@click.option(
    "--n-anomalies",
    type=click.IntRange(min=0),
    help="How many anomalies [default: one of each kind].",
)
@click.option(
    "--noise",
    type=click.FloatRange(min=0),
    default=0.1,
    help="Noise level relative to each channel's scale.",
)
def generate(output: Path, **params: Any) -> None:
    from seqae.datasets import make_sensor_stream

    kinds = params["anomalies"]
    options: dict[str, Any] = {"random_state": params["seed"], "noise": params["noise"]}
    if kinds is not None:
        options["anomalies"] = () if kinds == ["none"] else tuple(kinds)
    if params["n_anomalies"] is not None:
        options["n_anomalies"] = params["n_anomalies"]
    stream = make_sensor_stream(params["rows"], params["channels"], **options)
    output.parent.mkdir(parents=True, exist_ok=True)  # this command makes a new data set
    stream.to_csv(output)
    columns = f"timestamp, {', '.join(stream.channels)}, anomaly"
    anomalies = f"{len(stream.anomalies)} ({int(stream.labels.sum()):,} rows labelled)"
    rows = f"{len(stream.values):,}"
    report(
        [("wrote", str(output)), ("rows", rows), ("columns", columns), ("anomalies", anomalies)],
        None,
    )
    if stream.anomalies:
        rows = [
            (a.kind, f"{a.start:,}", f"{a.end - a.start:,}", ", ".join(a.channels))
            for a in stream.anomalies
        ]
        click.echo("\n" + table(rows, ("kind", "start", "rows", "channels"), right=(1, 2)))
