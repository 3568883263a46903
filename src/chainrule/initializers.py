"""Weight initialisers: see :mod:`chainrule.core.initializers` (this name is kept for imports)."""

from .core.initializers import (  # noqa: F401
    AUTO,
    INITIALIZERS,
    Initializer,
    Uniform,
    get_initializer,
    glorot_normal,
    glorot_uniform,
    he_normal,
    lecun_normal,
    zeros,
)
from .inputs import warn_if_symmetric  # noqa: F401
