"""Image sets: scikit-learn's bundled 8×8 digits, MNIST with a local cache, and files on disk.

Every loader returns float32 images ``(N, H, W)`` (or ``(N, C, H, W)`` for colour files) and,
where known, integer labels. Nothing here imports torch.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqae.errors import DataError, ParameterError

__all__ = ["ImageSet", "load_digits", "load_mnist", "read_images"]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


@dataclass
class ImageSet:
    """Images with optional labels.

    Attributes
    ----------
    images : ndarray (N, H, W) or (N, C, H, W), float32
    labels : ndarray (N,) of int64, or None
    names : list of str, or None
        One name per image (file names for a folder of images).
    """

    images: np.ndarray
    labels: np.ndarray | None = None
    names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.images)


def _check_classes(classes: Any, known: np.ndarray) -> np.ndarray | None:
    if classes is None:
        return None
    wanted = np.asarray(list(classes))
    bad = sorted(set(wanted.tolist()) - set(known.tolist()))
    if len(wanted) == 0 or bad:
        raise ParameterError(
            f"classes must be a non-empty list of labels from {sorted(set(known.tolist()))}, "
            f"got {list(classes)!r}"
        )
    return wanted


def load_digits(classes: Any = None) -> ImageSet:
    """scikit-learn's bundled handwritten digits: 1,797 images of 8×8, values 0–16.

    Parameters
    ----------
    classes : iterable of int, optional
        Keep only these digits.

    Examples
    --------
    >>> digits = load_digits(classes=[0, 1])
    >>> digits.images.shape[1:], sorted(set(digits.labels.tolist()))
    ((8, 8), [0, 1])
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = bunch.images.astype(np.float32)
    labels = bunch.target.astype(np.int64)
    wanted = _check_classes(classes, labels)
    if wanted is not None:
        keep = np.isin(labels, wanted)
        images, labels = images[keep], labels[keep]
    return ImageSet(images, labels)


def load_mnist(
    cache_dir: str | os.PathLike | None = None, *, classes: Any = None, download: bool = True
) -> ImageSet:
    """MNIST (70,000 images of 28×28, values 0–255) through ``fetch_openml``, cached locally.

    The first call downloads from OpenML (about 15 MB) and keeps a compressed ``.npz`` copy in
    ``cache_dir``; later calls read the copy.

    Parameters
    ----------
    cache_dir : path, optional
        Where the copy lives; default ``~/.cache/seqae``.
    classes : iterable of int, optional
        Keep only these digits.
    download : bool, default True
        False raises :class:`~seqae.errors.DataError` when there is no local copy.
    """
    folder = Path(cache_dir) if cache_dir is not None else Path.home() / ".cache" / "seqae"
    cached = folder / "mnist_784.npz"
    if cached.is_file():
        with np.load(cached) as data:
            images, labels = data["images"], data["labels"]
    elif not download:
        raise DataError(f"no MNIST copy at {cached}; call load_mnist(download=True) once")
    else:
        from sklearn.datasets import fetch_openml

        from seqae.files.persistence import atomic_write_bytes

        bunch = fetch_openml("mnist_784", version=1, as_frame=False, parser="liac-arff")
        images = np.asarray(bunch.data, dtype=np.uint8).reshape(-1, 28, 28)
        labels = np.asarray(bunch.target).astype(np.int64)
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images, labels=labels)
        atomic_write_bytes(cached, buffer.getvalue())
    wanted = _check_classes(classes, labels)
    if wanted is not None:
        keep = np.isin(labels, wanted)
        images, labels = images[keep], labels[keep]
    return ImageSet(images.astype(np.float32), labels.astype(np.int64))


def read_images(path: str | os.PathLike, *, key: str | None = None) -> ImageSet:
    """Read images from a ``.npy`` file, a ``.npz`` archive, or a folder of image files.

    Parameters
    ----------
    path : path
        - ``.npy``: one array ``(N, H, W)`` or ``(N, C, H, W)``;
        - ``.npz``: the array ``key``, else ``images``, ``x`` or ``X``, else the only array;
          labels from ``labels``, ``y`` or ``target`` when present;
        - a folder: every PNG/JPEG/BMP/GIF/TIFF file in it, by name order, all of one size
          (grey or colour; needs Pillow).
    key : str, optional
        Name of the images array in an ``.npz`` archive.

    Raises
    ------
    DataError
        A missing or unreadable file, a missing array, images of mixed sizes, or no images.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return ImageSet(_check_array(np.load(path, allow_pickle=False), path))
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return _from_archive(archive, path, key)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable numpy file ({exc})") from None
    raise DataError(f"{path}: expected a .npy or .npz file or a folder of images, got {suffix!r}")


def _from_archive(archive: Any, path: Path, key: str | None) -> ImageSet:
    names = list(archive.files)
    if key is not None:
        if key not in names:
            raise DataError(f"{path}: no array {key!r}; the archive holds {names}")
        image_key = key
    else:
        found = [k for k in ("images", "x", "X") if k in names]
        if not found and len(names) != 1:
            raise DataError(
                f"{path}: cannot tell which array holds the images among {names}; name it "
                "'images' or pass key="
            )
        image_key = found[0] if found else names[0]
    images = _check_array(archive[image_key], path)
    labels = None
    for label_key in ("labels", "y", "target"):
        if label_key in names and label_key != image_key:
            labels = np.asarray(archive[label_key])
            if labels.shape != (len(images),):
                raise DataError(
                    f"{path}: {label_key!r} has shape {labels.shape}, expected one label per "
                    f"image ({len(images)},)"
                )
            break
    return ImageSet(images, labels)


def _check_array(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim not in (3, 4) or not np.issubdtype(array.dtype, np.number):
        raise DataError(
            f"{path}: expected numeric images (N, H, W) or (N, C, H, W), got an array of "
            f"shape {array.shape} and dtype {array.dtype}"
        )
    return array.astype(np.float32)


def _read_folder(folder: Path) -> ImageSet:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(_IMAGE_SUFFIXES)}) in the folder")
    try:
        from PIL import Image
    except ImportError:
        raise DataError(
            f"{folder}: reading image files needs Pillow (pip install pillow), or save the "
            "images as a .npy/.npz array"
        ) from None
    arrays = []
    for file in files:
        try:
            with Image.open(file) as img:
                mode = "L" if img.mode in ("1", "L", "I;16", "I", "F", "P", "LA") else "RGB"
                array = np.asarray(img.convert(mode), dtype=np.float32)
        except OSError as exc:
            raise DataError(f"{file}: not a readable image ({exc})") from None
        arrays.append(array if array.ndim == 2 else array.transpose(2, 0, 1))  # (C, H, W)
    first = arrays[0].shape
    for file, array in zip(files, arrays, strict=True):
        if array.shape != first:
            raise DataError(
                f"{file}: image of shape {array.shape}, but {files[0].name} is {first}: all "
                f"images in {folder} must have one size and colour mode"
            )
    return ImageSet(np.stack(arrays), None, [f.name for f in files])
