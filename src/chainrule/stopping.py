"""Stopping on held-out data: the rule :func:`chainrule.training.fit` applies with validation data.

A network that trains until its *training* outputs meet their targets memorises a sample of a
larger population; what it should minimise is the loss on rows it has not seen. With
``validation_data`` and ``epochs=None``, ``fit`` therefore evaluates the validation loss after
every epoch and:

* keeps, for each copy trained together, the weights of the epoch with the lowest validation
  loss so far;
* stops when no copy has lowered its best validation loss by more than ``tol`` (relative,
  ``best_then - loss > tol * max(1, best_then)``) for ``patience`` epochs;
* puts the kept weights back at the end: the network returned is the one of the best epoch,
  not the last.

This is the rule of Keras' ``EarlyStopping(restore_best_weights=True)`` and of scikit-learn's
``early_stopping=True``, applied to every copy at once. The truth tables of the questions have
no validation data (they are their whole domain) and keep stopping when their targets are met.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


class ValidationStop:
    """Best validation loss and weights of each copy, and whether patience has run out.

    Parameters
    ----------
    params : array of shape (K, P)
        The copies' parameters (the training buffer); the starting weights are the first best.
    patience : int
        Epochs without a significant improvement after which training stops.
    tol : float
        Relative decrease of the best validation loss that counts as an improvement.
    """

    def __init__(self, params: Array, patience: int, tol: float = 1e-4) -> None:
        if not (isinstance(patience, int | np.integer) and patience >= 1):
            raise ValueError(f"patience must be a positive integer, got {patience!r}")
        K = params.shape[0]
        self.patience, self.tol = int(patience), tol
        self.best = np.full(K, np.inf)
        self.best_epoch = np.full(K, -1)
        self.improved_at = np.full(K, -1)  # last epoch of a significant improvement
        self.weights = params.copy()

    def update(self, val_loss: Array, params: Array, epoch: int) -> bool:
        """Record one epoch's validation losses; ``True`` when every copy has run out of
        patience."""
        better = val_loss < self.best  # NaN and inf never are
        if better.any():
            with np.errstate(invalid="ignore"):  # the first loss: inf - loss > tol * inf
                gain = self.best - val_loss
                significant = better & ((gain == np.inf) | (gain > self.tol * np.maximum(
                    1.0, self.best)))
            self.improved_at[significant] = epoch
            self.best[better] = val_loss[better]
            self.best_epoch[better] = epoch
            self.weights[better] = params[better]
        return bool((epoch - self.improved_at >= self.patience).all())

    def restore(self, params: Array) -> None:
        """Put each copy's best weights back into ``params``."""
        kept = self.best_epoch >= 0
        params[kept] = self.weights[kept]
