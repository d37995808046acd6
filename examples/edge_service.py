"""A minimal edge service: score sensor rows as they arrive with an exported seqae model.

Needs numpy and onnxruntime only (seqae's runtime never imports torch)::

    python examples/edge_service.py exported_models/conv1d_synthetic.onnx < rows.csv

Input: CSV on stdin (or ``--input FILE``), a header naming the channels (any order, extra columns
such as a time stamp are ignored), then one row per timestep. Output: one JSON line per alarm
(``--all``: per timestep) with the timestep's index, score and the channel contributing most.

How it works, for the two ways a model scores (the file's metadata says which):

- windowed (step 1, mean fold): a ring buffer holds the last ``frame`` rows; every new row
  completes a frame, which onnxruntime scores at once (batch 1). The per-timestep errors of
  overlapping frames are averaged as they arrive, exactly as
  :meth:`OnnxDetector.score_samples` folds them, so a timestep's score is final ``frame - 1``
  rows later and equals the offline score.
- convolutional (the fully convolutional conv1d, the default for it): a buffer holds the last
  ``2 * halo + stride`` rows; every ``stride`` new rows, the graph runs once over that buffer
  and the ``stride`` timesteps in its middle become final, ``halo`` rows late, equal to the
  offline chunked pass (chunks start at multiples of the stride with the same halo).

A final timestep's channel errors combine into its score as offline
(:func:`seqae.scoring.core.combine_channels` with the model's ``combine_power``); where the model
takes centred means of those scores (``centred_smoothing``, and the ranking stream under the line
of ``rank_smoothing``) the timestep waits until they are final too (:class:`Centring`, up to 31
rows more), then goes through the detector's
:meth:`~seqae.scoring.core.StreamDetector.tracker` (score smoothing, the drift-aware line, the
ranking under the line, channel attribution, the stuck-sensor check: causal, numpy only), so the
scores equal
:meth:`OnnxDetector.score_samples`. Event rules (``min_event_length``, ``merge_gap``) need
hindsight and are left to the consumer.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TextIO

import numpy as np

from seqae.files.runtime import OnnxDetector
from seqae.files.state import FittedState
from seqae.scoring.baseline import CentredMean
from seqae.scoring.core import combine_channels

#: ``(timestep, score, contributions)`` of one timestep whose network score is final.
Result = tuple[int, float, np.ndarray]


class StreamScorer:
    """Score one row at a time: a ring buffer of the last frame plus a running fold.

    Needs a model scored frame by frame with step 1 and the mean fold (the Detector's
    defaults). Each :meth:`push` returns the timesteps whose score became final.
    """

    def __init__(self, detector: OnnxDetector) -> None:
        meta = detector.metadata
        if (meta["scoring"], meta["step"], meta["fold"]) != ("windowed", 1, "mean"):
            raise ValueError(
                "StreamScorer needs a windowed model with step=1 and fold='mean', got "
                f"scoring={meta['scoring']!r}, step={meta['step']}, fold={meta['fold']!r}"
            )
        self.detector = detector
        self.power = detector.state_.combine_power  # how channel errors make a score
        self.frame, n_channels = detector.frame, detector.n_channels_
        # Each row is written twice, frame apart, so the last frame is always one contiguous
        # slice: ring[i + 1 : i + 1 + frame] after writing row i (mod frame).
        self._ring = np.zeros((2 * self.frame, n_channels), dtype=np.float32)
        self._sum = np.zeros((self.frame, n_channels))  # running fold, slot = timestep % frame
        self._count = np.zeros(self.frame, dtype=np.int64)
        self.n_rows = 0

    def push(self, row: np.ndarray) -> list[Result]:
        """Add one row ``(C,)``; return the ``(timestep, score, contributions)`` made final."""
        t = self.n_rows
        i = t % self.frame
        self._ring[i] = self._ring[i + self.frame] = row
        self.n_rows += 1
        if self.n_rows < self.frame:
            return []
        window = self._ring[i + 1 : i + 1 + self.frame]  # timesteps t - frame + 1 .. t
        errors = self.detector.score_frames(window[None])["channel_error"][0]  # (frame, C)
        slots = np.arange(t - self.frame + 1, t + 1) % self.frame
        self._sum[slots] += errors
        self._count[slots] += 1
        # No later frame starts at t - frame + 1: its score is final.
        return [self._finish(t - self.frame + 1)]

    def flush(self) -> list[Result]:
        """At the end of the stream: the timesteps still waiting for later frames."""
        if self.n_rows < self.frame:
            return []
        return [self._finish(t) for t in range(self.n_rows - self.frame + 1, self.n_rows)]

    def _finish(self, t: int) -> tuple[int, float, np.ndarray]:
        slot = t % self.frame
        contributions = self._sum[slot] / self._count[slot]
        self._sum[slot], self._count[slot] = 0.0, 0
        return t, float(combine_channels(contributions[None], self.power)[0]), contributions


class ConvolutionalStreamScorer:
    """Score one row at a time with a fully convolutional model: ``stride`` rows per graph run.

    Each :meth:`push` returns the timesteps whose score became final.
    """

    def __init__(self, detector: OnnxDetector) -> None:
        meta = detector.metadata
        if meta["scoring"] != "convolutional":
            raise ValueError(f"needs a convolutional model, got scoring={meta['scoring']!r}")
        self.detector = detector
        self.power = detector.state_.combine_power  # how channel errors make a score
        self.stride, self.halo = int(meta["total_stride"]), int(meta["halo"])
        self._rows: list[np.ndarray] = []  # raw rows from timestep `_first` on
        self._first = 0
        self.n_rows = 0
        self.n_done = 0  # timesteps returned

    def push(self, row: np.ndarray) -> list[Result]:
        """Add one row ``(C,)``; return the ``(timestep, score, contributions)`` made final."""
        self._rows.append(row)
        self.n_rows += 1
        if self.n_rows < self.n_done + self.stride + self.halo:
            return []
        return self._score(self.n_done + self.stride)

    def flush(self) -> list[Result]:
        """At the end of the stream: the timesteps still waiting for later rows."""
        return self._score(self.n_rows, at_end=True) if self.n_done < self.n_rows else []

    def _score(self, end: int, at_end: bool = False) -> list[Result]:
        lo = max(0, self.n_done - self.halo)  # a multiple of the stride, as offline
        hi = self.n_rows if at_end else end + self.halo
        x = np.stack(self._rows[lo - self._first : hi - self._first])
        errors = self.detector.score_frames(x[None])["channel_error"][0]  # (hi - lo, C)
        scores = combine_channels(errors[self.n_done - lo : end - lo], self.power)
        results = [
            (t, float(scores[t - self.n_done]), errors[t - lo]) for t in range(self.n_done, end)
        ]
        self.n_done = end
        keep = max(0, end - self.halo)
        del self._rows[: keep - self._first]
        self._first = keep
        return results


class Centring:
    """Hold each timestep until its centred means are final: the model's centred mean of the
    scores (``centred_smoothing``) and its ranking stream (``rank_smoothing``), each final
    ``width - 1`` rows later (or at the stream's end)."""

    def __init__(self, state: FittedState) -> None:
        widths = (state.centred_smoothing, state.rank_smoothing)
        self._means = [CentredMean(w) if w > 1 else None for w in widths]
        self._final: list[deque[float]] = [deque(), deque()]
        self._held: deque[tuple[Result, np.ndarray]] = deque()

    def push(
        self, results: list[Result], rows: list[np.ndarray], *, at_end: bool = False
    ) -> list[tuple[int, float, float | None, np.ndarray, np.ndarray]]:
        """Add timesteps with their raw rows; return ``(timestep, score, rank or None,
        contributions, row)`` of those made final, in order."""
        self._held.extend(zip(results, rows, strict=True))
        raw = np.array([r[1] for r in results])
        for mean, final in zip(self._means, self._final, strict=True):
            if mean is None:
                final.extend(raw.tolist())
                continue
            final.extend(mean.push(raw).tolist())
            if at_end:
                final.extend(mean.finish().tolist())
        ranked = self._means[1] is not None
        ready = []
        for _ in range(min(len(f) for f in self._final)):
            (t, _, contributions), row = self._held.popleft()
            score, rank = self._final[0].popleft(), self._final[1].popleft()
            ready.append((t, score, rank if ranked else None, contributions, row))
        return ready


def make_scorer(detector: OnnxDetector) -> StreamScorer | ConvolutionalStreamScorer:
    """The row-by-row scorer that matches how the model scores offline."""
    if detector.metadata["scoring"] == "convolutional":
        return ConvolutionalStreamScorer(detector)
    return StreamScorer(detector)


def read_rows(lines: Iterable[str], channels: list[str]) -> Iterator[np.ndarray]:
    """Rows of a CSV with a header, as float32 arrays in the model's channel order."""
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader)]
    missing = [c for c in channels if c not in header]
    if missing:
        raise SystemExit(f"the input lacks channel(s) {missing}; its header is {header}")
    columns = [header.index(c) for c in channels]
    for line_number, fields in enumerate(reader, start=2):
        try:
            row = np.array([float(fields[j]) for j in columns], dtype=np.float32)
        except (IndexError, ValueError):
            raise SystemExit(
                f"line {line_number}: expected numbers in {channels}: {fields}"
            ) from None
        if not np.isfinite(row).all():
            raise SystemExit(f"line {line_number}: non-finite value in {fields}")
        yield row


