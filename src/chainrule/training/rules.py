"""The rules applied after every epoch, to every copy: divergence, targets, validation, plateau.

In this order, as the compiled engine applies them too (:mod:`chainrule.engine.loop`):

1. **divergence**: a copy whose loss is not finite stops counting as alive; the others keep the
   start of this epoch as their last good weights. No copy alive: ``"diverged"``.
2. **targets on all the data** (mini-batches of small data): copies whose every output is within
   the tolerance of its target are marked (full batch: the step itself checks, and takes no
   step once a copy meets them).
3. **validation**: the validation loss, and the validation stopping rule
   (:class:`chainrule.stopping.ValidationStop`): ``"early stopping"``.
4. a copy met the targets: ``"targets met"``.
5. **plateau** (``epochs=None``): a copy has stalled when its best loss improved by less than
   ``tol * max(1, best)`` over the last ``window`` epochs; copies stuck short of the targets are
   started again from new weights (``"redraw"``, done in Python); all stalled: ``"converged"``.

Every rule keeps its state in arrays, which the compiled engine updates in place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.activations import activation_name
from ..core.network import Network
from ..core.optimizers import Optimizer
from ..stopping import ValidationStop
from .state import Training

Array = np.ndarray


class Plateau:
    """Which copies have stopped improving: best loss now against the best ``window`` epochs ago.

    A copy has stalled when ``best_then - best_now < tol * max(1, best_then)``, once it has
    trained for more than ``window`` epochs since it started (or restarted).
    """

    def __init__(self, window: int, tol: float, K: int) -> None:
        self.window, self.tol = window, tol
        self.best = np.full(K, np.inf)
        self.ring = np.full((window + 1, K), np.inf)  # the last window + 1 values of ``best``
        self.age = np.zeros(K, dtype=np.int64)
        self.count = np.zeros(1, dtype=np.int64)  # epochs recorded

    def update(self, loss: Array) -> Array:
        """Record one epoch's losses; return the mask of stalled copies."""
        self.best = np.minimum(self.best, loss, out=self.best)
        slot = int(self.count[0]) % (self.window + 1)
        self.ring[slot] = self.best
        then = self.ring[(slot + 1) % (self.window + 1)]
        self.count += 1
        self.age += 1
        return (self.age > self.window) & (then - self.best < self.tol * np.maximum(1.0, then))

    def restart(self, copies: Array) -> None:
        self.best[copies] = np.inf
        self.ring[:, copies] = np.inf
        self.age[copies] = 0


