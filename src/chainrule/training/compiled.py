"""Training on the compiled engine: epochs in chunks, each one call of :mod:`chainrule.engine`.

A chunk is as many epochs as take about ``CHUNK_SECONDS`` (a tenth of a second): long enough
that Python's share is negligible, short enough that Ctrl-C and progress stay responsive. With
callbacks a chunk is one epoch. Mini-batches are shuffled here, with the network's generator,
exactly as the NumPy path shuffles them: the generator's state is put back and advanced only by
the epochs that ran, so both paths draw the same numbers.
"""

from __future__ import annotations

import time

import numpy as np

from ..engine import Kernel, estimate_seconds
from .history import Record
from .rules import Rules
from .setup import MAX_ORDERS, Setup
from .state import Training

CHUNK_SECONDS = 0.1


class CompiledPath:
    """Runs epochs with the compiled engine (``name = "compiled"``; ``note``: Numba and BLAS)."""

    name = "compiled"

    def __init__(self, setup: Setup, training: Training, rules: Rules, record: Record,
                 per_epoch: bool) -> None:
        self.setup, self.training, self.rules, self.record = setup, training, rules, record
        s = setup
        self.kernel = Kernel(s.net, s.X, s.Y, s.c, s.validation, s.batch, s.optimizer,
                             training.params, training.grads, s.weight_decay, rules)
        self.kernel.bind(rules.tolerance, s.tol, rules.check_step, rules.check_epoch,
                         rules.auto_stop, s.window, s.patience)
        self.note = self.kernel.note
        self.per_epoch = per_epoch
        n = s.X.shape[0]
        self.seconds_per_epoch = estimate_seconds(n + (0 if s.validation is None else
                                                       s.validation[0].shape[0]),
                                                  s.net.n_parameters, training.n_copies)
        self.shuffled = s.shuffle and not s.full_batch

    def run(self, first_epoch: int, epochs: int) -> tuple[int, str | None]:
        """Train up to ``epochs`` epochs; return how many ran and why they stopped (or None)."""
        done = 0
        while done < epochs:
            count = self._chunk(epochs - done)
            orders, state = self._orders(count)
            start = time.perf_counter()
            ran, reason, loss, val_loss, squares = self.kernel.run(
                first_epoch + done, count, orders, self.rules.redraws)
            self.record.add(loss, val_loss, squares)
            self.seconds_per_epoch = (time.perf_counter() - start) / ran
            if ran < count and state is not None:
                self._redraw_orders(state, ran)
            done += ran
            if reason is not None:
                return done, reason
        return done, None

    def _chunk(self, left: int) -> int:
        """Epochs for the next call: about ``CHUNK_SECONDS`` worth (one with callbacks)."""
        if self.per_epoch:
            return 1
        count = int(CHUNK_SECONDS / max(self.seconds_per_epoch, 1e-9))
        if self.shuffled:
            count = min(count, MAX_ORDERS // self.setup.X.shape[0])
        return int(np.clip(count, 1, left))

    def _orders(self, count: int) -> tuple[np.ndarray, dict | None]:
        """Each epoch's order of the samples, drawn as the NumPy path draws them; and the
        generator's state before, to put back if fewer epochs run."""
        if not self.shuffled:
            return np.zeros(0, np.int64), None
        rng, n = self.training.net.rng, self.setup.X.shape[0]
        state = rng.bit_generator.state
        orders = np.empty(count * n, np.int64)
        for e in range(count):
            orders[e * n : (e + 1) * n] = rng.permutation(n)
        return orders, state

    def _redraw_orders(self, state: dict, epochs: int) -> None:
        """Put the generator back, and draw only the orders of the ``epochs`` that ran."""
        rng, n = self.training.net.rng, self.setup.X.shape[0]
        rng.bit_generator.state = state
        for _ in range(epochs):
            rng.permutation(n)
