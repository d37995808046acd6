"""Read multichannel sensor tables (CSV or Parquet) into validated float32 arrays.

One validation path serves every entry point: :func:`read_sensors` (a whole file),
:func:`iter_sensor_chunks` (a file in bounded-memory chunks) and :func:`sensors_from_frame`
(a DataFrame already in memory). It picks the time, channel and label columns, converts the
channels to numbers, applies the NaN/inf policy, sorts by time and reports what it did.

Rows in error messages are 1-based data rows: row 1 is the first line after the header. For
CSV files the file line is given too (line = row + 1; a quoted field spanning several lines
shifts the count).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from seqae.errors import DataError, ParameterError

__all__ = [
    "LABEL_NAMES",
    "NanPolicy",
    "SensorData",
    "find_label_columns",
    "iter_sensor_chunks",
    "read_sensors",
    "sensors_from_frame",
]

NanPolicy = Literal["error", "interpolate", "ffill", "drop"]
_NAN_POLICIES = ("error", "interpolate", "ffill", "drop")
_SNIFF_BYTES = 65536
_SNIFF_LINES = 50
_SEPARATORS = (",", ";", "\t")
# Column names (lower case, letters only) taken as the time column by time_column="auto".
_TIME_NAMES = frozenset(
    {"time", "timestamp", "datetime", "date", "timeutc", "timestamputc", "datetimeutc"}
)
# What a text time stamp has to contain to be taken for one: a date or a clock time.
_DATE_LIKE = re.compile(r"\d{1,4}[-/]\d{1,2}[-/]\d{1,4}|\d{1,2}\.\d{1,2}\.\d{2,4}|\d{1,2}:\d{2}")
#: Names (lower case) of 0/1 columns that ``label_columns="auto"`` takes for ground truth.
LABEL_NAMES = ("anomaly", "anomalies", "is_anomaly", "label", "labels", "changepoint")
_INDEX = object()  # marks "the DataFrame's index is the time column"

_OPENERS: dict[str, Callable[..., IO[bytes]]] = {
    "gzip": gzip.open,
    "bz2": bz2.open,
    "xz": lzma.open,
}
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))


@dataclass(frozen=True)
class SensorData:
    """A validated multichannel stream.

    Attributes
    ----------
    values : numpy.ndarray
        float32 array of shape ``(T, C)``, C-contiguous, finite.
    channels : list of str
        The C channel names, in column order.
    timestamps : pandas.Index or None
        A ``DatetimeIndex`` (or a float index for numeric time stamps such as epoch seconds),
        sorted; None when the data has no time column.
    labels : dict of str to numpy.ndarray, or None
        int8 0/1 arrays of length T, one per requested label column; None when no label
        columns were requested.
    source : str
        The file path, or ``"<DataFrame>"``.
    report : dict
        What reading found and did, JSON-ready: ``rows_read``, ``rows`` (kept),
        ``blank_rows`` (CSV), ``nan_counts`` / ``inf_counts`` (per channel, non-zero only),
        ``rows_dropped``, ``values_filled``, ``rows_out_of_order`` and ``sorted_by_time``,
        ``duplicate_timestamps`` and ``first_duplicate``, ``skipped_columns``,
        ``time_column``, ``nan_policy``, ``format``; for CSV also ``separator``,
        ``encoding`` and ``compression``; for chunks ``first_row``.
    time_values : numpy.ndarray or None
        The time column as read, row for row with ``values`` (text as text, epoch integers as
        integers, zone-aware times with their zone), so a writer can give it back unchanged;
        None when the data has no time column or was built without it.

    Examples
    --------
    >>> import numpy as np
    >>> data = SensorData(np.zeros((4, 2), dtype=np.float32), ["a", "b"])
    >>> data.n_timesteps, data.n_channels, data.label is None
    (4, 2, True)
    """

    values: np.ndarray
    channels: list[str]
    timestamps: pd.Index | None = None
    labels: dict[str, np.ndarray] | None = None
    source: str = "<DataFrame>"
    report: dict[str, Any] = field(default_factory=dict)
    time_values: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.channels):
            raise ParameterError(
                f"values must have shape (T, {len(self.channels)}) to match channels "
                f"{self.channels}, got {self.values.shape}"
            )
        n = self.values.shape[0]
        lengths = {
            "timestamps": None if self.timestamps is None else len(self.timestamps),
            "time_values": None if self.time_values is None else len(self.time_values),
        }
        lengths.update({f"label {k!r}": len(v) for k, v in (self.labels or {}).items()})
        for what, length in lengths.items():
            if length is not None and length != n:
                raise ParameterError(f"{what} has length {length}, values has {n} rows")

    @property
    def n_timesteps(self) -> int:
        """Number of timesteps T."""
        return int(self.values.shape[0])

    @property
    def n_channels(self) -> int:
        """Number of channels C."""
        return int(self.values.shape[1])

    @property
    def label(self) -> np.ndarray | None:
        """The label array when exactly one label column was read, else None."""
        if self.labels is not None and len(self.labels) == 1:
            return next(iter(self.labels.values()))
        return None


# --------------------------------------------------------------------------- file inspection


@dataclass(frozen=True)
class _FileInfo:
    path: Path
    kind: Literal["csv", "parquet"]
    sep: str | None = None
    compression: str | None = None
    encoding: str = "utf-8"
    name: str | None = None  # shown instead of the path

    @property
    def shown(self) -> str:
        return self.name or str(self.path)


def _inspect_file(
    path: str | os.PathLike[str], sep: str | None, name: str | None = None
) -> _FileInfo:
    """Check that ``path`` is a readable table and find its format, compression and separator.

    ``name`` stands for the path in messages (a copy of standard input, say).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if not p.is_file() and p.exists() and not p.is_dir():
        raise DataError(
            f"{name or p}: is a pipe or device, not a file; seqae reads a file twice (to find "
            "its format, then its rows): save it to a file first (the command line does this "
            "for '-' and /dev/stdin)"
        )
    shown = name or p
    if not p.exists():
        raise DataError(f"{shown}: file not found")
    if p.is_dir():
        raise DataError(f"{shown}: is a directory, expected a CSV or Parquet file")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(8)
    except OSError as e:
        raise DataError(f"{shown}: cannot read the file: {e.strerror or e}") from e
    if not magic:
        raise DataError(f"{shown}: the file is empty, expected a header line and data rows")
    if magic.startswith(b"PAR1") or p.suffix.lower() in (".parquet", ".pq"):
        return _FileInfo(p, "parquet", name=name)
    if magic.startswith(b"PK\x03\x04"):
        raise DataError(
            f"{shown}: is a zip archive (an Excel .xlsx?), not a CSV file; "
            "export it as CSV or Parquet, or unzip it"
        )
    compression = next((name for m, name in _MAGIC if magic.startswith(m)), None)
    opener = _OPENERS.get(compression or "", open)
    try:
        with opener(p, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise DataError(f"{shown}: cannot decompress the {compression} file: {e}") from e
    if not head.strip():
        raise DataError(f"{shown}: the file is empty, expected a header line and data rows")
    if b"\x00" in head:
        raise DataError(
            f"{shown}: is a binary file, not a text CSV; "
            "seqae reads CSV (optionally .gz) or Parquet"
        )
    if len(head) == _SNIFF_BYTES:  # drop a line (and a UTF-8 sequence) cut by the limit
        head = head[: head.rfind(b"\n") + 1] or head
    try:
        text, encoding = head.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = head.decode("latin-1"), "latin-1"
    if sep is None:
        sep = _sniff_separator(text)
    elif not isinstance(sep, str) or not sep:
        raise ParameterError(f"sep must be a non-empty string or None, got {sep!r}")
    return _FileInfo(p, "csv", sep, compression, encoding, name)


def _sniff_separator(text: str) -> str:
    """Choose among , ; tab: the one that splits the header and the first rows consistently.

    The header must be split too, so a decimal comma in ``1,5;2,5`` does not win over ``;``.
    """
    lines = [line for line in text.splitlines() if line.strip()][:_SNIFF_LINES]
    best, best_fields, fallback, fallback_fields = ",", 1, ",", 1
    for candidate in _SEPARATORS:
        widths = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        if widths[0] > fallback_fields:
            fallback, fallback_fields = candidate, widths[0]
        if widths[0] > best_fields and all(w == widths[0] for w in widths):
            best, best_fields = candidate, widths[0]
    return best if best_fields > 1 else fallback


def _csv_reader_kwargs(info: _FileInfo) -> dict[str, Any]:
    return {
        "sep": info.sep,
        "compression": info.compression,
        "encoding": info.encoding,
        "encoding_errors": "replace",
        "engine": "c",
        # blank lines become all-NaN rows, dropped later, so row numbers stay file lines - 1
        "skip_blank_lines": False,
    }


def _parse_error(info: _FileInfo, e: Exception) -> DataError:
    detail = str(e).strip().replace("Error tokenizing data. C error: ", "")
    return DataError(f"{info.shown}: cannot parse as CSV with separator {info.sep!r}: {detail}")


_CSV_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError, ValueError)


