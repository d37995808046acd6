"""Which detector a command scores with: a saved model, or the default trained here, and on what.

``seqae detect FILE`` without ``--model`` trains before it scores; what it trains on (the file
itself, another file, the file's first rows), which options only make sense while training,
and how a number given as the alarm line applies to a loaded model are decided here, so that
the command line and Python share one policy.

The defaults of :class:`seqae.Detector` are read from its source (:func:`library_default`), so
a help page shows them without importing torch.

Examples
--------
>>> library_default("threshold"), library_default("frame")
('robust', 64)
>>> training_only({"frame": 32, "epochs": None, "threshold": "pot"})
['frame', 'threshold']
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataError, ParameterError

__all__ = [
    "TRAINING_ONLY",
    "ZERO_MEANS_NONE",
    "DetectorSource",
    "describe_detector",
    "detector_defaults",
    "detector_kwargs",
    "detector_parameters",
    "epochs_run",
    "library_default",
    "obtain_detector",
    "parameter_choices",
    "parameter_help",
    "training_detector",
    "training_only",
    "training_summary",
]

#: Options whose 0 on the command line is the Detector's None (no cap, no check, no long mean).
ZERO_MEANS_NONE = ("steps_per_epoch", "stuck_window", "long_smoothing")
#: Options of a command that only mean something when the command trains its own detector.
TRAINING_ONLY = ("train", "train_rows", "frame", "epochs", "patience", "contamination")


@functools.cache
def _init_signature() -> tuple[tuple[str, ...], dict[str, Any]]:
    """``Detector.__init__``'s parameter names and literal defaults, parsed from its source
    (the module is not imported: that would import torch)."""
    tree = ast.parse((Path(__file__).parent / "detector.py").read_text(encoding="utf-8"))
    inits = [
        f
        for c in ast.walk(tree)
        if isinstance(c, ast.ClassDef) and c.name == "Detector"
        for f in c.body
        if isinstance(f, ast.FunctionDef) and f.name == "__init__"
    ]
    if not inits:  # pragma: no cover
        return (), {}
    args = inits[0].args
    pairs = [*zip(args.args[len(args.args) - len(args.defaults) :], args.defaults, strict=True)]
    pairs += [*zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    defaults = {}
    for arg, default in pairs:
        with contextlib.suppress(ValueError, TypeError, SyntaxError):
            defaults[arg.arg] = ast.literal_eval(default)  # type: ignore[arg-type]
    return tuple(a.arg for a, _ in pairs), defaults


@functools.cache
def _parameter_docs() -> dict[str, tuple[str, str]]:
    """``name -> (type line, description)`` from the numpydoc Parameters of ``Detector`` and then
    ``TrainConfig`` (the first one to describe a name alone wins), read without importing."""
    import re

    found: dict[str, tuple[str, str]] = {}
    for module, cls in (("detector.py", "Detector"), ("training/trainer.py", "TrainConfig")):
        # the file itself: find_spec("seqae.training.trainer") would import seqae.training (torch)
        tree = ast.parse((Path(__file__).parent / module).read_text(encoding="utf-8"))
        node = next(c for c in ast.walk(tree) if isinstance(c, ast.ClassDef) and c.name == cls)
        doc = (ast.get_docstring(node) or "").split("Parameters\n----------\n", 1)[-1]
        doc = re.split(r"\n\n[A-Z][a-z]+\n-+\n", doc, maxsplit=1)[0]
        for name, kind, text in re.findall(r"^(\w+) : (.*)\n((?:    .*\n?)+)", doc, re.M):
            found.setdefault(name, (kind, " ".join(text.split())))
    return found


def parameter_help(name: str) -> str | None:
    """The first sentence of the library's description of parameter ``name``, as plain text.

    >>> parameter_help("min_event_length")
    'Alarms shorter than this many timesteps are dropped.'
    """
    import re

    entry = _parameter_docs().get(name)
    if entry is None:
        return None
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", entry[1]).replace("``", "")
    return re.split(r'(?<=[.!?])\s+(?=[A-Z("])', text, maxsplit=1)[0]


def parameter_choices(name: str) -> list[str] | None:
    """The values a parameter takes where the library lists them (``{"a", "b"}``), else None.

    >>> parameter_choices("anomaly_score")
    ['reconstruction', 'elbo']
    """
    entry = _parameter_docs().get(name)
    if entry is None or not entry[0].startswith("{"):
        return None
    return [ast.literal_eval(v.strip()) for v in entry[0][1 : entry[0].index("}")].split(",")]


def detector_parameters() -> tuple[str, ...]:
    """The names :class:`seqae.Detector` takes."""
    return _init_signature()[0]


def detector_defaults() -> dict[str, Any]:
    """``Detector()``'s defaults that are literals (today: all), read without importing torch."""
    return dict(_init_signature()[1])


