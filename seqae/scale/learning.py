"""Score a stream for months while the model keeps learning from the rows it did not flag.

A service that runs for months sees its normal operation move (a new operating point, a
serviced machine, the seasons). :class:`LearningDetector` scores the stream part by part and,
after each *period* of rows, trains the model further on the rows of that period it found
normal (:meth:`seqae.Detector.partial_fit`), so the next period is scored by a model that knows
the new level.

The rules, in one place:

- **Periods.** The stream is cut into fixed periods of ``period`` rows counted from its first
  row: rows ``[0, period)``, ``[period, 2 * period)``, ... Each period is scored with the model
  as it stands at the period's start (the model ``M_k`` of period ``k``).
- **Context (exactness rule).** Period ``k`` is scored *as a continuation of the stream*: its
  scores, contributions and labels are exactly those that scoring the whole stream with
  ``M_k`` (``M_k.detect(stream)``) gives on rows ``[k * period, (k + 1) * period)``. The
  frames, the score smoothing, the drift-aware line, the attribution and the event rules read
  the rows before the period (scored again with ``M_k``) and the few rows after it, as
  :func:`seqae.scale.streaming.score_range` does for a Dask partition. Hence a period is
  scored once the rows just after it have arrived (``label_context`` plus one frame or
  halo: :attr:`LearningDetector.lookahead`), or when the stream ends. A model that never
  updates gives exactly ``detector.detect`` on the whole stream.
- **Learning.** At the end of each complete period, the rows of that period with label 0
  (after the event rules), taken as contiguous runs of at least ``frame`` rows (each run one
  recording), go to ``detector.partial_fit(runs)``, unless those runs hold fewer than
  ``min_rows`` rows (then the model stays as it is: a period that is mostly alarms must not
  teach the model its fault). With ``memory``, each update also replays the most recent
  ``memory`` rows of the normal data it learnt from before (``history``, the rows the model
  was fitted on, first), so that the network keeps what it knew and the alarm line is fitted
  on those rows' held-out tails too, not on one period's alone. Each update runs with
  ``random_state = base_seed + k`` (``base_seed``: the detector's ``random_state``, 0 when
  None), restored afterwards, so a run is reproducible (bit for bit with a fixed
  ``n_threads`` on the detector and the same device: a thread count chosen from the
  machine's load may round differently). The last, incomplete period of a finished stream is
  scored, never learnt from.
- **Chunking.** Results depend only on the rows, never on how they arrive in chunks.
- **Memory use.** Only the rows the next period needs are kept (and the replay memory): its
  context before it (:attr:`LearningDetector.context_rows`), its own rows and the lookahead.
  The ``(T,)`` scores are handed to the caller period by period and not kept; events are
  described as they come (:class:`seqae.scoring.events.EventBuilder`).
- **Checkpoints.** :meth:`LearningDetector.save` writes the model of the next period, a
  small JSON (``learning.json``) and the replay memory's rows (``memory.npy``) into one
  folder, atomically; the state is always that of the last period boundary.
  :meth:`LearningDetector.resume` continues from it: pass
  ``context=`` the :attr:`~LearningDetector.context_rows` rows just before the boundary (the
  JSON records how many, as ``context_rows``), then feed the rows from the boundary on
  (``rows_seen``), including rows already pushed before the save that were not yet scored.
  The scores and labels then equal the uninterrupted run's. An event running across the
  boundary is reported in two pieces (one before the restart, one after).

This module never imports torch; a saved model is loaded only by :meth:`resume`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..errors import DataError, ModelFormatError, ParameterError
from ..files.atomic import atomic_path
from ..files.loader import load_detector
from ..scoring.core import Scorer
from ..scoring.events import Event
from ..scoring.results import ScoredPart
from ..scoring.validation import as_stream, match_channels
from .streaming import Overlap, range_rows, score_range

if TYPE_CHECKING:  # torch is imported only where a Detector is made or loaded
    from ..detector import Detector

__all__ = ["STATE_FILE", "LearnResult", "LearningDetector"]

#: The JSON file of a checkpoint folder (beside the model's folder ``model``).
STATE_FILE = "learning.json"
#: The model's folder inside a checkpoint folder.
MODEL_FOLDER = "model"
#: The replay memory's rows inside a checkpoint folder (a float32 ``.npy``, no pickle).
MEMORY_FILE = "memory.npy"
#: Version of the checkpoint's JSON.
STATE_VERSION = 1


class LearnResult(NamedTuple):
    """What :meth:`LearningDetector.learn` returns.

    Attributes
    ----------
    scores : ndarray (T,)
        Normalised scores of the rows given (1.0 is the alarm line).
    labels : ndarray (T,) of int8
        Alarm labels after the event rules.
    n_updates : int
        Updates of the model so far (``partial_fit`` calls, a resumed run's earlier ones too).
    """

    scores: np.ndarray
    labels: np.ndarray
    n_updates: int


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _normal_runs(labels: np.ndarray, min_length: int) -> list[tuple[int, int]]:
    """``[a, b)`` of each run of label 0 at least ``min_length`` rows long."""
    ok = np.concatenate([[False], np.asarray(labels) == 0, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(ok))
    return [(int(a), int(b)) for a, b in edges.reshape(-1, 2) if b - a >= min_length]


class LearningDetector:
    """Score a stream period by period while the model learns from the rows it did not flag.

    See the module's description (:mod:`seqae.scale.learning`) for the rules: the periods,
    the context each period is scored with, when the model learns, and the checkpoints.

    Parameters
    ----------
    detector : Detector
        A fitted sequence :class:`seqae.Detector` (a model that trains: not an image model,
        not ``"pca"``, not an ``OnnxDetector``). It is updated in place by
        :meth:`~seqae.Detector.partial_fit`; give a copy to keep the original. Should
        ``partial_fit`` fail, the detector may be partly updated: resume from the last
        checkpoint.
    period : int, default 10000
        Rows per period (more than the detector's ``frame``).
    min_rows : int, optional
        The fewest normal rows (in runs of at least ``frame`` rows) a period needs to teach
        the model; default ``period // 2``.
    memory : int, default 0
        Rows of earlier normal data that each update replays beside the period's own (the most
        recent ones, in runs of at least ``frame`` rows). 0: a period's rows alone train the
        model and fit its alarm line. On one-channel SMD series fitted on 750 rows, periods of
        1,000 rows, 3,000 rows of memory took the false-alarm rows per 1,000 from 50.7 to 40.0
        and the F1 from 0.20 to 0.25 (``benchmarks/results/suite-rounds.md``), at about four
        times the training time per update.
    history : array-like (N, C), optional
        Normal rows the memory starts with, usually the rows the detector was fitted on (only
        the last ``memory`` rows are kept). Needs ``memory > 0``.

    Attributes
    ----------
    n_seen : int
        Rows pushed so far (a resumed run counts the rows before its boundary).
    next_start : int
        The start of the next period to score: the last period boundary passed.
    n_updates : int
        Periods the model learnt from so far.
    n_skipped : int
        Complete periods scored in this run that had too few normal rows to learn from.
    n_anomalies : int
        Rows flagged in this run.
    events : list of Event or None
        The events of this run, after :meth:`finish`.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae import Detector
    >>> from seqae.datasets import make_sensor_stream
    >>> stream = make_sensor_stream(n_timesteps=2100, n_channels=2, random_state=0)
    >>> det = Detector(model="dense", frame=16, epochs=1, random_state=0)
    >>> det = det.fit(stream.values[:1000])
    >>> import copy
    >>> learner = LearningDetector(copy.deepcopy(det), period=400)  # det stays as fitted
    >>> parts = list(learner.run(np.array_split(stream.values[1000:], 7)))
    >>> [(p.start, len(p)) for p in parts]  # two complete periods, the rest of the stream
    [(0, 400), (400, 400), (800, 300)]
    >>> learner.n_updates + learner.n_skipped
    2
    >>> again = LearningDetector(copy.deepcopy(det), period=400).learn(stream.values[1000:])
    >>> bool(np.allclose(again.scores, np.concatenate([p.scores for p in parts]), atol=1e-6))
    True
    >>> again.n_updates == learner.n_updates
    True
    """

    def __init__(
        self,
        detector: Detector,
        period: int = 10_000,
        *,
        min_rows: int | None = None,
        memory: int = 0,
        history: Any = None,
    ) -> None:
        if not callable(getattr(detector, "partial_fit", None)):
            raise ParameterError(
                f"LearningDetector needs a trainable seqae.Detector, got {type(detector).__name__}"
                " (an exported ONNX model cannot learn: load the saved Detector instead)"
            )
        scorer = detector.scorer  # NotFittedError when it is not fitted
        if scorer.images:
            raise ParameterError(
                "LearningDetector scores streams; this Detector was fitted on images"
            )
        model = getattr(detector, "model_", None)
        networks = list(getattr(model, "members", [model]))
        if any(getattr(net, "closed_form", False) for net in networks):
            raise ParameterError(
                f"model {getattr(model, 'name', '?')!r} is fitted in closed form and cannot "
                "learn while scoring: use a model that trains (e.g. 'dense' or 'conv1d')"
            )
        frame = int(scorer.spec.frame)
        period = _check_int("period", period)
        if period <= frame:
            raise ParameterError(
                f"period must be more than the detector's frame ({frame} rows), got {period}"
            )
        min_rows = period // 2 if min_rows is None else _check_int("min_rows", min_rows)
        if not 0 <= min_rows <= period:
            raise ParameterError(f"min_rows must be in 0..period ({period}), got {min_rows}")
        memory = _check_int("memory", memory)
        if memory < 0:
            raise ParameterError(f"memory must be >= 0, got {memory}")
        if history is not None and memory == 0:
            raise ParameterError("history fills the replay memory: give memory > 0 with it")
        random_state = getattr(detector, "random_state", None)
        self.detector = detector
        self.period = period
        self.min_rows = min_rows
        self.frame = frame
        self.base_seed = 0 if random_state is None else int(random_state)
        self.channels = scorer.channels
        self.n_updates = 0
        self.n_skipped = 0
        self.n_anomalies = 0
        self.n_seen = 0
        self.next_start = 0
        self.events: list[Event] | None = None
        self._scorer: Scorer = scorer
        self._rows: list[np.ndarray] = []  # raw rows from stream index `_rows_start` on
        self._rows_start = 0
        self._finished = False
        self._builder = scorer.event_builder()
        self.memory = memory
        self._memory: list[np.ndarray] = []  # runs of earlier normal rows, oldest first
        if history is not None:
            self._remember([self._matched(history, "history")])

    def _matched(self, data: Any, source: str) -> np.ndarray:
        """``data``'s rows in the model's channel order (errors name ``source``)."""
        stream = as_stream(data, source=source)
        return match_channels(stream, self.channels, source=source, owner="LearningDetector").values

    @property
    def memory_rows(self) -> int:
        """Rows the replay memory holds now."""
        return sum(len(r) for r in self._memory)

    def _remember(self, runs: list[np.ndarray]) -> None:
        """Add ``runs`` to the replay memory, keeping its most recent ``memory`` rows (a
        run cut to fewer than ``frame`` rows is dropped)."""
        kept: list[np.ndarray] = []
        room = self.memory
        for run in reversed([*self._memory, *runs]):
            take = min(len(run), room)
            if take < self.frame:
                break
            kept.append(run[len(run) - take :])
            room -= take
        self._memory = kept[::-1]

    # ------------------------------------------------------------------ facts
    @property
    def lookahead(self) -> int:
        """Rows after a period that must arrive before it is scored (the event rules' reach
        plus one frame, or the convolutional halo and stride)."""
        return self._scorer.label_context + Overlap.of(self._scorer).depth

    def _context_start(self, boundary: int) -> int:
        """The first raw row that scoring from ``boundary`` on reads."""
        return range_rows(self._scorer, boundary, boundary + 1, boundary + 1)[0]

    @property
    def context_rows(self) -> int:
        """Rows before :attr:`next_start` that scoring the next period reads: what
        :meth:`resume` needs as ``context``."""
        return self.next_start - self._context_start(self.next_start)

    @property
    def state(self) -> dict[str, Any]:
        """The numbers a checkpoint holds beside the model (JSON-ready).

        ``rows_seen`` is the boundary the checkpoint continues from (the start of the next
        period to score), ``context_rows`` how many rows before it :meth:`resume` needs.
        """
        return {
            "format": "seqae-learning",
            "version": STATE_VERSION,
            "period": self.period,
            "min_rows": self.min_rows,
            "rows_seen": self.next_start,
            "n_updates": self.n_updates,
            "base_seed": self.base_seed,
            "context_rows": self.context_rows,
            "memory": self.memory,
            "memory_runs": [len(r) for r in self._memory],
            # a run-time setting Detector.save leaves out; a resumed run keeps it
            "n_threads": getattr(self.detector, "n_threads", None),
        }

    # ------------------------------------------------------------------ streaming
    def push(self, chunk: Any) -> list[ScoredPart]:
        """Add the next rows: an ``(n, C)`` array in the model's channel order (or a DataFrame /
        SensorData matched by channel name; time stamps are not carried).

        Returns the periods that became final, in order (often none; several when the chunk
        spans several periods), one :class:`~seqae.scoring.results.ScoredPart` each with its
        scores, labels and contributions.
        """
        if self._finished:
            raise DataError("this LearningDetector has finished; start a new one for a new stream")
        if np.shape(getattr(chunk, "values", chunk))[:1] == (0,):
            return []
        values = self._matched(chunk, f"the chunk from row {self.n_seen}")
        self._rows.append(values)
        self.n_seen += len(values)
        return self._score_ready(at_end=False)

    def finish(self) -> list[ScoredPart]:
        """The stream has ended: score what is left (the last complete periods, which still
        teach the model, and the incomplete last period, which does not); describe the events.
        """
        if self._finished:
            return []
        self._finished = True
        if self.n_seen == 0:
            raise DataError("the stream has no rows")
        if self._scorer.spec.mode == "windowed" and self.n_seen < self.frame:
            raise DataError(
                f"the stream has {self.n_seen} rows, fewer than one frame of {self.frame}"
            )
        parts = self._score_ready(at_end=True)
        self.events = self._builder.events()
        return parts

    def run(self, chunks: Iterable[Any]) -> Iterator[ScoredPart]:
        """Push every chunk, then finish; yield each period's part once it is final."""
        for chunk in chunks:
            yield from self.push(chunk)
        yield from self.finish()

    def learn(self, X: Any, *, chunk: int | None = None) -> LearnResult:
        """Run an in-memory stream (the rest of it, after :meth:`resume`) and finish.

        Parameters
        ----------
        X : array-like (T, C), DataFrame or SensorData
        chunk : int, optional
            Push ``X`` in chunks of this many rows (the results do not depend on it).

        Returns
        -------
        LearnResult
            ``(scores, labels, n_updates)`` of the rows of ``X``.
        """
        if chunk is None:
            chunks: Iterable[Any] = [X]
        else:
            size = _check_int("chunk", chunk)
            if size < 1:
                raise ParameterError(f"chunk must be >= 1, got {size}")
            values = match_channels(as_stream(X), self.channels, owner="LearningDetector").values
            chunks = (values[i : i + size] for i in range(0, len(values), size))
        parts = list(self.run(chunks))
        scores = np.concatenate([p.scores for p in parts]) if parts else np.zeros(0)
        labels = (
            np.concatenate([p.labels for p in parts if p.labels is not None])
            if parts
            else np.zeros(0, dtype=np.int8)
        )
        return LearnResult(scores, labels, self.n_updates)

    # ------------------------------------------------------------------ the periods
    def _score_ready(self, *, at_end: bool) -> list[ScoredPart]:
        parts: list[ScoredPart] = []
        rows: np.ndarray | None = None
        total = self.n_seen
        while self.next_start < total:
            end = self.next_start + self.period
            if at_end:
                end = min(end, total)
            elif end + self.lookahead > total:
                break
            if rows is None:
                rows = np.concatenate(self._rows) if len(self._rows) > 1 else self._rows[0]
            part = self._score_period(rows, self.next_start, end, total)
            parts.append(part)
            if end - part.start < self.period:  # the incomplete last period
                break
        if rows is not None:
            keep = self._context_start(self.next_start) - self._rows_start
            self._rows = [rows[keep:].copy()]
            self._rows_start += keep
        return parts

    def _score_period(self, rows: np.ndarray, first: int, end: int, total: int) -> ScoredPart:
        """Score rows ``[first, end)`` with the current model; learn when it is complete."""
        scores, labels, contributions, _ = score_range(
            self._scorer, rows, self._rows_start, first, end, total
        )
        if end - first == self.period:
            own = rows[first - self._rows_start : end - self._rows_start]
            self._update(own, labels, first // self.period)
            self.next_start = end
        self._builder.add(labels, scores, contributions)
        self.n_anomalies += int(labels.sum())
        return ScoredPart(first, scores, contributions, labels=labels)

    def _update(self, values: np.ndarray, labels: np.ndarray, index: int) -> None:
        runs = [values[a:b] for a, b in _normal_runs(labels, self.frame)]
        n_normal = sum(len(r) for r in runs)
        if not runs or n_normal < self.min_rows:
            self.n_skipped += 1
            return
        det = self.detector
        random_state = det.random_state
        det.random_state = self.base_seed + index
        try:
            det.partial_fit([*self._memory, *runs])
        finally:
            det.random_state = random_state
        if self.memory:
            self._remember(runs)
        self.n_updates += 1
        self._scorer = det.scorer

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | os.PathLike) -> None:
        """Checkpoint to a folder, atomically: ``model/`` (the current detector, saved with
        ``Detector.save``), :data:`STATE_FILE` (:attr:`state`) and, with a replay memory,
        :data:`MEMORY_FILE` (its rows, the runs' lengths in the state).

        The state is that of the last period boundary (:attr:`next_start`): continue with
        :meth:`resume`, feeding the rows from that boundary on.
        """
        state = self.state
        with atomic_path(path, folder=True) as tmp:
            self.detector.save(tmp / MODEL_FOLDER)
            if self._memory:
                np.save(tmp / MEMORY_FILE, np.concatenate(self._memory), allow_pickle=False)
            (tmp / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")

    @classmethod
    def resume(
        cls,
        path: str | os.PathLike,
        context: Any = None,
        *,
        device: str | None = "cpu",
    ) -> LearningDetector:
        """Continue from a checkpoint folder written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            The checkpoint folder.
        context : array-like (N, C), optional
            The stream's rows just before the checkpoint's boundary (its ``rows_seen``): at
            least ``context_rows`` of them (the JSON's number; more are fine, only the last
            ones are kept, and the boundary itself bounds it: all rows before it suffice).
            Needed unless the boundary is the stream's start.
        device : str or None, default "cpu"
            Device of the loaded Detector (use the device the run had, for the same
            numbers; its ``n_threads`` is restored from the checkpoint).

        Then push the rows from the boundary on.

        Raises
        ------
        ModelFormatError
            The folder holds no checkpoint, or a damaged one.
        DataError
            Too few context rows, or rows of the wrong channel count.
        """
        path = Path(path)
        try:
            state = json.loads((path / STATE_FILE).read_text())
            if state.get("format") != "seqae-learning" or state.get("version") != STATE_VERSION:
                raise ValueError("not a seqae learning checkpoint of this version")
            period, min_rows = int(state["period"]), int(state["min_rows"])
            boundary, n_updates = int(state["rows_seen"]), int(state["n_updates"])
            base_seed = int(state["base_seed"])
            n_threads = state.get("n_threads")
            if n_threads is not None:
                n_threads = int(n_threads)
            if boundary < 0 or boundary % period:
                raise ValueError(f"rows_seen {boundary} is not a period boundary")
            memory = int(state.get("memory", 0))  # checkpoints before the memory hold none
            lengths = [int(n) for n in state.get("memory_runs", [])]
            runs: list[np.ndarray] = []
            if lengths:
                rows = np.load(path / MEMORY_FILE, allow_pickle=False)
                if rows.ndim != 2 or len(rows) != sum(lengths):
                    raise ValueError(f"{MEMORY_FILE} does not hold the {sum(lengths)} rows named")
                runs = np.split(rows, np.cumsum(lengths)[:-1])
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ModelFormatError(f"{path}: not a LearningDetector checkpoint ({exc})") from None
        detector = load_detector(path / MODEL_FOLDER, device=device)
        detector.n_threads = n_threads
        learner = cls(detector, period, min_rows=min_rows, memory=memory)
        if runs and runs[0].shape[1] != len(learner.channels):
            raise ModelFormatError(f"{path}: {MEMORY_FILE} has the wrong number of channels")
        learner._memory = runs
        learner.base_seed = base_seed
        learner.n_updates = n_updates
        learner.next_start = boundary
        needed = learner.context_rows
        rows = np.zeros((0, len(learner.channels)), dtype=np.float32)
        if needed:
            if context is None:
                raise DataError(
                    f"resuming at row {boundary} needs the {needed} rows before it as context"
                )
            rows = learner._matched(context, "context")
            if len(rows) < needed:
                raise DataError(
                    f"context has {len(rows)} rows; resuming at row {boundary} needs the "
                    f"{needed} rows before it"
                )
            rows = rows[len(rows) - needed :]
        learner._rows = [rows]
        learner._rows_start = boundary - len(rows)
        learner.n_seen = boundary
        learner._builder = learner._scorer.event_builder(start=boundary)
        return learner
