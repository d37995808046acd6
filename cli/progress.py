"""Progress on stderr, only on a terminal and without --quiet: a transient status line, a bar
per training epoch, a count of rows scored or of tasks done. The library reports through
callbacks and never prints.

Examples
--------
>>> progress = RowProgress("scoring")
>>> progress.enabled  # a doctest's stderr is no terminal: nothing is drawn
False
>>> progress.update(1_000)
>>> progress.close()
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def on_terminal() -> bool:
    """Whether progress lines may go to stderr: a terminal, and no --quiet."""
    ctx = click.get_current_context(silent=True)
    quiet = ctx is not None and ctx.meta.get("seqae.quiet", False)
    return stderr_is_terminal() and not quiet


def status(message: str) -> None:
    """One transient line on stderr (``reading data.csv ...``), on a terminal only."""
    if on_terminal():
        click.echo(f"\r{message}\033[K", err=True, nl=False)


class EpochProgress:
    """Training progress on stderr, one bar per epoch, only when stderr is a terminal."""

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
    """``rows scored: 1,234,567`` on stderr, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = on_terminal()
        self._last = 0.0

    def update(self, rows: int) -> None:
        now = time.perf_counter()
        if self.enabled and now - self._last > 0.2:
            self._last = now
            click.echo(f"\r{self.label}: {rows:,} rows", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self._last:
            click.echo("\r" + " " * (len(self.label) + 24) + "\r", err=True, nl=False)


class TaskProgress:
    """``label: done/total tasks`` on stderr from the engine's task tracking (terminal only)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = on_terminal()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            end = "\n" if done == total else ""
            click.echo(f"\r{self.label}: {done}/{total} tasks{end}", err=True, nl=False)
