"""Activation functions and their derivatives, as small paired functions in a table.

Backpropagation needs, for every unit, the derivative of its activation ``a = f(z)`` with
respect to its net input ``z``. Many derivatives are cheapest written in terms of the output
``a`` (the sigmoid's ``a (1 - a)``), others in terms of ``z`` (ReLU's step), so each
``derivative`` receives both: ``derivative(Z, A)`` returns ``f'(Z)`` elementwise, given that
``A == f(Z)``. Mixing the two up -- taking ``a (1 - a)`` of ``z`` -- is the most common bug in
hand-written backprop; here the name of the argument says which one is meant.

Softmax is not elementwise: it is only allowed on the output layer, where the loss provides the
gradient with respect to ``Z`` directly (see :mod:`chainrule.losses`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Array = np.ndarray


@runtime_checkable
class ActivationLike(Protocol):
    """What a user-supplied activation must provide: ``forward(Z)`` and ``derivative(Z, A)``."""

    def forward(self, Z: Array) -> Array: ...

    def derivative(self, Z: Array, A: Array) -> Array: ...


@dataclass(frozen=True)
class Activation:
    """An activation function ``a = f(z)`` with its derivative ``f'(z)``.

    Parameters
    ----------
    name : str
        Name used in error messages and saved models.
    forward : callable
        ``forward(Z) -> A``, elementwise.
    derivative : callable
        ``derivative(Z, A) -> dA/dZ``, elementwise, where ``A = forward(Z)``.
    """

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]


def _sigmoid(Z: Array) -> Array:
    """``1 / (1 + exp(-z)) = exp(-log(1 + exp(-z)))``, with NumPy's stable ``logaddexp``.

    Never overflows, and stays accurate (to relative precision) deep in both tails.
    """
    return np.exp(-np.logaddexp(0, -Z))


def _sigmoid_derivative(Z: Array, A: Array) -> Array:
    """``sigma'(z) = a (1 - a)``: of the *output* ``a``, not of ``z``."""
    return A * (1.0 - A)


def _tanh_derivative(Z: Array, A: Array) -> Array:
    """``tanh'(z) = 1 - a^2``."""
    return 1.0 - A * A


def _relu(Z: Array) -> Array:
    """``max(0, z)``."""
    return np.maximum(Z, 0)


def _relu_derivative(Z: Array, A: Array) -> Array:
    """``1`` where ``z > 0``, else ``0`` (PyTorch's choice at ``z = 0``)."""
    return (Z > 0).astype(Z.dtype)


LEAKY_SLOPE = 0.01


def _leaky_relu(Z: Array) -> Array:
    """``z`` for ``z > 0``, else ``0.01 z``."""
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


def _leaky_relu_derivative(Z: Array, A: Array) -> Array:
    """``1`` for ``z > 0``, else ``0.01``."""
    return np.where(Z > 0, 1.0, LEAKY_SLOPE).astype(Z.dtype)


def _elu(Z: Array) -> Array:
    """``z`` for ``z > 0``, else ``exp(z) - 1`` (alpha = 1)."""
    return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0)))


def _elu_derivative(Z: Array, A: Array) -> Array:
    """``1`` for ``z > 0``, else ``exp(z) = a + 1``."""
    return np.where(Z > 0, 1.0, A + 1.0).astype(Z.dtype)


def _softplus(Z: Array) -> Array:
    """``log(1 + exp(z))``, computed as ``max(z, 0) + log1p(exp(-|z|))``: never overflows."""
    return np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))


def _softplus_derivative(Z: Array, A: Array) -> Array:
    """``softplus'(z) = sigma(z)``."""
    return _sigmoid(Z)


def _identity(Z: Array) -> Array:
    """``z``."""
    return Z


def _identity_derivative(Z: Array, A: Array) -> Array:
    """``1``."""
    return np.ones_like(Z)


def _softmax(Z: Array) -> Array:
    """``exp(z_k) / sum_j exp(z_j)`` over the last axis, shifted by the row maximum."""
    E = np.exp(Z - np.maximum.reduce(Z, axis=-1, keepdims=True))
    return E / np.add.reduce(E, axis=-1, keepdims=True)


def _softmax_derivative(Z: Array, A: Array) -> Array:
    raise TypeError(
        "softmax is not elementwise: its gradient is taken by the loss "
        "(use it only as output_activation)"
    )


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, _sigmoid_derivative),
        Activation("tanh", np.tanh, _tanh_derivative),
        Activation("relu", _relu, _relu_derivative),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative),
        Activation("elu", _elu, _elu_derivative),
        Activation("softplus", _softplus, _softplus_derivative),
        Activation("identity", _identity, _identity_derivative),
        Activation("softmax", _softmax, _softmax_derivative),
    )
}
ALIASES = {"linear": "identity", "logistic": "sigmoid"}


def get_activation(activation: str | ActivationLike) -> ActivationLike:
    """Look up an activation by name, or check that a user's object has the right methods.

    Parameters
    ----------
    activation : str or object
        One of ``sigmoid, tanh, relu, leaky_relu, elu, softplus, identity`` (alias ``linear``),
        ``softmax``; or any object with ``forward(Z)`` and ``derivative(Z, A)``.

    Returns
    -------
    Activation or object
        The activation to use.
    """
    if isinstance(activation, str):
        name = ALIASES.get(activation.lower(), activation.lower())
        if name not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of "
                f"{', '.join(sorted(ACTIVATIONS))} (or 'linear'), or pass an object with "
                "forward(Z) and derivative(Z, A)"
            )
        return ACTIVATIONS[name]
    if isinstance(activation, ActivationLike):
        return activation
    raise TypeError(
        f"activation must be a name or an object with forward(Z) and derivative(Z, A), "
        f"got {type(activation).__name__}"
    )


def activation_name(activation: ActivationLike) -> str:
    """The activation's name, or its class name for a user object without one."""
    return getattr(activation, "name", type(activation).__name__)
