"""What every ``seqae`` command shares: errors and exit codes, data and model options, reading,
the default detector, atomic outputs, progress on a terminal, and plain-text tables."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from seqae._atomic import atomic_path, is_special_file
from seqae.errors import DataError, ModelFormatError, ParameterError, SeqaeError

EXIT_ANOMALY = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_SIGNAL = 128  # + the signal: 130 for Ctrl-C (SIGINT), 143 for SIGTERM

EXIT_CODES = f"""Exit codes:
  0  success
  {EXIT_ANOMALY}  anomalies found (only with --fail-on-anomaly)
  {EXIT_USAGE}  usage error: a bad option or value, a missing file
  {EXIT_DATA}  data or model error: unreadable file, unknown column, channel mismatch, ...
  130/143  interrupted (Ctrl-C / SIGTERM); no output file is left behind
--debug (anywhere on the line) shows the traceback of an error; --quiet hides progress."""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# Names (lower case) of 0/1 columns taken as ground-truth labels, not channels, by default.
LABEL_NAMES = ("anomaly", "anomalies", "is_anomaly", "label", "labels", "changepoint")
DEFAULT_CHUNK = 100_000

STDIO = "-"  # DATA from standard input, --output to standard output


def library_default(name: str) -> Any:
    """The default of ``Detector(name=...)``: the CLI's defaults are the library's.

    Read from the source of ``Detector.__init__`` when the default is a literal, so that
    ``--help`` does not import torch (seconds); from the imported class otherwise.
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


FRAME_HELP = (
    "Timesteps per frame. conv1d (three stride-2 layers) needs a multiple of 8; the other "
    "sequence models take any frame >= 2."
)


# --------------------------------------------------------------------------------- errors
class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every atomic output cleans up after itself."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


# Library messages speak Python (they serve Python callers); on the command line the same
# advice names the flags.
_FLAG_WORDS = (
    (r"read_sensors\(\.\.\., (nan_policy='\w+')\)", r"\1"),
    (r"nan_policy='interpolate', 'ffill' or 'drop'", "--nan-policy interpolate, ffill or drop"),
    (r"nan_policy='(\w+)'", r"--nan-policy \1"),
    (r"nan_policy", "--nan-policy"),
    (r"time_column=None", "--time-column none"),
    (r"columns=\[\.\.\.\]", "--columns A,B,..."),
    (r"threshold=<float>", "--threshold NUMBER"),
)


def flag_words(message: str) -> str:
    """A library message with Python arguments (``nan_policy='drop'``) as CLI flags."""
    for pattern, flag in _FLAG_WORDS:
        message = re.sub(pattern, flag, message)
    return message


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.params.get("debug") or ctx.meta.get("seqae.debug"))


class SeqaeGroup(click.Group):
    """A click group that turns seqae errors into one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeqaeError as exc:
            if _debug(ctx):
                raise
            click.echo(f"Error: {flag_words(str(exc))}", err=True)
            ctx.exit(EXIT_USAGE if isinstance(exc, ParameterError) else EXIT_DATA)
        except BrokenPipeError:  # `seqae detect ... | head`: the reader left; stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:  # the file system said no: a full disk, a read-only folder, ...
            if _debug(ctx):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(EXIT_DATA)
        except KeyboardInterrupt as exc:
            what = "Terminated" if isinstance(exc, Terminated) else "Interrupted"
            click.echo(f"\n{what}: no output file was written.", err=True)
            number = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            ctx.exit(EXIT_SIGNAL + number)

    def main(self, args: Sequence[str] | None = None, *a: Any, **kw: Any) -> Any:
        if args is None:  # a real command line (not a test runner): this process is ours
            _tune_malloc()
            signal.signal(signal.SIGTERM, _terminate)
        return super().main(args, *a, **kw)


def _set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[f"seqae.{param.name}"] = True


def global_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--debug`` and ``--quiet``: accepted before the command and after it alike."""
    f = click.option(
        "--quiet", "-q", is_flag=True, expose_value=False, callback=_set_flag,
        help="No progress lines (they appear only on a terminal anyway).",
    )(f)  # fmt: skip
    return click.option(
        "--debug", is_flag=True, expose_value=False, callback=_set_flag,
        help="Show the full traceback of an error.",
    )(f)  # fmt: skip


