"""``seqae train``: fit a detector on normal data and save it.

>>> from click.testing import CliRunner
>>> "--batch-size" in CliRunner().invoke(train, ["--help"]).output
True
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from seqae.files.tables import check_output, regular_file
from seqae.policy import fit_with_progress, training_detector, training_summary
from seqae.scale.filescoring import ReadOptions, describe_images, read_training_data

from .app import command, flag_words
from .options import STDIO, data_options, detector_options, training_options
from .terminal import EpochProgress, report, status, warn

TRAIN_HELP = """Train a detector on (mostly) normal data and save it.

--output is a folder (config.json + weights.safetensors) or one .safetensors file. The model
keeps everything needed to score: channels, scaler, frame, step, threshold, training summary.
Training stops early when the validation loss (the end of the data) stops improving.

\b
Examples:
  seqae train normal.csv --output model/
  seqae train normal.csv --output model/ --model lstm --frame 32 --epochs 30
  seqae train sensors.csv --train-rows 5000 --output model.safetensors --device cuda
  seqae detect new.csv --model model/
  cat normal.csv | seqae train - --output model/

Every default below is the library's (`Detector()`'s), so the command line and Python train
the same detector; only --seed differs (0, so that a command line repeats itself).

Data-parallel training over several processes or GPUs: start the same command under torchrun
with --distributed (rank 0 saves the model):

\b
  torchrun --standalone --nproc_per_node 2 -m seqae.cli.main train normal.csv \\
      --output model/ --distributed --device cpu

Images (.npy/.npz arrays (N, H, W) or (N, C, H, W), or a folder of PNG files) train an image
model the same way; scores are then per image:

\b
  seqae train digits.npz --model conv2d --output digits-model/
  seqae train digits.npz --model vae --anomaly-score elbo --output vae-model/
  seqae detect new-digits.npz --model digits-model/
"""


@command("train", help=TRAIN_HELP)
@click.argument("data", type=click.Path(exists=True, allow_dash=True, path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to save the model: a folder, or a file ending in .safetensors, in a folder "
    "that exists.",
)
@detector_options
@training_options
@click.option(
    "--train-rows", type=click.IntRange(min=1), metavar="N", help="Train on the first N rows only."
)
@click.option(
    "--distributed",
    is_flag=True,
    help="Train data-parallel with torch DDP across the processes torchrun starts "
    "(see the torchrun example above).",
)
@data_options
@click.pass_context
def train(ctx: click.Context, data: Path, **params: Any) -> None:
    if not params["distributed"]:
        return _train(ctx, data, params)
    from seqae.training.trainer import close_distributed, init_distributed

    rank, _, device = init_distributed("gloo" if params["device"] == "cpu" else None)
    try:
        _train(ctx, data, {**params, "device": device}, rank=rank)
    finally:
        close_distributed()


def _train(ctx: click.Context, data: Path, params: dict[str, Any], rank: int = 0) -> None:
    start = time.perf_counter()
    output = params["output"]
    if str(output) == STDIO:
        raise click.BadParameter(
            "a model is a folder or a .safetensors file, not a stream: give a path",
            param_hint="--output",
        )
    check_output(output, "--output", folder=output.suffix != ".safetensors")
    opts = ReadOptions.from_options(params)
    data = ctx.with_resource(regular_file(data, opts.names))
    train_data, summary, warning = read_training_data(data, opts, params["train_rows"])
    if warning:
        warn(flag_words(warning))
    images = summary is None
    detector = training_detector(params, distributed=params["distributed"])
    # The library reports through callbacks the CLI passes it: it never imports cli code.
    with EpochProgress() as progress:
        took = fit_with_progress(detector, train_data, callback=progress, status=status)
    if rank != 0:  # every process holds the same model: rank 0 saves it and reports
        return
    detector.save(output)
    size = describe_images(train_data.images) if images else f"{len(train_data.values):,} rows"
    items = [("data", f"{opts.name(data)} ({size})")]
    items += [] if images else [("input", flag_words(summary))]
    items += [*training_summary(detector, took), ("saved", str(output))]
    report(items, start)
    click.echo(f"\nNext: seqae detect {'IMAGES.npz' if images else 'DATA.csv'} --model {output}")
