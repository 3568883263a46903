"""How a mistake is told: the learner's formula beside the right one, in their own names.

Weights and biases keep the learner's names (``w11``, ``W2``, ``params[0]``); the rest follows
the notation printed once in the report::

    x → z1 = x·W1 + b1, a1 = σ(z1) → z2 = a1·W2 + b2, a2 = σ(z2);  δl = dL/dzl
"""

from __future__ import annotations

import numpy as np

from .mistakes import FIXES, Finding, symbols
from .model import SYMBOL, LayerMap, Model

HEADLINES = {
    "not-computed": "never computed",
    "sign": "a sign error",
    "scale": "off by a constant factor",
    "derivative-at-wrong-value": "the derivative taken at the wrong value",
    "derivative-missing": "a derivative factor left out",
    "derivative-extra": "a derivative factor too many",
    "wrong-input": "the wrong input in the weight gradient",
    "not-carried-back": "the error not carried back correctly",
    "stale-weights": "the error carried back through weights already updated",
    "activation-applied-twice": "the activation applied twice",
    "forward-pass": "the loss's forward pass is wrong",
    "unexplained": "wrong, in no way the catalogue knows",
}


class Namer:
    """Names of the learner's quantities: the parameters' own, and ``x``, ``a1``, ``δ2``."""

    def __init__(self, model: Model, entry_names: list[str]) -> None:
        self.model = model
        self.entry = entry_names  # name of every theta entry

    def source(self, l: int, i: int | None = None) -> str:
        """The input of layer ``l`` (its ``i``-th entry when the layer is written in scalars)."""
        base = "x" if l == 1 else f"a{l - 1}"
        n_in = self.model.layout.layers[l - 1].n_in
        return base if i is None or n_in == 1 else f"{base}{_sub(i)}"

    def weight(self, m: LayerMap, i: int, j: int) -> str:
        return self.entry[m.W[i, j]]

    def notation(self) -> str:
        """The forward pass in the learner's names: ``x → z1 = x·W1 + b1, a1 = σ(z1) → ...``."""
        steps = ["x"]
        for l, (m, act) in enumerate(zip(self.model.layout.layers, self.model.activations,
                                         strict=True), start=1):
            steps.append(f"{self.net_input(m, l)}, a{l} = {SYMBOL[act]}(z{l})")
        how = self.model.loss_words()
        article = "" if how.startswith("half") or how[0].isdigit() else "the "
        return " → ".join(steps) + f"; δl = dL/dzl; the loss is {article}{how}"

    def net_input(self, m: LayerMap, l: int) -> str:
        bias = "" if m.b is None else " + " + (m.bias_name or "b")
        if m.orientation != "scalar" or m.n_in * m.n_out > 6:
            source = self.source(l)
            product = f"{m.weight_name}·{source}" if m.orientation == "oi" else \
                f"{source}·{m.weight_name}"
            return f"z{l} = {product}{bias}"
        units = []
        for j in range(m.n_out):
            terms = " + ".join(f"{self.weight(m, i, j)}·{self.source(l, i)}"
                               for i in range(m.n_in))
            b = "" if m.b is None else f" + {self.entry[m.b[j]]}"
            z = f"z{l}" if m.n_out == 1 else f"z{l}{_sub(j)}"
            units.append(f"{z} = {terms}{b}")
        return ", ".join(units)

    # -- the right formulas ----------------------------------------------------------------
    def right(self, found: Finding) -> str:
        """The right gradient of the parameter, with the right error of its layer."""
        l = found.layer
        m = self.model.layout.layers[l - 1]
        n = self.model.X.shape[0]
        cell = self._cell(m, found)
        if found.kind == "W":
            if cell is not None:
                i, j = cell
                grad = f"{self._delta(l, j, m)}·{self.source(l, i)}"
                name = self.weight(m, i, j)
            else:
                source = self.source(l)
                grad = {"io": f"{source}ᵀ·δ{l}", "oi": f"δ{l}·{source}ᵀ"}.get(
                    m.orientation, f"δ{l}·{source}")
                name = m.weight_name
        else:
            j = cell[1] if cell is not None else None
            grad = self._delta(l, j, m)
            name = self.entry[m.b[j]] if j is not None else (m.bias_name or "b")
        if n > 1:
            grad = f"Σ over the samples of {grad}" if cell is not None or found.kind == "b" \
                else grad
        return f"dL/d{name} = {grad}, where {self.delta(l)}"

    def _cell(self, m: LayerMap, found: Finding) -> tuple[int, int] | None:
        """``(i, j)`` of the parameter in its layer, when it is one scalar entry."""
        if found.entries is None or found.entries.sum() != 1:
            return None
        where = np.argwhere(found.entries)[0]
        return (int(where[0]), int(where[1])) if found.kind == "W" else (0, int(where[0]))

    def _delta(self, l: int, j: int | None, m: LayerMap) -> str:
        return f"δ{l}" if j is None or m.n_out == 1 else f"δ{l}{_sub(j)}"

    def delta(self, l: int) -> str:
        """``δl`` as backpropagation computes it."""
        model = self.model
        L = len(model.activations)
        if l == L and model.fused:
            return (f"δ{L} = c·(a{L} - t) with c = {constant_words(model)}, the "
                    f"{SYMBOL[model.activations[-1]]}' cancelling with the cross-entropy")
        derivative = _derivative_words(model, l)
        if l == L:
            return f"δ{L} = dL/da{L}·{derivative}"
        above = model.layout.layers[l]
        if above.orientation == "scalar" and above.n_in * above.n_out == 1:
            carry = f"δ{l + 1}·{above.weight_name}"
        else:
            carry = {"oi": f"{above.weight_name}ᵀ·δ{l + 1}"}.get(
                above.orientation, f"δ{l + 1}·{above.weight_name}ᵀ")
        return f"δ{l} = ({carry})·{derivative}"

    # -- the learner's -------------------------------------------------------------------------
    def yours(self, found: Finding, inherited_from: int | None) -> str:
        """What the learner's numbers show they computed."""
        l = found.layer
        m = self.model.layout.layers[l - 1]
        name = m.weight_name if found.kind == "W" else (m.bias_name or "b")
        if found.code == "not-computed":
            return f"dL/d{name} = 0 (or no update at all)"
        choice = found.choice
        if choice is None:
            return ""
        if found.sum_only:
            return (f"not Σ over the samples of δ{l}, though δ{l} itself is right (the weights' "
                    f"gradient of layer {l} is): a sum over the wrong axis, or over every axis "
                    "(np.sum without axis=)?")
        if found.code in ("not-carried-back", "unexplained") and not choice.codes(found.kind):
            return (f"not the right δ{l}, nor any of the classic wrong ones: check which error "
                    f"and which weights reach layer {l}, entry by entry")
        fill = self._fill(l)
        texts = [p.yours.format(**fill) for p in (
            choice.inputs if found.kind == "W" else None, choice.delta, choice.carry)
            if p is not None and p.code]
        if choice.stale:
            w = fill["W_above"]
            texts.append(f"δ{l} carried back through {w} after it was updated ({w} - lr·d{w}), "
                         f"not through the {w} of the forward pass")
        if not texts and inherited_from is not None:
            texts.append(f"right for the error δ{l} it is given, but that error comes wrong "
                         f"from layer {inherited_from}")
        if found.factor == found.factor and abs(found.factor - 1) > 1e-6:
            texts.append(f"times {factor_words(found.factor, self.model.X.shape[0])}")
        return "; ".join(texts)

    def _fill(self, l: int) -> dict[str, str]:
        fill = symbols(self.model, l)
        layers = self.model.layout.layers
        fill["W"] = layers[l - 1].weight_name
        fill["above"] = str(l + 1)
        fill["W_above"] = layers[l].weight_name if l < len(layers) else ""
        fill["fprime_above"] = (f"{SYMBOL[self.model.activations[l]]}'"
                                if l < len(layers) else "")
        return fill


