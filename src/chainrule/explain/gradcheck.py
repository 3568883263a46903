"""Check a hand-written backward pass, and name the mistake.

When a network "doesn't learn", the usual suspect is the gradient. :func:`check_gradients`
measures the slope of the learner's loss directly, one parameter entry at a time (the
*numeric* gradient), at several parameter points (the learner's own, random ones, and one
after a few training steps), and compares it with the gradient the learner's code computes::

    report = check_gradients(loss_fn, grad_fn, params, X=X, y=y)
    print(report)
    report.mistakes          # {"w1": "wrong-input", "w2": "wrong-input"}

Then it names the mistake. It identifies the learner's network from their parameters and loss
(:mod:`.identify`), computes the classic wrong gradients of that network (:mod:`.mistakes`) and
says which one the learner's numbers are, with their formula beside the right one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import checks
from . import words
from .discover import data_candidates
from .identify import identify, match_gradient, match_loss, networks, variants
from .mistakes import CODES, Finding, explain
from .model import Model
from .params import Caller, Params, as_loss, label

__all__ = ["GradientReport", "ParameterCheck", "check_gradients", "CODES"]

LOW_PRECISION_RTOL = 1e-2  # float32 keeps about 7 digits; a finite difference keeps ~3 of them
LOW_PRECISION_ATOL = 1e-2
NUMERIC_BUDGET = 4_000  # numeric slopes taken in all (entries x points); beyond: a sample
TRAINING_STEPS = 5
COLUMNS = ("parameter", "shape", "max abs error", "max rel error", "worst index", "mistake")


@dataclass
class ParameterCheck:
    """One row of a :class:`GradientReport`: the comparison for one parameter.

    ``mistake`` is a code of :data:`CODES` when the gradient is wrong (None when right),
    ``yours`` and ``right`` the learner's formula and the right one, ``factor`` the constant
    ``yours / right`` where there is one, ``point`` the index of the parameter point where the
    worst entry was found (0: the learner's own parameters).
    """

    name: str | int
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float
    verdict: str
    explanation: str = ""
    mistake: str | None = None
    yours: str = ""
    right: str = ""
    factor: float | None = None
    point: int = 0

    @property
    def ok(self) -> bool:
        """True when the analytic gradient matches the numeric one."""
        return self.verdict == "ok"

    def cells(self) -> list[str]:
        """The row as table cells, in the order of `COLUMNS`."""
        index = str(list(self.worst_index)) if self.worst_index else "-"
        shape = str(self.shape) if self.shape else "scalar"
        return [label(self.name), shape, f"{self.max_abs_error:.2e}",
                f"{self.max_rel_error:.2e}", index, self.mistake or self.verdict]


@dataclass
class GradientReport:
    """The result of :func:`check_gradients`: one :class:`ParameterCheck` per parameter.

    ``network`` describes the network identified from the learner's parameters and loss (empty
    when none was), ``points`` says where the gradients were compared.
    """

    rows: list[ParameterCheck]
    notes: list[str] = field(default_factory=list)
    rtol: float = 1e-5
    atol: float = 1e-3
    network: str = ""
    points: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every parameter's gradient is right."""
        return all(row.ok for row in self.rows)

    @property
    def failed(self) -> list[str | int]:
        """Names (dict keys, or list indices) of the parameters whose gradient is wrong."""
        return [row.name for row in self.rows if not row.ok]

    @property
    def mistakes(self) -> dict[str | int, str]:
        """``{parameter: mistake code}`` for every wrong parameter."""
        return {row.name: row.mistake or "unexplained" for row in self.rows if not row.ok}

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
        lines = [f"Gradient check: {summary} (rtol={self.rtol:g}, atol={self.atol:g}; "
                 f"{len(self.points)} point{'s' if len(self.points) != 1 else ''})"]
        if self.network:
            lines.append(f"Your network: {self.network}")
        lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
                  for cells in table]
        lines += [row.explanation for row in self.rows if not row.ok]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


