"""A zoo of small hand-written networks, each with one classic backpropagation mistake.

They are written the way learners write them (see the questions in the seeds): the 2-1-1
chain uses plain floats ``w11, w12, b1, w2, b2`` and ``math.exp``; the matrix networks
use ``W`` of shape (n_out, n_in) as in ``z = W @ a + b``, one sample per row. All use
sigmoid activations and the mean squared error. Each mistake is switched on by ``bug``
next to the correct line, so every buggy network has a correct twin.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LEARNING_RATE = 0.5
INPUTS_2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
INPUTS_3 = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=float)
DATA = {
    "AND": (INPUTS_2, np.array([[0], [0], [0], [1]], dtype=float)),
    "XOR": (INPUTS_2, np.array([[0], [1], [1], [0]], dtype=float)),
    "half adder": (INPUTS_2, np.array([[0, 0], [1, 0], [1, 0], [0, 1]], dtype=float)),
    "3-input": (INPUTS_3, np.array([[1], [1], [1], [0], [1], [0], [1], [1]], dtype=float)),
}
MLP_NAMES = ("W1", "b1", "W2", "b2")


@dataclass
class Case:
    """A network to check: what `check_gradients` gets, and what it must say."""

    name: str
    loss_fn: Callable[[Any], float]
    grad_fn: Callable[[Any], Any]
    params: dict[str, Any] | list[np.ndarray]
    failing: set[str | int] = field(default_factory=set)
    hint: str = ""  # text the printed report must contain


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def sigma(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# --- The 2-1-1 chain with float parameters, on AND (seeds 003 and 004) -------------------


def chain_loss(p: dict[str, float]) -> float:
    x_data, labels = DATA["AND"]
    total = 0.0
    for (x1, x2), (y,) in zip(x_data, labels, strict=True):
        h = sigmoid(p["w11"] * x1 + p["w12"] * x2 + p["b1"])
        y_hat = sigmoid(p["w2"] * h + p["b2"])
        total += (y_hat - y) ** 2
    return total / len(labels)


def chain_grad(p: dict[str, float], bug: str | None = None) -> dict[str, float]:
    x_data, labels = DATA["AND"]
    w11, w12, b1, w2, b2 = p["w11"], p["w12"], p["b1"], p["w2"], p["b2"]
    g = dict.fromkeys(p, 0.0)
    for (x1, x2), (y,) in zip(x_data, labels, strict=True):
        h = sigmoid(w11 * x1 + w12 * x2 + b1)
        y_hat = sigmoid(w2 * h + b2)

        dloss = 2 * (y_hat - y)
        if bug == "missing factor 2":
            dloss = y_hat - y
        if bug == "sign error":
            dloss = 2 * (y - y_hat)
        delta2 = dloss * y_hat * (1 - y_hat)

        incoming = h
        if bug == "activation applied twice":
            incoming = sigmoid(h)
        if bug == "weight where the activation belongs":  # seed 004: ... * der_sigmoid(yHat) * w2
            incoming = w2
        g["w2"] += delta2 * incoming
        g["b2"] += delta2

        der_h = h * (1 - h)
        if bug == "derivative of the activated value":  # sigmoid'(h) where h = sigmoid(z)
            der_h = sigmoid(h) * (1 - sigmoid(h))
        delta1 = delta2 * w2 * der_h
        g["w11"] += delta1 * x1
        g["w12"] += delta1 * x2
        g["b1"] += delta1
    return {name: total / len(labels) for name, total in g.items()}


def chain_case(bug: str | None = None, failing: tuple[str, ...] = (), hint: str = "",
               seed: int = 3) -> Case:
    rng = np.random.default_rng(seed)
    params = {name: float(rng.normal()) for name in ("w11", "w12", "b1", "w2", "b2")}
    return Case(f"2-1-1 AND, {bug or 'correct'}", chain_loss,
                lambda p: chain_grad(p, bug), params, set(failing), hint)


# --- Matrix networks n_in-n_hidden-n_out (seed 002) --------------------------------------


def mlp_loss(p: dict[str, np.ndarray], data: str) -> float:
    X, T = DATA[data]
    A1 = sigma(X @ p["W1"].T + p["b1"])
    A2 = sigma(A1 @ p["W2"].T + p["b2"])
    return float(np.mean(np.sum((A2 - T) ** 2, axis=1)))


def mlp_grad(p: dict[str, np.ndarray], data: str, bug: str | None = None
             ) -> dict[str, np.ndarray]:
    X, T = DATA[data]
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    Z1 = X @ W1.T + b1
    A1 = sigma(Z1)
    A2 = sigma(A1 @ W2.T + b2)

    dA2 = 2 * (A2 - T) / len(X)
    if bug == "missing factor 2":
        dA2 = (A2 - T) / len(X)
    D2 = dA2 * A2 * (1 - A2)
    if bug == "derivative of the activated value":  # sigmaprime(a) where a = sigma(z)
        D2 = dA2 * sigma(A2) * (1 - sigma(A2))
    dW2 = D2.T @ A1
    if bug == "activation applied twice":
        dW2 = D2.T @ sigma(A1)
    db2 = D2.sum(axis=0)

    if bug == "first layer never computed":
        return {"W1": np.zeros_like(W1), "b1": np.zeros_like(b1), "W2": dW2, "b2": db2}
    if bug == "output updated first":  # a training step before the error is carried back
        W2 -= LEARNING_RATE * dW2
    back = D2 @ W2  # W2^T @ delta, one sample per row
    if bug == "missing transpose":
        back = D2 @ W2.T
    der1 = A1 * (1 - A1)
    if bug == "derivative of z":  # a * (1 - a) applied to z instead of a
        der1 = Z1 * (1 - Z1)
    D1 = back * der1
    return {"W1": D1.T @ X, "b1": D1.sum(axis=0), "W2": dW2, "b2": db2}


def mlp_case(data: str, hidden: int, bug: str | None = None, failing: tuple[str, ...] = (),
             hint: str = "", seed: int = 2) -> Case:
    X, T = DATA[data]
    rng = np.random.default_rng(seed)
    sizes = (X.shape[1], hidden, T.shape[1])
    params = {"W1": rng.normal(size=sizes[1::-1]), "b1": rng.normal(size=hidden),
              "W2": rng.normal(size=sizes[:0:-1]), "b2": rng.normal(size=sizes[2])}
    return Case(f"{'-'.join(map(str, sizes))} {data}, {bug or 'correct'}",
                lambda p: mlp_loss(p, data), lambda p: mlp_grad(p, data, bug),
                params, set(failing), hint)


def as_list(case: Case) -> Case:
    """The same network with params as a list [W1, b1, W2, b2] (as ``self.w``, ``self.b``)."""
    def loss_fn(ps: list[np.ndarray]) -> float:
        return case.loss_fn(dict(zip(MLP_NAMES, ps, strict=True)))

    def grad_fn(ps: list[np.ndarray]) -> list[np.ndarray]:
        grads = case.grad_fn(dict(zip(MLP_NAMES, ps, strict=True)))
        return [grads[name] for name in MLP_NAMES]

    failing = {MLP_NAMES.index(name) for name in case.failing}
    return Case(case.name + " (list)", loss_fn, grad_fn,
                [case.params[name] for name in MLP_NAMES], failing, case.hint)


HIDDEN = ("w11", "w12", "b1")
CHAIN = ("w11", "w12", "b1", "w2", "b2")
NOT_CARRIED_BACK = "not carried back"

CORRECT = [
    chain_case(),
    mlp_case("XOR", 2),
    mlp_case("half adder", 2),
    mlp_case("3-input", 4),
    as_list(mlp_case("3-input", 4)),
]

BUGGY = [
    chain_case("activation applied twice", ("w2",)),
    chain_case("weight where the activation belongs", ("w2",)),
    chain_case("missing factor 2", CHAIN, "missing factor of 2"),
    chain_case("sign error", CHAIN, "sign error"),
    chain_case("derivative of the activated value", HIDDEN, NOT_CARRIED_BACK),
    mlp_case("XOR", 2, "derivative of z", ("W1", "b1"), NOT_CARRIED_BACK),
    mlp_case("XOR", 2, "first layer never computed", ("W1", "b1"), "never updated"),
    mlp_case("XOR", 2, "output updated first", ("W1", "b1"), NOT_CARRIED_BACK),
    mlp_case("half adder", 2, "missing transpose", ("W1", "b1"), NOT_CARRIED_BACK),
    mlp_case("3-input", 4, "derivative of the activated value", MLP_NAMES),
    mlp_case("3-input", 4, "missing factor 2", MLP_NAMES, "missing factor of 2"),
    as_list(mlp_case("3-input", 4, "activation applied twice", ("W2",))),
]
