"""Loss functions, with PyTorch's definitions and mean reduction.

A loss compares the output ``A = f(Z)`` of the last layer with the targets ``Y`` (both of shape
``(n, m)``) and starts backpropagation by giving ``dZ = dL/dZ``, the error of the output layer.
Sample ``i`` carries a weight ``c_i`` with ``sum_i c_i = 1`` (``c_i = 1/n`` unless sample
weights are given), so the mean over samples is ``sum_i c_i l_i``.

============== ============================================ ===============================
loss           per sample ``l_i``                           ``dZ`` (output error)
============== ============================================ ===============================
mse            ``mean_k (a_ik - y_ik)^2``                   ``2 (A - Y) c / m * f'(Z)``
bce            ``mean_k -y log a - (1 - y) log(1 - a)``      ``(A - Y) c / m``  (sigmoid)
cross_entropy  ``-sum_k y_ik log a_ik``                      ``(A - Y) c``      (softmax)
poisson        ``mean_k a_ik - y_ik log a_ik``               ``(A - Y) c / m``  (exp)
============== ============================================ ===============================

``bce`` is fused with a sigmoid output, ``cross_entropy`` with a softmax output and ``poisson``
(PyTorch's ``PoissonNLLLoss(log_input=True)``: the negative log-likelihood of counts ``y`` with
mean ``a = exp(z)``, without the ``log y!`` that does not depend on the weights) with an
exponential output: their ``dZ`` needs no ``f'(Z)``, which is exactly where ``a (1 - a)`` would
vanish at saturation, and their values are computed from ``Z`` (``log a = z`` for Poisson,
``log sigma(z)`` and ``log softmax(z)`` written so that they never take ``log 0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs import targets
from .activations import ActivationLike, activation_name

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """A loss: its name and the output activation it is fused with, if any."""

    name: str
    fused_activation: str | None = None

    def value(self, Z: Array, A: Array, Y: Array, c: float | Array) -> Array:
        """``sum_i c_i l_i``: a scalar array, or shape ``(K,)`` for ``K`` stacked copies."""
        m = Y.shape[-1]
        if self.name == "mse":
            terms = (A - Y) ** 2 / m
        elif self.name == "bce":  # -y log s(z) - (1-y) log(1-s(z)) = max(z,0) - zy + log(1+e^-|z|)
            terms = (np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))) / m
        elif self.name == "poisson":  # a - y log a, with log a = z: finite wherever a is
            terms = (A - Y * Z) / m
        else:  # cross_entropy: -y log softmax(z) = y (logsumexp(z) - z)
            top = Z.max(axis=-1, keepdims=True)
            logsumexp = top + np.log(np.exp(Z - top).sum(axis=-1, keepdims=True))
            terms = Y * (logsumexp - Z)
        return (terms * c).sum(axis=(-2, -1))

    def delta(self, Z: Array, A: Array, Y: Array, c: float | Array,
              activation: ActivationLike) -> Array:
        """The output layer's error ``dZ = dL/dZ`` (see the table in the module docstring)."""
        m = Y.shape[-1]
        if self.name == "cross_entropy":
            return (A - Y) * c
        if self.name in ("bce", "poisson"):
            return (A - Y) * c / m
        dA = 2 * (A - Y) * c / m  # mse: dL/dA, then through the output activation
        if activation_name(activation) == "softmax":  # its Jacobian: A * (dA - sum_k dA_k A_k)
            return A * (dA - (dA * A).sum(axis=-1, keepdims=True))
        return dA * activation.derivative(Z, A)

    def check_pair(self, activation: ActivationLike) -> None:
        """Refuse an output activation this loss does not fit, saying what to use instead."""
        name = activation_name(activation)
        if self.fused_activation is not None and name != self.fused_activation:
            raise ValueError(
                f"loss {self.name!r} needs output_activation={self.fused_activation!r}, got "
                f"{name!r}; use output_activation={self.fused_activation!r}, or loss='mse'"
            )

    def prepare_targets(self, y: Array, n_out: int, dtype: np.dtype) -> Array:
        """``y`` as a float ``(n, n_out)`` array, refusing labels this loss cannot fit
        (:func:`chainrule.inputs.targets`)."""
        return targets(self.name, y, n_out, dtype)


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse"),
    "bce": Loss("bce", fused_activation="sigmoid"),
    "cross_entropy": Loss("cross_entropy", fused_activation="softmax"),
    "poisson": Loss("poisson", fused_activation="exp"),
}
ALIASES = {
    "squared_error": "mse",
    "binary_crossentropy": "bce",
    "log_loss": "bce",
    "categorical_crossentropy": "cross_entropy",
}


def get_loss(loss: str | Loss) -> Loss:
    """Look up a loss by name (``mse``, ``bce``, ``cross_entropy``, ``poisson``), or pass a
    ``Loss`` through."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name, got {type(loss).__name__}")
    name = ALIASES.get(loss.lower(), loss.lower())
    if name not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]
