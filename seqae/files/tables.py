"""Scored rows and events written out: CSV, JSON or Parquet by what the file name says, complete
or not at all.

An output path is checked before any work (:class:`OutputFiles`): its folder must exist and be
writable (nothing is created), a name that is a folder is refused, and so is an extension with
no writer here (``.xlsx``). A stream (``-``, ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``,
``/proc/self/fd/N``, a pipe or a device) is written directly; a file goes to a temporary file
beside it, renamed into place only when every output of the run is complete.

Examples
--------
>>> output_format("scores.parquet"), output_format("scores.json"), output_format("-")
('parquet', 'json', 'csv')
>>> output_format("scores.xlsx")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
seqae.errors.ParameterError: output scores.xlsx: cannot write .xlsx files; name a .csv, ...
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import ParameterError
from .atomic import atomic_path, is_special_file

__all__ = [
    "FORMATS",
    "OutputFiles",
    "TableWriter",
    "events_document",
    "output_format",
    "regular_file",
    "stream_of",
    "write_json",
]

#: Output formats by file extension.
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
STDIO = "-"
_FD = re.compile(r"^/(?:dev/fd|proc/self/fd|proc/\d+/fd)/(\d+)$")


def output_format(path: str | os.PathLike, given: str | None = None, flag: str = "output") -> str:
    """The format of an output: ``given`` when set, else from the extension (none: CSV)."""
    if given:
        return given
    suffix = Path(path).suffix.lower()
    if not suffix or stream_fd(path) is not None or str(path) == STDIO:
        return "csv"
    if suffix not in FORMATS:
        raise ParameterError(
            f"{flag} {path}: cannot write {suffix} files; name a .csv, .json or .parquet file "
            "(or give the format)"
        )
    return FORMATS[suffix]


def stream_fd(path: str | os.PathLike) -> int | None:
    """The file descriptor a path names as a stream (``-`` and ``/dev/stdout``: 1), else None.

    The name is what counts, not where its link leads: standard output captured to a deleted
    file must still be written through the descriptor, never replaced by a new file.
    """
    text = os.fspath(path)
    named = {STDIO: 1, "/dev/stdout": 1, "/dev/stderr": 2, "/dev/stdin": 0}
    if text in named:
        return named[text]
    match = _FD.match(text)
    return int(match.group(1)) if match else None


def stream_of(path: str | os.PathLike, binary: bool = False) -> IO[Any] | None:
    """An open stream to write ``path`` directly, or None for a file to replace atomically."""
    fd = stream_fd(path)
    if fd in (1, 2):
        stream = sys.stdout if fd == 1 else sys.stderr
        return stream.buffer if binary and hasattr(stream, "buffer") else stream
    if fd is not None:
        return os.fdopen(os.dup(fd), "wb" if binary else "w", closefd=True)
    if is_special_file(path):  # a named pipe or a device
        return open(path, "wb" if binary else "w")
    return None


def check_output(path: str | os.PathLike, flag: str = "output", *, folder: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written: a folder (unless ``folder``:
    the output is one), a missing folder (never created), a folder that is not writable."""
    path = Path(path)
    if stream_fd(path) is not None or is_special_file(path):
        return path
    if path.is_dir() and not folder:
        raise ParameterError(
            f"{flag} {path} is a folder; give a file name such as {path / 'out.csv'}"
        )
    parent = Path(os.path.realpath(path)).parent
    if not parent.is_dir():
        raise ParameterError(f"{flag} {path}: no folder {parent}; create it first")
    try:  # the real test: root passes os.access checks that the file system then refuses
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise ParameterError(
            f"{flag} {path}: cannot write in folder {parent}: {exc.strerror}"
        ) from None
    return path


class OutputFiles:
    """The outputs of one run: streams written directly, files renamed into place only when all
    succeeded (otherwise none is left behind).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with OutputFiles() as files:
    ...     _ = files.open(folder / "out.txt").write("done")
    >>> (folder / "out.txt").read_text()
    'done'
    """

    def __init__(self) -> None:
        self._pending: list[Any] = []
        self._open: list[IO[Any]] = []

    def temp(self, target: str | os.PathLike, flag: str = "output") -> Path:
        """A temporary path beside ``target`` (checked first) that becomes ``target``."""
        context = atomic_path(check_output(target, flag))
        tmp = context.__enter__()
        self._pending.append(context)
        return tmp

    def open(
        self, target: str | os.PathLike, flag: str = "output", binary: bool = False
    ) -> IO[Any]:
        """``target`` open for writing: the stream itself, or a temporary file (:meth:`temp`)."""
        stream = stream_of(check_output(target, flag), binary)
        if stream is None:
            mode = "wb" if binary else "w"
            kw = {} if binary else {"encoding": "utf-8", "newline": ""}
            stream = open(self.temp(target, flag), mode, **kw)
            self._open.append(stream)
        elif stream not in (sys.stdout, sys.stderr, sys.stdout.buffer, sys.stderr.buffer):
            self._open.append(stream)
        return stream

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        for stream in self._open:
            stream.close()
        for context in self._pending:  # rename only when every output is complete
            context.__exit__(kind, exc, tb)