def check_gradients(loss_fn: Any, grad_fn: Any, params: Any, *, X: Any = None, y: Any = None,
                    rtol: float = 1e-5, atol: float = 1e-3, seed: int = 0) -> GradientReport:
    r"""Compare a hand-written gradient with central finite differences, and name the mistake.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``, the loss for the given parameters; also accepted:
        ``loss_fn(params, X, y)`` when ``X`` and ``y`` are given, and ``loss_fn(**params)``
        (``def loss(w1, b1, w2, b2)``). Alternatively a chainrule ``Network``: then call
        ``check_gradients(net, X, y)``.
    grad_fn : callable
        Called like ``loss_fn``; returns the gradient in the structure of `params` (or, for
        a dict, a list in the order of its keys), each entry with the shape of its parameter.
    params : dict, list or tuple
        ``{name: float or ndarray}`` (e.g. ``{"w11": 0.3, "b1": 0.0}``), a list of arrays, or
        nested lists such as ``[weights, biases]``. Never modified: the check works on float64
        copies, and passes floats back as floats.
    X, y : array-like, optional
        The data the loss is computed on. With them (or when ``loss_fn`` reads them from
        globals, closures or ``self``, where they are found), the check identifies the network
        and names each mistake; without, it names only not-computed, sign and scale mistakes.
    rtol, atol : float
        Tolerances of the criterion below.
    seed : int
        Seed of the random parameter points.

    Returns
    -------
    GradientReport
        ``.ok``, ``.failed``, ``.mistakes``, one row per parameter and ``.notes``; ``print`` it.

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
    gradients (such as those of a saturated sigmoid) are compared in absolute terms. This is
    done at three or four points: the given parameters, random ones near them, and the
    parameters after a few steps of gradient descent, so that mistakes that vanish at one
    point (a ReLU mask dropped while every unit is active) still show. If the loss, the
    gradients or the network are float32, the tolerances are raised to at least 1e-2.

    A wrong structure (missing key, wrong length, wrong shape) raises ``ValueError`` naming
    the parameter; a non-numeric value raises ``TypeError``. A gradient with nan or inf is
    reported as a failing parameter with the verdict "not finite".
    """
    rtol, atol = checks.number(rtol, "rtol", strict=True), checks.number(atol, "atol", strict=True)
    seed = checks.integer(seed, "seed", minimum=0)
    if all(hasattr(loss_fn, attr) for attr in ("layers", "loss", "gradients")):
        return _check_network(loss_fn, grad_fn, params, rtol, atol)
    P = Params.of(params)
    data = None if X is None or y is None else (X, y)
    loss_call = Caller(loss_fn, P, data, "loss_fn")
    grad_call = Caller(grad_fn, P, data, "grad_fn")
    checker = Checker(P, loss_call, data, (loss_fn, grad_fn), rtol, atol, seed)

    def grads_at(theta: np.ndarray) -> np.ndarray:
        structure = P.build(theta)
        result = grad_call(structure)
        checker.dtypes.add(_float_kind(result))
        moved = P.theta(structure) - theta
        if np.any(moved):
            checker.moved = moved
        return P.vector(result)

    return checker.run(grads_at)


