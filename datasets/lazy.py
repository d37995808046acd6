"""Sensor tables too large for memory, read lazily by Dask in partitions (``seqae fleet``).

A Parquet file or folder is split at its row groups (one partition per row group, so memory
follows the file's layout); a CSV file in blocks of about ``partition_rows`` rows. Needs the
dask extra (``pip install 'seqae[dask]'``).

Examples
--------
>>> import os, tempfile
>>> import pandas as pd
>>> path = os.path.join(tempfile.mkdtemp(), "s.parquet")
>>> pd.DataFrame({"a": range(10)}).to_parquet(path, row_group_size=4)
>>> read_dask(path).npartitions
3
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ParameterError

__all__ = ["read_dask"]


def read_dask(
    path: str | os.PathLike, time_column: str | None = None, partition_rows: int | None = None
) -> Any:
    """A Dask DataFrame of a Parquet file or folder (a partition per row group) or a CSV file
    (about ``partition_rows`` rows per partition: a CSV row of numbers is a few dozen bytes),
    indexed by ``time_column`` (parsed as times, already in order) when given."""
    try:
        import dask.dataframe as dd
    except ImportError:
        raise ParameterError("reading with Dask needs dask: pip install 'seqae[dask]'") from None
    path = Path(path)
    if path.is_file() and path.suffix.lower() in (".csv", ".gz", ".txt"):
        blocksize = None if partition_rows is None else partition_rows * 64
        frame = dd.read_csv(path, blocksize=blocksize)
    else:
        frame = dd.read_parquet(path, split_row_groups=True)
    if time_column is not None:
        if time_column not in frame.columns:
            raise ParameterError(f"time_column {time_column!r} is not a column of {path}")
        frame[time_column] = dd.to_datetime(frame[time_column])
        frame = frame.set_index(time_column, sorted=True)
    return frame
