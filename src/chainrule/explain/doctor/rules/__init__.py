"""The doctor's rules: one small unit per finding, as linters have.

A rule has the codes it may report, what it needs (``"raw"``: only the targets as given, before
they are checked; ``"network"``: the network; ``"start"``: the network as it starts training,
not a trained one; ``"run"``: a training run, the learner's or the probe's; ``"validation"``:
held-out data in that run; ``"probe"``: permission to train copies), and a check that says when
it fires, with the numbers that made it fire and a fix. The rules run in the order of
:data:`RULES` (data, units, curves, probes, summary), and a later rule may stay quiet when an
earlier one already explains the symptom.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from ..case import Case


@dataclass(frozen=True)
class Rule:
    """One check of the doctor."""

    codes: tuple[str, ...]
    needs: tuple[str, ...]
    check: Callable[[Case], None]

    @property
    def when(self) -> str:
        """When the rule fires: the first paragraph of its docstring."""
        return (inspect.getdoc(self.check) or "").split("\n\n")[0]


RULES: list[Rule] = []


def rule(*codes: str, needs: tuple[str, ...] = ()
         ) -> Callable[[Callable[[Case], None]], Callable[[Case], None]]:
    """Register the decorated function as a rule that reports ``codes``."""
    def register(check: Callable[[Case], None]) -> Callable[[Case], None]:
        RULES.append(Rule(codes, needs, check))
        return check
    return register


from . import curves, data, probes, summary, units  # noqa: E402, F401  (registers the rules)

ORDER = ("data", "units", "curves", "probes", "summary")  # the modules, in the order they run
RULES.sort(key=lambda r: ORDER.index(r.check.__module__.rsplit(".", 1)[-1]))  # (stable)
