"""The network: see :mod:`chainrule.core.network` (this name is kept for imports)."""

from .core.network import Network, as_generator, backward, forward  # noqa: F401
from .inputs import column_range  # noqa: F401
