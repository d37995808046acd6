"""``seqae detect`` and ``seqae evaluate``: score a file with a model, or with one trained here."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from seqae.errors import ParameterError
from seqae.scoring.thresholds import describe_detector_line

from .app import EXIT_ANOMALY, command
from .inputs import (
    DataOptions,
    describe_images,
    epochs_run,
    fit_detector,
    input_summary,
    is_image_data,
    is_onnx,
    load_model,
    network_name,
    read_image_data,
    set_alarm_line,
    training_detector,
)
from .options import STDIO, TRAINING_ONLY, fail_on_anomaly_option, model_options
from .output import (
    AtomicFiles,
    PartWriter,
    events_document,
    events_table,
    output_format,
    pairs,
    seconds,
    table,
    warn,
    write_table,
)
from .progress import RowProgress


@dataclass
class Source:
    """The detector a command scores with, and how it was obtained."""

    detector: Any
    description: str
    whole: Any = None  # DATA read whole to train on it...
    result: Any = None  # ...and its detection, from the training pass (scored once)


def get_detector(
    ctx: click.Context,
    data: Path,
    opts: DataOptions,
    params: dict,
    check: Callable[[], None] | None = None,
) -> Source:
    """Load ``--model``, or train the default detector on ``--train`` / DATA; ``check`` runs
    once the model is loaded or the training data read, before any training."""
    if params["model_path"] is not None:
        given = [
            name
            for name in TRAINING_ONLY
            if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT
        ]
        if isinstance(params["threshold"], str):
            given.append("threshold")
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise click.UsageError(
                f"{flags} appl{'ies' if len(given) == 1 else 'y'} when training; "
                "drop it or drop --model",
                ctx=ctx,
            )
        detector = load_model(params["model_path"], params["device"])
        # a model trained with --label-column none has its 'anomaly' channel: keep it one
        opts.model_channels = set(detector.channels_)
        if check is not None:
            check()
        source = Source(detector, f"{params['model_path']} ({_describe(detector)})")
    else:
        train_path = params["train_path"] or data
        itself = params["train_path"] is None and not params["train_rows"]
        train_data = opts.read(train_path, nrows=params["train_rows"])
        if check is not None:
            check()
        detector = training_detector(
            frame=params["frame"],
            epochs=params["epochs"],
            patience=params["patience"],
            seed=params["seed"],
            device=params["device"],
            threshold=params["threshold"],
            contamination=params["contamination"],
            min_event_length=params["min_event_length"],
            merge_gap=params["merge_gap"],
        )
        found: list[Any] = []  # DATA itself: fit and detect in one scoring pass

        def fit_detect(X: Any, callback: Any) -> None:
            recon = bool(params.get("reconstruction")) and params.get("output") is not None
            found.append(detector.fit_detect(X, callback=callback, reconstruction=recon))

        took = fit_detector(detector, train_data, fit_detect if itself else None)
        what = "the file itself" if params["train_path"] is None else str(train_path)
        if params["train_rows"]:
            what += f", first {len(train_data.values):,} rows"
        line = describe_detector_line(detector)
        source = Source(
            detector,
            f"trained here on {what}: {_describe(detector)}, {epochs_run(detector.history_)} in "
            f"{seconds(took)}; alarm line: {line}",
            whole=train_data if itself else None,
            result=found[0] if found else None,
        )
    if isinstance(params["threshold"], float) and params["model_path"] is not None:
        set_alarm_line(source.detector, params["threshold"])
    rules = {
        name: params[name] for name in ("min_event_length", "merge_gap") if params[name] is not None
    }
    if rules and params["model_path"] is not None:
        if is_onnx(params["model_path"]):
            raise ParameterError(
                "--min-event-length/--merge-gap are fixed in an exported .onnx model; "
                "use the saved seqae model instead"
            )
        source.detector.set_params(**rules)
    return source


def _describe(detector: Any) -> str:
    return f"{_model_name(detector)}, frame {detector.frame}, step {detector.step}"


@dataclass
class Outcome:
    """What scoring one file found (the (T, C) arrays went to the output; the (T,) ones are
    kept when asked for or when the file has a truth column to compare with)."""

    n_rows: int
    n_anomalies: int
    channels: list[str]
    scores: np.ndarray | None
    labels: np.ndarray | None
    events: list[Any]
    truth: np.ndarray | None
    truth_name: str | None
    seconds: float
    reports: list[dict[str, Any]]


def score_file(
    source: Source,
    path: Path,
    opts: DataOptions,
    *,
    chunk_size: int,
    reconstruction: bool = False,
    top_k: int = 3,
    on_part: Callable[[Any, np.ndarray | None], None] | None = None,
    keep_scores: bool = False,
) -> Outcome:
    """Score ``path`` part by part (or take the detection of DATA made while training on it),
    handing every final part to ``on_part`` with its rows of the time column as read (None
    without one)."""
    from seqae.scale.streaming import detect_file
    from seqae.scoring.results import ScoredPart  # torch-free: an .onnx model never imports torch

    start = time.perf_counter()
    truth_name = opts.truth_column(path)
    truth: list[np.ndarray] = []
    reports: list[dict[str, Any]] = []
    times = TimeColumn()
    progress = RowProgress("scoring")

    def read(chunks: Any) -> Any:
        n_read = 0
        for chunk in chunks:
            reports.append(chunk.report)
            times.add(chunk)
            if truth_name:
                truth.append(chunk.labels[truth_name])
            yield chunk
            n_read += len(chunk.values)
            progress.update(n_read)

    def hand_on(part: Any) -> None:
        stamps = times.take(len(part))  # taken even when unused: it must not pile up
        if on_part is not None:
            on_part(part, stamps)

    if source.result is not None:  # scored while training on it
        data, result = source.whole, source.result
        list(read([data]))
        stamps = None if data.timestamps is None else np.asarray(data.timestamps)
        hand_on(
            ScoredPart(
                0, result.scores, result.contributions, result.reconstruction, result.labels, stamps
            )
        )
    else:
        result = detect_file(
            source.detector,
            read(opts.chunks(path, chunk_size)),
            on_part=hand_on,
            reconstruction=reconstruction,
            top_k=top_k,
            keep=keep_scores or truth_name is not None,  # else memory stays flat
        )
    progress.close()
    return Outcome(
        n_rows=len(result.labels) if result.labels is not None else result.n_rows,
        n_anomalies=int(result.labels.sum()) if result.labels is not None else result.n_anomalies,
        channels=list(source.detector.channels_),
        scores=result.scores,
        labels=result.labels,
        events=result.events,
        truth=np.concatenate(truth) if truth else None,
        truth_name=truth_name,
        seconds=time.perf_counter() - start,
        reports=reports,
    )


class TimeColumn:
    """The time column as read, queued chunk by chunk and taken part by part, in order."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._missing = False

    def add(self, data: Any) -> None:
        values = getattr(data, "time_values", None)
        if values is None:
            self._missing = True
        else:
            self._parts.append(as_written(values))

    def take(self, n: int) -> np.ndarray | None:
        if self._missing or not self._parts:
            return None
        pending = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts = [pending[n:]]
        return pending[:n]


