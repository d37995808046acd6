"""``seqae train``: fit a detector on normal data and save it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from seqae.scoring.thresholds import describe_detector_line

from .app import command
from .inputs import (
    DataOptions,
    describe_images,
    fit_detector,
    input_summary,
    is_image_data,
    network_name,
    read_image_data,
    training_detector,
)
from .options import (
    STDIO,
    THRESHOLD,
    THRESHOLD_HELP,
    LibraryDefault,
    ModelChoice,
    contamination_option,
    data_options,
    device_option,
    epochs_option,
    frame_option,
    merge_gap_option,
    min_event_length_option,
    patience_option,
    seed_option,
    threads_option,
)
from .output import pairs, prepare_output, prepare_parent, seconds, warn

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
the same detector.

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
    help="Where to save the model: a folder, or a file ending in .safetensors.",
)
@click.option(
    "--model",
    cls=LibraryDefault,
    type=ModelChoice(),
    help="Autoencoder family, from the model registry (conv2d, conv2d_vae: images only).",
)
@frame_option
@click.option(
    "--step",
    cls=LibraryDefault,
    type=click.IntRange(min=1),
    help="Timesteps between frame starts (training and windowed scoring).",
)
@epochs_option
@click.option("--batch-size", cls=LibraryDefault, type=click.IntRange(min=1))
@click.option("--learning-rate", cls=LibraryDefault, type=click.FloatRange(min=0, min_open=True))
@click.option(
    "--validation-split",
    cls=LibraryDefault,
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of the data's end held out to validate.",
)
@patience_option
@click.option(
    "--networks",
    "n_networks",
    cls=LibraryDefault,
    type=click.IntRange(min=1),
    metavar="N",
    help="Train N networks from N seeds and average their errors (each over its normal "
    "level): steadier scores, N times the time.",
)
@click.option(
    "--steps-per-epoch",
    cls=LibraryDefault,
    type=click.IntRange(min=0),
    help="The training budget: at most this many batches per epoch, each epoch a fresh "
    "random sample of frames (0: every frame, every epoch).",
)
@click.option("--threshold", cls=LibraryDefault, type=THRESHOLD, help=THRESHOLD_HELP)
@contamination_option
@click.option(
    "--scoring",
    cls=LibraryDefault,
    type=click.Choice(["windowed", "convolutional", "auto"]),
    help="Score frame by frame, in one fully convolutional pass (conv1d; much faster), or "
    "auto: convolutional where the model allows it.",
)
@click.option(
    "--anomaly-score",
    "--score",
    "anomaly_score",
    cls=LibraryDefault,
    type=click.Choice(["reconstruction", "elbo"]),
    help="What a score measures: the reconstruction error, or the negative ELBO "
    "(reconstruction + beta-weighted KL; variational models vae and conv2d_vae only).",
)
@click.option(
    "--channel-norm/--no-channel-norm",
    cls=LibraryDefault,
    default=None,
    help="Divide each channel's error by its mean on held-out normal rows, so every channel's "
    "normal error counts the same.",
)
@click.option(
    "--score-smoothing",
    cls=LibraryDefault,
    type=click.IntRange(min=1),
    metavar="N",
    help="Score each timestep by the mean of the last N raw scores (1: no smoothing): noise "
    "of single rows stops crossing the line, short spikes are diluted.",
)
@click.option(
    "--channel-weight",
    "channel_weight",
    multiple=True,
    metavar="NAME=W",
    callback=lambda ctx, param, value: parse_channel_weights(value),
    help="Weight of a channel's error in the score (default 1; repeat for more channels), "
    "e.g. --channel-weight Thermocouple=0.1 to count a drifting sensor for less.",
)
@min_event_length_option
@merge_gap_option
@click.option(
    "--train-rows", type=click.IntRange(min=1), metavar="N", help="Train on the first N rows only."
)
@device_option("Where to train [default: cuda > mps > cpu].")
@threads_option
@seed_option
@click.option(
    "--distributed",
    is_flag=True,
    help="Train data-parallel with torch DDP across the processes torchrun starts "
    "(see the example above).",
)
@data_options
@click.pass_context
def train(ctx: click.Context, data: Path, **params: Any) -> None:
    if not params["distributed"]:
        return _train(ctx, data, params)
    from seqae.training.trainer import close_distributed, init_distributed

    backend = "gloo" if params["device"] == "cpu" else None
    rank, _, device = init_distributed(backend)
    try:
        _train(ctx, data, {**params, "device": device}, rank=rank)
    finally:
        close_distributed()


def _train(ctx: click.Context, data: Path, params: dict[str, Any], rank: int = 0) -> None:
    start = time.perf_counter()
    opts = DataOptions.from_params(params)
    if str(params["output"]) == STDIO:
        raise click.BadParameter(
            "a model is a folder or a .safetensors file, not a stream: give a path",
            param_hint="--output",
        )
    output = prepare_output_folder(params["output"])
    shown = "<stdin>" if str(data) == STDIO else str(data)
    images = is_image_data(data)
    if images:
        train_data = read_image_data(data, params["train_rows"])
    else:
        train_data = opts.read(opts.local(ctx, data), nrows=params["train_rows"])
        summary, warning = input_summary([train_data.report], opts.nan_policy)
        if warning:
            warn(warning)
    detector = training_detector(
        model=params["model"],
        frame=params["frame"],
        step=params["step"],
        epochs=params["epochs"],
        threshold=params["threshold"],
        seed=params["seed"],
        device=params["device"],
        batch_size=params["batch_size"],
        learning_rate=params["learning_rate"],
        validation_split=params["validation_split"],
        patience=params["patience"],
        n_networks=params["n_networks"],
        contamination=params["contamination"],
        scoring=params["scoring"],
        anomaly_score=params["anomaly_score"],
        channel_weights=params["channel_weight"],
        channel_norm=params["channel_norm"],
        score_smoothing=params["score_smoothing"],
        min_event_length=params["min_event_length"],
        merge_gap=params["merge_gap"],
        steps_per_epoch=params["steps_per_epoch"],
        distributed=params["distributed"],
    )
    took = fit_detector(detector, train_data)
    if rank != 0:  # every process holds the same model: rank 0 saves it and reports
        return
    detector.save(output)
    history = detector.history_
    last = history["epochs"][-1] if history["epochs"] else {}
    stopped = ", stopped early" if history["stopped_early"] else ""
    n_params = sum(p.numel() for p in detector.model_.parameters())
    rows = describe_images(train_data) if images else f"{len(train_data.values):,} rows"
    shape = "" if images else f"frame {detector.frame}, step {detector.step}, "
    losses = f"train {last.get('train_loss', float('nan')):.4g}"
    if last.get("val_loss") is not None:
        losses += f", validation {last['val_loss']:.4g}"
    line = describe_detector_line(detector)
    first = f" (network 1 of {detector.n_networks})" if detector.n_networks > 1 else ""
    click.echo(
        pairs(
            [
                ("data", f"{shown} ({rows})"),
                *([] if images else [("input", summary)]),
                ("channels", ", ".join(detector.channels_)),
                ("model", f"{network_name(detector)}, {shape}{n_params:,} parameters"),
                (
                    "epochs",
                    f"{len(history['epochs'])} of {detector.epochs}{stopped}; best epoch "
                    f"{history['best_epoch']} on {history['device']}{first}",
                ),
                ("last loss", losses),
                ("threshold", f"{detector.threshold_:.6g} ({line})"),
                ("trained in", seconds(took)),
                ("saved", str(output)),
                ("time", seconds(time.perf_counter() - start)),
            ]
        )
    )
    click.echo(f"\nNext: seqae detect {'IMAGES.npz' if images else 'DATA.csv'} --model {output}")


def parse_channel_weights(values: tuple[str, ...]) -> dict[str, float] | None:
    """``("temp=0.5", ...)`` as ``{"temp": 0.5}``; None when none is given.

    Examples
    --------
    >>> parse_channel_weights(("temp=0.5", "flow=2"))
    {'temp': 0.5, 'flow': 2.0}
    >>> parse_channel_weights(()) is None
    True
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


def prepare_output_folder(path: Path) -> Path:
    """Create the parent folder of a model path (the save itself is atomic)."""
    if path.suffix == ".safetensors":
        return prepare_output(path)
    return prepare_parent(path)
