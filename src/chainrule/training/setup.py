"""``fit``'s arguments, checked, and what follows from them: the :class:`Setup` of a run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.layers import Dense
from ..core.network import Network, forward
from ..core.optimizers import Optimizer, get_optimizer
from .rules import target_tolerance

Array = np.ndarray

AUTO_RESTARTS = 16
SMALL_PROBLEM = 20_000  # samples x parameters up to which restarts=None trains AUTO_RESTARTS copies


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
    """Check ``fit``'s arguments (``ValueError``/``TypeError`` naming the problem) and derive the
    run's settings from them."""
    X, Y, c, input_range = net._checked_data_and_range(X, y, sample_weight)
    n = X.shape[0]
    validation = _validation(net, validation_data)
    batch = n if batch_size is None else _batch_size(batch_size, n)
    batches_per_epoch = -(-n // batch)
    opt = get_optimizer(optimizer, learning_rate, full_batch=batch == n)
    K = _restarts(restarts, n * net.n_parameters)
    auto_stop = epochs is None
    if auto_stop:
        epochs = max_epochs or int(np.clip(np.ceil(100_000 / batches_per_epoch), 200, 10_000))
    elif not (isinstance(epochs, int | np.integer) and epochs >= 1):
        raise ValueError(f"epochs must be a positive integer or None, got {epochs!r}")
    window = max(n_iter_no_change, -(-100 // batches_per_epoch))
    if early_stopping is None:
        early_stopping = auto_stop and validation is not None
    elif early_stopping and validation is None:
        raise ValueError("early_stopping=True needs validation_data=(X_val, y_val)")
    tolerance = None if early_stopping else target_tolerance(target_tolerance_, net, Y)
    return Setup(
        net, X, Y, c, input_range, validation, batch, shuffle, opt, K, int(epochs), auto_stop,
        window, tol, tolerance, bool(early_stopping), window if patience is None else patience,
        weight_decay, restarts is None and tolerance is not None and K > 1,
        auto_stop or target_tolerance_ is not None)


def _restarts(restarts: int | None, work: int) -> int:
    if restarts is None:
        return AUTO_RESTARTS if work <= SMALL_PROBLEM else 1
    if not (isinstance(restarts, int | np.integer) and restarts >= 1):
        raise ValueError(f"restarts must be a positive integer or None, got {restarts!r}")
    return int(restarts)


def _batch_size(batch_size: int, n: int) -> int:
    if not (isinstance(batch_size, int | np.integer) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    return min(int(batch_size), n)


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
