"""Check a hand-written backward pass against finite differences.

When a network "doesn't learn", the usual suspect is the gradient. This module measures
the slope of the loss directly, one parameter entry at a time (the *numeric* gradient),
and compares it with the gradient your code computes (the *analytic* gradient)::

    report = check_gradients(loss_fn, grad_fn, params)
    print(report)

It also recognises the signatures of the classic mistakes: a gradient that is never
computed, a missing constant factor, a sign error, and an error that is not carried back
to the earlier layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GradientReport", "ParameterCheck", "check_gradients"]

LOW_PRECISION_RTOL = 1e-2  # float32 keeps about 7 digits; a finite difference keeps ~3 of them
LOW_PRECISION_ATOL = 1e-2
FACTOR_TOL = 1e-4  # how constant analytic/numeric must be to be "a constant factor"
GENERIC = "Not a constant factor: re-derive this gradient with the chain rule."
COLUMNS = ("parameter", "shape", "max abs error", "max rel error", "worst index", "verdict")


@dataclass
class ParameterCheck:
    """One row of a `GradientReport`: the comparison for one parameter."""

    name: str | int
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float
    verdict: str
    explanation: str = ""

    @property
    def ok(self) -> bool:
        """True when the analytic gradient matches the numeric one."""
        return self.verdict == "ok"

    def cells(self) -> list[str]:
        """The row as table cells, in the order of `COLUMNS`."""
        index = str(list(self.worst_index)) if self.worst_index else "-"
        shape = str(self.shape) if self.shape else "scalar"
        return [_label(self.name), shape, f"{self.max_abs_error:.2e}",
                f"{self.max_rel_error:.2e}", index, self.verdict]


@dataclass
class GradientReport:
    """The result of `check_gradients`: one `ParameterCheck` per parameter, plus notes."""

    rows: list[ParameterCheck]
    notes: list[str] = field(default_factory=list)
    rtol: float = 1e-5
    atol: float = 1e-3

    @property
    def ok(self) -> bool:
        """True when every parameter's gradient is right."""
        return all(row.ok for row in self.rows)

    @property
    def failed(self) -> list[str | int]:
        """Names (dict keys, or list indices) of the parameters whose gradient is wrong."""
        return [row.name for row in self.rows if not row.ok]

    def __getitem__(self, name: str | int) -> ParameterCheck:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __str__(self) -> str:
        wrong = len(self.failed)
        summary = f"{wrong} of {len(self.rows)} parameters wrong" if wrong else "all correct"
        table = [list(COLUMNS)] + [row.cells() for row in self.rows]
        widths = [max(len(cells[i]) for cells in table) for i in range(len(COLUMNS))]
        lines = [f"Gradient check: {summary} (rtol={self.rtol:g}, atol={self.atol:g})"]
        lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
                  for cells in table]
        lines += [row.explanation for row in self.rows if not row.ok]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


def check_gradients(loss_fn: Any, grad_fn: Any, params: Any, *,
                    rtol: float = 1e-5, atol: float = 1e-3) -> GradientReport:
    r"""Compare a hand-written gradient with central finite differences.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``, the loss for the given parameters.
        Alternatively a chainrule ``Network``: then call ``check_gradients(net, X, y)``.
    grad_fn : callable
        ``grad_fn(params)`` returns the gradient in the same structure as `params`:
        a dict with the same keys, or a list of the same length, each entry with the
        shape of its parameter (a float for a float parameter).
    params : dict or list
        ``{name: ndarray or float}`` (e.g. ``{"w11": 0.3, "b1": 0.0}``) or a list/tuple
        of arrays, ordered from the input layer to the output layer. Never modified:
        the check works on float64 copies.
    rtol, atol : float
        Tolerances of the criterion below.

    Returns
    -------
    GradientReport
        ``.ok``, ``.failed``, one row per parameter and ``.notes``; ``print`` it.

    Notes
    -----
    Each entry :math:`x` is nudged both ways and the loss slope measured,

    .. math:: n = \frac{L(x + h) - L(x - h)}{2h}, \qquad h = \epsilon^{1/3} \max(1, |x|),

    which balances the truncation error (:math:`\sim h^2`) against rounding (:math:`\sim
    \epsilon / h`). An entry of the analytic gradient :math:`a` is wrong when

    .. math:: \frac{|a - n|}{\max(|a|, |n|, \text{floor})} > \text{rtol}, \qquad
              \text{floor} = \text{atol} \cdot \max\Big(\frac{|L|}{\max(1, |x|)},
              \max_{\text{all entries}} |n|\Big),

    so entries whose effect on the loss is tiny compared with the loss and with the other
    gradients (such as those of a saturated sigmoid) are compared in absolute terms: their
    relative error would only measure rounding noise.
    If the loss, the gradients or the network are float32, the tolerances are raised
    to at least 1e-2 and the report says so.

    A wrong structure (missing key, wrong length, wrong shape) raises ``ValueError``
    naming the parameter; a non-numeric value raises ``TypeError``. A gradient with
    nan or inf is reported as a failing parameter with the verdict "not finite".
    """
    if all(hasattr(loss_fn, attr) for attr in ("layers", "loss", "gradients")):
        return _check_network(loss_fn, grad_fn, params, rtol, atol)
    return _check(loss_fn, grad_fn, params, rtol, atol, np.dtype(np.float64))


