"""What detection returns, shared by the torch Detector and the numpy-only OnnxDetector."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .events import Event, describe_events

__all__ = ["DetectionResult", "ScoredPart", "StreamResult", "score_frame"]


@dataclass
class DetectionResult:
    """Everything :meth:`Detector.detect` or :meth:`OnnxDetector.detect` finds in one stream.

    Attributes
    ----------
    scores : ndarray (T,)
        Normalised anomaly score per timestep; 1.0 is the alarm line, higher = more anomalous.
    raw_scores : ndarray (T,)
        ``scores`` in the threshold's units (``scores * threshold``): the reconstruction error
        (mean squared error over channels, scaled units; the negative ELBO per value for a
        detector with ``anomaly_score="elbo"``) as smoothed and drift-adjusted for the scores.
    labels : ndarray (T,) of int8
        1 where an alarm is raised (after event post-processing).
    contributions : ndarray (T, C)
        Per-channel share of each score; sums over channels to ``scores``.
    channels : list of str
    events : list of Event
        Contiguous alarms with their peak, mean score and top channels.
    threshold : float
        The raw threshold (``raw_scores / threshold == scores``).
    timestamps : ndarray or None
    reconstruction : ndarray (T, C) or None
        The reconstructed (cleaned) signal in the data's units, when asked for.
    """

    scores: np.ndarray
    raw_scores: np.ndarray
    labels: np.ndarray
    contributions: np.ndarray
    channels: list[str]
    events: list[Event]
    threshold: float
    timestamps: np.ndarray | None = None
    reconstruction: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        scores: np.ndarray,
        contributions: np.ndarray,
        labels: np.ndarray,
        *,
        channels: list[str],
        threshold: float,
        timestamps: np.ndarray | None = None,
        reconstruction: np.ndarray | None = None,
        top_k: int = 3,
    ) -> DetectionResult:
        """Assemble a result from scored timesteps and their labels, describing the events."""
        events = describe_events(
            labels, scores, contributions, channels=channels, timestamps=timestamps, top_k=top_k
        )
        return cls(
            scores=scores,
            raw_scores=scores * threshold,
            labels=labels,
            contributions=contributions,
            channels=list(channels),
            events=events,
            threshold=threshold,
            timestamps=timestamps,
            reconstruction=reconstruction,
        )

    @property
    def n_anomalies(self) -> int:
        """Number of timesteps flagged."""
        return int(self.labels.sum())

    def to_frame(self, *, contributions: bool = True, reconstruction: bool = False) -> Any:
        """One row per timestep: time (when known), score, label, per-channel contributions."""
        return score_frame(
            self.scores,
            self.labels,
            self.channels,
            time=self.timestamps,
            contributions=self.contributions if contributions else None,
            reconstruction=self.reconstruction if reconstruction else None,
        )


def score_frame(
    scores: np.ndarray,
    labels: np.ndarray,
    channels: list[str],
    *,
    time: np.ndarray | None = None,
    index: np.ndarray | None = None,
    contributions: np.ndarray | None = None,
    reconstruction: np.ndarray | None = None,
    time_name: str | None = None,
) -> Any:
    """The table of scored timesteps that :meth:`DetectionResult.to_frame` and ``seqae detect``
    write: ``time`` (or ``index``), ``score``, ``label``, then ``contribution_<channel>`` and
    ``reconstruction_<channel>`` columns for the blocks given. ``time_name`` (the input's own
    name for its time column) replaces ``time`` unless another column already has that name.

    Examples
    --------
    >>> df = score_frame(np.array([0.5, 2.0]), np.array([0, 1]), ["a"], index=np.arange(2))
    >>> list(df.columns), df["label"].tolist()
    (['index', 'score', 'label'], [0, 1])
    """
    import pandas as pd

    columns: dict[str, Any] = {}
    if time is not None:
        columns["time"] = time
    elif index is not None:
        columns["index"] = index
    columns["score"] = scores
    columns["label"] = labels
    for prefix, values in (("contribution", contributions), ("reconstruction", reconstruction)):
        if values is not None:
            for i, name in enumerate(channels):
                columns[f"{prefix}_{name}"] = values[:, i]
    if "time" in columns and time_name and time_name not in columns:
        columns = {time_name if k == "time" else k: v for k, v in columns.items()}
    return pd.DataFrame(columns)


@dataclass
class ScoredPart:
    """Consecutive final timesteps ``start, start + 1, ...`` of a stream scored in chunks.

    Attributes
    ----------
    start : int
        Index of the first timestep in the whole stream.
    scores : ndarray (n,)
        Normalised scores (1.0 = the alarm line).
    contributions : ndarray (n, C)
        Per-channel shares of the scores.
    reconstruction : ndarray (n, C) or None
        The reconstructed signal in the data's units, when asked for.
    labels : ndarray (n,) of int8 or None
        Alarm labels after the event rules (set by :class:`ChunkedDetector`).
    timestamps : ndarray (n,) or None
        The data's time stamps, when it has them (set by :class:`ChunkedDetector`).
    """

    start: int
    scores: np.ndarray
    contributions: np.ndarray
    reconstruction: np.ndarray | None = None
    labels: np.ndarray | None = None
    timestamps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def stop(self) -> int:
        """Index one past the last timestep."""
        return self.start + len(self.scores)


@dataclass
class StreamResult:
    """What scoring a stream in parts finds: :func:`seqae.scale.streaming.detect_file` (a file
    in chunks) and :func:`seqae.scale.distributed.score_stream` (Dask partitions).

    The ``(T, C)`` contributions and reconstruction are not kept: they went part by part to
    the caller (``on_part``) or into the partition files.

    Attributes
    ----------
    n_rows, n_anomalies : int
        Timesteps scored, and flagged.
    events : list of Event
        As :attr:`DetectionResult.events` (indices in the whole stream).
    channels : list of str
    threshold : float
        The raw alarm line (``scores * threshold`` are raw errors).
    scores : ndarray (T,) or None
        Normalised anomaly score per timestep (1.0 is the alarm line); None where not kept.
    labels : ndarray (T,) of int8 or None
        1 where an alarm is raised (after the event rules); None where not kept.
    timestamps : ndarray (T,) or None
    files : list of Path
        Dask: the Parquet file of each partition, in order (empty without ``output``).
    frame : DataFrame or None
        Dask without ``output``: every row's ``index`` (or ``time``), ``score``, ``label`` and
        ``contribution_<channel>``, in order (:func:`score_frame`).

    Examples
    --------
    >>> StreamResult(n_rows=10, n_anomalies=0, events=[], channels=["a"], threshold=1.0).n_rows
    10
    """

    n_rows: int
    n_anomalies: int
    events: list[Event]
    channels: list[str]
    threshold: float
    scores: np.ndarray | None = field(default=None, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    timestamps: np.ndarray | None = field(default=None, repr=False)
    files: list[Path] = field(default_factory=list)
    frame: Any = field(default=None, repr=False)

    @property
    def n_timesteps(self) -> int:
        """The same as :attr:`n_rows` (the name :func:`~seqae.scale.distributed.score_stream`
        gave it first)."""
        return self.n_rows
