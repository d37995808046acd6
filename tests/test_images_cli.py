"""Images through the command line and the image readers: .npy, .npz and folders of PNGs."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from seqae.cli.main import cli
from seqae.datasets import load_digits, read_images

from seqae import Detector
from seqae.errors import DataError, ParameterError


def run(*args, code=0):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    digits = load_digits()
    normal = digits.labels < 5
    np.savez(
        folder / "train.npz", images=digits.images[normal][:400], labels=digits.labels[normal][:400]
    )
    np.save(folder / "test.npy", digits.images[-40:])
    return folder


def test_train_and_detect_images(files, tmp_path):
    model = tmp_path / "model"
    out = run("train", files / "train.npz", "--model", "conv2d", "--epochs", "2", "-o", model)
    assert "400 images of 1×8×8" in out
    out = run("detect", files / "test.npy", "--model", model, "--output", tmp_path / "s.csv")
    assert "40 images" in out
    table = pd.read_csv(tmp_path / "s.csv")
    assert list(table.columns) == ["image", "score", "raw_score", "label"]
    test = np.load(files / "test.npy")
    expected = Detector.load(model).score_samples(test)
    np.testing.assert_allclose(table["score"], expected, rtol=1e-5)
    # the exported model scores the same from the command line
    run("export", model, "--output", tmp_path / "m.onnx")
    run("detect", files / "test.npy", "--model", tmp_path / "m.onnx", "-o", tmp_path / "o.json")
    records = json.loads((tmp_path / "o.json").read_text())
    np.testing.assert_allclose([r["score"] for r in records], expected, rtol=1e-4)
    for saved in (model, tmp_path / "m.onnx"):
        out = run("info", saved)
        assert "images of 1×8×8" in out and "400 images" in out
        assert "frame:" not in out  # sequence-only settings stay out of an image model's info


def test_detect_images_needs_a_model_and_fails_on_anomaly(files, tmp_path):
    out = run("detect", files / "test.npy", code=2)
    assert "images need --model" in out
    model = tmp_path / "m.safetensors"
    run("train", files / "train.npz", "--model", "dense", "--epochs", "1", "-o", model)
    noisy = np.load(files / "test.npy") + 50.0
    np.save(tmp_path / "noisy.npy", noisy)
    run("detect", tmp_path / "noisy.npy", "--model", model, "--fail-on-anomaly", code=1)


def test_read_images_formats(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, (3, 6, 5), dtype=np.uint8)
    for i, image in enumerate(grey):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    got = read_images(tmp_path)
    np.testing.assert_array_equal(got.images, grey.astype(np.float32))
    assert got.names == ["0.png", "1.png", "2.png"]
    Image.fromarray(rng.integers(0, 255, (6, 4), dtype=np.uint8)).save(tmp_path / "3.png")
    with pytest.raises(DataError, match=r"3\.png.*one size"):
        read_images(tmp_path)

    np.savez(tmp_path / "a.npz", pixels=grey)
    assert read_images(tmp_path / "a.npz").images.shape == (3, 6, 5)
    np.savez(tmp_path / "b.npz", x=grey, y=np.arange(3))
    np.testing.assert_array_equal(read_images(tmp_path / "b.npz").labels, [0, 1, 2])
    np.savez(tmp_path / "c.npz", a=grey, b=grey)
    with pytest.raises(DataError, match="key="):
        read_images(tmp_path / "c.npz")
    np.save(tmp_path / "flat.npy", np.zeros((4, 3)))
    with pytest.raises(DataError, match=r"shape \(4, 3\)"):
        read_images(tmp_path / "flat.npy")
    with pytest.raises(ParameterError, match="classes"):
        load_digits(classes=[11])


def test_image_demo_writes_its_pictures(tmp_path, capsys):
    demo = runpy.run_path(str(Path(__file__).parents[1] / "examples" / "image_demo.py"))
    demo["main"](["--output-dir", str(tmp_path), "--epochs", "2", "--n-show", "4"])
    for name in ("reconstructions.png", "latent_space.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    for k in (32, 16, 8):
        assert f"\n{k:>10}  " in out
    assert "adjusted Rand index" in out
