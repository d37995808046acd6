"""A corpus of bad inputs and faults, each with the exit code and the message it must give.

Every case runs the real ``seqae`` command (click's CliRunner, or a subprocess where signals,
pipes and concurrency need one) on tiny data: 300 rows of 2 channels and a dense model with a
frame of 16, trained once for the module. A case names what it writes, what it runs, the exit
code it expects and a fragment of the message (stdout and stderr together). What worked before
(BOM, CRLF, quoted numbers, tabs, garbage cells, empty files, tampered ONNX, pickles passed off
as weights, SIGINT, concurrent writers) is here too, so it keeps working.
"""

from __future__ import annotations

import gzip
import inspect
import json
import math
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from seqae.cli.main import cli

from seqae import Detector
from seqae.errors import ModelFormatError, NotFittedError

ROWS = 300
SEQAE = [sys.executable, "-c", "from seqae.cli.main import cli; cli()"]
REPO = Path(__file__).resolve().parent.parent


def csv_text(rows: int = ROWS, *, stamps: list[str] | None = None, sep: str = ",") -> str:
    """A clean sensor file: a time column and channels a, b."""
    stamps = stamps or [f"2024-01-01 00:{i // 60:02d}:{i % 60:02d}" for i in range(rows)]
    lines = [sep.join(("time", "a", "b"))]
    for i, stamp in enumerate(stamps[:rows]):
        lines.append(sep.join((stamp, f"{math.sin(i / 5):.4f}", f"{math.cos(i / 3):.4f}")))
    return "\n".join(lines) + "\n"


def edit_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines()
    lines[line] = new
    return "\n".join(lines) + "\n"


GOOD = csv_text()


def with_column(name: str, value: str) -> str:
    """GOOD with one more column, ``value`` in every row."""
    lines = GOOD.splitlines()
    return "\n".join([f"{lines[0]},{name}"] + [f"{line},{value}" for line in lines[1:]]) + "\n"


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="module")
def good(work) -> Path:
    path = work / "good.csv"
    path.write_text(GOOD)
    return path


@pytest.fixture(scope="module")
def model(work, good) -> Path:
    path = work / "model"
    data = pd.read_csv(good).set_index("time")
    Detector("dense", frame=16, epochs=1, random_state=0).fit(data).save(path)
    return path


@pytest.fixture(scope="module")
def onnx_model(work, model) -> Path:
    return Path(Detector.load(model).export_onnx(work / "model.onnx"))


def run(args: list[str], stdin: str | bytes | None = None) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], input=stdin)


def check(result: Any, code: int, fragment: str) -> None:
    output = result.stdout + result.stderr
    assert result.exit_code == code, (
        f"exit {result.exit_code}, expected {code}\n{output}\n{result.exception!r}"
    )
    assert fragment in output, output
    assert "Traceback" not in output
    # the command line names its flags, not the library's Python arguments
    assert "nan_policy=" not in output and "columns=[" not in output


# --------------------------------------------------------------------------- the corpus
@dataclass
class Case:
    """Write ``files`` (name -> text or bytes) into a fresh folder, run ``args`` there."""

    args: list[str]
    code: int
    fragment: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    stdin: str | None = None


def data_case(text: str | bytes, code: int, fragment: str, *extra: str) -> Case:
    """``seqae detect data.csv --model MODEL`` on a file holding ``text``."""
    return Case(["detect", "data.csv", "--model", "{model}", *extra], code, fragment,
                {"data.csv": text})  # fmt: skip


def _zip_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("sheet.xml", "<x/>")
    return buffer.getvalue()


NAN_ROW = edit_line(GOOD, 11, "2024-01-01 00:00:10,,0.5")
UNSORTED = edit_line(edit_line(GOOD, 5, GOOD.splitlines()[6]), 6, GOOD.splitlines()[5])
DUPLICATE = edit_line(GOOD, 21, GOOD.splitlines()[20].split(",")[0] + ",0.1,0.2")
STAMPS_EPOCH = [str(1704067200 + i) for i in range(ROWS)]

