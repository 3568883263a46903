"""What ``fit`` tells about a run: the :class:`History`, and the :class:`Record` behind it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.optimizers import Optimizer

Array = np.ndarray


@dataclass
class History:
    """What happened during :func:`~chainrule.training.fit`.

    Attributes
    ----------
    loss, val_loss : list of float
        Training (and validation) loss per epoch, of the copy that was kept.
    epochs : int
        Epochs run.
    stopped_because : str
        ``"targets met"``, ``"converged"``, ``"max_epochs"``, ``"epochs done"``,
        ``"early stopping"``, ``"diverged"`` or ``"stopped by callback"``.
    learned : bool or None
        Whether every output is within ``target_tolerance`` of its target. ``None`` when nothing
        was checked: the targets are not classes and no tolerance was given, or one copy trained
        for a fixed number of epochs without ``target_tolerance``.
    restarts : int
        Copies trained together; ``replica`` is the index of the one kept.
    redrawn : int
        Copies that got stuck and were started again from new random weights.
    gradient_norms, update_ratios : list of list of float
        Per epoch and per layer: ``||dW||`` of the epoch's last step, and ``||dW_epoch|| / ||W||``,
        the relative change of the weights over the epoch.
    best_epoch : int or None
        With early stopping on validation data: the epoch (from 0) whose weights were kept.
    engine : str
        ``"compiled"`` (:mod:`chainrule.engine`) or ``"numpy"`` (the core, step by step);
        ``engine_note`` says why.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epochs: int = 0
    stopped_because: str = ""
    learned: bool | None = None
    restarts: int = 1
    redrawn: int = 0
    replica: int = 0
    seconds: float = 0.0
    gradient_norms: list[list[float]] = field(default_factory=list)
    update_ratios: list[list[float]] = field(default_factory=list)
    optimizer: Optimizer | None = None
    best_epoch: int | None = None
    engine: str = ""
    engine_note: str = ""

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.4g}" if self.loss else "-"
        # (epochs, not the lazily built lists, are shown)
        return (
            f"History(epochs={self.epochs}, loss={last}, stopped_because={self.stopped_because!r}, "
            f"learned={self.learned}, restarts={self.restarts}, engine={self.engine!r})"
        )


def _built_on_first_use(name: str) -> property:
    """A History attribute that may be set to a function building its value: the lists of
    lists of a long run cost more to build than the run (0.2 us per epoch and layer, and
    Python's garbage collector on top), so they are built when first read."""
    slot = "_" + name

    def get(self):
        value = self.__dict__[slot]
        if callable(value):
            value = self.__dict__[slot] = value()
        return value

    def set(self, value) -> None:
        self.__dict__[slot] = value

    return property(get, set)


History.gradient_norms = _built_on_first_use("gradient_norms")
History.update_ratios = _built_on_first_use("update_ratios")


class Record:
    """Every copy's measurements, epoch by epoch, in blocks of epochs.

    A block holds, for ``E`` epochs and ``K`` copies: the loss ``(E, K)``, the validation loss
    ``(E, K)`` (or nothing), and ``(E, 3, K, L)`` sums of squares per layer: ``||dW||^2`` at the
    epoch's last step, ``||W_end - W_start||^2`` over the epoch, and ``||W_start||^2``.
    """

    def __init__(self) -> None:
        self.loss: list[Array] = []
        self.val_loss: list[Array] = []
        self.squares: list[Array] = []

    def add(self, loss: Array, val_loss: Array | None, squares: Array) -> None:
        self.loss.append(loss)
        if val_loss is not None:
            self.val_loss.append(val_loss)
        self.squares.append(squares)

    def last(self) -> tuple[Array, Array | None]:
        """The last epoch's losses (and validation losses) of every copy."""
        return self.loss[-1][-1], self.val_loss[-1][-1] if self.val_loss else None

    def fill(self, history: History, k: int) -> None:
        """Put copy ``k``'s records into ``history``."""
        if not self.loss:
            return
        loss = np.concatenate(self.loss)
        history.epochs = len(loss)
        history.loss = loss[:, k].tolist()
        if self.val_loss:
            history.val_loss = np.concatenate(self.val_loss)[:, k].tolist()
        gradient, change, weight = np.concatenate(self.squares)[:, :, k].transpose(1, 0, 2)
        with np.errstate(invalid="ignore", over="ignore"):  # a diverged copy gives inf or NaN
            norms = np.sqrt(gradient)
            ratios = np.sqrt(change / np.maximum(weight, 1e-30))
        history.gradient_norms = norms.tolist
        history.update_ratios = ratios.tolist


def squares(params: Array, grads: Array, start: Array, starts: list[int],
            ends: list[int]) -> Array:
    """One epoch's sums of squares per copy and layer (see :class:`Record`): ``(1, 3, K, L)``.

    ``starts[l]:ends[l]`` are the columns of ``W_l`` in the ``(K, P)`` arrays.
    """
    out = np.empty((1, 3, params.shape[0], len(starts)))
    for layer, (a, b) in enumerate(zip(starts, ends, strict=True)):
        for i, x in enumerate((grads[:, a:b], params[:, a:b] - start[:, a:b], start[:, a:b])):
            out[0, i, :, layer] = np.einsum("kp,kp->k", x, x)
    return out