def _check(loss_fn: Any, grad_fn: Any, params: Any, rtol: float, atol: float,
           dtype: np.dtype) -> GradientReport:
    """Run the check; `dtype` is the precision in which the parameters are used."""
    for fn, what in ((loss_fn, "loss_fn"), (grad_fn, "grad_fn")):
        if not callable(fn):
            raise TypeError(f"{what} must be a function, got {type(fn).__name__}")
    names, values, rebuild = _split(params)

    def loss_at(current: list[np.ndarray]) -> float:
        return _as_loss(loss_fn(rebuild(current)))

    raw_loss = loss_fn(rebuild(values))
    loss = _as_loss(raw_loss)
    raw_grads = _match_structure(grad_fn(rebuild(values)), params, names)
    analytic = []
    for name, value, grad in zip(names, values, raw_grads, strict=True):
        analytic.append(_as_array(grad, f"the gradient of {_label(name)}"))
        _check_shape(name, value, analytic[-1])

    loss_dtype = np.asarray(raw_loss).dtype
    low = [what for what, d in (("the network", dtype), ("the loss", loss_dtype))
           if _is_low_precision(d)]
    low_grads = [_label(n) for n, g in zip(names, raw_grads, strict=True)
                 if _is_low_precision(np.asarray(g).dtype)]
    low += [f"the gradients of {', '.join(low_grads)}"] if low_grads else []
    # A float32 loss is noisier and needs a longer step: use the coarser of the two eps.
    step_eps = max(np.finfo(d).eps for d in (dtype, loss_dtype) if d.kind == "f")
    numeric = [_numeric_gradient(loss_at, values, i, step_eps) for i in range(len(values))]

    notes = []
    if low:
        rtol, atol = max(rtol, LOW_PRECISION_RTOL), max(atol, LOW_PRECISION_ATOL)
        notes.append(f"float32 found in {', '.join(low)}. float32 keeps only about 7 digits, so "
                     f"this check used looser tolerances (rtol={rtol:g}, atol={atol:g}) and cannot "
                     "see errors below about 1%. Compute in float64 for a sharp check.")
    largest = max(np.max(np.abs(n), initial=0.0) for n in numeric)
    floors = [np.maximum(atol * np.maximum(abs(loss) / np.maximum(1, np.abs(v)), largest),
                         np.finfo(np.float64).tiny) for v in values]
    rows = [_compare(*args, rtol) for args in zip(names, analytic, numeric, floors, strict=True)]
    return GradientReport(rows, notes + _carried_back_note(rows), rtol, atol)


def _numeric_gradient(loss_at: Callable[[list[np.ndarray]], float], values: list[np.ndarray],
                      i: int, step_eps: float) -> np.ndarray:
    """Central differences (L(x+h) - L(x-h)) / 2h for every entry of ``values[i]``."""
    x = values[i]
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        h = step_eps ** (1 / 3) * max(1.0, abs(old))
        x[idx] = old + h
        loss_up = loss_at(values)
        x[idx] = old - h
        loss_down = loss_at(values)
        x[idx] = old
        grad[idx] = (loss_up - loss_down) / (2 * h)
    return grad