CORPUS: dict[str, Case] = {
    # CSV dialects that must keep working
    "bom and crlf": data_case(("\ufeff" + GOOD).replace("\n", "\r\n"), 0, "300 rows read"),
    "semicolons": data_case(csv_text(sep=";"), 0, "300 rows read"),
    "tabs": data_case(csv_text(sep="\t"), 0, "300 rows read"),
    "quoted numbers": data_case(
        "\n".join(
            line if i == 0 else ",".join(f'"{c}"' for c in line.split(","))
            for i, line in enumerate(GOOD.splitlines())
        ) + "\n", 0, "300 rows read",
    ),
    "gzip content": data_case(gzip.compress(GOOD.encode()), 0, "300 rows read"),
    "latin-1 header": data_case(GOOD.replace("time,a,b", "time,a,b\xb0").encode("latin-1"), 3,
                                "the data has ['a', 'b\xb0']"),
    "blank lines": data_case(edit_line(GOOD, 50, GOOD.splitlines()[50] + "\n\n"), 0,
                             "2 blank lines skipped"),
    "text column left out": data_case(with_column("note", "ok"), 0,
                                      "text columns left out: note"),
    # bad cells
    "garbage cell": data_case(edit_line(GOOD, 7, "2024-01-01 00:00:06,abc,0.1"), 3,
                              "column 'a' is not numeric: row 7 (line 8) has 'abc'"),
    "decimal comma": data_case(edit_line(csv_text(sep=";"), 3, "2024-01-01 00:00:02;0,5;0,1"), 3,
                               "decimal comma"),
    "thousands separator": data_case(edit_line(GOOD, 4, '2024-01-01 00:00:03,"1,308.71",0.1'), 3,
                                     "thousands separator? write 1308.71"),
    "missing value": data_case(NAN_ROW, 3, "use --nan-policy interpolate, ffill or drop"),
    "infinite value": data_case(edit_line(GOOD, 9, "2024-01-01 00:00:08,inf,0.1"), 3, "infinite"),
    "beyond float32": data_case(edit_line(GOOD, 9, "2024-01-01 00:00:08,1e39,0.1"), 3, "float32"),
    "empty file": data_case("", 3, "the file is empty"),
    "whitespace only": data_case("\n \n", 3, "the file is empty"),
    "header only": data_case("time,a,b\n", 3, "has a header ('time', 'a', 'b') but no data rows"),
    "binary": data_case(b"\x00\x01\x02garbage" * 10, 3, "binary file"),
    "xlsx": data_case(_zip_bytes(), 3, "zip archive"),
    "one text column": data_case("hello\nworld\n", 3, "single column 'hello'"),
    "ragged row": data_case(edit_line(GOOD, 30, "2024-01-01 00:00:29,0.1,0.2,0.3,0.4"), 3,
                            "cannot parse as CSV"),
    "headerless numbers": data_case("\n".join(GOOD.splitlines()[1:]).replace("2024-01-01 ", "")
                                    .replace(":", ""), 3, "not column names"),
    "headerless with a time column": data_case("\n".join(GOOD.splitlines()[1:]) + "\n", 3,
                                               "the first line holds data (2024-01-01 00:00:00"),
    # time formats
    "bad time": data_case(edit_line(GOOD, 12, "yesterday,0.1,0.2"), 3,
                          "'yesterday', which is not a date/time"),
    "empty time": data_case(edit_line(GOOD, 12, ",0.1,0.2"), 3, "--nan-policy drop"),
    "unsorted": data_case(UNSORTED, 0, "sorted by time (1 rows out of order)"),
    "repeated stamp": data_case(DUPLICATE, 0, "1 repeated time stamps"),
    "epoch seconds": data_case(csv_text(stamps=STAMPS_EPOCH), 0, "\n1704067200,", "-o", "-"),
    "time back across chunks": data_case(
        csv_text(stamps=STAMPS_EPOCH[:150] + STAMPS_EPOCH[:150]), 3,
        "time goes back across a chunk border", "--chunk-size", "100",
    ),
    "named time column": data_case(GOOD, 0, "time column 'time'", "--time-column", "time"),
    "only text columns": data_case(GOOD.replace(",0.", ",x0.").replace(",-0.", ",x-0."), 3,
                                   "pass --columns A,B,... to choose the channels"),
    "unknown time column": data_case(GOOD, 3, "time column 'when' not found", "--time-column",
                                     "when"),
    # NaN policies
    "interpolate": data_case(NAN_ROW, 0, "1 missing values filled (--nan-policy interpolate)",
                             "--nan-policy", "interpolate"),
    "ffill": data_case(NAN_ROW, 0, "1 missing values filled (--nan-policy ffill)", "--nan-policy",
                       "ffill"),
    "drop": data_case(NAN_ROW, 0, "1 rows dropped (--nan-policy drop)", "--nan-policy", "drop"),
    "all missing": data_case(
        "\n".join(line if i == 0 else ",".join([line.split(",")[0], "", line.split(",")[2]])
                  for i, line in enumerate(GOOD.splitlines())) + "\n",
        3, "no valid value to fill from", "--nan-policy", "interpolate",
    ),
    "nothing left": data_case("time,a,b\n2024-01-01,,1\n2024-01-02,2,\n", 3, "no data rows left",
                              "--nan-policy", "drop"),
    "unknown policy": data_case(GOOD, 2, "--nan-policy", "--nan-policy", "guess"),
    # shapes
    "fewer rows than a frame": data_case(csv_text(10), 3, "fewer than one frame of 16"),
    "renamed channel": data_case(GOOD.replace("time,a,b", "time,a,c"), 3, "'b'"),
    "unknown --columns": data_case(GOOD, 3, "column(s) 'z' not found", "--columns", "a,z"),
    "unknown --label-column": data_case(GOOD, 3, "label column(s) 'y' not found",
                                        "--label-column", "y"),
    "label not 0/1": data_case(with_column("anomaly", "2"), 3, "must hold 0/1",
                               "--label-column", "anomaly"),
    # stdin
    "stdin": Case(["detect", "-", "--model", "{model}"], 0, "data:      <stdin>", stdin=GOOD),
    "evaluate from stdin": Case(["evaluate", "-", "--model", "{model}", "--label-column",
                                 "anomaly"], 0, "<stdin> (300 rows, labels 'anomaly')",
                                stdin=with_column("anomaly", "0").replace(",0\n", ",1\n", 5)),
    "empty stdin": Case(["detect", "-", "--model", "{model}"], 3, "<stdin>: the file is empty",
                        stdin=""),
    "stdin to stdout": Case(["detect", "-", "--model", "{model}", "-o", "-"], 0,
                            "time,score,label\n2024-01-01 00:00:00,", stdin=GOOD),
    # output paths
    "output is a folder": Case(["detect", "{good}", "--model", "{model}", "-o", "."], 2,
                               "is a directory"),
    "parquet to stdout": Case(["detect", "{good}", "--model", "{model}", "-o", "-", "--format",
                               "parquet"], 2, "Parquet cannot be written to stdout"),
    "two outputs to stdout": Case(["detect", "{good}", "--model", "{model}", "-o", "-",
                                   "--events", "-"], 2, "both ask for stdout"),
    "output over DATA": Case(["detect", "data.csv", "--model", "{model}", "-o", "data.csv"], 2,
                             "DATA itself", {"data.csv": GOOD}),
    "unwritable events": Case(["detect", "{good}", "--model", "{model}", "--events",
                               "/proc/events.json"], 2, "--events /proc/events.json: cannot write"),
    "events to stdout": Case(["detect", "{good}", "--model", "{model}", "--events", "-"], 0,
                             '"n_events"'),
    "fixed alarm line when training": Case(["detect", "{good}", "--frame", "16", "--epochs", "1",
                                            "--threshold", "0.5"], 0,
                                           "alarm line: fixed at 0.5"),
    "output to /dev/null": Case(["detect", "{good}", "--model", "{model}", "-o", "/dev/null"], 0,
                                "wrote:     /dev/null"),
    "model to stdout": Case(["train", "{good}", "-o", "-", "--frame", "16"], 2,
                            "a model is a folder or a .safetensors file"),
    "model under /proc": Case(["train", "{good}", "-o", "/proc/model", "--frame", "16"], 2,
                              "--output /proc/model: cannot write in folder /proc"),
    "onnx to stdout": Case(["export", "{model}", "-o", "-"], 2, "not -"),
    # usage
    "conv1d frame": Case(["train", "{good}", "-o", "m", "--frame", "12", "--epochs", "1"], 2,
                         "multiple of 8"),
    "negative threshold": Case(["detect", "{good}", "--threshold", "-1"], 2,
                               "must be a number > 0"),
    "missing DATA": Case(["detect", "nope.csv"], 2, "does not exist"),
    "epochs with a model": Case(["detect", "{good}", "--model", "{model}", "--epochs", "2"], 2,
                                "--epochs applies when training"),
    "debug after the command": Case(["info", "nope.csv", "--debug"], 2, "does not exist"),
    # model files that lie or break
    "a CSV as the model": Case(["detect", "{good}", "--model", "{good}"], 3, "not a seqae model"),
    "pickle posing as weights": Case(["detect", "{good}", "--model", "m.safetensors"], 3,
                                     "not a readable safetensors weights file",
                                     {"m.safetensors": pickle.dumps({"weights": [1, 2, 3]})}),
    "truncated onnx": Case(["info", "m.onnx"], 3, "not a readable ONNX model"),
    "foreign onnx": Case(["detect", "{good}", "--model", "m.onnx"], 3, "not a seqae ONNX model"),
    "tampered onnx": Case(["detect", "{good}", "--model", "m.onnx"], 3, "checksum"),
}  # fmt: skip


