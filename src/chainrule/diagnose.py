"""The training doctor lives in :mod:`chainrule.explain.doctor`; this name is kept for imports."""

from .explain.doctor import CODES, RULES, SEVERITIES, Finding, diagnose, format_findings

__all__ = ["CODES", "RULES", "SEVERITIES", "Finding", "diagnose", "format_findings"]
