"""Thread counts: the CPUs a process may use, the choice per call, and that it is undone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from seqae import Detector, threads
from seqae.errors import ParameterError
from seqae.threads import (
    SMALL_WORK,
    available_cpus,
    choose_threads,
    cpu_quota,
    default_threads,
    thread_default,
    threaded,
    torch_threads,
)


def _tree(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return tmp_path


@pytest.mark.parametrize(
    ("groups", "files", "quota"),
    [
        ({"": "/"}, {"cpu.max": "200000 100000"}, 2.0),
        ({"": "/"}, {"cpu.max": "max 100000"}, None),
        ({"": "/job/a"}, {"cpu.max": "max 100000", "job/cpu.max": "150000 100000"}, 1.5),
        (
            {"": "/job"},
            {"cpu.max": "400000 100000", "job/cpu.max": "300000 100000"},
            3.0,  # the smallest quota on the way up
        ),
        ({"cpu": "/"}, {"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"}, 0.5),
        ({"cpu": "/"}, {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        (
            {"cpu": "/docker/x"},
            {
                "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "250000",
                "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000",
            },
            2.5,
        ),
        ({}, {}, None),
    ],
    ids=["v2", "v2-none", "v2-parent", "v2-min", "v1", "v1-none", "v1-joined", "no-cgroup"],
)
def test_cpu_quota_reads_cgroup_v2_and_v1(tmp_path, monkeypatch, groups, files, quota):
    monkeypatch.setattr(threads, "_own_cgroups", lambda: groups)
    assert cpu_quota(_tree(tmp_path, files)) == quota


def test_available_cpus_is_capped_by_the_quota(monkeypatch):
    monkeypatch.setattr(threads, "_affinity", lambda: 8)
    monkeypatch.setattr(threads, "cpu_quota", lambda: 1.5)
    assert available_cpus() == 2  # 1.5 CPUs of time: two threads can use it
    monkeypatch.setattr(threads, "cpu_quota", lambda: 0.2)
    assert available_cpus() == 1
    monkeypatch.setattr(threads, "cpu_quota", lambda: None)
    assert available_cpus() == 8


def test_available_cpus_on_this_machine():
    assert 1 <= available_cpus() <= (threads._affinity())


@pytest.mark.parametrize(("busy", "want"), [(0.0, 4), (1.0, 3), (3.0, 1), (7.0, 1), (0.4, 4)])
def test_choose_threads_leaves_busy_cpus_alone(monkeypatch, busy, want):
    monkeypatch.setattr(threads, "available_cpus", lambda: 4)
    monkeypatch.setattr(threads, "busy_cpus", lambda: busy)
    assert choose_threads() == want
    assert choose_threads(work=SMALL_WORK) == want
    assert choose_threads(work=SMALL_WORK - 1) == 1  # small work: one thread, busy or not
    assert choose_threads(3) == 3  # a given count is used as it is


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_parameter_errors(bad):
    with pytest.raises(ParameterError, match="n_threads must be an integer >= 1"):
        choose_threads(bad)
    with pytest.raises(ParameterError, match="n_threads"):
        Detector(n_threads=bad).fit(np.zeros((200, 2)))


def _wait_until_spinning(pid: int, timeout: float = 30.0) -> None:
    """Until ``pid`` runs its loop: past its start-up (which may wait on a cold disk) and
    on a CPU for most of the last 0.2 s."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu_seconds() -> float:
        fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        start = cpu_seconds()
        time.sleep(0.2)
        if cpu_seconds() - start >= 0.1:
            return
    raise AssertionError(f"the spinning process {pid} got no CPU in {timeout} s")


def test_busy_cpus_sees_a_busy_neighbour_of_its_own_making():
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        _wait_until_spinning(spin.pid)
        during = threads.busy_cpus()
    finally:
        spin.kill()
        spin.wait()
    # runnable at every reading, so the minimum counts it whatever else the machine runs
    share = min(1.0, threads._affinity() / (os.cpu_count() or 1))
    assert during >= share


def test_thread_default_is_scoped():
    assert default_threads() is None
    with thread_default(3):
        assert default_threads() == 3 and choose_threads() == 3
        with thread_default(None):
            assert default_threads() is None
        assert choose_threads(2) == 2  # a detector's own count wins
    assert default_threads() is None


def test_torch_threads_restores_the_callers_setting():
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    with torch_threads(other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(other):
        raise RuntimeError
    assert torch.get_num_threads() == before


def test_threaded_runs_small_batches_on_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "choose_threads", lambda n=None, work=None: 2)
    seen = []
    run = threaded(lambda batch: seen.append(torch.get_num_threads()), None)
    run(np.zeros((1, 64, 3), np.float32))  # one frame
    run(np.zeros((256, 64, 3), np.float32))
    run(np.zeros((1, 64, 3), np.float32))
    assert seen == [1, 2, 1]
    seen.clear()
    fixed = threaded(lambda batch: seen.append(torch.get_num_threads()), 2)
    fixed(np.zeros((1, 64, 3), np.float32))
    assert seen == [2]  # a given count is used for every call


def test_detector_fits_and_scores_on_its_threads_and_restores_the_callers():
    before = torch.get_num_threads()
    want = 2 if before == 1 else 1
    x = np.random.default_rng(0).normal(size=(600, 2)).astype(np.float32)
    seen: list[int] = []
    det = Detector(frame=16, epochs=1, n_threads=want, random_state=0)
    det.fit(x, callback=lambda event: seen.append(torch.get_num_threads()))
    assert seen and set(seen) == {want}
    assert torch.get_num_threads() == before
    scores = det.score_samples(x)
    assert torch.get_num_threads() == before
    det.set_params(n_threads=None)
    np.testing.assert_allclose(det.score_samples(x), scores, rtol=1e-5, atol=1e-6)
    assert Detector().get_params()["n_threads"] is None


def test_thread_count_is_not_saved_with_the_model(tmp_path):
    x = np.random.default_rng(0).normal(size=(400, 2)).astype(np.float32)
    det = Detector(frame=16, epochs=1, n_threads=1, random_state=0).fit(x)
    det.save(tmp_path / "m")
    assert "n_threads" not in (tmp_path / "m" / "config.json").read_text()
    assert Detector.load(tmp_path / "m").n_threads is None  # the loading machine chooses


def test_cli_threads_option_reaches_the_detector(tmp_path, monkeypatch):
    from seqae.cli.main import cli
    from seqae.datasets import make_sensor_stream

    data = tmp_path / "data.csv"
    make_sensor_stream(n_timesteps=800, n_channels=2, random_state=0).to_frame().to_csv(data)
    chosen: list[int] = []
    real = threads.choose_threads

    def spy(n_threads=None, work=None):
        chosen.append(real(n_threads, work))
        return chosen[-1]

    monkeypatch.setattr("seqae.detector.choose_threads", spy)
    args = ["train", str(data), "-o", str(tmp_path / "m"), "--epochs", "1", "--frame", "16"]
    result = CliRunner().invoke(cli, [*args, "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert chosen == [1]
    assert default_threads() is None  # undone when the command ended
    result = CliRunner().invoke(cli, [*args, "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output
