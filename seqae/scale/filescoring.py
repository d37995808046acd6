"""A sensor file read and scored end to end, as ``seqae detect`` and ``seqae evaluate`` do it.

:class:`ReadOptions` says how a file is read (time column, channels, label columns, NaN
policy; label columns found once per file and kept for its later reads). :func:`score_file`
streams the file through :func:`~seqae.scale.streaming.detect_file` and hands each final part
on with its time column *as read* (integers stay integers, other values keep every digit),
keeps the ground-truth column when there is one, and collects the reader's reports, which
:func:`reading_summary` turns into one line (and a warning when the reader changed the data).

This module never imports torch.

Examples
--------
>>> reading_summary([{"rows_read": 1200, "rows": 1200}], "error")
('1,200 rows read, 1,200 kept; unchanged', None)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "METRIC_LABELS",
    "FileScore",
    "ImageScore",
    "ReadOptions",
    "as_written",
    "check_outputs",
    "describe_images",
    "detect_to_outputs",
    "is_image_data",
    "metric_rows",
    "read_training_data",
    "reading_summary",
    "score_file",
]


@dataclass
class ReadOptions:
    """How to read a sensor file: time column, channels, labels and NaN policy.

    ``label_column`` is a name, ``"auto"`` (the reader finds 0/1 columns named anomaly,
    label, ...) or None. ``model_channels`` are never taken for labels (a model trained on a
    column named ``anomaly`` keeps it a channel). ``names`` maps a path to how messages call it.
    """

    time_column: str | None = "auto"
    columns: list[str] | None = None
    label_column: str | None = "auto"
    nan_policy: str = "error"
    model_channels: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, list[str] | None] = field(default_factory=dict)  # per file, once known

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ReadOptions:
        """The options of the command line's names (``"none"`` for no time or label column).

        >>> ReadOptions.from_options({"time_column": "none", "label_column": "anomaly"})
        ReadOptions(time_column=None, columns=None, label_column='anomaly', ...)
        """
        time_column, label = options.get("time_column", "auto"), options.get("label_column", "auto")
        return cls(
            time_column=None if time_column.lower() == "none" else time_column,
            columns=options.get("columns"),
            label_column=None if label.lower() == "none" else label,
            nan_policy=options.get("nan_policy", "error"),
        )

    def name(self, path: str | os.PathLike) -> str:
        return self.names.get(str(path), str(path))

    def label_columns(self, path: str | os.PathLike) -> list[str] | None:
        """The label columns of ``path``: the one named, those found when it was read, or (not
        read yet) those the library finds in its first rows."""
        key = str(path)
        if key not in self.labels:
            if self.label_column != "auto":
                self.labels[key] = None if self.label_column is None else [self.label_column]
            else:
                from ..datasets import find_label_columns

                found = find_label_columns(
                    path,
                    time_column=self.time_column,
                    name=self.name(path),
                    not_labels=[*(self.columns or ()), *self.model_channels],
                )
                self.labels[key] = found or None
        return self.labels[key]

    def truth_column(self, path: str | os.PathLike) -> str | None:
        """The ground-truth column (the first label column), if any."""
        names = self.label_columns(path)
        return names[0] if names else None

    def _kwargs(self, path: str | os.PathLike, labels: Any) -> dict[str, Any]:
        return {
            "time_column": self.time_column,
            "columns": self.columns,
            "label_columns": labels,
            "not_labels": sorted(self.model_channels),
            "nan_policy": self.nan_policy,
            "name": self.name(path),
        }

    def read(self, path: str | os.PathLike, nrows: int | None = None) -> Any:
        """The whole file (or its first ``nrows`` rows) as SensorData; label columns not known
        yet are found in this read and kept for the file's later reads."""
        from ..datasets import read_sensors

        key = str(path)
        labels = self.labels[key] if key in self.labels else self.label_column
        data = read_sensors(path, nrows=nrows, **self._kwargs(path, labels))
        self.labels.setdefault(key, list(data.labels) if data.labels else None)
        return data

    def chunks(self, path: str | os.PathLike, chunksize: int) -> Iterator[Any]:
        """The file as SensorData chunks of about ``chunksize`` rows."""
        from ..datasets import iter_sensor_chunks

        return iter_sensor_chunks(path, chunksize, **self._kwargs(path, self.label_columns(path)))


