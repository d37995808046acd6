"""What the commands print: aligned ``name: value`` lines, text tables, events, warnings.

Examples
--------
>>> print(pairs([("rows", "1,000"), ("time", seconds(2.04))]))
rows: 1,000
time: 2.0 s
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click


def table(rows: Sequence[Sequence[Any]], header: Sequence[str], right: Sequence[int] = ()) -> str:
    """Plain aligned text: one header line, then the rows (columns in ``right`` align right)."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    )


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    """``name: value`` lines with the values aligned."""
    width = max(len(name) for name, _ in items)
    return "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in items)


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _when(time_text: str | None, index: int) -> str:
    if time_text is None:
        return str(index)
    whole, _, fraction = time_text.replace("T", " ").partition(".")
    return f"{whole}.{fraction.rstrip('0')}" if fraction.rstrip("0") else whole


def events_table(events: list[Any], top: int) -> str:
    """The ``top`` events by peak score as a text table (channels under 5 % left out)."""
    chosen = sorted(events, key=lambda e: e.peak_score, reverse=True)[:top]
    rows = [
        (
            _when(e.start_time, e.start),
            _when(e.end_time, e.end - 1),
            f"{e.duration:,}",
            f"{e.peak_score:.2f}",
            ", ".join(
                f"{n} {s:.0%}" for i, (n, s) in enumerate(e.top_channels) if i == 0 or s >= 0.05
            ),
        )
        for e in chosen
    ]
    return table(rows, ("first", "last", "rows", "peak", "top channels"), right=(2, 3))


def warn(message: str) -> None:
    """A warning line on stderr (always: it is about the results, not progress)."""
    click.echo(f"Warning: {message}", err=True)
