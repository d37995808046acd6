"""The ``seqae`` command line, end to end through click's CliRunner.

One tiny model is trained once per module (``seqae train``) and reused; the data is a small
synthetic file written by ``seqae generate``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from seqae.cli.main import cli
from seqae.datasets import read_sensors

from seqae import Detector, __version__, metrics
from seqae.errors import DataError

ROWS = 3000
TINY = ("--frame", "16", "--epochs", "1")  # for commands that train a conv1d on the spot
COMMANDS = ("detect", "train", "evaluate", "export", "info", "plot", "generate")


def run(*args, code: int = 0):
    """Invoke ``seqae ARGS`` and check its exit code; return the click Result."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, (
        f"exit {result.exit_code}, expected {code}\nstdout: {result.stdout}\n"
        f"stderr: {result.stderr}\n{result.exception!r}"
    )
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def sensors(work) -> Path:
    path = work / "data" / "sensors.csv"  # the folder does not exist yet: generate makes it
    run("generate", path, "--rows", ROWS, "--channels", 3, "--seed", 1)
    return path


@pytest.fixture(scope="module")
def model(work, sensors) -> Path:
    path = work / "model"
    result = run(
        "train", sensors, "--output", path, "--model", "dense", "--frame", 16, "--epochs", 2,
        "--train-rows", 1500, "--threshold", "quantile", "--contamination", 0.02,
    )  # fmt: skip
    assert "saved" in result.stdout and str(path) in result.stdout
    return path


@pytest.fixture(scope="module")
def whole(model, sensors):
    """The in-memory result the command line must reproduce."""
    det = Detector.load(model)
    return det, det.detect(read_sensors(sensors, label_columns=["anomaly"]))


def read_events(path: Path) -> list[dict]:
    return json.loads(path.read_text())["events"]


# ------------------------------------------------------------------------------ help


def test_group_help_lists_commands_and_exit_codes():
    out = run("--help").stdout
    for command in COMMANDS:
        assert command in out
    assert "Exit codes" in out and "--fail-on-anomaly" in out and "--debug" in out
    assert run("-h").stdout == out
    assert __version__ in run("--version").stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command):
    out = run(command, "-h").stdout
    assert f"seqae {command}" in out and "Examples" in out
    assert run(command, "--help").stdout == out


# -------------------------------------------------------------------------- generate


def test_generate_writes_a_labelled_stream(sensors):
    df = pd.read_csv(sensors)
    assert list(df.columns) == ["timestamp", "sensor_0", "sensor_1", "sensor_2", "anomaly"]
    assert len(df) == ROWS
    assert 0 < df["anomaly"].sum() < ROWS / 5


def test_generate_is_seeded_and_takes_kinds(work, sensors):
    again = work / "again.csv"
    run("generate", again, "--rows", ROWS, "--channels", 3, "--seed", 1)
    assert again.read_bytes() == sensors.read_bytes()
    quiet = work / "quiet.csv"
    out = run("generate", quiet, "--rows", 500, "--channels", 2, "--anomalies", "none").stdout
    assert pd.read_csv(quiet)["anomaly"].sum() == 0 and "anomalies: 0" in out
    out = run("generate", quiet, "--rows", 2000, "--anomalies", "spike,stuck").stdout
    assert "spike" in out and "stuck" in out and "drift" not in out
    run("generate", quiet, "--anomalies", "wobble", code=2)


# ------------------------------------------------------------------------ train/info


def test_train_keeps_the_label_column_out_of_the_channels(model):
    config = json.loads((model / "config.json").read_text())
    assert config["channels"] == ["sensor_0", "sensor_1", "sensor_2"]
    assert config["frame"] == 16 and config["model"] == "dense"
    assert config["training_summary"]["n_timesteps"] == 1500


def test_label_column_none_makes_it_a_channel(work, sensors):
    path = work / "with-labels.safetensors"
    run("train", sensors, "--output", path, "--model", "pca", "--frame", 16,
        "--label-column", "none", "--train-rows", 1000)  # fmt: skip
    assert "4: sensor_0, sensor_1, sensor_2, anomaly" in run("info", path).stdout
    # scoring with that model keeps 'anomaly' a channel instead of taking it as labels
    out = run("detect", sensors, "--model", path).stdout
    assert "4 channels" in out and "vs labels" not in out


