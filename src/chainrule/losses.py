"""Loss functions: see :mod:`chainrule.core.losses` (this name is kept for imports)."""

from .core.losses import ALIASES, LOSSES, Loss, get_loss  # noqa: F401
