"""``seqae detect`` and ``seqae evaluate``: score a file with a model, or with one trained here.

>>> from click.testing import CliRunner
>>> "[default: robust]" in " ".join(CliRunner().invoke(detect, ["--help"]).output.split())
True
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from seqae.files.loader import load_detector
from seqae.files.tables import regular_file, stream_fd
from seqae.policy import network_name, training_only
from seqae.scale.filescoring import (
    FileScore,
    ReadOptions,
    check_outputs,
    detect_images_to_output,
    detect_to_outputs,
    is_image_data,
    metric_rows,
    reading_summary,
)

from .app import EXIT_ANOMALY, command, flag_words
from .options import STDIO, fail_on_anomaly_option, model_options
from .terminal import EpochProgress, RowProgress, report, status, table, warn


def check_training_flags(params: dict[str, Any]) -> None:
    """Refuse, in flag words, training options given with --model (the library decides which)."""
    given = training_only(params)
    if params["model_path"] is not None and given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise click.UsageError(
            f"{flags} appl{'ies' if len(given) == 1 else 'y'} when training; "
            "drop it or drop --model"
        )


def run(
    data: Path,
    opts: ReadOptions,
    params: dict,
    call: Callable[..., Any] = detect_to_outputs,
    **kw: Any,
) -> Any:
    """``call`` (:func:`~seqae.scale.filescoring.detect_to_outputs`, or
    :func:`seqae.policy.obtain_detector` for the detector alone) with --model loaded here and
    the training progress on the terminal."""
    check_training_flags(params)
    model = params["model_path"] and load_model(params)
    # The library reports through callbacks the CLI passes it: it never imports cli code.
    with EpochProgress() as epochs:
        name = str(params["model_path"])
        return call(
            data, opts, params, model=model, model_name=name, callback=epochs, status=status, **kw
        )


def load_model(params: dict[str, Any]) -> Any:
    """The --model file on --device (cpu by default: scoring)."""
    return load_detector(params["model_path"], device=params["device"] or "cpu")


def reading(found: FileScore, opts: ReadOptions) -> str:
    """What the reader did to the data, in flag words; a warning when it changed the data."""
    summary, warning = reading_summary(found.reports, opts.nan_policy)
    if warning:
        warn(flag_words(warning))
    return flag_words(summary)


DETECT_HELP = """Find anomalies in a sensor file: a score per row, alarms, and events.

DATA is a CSV or Parquet file, one row per timestep: an optional time column and one numeric
column per channel. Without --model, seqae first trains its default detector on DATA itself,
or on --train FILE, or on the first --train-rows N rows (learn on a quiet start, score
everything). An autoencoder tolerates a small share of anomalies in its training data; the
fewer, the sharper.

DATA may be `-` (standard input; also /dev/stdin or a pipe). --output and --events write what
their extension says (.csv, .json, .parquet; other extensions are refused), into a folder that
must exist; `-`, /dev/stdout, /dev/stderr and /proc/self/fd/N are written directly, and the
summary then goes to stderr. The time column is written back as it was read, under its own
name. The summary says what the reader did to the data (rows sorted by time, repeated time
stamps, values filled or rows dropped by --nan-policy), with a warning when it changed them.

\b
Examples:
  seqae detect sensors.csv
  seqae detect sensors.csv --train-rows 5000 --output scores.csv --events events.json
  seqae detect sensors.csv --model model/ --channels --output scores.parquet
  seqae detect sensors.csv --model model.onnx --fail-on-anomaly   # exit 1 on an alarm
  cat sensors.csv | seqae detect - --model model/ -o - | head

