"""The worked backward pass for one sample: every ``Z``, ``A``, ``dZ``, ``dW`` and ``db``.

:func:`worked_pass` writes backpropagation out step by step for one sample ``x`` with target
``y``, in the notation of the README's "How it works" (layers ``l = 1..L``, ``A_0 = x``; for one
sample every ``Z_l``, ``A_l`` and ``dZ_l`` is a row vector)::

    forward:   Z_l = A_{l-1} W_l + b_l,   A_l = f_l(Z_l)
    output:    dZ_L = dLoss/dZ_L
    backward:  dW_l = A_{l-1}^T dZ_l,     db_l = sum_i dZ_l  (= dZ_l for one sample)
               dZ_{l-1} = (dZ_l W_l^T) * f'_{l-1}(Z_{l-1})

It is computed here line by line, apart from :meth:`Network.gradients` (it only borrows each
layer's activation ``f`` and ``f'``), so that the two can be compared: its ``dW`` and ``db`` equal
``net.gradients(x[None], y[None])``, which the tests assert.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import activation_name
from ..network import Network

Array = np.ndarray

DERIVATIVES = {  # f'(z) of each activation, as the page writes it beside the values
    "sigmoid": "f'(z) = a (1 - a)",
    "tanh": "f'(z) = 1 - a^2",
    "relu": "f'(z) = 1 if z > 0 else 0",
    "leaky_relu": "f'(z) = 1 if z > 0 else 0.01",
    "elu": "f'(z) = 1 if z > 0 else a + 1",
    "softplus": "f'(z) = sigmoid(z)",
    "identity": "f'(z) = 1",
    "linear": "f'(z) = 1",
}


@dataclass
class LayerStep:
    """One layer's numbers for one sample (row vectors ``(1, n)``, matrices ``(n_in, n_out)``).

    ``fprime`` is ``f'_l(Z_l)`` (``None`` for a softmax output, which has no elementwise
    derivative); ``dA_prev = dZ_l W_l^T`` is the error carried back to ``A_{l-1}`` (``None`` for
    the first layer).
    """

    index: int
    activation: str
    W: Array
    b: Array
    A_prev: Array
    Z: Array
    A: Array
    fprime: Array | None
    dZ: Array
    dW: Array
    db: Array
    dA_prev: Array | None

    def formulas(self, last: int, output_error: str) -> dict[str, str]:
        """The formula of each quantity, with this layer's index put in (``output_error``:
        the formula of ``dZ_L`` from the loss)."""
        l, p = self.index, self.index - 1  # noqa: E741 (l is the README's layer index)
        f = f"f_{l}" if self.activation not in ("identity", "linear") else "identity"
        return {
            "Z": f"Z_{l} = A_{p} W_{l} + b_{l}",
            "A": f"A_{l} = {self.activation}(Z_{l})" if f != "identity" else f"A_{l} = Z_{l}",
            "fprime": f"f'_{l}(Z_{l}): " + DERIVATIVES.get(self.activation, "f'(z)"),
            "dZ": (output_error if l == last
                   else f"dZ_{l} = (dZ_{l + 1} W_{l + 1}^T) * f'_{l}(Z_{l})"),
            "dW": f"dW_{l} = A_{p}^T dZ_{l}",
            "db": f"db_{l} = sum_i dZ_{l}  (one sample: dZ_{l})",
            "dA_prev": f"dZ_{l} W_{l}^T  (the error carried back to A_{p})",
        }


@dataclass
class WorkedPass:
    """The forward and backward pass of one sample, layer by layer."""

    x: Array
    target: Array
    loss_name: str
    loss: float
    loss_formula: str
    output_error: str
    note: str
    layers: list[LayerStep]

    def gradients(self) -> list[tuple[Array, Array]]:
        """``[(dW, db), ...]`` per layer, shaped like :meth:`Network.gradients`'s."""
        return [(step.dW, step.db[0]) for step in self.layers]

    def to_json(self, decimals: int | None = None) -> dict:
        """Plain lists for the page (full precision unless ``decimals`` is given)."""
        def out(a):
            if a is None:
                return None
            a = np.asarray(a, dtype=float)
            return (a if decimals is None else np.round(a, decimals)).tolist()

        last = len(self.layers)
        return {
            "x": out(self.x[0]), "target": out(self.target[0]), "loss_name": self.loss_name,
            "loss": float(self.loss), "loss_formula": self.loss_formula,
            "output_error": self.output_error, "note": self.note,
            "layers": [
                {"index": s.index, "activation": s.activation,
                 "formulas": s.formulas(last, self.output_error),
                 "W": out(s.W), "b": out(s.b), "A_prev": out(s.A_prev[0]), "Z": out(s.Z[0]),
                 "A": out(s.A[0]), "fprime": None if s.fprime is None else out(s.fprime[0]),
                 "dZ": out(s.dZ[0]), "dW": out(s.dW), "db": out(s.db[0]),
                 "dA_prev": None if s.dA_prev is None else out(s.dA_prev[0])}
                for s in self.layers
            ],
        }


