"""The learner's network, as identified from their parameters and their loss.

A :class:`Layout` says where each layer's weights and bias sit in the flat parameter vector
``theta`` (see :mod:`.params`): ``W_l = theta[W_index]`` in the canonical orientation
``(n_in, n_out)``, whatever orientation, nesting or scalar names the learner used. A
:class:`Model` adds an activation per layer, a loss and the data, and computes what
backpropagation needs, one sample per row::

    forward:   z_l = a_{l-1} W_l + b_l,   a_l = f_l(z_l)          (a_0 = x)
    loss:      L = c * sum_i sum_k e(a_L[i, k], t[i, k])
    output:    dL/da_L = c e'(a_L, t),    delta_L = dL/da_L * f_L'(z_L)
    backward:  dW_l = a_{l-1}^T delta_l,  db_l = sum_i delta_l
               delta_{l-1} = (delta_l W_l^T) * f_{l-1}'(z_{l-1})
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import ACTIVATIONS, Activation

Array = np.ndarray

# The per-entry loss e(a, t), its derivative de/da, and how it is written.
ERRORS = {
    "squared": (lambda A, T: (A - T) ** 2, lambda A, T: 2 * (A - T), "(a - t)^2"),
    "bce": (lambda A, T: -(T * np.log(A) + (1 - T) * np.log(1 - A)),
            lambda A, T: (A - T) / (A * (1 - A)), "-t log a - (1 - t) log(1 - a)"),
    "ce": (lambda A, T: -T * np.log(A), lambda A, T: -T / A, "-t log a"),
}
FUSED = {("sigmoid", "bce"), ("softmax", "ce")}  # dL/dz = c (a - t): f' cancels out


def _leaky(slope: float) -> Activation:
    """A leaky ReLU of another slope than chainrule's 0.01 (Keras's default is 0.3)."""
    return Activation(f"leaky_relu({slope:g})", lambda Z: np.where(Z > 0, Z, slope * Z),
                      lambda Z, A: np.where(Z > 0, 1.0, slope))


FUNCTIONS = {**ACTIVATIONS, **{a.name: a for a in map(_leaky, (0.1, 0.2, 0.3))}}
HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "identity", "softplus", "elu",
          "leaky_relu(0.1)", "leaky_relu(0.2)", "leaky_relu(0.3)")
OUTPUT = ("sigmoid", "identity", "softmax", "tanh", "relu")
SYMBOL = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu",
          "identity": "id", "softplus": "softplus", "elu": "elu", "softmax": "softmax",
          **{name: name for name in HIDDEN if name.startswith("leaky_relu(")}}


@dataclass(frozen=True)
class LayerMap:
    """Where one layer's weights and bias are in ``theta``, and what they are called."""

    W: Array  # (n_in, n_out) indices into theta
    b: Array | None  # (n_out,) indices, or None for a layer without bias
    weight_name: str
    bias_name: str | None
    orientation: str  # "io": W[in, out], "oi": W[out, in], "scalar": one name per entry

    @property
    def n_in(self) -> int:
        return self.W.shape[0]

    @property
    def n_out(self) -> int:
        return self.W.shape[1]


@dataclass(frozen=True)
class Layout:
    """The layers of the learner's network, first to last."""

    layers: tuple[LayerMap, ...]

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    def weights(self, theta: Array) -> list[tuple[Array, Array]]:
        """``(W_l, b_l)`` per layer, canonical orientation (zero bias for a layer without)."""
        return [(theta[m.W], theta[m.b] if m.b is not None else np.zeros(m.n_out))
                for m in self.layers]

    def scatter(self, grads: list[tuple[Array, Array]], size: int) -> Array:
        """Per-layer ``(dW_l, db_l)`` as one vector shaped like ``theta``."""
        out = np.zeros(size)
        for m, (dW, db) in zip(self.layers, grads, strict=True):
            out[m.W] = dW
            if m.b is not None:
                out[m.b] = db
        return out


@dataclass
class Pass:
    """Everything one forward pass computed: ``Z[l]`` and ``A[l]`` for ``l = 1..L``
    (``A[0]`` is the input), and the weights it used."""

    Z: list[Array]
    A: list[Array]
    weights: list[tuple[Array, Array]]


