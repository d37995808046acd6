"""Parameter checks shared by the model families: each raises ParameterError naming the value."""

from __future__ import annotations

from typing import Any

from ..errors import ParameterError

__all__ = [
    "check_choice",
    "check_dropout",
    "check_image_shape",
    "check_input_shape",
    "check_int",
    "check_int_tuple",
]


def check_int(name: str, value: Any, minimum: int) -> None:
    """Raise ParameterError unless ``value`` is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_int_tuple(name: str, value: Any) -> None:
    """Raise ParameterError unless ``value`` is a non-empty tuple of integers >= 1."""
    if not isinstance(value, tuple) or not value:
        raise ParameterError(f"{name} must be a non-empty list of integers >= 1, got {value!r}")
    for v in value:
        check_int(f"every entry of {name}", v, 1)


def check_dropout(value: Any) -> None:
    """Raise ParameterError unless ``value`` is a probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ParameterError(f"dropout must be a number in [0, 1), got {value!r}")


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise ParameterError unless ``value`` is one of ``choices``."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"{name} must be one of {listed}, got {value!r}")


def check_input_shape(model: str, input_shape: tuple[int, ...], ndim: int | None) -> None:
    """Raise ParameterError unless ``input_shape`` has positive sizes (and ``ndim`` axes)."""
    if ndim is not None and len(input_shape) != ndim:
        raise ParameterError(
            f"model {model!r} takes input_shape (frame, channels), got {input_shape!r}"
        )
    if not input_shape or any(d < 1 for d in input_shape):
        raise ParameterError(
            f"input_shape must be non-empty with sizes >= 1 for model {model!r}, "
            f"got {input_shape!r}"
        )


def check_image_shape(model: str, input_shape: tuple[int, ...]) -> None:
    """Raise ParameterError unless ``input_shape`` is ``(channels, height, width)``, sizes >= 1.

    Examples
    --------
    >>> check_image_shape("conv2d", (1, 8, 8))
    >>> check_image_shape("conv2d", (8, 8))
    Traceback (most recent call last):
    ...
    seqae.errors.ParameterError: model 'conv2d' takes input_shape (channels, height, width) ...
    """
    if len(input_shape) != 3 or any(d < 1 for d in input_shape):
        raise ParameterError(
            f"model {model!r} takes input_shape (channels, height, width) with sizes >= 1, "
            f"got {input_shape!r}"
        )
