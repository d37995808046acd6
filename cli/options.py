"""Options shared by the ``seqae`` commands, each defined once, with its default and choices read
from the library: ``--frame`` shows ``Detector()``'s frame, ``--model`` lists the registry."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from seqae.policy import ZERO_MEANS_NONE, library_default, parameter_choices, parameter_help
from seqae.scoring.thresholds import METHODS
from seqae.threads import thread_default

STDIO = "-"  # DATA from standard input, --output to standard output


class LibraryDefault(click.Option):
    """An option whose default is the Detector's parameter of the same name: the value stays
    None when not given (the Detector takes its own default; scoring an .onnx file never imports
    torch), and the help shows it. Without a help text of its own, the option takes the first
    sentence of the library's description of the parameter, and its choices where it lists them.
    """

    def __init__(self, decls: Sequence[str], **kw: Any) -> None:
        super().__init__(decls, **kw)
        kw.setdefault("help", None)
        if self.help is None:
            self.help = parameter_help(self.name or "")
        choices = parameter_choices(self.name or "")
        if self.type is click.STRING and choices:
            self.type = click.Choice(choices)

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        if "default" not in extra:
            value = library_default(self.name or "")
            if value is None:  # None: from the data, or off where 0 stands for it
                extra["default"] = "0" if self.name in ZERO_MEANS_NONE else "auto"
            else:
                extra["default"] = str(value)
        return extra


class ModelChoice(click.Choice):
    """The model families of the registry, read on first use (the registry imports torch)."""

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


def split_names(ctx: click.Context, param: click.Parameter, value: Any) -> list[str] | None:
    """``--columns a,b --columns c`` → ``["a", "b", "c"]``; nothing → None."""
    if not value:
        return None
    items = [value] if isinstance(value, str) else list(value)
    names = [name.strip() for item in items for name in item.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("give at least one column name", ctx=ctx, param=param)
    return names


class ThresholdType(click.ParamType):
    """A rule of :data:`~seqae.scoring.thresholds.METHODS` or a number > 0 (a raw error).

    >>> THRESHOLD.convert("quantile", None, None), THRESHOLD.convert("0.25", None, None)
    ('quantile', 0.25)
    """

    name = "|".join(METHODS) + "|NUMBER"

    def convert(self, value: Any, param: Any, ctx: Any) -> str | float:
        if isinstance(value, float) or value in METHODS:
            return value
        try:
            number = float(value)
        except ValueError:
            self.fail(
                f"{value!r} is neither a rule ({', '.join(METHODS)}) nor a number", param, ctx
            )
        if not number > 0 or number == float("inf"):
            self.fail(f"the alarm line must be a number > 0, got {value}", param, ctx)
        return number


THRESHOLD = ThresholdType()


class WidthOrAuto(click.ParamType):
    """An integer >= 1, or ``auto`` (the library chooses from the data).

    >>> WIDTH_OR_AUTO.convert("auto", None, None), WIDTH_OR_AUTO.convert("32", None, None)
    ('auto', 32)
    """

    name = "N|auto"

    def convert(self, value: Any, param: Any, ctx: Any) -> str | int:
        if value == "auto" or isinstance(value, int):
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"expected an integer >= 1 or 'auto', got {value!r}", param, ctx)
        return number


WIDTH_OR_AUTO = WidthOrAuto()


class FrameList(click.ParamType):
    """Comma-separated integers >= 1: one frame length per network.

    >>> FRAME_LIST.convert("64,32", None, None)
    [64, 32]
    """

    name = "N,N,..."

    def convert(self, value: Any, param: Any, ctx: Any) -> list[int]:
        if isinstance(value, list):
            return value
        try:
            frames = [int(v) for v in str(value).split(",")]
        except ValueError:
            frames = []
        if not frames or min(frames) < 1:
            self.fail(f"expected integers >= 1 separated by commas, got {value!r}", param, ctx)
        return frames


FRAME_LIST = FrameList()


def apply_options(
    *options: Callable[..., Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def library(*decls: str, **kw: Any) -> Callable[..., Any]:
    """An option whose default, help and choices are the Detector's (:class:`LibraryDefault`)."""
    return click.option(*decls, cls=LibraryDefault, **kw)


