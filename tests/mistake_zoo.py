"""A zoo of learners' backpropagation, one member per mistake code, in four shapes of code.

Each shape is written the way learners write it, with every classic mistake switched on by
``bug`` next to the correct line, so that every buggy member has a correct twin:

- ``chain``: a 1-1-1 chain of plain floats ``w1, b1, w2, b2`` with ``math.exp`` and a loop over
  the samples (questions 003 and 004); the mean squared error;
- ``xor``: a 2-2-1 network of NumPy arrays, one sample per row, ``W`` of shape ``(in, out)``;
  the mean squared error;
- ``nielsen``: Nielsen's 3-4-1 network, samples as columns, ``W`` of shape ``(out, in)``,
  biases as column vectors, ``params = [weights, biases]``; half the summed squared error;
- ``softmax``: a 4-3-3 classifier, tanh hidden units, softmax output, the mean cross-entropy of
  integer labels.

A member is what ``check_gradients`` receives (``loss``, ``grad``, ``params``, ``X``, ``y``)
and the mistake code it must report for each wrong parameter (``expected``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RATE = 0.5  # the learning rate of the updates made too early (stale-weights)
CODES = ("not-computed", "sign", "scale", "derivative-at-wrong-value", "derivative-missing",
         "derivative-extra", "wrong-input", "not-carried-back", "stale-weights",
         "activation-applied-twice", "forward-pass", "unexplained")


@dataclass
class Member:
    shape: str
    bug: str | None
    loss: Callable[[Any], float]
    grad: Callable[[Any], Any]
    params: Any
    X: np.ndarray
    y: np.ndarray
    expected: dict[str | int, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.shape}: {self.bug or 'correct'}"


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def sigma(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# -- chain: 1-1-1, floats ------------------------------------------------------------------------
CHAIN_X = [0.1, 0.3, 0.5, 0.7, 0.9]
CHAIN_Y = [0, 1, 0, 1, 0]


def chain_loss(p: dict[str, float], bug: str | None = None) -> float:
    total = 0.0
    for x, t in zip(CHAIN_X, CHAIN_Y, strict=True):
        h = sigmoid(p["w1"] * x + p["b1"])
        y_hat = sigmoid(p["w2"] * h + p["b2"])
        if bug == "activation-applied-twice":
            y_hat = sigmoid(y_hat)
        total += abs(y_hat - t) if bug == "forward-pass" else (y_hat - t) ** 2
    return total / len(CHAIN_X)


def chain_grad(p: dict[str, float], bug: str | None = None) -> dict[str, float]:
    g = dict.fromkeys(("w1", "b1", "w2", "b2"), 0.0)
    n = len(CHAIN_X)
    deltas = []
    for x, t in zip(CHAIN_X, CHAIN_Y, strict=True):
        h = sigmoid(p["w1"] * x + p["b1"])
        y_hat = sigmoid(p["w2"] * h + p["b2"])
        dloss = 2 * (y_hat - t) / n
        if bug == "sign":
            dloss = 2 * (t - y_hat) / n
        if bug == "scale":
            dloss = (y_hat - t) / n
        delta2 = dloss * y_hat * (1 - y_hat)
        if bug == "derivative-missing":
            delta2 = dloss
        if bug == "derivative-extra":
            delta2 = dloss * y_hat * (1 - y_hat) * y_hat * (1 - y_hat)
        if bug == "unexplained":
            delta2 = dloss * y_hat * (1 - y_hat) + 0.01
        incoming = h
        if bug == "wrong-input":  # question 004: ... * der_sigmoid(yHat) * w2
            incoming = p["w2"]
        if bug == "activation-applied-twice":
            incoming = sigmoid(h)
        g["w2"] += delta2 * incoming
        g["b2"] += delta2
        deltas.append((x, h, delta2))
    if bug == "stale-weights":  # the output weight is updated before the error is carried back
        p["w2"] -= RATE * g["w2"]
    for x, h, delta2 in deltas:
        der_h = h * (1 - h)
        if bug == "derivative-at-wrong-value":
            der_h = sigmoid(h) * (1 - sigmoid(h))
        delta1 = delta2 * p["w2"] * der_h
        if bug == "not-carried-back":
            delta1 = delta2 * der_h
        g["w1"] += delta1 * x
        if bug != "not-computed":
            g["b1"] += delta1
    return g


def chain(bug: str | None = None, seed: int = 4) -> Member:
    rng = np.random.default_rng(seed)
    params = {name: float(rng.normal()) for name in ("w1", "b1", "w2", "b2")}
    expected = {
        None: {}, "not-computed": {"b1": bug},
        "sign": dict.fromkeys(params, bug), "scale": dict.fromkeys(params, bug),
        "derivative-at-wrong-value": {"w1": bug, "b1": bug},
        "derivative-missing": dict.fromkeys(params, bug),
        "derivative-extra": dict.fromkeys(params, bug),
        "wrong-input": {"w2": bug}, "not-carried-back": {"w1": bug, "b1": bug},
        "stale-weights": {"w1": bug, "b1": bug}, "activation-applied-twice": {"w2": bug},
        "forward-pass": dict.fromkeys(params, bug), "unexplained": dict.fromkeys(params, bug),
    }[bug]
    if bug == "activation-applied-twice":  # in the loss as in the gradient: all are wrong
        expected = dict.fromkeys(params, bug)
    loss_bug = bug if bug in ("activation-applied-twice", "forward-pass") else None
    return Member("chain", bug, lambda p: chain_loss(p, loss_bug), lambda p: chain_grad(p, bug),
                  params, np.array(CHAIN_X), np.array(CHAIN_Y), expected)


# -- xor: 2-2-1, arrays, rows ---------------------------------------------------------------------
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def xor_loss(p: dict[str, np.ndarray], bug: str | None = None) -> float:
    A1 = sigma(XOR_X @ p["W1"] + p["b1"])
    A2 = sigma(A1 @ p["W2"] + (0 if bug == "forward-pass" else p["b2"]))  # bug: b2 forgotten
    return float(np.mean((A2 - XOR_Y) ** 2))


def xor_grad(p: dict[str, np.ndarray], bug: str | None = None) -> dict[str, np.ndarray]:
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    n = len(XOR_X)
    Z1 = XOR_X @ W1 + b1
    A1 = sigma(Z1)
    A2 = sigma(A1 @ W2 + b2)
    dA2 = 2 * (A2 - XOR_Y) / n
    if bug == "sign":
        dA2 = 2 * (XOR_Y - A2) / n
    if bug == "scale":
        dA2 = 2 * (A2 - XOR_Y)
    D2 = dA2 * A2 * (1 - A2)
    if bug == "unexplained":
        D2 = D2 + 0.01
    dW2 = A1.T @ D2
    if bug == "wrong-input":
        dW2 = Z1.T @ D2
    if bug == "activation-applied-twice":
        dW2 = sigma(A1).T @ D2
    db2 = D2.sum(axis=0)
    if bug == "stale-weights":
        W2 -= RATE * dW2  # an update before the error is carried back
    back = D2 @ W2.T
    if bug == "not-carried-back":
        back = D2 * np.ones((1, 2))  # the weights left out
    der1 = A1 * (1 - A1)
    if bug == "derivative-at-wrong-value":
        der1 = Z1 * (1 - Z1)
    D1 = back * der1
    if bug == "derivative-missing":
        D1 = back
    if bug == "derivative-extra":
        D1 = back * der1 * der1
    dW1 = XOR_X.T @ D1
    if bug == "not-computed":
        dW1 = np.zeros_like(W1)
    return {"W1": dW1, "b1": D1.sum(axis=0), "W2": dW2, "b2": db2}


def xor(bug: str | None = None, seed: int = 2) -> Member:
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(2, 2)), "b1": rng.normal(size=2),
              "W2": rng.normal(size=(2, 1)), "b2": rng.normal(size=1)}
    hidden = {"W1": bug, "b1": bug}
    expected = {
        None: {}, "not-computed": {"W1": bug}, "sign": dict.fromkeys(params, bug),
        "scale": dict.fromkeys(params, bug), "derivative-at-wrong-value": hidden,
        "derivative-missing": hidden, "derivative-extra": hidden, "wrong-input": {"W2": bug},
        "not-carried-back": hidden, "stale-weights": hidden,
        "activation-applied-twice": {"W2": bug}, "forward-pass": dict.fromkeys(params, bug),
        "unexplained": dict.fromkeys(params, bug),
    }[bug]
    loss_bug = bug if bug == "forward-pass" else None
    return Member("xor", bug, lambda p: xor_loss(p, loss_bug), lambda p: xor_grad(p, bug),
                  params, XOR_X, XOR_Y, expected)


# -- nielsen: 3-4-1, columns, (out, in) weights, [weights, biases] -------------------------------
NIELSEN_X = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], float).T
NIELSEN_Y = np.array([[1, 1, 1, 0, 1, 0, 1, 1]], dtype=float)


def nielsen_loss(p: list[list[np.ndarray]], bug: str | None = None) -> float:
    weights, biases = p
    a = NIELSEN_X
    for w, b in zip(weights, biases, strict=True):
        a = sigma(np.dot(w, a) + b)
    if bug == "activation-applied-twice":
        a = sigma(a)
    if bug == "forward-pass":  # question 002 prints this as "the mean square loss"
        return float(np.linalg.norm(a - NIELSEN_Y) / 2)
    return float(0.5 * np.sum((a - NIELSEN_Y) ** 2))


def nielsen_grad(p: list[list[np.ndarray]], bug: str | None = None) -> list[list[np.ndarray]]:
    weights, biases = p
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    activation = NIELSEN_X
    activations, zs = [activation], []
    for b, w in zip(biases, weights, strict=True):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigma(z)
        activations.append(activation)
    cost_derivative = activations[-1] - NIELSEN_Y
    if bug == "sign":
        cost_derivative = NIELSEN_Y - activations[-1]
    if bug == "scale":
        cost_derivative = 2 * (activations[-1] - NIELSEN_Y)
    delta = cost_derivative * sigma(zs[-1]) * (1 - sigma(zs[-1]))
    if bug == "derivative-missing":
        delta = cost_derivative
    if bug == "unexplained":
        delta = delta + 0.01
    nabla_b[-1] = delta.sum(axis=1, keepdims=True)
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())
    if bug == "wrong-input":
        nabla_w[-1] = np.dot(delta, zs[-2].transpose())
    if bug == "stale-weights":
        weights[-1] -= RATE * nabla_w[-1]
    z = zs[-2]
    sp = sigma(z) * (1 - sigma(z))
    if bug == "derivative-at-wrong-value":
        a = activations[-2]
        sp = sigma(a) * (1 - sigma(a))
    back = np.dot(weights[-1].transpose(), delta)
    if bug == "not-carried-back":
        back = np.sum(weights[-1]) * delta  # one error shared by every hidden unit
    delta = back * sp
    if bug == "derivative-extra":
        delta = back * sp * sp
    if bug != "not-computed":
        nabla_b[-2] = delta.sum(axis=1, keepdims=True)
    nabla_w[-2] = np.dot(delta, activations[-3].transpose())
    return [nabla_w, nabla_b]


def nielsen(bug: str | None = None, seed: int = 5) -> Member:
    rng = np.random.default_rng(seed)
    params = [[rng.normal(size=(4, 3)), rng.normal(size=(1, 4))],
              [rng.normal(size=(4, 1)), rng.normal(size=(1, 1))]]
    W1, W2, b1, b2 = "params[0][0]", "params[0][1]", "params[1][0]", "params[1][1]"
    everything = dict.fromkeys((W1, W2, b1, b2), bug)
    hidden = {W1: bug, b1: bug}
    expected = {
        None: {}, "not-computed": {b1: bug}, "sign": everything, "scale": everything,
        "derivative-at-wrong-value": hidden, "derivative-missing": everything,
        "derivative-extra": hidden, "wrong-input": {W2: bug}, "not-carried-back": hidden,
        "stale-weights": hidden, "activation-applied-twice": everything,
        "forward-pass": everything, "unexplained": everything,
    }[bug]
    loss_bug = bug if bug in ("activation-applied-twice", "forward-pass") else None
    return Member("nielsen", bug, lambda p: nielsen_loss(p, loss_bug),
                  lambda p: nielsen_grad(p, bug), params, NIELSEN_X.T, NIELSEN_Y.T, expected)


# -- softmax: 4-3-3, tanh, cross-entropy of labels ------------------------------------------------
def _blobs(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    centres = rng.normal(scale=2.0, size=(3, 4))
    return centres[labels] + rng.normal(size=(n, 4)), labels


SOFTMAX_X, SOFTMAX_LABELS = _blobs()


def softmax_loss(p: dict[str, np.ndarray], bug: str | None = None) -> float:
    A1 = np.tanh(SOFTMAX_X @ p["W1"] + p["b1"])
    Z2 = A1 @ p["W2"] + p["b2"]
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P = E / sum(E) if bug == "forward-pass" else E / E.sum(axis=1, keepdims=True)
    n = len(SOFTMAX_X)
    return float(-np.mean(np.log(P[np.arange(n), SOFTMAX_LABELS])))


def softmax_grad(p: dict[str, np.ndarray], bug: str | None = None) -> dict[str, np.ndarray]:
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    n = len(SOFTMAX_X)
    A1 = np.tanh(SOFTMAX_X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    Y = np.eye(3)[SOFTMAX_LABELS]
    dZ2 = (P - Y) / n
    if bug == "sign":
        dZ2 = (Y - P) / n
    if bug == "scale":
        dZ2 = P - Y
    if bug == "derivative-extra":
        dZ2 = (P - Y) / n * P * (1 - P)
    if bug == "unexplained":
        dZ2 = dZ2 + 0.001
    dW2 = A1.T @ dZ2
    if bug == "wrong-input":
        dW2 = W2 * dZ2.sum(axis=0)
    if bug == "activation-applied-twice":
        dW2 = np.tanh(A1).T @ dZ2
    db2 = dZ2.sum(axis=0)
    if bug == "not-computed":
        db2 = np.zeros_like(b2)
    if bug == "stale-weights":
        W2 -= RATE * dW2
    dA1 = dZ2 @ W2.T
    if bug == "not-carried-back":
        dA1 = dZ2 @ W2  # the transpose left out
    derivative = 1 - A1**2
    if bug == "derivative-at-wrong-value":
        derivative = 1 - np.tanh(A1) ** 2
    dZ1 = dA1 * derivative
    if bug == "derivative-missing":
        dZ1 = dA1
    return {"W1": SOFTMAX_X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}


def softmax(bug: str | None = None, seed: int = 7) -> Member:
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(scale=0.5, size=(4, 3)), "b1": rng.normal(scale=0.5, size=3),
              "W2": rng.normal(size=(3, 3)), "b2": rng.normal(size=3)}
    everything = dict.fromkeys(params, bug)
    hidden = {"W1": bug, "b1": bug}
    expected = {
        None: {}, "not-computed": {"b2": bug}, "sign": everything, "scale": everything,
        "derivative-at-wrong-value": hidden, "derivative-missing": hidden,
        "derivative-extra": everything, "wrong-input": {"W2": bug},
        "not-carried-back": hidden, "stale-weights": hidden,
        "activation-applied-twice": {"W2": bug}, "forward-pass": everything,
        "unexplained": everything,
    }[bug]
    loss_bug = bug if bug == "forward-pass" else None
    return Member("softmax", bug, lambda p: softmax_loss(p, loss_bug),
                  lambda p: softmax_grad(p, bug), params, SOFTMAX_X, SOFTMAX_LABELS, expected)


SHAPES = (chain, xor, nielsen, softmax)
CORRECT = [shape() for shape in SHAPES]
BUGGY = [shape(code) for shape in SHAPES for code in CODES]