# -- the check -------------------------------------------------------------------------------
class Checker:
    """Compares a learner's gradient with the numeric one at several points and names the
    mistakes; shared by :func:`check_gradients` and :func:`~.update.check_update`."""

    def __init__(self, params: Params, loss_call: Callable[[Any], Any],
                 data: tuple[Any, Any] | None, functions: tuple[Any, ...], rtol: float,
                 atol: float, seed: int, rate: float | None = None,
                 what: str = "analytic") -> None:
        self.P = params
        self.loss_call = loss_call
        self.data = data
        self.functions = functions
        self.rtol, self.atol = rtol, atol
        self.rng = np.random.default_rng(seed)
        self.rate = rate
        self.what = what
        self.dtypes: set[str] = set()
        self.moved: np.ndarray | None = None  # how grad_fn changed the parameters it was given
        self.notes: list[str] = []
        self.found_data = False  # data found where the learner's functions read it

    def loss_at(self, theta: np.ndarray) -> float:
        """The learner's loss at ``theta``, as a float."""
        return as_loss(self.loss_call(self.P.build(theta)))

    def run(self, grads_at: Callable[[np.ndarray], np.ndarray]) -> GradientReport:
        P = self.P
        theta0 = P.theta()
        raw = self.loss_call(P.build(theta0))
        loss0 = as_loss(raw)
        if not math.isfinite(loss0):
            raise ValueError(f"loss_fn returned {loss0}; the check needs a finite loss")
        self.dtypes.add(_float_kind(raw))
        probes = [theta0] + [self.perturbed(theta0, k) for k in range(3)]
        model = self.identify(probes)
        points = [theta0, probes[1]]
        labels = ["your parameters", "random parameters near them"]
        centred = self.centred(probes[1], model)
        if centred is not None:
            points.append(centred)
            labels.append("parameters that half-activate every hidden unit")
        trained = self.trained(theta0, model)
        if trained is not None:
            points.append(trained)
            labels.append(f"after {TRAINING_STEPS} steps of gradient descent")
        if P.size * 4 <= NUMERIC_BUDGET:
            points.append(probes[2])
            labels.append("other random parameters")
        user = []
        for theta in points:
            self.moved = None
            user.append(grads_at(theta.copy()))
            if self.moved is not None and self.rate is None:
                self.rate = self.rate_from_moves(user[-1], self.moved)
        numeric = self.numeric(points, model)
        report = self.compare(points, user, numeric)
        report.points = self.labels = labels
        if not report.ok:
            self.name_mistakes(report, model, points, user, numeric)
        if model is not None:
            report.network = model.describe()
            self.notes.insert(0, f"notation: {words.Namer(model, self.entry_names()).notation()}")
            self.notes.extend(_bias_notes(model))
        elif not report.network:  # (a network found from the gradient: the loss is wrong)
            call = ("check_update(step, params, loss_fn, learning_rate, X=X, y=y)"
                    if self.what == "implied" else
                    "check_gradients(loss_fn, grad_fn, params, X=X, y=y)")
            if self.data is None and not self.found_data:
                note = (f"to name the mistakes, pass your data: {call}, so that the check can "
                        "identify your network")
            else:
                note = ("no network of standard layers, activations and losses gives your loss "
                        "on the data, so only not-computed, sign and scale mistakes are named")
                if self.data is None:
                    note += (f" (the data were guessed from the names your functions read: if "
                             f"they are not the samples your loss uses, pass them: {call})")
            self.notes.append(note)
        report.notes = self.notes + report.notes
        return report

    # -- points --------------------------------------------------------------------------------
    def perturbed(self, theta: np.ndarray, k: int) -> np.ndarray:
        """``theta`` plus noise of a quarter, a half, three quarters of its own size (of 0.5
        where it is all zero): new points, not so far that learners' losses saturate."""
        scale = float(np.sqrt(np.mean(theta**2))) or 0.5
        return theta + self.rng.normal(scale=scale * 0.25 * (1 + k), size=theta.shape)

    def centred(self, theta: np.ndarray, model: Model | None) -> np.ndarray | None:
        """``theta`` with each hidden bias moved so that its unit's net input is near 0 for the
        middle sample: every ReLU is then off for some samples and on for others, and every
        sigmoid far from saturation. A mistake hidden while every unit is on (a dropped ReLU
        mask) shows here."""
        if model is None or not model.standard:
            return None
        theta = theta.copy()
        changed = False
        for l, m in enumerate(model.layout.layers[:-1], start=1):
            if m.b is None:
                continue
            Z = model.forward(theta).Z[l]
            spread = np.where(Z.std(axis=0) > 0, Z.std(axis=0), 0.5)
            offset = self.rng.uniform(-0.3, 0.3, size=Z.shape[1]) * spread
            theta[m.b] -= np.median(Z, axis=0) + offset
            changed = True
        return theta if changed else None

    def trained(self, theta: np.ndarray, model: Model | None) -> np.ndarray | None:
        """A few steps of gradient descent on the true gradient, with a step that lowers the
        loss (the identified network's gradient, or the numeric one for small problems)."""
        exact = model is not None and model.standard
        if not exact and self.P.size > 200:
            return None
        gradient = model.gradient if exact else self.numeric_gradient
        loss = self.loss_at(theta)
        step = 1.0
        for _ in range(TRAINING_STEPS):
            g = gradient(theta)
            if not np.all(np.isfinite(g)) or not np.any(g):
                break
            for _ in range(20):
                candidate = theta - step * g
                new = self.loss_at(candidate)
                if math.isfinite(new) and new < loss:
                    theta, loss = candidate, new
                    step *= 2
                    break
                step /= 4
        return theta

    # -- identification ----------------------------------------------------------------------
    def identify(self, thetas: list[np.ndarray]) -> Model | None:
        pairs = [self.data] if self.data is not None else data_candidates(
            *self.functions, exclude=(self.P.structure,))
        self.found_data = bool(pairs)
        rtol = 1e-4 if "f32" in self.dtypes else 1e-6
        for X, y in pairs:
            try:
                model = identify(self.P, X, y, thetas, self.loss_at, rtol)
            except (ValueError, TypeError, FloatingPointError):
                continue
            if model is not None:
                return model
        return None

    # -- numbers -------------------------------------------------------------------------------
    def numeric_gradient(self, theta: np.ndarray, entries: np.ndarray | None = None
                         ) -> np.ndarray:
        """Central differences for every entry of ``theta`` (or only ``entries``)."""
        eps = max(np.finfo(np.float32 if "f32" in self.dtypes else np.float64).eps,
                  np.finfo(np.float64).eps)
        grad = np.full(theta.size, np.nan)
        x = theta.copy()
        for i in range(theta.size) if entries is None else entries:
            old = x[i]
            h = eps ** (1 / 3) * max(1.0, abs(old))
            x[i] = old + h
            up = self.loss_at(x)
            x[i] = old - h
            down = self.loss_at(x)
            x[i] = old
            grad[i] = (up - down) / (2 * h)
        return grad

    def numeric(self, points: list[np.ndarray], model: Model | None) -> list[np.ndarray]:
        """The numeric gradient at every point, within a budget of entries.

        Small problems get every entry at every point. Beyond the budget, the identified
        network's own gradient stands in for it, once a sample of entries at every point
        agrees with it; without a network, a sample of entries is taken (NaN elsewhere: those
        entries are not compared).
        """
        P = self.P
        if P.size * len(points) <= NUMERIC_BUDGET:
            return [self.numeric_gradient(theta) for theta in points]
        per_point = max(64, NUMERIC_BUDGET // (2 * len(points)))
        samples = [np.sort(self.rng.choice(P.size, size=min(P.size, per_point), replace=False))
                   for _ in points]
        sampled = [self.numeric_gradient(t, s) for t, s in zip(points, samples, strict=True)]
        if model is not None and model.standard:
            exact = [model.gradient(t) for t in points]
            if all(np.allclose(g[s], n[s], rtol=1e-4, atol=1e-8 * max(1.0, np.abs(n[s]).max()))
                   for g, n, s in zip(exact, sampled, samples, strict=True)):
                self.notes.append(f"your network has {P.size} parameter entries: the numeric "
                                  f"gradient was taken at {per_point} entries per point, which "
                                  "agree with your identified network's own gradient, used for "
                                  "the rest")
                return exact
        self.notes.append(f"your network has {P.size} parameter entries: the numeric gradient "
                          f"was taken at {per_point} random entries per point, and only those "
                          "were compared")
        return sampled

    def entry_names(self) -> list[str]:
        """The learner's name of every entry of theta: ``w11``, or ``W1[0, 1]``."""
        names = []
        for name, shape in zip(self.P.names, self.P.shapes, strict=True):
            base = label(name)
            names += [base] if not shape else [f"{base}{list(ix)}" for ix in np.ndindex(shape)]
        return names

    def rate_from_moves(self, grads: np.ndarray, moved: np.ndarray) -> float | None:
        """The learning rate of an update ``grad_fn`` made to its own parameters."""
        mask = moved != 0
        if not np.any(grads[mask]):
            return None
        rate = -float(moved[mask] @ grads[mask] / (grads[mask] @ grads[mask]))
        self.notes.append("grad_fn changed the parameters it was given (an update of "
                          f"learning rate {rate:.4g}); a gradient function should only compute")
        return rate if rate > 0 else None

    # -- comparison ----------------------------------------------------------------------------
    def compare(self, points: list[np.ndarray], user: list[np.ndarray],
                numeric: list[np.ndarray]) -> GradientReport:
        rtol, atol = self.rtol, self.atol
        if "f32" in self.dtypes:
            rtol, atol = max(rtol, LOW_PRECISION_RTOL), max(atol, LOW_PRECISION_ATOL)
            self.notes.append(
                f"float32 found in your loss or gradients. float32 keeps only about 7 digits, "
                f"so this check used looser tolerances (rtol={rtol:g}, atol={atol:g}) and "
                "cannot see errors below about 1%. Compute in float64 for a sharp check.")
        rows = []
        for i, name in enumerate(self.P.names):
            worst: tuple[float, ParameterCheck] | None = None
            for k, (theta, mine, num) in enumerate(zip(points, user, numeric, strict=True)):
                a, n = self.P.leaf(mine, i), self.P.leaf(num, i)
                keep = ~np.isnan(n)
                loss = abs(self.loss_at(theta))
                largest = float(np.nanmax(np.abs(num), initial=0.0))
                floor = np.maximum(atol * np.maximum(loss / np.maximum(1, np.abs(
                    self.P.leaf(theta, i))), largest), np.finfo(np.float64).tiny)
                row = _row(name, a, n, floor, keep, k)
                if worst is None or row.max_rel_error > worst[0] or \
                        not math.isfinite(row.max_rel_error):
                    worst = (row.max_rel_error if math.isfinite(row.max_rel_error)
                             else math.inf, row)
            row = worst[1]
            finite = all(np.all(np.isfinite(self.P.leaf(u, i))) for u in user)
            row.verdict = "ok" if finite and row.max_rel_error <= rtol else \
                "not finite" if not finite else "wrong"
            rows.append(row)
        return GradientReport(rows, [], rtol, atol)

    # -- naming --------------------------------------------------------------------------------
    def name_mistakes(self, report: GradientReport, model: Model | None,
                      points: list[np.ndarray], user: list[np.ndarray],
                      numeric: list[np.ndarray]) -> None:
        P = self.P
        wrong = {i for i, row in enumerate(report.rows) if not row.ok}
        match_rtol = 1e-4 if "f32" in self.dtypes else 1e-6
        findings: dict[int, Finding] = {}
        forward_words = ""
        if model is not None and not model.standard:
            code = "activation-applied-twice" if model.twice else "forward-pass"
            findings = {i: Finding(code) for i in wrong}
            forward_words = _forward_words(model)
        elif model is not None and self.penalty_mismatch(model, points, user) is not None:
            findings = {i: Finding("forward-pass") for i in wrong}
            forward_words = self.penalty_mismatch(model, points, user)
        elif model is not None:
            true = [model.gradient(t) for t in points]
            leaf_of = np.repeat(np.arange(len(P)), np.diff(P.offsets))
            findings = explain(model, points, user, true, leaf_of, match_rtol, self.rate)
        elif self.data is not None or self.found_data:
            standard = self.forward_pass(points, user, match_rtol)
            if standard is not None:
                findings = {i: Finding("forward-pass") for i in wrong}
                forward_words = self.forward_where(standard, points)
                report.network = f"{standard.describe()} (from your gradient: your loss differs)"
        inherited = _first_layer_with_own_mistake(findings)
        namer = words.Namer(model, self.entry_names()) if model is not None else None
        for i in wrong:
            row = report.rows[i]
            found = findings.get(i) or _pattern(P, i, user, numeric)
            row.mistake = found.code or "unexplained"
            row.factor = found.factor if found.factor == found.factor else None
            if namer is not None and found.layer:
                row.right = namer.right(found)
                row.yours = namer.yours(found, inherited.get(found.layer))
            elif found.code in ("sign", "scale") and found.factor == found.factor:
                row.yours = f"{words.factor_words(found.factor, _samples(model))} × the right " \
                            "gradient"
            if found.code in ("forward-pass", "activation-applied-twice") and forward_words:
                row.yours = forward_words
            row.explanation = _explanation(row, self.what, self.labels)
        self.notes.extend(_structure_notes(report, model, findings))

    def penalty_mismatch(self, model: Model, points: list[np.ndarray],
                         user: list[np.ndarray]) -> str | None:
        """Words for an L2 term of the gradient that is not the one of the loss's penalty: left
        out, added, another constant or sign (in every layer or some), or on the biases too.
        ``None`` unless the learner's gradient is exactly the data's gradient plus
        ``a_l W_l`` in each layer ``l`` and ``c b`` on the biases, for some ``a_l, c``."""
        mine = np.concatenate(user)
        bare = replace(model, decay=0.0)
        plain = np.concatenate([bare.gradient(t) for t in points])
        L = len(model.layout.layers)
        columns = [np.concatenate([_layer_part(bare, t, l, "W") for t in points])
                   for l in range(L)]
        columns += [np.concatenate([_layer_part(bare, t, l, "b") for t in points])
                    for l in range(L)]
        basis = np.column_stack(columns)
        used = [bool(np.any(column)) for column in columns]
        if not any(used[:L]):
            return None
        coefficients, *_ = np.linalg.lstsq(basis[:, used], mine - plain, rcond=None)
        full = np.zeros(2 * L)
        full[np.flatnonzero(used)] = coefficients
        full[np.abs(full) < 1e-9] = 0.0
        if not np.allclose(mine, plain + basis @ full, rtol=1e-6, atol=1e-12):
            return None
        right, layers, on_biases = 2 * model.decay, full[:L], full[L:]
        wrong = [l for l in range(L) if abs(layers[l] - right) > 1e-6 * max(abs(right), 1e-12)]
        if not wrong and not np.any(on_biases):
            return None
        parts = []
        where = "every layer's weight gradient" if len(wrong) == L else \
            "layer " + ", ".join(str(l + 1) for l in wrong) + "'s weight gradient"
        same = wrong and np.allclose(layers[wrong], layers[wrong[0]], rtol=1e-6, atol=1e-12)
        a = float(layers[wrong[0]]) if same else None
        if wrong and a is None:
            parts.append("your gradient's L2 terms differ from layer to layer ("
                         + ", ".join(f"{layers[l]:.4g}·W{l + 1}" for l in range(L))
                         + f") where your loss's penalty {model.decay:.4g}·Σ W² gives "
                         f"{right:.4g}·W in every layer")
        elif wrong and model.decay and a == 0:
            parts.append(f"your loss adds an L2 penalty, {model.decay:.4g}·Σ W², that your "
                         f"gradient leaves out of {where} (its gradient is "
                         f"2·{model.decay:.4g}·W)")
        elif wrong and not model.decay:
            parts.append(f"your gradient adds {a:.4g}·W to {where}, the gradient of "
                         f"an L2 penalty {a / 2:.4g}·Σ W² that your loss does not have")
        elif wrong:
            ratio = a / right
            why = "a sign error" if abs(ratio + 1) < 1e-6 else \
                f"{ratio:.4g} times it (a missing or extra 1/m, or 2?)"
            parts.append(f"your gradient adds {a:.4g}·W to {where} where your "
                         f"loss's L2 penalty {model.decay:.4g}·Σ W² gives {right:.4g}·W: {why}")
        if np.any(on_biases):
            terms = ", ".join(f"{c:.4g}·b{l + 1}" for l, c in enumerate(on_biases) if c)
            parts.append(f"your gradient adds {terms} to the biases' gradients, a penalty on "
                         "the biases that your loss does not have (biases are usually not "
                         "penalised)")
        return "; ".join(parts)

    def forward_pass(self, points: list[np.ndarray], user: list[np.ndarray],
                     rtol: float) -> Model | None:
        """A standard network whose true gradient is the learner's, though its loss is not."""
        X, y = self.data if self.data is not None else (None, None)
        pairs = [(X, y)] if X is not None else data_candidates(*self.functions,
                                                               exclude=(self.P.structure,))
        for X, y in pairs:
            try:
                found = match_gradient(networks(self.P, X, y), points, user, rtol)
            except (ValueError, TypeError):
                continue
            if found is not None:
                return found
        return None

    def forward_where(self, model: Model, points: list[np.ndarray]) -> str:
        """Where the learner's loss differs from the network their gradient belongs to."""
        losses = np.array([self.loss_at(t) for t in points])
        variant = match_loss((replace(v, scale=1.0) for v in variants(model)), points, losses)
        if variant is not None:
            return _forward_words(variant) + f", while your gradient is that of {model.describe()}"
        ours = model.loss(points[0])
        return (f"your gradient is exactly that of {model.describe()}, but your loss is not "
                f"that network's loss: {self.loss_at(points[0]):.6g} where it gives "
                f"{ours:.6g} at your parameters; the mistake is in the loss's forward pass")


def _row(name: str | int, analytic: np.ndarray, numeric: np.ndarray, floor: np.ndarray,
         keep: np.ndarray, point: int) -> ParameterCheck:
    with np.errstate(invalid="ignore"):
        abs_err = np.where(keep, np.abs(analytic - numeric), 0.0)
        rel_err = abs_err / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    rel_err = np.where(np.isnan(rel_err), np.inf, rel_err) if not np.all(
        np.isfinite(analytic)) else np.where(keep, rel_err, 0.0)
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(rel_err), rel_err.shape))
    return ParameterCheck(name, analytic.shape, float(np.max(abs_err)), float(np.max(rel_err)),
                          worst, float(analytic[worst]), float(numeric[worst]), "ok",
                          point=point)