def _prepare(name: str, folder: Path, onnx_model: Path) -> None:
    """Files some cases derive from the real model."""
    if name == "truncated onnx":
        data = onnx_model.read_bytes()
        (folder / "m.onnx").write_bytes(data[: len(data) // 2])
    elif name == "foreign onnx":
        import onnx
        from onnx import TensorProto, helper

        node = helper.make_node("Identity", ["x"], ["y"])
        graph = helper.make_graph(
            [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )  # fmt: skip
        onnx.save(helper.make_model(graph), folder / "m.onnx")
    elif name == "tampered onnx":
        data = bytearray(onnx_model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        (folder / "m.onnx").write_bytes(bytes(data))


@pytest.mark.parametrize("name", list(CORPUS))
def test_corpus(name, tmp_path, monkeypatch, good, model, onnx_model):
    case = CORPUS[name]
    for file, content in case.files.items():
        path = tmp_path / file
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    _prepare(name, tmp_path, onnx_model)
    monkeypatch.chdir(tmp_path)
    args = [a.format(model=model, good=good) for a in case.args]
    check(run(args, case.stdin), case.code, case.fragment)


def test_the_corpus_is_large_enough():
    assert len(CORPUS) + len(CONFIG_FAULTS) + len(ONNX_FAULTS) >= 60


# ------------------------------------------------------- saved model files that lie
def _drop_channel(config: dict) -> None:
    config["channels"] = config["channels"][:1]


CONFIG_FAULTS: dict[str, tuple[Any, str]] = {
    "threshold negative": (lambda c: c.update(threshold=-1), "'threshold'"),
    "threshold zero": (lambda c: c.update(threshold=0), "'threshold'"),
    "threshold text": (lambda c: c.update(threshold="high"), "'threshold'"),
    "threshold infinite": (lambda c: c.update(threshold=float("inf")), "'threshold'"),
    "channels repeated": (lambda c: c.update(channels=["a", "a"]), "'channels'"),
    "channels too few": (_drop_channel, "'channels'"),
    "channels not a list": (lambda c: c.update(channels="a,b"), "'channels'"),
    "scaler center short": (lambda c: c["scaler"].update(center=[0.0]), "'scaler.center'"),
    "scaler scale negative": (lambda c: c["scaler"].update(scale=[1.0, -1.0]), "'scaler.scale'"),
    "scaler center text": (lambda c: c["scaler"].update(center=["x", 0.0]), "'scaler.center'"),
    "scaler missing": (lambda c: c.pop("scaler"), "'scaler'"),
    "frame edited": (lambda c: c.update(frame=32), "'frame'"),
    "step edited": (lambda c: c.update(step=4), "'step'"),
    "step above frame": (lambda c: c.update(step=99), "'step'"),
    "frame in params edited": (lambda c: (c.update(frame=32), c["params"].update(frame=32)),
                               "'frame'"),
    "channel weights too many": (lambda c: c.update(channel_weights=[1.0, 1.0, 1.0]),
                                 "'channel_weights'"),
    "channel weights negative": (lambda c: c.update(channel_weights=[1.0, -2.0]),
                                 "'channel_weights'"),
    "drift base negative": (lambda c: c.update(drift_base=-0.1, drift_window=512),
                            "'drift_base'"),
    "drift window tiny": (lambda c: c.update(drift_base=0.1, drift_window=3), "'drift_window'"),
    "drift base without window": (lambda c: c.update(drift_base=0.1, drift_window=None),
                                  "'drift_window'"),
}  # fmt: skip


@pytest.fixture
def edited(tmp_path, model):
    """A copy of the model whose config.json a test rewrites."""
    copy = tmp_path / "edited"
    shutil.copytree(model, copy)

    def edit(change: Any) -> Path:
        config_path = copy / "config.json"
        config = json.loads(config_path.read_text())
        change(config)
        config_path.write_text(json.dumps(config))
        return copy

    return edit


@pytest.mark.parametrize("name", list(CONFIG_FAULTS))
@pytest.mark.parametrize("command", ["detect", "info"])
def test_a_lying_config_is_refused_naming_the_field(name, command, edited, good):
    change, field_name = CONFIG_FAULTS[name]
    path = edited(change)
    args = ["detect", good, "--model", path] if command == "detect" else ["info", path]
    result = run(args)
    check(result, 3, field_name)
    assert str(path) in result.stderr
    with pytest.raises(ModelFormatError, match=field_name):
        Detector.load(path)


def test_unknown_fields_in_a_config_are_accepted(edited, good):
    path = edited(lambda c: c.update(added_by_a_newer_seqae={"x": 1}))
    check(run(["detect", good, "--model", path]), 0, "anomalies:")


def test_an_unfitted_detector_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        Detector().save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------- ONNX files that lie
def _resign(source: Path, target: Path, change: Any) -> Path:
    """Rewrite an exported file's seqae metadata and sign it again, as a buggy tool might."""
    import onnx

    from seqae.files.export import _with_digest
    from seqae.files.runtime import DIGEST_KEY

    proto = onnx.load(source)
    meta = {p.key: json.loads(p.value) for p in proto.metadata_props if p.key != DIGEST_KEY}
    change(meta)
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=json.dumps(value))
    target.write_bytes(_with_digest(proto))
    return target


ONNX_FAULTS: dict[str, tuple[Any, str]] = {
    "threshold negative": (lambda m: m.update({"seqae.threshold": -1.0}), "'threshold'"),
    "channels repeated": (lambda m: m.update({"seqae.channels": ["a", "a"]}), "'channels'"),
    "scaler scale short": (
        lambda m: m["seqae.scaler"].update(scale=[1.0]), "'scaler.scale'",
    ),
    "frame differs from params": (lambda m: m["seqae.params"].update(frame=32), "'frame'"),
    "channel weights short": (lambda m: m.update({"seqae.channel_weights": [1.0]}),
                              "'channel_weights'"),
    "drift base zero": (lambda m: m.update({"seqae.drift_base": 0.0}), "'drift_base'"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ONNX_FAULTS))
def test_a_lying_onnx_file_is_refused_naming_the_field(name, tmp_path, onnx_model, good):
    change, field_name = ONNX_FAULTS[name]
    path = _resign(onnx_model, tmp_path / "lying.onnx", change)
    check(run(["detect", good, "--model", path]), 3, field_name)
    check(run(["info", path]), 3, field_name)


def test_resigning_an_unchanged_onnx_file_keeps_it_valid(tmp_path, onnx_model, good):
    path = _resign(onnx_model, tmp_path / "same.onnx", lambda m: None)
    check(run(["detect", good, "--model", path]), 0, "anomalies:")


# ------------------------------------------------------- output fidelity
TIME_FORMATS = {
    "iso space": lambda i: f"2024-01-01 00:{i // 60:02d}:{i % 60:02d}",
    "iso T": lambda i: f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}",
    "utc Z": lambda i: f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
    "offset": lambda i: f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}+02:00",
    "fraction": lambda i: f"2024-01-01 00:00:{i // 10:02d}.{i % 10}00",
    "day first": lambda i: f"{13 + i // 24:02d}.01.2024 {i % 24:02d}:00",
    "slashes": lambda i: f"01/{13 + i // 24:02d}/2024 {i % 24:02d}:00",
    "date only": lambda i: str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=i))[:10],
    "epoch seconds": lambda i: str(1704067200 + i),
    "epoch fraction": lambda i: f"{1704067200 + i / 4}",
    "epoch milliseconds": lambda i: str(1704067200000 + 1000 * i),
}


