"""How many CPU threads torch should use for a fit or a scoring call, chosen per call.

torch starts with one thread per core it sees. On a machine where other processes keep cores
busy, or in a container whose CPU quota is below its core count, those threads wait for each
other at every parallel operation and a fit runs many times slower than on one thread
(measured: ``benchmarks/threads.py``). ``n_threads=None`` (the default of
:class:`seqae.Detector` and of ``seqae train/detect --threads``) chooses:

1. the CPUs this process may use: its affinity mask, capped by the cgroup CPU quota
   (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us / cpu.cfs_period_us`` in v1), rounded up;
2. one thread when the work is small (fewer than :data:`SMALL_WORK` timesteps per network
   call: one frame at a time, a short stream), where starting threads costs more than it gives;
3. otherwise one thread per usable CPU that no other process is running on right now: the
   runnable tasks of the whole machine (``/proc/loadavg``'s running count, less this
   process's own running threads), the minimum of a few readings, scaled to this process's
   share of the machine's CPUs. The one-minute load average is not used: it lags a
   neighbour that started seconds ago.

The choice is applied around the call and undone afterwards (:func:`torch_threads`); the
caller's torch settings are left as they were. This module imports nothing heavy; torch is
imported only by :func:`torch_threads`, which only the torch side of seqae calls.

Examples
--------
>>> from seqae.threads import available_cpus, choose_threads
>>> available_cpus() >= 1
True
>>> choose_threads(4, work=10**6)
4
>>> choose_threads(None, work=64) # a single 64-row frame: one thread
1
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import ParameterError

__all__ = [
    "SMALL_WORK",
    "available_cpus",
    "busy_cpus",
    "check_threads",
    "choose_threads",
    "cpu_quota",
    "default_threads",
    "thread_default",
    "threaded",
    "torch_threads",
]

#: Timesteps (batch x frame length) per network call below which one thread is used.
SMALL_WORK = 4096

_CGROUP = Path("/sys/fs/cgroup")
_DEFAULT: contextvars.ContextVar[int | None] = contextvars.ContextVar("seqae_threads", default=None)


def check_threads(n_threads: Any, name: str = "n_threads") -> None:
    """Raise :class:`~seqae.errors.ParameterError` unless ``n_threads`` is None or an int >= 1."""
    if n_threads is None:
        return
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ParameterError(
            f"{name} must be an integer >= 1 or None (chosen from the free CPUs), got {n_threads!r}"
        )


@contextlib.contextmanager
def thread_default(n_threads: int | None) -> Iterator[None]:
    """Inside the block, ``n_threads=None`` means ``n_threads`` (``seqae ... --threads N``).

    Detectors given a count of their own keep it; an :class:`~seqae.OnnxDetector` made inside
    the block without ``intra_op_num_threads`` takes it too.
    """
    check_threads(n_threads)
    token = _DEFAULT.set(n_threads)
    try:
        yield
    finally:
        _DEFAULT.reset(token)


def default_threads() -> int | None:
    """The count set by the enclosing :func:`thread_default`, or None (choose per call)."""
    return _DEFAULT.get()


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _own_cgroups() -> dict[str, str]:
    """controller (``""`` for cgroup v2) -> this process's cgroup path, from /proc/self/cgroup."""
    text = _read(Path("/proc/self/cgroup")) or ""
    groups: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                groups[controller] = parts[2]
    return groups


def _ancestors(root: Path, path: str) -> Iterator[Path]:
    """``root/path`` and each folder above it, up to ``root`` (a quota anywhere above binds)."""
    parts = [p for p in path.split("/") if p]
    for n in range(len(parts), -1, -1):
        yield root.joinpath(*parts[:n])


def cpu_quota(root: Path = _CGROUP) -> float | None:
    """CPUs' worth of time the cgroup CPU quota allows this process, or None without a quota.

    Reads cgroup v2's ``cpu.max`` (``"200000 100000"``: 2 CPUs; ``"max 100000"``: none), else
    cgroup v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1: none), in this process's
    own cgroup and those above it; the smallest quota found wins.
    """
    groups = _own_cgroups()
    quotas: list[float] = []
    for folder in _ancestors(root, groups.get("", "/")):
        text = _read(folder / "cpu.max")
        if text and not text.startswith("max"):
            with contextlib.suppress(ValueError, IndexError, ZeroDivisionError):
                quota, period = text.split()[:2]
                quotas.append(int(quota) / int(period))
    if not quotas:
        for v1 in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            for folder in _ancestors(root / v1, groups.get("cpu", "/")):
                quota, period = (
                    _read(folder / "cpu.cfs_quota_us"),
                    _read(folder / "cpu.cfs_period_us"),
                )
                with contextlib.suppress(TypeError, ValueError, ZeroDivisionError):
                    if int(quota) > 0:  # type: ignore[arg-type]
                        quotas.append(int(quota) / int(period))  # type: ignore[arg-type]
            if quotas:
                break
    return min(quotas) if quotas else None


