"""The state of one ``fit`` call: ``K`` copies of the network, trained together."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.layers import Dense, parameter_views
from ..core.network import Network, backward, forward

Array = np.ndarray


class Training:
    """``K`` copies of a network trained together, as the callbacks see them.

    All parameters of all copies live in one ``(K, P)`` buffer, and their gradients in another:
    ``layers[i].weights`` is a ``(K, n_in, n_out)`` view into it (with one copy, the network's
    own ``(1, P)`` buffer and plain ``(n_in, n_out)`` views: it trains in place). Both the
    compiled engine and the NumPy path update these buffers in place, and the optimizer's state.

    A callback stops training by setting ``stop_reason``, and may save and restore all copies
    with :meth:`get_weights` / :meth:`set_weights`. The epoch's ``logs`` hold the losses of
    copy ``logged_copy`` (the one with the lowest training loss).
    """

    def __init__(self, net: Network, K: int, weight_decay: float = 0.0) -> None:
        self.net = net
        shapes = net.shapes
        sizes = [size for n_in, n_out in shapes for size in (n_in * n_out, n_out)]
        starts = np.cumsum([0, *sizes[:-1]])
        self.weight_columns = [(int(a), int(a + size)) for a, size in zip(starts[::2], sizes[::2],
                                                                          strict=True)]
        # one copy trains the network's own weights in place; K copies get a buffer of their own
        self.params = net.flat_parameters() if K == 1 else np.empty((K, sum(sizes)), net.dtype)
        self.grads = np.zeros_like(self.params)
        self.grad_views = parameter_views(self.grads, shapes)
        self.layers = [
            Dense(W, b, layer.activation)
            for (W, b), layer in zip(parameter_views(self.params, shapes), net.layers, strict=True)
        ]
        if K > 1:
            net.initialize(self.layers)
            self.set_copy(0, net.layers)
        self.weight_decay = weight_decay
        self.decay = None  # weight_decay where the buffer holds a weight, 0 where a bias
        if weight_decay:
            self.decay = np.zeros(self.params.shape[1], net.dtype)
            for a, b in self.weight_columns:
                self.decay[a:b] = weight_decay
        self.stop_reason: str | None = None
        self.logged_copy = 0  # the copy whose losses the callbacks' logs hold

    def forward_backward(self, X: Array, Y: Array, c: float | Array) -> Array:
        """The loss of each copy on ``(X, Y)`` (plus the L2 penalty); leaves the gradients in
        ``grads``. The core's forward and backward passes: the NumPy path."""
        loss, out = self.net.loss_function, self.layers[-1]
        forward(self.layers, X)
        value = np.reshape(loss.value(out.Z, out.A, Y, c), -1)
        gradients = backward(self.layers, loss.delta(out.Z, out.A, Y, c, out.activation))
        for (dW, db), (gW, gb) in zip(gradients, self.grad_views, strict=True):
            gW[...], gb[...] = dW, db
        if self.decay is not None:  # L2 penalty: weight_decay / 2 ||W||^2
            self.grads += self.decay * self.params
            value = value + 0.5 * (self.decay * self.params * self.params).sum(axis=-1)
        return value

    @property
    def n_copies(self) -> int:
        """``K``, the number of copies trained together."""
        return self.params.shape[0]

    def copy_of(self, k: int) -> list[tuple[Array, Array]]:
        """``(W, b)`` of every layer of copy ``k``, as views."""
        index = ... if self.n_copies == 1 else k
        return [(layer.weights[index], layer.bias[index]) for layer in self.layers]

    def set_copy(self, k: int, layers: Sequence[Dense]) -> None:
        """Copy the weights of ``layers`` into copy ``k``."""
        for (W, b), layer in zip(self.copy_of(k), layers, strict=True):
            W[...], b[...] = layer.weights, layer.bias

    def get_weights(self) -> list[Array]:
        return [self.params.copy()]

    def set_weights(self, weights: Sequence[Array]) -> None:
        self.params[...] = weights[0]
