"""Helpers shared by the benchmark scripts: the machine, results files, tables, timing.

Not part of the library: the scripts import this file from their own folder. Nothing here
imports torch at module level, so describing the machine stays cheap.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import shlex
import statistics
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

#: Distributions whose versions every results file records (missing ones are "not installed").
VERSIONED = ("seqae", "torch", "numpy", "scipy", "scikit-learn", "pandas", "onnxruntime", "pyod")

#: The allocator setting the benchmarks may apply to their own process (see DESIGN.md).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str:
    if dist == "seqae":  # a source checkout may not be installed: ask the package itself
        try:
            from seqae import __version__

            return __version__
        except ImportError:
            return "not installed"
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """The machine and software a result was measured on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {d: _version(d) for d in VERSIONED},
        "malloc_env": {k: os.environ.get(k) for k in MALLOC_ENV},
        # other work on the machine skews timings: record how busy it was
        "load_avg_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if "torch" in sys.modules:  # only describe the GPU when torch is loaded anyway
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def describe_machine(info: dict[str, Any]) -> str:
    """One line for a results header."""
    gpu = info.get("gpu")
    mem = f", {info['memory_gib']} GiB RAM" if info.get("memory_gib") else ""
    line = f"{info['cpu']}, {info['cores']} cores{mem}, {info['os']}, Python {info['python']}"
    line += f", GPU {gpu}" if gpu else ""
    line += f", {info['torch_threads']} torch threads" if info.get("torch_threads") else ""
    load = info.get("load_avg_1_5_15")
    return line + (f"; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}" if load else "")


def describe_versions(info: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in info["versions"].items())


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def command_line() -> str:
    """The command that ran this script, as one could type it again from the repo root."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(ROOT)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])


def write_results(name: str, markdown: str, data: dict[str, Any], folder: Path = RESULTS) -> Path:
    """Write ``<name>.md`` and ``<name>.json`` (atomically) and return the markdown path."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js = folder / f"{name}.md", folder / f"{name}.json"
    for path, text in (
        (md, markdown.rstrip() + "\n"),
        (js, json.dumps(_jsonable(data), indent=1, allow_nan=False) + "\n"),
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return md


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def header(title: str, info: dict[str, Any], command: str, when: str) -> str:
    """Markdown header shared by every results file."""
    return (
        f"# {title}\n\n"
        f"- Date: {when}\n"
        f"- Machine: {describe_machine(info)}\n"
        f"- Versions: {describe_versions(info)}\n"
        f"- Command: `{command}`\n"
    )


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: numbers rounded, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:,.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 3) -> str:
    """A GitHub markdown table; cells that are not strings go through :func:`fmt`."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        cells = [c if isinstance(c, str) else fmt(c, digits) for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    vals = [float(v) for v in values]
    if not vals:
        return math.nan, math.nan
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0


def pm(values: Sequence[float], digits: int = 2) -> str:
    """``mean ± std`` as a table cell."""
    m, s = mean_std(values)
    if math.isnan(m):
        return "–"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def rule_value(runs: Sequence[dict[str, Any]]) -> float:
    """The selection rule's value of one candidate on one dataset (suite-rounds.md): the mean
    over its runs (seeds) of (VUS-PR + point F1) / 2, a missing metric counting 0."""
    return statistics.fmean(
        ((p["summary"]["vus_pr"] or 0.0) + (p["summary"]["f1"] or 0.0)) / 2 for p in runs
    )


def rule_free_far(runs: Sequence[dict[str, Any]]) -> float | None:
    """The mean false-alarm share (%) of SKAB's anomaly-free run over a candidate's SKAB runs
    (None where no run has it)."""
    far = [p["summary"].get("normal_far") for p in runs]
    far = [float(f) for f in far if f is not None]
    return statistics.fmean(far) if far else None


def apply_malloc_setting() -> bool:
    """Apply :data:`MALLOC_ENV` to this process through ``mallopt`` (glibc only).

    Returns whether it was applied. Only a process that owns its start may do this; the
    library never does.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        ok = libc.mallopt(m_mmap_threshold, int(MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"]))
        ok &= libc.mallopt(m_trim_threshold, int(MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]))
    except (OSError, AttributeError):
        return False
    return bool(ok)