def command(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A ``seqae`` sub-command: shared context settings, exit codes, --debug and --quiet."""

    def decorate(f: Callable[..., Any]) -> click.Command:
        return click.command(name, context_settings=CONTEXT, epilog="\b\n" + EXIT_CODES, **kwargs)(
            global_options(f)
        )

    return decorate


def _tune_malloc() -> None:
    """Keep glibc from returning large activation buffers to the OS after every batch.

    Measured in DESIGN.md: ~2x faster conv inference and LSTM training/scoring. Only a process
    that owns its start may do this, so the library never does; the command line does.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 1_000_000_000)
        libc.mallopt(m_trim_threshold, 1_000_000_000)


# ------------------------------------------------------------------------------- parsing
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
    """``pot``, ``quantile``, ``sigma`` (how to fit while training) or a number > 0: the alarm
    line as a raw reconstruction error, as in ``Detector(threshold=0.5)``."""

    name = "pot|quantile|sigma|NUMBER"
    methods = ("pot", "quantile", "sigma")

    def convert(self, value: Any, param: Any, ctx: Any) -> str | float:
        if isinstance(value, float) or value in self.methods:
            return value
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is neither pot, quantile, sigma nor a number", param, ctx)
        if not number > 0 or number == float("inf"):
            self.fail(f"the alarm line must be a number > 0, got {value}", param, ctx)
        return number


THRESHOLD = ThresholdType()
THRESHOLD_HELP = (
    "pot, quantile or sigma: how training fits the alarm line; or a number: the alarm line "
    "itself, as a raw reconstruction error (what `seqae info` shows as threshold; the same "
    "meaning as Detector(threshold=NUMBER)). Scores are divided by it, so 1.0 is the line."
)


def output_format(path: Path, given: str | None) -> str:
    """The output format: ``--format`` when given, else from the extension, else CSV."""
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".json", ".jsonl"):
        return "json"
    return "csv"