def reading_summary(reports: Sequence[dict[str, Any]], nan_policy: str) -> tuple[str, str | None]:
    """What the reader did to the data: ``(summary line, warning or None)``.

    ``reports`` are the :attr:`SensorData.report` of the parts read, in order. The warning lists
    what changed the data (sorting, filled values, dropped rows) or may be wrong with it
    (repeated time stamps).

    Examples
    --------
    >>> reading_summary([{"rows_read": 10, "rows": 9, "rows_dropped": 1}], "drop")[1]
    "the input was changed or looks wrong: 1 rows dropped (nan_policy='drop')"
    """
    keys = (
        "rows_read",
        "rows",
        "blank_rows",
        "rows_dropped",
        "values_filled",
        "rows_out_of_order",
        "duplicate_timestamps",
    )
    total = {key: sum(int(r.get(key) or 0) for r in reports) for key in keys}
    first = reports[0] if reports else {}
    duplicate = next((r["first_duplicate"] for r in reports if r.get("first_duplicate")), None)
    sorted_ = any(r.get("sorted_by_time") for r in reports)
    parts = [f"{total['rows_read']:,} rows read, {total['rows']:,} kept"]
    if first.get("time_column"):
        parts.append(f"time column {first['time_column']!r}")
    changes = []
    if sorted_:
        changes.append(f"sorted by time ({total['rows_out_of_order']:,} rows out of order)")
    if total["duplicate_timestamps"]:
        where = f", first {duplicate}" if duplicate else ""
        changes.append(f"{total['duplicate_timestamps']:,} repeated time stamps{where}")
    if total["values_filled"]:
        changes.append(
            f"{total['values_filled']:,} missing values filled (nan_policy='{nan_policy}')"
        )
    if total["rows_dropped"]:
        changes.append(f"{total['rows_dropped']:,} rows dropped (nan_policy='{nan_policy}')")
    if total["blank_rows"]:
        parts.append(f"{total['blank_rows']:,} blank lines skipped")
    if first.get("skipped_columns"):
        parts.append("text columns left out: " + ", ".join(first["skipped_columns"]))
    if not changes:
        return "; ".join(parts) + "; unchanged", None
    warning = "the input was changed or looks wrong: " + "; ".join(changes)
    return "; ".join(parts + changes), warning + (
        " (results follow the sorted order)" if sorted_ else ""
    )


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