@pytest.mark.parametrize("fmt", list(TIME_FORMATS))
@pytest.mark.parametrize("out", ["csv", "json"])
def test_the_time_column_is_written_back_as_read(fmt, out, tmp_path, model):
    stamps = [TIME_FORMATS[fmt](i) for i in range(ROWS)]
    data = tmp_path / "in.csv"
    data.write_text(csv_text(stamps=stamps))
    target = tmp_path / f"out.{out}"
    check(run(["detect", data, "--model", model, "-o", target, "--chunk-size", 128]), 0, "wrote")
    if out == "csv":
        written = pd.read_csv(target, dtype={"time": str})["time"].tolist()
    else:
        written = [str(row["time"]) for row in json.loads(target.read_text())]
    assert written == stamps


def test_unsorted_epoch_rows_come_out_sorted_and_exact(tmp_path, model):
    stamps = [str(1704067200 + i) for i in range(ROWS)]
    stamps[3], stamps[4] = stamps[4], stamps[3]
    data = tmp_path / "in.csv"
    data.write_text(csv_text(stamps=stamps))
    result = run(["detect", data, "--model", model, "-o", tmp_path / "o.csv"])
    check(result, 0, "Warning: the input was changed or looks wrong: sorted by time")
    written = pd.read_csv(tmp_path / "o.csv")["time"]
    assert written.dtype == np.int64 and written.tolist() == sorted(map(int, stamps))
    assert written.nunique() == ROWS


