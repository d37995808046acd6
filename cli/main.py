"""The ``seqae`` command: the group of every command (one module each), with ``--version``.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(cli, ["--version"]).output.startswith("seqae, version ")
True
"""

from __future__ import annotations

import click

from seqae import __version__

from .app import CONTEXT, EXIT_CODES, SeqaeGroup, global_options
from .detect import detect, evaluate
from .fleet import fleet
from .generate import generate
from .model import export, info
from .plot import plot
from .train import train

HELP = """seqae: time-series anomaly detection with autoencoders.

\b
Quick start:
  seqae generate demo/sensors.csv --rows 20000 --channels 6 --seed 7
  seqae detect demo/sensors.csv --output demo/scores.csv --events demo/events.json
  seqae train normal.csv --output model/ && seqae detect new.csv --model model/

Run `seqae COMMAND -h` for a command's options and examples. DATA may be `-` (standard
input) and `--output -` writes CSV or JSON to standard output. Progress (training epochs,
rows scored) shows on a terminal only; --quiet hides it.
"""


@click.group(cls=SeqaeGroup, help=HELP, epilog="\b\n" + EXIT_CODES, context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="seqae")
@global_options
def cli() -> None:
    pass


for command in (detect, train, evaluate, export, info, plot, generate, fleet):
    cli.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    cli()
