"""The training doctor: why does my network not learn, or why does it memorise?

``diagnose(net, X, y, **fit_kwargs)`` looks at the data, at the network as it is, at a training
run (the learner's own, passed as ``history=``, or a *probe* that repeats their training on a
copy), and at short probes comparing initialisations, settings and sizes. It returns
:class:`Finding` objects, errors first::

    findings = diagnose(net, X, y, epochs=10)
    print(format_findings(findings))

Each finding has a stable ``code`` (:data:`CODES`), a ``severity``, a ``message`` with the numbers
that triggered it, and a ``hint`` with a concrete fix, in Python or as command-line flags. Each
code comes from small rules (:data:`RULES`), each with what it needs and when it fires.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from ... import checks
from ...network import Network
from ...training import History, check_fit_arguments
from ...training import fit as _fit
from .case import Case
from .findings import RANK, SEVERITIES, Finding, format_findings
from .hints import Hints, hints_for
from .rules import RULES, Rule

__all__ = ["CODES", "RULES", "SEVERITIES", "Finding", "Rule", "diagnose", "format_findings"]

CODES = tuple(dict.fromkeys(code for rule in RULES for code in rule.codes))
_FIT_PARAMETERS = frozenset(inspect.signature(_fit).parameters) - {"net", "X", "y"}


def diagnose(net: Network, X, y, *, history: History | None = None, probe: bool | None = None,
             hints: str | Hints = "python", **fit_kwargs) -> list[Finding]:
    """Find out why ``net`` does not learn ``(X, y)``, or memorises it, without changing ``net``.

    Parameters
    ----------
    net : Network
        The network, as you would train it (or as trained, with ``history``).
    X, y : arrays
        The training data, as passed to ``net.fit``.
    history : History, optional
        The History of a real training run of ``net`` on ``(X, y)``: its losses (and validation
        losses), gradient norms and update ratios are read by the same rules that read the
        probe, and ``net`` is taken to be the trained network.
    probe : bool, optional
        Train copies of ``net`` to find causes. Default: yes without ``history``; with it,
        only when the run did not learn (a truth table not fitted, or real data not below a
        constant prediction's loss), to say why.
    hints : {"python", "cli"}
        The words of the fixes: Python arguments, or ``chainrule`` command-line flags.
    **fit_kwargs
        The settings you pass to :meth:`Network.fit` (``epochs``, ``batch_size``,
        ``optimizer``, ``learning_rate``, ``restarts``, ``validation_data``, ...). The probe
        repeats your training with them: your epochs where affordable, your copies.

    Returns
    -------
    list of Finding
        Errors first, then warnings, then infos; one finding per code, and a ``healthy`` info
        finding when there is no error or warning.

    Notes
    -----
    The probes are sized from the problem's dimensions (not from timings, so the findings do
    not depend on the machine's speed). What "learned" means depends on the data: a truth table
    (0/1 targets on at most 256 rows and no held-out rows, the whole domain) is learned when
    every output is on the right side of 0.5; real data when its loss is well below the loss of
    the best constant prediction, and a copy is stuck when its loss stopped falling far above the
    best copy's. With ``validation_data``, a validation loss that rises while the training loss
    falls, or ends far above it, is ``overfitting``.
    """
    unknown = sorted(set(fit_kwargs) - _FIT_PARAMETERS)
    if unknown:
        raise TypeError(
            f"diagnose got unknown fit argument(s) {', '.join(unknown)}; it takes the arguments "
            f"of Network.fit: {', '.join(sorted(_FIT_PARAMETERS))}")
    if not isinstance(net, Network):
        raise TypeError(f"net must be a chainrule Network, got {type(net).__name__}")
    fit_kwargs = check_fit_arguments(fit_kwargs)
    X, y = checks.numeric_array(X, "X"), checks.as_array(y, "y")
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history must be the History returned by fit, got {type(history)}")
    case = Case(net, X, y, history, dict(fit_kwargs), hints_for(hints),
                history is None if probe is None else bool(probe))
    case.probe_asked = probe
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        _examine(case)
    return sorted(case.findings.values(), key=lambda f: RANK[f.severity])


def _examine(case: Case) -> None:
    for rule in RULES:
        if "raw" in rule.needs:
            case.check(rule)
    blocked = case.has("targets-out-of-range", severity="error")
    try:
        case.prepare()
    except ValueError:
        if blocked:
            return  # the loss refuses these targets: the range finding says why
        raise
    case.stopped = False
    if blocked:
        case.probing = False
    elif case.probe_asked is None and case.history is not None:
        case.probing = not case.run_learned()  # a failed run: the probes say why
    for rule in RULES:
        if "raw" in rule.needs or not _can(case, rule):
            continue
        case.check(rule)
        if case.stopped:
            return


def _can(case: Case, rule: Rule) -> bool:
    needs = rule.needs
    if "start" in needs and case.history is not None and not case.probing:
        return False  # the network as given is the trained one: its start is unknown
    if "probe" in needs and not case.probing:
        return False
    if "run" in needs and case.run() is None:
        return False
    if "validation" in needs and not case.run().history.val_loss:
        return False
    return True
