"""Activation functions and their derivatives, as small paired functions in a table.

Backpropagation needs, for every unit, the derivative of its activation ``a = f(z)`` with
respect to its net input ``z``. Some derivatives are simplest in terms of the output ``a`` (the
sigmoid's ``a (1 - a)``), others in terms of ``z`` (ReLU's step), so each ``derivative``
receives both: ``derivative(Z, A)`` returns ``f'(Z)`` elementwise, given that ``A == f(Z)``.
Mixing the two up -- taking ``a (1 - a)`` of ``z`` -- is the most common bug in hand-written
backprop; here the name of the argument says which one is meant.

Softmax is not elementwise: it is only allowed on the output layer, where the loss gives the
gradient with respect to ``Z`` directly (see :mod:`chainrule.core.losses`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Array = np.ndarray
LEAKY_SLOPE = 0.01


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


def sigmoid(Z: Array) -> Array:
    """``1 / (1 + exp(-z))``: below ``z = -709`` (``-88`` in float32) ``exp(-z)`` overflows to
    ``inf`` and the result is ``0``, as it should be (callers silence that overflow)."""
    return 1 / (1 + np.exp(-Z))


def sigmoid_derivative(Z: Array, A: Array) -> Array:
    """``sigma'(z) = a (1 - a)``: of the *output* ``a``, not of ``z``."""
    return A * (1 - A)


def tanh(Z: Array) -> Array:
    """``tanh(z)``."""
    return np.tanh(Z)


def tanh_derivative(Z: Array, A: Array) -> Array:
    """``tanh'(z) = 1 - a^2``."""
    return 1 - A * A


def relu(Z: Array) -> Array:
    """``max(0, z)``."""
    return np.maximum(Z, 0.0)


def relu_derivative(Z: Array, A: Array) -> Array:
    """``1`` where ``z > 0``, else ``0`` (PyTorch's choice at ``z = 0``)."""
    return (Z > 0).astype(_float(Z))


def leaky_relu(Z: Array) -> Array:
    """``z`` for ``z > 0``, else ``0.01 z``."""
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


def leaky_relu_derivative(Z: Array, A: Array) -> Array:
    """``1`` for ``z > 0``, else ``0.01``."""
    return np.where(Z > 0, 1.0, LEAKY_SLOPE).astype(_float(Z))


def elu(Z: Array) -> Array:
    """``z`` for ``z > 0``, else ``exp(z) - 1`` (alpha = 1)."""
    return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0)))


def elu_derivative(Z: Array, A: Array) -> Array:
    """``1`` for ``z > 0``, else ``exp(z) = a + 1``."""
    return np.where(Z > 0, 1, A + 1)


def softplus(Z: Array) -> Array:
    """``log(1 + exp(z))``, as ``max(z, 0) + log1p(exp(-|z|))``: never overflows."""
    return np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))


def softplus_derivative(Z: Array, A: Array) -> Array:
    """``softplus'(z) = sigma(z)``."""
    return sigmoid(Z)


def exp(Z: Array) -> Array:
    """``exp(z)``, positive: the log link of a Poisson output (``z = log a``). Overflows to
    ``inf`` above ``z = 709`` (``88`` in float32), and training then reports that it diverged."""
    return np.exp(Z)


def exp_derivative(Z: Array, A: Array) -> Array:
    """``exp'(z) = exp(z) = a``."""
    return A


def identity(Z: Array) -> Array:
    """``z``."""
    return Z


def identity_derivative(Z: Array, A: Array) -> Array:
    """``1``."""
    return np.ones_like(Z, dtype=_float(Z))


def softmax(Z: Array) -> Array:
    """``exp(z_k) / sum_j exp(z_j)`` over the last axis, shifted by the row maximum."""
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def _float(Z: Array) -> np.dtype:
    """``Z``'s float type (float64 for integers): a derivative is a real number."""
    return np.result_type(Z, np.float32)


def softmax_derivative(Z: Array, A: Array) -> Array:
    raise TypeError("softmax is not elementwise: its gradient is taken by the loss "
                    "(use it only as output_activation)")


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", sigmoid, sigmoid_derivative),
        Activation("tanh", tanh, tanh_derivative),
        Activation("relu", relu, relu_derivative),
        Activation("leaky_relu", leaky_relu, leaky_relu_derivative),
        Activation("elu", elu, elu_derivative),
        Activation("softplus", softplus, softplus_derivative),
        Activation("exp", exp, exp_derivative),
        Activation("identity", identity, identity_derivative),
        Activation("softmax", softmax, softmax_derivative),
    )
}
ALIASES = {"linear": "identity", "logistic": "sigmoid", "exponential": "exp"}


def get_activation(activation: str | ActivationLike) -> ActivationLike:
    """Look up an activation by name, or check that a user's object has the right methods.

    Parameters
    ----------
    activation : str or object
        One of ``sigmoid, tanh, relu, leaky_relu, elu, softplus, exp`` (alias ``exponential``),
        ``identity`` (alias ``linear``), ``softmax``; or any object with ``forward(Z)`` and
        ``derivative(Z, A)``.

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
                f"{', '.join(sorted(ACTIVATIONS))} (or an alias: {', '.join(ALIASES)}), or pass "
                "an object with forward(Z) and derivative(Z, A)"
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