def _read_parquet(info: _FileInfo, nrows: int | None = None, chunksize: int | None = None):
    """Read a Parquet file whole (or its first ``nrows``), or yield batches of ``chunksize``."""
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise DataError(
            f"{info.shown}: reading Parquet needs pyarrow: pip install pyarrow "
            "(or pip install 'seqae[parquet]')"
        ) from e
    try:
        pf = pq.ParquetFile(info.path)
        if chunksize is not None:
            return (b.to_pandas() for b in pf.iter_batches(batch_size=chunksize))
        if nrows is not None:
            batch = next(pf.iter_batches(batch_size=nrows), None)
            return pf.schema_arrow.empty_table().to_pandas() if batch is None else batch.to_pandas()
        return pf.read().to_pandas()
    except (OSError, ValueError) as e:  # pyarrow.ArrowInvalid is a ValueError
        raise DataError(f"{info.shown}: cannot read as Parquet: {e}") from e


# --------------------------------------------------------------------------- column roles


@dataclass(frozen=True)
class _Origin:
    """Where rows come from, to write error messages that point at them."""

    source: str
    has_lines: bool = False  # CSV: data row r is on file line r + 1

    def at(self, row: int) -> str:
        return f"row {row} (line {row + 1})" if self.has_lines else f"row {row}"

    def error(self, message: str) -> DataError:
        return DataError(f"{self.source}: {message}")


@dataclass(frozen=True)
class _Spec:
    time: Any  # a column name, _INDEX, or None
    channels: tuple[str, ...]
    labels: tuple[str, ...] | None
    skipped: tuple[str, ...] = ()


def _find_labels(df: pd.DataFrame, taken: set[Any]) -> list[str] | None:
    """The columns ``label_columns="auto"`` takes: named as in :data:`LABEL_NAMES` (any case),
    numeric or boolean, and 0 or 1 on every row that has a value; in the order of
    :data:`LABEL_NAMES`, so the first is the ground truth. None when there is none.

    A gap in such a column is left for the label check to report with its row.
    """
    found = []
    for name in df.columns:
        if name in taken or name.lower() not in LABEL_NAMES:
            continue
        s = df[name]
        if ptypes.is_bool_dtype(s):
            found.append(name)
        elif ptypes.is_numeric_dtype(s):
            present = s.dropna()
            if len(present) and present.isin((0, 1)).all():
                found.append(name)
    return sorted(found, key=lambda name: LABEL_NAMES.index(name.lower())) or None


