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
# an export (seconds). By default conv1d (both scoring paths), lstm and dense (which most other
# checks use) run; the gru and pca families, and the one check that exports gru for its step and
# fold, run with the slow tests.
RUNTIME_SLOW_FAMILIES = {"gru", "pca"}
RUNTIME_SLOW_TESTS = {"test_edge_service_needs_step_one_mean_fold"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name != "test_runtime.py":
            continue
        callspec = getattr(item, "callspec", None)
        family = callspec.params.get("name") if callspec is not None else None
        if family in RUNTIME_SLOW_FAMILIES or item.originalname in RUNTIME_SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
