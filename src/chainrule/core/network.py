"""The feed-forward network: a list of dense layers, a loss, and backpropagation.

Backpropagation in full, for layers ``1..L`` with ``A_0 = X``::

    forward:   Z_l = A_{l-1} W_l + b_l,   A_l = f_l(Z_l)
    output:    dZ_L = dLoss/dZ_L                       (from the loss)
    backward:  dW_l = A_{l-1}^T dZ_l,     db_l = sum_i dZ_l
               dZ_{l-1} = (dZ_l W_l^T) * f'_{l-1}(Z_{l-1})

Every error ``dZ_{l-1}`` is computed from ``W_l`` *before* any weight changes; only then does the
optimizer update all layers together.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from .. import checks, inputs
from .activations import ActivationLike, activation_name, get_activation
from .initializers import (
    Initializer,
    Uniform,
    get_initializer,
)
from .layers import Dense, parameter_views
from .losses import Loss, get_loss

Array = np.ndarray
PREDICT_BLOCK = 1 << 22  # numbers in the activations of a block of rows predict computes at once


def forward(layers: Sequence[Dense], X: Array) -> Array:
    """Run ``X`` through every layer, each remembering what backpropagation needs."""
    A = X
    for layer in layers:
        A = layer.forward(A)
    return A


def backward(layers: Sequence[Dense], dZ: Array) -> list[tuple[Array, Array]]:
    """Carry the output error ``dZ`` back through ``layers``: ``[(dW, db), ...]`` per layer."""
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        dW, db, dA = layers[i].backward(dZ)
        grads.append((dW, db))
        if i > 0:
            dZ = layers[i - 1].error_from_output_gradient(dA)
    return grads[::-1]


as_generator = checks.seed  # a ``np.random.Generator`` from a seed, or the generator itself


class Network:
    """A multilayer perceptron trained by backpropagation.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[2, 2, 1]`` is 2 inputs, 2 hidden units, 1 output.
    activation : str, object, or sequence of them
        Hidden-layer activation (``sigmoid, tanh, relu, leaky_relu, elu, softplus, exp,
        identity``), or one per hidden layer, or an object with ``forward(Z)`` and
        ``derivative(Z, A)``.
    output_activation : str or object
        Output activation; also ``softmax``.
    loss : {"mse", "bce", "cross_entropy", "poisson"}
        PyTorch's definitions with mean reduction. ``bce`` needs a sigmoid output,
        ``cross_entropy`` a softmax output and ``poisson`` (counts) an ``exp`` output; each is
        fused with its output for stability.
    init : str or callable
        Weight initialiser (see :mod:`chainrule.initializers`); ``"auto"`` follows the activation.
    seed : int, numpy Generator or None
        Source of all randomness: initial weights, shuffling, restarts.
    dtype : {"float64", "float32"}
        Floating-point type of weights and computations.

    Attributes
    ----------
    layers : list of Dense
        ``layers[i].weights`` of shape ``(n_in, n_out)`` and ``layers[i].bias`` of ``(n_out,)``:
        views into one flat buffer of all parameters (``buffer``, shape ``(1, P)``).
    history_ : History
        The History of the last :meth:`fit`, also when it was interrupted (Ctrl-C).

    Raises
    ------
    ValueError
        For sizes whose weights would not fit in the memory budget
        (:func:`chainrule.set_memory_limit`), among other bad arguments.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | ActivationLike | Sequence[str | ActivationLike] = "sigmoid",
        output_activation: str | ActivationLike = "sigmoid",
        loss: str | Loss = "mse",
        init: str | Initializer = "auto",
        seed: int | np.random.Generator | None = 0,
        dtype: str | np.dtype = "float64",
    ) -> None:
        self.sizes = checks.sizes(sizes)
        self.dtype = inputs.float_dtype(dtype)
        checks.check_memory(checks.network_bytes(self.sizes, self.dtype.itemsize),
                            f"a network of sizes {self.sizes}")
        hidden = inputs.per_layer(activation, len(self.sizes) - 2)
        activations = [get_activation(a) for a in hidden] + [get_activation(output_activation)]
        if any(activation_name(a) == "softmax" for a in activations[:-1]):
            raise ValueError("softmax is for the output layer only; use it as output_activation")
        self.loss_function = get_loss(loss)
        self.loss_function.check_pair(activations[-1])
        self.init = init
        inputs.warn_if_symmetric(init, stacklevel=2)
        self.rng = as_generator(seed)
        self.buffer = np.zeros((1, self.n_parameters), self.dtype)
        views = parameter_views(self.buffer, self.shapes)
        self.layers = [Dense(W, b, act) for (W, b), act in zip(views, activations, strict=True)]
        self.initialize(self.layers)
        self.input_range_: tuple[Array, Array] | None = None

    # -- parameters ------------------------------------------------------------------------
    def initialize(self, layers: Sequence[Dense], copies: Array | None = None) -> None:
        """Draw fresh weights and zero biases for ``layers``: this net's, or stacked copies.

        ``copies``, for stacked layers, selects which copies (first axis) to redraw.
        """
        rows = ... if copies is None else copies
        built_in = isinstance(self.init, str | Uniform)  # (a user's initialiser is checked)
        for layer in layers:
            init = get_initializer(self.init, activation_name(layer.activation))
            shape = layer.weights[rows].shape
            W = init(self.rng, layer.n_in, layer.n_out, shape)
            layer.weights[rows] = inputs.checked_weights(W, shape, trusted=built_in)
            layer.bias[rows] = 0

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(n_in, n_out)`` of each layer's weights."""
        return list(zip(self.sizes[:-1], self.sizes[1:], strict=False))

    @property
    def n_parameters(self) -> int:
        return sum(n_in * n_out + n_out for n_in, n_out in self.shapes)

    def flat_parameters(self) -> Array:
        """All weights and biases as one ``(1, P)`` array, of which ``layers`` hold views.

        Training updates it in place. If a layer's arrays were replaced (or copied apart, as a
        deep copy or unpickling does), they are packed into a new buffer first.
        """
        if any(p.base is not self.buffer for p in self.parameters()):
            buffer = np.empty((1, self.n_parameters), self.dtype)
            views = parameter_views(buffer, self.shapes)
            for (W, b), layer in zip(views, self.layers, strict=True):
                if layer.weights.shape != W.shape or layer.bias.shape != b.shape:
                    raise ValueError(
                        f"layer weights of shapes {layer.weights.shape} and {layer.bias.shape} "
                        f"do not fit the network's sizes {self.sizes}: expected {W.shape} and "
                        f"{b.shape}"
                    )
                W[...], b[...] = layer.weights, layer.bias
                layer.weights, layer.bias = W, b
            self.buffer = buffer
        return self.buffer

    def parameters(self) -> list[Array]:
        """``[W1, b1, W2, b2, ...]``: the arrays themselves, not copies."""
        return [p for layer in self.layers for p in (layer.weights, layer.bias)]

    def copy(self) -> Network:
        """An independent copy: same weights, same random state, nothing shared."""
        return copy.deepcopy(self)

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def output_activation(self) -> ActivationLike:
        return self.layers[-1].activation

    # -- computation -----------------------------------------------------------------------
    def predict(self, X: Array) -> Array:
        """Network outputs for the rows of ``X``: shape ``(n, n_out)``.

        Large inputs go through a block of rows at a time, so that memory holds one block's
        activations. Warns when ``X`` lies far outside the range of the training inputs, and
        when the outputs overflow to inf or NaN.
        """
        X, input_range = inputs.inputs_and_range(self, X)
        n, rows = X.shape[0], max(1, PREDICT_BLOCK // sum(self.sizes))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            inputs.warn_if_outside(X, input_range, self.input_range_)
            if n <= rows:
                A = forward(self.layers, X)
            else:
                checks.check_memory(n * self.n_outputs * self.dtype.itemsize,
                                    f"the predictions for {n} rows")
                A = np.empty((n, self.n_outputs), self.dtype)
                for first in range(0, n, rows):
                    A[first : first + rows] = forward(self.layers, X[first : first + rows])
        inputs.warn_if_not_finite(A, "outputs", input_range)
        return A

    def loss(self, X: Array, y: Array, sample_weight: Array | None = None) -> float:
        """The loss on ``(X, y)``: mean over samples (weighted by ``sample_weight``)."""
        X, Y, c, input_range = inputs.data_and_range(self, X, y, sample_weight)
        self._check_memory(X.shape[0], backward=False)
        out = self.layers[-1]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            forward(self.layers, X)
            value = np.asarray(self.loss_function.value(out.Z, out.A, Y, c))
        inputs.warn_if_not_finite(value, "loss", input_range)
        return float(value)

    def gradients(
        self, X: Array, y: Array, sample_weight: Array | None = None
    ) -> list[tuple[Array, Array]]:
        """Gradients of :meth:`loss` by backpropagation: ``[(dW, db), ...]``, one per layer."""
        X, Y, c, input_range = inputs.data_and_range(self, X, y, sample_weight)
        self._check_memory(X.shape[0], backward=True)
        out = self.layers[-1]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            forward(self.layers, X)
            grads = backward(self.layers, self.loss_function.delta(out.Z, out.A, Y, c,
                                                                   out.activation))
        inputs.warn_if_not_finite([g for pair in grads for g in pair], "gradients", input_range)
        return grads

    def _check_memory(self, rows: int, backward: bool) -> None:
        """Refuse a pass over ``rows`` samples whose activations would not fit in memory."""
        checks.check_memory(
            checks.activation_bytes(self.sizes, rows, 1, self.dtype.itemsize, backward)
            + backward * self.n_parameters * self.dtype.itemsize,
            f"a {'backward' if backward else 'forward'} pass over {rows} samples")

    def fit(self, X: Array, y: Array, **kwargs):
        """Train on ``(X, y)``; see :func:`chainrule.training.fit` for the arguments."""
        from ..training import fit

        return fit(self, X, y, **kwargs)

    # -- elsewhere --------------------------------------------------------------------------
    def save(self, path, **metadata) -> None:
        """Save as a chainrule model file (arrays + JSON, never pickle): :mod:`chainrule.io`."""
        from ..io import save_network

        save_network(self, path, **metadata)

    def to_onnx(self, path, **kwargs) -> None:
        """Export as an ONNX graph (needs ``chainrule[onnx]``): :func:`chainrule.export.to_onnx`."""
        from ..export import to_onnx

        to_onnx(self, path, **kwargs)

    def to_torch(self):
        """The same network as a PyTorch ``nn.Sequential``; see :mod:`chainrule.interop`."""
        from ..interop import to_torch

        return to_torch(self)

    # -- input checking (chainrule.inputs) --------------------------------------------------
    def check_inputs(self, X: Array) -> Array:
        """``X`` as a finite ``(n, n_inputs)`` array of this network's dtype, or a ValueError."""
        return inputs.inputs_and_range(self, X, with_range=False)[0]

    def check_data(
        self, X: Array, y: Array, sample_weight: Array | None = None
    ) -> tuple[Array, Array, float | Array]:
        """Checked ``(X, Y, c)``: inputs, ``(n, n_out)`` targets, per-sample loss weights."""
        return inputs.data_and_range(self, X, y, sample_weight, with_range=False)[:3]

    def __repr__(self) -> str:
        acts = "-".join(activation_name(layer.activation) for layer in self.layers)
        return (
            f"Network({self.sizes}, activations={acts}, loss={self.loss_function.name!r}, "
            f"dtype={self.dtype.name})"
        )
