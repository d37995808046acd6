"""Atomic outputs: complete or absent, with the mode a plain open() would give."""

import os
import stat

import pytest

from seqae.files.atomic import atomic_path, atomic_write_bytes, default_mode


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


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real" / "out.csv"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert sorted(os.listdir(real.parent)) == ["out.csv"]  # the temporary was renamed there


def test_a_dangling_link_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "made.csv")
    atomic_write_bytes(link, b"x")
    assert link.is_symlink() and (tmp_path / "made.csv").read_bytes() == b"x"


def test_a_special_file_is_written_directly_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the writer's open does not block
    try:
        atomic_write_bytes(fifo, b"through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]
    atomic_write_bytes("/dev/null", b"gone")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_model_folder_is_not_saved_over_a_special_file():
    from seqae.errors import ParameterError

    with pytest.raises(ParameterError, match="special file"), atomic_path("/dev/null", folder=True):
        pass