def _compare(name: str | int, analytic: np.ndarray, numeric: np.ndarray, floor: np.ndarray,
             rtol: float) -> ParameterCheck:
    """Build the report row for one parameter."""
    abs_err = np.abs(analytic - numeric)
    rel_err = abs_err / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(rel_err), rel_err.shape))
    row = ParameterCheck(name, analytic.shape, float(np.max(abs_err)), float(np.max(rel_err)),
                         worst, float(analytic[worst]), float(numeric[worst]), "ok")
    if np.all(np.isfinite(analytic)) and row.max_rel_error <= rtol:
        return row
    significant = np.abs(numeric) > floor
    row.verdict, diagnosis = _diagnose(analytic, numeric, significant, max(FACTOR_TOL, rtol))
    entry = _label(name) + (str(list(worst)) if worst else "")
    row.explanation = (f"{entry}: analytic {row.analytic:.6g} vs numeric {row.numeric:.6g} "
                       f"(worst entry). {diagnosis}").rstrip()
    return row


def _diagnose(analytic: np.ndarray, numeric: np.ndarray, significant: np.ndarray,
              tol: float) -> tuple[str, str]:
    """Name the mistake when the pattern of a failing gradient is a known one.

    A constant factor shows as a ratio analytic / numeric that is the same (within `tol`)
    in every significant entry, and a round number: 2, 1/2, 10, 1/N...
    """
    if not np.all(np.isfinite(analytic)):
        return "not finite", "The analytic gradient contains nan or inf (an overflow in exp?)."
    if not np.any(analytic):
        return "never updated", ("The analytic gradient is exactly zero but the loss does "
                                 "change with it: this parameter is never updated. Is its "
                                 "gradient computed at all?")
    ratios = analytic[significant] / numeric[significant]
    r = float(np.median(ratios)) if ratios.size else 0.0
    if r == 0 or np.ptp(ratios) > tol * abs(r):
        return "wrong", GENERIC
    size = max(abs(r), 1 / abs(r))
    factor = round(size)
    if abs(size - factor) > tol * size or r > 0 and factor == 1:
        return "wrong", GENERIC
    if factor == 1:  # r = -1
        return "sign error", ("analytic = -numeric in every entry: a sign error (e.g. "
                              "(y - y_hat) where (y_hat - y) belongs).")
    kind, article = ("missing", "a") if abs(r) < 1 else ("extra", "an")
    verdict, sign = ("sign error", ", and a sign error") if r < 0 else (f"{kind} factor", "")
    return verdict, (f"analytic = {r:.4g} x numeric in every entry: {article} {kind} factor of "
                     f"{factor}{sign} "
                     "(the 2 of the squared error? a mean vs a sum? a learning rate?).")


def _carried_back_note(rows: list[ParameterCheck]) -> list[str]:
    """A note when the last parameters are right and all the earlier ones wrong."""
    flags = [row.ok for row in rows]
    if flags[0] or not flags[-1] or flags != sorted(flags):
        return []
    right = ", ".join(_label(row.name) for row in rows if row.ok)
    wrong = ", ".join(_label(row.name) for row in rows if not row.ok)
    return [f"{right} are right but {wrong}, before them, are wrong: the error is not carried "
            "back correctly. Check the step delta_hidden = (W_out^T delta_out) * "
            "sigmoid'(z_hidden): the transpose, the derivative taken of the right value, and "
            "W_out as it was in the forward pass (before any update)."]