# ---------------------------------------------------------------------------------- data
@dataclass
class DataOptions:
    """How to read a sensor file: time column, channels, labels and NaN policy."""

    time_column: str | None = "auto"
    columns: list[str] | None = None
    label_column: str | None = "auto"  # a name, "auto" (see LABEL_NAMES) or None
    nan_policy: str = "error"
    labels: dict[str, list[str] | None] = field(default_factory=dict)  # per file, resolved
    model_channels: set[str] = field(default_factory=set)  # never taken as labels
    names: dict[str, str] = field(default_factory=dict)  # a copy of stdin -> "<stdin>"

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> DataOptions:
        time_column = params.get("time_column", "auto")
        label = params.get("label_column", "auto")
        return cls(
            time_column=None if time_column.lower() == "none" else time_column,
            columns=params.get("columns"),
            label_column=None if label.lower() == "none" else label,
            nan_policy=params.get("nan_policy", "error"),
        )

    def label_columns(self, path: str | os.PathLike) -> list[str] | None:
        """The label columns of ``path``: the one named, or 0/1 columns with a label name."""
        key = str(path)
        if key not in self.labels:
            if self.label_column != "auto":
                self.labels[key] = None if self.label_column is None else [self.label_column]
            else:
                self.labels[key] = self._find_labels(path)
        return self.labels[key]

    def truth_column(self, path: str | os.PathLike) -> str | None:
        """The ground-truth column (the first label column), if any."""
        names = self.label_columns(path)
        return names[0] if names else None

    def _find_labels(self, path: str | os.PathLike) -> list[str] | None:
        import numpy as np
        from seqae.datasets import read_sensors

        try:
            peek = read_sensors(
                path,
                time_column=self.time_column,
                nrows=500,
                nan_policy="ffill",
                name=self.name(path),
            )
        except SeqaeError:
            return None  # the real read reports the problem
        found = [
            name
            for i, name in enumerate(peek.channels)
            if name.lower() in LABEL_NAMES
            and name not in (self.columns or ())
            and name not in self.model_channels
            and np.isin(peek.values[:, i], (0.0, 1.0)).all()
        ]
        found.sort(key=lambda name: LABEL_NAMES.index(name.lower()))
        return found or None

    def name(self, path: str | os.PathLike) -> str:
        """How messages call ``path`` (``<stdin>`` for a copy of standard input)."""
        return self.names.get(str(path), str(path))

    def _kwargs(self, path: str | os.PathLike) -> dict[str, Any]:
        return {
            "time_column": self.time_column,
            "columns": self.columns,
            "label_columns": self.label_columns(path),
            "nan_policy": self.nan_policy,
            "name": self.name(path),
        }

    def read(self, path: str | os.PathLike, nrows: int | None = None) -> Any:
        """The whole file (or its first ``nrows`` rows) as SensorData."""
        from seqae.datasets import read_sensors

        status(f"reading {self.name(path)} ...")
        data = read_sensors(path, nrows=nrows, **self._kwargs(path))
        clear_status()
        return data

    def chunks(self, path: str | os.PathLike, chunksize: int) -> Iterator[Any]:
        """The file as SensorData chunks of about ``chunksize`` rows."""
        from seqae.datasets import iter_sensor_chunks

        return iter_sensor_chunks(path, chunksize, **self._kwargs(path))

    def local(self, ctx: click.Context, path: Path) -> Path:
        """``path`` as a regular file: standard input (``-``), a pipe or a process
        substitution is copied to a temporary file first (removed when the command ends),
        as the reader goes over a file twice (its format, then its rows)."""
        if str(path) != STDIO and (not path.exists() or path.is_file() or path.is_dir()):
            return path
        folder = Path(tempfile.mkdtemp(prefix="seqae-input-"))
        ctx.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
        copy = folder / "input"
        shown = "<stdin>" if str(path) == STDIO else str(path)
        status(f"reading {shown} ...")
        with contextlib.ExitStack() as stack:
            if str(path) == STDIO:
                source = sys.stdin.buffer
            else:
                source = stack.enter_context(open(path, "rb"))
            with open(copy, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        clear_status()
        self.names[str(copy)] = shown
        return copy


def data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--time-column``, ``--columns``, ``--label-column``, ``--nan-policy``."""
    options = [
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
            help=f"0/1 column of known anomalies, kept out of the channels; auto takes a 0/1 "
            f"column named {', '.join(LABEL_NAMES[:3])}, ...",
        ),
        click.option(
            "--nan-policy",
            type=click.Choice(["error", "interpolate", "ffill", "drop"]),
            default="error",
            show_default=True,
            help="What to do with missing values in channels.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def input_summary(reports: Sequence[dict[str, Any]], nan_policy: str) -> tuple[str, str | None]:
    """What the reader did to the data: ``(summary line, warning or None)``.

    ``reports`` are the :attr:`SensorData.report` of the parts read, in order. The warning
    lists what changed the data (sorting, filled values, dropped rows) or may be wrong with it
    (repeated time stamps).
    """
    total = {
        key: sum(int(r.get(key) or 0) for r in reports)
        for key in ("rows_read", "rows", "blank_rows", "rows_dropped", "values_filled",
                    "rows_out_of_order", "duplicate_timestamps")
    }  # fmt: skip
    first = reports[0] if reports else {}
    duplicate = next((r["first_duplicate"] for r in reports if r.get("first_duplicate")), None)
    sorted_ = any(r.get("sorted_by_time") for r in reports)
    parts = [f"{total['rows_read']:,} rows read, {total['rows']:,} kept"]
    changes = []
    if first.get("time_column"):
        parts.append(f"time column {first['time_column']!r}")
    if sorted_:
        changes.append(f"sorted by time ({total['rows_out_of_order']:,} rows out of order)")
    if total["duplicate_timestamps"]:
        where = f", first {duplicate}" if duplicate else ""
        changes.append(f"{total['duplicate_timestamps']:,} repeated time stamps{where}")
    if total["values_filled"]:
        filled = f"{total['values_filled']:,} missing values filled"
        changes.append(f"{filled} (--nan-policy {nan_policy})")
    if total["rows_dropped"]:
        changes.append(f"{total['rows_dropped']:,} rows dropped (--nan-policy {nan_policy})")
    if total["blank_rows"]:
        parts.append(f"{total['blank_rows']:,} blank lines skipped")
    if first.get("skipped_columns"):
        parts.append("text columns left out: " + ", ".join(first["skipped_columns"]))
    line = "; ".join(parts + changes) if changes else "; ".join(parts) + "; unchanged"
    warning = None
    if changes:
        warning = "the input was changed or looks wrong: " + "; ".join(changes)
        if sorted_:
            warning += " (results follow the sorted order)"
    return line, warning


def warn(message: str) -> None:
    """A warning line on stderr (always: it is about the results, not progress)."""
    click.echo(f"Warning: {message}", err=True)


# ------------------------------------------------------------------------------- images
IMAGE_SUFFIXES = (".npy", ".npz")


def is_image_data(path: str | os.PathLike) -> bool:
    """True for image data: a ``.npy``/``.npz`` array or a folder of image files."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES


def read_image_data(path: str | os.PathLike, limit: int | None = None) -> Any:
    """Images of ``path`` (see :func:`seqae.datasets.read_images`), the first ``limit`` only."""
    from seqae.datasets import read_images

    data = read_images(path)
    if limit is not None:
        data.images = data.images[:limit]
        data.labels = None if data.labels is None else data.labels[:limit]
        data.names = None if data.names is None else data.names[:limit]
    return data


def describe_images(data: Any) -> str:
    """``"1,797 images of 1×8×8"``."""
    shape = data.images.shape[1:] if data.images.ndim == 4 else (1, *data.images.shape[1:])
    return f"{len(data.images):,} images of {'×'.join(map(str, shape))}"


# ------------------------------------------------------------------------------- models
def is_onnx(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def load_model(path: str | os.PathLike, device: str | None = None) -> Any:
    """A saved Detector (folder or ``.safetensors``) or an exported ``.onnx`` OnnxDetector."""
    check_model_path(path)
    if is_onnx(path):
        from seqae.runtime import OnnxDetector

        return OnnxDetector(path)
    from seqae import Detector

    return Detector.load(path, device=device or "cpu")


def check_model_path(path: str | os.PathLike) -> None:
    """Refuse, with a clear message, a path that cannot be a model (a CSV, say)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() not in (".safetensors", ".onnx"):
        raise ModelFormatError(
            f"{path}: not a seqae model; give a model folder or a .safetensors file "
            "(from seqae train) or an .onnx file (from seqae export)"
        )


def set_alarm_line(detector: Any, level: float) -> None:
    """Put the alarm line at ``level``, a raw reconstruction error, as ``Detector(threshold=
    level)`` and ``Detector.set_threshold(level)`` do (``seqae info`` shows the fitted one).

    Scores stay normalised: after the move, 1.0 is the new line.
    """
    if not hasattr(detector, "set_threshold"):
        raise ParameterError("--threshold NUMBER works with seqae models, not exported .onnx files")
    detector.set_threshold(level)


def training_detector(
    *,
    seed: int | None = 0,
    steps_per_epoch: int | None = None,
    distributed: bool = False,
    **params: Any,
) -> Any:
    """The Detector the commands train: ``Detector()`` defaults, overridden by the ``params``
    that are not None, seeded by ``seed`` (reproducible runs), each epoch capped at
    ``steps_per_epoch`` batches when given (0: no cap), data-parallel under torchrun with
    ``distributed``."""
    from seqae import Detector

    kwargs: dict[str, Any] = {"random_state": seed}
    if steps_per_epoch is not None:
        kwargs["steps_per_epoch"] = steps_per_epoch or None
    if distributed:
        kwargs["train_params"] = {"distributed": True}
    kwargs.update({k: v for k, v in params.items() if v is not None})
    return Detector(**kwargs)


def fit_detector(detector: Any, data: Any, fit: Callable[..., Any] | None = None) -> float:
    """Fit with a per-epoch progress bar on a terminal; return the seconds taken.

    ``fit`` replaces ``detector.fit`` (same arguments), e.g. to keep what
    ``detector.fit_detect`` returns."""
    images = getattr(data, "images", None)  # an ImageSet: no frames
    if images is None and len(data.values) < detector.frame:
        raise DataError(
            f"{data.source}: {len(data.values)} rows, fewer than one frame of {detector.frame}: "
            "give more rows or a smaller --frame"
        )
    start = time.perf_counter()
    n = f"{len(images):,} images" if images is not None else f"{len(data.values):,} rows"
    status(f"training {detector.model} on {n} ...")
    with EpochProgress() as progress:
        (fit or detector.fit)(data if images is None else images, callback=progress)
    clear_status()
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- progress
def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def on_terminal() -> bool:
    """Whether progress lines may go to stderr: a terminal, and no --quiet."""
    ctx = click.get_current_context(silent=True)
    quiet = ctx is not None and ctx.meta.get("seqae.quiet", False)
    return stderr_is_terminal() and not quiet


def status(message: str) -> None:
    """One transient line on stderr (``reading data.csv ...``), on a terminal only."""
    if on_terminal():
        click.echo(f"\r{message}\033[K", err=True, nl=False)


def clear_status() -> None:
    if on_terminal():
        click.echo("\r\033[K", err=True, nl=False)


class EpochProgress:
    """Training progress on stderr, one bar per epoch, only when stderr is a terminal."""

    width = 30

    def __init__(self) -> None:
        self.enabled = on_terminal()

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled and exc[0] is not None:
            click.echo("", err=True)

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        filled = self.width * event.step // max(event.n_steps, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"\repoch {event.epoch:>3}/{event.n_epochs} [{bar}] train {event.train_loss:.4g}"
        if event.val_loss is not None:
            line += f"  val {event.val_loss:.4g}"
        end_of_epoch = event.step == event.n_steps
        click.echo(line + ("\n" if end_of_epoch else ""), err=True, nl=False)


class RowProgress:
    """``rows scored: 1,234,567`` on stderr, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = on_terminal()
        self._last = 0.0

    def update(self, rows: int) -> None:
        now = time.perf_counter()
        if self.enabled and now - self._last > 0.2:
            self._last = now
            click.echo(f"\r{self.label}: {rows:,} rows", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self._last:
            click.echo("\r" + " " * (len(self.label) + 24) + "\r", err=True, nl=False)


# ------------------------------------------------------------------------------ outputs
def prepare_output(path: str | os.PathLike, flag: str = "--output") -> Path:
    """Check an output path (before any work is done) and create its folder."""
    path = Path(path)
    if path.is_dir():
        raise ParameterError(
            f"{flag} {path} is a folder; give a file name such as {path / 'out.csv'}"
        )
    if is_special_file(path):
        return path  # a device or pipe: written directly
    return prepare_parent(path, flag)


def prepare_parent(path: Path, flag: str = "--output") -> Path:
    """Create the folder ``path`` (a link: its target) will be written in; refuse, naming
    ``flag``, a folder that cannot be created or written."""
    real = Path(os.path.realpath(path))
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            f"{flag} {path}: cannot create folder {real.parent}: {exc.strerror or exc}"
        ) from None
    try:  # the real test (root passes os.access checks that the file system then refuses)
        with tempfile.TemporaryFile(dir=real.parent):
            pass
    except OSError as exc:
        raise ParameterError(
            f"{flag} {path}: cannot write in folder {real.parent}: {exc.strerror or exc}"
        ) from None
    return path


class AtomicFiles:
    """Temporary files beside their targets, renamed into place only when all succeeded.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with AtomicFiles() as files:
    ...     _ = files.temp(folder / "out.txt").write_text("done")
    >>> (folder / "out.txt").read_text()
    'done'
    """

    def __init__(self) -> None:
        self._pending: list[Any] = []

    def temp(self, target: str | os.PathLike, flag: str = "--output") -> Path:
        """A temporary path in ``target``'s folder; becomes ``target`` on success."""
        target = prepare_output(target, flag)
        context = atomic_path(target)
        try:
            tmp = context.__enter__()
        except OSError as exc:
            raise ParameterError(
                f"{flag} {target}: cannot write there: {exc.strerror or exc}"
            ) from None
        self._pending.append(context)
        return tmp

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        # Rename only when every output is complete; otherwise remove them all.
        for context in self._pending:
            context.__exit__(kind, exc, tb)


# ------------------------------------------------------------------------------- text
def table(rows: Sequence[Sequence[Any]], header: Sequence[str], right: Sequence[int] = ()) -> str:
    """Plain aligned text: one header line, then the rows (columns in ``right`` align right)."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    """``name: value`` lines with the values aligned."""
    width = max(len(name) for name, _ in items)
    return "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in items)


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"
