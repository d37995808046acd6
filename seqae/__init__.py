"""seqae: time-series anomaly detection with autoencoders.

Heavy modules (torch, pandas) load on first use, so ``import seqae.files.runtime`` on an edge
device needs numpy and onnxruntime only.

Examples
--------
>>> import seqae
>>> from seqae.datasets import make_sensor_stream
>>> stream = make_sensor_stream(n_timesteps=2000, n_channels=3, random_state=0)
>>> det = seqae.Detector(model="conv1d", frame=32, epochs=2, random_state=0)
>>> det = det.fit(stream.values[:1000])
>>> det.score_samples(stream.values).shape
(2000,)
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from . import _compat
from ._version import __version__
from .errors import DataError, ModelFormatError, ParameterError, SeqaeError

_compat.install(__name__)

# In a source checkout, ``cli/`` and ``datasets/`` sit beside ``seqae/`` and setuptools maps
# them to ``seqae.cli`` / ``seqae.datasets`` at install time. When this copy of the package
# was imported from the checkout itself (the repository root on sys.path), let the import
# system find them there too. An installed copy never has a pyproject.toml beside it.
_root = Path(__file__).absolute().parent.parent
if (_root / "pyproject.toml").is_file() and (_root / "datasets").is_dir():
    __path__.append(str(_root))  # type: ignore[name-defined]

_LAZY = {
    "Detector": ".detector",
    "NotFittedError": ".errors",  # scikit-learn's NotFittedError too: loads sklearn
    "DetectionResult": ".scoring.results",
    "ImageDetectionResult": ".scoring.images",
    "OnnxDetector": ".files.runtime",
    "detect_file": ".scale.streaming",
    "iter_detect": ".scale.streaming",
    "load_detector": ".files.loader",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        try:
            module = importlib.import_module(_LAZY[name], __name__)
        except ModuleNotFoundError as exc:  # the runtime install (no torch) asked to train
            from .extras import DETECTOR_MODULES, missing_dependency

            what = f"seqae.{name} (training, saved torch models)"
            error = missing_dependency(exc, what, DETECTOR_MODULES)
            if error is None:
                raise
            raise error from None
        return getattr(module, name)
    raise AttributeError(f"module 'seqae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def _export_lazily(module_name: str, names: dict[str, str]) -> None:
    """Give a namespace subpackage (no ``__init__.py`` by design) a lazy public API."""
    module = importlib.import_module(module_name)

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name], module_name), name)
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__all__ = sorted(names)  # type: ignore[attr-defined]
    module.__doc__ = f"Public API: {', '.join(sorted(names))}."


# ``seqae.datasets`` has no __init__.py (so the repository root never shadows the popular
# ``datasets`` package); its public names are attached here and import on first use.
if isinstance(sys.modules.get(__name__), ModuleType):
    _export_lazily(
        f"{__name__}.datasets",
        {
            "SensorData": ".sensors",
            "read_sensors": ".sensors",
            "find_label_columns": ".sensors",
            "iter_sensor_chunks": ".sensors",
            "sensors_from_frame": ".sensors",
            "make_sensor_stream": ".synthetic",
            "SyntheticStream": ".synthetic",
            "load_skab": ".skab",
            "SkabExperiment": ".skab",
            "load_nab": ".nab",
            "fetch_benchmark_data": ".benchmark",
            "fetch_skab": ".benchmark",
            "fetch_smd": ".benchmark",
            "fetch_asd": ".benchmark",
            "fetch_mgab": ".benchmark",
            "fetch_tep": ".benchmark",
            "ImageSet": ".images",
            "load_digits": ".images",
            "load_mnist": ".images",
            "read_images": ".images",
        },
    )

__all__ = [
    "DataError",
    "DetectionResult",
    "Detector",
    "ImageDetectionResult",
    "ModelFormatError",
    "NotFittedError",
    "OnnxDetector",
    "ParameterError",
    "SeqaeError",
    "__version__",
    "detect_file",
    "iter_detect",
    "load_detector",
]
