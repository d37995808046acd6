"""The public scoring surface (seqae.scoring.core.Scorer) and its two paths: score_samples
(scores only, no per-channel attribution) and detect (with it) give the same scores; both
detectors are StreamDetectors."""

from __future__ import annotations

import numpy as np
import pytest
from seqae.datasets import make_sensor_stream

import seqae
from seqae import Detector, OnnxDetector
from seqae.errors import NotFittedError, ParameterError
from seqae.files.state import FittedState
from seqae.scale.streaming import ChunkedDetector, detect_file, iter_detect
from seqae.scoring import baseline
from seqae.scoring.core import Scorer, ScoringSpec, StreamDetector


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_timesteps=4000, n_channels=3, random_state=0)


def _fit(stream, **params):
    det = Detector(epochs=1, steps_per_epoch=4, random_state=0, **params)
    return det.fit(stream.values[:1500])


CASES = {
    "convolutional": {"model": "conv1d", "frame": 32},
    "windowed-max": {"model": "dense", "frame": 16, "fold": "max", "step": 3},
    "smoothed-drift": {"model": "conv1d", "frame": 32, "score_smoothing": 8, "drift_window": 256},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_score_samples_equals_detect(stream, case):
    det = _fit(stream, **CASES[case])
    scores = det.score_samples(stream.values)
    result = det.detect(stream.values)
    np.testing.assert_array_equal(scores, result.scores)
    np.testing.assert_array_equal(det.predict(stream.values), result.labels)
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.scores, rtol=1e-9)


def test_score_samples_skips_the_attribution(stream, monkeypatch):
    det = _fit(stream, model="conv1d", frame=32)
    expected = det.detect(stream.values).scores

    def refuse(*args, **kwargs):
        raise AssertionError("the attribution ran")

    monkeypatch.setattr(baseline.Attribution, "apply", refuse)
    np.testing.assert_array_equal(det.score_samples(stream.values), expected)
    with pytest.raises(AssertionError, match="attribution ran"):
        det.detect(stream.values)


def test_the_scorer_is_what_detect_and_streaming_use(stream):
    det = _fit(stream, model="conv1d", frame=32, merge_gap=5)
    scorer = det.scorer
    assert isinstance(scorer, Scorer)
    assert scorer.channels == det.channels_ and scorer.threshold == det.threshold_
    assert scorer.event_rules == (det.min_event_length, 5) and scorer.label_context == 7
    whole = det.detect(stream.values)
    scored = scorer.score_stream(stream.values)
    labels = scorer.labels(scored.scores)
    np.testing.assert_array_equal(labels, whole.labels)
    assert scorer.events(labels, scored.scores, scored.contributions) == whole.events
    chunked = ChunkedDetector(det)
    parts = list(chunked.run(np.array_split(stream.values, 5)))
    np.testing.assert_allclose(np.concatenate([p.scores for p in parts]), whole.scores, atol=1e-6)
    assert len(chunked.events) == len(whole.events)


def test_scorer_refuses_what_it_cannot_do():
    state = FittedState.for_scoring(["a"], threshold=1.0, frame=4, step=1)
    scorer = Scorer(state, lambda recon: lambda f: (f**2, None), ScoringSpec("windowed", 4, 1))
    with pytest.raises(ParameterError, match="does not score images"):
        scorer.image_scores(np.zeros((2, 4, 4)))
    no_shares = scorer.score_stream(np.ones((10, 1), np.float32), contributions=False)
    assert no_shares.contributions is None
    with pytest.raises(ParameterError, match="contributions"):
        scorer.result(no_shares)
    with pytest.raises(NotFittedError):
        Detector().scorer  # noqa: B018


def test_both_detectors_are_stream_detectors(models):
    assert isinstance(Detector.load(models["dense"]), StreamDetector)
    assert isinstance(OnnxDetector(models["dense.onnx"]), StreamDetector)
    assert seqae.detect_file is detect_file and seqae.iter_detect is iter_detect