def test_info_shows_what_the_model_expects(model):
    out = run("info", model).stdout
    for expected in ("dense", "sensor_0, sensor_1, sensor_2", "frame:", "16", "threshold:",
                     "seqae " + __version__, "1,500 timesteps"):  # fmt: skip
        assert expected in out
    config = json.loads(run("info", model, "--json").stdout)
    assert config["channels"] == ["sensor_0", "sensor_1", "sensor_2"]


# ---------------------------------------------------------------------------- detect


def test_detect_writes_scores_events_and_a_summary(work, sensors, model, whole):
    det, expected = whole
    out_csv, out_events = work / "out" / "scores.csv", work / "out" / "events.json"
    out_csv.parent.mkdir()  # an output's folder must exist: seqae creates none
    result = run("detect", sensors, "--model", model, "--output", out_csv, "--events", out_events)
    df = pd.read_csv(out_csv)
    assert list(df.columns) == ["timestamp", "score", "label"]  # the input's time column name
    assert len(df) == ROWS and df["timestamp"].iloc[0] == "2024-01-01 00:00:00"
    events = read_events(out_events)
    assert events and len(events) == len(expected.events)
    labels = np.zeros(ROWS, dtype=int)
    for e in events:
        labels[e["start"] : e["end"]] = 1
        assert e["duration"] == e["end"] - e["start"]
        assert e["peak_score"] >= e["mean_score"] >= 1.0
        assert e["top_channels"][0]["channel"] in det.channels_
    np.testing.assert_array_equal(df["label"], labels)

    out = result.stdout
    assert f"{ROWS:,} rows" in out
    assert f"{int(labels.sum()):,} rows" in out and f"{len(events)} events" in out
    strongest = max(events, key=lambda e: e["peak_score"])
    assert f"{strongest['peak_score']:.2f}" in out
    assert "vs labels" in out  # the generated file has an 'anomaly' column
    assert result.stderr == ""


