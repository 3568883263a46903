"""Activation functions: see :mod:`chainrule.core.activations` (this name is kept for imports)."""

from .core.activations import (  # noqa: F401
    ACTIVATIONS,
    ALIASES,
    LEAKY_SLOPE,
    Activation,
    ActivationLike,
    activation_name,
    get_activation,
)
