"""``seqae fleet``: score fleets and long streams on Dask, train one detector per unit.

Examples
--------
>>> from click.testing import CliRunner
>>> help_text = CliRunner().invoke(fleet, ["--help"]).output
>>> all(command in help_text for command in ("score", "stream", "train"))
True
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from seqae.errors import ParameterError
from seqae.files.atomic import atomic_write_bytes

from .app import CONTEXT, EXIT_ANOMALY
from .options import fail_on_anomaly_option
from .output import pairs, seconds, table
from .progress import TaskProgress

FLEET_HELP = """Scale out on Dask: many units (fleet), one long stream, training per unit.

Each command runs on this process's threads, or on a Dask cluster with --scheduler ADDRESS
(e.g. tcp://10.0.0.5:8786, a cluster started with `dask scheduler` and `dask worker`).
Workers load the model by path, once each: put it where every worker can read it.
Needs the dask extra: pip install 'seqae[dask]'.
"""

SCORE_HELP = """Score every unit of a fleet; write OUTPUT/<unit>.parquet for each.

DATA is a folder with one CSV or Parquet file per unit (the unit is the file name), or one
CSV or Parquet file holding every unit's rows, the unit named by --unit-column.
--model is one shared model (a saved folder or .onnx) or a path with {unit} in it, one model
per unit. A summary (one line per unit) is printed and written to OUTPUT/summary.json.

\b
Examples:
  seqae fleet score units/ --model model.onnx --output scores/
  seqae fleet score fleet.parquet --unit-column machine --order-by time \\
      --model 'models/{unit}' --output scores/ --scheduler tcp://10.0.0.5:8786
"""

STREAM_HELP = """Score one long stream in partitions; write OUTPUT/part-00000.parquet, ...

DATA is a Parquet file or folder, or a CSV file, read lazily by Dask in partitions of about
--partition-rows rows, in time order. Scores, labels and events equal scoring the whole
stream at once: every partition is scored with the overlap its model needs. Events are
written to OUTPUT/events.json.

\b
Examples:
  seqae fleet stream big.parquet --model model/ --output scores/
  seqae fleet stream big.csv --model model.onnx --output scores/ --time-column time
"""

TRAIN_HELP = """Train one detector per unit (OUTPUT/<unit>/), or one shared detector (--shared).

DATA as for `seqae fleet score`: each unit's normal data. Score afterwards with
--model 'OUTPUT/{unit}' (per unit) or --model OUTPUT (shared).

\b
Examples:
  seqae fleet train normal-units/ --output models/ --epochs 10
  seqae fleet train normal.parquet --unit-column machine --shared --output shared-model/
"""


def _sd() -> Any:
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ParameterError(
            "seqae fleet needs dask and distributed: pip install 'seqae[dask]'"
        ) from None
    from seqae import distributed as sd

    return sd


def _read_dask(path: Path, time_column: str | None = None, rows: int | None = None) -> Any:
    """A Dask DataFrame of a Parquet file or folder, or a CSV file."""
    import dask.dataframe as dd

    csv = path.is_file() and path.suffix.lower() in (".csv", ".gz", ".txt")
    if csv:
        # about `rows` rows per partition: a CSV row of numbers is a few dozen bytes
        frame = dd.read_csv(path, blocksize=None if rows is None else rows * 64)
    else:
        frame = dd.read_parquet(path)
    if time_column is not None:
        if time_column not in frame.columns:
            raise ParameterError(f"--time-column {time_column!r} is not a column of {path}")
        frame[time_column] = dd.to_datetime(frame[time_column])
        frame = frame.set_index(time_column, sorted=True)
    return frame


def _fleet_source(path: Path) -> Any:
    """A folder: one file per unit; a file: one table with a unit column (read by Dask)."""
    return path if path.is_dir() else _read_dask(path)


def _scheduler_option(f: Any) -> Any:
    return click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="A Dask scheduler's address (default: this process's threads).",
    )(f)


def _client(address: str | None) -> Any:
    if address is None:
        return None
    from distributed import Client

    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ParameterError(f"--scheduler {address}: cannot reach it ({exc})") from None


@click.group("fleet", help=FLEET_HELP, context_settings=CONTEXT)
def fleet() -> None:
    pass


@fleet.command("score", help=SCORE_HELP, context_settings=CONTEXT)
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option("--model", "-m", "model", required=True, help="Model path, or a path with {unit}.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path))
@click.option("--unit-column", default="unit", show_default=True)
@click.option(
    "--order-by", metavar="COLUMN", help="Column ordering a unit's rows (default: index)."
)
@fail_on_anomaly_option
@_scheduler_option
@click.pass_context
def fleet_score(ctx: click.Context, data: Path, **params: Any) -> None:
    sd = _sd()
    start = time.perf_counter()
    source = _fleet_source(data)
    client = _client(params["scheduler"])
    try:
        summary = sd.score_fleet(
            source,
            params["model"],
            params["output"],
            unit_column=params["unit_column"],
            order_by=params["order_by"],
            client=client,
            progress=TaskProgress("units"),
        )
    finally:
        if client is not None:
            client.close()
    records = summary.to_dict(orient="records")
    text = json.dumps(records, indent=1) + "\n"
    atomic_write_bytes(params["output"] / "summary.json", text.encode())
    rows = [
        (r["unit"], r["rows"], r["anomalies"], r["events"], f"{r['max_score']:.3f}")
        for r in records
    ]
    click.echo(
        table(rows, ["unit", "rows", "anomalies", "events", "max score"], right=(1, 2, 3, 4))
    )
    n_anomalies = int(summary["anomalies"].sum())
    n_flagged = int((summary["anomalies"] > 0).sum())
    click.echo(
        pairs(
            [
                (
                    "units",
                    f"{len(summary):,} scored, {n_flagged:,} with anomalies",
                ),
                ("written", str(params["output"])),
                ("time", seconds(time.perf_counter() - start)),
            ]
        )
    )
    if params["fail_on_anomaly"] and n_anomalies:
        ctx.exit(EXIT_ANOMALY)


@fleet.command("stream", help=STREAM_HELP, context_settings=CONTEXT)
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option("--model", "-m", "model", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path))
@click.option("--time-column", metavar="COLUMN", help="Index the rows by this time column.")
@click.option(
    "--partition-rows",
    type=click.IntRange(min=1000),
    default=1_000_000,
    show_default=True,
    help="Rows per partition of a CSV (Parquet keeps its row groups).",
)
@fail_on_anomaly_option
@_scheduler_option
@click.pass_context
def fleet_stream(ctx: click.Context, data: Path, **params: Any) -> None:
    sd = _sd()
    start = time.perf_counter()
    frame = _read_dask(data, params["time_column"], params["partition_rows"])
    client = _client(params["scheduler"])
    try:
        result = sd.score_stream(
            frame,
            params["model"],
            params["output"],
            client=client,
            progress=TaskProgress("partitions"),
        )
    finally:
        if client is not None:
            client.close()
    events = [e.to_dict() for e in result.events]
    text = json.dumps(events, indent=1, default=str) + "\n"
    atomic_write_bytes(params["output"] / "events.json", text.encode())
    click.echo(
        pairs(
            [
                ("rows", f"{result.n_timesteps:,} in {len(result.files)} partitions"),
                ("anomalies", f"{result.n_anomalies:,} rows in {len(result.events):,} events"),
                ("written", str(params["output"])),
                ("time", seconds(time.perf_counter() - start)),
            ]
        )
    )
    if params["fail_on_anomaly"] and result.n_anomalies:
        ctx.exit(EXIT_ANOMALY)


@fleet.command("train", help=TRAIN_HELP, context_settings=CONTEXT)
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path))
@click.option("--shared", is_flag=True, help="One detector on every unit's data.")
@click.option("--unit-column", default="unit", show_default=True)
@click.option(
    "--order-by", metavar="COLUMN", help="Column ordering a unit's rows (default: index)."
)
@click.option("--model", "family", default="conv1d", show_default=True, help="Autoencoder family.")
@click.option(
    "--frame", type=click.IntRange(min=2), help="Timesteps per frame [default: Detector's]."
)
@click.option("--epochs", type=click.IntRange(min=1), help="[default: Detector's]")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@_scheduler_option
def fleet_train(data: Path, **params: Any) -> None:
    sd = _sd()
    start = time.perf_counter()
    source = _fleet_source(data)
    detector = {"model": params["family"], "random_state": params["seed"]}
    detector.update({k: params[k] for k in ("frame", "epochs") if params[k] is not None})
    client = _client(params["scheduler"])
    common = {
        "params": detector,
        "unit_column": params["unit_column"],
        "order_by": params["order_by"],
    }
    try:
        if params["shared"]:
            saved = [sd.train_shared(source, params["output"], client=client, **common)]
        else:
            paths = sd.train_fleet(
                source, params["output"], client=client, progress=TaskProgress("units"), **common
            )
            saved = list(paths.values())
    finally:
        if client is not None:
            client.close()
    model = params["output"] if params["shared"] else params["output"] / "{unit}"
    click.echo(
        pairs(
            [
                ("trained", f"{len(saved):,} detector(s) in {params['output']}"),
                ("time", seconds(time.perf_counter() - start)),
            ]
        )
    )
    click.echo(f"\nNext: seqae fleet score DATA --model '{model}' --output scores/")
