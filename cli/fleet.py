"""``seqae fleet``: score fleets and long streams on Dask, train one detector per unit.

>>> from click.testing import CliRunner
>>> help_text = CliRunner().invoke(fleet, ["--help"]).output
>>> all(command in help_text for command in ("score", "stream", "train"))
True
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from seqae.datasets.lazy import read_dask

from seqae.files.tables import write_json
from seqae.policy import detector_kwargs

from .app import CONTEXT, EXIT_ANOMALY, EXIT_CODES, command, global_options
from .options import apply_options, detector_options, fail_on_anomaly_option, training_options
from .terminal import TaskProgress, report, table

FLEET_HELP = """Scale out on Dask: many units (fleet), one long stream, training per unit.

Each command runs on this process's threads, or on a Dask cluster with --scheduler ADDRESS
(e.g. tcp://10.0.0.5:8786, a cluster started with `dask scheduler` and `dask worker`).
Workers load the model by path, once each: put it where every worker can read it.
Needs the dask extra: pip install 'seqae[dask]'.
"""

SCORE_HELP = """Score every unit of a fleet; write OUTPUT/<unit>.parquet for each.

DATA is a folder with one CSV or Parquet file per unit (the unit is the file name; each read
with seqae.datasets.read_sensors), or one CSV or Parquet file holding every unit's rows, the
unit named by --unit-column. --model is one shared model (a saved folder or .onnx) or a path
with {unit} in it, one model per unit. A summary (one line per unit) is printed and written to
OUTPUT/summary.json.

\b
Examples:
  seqae fleet score units/ --model model.onnx --output scores/
  seqae fleet score fleet.parquet --unit-column machine --order-by time \\
      --model 'models/{unit}' --output scores/ --scheduler tcp://10.0.0.5:8786
"""

STREAM_HELP = """Score one long stream in partitions; write OUTPUT/part-00000.parquet, ...

DATA is a Parquet file or folder (one partition per row group) or a CSV file (partitions of
about --partition-rows rows), read lazily by Dask, in time order. Scores, labels and events
equal scoring the whole stream at once: every partition is scored with the overlap its model
needs. Events are written to OUTPUT/events.json.

\b
Examples:
  seqae fleet stream big.parquet --model model/ --output scores/
  seqae fleet stream big.csv --model model.onnx --output scores/ --time-column time
"""

TRAIN_HELP = """Train one detector per unit (OUTPUT/<unit>/), or one shared detector (--shared).

DATA as for `seqae fleet score`: each unit's normal data. The detector options and their
defaults are those of `seqae train`. Score afterwards with --model 'OUTPUT/{unit}' (per unit)
or --model OUTPUT (shared).

\b
Examples:
  seqae fleet train normal-units/ --output models/ --epochs 10
  seqae fleet train normal.parquet --unit-column machine --shared --output shared-model/
"""


fleet_options = apply_options(
    click.argument("data", type=click.Path(exists=True, path_type=Path)),
    click.option(
        "--output", "-o", required=True, type=click.Path(path_type=Path), help="Output folder."
    ),
    click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="A Dask scheduler's address [default: this process's threads].",
    ),
)
unit_options = apply_options(
    click.option("--unit-column", default="unit", help="Column naming each row's unit."),
    click.option(
        "--order-by", metavar="COLUMN", help="Column ordering a unit's rows [default: index]."
    ),
)


@click.group("fleet", help=FLEET_HELP, epilog="\b\n" + EXIT_CODES, context_settings=CONTEXT)
@global_options
def fleet() -> None:
    pass


@command("score", help=SCORE_HELP)
@fleet_options
@unit_options
@click.option("--model", "-m", required=True, help="Model path, or a path with {unit}.")
@fail_on_anomaly_option
@click.pass_context
def fleet_score(ctx: click.Context, data: Path, **params: Any) -> None:
    from seqae.scale import distributed as sd  # pandas: not at start-up

    start = time.perf_counter()
    summary = sd.score_fleet(
        data if data.is_dir() else read_dask(data),
        params["model"],
        params["output"],
        unit_column=params["unit_column"],
        order_by=params["order_by"],
        client=params["scheduler"],
        progress=TaskProgress("units"),
    )
    records = summary.to_dict(orient="records")
    write_json(params["output"] / "summary.json", records)
    rows = [
        (r["unit"], r["rows"], r["anomalies"], r["events"], f"{r['max_score']:.3f}")
        for r in records
    ]
    click.echo(
        table(rows, ["unit", "rows", "anomalies", "events", "max score"], right=(1, 2, 3, 4))
    )
    n_flagged = int((summary["anomalies"] > 0).sum())
    units = f"{len(summary):,} scored, {n_flagged:,} with anomalies"
    report([("units", units), ("written", str(params["output"]))], start)
    if params["fail_on_anomaly"] and n_flagged:
        ctx.exit(EXIT_ANOMALY)


@command("stream", help=STREAM_HELP)
@fleet_options
@click.option(
    "--model", "-m", required=True, type=click.Path(exists=True, path_type=Path), help="Model path."
)
@click.option("--time-column", metavar="COLUMN", help="Index the rows by this time column.")
@click.option(
    "--partition-rows",
    type=click.IntRange(min=1000),
    default=1_000_000,
    help="Rows per partition of a CSV (a Parquet file is split at its row groups).",
)
@fail_on_anomaly_option
@click.pass_context
def fleet_stream(ctx: click.Context, data: Path, **params: Any) -> None:
    from seqae.scale import distributed as sd

    start = time.perf_counter()
    frame = read_dask(data, params["time_column"], params["partition_rows"])
    result = sd.score_stream(
        frame,
        params["model"],
        params["output"],
        client=params["scheduler"],
        progress=TaskProgress("partitions"),
    )
    write_json(params["output"] / "events.json", [e.to_dict() for e in result.events])
    rows = f"{result.n_timesteps:,} in {len(result.files)} partitions"
    anomalies = f"{result.n_anomalies:,} rows in {len(result.events):,} events"
    report([("rows", rows), ("anomalies", anomalies), ("written", str(params["output"]))], start)
    if params["fail_on_anomaly"] and result.n_anomalies:
        ctx.exit(EXIT_ANOMALY)


@command("train", help=TRAIN_HELP)
@fleet_options
@unit_options
@click.option("--shared", is_flag=True, help="One detector on every unit's data.")
@detector_options
@training_options
def fleet_train(data: Path, **params: Any) -> None:
    from seqae.scale import distributed as sd

    start = time.perf_counter()
    source = data if data.is_dir() else read_dask(data)
    common = {
        "params": detector_kwargs(params),
        "unit_column": params["unit_column"],
        "order_by": params["order_by"],
        "client": params["scheduler"],
    }
    if params["shared"]:
        saved = [sd.train_shared(source, params["output"], **common)]
    else:
        saved = list(
            sd.train_fleet(source, params["output"], progress=TaskProgress("units"), **common)
        )
    model = params["output"] if params["shared"] else params["output"] / "{unit}"
    report([("trained", f"{len(saved):,} detector(s) in {params['output']}")], start)
    click.echo(f"\nNext: seqae fleet score DATA --model '{model}' --output scores/")


for _command in (fleet_score, fleet_stream, fleet_train):
    fleet.add_command(_command)
