"""Download files into a cache folder, checked and written atomically (the fetchers' shared code).

Every fetcher in :mod:`seqae.datasets` goes through here, so that a download is either checked
and complete in the cache or absent from it: the bytes stream into a temporary file beside the
target (:func:`seqae.files.atomic.atomic_path`), which is renamed into place only once its size
and SHA-256 sum are right. A failed, altered or interrupted download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from seqae.errors import DataError
from seqae.files.atomic import atomic_path

__all__ = ["data_home", "download", "download_to", "sha256_file", "write_atomic"]

TIMEOUT_S = 60
_CHUNK = 1 << 20

#: What a fetcher reports its progress to (one line per file); the library itself never prints.
Progress = Callable[[str], None]


def data_home(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``data_dir``, else ``$SEQAE_DATA``, else ``~/.cache/seqae``: where downloads go."""
    if data_dir is not None:
        return Path(data_dir)
    if env := os.environ.get("SEQAE_DATA"):
        return Path(env)
    return Path.home() / ".cache" / "seqae"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file, read in chunks.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "empty"
    ...     _ = path.write_bytes(b"")
    ...     sha256_file(path)[:16]
    'e3b0c44298fc1c14'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stream(url: str, sink: Callable[[bytes], None], *, what: str, hint: str) -> int:
    """Feed the body at ``url`` to ``sink`` chunk by chunk; refuse a body cut short."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            expected = response.headers.get("Content-Length")
            size = 0
            while chunk := response.read(_CHUNK):
                sink(chunk)
                size += len(chunk)
    except (OSError, http.client.HTTPException, ValueError) as e:  # URLError is an OSError
        reason = getattr(e, "reason", None) or e
        raise DataError(f"could not download {what} from {url}: {reason} (offline?). {hint}") from e
    if expected is not None and expected.isdigit() and size != int(expected):
        raise DataError(
            f"the download of {what} from {url} stopped after {size:,} of {int(expected):,} "
            f"bytes (connection closed); nothing was kept. Try again. {hint}"
        )
    return size


def download(url: str, *, what: str, hint: str) -> bytes:
    """The whole body at ``url`` (a file whose checksum is checked by the caller)."""
    parts: list[bytes] = []
    _stream(url, parts.append, what=what, hint=hint)
    return b"".join(parts)


def download_to(url: str, target: Path, sha256: str, *, what: str, hint: str) -> None:
    """Download ``url`` into ``target`` if, and only if, its SHA-256 is ``sha256``."""

    def write(tmp: Path) -> None:
        digest = hashlib.sha256()
        with open(tmp, "wb") as fh:

            def sink(chunk: bytes) -> None:
                digest.update(chunk)
                fh.write(chunk)

            _stream(url, sink, what=what, hint=hint)
        if digest.hexdigest() != sha256:
            raise DataError(
                f"the file downloaded from {url} is not {what} (SHA-256 mismatch: expected "
                f"{sha256[:12]}..., got {digest.hexdigest()[:12]}...); nothing was written to "
                f"{target}. Try again. {hint}"
            )

    write_atomic(target, write, hint=hint)


def write_atomic(target: Path, write: Callable[[Path], None], *, hint: str) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``target``, then rename it into place."""
    created = _make_parent(target, hint)
    try:
        with atomic_path(target) as tmp:
            write(tmp)
    except OSError as e:
        _remove_empty(created)
        raise DataError(_cannot_write(target, e, hint)) from e
    except BaseException:
        _remove_empty(created)
        raise


def _make_parent(target: Path, hint: str) -> list[Path]:
    """Create ``target``'s missing folders; return them, deepest first."""
    created = []
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        created.append(folder)
        folder = folder.parent
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(_cannot_write(target, e, hint)) from e
    return created


def _remove_empty(folders: list[Path]) -> None:
    """Undo :func:`_make_parent` after a failure, so that no empty dataset folder looks fetched."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (another file got there) or already gone
            return


def _cannot_write(target: Path, e: OSError, hint: str) -> str:
    return (
        f"cannot write the download cache {target}: {e.strerror or e}; pass a writable folder "
        f"(or set SEQAE_DATA). {hint}"
    )
