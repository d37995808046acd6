"""Scale: Dask fleet scoring against a plain loop, the memory of a long Dask stream, DDP on GPU.

    python benchmarks/scale.py          # fleet 100 units x 100,000 rows x 8; 2M and 20M-row streams
    python benchmarks/scale.py --quick  # fleet 20 x 20,000; streams of 500,000 and 2,000,000 rows

- fleet: one shared conv1d model (convolutional scoring) scores every unit file (Parquet, 8
  channels) and writes ``<unit>.parquet`` with scores, labels and contributions: the same
  task function (``seqae.scale.distributed.score_unit``) in a plain Python loop, then on a
  ``distributed.LocalCluster`` of 2 worker processes (1 thread each, started before the
  clock), interleaved (loop, dask, loop, dask, ...) because these machines have slow spells;
  the ratio is loop seconds / Dask seconds within each pair.
- stream: ``seqae.scale.distributed.score_stream`` on a lazily generated Dask array (partitions of
  1,000,000 rows, in-process threads), writing one Parquet file per partition, in a fresh
  child process per length; peak memory is the child's peak resident set (VmHWM). Flat means
  it does not grow with the rows.
- ddp: ``seqae train --distributed`` under ``torchrun --nproc_per_node 1`` on CUDA (nccl)
  against the CPU (gloo), frames per second; only where a GPU is present.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/ is a folder of scripts, not a package

CHANNELS = 8
PART_ROWS = 1_000_000
RESULT_TAG = "SCALE-RESULT "


def _signal(start: int, rows: int, seed: int) -> np.ndarray:
    """Rows ``start .. start + rows`` of a deterministic 8-channel stream (sines + noise)."""
    t = np.arange(start, start + rows, dtype=np.float64)[:, None]
    periods = np.array([50, 80, 130, 210, 340, 550, 890, 1440])
    rng = np.random.default_rng([seed, start])
    x = np.sin(2 * np.pi * t / periods) + 0.1 * rng.standard_normal((rows, CHANNELS))
    return x.astype(np.float32)


def _fit_model(folder: Path) -> Path:
    from seqae import Detector

    det = Detector(
        model="conv1d", frame=64, epochs=2, random_state=0, train_params={"steps_per_epoch": 40}
    )
    path = folder / "model"
    det.fit(_signal(0, 20_000, seed=999)).save(path)
    return path


# ------------------------------------------------------------------------------ fleet
def _write_units(folder: Path, n_units: int, rows: int) -> list[Path]:
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    names = [f"s{i}" for i in range(CHANNELS)]
    files = []
    for u in range(n_units):
        path = folder / f"unit{u:03d}.parquet"
        pd.DataFrame(_signal(0, rows, seed=u), columns=names).to_parquet(path, index=False)
        files.append(path)
    return files


def fleet(args: argparse.Namespace, work: Path, model: Path) -> dict[str, Any]:
    import dask
    import torch
    from distributed import Client, LocalCluster

    from seqae import distributed as sd

    data = work / "units"
    t0 = time.perf_counter()
    files = _write_units(data, args.units, args.rows)
    prepare = time.perf_counter() - t0
    t0 = time.perf_counter()
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    if args.glibc_workers:  # distributed's MALLOC_TRIM_THRESHOLD_=65536 off: as the loop runs
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    client = Client(cluster)
    client.run(lambda: __import__("torch").set_num_threads(1))
    client.run(sd.load_model, str(model))  # each worker loads the model once, before the clock
    sd.load_model(model)  # and so does the loop's process
    startup = time.perf_counter() - t0
    pairs = []
    try:
        for r in range(args.repeats):
            row: dict[str, float] = {}
            modes = [("loop", None), ("loop_1thread", 1)]
            for mode, threads in modes if r % 2 == 0 else modes[::-1]:  # alternate the order
                out = work / f"{mode}{r}"
                out.mkdir()
                previous = torch.get_num_threads()
                torch.set_num_threads(threads or previous)
                t0 = time.perf_counter()
                for path in files:  # the same task function, one unit after another
                    sd.score_unit(str(model), "cpu", path.stem, path, str(out), 3)
                row[f"{mode}_s"] = time.perf_counter() - t0
                torch.set_num_threads(previous)
                shutil.rmtree(out)
            t0 = time.perf_counter()
            summary = sd.score_fleet(data, model, work / f"dask{r}", client=client)
            row["dask_s"] = time.perf_counter() - t0
            assert len(summary) == args.units
            shutil.rmtree(work / f"dask{r}")
            row["ratio"] = row["loop_s"] / row["dask_s"]
            row["ratio_1thread"] = row["loop_1thread_s"] / row["dask_s"]
            pairs.append(row)
            print(f"fleet round {r}: {row}", flush=True)
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(data, ignore_errors=True)
    return {
        "units": args.units,
        "rows_per_unit": args.rows,
        "channels": CHANNELS,
        "prepare_s": prepare,
        "cluster_startup_s": startup,
        "pairs": pairs,
        "worker_environ": environ,
        "measured": _when(),
    }


def _when() -> str:
    """When, and how busy the machine was (sections may come from different runs)."""
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{common.now()}, load average {load}"


# ------------------------------------------------------------------------------ stream
def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def stream_child(rows: int, model: str, out: str) -> None:
    """Score a lazily generated ``rows`` x 8 Dask stream; print time and peak memory."""
    import dask.array as da

    from seqae.scale.distributed import load_model, score_stream

    chunks = [min(PART_ROWS, rows - s) for s in range(0, rows, PART_ROWS)]
    starts = np.cumsum([0, *chunks[:-1]])

    def block(block_id: tuple[int, int]) -> np.ndarray:
        i = block_id[0]
        return _signal(int(starts[i]), chunks[i], seed=7)

    x = da.map_blocks(block, chunks=(tuple(chunks), (CHANNELS,)), dtype=np.float32)
    load_model(model)  # torch's import and the load are not the stream's cost
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    result = score_stream(x, model, out)
    seconds = time.perf_counter() - t0
    written = sum(f.stat().st_size for f in result.files)
    print(
        RESULT_TAG
        + json.dumps(
            {
                "rows": rows,
                "partitions": len(chunks),
                "seconds": seconds,
                "rows_per_s": rows / seconds,
                "rss_before_mib": before / 1024,
                "peak_rss_mib": _status_kib("VmHWM") / 1024,
                "events": len(result.events),
                "anomalies": result.n_anomalies,
                "written_mib": written / 2**20,
            }
        ),
        flush=True,
    )


def stream(args: argparse.Namespace, work: Path, model: Path) -> list[dict[str, Any]]:
    results = []
    for rows in args.stream_rows:
        out = work / f"stream{rows}"
        cmd = [sys.executable, __file__, "--child-stream", str(rows), str(model), str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_child_env())
        shutil.rmtree(out, ignore_errors=True)
        if proc.returncode != 0:
            raise RuntimeError(f"stream child failed:\n{proc.stderr[-3000:]}")
        line = next(x for x in proc.stdout.splitlines() if x.startswith(RESULT_TAG))
        results.append({**json.loads(line[len(RESULT_TAG) :]), "measured": _when()})
        print(f"stream {rows:,} rows: {results[-1]}", flush=True)
    return results


def _child_env() -> dict[str, str]:
    root = str(common.ROOT)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}


# ------------------------------------------------------------------------------ DDP on a GPU
def ddp(work: Path) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {"measured": False, "why": "no CUDA GPU on this machine"}
    import pandas as pd

    data = work / "train.csv"
    pd.DataFrame(_signal(0, 200_000, seed=3)).to_csv(data, index=False)
    torchrun = Path(sys.executable).parent / "torchrun"
    rates = {}
    for device in ("cuda", "cpu"):
        cmd = [str(torchrun), "--standalone", "--nproc_per_node", "1", "-m", "seqae.cli.main"]
        cmd += ["train", str(data), "--output", str(work / f"ddp-{device}"), "--distributed"]
        cmd += ["--frame", "128", "--epochs", "2", "--steps-per-epoch", "200", "--device", device]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=_child_env())
        seconds = time.perf_counter() - t0
        rates[device] = {"seconds": seconds, "frames_per_s": 2 * 200 * 256 / seconds}
    return {"measured": True, **rates}


# ------------------------------------------------------------------------------ report
def report(info: dict[str, Any], args: argparse.Namespace, res: dict[str, Any]) -> str:
    md = [common.header("seqae scale", info, common.command_line(), common.now())]
    if "fleet" in res:
        _fleet_report(md, res["fleet"])
    if "stream" in res:
        _stream_report(md, res["stream"])
    if "ddp" in res:
        _ddp_report(md, res["ddp"])
    if args.note:
        md.append(f"\n{args.note}\n")
    return "\n".join(md)


def _fleet_report(md: list[str], f: dict[str, Any]) -> None:
    md.append(
        f"\n## Fleet scoring: {f['units']} units x {f['rows_per_unit']:,} rows x {f['channels']} "
        "channels, one shared conv1d model\n\nEach run reads every unit's Parquet file, scores "
        "it (convolutional path) and writes `<unit>.parquet` (score, label, 8 contributions). "
        "Dask: a LocalCluster of 2 worker processes x 1 thread (started, and the model loaded "
        f"on each worker, in {f['cluster_startup_s']:.1f} s, not counted). Loop: the same task "
        "function in one process, with torch's default threads and with one thread (the two "
        "loops swap order every round), then Dask.\n"
    )
    if "measured" in f:
        md.append(f"Measured {f['measured']}.\n")
    if "worker_environ" in f:
        env = ", ".join(f"{k}={v}" for k, v in f["worker_environ"].items())
        md.append(f"Dask workers' environment (distributed's pre-spawn-environ): {env}.\n")
    rows = [
        (
            i + 1,
            p["loop_s"],
            p.get("loop_1thread_s"),
            p["dask_s"],
            p["ratio"],
            p.get("ratio_1thread"),
        )
        for i, p in enumerate(f["pairs"])
    ]
    heads = ["round", "loop s", "loop s (1 torch thread)", "Dask s", "loop / Dask"]
    md.append(common.table([*heads, "loop 1 thread / Dask"], rows, digits=2))


def _stream_report(md: list[str], stream: list[dict[str, Any]]) -> None:
    md.append(
        "\n## One long stream on Dask (8 channels, partitions of 1,000,000 rows, in-process "
        "threads, Parquet out)\n"
    )
    when = {s.get("measured", "") for s in stream} - {""}
    md.append(f"Measured {', '.join(sorted(when))}.\n" if when else "")
    rows = [
        (
            s["rows"],
            s["partitions"],
            s["seconds"],
            s["rows_per_s"],
            s["peak_rss_mib"],
            s["written_mib"],
        )
        for s in stream
    ]
    md.append(
        common.table(
            ["rows", "partitions", "seconds", "rows/s", "peak RSS MiB", "Parquet written MiB"],
            rows,
            digits=1,
        )
    )


def _ddp_report(md: list[str], d: dict[str, Any]) -> None:
    md.append("\n## DDP training on one GPU vs the CPU\n")
    if d["measured"]:
        md.append(
            common.table(
                ["device", "seconds", "frames/s"],
                [(k, d[k]["seconds"], d[k]["frames_per_s"]) for k in ("cuda", "cpu")],
                digits=1,
            )
        )
    else:
        md.append(f"Not measured: {d['why']}.")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child-stream"]:
        stream_child(int(argv[1]), argv[2], argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller fleet and streams")
    parser.add_argument("--units", type=int, help="fleet units (default 100; quick 20)")
    parser.add_argument("--rows", type=int, help="rows per unit (default 100,000; quick 20,000)")
    parser.add_argument("--stream-rows", type=int, nargs="+", help="stream lengths")
    parser.add_argument("--repeats", type=int, default=2, help="loop/Dask pairs")
    parser.add_argument(
        "--glibc-workers",
        action="store_true",
        help="start Dask workers without distributed's MALLOC_TRIM_THRESHOLD_=65536",
    )
    parser.add_argument("--note", default="", help="a line added to the results file")
    parser.add_argument("--name", default="scale", help="results file name")
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=("fleet", "stream", "ddp"),
        default=["fleet", "stream", "ddp"],
        help="run only these; the others keep the results file's previous numbers",
    )
    args = parser.parse_args(argv)
    args.units = args.units or (20 if args.quick else 100)
    args.rows = args.rows or (20_000 if args.quick else 100_000)
    args.stream_rows = args.stream_rows or (
        [500_000, 2_000_000] if args.quick else [2_000_000, 20_000_000]
    )
    import torch  # noqa: F401  (machine() describes the GPU when torch is loaded)

    info = common.machine()
    work = Path(tempfile.mkdtemp(prefix="seqae-scale-"))
    previous = common.RESULTS / f"{args.name}.json"
    res = json.loads(previous.read_text()) if previous.exists() else {}
    try:
        model = _fit_model(work)
        if "fleet" in args.sections:
            res["fleet"] = fleet(args, work, model)
        if "stream" in args.sections:
            res["stream"] = stream(args, work, model)
        if "ddp" in args.sections:
            res["ddp"] = ddp(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res = {k: res[k] for k in ("fleet", "stream", "ddp") if k in res}
    data = {"machine": info, "args": vars(args), **res}
    path = common.write_results(args.name, report(info, args, res), data)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
