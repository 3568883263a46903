"""The dense layer: see :mod:`chainrule.core.layers` (this name is kept for imports)."""

from .core.layers import Dense, parameter_views  # noqa: F401
