"""Loss functions, with PyTorch's definitions and mean reduction.

A loss compares the network's output ``A = f(Z)`` of the last layer with the targets ``Y`` (both of
shape ``(n, n_out)``) and starts backpropagation by giving ``dZ = dL/dZ``, the error of the output
layer. Each sample ``i`` carries a weight ``c_i`` with ``sum_i c_i = 1`` (``c_i = 1/n`` unless
sample weights are given), so the mean over samples is ``sum_i c_i l_i``.

============== ================================================ ===============================
loss           per sample ``l_i``                               ``dZ`` (output error)
============== ================================================ ===============================
mse            ``mean_k (a_ik - y_ik)^2``                       ``2 (A - Y) c / n_out * f'(Z)``
bce            ``mean_k -y log a - (1 - y) log(1 - a)``          ``(A - Y) c / n_out``  (sigmoid)
cross_entropy  ``-sum_k y_ik log a_ik``                          ``(A - Y) c``          (softmax)
poisson        ``mean_k a_ik - y_ik log a_ik``                   ``(A - Y) c / n_out``  (exp)
============== ================================================ ===============================

``bce`` is fused with a sigmoid output, ``cross_entropy`` with a softmax output and ``poisson``
(PyTorch's ``PoissonNLLLoss(log_input=True)``: the negative log-likelihood of counts ``y`` with
mean ``a = exp(z)``, without the ``log y!`` that does not depend on the weights) with an
exponential output: their ``dZ`` needs no ``f'(Z)``, which is exactly where ``a (1 - a)`` would
vanish at saturation, and their values never take ``log 0``: ``bce`` and ``poisson`` are computed
from ``Z`` (``log a = z``), and ``cross_entropy`` from ``Z`` whenever an output underflowed to 0
(from ``log a``, one pass cheaper, otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks
from .activations import ActivationLike, activation_name

Array = np.ndarray
_TINY = {np.dtype(t): np.finfo(t).tiny for t in (np.float32, np.float64)}  # smallest normal


def _softmax_backward(A: Array, dA: Array) -> Array:
    """Jacobian-vector product of softmax: ``dZ = A * (dA - sum_k dA_k A_k)``."""
    return A * (dA - (dA * A).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Loss:
    """A loss: its name and the output activation it is fused with, if any."""

    name: str
    fused_activation: str | None = None

    def value(self, Z: Array, A: Array, Y: Array, c: float | Array) -> Array:
        """Loss per network copy: a scalar array, or shape ``(K,)`` for ``K`` copies."""
        if self.name == "mse":
            D = A - Y
            return self._mean(D, D, c, 1 / Y.shape[-1])
        if self.name == "bce":
            # -y log s(z) - (1-y) log(1-s(z)) = max(z, 0) - z y + log(1 + exp(-|z|))
            terms = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
            return self._mean(terms, None, c, 1 / Y.shape[-1])
        if self.name == "poisson":  # a - y log a with log a = z: finite wherever a is
            return self._mean(A - Y * Z, None, c, 1 / Y.shape[-1])
        if np.minimum.reduce(A, axis=None) > _TINY.get(A.dtype, 0.0):  # cross_entropy: -y log a
            return self._mean(Y, np.log(A), c, -1)
        # an a_k underflowed to 0: -log softmax(z)_k = logsumexp(z) - z_k, from Z
        top = Z.max(axis=-1, keepdims=True)
        logsumexp = top + np.log(np.exp(Z - top).sum(axis=-1, keepdims=True))
        return self._mean(Y, logsumexp - Z, c, 1)

    @staticmethod
    def _mean(U: Array, V: Array | None, c: float | Array, scale: float) -> Array:
        """``scale * sum_i c_i sum_k U_ik V_ik`` per copy (without ``V``: of ``U_ik``).

        One network with the plain mean (``c`` a float) takes a single dot product while the
        arrays are small: there it saves calls, and past some 10^6 float32 terms its running sum
        is less accurate than NumPy's pairwise one.
        """
        if isinstance(c, float):
            if V is not None and U.ndim == V.ndim == 2 and U.size <= 1 << 16:
                return np.vdot(U, V) * (c * scale)
            terms = U if V is None else U * V
            return np.add.reduce(terms, axis=(-2, -1)) * (c * scale)
        terms = U * c if V is None else U * V * c
        return np.add.reduce(terms, axis=(-2, -1)) * scale

    def delta(
        self, Z: Array, A: Array, Y: Array, c: float | Array, activation: ActivationLike
    ) -> Array:
        """The output layer's error ``dZ = dL/dZ`` (see the table in the module docstring)."""
        return self.value_and_delta(Z, A, Y, c, activation, with_value=False)[1]

    def value_and_delta(
        self, Z: Array, A: Array, Y: Array, c: float | Array, activation: ActivationLike,
        out: Array | None = None, with_value: bool = True,
    ) -> tuple[Array | None, Array]:
        """:meth:`value` and :meth:`delta` together, sharing ``A - Y``.

        ``dZ`` is written into ``out`` when given (a buffer of ``A``'s shape); the value is
        ``None`` without ``with_value``.
        """
        n_out = Y.shape[-1]
        D = np.subtract(A, Y, out=out)  # every dZ in the table starts from A - Y
        value = None
        if with_value and self.name == "mse":
            value = self._mean(D, D, c, 1 / n_out)  # before D is scaled into dZ
        elif with_value:
            value = self.value(Z, A, Y, c)
        if self.name == "cross_entropy":
            D *= c
        elif self.name in ("bce", "poisson"):
            D *= c / n_out
        else:  # mse: dL/dA, then through the output activation
            D *= 2 * c / n_out
            if activation_name(activation) == "softmax":
                D = _softmax_backward(A, D)
            else:
                D *= activation.derivative(Z, A)
        return value, D

    def check_pair(self, activation: ActivationLike) -> None:
        """Refuse an output activation this loss does not fit, saying what to use instead."""
        name = activation_name(activation)
        if self.fused_activation is not None and name != self.fused_activation:
            raise ValueError(
                f"loss {self.name!r} needs output_activation={self.fused_activation!r}, got "
                f"{name!r}; use output_activation={self.fused_activation!r}, or loss='mse'"
            )

    def prepare_targets(self, y: Array, n_out: int, dtype: np.dtype) -> Array:
        """Turn ``y`` into a float ``(n, n_out)`` array, refusing labels this loss cannot fit.

        ``y`` of shape ``(n,)`` is one target per sample: for one output it becomes a column,
        for ``cross_entropy`` it holds integer class labels ``0 .. n_out - 1``.
        """
        y = checks.as_array(y, "y")
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"targets must be numeric, got dtype {y.dtype}; encode class labels as "
                "integers 0..n_classes-1"
            )
        if not np.all(np.isfinite(y)):
            raise ValueError("targets contain NaN or inf; remove or impute those samples")
        if self.name == "cross_entropy":
            return _class_targets(y, n_out, dtype)
        if y.ndim == 1:
            if n_out != 1:
                raise ValueError(
                    f"y has shape {y.shape} (one target per sample) but the network has "
                    f"{n_out} outputs; pass y of shape (n, {n_out})"
                )
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != n_out:
            raise ValueError(
                f"y must have shape (n, {n_out}) for a network with {n_out} outputs, "
                f"got {y.shape}"
            )
        if self.name == "bce" and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                f"loss 'bce' needs targets in [0, 1], got values in [{y.min()}, {y.max()}]; "
                "use loss='cross_entropy' with a softmax output for more than two classes, "
                "or loss='mse' with output_activation='identity' for regression"
            )
        if self.name == "poisson" and y.min() < 0:
            raise ValueError(
                f"loss 'poisson' needs non-negative targets (counts or rates), got a minimum of "
                f"{y.min()}; use loss='mse' with output_activation='identity' for targets "
                "that can be negative"
            )
        return checks.cast(y, dtype, "y")


def _class_targets(y: Array, n_out: int, dtype: np.dtype) -> Array:
    """One-hot rows from integer labels, or validated probability rows."""
    if n_out < 2:
        raise ValueError(
            "cross_entropy needs at least 2 outputs (softmax over one output is always 1); "
            "for two classes use one sigmoid output with loss='bce'"
        )
    if y.ndim == 1:
        labels = y
        if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= n_out:
            raise ValueError(
                f"cross_entropy labels must be integers in 0..{n_out - 1} for {n_out} outputs, "
                f"got values in [{labels.min()}, {labels.max()}]"
            )
        return np.eye(n_out, dtype=dtype)[labels.astype(np.intp)]
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(
            f"cross_entropy targets must be labels of shape (n,) or one-hot rows of shape "
            f"(n, {n_out}), got {y.shape}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        if y.min() < 0 or not np.allclose(y.sum(axis=1), 1.0):
            raise ValueError(
                "cross_entropy one-hot targets must be non-negative rows that sum to 1"
            )
    return checks.cast(y, dtype, "y")


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