def library_default(name: str) -> Any:
    """The default of ``Detector(name=...)``, without importing torch where it is a literal."""
    defaults = _init_signature()[1]
    if name in defaults:
        return defaults[name]
    from .detector import Detector

    return inspect.signature(Detector).parameters[name].default


def training_only(options: Mapping[str, Any]) -> list[str]:
    """The options given (not None) that apply only when training: :data:`TRAINING_ONLY`, and a
    threshold *rule* (a number moves a saved model's alarm line; a rule needs training)."""
    given = [name for name in TRAINING_ONLY if options.get(name) is not None]
    if isinstance(options.get("threshold"), str):
        given.append("threshold")
    return given


def detector_kwargs(options: Mapping[str, Any], *, distributed: bool = False) -> dict[str, Any]:
    """The ``options`` that name a :class:`seqae.Detector` parameter and are not None (other keys
    are ignored); ``steps_per_epoch=0`` lifts the cap, ``stuck_window=0`` turns the stuck
    check off and ``long_smoothing=0`` the long mean; ``distributed``: data-parallel under
    torchrun."""
    names = detector_parameters()
    kwargs = {k: v for k, v in options.items() if k in names and v is not None}
    for name in ZERO_MEANS_NONE:
        if kwargs.get(name) == 0:
            kwargs[name] = None
    if distributed:
        kwargs["train_params"] = {**kwargs.get("train_params", {}), "distributed": True}
    return kwargs


def training_detector(options: Mapping[str, Any], *, distributed: bool = False) -> Any:
    """A :class:`seqae.Detector` with its defaults, overridden by :func:`detector_kwargs`."""
    from .detector import Detector

    return Detector(**detector_kwargs(options, distributed=distributed))


def network_name(detector: Any) -> str:
    """``"conv1d"``, ``"conv1d ×2"`` for two networks (``"conv1d ×2 (frames 64, 32)"`` where
    they trained on frames of their own), ``"conv1d (onnx)"`` for an export."""
    if hasattr(detector, "metadata"):  # OnnxDetector
        return f"{detector.metadata.get('model')} (onnx)"
    n = int(getattr(detector, "n_networks", 1) or 1)
    frames = getattr(detector, "network_frames", None)
    trained = f" (frames {', '.join(map(str, frames))})" if n > 1 and frames else ""
    return f"{detector.model} ×{n}{trained}" if n > 1 else str(detector.model)


def describe_detector(detector: Any) -> str:
    """``"conv1d, frame 64, step 1"``."""
    return f"{network_name(detector)}, frame {detector.frame}, step {detector.step}"


def epochs_run(history: Mapping[str, Any]) -> str:
    """``"20 epochs"``; ``"20 epochs each"`` or ``"20+14 epochs"`` for several networks."""
    counts = [len(h["epochs"]) for h in history.get("networks", [history])]
    if len(set(counts)) == 1:
        return f"{counts[0]} epochs" + (" each" if len(counts) > 1 else "")
    return "+".join(map(str, counts)) + " epochs"


def training_summary(detector: Any, took: float) -> list[tuple[str, str]]:
    """What a fit did, as ``(name, value)`` lines: channels, network and size, epochs (early
    stop, best epoch, device), last losses, the alarm line and the time taken."""
    from .scoring.thresholds import describe_detector_line

    history = detector.history_
    last = history["epochs"][-1] if history["epochs"] else {}
    stopped = ", stopped early" if history["stopped_early"] else ""
    n_params = sum(p.numel() for p in detector.model_.parameters())
    image = getattr(detector, "input_kind_", "sequence") == "image"
    shape = "" if image else f"frame {detector.frame}, step {detector.step}, "
    losses = f"train {last.get('train_loss', float('nan')):.4g}"
    if last.get("val_loss") is not None:
        losses += f", validation {last['val_loss']:.4g}"
    first = f" (network 1 of {detector.n_networks})" if detector.n_networks > 1 else ""
    return [
        ("channels", ", ".join(detector.channels_)),
        ("model", f"{network_name(detector)}, {shape}{n_params:,} parameters"),
        (
            "epochs",
            f"{len(history['epochs'])} of {history.get('max_epochs') or detector.epochs}{stopped}; "
            "best epoch "
            f"{history['best_epoch']} on {history['device']}{first}",
        ),
        ("last loss", losses),
        ("threshold", f"{detector.threshold_:.6g} ({describe_detector_line(detector)})"),
        ("trained in", f"{took:.1f} s" if took < 120 else f"{took / 60:.1f} min"),
    ]


@dataclass
class DetectorSource:
    """The detector a command scores with, and how it was obtained.

    ``data`` and ``result`` are set when the detector was trained on the scored file itself:
    the file as read, and its detection from the training pass (so it is scored once).
    """

    detector: Any
    description: str
    data: Any = None
    result: Any = None


