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
# 0 and 1 as 0-d arrays of each float type: NumPy combines one with a small array in half the
# time it takes to convert the Python float (0.25 against 0.45 us for 8 numbers), a large part
# of a tiny network's sigmoid; other types fall back to the float
_FLOATS = (np.float16, np.float32, np.float64)
_ZERO = {np.dtype(t): np.zeros((), t) for t in _FLOATS}
_ONE = {np.dtype(t): np.ones((), t) for t in _FLOATS}


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
        ``forward(Z, out=None) -> A``, elementwise.
    derivative : callable
        ``derivative(Z, A, out=None) -> dA/dZ``, elementwise, where ``A = forward(Z)``.

    ``out``, when given, is an array of ``Z``'s shape that receives the result (training reuses
    such buffers from step to step instead of allocating new arrays); a user's own activation
    object needs no ``out``.
    """

    name: str
    forward: Callable[..., Array]
    derivative: Callable[..., Array]


def _sigmoid(Z: Array, out: Array | None = None) -> Array:
    """``1 / (1 + exp(-z))``.

    Accurate to relative precision in both tails: deep in the lower one ``exp(-z)`` is huge and
    ``1 / (1 + exp(-z))`` tends to ``exp(z)``; below ``z = -709`` (``-88`` in float32)
    ``exp(-z)`` overflows to ``inf`` and the result is ``0``, as it should be (callers silence
    that overflow with ``np.errstate``).
    """
    A = np.exp(np.negative(Z, out=out), out=out)  # (out=None: a float array even for int Z)
    A = np.add(A, _ONE.get(A.dtype, 1.0), out=A)
    return np.reciprocal(A, out=A)


def _sigmoid_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``sigma'(z) = a (1 - a)``: of the *output* ``a``, not of ``z``."""
    D = np.subtract(_ONE.get(A.dtype, 1.0), A, out=out)
    D *= A
    return D


def _tanh(Z: Array, out: Array | None = None) -> Array:
    """``tanh(z)``."""
    return np.tanh(Z, out=out)


def _tanh_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``tanh'(z) = 1 - a^2``."""
    D = np.multiply(A, A, out=out)
    return np.subtract(_ONE.get(D.dtype, 1.0), D, out=D)


def _relu(Z: Array, out: Array | None = None) -> Array:
    """``max(0, z)``."""
    return np.maximum(Z, _ZERO.get(Z.dtype, 0.0), out=out)


def _relu_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``1`` where ``z > 0``, else ``0`` (PyTorch's choice at ``z = 0``)."""
    if out is None:
        return (Z > 0).astype(_float_dtype(Z))
    return np.greater(Z, _ZERO.get(Z.dtype, 0.0), out=out, casting="unsafe")  # True/False as 1/0


LEAKY_SLOPE = 0.01


def _leaky_relu(Z: Array, out: Array | None = None) -> Array:
    """``z`` for ``z > 0``, else ``0.01 z``."""
    return _into(np.where(Z > 0, Z, LEAKY_SLOPE * Z), out)


def _leaky_relu_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``1`` for ``z > 0``, else ``0.01``."""
    return _into(np.where(Z > 0, 1.0, LEAKY_SLOPE).astype(_float_dtype(Z)), out)


def _elu(Z: Array, out: Array | None = None) -> Array:
    """``z`` for ``z > 0``, else ``exp(z) - 1`` (alpha = 1)."""
    return _into(np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0))), out)


def _elu_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``1`` for ``z > 0``, else ``exp(z) = a + 1``."""
    return _into(np.where(Z > 0, 1.0, A + 1.0).astype(_float_dtype(Z)), out)


def _softplus(Z: Array, out: Array | None = None) -> Array:
    """``log(1 + exp(z))``, computed as ``max(z, 0) + log1p(exp(-|z|))``: never overflows."""
    return _into(np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z))), out)


def _softplus_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``softplus'(z) = sigma(z)``."""
    return _sigmoid(Z, out)


def _exp(Z: Array, out: Array | None = None) -> Array:
    """``exp(z)``, positive: the log link of a Poisson output (``z = log a``).

    Overflows to ``inf`` above ``z = 709`` (``88`` in float32): the loss is then ``inf`` too, and
    training reports that it diverged.
    """
    return np.exp(Z, out=out)


def _exp_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``exp'(z) = exp(z) = a``: the output itself (copied, the caller may write into it)."""
    return np.positive(A, out=out)


def _identity(Z: Array, out: Array | None = None) -> Array:
    """``z`` (``Z`` itself: nothing is copied, even into ``out``)."""
    return Z


def _identity_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    """``1``."""
    if out is None:
        return np.ones_like(Z)
    out.fill(1.0)
    return out


def _softmax(Z: Array, out: Array | None = None) -> Array:
    """``exp(z_k) / sum_j exp(z_j)`` over the last axis, shifted by the row maximum."""
    E = np.exp(np.subtract(Z, np.maximum.reduce(Z, axis=-1, keepdims=True), out=out), out=out)
    E /= np.add.reduce(E, axis=-1, keepdims=True)
    return E


def _float_dtype(Z: Array) -> np.dtype:
    """``Z``'s dtype if it is a float type, else float64 (a derivative of int inputs is a float)."""
    return Z.dtype if Z.dtype.kind == "f" else np.dtype(np.float64)


def _into(result: Array, out: Array | None) -> Array:
    """``result``, copied into ``out`` when one is given."""
    if out is None:
        return result
    np.copyto(out, result)
    return out


def _softmax_derivative(Z: Array, A: Array, out: Array | None = None) -> Array:
    raise TypeError(
        "softmax is not elementwise: its gradient is taken by the loss "
        "(use it only as output_activation)"
    )


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, _sigmoid_derivative),
        Activation("tanh", _tanh, _tanh_derivative),
        Activation("relu", _relu, _relu_derivative),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative),
        Activation("elu", _elu, _elu_derivative),
        Activation("softplus", _softplus, _softplus_derivative),
        Activation("exp", _exp, _exp_derivative),
        Activation("identity", _identity, _identity_derivative),
        Activation("softmax", _softmax, _softmax_derivative),
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
