"""A model family is one file with a config and a registration: no list to edit anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import seqae.models
from seqae import Detector
from seqae.errors import ParameterError
from seqae.models import MODELS, available_models, build_model, models_of_kind

# A whole family in one file: a config dataclass, an Autoencoder with a name, a registration.
TOY = textwrap.dedent(
    """
    from dataclasses import dataclass

    import torch
    from torch import nn

    from seqae.models.base import Autoencoder
    from seqae.models.registry import register_model


    @dataclass(frozen=True)
    class ToyConfig:
        width: int = 4


    @register_model
    class ToyAE(Autoencoder):
        name = "toy_family"
        Config = ToyConfig

        def __init__(self, input_shape, config):
            super().__init__(input_shape, config)
            frame, channels = self.input_shape
            self.enc = nn.Linear(frame * channels, config.width)
            self.dec = nn.Linear(config.width, frame * channels)

        def encode(self, x):
            return self.enc(x.flatten(1))

        def decode(self, z):
            frame, channels = self.input_shape
            return self.dec(z).view(-1, frame, channels)
    """
)


@pytest.fixture
def toy_folder(tmp_path, monkeypatch):
    """The toy family as a file in a folder searched as part of ``seqae.models``."""
    folder = tmp_path / "families"
    folder.mkdir()
    (folder / "toy_family.py").write_text(TOY)
    monkeypatch.setattr(seqae.models, "__path__", [*seqae.models.__path__, str(folder)])
    yield folder
    MODELS.pop("toy_family", None)
    sys.modules.pop("seqae.models.toy_family", None)


def test_a_family_file_in_the_folder_is_found_and_used(toy_folder, tmp_path):
    assert "toy_family" in available_models()
    assert "toy_family" in models_of_kind("sequence")  # the lists the tests parametrize over
    model = build_model("toy_family", (8, 2), {"width": 3})
    assert model.config.width == 3
    with pytest.raises(ParameterError, match=r"toy_family.*no parameter"):
        build_model("toy_family", (8, 2), {"depth": 3})
    x = np.random.default_rng(0).normal(size=(600, 2)).astype(np.float32)
    det = Detector(model="toy_family", frame=8, epochs=2, random_state=0).fit(x)
    scores = det.score_samples(x)
    assert scores.shape == (600,) and np.isfinite(scores).all()
    det.save(tmp_path / "toy")
    np.testing.assert_array_equal(Detector.load(tmp_path / "toy").score_samples(x), scores)


def test_the_cli_offers_and_trains_a_new_family(toy_folder, tmp_path):
    # The CLI reads its --model choices from the registry: a family registered before the
    # command runs is offered and trained, with no CLI list edited.
    data = tmp_path / "s.csv"
    rng = np.random.default_rng(1)
    rows = "\n".join(f"{a:.4f},{b:.4f}" for a, b in rng.normal(size=(400, 2)))
    data.write_text("a,b\n" + rows + "\n")
    script = (
        "import sys, seqae.models as m; m.__path__.append(sys.argv[1]); "
        "from seqae.cli.main import cli; cli(sys.argv[2:])"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-c", script, str(toy_folder), *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=env)

    assert "toy_family" in run("train", "--help").stdout
    model = tmp_path / "toy-model"
    done = run("train", str(data), "--model", "toy_family", "--frame", "8", "--epochs", "1",
               "-o", str(model))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Path(model).exists() or Path(f"{model}.safetensors").exists()


def test_registry_names() -> None:
    assert set(models_of_kind("sequence")) <= set(available_models())


def test_unknown_model_and_unknown_field() -> None:
    with pytest.raises(ParameterError, match=r"unknown model 'transformer'.*conv1d"):
        build_model("transformer", (32, 2))
    with pytest.raises(ParameterError, match=r"no parameter.*hiden_size.*hidden_size"):
        build_model("lstm", (32, 2), {"hiden_size": 8})