def _as_names(value: str | Sequence[str] | None, what: str) -> list[str] | None:
    if value is None:
        return None
    names = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(n, str) for n in names):
        raise ParameterError(f"{what} must be a column name or a list of names, got {value!r}")
    if len(set(names)) != len(names):
        raise ParameterError(f"{what} lists a column twice: {names}")
    return names


def _missing_error(origin: _Origin, what: str, missing: list[str], df: pd.DataFrame) -> DataError:
    listed = ", ".join(repr(c) for c in missing)
    available = ", ".join(repr(c) for c in df.columns)
    return origin.error(f"{what} {listed} not found; available columns: {available}")


def _first_value(series: pd.Series) -> Any:
    valid = series.dropna()
    return _scalar(valid.iloc[0]) if len(valid) else None


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python value, so messages show ``2``, not ``np.int64(2)``."""
    return value.item() if isinstance(value, np.generic) else value


_THOUSANDS = re.compile(r"\s*[-+]?\d{1,3}(,\d{3})+(\.\d*)?\s*")


def _decimal_comma_hint(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if _THOUSANDS.fullmatch(value) and "." in value:
        plain = value.strip().replace(",", "")
        return f" (a thousands separator? write {plain}, without separators)"
    if re.fullmatch(r"\s*[-+]?\d+,\d+\s*", value):
        return " (a decimal comma or a thousands separator? write numbers with a decimal point)"
    return ""


def _first_text(series: pd.Series) -> Any:
    """The first value that is not a number (the one to show in a message), else the first."""
    valid = series.dropna()
    text = valid[pd.to_numeric(valid, errors="coerce").isna()]
    return _scalar(text.iloc[0]) if len(text) else _first_value(series)


def _is_text_datetime(series: pd.Series) -> bool:
    """Whether the first values of a text column all parse as dates/times."""
    sample = series.dropna().iloc[:100]
    if len(sample) == 0 or not all(isinstance(v, str) and _DATE_LIKE.search(v) for v in sample):
        return False
    parsed = _to_datetime(sample)
    return parsed is not None and not parsed.isna().any()


def _detect_time(df: pd.DataFrame, exclude: set[str]) -> Any:
    names = [c for c in df.columns if c not in exclude]
    for name in names:
        if re.sub(r"[^a-z]", "", name.lower()) in _TIME_NAMES:
            return name
    for name in names:
        if ptypes.is_datetime64_any_dtype(df[name]):
            return name
    if isinstance(df.index, pd.DatetimeIndex):
        return _INDEX
    if names and names[0] == df.columns[0] and _is_text_datetime(df[names[0]]):
        return names[0]
    return None


def _mostly_numeric_error(df: pd.DataFrame, name: str, origin: _Origin, row0: int) -> None:
    """Raise when a text column is numbers apart from a few stray values (likely a typo)."""
    s = df[name]
    sample = s.dropna().iloc[:1000]
    if len(sample) == 0:
        return
    numbers = pd.to_numeric(sample, errors="coerce").notna()
    if numbers.mean() >= 0.9:
        _to_numbers(s, name, origin, np.arange(row0, row0 + len(s)))  # raises, naming it
    separated = sample.astype(str).str.fullmatch(_THOUSANDS.pattern)
    if (numbers | separated).mean() >= 0.9 and separated.any():
        i = int(np.argmax(separated.to_numpy()))
        value = _scalar(sample.iloc[i])
        raise origin.error(
            f"column {name!r} is not numeric: {origin.at(row0 + s.index.get_loc(sample.index[i]))}"
            f" has {value!r}; expected a number{_decimal_comma_hint(value)}"
        )


def _resolve_spec(
    df: pd.DataFrame,
    origin: _Origin,
    time_column: Any,
    columns: Sequence[str] | None,
    label_columns: str | Sequence[str] | None,
    row0: int,
    not_labels: Sequence[str] = (),
) -> _Spec:
    auto = isinstance(label_columns, str) and label_columns == "auto"
    labels = None if auto else _as_names(label_columns, "label_columns")
    chosen = _as_names(columns, "columns")
    never = _as_names(not_labels, "not_labels") or []
    if origin.has_lines and _header_is_data(list(df.columns)):
        raise origin.error(
            f"the first line holds data ({', '.join(map(str, df.columns[:4]))}), "
            "not column names: add a header line naming the columns"
        )
    if labels is not None and (missing := [c for c in labels if c not in df.columns]):
        raise _missing_error(origin, "label column(s)", missing, df)

    if time_column == "auto":
        time = _detect_time(df, {*(labels or ()), *(chosen or ())})
    elif time_column is None:
        time = None
    elif not isinstance(time_column, str):
        raise ParameterError(
            f"time_column must be 'auto', a column name or None, got {time_column!r}"
        )
    elif time_column in df.columns:
        time = time_column
    elif time_column == df.index.name:
        time = _INDEX
    else:
        raise _missing_error(origin, "time column", [time_column], df)
    if auto:
        labels = _find_labels(df, {time, *(chosen or ()), *never})
    if time is not _INDEX and time is not None and time in (labels or ()):
        raise ParameterError(f"column {time!r} cannot be both the time column and a label column")

    if chosen is not None:
        if missing := [c for c in chosen if c not in df.columns]:
            raise _missing_error(origin, "column(s)", missing, df)
        if clash := [c for c in chosen if c == time or c in (labels or ())]:
            raise ParameterError(
                f"columns {clash} are also the time or a label column; a column has one role"
            )
        return _Spec(time, tuple(chosen), None if labels is None else tuple(labels))

    channels, skipped = [], []
    for name in df.columns:
        if name == time or name in (labels or ()):
            continue
        s = df[name]
        if re.fullmatch(r"Unnamed: \d+", name) and s.isna().all():
            skipped.append(name)  # an empty column from a trailing separator
        elif ptypes.is_numeric_dtype(s) or ptypes.is_bool_dtype(s):
            channels.append(name)
        else:
            _mostly_numeric_error(df, name, origin, row0)
            skipped.append(name)
    if not channels:
        raise _no_channels_error(df, origin, time, skipped)
    labels_t = None if labels is None else tuple(labels)
    return _Spec(time, tuple(channels), labels_t, tuple(skipped))


def _no_channels_error(df: pd.DataFrame, origin: _Origin, time: Any, skipped: list) -> DataError:
    if len(df.columns) == 1 and time is None:
        name = df.columns[0]
        return origin.error(
            f"found a single column {name!r} holding text (e.g. {_first_value(df[name])!r}), "
            "no numeric sensor columns; expected a header line and numeric columns separated "
            "by ',', ';' or tab"
        )
    examples = {c: _first_text(df[c]) for c in skipped}
    described = ", ".join(f"{c!r} (e.g. {v!r})" for c, v in examples.items()) or "none"
    hint = next((h for v in examples.values() if (h := _decimal_comma_hint(v))), "")
    return origin.error(
        f"no numeric sensor columns; time column: {None if time is None else repr(time)}, "
        f"non-numeric columns: {described}{hint}; pass columns=[...] to choose the channels"
    )


def _header_is_data(names: list[str]) -> bool:
    """Whether a header line is a data row: numbers only, or a date/time and then numbers."""

    def number(name: str) -> bool:  # pandas renames a repeated "0.5" to "0.5.1"
        return _parses_as_number(name) or _parses_as_number(re.sub(r"\.\d+$", "", name))

    if all(number(n) for n in names):
        return True
    first, rest = names[0], names[1:]
    if not rest or not all(number(n) for n in rest) or not _DATE_LIKE.search(first):
        return False
    parsed = _to_datetime(pd.Series([re.sub(r"\.\d+$", "", first)]))
    return parsed is not None and not parsed.isna().any()


def _parses_as_number(name: Any) -> bool:
    try:
        float(name)
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- conversion


def _to_numbers(s: pd.Series, name: str, origin: _Origin, rows: np.ndarray) -> np.ndarray:
    """A column as float64 (NaN for missing); a DataError names the first non-number."""
    if ptypes.is_bool_dtype(s) or ptypes.is_numeric_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    num = pd.to_numeric(s, errors="coerce")
    bad = (num.isna() & s.notna()).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        value = _scalar(s.iloc[i])
        raise origin.error(
            f"column {name!r} is not numeric: {origin.at(int(rows[i]))} has {value!r}; "
            f"expected a number{_decimal_comma_hint(value)}"
        )
    return num.to_numpy(dtype=np.float64, na_value=np.nan)


def _to_labels(s: pd.Series, name: str, origin: _Origin, rows: np.ndarray) -> np.ndarray:
    if ptypes.is_bool_dtype(s):
        return s.to_numpy(dtype=np.int8)
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    ok = (num == 0) | (num == 1)
    if not ok.all():
        i = int(np.argmin(ok))
        raise origin.error(
            f"label column {name!r} must hold 0/1 (or true/false, 0.0/1.0), but "
            f"{origin.at(int(rows[i]))} has {_scalar(s.iloc[i])!r}"
        )
    return num.astype(np.int8)


def _to_datetime(s: pd.Series, **kwargs: Any) -> pd.Series | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not infer format": the fallback is intended
            return pd.to_datetime(s, errors="coerce", **kwargs)
    except ValueError as e:
        if "utc=True" in str(e) and not kwargs.get("utc"):  # mixed UTC offsets (DST)
            return _to_datetime(s, **kwargs, utc=True)
        return None
    except (TypeError, OverflowError):
        return None


def _parse_time(s: pd.Series, name: str, origin: _Origin, rows: np.ndarray) -> pd.Index:
    """Timestamps as a DatetimeIndex, or a float index for numeric stamps; NaT/NaN for missing."""
    if ptypes.is_datetime64_any_dtype(s):
        return pd.DatetimeIndex(s)
    if ptypes.is_numeric_dtype(s) and not ptypes.is_bool_dtype(s):
        return pd.Index(s.to_numpy(dtype=np.float64, na_value=np.nan))
    present = s.notna().to_numpy()
    first_bad = None
    # The format is inferred from the first value; mixed ISO forms and day-first dates need
    # another try. Report the first failure of the first attempt if none succeeds.
    for kwargs in ({}, {"format": "ISO8601"}, {"dayfirst": True}):
        parsed = _to_datetime(s, **kwargs)
        if parsed is None:
            continue
        bad = parsed.isna().to_numpy() & present
        if not bad.any():
            return pd.DatetimeIndex(parsed)
        if first_bad is None:
            first_bad = int(np.argmax(bad))
    i = first_bad if first_bad is not None else int(np.argmax(present))
    raise origin.error(
        f"time column {name!r}: {origin.at(int(rows[i]))} has {_scalar(s.iloc[i])!r}, which is "
        f"not a date/time (the first value is {_first_value(s)!r}); pass time_column=None if "
        "the data has no time column"
    )


# --------------------------------------------------------------------------- the table


@dataclass
class _Table:
    """Validated rows before the NaN fill: float64 values, times, labels, 1-based row numbers."""

    values: np.ndarray
    times: pd.Index | None
    labels: dict[str, np.ndarray] | None
    rows: np.ndarray
    report: dict[str, Any]
    raw_times: np.ndarray | None = None  # the time column as read, for writing back

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: np.ndarray | slice) -> _Table:
        return _Table(
            self.values[index],
            None if self.times is None else self.times[index],
            None if self.labels is None else {k: v[index] for k, v in self.labels.items()},
            self.rows[index],
            self.report,
            None if self.raw_times is None else self.raw_times[index],
        )


def _concat(a: _Table, b: _Table) -> _Table:
    labels = None
    if a.labels is not None and b.labels is not None:
        labels = {k: np.concatenate([v, b.labels[k]]) for k, v in a.labels.items()}
    return _Table(
        np.concatenate([a.values, b.values]),
        None if a.times is None or b.times is None else a.times.append(b.times),
        labels,
        np.concatenate([a.rows, b.rows]),
        b.report,
        None if a.raw_times is None else np.concatenate([a.raw_times, b.raw_times]),
    )


def _build_table(
    df: pd.DataFrame, spec: _Spec, policy: str, origin: _Origin, row0: int, drop_blank: bool
) -> _Table:
    """Validate one frame; ``row0 + i`` is the 1-based row number of its i-th row."""
    report: dict[str, Any] = {"rows_read": len(df)}
    rows = np.arange(row0, row0 + len(df), dtype=np.int64)
    if drop_blank:
        blank = df.isna().all(axis=1).to_numpy()
        report["blank_rows"] = int(blank.sum())
        if blank.any():
            df, rows = df.loc[~blank], rows[~blank]

    values = np.empty((len(df), len(spec.channels)), dtype=np.float64)
    for j, name in enumerate(spec.channels):
        values[:, j] = _to_numbers(df[name], name, origin, rows)
    labels = None
    if spec.labels is not None:
        labels = {name: _to_labels(df[name], name, origin, rows) for name in spec.labels}
    times = raw_times = None
    if spec.time is _INDEX:
        times = _parse_time(df.index.to_series(), "index", origin, rows)
        raw_times = df.index.to_numpy()
    elif spec.time is not None:
        times = _parse_time(df[spec.time], spec.time, origin, rows)
        raw_times = df[spec.time].to_numpy()

    nan, inf = np.isnan(values), np.isinf(values)
    report["nan_counts"] = {c: int(n) for c, n in zip(spec.channels, nan.sum(0), strict=True) if n}
    report["inf_counts"] = {c: int(n) for c, n in zip(spec.channels, inf.sum(0), strict=True) if n}
    bad_rows = (nan | inf).any(axis=1)
    no_time = np.zeros(len(values), bool) if times is None else np.asarray(times.isna())
    table = _Table(values, times, labels, rows, report, raw_times)

    if policy == "drop":
        drop = bad_rows | no_time
        report["rows_dropped"] = int(drop.sum())
        table = table.take(~drop)
    else:
        if no_time.any():
            i = int(np.argmax(no_time))
            raise origin.error(
                f"time column {spec.time if spec.time is not _INDEX else 'index'!r} is empty "
                f"at {origin.at(int(rows[i]))}; fix it or use nan_policy='drop'"
            )
        if policy == "error" and bad_rows.any():
            i = int(np.argmax(bad_rows))
            j = int(np.argmax(nan[i] | inf[i]))
            what = "a missing value (NaN)" if nan[i, j] else f"{values[i, j]} (infinite)"
            empty = (nan | inf)[:, j].all()
            others = [c for k, c in enumerate(spec.channels) if not (nan | inf)[:, k].all()]
            advice = (  # no fill or drop can save a column without a value: leave it out
                f"it has no valid value in the rows read; leave it out with columns={others!r}"
                if empty and others
                else "use nan_policy='interpolate', 'ffill' or 'drop' to handle missing values"
            )
            raise origin.error(
                f"column {spec.channels[j]!r} has {what} at {origin.at(int(rows[i]))}; {advice}"
            )
        table.values[inf] = np.nan  # filled like missing values
    report.setdefault("rows_dropped", 0)
    report["values_filled"] = 0
    return _sort_by_time(table)


def _sort_by_time(table: _Table) -> _Table:
    report = table.report
    report.update(rows_out_of_order=0, sorted_by_time=False, duplicate_timestamps=0)
    report["first_duplicate"] = None
    if table.times is None or len(table) < 2:
        return table
    if not table.times.is_monotonic_increasing:
        stamps = table.times.to_numpy()
        report["rows_out_of_order"] = int((stamps[1:] < stamps[:-1]).sum())
        report["sorted_by_time"] = True
        table = table.take(np.argsort(stamps, kind="stable"))
    stamps = table.times.to_numpy()  # type: ignore[union-attr]
    dup = stamps[1:] == stamps[:-1]
    if dup.any():
        i = int(np.argmax(dup)) + 1
        report["duplicate_timestamps"] = int(dup.sum())
        stamp = table.times[i]  # type: ignore[index]
        if isinstance(stamp, float) and stamp.is_integer():
            stamp = int(stamp)  # epoch seconds, as written in the file
        report["first_duplicate"] = f"{stamp} at row {int(table.rows[i])}"
    return table


# --------------------------------------------------------------------------- NaN fill


@dataclass
class _Carry:
    """The last valid value of each channel and its global position, across chunk borders."""

    values: np.ndarray
    positions: np.ndarray

    @classmethod
    def empty(cls, n_channels: int) -> _Carry:
        return cls(np.full(n_channels, np.nan), np.full(n_channels, -1, dtype=np.int64))


def _fill(
    table: _Table,
    policy: str,
    carry: _Carry,
    start: int,
    final: bool,
    spec: _Spec,
    origin: _Origin,
) -> int:
    """Fill NaNs in place; return how many leading rows are final (the rest need later rows).

    ``start`` is the global position of row 0, so chunks fill exactly like the whole file.
    Interpolation needs the next valid value: unless ``final``, rows after a channel's last
    valid value wait for the next chunk. The forward fill waits only while a channel has not
    had a valid value yet (leading gaps are back-filled).
    """
    values, n = table.values, len(table)
    if policy not in ("interpolate", "ffill") or n == 0:
        return n
    valid = ~np.isnan(values)
    has_carry = carry.positions >= 0
    if final:
        ready = n
    elif policy == "interpolate":
        last_valid = np.where(valid.any(0), n - 1 - np.argmax(valid[::-1], axis=0), -1)
        ready = int(last_valid.min()) + 1
    else:
        ready = 0 if (~valid.any(0) & ~has_carry).any() else n
    filled = 0
    for j in np.flatnonzero(~valid[:ready].all(0)):
        x = np.flatnonzero(valid[:, j])
        x_known, y_known = x, values[x, j]
        if has_carry[j]:
            x_known = np.concatenate([[carry.positions[j] - start], x])
            y_known = np.concatenate([[carry.values[j]], y_known])
        if len(x_known) == 0:
            raise origin.error(
                f"column {spec.channels[j]!r} has no valid value to fill from (every row is "
                "NaN/inf); leave it out with columns=[...]"
            )
        gaps = np.flatnonzero(~valid[:ready, j])
        if policy == "interpolate":
            values[gaps, j] = np.interp(gaps, x_known, y_known)  # edges take the nearest value
        else:
            before = np.searchsorted(x_known, gaps, side="right") - 1
            values[gaps, j] = y_known[np.maximum(before, 0)]  # leading gaps: the first value
        filled += len(gaps)
    if ready:
        seen = valid[:ready].any(0)
        last = ready - 1 - np.argmax(valid[:ready][::-1], axis=0)
        carry.values = np.where(seen, values[last, np.arange(values.shape[1])], carry.values)
        carry.positions = np.where(seen, start + last, carry.positions)
    table.report["values_filled"] = filled
    return ready


def _to_sensor_data(table: _Table, spec: _Spec, origin: _Origin, extra: dict) -> SensorData:
    with np.errstate(over="ignore"):
        values = np.ascontiguousarray(table.values, dtype=np.float32)
    if not np.isfinite(values).all():  # the input was finite: too large for float32
        i, j = np.unravel_index(int(np.argmax(~np.isfinite(values))), values.shape)
        raise origin.error(
            f"column {spec.channels[j]!r} has {table.values[i, j]:g} at "
            f"{origin.at(int(table.rows[i]))}, outside the float32 range (about ±3.4e38)"
        )
    report = {**extra, **table.report, "rows": len(table), "skipped_columns": list(spec.skipped)}
    report["time_column"] = "index" if spec.time is _INDEX else spec.time
    return SensorData(
        values=values,
        channels=[str(c) for c in spec.channels],
        timestamps=table.times,
        labels=table.labels,
        source=origin.source,
        report=report,
        time_values=table.raw_times,
    )


# --------------------------------------------------------------------------- public API


def _no_rows_left(origin: _Origin, nan_policy: str) -> DataError:
    why = "every row has a NaN/inf or no time stamp" if nan_policy == "drop" else "all are blank"
    return origin.error(f"no data rows left: {why}")


def _check_policy(nan_policy: str) -> None:
    if nan_policy not in _NAN_POLICIES:
        raise ParameterError(
            f"nan_policy must be one of {', '.join(map(repr, _NAN_POLICIES))}, got {nan_policy!r}"
        )


def _check_count(value: Any, name: str, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be an integer >= 1, got {value!r}")


def _normalise_columns(df: pd.DataFrame) -> pd.DataFrame:
    names = [str(c).strip() for c in df.columns]
    return df if names == list(df.columns) else df.set_axis(names, axis=1)


def _frame_to_data(
    df: pd.DataFrame,
    origin: _Origin,
    *,
    time_column: Any,
    columns: Sequence[str] | None,
    label_columns: str | Sequence[str] | None,
    not_labels: Sequence[str],
    nan_policy: str,
    drop_blank: bool,
    extra: dict[str, Any],
) -> SensorData:
    _check_policy(nan_policy)
    df = _normalise_columns(df)
    if len(df.columns) == 0:
        raise origin.error("no columns found, expected a header line and data rows")
    if len(df) == 0:
        raise origin.error(f"has a header ({', '.join(map(repr, df.columns))}) but no data rows")
    spec = _resolve_spec(df, origin, time_column, columns, label_columns, 1, not_labels)
    table = _build_table(df, spec, nan_policy, origin, 1, drop_blank)
    if len(table) == 0:
        raise _no_rows_left(origin, nan_policy)
    _fill(table, nan_policy, _Carry.empty(len(spec.channels)), 0, True, spec, origin)
    return _to_sensor_data(table, spec, origin, extra)


def sensors_from_frame(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    time_column: str | None = "auto",
    columns: Sequence[str] | None = None,
    label_columns: str | Sequence[str] | None = None,
    not_labels: Sequence[str] = (),
    nan_policy: NanPolicy = "error",
) -> SensorData:
    """Validate an in-memory DataFrame the way :func:`read_sensors` validates a file.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per timestep. A ``DatetimeIndex`` serves as the time stamps when no time
        column is found (or when ``time_column`` names the index).
    source : str
        Name used in error messages and in :attr:`SensorData.source`.
    time_column, columns, label_columns, not_labels, nan_policy
        As in :func:`read_sensors`.

    Returns
    -------
    SensorData

    Raises
    ------
    DataError
        Missing or non-numeric columns, bad labels, unparseable times, NaN/inf under
        ``nan_policy="error"``; the message names the column, the row and the value.
    ParameterError
        A bad option value.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": ["2024-01-01 00:00:00", "2024-01-01 00:00:01"],
    ...                    "a": [1.0, 2.0], "b": [3, 4]})
    >>> data = sensors_from_frame(df)
    >>> data.channels, data.values.dtype.name, data.report["time_column"]
    (['a', 'b'], 'float32', 'time')
    """
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    return _frame_to_data(
        df,
        _Origin(str(source)),
        time_column=time_column,
        columns=columns,
        label_columns=label_columns,
        not_labels=not_labels,
        nan_policy=nan_policy,
        drop_blank=False,
        extra={"format": "dataframe", "nan_policy": nan_policy},
    )


def _file_extra(info: _FileInfo, nan_policy: str) -> dict[str, Any]:
    extra: dict[str, Any] = {"format": info.kind, "nan_policy": nan_policy}
    if info.kind == "csv":
        extra.update(separator=info.sep, encoding=info.encoding, compression=info.compression)
    return extra


def _read_frame(info: _FileInfo, nrows: int | None) -> pd.DataFrame:
    """The table as pandas reads it, whole or its first ``nrows`` rows."""
    if info.kind == "parquet":
        return _read_parquet(info, nrows=nrows)
    try:
        with warnings.catch_warnings():
            # mixed types in a column are checked, with row numbers, by the validation
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(info.path, nrows=nrows, **_csv_reader_kwargs(info))
    except _CSV_ERRORS as e:
        raise _parse_error(info, e) from e


def read_sensors(
    path: str | os.PathLike[str],
    *,
    time_column: str | None = "auto",
    columns: Sequence[str] | None = None,
    label_columns: str | Sequence[str] | None = None,
    not_labels: Sequence[str] = (),
    nan_policy: NanPolicy = "error",
    sep: str | None = None,
    nrows: int | None = None,
    name: str | None = None,
) -> SensorData:
    """Read a sensor table from CSV or Parquet into a validated float32 ``(T, C)`` array.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file (also gzip/bz2/xz compressed, recognised by content) or a Parquet file
        (``.parquet``/``.pq`` or Parquet content; needs pyarrow).
    time_column : str or None, default "auto"
        "auto" takes a column named time/timestamp/datetime/date (any case), else the first
        datetime-typed column, else a first column whose values parse as dates. A name uses
        that column; None means no time column. Text is parsed as dates/times; numeric stamps
        (epoch seconds) become a float index. Rows are sorted by time when unsorted and
        duplicate stamps are counted in the report.
    columns : list of str, optional
        The channel columns, in this order. Default: every numeric column except the time
        and label columns; text columns are skipped and listed in ``report``.
    label_columns : str or list of str, optional
        Columns split off as 0/1 labels (0/1, true/false or 0.0/1.0). ``"auto"`` finds them
        in the rows read: the numeric columns named as in :data:`LABEL_NAMES` (any case)
        that hold only 0 and 1, ground truth first (``anomaly`` before ``changepoint``);
        :attr:`SensorData.labels` is None when there is none. (A column named ``auto`` is
        given as ``["auto"]``.)
    not_labels : sequence of str
        Columns ``"auto"`` never takes for labels (e.g. the channels a model was trained on).
    nan_policy : {"error", "interpolate", "ffill", "drop"}, default "error"
        What to do with NaN/inf in channels: raise naming the first bad row; interpolate
        linearly (edges take the nearest value); forward fill (leading gaps back-filled); or
        drop the rows (and rows without a time stamp).
    sep : str, optional
        CSV separator; by default sniffed among ``,`` ``;`` and tab from the first 64 KB.
    nrows : int, optional
        Read only the first ``nrows`` data rows.
    name : str, optional
        What messages and :attr:`SensorData.source` call the file (default: ``path``).

    Returns
    -------
    SensorData

    Raises
    ------
    DataError
        Missing, empty, header-only, binary or unparseable file; missing or non-numeric
        columns; no numeric channel; bad labels or times; NaN/inf under ``"error"``. Every
        message names the file, and the column and row where one is at fault.
    ParameterError
        A bad option value.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = path.write_text("time;a;b\\n2024-01-01 00:00:00;1;2\\n2024-01-01 00:00:01;3;4\\n")
    >>> data = read_sensors(path)
    >>> data.values.tolist(), data.report["separator"]
    ([[1.0, 2.0], [3.0, 4.0]], ';')
    >>> _ = path.write_text("a,Anomaly,label\\n1.5,0,2\\n2.5,1,3\\n")
    >>> data = read_sensors(path, label_columns="auto")  # "label" holds other numbers
    >>> data.channels, data.labels["Anomaly"].tolist()
    (['a', 'label'], [0, 1])
    """
    _check_count(nrows, "nrows", allow_none=True)
    _check_policy(nan_policy)
    info = _inspect_file(path, sep, name)
    return _frame_to_data(
        _read_frame(info, nrows),
        _Origin(info.shown, has_lines=info.kind == "csv"),
        time_column=time_column,
        columns=columns,
        label_columns=label_columns,
        not_labels=not_labels,
        nan_policy=nan_policy,
        drop_blank=info.kind == "csv",
        extra=_file_extra(info, nan_policy),
    )


def find_label_columns(
    path: str | os.PathLike[str],
    *,
    time_column: str | None = "auto",
    not_labels: Sequence[str] = (),
    nrows: int = 500,
    sep: str | None = None,
    name: str | None = None,
) -> list[str]:
    """The columns of a sensor file that hold known anomalies, not channels, found in its first
    ``nrows`` rows the way ``label_columns="auto"`` finds them (see :func:`read_sensors`).

    For a reader that needs the label columns before it starts, such as
    :func:`iter_sensor_chunks`; :func:`read_sensors` finds them in the one read it makes.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV or Parquet file, as for :func:`read_sensors`.
    time_column, not_labels, sep, name
        As for :func:`read_sensors`.
    nrows : int, default 500
        Rows looked at.

    Returns
    -------
    list of str
        Ground truth first; empty when none is found, or when the file cannot be read
        (reading it for real then reports why).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = path.write_text("a,changepoint,Anomaly,label\\n1.5,0,0,2\\n2.5,1,1,3\\n")
    >>> find_label_columns(path)  # "label" holds other numbers: a channel
    ['Anomaly', 'changepoint']
    """
    _check_count(nrows, "nrows", allow_none=False)
    try:
        info = _inspect_file(path, sep, name)
        df = _normalise_columns(_read_frame(info, nrows))
        origin = _Origin(info.shown, has_lines=info.kind == "csv")
        spec = _resolve_spec(df, origin, time_column, None, "auto", 1, not_labels)
    except (DataError, ParameterError):
        return []
    return list(spec.labels or ())


def _raw_chunks(info: _FileInfo, chunksize: int) -> Iterator[pd.DataFrame]:
    if info.kind == "parquet":
        yield from _read_parquet(info, chunksize=chunksize)
        return
    try:
        # low_memory=False: each chunk is typed as a whole (no DtypeWarning); it is bounded anyway
        kwargs = {**_csv_reader_kwargs(info), "low_memory": False}
        with pd.read_csv(info.path, chunksize=chunksize, **kwargs) as reader:
            yield from reader
    except _CSV_ERRORS as e:
        raise _parse_error(info, e) from e


def iter_sensor_chunks(
    path: str | os.PathLike[str],
    chunksize: int,
    *,
    time_column: str | None = "auto",
    columns: Sequence[str] | None = None,
    label_columns: str | Sequence[str] | None = None,
    not_labels: Sequence[str] = (),
    nan_policy: NanPolicy = "error",
    sep: str | None = None,
    name: str | None = None,
) -> Iterator[SensorData]:
    """Read a large CSV or Parquet file as a sequence of :class:`SensorData` chunks.

    Each chunk is validated like :func:`read_sensors`; the channels, time and label columns
    are fixed by the first chunk; row numbers in errors count from the start of the file.
    Concatenating the chunks gives what :func:`read_sensors` returns for the whole file: the
    fill policies carry the last valid values across borders, and rows that interpolation
    cannot finish yet (after a channel's last valid value) wait for the next chunk, so chunk
    lengths vary around ``chunksize``. Rows are sorted within a chunk; a file whose time goes
    back across a chunk border is an error. Parquet files are read by row batches.

    Parameters
    ----------
    path : str or os.PathLike
        As in :func:`read_sensors`.
    chunksize : int
        Rows per raw chunk.
    time_column, columns, label_columns, not_labels, nan_policy, sep, name
        As in :func:`read_sensors`; ``label_columns="auto"`` decides on the first chunk
        (:func:`find_label_columns` tells them before reading).

    Yields
    ------
    SensorData
        Consecutive parts of the stream; ``report["first_row"]`` is the 1-based file row of
        each chunk's first raw row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = path.write_text("a,b\\n" + "".join(f"{i},{2 * i}\\n" for i in range(10)))
    >>> [chunk.n_timesteps for chunk in iter_sensor_chunks(path, 4)]
    [4, 4, 2]
    """
    _check_count(chunksize, "chunksize", allow_none=False)
    _check_policy(nan_policy)
    info = _inspect_file(path, sep, name)
    origin = _Origin(info.shown, has_lines=info.kind == "csv")
    extra = _file_extra(info, nan_policy)
    roles = (time_column, columns, label_columns, not_labels)
    return _iter_chunks(info, chunksize, origin, extra, roles, nan_policy)


def _iter_chunks(
    info: _FileInfo,
    chunksize: int,
    origin: _Origin,
    extra: dict[str, Any],
    roles: tuple[Any, Sequence[str] | None, str | Sequence[str] | None, Sequence[str]],
    nan_policy: str,
) -> Iterator[SensorData]:
    """``roles``: iter_sensor_chunks' time_column, columns, label_columns and not_labels."""
    spec: _Spec | None = None
    carry: _Carry | None = None
    pending: _Table | None = None
    row0, emitted, last_time, header = 1, 0, None, None
    for df in _raw_chunks(info, chunksize):
        df = _normalise_columns(df)
        if spec is None:
            header = list(df.columns)
            if len(df) == 0:
                continue
            time_column, columns, label_columns, not_labels = roles
            spec = _resolve_spec(df, origin, time_column, columns, label_columns, row0, not_labels)
            carry = _Carry.empty(len(spec.channels))
        table = _build_table(df, spec, nan_policy, origin, row0, info.kind == "csv")
        table.report["first_row"] = row0
        row0 += len(df)
        if len(table) and last_time is not None and table.times is not None:
            if table.times[0] < last_time:
                raise origin.error(
                    f"time goes back across a chunk border at {origin.at(int(table.rows[0]))} "
                    f"({table.times[0]} after {last_time}); sort the file by time or read it "
                    "whole with read_sensors"
                )
            if table.times[0] == last_time:
                table.report["duplicate_timestamps"] += 1
        if len(table) and table.times is not None:
            last_time = table.times[-1]
        if pending is not None and len(pending):
            table = _concat(pending, table)
        ready = _fill(table, nan_policy, carry, emitted, False, spec, origin)  # type: ignore[arg-type]
        pending = table.take(slice(ready, None))
        if ready:
            emitted += ready
            yield _to_sensor_data(table.take(slice(0, ready)), spec, origin, extra)
    if spec is None:
        if header is None:
            raise origin.error("the file is empty, expected a header line and data rows")
        raise origin.error(f"has a header ({', '.join(map(repr, header))}) but no data rows")
    if pending is not None and len(pending):
        _fill(pending, nan_policy, carry, emitted, True, spec, origin)  # type: ignore[arg-type]
        yield _to_sensor_data(pending, spec, origin, extra)
    elif emitted == 0:
        raise _no_rows_left(origin, nan_policy)
