"""Files in the Numenta Anomaly Benchmark (NAB) format.

A NAB data file is a CSV with ``timestamp`` and ``value`` columns. Its labels live in a JSON
file keyed by the data file's path relative to NAB's ``data/`` folder: either windows
(``combined_windows.json``: ``{"realKnownCause/x.csv": [["start", "end"], ...]}``) or points
(``combined_labels.json``: ``{"realKnownCause/x.csv": ["time", ...]}``).
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from seqae.datasets.sensors import SensorData, read_sensors

from seqae.errors import DataError, ParameterError

__all__ = ["load_nab"]


def _find_key(labels: dict[str, Any], csv_path: Path, labels_path: Path) -> str:
    """The key whose path ends like ``csv_path`` (``group/name.csv``, else ``name.csv``)."""
    tail = f"{csv_path.parent.name}/{csv_path.name}"
    for candidates in (
        [k for k in labels if k.replace("\\", "/").endswith(tail)],
        [k for k in labels if k.replace("\\", "/").rsplit("/", 1)[-1] == csv_path.name],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise DataError(
                f"{labels_path}: several keys match {csv_path.name}: {sorted(candidates)}; "
                "pass key=..."
            )
    close = difflib.get_close_matches(tail, labels, n=3, cutoff=0.5)
    raise DataError(
        f"{labels_path}: no key for {tail}"
        + (f"; close ones: {close}" if close else "")
        + "; pass key=..."
    )


def _read_labels(labels_path: Path) -> dict[str, Any]:
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{labels_path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{labels_path}: not a NAB labels JSON file: {e}") from e
    if not isinstance(labels, dict):
        raise DataError(
            f"{labels_path}: expected a JSON object mapping data files to windows, "
            f"got {type(labels).__name__}"
        )
    return labels


def _times(values: Any, where: str, tz: Any) -> pd.DatetimeIndex:
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(list(values), format="ISO8601"))
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: not a list of date/times: {values!r} ({e})") from e
    if tz is not None and stamps.tz is None:
        stamps = stamps.tz_localize(tz)
    return stamps


def _label_array(entries: Any, stamps: pd.DatetimeIndex, where: str) -> np.ndarray:
    """1 inside each window (ends included, as in NAB) or at each labelled point."""
    if not isinstance(entries, list):
        raise DataError(f"{where}: expected a list of windows or time stamps, got {entries!r}")
    label = np.zeros(len(stamps), dtype=np.int8)
    tz = stamps.tz
    for entry in entries:
        if isinstance(entry, list) and len(entry) == 2:
            start, end = _times(entry, where, tz)
            if end < start:
                raise DataError(f"{where}: the window {entry} ends before it starts")
            label[(stamps >= start) & (stamps <= end)] = 1
        elif isinstance(entry, str):
            label[stamps.isin(_times([entry], where, tz))] = 1
        else:
            raise DataError(
                f"{where}: each entry must be a [start, end] window or a time stamp, got {entry!r}"
            )
    return label


def load_nab(
    csv_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str] | None = None,
    key: str | None = None,
) -> SensorData:
    """Read one NAB data file and, optionally, its labels.

    Parameters
    ----------
    csv_path : str or os.PathLike
        A NAB CSV (``timestamp,value``; any extra numeric columns become channels too).
    labels_path : str or os.PathLike, optional
        NAB's ``combined_windows.json`` (windows) or ``combined_labels.json`` (points).
        Without it the result has no labels.
    key : str, optional
        The entry of the labels file to use; by default the one whose path ends like
        ``csv_path`` (``realKnownCause/x.csv``, else ``x.csv``).

    Returns
    -------
    SensorData
        With ``labels={"anomaly": ...}`` (1 inside the windows, ends included) when
        ``labels_path`` is given.

    Raises
    ------
    DataError
        A bad data file (see :func:`read_sensors`), a missing or malformed labels file, no
        matching key, or a window that does not parse.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = "".join(f"2014-04-01 00:0{i}:00,{i}\\n" for i in range(5))
    >>> _ = (folder / "x.csv").write_text("timestamp,value\\n" + rows)
    >>> windows = {"realKnownCause/x.csv": [["2014-04-01 00:01:00", "2014-04-01 00:02:00"]]}
    >>> _ = (folder / "windows.json").write_text(json.dumps(windows))
    >>> load_nab(folder / "x.csv", folder / "windows.json").label.tolist()
    [0, 1, 1, 0, 0]
    """
    data = read_sensors(csv_path, time_column="timestamp")
    if labels_path is None:
        if key is not None:
            raise ParameterError("key needs labels_path: the file to look the key up in")
        return data
    if not isinstance(data.timestamps, pd.DatetimeIndex):
        raise DataError(f"{data.source}: the timestamp column must hold dates/times for labels")
    labels_path = Path(labels_path)
    labels = _read_labels(labels_path)
    if key is None:
        key = _find_key(labels, Path(csv_path), labels_path)
    elif key not in labels:
        close = difflib.get_close_matches(key, labels, n=3, cutoff=0.5)
        raise DataError(
            f"{labels_path}: no key {key!r}" + (f"; close ones: {close}" if close else "")
        )
    label = _label_array(labels[key], data.timestamps, f"{labels_path} [{key!r}]")
    report = {**data.report, "labels_file": str(labels_path), "labels_key": key}
    return SensorData(
        data.values, data.channels, data.timestamps, {"anomaly": label}, data.source, report
    )
