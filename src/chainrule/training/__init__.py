"""Training: ``fit``, the History, the stopping rules, and restarts as a leading copy axis.

Small networks succeed or fail by their initial weights (a 2-2-1 sigmoid net gets stuck on XOR
for some seeds). ``fit`` therefore trains ``K`` independently initialised copies at once and
keeps the best; copy 0 always starts from the network's current weights, so ``restarts=1``
trains exactly this network. The epochs run on the compiled engine (:mod:`chainrule.engine`)
when it can train the network, else on the NumPy path (the core's own forward and backward).

Modules: ``fitting`` (``fit``, its steps), ``setup`` (arguments checked), ``state`` (the copies'
parameters), ``rules`` (divergence, targets, plateau, redraws), ``history``, ``compiled`` and
``numpy_path`` (the two ways of running epochs).
"""

from .fitting import fit
from .history import History
from .setup import AUTO_RESTARTS, FIT_CHECKS, SMALL_PROBLEM, check_fit_arguments, evaluate
from .state import Training

__all__ = ["AUTO_RESTARTS", "FIT_CHECKS", "SMALL_PROBLEM", "History", "Training",
           "check_fit_arguments", "evaluate", "fit"]
