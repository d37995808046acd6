"""Settings of a whole process, for a program that owns its process (the ``seqae`` command, a
benchmark): signals that raise so outputs clean up, and glibc's malloc thresholds. The library
itself never calls them.

Examples
--------
>>> issubclass(Terminated, KeyboardInterrupt)
True
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import Any

__all__ = ["Terminated", "handle_signals", "tune_malloc"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every atomic output cleans up after itself."""


_PENDING: list[int] = []  # a signal that arrived while a module was loading


def _interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C or SIGTERM as an exception, so every atomic output cleans up after itself.

    Not while a module loads: an exception raised there can land in a compiled extension's
    initialisation (torch's import runs Python code from C++), which cannot unwind it and
    aborts the process with a core dump, or breaks the module for good. There the signal
    waits and is tried again every 50 ms until the import is over; a second one while the
    first waits (an import that hangs) is raised at once.
    """
    if _importing(frame) and hasattr(signal, "setitimer") and not _PENDING:
        _PENDING[:] = [signum]
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        return
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _retry(signum: int, frame: Any) -> None:
    if _PENDING:
        _interrupt(_PENDING.pop(), frame)


def _importing(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def handle_signals() -> None:
    """Ctrl-C and SIGTERM raise (:class:`Terminated` for SIGTERM), so that every atomic output
    cleans up after itself; a signal that arrives while a module loads waits until it is loaded.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    # a Ctrl-C that the shell told this process to ignore (a background job) stays ignored
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _retry)


def tune_malloc() -> None:
    """Keep glibc from returning large activation buffers to the OS after every batch.

    Measured in DESIGN.md: ~2x faster conv inference and LSTM training/scoring. Only a process
    that owns its start may do this: the library never calls it; the command line does.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 1_000_000_000)
        libc.mallopt(m_trim_threshold, 1_000_000_000)
