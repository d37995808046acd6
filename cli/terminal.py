"""What the commands print: ``name: value`` lines, tables, warnings, and progress (on a terminal).

>>> report([("rows", "1,000"), ("model", "conv1d")], start=None)
rows:  1,000
model: conv1d
"""

from __future__ import annotations

import sys
import time
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


def report(items: Sequence[tuple[str, Any]], start: float | None, err: bool = False) -> None:
    """Echo ``name: value`` lines, values aligned, ending with the time since ``start`` (if
    given)."""
    if start is not None:
        took = time.perf_counter() - start
        items = [*items, ("time", f"{took:.1f} s" if took < 120 else f"{took / 60:.1f} min")]
    width = max(len(name) for name, _ in items)
    click.echo("\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in items), err=err)


def warn(message: str) -> None:
    """A warning line on stderr (always: it is about the results, not progress)."""
    click.echo(f"Warning: {message}", err=True)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def on_terminal() -> bool:
    """Whether progress lines may go to stderr: a terminal, and no --quiet."""
    ctx = click.get_current_context(silent=True)
    quiet = ctx is not None and ctx.meta.get("seqae.quiet", False)
    return stderr_is_terminal() and not quiet


# The library reports progress through these callbacks (handed to it by the commands) and never
# prints; they draw on stderr, on a terminal only.
def status(message: str) -> None:
    """One transient line on stderr (``reading data.csv ...``)."""
    if on_terminal():
        click.echo(f"\r{message}\033[K", err=True, nl=False)


class EpochProgress:
    """Training progress, one bar per epoch."""

    width = 30

    def __init__(self) -> None:
        self.enabled = on_terminal()

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled and exc[0] is not None:
            click.echo("", err=True)

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        filled = self.width * event.step // max(event.n_steps, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"\repoch {event.epoch:>3}/{event.n_epochs} [{bar}] train {event.train_loss:.4g}"
        if event.val_loss is not None:
            line += f"  val {event.val_loss:.4g}"
        end_of_epoch = event.step == event.n_steps
        click.echo(line + ("\n" if end_of_epoch else ""), err=True, nl=False)


class RowProgress:
    """``scoring: 1,234,567 rows``, at most five times a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = on_terminal()
        self._last = 0.0

    def __enter__(self) -> RowProgress:
        return self

    def update(self, rows: int) -> None:
        now = time.perf_counter()
        if self.enabled and now - self._last > 0.2:
            self._last = now
            click.echo(f"\r{self.label}: {rows:,} rows", err=True, nl=False)

    def __exit__(self, *exc: Any) -> None:
        if self.enabled and self._last:
            click.echo("\r" + " " * (len(self.label) + 24) + "\r", err=True, nl=False)


class TaskProgress:
    """``label: done/total tasks`` from the engine's task tracking."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = on_terminal()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            end = "\n" if done == total else ""
            click.echo(f"\r{self.label}: {done}/{total} tasks{end}", err=True, nl=False)
