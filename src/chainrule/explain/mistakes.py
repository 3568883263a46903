"""The catalogue of classic backpropagation mistakes, and the search that names the learner's.

Backpropagation of one layer ``l`` has three parts, and each classic mistake changes one:

- the **error** ``delta_l = dL/dz_l``, from the gradient ``G_l = dL/da_l`` carried to the layer:
  ``delta_l = G_l * f'(z_l)``;
- the **carry** of the error to the layer below: ``G_{l-1} = delta_l W_l^T``;
- the **input** of the weight gradient: ``dW_l = a_{l-1}^T delta_l`` (and ``db_l = sum delta_l``).

Each entry of :data:`CATALOGUE` is one small function computing a part the wrong way, with its
mistake code, the formula the learner wrote and the fix. :func:`explain` walks the learner's
network from the output layer down and, at every layer, finds the combination of parts (the
right one, or a mistake) that reproduces the learner's numbers at every point checked, up to a
constant factor; the factor itself names a sign error or a missing constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .model import SYMBOL, Model, Pass

Array = np.ndarray

CODES = (
    "not-computed", "sign", "scale", "derivative-at-wrong-value", "derivative-missing",
    "derivative-extra", "wrong-input", "not-carried-back", "stale-weights",
    "activation-applied-twice", "forward-pass", "unexplained",
)
FIXES = {
    "not-computed": "compute this gradient (and apply its update) like the others",
    "sign": "use (a - t), the output minus the target, in dL/da, and subtract the gradient in "
            "the update: w -= lr * dL/dw",
    "scale": "take the constant from the loss you compute: 2 for a sum of squares, 1/n for a "
             "mean over n samples; no learning rate inside the gradient",
    "derivative-at-wrong-value": "take f' at the net input z of the same layer, written "
                                 "through its activation a = f(z) where that is simpler: "
                                 "sigmoid σ'(z) = a(1 - a), tanh'(z) = 1 - a², relu'(z) = "
                                 "(z > 0); a formula in a is never fed z, and f is never applied "
                                 "to a again",
    "derivative-missing": "multiply by f'(z) of the layer the error passes through",
    "derivative-extra": "apply f'(z) once per activation, and none where there is no activation "
                        "or where the loss already cancels it (sigmoid + cross-entropy: "
                        "dL/dz = a - t)",
    "wrong-input": "dW = (input of the layer)ᵀ · δ: the activations that enter the layer "
                   "(x for the first), not a weight, the layer's own output or z",
    "not-carried-back": "carry the error back through the same weights as the forward pass: "
                        "δ_below = (δ · Wᵀ) ⊙ f'(z_below), with the transpose and the right "
                        "entries",
    "stale-weights": "compute every layer's error first, with the weights of the forward pass; "
                     "update all weights only after the backward pass",
    "activation-applied-twice": "apply the activation once: a = f(z); a function that already "
                                "returns f(z) must not be fed to f again",
    "forward-pass": "fix the loss function's forward pass (see where it differs)",
    "unexplained": "re-derive this gradient with the chain rule, one factor at a time",
}


# -- the parts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One way of computing one part of a layer's backpropagation."""

    key: str
    code: str | None  # None: the right way
    compute: Callable[..., Array | None]
    yours: str  # the formula the learner wrote; {l}, {k} (= l - 1), {W}, {below} filled in


def _sigma_prime_of(A: Array) -> Array:
    return A * (1 - A)