def test_a_link_is_written_through(tmp_path, model, good):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    check(run(["detect", good, "--model", model, "-o", link]), 0, "wrote")
    assert link.is_symlink() and real.read_text().startswith("time,score,label")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_a_bad_events_path_fails_before_any_training(tmp_path, good):
    started = time.perf_counter()
    result = run(["detect", good, "--epochs", "200", "--frame", "16", "--events", "/proc/x.json"])
    check(result, 2, "--events")
    assert "trained here" not in result.stdout and time.perf_counter() - started < 5


# ------------------------------------------------------- one set of defaults
def _shown_default(command: str, option: str) -> str:
    help_text = " ".join(run([command, "--help"]).stdout.split())
    after = help_text.split(option + " INTEGER RANGE", 1)[1]
    return after.split("[default: ", 1)[1].split(";")[0].split("]")[0]


@pytest.mark.parametrize("command", ["detect", "evaluate", "train"])
def test_epochs_default_to_the_librarys(command):
    epochs = inspect.signature(Detector).parameters["epochs"].default
    assert _shown_default(command, "--epochs") == ("auto" if epochs is None else str(epochs))


def test_train_scores_the_librarys_way_by_default(tmp_path, good):
    check(run(["train", good, "-o", tmp_path / "m", "--frame", "16", "--epochs", "1"]), 0, "saved")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    default = inspect.signature(Detector).parameters["scoring"].default
    assert config["params"]["scoring"] == default == "auto"
    assert config["scoring"] == "convolutional"  # what auto picks for conv1d


