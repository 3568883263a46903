"""The gradient check lives in :mod:`chainrule.explain`; this name is kept for imports."""

from .explain.gradcheck import CODES, GradientReport, ParameterCheck, check_gradients
from .explain.update import check_update

__all__ = ["CODES", "GradientReport", "ParameterCheck", "check_gradients", "check_update"]
