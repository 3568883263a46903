"""Optimizers: small classes that turn gradients into in-place parameter updates.

Each optimizer keeps its state (velocities, moment estimates, step sizes) per parameter array,
created on the first ``step``. All update rules follow PyTorch's ``torch.optim`` definitions, so
a ``learning_rate`` means the same thing in both. Every rule is elementwise, so the same
optimizer updates ``K`` copies stacked along a leading axis.
"""

from __future__ import annotations

import numpy as np

from .. import checks

Array = np.ndarray


class Optimizer:
    """Base class: ``step(params, grads)`` updates each ``params[i]`` in place.

    Parameters
    ----------
    learning_rate : float, optional
        Step size; ``None`` takes the optimizer's default.
    """

    default_learning_rate = 0.01
    full_batch_only = False

    def __init__(self, learning_rate: float | None = None) -> None:
        if learning_rate is None:
            learning_rate = self.default_learning_rate
        self.learning_rate = checks.number(learning_rate, "learning_rate", strict=True)
        self.state: list[dict[str, Array]] | None = None

    def step(self, params: list[Array], grads: list[Array]) -> None:
        """Apply one update to every parameter, in place."""
        for p, g, s in zip(params, grads, self.states_for(params), strict=True):
            self.update(p, g, s)

    def states_for(self, params: list[Array]) -> list[dict[str, Array]]:
        """The state of each parameter array, created at the first step."""
        if self.state is None:
            self.state = [self.init_state(p) for p in params]
            self.shapes = [p.shape for p in params]
        elif [p.shape for p in params] != self.shapes:
            raise ValueError(
                f"this {type(self).__name__} holds state for parameters of shapes "
                f"{self.shapes}, not {[p.shape for p in params]}: use a fresh optimizer for "
                "another network or number of restarts"
            )
        return self.state

    def init_state(self, p: Array) -> dict[str, Array]:
        return {}

    def reset(self, copies: Array) -> None:
        """Forget the state of some copies: rows ``copies`` of every state array start afresh."""
        for s in self.state or ():
            if not s:
                continue
            fresh = self.init_state(np.zeros_like(next(iter(s.values()))))
            for key, value in s.items():
                value[copies] = fresh[key][copies]

    def update(self, p: Array, g: Array, s: dict[str, Array]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if k not in ("state", "shapes"))
        return f"{type(self).__name__}({fields})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    ``v <- momentum v + g``;  ``p <- p - lr v``  (or ``p <- p - lr (g + momentum v)`` with
    ``nesterov=True``). Without momentum: ``p <- p - lr g``.
    """

    default_learning_rate = 0.1

    def __init__(
        self, learning_rate: float | None = None, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(learning_rate)
        self.momentum = _fraction(momentum, "momentum")
        self.nesterov = checks.flag(nesterov, "nesterov")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")

    def init_state(self, p: Array) -> dict[str, Array]:
        return {"v": np.zeros_like(p)} if self.momentum else {}

    def update(self, p: Array, g: Array, s: dict[str, Array]) -> None:
        if self.momentum:
            if "v" not in s:  # momentum turned on after the first step: from rest (PyTorch's)
                s["v"] = np.zeros_like(p)
            v = s["v"]
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        p -= self.learning_rate * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with the step count ``t`` of each copy.

    ``m <- b1 m + (1 - b1) g``;  ``v <- b2 v + (1 - b2) g^2``;
    ``p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.
    """

    default_learning_rate = 0.001

    def __init__(self, learning_rate: float | None = None, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        super().__init__(learning_rate)
        self.beta_1, self.beta_2 = _fraction(beta_1, "beta_1"), _fraction(beta_2, "beta_2")
        self.epsilon = checks.number(epsilon, "epsilon", strict=True)

    def init_state(self, p: Array) -> dict[str, Array]:
        # one step count per row, so that restarted copies (rows) count from 0 again
        t = np.zeros(p.shape[:1] + (1,) * (p.ndim - 1), dtype=p.dtype)
        return {"m": np.zeros_like(p), "v": np.zeros_like(p), "t": t}

    def update(self, p: Array, g: Array, s: dict[str, Array]) -> None:
        m, v, t = s["m"], s["v"], s["t"]
        t += 1
        m *= self.beta_1
        m += (1 - self.beta_1) * g
        v *= self.beta_2
        v += (1 - self.beta_2) * g * g
        p -= self.learning_rate * (m / (1 - self.beta_1**t)) / (
            np.sqrt(v / (1 - self.beta_2**t)) + self.epsilon)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): ``v <- rho v + (1 - rho) g^2``;
    ``p <- p - lr g / (sqrt(v) + eps)``."""

    default_learning_rate = 0.01

    def __init__(self, learning_rate: float | None = None, rho: float = 0.99,
                 epsilon: float = 1e-8) -> None:
        super().__init__(learning_rate)
        self.rho = _fraction(rho, "rho")
        self.epsilon = checks.number(epsilon, "epsilon", strict=True)

    def init_state(self, p: Array) -> dict[str, Array]:
        return {"v": np.zeros_like(p)}

    def update(self, p: Array, g: Array, s: dict[str, Array]) -> None:
        v = s["v"]
        v *= self.rho
        v += (1 - self.rho) * g * g
        p -= self.learning_rate * g / (np.sqrt(v) + self.epsilon)


class Rprop(Optimizer):
    """iRprop- (Igel & Huesken, 2000), PyTorch's ``Rprop``: full batch only.

    Each weight has its own step size, grown by ``eta_plus`` while the gradient keeps its sign
    and shrunk by ``eta_minus`` when it flips (then that weight skips one update):
    ``p <- p - sign(g) step``. Only the sign of the gradient is used, so it is immune to the
    tiny gradients of saturated sigmoids. ``learning_rate`` is the initial step size.
    """

    default_learning_rate = 0.1
    full_batch_only = True

    def __init__(self, learning_rate: float | None = None, eta_minus: float = 0.5,
                 eta_plus: float = 1.2, step_min: float = 1e-6, step_max: float = 50.0) -> None:
        super().__init__(learning_rate)
        self.eta_minus = checks.number(eta_minus, "eta_minus", strict=True)
        self.eta_plus = checks.number(eta_plus, "eta_plus", minimum=1)
        if self.eta_minus >= 1:
            raise ValueError(f"eta_minus must be below 1 (a step that shrinks), got {eta_minus}")
        self.step_min = checks.number(step_min, "step_min")
        self.step_max = checks.number(step_max, "step_max", minimum=self.step_min, strict=True)

    def init_state(self, p: Array) -> dict[str, Array]:
        return {"previous": np.zeros_like(p), "step": np.full_like(p, self.learning_rate)}

    def update(self, p: Array, g: Array, s: dict[str, Array]) -> None:
        agreement = np.sign(g * s["previous"])
        factor = np.where(agreement > 0, self.eta_plus, np.where(agreement < 0, self.eta_minus, 1))
        factor = factor.astype(p.dtype)
        s["step"][...] = np.clip(s["step"] * factor, self.step_min, self.step_max)
        g = np.where(agreement < 0, 0, g)  # a flipped sign: no step now
        p -= np.sign(g) * s["step"]
        s["previous"][...] = g


def _fraction(value: float, name: str) -> float:
    """A decay factor in ``[0, 1)``."""
    value = checks.number(value, name)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop,
                                          "rprop": Rprop}


def get_optimizer(
    optimizer: str | Optimizer, learning_rate: float | None, full_batch: bool
) -> Optimizer:
    """An optimizer from a name (or ``"auto"``) and a learning rate, or the object given.

    ``"auto"`` is Rprop for full-batch training, where it needs no learning rate to be tuned,
    and Adam for mini-batches.
    """
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None:
            raise ValueError(
                "pass learning_rate to the optimizer object, not to fit, when giving an object"
            )
        chosen = optimizer
    elif isinstance(optimizer, str):
        name = optimizer.lower()
        if name == "auto":
            name = "rprop" if full_batch else "adam"
        if name not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; choose one of auto, {', '.join(OPTIMIZERS)}"
            )
        chosen = OPTIMIZERS[name](learning_rate)
    elif isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a name or an Optimizer object: pass "
                        f"{optimizer.__name__}(), not {optimizer.__name__}")
    else:
        raise TypeError(f"optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
    if chosen.full_batch_only and not full_batch:
        raise ValueError(
            f"{type(chosen).__name__} works on full-batch gradients only; use batch_size=None, "
            "or optimizer='adam' for mini-batches"
        )
    return chosen
