"""Fixtures shared by the test modules: one fitted and exported model per family for the whole
session (an ONNX export costs seconds), the image data sets, and the slow mark of
test_runtime's minor families."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from seqae.datasets import load_digits, make_sensor_stream

from seqae import Detector

# one thread: seeded fits are bit-identical only at one thread count, and the default
# count follows the machine's load (it can differ between two calls under xdist)
FAST = {"epochs": 1, "batch_size": 128, "random_state": 0, "n_threads": 1}
FAMILIES = {
    "conv1d": {
        "model": "conv1d",
        "frame": 32,
        "scoring": "windowed",  # the frame-by-frame path; the default is convolutional
        "channel_weights": [1.0, 0.5, 3.0, 1.0],  # user weights must travel in the file too
        "model_params": {"filters": (8, 8, 4)},
    },
    # the chunked fully convolutional path, with event rules that must travel in the file
    "conv1d_convolutional": {
        "model": "conv1d",
        "frame": 32,
        "scoring": "convolutional",
        "min_event_length": 3,
        "merge_gap": 4,
        "model_params": {"filters": (8, 8, 4)},
    },
    # frame 4: the exporter unrolls the recurrence, so its time grows with the frame (4 steps
    # still carry the state from step to step; the slow gru family runs at frame 16)
    "lstm": {"model": "lstm", "frame": 4, "model_params": {"hidden_size": 16, "latent_dim": 4}},
    "gru": {
        "model": "gru",
        "frame": 16,
        "step": 3,
        "fold": "median",
        "model_params": {"hidden_size": 16, "latent_dim": 4},
    },
    "dense": {
        "model": "dense",
        "frame": 16,
        "step": 4,
        "fold": "max",
        "merge_gap": 2,
        "score_smoothing": 8,  # the smoother's history must travel and stream too
        "model_params": {"hidden": (32, 8)},
    },
    "pca": {"model": "pca", "frame": 16, "merge_gap": 2, "model_params": {"n_components": 4}},
}


@pytest.fixture(scope="session")
def family_stream():
    """The 4-channel stream every family in ``FAMILIES`` is fitted on."""
    return make_sensor_stream(n_timesteps=1200, n_channels=4, random_state=11)


@pytest.fixture(scope="session")
def exported_family(family_stream, tmp_path_factory):
    """``exported_family(name) -> (Detector, path)``: each family of ``FAMILIES`` fitted on
    ``family_stream`` and exported once a session, for every test that needs such a model
    and not one of its own. The detectors are shared: tests must not change them."""
    folder = tmp_path_factory.mktemp("families")
    cache: dict[str, tuple[Detector, Path]] = {}

    def get(name: str) -> tuple[Detector, Path]:
        if name not in cache:
            det = Detector(**FAMILIES[name], **FAST).fit(family_stream)
            cache[name] = (det, det.export_onnx(folder / f"{name}.onnx"))
        return cache[name]

    return get


FILE_ROWS = 5000  # more than one part of ChunkedScorer.min_part (4096) rows


@pytest.fixture(scope="session")
def file_stream():
    """The system of the session's shared models (family_stream), longer, with a fault far out
    of range, so that even their one-epoch networks raise events."""
    s = make_sensor_stream(n_timesteps=FILE_ROWS, n_channels=4, anomalies=(), random_state=11)
    s.values[2500:2560, 1] += 25 * s.values[:, 1].std()
    s.labels[2500:2560] = 1
    return s


@pytest.fixture(scope="session")
def csv(file_stream, tmp_path_factory) -> Path:
    """``file_stream`` as a CSV file (time stamps, channels, labels)."""
    path = tmp_path_factory.mktemp("pipeline") / "sensors.csv"
    file_stream.to_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def models(exported_family, tmp_path_factory) -> dict[str, Path]:
    """A convolutional and a windowed model with event rules (the windowed one with score
    smoothing), fitted on another stream of the same channels (the session's shared ones,
    FAMILIES), saved and exported."""
    folder = tmp_path_factory.mktemp("models")
    out = {}
    for name, family in {"conv1d": "conv1d_convolutional", "dense": "dense"}.items():
        det, onnx_path = exported_family(family)
        det.save(folder / name)
        out[name] = folder / name
        out[f"{name}.onnx"] = onnx_path
    return out


def split(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Cut ``values`` into chunks of the given sizes (the rest in one last chunk)."""
    return np.split(values, np.cumsum(sizes))


def assert_parts_match(det, x, want, cuts, chunk=97, rtol=1e-5, atol=1e-6):
    """Each part between ``cuts`` scored alone (as a Dask or Spark partition is) and ``x``
    streamed in chunks of ``chunk`` rows give ``want``'s scores and labels."""
    from seqae.scale.streaming import ChunkedDetector, range_rows, score_range

    for first, end in itertools.pairwise(cuts):
        lo, hi = range_rows(det.scorer, first, end, len(x))
        scores, labels, _, _ = score_range(det.scorer, x[lo:hi], lo, first, end, len(x))
        np.testing.assert_allclose(scores, want.scores[first:end], rtol=rtol, atol=atol)
        assert np.array_equal(labels, want.labels[first:end])
    chunks = [x[a : a + chunk] for a in range(0, len(x), chunk)]
    parts = list(ChunkedDetector(det, min_part=50).run(chunks))
    got = np.concatenate([part.scores for part in parts])
    np.testing.assert_allclose(got, want.scores, rtol=rtol, atol=atol)
    assert np.array_equal(np.concatenate([part.labels for part in parts]), want.labels)


def load_without(path, field):
    """The model saved at ``path`` loaded as a file written before ``field`` existed (the field
    taken out of its config and of the parameters it records)."""
    config = json.loads((path / "config.json").read_text())
    del config[field], config["params"][field]
    (path / "config.json").write_text(json.dumps(config))
    return Detector.load(path)


def assert_same(got, want):
    """Scores to 1e-6, the same labels and the same events."""
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got.labels, want.labels)
    assert [(e.start, e.end, e.peak_index) for e in got.events] == [
        (e.start, e.end, e.peak_index) for e in want.events
    ]
    assert [[c for c, _ in e.top_channels] for e in got.events] == [
        [c for c, _ in e.top_channels] for e in want.events
    ]


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
