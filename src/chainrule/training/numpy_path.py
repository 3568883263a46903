"""Training on the NumPy path: the core's forward, backward and optimizer step, batch by batch.

This path runs when the compiled engine cannot: a user's own activation, loss or optimizer
object, a callback that needs Python after every step (``on_batch_end``), ``engine="numpy"``,
or Numba missing. It applies the same rules after every epoch (:class:`~.rules.Rules`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..callbacks import Callback
from .history import Record, squares
from .rules import Rules
from .setup import Setup, evaluate
from .state import Training

Array = np.ndarray


class NumpyPath:
    """Runs epochs with the core's maths (``name = "numpy"``; ``note`` says why)."""

    name = "numpy"

    def __init__(self, setup: Setup, training: Training, rules: Rules, record: Record,
                 note: str, callbacks: Sequence[Callback] = ()) -> None:
        self.setup, self.training, self.rules, self.record = setup, training, rules, record
        self.note = note
        self.batch_callbacks = [c for c in callbacks if _hooks_batches(c)]

    def run(self, first_epoch: int, epochs: int) -> tuple[int, str | None]:
        """Train up to ``epochs`` epochs; return how many ran and why they stopped (or None)."""
        t = self.training
        for e in range(epochs):
            epoch = first_epoch + e
            start = t.params.copy()
            loss = self.epoch(epoch)
            reason, val_loss = self.rules.after_epoch(epoch, loss, start, self.evaluate)
            self.record.add(loss[None], None if val_loss is None else val_loss[None],
                            squares(t.params, t.grads, start, *zip(*t.weight_columns,
                                                                    strict=True)))
            if reason is not None:
                return e + 1, reason
        return epochs, None

    def epoch(self, epoch: int) -> Array:
        """One pass over the data; the loss of each copy, averaged over its batches."""
        s, t, opt = self.setup, self.training, self.setup.optimizer
        n = s.X.shape[0]
        if s.batch == n:
            loss = t.forward_backward(s.X, s.Y, s.c)
            if not (self.rules.check_step and
                    self.rules.step_meets_targets(t.layers[-1].A, s.Y, epoch)):
                opt.step([t.params], [t.grads])
            self._after_batch(0, loss)
            return loss
        order = t.net.rng.permutation(n) if s.shuffle else np.arange(n)
        loss = np.zeros(t.n_copies)
        for i, first in enumerate(range(0, n, s.batch)):
            rows = order[first : first + s.batch]
            value = t.forward_backward(s.X[rows], s.Y[rows], _batch_weights(s.c, rows))
            opt.step([t.params], [t.grads])
            self._after_batch(i, value)
            loss += value * (rows.size / n)
        return loss

    def evaluate(self, data: str) -> tuple[Array, Array | None] | None:
        """Loss of every copy (and with the training data, targets met) on ``data``:
        ``"train"`` or ``"validation"`` (``None`` without validation data)."""
        s, layers = self.setup, self.training.layers
        if data == "train":
            return evaluate(s.net, layers, s.X, s.Y, s.c, s.batch, self.rules.tolerance)
        if s.validation is None:
            return None
        return evaluate(s.net, layers, *s.validation, s.batch)

    def _after_batch(self, index: int, loss: Array) -> None:
        for callback in self.batch_callbacks:
            callback.on_batch_end(self.training, index, {"loss": float(np.min(loss))})


def _batch_weights(c: float | Array, rows: Array) -> float | Array:
    """The samples' loss weights in a batch: ``1 / rows``, or ``c``'s renormalised to sum to 1
    (left at 0 if all its samples weigh nothing)."""
    if isinstance(c, float):
        return 1.0 / rows.size
    weights = c[rows]
    total = weights.sum()
    return weights / total if total > 0 else weights


def _hooks_batches(callback: Callback) -> bool:
    """Whether a callback wants Python after every step (it defines ``on_batch_end``)."""
    hook = getattr(type(callback), "on_batch_end", Callback.on_batch_end)
    return hook is not Callback.on_batch_end