@dataclass
class Model:
    """A network of a given layout, activations and loss, on the learner's data.

    ``twice`` names a layer whose activation the learner's forward pass applies twice,
    ``softmax_axis`` the axis a softmax output is normalised over (0: over the samples), and
    ``root`` a loss taken as a norm ``sqrt(sum e)``: forward-pass mistakes, which describe the
    network the learner's *loss* computes. :meth:`gradient` is for standard networks only.
    """

    layout: Layout
    activations: tuple[str, ...]
    error: str
    scale: float
    X: Array
    T: Array
    twice: int | None = None
    softmax_axis: int = -1
    softmax_shift: int = -1  # the axis whose maximum a softmax subtracts before exp
    root: bool = False  # the loss is the square root of the sum (a norm), not the sum
    decay: float = 0.0  # an L2 penalty decay * sum of the squared weights (not the biases)

    @property
    def standard(self) -> bool:
        """True unless this is a network with a forward-pass mistake."""
        return self.twice is None and self.softmax_axis == -1 and not self.root

    # -- forward -------------------------------------------------------------------------------
    def forward(self, theta: Array) -> Pass:
        weights = self.layout.weights(theta)
        A, Zs, As = self.X, [None], [self.X]
        for layer, ((W, b), name) in enumerate(zip(weights, self.activations, strict=True),
                                               start=1):
            Z = A @ W + b
            A = self.activate(name, Z, layer)
            Zs.append(Z)
            As.append(A)
        return Pass(Zs, As, weights)

    def activate(self, name: str, Z: Array, layer: int | None = None) -> Array:
        if name == "softmax":
            E = np.exp(Z - Z.max(axis=self.softmax_shift, keepdims=True))
            A = E / E.sum(axis=self.softmax_axis, keepdims=True)
        else:
            A = FUNCTIONS[name].forward(Z)
        if layer is not None and layer == self.twice:
            A = self.activate(name, A)
        return A

    def error_sum(self, A: Array) -> float:
        """``sum_i sum_k e(a_ik, t_ik)``, the loss before its constant ``c``."""
        with np.errstate(all="ignore"):
            total = float(np.sum(ERRORS[self.error][0](A, self.T)))
        return float(np.sqrt(total)) if self.root else total

    def loss(self, theta: Array) -> float:
        return self.scale * self.error_sum(self.forward(theta).A[-1]) + \
            self.decay * self.penalty(theta)

    def penalty(self, theta: Array) -> float:
        """``sum_l ||W_l||^2``, the L2 penalty before its constant."""
        return float(sum(np.sum(W * W) for W, _ in self.layout.weights(theta)))

    def penalty_gradient(self, theta: Array) -> Array:
        """The gradient of ``decay * sum_l ||W_l||^2``: ``2 decay W_l``, shaped like theta."""
        return self.layout.scatter([(2 * self.decay * W, np.zeros_like(b))
                                    for W, b in self.layout.weights(theta)], theta.size)

    # -- backward ------------------------------------------------------------------------------
    @property
    def fused(self) -> bool:
        return (self.activations[-1], self.error) in FUSED

    def output_gradient(self, run: Pass) -> Array:
        """``dL/da_L = c e'(a_L, t)``."""
        with np.errstate(all="ignore"):
            return self.scale * ERRORS[self.error][1](run.A[-1], self.T)

    def derivative(self, layer: int, Z: Array, A: Array) -> Array:
        """``f_l'(z)`` elementwise, given ``a = f_l(z)`` (not for softmax)."""
        return FUNCTIONS[self.activations[layer - 1]].derivative(Z, A)

    def through(self, layer: int, G: Array, run: Pass) -> Array:
        """``delta_l = dL/dz_l`` from ``G = dL/da_l`` (the softmax Jacobian for softmax)."""
        if self.activations[layer - 1] == "softmax":
            A = run.A[layer]
            return A * (G - (G * A).sum(axis=-1, keepdims=True))
        return G * self.derivative(layer, run.Z[layer], run.A[layer])

    def output_delta(self, run: Pass) -> Array:
        """``delta_L``; for sigmoid + bce and softmax + cross-entropy ``c (a - t)``."""
        if self.fused:
            return self.scale * (run.A[-1] - self.T)
        return self.through(len(self.activations), self.output_gradient(run), run)

    def gradient(self, theta: Array) -> Array:
        """The true gradient of :meth:`loss`, shaped like ``theta``."""
        run = self.forward(theta)
        delta = self.output_delta(run)
        grads = []
        for layer in range(len(self.activations), 0, -1):
            W = run.weights[layer - 1][0]
            grads.append((run.A[layer - 1].T @ delta, delta.sum(axis=0)))
            if layer > 1:
                delta = self.through(layer - 1, delta @ W.T, run)
        grad = self.layout.scatter(grads[::-1], theta.size)
        return grad + self.penalty_gradient(theta) if self.decay else grad

    # -- words -----------------------------------------------------------------------------------
    def describe(self) -> str:
        """E.g. ``2-2-1, sigmoid then sigmoid, loss sum of (a - t)^2``."""
        sizes = "-".join(map(str, self.layout.sizes))
        acts = " then ".join(self.activations)
        twice = f" (applied twice in layer {self.twice})" if self.twice else ""
        axis = " normalised over the samples" if self.softmax_axis == 0 else ""
        decay = f" + {self.decay:.4g}·Σ W² (an L2 penalty)" if self.decay else ""
        return f"{sizes}, {acts}{twice}{axis}, loss {self.loss_words()}{decay}"

    def loss_words(self) -> str:
        n, k = self.T.shape
        c = self.scale
        known = ((1.0, "sum"), (0.5, "half the sum"), (1 / n, "mean over samples"),
                 (0.5 / n, "half the mean over samples"), (1 / (n * k), "mean"),
                 (0.5 / (n * k), "half the mean"), (1 / k, "sum over samples of the mean"))
        how = next((words for value, words in known if abs(c - value) <= 1e-5 * value),
                   f"{c:.4g} x the sum")
        if self.root:
            return f"{how.replace('sum', 'square root of the sum')} of {ERRORS[self.error][2]}"
        return f"{how} of {ERRORS[self.error][2]}"