def _pattern(P: Params, i: int, user: list[np.ndarray], numeric: list[np.ndarray]) -> Finding:
    """What the numbers alone say, without the network: never computed, a sign, a factor."""
    mine = np.concatenate([P.leaf(u, i).reshape(-1) for u in user])
    right = np.concatenate([P.leaf(n, i).reshape(-1) for n in numeric])
    keep = ~np.isnan(right)
    mine, right = mine[keep], right[keep]
    if not np.all(np.isfinite(mine)):
        return Finding("unexplained", float("nan"))
    if not np.any(mine):
        return Finding("not-computed", 0.0)
    significant = np.abs(right) > 1e-3 * np.max(np.abs(right), initial=0.0)
    if not np.any(significant):
        return Finding("unexplained", float("nan"))
    # one ratio in (nearly) every entry; a numeric slope across a kink (ReLU) may stray
    ratios = mine[significant] / right[significant]
    s = float(np.median(ratios))
    if s == 0 or np.mean(np.abs(ratios - s) <= 1e-3 * abs(s)) < 0.9:
        return Finding("unexplained", float("nan"))
    return Finding("sign" if abs(s + 1) < 1e-3 else "scale", s)


def _first_layer_with_own_mistake(findings: dict[int, Finding]) -> dict[int, int]:
    """For each layer whose findings are inherited, the layer above that made the error."""
    own = sorted({f.layer for f in findings.values() if f.choice is not None and
                  f.choice.codes("b")}, reverse=True)
    out = {}
    for f in findings.values():
        above = [layer for layer in own if layer > f.layer]
        if above:
            out[f.layer] = above[-1]
    return out