def _check_network(net: Any, X: Any, y: Any, rtol: float, atol: float) -> GradientReport:
    """Check ``net.gradients(X, y)`` against ``net.loss(X, y)``; the net is left unchanged."""
    layers = net.layers
    saved = [(layer.weights.copy(), layer.bias.copy()) for layer in layers]

    def write(params: Mapping[str, np.ndarray]) -> None:
        for i, layer in enumerate(layers, start=1):
            layer.weights[...] = params[f"W{i}"]
            layer.bias[...] = params[f"b{i}"]

    def loss_fn(params: Mapping[str, np.ndarray]) -> float:
        write(params)
        return net.loss(X, y)

    def grad_fn(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        write(params)
        return {f"{kind}{i}": grad for i, pair in enumerate(net.gradients(X, y), start=1)
                for kind, grad in zip("Wb", pair, strict=True)}

    params = {f"{kind}{i}": array for i, pair in enumerate(saved, start=1)
              for kind, array in zip("Wb", pair, strict=True)}
    try:
        dtype = np.dtype(getattr(net, "dtype", layers[0].weights.dtype))
        return _check(loss_fn, grad_fn, params, rtol, atol, dtype)
    finally:
        for layer, (weights, bias) in zip(layers, saved, strict=True):
            layer.weights[...] = weights
            layer.bias[...] = bias


def _split(params: Any) -> tuple[list[str | int], list[np.ndarray], Callable[[list], Any]]:
    """Names, float64 copies of the values, and a function rebuilding the caller's structure."""
    if isinstance(params, Mapping):
        names: list[str | int] = list(params)
    elif isinstance(params, list | tuple):
        names = list(range(len(params)))
    else:
        raise TypeError(f"params must be a dict or a list of arrays, got {type(params).__name__}")
    if not names:
        raise ValueError("params is empty: there is nothing to check")
    values = [_as_array(params[n], f"parameter {_label(n)}") for n in names]
    # Learners write w11 = 0.3: pass such parameters back as Python floats.
    is_float = [v.ndim == 0 and not isinstance(params[n], np.ndarray)
                for n, v in zip(names, values, strict=True)]

    def rebuild(current: list[np.ndarray]) -> Any:
        items = [float(v) if f else v.copy() for v, f in zip(current, is_float, strict=True)]
        if isinstance(params, Mapping):
            return dict(zip(names, items, strict=True))
        return tuple(items) if isinstance(params, tuple) else items

    return names, values, rebuild


def _match_structure(grads: Any, params: Any, names: list[str | int]) -> list[Any]:
    """The gradients in the order of `names`, after checking they mirror `params`."""
    if isinstance(params, Mapping):
        if not isinstance(grads, Mapping):
            raise TypeError(f"params is a dict, so grad_fn must return a dict with the same "
                            f"keys; it returned {type(grads).__name__}")
        missing = [n for n in names if n not in grads]
        extra = [k for k in grads if k not in params]
        if missing or extra:
            raise ValueError(f"grad_fn must return one gradient per parameter: missing "
                             f"{missing}, unexpected {extra} (expected keys {names})")
        return [grads[n] for n in names]
    if not isinstance(grads, list | tuple) or len(grads) != len(names):
        got = len(grads) if isinstance(grads, list | tuple) else type(grads).__name__
        raise ValueError(f"params has {len(names)} entries, so grad_fn must return a list of "
                         f"{len(names)} gradients; it returned {got}")
    return list(grads)


def _check_shape(name: str | int, value: np.ndarray, grad: np.ndarray) -> None:
    if grad.shape != value.shape:
        hint = " (it looks transposed)" if grad.shape == value.shape[::-1] else ""
        raise ValueError(f"the gradient of {_label(name)} has shape {grad.shape} but the "
                         f"parameter has shape {value.shape}{hint}; a gradient must have "
                         "the shape of its parameter")


def _as_array(value: Any, what: str) -> np.ndarray:
    """A float64 copy of `value`, or a TypeError saying what was wrong."""
    try:
        kind = "O" if value is None else np.asarray(value).dtype.kind
    except ValueError:  # a ragged list such as [np.zeros(2), np.zeros(3)]
        kind = "O"
    if kind not in "biuf":
        raise TypeError(f"{what} must be a number or an array of numbers, "
                        f"got {type(value).__name__}")
    return np.array(value, dtype=np.float64)  # always a copy


def _as_loss(value: Any) -> float:
    """The loss as a float, or a clear error when it is not one finite number."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "fiu":
        raise ValueError(f"loss_fn must return a single number, got {type(value).__name__} "
                         f"of shape {array.shape}; average the per-sample losses (np.mean)")
    loss = float(array.reshape(()))
    if not math.isfinite(loss):
        raise ValueError(f"loss_fn returned {loss}; the check needs a finite loss")
    return loss


def _is_low_precision(dtype: np.dtype) -> bool:
    return dtype.kind == "f" and np.finfo(dtype).eps > np.finfo(np.float64).eps


def _label(name: str | int) -> str:
    return f"params[{name}]" if isinstance(name, int) else str(name)