def serve(model: str, source: TextIO, out: TextIO, *, every: bool = False) -> int:
    """Score every row of ``source``; write JSON lines to ``out``; return the alarm count."""
    detector = OnnxDetector(model, intra_op_num_threads=1)  # one frame per call: one thread
    scorer = make_scorer(detector)
    centring = Centring(detector.state_)
    tracker = detector.tracker()  # what the detector does after the network, in order
    channels = detector.channels_
    alarms = 0
    waiting: deque[np.ndarray] = deque()  # raw rows whose timesteps are not final yet, in order

    def emit(results: list[Result], *, at_end: bool = False) -> None:
        nonlocal alarms
        rows = [waiting.popleft() for _ in results]
        ready = centring.push(results, rows, at_end=at_end)
        if not ready:
            return
        # the timesteps made final together go through the tracker in one call, with their
        # raw rows (the attribution weighs channels by their deviation)
        raw = np.array([r[1] for r in ready])
        rank = None if ready[0][2] is None else np.array([r[2] for r in ready])
        values = np.stack([r[4] for r in ready])
        scores, shares = tracker.apply(raw, np.stack([r[3] for r in ready]), values, rank)
        for (t, *_), score, contributions in zip(ready, scores.tolist(), shares, strict=True):
            alarm = score >= 1.0
            alarms += alarm
            if alarm or every:
                top = channels[int(np.argmax(contributions))]
                record = {"t": t, "score": round(score, 6), "alarm": alarm, "top_channel": top}
                out.write(json.dumps(record) + "\n")

    for row in read_rows(source, channels):
        waiting.append(row)
        emit(scorer.push(row))
    emit(scorer.flush(), at_end=True)
    return alarms


def main() -> None:
    parser = argparse.ArgumentParser(description="Score CSV rows with an exported seqae model.")
    parser.add_argument("model", help="an .onnx file from `seqae export` / Detector.export_onnx")
    parser.add_argument("--input", type=argparse.FileType("r"), default=sys.stdin)
    parser.add_argument("--all", action="store_true", help="print every timestep, not only alarms")
    args = parser.parse_args()
    try:
        alarms = serve(args.model, args.input, sys.stdout, every=args.all)
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    print(f"{alarms} alarm timestep(s)", file=sys.stderr)


if __name__ == "__main__":
    main()