def worked_pass(net: Network, x: Array, y) -> WorkedPass:
    """Backpropagation for the one sample ``(x, y)`` with ``net``'s current weights.

    Parameters
    ----------
    net : Network
    x : array of shape (n_inputs,)
        One sample's inputs.
    y : float, int or array
        Its target: a value per output, or a class index for a softmax output.

    Returns
    -------
    WorkedPass
        Every layer's ``A_{l-1}, Z_l, A_l, f'_l(Z_l), dZ_l, dW_l, db_l`` and ``dZ_l W_l^T``.
    """
    A = net.check_inputs(np.asarray(x, dtype=float).reshape(1, -1))
    Y = net.loss_function.prepare_targets(np.reshape(y, (1, -1)) if np.ndim(y) else
                                          np.array([y]), net.n_outputs, net.dtype)
    steps: list[LayerStep] = []
    with np.errstate(over="ignore"):
        for layer in net.layers:  # forward: Z_l = A_{l-1} W_l + b_l
            W, b = layer.weights.copy(), layer.bias.copy()
            Z = A @ W + b
            A_next = layer.activation.forward(Z)  # A_l = f_l(Z_l)
            name = activation_name(layer.activation)
            fprime = None if name == "softmax" else layer.activation.derivative(Z, A_next)
            steps.append(LayerStep(len(steps) + 1, name, W, b, A, Z, A_next, fprime, None, None,
                                   None, None))
            A = A_next
    out = steps[-1]
    loss_name, loss_formula, error, note, out.dZ, loss = _output_error(
        net.loss_function.name, out, Y)
    for i in range(len(steps) - 1, -1, -1):  # backward
        step = steps[i]
        step.dW = step.A_prev.T @ step.dZ  # dW_l = A_{l-1}^T dZ_l
        step.db = step.dZ.sum(axis=0, keepdims=True)  # db_l = sum_i dZ_l
        if i > 0:
            step.dA_prev = step.dZ @ step.W.T  # carried back with W_l as in the forward pass
            steps[i - 1].dZ = step.dA_prev * steps[i - 1].fprime  # * f'_{l-1}(Z_{l-1})
    return WorkedPass(steps[0].A_prev, Y, loss_name, loss, loss_formula, error, note, steps)


def _output_error(loss: str, out: LayerStep,
                  Y: Array) -> tuple[str, str, str, str, Array, float]:
    """For one sample: the loss's name, its formula, the formula of ``dZ_L = dLoss/dZ_L`` and a
    note on it, ``dZ_L`` itself, and the loss value."""
    A, Z, n_out = out.A, out.Z, Y.shape[1]
    L = f"_{out.index}"
    if loss == "bce":  # fused with the sigmoid: f' cancels
        value = np.mean(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z))))
        return ("bce", "Loss = mean_k -(y_k log a_k + (1 - y_k) log(1 - a_k))",
                f"dZ{L} = (A{L} - Y) / n_out", f"bce with a sigmoid output: the sigmoid's f' "
                f"cancels out; n_out = {n_out}", (A - Y) / n_out, float(value))
    if loss == "cross_entropy":  # fused with the softmax
        value = -np.sum(Y * np.log(np.maximum(A, np.finfo(A.dtype).tiny)))
        return ("cross_entropy", "Loss = -sum_k y_k log a_k", f"dZ{L} = A{L} - Y",
                "cross-entropy with a softmax output: the softmax's Jacobian cancels out",
                A - Y, float(value))
    dA = 2 * (A - Y) / n_out
    value = float(np.mean((A - Y) ** 2))
    if out.activation == "softmax":  # softmax's Jacobian: dZ = A * (dA - sum_k dA_k A_k)
        return ("mse", "Loss = mean_k (a_k - y_k)^2",
                f"dZ{L} = A{L} * (dA - sum_k dA_k a_k),  dA = 2 (A{L} - Y) / n_out",
                f"mse through a softmax output; n_out = {n_out}",
                A * (dA - (dA * A).sum(axis=1, keepdims=True)), value)
    return ("mse", "Loss = mean_k (a_k - y_k)^2", f"dZ{L} = 2 (A{L} - Y) / n_out * f'{L}(Z{L})",
            f"the derivative of the mean square error, times the output's slope; n_out = "
            f"{n_out}", dA * out.fprime, value)


def difference_from_gradients(worked: WorkedPass, net: Network) -> float:
    """The largest ``|dW - dW'|`` or ``|db - db'|`` between ``worked`` and ``net.gradients``
    on the same sample: zero up to rounding when both are right."""
    grads = net.gradients(worked.x, worked.target)
    return max(float(np.max(np.abs(a - b), initial=0.0))
               for (dW, db), (dW2, db2) in zip(worked.gradients(), grads, strict=True)
               for a, b in ((dW, dW2), (db, db2)))
