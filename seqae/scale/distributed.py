"""Past one machine: long streams and fleets scored on Dask, detectors trained per unit, Spark UDFs.

Needs the ``dask`` extra (``pip install 'seqae[dask]'``: dask and distributed) for the Dask
functions and pyspark for the Spark ones; importing this module needs neither.

- :func:`score_stream` scores one long stream held as a Dask DataFrame or Array partitioned by
  time. Every partition task receives exactly the rows around it that its scores need (the
  frames reaching into it for windowed scoring, the halo for the convolutional path:
  :class:`seqae.scale.streaming.Overlap`, the same rule that scores a file in chunks) plus the
  event rules' context, so partition borders change no score and no label. Each task writes
  its rows (one Parquet file per partition) and returns only a summary of its alarm runs;
  the client stitches runs that cross a border into events, so the client's memory does not
  grow with the stream.
- :func:`score_fleet` scores many streams (a unit column, a folder of files, or a mapping of
  unit to data), with one shared model or one model per unit, one task per unit, and writes
  ``<output>/<unit>.parquet`` atomically: a task re-run after a lost worker replaces its file,
  so no unit is lost or written twice.
- :func:`train_fleet` fits one :class:`seqae.Detector` per unit in parallel and saves each;
  :func:`train_shared` fits one detector on every unit's (normal) data.
- :func:`spark_score_fleet` and :func:`spark_score_stream` do the same on Spark with pandas
  UDFs and the ``.onnx`` file shipped to the executors.

Workers never receive a pickled model: a task gets the model's *path* (a saved folder,
``.safetensors`` file or ``.onnx`` file) and :func:`load_model` loads it once per worker process
and keeps it (reloaded only when the file changes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from ..errors import DataError, ModelFormatError, ParameterError
from ..files.atomic import atomic_path
from ..files.loader import load_detector
from ..scoring.results import StreamResult, score_frame
from ..scoring.validation import stream_for_model
from .streaming import Overlap, range_rows, score_range

__all__ = [
    "FLEET_SUMMARY_COLUMNS",
    "StreamResult",
    "load_model",
    "model_loads",
    "score_fleet",
    "score_stream",
    "score_unit",
    "spark_score_fleet",
    "spark_score_stream",
    "train_fleet",
    "train_shared",
]

FLEET_SUMMARY_COLUMNS = ("unit", "rows", "anomalies", "events", "max_score", "file")
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------ models
_LOCK = threading.Lock()
_MODELS: dict[tuple[str, int, str | None], Any] = {}
_N_LOADS = 0


def _stamp(path: Path) -> int:
    """Changes when the model on disk changes (a folder: its newest file)."""
    if path.is_dir():
        return max((f.stat().st_mtime_ns for f in path.iterdir()), default=0)
    return path.stat().st_mtime_ns


def load_model(path: str | os.PathLike, *, device: str | None = "cpu") -> Any:
    """The model at ``path``, loaded once per process and kept for later tasks.

    Parameters
    ----------
    path : str or os.PathLike
        A saved :class:`seqae.Detector` (folder or ``.safetensors``) or an exported ``.onnx``
        file (an :class:`seqae.files.runtime.OnnxDetector`, no torch needed).
    device : str or None, default "cpu"
        Device of a saved Detector (None: the best available); ignored for ``.onnx``.

    Raises
    ------
    ModelFormatError
        Nothing at ``path``, or not a readable model.

    Examples
    --------
    >>> import os, tempfile
    >>> from seqae import Detector
    >>> det = Detector(model="dense", frame=8, epochs=1, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model")
    >>> det.fit(np.random.default_rng(0).normal(size=(200, 2))).save(path)
    >>> load_model(path) is load_model(path)  # the second call finds it in memory
    True
    """
    global _N_LOADS
    path = Path(path).resolve()
    if not path.exists():
        raise ModelFormatError(f"{path}: no such model file or folder")
    key = (str(path), _stamp(path), device)
    with _LOCK:  # two threads of one worker must not both load it
        model = _MODELS.get(key)
        if model is None:
            model = load_detector(path, device=device)
            for old in [k for k in _MODELS if k[0] == key[0]]:  # a stale version of the file
                del _MODELS[old]
            _MODELS[key] = model
            _N_LOADS += 1
    return model


def model_loads() -> int:
    """How many times :func:`load_model` read a model from disk in this process."""
    return _N_LOADS


def _score_values(det: Any, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores (T,) and contributions (T, C) of a Detector or an OnnxDetector."""
    out = det.scorer.score(values)
    return out.scores, out.contributions


def _drift_context(det: Any) -> int:
    """Rows of raw scores the drift-aware line and the attribution need before a timestep."""
    return det.tracker().context


def _event_context(det: Any) -> int:
    """Labels of a timestep depend on the raw alarms this close to it (see streaming)."""
    return det.scorer.label_context


# ------------------------------------------------------------------------------ dask plumbing
def _dask() -> Any:
    try:
        import dask
    except ImportError:
        raise ParameterError(
            "Dask scoring needs dask and distributed: pip install 'seqae[dask]'"
        ) from None
    return dask


def _compute(tasks: list[Any], client: Any, progress: Progress | None) -> list[Any]:
    """Run delayed ``tasks``: on ``client`` (a distributed.Client or a scheduler address) or,
    without one, on this process's threads; report each finished task to ``progress``."""
    dask = _dask()
    if client is None:
        from dask.callbacks import Callback

        keys = {t.key for t in tasks}
        done = [0]

        def posttask(key: Any, *args: Any) -> None:
            if key in keys:
                done[0] += 1
                progress(done[0], len(tasks))

        with Callback(posttask=posttask) if progress is not None else contextlib.nullcontext():
            return list(dask.compute(*tasks, scheduler="threads"))
    if isinstance(client, str):
        from distributed import Client

        with Client(client) as own:
            return _compute(tasks, own, progress)
    from distributed import as_completed

    futures = client.compute(tasks)
    for n, _ in enumerate(as_completed(futures), start=1):
        if progress is not None:
            progress(n, len(tasks))
    return client.gather(futures)


def _delayed(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``dask.delayed(fn)`` whose calls get readable, unique keys (``seqae-<name>-<run>-<i>``)."""
    dask = _dask()
    run = uuid.uuid4().hex[:8]

    def call(i: int, *args: Any, **kwargs: Any) -> Any:
        return dask.delayed(fn, pure=False)(
            *args, **kwargs, dask_key_name=f"seqae-{name}-{run}-{i}"
        )

    return call


# ------------------------------------------------------------------------------ one long stream
def _rows_frame(
    start: int,
    scores: np.ndarray,
    labels: np.ndarray,
    contributions: np.ndarray,
    channels: Sequence[str],
    timestamps: np.ndarray | None,
    time_name: Any = None,
) -> pd.DataFrame:
    """The per-row output table (:func:`seqae.scoring.results.score_frame`, the columns
    ``seqae detect`` writes), numbered from ``start`` without time stamps; the time column
    under the input's own name (``time_name``, e.g. an index name) where it is a string."""
    return score_frame(
        scores,
        labels.astype(np.int8),
        list(channels),
        time=timestamps,
        index=np.arange(start, start + len(scores)),
        contributions=contributions,
        time_name=time_name if isinstance(time_name, str) else None,
    )


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def _score_range(
    det: Any, data: Any, offset: int, first: int, end: int, total: int, *, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Scores, labels, contributions and time stamps of timesteps ``[first, end)`` of a stream
    of ``total`` rows, from ``data``: its rows ``offset, offset + 1, ...``, which must hold
    every row :func:`seqae.scale.streaming.range_rows` names
    (:func:`seqae.scale.streaming.score_range` scores them)."""
    scorer = det.scorer
    lo, hi = range_rows(scorer, first, end, total)
    if lo < offset or hi > offset + len(data):
        raise DataError(
            f"{source}: rows {offset}..{offset + len(data)} given, {lo}..{hi} needed "
            "(the partition overlap is too small)"
        )
    stream = stream_for_model(_take(data, lo - offset, hi - offset), scorer.channels, source=source)
    scores, labels, contributions, keep = score_range(scorer, stream.values, lo, first, end, total)
    stamps = None if stream.timestamps is None else np.asarray(stream.timestamps)[keep]
    return scores, labels, contributions, stamps


def _take(part: Any, lo: int, hi: int) -> Any:
    return part.iloc[lo:hi] if hasattr(part, "iloc") else part[lo:hi]


def _join(pieces: Sequence[Any]) -> Any:
    if hasattr(pieces[0], "iloc"):
        return pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]


def _score_partition(
    model: str,
    device: str | None,
    index: int,
    bounds: tuple[int, int, int, int],
    output: str | None,
    top_k: int,
    *pieces: Any,
) -> dict[str, Any]:
    first, end, offset, total = bounds
    det = load_model(model, device=device)
    rows = _join(pieces)
    scores, labels, contributions, stamps = _score_range(
        det, rows, offset, first, end, total, source=f"partition {index}"
    )
    time_name = getattr(getattr(rows, "index", None), "name", None)
    frame = _rows_frame(first, scores, labels, contributions, det.channels_, stamps, time_name)
    builder = det.scorer.event_builder(top_k, start=first)
    builder.add(labels, scores, contributions, stamps)
    summary: dict[str, Any] = {
        "rows": len(scores),
        "anomalies": int(labels.sum()),
        "runs": builder.runs(),
    }
    if output is not None:
        path = Path(output) / f"part-{index:05d}.parquet"
        _write_parquet(frame, path)
        summary["file"] = path
    else:
        summary["frame"] = frame
    return summary


def _partitions(data: Any, client: Any) -> tuple[list[Any], list[int]]:
    """Delayed partitions of a Dask DataFrame or Array and their lengths."""
    _dask()
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(data, da.Array):
        if data.ndim != 2:
            raise DataError(f"a Dask array stream must be (T, C), got shape {data.shape}")
        data = data.rechunk({1: -1})
        if any(np.isnan(c) for c in data.chunks[0]):
            data = data.compute_chunk_sizes()
        return list(data.to_delayed()[:, 0]), [int(c) for c in data.chunks[0]]
    if isinstance(data, dd.DataFrame):
        parts = list(data.to_delayed())
        length = _delayed(len, "length")
        lengths = _compute([length(i, p) for i, p in enumerate(parts)], client, None)
        return parts, [int(n) for n in lengths]
    raise ParameterError(
        f"data must be a Dask DataFrame or Array partitioned by time, got {type(data).__name__}"
    )


def score_stream(
    data: Any,
    model: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    client: Any = None,
    device: str | None = "cpu",
    top_k: int = 3,
    progress: Progress | None = None,
) -> StreamResult:
    """Score one long stream held as a Dask DataFrame or Array, partition by partition.

    Scores, labels and events equal :meth:`seqae.Detector.detect` on the whole stream (to
    float rounding): each partition is scored with the rows around it that its frames (or the
    convolutional halo) and the event rules need.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or dask.array.Array
        Rows in time order, partitioned by time. A DataFrame is matched to the model's channels
        by name (other columns are ignored; a DatetimeIndex gives event times); an array's
        columns are the model's channels in order.
    model : path
        A saved Detector (folder / ``.safetensors``) or an exported ``.onnx`` file. Workers
        load it by path, once per process.
    output : path, optional
        Folder that receives ``part-00000.parquet``, ... (columns ``index`` or ``time``,
        ``score``, ``label``, ``contribution_<channel>``). Without it the rows come back in
        :attr:`StreamResult.frame` (for streams that fit in memory).
    client : distributed.Client or str, optional
        The cluster (or its scheduler address); default: this process's threads.
    device : str or None, default "cpu"
        Device of a saved Detector on the workers.
    top_k : int, default 3
        Channels listed per event.
    progress : callable, optional
        ``progress(done, total)`` after each partition, from the scheduler's own tracking.

    Returns
    -------
    StreamResult

    Examples
    --------
    >>> import os, tempfile
    >>> import dask.array as da
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> values = make_sensor_stream(n_timesteps=4000, n_channels=2, random_state=0).values
    >>> path = os.path.join(tempfile.mkdtemp(), "model")
    >>> Detector(model="dense", frame=16, epochs=1, random_state=0).fit(values[:1000]).save(path)
    >>> result = score_stream(da.from_array(values, chunks=(1000, 2)), path)
    >>> whole = load_model(path).score_samples(values)
    >>> bool(np.allclose(result.frame["score"], whole, atol=1e-6))
    True
    """
    model = str(Path(model).resolve())
    det = load_model(model, device=device)
    if det.scorer.images:
        raise ParameterError(f"{model}: an image model does not score streams")
    parts, lengths = _partitions(data, client)
    total = int(sum(lengths))
    if total == 0:
        raise DataError("the stream has no rows")
    if output is not None:
        Path(output).mkdir(parents=True, exist_ok=True)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    ov, ctx = Overlap.of(det), _event_context(det)
    depth = ov.depth + ctx + _drift_context(det)
    call = _delayed(_score_partition, "stream")
    take = _delayed(_take, "take")
    tasks, n_take = [], 0
    for i in range(len(parts)):
        first, end = int(bounds[i]), int(bounds[i + 1])
        if first == end:
            continue
        lo, hi = max(0, first - depth), min(total, end + depth)
        pieces = []
        # the partitions that hold rows [lo, hi)
        j_lo = int(np.searchsorted(bounds, lo, side="right")) - 1
        j_hi = int(np.searchsorted(bounds, hi, side="left"))
        for j in range(j_lo, j_hi):
            a, b = int(bounds[j]), int(bounds[j + 1])
            if b <= lo or a >= hi or a == b:
                continue
            if a >= lo and b <= hi:
                pieces.append(parts[j])
            else:
                pieces.append(take(n_take, parts[j], max(lo, a) - a, min(hi, b) - a))
                n_take += 1
        out = None if output is None else str(output)
        tasks.append(call(i, model, device, i, (first, end, lo, total), out, top_k, *pieces))
    summaries = _compute(tasks, client, progress)
    # the partitions' alarm runs, in order, joined where they meet at a border
    builder = det.scorer.event_builder(top_k)
    for summary in summaries:
        builder.add_runs(summary["runs"], summary["rows"])
    return StreamResult(
        n_rows=total,
        n_anomalies=sum(s["anomalies"] for s in summaries),
        events=builder.events(),
        channels=list(det.channels_),
        threshold=float(det.threshold_),
        files=[s["file"] for s in summaries if "file" in s],
        frame=None
        if output is not None
        else pd.concat([s["frame"] for s in summaries], ignore_index=True),
    )


# ------------------------------------------------------------------------------ fleets
def _check_unit(unit: Any) -> str:
    name = str(unit)
    if not name or name.startswith(".") or any(c in name for c in '/\\:*?"<>|\0'):
        raise DataError(
            f"unit {name!r} cannot name an output file: use letters, digits, '-', '_' or '.'"
        )
    return name


def _model_for(model: str | os.PathLike | Mapping[str, Any], unit: str) -> str:
    """One shared model path, a mapping unit -> path, or a path with ``{unit}`` in it."""
    if isinstance(model, Mapping):
        if unit not in model:
            raise ParameterError(f"no model given for unit {unit!r}")
        return str(Path(model[unit]).resolve())
    text = os.fspath(model)
    return str(Path(text.format(unit=unit) if "{unit}" in text else text).resolve())


def _unit_frames(data: Any, unit_column: str, order_by: str | None) -> dict[str, Any]:
    """Per-unit pandas data or file path, from a mapping, a folder or a pandas DataFrame."""
    if isinstance(data, Mapping):
        return {_check_unit(u): d for u, d in data.items()}
    if isinstance(data, (str, os.PathLike)):
        folder = Path(data)
        if not folder.is_dir():
            raise DataError(f"{folder}: not a folder of unit files")
        files = sorted(
            f for f in folder.iterdir() if f.suffix.lower() in (".csv", ".parquet", ".pq", ".gz")
        )
        if not files:
            raise DataError(f"{folder}: no .csv or .parquet files (one per unit)")
        return {_check_unit(f.name.split(".")[0]): f for f in files}
    if isinstance(data, pd.DataFrame):
        if unit_column not in data.columns:
            raise DataError(f"no unit column {unit_column!r}; columns are {list(data.columns)}")
        return {
            _check_unit(u): _unit_rows(g, unit_column, order_by)
            for u, g in data.groupby(unit_column, sort=True)
        }
    raise ParameterError(
        "data must be a Dask or pandas DataFrame with a unit column, a folder of files, or a "
        f"mapping unit -> data, got {type(data).__name__}"
    )


def _unit_rows(frame: pd.DataFrame, unit_column: str, order_by: str | None) -> pd.DataFrame:
    """One unit's rows in time order (by ``order_by`` or the index), without the unit column."""
    frame = frame.drop(columns=[unit_column])
    if order_by is not None:
        return frame.sort_values(order_by, kind="stable").set_index(order_by)
    return frame.sort_index(kind="stable")


def _read_unit(data: Any) -> Any:
    if isinstance(data, (str, os.PathLike)):
        from ..datasets import read_sensors

        return read_sensors(data)
    return data


def score_unit(
    model: str, device: str | None, unit: str, data: Any, output: str, top_k: int
) -> dict[str, Any]:
    """Score one unit's stream with the model at ``model`` and write ``<output>/<unit>.parquet``
    atomically: the task :func:`score_fleet` runs per unit. Returns the unit's summary row
    (:data:`FLEET_SUMMARY_COLUMNS`)."""
    det = load_model(model, device=device)
    rows = _read_unit(data)
    result = det.detect(rows, top_k=top_k)
    timestamps = None if result.timestamps is None else np.asarray(result.timestamps)
    report = getattr(rows, "report", None) or {}
    name = report.get("time_column") or getattr(getattr(rows, "index", None), "name", None)
    frame = _rows_frame(
        0, result.scores, result.labels, result.contributions, det.channels_, timestamps, name
    )
    path = Path(output) / f"{unit}.parquet"
    _write_parquet(frame, path)  # atomic: a re-run task replaces it whole
    return {
        "unit": unit,
        "rows": len(frame),
        "anomalies": int(result.labels.sum()),
        "events": len(result.events),
        "max_score": float(result.scores.max()),
        "file": str(path),
    }


def _score_unit_group(
    model: Any,
    device: str | None,
    frame: pd.DataFrame,
    unit_column: str,
    order_by: str | None,
    output: str,
    top_k: int,
) -> list[dict[str, Any]]:
    """Every unit in one partition of a shuffled Dask DataFrame."""
    return [
        score_unit(
            _model_for(model, u), device, u, _unit_rows(g, unit_column, order_by), output, top_k
        )
        for u, g in ((_check_unit(u), g) for u, g in frame.groupby(unit_column, sort=True))
    ]


def score_fleet(
    data: Any,
    model: str | os.PathLike | Mapping[str, Any],
    output: str | os.PathLike,
    *,
    unit_column: str = "unit",
    order_by: str | None = None,
    client: Any = None,
    device: str | None = "cpu",
    top_k: int = 3,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Score many streams (units) in parallel and write ``<output>/<unit>.parquet`` for each.

    Parameters
    ----------
    data : Dask DataFrame, pandas DataFrame, folder or mapping
        A DataFrame with a ``unit_column`` (rows of a unit in time order by the index, or by
        ``order_by``; a Dask DataFrame is shuffled by unit first), a folder with one CSV or
        Parquet file per unit (the unit is the file name without its extension), or a
        mapping unit -> DataFrame / array / file path.
    model : path, mapping or pattern
        One shared model (a saved Detector or ``.onnx``), a mapping unit -> model path, or a
        path containing ``{unit}`` (e.g. ``"models/{unit}"``).
    output : path
        Folder for the per-unit files (columns as ``seqae detect`` writes them, with
        contributions); each is written atomically, so a task re-run after a lost worker
        replaces its file instead of adding one.
    unit_column, order_by : str
        The column naming the unit, and the column that orders a unit's rows (default: the
        index).
    client, device, top_k, progress
        As in :func:`score_stream`.

    Returns
    -------
    DataFrame
        One row per unit, sorted by unit: ``unit``, ``rows``, ``anomalies``, ``events``,
        ``max_score``, ``file``.

    Examples
    --------
    >>> import os, tempfile
    >>> from seqae import Detector
    >>> rng = np.random.default_rng(0)
    >>> folder = tempfile.mkdtemp()
    >>> det = Detector(model="dense", frame=8, epochs=1, random_state=0)
    >>> det.fit(rng.normal(size=(300, 2))).save(os.path.join(folder, "model"))
    >>> units = {f"u{i}": rng.normal(size=(100, 2)) for i in range(3)}
    >>> summary = score_fleet(units, os.path.join(folder, "model"), os.path.join(folder, "out"))
    >>> summary["unit"].tolist(), summary["rows"].tolist()
    (['u0', 'u1', 'u2'], [100, 100, 100])
    """
    Path(output).mkdir(parents=True, exist_ok=True)
    out = str(output)
    if not isinstance(model, Mapping):
        model = os.fspath(model)
    tasks: list[Any] = []
    dd = None
    if not isinstance(data, (pd.DataFrame, Mapping, str, os.PathLike)):
        _dask()
        import dask.dataframe as dd
    if dd is not None and isinstance(data, dd.DataFrame):
        if unit_column not in data.columns:
            raise DataError(f"no unit column {unit_column!r}; columns are {list(data.columns)}")
        shuffled = data.shuffle(on=unit_column)
        call = _delayed(_score_unit_group, "units")
        tasks = [
            call(i, model, device, part, unit_column, order_by, out, top_k)
            for i, part in enumerate(shuffled.to_delayed())
        ]
        rows = [row for group in _compute(tasks, client, progress) for row in group]
    else:
        units = _unit_frames(data, unit_column, order_by)
        call = _delayed(score_unit, "unit")
        tasks = [
            call(i, _model_for(model, u), device, u, d, out, top_k)
            for i, (u, d) in enumerate(units.items())
        ]
        rows = _compute(tasks, client, progress)
    summary = pd.DataFrame(rows, columns=list(FLEET_SUMMARY_COLUMNS))
    return summary.sort_values("unit", ignore_index=True)


#: torch seeds weights and batches through its process-wide RNG: two fits in threads of one
#: worker would interleave on it and neither would be reproducible, so they take turns.
_FIT_LOCK = threading.Lock()


def _fit_unit(params: dict[str, Any], data: Any, path: str) -> str:
    from ..detector import Detector

    if isinstance(data, list):
        data = [_read_unit(d) for d in data]
    else:
        data = _read_unit(data)
    with _FIT_LOCK:
        detector = Detector(**params).fit(data)
    detector.save(path)
    return path


def train_fleet(
    data: Any,
    output: str | os.PathLike,
    *,
    params: dict[str, Any] | None = None,
    unit_column: str = "unit",
    order_by: str | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Fit one :class:`seqae.Detector` per unit in parallel; save each to ``<output>/<unit>``.

    Parameters
    ----------
    data : DataFrame, folder or mapping
        Each unit's normal data, as :func:`score_fleet` takes it (a Dask DataFrame is read into
        memory unit by unit: training data is small next to what is scored).
    output : path
        Folder for the models; score with ``model="<output>/{unit}"``.
    params : dict, optional
        :class:`seqae.Detector` parameters (its defaults otherwise).
    unit_column, order_by, client, progress
        As in :func:`score_fleet`.

    Returns
    -------
    dict
        Unit -> saved model folder.
    """
    params = dict(params or {})
    units = _unit_frames(_pandas(data), unit_column, order_by)
    Path(output).mkdir(parents=True, exist_ok=True)
    call = _delayed(_fit_unit, "fit")
    paths = [str(Path(output) / u) for u in units]
    tasks = [
        call(i, params, d, p) for i, (d, p) in enumerate(zip(units.values(), paths, strict=True))
    ]
    _compute(tasks, client, progress)
    return {u: Path(p) for u, p in zip(units, paths, strict=True)}


def train_shared(
    data: Any,
    output: str | os.PathLike,
    *,
    params: dict[str, Any] | None = None,
    unit_column: str = "unit",
    order_by: str | None = None,
    client: Any = None,
) -> Path:
    """Fit one :class:`seqae.Detector` on every unit's normal data (each unit a recording, so no
    frame spans two units) on one worker, and save it to ``output``."""
    units = _unit_frames(_pandas(data), unit_column, order_by)
    task = _delayed(_fit_unit, "fit-shared")(
        0, dict(params or {}), list(units.values()), str(output)
    )
    _compute([task], client, None)
    return Path(output)


def _pandas(data: Any) -> Any:
    """A Dask DataFrame as pandas; anything else as it is."""
    if hasattr(data, "dask") and hasattr(data, "compute") and hasattr(data, "columns"):
        return data.compute()
    return data


# ------------------------------------------------------------------------------ Spark
def _spark_model(model: str, shipped: str) -> str:
    """The model's path on an executor: the copy shipped as ``shipped``, else as given."""
    from pyspark import SparkFiles

    local = Path(SparkFiles.get(shipped))
    return str(local if local.exists() else model)


def _spark_schema(channels: Sequence[str], first: str, position: str) -> str:
    cols = [f"`{first}` string", f"`{position}` long", "score double", "label int"]
    cols += [f"`contribution_{c}` double" for c in channels]
    return ", ".join(cols)


def spark_score_fleet(
    frame: Any,
    model: str | os.PathLike,
    *,
    unit_column: str = "unit",
    order_by: str = "time",
) -> Any:
    """Score every unit of a Spark DataFrame with one shared model, as a pandas UDF.

    ``frame.groupBy(unit_column).applyInPandas(...)``: each group is one unit, ordered by
    ``order_by`` (a time stamp or position column). ``model`` should be an ``.onnx`` file: it
    is shipped to the executors with ``SparkContext.addFile`` and each Python worker opens one
    onnxruntime session and keeps it (:func:`load_model`).

    Returns
    -------
    pyspark.sql.DataFrame
        ``unit``, the ``order_by`` column as it came in (its own name and type), ``position``
        (the row's rank within its unit), ``score``, ``label``, ``contribution_<channel>``.
    """
    model = str(Path(model).resolve())
    det = load_model(model)
    shipped = _ship(frame.sparkSession.sparkContext, model)
    channels = list(det.channels_)
    order_type = frame.schema[order_by].dataType.simpleString()

    def score(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values(order_by, kind="stable")
        unit = str(pdf[unit_column].iloc[0])
        local = load_model(_spark_model(model, shipped))
        result = local.detect(pdf.drop(columns=[unit_column, order_by]).reset_index(drop=True))
        rows = _rows_frame(0, result.scores, result.labels, result.contributions, channels, None)
        rows.insert(0, unit_column, unit)
        rows.insert(1, order_by, pdf[order_by].to_numpy())  # the input's time, under its name
        return rows.rename(columns={"index": "position"})

    schema = _spark_schema(channels, unit_column, "position")
    schema = schema.replace(", `position`", f", `{order_by}` {order_type}, `position`", 1)
    with _quiet_pandas_check():
        return frame.groupBy(unit_column).applyInPandas(score, schema)


def spark_score_stream(
    frame: Any,
    model: str | os.PathLike,
    *,
    position: str = "position",
    part_rows: int = 1_000_000,
) -> Any:
    """Score one long series in a Spark DataFrame, ``part_rows`` rows per task, with overlap.

    ``position`` numbers the rows ``0 .. T-1`` in time order. Each row also goes to the
    neighbouring part when it lies within the needed overlap of its border (the frames or
    halo of :class:`seqae.scale.streaming.Overlap` plus the event rules' context), each part is
    scored by a pandas UDF (one onnxruntime session per Python worker) and keeps only its own
    rows: scores and labels equal scoring the whole series.

    Returns
    -------
    pyspark.sql.DataFrame
        ``part``, ``position``, ``score``, ``label``, ``contribution_<channel>``.
    """
    from pyspark.sql import functions as F

    if part_rows < 1:
        raise ParameterError(f"part_rows must be >= 1, got {part_rows!r}")
    model = str(Path(model).resolve())
    det = load_model(model)
    depth = Overlap.of(det).depth + _event_context(det) + _drift_context(det)
    if depth > part_rows:
        raise ParameterError(f"part_rows must be >= the overlap ({depth} rows), got {part_rows}")
    shipped = _ship(frame.sparkSession.sparkContext, model)
    total = frame.count()
    channels = list(det.channels_)
    pos = F.col(position)
    parts = F.array_distinct(F.array(*(F.floor((pos + d) / part_rows) for d in (-depth, 0, depth))))
    spread = frame.withColumn("part", F.explode(parts)).where(
        (F.col("part") >= 0) & (F.col("part") * part_rows < total)
    )

    def score(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values(position, kind="stable")
        part = int(pdf["part"].iloc[0])
        first, end = part * part_rows, min(total, (part + 1) * part_rows)
        offset = int(pdf[position].iloc[0])
        local = load_model(_spark_model(model, shipped))
        values = pdf.drop(columns=["part", position]).reset_index(drop=True)
        scores, labels, contributions, _ = _score_range(
            local, values, offset, first, end, total, source=f"part {part}"
        )
        rows = _rows_frame(first, scores, labels, contributions, channels, None)
        rows.insert(0, "part", str(part))
        return rows.rename(columns={"index": position})

    with _quiet_pandas_check():
        return spread.groupBy("part").applyInPandas(
            score, _spark_schema(channels, "part", position)
        )


def _ship(context: Any, model: str) -> str:
    """Send the model file to the executors; the name it has there.

    Spark keys shipped files by name, and refuses a second file of the same name with other
    contents (two models both called ``model.onnx``), so the file goes out as a copy named by
    its contents (``model-<sha256>.onnx``), once per Spark context.
    """
    source = Path(model)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    copy = Path(tempfile.gettempdir()) / "seqae-spark" / f"{source.stem}-{digest}{source.suffix}"
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(copy) as tmp:
            shutil.copyfile(source, tmp)
    if not any(urlparse(f).path == str(copy) for f in getattr(context, "listFiles", [])):
        context.addFile(str(copy))
    return copy.name


@contextlib.contextmanager
def _quiet_pandas_check() -> Iterator[None]:
    """PySpark warns on every pandas UDF that it does not yet fully support pandas >= 3; the
    pandas UDFs here are tested with it (tests/test_spark.py), so that warning is left out of
    these calls alone (the caller's warning filters are untouched elsewhere)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        yield
