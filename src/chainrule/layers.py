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

from collections.abc import Callable

import numpy as np

from .activations import Activation, ActivationLike

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
    reuse_buffers : bool
        Write ``Z``, ``A``, ``dX`` and ``dZ`` into arrays kept from the previous call with
        inputs of the same shape, instead of allocating new ones. Training does this: each step
        overwrites the last step's arrays. Off by default, so that a returned ``A`` stays valid.
    """

    def __init__(
        self, weights: Array, bias: Array, activation: ActivationLike, reuse_buffers: bool = False
    ) -> None:
        self.weights = weights
        self.bias = bias
        self.activation = activation
        self.X: Array | None = None
        self.Z: Array | None = None
        self.A: Array | None = None
        self.buffers: dict[tuple, dict[str, Array]] | None = {} if reuse_buffers else None
        self._out: dict[str, Array] = {}  # this call's buffers, by name ...
        self._shape: tuple | None = None  # ... kept for inputs of this shape
        self._takes_out = isinstance(activation, Activation)  # a user's object may not
        self._product = np.matmul  # the matrix product for this call's X and W (see product_for)

    @property
    def n_in(self) -> int:
        return self.weights.shape[-2]

    @property
    def n_out(self) -> int:
        return self.weights.shape[-1]

    def forward(self, X: Array) -> Array:
        """Compute ``A = f(X W + b)`` and remember ``X, Z, A`` for the backward pass."""
        out = self._out if X.shape == self._shape else self._buffers_for(X.shape)
        self._product = product = product_for(X, self.weights)
        Z = out["Z"] = product(X, self.weights, out=out.get("Z"))
        b = self.bias
        Z += b if b.ndim == 1 else b[..., None, :]  # a bias row per copy
        if self._takes_out:
            A = out["A"] = self.activation.forward(Z, out=out.get("A"))
        else:
            A = self.activation.forward(Z)
        self.X, self.Z, self.A = X, Z, A
        return A

    def backward(
        self, dZ: Array, carry_back: bool = True, out: tuple[Array, Array] | None = None
    ) -> tuple[Array, Array, Array | None]:
        """Gradients ``(dW, db)`` from this layer's error ``dZ``, and ``dX`` if ``carry_back``.

        ``out``, if given, is a pair of arrays that receive ``dW`` and ``db`` in place.
        """
        dW, db = out if out is not None else (None, None)
        product = self._product
        dW = product(self.X.mT, dZ, out=dW)
        db = product(self._ones(dZ), dZ, out=db)  # sum over the batch, as a product with 1s
        dX = None
        if carry_back:
            dX = self._out["dX"] = product(dZ, self.weights.mT, out=self._out.get("dX"))
        return dW, db, dX

    def error_from_output_gradient(self, dA: Array) -> Array:
        """This layer's error ``dZ = dA * f'(Z)`` from the gradient ``dA`` of its output."""
        if not self._takes_out:
            return dA * self.activation.derivative(self.Z, self.A)
        dZ = self._out["dZ"] = self.activation.derivative(self.Z, self.A, out=self._out.get("dZ"))
        return np.multiply(dA, dZ, out=dZ)

    def _ones(self, dZ: Array) -> Array:
        """A vector of ``n`` ones (``n`` samples in the batch), kept with this input shape's
        other buffers.

        ``db = 1^T dZ`` is one BLAS matrix-vector product: faster than ``dZ.sum(axis=-2)`` at
        every batch size, and summed the way ``dW = X^T dZ`` is.
        """
        ones = self._out.get("ones")
        if ones is None:
            ones = self._out["ones"] = np.ones(dZ.shape[-2], dZ.dtype)
        return ones

    def _buffers_for(self, shape: tuple) -> dict[str, Array]:
        """The arrays kept for inputs of a new ``shape`` (fresh ones when buffers are not
        reused); ``forward`` calls this only when the shape differs from the last call's."""
        if self.buffers is None:
            self._out = {}
            return self._out
        if shape not in self.buffers and len(self.buffers) >= 4:  # e.g. validation chunks
            self.buffers.clear()
        self._shape = shape
        self._out = self.buffers.setdefault(shape, {})
        return self._out

    def __repr__(self) -> str:
        name = getattr(self.activation, "name", type(self.activation).__name__)
        return f"Dense({self.n_in} -> {self.n_out}, {name})"


def product_for(a: Array, b: Array) -> Callable[..., Array]:
    """The function that computes ``a @ b`` over the last two axes (with ``out=``).

    Plain matrices go through ``np.dot``: the same BLAS product, with half the call overhead of
    ``np.matmul`` (about 0.45 against 0.9 us), which is most of the cost of a product on a tiny
    layer. Stacks of copies need ``np.matmul``'s broadcasting.
    """
    return np.dot if a.ndim == 2 == b.ndim else np.matmul


def parameter_views(buffer: Array, shapes: list[tuple[int, int]]) -> list[tuple[Array, Array]]:
    """``(W, b)`` of each layer as views into one ``(K, P)`` buffer holding ``K`` copies.

    ``W`` has shape ``(K, n_in, n_out)`` and ``b`` ``(K, n_out)``; with ``K = 1`` they are plain
    ``(n_in, n_out)`` and ``(n_out,)`` arrays (NumPy multiplies 2-D matrices faster than stacks of
    one). Layer ``l`` takes ``n_in * n_out`` entries for ``W_l``, then ``n_out`` for ``b_l``.
    """
    rows = 0 if buffer.shape[0] == 1 else slice(None)
    views, offset = [], 0
    for n_in, n_out in shapes:
        W = buffer[rows, offset : offset + n_in * n_out]
        views.append((np.reshape(W, W.shape[:-1] + (n_in, n_out), copy=False),
                      buffer[rows, offset + n_in * n_out : offset + n_in * n_out + n_out]))
        offset += n_in * n_out + n_out
    return views
