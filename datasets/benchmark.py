"""Fetch the benchmark datasets (SKAB, SMD, ASD, MGAB, TEP) from their upstream repositories.

``benchmarks/suite.py`` reads five labelled datasets from one folder, ``<root>/<dataset>/``.
These functions download each from the repository and commit its data was first published at,
check it, and lay it out exactly as the suite reads it::

    <root>/skab/{valve1,valve2,other,anomaly-free}/*.csv   waico/SKAB b2c0d46, data/
    <root>/smd/machine-<g>-<i>.npz, interpretation_label/  NetManAIOps/OmniAnomaly 7fb0e0a
    <root>/asd/omi-<k>.npz, interpretation_label/          zhhlee/InterFusion 8c85d51
    <root>/mgab/1.csv ... 10.csv                           MarkusThill/MGAB acb4b81
    <root>/tep/d00.dat ... d21_te.dat                      camaramm/tennessee-eastman-
                                                           profBraatz 0643318

``<root>`` is ``data_dir``, else ``$SEQAE_DATA``, else ``~/.cache/seqae`` (the SKAB cache of
:func:`seqae.datasets.load_skab` is ``<root>/skab`` too). Each licence file comes along.

What is checked (SHA-256, every file, before it enters the cache):

- SKAB, MGAB, TEP, and SMD's and ASD's interpretation labels and licences are copied byte for
  byte: each download must have the sum recorded for it.
- SMD's ``machine-*.npz`` are made here from OmniAnomaly's text files the way OmniAnomaly's
  ``data_preprocess.py`` reads them (comma-separated values parsed to float32; ``test_label``
  as int8); ASD's ``omi-*.npz`` from InterFusion's pickled arrays (float32 values, 0/1 labels
  as int8), read by an unpickler that builds numpy arrays and nothing else. The raw files'
  own sums were never recorded, so the check is on the result: the converted arrays must have
  the :func:`arrays_sha256` recorded for them. The npz files are written with
  ``numpy.savez_compressed`` (same arrays; the bytes can differ with the zlib build).
- A file already in the cache with the right sum is kept; a missing or altered one is fetched
  again. Every file is written to a temporary name and renamed once checked, so a failed or
  interrupted download leaves nothing behind.

SMD: the 19 machines of the project's reference copy (those with recorded sums), not all 28.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import pickle
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from seqae.datasets.checksums import ARRAYS_SHA256, FILE_SHA256
from seqae.datasets.download import (
    Progress,
    data_home,
    download,
    download_to,
    sha256_file,
    write_atomic,
)

from seqae.errors import DataError, ParameterError

__all__ = [
    "BENCHMARK_DATASETS",
    "arrays_sha256",
    "data_home",
    "fetch_asd",
    "fetch_benchmark_data",
    "fetch_mgab",
    "fetch_skab",
    "fetch_smd",
    "fetch_tep",
]

BENCHMARK_DATASETS = ("skab", "smd", "asd", "mgab", "tep")
_RAW = "https://raw.githubusercontent.com"
_ARRAY_KEYS = ("train", "test", "label")


@dataclass(frozen=True)
class _Upstream:
    repo: str
    commit: str
    folder: str = ""

    def url(self, path: str) -> str:
        return f"{_RAW}/{self.repo}/{self.commit}/{self.folder}{path}"

    def hint(self, dataset: str) -> str:
        return (
            f"Or download it yourself from https://github.com/{self.repo} (commit "
            f"{self.commit[:7]}) and lay it out as seqae.datasets.benchmark describes, in "
            f"<folder>/{dataset}/"
        )


UPSTREAM = {
    "smd": _Upstream(
        "NetManAIOps/OmniAnomaly",
        "7fb0e0acf89ea49908896bcc9f9e80fcfff6baf4",
        "ServerMachineDataset/",
    ),
    "asd": _Upstream("zhhlee/InterFusion", "8c85d511c1f070669ba8c5cf097b8fa4a202d15b"),
    "mgab": _Upstream("MarkusThill/MGAB", "acb4b816216c99cdb3721be620459a8a510c2640"),
    "tep": _Upstream(
        "camaramm/tennessee-eastman-profBraatz", "0643318858ce7c87292bd59820b459e12a13d009"
    ),
}
#: Where a byte-for-byte file lies upstream when not at the same path (ASD: under data/).
_UPSTREAM_PATH: dict[str, Callable[[str], str]] = {
    "asd": lambda path: path if path == "LICENSE" else f"data/{path}",
}


def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """One SHA-256 over ``train``, ``test`` and ``label``: names, dtypes, shapes and values.

    Examples
    --------
    >>> x = {"train": np.zeros((2, 3), np.float32), "test": np.ones((1, 3), np.float32)}
    >>> arrays_sha256({**x, "label": np.zeros(1, np.int8)})[:12]
    'a6c170745fea'
    """
    digest = hashlib.sha256()
    for key in _ARRAY_KEYS:
        a = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{a.dtype.str}:{a.shape}\n".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


def _fetch_files(dataset: str, folder: Path, paths: Iterable[str], progress: Progress | None):
    """The byte-for-byte files: keep the checked ones, download the rest."""
    upstream, sums = UPSTREAM[dataset], FILE_SHA256[dataset]
    to_upstream = _UPSTREAM_PATH.get(dataset, lambda path: path)
    for path in paths:
        target = folder / path
        if target.is_file() and sha256_file(target) == sums[path]:
            continue
        download_to(
            upstream.url(to_upstream(path)),
            target,
            sums[path],
            what=f"{dataset.upper()} {path} at commit {upstream.commit[:7]}",
            hint=upstream.hint(dataset),
        )
        _say(progress, f"{dataset}: {path} downloaded, SHA-256 checked")


def _cached_arrays_ok(path: Path, expected: str) -> bool:
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as npz:
            return arrays_sha256({k: npz[k] for k in _ARRAY_KEYS}) == expected
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # fetched again
        return False


def _write_npz(
    dataset: str, folder: Path, name: str, arrays: dict[str, np.ndarray], sources: str
) -> None:
    """Check the converted arrays against their recorded sum, then write ``<name>.npz``."""
    expected = ARRAYS_SHA256[dataset][name]
    if (got := arrays_sha256(arrays)) != expected:
        shapes = ", ".join(f"{k} {arrays[k].dtype}{list(arrays[k].shape)}" for k in _ARRAY_KEYS)
        raise DataError(
            f"{dataset.upper()} {name}: the arrays converted from {sources} ({shapes}) are not "
            f"the recorded ones (SHA-256 {got[:12]}..., expected {expected[:12]}...); nothing "
            f"was written to {folder / (name + '.npz')}. {UPSTREAM[dataset].hint(dataset)}"
        )

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: savez would append .npz to a path
            np.savez_compressed(fh, **arrays)

    write_atomic(folder / f"{name}.npz", write, hint=UPSTREAM[dataset].hint(dataset))


def _pick(dataset: str, names: Sequence[str] | None, what: str) -> list[str]:
    known = list(ARRAYS_SHA256[dataset])
    if names is None:
        return known
    chosen = [names] if isinstance(names, str) else list(names)
    if unknown := [n for n in chosen if n not in known]:
        raise ParameterError(
            f"unknown {dataset.upper()} {what} {unknown}; choose among {known} (the ones whose "
            "converted arrays have a recorded SHA-256)"
        )
    return chosen


# ------------------------------------------------------------------------------------ SMD


def _text_values(content: bytes, where: str) -> np.ndarray:
    """OmniAnomaly's reading: ``genfromtxt(dtype=float32, delimiter=',')`` (float, then float32)."""
    try:
        values = np.loadtxt(io.BytesIO(content), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise DataError(f"{where}: not comma-separated numbers ({e})") from e
    return values.astype(np.float32)


def _labels01(values: np.ndarray, where: str) -> np.ndarray:
    flat = np.asarray(values).reshape(-1)
    if not np.isin(flat, (0, 1)).all():
        raise DataError(f"{where}: labels must be 0 or 1, found {np.unique(flat)[:5].tolist()}")
    return flat.astype(np.int8)


def fetch_smd(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    machines: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Fetch SMD (OmniAnomaly's ServerMachineDataset) into ``<root>/smd`` and return that folder.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        The root (default ``$SEQAE_DATA``, else ``~/.cache/seqae``).
    machines : sequence of str, optional
        E.g. ``["machine-1-2"]``; by default the 19 with recorded sums.
    progress : callable, optional
        Called with one line per file fetched.

    Returns
    -------
    pathlib.Path
        ``<root>/smd`` with ``machine-*.npz`` (``train``, ``test`` float32, ``label`` int8),
        ``interpretation_label/machine-*.txt`` and ``LICENSE`` (MIT).

    Raises
    ------
    DataError
        Offline, an interrupted download, or content that does not match its SHA-256.
    """
    folder = data_home(data_dir) / "smd"
    chosen = _pick("smd", machines, "machine(s)")
    upstream = UPSTREAM["smd"]
    _fetch_files("smd", folder, ["LICENSE"], progress)
    _fetch_files("smd", folder, [f"interpretation_label/{m}.txt" for m in chosen], progress)
    for machine in chosen:
        if _cached_arrays_ok(folder / f"{machine}.npz", ARRAYS_SHA256["smd"][machine]):
            continue
        raw = {}
        for part in ("train", "test", "test_label"):
            url = upstream.url(f"{part}/{machine}.txt")
            what = f"SMD {part}/{machine}.txt at commit {upstream.commit[:7]}"
            raw[part] = _text_values(download(url, what=what, hint=upstream.hint("smd")), url)
        arrays = {
            "train": raw["train"],
            "test": raw["test"],
            "label": _labels01(raw["test_label"], upstream.url(f"test_label/{machine}.txt")),
        }
        sources = f"OmniAnomaly's {{train,test,test_label}}/{machine}.txt"
        _write_npz("smd", folder, machine, arrays, sources)
        _say(progress, f"smd: {machine}.npz converted from the text files, arrays checked")
    return folder


# ------------------------------------------------------------------------------------ ASD


class _ArrayUnpickler(pickle.Unpickler):
    """Builds numpy arrays and nothing else: any other global in the stream is refused."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("_codecs", "encode"),  # protocol 2 spells an array's bytes as latin-1 text
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a numpy array")
        # numpy 2 moved numpy.core to numpy._core; a pickle names whichever wrote it
        if module.startswith("numpy"):
            here = "numpy._core" if hasattr(np, "_core") else "numpy.core"
            module = module.replace("numpy._core", here).replace("numpy.core", here)
        return getattr(importlib.import_module(module), name)


def _unpickle_array(content: bytes, where: str) -> np.ndarray:
    try:
        value = _ArrayUnpickler(io.BytesIO(content), encoding="latin1").load()
    except Exception as e:  # a malformed stream raises anything from EOFError to TypeError
        raise DataError(f"{where}: not a pickled numpy array ({type(e).__name__}: {e})") from e
    if not isinstance(value, np.ndarray) or value.dtype.hasobject:
        raise DataError(f"{where}: expected a numeric numpy array, got {type(value).__name__}")
    return value


def fetch_asd(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    entities: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Fetch ASD (InterFusion's Application Server Dataset) into ``<root>/asd``.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        The root (default ``$SEQAE_DATA``, else ``~/.cache/seqae``).
    entities : sequence of str, optional
        E.g. ``["omi-1"]``; by default all 12.
    progress : callable, optional
        Called with one line per file fetched.

    Returns
    -------
    pathlib.Path
        ``<root>/asd`` with ``omi-*.npz`` (``train``, ``test`` float32, ``label`` int8),
        ``interpretation_label/`` (``omi-*.txt``, ``anomaly_type.txt``) and ``LICENSE`` (MIT).

    Raises
    ------
    DataError
        Offline, an interrupted download, a pickle holding anything but a numpy array, or
        content that does not match its SHA-256.
    """
    folder = data_home(data_dir) / "asd"
    chosen = _pick("asd", entities, "entity(ies)")
    upstream = UPSTREAM["asd"]
    labels = ["interpretation_label/anomaly_type.txt"]
    labels += [f"interpretation_label/{e}.txt" for e in chosen]
    _fetch_files("asd", folder, ["LICENSE", *labels], progress)
    for entity in chosen:
        if _cached_arrays_ok(folder / f"{entity}.npz", ARRAYS_SHA256["asd"][entity]):
            continue
        raw = {}
        for part in ("train", "test", "test_label"):
            url = upstream.url(f"data/processed/{entity}_{part}.pkl")
            what = f"ASD data/processed/{entity}_{part}.pkl at commit {upstream.commit[:7]}"
            raw[part] = _unpickle_array(download(url, what=what, hint=upstream.hint("asd")), url)
        arrays = {
            "train": raw["train"].astype(np.float32),
            "test": raw["test"].astype(np.float32),
            "label": _labels01(raw["test_label"], f"{entity}_test_label.pkl"),
        }
        _write_npz("asd", folder, entity, arrays, f"InterFusion's data/processed/{entity}_*.pkl")
        _say(progress, f"asd: {entity}.npz converted from the pickled arrays, arrays checked")
    return folder


# ----------------------------------------------------------------------- MGAB, TEP, SKAB


def fetch_mgab(
    data_dir: str | os.PathLike[str] | None = None, *, progress: Progress | None = None
) -> Path:
    """Fetch MGAB's ten series (``1.csv`` ... ``10.csv``, ``LICENSE``) into ``<root>/mgab``.

    Raises
    ------
    DataError
        Offline, an interrupted download, or a file that does not match its SHA-256.
    """
    folder = data_home(data_dir) / "mgab"
    _fetch_files("mgab", folder, FILE_SHA256["mgab"], progress)
    return folder


def fetch_tep(
    data_dir: str | os.PathLike[str] | None = None, *, progress: Progress | None = None
) -> Path:
    """Fetch the Braatz TEP files (``d00.dat`` ... ``d21_te.dat``, licence) into ``<root>/tep``.

    Raises
    ------
    DataError
        Offline, an interrupted download, or a file that does not match its SHA-256.
    """
    folder = data_home(data_dir) / "tep"
    _fetch_files("tep", folder, FILE_SHA256["tep"], progress)
    return folder


def fetch_skab(
    data_dir: str | os.PathLike[str] | None = None, *, progress: Progress | None = None
) -> Path:
    """Fetch all 35 SKAB files into ``<root>/skab`` (what :func:`load_skab` downloads).

    Raises
    ------
    DataError
        Offline, an interrupted download, or a file that does not match its SHA-256.
    """
    from seqae.datasets import skab

    folder = skab.download_groups(list(skab.SKAB_GROUPS), data_home(data_dir) / "skab")
    _say(progress, f"skab: {len(skab.SHA256)} files in {folder}, SHA-256 checked")
    return folder


_FETCH: dict[str, Callable[..., Path]] = {
    "skab": fetch_skab,
    "smd": fetch_smd,
    "asd": fetch_asd,
    "mgab": fetch_mgab,
    "tep": fetch_tep,
}


def fetch_benchmark_data(
    datasets: Sequence[str] = BENCHMARK_DATASETS,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
) -> Path:
    """Fetch each named dataset into ``<root>/<dataset>``; return ``<root>``.

    Parameters
    ----------
    datasets : sequence of str, default all five
        Among ``"skab"``, ``"smd"``, ``"asd"``, ``"mgab"``, ``"tep"``.
    data_dir : str or os.PathLike, optional
        The root (default ``$SEQAE_DATA``, else ``~/.cache/seqae``).
    progress : callable, optional
        Called with one line per file fetched.

    Returns
    -------
    pathlib.Path
        The root: ``python benchmarks/suite.py --data <root>`` reads it.

    Raises
    ------
    ParameterError
        An unknown dataset name.
    DataError
        A download failed or did not match its SHA-256 (what was checked before stays).

    Examples
    --------
    >>> root = fetch_benchmark_data(["mgab", "tep"])  # doctest: +SKIP
    >>> sorted(p.name for p in root.iterdir())  # doctest: +SKIP
    ['mgab', 'tep']
    """
    chosen = [datasets] if isinstance(datasets, str) else list(datasets)
    if unknown := [d for d in chosen if d not in _FETCH]:
        raise ParameterError(f"unknown dataset(s) {unknown}; choose among {BENCHMARK_DATASETS}")
    root = data_home(data_dir)
    for name in chosen:
        _FETCH[name](root, progress=progress)
    return root