def test_chunked_detect_equals_in_memory_detect(work, sensors, model, whole):
    _, expected = whole
    scores = {}
    for chunk in (400, 100_000):  # several chunks, and the whole file in one
        out, events = work / f"chunk{chunk}.csv", work / f"chunk{chunk}.json"
        run("detect", sensors, "--model", model, "--chunk-size", chunk, "--channels",
            "--output", out, "--events", events)  # fmt: skip
        df = pd.read_csv(out)
        scores[chunk] = df["score"].to_numpy()
        np.testing.assert_allclose(df["score"], expected.scores, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(df["label"], expected.labels)
        np.testing.assert_allclose(
            df[[f"contribution_sensor_{i}" for i in range(3)]], expected.contributions,
            rtol=1e-6, atol=1e-7,
        )  # fmt: skip
        got = read_events(events)
        assert [(e["start"], e["end"], e["peak_index"]) for e in got] == [
            (e.start, e.end, e.peak_index) for e in expected.events
        ]
        np.testing.assert_allclose(
            [e["peak_score"] for e in got], [e.peak_score for e in expected.events], rtol=1e-9
        )
        assert [[c["channel"] for c in e["top_channels"]] for e in got] == [
            [c for c, _ in e.top_channels] for e in expected.events
        ]
    np.testing.assert_allclose(scores[400], scores[100_000], rtol=1e-6)


def test_output_formats_by_extension_and_option(work, sensors, model):
    csv = pd.read_csv(work / "chunk400.csv") if (work / "chunk400.csv").exists() else None
    run("detect", sensors, "--model", model, "--output", work / "f.json", "--reconstruction")
    records = json.loads((work / "f.json").read_text())
    assert len(records) == ROWS
    assert set(records[0]) == {"timestamp", "score", "label"} | {
        f"reconstruction_sensor_{i}" for i in range(3)
    }
    run("detect", sensors, "--model", model, "--output", work / "f.parquet", "--channels")
    parquet = pd.read_parquet(work / "f.parquet")
    assert len(parquet) == ROWS and "contribution_sensor_2" in parquet
    run("detect", sensors, "--model", model, "--output", work / "f.out", "--format", "json")
    assert json.loads((work / "f.out").read_text())[0]["score"] == pytest.approx(
        records[0]["score"]
    )
    if csv is not None:
        np.testing.assert_allclose(parquet["score"], csv["score"], rtol=1e-6)
        np.testing.assert_allclose([r["score"] for r in records], csv["score"], rtol=1e-6)


def test_reconstruction_columns_hold_the_models_reconstruction(work, sensors, model, whole):
    det, _ = whole
    expected = det.detect(read_sensors(sensors, label_columns=["anomaly"]), reconstruction=True)
    out = work / "recon.csv"
    run("detect", sensors, "--model", model, "--output", out, "--reconstruction",
        "--chunk-size", 700)  # fmt: skip
    recon = pd.read_csv(out)[[f"reconstruction_sensor_{i}" for i in range(3)]]
    np.testing.assert_allclose(recon, expected.reconstruction, rtol=1e-6, atol=1e-6)


def test_fail_on_anomaly_sets_the_exit_code(sensors, model, whole):
    assert whole[1].n_anomalies > 0
    run("detect", sensors, "--model", model, "--fail-on-anomaly", code=1)
    run("detect", sensors, "--model", model)  # without the flag anomalies are not a failure
    out = run("detect", sensors, "--model", model, "--fail-on-anomaly", "--threshold", 1e6)
    assert "0 rows" in out.stdout


def test_threshold_number_is_the_raw_alarm_line_as_in_the_library(work, sensors, model, whole):
    det, expected = whole
    out = work / "doubled.csv"
    line = 2 * det.threshold_  # a raw error, as Detector(threshold=...) and set_threshold take
    run("detect", sensors, "--model", model, "--threshold", repr(line), "--output", out)
    df = pd.read_csv(out)
    data = read_sensors(sensors, label_columns=["anomaly"])  # as `whole` reads it
    moved = Detector.load(model).set_threshold(line).detect(data)
    np.testing.assert_allclose(df["score"], moved.scores, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(df["label"], (expected.scores >= 2).astype(int))
    # where the drift-aware line has not moved a score, the doubled line halves it
    far = expected.scores < 0.5
    np.testing.assert_allclose(df["score"][far], expected.scores[far] / 2, rtol=1e-6, atol=1e-7)


def test_a_threshold_number_means_one_thing_in_train_detect_and_python(work, sensors):
    """A numeric threshold is a raw reconstruction error everywhere: ``Detector(threshold=)``,
    ``Detector.set_threshold``, ``seqae train --threshold`` and ``seqae detect --threshold``."""
    line = 0.37
    path = work / "fixed-line"
    # no ranking stream under the line: every score is then the raw error over the line
    out = run("train", sensors, "-o", path, "--model", "pca", "--frame", 16, "--threshold", line,
              "--rank-smoothing", 1)  # fmt: skip
    assert "0.37 (fixed at 0.37" in out.stdout
    saved = Detector.load(path)
    assert saved.threshold_ == line
    data = read_sensors(sensors, label_columns=["anomaly"])
    fitted = Detector(model="pca", frame=16, threshold=line, rank_smoothing=1, random_state=0)
    fitted.fit(data.values)
    assert fitted.threshold_ == line
    scores = fitted.score_samples(data.values)
    moved = Detector.load(path).set_threshold(2 * line)
    np.testing.assert_allclose(moved.score_samples(data.values), scores / 2, rtol=1e-5)
    doubled = work / "fixed-line.csv"
    run("detect", sensors, "--model", path, "--threshold", 2 * line, "--output", doubled)
    np.testing.assert_allclose(pd.read_csv(doubled)["score"], scores / 2, rtol=1e-5, atol=1e-7)


def test_train_offers_the_model_registry():
    from seqae.cli.options import ModelChoice

    from seqae.models import available_models

    assert list(ModelChoice().choices) == available_models()
    out = run("train", "--help").stdout
    assert all(name in out for name in available_models())


def test_every_library_default_option_names_a_detector_parameter():
    import inspect

    from seqae.cli.options import LibraryDefault, library_default

    parameters = inspect.signature(Detector).parameters
    for name, command in cli.commands.items():
        for param in getattr(command, "params", []):
            if isinstance(param, LibraryDefault):
                assert param.name in parameters, (name, param.name)
                assert library_default(param.name) == parameters[param.name].default


def test_event_rules_override(work, sensors, model, whole):
    _, expected = whole
    out = work / "rules.json"
    run("detect", sensors, "--model", model, "--min-event-length", 5, "--events", out)
    events = read_events(out)
    assert all(e["duration"] >= 5 for e in events)
    assert len(events) == sum(1 for e in expected.events if e.duration >= 5)


def test_detect_trains_on_the_file_itself(work, sensors):
    out = work / "self.csv"
    result = run("detect", sensors, *TINY, "--output", out)
    assert "trained here on the file itself" in result.stdout
    assert "conv1d" in result.stdout  # below: the library's line, no CLI policy
    assert "robust tail (risk 0.0001) of the training scores" in result.stdout
    assert "scores averaged over 8 rows; drift-aware over 512 rows" in result.stdout
    df = pd.read_csv(out)
    assert len(df) == ROWS and np.isfinite(df["score"]).all()
    # no fixed share of the file is flagged: the line adapts to what the scores do
    assert df["label"].mean() < 0.05


def test_detect_trains_on_the_first_rows_or_another_file(work, sensors):
    result = run("detect", sensors, *TINY, "--train-rows", 1000)
    assert "first 1,000 rows" in result.stdout and "robust tail" in result.stdout
    other = work / "other.csv"
    run("generate", other, "--rows", 1200, "--channels", 3, "--seed", 2, "--anomalies", "none")
    result = run("detect", sensors, *TINY, "--train", other, "--seed", 3)
    assert f"trained here on {other}" in result.stdout


# -------------------------------------------------------------------------- evaluate


def test_evaluate_prints_metrics_that_match_the_detect_output(work, sensors, model, whole):
    _, expected = whole
    truth = pd.read_csv(sensors)["anomaly"].to_numpy()
    table = run("evaluate", sensors, "--model", model).stdout
    for name in ("precision", "recall", "F1", "FAR (%)", "MAR (%)", "AUC-PR", "VUS-PR",
                 "event F1"):  # fmt: skip
        assert name in table
    result = json.loads(run("evaluate", sensors, "--model", model, "--json").stdout)
    p, r, f1 = metrics.precision_recall_f1(truth, expected.labels)
    assert (result["precision"], result["recall"], result["f1"]) == pytest.approx((p, r, f1))
    assert result["auc_pr"] == pytest.approx(metrics.auc_pr(truth, expected.scores), rel=1e-6)
    assert result["event_f1"] == pytest.approx(metrics.event_f1(truth, expected.labels).f1)
    assert result["far"] == pytest.approx(metrics.far(truth, expected.labels))
    assert f"{result['auc_pr']:.4f}" in table


def test_evaluate_needs_a_label_column(work, sensors, model):
    unlabelled = work / "unlabelled.csv"
    pd.read_csv(sensors).drop(columns="anomaly").to_csv(unlabelled, index=False)
    result = run("evaluate", unlabelled, "--model", model, code=2)
    assert "--label-column" in result.stderr


def test_evaluate_without_a_model_finds_labels_in_its_one_read(work, sensors, monkeypatch):
    from seqae.datasets import sensors as reader

    peeks = []
    monkeypatch.setattr(reader, "find_label_columns", lambda *a, **k: peeks.append(a) or [])
    result = json.loads(run("evaluate", sensors, *TINY, "--json").stdout)
    assert peeks == [] and 0 <= result["f1"] <= 1  # labels found in the read it trains on

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the label check")

    unlabelled = work / "unlabelled-itself.csv"
    pd.read_csv(sensors).drop(columns="anomaly").to_csv(unlabelled, index=False)
    monkeypatch.setattr(Detector, "fit", no_training)
    monkeypatch.setattr(Detector, "fit_detect", no_training)
    assert "--label-column" in run("evaluate", unlabelled, *TINY, code=2).stderr


# ---------------------------------------------------------------------- export / onnx


def test_export_info_and_detect_with_onnx(work, sensors, model, whole):
    _, expected = whole
    onnx = work / "exported" / "model.onnx"
    onnx.parent.mkdir()
    assert "wrote" in run("export", model, "--output", onnx).stdout
    assert onnx.is_file()
    out = run("info", onnx).stdout
    assert "ONNX" in out and "sensor_0, sensor_1, sensor_2" in out
    assert json.loads(run("info", onnx, "--json").stdout)["frame"] == 16
    scores = work / "onnx-scores.csv"
    run("detect", sensors, "--model", onnx, "--output", scores)
    np.testing.assert_allclose(pd.read_csv(scores)["score"], expected.scores, rtol=1e-4, atol=1e-5)
    run("export", model, "--output", work / "model.txt", code=2)


# ------------------------------------------------------------------------------ plot


def test_plot_writes_an_image(work, sensors, model):
    pytest.importorskip("matplotlib")
    png = work / "plot.png"
    result = run("plot", sensors, "--model", model, "--output", png)
    assert str(png) in result.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


# ---------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def bad_files(work, sensors) -> dict[str, Path]:
    folder = work / "bad"
    folder.mkdir()
    files = {"binary": folder / "binary.csv", "short": folder / "short.csv"}
    files["binary"].write_bytes(b"\x00\x01\x02garbage\x00" * 50)
    df = pd.read_csv(sensors)
    df.iloc[:5].to_csv(files["short"], index=False)
    files["renamed"] = folder / "renamed.csv"
    df.rename(columns={"sensor_2": "pressure"}).to_csv(files["renamed"], index=False)
    files["text"] = folder / "text.csv"
    df.assign(status=["ok"] * len(df)).to_csv(files["text"], index=False)
    files["nan"] = folder / "nan.csv"
    nan = df.copy()
    nan.loc[2500, "sensor_1"] = np.nan  # far into the file: found after output began
    nan.to_csv(files["nan"], index=False)
    return files


ERRORS = {  # name: (arguments, exit code, words the message must hold)
    "missing file": (["detect", "{work}/nope.csv", "--model", "{model}"], 2, "does not exist"),
    "unreadable csv": (["detect", "{binary}", "--model", "{model}"], 3, "binary"),
    "unknown column": (["detect", "{sensors}", "--model", "{model}", "--columns", "a,b"], 3,
                       "not found"),
    "non-numeric channel": (
        ["detect", "{text}", "--model", "{model}", "--columns", "sensor_0,status"], 3,
        "not numeric",
    ),
    "too few rows": (["detect", "{short}", "--model", "{model}"], 3, "fewer than one frame"),
    "channel mismatch": (["detect", "{renamed}", "--model", "{model}"], 3, "sensor_2"),
    "nan in data": (["detect", "{nan}", "--model", "{model}"], 3, "sensor_1"),
    "bad option value": (["detect", "{sensors}", "--frame", "0"], 2, "--frame"),
    "bad threshold": (["detect", "{sensors}", "--threshold", "high"], 2, "--threshold"),
    "bad format": (["detect", "{sensors}", "--format", "xml"], 2, "--format"),
    "training option with a model": (
        ["detect", "{sensors}", "--model", "{model}", "--epochs", "3"], 2, "--epochs",
    ),
    "library parameter error": (
        ["train", "{sensors}", "--output", "{work}/m12", "--frame", "12"], 2, "multiple of 8",
    ),
    "corrupted model": (["detect", "{sensors}", "--model", "{corrupt}"], 3, "checksum"),
    "not a model": (["info", "{sensors}"], 3, "not a seqae model"),
}  # fmt: skip


@pytest.fixture(scope="module")
def corrupt(work, model) -> Path:
    path = work / "corrupt"
    shutil.copytree(model, path)
    weights = path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-8:] = b"\x7f" * 8  # damage the last weight values
    weights.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_one_clear_line(name, work, sensors, model, bad_files, corrupt):
    template, code, words = ERRORS[name]
    places = {"work": work, "sensors": sensors, "model": model, "corrupt": corrupt, **bad_files}
    result = run(*[arg.format(**places) for arg in template], code=code)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and words in errors[0], result.stderr
    if code == 3:  # seqae's own errors: exactly one line
        assert result.stderr.count("\n") == 1


def test_debug_shows_the_traceback(sensors, model):
    result = CliRunner().invoke(cli, ["--debug", "detect", str(sensors), "--model", str(model),
                                      "--columns", "a"])  # fmt: skip
    assert isinstance(result.exception, DataError)
    assert result.exit_code != 0


def test_a_failed_run_leaves_no_output(work, model, bad_files):
    out = work / "failed"
    out.mkdir()
    # the NaN sits in the 6th chunk: parts of the output were written before it was found
    run("detect", bad_files["nan"], "--model", model, "--chunk-size", 500,
        "--output", out / "scores.csv", "--events", out / "events.json", code=3)  # fmt: skip
    run("detect", bad_files["renamed"], "--model", model, "--output", out / "scores.csv", code=3)
    assert list(out.iterdir()) == []


def test_a_successful_run_replaces_the_output(work, sensors, model):
    out = work / "replace.csv"
    out.write_text("old\n")
    run("detect", sensors, "--model", model, "--output", out)
    assert out.read_text().startswith("timestamp,score,label")
    assert [p.name for p in work.glob(".replace.csv*")] == []


def test_progress_goes_to_stderr_on_a_terminal_only(monkeypatch, work, sensors):
    from seqae.cli import terminal as progress

    quiet = run("detect", sensors, *TINY, "--train-rows", 800)
    assert quiet.stderr == ""  # not a terminal: clean output for CI logs
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    shown = run("detect", sensors, *TINY, "--train-rows", 800)
    assert "epoch   1/1 [" in shown.stderr and "train " in shown.stderr
    assert "scoring:" in shown.stderr
    assert shown.stdout.splitlines()[0].startswith("data:")  # the summary stays on stdout


def test_detect_refuses_to_overwrite_its_data(work, sensors, model):
    copy = work / "precious.csv"
    shutil.copy(sensors, copy)
    result = run("detect", copy, "--model", model, "--output", copy, code=2)
    assert "DATA itself" in result.stderr
    assert copy.read_bytes() == sensors.read_bytes()


# ------------------------------------------------------------------ channel weights


def test_train_takes_channel_weights_by_name_and_info_shows_them(work, sensors):
    path = work / "weighted"
    run(
        "train", sensors, "--output", path, "--model", "dense", "--frame", 16, "--epochs", 1,
        "--train-rows", 800, "--channel-weight", "sensor_2=0.5", "--channel-weight", "sensor_0=2",
        "--no-channel-norm",
    )  # fmt: skip
    det = Detector.load(path)
    w = np.array([2.0, 1.0, 0.5])
    np.testing.assert_allclose(det.channel_weights_, w / w.mean())
    out = run("info", path).stdout
    assert "channel weights" in out and "sensor_2 0.429" in out


@pytest.mark.parametrize("bad", ["sensor_0", "=1", "sensor_0=-1", "sensor_0=x", "sensor_0=inf"])
def test_a_malformed_channel_weight_is_a_usage_error(work, sensors, bad):
    result = run(
        "train", sensors, "--output", work / "cw-bad", *TINY, "--channel-weight", bad, code=2
    )
    assert "--channel-weight" in result.stderr
    assert not (work / "cw-bad").exists()


def test_a_channel_weight_for_an_unknown_channel_is_a_usage_error(work, sensors):
    result = run(
        "train", sensors, "--output", work / "bad2", *TINY, "--channel-weight", "nope=1", code=2
    )
    assert "nope" in result.stderr and "sensor_0" in result.stderr
    assert not (work / "bad2").exists()


# ------------------------------------------------------------------ outputs and errors (#23 §6)
def test_an_output_in_a_missing_folder_is_refused_and_no_folder_is_made(tmp_path, sensors, model):
    missing = tmp_path / "nonexistent" / "dir"
    result = run("detect", sensors, "--model", model, "-o", missing / "scores.csv", code=2)
    assert f"no folder {missing}" in result.stderr
    assert not (tmp_path / "nonexistent").exists()


def test_an_unknown_output_extension_is_refused(tmp_path, sensors, model):
    result = run("detect", sensors, "--model", model, "-o", tmp_path / "scores.xlsx", code=2)
    assert ".xlsx" in result.stderr and not (tmp_path / "scores.xlsx").exists()
    for suffix, read in ((".json", pd.read_json), (".parquet", pd.read_parquet)):
        out = tmp_path / f"scores{suffix}"
        run("detect", sensors, "--model", model, "-o", out)
        assert list(read(out).columns)[:3] == ["timestamp", "score", "label"]


def test_the_output_keeps_the_inputs_time_column_name(tmp_path, sensors, model):
    data = tmp_path / "when.csv"
    pd.read_csv(sensors).rename(columns={"timestamp": "when"}).to_csv(data, index=False)
    run("detect", data, "--model", model, "-o", tmp_path / "out.csv")
    assert pd.read_csv(tmp_path / "out.csv").columns[0] == "when"


def test_stream_names_are_written_directly_even_when_stdout_is_a_deleted_file(
    tmp_path, sensors, model
):
    """A job runner captures stdout in a file it has already deleted: /dev/stdout then links
    to '... (deleted)'. The scores must go through the descriptor, no file may appear."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "run"
    folder.mkdir()
    capture = folder / "captured"
    code = (
        "import sys; from seqae.cli.main import cli; "
        "sys.exit(cli.main(sys.argv[1:], standalone_mode=False) or 0)"
    )
    for name in ("/dev/stdout", "/proc/self/fd/1"):
        with open(capture, "w+") as out:
            os.unlink(capture)
            args = ["detect", str(sensors), "--model", str(model), "-o", name]
            done = subprocess.run(
                [sys.executable, "-c", code, *args], stdout=out, stderr=subprocess.PIPE,
                cwd=folder, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            out.seek(0)
            text = out.read()
        assert text.startswith("timestamp,score,label\n") and len(text.splitlines()) == ROWS + 1
        assert list(folder.iterdir()) == []  # nothing renamed onto the resolved link
    err = tmp_path / "err.txt"
    with open(err, "w") as out:
        args = ["detect", str(sensors), "--model", str(model), "-o", "/dev/stderr"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        subprocess.run(
            [sys.executable, "-c", code, *args], stderr=out, check=True, cwd=folder, env=env
        )
    assert err.read_text().startswith("timestamp,score,label\n")


def test_a_config_that_disagrees_with_its_weights_is_one_line(tmp_path, sensors, model):
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    config = json.loads((broken / "config.json").read_text())
    config["model_spec"]["config"]["hidden"] = [7, 3]
    (broken / "config.json").write_text(json.dumps(config))
    result = run("detect", sensors, "--model", broken, code=3)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "config.json does not match the weights" in lines[0]
    assert "encoder" in lines[0] and "(7, " in lines[0] and "hidden" in lines[0]


def test_an_all_nan_column_gets_advice_that_works_the_first_time(tmp_path, model):
    data = tmp_path / "nan.csv"
    rows = ["timestamp,sensor_0,sensor_1,sensor_2,spare"]
    rows += [
        f"2024-01-01 00:{i // 60:02d}:{i % 60:02d},{i % 7},{i % 5},{i % 3}," for i in range(400)
    ]
    data.write_text("\n".join(rows) + "\n")
    first = run("detect", data, "--model", model, code=3)
    assert "--columns sensor_0,sensor_1,sensor_2" in first.stderr
    run("detect", data, "--model", model, "--columns", "sensor_0,sensor_1,sensor_2")


def test_train_takes_the_channel_combination_and_the_stuck_check(work, sensors):
    plain = work / "plain-sum"
    run(
        "train", sensors, "--output", plain, *TINY, "--train-rows", 800,
        "--combine-power", 1, "--stuck-window", 0,
    )  # fmt: skip
    det = Detector.load(plain)
    assert (det.combine_power, det.stuck_window, det.stuck_floor_) == (1.0, None, None)
    tail = work / "tail-stuck"
    run("train", sensors, "--output", tail, *TINY, "--train-rows", 800, "--stuck-window", 32)
    det = Detector.load(tail)
    assert det.combine_power == 4.0 and det.stuck_window == 32 and len(det.stuck_floor_) == 3
    for flag, value in (("--combine-power", "0.5"), ("--stuck-window", "1")):
        result = run("train", sensors, "--output", work / "bad", *TINY, flag, value, code=2)
        assert flag.lstrip("-").split("-")[0] in result.stderr