def fit_with_progress(
    detector: Any,
    data: Any,
    fit: Callable[..., Any] | None = None,
    callback: Any = None,
    status: Callable[[str], None] | None = None,
) -> float:
    """Fit ``detector`` on sensor data or images (``fit`` replaces ``detector.fit``); return the
    seconds taken. ``callback`` gets the training progress, ``status`` one line before it starts.
    A file shorter than one frame is refused with a message that says what to do."""
    images = getattr(data, "images", None)  # an ImageSet: no frames
    if images is None and len(data.values) < detector.frame:
        raise DataError(
            f"{data.source}: {len(data.values)} rows, fewer than one frame of {detector.frame}: "
            "give more rows or a smaller frame"
        )
    if status is not None:
        n = f"{len(images):,} images" if images is not None else f"{len(data.values):,} rows"
        status(f"training {detector.model} on {n} ...")
    start = time.perf_counter()
    (fit or detector.fit)(data if images is None else images, callback=callback)
    return time.perf_counter() - start


def obtain_detector(
    data: Any,
    reader: Any,
    options: Mapping[str, Any],
    *,
    model: Any = None,
    model_name: str | None = None,
    callback: Any = None,
    status: Callable[[str], None] | None = None,
    check: Callable[[], None] | None = None,
    reconstruction: bool = False,
) -> DetectorSource:
    """Load ``model``, or train the default detector, as ``seqae detect`` does.

    With ``model`` (a path), the options of :func:`training_only` are refused; a number as
    ``threshold`` moves the loaded model's alarm line; ``min_event_length`` / ``merge_gap``
    replace its event rules (not in an ``.onnx`` export, where they are fixed). Without it, the
    detector of :func:`training_detector` is trained on ``options["train"]`` (a path) or on
    ``data`` itself, the first ``options["train_rows"]`` rows when given; trained on ``data``
    whole, it is fitted and scored in one pass (:meth:`seqae.Detector.fit_detect`).

    Parameters
    ----------
    data : path
        The file to score.
    reader : seqae.scale.filescoring.ReadOptions
        How files are read (columns, labels, NaNs); a loaded model's channels are never taken
        for labels.
    options : mapping
        Detector parameters (see :func:`training_detector`) plus ``train``, ``train_rows``.
    model : detector or path, optional
        A fitted detector, or a saved model or an ``.onnx`` file
        (:func:`seqae.scale.streaming.load_detector`); ``model_name`` is how messages call it.
    callback, status : callable, optional
        Training progress, as :meth:`seqae.Detector.fit` takes it; a line before training.
    check : callable, optional
        Run once the model is loaded or the training data read, before any training.
    reconstruction : bool
        Keep the reconstruction of a detection made while training.
    """
    rules = {k: options.get(k) for k in ("min_event_length", "merge_gap")}
    rules = {k: v for k, v in rules.items() if v is not None}
    if model is not None:
        given = training_only(options)
        if given:
            flags = ", ".join(given)
            raise ParameterError(
                f"{flags} appl{'ies' if len(given) == 1 else 'y'} when training; drop "
                f"{'it' if len(given) == 1 else 'them'} or drop the model"
            )
        from .scale.streaming import load_detector

        detector = load_detector(model)
        reader.model_channels = set(detector.channels_)  # a channel 'anomaly' stays a channel
        if check is not None:
            check()
        threshold = options.get("threshold")
        if threshold is not None:
            if not hasattr(detector, "set_threshold"):
                raise ParameterError(
                    "threshold=<float> works with seqae models, not exported .onnx files"
                )
            detector.set_threshold(threshold)
        if rules:
            if hasattr(detector, "metadata"):
                raise ParameterError(
                    "min_event_length / merge_gap are fixed in an exported .onnx model; "
                    "use the saved seqae model instead"
                )
            detector.set_params(**rules)
        name = model_name or str(model)
        return DetectorSource(detector, f"{name} ({describe_detector(detector)})")

    itself = options.get("train") is None and not options.get("train_rows")
    source = options.get("train") or data
    train_data = reader.read(source, options.get("train_rows"))
    if check is not None:
        check()
    detector = training_detector(options)
    found: list[Any] = []

    def fit_detect(X: Any, callback: Any) -> None:  # scored in the training pass
        found.append(detector.fit_detect(X, callback=callback, reconstruction=reconstruction))

    took = fit_with_progress(detector, train_data, fit_detect if itself else None, callback, status)
    what = "the file itself" if options.get("train") is None else str(source)
    if options.get("train_rows"):
        what += f", first {len(train_data.values):,} rows"
    from .scoring.thresholds import describe_detector_line

    took_text = f"{took:.1f} s" if took < 120 else f"{took / 60:.1f} min"
    return DetectorSource(
        detector,
        f"trained here on {what}: {describe_detector(detector)}, "
        f"{epochs_run(detector.history_)} in {took_text}; alarm line: "
        f"{describe_detector_line(detector)}",
        data=train_data if itself else None,
        result=found[0] if found else None,
    )