def as_written(values: np.ndarray) -> np.ndarray:
    """A time column ready to write back unchanged: integers stay integers (never ``%.7g``),
    other numbers keep every digit; text and zone-aware times are written as they are.

    Examples
    --------
    >>> as_written(np.array([1700000000.0, 1700000001.0])).tolist()
    [1700000000, 1700000001]
    >>> as_written(np.array([0.1, 0.123456789])).tolist()
    ['0.1', '0.123456789']
    """
    if values.dtype.kind == "f":
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return values.astype(np.int64)
        return np.array([repr(float(v)) for v in values], dtype=object)
    return values


# ------------------------------------------------------------------------------ summary
def quality(outcome: Outcome, *, ranking: bool = True) -> dict[str, Any]:
    """The library's metric bundle against the file's labels, plus the events found."""
    from seqae.metrics import evaluate

    return {
        **evaluate(outcome.truth, outcome.scores, outcome.labels, ranking=ranking),
        "n_events": len(outcome.events),
    }


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


# ------------------------------------------------------------------------------ detect
DETECT_HELP = """Find anomalies in a sensor file: a score per row, alarms, and events.

DATA is a CSV or Parquet file, one row per timestep: an optional time column and one numeric
column per channel. Without --model, seqae first trains its default detector (a convolutional
autoencoder) on DATA itself, or on --train FILE, or on the first --train-rows N rows (learn on a
quiet start, score everything). An autoencoder tolerates a small share of anomalies in its
training data; the fewer, the sharper.

DATA may be `-` (standard input; also /dev/stdin or a pipe); `--output -` (or `--events -`)
writes CSV or JSON to standard output, and the summary then goes to stderr. The time column
is written back as it was read. The summary says what the reader did to the data (rows
sorted by time, repeated time stamps, values filled or rows dropped by --nan-policy), with a
warning on stderr when it changed them.

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
    help="Output format [default: from the --output extension, else csv].",
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
    show_default=True,
    help="Events listed in the summary.",
)
@fail_on_anomaly_option
@click.pass_context
def detect(ctx: click.Context, data: Path, **params: Any) -> None:
    start = time.perf_counter()
    output, events_path = params["output"], params["events_path"]
    _check_outputs(data, params)
    opts = DataOptions.from_params(params)
    if is_image_data(data):
        _detect_images(ctx, data, opts, params, start)
        return
    shown = "<stdin>" if str(data) == STDIO else str(data)
    local = opts.local(ctx, data)
    to_stdout = STDIO in (str(output), str(events_path))
    with AtomicFiles() as files:
        # Output paths are checked (and their temporary files made) before any work.
        out_tmp = None if output is None or str(output) == STDIO else files.temp(output)
        events_tmp = None
        if events_path is not None and str(events_path) != STDIO:
            events_tmp = files.temp(events_path, "--events")
        source = get_detector(ctx, local, opts, params)
        writer = None
        if output is not None:
            writer = PartWriter(
                out_tmp if out_tmp is not None else sys.stdout,
                output_format(output, params["fmt"]),
                list(source.detector.channels_),
                contributions=params["channels"],
                reconstruction=params["reconstruction"],
            )
        try:
            outcome = score_file(
                source,
                local,
                opts,
                chunk_size=params["chunk_size"],
                reconstruction=params["reconstruction"] and writer is not None,
                on_part=None if writer is None else writer.write,
            )
        finally:
            if writer is not None:
                writer.close()
        if events_path is not None:
            document = events_document(outcome, shown)
            if events_tmp is None:
                click.echo(document, nl=False)
            else:
                events_tmp.write_text(document, encoding="utf-8")
    summary, warning = input_summary(outcome.reports, opts.nan_policy)
    if warning:
        warn(warning)
    _print_detect_summary(
        shown, source, outcome, params, time.perf_counter() - start, summary, err=to_stdout
    )
    if params["fail_on_anomaly"] and outcome.n_anomalies:
        ctx.exit(EXIT_ANOMALY)


def _check_outputs(data: Path, params: dict[str, Any]) -> None:
    """Refuse outputs that clash with DATA, with each other or with their format."""
    output, events_path = params["output"], params["events_path"]
    if str(output) == STDIO and str(events_path) == STDIO:
        raise click.BadParameter(
            "--output - and --events - both ask for stdout; send one of them to a file",
            param_hint="--events",
        )
    if str(output) == STDIO and output_format(output, params["fmt"]) == "parquet":
        raise click.BadParameter(
            "Parquet cannot be written to stdout; use --format csv or json, or a file name",
            param_hint="--output",
        )
    for name in ("output", "events_path"):
        path = params[name]
        if path is None or STDIO in (str(path), str(data)):
            continue
        if path.resolve() == data.resolve():
            raise click.BadParameter(
                "is DATA itself; write the results to another file",
                param_hint="--" + name.removesuffix("_path"),
            )


def _detect_images(
    ctx: click.Context, data: Path, opts: DataOptions, params: dict, start: float
) -> None:
    """``seqae detect`` for images: a score and a label per image."""
    if params["model_path"] is None:
        raise click.UsageError(
            "images need --model: train one first, e.g. "
            "`seqae train IMAGES.npz --model conv2d --output MODEL`",
            ctx=ctx,
        )
    source = get_detector(ctx, data, opts, params)
    images = read_image_data(data)
    t0 = time.perf_counter()
    result = source.detector.detect(images.images)
    took = time.perf_counter() - t0
    df = result.to_frame()
    if images.names is not None:
        df.insert(1, "name", images.names)
    to_stdout = str(params["output"]) == STDIO
    if to_stdout:
        if output_format(params["output"], params["fmt"]) == "json":
            click.echo(df.to_json(orient="records", indent=1))
        else:
            click.echo(df.to_csv(index=False, float_format="%.7g"), nl=False)
    elif params["output"] is not None:
        fmt = output_format(params["output"], params["fmt"])
        with AtomicFiles() as files:
            write_table(df, files.temp(params["output"]), fmt)
    share = result.n_anomalies / len(df)
    items = [
        ("data", f"{data} ({describe_images(images)})"),
        ("model", f"{params['model_path']} ({_model_name(source.detector)})"),
        ("scored", f"{len(df):,} images in {seconds(took)}"),
        ("anomalies", f"{result.n_anomalies:,} images ({share:.2%})"),
    ]
    if params["output"] is not None:
        items.append(("wrote", str(params["output"])))
    items.append(("time", seconds(time.perf_counter() - start)))
    click.echo(pairs(items), err=to_stdout)
    if params["top"] and not to_stdout:
        top = df.sort_values("score", ascending=False).head(params["top"])
        columns = [c for c in ("image", "name", "score", "label") if c in top]
        rows = [
            [f"{v:.3f}" if c == "score" else v for c, v in zip(columns, row, strict=True)]
            for row in top[columns].itertuples(index=False)
        ]
        click.echo(f"\nTop {len(top)} of {len(df):,} images by score:")
        click.echo(table(rows, columns, right=(0, columns.index("score"))))
    if params["fail_on_anomaly"] and result.n_anomalies:
        ctx.exit(EXIT_ANOMALY)


def _model_name(detector: Any) -> str:
    if hasattr(detector, "metadata"):  # OnnxDetector
        return f"{detector.metadata.get('model')} (onnx)"
    return network_name(detector)


def _print_detect_summary(
    data: str,
    source: Source,
    outcome: Outcome,
    params: dict,
    took: float,
    summary: str,
    *,
    err: bool = False,
) -> None:
    share = outcome.n_anomalies / max(outcome.n_rows, 1)
    items = [
        ("data", f"{data} ({outcome.n_rows:,} rows, {len(outcome.channels)} channels)"),
        ("input", summary),
        ("model", source.description),
        ("scored", f"{outcome.n_rows:,} rows in {seconds(outcome.seconds)}"),
        (
            "anomalies",
            f"{outcome.n_anomalies:,} rows ({share:.2%}) in {len(outcome.events):,} events",
        ),
    ]
    if outcome.truth is not None:
        m = quality(outcome, ranking=False)  # the summary line shows point and event metrics
        items.append(
            (
                "vs labels",
                f"column {outcome.truth_name!r}: precision {_number(m['precision'])}, recall "
                f"{_number(m['recall'])}, F1 {_number(m['f1'])}, event F1 "
                f"{_number(m['event_f1'])}",
            )
        )
    written = [
        "stdout" if str(p) == STDIO else str(p)
        for p in (params["output"], params["events_path"])
        if p is not None
    ]
    if written:
        items.append(("wrote", ", ".join(written)))
    items.append(("time", seconds(took)))
    click.echo(pairs(items), err=err)
    if outcome.events and params["top"]:
        shown = min(params["top"], len(outcome.events))
        click.echo(f"\nTop {shown} of {len(outcome.events):,} events by peak score:", err=err)
        click.echo(events_table(outcome.events, params["top"]), err=err)


# ---------------------------------------------------------------------------- evaluate
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
    opts = DataOptions.from_params(params)
    shown = "<stdin>" if str(data) == STDIO else str(data)
    data = opts.local(ctx, data)

    def check_labels() -> None:
        if opts.truth_column(data) is None:
            raise click.UsageError(
                f"no label column found in {shown}: name the 0/1 column of true anomalies with "
                "--label-column NAME",
                ctx=ctx,
            )

    source = get_detector(ctx, data, opts, params, check=check_labels)  # before training
    outcome = score_file(source, data, opts, chunk_size=params["chunk_size"], keep_scores=True)
    result = quality(outcome)
    summary, warning = input_summary(outcome.reports, opts.nan_policy)
    if warning:
        warn(warning)
    if params["as_json"]:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        pairs(
            [
                ("data", f"{shown} ({outcome.n_rows:,} rows, labels {outcome.truth_name!r})"),
                ("input", summary),
                ("model", source.description),
                (
                    "alarms",
                    f"{outcome.n_anomalies:,} flagged rows, {int(outcome.truth.sum()):,} "
                    "labelled anomalous",
                ),
            ]
        )
    )
    names = {
        "precision": "precision",
        "recall": "recall",
        "f1": "F1",
        "far": "FAR (%)",
        "mar": "MAR (%)",
        "auc_pr": "AUC-PR",
        "auc_roc": "AUC-ROC",
        "vus_pr": "VUS-PR",
        "event_precision": "event precision",
        "event_recall": "event recall",
        "event_f1": "event F1",
    }
    rows = [(label, _number(result[key], 4)) for key, label in names.items()]
    click.echo("\n" + table(rows, ("metric", "value"), right=(1,)))