@pytest.mark.parametrize("command", ["detect", "train", "evaluate", "export", "info", "generate"])
def test_every_help_lists_the_exit_codes_and_global_flags(command):
    out = run([command, "--help"]).stdout
    assert "Exit codes:" in out and "3  data or model error" in out
    assert "--debug" in out and "--quiet" in out


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_works_before_and_after_the_command(where, good):
    args = ["detect", str(good), "--model", str(good)]
    result = run(["--debug", *args] if where == "before" else [*args, "--debug"])
    assert isinstance(result.exception, ModelFormatError)


def test_quiet_hides_progress_on_a_terminal(monkeypatch, good):
    import seqae.cli.terminal as progress

    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    args = ["detect", str(good), "--frame", "16", "--epochs", "1"]
    shown = run(args)
    check(shown, 0, "epoch   1/1 [")
    assert "training conv1d on 300 rows" in shown.stderr and "scoring:" in shown.stderr
    for quiet in (run(["--quiet", *args]), run([*args, "-q"])):  # before or after the command
        check(quiet, 0, "anomalies:")
        assert quiet.stderr == ""


# ------------------------------------------------------- processes: signals, pipes, races
def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.slow  # a child process that imports torch and trains
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
# 0 s: the signal lands while torch is still loading (a slow machine's case: CI once saw a
# core dump there); 0.5 s: most often during the training
@pytest.mark.parametrize("delay", [0.0, 0.5])
def test_a_signal_leaves_no_temporary_file(sig, delay, tmp_path, good):
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [*SEQAE, "detect", str(good), "--frame", "16", "--epochs", "100000", "--patience", "0",
         "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), text=True,
        # a shell without job control starts background jobs with Ctrl-C ignored, and the child
        # would inherit that: give it the default, as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.csv.*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.05)  # the temporary output exists from before the training starts
        assert list(tmp_path.glob(".out.csv.*.tmp")), "the output was not prepared before work"
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed check must not leave the endless training running
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, err
    assert "no output file was written" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess:
    seqae = " ".join(f"'{a}'" for a in SEQAE)
    return subprocess.run(
        ["bash", "-c", f"seqae() {{ {seqae} \"$@\"; }}\n{script}"],
        cwd=cwd, capture_output=True, text=True, env=_env(), timeout=120,
    )  # fmt: skip


PIPES = {
    "stdin to stdout": ("cat {good} | seqae detect - --model {onnx} -o - 2>/dev/null | head -2",
                        "time,score,label\n2024-01-01 00:00:00,"),
    "/dev/stdin": ("cat {good} | seqae detect /dev/stdin --model {onnx} | head -1",
                   "data:      /dev/stdin (300 rows"),
    "process substitution": ("seqae detect <(cat {good}) --model {onnx} | head -1",
                             "(300 rows, 2 channels)"),
    "reader leaves early": ("seqae detect {good} --model {onnx} -o - 2>/dev/null | head -1; "
                            "echo exit ${{PIPESTATUS[0]}}", "time,score,label\nexit 0"),
}  # fmt: skip


@pytest.mark.slow  # a shell pipeline per case, each a fresh python process
def test_pipes(tmp_path, good, onnx_model):
    # One shell runs every pipeline at once: each seqae process costs a Python start.
    script = "\n".join(
        f"( {line.format(good=good, onnx=onnx_model)} ) > out{i}.txt 2>&1 &"
        for i, (line, _) in enumerate(PIPES.values())
    )
    proc = _bash(script + "\nwait", tmp_path)
    assert proc.returncode == 0, proc.stderr
    for i, (name, (_, expected)) in enumerate(PIPES.items()):
        out = (tmp_path / f"out{i}.txt").read_text()
        assert expected in out and "Traceback" not in out, f"{name}: {out}"


@pytest.mark.slow  # several python processes at once
def test_concurrent_writers_leave_one_complete_file(tmp_path, good, onnx_model):
    out = tmp_path / "out.csv"
    args = [*SEQAE, "detect", str(good), "--model", str(onnx_model), "-o", str(out)]
    procs = [subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    df = pd.read_csv(out)
    assert len(df) == ROWS and list(df.columns) == ["time", "score", "label"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_scoring_with_an_onnx_file_never_imports_torch(good, onnx_model):
    code = (
        "import sys\nfrom seqae.cli.main import cli\n"
        f"try:\n    cli(['detect', {str(good)!r}, '--model', {str(onnx_model)!r}])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "library, command_line",
    [
        ("use nan_policy='interpolate', 'ffill' or 'drop' to", "use --nan-policy interpolate, "
         "ffill or drop to"),
        ("fix it or use nan_policy='drop'", "fix it or use --nan-policy drop"),
        ("e.g. read_sensors(..., nan_policy='ffill')", "e.g. --nan-policy ffill"),
        ("pass time_column=None if", "pass --time-column none if"),
        ("leave it out with columns=[...]", "leave it out with --columns A,B,..."),
        ("or pass threshold=<float>", "or pass --threshold NUMBER"),
    ],
)  # fmt: skip
def test_library_advice_is_given_as_flags(library, command_line):
    from seqae.cli.app import flag_words

    assert flag_words(library) == command_line
