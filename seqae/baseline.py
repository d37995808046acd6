"""A drift-aware alarm line: scores relative to the level the stream has been running at.

Normal operation drifts away from the data a detector was fitted on (a temperature follows the
season, a pump wears), and a model's error drifts with it. A fixed line is then crossed by the
drift and the alarms flood. :class:`DriftBaseline` follows the typical level of the score over
the last ``window`` timesteps and lowers the scores by the amount that level has risen above
the level of held-out normal data, so slow drift stops raising alarms while a fault, which
changes the score far faster, still crosses the line.

How the level is measured, in one pass and causally (a timestep is adjusted by the past alone):
the stream is cut into blocks of ``window // 16`` timesteps; each block's median score is one
sample of the level; a block's level is the ``quantile`` (0.25) of the medians of the 16 blocks
before it. A fault therefore has to fill three quarters of a window before it is taken for the
new normal, while single spikes never move the level. The history starts filled with the fitted
``base``, as if the stream had been running at the held-out level before its first timestep.

The state carries across calls, so a stream scored part by part gives the same result as one
pass. Pure numpy: used by the torch ``Detector`` and the onnxruntime ``OnnxDetector`` alike.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> drifting = rng.exponential(0.1, 20_000) * np.linspace(1, 8, 20_000)  # error level x8
>>> adjusted = DriftBaseline(base=0.07, window=1024).adjust(drifting)
>>> bool((drifting[-5000:] > 1).mean() > 0.05), bool((adjusted[-5000:] > 1).mean() < 0.01)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import ParameterError

__all__ = ["N_BLOCKS", "QUANTILE", "DriftBaseline", "apply_baseline"]

#: Blocks per window: the level is re-measured every ``window // N_BLOCKS`` timesteps.
N_BLOCKS = 16
#: Which quantile of the block medians is the level.
QUANTILE = 0.25


class DriftBaseline:
    """Adjust scores for slow drift of their level; stateful, so streams can come in parts.

    Parameters
    ----------
    base : float
        The normal level: the median score of held-out normal data (> 0).
    window : int
        Timesteps over which the level is measured (>= ``N_BLOCKS``).

    Examples
    --------
    >>> import numpy as np
    >>> baseline = DriftBaseline(base=0.1, window=64)  # blocks of 4 timesteps
    >>> baseline.adjust(np.full(8, 0.1)).tolist()  # at the normal level: unchanged
    [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    >>> adjusted = baseline.adjust(np.full(200, 0.4))  # the level rises 4x and stays
    >>> float(adjusted[0]), float(adjusted[-1])  # new at first; then the level follows
    (0.4, 0.1)
    """

    def __init__(self, base: float, window: int) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
            raise ParameterError(f"drift window must be an integer >= {N_BLOCKS}, got {window!r}")
        if window < N_BLOCKS:
            raise ParameterError(f"drift window must be >= {N_BLOCKS} timesteps, got {window}")
        if not (isinstance(base, (int, float, np.floating)) and math.isfinite(base) and base > 0):
            raise ParameterError(f"drift base must be a finite number > 0, got {base!r}")
        self.base = float(base)
        self.block = int(window) // N_BLOCKS
        self._stats = np.full(N_BLOCKS, self.base)  # medians of the last N_BLOCKS blocks
        self._pending = np.zeros(0)  # scores of the current, unfinished block

    def warm_up_from(self, start: int) -> int:
        """Where a fresh baseline must start reading to score a stream from index ``start`` on.

        Feed it the scores from the returned index up to ``start`` (and discard their
        factors), then the scores from ``start`` on: they come out exactly as in one pass
        over the whole stream. This is how a partition of a stream is scored on its own.

        Examples
        --------
        >>> import numpy as np
        >>> scores = np.random.default_rng(0).exponential(0.1, 5000) * np.linspace(1, 3, 5000)
        >>> whole = DriftBaseline(0.07, 256).adjust(scores)
        >>> part = DriftBaseline(0.07, 256)
        >>> first = part.warm_up_from(3000)
        >>> _ = part.factors(scores[first:3000])
        >>> bool(np.array_equal(part.adjust(scores[3000:]), whole[3000:]))
        True
        """
        return max(0, (int(start) // self.block - N_BLOCKS) * self.block)

    def factors(self, scores: Any) -> np.ndarray:
        """The factor (<= 1) each of the next ``len(scores)`` scores is multiplied by."""
        scores = np.asarray(scores, dtype=np.float64)
        s = np.concatenate([self._pending, scores])
        n_full = len(s) // self.block
        medians = np.median(s[: n_full * self.block].reshape(n_full, self.block), axis=1)
        history = np.concatenate([self._stats, medians])
        # block j's level: the quantile of the N_BLOCKS medians before it (history[j : j + N])
        level = np.quantile(sliding_window_view(history, N_BLOCKS), QUANTILE, axis=1)
        per_block = self.base / np.maximum(level, self.base)
        first = len(self._pending)
        self._stats = history[-N_BLOCKS:]
        self._pending = s[n_full * self.block :]
        return np.repeat(per_block, self.block)[first : first + len(scores)]

    def adjust(self, scores: Any) -> np.ndarray:
        """The next part of the stream's scores, adjusted (a new array)."""
        scores = np.asarray(scores, dtype=np.float64)
        return scores * self.factors(scores)


def apply_baseline(
    baseline: DriftBaseline | None, scores: np.ndarray, contributions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The next part's ``(scores (n,), contributions (n, C))``, drift-adjusted alike.

    Contributions keep summing to the score. ``baseline=None`` returns them unchanged.
    """
    if baseline is None:
        return scores, contributions
    factors = baseline.factors(scores)
    return scores * factors, contributions * factors[:, None]
