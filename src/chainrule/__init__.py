"""chainrule: feed-forward neural networks trained by backpropagation, on NumPy.

>>> from chainrule import Network
>>> net = Network([2, 2, 1])
>>> history = net.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])
"""

# The old module name chainrule.diagnose is loaded first: imported later, it would rebind the
# package's `diagnose` from the function to the module.
from . import diagnose as _diagnose_module  # noqa: F401
from .activations import Activation
from .callbacks import Callback, EarlyStopping, LambdaCallback
from .checks import NumericalWarning, set_memory_limit
from .explain import (
    Finding,
    GradientReport,
    check_gradients,
    check_update,
    diagnose,
    format_findings,
)
from .initializers import Uniform
from .interop import from_torch
from .io import load, load_model
from .layers import Dense
from .losses import Loss
from .network import Network
from .optimizers import SGD, Adam, Optimizer, RMSprop, Rprop
from .training import History

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "Adam",
    "Callback",
    "Dense",
    "GradientReport",
    "EarlyStopping",
    "Finding",
    "History",
    "LambdaCallback",
    "Loss",
    "Network",
    "NumericalWarning",
    "Optimizer",
    "RMSprop",
    "Rprop",
    "SGD",
    "Uniform",
    "check_gradients",
    "check_update",
    "diagnose",
    "from_torch",
    "format_findings",
    "load",
    "load_model",
    "set_memory_limit",
]
