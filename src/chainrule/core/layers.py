"""A fully connected layer: the forward pass and the three lines of backpropagation.

Forward, for a batch ``X`` of shape ``(n, n_in)``::

    Z = X W + b          net input,  (n, n_out)
    A = f(Z)             activation, (n, n_out)

Backward, given the error ``dZ = dL/dZ`` of this layer::

    dW = X^T dZ          gradient of the weights, (n_in, n_out)
    db = sum_i dZ_i      gradient of the bias,    (n_out,)
    dX = dZ W^T          error carried back to the previous layer's output

and the previous layer turns ``dX`` into its own error with ``dZ_prev = dX * f'(Z_prev)``.
``dX`` uses ``W`` as it was in the forward pass: update the weights only after the error has been
carried back through them.

The same code trains ``K`` independent copies at once: weights of shape ``(K, n_in, n_out)``,
biases ``(K, n_out)``, activations ``(K, n, n_out)``; ``@`` and ``.mT`` work on the last two axes.
"""

from __future__ import annotations

import numpy as np

from .activations import ActivationLike

Array = np.ndarray


class Dense:
    """A fully connected layer ``A = f(X W + b)``.

    Parameters
    ----------
    weights : ndarray, shape (n_in, n_out)
        Connection weights; ``weights[j, k]`` links input ``j`` to unit ``k``.
    bias : ndarray, shape (n_out,)
        One bias per unit.
    activation : Activation
        The elementwise activation ``f`` with its derivative.
    """

    def __init__(self, weights: Array, bias: Array, activation: ActivationLike) -> None:
        self.weights = weights
        self.bias = bias
        self.activation = activation
        self.X: Array | None = None  # what the backward pass needs, kept by forward
        self.Z: Array | None = None
        self.A: Array | None = None

    @property
    def n_in(self) -> int:
        return self.weights.shape[-2]

    @property
    def n_out(self) -> int:
        return self.weights.shape[-1]

    def forward(self, X: Array) -> Array:
        """``Z = X W + b``, ``A = f(Z)``; remembers ``X, Z, A`` for the backward pass."""
        self.X = X
        self.Z = X @ self.weights + self.bias[..., None, :]  # (a bias row per copy)
        self.A = self.activation.forward(self.Z)
        return self.A

    def backward(self, dZ: Array) -> tuple[Array, Array, Array]:
        """``dW = X^T dZ``, ``db = sum_i dZ_i`` and ``dX = dZ W^T`` from this layer's error."""
        return self.X.mT @ dZ, dZ.sum(axis=-2), dZ @ self.weights.mT

    def error_from_output_gradient(self, dA: Array) -> Array:
        """This layer's error ``dZ = dA * f'(Z)`` from the gradient ``dA`` of its output."""
        return dA * self.activation.derivative(self.Z, self.A)

    def __repr__(self) -> str:
        name = getattr(self.activation, "name", type(self.activation).__name__)
        return f"Dense({self.n_in} -> {self.n_out}, {name})"


def parameter_views(buffer: Array, shapes: list[tuple[int, int]]) -> list[tuple[Array, Array]]:
    """``(W, b)`` of each layer as views into one ``(K, P)`` buffer holding ``K`` copies.

    ``W`` has shape ``(K, n_in, n_out)`` and ``b`` ``(K, n_out)``; with ``K = 1`` they are plain
    ``(n_in, n_out)`` and ``(n_out,)`` arrays. Layer ``l`` takes ``n_in * n_out`` entries for
    ``W_l``, then ``n_out`` for ``b_l``.
    """
    rows = 0 if buffer.shape[0] == 1 else slice(None)
    views, offset = [], 0
    for n_in, n_out in shapes:
        W = buffer[rows, offset : offset + n_in * n_out]
        views.append((W.reshape(W.shape[:-1] + (n_in, n_out)),
                      buffer[rows, offset + n_in * n_out : offset + n_in * n_out + n_out]))
        offset += n_in * n_out + n_out
    return views