# error parts: (model, layer, G, run, fused_output) -> delta_l
def _delta_right(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array:
    """``delta_l = G_l * f'(z_l)`` (``c (a - t)`` for a fused output)."""
    return m.scale * (run.A[l] - m.T) if fused else m.through(l, G, run)


def _delta_missing(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
    """``delta_l = G_l``: the derivative ``f'(z_l)`` left out."""
    if fused or m.activations[l - 1] == "identity":
        return None
    return G


def _delta_formula_on_z(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
    """``f'`` written for the activation (``a (1 - a)``) applied to ``z``: ``z (1 - z)``."""
    if fused or m.activations[l - 1] in ("softmax", "identity"):
        return None
    return G * m.derivative(l, run.Z[l], run.Z[l])


def _delta_at_activation(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
    """``f'(a_l) = f'(f(z_l))``: the derivative taken of the activation instead of ``z``."""
    if fused or m.activations[l - 1] in ("softmax", "identity"):
        return None
    A = run.A[l]
    return G * m.derivative(l, A, m.activate(m.activations[l - 1], A))


def _delta_twice(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
    """``G_l * f'(z_l) * f'(z_l)``, or ``c (a - t) * f'(z_L)`` where the loss cancels ``f'``."""
    name = m.activations[l - 1]
    if name == "softmax":
        return m.scale * (run.A[l] - m.T) * _sigma_prime_of(run.A[l]) if fused else None
    if name == "identity":
        return None
    derivative = m.derivative(l, run.Z[l], run.A[l])
    if fused:
        return m.scale * (run.A[l] - m.T) * derivative
    return G * derivative * derivative


OTHER_DERIVATIVES = {  # a derivative formula as learners write it, from z and a = f(z)
    "sigmoid": lambda Z, A: A * (1 - A),
    "tanh": lambda Z, A: 1 - A * A,
    "relu": lambda Z, A: (Z > 0) * 1.0,
}


def _on_linear(name: str) -> Callable[..., Array | None]:
    def compute(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
        """``G_l * g'(z_l)``: a derivative on a layer that has no activation."""
        if m.activations[l - 1] != "identity":
            return None
        return G * OTHER_DERIVATIVES[name](run.Z[l], run.A[l])
    return compute


def _other_function(name: str) -> Callable[..., Array | None]:
    def compute(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
        """``G_l * g'(z_l)``: another activation's derivative where ``f'`` belongs."""
        if fused or m.activations[l - 1] in (name, "identity", "softmax"):
            return None
        return G * OTHER_DERIVATIVES[name](run.Z[l], run.A[l])
    return compute


def _delta_activation(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
    """``G_l * a_l``: the activation where its derivative belongs."""
    if fused or m.activations[l - 1] in ("softmax", "identity"):
        return None
    return G * run.A[l]


def _delta_activation_of_a(m: Model, l: int, G: Array, run: Pass, fused: bool) -> Array | None:
    """``G_l * f(a_l)``: the activation function, fed ``a_l``, where its derivative belongs
    (``nonlin(a)`` for ``nonlin(a, deriv=True)``)."""
    if fused or m.activations[l - 1] in ("softmax", "identity", "relu"):
        return None
    return G * m.activate(m.activations[l - 1], run.A[l])


DELTAS = (
    Part("right", None, _delta_right, "δ{l} = dL/da{l} ⊙ {fprime}(z{l})"),
    Part("missing", "derivative-missing", _delta_missing,
         "δ{l} = dL/da{l}, without {fprime}(z{l})"),
    Part("formula on z", "derivative-at-wrong-value", _delta_formula_on_z,
         "{fprime} written for a{l} fed z{l}: {on_z}"),
    Part("at activation", "derivative-at-wrong-value", _delta_at_activation,
         "{fprime}(a{l}): the derivative taken at a{l} = {f}(z{l}) instead of at z{l}"),
    Part("twice", "derivative-extra", _delta_twice,
         "{fprime}(z{l}) applied twice, or on top of (a - t), where the loss cancels it"),
    Part("sigmoid' on linear", "derivative-extra", _on_linear("sigmoid"),
         "a{l}(1 - a{l}), a sigmoid's derivative, on layer {l}, which has no activation"),
    Part("tanh' on linear", "derivative-extra", _on_linear("tanh"),
         "1 - a{l}², a tanh's derivative, on layer {l}, which has no activation"),
    Part("relu' on linear", "derivative-extra", _on_linear("relu"),
         "(z{l} > 0), a ReLU's derivative, on layer {l}, which has no activation"),
    Part("sigmoid' for f'", "derivative-at-wrong-value", _other_function("sigmoid"),
         "a{l}(1 - a{l}), the sigmoid's derivative, where {f}'s belongs"),
    Part("tanh' for f'", "derivative-at-wrong-value", _other_function("tanh"),
         "1 - a{l}², tanh's derivative, where {f}'s belongs"),
    Part("relu' for f'", "derivative-at-wrong-value", _other_function("relu"),
         "(z{l} > 0), the ReLU's derivative, where {f}'s belongs"),
    Part("activation", "derivative-missing", _delta_activation,
         "δ{l} = dL/da{l}·a{l}: the activation a{l} where its derivative {fprime}(z{l}) "
         "belongs"),
    Part("activation of a", "derivative-missing", _delta_activation_of_a,
         "δ{l} = dL/da{l}·{f}(a{l}): the activation function where its derivative belongs "
         "(nonlin(a) for nonlin(a, deriv=True)?)"),
)


# carry parts: (model, l, delta_above, G_above, W_above, run) -> G_l (dL/da_l)
def _carry_right(m: Model, l: int, delta: Array, G: Array | None, W: Array,
                 run: Pass) -> Array:
    """``G_l = delta_{l+1} W_{l+1}^T``."""
    return delta @ W.T


def _carry_transposed(m: Model, l: int, delta: Array, G: Array | None, W: Array,
                      run: Pass) -> Array | None:
    """``delta_{l+1} W_{l+1}``: the transpose left out (square weights only)."""
    return delta @ W if W.shape[0] == W.shape[1] > 1 else None


def _carry_without_weights(m: Model, l: int, delta: Array, G: Array | None, W: Array,
                           run: Pass) -> Array | None:
    """``delta_{l+1}`` itself: the weights left out of the carry."""
    if delta.shape[1] == 1:
        return np.repeat(delta, W.shape[0], axis=1)
    return delta if delta.shape[1] == W.shape[0] else None


def _carry_before_derivative(m: Model, l: int, delta: Array, G: Array | None, W: Array,
                             run: Pass) -> Array | None:
    """``G_{l+1} W_{l+1}^T``: carried back before multiplying by ``f'(z_{l+1})``."""
    return None if G is None else G @ W.T


CARRIES = (
    Part("right", None, _carry_right, "dL/da{l} = {carry}"),
    Part("transposed", "not-carried-back", _carry_transposed,
         "dL/da{l} = δ{above}·{W_above} without the transpose"),
    Part("without weights", "not-carried-back", _carry_without_weights,
         "dL/da{l} = δ{above}, without the weights {W_above}"),
    Part("before derivative", "derivative-missing", _carry_before_derivative,
         "dL/da{l} = dL/da{above}·{W_above}ᵀ, carried back before {fprime_above}(z{above})"),
)


# input parts: (model, l, delta_l, run) -> dW_l
def _input_right(m: Model, l: int, delta: Array, run: Pass) -> Array:
    """``dW_l = a_{l-1}^T delta_l``."""
    return run.A[l - 1].T @ delta


def _input_weight(m: Model, l: int, delta: Array, run: Pass) -> Array:
    """``dW_l[i, j] = W_l[i, j] sum_n delta_l[n, j]``: the weight where the input belongs."""
    return run.weights[l - 1][0] * delta.sum(axis=0)


def _input_own_output(m: Model, l: int, delta: Array, run: Pass) -> Array | None:
    """``a_l^T delta_l``: the layer's own output where its input belongs."""
    return run.A[l].T @ delta if run.A[l].shape[1] == run.A[l - 1].shape[1] else None


def _input_net_input(m: Model, l: int, delta: Array, run: Pass) -> Array | None:
    """``z_{l-1}^T delta_l``: the net input of the layer below where its activation belongs."""
    return run.Z[l - 1].T @ delta if l > 1 else None


def _input_x(m: Model, l: int, delta: Array, run: Pass) -> Array | None:
    """``x^T delta_l``: the network's input where this layer's input belongs."""
    if l == 1 or run.A[0].shape[1] != run.A[l - 1].shape[1]:
        return None
    return run.A[0].T @ delta


def _input_none(m: Model, l: int, delta: Array, run: Pass) -> Array:
    """``sum_n delta_l``: the input left out of the product."""
    return np.broadcast_to(delta.sum(axis=0), run.weights[l - 1][0].shape)


def _input_twice(m: Model, l: int, delta: Array, run: Pass) -> Array | None:
    """``f(a_{l-1})^T delta_l``: the activation applied again to ``a_{l-1} = f(z_{l-1})``."""
    if l == 1 or m.activations[l - 2] in ("identity", "relu", "softmax"):
        return None
    return m.activate(m.activations[l - 2], run.A[l - 1]).T @ delta


def _input_transposed(m: Model, l: int, delta: Array, run: Pass) -> Array | None:
    """``(a_{l-1}^T delta_l)^T``: the product in the wrong order (square weights only)."""
    W = run.weights[l - 1][0]
    return (run.A[l - 1].T @ delta).T if W.shape[0] == W.shape[1] > 1 else None


INPUTS = (
    Part("right", None, _input_right, "d{W} = {dW}"),
    Part("transposed", "wrong-input", _input_transposed,
         "d{W} transposed: the product of δ{l} and {input} in the wrong order"),
    Part("weight", "wrong-input", _input_weight,
         "d{W} = δ{l}·{W}: the weight itself where the input {input} belongs"),
    Part("own output", "wrong-input", _input_own_output,
         "d{W} from a{l}, the layer's own output, where its input {input} belongs"),
    Part("net input", "wrong-input", _input_net_input,
         "d{W} from z{k}, where a{k} = {f_below}(z{k}) belongs"),
    Part("network input", "wrong-input", _input_x,
         "d{W} from x, the network's input, where a{k} belongs"),
    Part("no input", "wrong-input", _input_none,
         "d{W} = Σ δ{l}: the input {input} left out"),
    Part("twice", "activation-applied-twice", _input_twice,
         "d{W} from {f_below}(a{k}): the activation applied again to a{k} = {f_below}(z{k})"),
)


# -- matching ------------------------------------------------------------------------------------
def factor(user: Array, ours: Array, rtol: float) -> float | None:
    """``s`` with ``user = s * ours`` (within ``rtol`` of their norms), or None."""
    norm = float(np.linalg.norm(ours))
    if norm == 0 or not np.all(np.isfinite(ours)):
        return None
    s = float(user @ ours) / norm**2
    if s == 0:
        return None
    scale = max(float(np.linalg.norm(user)), abs(s) * norm)
    return s if float(np.linalg.norm(user - s * ours)) <= rtol * scale else None


@dataclass
class Unit:
    """The entries of one parameter that belong to one part (weights or bias) of one layer."""

    leaf: int
    layer: int
    kind: str  # "W" or "b"
    entries: Array  # boolean mask over the layer's W (or b) entries

    def values(self, per_point: list[tuple[Array, Array]]) -> Array:
        """This unit's entries of ``(dW, db)`` at every point, one vector."""
        return np.concatenate([(dW if self.kind == "W" else db)[self.entries].reshape(-1)
                               for dW, db in per_point])


@dataclass
class Choice:
    """The parts that reproduce the learner's numbers at one layer."""

    delta: Part
    carry: Part | None
    stale: bool
    inputs: Part
    factors: dict[int, float] = field(default_factory=dict)  # unit -> user / ours
    deltas: list[Array] = field(default_factory=list, repr=False)  # delta_l per point
    carried: list[Array] | None = field(default=None, repr=False)  # G_l per point

    @property
    def cost(self) -> int:
        parts = (self.delta, self.carry, self.inputs)
        return sum(p is not None and p.code is not None for p in parts) + self.stale

    def codes(self, kind: str) -> list[str]:
        """The mistakes of these parts that change a ``kind`` ("W" or "b") gradient."""
        out = ["stale-weights"] if self.stale else []
        out += [p.code for p in (self.carry, self.delta) if p is not None and p.code]
        if kind == "W" and self.inputs.code:
            out.insert(0, self.inputs.code)
        return out


@dataclass
class Finding:
    """What :func:`explain` says about one parameter."""

    code: str | None
    factor: float = 1.0
    layer: int = 0
    kind: str = "W"
    choice: Choice | None = None
    entries: Array | None = None  # which entries of the layer's W (or b) the parameter holds
    sum_only: bool = False  # a bias wrong beside its layer's right weights: only its sum is


def explain(model: Model, thetas: list[Array], user: list[Array], true: list[Array],
            leaf_of: Array, rtol: float, rate: float | None = None) -> dict[int, Finding]:
    """Walk the network from the output down, choosing at every layer the parts that reproduce
    the learner's gradient ``user`` (one vector per point) at every point.

    ``true`` holds the right gradients, ``leaf_of`` the parameter each entry of ``theta``
    belongs to, ``rate`` the learning rate of an update that came before the error was carried
    back (None: fitted when that mistake is tried). Returns a finding per parameter (leaf
    index) whose gradient is wrong.
    """
    runs = [model.forward(t) for t in thetas]
    if model.decay:  # the catalogue is of backpropagation: take the L2 penalty's part out
        user = [u - model.penalty_gradient(t) for u, t in zip(user, thetas, strict=True)]
        true = [g - model.penalty_gradient(t) for g, t in zip(true, thetas, strict=True)]
    layers = model.layout.layers
    L = len(layers)
    units = _units(model, leaf_of)
    per_layer = {l: ([_split(model, l, u) for u in user], [_split(model, l, t) for t in true])
                 for l in range(1, L + 1)}
    above: Choice | None = None
    inherited: str | None = None
    findings: dict[int, Finding] = {}
    for l in range(L, 0, -1):
        mine = [u for u in units if u.layer == l]
        users, trues = per_layer[l]
        steps = [dW for dW, _ in per_layer[l + 1][0]] if l < L else None
        choice = _choose(model, l, runs, mine, users, above, steps, rtol, rate)
        for i, unit in enumerate(mine):
            found = _finding(unit, choice, choice.factors.get(i), inherited, users, trues)
            found.layer, found.kind, found.choice = l, unit.kind, choice
            found.entries = unit.entries
            if found.code is not None:
                findings.setdefault(unit.leaf, found)
                if _priority(found) < _priority(findings[unit.leaf]):
                    findings[unit.leaf] = found
        own = choice.codes("b")
        inherited = inherited or (own[0] if own else None)
        above = choice
    _fall_back(findings, units, L)
    return findings


def _split(model: Model, l: int, vector: Array) -> tuple[Array, Array]:
    m = model.layout.layers[l - 1]
    return vector[m.W], (vector[m.b] if m.b is not None else np.zeros(m.n_out))


def _units(model: Model, leaf_of: Array) -> list[Unit]:
    units = []
    for l, m in enumerate(model.layout.layers, start=1):
        for kind, index in (("W", m.W), ("b", m.b)):
            if index is None:
                continue
            owners = leaf_of[index]
            for leaf in np.unique(owners):
                units.append(Unit(int(leaf), l, kind, owners == leaf))
    return units


def _choose(model: Model, l: int, runs: list[Pass], units: list[Unit],
            users: list[tuple[Array, Array]], above: Choice | None,
            steps: list[Array] | None, rtol: float, rate: float | None) -> Choice:
    """The simplest parts that explain the most of layer ``l``'s units (the right parts when
    nothing explains more)."""
    fused = l == len(model.activations) and model.fused
    wanted = {i: u.values(users) for i, u in enumerate(units)}
    live = [i for i, v in wanted.items() if np.any(v)]  # all zero: not computed, whatever else
    carries = [(None, False)] if above is None else [
        (c, stale) for c in CARRIES for stale in (False, True)
        if not (stale and c.key == "without weights")]
    best: Choice | None = None
    for carry, stale in carries:
        carried = _carried(model, l, carry, stale, runs, above, steps, rate, units, wanted)
        if carried is None:
            continue
        for delta_part in DELTAS:
            deltas = [delta_part.compute(model, l, G, run, fused)
                      for G, run in zip(carried, runs, strict=True)]
            if any(d is None for d in deltas):
                continue
            for input_part in INPUTS:
                choice = Choice(delta_part, carry, stale, input_part, deltas=deltas,
                                carried=None if fused else carried)
                if best is not None and choice.cost > best.cost and len(best.factors) == len(
                        live):
                    continue
                grads = [input_part.compute(model, l, d, run) for d, run in zip(deltas, runs,
                                                                               strict=True)]
                if any(g is None for g in grads):
                    continue
                ours = [(g, d.sum(axis=0)) for g, d in zip(grads, deltas, strict=True)]
                for i in live:
                    s = factor(wanted[i], units[i].values(ours), rtol)
                    if s is not None:
                        choice.factors[i] = s
                if best is None or len(choice.factors) > len(best.factors) or (
                        len(choice.factors) == len(best.factors) and choice.cost < best.cost):
                    best = choice
    assert best is not None  # the right parts always apply
    return best


def _carried(model: Model, l: int, carry: Part | None, stale: bool, runs: list[Pass],
             above: Choice | None, steps: list[Array] | None, rate: float | None,
             units: list[Unit], wanted: dict[int, Array]) -> list[Array] | None:
    """``G_l = dL/da_l`` at every point as the learner's carry computes it (at the output
    layer, from the loss). ``steps``: the learner's own ``dW_{l+1}``, with which a stale carry
    updated ``W_{l+1}`` before using it."""
    if carry is None or above is None:
        return [model.output_gradient(run) for run in runs]
    weights = [run.weights[l][0] for run in runs]  # W_{l+1}
    G_above = above.carried or [None] * len(runs)

    def carried_with(Ws: list[Array]) -> list[Array] | None:
        out = [carry.compute(model, l, d, G, W, run)
               for d, G, W, run in zip(above.deltas, G_above, Ws, runs, strict=True)]
        return None if any(G is None for G in out) else out

    if not stale:
        return carried_with(weights)
    if steps is None:
        return None
    if rate is None:
        rate = _fit_rate(model, l, carried_with, weights, steps, runs, units, wanted)
        if rate is None:
            return None
    return carried_with([W - rate * dW for W, dW in zip(weights, steps, strict=True)])


def _fit_rate(model: Model, l: int, carried_with: Callable, weights: list[Array],
              steps: list[Array], runs: list[Pass], units: list[Unit],
              wanted: dict[int, Array]) -> float | None:
    """The learning rate of an update made before the carry, fitted to the learner's numbers:
    the carried error is linear in it."""
    fresh = carried_with(weights)
    moved = carried_with([W - dW for W, dW in zip(weights, steps, strict=True)])
    if fresh is None or moved is None:
        return None
    bias = [i for i, u in enumerate(units) if u.kind == "b"] or list(range(len(units)))
    i = bias[0]

    def values(Gs: list[Array]) -> Array:
        deltas = [model.through(l, G, run) for G, run in zip(Gs, runs, strict=True)]
        return units[i].values([(run.A[l - 1].T @ d, d.sum(axis=0))
                                for d, run in zip(deltas, runs, strict=True)])

    a = values(fresh)
    b = values(moved) - a
    if not np.any(b):
        return None
    rate = float((wanted[i] - a) @ b / (b @ b))
    return rate if rate > 0 else None


def _finding(unit: Unit, choice: Choice, s: float | None, inherited: str | None,
             users: list[tuple[Array, Array]], trues: list[tuple[Array, Array]]) -> Finding:
    """The code of one unit under the chosen parts: None when right; a NaN factor when the
    parts do not explain it."""
    mine, right = unit.values(users), unit.values(trues)
    if not np.any(mine):
        return Finding("not-computed" if np.any(right) else None, 0.0)
    same = factor(mine, right, 1e-6)
    if same is not None and abs(same - 1) < 1e-6:
        return Finding(None)
    if s is None:
        return Finding("unexplained", float("nan"))
    own = choice.codes(unit.kind)
    if own:
        return Finding(own[0], s)
    if inherited:
        return Finding(inherited, s)
    return Finding("sign" if abs(s + 1) < 1e-6 else "scale", s)


def _fall_back(findings: dict[int, Finding], units: list[Unit], L: int) -> None:
    """Name what the catalogue could not from the structure: an earlier layer wrong below
    later layers that are right got a wrong error (``not-carried-back``); a weight gradient
    wrong beside a right bias gradient got the right error, so its input is wrong."""
    wrong_layers = {f.layer for f in findings.values()}
    for found in findings.values():
        if found.code != "unexplained":
            continue
        if found.kind == "b" and not any(f.layer == found.layer and f.kind == "W"
                                         for f in findings.values()):
            found.sum_only = True  # the layer's error is right (its weights' gradient is)
            continue
        bias_right = not any(f.layer == found.layer and f.kind == "b"
                             for f in findings.values()) and any(
            u.layer == found.layer and u.kind == "b" for u in units)
        if found.kind == "W" and bias_right:
            found.code = "wrong-input"
        elif found.layer < L and not any(layer > found.layer for layer in wrong_layers):
            found.code = "not-carried-back"


_ORDER = {code: i for i, code in enumerate(CODES)}


def _priority(finding: Finding) -> int:
    return len(_ORDER) if finding.code is None else _ORDER[finding.code]


def symbols(model: Model, l: int) -> dict[str, str]:
    """The names that fill a formula of layer ``l``."""
    name = model.activations[l - 1]
    f = SYMBOL[name]
    on_z = {"sigmoid": f"z{l}(1 - z{l})", "tanh": f"1 - z{l}²"}.get(name, f"{f}'(z{l})")
    return {"l": str(l), "k": str(l - 1), "f": f, "fprime": f"{f}'", "on_z": on_z,
            "input": "x" if l == 1 else f"a{l - 1}",
            "f_below": SYMBOL[model.activations[l - 2]] if l > 1 else ""}
