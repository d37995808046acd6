"""What the commands read or build: sensor files (with the library's label detection), images,
saved models, and the detector a command trains."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from seqae.errors import DataError, ModelFormatError, ParameterError

from .options import STDIO
from .progress import EpochProgress, clear_status, status


# ------------------------------------------------------------------------------ sensor data
@dataclass
class DataOptions:
    """How to read a sensor file: time column, channels, labels and NaN policy."""

    time_column: str | None = "auto"
    columns: list[str] | None = None
    label_column: str | None = "auto"  # a name, "auto" (the reader finds them) or None
    nan_policy: str = "error"
    labels: dict[str, list[str] | None] = field(default_factory=dict)  # per file, once known
    model_channels: set[str] = field(default_factory=set)  # never taken as labels
    names: dict[str, str] = field(default_factory=dict)  # a copy of stdin -> "<stdin>"

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> DataOptions:
        time_column = params.get("time_column", "auto")
        label = params.get("label_column", "auto")
        return cls(
            time_column=None if time_column.lower() == "none" else time_column,
            columns=params.get("columns"),
            label_column=None if label.lower() == "none" else label,
            nan_policy=params.get("nan_policy", "error"),
        )

    def label_columns(self, path: str | os.PathLike) -> list[str] | None:
        """The label columns of ``path``: the one named, those found when it was read, or
        (not read yet) those the library finds in its first rows."""
        key = str(path)
        if key not in self.labels:
            if self.label_column != "auto":
                self.labels[key] = None if self.label_column is None else [self.label_column]
            else:
                self.labels[key] = self._find_labels(path)
        return self.labels[key]

    def truth_column(self, path: str | os.PathLike) -> str | None:
        """The ground-truth column (the first label column), if any."""
        names = self.label_columns(path)
        return names[0] if names else None

    def _find_labels(self, path: str | os.PathLike) -> list[str] | None:
        from seqae.datasets import find_label_columns

        found = find_label_columns(
            path,
            time_column=self.time_column,
            not_labels=[*(self.columns or ()), *self.model_channels],
            name=self.name(path),
        )
        return found or None

    def name(self, path: str | os.PathLike) -> str:
        """How messages call ``path`` (``<stdin>`` for a copy of standard input)."""
        return self.names.get(str(path), str(path))

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
        """The whole file (or its first ``nrows`` rows) as SensorData; label columns not
        known yet are found in this read, and kept for the file's later reads."""
        from seqae.datasets import read_sensors

        key = str(path)
        labels = self.labels[key] if key in self.labels else self.label_column  # or "auto"
        status(f"reading {self.name(path)} ...")
        data = read_sensors(path, nrows=nrows, **self._kwargs(path, labels))
        clear_status()
        self.labels.setdefault(key, list(data.labels) if data.labels else None)
        return data

    def chunks(self, path: str | os.PathLike, chunksize: int) -> Iterator[Any]:
        """The file as SensorData chunks of about ``chunksize`` rows."""
        from seqae.datasets import iter_sensor_chunks

        return iter_sensor_chunks(path, chunksize, **self._kwargs(path, self.label_columns(path)))

    def local(self, ctx: click.Context, path: Path) -> Path:
        """``path`` as a regular file: standard input (``-``), a pipe or a process
        substitution is copied to a temporary file first (removed when the command ends),
        as the reader goes over a file twice (its format, then its rows)."""
        if str(path) != STDIO and (not path.exists() or path.is_file() or path.is_dir()):
            return path
        folder = Path(tempfile.mkdtemp(prefix="seqae-input-"))
        ctx.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
        copy = folder / "input"
        shown = "<stdin>" if str(path) == STDIO else str(path)
        status(f"reading {shown} ...")
        with contextlib.ExitStack() as stack:
            if str(path) == STDIO:
                source = sys.stdin.buffer
            else:
                source = stack.enter_context(open(path, "rb"))
            with open(copy, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        clear_status()
        self.names[str(copy)] = shown
        return copy


def input_summary(reports: Sequence[dict[str, Any]], nan_policy: str) -> tuple[str, str | None]:
    """What the reader did to the data: ``(summary line, warning or None)``.

    ``reports`` are the :attr:`SensorData.report` of the parts read, in order. The warning
    lists what changed the data (sorting, filled values, dropped rows) or may be wrong with it
    (repeated time stamps).

    Examples
    --------
    >>> input_summary([{"rows_read": 1200, "rows": 1200}], "error")
    ('1,200 rows read, 1,200 kept; unchanged', None)
    >>> input_summary([{"rows_read": 10, "rows": 9, "rows_dropped": 1}], "drop")[1]
    'the input was changed or looks wrong: 1 rows dropped (--nan-policy drop)'
    """
    total = {
        key: sum(int(r.get(key) or 0) for r in reports)
        for key in ("rows_read", "rows", "blank_rows", "rows_dropped", "values_filled",
                    "rows_out_of_order", "duplicate_timestamps")
    }  # fmt: skip
    first = reports[0] if reports else {}
    duplicate = next((r["first_duplicate"] for r in reports if r.get("first_duplicate")), None)
    sorted_ = any(r.get("sorted_by_time") for r in reports)
    parts = [f"{total['rows_read']:,} rows read, {total['rows']:,} kept"]
    changes = []
    if first.get("time_column"):
        parts.append(f"time column {first['time_column']!r}")
    if sorted_:
        changes.append(f"sorted by time ({total['rows_out_of_order']:,} rows out of order)")
    if total["duplicate_timestamps"]:
        where = f", first {duplicate}" if duplicate else ""
        changes.append(f"{total['duplicate_timestamps']:,} repeated time stamps{where}")
    if total["values_filled"]:
        filled = f"{total['values_filled']:,} missing values filled"
        changes.append(f"{filled} (--nan-policy {nan_policy})")
    if total["rows_dropped"]:
        changes.append(f"{total['rows_dropped']:,} rows dropped (--nan-policy {nan_policy})")
    if total["blank_rows"]:
        parts.append(f"{total['blank_rows']:,} blank lines skipped")
    if first.get("skipped_columns"):
        parts.append("text columns left out: " + ", ".join(first["skipped_columns"]))
    line = "; ".join(parts + changes) if changes else "; ".join(parts) + "; unchanged"
    warning = None
    if changes:
        warning = "the input was changed or looks wrong: " + "; ".join(changes)
        if sorted_:
            warning += " (results follow the sorted order)"
    return line, warning


# ----------------------------------------------------------------------------------- images
IMAGE_SUFFIXES = (".npy", ".npz")


def is_image_data(path: str | os.PathLike) -> bool:
    """True for image data: a ``.npy``/``.npz`` array or a folder of image files.

    Examples
    --------
    >>> is_image_data("digits.npz"), is_image_data("sensors.csv")
    (True, False)
    """
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES


def read_image_data(path: str | os.PathLike, limit: int | None = None) -> Any:
    """Images of ``path`` (see :func:`seqae.datasets.read_images`), the first ``limit`` only."""
    from seqae.datasets import read_images

    data = read_images(path)
    if limit is not None:
        data.images = data.images[:limit]
        data.labels = None if data.labels is None else data.labels[:limit]
        data.names = None if data.names is None else data.names[:limit]
    return data


def describe_images(data: Any) -> str:
    """``"1,797 images of 1×8×8"``."""
    shape = data.images.shape[1:] if data.images.ndim == 4 else (1, *data.images.shape[1:])
    return f"{len(data.images):,} images of {'×'.join(map(str, shape))}"


# ----------------------------------------------------------------------------------- models
def is_onnx(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def load_model(path: str | os.PathLike, device: str | None = None) -> Any:
    """A saved Detector (folder or ``.safetensors``) or an exported ``.onnx`` OnnxDetector."""
    from seqae.files.loader import load_detector

    check_model_path(path)
    return load_detector(path, device=device or "cpu")


def network_name(detector: Any) -> str:
    """``"conv1d"``, or ``"conv1d ×2"`` for two networks scoring together."""
    n = int(getattr(detector, "n_networks", 1) or 1)
    return f"{detector.model} ×{n}" if n > 1 else str(detector.model)


def epochs_run(history: dict[str, Any]) -> str:
    """``"20 epochs"``; ``"20 epochs each"`` or ``"20+14 epochs"`` for several networks."""
    counts = [len(h["epochs"]) for h in history.get("networks", [history])]
    if len(set(counts)) == 1:
        return f"{counts[0]} epochs" + (" each" if len(counts) > 1 else "")
    return "+".join(map(str, counts)) + " epochs"


def check_model_path(path: str | os.PathLike) -> None:
    """Refuse, with a clear message, a path that cannot be a model (a CSV, say)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() not in (".safetensors", ".onnx"):
        raise ModelFormatError(
            f"{path}: not a seqae model; give a model folder or a .safetensors file "
            "(from seqae train) or an .onnx file (from seqae export)"
        )


def set_alarm_line(detector: Any, level: float) -> None:
    """Put the alarm line at ``level``, a raw reconstruction error, as ``Detector(threshold=
    level)`` and ``Detector.set_threshold(level)`` do (``seqae info`` shows the fitted one).

    Scores stay normalised: after the move, 1.0 is the new line.
    """
    if not hasattr(detector, "set_threshold"):
        raise ParameterError("--threshold NUMBER works with seqae models, not exported .onnx files")
    detector.set_threshold(level)


def training_detector(
    *,
    seed: int | None = 0,
    steps_per_epoch: int | None = None,
    distributed: bool = False,
    **params: Any,
) -> Any:
    """The Detector the commands train: ``Detector()`` defaults, overridden by the ``params``
    that are not None, seeded by ``seed`` (reproducible runs), each epoch capped at
    ``steps_per_epoch`` batches when given (0: no cap), data-parallel under torchrun with
    ``distributed``."""
    from seqae import Detector

    kwargs: dict[str, Any] = {"random_state": seed}
    if steps_per_epoch is not None:
        kwargs["steps_per_epoch"] = steps_per_epoch or None
    if distributed:
        kwargs["train_params"] = {"distributed": True}
    kwargs.update({k: v for k, v in params.items() if v is not None})
    return Detector(**kwargs)


def fit_detector(detector: Any, data: Any, fit: Callable[..., Any] | None = None) -> float:
    """Fit with a per-epoch progress bar on a terminal; return the seconds taken.

    ``fit`` replaces ``detector.fit`` (same arguments), e.g. to keep what
    ``detector.fit_detect`` returns."""
    images = getattr(data, "images", None)  # an ImageSet: no frames
    if images is None and len(data.values) < detector.frame:
        raise DataError(
            f"{data.source}: {len(data.values)} rows, fewer than one frame of {detector.frame}: "
            "give more rows or a smaller --frame"
        )
    start = time.perf_counter()
    n = f"{len(images):,} images" if images is not None else f"{len(data.values):,} rows"
    status(f"training {detector.model} on {n} ...")
    with EpochProgress() as progress:
        (fit or detector.fit)(data if images is None else images, callback=progress)
    clear_status()
    return time.perf_counter() - start
