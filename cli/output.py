"""What the commands write: output paths checked before any work, files renamed into place only
when complete, scored rows as CSV / JSON / Parquet, events as JSON, and plain-text tables."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from seqae.errors import ParameterError
from seqae.files.atomic import atomic_path, is_special_file


# ---------------------------------------------------------------------------------- files
def output_format(path: Path, given: str | None) -> str:
    """The output format: ``--format`` when given, else from the extension, else CSV."""
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".json", ".jsonl"):
        return "json"
    return "csv"


def prepare_output(path: str | os.PathLike, flag: str = "--output") -> Path:
    """Check an output path (before any work is done) and create its folder."""
    path = Path(path)
    if path.is_dir():
        raise ParameterError(
            f"{flag} {path} is a folder; give a file name such as {path / 'out.csv'}"
        )
    if is_special_file(path):
        return path  # a device or pipe: written directly
    return prepare_parent(path, flag)


def prepare_parent(path: Path, flag: str = "--output") -> Path:
    """Create the folder ``path`` (a link: its target) will be written in; refuse, naming
    ``flag``, a folder that cannot be created or written."""
    real = Path(os.path.realpath(path))
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            f"{flag} {path}: cannot create folder {real.parent}: {exc.strerror or exc}"
        ) from None
    try:  # the real test (root passes os.access checks that the file system then refuses)
        with tempfile.TemporaryFile(dir=real.parent):
            pass
    except OSError as exc:
        raise ParameterError(
            f"{flag} {path}: cannot write in folder {real.parent}: {exc.strerror or exc}"
        ) from None
    return path


class AtomicFiles:
    """Temporary files beside their targets, renamed into place only when all succeeded.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with AtomicFiles() as files:
    ...     _ = files.temp(folder / "out.txt").write_text("done")
    >>> (folder / "out.txt").read_text()
    'done'
    """

    def __init__(self) -> None:
        self._pending: list[Any] = []

    def temp(self, target: str | os.PathLike, flag: str = "--output") -> Path:
        """A temporary path in ``target``'s folder; becomes ``target`` on success."""
        target = prepare_output(target, flag)
        context = atomic_path(target)
        try:
            tmp = context.__enter__()
        except OSError as exc:
            raise ParameterError(
                f"{flag} {target}: cannot write there: {exc.strerror or exc}"
            ) from None
        self._pending.append(context)
        return tmp

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        # Rename only when every output is complete; otherwise remove them all.
        for context in self._pending:
            context.__exit__(kind, exc, tb)


# ---------------------------------------------------------------------------------- tables
class PartWriter:
    """Write scored parts, in order, as CSV, JSON (an array of records) or Parquet."""

    def __init__(
        self,
        path: Path | Any,
        fmt: str,
        channels: list[str],
        *,
        contributions: bool,
        reconstruction: bool,
    ) -> None:
        self.path, self.fmt, self.channels = path, fmt, channels
        self.contributions, self.reconstruction = contributions, reconstruction
        self.n_rows = 0
        self._parquet: Any = None
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ParameterError(
                    "--format parquet needs pyarrow: pip install pyarrow "
                    "(or pip install 'seqae[parquet]'), or write CSV or JSON"
                ) from None
        self._own = isinstance(path, (str, Path))  # else an open text stream (stdout)
        if fmt == "parquet" or not self._own:
            self._fh = None if fmt == "parquet" else path
        else:
            self._fh = open(path, "w", encoding="utf-8", newline="")

    def frame(self, part: Any, times: np.ndarray | None = None) -> Any:
        """The part's rows: the time column as read (else the part's time stamps, else the
        row index), score, label and the channel blocks asked for."""
        from seqae.scoring.results import score_frame

        return score_frame(
            part.scores,
            part.labels,
            self.channels,
            time=times if times is not None else part.timestamps,
            index=np.arange(part.start, part.stop),
            contributions=part.contributions if self.contributions else None,
            reconstruction=part.reconstruction if self.reconstruction else None,
        )

    def write(self, part: Any, times: np.ndarray | None = None) -> None:
        df = self.frame(part, times)
        first = self.n_rows == 0
        if self.fmt == "csv":
            df.to_csv(self._fh, header=first, index=False, float_format="%.7g")
        elif self.fmt == "json":
            lines = df.to_json(orient="records", lines=True, date_format="iso").strip()
            self._fh.write(("[\n" if first else ",\n") + lines.replace("\n", ",\n"))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table_ = pa.Table.from_pandas(df, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table_.schema)
            self._parquet.write_table(table_)
        self.n_rows += len(df)

    def close(self) -> None:
        if self._fh is not None:
            if self.fmt == "json":
                self._fh.write("\n]\n" if self.n_rows else "[]\n")
            if self._own:
                self._fh.close()
            else:
                self._fh.flush()
        if self._parquet is not None:
            self._parquet.close()


def write_table(df: Any, path: Path, fmt: str) -> None:
    """Write a whole table (e.g. :meth:`DetectionResult.to_frame`) as CSV, JSON or Parquet."""
    if fmt == "csv":
        df.to_csv(path, index=False, float_format="%.7g")
    elif fmt == "json":
        path.write_text(df.to_json(orient="records", indent=1) + "\n", encoding="utf-8")
    else:
        try:
            df.to_parquet(path, index=False)
        except ImportError:
            raise ParameterError(
                "--format parquet needs pyarrow: pip install pyarrow, or write CSV or JSON"
            ) from None


def events_document(outcome: Any, data: str) -> str:
    """The events of a scored file (``n_rows``, ``channels``, ``events``, ...) as JSON."""
    doc = {
        "source": data,
        "n_rows": outcome.n_rows,
        "channels": outcome.channels,
        "n_anomalies": outcome.n_anomalies,
        "n_events": len(outcome.events),
        "events": [event.to_dict() for event in outcome.events],
    }
    return json.dumps(doc, indent=2) + "\n"


# ------------------------------------------------------------------------------------ text
def table(rows: Sequence[Sequence[Any]], header: Sequence[str], right: Sequence[int] = ()) -> str:
    """Plain aligned text: one header line, then the rows (columns in ``right`` align right)."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    """``name: value`` lines with the values aligned."""
    width = max(len(name) for name, _ in items)
    return "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in items)


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _when(time_text: str | None, index: int) -> str:
    if time_text is None:
        return str(index)
    text = time_text.replace("T", " ")
    if "." in text:
        whole, fraction = text.split(".", 1)
        fraction = fraction.rstrip("0")
        text = f"{whole}.{fraction}" if fraction else whole
    return text


def events_table(events: list[Any], top: int) -> str:
    """The ``top`` events by peak score as a text table."""
    chosen = sorted(events, key=lambda e: e.peak_score, reverse=True)[:top]
    rows = [
        (
            _when(e.start_time, e.start),
            _when(e.end_time, e.end - 1),
            f"{e.duration:,}",
            f"{e.peak_score:.2f}",
            _channels(e.top_channels),
        )
        for e in chosen
    ]
    return table(rows, ("first", "last", "rows", "peak", "top channels"), right=(2, 3))


def _channels(top: tuple[tuple[str, float], ...]) -> str:
    """The leading channels with their shares; those under 5 % are left out."""
    shown = [(name, share) for i, (name, share) in enumerate(top) if i == 0 or share >= 0.05]
    return ", ".join(f"{name} {share:.0%}" for name, share in shown)


def warn(message: str) -> None:
    """A warning line on stderr (always: it is about the results, not progress)."""
    click.echo(f"Warning: {message}", err=True)