class Rules:
    """The state of every rule for ``K`` copies, and the epoch's verdict (:meth:`after_epoch`).

    Parameters
    ----------
    training : Training
    tolerance : float or None
        Targets are met within it; ``None``: not checked.
    check_step : bool
        Full batch: check the targets at every step (before the update).
    check_epoch : bool
        Mini-batches: check them on all the data after every epoch.
    auto_stop : bool
        Apply the plateau rule (``epochs=None``).
    window, tol : int, float
        The plateau rule's (``tol`` also the validation rule's).
    stop : ValidationStop or None
        The validation stopping rule, with validation data and early stopping.
    redraws : int
        Copies that may still be started again from new weights.
    """

    def __init__(self, training: Training, tolerance: float | None, check_step: bool,
                 check_epoch: bool, auto_stop: bool, window: int, tol: float,
                 stop: ValidationStop | None, redraws: int) -> None:
        K = training.n_copies
        self.training = training
        self.tolerance, self.check_step, self.check_epoch = tolerance, check_step, check_epoch
        self.auto_stop, self.stop, self.redraws = auto_stop, stop, redraws
        self.plateau = Plateau(window, tol, K)
        self.tol = tol
        self.alive = np.ones(K, dtype=bool)
        self.last_good = training.params.copy()  # per copy: start of its last finite epoch
        self.met_at = np.full(K, -1, dtype=np.int64)  # the epoch each copy met the targets
        self.stalled = np.zeros(K, dtype=bool)

    def step_meets_targets(self, A: Array, Y: Array, epoch: int) -> bool:
        """Full batch: mark the copies whose outputs ``A`` meet the targets; whether any does
        (then no step is taken: those weights are kept)."""
        met = (np.abs(A - Y) < self.tolerance).all(axis=(-2, -1)).reshape(-1)
        self.met_at[(self.met_at < 0) & met] = epoch
        return bool(met.any())

    def after_epoch(self, epoch: int, loss: Array, start: Array,
                    evaluate: Callable[[str], tuple[Array, Array | None]]
                    ) -> tuple[str | None, Array | None]:
        """Apply the rules after ``epoch`` (losses ``loss``, started from weights ``start``);
        return the reason to stop (or ``None``, or ``"redraw"``) and the validation losses.

        ``evaluate("train")`` gives each copy's loss and targets met on the training data,
        ``evaluate("validation")`` on the validation data, or ``None``.
        """
        params = self.training.params
        self.alive &= np.isfinite(loss)  # 1. divergence
        np.copyto(self.last_good, start, where=self.alive[:, None])
        if not self.alive.any():
            return "diverged", None
        if self.check_epoch:  # 2. targets on all the data
            met = evaluate("train")[1]
            self.met_at[(self.met_at < 0) & met] = epoch
        val_loss = None  # 3. validation
        if (validation := evaluate("validation")) is not None:
            val_loss = validation[0]
            if self.stop is not None and self.stop.update(val_loss, params, epoch):
                return "early stopping", val_loss
        if (self.check_step or self.check_epoch) and self.met_at.max() >= 0:  # 4.
            return "targets met", val_loss
        if self.auto_stop:  # 5. plateau
            self.stalled[...] = self.plateau.update(loss)
            if self.redraws and (self.stalled | ~self.alive).any():
                return "redraw", val_loss
            if self.stalled[self.alive].all():
                return "converged", val_loss
        return None, val_loss

    def redraw(self, net: Network, optimizer: Optimizer) -> tuple[int, str | None]:
        """Start stuck copies (stalled, or diverged) again from new random weights; return how
        many, and ``"converged"`` if the copies left alive have all stalled."""
        stuck = np.flatnonzero(self.stalled | ~self.alive)[: self.redraws]
        net.initialize(self.training.layers, stuck)
        optimizer.reset(stuck)
        self.plateau.restart(stuck)
        self.last_good[stuck] = self.training.params[stuck]
        self.alive[stuck], self.stalled[stuck] = True, False
        self.redraws -= stuck.size
        return stuck.size, "converged" if self.stalled[self.alive].all() else None


def target_tolerance(target_tolerance: float | None, net: Network, Y: Array) -> float | None:
    """The tolerance within which outputs count as meeting their targets, or None."""
    if target_tolerance is not None:
        return float(target_tolerance)
    classes = activation_name(net.output_activation) in ("sigmoid", "softmax")
    return 0.1 if classes and ((Y == 0) | (Y == 1)).all() else None


def logs(loss: Array, val_loss: Array | None, alive: Array) -> tuple[dict[str, float], int]:
    """The epoch's logs, of the copy with the lowest training loss; and that copy's index."""
    best = int(np.argmin(np.where(alive, loss, np.inf)))
    logs = {"loss": float(loss[best])}
    if val_loss is not None:
        logs["val_loss"] = float(val_loss[best])
    return logs, best


def choose_copy(final: Array, final_val: Array | None, met_at: Array, finite: Array) -> int:
    """The copy to keep: one that met the targets, else the lowest validation or training loss.

    Copies whose weights had to be restored after diverging (``finite`` False) come last.
    """
    score = final if final_val is None else final_val
    score = np.where(np.isfinite(score), score, np.inf)
    rank = np.lexsort((score, met_at < 0, ~finite))  # finite first, then met, then lowest loss
    return int(rank[0])
