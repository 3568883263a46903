"""Weight initialisers: ``init(rng, n_in, n_out, shape) -> W``, drawing from ``rng`` only.

Hidden units that start with identical weights receive identical gradients and stay identical
forever, so weights are drawn at random, with a spread that keeps the variance of activations
and gradients about constant from layer to layer:

================ ======================================= ===============================
name             distribution                            suited to
================ ======================================= ===============================
glorot_uniform   U(-r, r), r = sqrt(6 / (n_in + n_out))  sigmoid, tanh, identity, softmax
glorot_normal    N(0, 2 / (n_in + n_out))                sigmoid, tanh
he_normal        N(0, 2 / n_in)                          relu, leaky_relu, elu
lecun_normal     N(0, 1 / n_in)                          softplus
uniform          U(low, high), ``Uniform(-0.5, 0.5)``    what the textbooks do
zeros            all 0 (hidden units stay identical)     demonstrating that mistake
================ ======================================= ===============================

Biases always start at zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import checks

Initializer = Callable[[np.random.Generator, int, int, tuple[int, ...]], np.ndarray]


def glorot_uniform(rng: np.random.Generator, n_in: int, n_out: int, shape: tuple[int, ...]):
    """``U(-r, r)`` with ``r = sqrt(6 / (n_in + n_out))`` (Glorot & Bengio, 2010)."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(rng: np.random.Generator, n_in: int, n_out: int, shape: tuple[int, ...]):
    """``N(0, sigma^2)`` with ``sigma^2 = 2 / (n_in + n_out)``."""
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=shape)


def he_normal(rng: np.random.Generator, n_in: int, n_out: int, shape: tuple[int, ...]):
    """``N(0, 2 / n_in)`` (He et al., 2015): keeps the variance through ReLUs."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=shape)


def lecun_normal(rng: np.random.Generator, n_in: int, n_out: int, shape: tuple[int, ...]):
    """``N(0, 1 / n_in)`` (LeCun et al., 1998)."""
    return rng.normal(0.0, np.sqrt(1.0 / n_in), size=shape)


def zeros(rng: np.random.Generator, n_in: int, n_out: int, shape: tuple[int, ...]):
    """All zeros: every hidden unit computes the same thing, and always will."""
    return np.zeros(shape)


@dataclass(frozen=True)
class Uniform:
    """``U(low, high)``, the range given: ``init=Uniform(-1, 1)``."""

    low: float = -0.5
    high: float = 0.5

    def __post_init__(self) -> None:
        low = checks.number(self.low, "low", minimum=-np.inf)
        high = checks.number(self.high, "high", minimum=-np.inf)
        if not low < high:
            raise ValueError(f"Uniform needs low < high, got low={low!r}, high={high!r}")

    def __call__(self, rng: np.random.Generator, n_in: int, n_out: int, shape: tuple[int, ...]):
        return rng.uniform(self.low, self.high, size=shape)


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "uniform": Uniform(),
    "zeros": zeros,
}
AUTO = {"relu": "he_normal", "leaky_relu": "he_normal", "elu": "he_normal",
        "softplus": "lecun_normal"}


def get_initializer(init: str | Initializer, activation_name: str) -> Initializer:
    """The initialiser for a layer: by name, ``"auto"`` (chosen for the activation), or a callable.

    Parameters
    ----------
    init : str or callable
        A name from :data:`INITIALIZERS`, ``"auto"``, or ``init(rng, n_in, n_out, shape)``.
    activation_name : str
        The layer's activation, which ``"auto"`` follows.
    """
    if callable(init):
        return init
    if not isinstance(init, str):
        raise TypeError(f"init must be a name or a callable, got {type(init).__name__}")
    name = AUTO.get(activation_name, "glorot_uniform") if init == "auto" else init
    if name not in INITIALIZERS:
        raise ValueError(
            f"unknown init {init!r}; choose one of auto, {', '.join(INITIALIZERS)}, "
            "or pass Uniform(low, high)"
        )
    return INITIALIZERS[name]
