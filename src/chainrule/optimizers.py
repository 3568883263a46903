"""Optimizers: see :mod:`chainrule.core.optimizers` (this name is kept for imports)."""

from .core.optimizers import (  # noqa: F401
    OPTIMIZERS,
    SGD,
    Adam,
    Optimizer,
    RMSprop,
    Rprop,
    get_optimizer,
)