def _sub(i: int) -> str:
    return "₀₁₂₃₄₅₆₇₈₉"[i + 1] if i < 9 else f"[{i + 1}]"


def _derivative_words(model: Model, l: int) -> str:
    name = model.activations[l - 1]
    return {"sigmoid": f"σ'(z{l}), σ'(z{l}) = a{l}(1 - a{l})",
            "tanh": f"tanh'(z{l}), tanh'(z{l}) = 1 - a{l}²",
            "relu": f"relu'(z{l}) (1 where z{l} > 0, else 0)",
            "identity": "1 (no activation)"}.get(name, f"{SYMBOL[name]}'(z{l})")


def constant_words(model: Model) -> str:
    """The loss's constant ``c`` (``L = c * sum of the errors``) as the learner would write it."""
    n, k = model.T.shape
    c = model.scale
    known = ((1.0, "1 (a sum)"), (1 / n, f"1/n = 1/{n} (a mean over the samples)"),
             (1 / (n * k), f"1/(n·k) = 1/{n * k} (a mean over every output)"))
    return next((words for value, words in known if abs(c - value) <= 1e-5 * value),
                f"{c:.4g}")


def factor_words(s: float, n: int) -> str:
    """What a constant factor between the learner's gradient and the right one suggests."""
    size = max(abs(s), 1 / abs(s))
    if abs(s + 1) < 1e-6:
        return "-1: a sign error (e.g. (t - a) where (a - t) belongs)"
    near = round(size)
    kind, article = ("missing", "a") if abs(s) < 1 else ("extra", "an")
    sign = ", and a sign error" if s < 0 else ""
    if abs(size - near) <= 1e-4 * size and near > 1:
        why = {2: "the 2 of the squared error?"}.get(near, "")
        if near == n and n > 1:
            why = f"a mean vs a sum over the {n} samples?"
        why = why or "a mean vs a sum? a learning rate?"
        return f"{s:.4g}: {article} {kind} factor of {near}{sign} ({why})"
    return f"{s:.4g}{sign} (a learning rate inside the gradient? a constant of the loss?)"


def fix(code: str) -> str:
    return FIXES[code]
