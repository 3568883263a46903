"""Callbacks: code that runs at the start, after every epoch, and at the end of ``fit``.

A callback sees the :class:`~chainrule.training.Training` state and the epoch's ``logs``
(``{"loss": ..., "val_loss": ...}``); it stops training by setting ``training.stop_reason``.
Epoch hooks run with the compiled engine too (it returns to Python after every epoch when there
are callbacks); a callback with ``on_batch_end`` makes ``fit`` take the NumPy path.
Progress is reported through callbacks, never printed by the library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from . import checks

if TYPE_CHECKING:
    from .training import Training


class Callback:
    """Base class: override the hooks you need."""

    def on_train_begin(self, training: Training) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, training: Training, epoch: int, logs: dict[str, float]) -> None:
        """Called after every epoch with its losses."""

    def on_batch_end(self, training: Training, batch: int, logs: dict[str, float]) -> None:
        """Called after every step (``batch``: its index in the epoch) with the lowest loss of
        the copies on that batch. A callback that defines it trains on the NumPy path, which
        returns to Python after every step; leave it out to train compiled."""

    def on_train_end(self, training: Training) -> None:
        """Called once after the last epoch."""


class EarlyStopping(Callback):
    """Stop when a monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : {"val_loss", "loss"}
        Watched quantity; ``"val_loss"`` falls back to ``"loss"`` without validation data.
    patience : int
        Epochs without improvement tolerated.
    min_delta : float
        Smallest decrease that counts as an improvement.
    restore_best_weights : bool
        At the end, put back the weights of the best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if not isinstance(monitor, str) or monitor not in ("val_loss", "loss"):
            raise ValueError(f"monitor must be 'val_loss' or 'loss', got {monitor!r}")
        self.monitor = monitor
        self.patience = checks.integer(patience, "patience", minimum=0)
        self.min_delta = checks.number(min_delta, "min_delta")
        self.restore_best_weights = checks.flag(restore_best_weights, "restore_best_weights")

    def on_train_begin(self, training: Training) -> None:
        self.best = np.inf
        self.best_epoch = -1
        self.best_weights = None
        self.wait = 0

    def on_epoch_end(self, training: Training, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.monitor, logs["loss"])
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = training.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            training.stop_reason = "early stopping"

    def on_train_end(self, training: Training) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            training.set_weights(self.best_weights)


class LambdaCallback(Callback):
    """Call ``on_epoch_end(epoch, logs)`` after every epoch: for progress bars and logging."""

    def __init__(self, on_epoch_end: Callable[[int, dict[str, float]], None]) -> None:
        if not callable(on_epoch_end):
            raise TypeError(f"on_epoch_end must be a function of (epoch, logs), got "
                            f"{type(on_epoch_end).__name__}")
        self.function = on_epoch_end

    def on_epoch_end(self, training: Training, epoch: int, logs: dict[str, float]) -> None:
        self.function(epoch, logs)
