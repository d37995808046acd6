"""seqae.models.validators: parameter checks name the parameter and what is allowed."""

from __future__ import annotations

import pytest

from seqae.errors import ParameterError
from seqae.models import build_model


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("lstm", {"hidden_size": 0}, "hidden_size must be an integer >= 1"),
        ("gru", {"bidirectional": "yes"}, "bidirectional must be one of"),
        ("dense", {"activation": "softmax"}, "activation must be one of"),
        ("dense", {"output_activation": "tanh"}, "output_activation must be one of"),
        ("pca", {"n_components": 1.5}, r"fraction in \(0, 1\)"),
        ("pca", {"n_components": 0}, "n_components must be an integer >= 1"),
        ("pca", {"n_components": 100}, "n_components=100 is more than the 64 values"),
    ],
)
def test_other_bad_configs(name: str, params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        build_model(name, (32, 2), params)
