"""Options shared by the ``seqae`` commands, each defined once, with its default read from the
library: ``--frame`` shows ``Detector()``'s frame, ``--model`` lists the model registry."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from seqae.scoring.thresholds import METHODS

STDIO = "-"  # DATA from standard input, --output to standard output
DEFAULT_CHUNK = 100_000


# ----------------------------------------------------------------------- library defaults
def library_default(name: str) -> Any:
    """The default of ``Detector(name=...)``: the CLI's defaults are the library's.

    Read from the source of ``Detector.__init__`` when the default is a literal, so that
    ``--help`` does not import torch (seconds); from the imported class otherwise.

    Examples
    --------
    >>> import inspect
    >>> from seqae import Detector
    >>> library_default("frame") == inspect.signature(Detector).parameters["frame"].default
    True
    """
    defaults = _literal_defaults()
    if name in defaults:
        return defaults[name]
    from seqae import Detector

    return inspect.signature(Detector).parameters[name].default


@functools.cache
def _literal_defaults() -> dict[str, Any]:
    """``Detector.__init__``'s literal defaults, parsed from seqae/detector.py (not imported)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("seqae.detector")
    if spec is None or not spec.origin:
        return {}
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    inits = [
        f
        for c in ast.walk(tree)
        if isinstance(c, ast.ClassDef) and c.name == "Detector"
        for f in c.body
        if isinstance(f, ast.FunctionDef) and f.name == "__init__"
    ]
    if not inits:
        return {}
    args = inits[0].args
    positional = args.args[len(args.args) - len(args.defaults) :]
    keywords = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    pairs_ = [*zip(positional, args.defaults, strict=True)]
    pairs_ += [(a, d) for a, d in keywords if d is not None]
    found = {}
    for arg, default in pairs_:
        with contextlib.suppress(ValueError, TypeError, SyntaxError):
            found[arg.arg] = ast.literal_eval(default)
    return found


class LibraryDefault(click.Option):
    """An option whose default is the Detector's parameter of the same name.

    The value stays None when not given, and the Detector built from the options then takes
    its own default (so scoring an .onnx file never imports torch); the help shows it.
    """

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        if "default" not in extra:
            extra["default"] = str(library_default(self.name or ""))
        return extra


class ModelChoice(click.Choice):
    """The model families of the registry (:func:`seqae.models.available_models`).

    The registry imports torch, so it is read on first use (a value to check, a help page),
    never at start-up: scoring an .onnx file stays torch-free.
    """

    name = "model"

    def __init__(self) -> None:
        super().__init__(())

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        from seqae.models import available_models

        return tuple(available_models())

    @property  # type: ignore[override]
    def choices(self) -> Sequence[str]:
        return self._names

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:  # click's __init__ sets it
        pass


# ---------------------------------------------------------------------------------- parsing
def split_names(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...] | str | None
) -> list[str] | None:
    """``--columns a,b --columns c`` → ``["a", "b", "c"]``; nothing → None."""
    if not value:
        return None
    items = [value] if isinstance(value, str) else list(value)
    names = [name.strip() for item in items for name in item.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("give at least one column name", ctx=ctx, param=param)
    return names


class ThresholdType(click.ParamType):
    """A rule of :data:`~seqae.scoring.thresholds.METHODS` (how to fit while training) or a
    number > 0:
    the alarm line as a raw reconstruction error, as in ``Detector(threshold=0.5)``.

    Examples
    --------
    >>> THRESHOLD.convert("quantile", None, None), THRESHOLD.convert("0.25", None, None)
    ('quantile', 0.25)
    """

    methods = METHODS
    name = "|".join(METHODS) + "|NUMBER"

    def convert(self, value: Any, param: Any, ctx: Any) -> str | float:
        if isinstance(value, float) or value in self.methods:
            return value
        try:
            number = float(value)
        except ValueError:
            rules = ", ".join(self.methods)
            self.fail(f"{value!r} is neither a rule ({rules}) nor a number", param, ctx)
        if not number > 0 or number == float("inf"):
            self.fail(f"the alarm line must be a number > 0, got {value}", param, ctx)
        return number


THRESHOLD = ThresholdType()
THRESHOLD_HELP = (
    "pot, quantile or sigma: how training fits the alarm line; or a number: the alarm line "
    "itself, as a raw reconstruction error (what `seqae info` shows as threshold; the same "
    "meaning as Detector(threshold=NUMBER) and Detector.set_threshold(NUMBER)). Scores are "
    "divided by it, so 1.0 is the line."
)
FRAME_HELP = (
    "Timesteps per frame. conv1d (three stride-2 layers) needs a multiple of 8; the other "
    "sequence models take any frame >= 2."
)


# --------------------------------------------------------------- options of several commands
def _apply(f: Callable[..., Any], options: Sequence[Callable[..., Any]]) -> Callable[..., Any]:
    for option in reversed(options):
        f = option(f)
    return f


frame_option = click.option(
    "--frame", cls=LibraryDefault, type=click.IntRange(min=2), help=FRAME_HELP
)
epochs_option = click.option(
    "--epochs",
    cls=LibraryDefault,
    type=click.IntRange(min=1),
    help="Training epochs (at most, with early stopping), each of at most --steps-per-epoch "
    "batches of frames.",
)
patience_option = click.option(
    "--patience",
    cls=LibraryDefault,
    type=click.IntRange(min=0),
    help="Epochs without improvement before training stops (0: never stop early).",
)
seed_option = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the training run (the same seed, the same model).",
)
contamination_option = click.option(
    "--contamination",
    cls=LibraryDefault,
    type=click.FloatRange(0, 0.5, min_open=True),
    help="Expected share of anomalies in the training data (for --threshold quantile).",
)
min_event_length_option = click.option(
    "--min-event-length",
    cls=LibraryDefault,
    type=click.IntRange(min=1),
    help="Drop alarms shorter than this many timesteps (a saved model keeps its own unless given).",
)
merge_gap_option = click.option(
    "--merge-gap",
    cls=LibraryDefault,
    type=click.IntRange(min=0),
    help="Merge alarms at most this many timesteps apart (a saved model keeps its own unless "
    "given).",
)
fail_on_anomaly_option = click.option(
    "--fail-on-anomaly", is_flag=True, help="Exit with code 1 when any anomaly is found."
)