def parse_channel_weights(ctx: Any, param: Any, values: tuple[str, ...]) -> dict[str, float] | None:
    """``("temp=0.5", ...)`` as ``{"temp": 0.5}``; None when none is given.

    >>> parse_channel_weights(None, None, ("temp=0.5", "flow=2"))
    {'temp': 0.5, 'flow': 2.0}
    """
    weights: dict[str, float] = {}
    for item in values:
        name, sep, number = item.rpartition("=")
        try:
            weight = float(number)
        except ValueError:
            weight = float("nan")
        if not sep or not name or not weight >= 0 or weight == float("inf"):
            raise click.BadParameter(
                f"expected NAME=W with W a finite number >= 0, got {item!r}",
                param_hint="--channel-weight",
            )
        weights[name] = weight
    return weights or None


INT, POSITIVE, FRACTION = click.IntRange(min=0), click.IntRange(min=1), click.FloatRange(0, 1)
fail_on_anomaly_option = click.option(
    "--fail-on-anomaly", is_flag=True, help="Exit with code 1 when any anomaly is found."
)
#: How a command that trains trains, and the alarm rules of any detector.
training_options = apply_options(
    library("--frame", type=click.IntRange(min=2)),
    library("--epochs", type=POSITIVE),
    library("--patience", type=INT),
    click.option(
        "--seed",
        "random_state",
        type=INT,
        default=0,
        help="Seed of the training run: the same command trains the same model (Python's "
        "Detector(random_state=None) draws a fresh seed; pass the same number there to match).",
    ),
    library(
        "--threshold",
        type=THRESHOLD,
        help=f"How training fits the alarm line ({', '.join(METHODS)}), or a number: the line "
        "itself as a raw reconstruction error (what `seqae info` shows; as "
        "Detector(threshold=NUMBER)): scores are divided by it, so 1.0 is the line.",
    ),
    library("--contamination", type=click.FloatRange(0, 0.5, min_open=True)),
    library("--min-event-length", type=POSITIVE),
    library("--merge-gap", type=INT),
    click.option(
        "--device",
        type=click.Choice(["cpu", "cuda", "mps"]),
        help="Where the model runs [default: cuda > mps > cpu to train, cpu to score].",
    ),
    click.option(
        "--threads",
        type=POSITIVE,
        metavar="N",
        expose_value=False,
        callback=lambda ctx, _, n: n and ctx.with_resource(thread_default(n)),  # undone after
        help="CPU threads for training and scoring [default: chosen per call from the CPUs "
        "this process may use, the other processes busy on them, and the size of the work].",
    ),
)
#: The Detector's options that `train` and `fleet train` take beyond the training options.
detector_options = apply_options(
    library("--model", type=ModelChoice(), help="Autoencoder family, from the model registry."),
    library("--step", type=POSITIVE),
    library("--batch-size", type=POSITIVE),
    library("--learning-rate", type=click.FloatRange(min=0, min_open=True)),
    library(
        "--validation-split",
        type=click.FloatRange(0, 1, max_open=True),
        help="Share of each recording's end held out to validate and to place the alarm line.",
    ),
    library(
        "--networks",
        "n_networks",
        type=POSITIVE,
        metavar="N",
        help="Train N networks from N seeds and average their errors: steadier scores, N times "
        "the time.",
    ),
    library(
        "--network-frames",
        "network_frames",
        type=FRAME_LIST,
        metavar="N,N",
        show_default="each network: --frame",
        help="The frame length each of the --networks trains on, one per network, each at most "
        "--frame (conv1d): e.g. --networks 2 --network-frames 64,32.",
    ),
    library(
        "--steps-per-epoch",
        type=INT,
        help="The training budget: at most this many batches per epoch, each epoch a fresh "
        "random sample of frames (0: every frame, every epoch).",
    ),
    library(
        "--scoring",
        help="Score frame by frame (windowed), in one fully convolutional pass (conv1d; much "
        "faster), or auto: convolutional where the model allows it.",
    ),
    library("--anomaly-score", "--score", "anomaly_score"),
    library("--channel-norm/--no-channel-norm", default=None),
    library("--score-smoothing", type=POSITIVE, metavar="N"),
    library(
        "--centred-smoothing",
        type=WIDTH_OR_AUTO,
        metavar="N|auto",
        help="Each score becomes a centred, triangular mean of the scores within N - 1 rows on "
        "either side (a fault is not lagged, but a score is final N - 1 rows later); 1 turns "
        "it off; auto: 32 on data of one channel, 1 on several.",
    ),
    library(
        "--rank-smoothing",
        type=WIDTH_OR_AUTO,
        metavar="N|auto",
        help="Rank the rows under the alarm line by a centred mean of the scores within N - 1 "
        "rows on either side, over its own line; the alarms never depend on it (a score is "
        "final N - 1 rows later); default 32; 1 turns it off; auto: 32 on data of several "
        "channels, 1 on one.",
    ),
    library(
        "--long-smoothing",
        type=INT,
        metavar="N",
        help="Rows of a second, longer mean of the scores; each score is the larger of the two "
        "means, so a lasting stretch of moderate errors stands out; 0 turns it off.",
    ),
    library(
        "--combine-power",
        type=click.FloatRange(min=1, max=1e6),
        metavar="P",
        help="How the channels' errors combine into each timestep's score: C times their power "
        "mean. 1 is their sum; a larger power lets a fault in one channel of many stand out.",
    ),
    library(
        "--stuck-window",
        type=INT,
        metavar="N",
        help="Rows a channel must hold one value, as it never did in training, to count as a "
        "stuck sensor (its rows then alarm, named on it); 0 turns the check off.",
    ),
    library(
        "--drift-rank-power",
        type=click.FloatRange(min=0, max=1),
        metavar="P",
        help="How much of the drift-aware line's adjustment a score under the line keeps (its "
        "factor to the power P): 1 all of it; below 1, a lasting fault the line has taken for "
        "the new normal still ranks above normal rows. The alarms never depend on it.",
    ),
    click.option(
        "--channel-weight",
        "channel_weights",
        multiple=True,
        metavar="NAME=W",
        callback=parse_channel_weights,
        help="Weight of a channel's error in the score (default 1; repeat for more channels), "
        "e.g. --channel-weight Thermocouple=0.1 to count a drifting sensor for less.",
    ),
)
data_options = apply_options(
    click.option(
        "--time-column",
        default="auto",
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
        metavar="NAME|auto|none",
        help="0/1 column of known anomalies, kept out of the channels; auto takes 0/1 columns "
        "named anomaly, label, changepoint, ... (see seqae.datasets.read_sensors).",
    ),
    click.option(
        "--nan-policy",
        type=click.Choice(["error", "interpolate", "ffill", "drop"]),
        default="error",
        help="What to do with missing values in channels.",
    ),
)
#: Where the detector of ``detect``, ``evaluate`` and ``plot`` comes from, and how data is read.
model_options = apply_options(
    click.option(
        "--model",
        "model_path",
        type=click.Path(exists=True, path_type=Path),
        help="A saved model (folder or .safetensors from `seqae train`) or an exported .onnx "
        "file; a number as --threshold moves its line, --min-event-length and --merge-gap its "
        "event rules. Without it, a detector is trained on the data first.",
    ),
    click.option(
        "--train",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Train on this file instead of DATA (same columns).",
    ),
    click.option(
        "--train-rows",
        type=POSITIVE,
        metavar="N",
        help="Train on the first N rows only (of DATA, or of --train).",
    ),
    training_options,
    click.option(
        "--chunk-size",
        type=POSITIVE,
        default=100_000,
        help="Rows read at a time (memory stays bounded; results do not depend on it).",
    ),
    data_options,
)
