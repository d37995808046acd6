"""seqae.models.classifier: a classifier on a trained autoencoder's encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqae import Detector
from seqae.models.classifier import make_classifier
from seqae.training.trainer import TrainConfig, train

IMAGE = {
    "scaler": "minmax",
    "epochs": 40,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "patience": 0,
    "random_state": 0,
}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits(digits_novelty):
    return digits_novelty


def test_pretrained_encoder_helps_with_few_labels(digits):
    data = digits[0]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data.images))
    unlabeled, labeled, test = order[:1000], order[1000:1050], order[1100:]
    params = {"model": "dense", "model_params": {"hidden": (64, 16)}, **IMAGE}
    pretrained = Detector(**params).fit(data.images[unlabeled])
    config = TrainConfig(epochs=60, batch_size=25, learning_rate=1e-2, loss="cross_entropy")
    config.validation_split, config.patience = 0.0, 0
    accuracy = {}
    for name, source in (("pretrained", pretrained), ("random", Detector(**params))):
        if name == "random":  # same architecture and scaler, untrained weights
            source = Detector(**{**params, "epochs": 1, "learning_rate": 1e-9})
            source.fit(data.images[unlabeled])
        clf = make_classifier(source, 10, freeze=True)
        train(clf, data.images[labeled, None], config, targets=data.labels[labeled])
        accuracy[name] = np.mean(clf.predict(data.images[test, None]) == data.labels[test])
    assert accuracy["pretrained"] > 0.6
    assert accuracy["pretrained"] > accuracy["random"] + 0.05, accuracy
    # fine-tuning trains the encoder copy, and leaves the detector's own model alone
    clf = make_classifier(pretrained, 10, freeze=False, hidden=32)
    weight = pretrained.model_.encoder[0].weight.detach().clone()
    train(clf, data.images[labeled, None], config, targets=data.labels[labeled])
    assert not torch.equal(clf.autoencoder.encoder[0].weight, weight)
    torch.testing.assert_close(pretrained.model_.encoder[0].weight, weight)
