"""``fit``'s arguments, checked, and what follows from them: the :class:`Setup` of a run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import checks, inputs
from ..core.layers import Dense
from ..core.network import Network, forward
from ..core.optimizers import Optimizer, get_optimizer
from .rules import target_tolerance

Array = np.ndarray

AUTO_RESTARTS = 16
SMALL_PROBLEM = 20_000  # samples x parameters up to which restarts=None trains AUTO_RESTARTS copies
MAX_ORDERS = 1 << 20  # sample indices the compiled path draws ahead (8 MB)

FIT_CHECKS = {  # how fit checks its arguments at the door (chainrule.checks)
    "epochs": lambda v: checks.integer(v, "epochs", none=True),
    "batch_size": lambda v: checks.integer(v, "batch_size", none=True),
    "max_epochs": lambda v: checks.integer(v, "max_epochs", none=True),
    "restarts": lambda v: checks.integer(v, "restarts", none=True),
    "n_iter_no_change": lambda v: checks.integer(v, "n_iter_no_change"),
    "tol": lambda v: checks.number(v, "tol"),
    "weight_decay": lambda v: checks.number(v, "weight_decay"),
    "target_tolerance": lambda v: checks.number(v, "target_tolerance", strict=True, none=True),
    "learning_rate": lambda v: checks.number(v, "learning_rate", strict=True, none=True),
    "shuffle": lambda v: checks.flag(v, "shuffle"),
    "callbacks": checks.callbacks,
    "early_stopping": lambda v: None if v is None else checks.flag(v, "early_stopping"),
    "patience": lambda v: checks.integer(v, "patience", none=True),
}


def check_fit_arguments(arguments: dict) -> dict:
    """``arguments`` of :func:`fit` (any of them), checked and normalised: ``ValueError`` or
    ``TypeError`` naming the first that is not allowed."""
    return {name: FIT_CHECKS[name](value) if name in FIT_CHECKS else value
            for name, value in arguments.items()}


@dataclass
class Setup:
    """Everything one ``fit`` call trains with (see :func:`~chainrule.training.fit`)."""

    net: Network
    X: Array
    Y: Array
    c: float | Array  # per-sample loss weights: 1/n, or a (n, 1) column summing to 1
    input_range: tuple[Array, Array]
    validation: tuple[Array, Array, float] | None
    batch: int
    shuffle: bool
    optimizer: Optimizer
    copies: int
    epochs: int
    auto_stop: bool
    window: int  # the plateau rule's epochs (and default patience)
    tol: float
    tolerance: float | None  # targets met within it (None: not checked)
    early_stopping: bool
    patience: int
    weight_decay: float
    redraw: bool  # copies stuck short of the targets are started again (restarts=None)
    judge_targets: bool  # check the targets at the end too

    @property
    def full_batch(self) -> bool:
        return self.batch == self.X.shape[0]


def setup(net: Network, X: Array, y: Array, epochs: int | None, batch_size: int | None,
          optimizer: str | Optimizer, learning_rate: float | None, shuffle: bool,
          validation_data, restarts: int | None, weight_decay: float,
          sample_weight: Array | None, max_epochs: int | None, tol: float,
          n_iter_no_change: int, target_tolerance_: float | None, early_stopping: bool | None,
          patience: int | None) -> Setup:
    """Derive the run's settings from ``fit``'s arguments (checked at the door:
    :func:`check_fit_arguments`), checking the data, and the memory the run needs."""
    X, Y, c, input_range = inputs.data_and_range(net, X, y, sample_weight)
    n = X.shape[0]
    validation = _validation(net, validation_data)
    batch = n if batch_size is None else min(batch_size, n)
    batches_per_epoch = -(-n // batch)
    opt = get_optimizer(optimizer, learning_rate, full_batch=batch == n)
    K = restarts or (AUTO_RESTARTS if n * net.n_parameters <= SMALL_PROBLEM else 1)
    auto_stop = epochs is None
    if auto_stop:
        epochs = max_epochs or int(np.clip(np.ceil(100_000 / batches_per_epoch), 200, 10_000))
    window = max(n_iter_no_change, -(-100 // batches_per_epoch))
    if early_stopping is None:
        early_stopping = auto_stop and validation is not None
    elif early_stopping and validation is None:
        raise ValueError("early_stopping=True needs validation_data=(X_val, y_val)")
    tolerance = None if early_stopping else target_tolerance(target_tolerance_, net, Y)
    _check_memory(net, n, K, batch, epochs, window, opt, validation, bool(early_stopping))
    return Setup(
        net, X, Y, c, input_range, validation, batch, shuffle, opt, K, int(epochs), auto_stop,
        window, tol, tolerance, bool(early_stopping), window if patience is None else patience,
        weight_decay, restarts is None and tolerance is not None and K > 1,
        auto_stop or target_tolerance_ is not None)


def _check_memory(net: Network, n: int, K: int, batch: int, epochs: int, window: int,
                  opt: Optimizer, validation: tuple | None, early_stopping: bool) -> None:
    """Refuse a training whose arrays would not fit in the memory budget (:mod:`.checks`):
    ``K`` copies of the parameters with their gradients, the epoch's start and the last good
    weights, the optimizer's state (and the best weights of early stopping); one batch's
    activations forward and backward; the plateau rule's window; the orders of the samples
    drawn ahead; and the History's entries of every epoch."""
    size, L, P = net.dtype.itemsize, len(net.shapes), net.n_parameters
    state = len(opt.init_state(np.zeros((1, 1), net.dtype)))  # arrays per parameter
    parts = {  # what needs the memory: (bytes, the fix)
        "weights, gradients and optimizer state": (
            K * P * size * (4 + state + early_stopping), "use fewer restarts or smaller layers"),
        "activations": (
            checks.activation_bytes(net.sizes, batch, K, size, backward=True)
            + (0 if validation is None else checks.activation_bytes(
                net.sizes, min(batch, len(validation[0])), K, size, backward=False)),
            "use a smaller batch_size, fewer restarts or smaller layers"),
        f"the last {window} epochs' losses": (
            (window + 1) * K * 8 * 2, "use a smaller n_iter_no_change"),
        f"the history of {epochs} epochs": (
            epochs * (320 + 16 * K + 48 * K * L + 64 * L)
            + (8 * min(MAX_ORDERS, epochs * n) if batch < n else 0),
            "train for fewer epochs"),
    }
    largest = max(parts, key=lambda part: parts[part][0])
    checks.check_memory(sum(bytes_ for bytes_, _ in parts.values()),
                        f"training {K} cop{'y' if K == 1 else 'ies'} of a "
                        f"{'-'.join(map(str, net.sizes))} network (most for {largest}: "
                        f"{checks.format_bytes(parts[largest][0])})", parts[largest][1])


def _validation(net: Network, validation_data) -> tuple[Array, Array, float] | None:
    if validation_data is None:
        return None
    if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    return net.check_data(*validation_data)


def evaluate(net: Network, layers: Sequence[Dense], X: Array, Y: Array, c: float | Array,
             chunk: int = 1024, tolerance: float | None = None) -> tuple[Array, Array | None]:
    """Loss of each copy on ``(X, Y)``, and with ``tolerance`` whether each meets the targets.

    Rows go through ``chunk`` at a time (the batch size), so that memory holds one batch's
    activations, not the whole data set's.
    """
    loss, met = net.loss_function, None
    total = np.zeros(())
    with np.errstate(over="ignore", invalid="ignore"):
        for first in range(0, X.shape[0], chunk):
            rows = slice(first, first + chunk)
            A = forward(layers, X[rows])
            Z, Yc = layers[-1].Z, Y[rows]
            total = total + loss.value(Z, A, Yc, c if isinstance(c, float) else c[rows])
            if tolerance is not None:
                met_here = (np.abs(A - Yc) < tolerance).all(axis=(-2, -1))
                met = met_here if met is None else met & met_here
    return np.reshape(total, -1), None if met is None else np.reshape(met, -1)
