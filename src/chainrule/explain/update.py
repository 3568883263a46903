"""Check a training step that changes the parameters in place.

Learners often never write a gradient function: their ``train`` method computes each error and
updates each weight as it goes (questions 000 and 001). A plain gradient-descent step
``p <- p - lr * g`` still tells its gradient: ``g = (p_before - p_after) / lr``.
:func:`check_update` runs the step on copies of the parameters at several points, recovers
that *implied* gradient and checks it like :func:`~.gradcheck.check_gradients` does, which also
shows mistakes no gradient function can have: an error carried back through weights the same
step has already updated (``stale-weights``), a layer the step never updates
(``not-computed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import checks
from .gradcheck import Checker, GradientReport, _float_kind
from .params import Caller, Params

__all__ = ["check_update"]


def check_update(step: Any, params: Any, loss_fn: Any, learning_rate: float, *,
                 X: Any = None, y: Any = None, rtol: float = 1e-5, atol: float = 1e-3,
                 seed: int = 0) -> GradientReport:
    """Check the gradient implied by a training step that updates parameters in place.

    Parameters
    ----------
    step : callable
        ``step(params)``: one plain gradient-descent step ``p -= learning_rate * dL/dp`` on
        every parameter, changing ``params`` in place (arrays written into, or dict and list
        entries replaced), or returning the new parameters in the same structure. Also
        accepted: ``step(params, X, y)`` and ``step(**params)`` returning the new values (as a
        dict, or a tuple in the order of the keys).
    params : dict, list or tuple
        The parameters before the step, as for :func:`check_gradients`. Never modified: the
        step runs on copies.
    loss_fn : callable
        ``loss_fn(params) -> float``: the loss the step should descend, on the same samples
        the step uses.
    learning_rate : float
        The step's learning rate.
    X, y : array-like, optional
        The data the loss and step use; with them (or found where ``loss_fn`` reads them) the
        network is identified and each mistake named.
    rtol, atol, seed
        As for :func:`check_gradients`.

    Returns
    -------
    GradientReport
        As for :func:`check_gradients`, with the implied gradient ``(p_before - p_after) /
        learning_rate`` in place of the analytic one.

    Notes
    -----
    The step must be deterministic: it is run once per parameter point on a fresh copy, and a
    step that draws its own random sample implies a different gradient each time. Momentum,
    Adam and other stateful updates do not imply a gradient this way.
    """
    learning_rate = checks.number(learning_rate, "learning_rate", strict=True)
    rtol, atol = checks.number(rtol, "rtol", strict=True), checks.number(atol, "atol", strict=True)
    seed = checks.integer(seed, "seed", minimum=0)
    P = Params.of(params)
    data = None if X is None or y is None else (X, y)
    loss_call = Caller(loss_fn, P, data, "loss_fn")
    step_call = Caller(step, P, data, "step")
    checker = Checker(P, loss_call, data, (loss_fn, step), rtol, atol, seed,
                      rate=float(learning_rate), what="implied")

    seen = {"returned": False, "moved": False}

    def implied(theta: np.ndarray) -> np.ndarray:
        structure = P.build(theta)
        result = step_call(structure)
        after = _after(P, structure, result)
        checker.dtypes.add(_float_kind(result))
        seen["returned"] |= result is not None
        seen["moved"] |= bool(np.any(after != theta))
        return (theta - after) / learning_rate

    report = checker.run(implied)
    if not (seen["returned"] or seen["moved"]):
        raise ValueError(
            "step changed none of the parameters it was given and returned nothing, at every "
            "point tried. A step that assigns new arrays (self.weights = [...], or "
            "W = W - lr * dW inside the function) leaves the arrays passed in unchanged, so "
            "the check cannot see its update: make it update in place (W -= lr * dW, "
            "params['W1'] = ...), or return the new parameters (e.g. return [net.weights, "
            "net.biases]). If your training relies on such a step, its updates are lost too.")
    if report.mistakes and set(report.mistakes.values()) == {"unexplained"}:
        report.notes.append(
            "if your step loops over the samples (an epoch of per-sample updates), it implies "
            "no single gradient: check_update reads one update, so give it one sample "
            "(X=X[:1], y=y[:1]) or one batch")
    return report


def _after(P: Params, structure: Any, result: Any) -> np.ndarray:
    """The parameters after the step: what it returned, or what it changed in place."""
    if result is None:
        return P.theta(structure)
    if isinstance(P.structure, Mapping) and isinstance(result, list | tuple) and \
            len(result) == len(P) and not isinstance(result, Mapping):
        result = dict(zip(P.names, result, strict=True))
    try:
        return P.theta(result)
    except ValueError as error:
        if "shape" in str(error):  # the structure is right, a parameter is not
            raise ValueError(f"step returned parameters of another shape: {error}") from None
        raise _not_the_parameters() from None
    except (KeyError, IndexError, TypeError):
        raise _not_the_parameters() from None


def _not_the_parameters() -> ValueError:
    return ValueError(
        "step returned something that is not the parameters in their structure; let it change "
        "params in place and return None, or return the new parameters")