def _thread_default(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    if value is not None:
        from seqae.threads import thread_default

        ctx.with_resource(thread_default(value))  # for this command, undone when it ends


threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1),
    metavar="N",
    expose_value=False,
    callback=_thread_default,
    help="CPU threads for training and scoring [default: chosen per call from the CPUs this "
    "process may use, the other processes busy on them, and the size of the work].",
)


def device_option(help: str) -> Callable[..., Any]:
    """``--device``: cpu, cuda or mps."""
    return click.option("--device", type=click.Choice(["cpu", "cuda", "mps"]), help=help)


def data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--time-column``, ``--columns``, ``--label-column``, ``--nan-policy``."""
    return _apply(
        f,
        [
            click.option(
                "--time-column",
                default="auto",
                show_default=True,
                metavar="NAME|auto|none",
                help="Time column; auto finds time/timestamp/date columns.",
            ),
            click.option(
                "--columns",
                multiple=True,
                callback=split_names,
                metavar="A,B,...",
                help="Channel columns, comma-separated [default: every numeric column].",
            ),
            click.option(
                "--label-column",
                default="auto",
                show_default=True,
                metavar="NAME|auto|none",
                help="0/1 column of known anomalies, kept out of the channels; auto takes 0/1 "
                "columns named anomaly, label, changepoint, ... (see seqae.datasets."
                "read_sensors).",
            ),
            click.option(
                "--nan-policy",
                type=click.Choice(["error", "interpolate", "ffill", "drop"]),
                default="error",
                show_default=True,
                help="What to do with missing values in channels.",
            ),
        ],
    )


#: Options that only make sense when a command trains its own detector.
TRAINING_ONLY = ("train_path", "train_rows", "frame", "epochs", "patience", "seed", "contamination")


def model_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Where the detector of ``detect``, ``evaluate`` and ``plot`` comes from (``--model`` or
    training here), its alarm rules, and how the data is read."""
    f = _apply(
        f,
        [
            click.option(
                "--model",
                "model_path",
                type=click.Path(exists=True, path_type=Path),
                help="A saved model (folder or .safetensors from `seqae train`) or an exported "
                ".onnx file. Without it, a detector is trained on the data first.",
            ),
            click.option(
                "--train",
                "train_path",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Train on this file instead of DATA (same columns).",
            ),
            click.option(
                "--train-rows",
                type=click.IntRange(min=1),
                metavar="N",
                help="Train on the first N rows only (of DATA, or of --train).",
            ),
            frame_option,
            epochs_option,
            patience_option,
            seed_option,
            click.option(
                "--threshold",
                type=THRESHOLD,
                help=THRESHOLD_HELP + " Default: the library's (pot on held-out training rows, "
                "followed by the drift-aware line), also when training on DATA itself.",
            ),
            contamination_option,
            min_event_length_option,
            merge_gap_option,
            device_option(
                "Where the model runs [default: cuda > mps > cpu for training, cpu to score]."
            ),
            threads_option,
            click.option(
                "--chunk-size",
                type=click.IntRange(min=1),
                default=DEFAULT_CHUNK,
                show_default=True,
                help="Rows read at a time (memory stays bounded; results do not depend on it).",
            ),
        ],
    )
    return data_options(f)