class TableWriter:
    """Scored parts (:class:`~seqae.scoring.results.ScoredPart`), in order, as rows of CSV, JSON
    (an array of records) or Parquet, with the columns of
    :func:`~seqae.scoring.results.score_frame`; the time column keeps ``time_name``."""

    def __init__(
        self,
        stream: IO[Any],
        fmt: str,
        channels: list[str],
        *,
        contributions: bool = False,
        reconstruction: bool = False,
        time_name: str | None = None,
    ) -> None:
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ParameterError(
                    "format parquet needs pyarrow: pip install pyarrow, or write CSV or JSON"
                ) from None
            if getattr(stream, "isatty", lambda: False)() or stream_is_text(stream):
                raise ParameterError(
                    "Parquet cannot be written to a text stream; write CSV or JSON"
                )
        self.stream, self.fmt, self.channels = stream, fmt, channels
        self.contributions, self.reconstruction = contributions, reconstruction
        self.time_name = time_name
        self.n_rows = 0
        self._parquet: Any = None

    def frame(self, part: Any, times: np.ndarray | None = None) -> Any:
        """The rows of ``part``: its time (``times`` as read, else its time stamps, else the row
        index), score, label and the channel blocks asked for."""
        from ..scoring.results import score_frame

        df = score_frame(
            part.scores,
            part.labels,
            self.channels,
            time=times if times is not None else part.timestamps,
            index=np.arange(part.start, part.stop),
            contributions=part.contributions if self.contributions else None,
            reconstruction=part.reconstruction if self.reconstruction else None,
            time_name=self.time_name,
        )
        return df

    def write(self, part: Any, times: np.ndarray | None = None) -> None:
        self.write_frame(self.frame(part, times))

    def write_frame(self, df: Any) -> None:
        """Append a table with the columns of the first one."""
        first = self.n_rows == 0
        if self.fmt == "csv":
            df.to_csv(self.stream, header=first, index=False, float_format="%.7g")
        elif self.fmt == "json":
            lines = df.to_json(orient="records", lines=True, date_format="iso").strip()
            self.stream.write(("[\n" if first else ",\n") + lines.replace("\n", ",\n"))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.stream, table.schema)
            self._parquet.write_table(table)
        self.n_rows += len(df)

    def close(self) -> None:
        """End the table (a JSON array's bracket, Parquet's footer) and flush the stream."""
        if self.fmt == "json":
            self.stream.write("\n]\n" if self.n_rows else "[]\n")
        if self._parquet is not None:
            self._parquet.close()
        self.stream.flush()


def stream_is_text(stream: Any) -> bool:
    return hasattr(stream, "encoding") and not hasattr(stream, "raw")


def events_document(
    source: str, n_rows: int, channels: Sequence[str], n_anomalies: int, events: Sequence[Any]
) -> str:
    """The events of a scored file as JSON (``source``, ``n_rows``, ``events``, ...)."""
    doc = {
        "source": source,
        "n_rows": n_rows,
        "channels": list(channels),
        "n_anomalies": n_anomalies,
        "n_events": len(events),
        "events": [event.to_dict() for event in events],
    }
    return json.dumps(doc, indent=2) + "\n"


def write_json(path: str | os.PathLike, value: Any) -> None:
    """``value`` as indented JSON in ``path``, written atomically (dates and such as text)."""
    from .atomic import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(value, indent=1, default=str) + "\n").encode())


@contextlib.contextmanager
def regular_file(
    path: str | os.PathLike, names: MutableMapping[str, str] | None = None
) -> Iterator[Path]:
    """``path`` as a regular file while the context lasts: standard input (``-``), a pipe or a
    process substitution is copied to a temporary file first (removed on exit), as a reader goes
    over a file twice (its format, then its rows). ``names`` (as
    :attr:`~seqae.scale.filescoring.ReadOptions.names`) learns how messages call the copy.

    Examples
    --------
    >>> with regular_file("sensors.csv") as path:  # a file (or a missing one) is left as it is
    ...     str(path)
    'sensors.csv'
    """
    path = Path(path)
    if str(path) != STDIO and (not path.exists() or path.is_file() or path.is_dir()):
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="seqae-input-"))
    try:
        copy = folder / "input"
        with open(copy, "wb") as out:
            if str(path) == STDIO:
                shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
            else:
                with open(path, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        if names is not None:
            names[str(copy)] = "<stdin>" if str(path) == STDIO else str(path)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)