#: The metrics ``seqae evaluate`` reports, in order, with their display names.
METRIC_LABELS = {
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


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """``(display name, value)`` of :data:`METRIC_LABELS` in order, to 4 decimals ("n/a": none).

    >>> metric_rows({"precision": 0.5, "recall": None})[:2]
    [('precision', '0.5000'), ('recall', 'n/a')]
    """
    values = {key: metrics.get(key) for key in METRIC_LABELS}
    return [
        (label, "n/a" if values[key] is None else f"{values[key]:.4f}")
        for key, label in METRIC_LABELS.items()
    ]


def is_image_data(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds images (``.npy``/``.npz`` or a folder of PNG files), not sensors."""
    return Path(path).is_dir() or Path(path).suffix.lower() in (".npy", ".npz")


def describe_images(images: np.ndarray) -> str:
    """``"1,797 images of 1×8×8"``: an ``(N, H, W)`` or ``(N, C, H, W)`` array."""
    shape = images.shape[1:] if images.ndim == 4 else (1, *images.shape[1:])
    return f"{len(images):,} images of {'×'.join(map(str, shape))}"


def read_training_data(
    path: str | os.PathLike, reader: ReadOptions, nrows: int | None = None
) -> tuple[Any, str | None, str | None]:
    """Images (:func:`is_image_data`) or a sensor file, its first ``nrows`` rows or images when
    given: ``(data, reading summary, warning)`` (the two of :func:`reading_summary`; None for
    images)."""
    if is_image_data(path):
        from ..datasets import read_images

        data = read_images(path)
        if nrows is not None:
            data.images = data.images[:nrows]
        return data, None, None
    data = reader.read(path, nrows=nrows)
    return (data, *reading_summary([data.report], reader.nan_policy))


@dataclass
class FileScore:
    """What scoring one file found. The ``(T, C)`` arrays went to ``on_part``; the ``(T,)``
    ones are kept when asked for or when the file has a truth column to compare with."""

    n_rows: int
    n_anomalies: int
    channels: list[str]
    scores: np.ndarray | None
    labels: np.ndarray | None
    events: list[Any]
    truth: np.ndarray | None
    truth_name: str | None
    time_name: str | None
    seconds: float
    reports: list[dict[str, Any]]

    def quality(self, *, ranking: bool = True) -> dict[str, Any]:
        """:func:`seqae.metrics.evaluate` against the truth column, plus the events found."""
        from ..metrics import evaluate

        metrics = evaluate(self.truth, self.scores, self.labels, ranking=ranking)
        return {**metrics, "n_events": len(self.events)}

    def evaluation_summary(self, name: str, reading: str, model: str) -> list[tuple[str, str]]:
        """What ``seqae evaluate`` reports above its metric table, as ``(name, value)`` lines."""
        truth = 0 if self.truth is None else int(self.truth.sum())
        return [
            ("data", f"{name} ({self.n_rows:,} rows, labels {self.truth_name!r})"),
            ("input", reading),
            ("model", model),
            ("alarms", f"{self.n_anomalies:,} flagged rows, {truth:,} labelled anomalous"),
        ]

    def top_events(self, n: int) -> tuple[list[str], list[tuple[str, ...]]]:
        """The ``n`` events of highest peak score: column names and text rows (first and last
        row's time or index, rows, peak, top channels; a channel under 5 % left out)."""

        def when(time_text: str | None, index: int) -> str:
            if time_text is None:
                return str(index)
            whole, _, fraction = time_text.replace("T", " ").partition(".")
            return f"{whole}.{fraction.rstrip('0')}" if fraction.rstrip("0") else whole

        chosen = sorted(self.events, key=lambda e: e.peak_score, reverse=True)[:n]
        rows = [
            (
                when(e.start_time, e.start),
                when(e.end_time, e.end - 1),
                f"{e.duration:,}",
                f"{e.peak_score:.2f}",
                ", ".join(
                    f"{c} {s:.0%}" for i, (c, s) in enumerate(e.top_channels) if i == 0 or s >= 0.05
                ),
            )
            for e in chosen
        ]
        return ["first", "last", "rows", "peak", "top channels"], rows

    def summary(self, name: str, reading: str, model: str) -> list[tuple[str, str]]:
        """What ``seqae detect`` reports, as ``(name, value)`` lines: the data, what the reader
        did (``reading``), the ``model``, the rows scored, the anomalies, and against the truth
        column (when the file has one) point precision, recall, F1 and event F1."""

        def number(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        share = self.n_anomalies / max(self.n_rows, 1)
        took = f"{self.seconds:.1f} s" if self.seconds < 120 else f"{self.seconds / 60:.1f} min"
        items = [
            (
                "data",
                f"{name} ({_count(self.n_rows, 'row')}, {_count(len(self.channels), 'channel')})",
            ),
            ("input", reading),
            ("model", model),
            ("scored", f"{self.n_rows:,} rows in {took}"),
            (
                "anomalies",
                f"{self.n_anomalies:,} rows ({share:.2%}) in {len(self.events):,} events",
            ),
        ]
        if self.truth is not None:
            m = self.quality(ranking=False)
            found = ", ".join(
                f"{METRIC_LABELS[k]} {number(m[k])}"
                for k in ("precision", "recall", "f1", "event_f1")
            )
            items.append(("vs labels", f"column {self.truth_name!r}: {found}"))
        return items


def score_file(
    detector: Any,
    path: str | os.PathLike,
    options: ReadOptions,
    *,
    chunk_size: int = 100_000,
    reconstruction: bool = False,
    top_k: int = 3,
    writer: Any = None,
    keep_scores: bool = False,
    trained: Any = None,
    progress: Callable[[int], None] | None = None,
) -> FileScore:
    """Score ``path`` part by part; each final part goes to ``writer.write(part, times)`` (a
    :class:`~seqae.files.tables.TableWriter`) with its rows of the time column as read (None
    without one), under the file's own name for it.

    ``trained`` is a :class:`~seqae.policy.DetectorSource` whose detector was trained
    on this file: its detection from the training pass is used (the file is not scored twice).
    ``progress`` is called with the rows read so far.
    """
    from ..scoring.results import ScoredPart
    from .streaming import detect_file

    start = time.perf_counter()
    truth_name = options.truth_column(path)
    truth: list[np.ndarray] = []
    reports: list[dict[str, Any]] = []
    times: list[np.ndarray] = []
    no_times = False

    def read(chunks: Any) -> Any:
        nonlocal no_times
        n_read = 0
        for chunk in chunks:
            reports.append(chunk.report)
            values = getattr(chunk, "time_values", None)
            no_times = no_times or values is None
            if values is not None:
                times.append(as_written(values))
            if truth_name:
                truth.append(chunk.labels[truth_name])
            yield chunk
            n_read += len(chunk.values)
            if progress is not None:
                progress(n_read)

    def hand_on(part: Any) -> None:
        pending = None  # the time column of the part, taken even when unused: no pile-up
        if times and not no_times:
            pending = np.concatenate(times) if len(times) > 1 else times[0]
            times[:] = [pending[len(part) :]]
            pending = pending[: len(part)]
        if writer is not None:
            if reports and reports[0].get("time_column") and not writer.time_name:
                writer.time_name = str(reports[0]["time_column"])
            writer.write(part, pending)

    if trained is not None and trained.result is not None:
        data, result = trained.data, trained.result
        list(read([data]))
        stamps = None if data.timestamps is None else np.asarray(data.timestamps)
        hand_on(
            ScoredPart(
                0, result.scores, result.contributions, result.reconstruction, result.labels, stamps
            )
        )
    else:
        result = detect_file(
            detector,
            read(options.chunks(path, chunk_size)),
            on_part=hand_on,
            reconstruction=reconstruction,
            top_k=top_k,
            keep=keep_scores or truth_name is not None,  # else memory stays flat
        )
    labels = result.labels
    return FileScore(
        n_rows=len(labels) if labels is not None else result.n_rows,
        n_anomalies=int(labels.sum()) if labels is not None else result.n_anomalies,
        channels=list(detector.channels_),
        scores=result.scores,
        labels=labels,
        events=result.events,
        truth=np.concatenate(truth) if truth else None,
        truth_name=truth_name,
        time_name=(reports[0].get("time_column") if reports else None) or None,
        seconds=time.perf_counter() - start,
        reports=reports,
    )


def check_outputs(
    data: str | os.PathLike,
    output: str | os.PathLike | None,
    events: str | os.PathLike | None,
    fmt: str | None = None,
    flags: tuple[str, str] = ("output", "events"),
) -> str | None:
    """Refuse outputs that clash with ``data``, with each other or with their format; return
    the output's format (None without an output). Nothing is created."""
    from ..errors import ParameterError
    from ..files.tables import output_format, stream_fd

    fds = [stream_fd(p) for p in (output, events) if p is not None]
    if len(fds) == 2 and fds[0] is not None and fds[0] == fds[1]:
        raise ParameterError(
            f"{flags[0]} and {flags[1]} both ask for stdout; send one of them to a file"
        )
    fmt = None if output is None else output_format(output, fmt, flags[0])
    if fmt == "parquet" and stream_fd(output) is not None:  # type: ignore[arg-type]
        raise ParameterError(
            f"{flags[0]}: Parquet cannot be written to stdout; write csv or json, or a file"
        )
    for flag, path in zip(flags, (output, events), strict=True):
        if path is not None and stream_fd(path) is None and stream_fd(data) is None:
            if Path(path).resolve() == Path(data).resolve():
                raise ParameterError(f"{flag} is DATA itself; write the results to another file")
    return fmt


def detect_to_outputs(
    data: str | os.PathLike,
    reader: ReadOptions,
    options: dict[str, Any],
    *,
    model: Any = None,
    model_name: str | None = None,
    output: str | os.PathLike | None = None,
    events: str | os.PathLike | None = None,
    fmt: str | None = None,
    contributions: bool = False,
    reconstruction: bool = False,
    name: str | None = None,
    flags: tuple[str, str] = ("output", "events"),
    keep_scores: bool = False,
    check: Callable[[], None] | None = None,
    callback: Any = None,
    status: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Any, FileScore]:
    """``seqae detect`` as one call: check and open the outputs, obtain the detector (``model``
    or the default trained as :func:`seqae.policy.obtain_detector` decides), score ``data`` part
    by part into ``output`` (one row per timestep, the time column under its own name) and write
    the events as JSON to ``events``. Outputs appear complete or not at all. ``keep_scores``
    and ``check`` are as in :func:`score_file` and :func:`seqae.policy.obtain_detector`.

    Returns the :class:`~seqae.policy.DetectorSource` and the :class:`FileScore`.
    """
    from ..files.tables import OutputFiles, TableWriter, events_document
    from ..policy import obtain_detector

    fmt = check_outputs(data, output, events, fmt, flags)
    with OutputFiles() as files:  # output paths are checked (and opened) before any work
        out = None if output is None else files.open(output, flags[0], binary=fmt == "parquet")
        events_out = None if events is None else files.open(events, flags[1])
        source = obtain_detector(
            data,
            reader,
            options,
            model=model,
            model_name=model_name,
            callback=callback,
            status=status,
            check=check,
            reconstruction=reconstruction and out is not None,
        )
        writer = None
        if out is not None:
            channels = list(source.detector.channels_)
            writer = TableWriter(
                out,
                fmt or "csv",
                channels,
                contributions=contributions,
                reconstruction=reconstruction,
            )
        found = score_file(
            source.detector,
            data,
            reader,
            chunk_size=options.get("chunk_size") or 100_000,
            reconstruction=reconstruction and writer is not None,
            writer=writer,
            trained=source,
            progress=progress,
            keep_scores=keep_scores,
        )
        if writer is not None:
            writer.close()
        if events_out is not None:
            events_out.write(
                events_document(
                    name or str(data), found.n_rows, found.channels, found.n_anomalies, found.events
                )
            )
            events_out.flush()
    return source, found


@dataclass
class ImageScore:
    """What :func:`detect_images_to_output` found: one row per image in ``table``."""

    table: Any
    result: Any
    images: Any
    seconds: float

    def summary(self, name: str, model: str) -> list[tuple[str, str]]:
        """``(name, value)`` lines: the images, the model, the time, the anomalies."""
        n, flagged = len(self.table), self.result.n_anomalies
        return [
            ("data", f"{name} ({describe_images(self.images.images)})"),
            ("model", model),
            ("scored", f"{n:,} images in {self.seconds:.1f} s"),
            ("anomalies", f"{flagged:,} images ({flagged / max(n, 1):.2%})"),
        ]

    def top(self, n: int) -> tuple[list[str], list[list[Any]]]:
        """The ``n`` highest-scoring images: column names and rows (scores to 3 decimals)."""
        top = self.table.sort_values("score", ascending=False).head(n)
        columns = [c for c in ("image", "name", "score", "label") if c in top]
        rows = [
            [f"{v:.3f}" if c == "score" else v for c, v in zip(columns, row, strict=True)]
            for row in top[columns].itertuples(index=False)
        ]
        return columns, rows


def detect_images_to_output(
    path: str | os.PathLike,
    detector: Any,
    output: str | os.PathLike | None = None,
    fmt: str | None = None,
    flag: str = "output",
) -> ImageScore:
    """Score the images of ``path`` (:func:`seqae.datasets.read_images`) and write one row per
    image (index, file name where known, score, label) to ``output``."""
    from ..datasets import read_images
    from ..files.tables import OutputFiles, TableWriter

    images = read_images(path)
    start = time.perf_counter()
    result = detector.detect(images.images)
    took = time.perf_counter() - start
    table = result.to_frame()
    if images.names is not None:
        table.insert(1, "name", images.names)
    if output is not None:
        with OutputFiles() as files:
            stream = files.open(output, flag, binary=fmt == "parquet")
            writer = TableWriter(stream, fmt or "csv", [])
            writer.write_frame(table)
            writer.close()
    return ImageScore(table, result, images, took)


def _count(n: int, noun: str) -> str:
    """``"1 channel"``, ``"3,000 rows"``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