def _forward_words(model: Model) -> str:
    if model.root:
        return ("your loss takes the norm sqrt(Σ (a - t)²) (np.linalg.norm), not the sum of "
                "squares Σ (a - t)² whose gradient your code computes")
    if model.twice:
        act = model.activations[model.twice - 1]
        return (f"your loss applies {act} twice in layer {model.twice}: a{model.twice} = "
                f"{act}({act}(z{model.twice})) (a function that already returns {act}(z) fed "
                f"to {act} again)")
    return ("your loss normalises the softmax over the samples (axis 0: Python's sum of a 2-D "
            "array adds its rows) instead of over each sample's classes: use "
            "np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)")


def _samples(model: Model | None) -> int:
    return 0 if model is None else model.X.shape[0]


def _layer_part(model: Model, theta: np.ndarray, l: int, part: str) -> np.ndarray:
    """``theta`` with everything but layer ``l``'s weights (``part="W"``) or biases (``"b"``)
    set to zero: a direction of the L2 terms a gradient may add."""
    return model.layout.scatter([
        (W if part == "W" and k == l else np.zeros_like(W),
         b if part == "b" and k == l else np.zeros_like(b))
        for k, (W, b) in enumerate(model.layout.weights(theta))], theta.size)


def _explanation(row: ParameterCheck, what: str, points: list[str]) -> str:
    entry = label(row.name) + (str(list(row.worst_index)) if row.worst_index else "")
    where = "" if row.point == 0 else f", at {points[row.point]}"
    head = words.HEADLINES.get(row.mistake or "", "wrong")
    if row.verdict == "not finite":
        head = "not finite: the gradient contains nan or inf (an overflow in exp?)"
    lines = [f"{entry}: {what} {row.analytic:.6g} vs numeric {row.numeric:.6g} (worst "
             f"entry{where}). {row.mistake}: {head}."]
    if row.yours:
        lines.append(f"    yours: {row.yours}")
    if row.right:
        lines.append(f"    right: {row.right}")
    if row.mistake:
        lines.append(f"    fix:   {words.fix(row.mistake)}")
    return "\n".join(lines)