def _affinity() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask capped by the cgroup quota (>= 1)."""
    cpus = _affinity()
    quota = cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota - 1e-9)))
    return cpus


def _running_tasks() -> int | None:
    """Runnable tasks on the whole machine now (``/proc/loadavg``'s ``running/total``)."""
    text = _read(Path("/proc/loadavg"))
    try:
        return int(text.split()[3].split("/")[0])  # type: ignore[union-attr]
    except (AttributeError, IndexError, ValueError):
        return None


def _own_running() -> int:
    """This process's threads that are running or runnable (the reader among them)."""
    running = 0
    with contextlib.suppress(OSError):
        for task in os.scandir("/proc/self/task"):
            stat = _read(Path(task.path) / "stat") or ""
            state = stat.rpartition(")")[2].split()[:1]  # the name may hold spaces and ')'
            running += state == ["R"]
    return max(running, 1)


def busy_cpus(readings: int = 5, pause: float = 0.001) -> float:
    """CPUs of this process's share of the machine that other processes keep busy now.

    The minimum over ``readings`` (a CPU-bound neighbour is runnable at every reading; a
    short-lived task is not), scaled by the share of the machine's CPUs this process may use
    (its affinity over the CPUs online). 0.0 where ``/proc`` cannot tell (not Linux).
    """
    others: list[int] = []
    for i in range(readings):
        # own threads read on both sides of the machine's count: one that only became
        # runnable after the count (an OpenMP worker waking) would otherwise hide a neighbour
        before = _own_running()
        total = _running_tasks()
        if total is None:
            return 0.0
        others.append(max(0, total - min(before, _own_running())))
        if i + 1 < readings:
            time.sleep(pause)
    online = os.cpu_count() or 1
    return min(others) * min(1.0, _affinity() / online)


def choose_threads(n_threads: int | None = None, work: int | None = None) -> int:
    """The torch thread count for one call: ``n_threads`` as given, or chosen when None.

    Parameters
    ----------
    n_threads : int or None
        A fixed count (returned unchanged), or None to choose from the usable CPUs, the size
        of the work and the other processes running now (see the module's description).
    work : int, optional
        Timesteps per network call (batch x frame length); below :data:`SMALL_WORK`, one
        thread.

    Returns
    -------
    int
    """
    check_threads(n_threads)
    if n_threads is None:
        n_threads = default_threads()
    if n_threads is not None:
        return n_threads
    cpus = available_cpus()
    if cpus == 1 or (work is not None and work < SMALL_WORK):
        return 1
    return max(1, min(cpus, round(cpus - busy_cpus())))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` inside the block, the previous one after."""
    import torch

    previous = torch.get_num_threads()
    if n != previous:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def threaded(run: Callable[[Any], Any], n_threads: int | None) -> Callable[[Any], Any]:
    """``run(batch)`` with torch's thread count chosen per call from the batch's timesteps.

    For the scoring callables (``run(frames (B, L, C))``): a call of fewer than
    :data:`SMALL_WORK` timesteps runs on one thread (unless ``n_threads`` is given); the
    count for larger calls is chosen at the first of them and kept, so that a scoring pass
    reads ``/proc`` once, not per batch, and one frame at a time never reads it.
    """
    check_threads(n_threads)
    if n_threads is None:
        n_threads = default_threads()
    fixed = n_threads
    chosen: list[int] = []

    def run_threaded(batch: Any) -> Any:
        shape = getattr(batch, "shape", ())
        work = int(batch.size) // int(shape[-1]) if len(shape) >= 2 and shape[-1] else None
        if fixed is not None:
            n = fixed
        elif work is not None and work < SMALL_WORK:
            n = 1
        else:
            if not chosen:
                chosen.append(choose_threads(None, work))
            n = chosen[0]
        with torch_threads(n):
            return run(batch)

    return run_threaded
