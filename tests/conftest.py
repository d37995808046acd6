"""Fixtures shared by the image test modules, and the slow mark of test_runtime's minor families."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from seqae.datasets import load_digits


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models on a shared 2-core machine: one thread avoids oversubscription stalls."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def digits_novelty():
    """``(data, train, test, y)``: train on digits 0-4; test on held-out 0-4 and on 5-9 (y=1)."""
    data = load_digits()
    rng = np.random.default_rng(0)
    normal = rng.permutation(np.flatnonzero(data.labels < 5))
    novel = rng.permutation(np.flatnonzero(data.labels >= 5))[:300]
    train_idx, test_normal = normal[:600], normal[600:]
    test_idx = np.concatenate([test_normal, novel])
    y = np.r_[np.zeros(len(test_normal)), np.ones(len(novel))]
    return data, data.images[train_idx], data.images[test_idx], y


# test_runtime.py checks every model family's ONNX file against the Detector; each family costs
# an export (seconds). By default the default model's two scoring paths and a recurrent family
# run; these families (the same export and scoring head, other layers) run with the slow tests.
RUNTIME_SLOW_FAMILIES = {"gru", "dense", "pca"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            item.path.name == "test_runtime.py"
            and callspec is not None
            and callspec.params.get("name") in RUNTIME_SLOW_FAMILIES
        ):
            item.add_marker(pytest.mark.slow)
