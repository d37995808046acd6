"""Atomic outputs: complete or absent, with the mode a plain open() would give."""

import os
import stat

import pytest

from seqae._atomic import atomic_path, atomic_write_bytes, default_mode


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_files_get_the_normal_mode_not_tempfiles_private_one(tmp_path, umask_022):
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc"
    assert mode(target) == 0o644 == default_mode()


def test_folders_get_the_normal_mode_and_replace_the_old_one(tmp_path, umask_022):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with atomic_path(target, folder=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert mode(target) == 0o755
    assert os.listdir(tmp_path) == ["model"]


@pytest.mark.parametrize("folder", [False, True])
def test_a_failure_leaves_the_old_target_and_no_temporary(tmp_path, folder):
    target = tmp_path / "out"
    if folder:
        target.mkdir()
        (target / "keep.txt").write_text("old")
    else:
        target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, folder=folder) as tmp:
        (tmp / "x.txt" if folder else tmp).write_text("half")
        raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == ["out"]
    assert (target / "keep.txt" if folder else target).read_text() == "old"