Images (.npy/.npz or a folder of PNG files) need --model (an image model from `seqae train`);
--output then gets one row per image: index (and file name), score, label.
"""


@command(
    "detect",
    help=DETECT_HELP,
    short_help="Score a file: anomalies, events and the channels behind them.",
)
@click.argument("data", type=click.Path(exists=True, allow_dash=True, path_type=Path))
@model_options
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one row per timestep: time (or index), score, label, ...; - for stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "parquet"]),
    help="Output format [default: from the --output extension; csv for a stream].",
)
@click.option(
    "--channels", is_flag=True, help="Add contribution_<channel> columns (who drives the score)."
)
@click.option(
    "--reconstruction",
    is_flag=True,
    help="Add reconstruction_<channel> columns: the cleaned signal the model expects.",
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the events as JSON: start, end, duration, peak and mean score, top channels "
    "(- for stdout).",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=5,
    help="Events listed in the summary.",
)
@fail_on_anomaly_option
@click.pass_context
def detect(ctx: click.Context, data: Path, **params: Any) -> None:
    start = time.perf_counter()
    output, events_path = params["output"], params["events_path"]
    fmt = check_outputs(data, output, events_path, params["fmt"], ("--output", "--events"))
    check_training_flags(params)
    if is_image_data(data):
        return _detect_images(ctx, data, fmt, params, start)
    opts = ReadOptions.from_options(params)
    data = ctx.with_resource(regular_file(data, opts.names))
    with RowProgress("scoring") as rows:
        source, found = run(
            data,
            opts,
            params,
            output=output,
            events=events_path,
            fmt=fmt,
            name=opts.name(data),
            contributions=params["channels"],
            reconstruction=params["reconstruction"],
            flags=("--output", "--events"),
            progress=rows.update,  # a callback, as the training progress in run()
        )
    items = found.summary(opts.name(data), reading(found, opts), source.description)
    outputs = [p for p in (output, events_path) if p is not None]
    if outputs:
        items.append(("wrote", ", ".join("stdout" if str(p) == STDIO else str(p) for p in outputs)))
    err = any(stream_fd(p) in (1, 2) for p in outputs)  # a stream took stdout: the rest to stderr
    report(items, start, err=err)
    if found.events and params["top"]:
        columns, rows = found.top_events(params["top"])
        click.echo(f"\nTop {len(rows)} of {len(found.events):,} events by peak score:", err=err)
        click.echo(table(rows, columns, right=(2, 3)), err=err)
    if params["fail_on_anomaly"] and found.n_anomalies:
        ctx.exit(EXIT_ANOMALY)


def _detect_images(
    ctx: click.Context, data: Path, fmt: str | None, params: dict, start: float
) -> None:
    """``seqae detect`` for images: a score and a label per image."""
    if params["model_path"] is None:
        raise click.UsageError(
            "images need --model: train one first, e.g. "
            "`seqae train IMAGES.npz --model conv2d --output MODEL`"
        )
    detector = load_model(params)
    output = params["output"]
    found = detect_images_to_output(data, detector, output, fmt, "--output")
    err = output is not None and stream_fd(output) in (1, 2)
    items = found.summary(str(data), f"{params['model_path']} ({network_name(detector)})")
    report(items + ([("wrote", str(output))] if output is not None else []), start, err=err)
    if params["top"] and not err:
        columns, rows = found.top(params["top"])
        click.echo(f"\nTop {len(rows)} of {len(found.table):,} images by score:")
        click.echo(table(rows, columns, right=(0, columns.index("score"))))
    if params["fail_on_anomaly"] and found.result.n_anomalies:
        ctx.exit(EXIT_ANOMALY)


EVALUATE_HELP = """Measure detection quality against a 0/1 column of known anomalies.

Prints precision, recall, F1, FAR and MAR (percent, SKAB's definitions), AUC-PR, AUC-ROC,
VUS-PR and event F1. The detector is --model, or trained on DATA (or --train FILE, or the
first --train-rows N rows) as in `seqae detect`. Scores from a detector trained on the scored
data itself are optimistic; prefer --train or --train-rows.

\b
Examples:
  seqae evaluate labelled.csv --label-column anomaly --model model/
  seqae evaluate labelled.csv --train-rows 2000 --json
"""


@command(
    "evaluate",
    help=EVALUATE_HELP,
    short_help="Precision, recall, F1, FAR, AUC-PR, VUS-PR against known labels.",
)
@click.argument(
    "data", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@model_options
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.pass_context
def evaluate(ctx: click.Context, data: Path, **params: Any) -> None:
    opts = ReadOptions.from_options(params)
    data = ctx.with_resource(regular_file(data, opts.names))

    def check_labels() -> None:
        if opts.truth_column(data) is None:
            raise click.UsageError(
                f"no label column found in {opts.name(data)}: name the 0/1 column of true "
                "anomalies with --label-column NAME"
            )

    with RowProgress("scoring") as rows:
        source, found = run(
            data, opts, params, keep_scores=True, check=check_labels, progress=rows.update
        )
    summary = reading(found, opts)
    result = found.quality()
    if params["as_json"]:
        click.echo(json.dumps(result, indent=2))
        return
    report(found.evaluation_summary(opts.name(data), summary, source.description), None)
    click.echo("\n" + table(metric_rows(result), ("metric", "value"), right=(1,)))
