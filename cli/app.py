"""The command frame every ``seqae`` command shares: exit codes, the group that turns
library errors into one line and a code, ``--debug`` / ``--quiet``, and process set-up."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from seqae.errors import ParameterError, SeqaeError
from seqae.process import Terminated, handle_signals, tune_malloc

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

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100, "show_default": True}


# Library messages speak Python (they serve Python callers); on the command line the same
# advice names the flags.
_FLAG_WORDS = (
    (r"read_sensors\(\.\.\., (nan_policy='\w+')\)", r"\1"),
    (r"nan_policy='interpolate', 'ffill' or 'drop'", "--nan-policy interpolate, ffill or drop"),
    (r"nan_policy='(\w+)'", r"--nan-policy \1"),
    (r"nan_policy", "--nan-policy"),
    (r"time_column=None", "--time-column none"),
    (r"columns=\[\.\.\.\]", "--columns A,B,..."),
    (r"columns=\[([^\]]*)\]", lambda m: "--columns " + ",".join(re.findall(r"'([^']*)'", m[1]))),
    (r"threshold=<float>", "--threshold NUMBER"),
)


def flag_words(message: str) -> str:
    """A library message with Python arguments (``nan_policy='drop'``) as CLI flags.

    Examples
    --------
    >>> flag_words("3 NaN values in 'a'; pass nan_policy='ffill' to fill them")
    "3 NaN values in 'a'; pass --nan-policy ffill to fill them"
    """
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
        except ModuleNotFoundError as exc:  # the runtime install (no torch) asked to train
            from seqae.extras import missing_dependency

            error = missing_dependency(exc, f"seqae {ctx.invoked_subcommand or ''}".strip())
            if error is None or _debug(ctx):
                raise
            click.echo(f"Error: {error}", err=True)
            ctx.exit(EXIT_USAGE)
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
            tune_malloc()
            handle_signals()
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
