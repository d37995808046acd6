"""seqae.models.head: the windowed and the fully convolutional paths, and the Detector's choice."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from seqae.datasets import make_sensor_stream
from sklearn.metrics import average_precision_score

from seqae import Detector
from seqae.errors import ParameterError
from seqae.models import build_model, head
from seqae.models.head import ScoringHead, convolutional_halo, head_runner
from seqae.scoring import core
from seqae.scoring.core import score_convolutional, score_windowed
from seqae.scoring.events import labels_to_intervals

# one thread: seeded fits are bit-identical only at one thread count, and the default
# count follows the machine's load (it can differ between two calls under xdist)
FAST = {"epochs": 6, "batch_size": 128, "random_state": 0, "n_threads": 1}


@pytest.mark.parametrize("module", [head, core])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def _head(name: str, frame: int, channels: int, seed: int = 0) -> ScoringHead:
    torch.manual_seed(seed)
    model = build_model(name, (frame, channels)).eval()
    rng = np.random.default_rng(seed)
    return ScoringHead(model, rng.normal(size=channels), rng.uniform(0.5, 2.0, channels)).eval()


@pytest.mark.parametrize("n", [1, 7, 500, 1001])
def test_convolutional_chunks_equal_one_pass(n):
    head = _head("conv1d", 64, 3)
    x = np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32)
    run = head_runner(head, reconstruction=True)
    conv = {"stride": head.model.total_stride, "halo": convolutional_halo(head.model)}
    whole = score_convolutional(run, x, chunk=1 << 20, **conv)
    seen = []
    chunked = score_convolutional(
        run, x, chunk=67, progress=lambda done, total: seen.append(done), **conv
    )
    assert convolutional_halo(head.model) % head.model.total_stride == 0
    np.testing.assert_allclose(chunked.scores, whole.scores, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(chunked.reconstruction, whole.reconstruction, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(chunked.contributions.sum(axis=1), chunked.scores, rtol=1e-6)
    assert seen[-1] == n and seen == sorted(seen)
    assert whole.scores.shape == (n,) and whole.reconstruction.shape == (n, 3)


def test_windowed_contributions_sum_to_scores():
    head = _head("dense", 16, 2)
    x = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    out = score_windowed(head_runner(head, reconstruction=True), x, 16, 3)
    assert out.scores.shape == (100,) and out.reconstruction.shape == (100, 2)
    np.testing.assert_allclose(out.contributions.sum(axis=1), out.scores, rtol=1e-6)
    assert (out.scores > 0).all()


def test_without_reconstruction_none_is_folded():
    head = _head("dense", 16, 2)
    x = np.random.default_rng(0).normal(size=(60, 2)).astype(np.float32)
    out = score_windowed(head_runner(head), x, 16, 4)
    assert out.reconstruction is None
    with_recon = score_windowed(head_runner(head, reconstruction=True), x, 16, 4)
    np.testing.assert_array_equal(out.scores, with_recon.scores)


def test_auto_scoring_is_the_default_and_picks_by_model():
    stream = make_sensor_stream(n_timesteps=600, n_channels=2, anomalies=(), random_state=0)
    assert Detector().scoring == "auto"
    conv = Detector(frame=32, epochs=1, random_state=0).fit(stream.values)
    dense = Detector(model="dense", frame=16, step=4, epochs=1, random_state=0).fit(stream.values)
    assert conv._scoring_mode() == "convolutional"
    assert conv.to_config()["scoring"] == "convolutional"
    assert dense._scoring_mode() == "windowed"
    with pytest.raises(ParameterError, match="needs a fully convolutional model"):
        dense.set_params(scoring="convolutional").score_samples(stream.values)


@pytest.fixture(scope="module")
def faulty_stream():
    return make_sensor_stream(
        n_timesteps=5000,
        n_channels=4,
        anomalies=("level_shift", "drift", "frequency", "correlation_break"),
        anomaly_length=(100, 250),
        random_state=11,
    )


@pytest.mark.slow
def test_windowed_and_convolutional_agree_on_what_they_flag(faulty_stream):
    """One fitted conv1d (frame 64) and one threshold, scored both ways: the same alarms."""
    x, y = faulty_stream.values, faulty_stream.labels
    first = int(np.argmax(y))  # the stream's first 10 % is anomaly-free
    # The 0.1 line (POT in-sample, no drift-aware line, no channel norms): the drift line's level
    # history and the held-out norms amplify the two paths' small differences; what is compared
    # here is the scoring itself under one fixed line; the errors are summed over channels (the
    # power mean, like the channel norms, amplifies the two paths' per-channel differences)
    fixed_line = {
        "threshold": "pot",
        "drift_window": None,
        "channel_norm": False,
        "calibration": "training",
        "combine_power": 1.0,
    }
    det = Detector(
        frame=64, scoring="windowed", min_event_length=5, merge_gap=5, **fixed_line, **FAST
    )
    det.fit(x[:first])
    s_win, l_win = det.score_samples(x), det.predict(x)
    det.set_params(scoring="convolutional")
    s_conv, l_conv = det.score_samples(x), det.predict(x)
    assert det._scoring_mode() == "convolutional"
    assert not np.allclose(s_conv, s_win)  # two different computations...
    assert spearmanr(s_conv, s_win).statistic > 0.9  # ...that rank timesteps alike
    ap_win, ap_conv = average_precision_score(y, s_win), average_precision_score(y, s_conv)
    assert ap_win > 2 * y.mean()  # the model does find the faults (chance: the rate)...
    assert abs(ap_conv - ap_win) < 0.05  # ...and the fast path loses no ranking quality
    flagged = l_win.astype(bool) | l_conv.astype(bool)
    assert flagged.any()
    jaccard = (l_win.astype(bool) & l_conv.astype(bool)).sum() / flagged.sum()
    assert jaccard > 0.8
    for start, end in labels_to_intervals(y):
        assert l_conv[start:end].any() == l_win[start:end].any()
