"""seqae.policy: the choices a command makes, read from the library (its defaults)."""

from __future__ import annotations

import inspect

from seqae import Detector


def test_help_reads_every_default_the_detector_has_without_importing_it():
    from seqae.policy import detector_defaults, library_default

    parameters = inspect.signature(Detector).parameters
    assert set(detector_defaults()) == set(parameters)  # every default is a literal today
    for name, parameter in parameters.items():
        assert library_default(name) == parameter.default, name
