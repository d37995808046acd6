"""Atomic outputs: write beside the target, then rename into place (standard library only).

Every file or folder seqae writes goes through here, so a failed or interrupted run never
leaves a half-written model, CSV or ONNX file behind, and finished outputs get the mode a
plain ``open`` would give them (``tempfile`` creates private 0600 files and 0700 folders).

A symbolic link is written through: the temporary file goes beside the link's target and is
renamed there, so the link stays a link. A special file (a device such as ``/dev/null``, a
named pipe, ``/dev/stdout``) cannot be replaced by a rename: it is written directly, never
replaced (and refused as a model folder).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ParameterError

__all__ = ["atomic_path", "atomic_write_bytes", "default_mode", "is_special_file"]


def default_mode(folder: bool = False) -> int:
    """The mode ``open`` (0o666) or ``mkdir`` (0o777) would give, less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def _fsync(path: Path) -> None:
    if path.is_file():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())


def is_special_file(path: str | os.PathLike) -> bool:
    """True when ``path`` (links followed) exists and is neither a regular file nor a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextmanager
def atomic_path(target: str | os.PathLike, *, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it becomes ``target`` only if the block succeeds.

    With ``folder=True`` the temporary path is an empty folder and an existing ``target``
    folder is replaced as a whole. On any exception the temporary file or folder is removed
    and ``target`` is left as it was. A link is resolved first (the link itself stays); a
    special file is yielded as it is, to be written directly.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("done")
    >>> out.read_text()
    'done'
    """
    target = Path(target)
    if is_special_file(target):
        if folder:
            raise ParameterError(f"cannot save a model folder to {target}: it is a special file")
        yield target  # a device or pipe: nothing to rename, nothing to clean up
        return
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    prefix, suffix = f".{target.name}.", ".tmp"
    if folder:
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=prefix, suffix=suffix))
    else:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=suffix)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if folder:
            for child in tmp.iterdir():
                _fsync(child)
            os.chmod(tmp, default_mode(folder=True))
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        else:
            _fsync(tmp)
            os.chmod(tmp, default_mode())
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