def _structure_notes(report: GradientReport, model: Model | None,
                     findings: dict[int, Finding]) -> list[str]:
    """"Not carried back" from the identified layers, never from the order of the keys: only
    when an earlier layer is wrong (not merely never computed) and every later one right."""
    if model is None:
        return []
    wrong = [f for i, f in findings.items() if not report.rows[i].ok and f.layer >= 1]
    if not wrong or any(f.code == "not-computed" for f in wrong):
        return []
    last = max(f.layer for f in wrong)
    L = len(model.layout.layers)
    if last == L or not any(f.code in ("not-carried-back", "unexplained") for f in wrong
                            if f.layer == last):
        return []
    later = ", ".join(m.weight_name for m in model.layout.layers[last:])
    return [f"the layers after layer {last} ({later}) are right but layer {last} is wrong: "
            f"the error is not carried back to it correctly (δ{last}), or layer {last}'s own "
            "formula is wrong; its row says which"]


def _bias_notes(model: Model) -> list[str]:
    """Gradients can be right in a network that cannot learn: one without biases, whose output
    at an input of zeros (XOR's ``[0, 0]``) is fixed whatever the weights, when every hidden
    activation has ``f(0) = 0`` (or there is no hidden layer)."""
    if any(m.b is not None for m in model.layout.layers):
        return []
    zero_rows = np.flatnonzero(~np.any(model.X, axis=1))
    hidden_zero = all(float(model.activate(name, np.zeros((1, 1)))[0, 0]) == 0
                      for name in model.activations[:-1])
    if not (zero_rows.size and hidden_zero):
        return []
    k = model.T.shape[1]
    out = model.activate(model.activations[-1], np.zeros((1, k)))[0]
    row = int(zero_rows[0])
    shown = ", ".join(f"{v:.3g}" for v in out)
    target = ", ".join(f"{v:.3g}" for v in model.T[row])
    return [f"your network has no biases: at the input of zeros (sample {row}) every net input "
            f"z is 0 whatever the weights, so the output is always {shown} there (target "
            f"{target}); gradients cannot change that: add a bias to every layer (z = x·W + b)"]


def _float_kind(value: Any) -> str:
    """``"f32"`` when ``value`` (or any array in it) is of low precision, else ``""``."""
    if isinstance(value, Mapping):
        return max((_float_kind(v) for v in value.values()), default="")
    if isinstance(value, list | tuple):
        return max((_float_kind(v) for v in value), default="")
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype.kind == "f" and np.finfo(dtype).eps > 1e-10:
        return "f32"
    return ""


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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check_gradients(loss_fn, grad_fn, params, X=X, y=y, rtol=rtol, atol=atol)
    finally:
        for layer, (weights, bias) in zip(layers, saved, strict=True):
            layer.weights[...] = weights
            layer.bias[...] = bias
