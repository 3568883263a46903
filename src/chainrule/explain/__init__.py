"""Explanations: why a network does not learn.

- :func:`check_gradients` and :func:`check_update` check a learner's own backpropagation (a
  gradient function, or a training step that changes the parameters in place) against the slope
  of their loss, identify their network, and name each mistake with a stable code
  (:data:`MISTAKES`).
- :func:`diagnose` (the training doctor) says why a network does not learn, or memorises, and
  what to change.
"""

from .doctor import CODES, Finding, diagnose, format_findings
from .gradcheck import CODES as MISTAKES
from .gradcheck import GradientReport, ParameterCheck, check_gradients
from .update import check_update

__all__ = ["CODES", "MISTAKES", "Finding", "GradientReport", "ParameterCheck", "check_gradients",
           "check_update", "diagnose", "format_findings"]
