"""Training: mini-batch gradient descent with stopping rules, divergence recovery and restarts.

Small networks succeed or fail by their initial weights (a 2-2-1 sigmoid net gets stuck on XOR
for some seeds). ``fit`` therefore trains ``K`` independently initialised copies at once, as one
batched computation with a leading replica axis (see :mod:`chainrule.layers`), and keeps the best
copy. Copy 0 always starts from the network's current weights, so ``restarts=1`` trains exactly
this network.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from . import checks
from .activations import activation_name
from .callbacks import Callback
from .layers import Dense, parameter_views
from .network import Network, backward, forward
from .optimizers import Optimizer, get_optimizer
from .stopping import ValidationStop

Array = np.ndarray

AUTO_RESTARTS = 16
SMALL_PROBLEM = 20_000  # samples x parameters up to which restarts=None trains AUTO_RESTARTS copies


@dataclass
class History:
    """What happened during :func:`fit`.

    Attributes
    ----------
    loss, val_loss : list of float
        Training (and validation) loss per epoch, of the copy that was kept.
    epochs : int
        Epochs run.
    stopped_because : str
        ``"targets met"``, ``"converged"``, ``"max_epochs"``, ``"epochs done"``,
        ``"early stopping"``, ``"diverged"``, ``"stopped by callback"`` or ``"interrupted"``
        (Ctrl-C, or a ``KeyboardInterrupt`` from a callback: ``fit`` kept the best weights so
        far and raised the interrupt again, with this History as its ``history`` attribute).
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

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.4g}" if self.loss else "-"
        return (
            f"History(epochs={self.epochs}, loss={last}, stopped_because={self.stopped_because!r}, "
            f"learned={self.learned}, restarts={self.restarts})"
        )


class Training:
    """The state of one ``fit`` call: ``K`` copies of the network trained together.

    All parameters of all copies live in one ``(K, P)`` buffer, and their gradients in another:
    ``layers[i].weights`` is a ``(K, n_in, n_out)`` view into it (with one copy, the network's
    own ``(1, P)`` buffer and plain ``(n_in, n_out)`` views: it trains in place).
    Backpropagation writes the gradients in place and the optimizer updates the whole buffer in
    one step.

    A callback stops training by setting ``stop_reason``, and may save and restore all copies
    with :meth:`get_weights` / :meth:`set_weights`. The epoch's ``logs`` hold the losses of
    copy ``logged_copy`` (the one with the lowest training loss).
    """

    def __init__(self, net: Network, K: int, weight_decay: float = 0.0) -> None:
        self.net = net
        shapes = net.shapes
        segments = [size for n_in, n_out in shapes for size in (n_in * n_out, n_out)]
        self.starts = np.cumsum([0, *segments[:-1]])  # where each W_l and b_l begins
        # one copy trains the network's own weights in place; K copies get a buffer of their own
        self.params = net.flat_parameters() if K == 1 else np.empty((K, sum(segments)), net.dtype)
        self.grads = np.zeros_like(self.params)
        self.grad_views = parameter_views(self.grads, shapes)
        self.layers = [
            Dense(W, b, layer.activation, reuse_buffers=True)
            for (W, b), layer in zip(parameter_views(self.params, shapes), net.layers, strict=True)
        ]
        if K > 1:
            net.initialize(self.layers)
            self.set_copy(0, net.layers)
        self.decay = None  # weight_decay where the buffer holds a weight, 0 where a bias
        if weight_decay:
            decay = np.zeros((1, self.params.shape[1]), net.dtype)
            for W, _ in parameter_views(decay, shapes):
                W[...] = weight_decay
            self.decay = decay[0]
        self.stop_reason: str | None = None
        self.logged_copy = 0  # the copy whose losses the callbacks' logs hold
        self.delta: Array | None = None

    def forward_backward(self, X: Array, Y: Array, c: float | Array) -> Array:
        """Loss of each copy on ``(X, Y)``; leaves the gradients in ``self.grads``."""
        out = self.layers[-1]
        forward(self.layers, X)
        if self.delta is None or self.delta.shape != out.A.shape:
            self.delta = np.empty_like(out.A)  # the output error's buffer, kept between steps
        value, dZ = self.net.loss_function.value_and_delta(out.Z, out.A, Y, c, out.activation,
                                                           out=self.delta)
        backward(self.layers, dZ, self.grad_views)
        value = value.reshape(-1)
        if self.decay is not None:
            self.grads += self.decay * self.params
            value = value + 0.5 * (self.decay * self.params * self.params).sum(axis=-1)
        return value

    @property
    def n_copies(self) -> int:
        """``K``, the number of copies trained together."""
        return self.params.shape[0]

    def copy_of(self, k: int) -> list[tuple[Array, Array]]:
        """``(W, b)`` of every layer of copy ``k``, as views."""
        index = ... if self.n_copies == 1 else k
        return [(layer.weights[index], layer.bias[index]) for layer in self.layers]

    def set_copy(self, k: int, layers: Sequence[Dense]) -> None:
        """Copy the weights of ``layers`` into copy ``k``."""
        for (W, b), layer in zip(self.copy_of(k), layers, strict=True):
            W[...], b[...] = layer.weights, layer.bias

    def get_weights(self) -> list[Array]:
        return [self.params.copy()]

    def set_weights(self, weights: Sequence[Array]) -> None:
        self.params[...] = weights[0]


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


def fit(
    net: Network,
    X: Array,
    y: Array,
    epochs: int | None = None,
    batch_size: int | None = None,
    optimizer: str | Optimizer = "auto",
    learning_rate: float | None = None,
    shuffle: bool = True,
    validation_data: tuple[Array, Array] | None = None,
    callbacks: Sequence[Callback] = (),
    *,
    restarts: int | None = None,
    weight_decay: float = 0.0,
    sample_weight: Array | None = None,
    max_epochs: int | None = None,
    tol: float = 1e-4,
    n_iter_no_change: int = 10,
    target_tolerance: float | None = None,
    early_stopping: bool | None = None,
    patience: int | None = None,
) -> History:
    """Train ``net`` on ``(X, y)`` by backpropagation.

    Parameters
    ----------
    net : Network
        The network; its weights are replaced by the trained ones.
    X : array of shape (n, n_inputs)
    y : array of shape (n, n_outputs), or (n,) for one output or class labels
    epochs : int, optional
        Passes over the data. ``None`` trains until the targets are met or the loss stops
        improving, under a cap of ``max_epochs``; with ``validation_data``, until the
        validation loss stops improving (see ``early_stopping``).
    batch_size : int, optional
        Samples per update; ``None`` is full batch, ``1`` is online updates.
    optimizer : str or Optimizer
        ``"auto"`` (Rprop for full batch, Adam for mini-batches), ``"sgd"``, ``"adam"``,
        ``"rmsprop"``, ``"rprop"``, or an :class:`~chainrule.optimizers.Optimizer` object,
        whose state then carries over between calls.
    learning_rate : float, optional
        ``None`` takes the optimizer's default.
    shuffle : bool
        Reshuffle the samples every epoch (mini-batches only).
    validation_data : (X_val, y_val), optional
        Evaluated every epoch into ``history.val_loss``.
    callbacks : sequence of Callback
        E.g. :class:`~chainrule.callbacks.EarlyStopping`; progress bars come as callbacks too
        (:class:`~chainrule.callbacks.LambdaCallback`, :mod:`chainrule.progress`).
    restarts : int, optional
        Independently initialised copies trained together (copy 0 from the current weights);
        the best is kept. ``None`` trains 16 for small problems (samples x parameters up to
        20,000) and 1 otherwise.
    weight_decay : float
        L2 penalty: adds ``weight_decay * W`` to each weight gradient (biases are not decayed).
    sample_weight : array of shape (n,), optional
        Weights of the samples in the loss.
    max_epochs : int, optional
        Cap for ``epochs=None``; default ``100,000`` updates' worth, between 200 and 10,000 epochs.
    tol, n_iter_no_change : float, int
        The loss has stopped improving when the best loss of the last ``n_iter_no_change``
        epochs (at least 100 updates) is less than ``tol * max(1, loss)`` below the best before.
    target_tolerance : float, optional
        Targets are met when every output is within it of its target. Default 0.1 when the
        targets are classes (0/1 with a sigmoid or softmax output), else targets are not checked.
    early_stopping : bool, optional
        Stop on the validation loss (:mod:`chainrule.stopping`): keep the weights of the epoch
        with the lowest validation loss, and stop once it has not improved by ``tol`` for
        ``patience`` epochs. ``None`` (default) does so when ``validation_data`` is given and
        ``epochs`` is ``None``; targets are then not checked (the data are a sample, not a
        whole domain). ``True`` needs ``validation_data``; with ``epochs`` set it stops early
        too.
    patience : int, optional
        Epochs without improvement of the validation loss tolerated; default as the plateau
        rule: ``max(n_iter_no_change, ceil(100 / batches per epoch))``.

    Returns
    -------
    History
        Also kept as ``net.history_``.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C (or a ``KeyboardInterrupt`` raised by a callback): training stops, the network
        gets the best weights so far (chosen as at any other stop, never the initial ones) and
        the interrupt is raised again, its ``history`` attribute (and ``net.history_``) holding
        the History, with ``stopped_because="interrupted"``.
    """
    start = time.perf_counter()
    (epochs, batch_size, max_epochs, restarts, n_iter_no_change, tol, weight_decay,
     target_tolerance, learning_rate, shuffle, callbacks, early_stopping,
     patience) = check_fit_arguments(dict(
        epochs=epochs, batch_size=batch_size, max_epochs=max_epochs, restarts=restarts,
        n_iter_no_change=n_iter_no_change, tol=tol, weight_decay=weight_decay,
        target_tolerance=target_tolerance, learning_rate=learning_rate, shuffle=shuffle,
        callbacks=callbacks, early_stopping=early_stopping, patience=patience)).values()
    X, Y, c_all, input_range = net._checked_data_and_range(X, y, sample_weight)
    n = X.shape[0]
    validation = _check_validation(net, validation_data)
    batch = n if batch_size is None else min(batch_size, n)
    batches_per_epoch = -(-n // batch)
    opt = get_optimizer(optimizer, learning_rate, full_batch=batch == n)
    K = _check_restarts(restarts, n * net.n_parameters)
    auto_stop = epochs is None
    if auto_stop:
        epochs = max_epochs or int(np.clip(np.ceil(100_000 / batches_per_epoch), 200, 10_000))
    window = max(n_iter_no_change, -(-100 // batches_per_epoch))
    _check_memory(net, K, batch, epochs, window, opt, validation)
    plateau = _Plateau(window, tol, K)
    if early_stopping is None:
        early_stopping = auto_stop and validation is not None
    elif early_stopping and validation is None:
        raise ValueError("early_stopping=True needs validation_data=(X_val, y_val)")
    tolerance = None if early_stopping else _target_tolerance(target_tolerance, net, Y)

    training = Training(net, K, weight_decay)
    stop = None
    if early_stopping:
        stop = ValidationStop(training.params, window if patience is None else patience, tol)
    history = History(restarts=K, optimizer=opt)
    # With restarts=None and class targets, copies that get stuck are redrawn, up to 3K times.
    redraws_left = 3 * K if restarts is None and tolerance is not None and K > 1 else 0
    epoch_start = training.params.copy()
    last_good = training.params.copy()  # per copy: start of its last epoch with a finite loss
    record = _Record(training)
    met_at = np.full(K, -1)
    alive = np.ones(K, dtype=bool)
    all_alive = True  # alive.all(), kept as a Python bool: it is tested every epoch
    check_every_step = tolerance is not None and auto_stop and batch == n
    check_every_epoch = tolerance is not None and auto_stop and batch < n and n <= 4096
    for callback in callbacks:
        callback.on_train_begin(training)
    reason = "max_epochs" if auto_stop else "epochs done"
    interrupt = _Interrupt()
    with np.errstate(over="ignore", invalid="ignore"), interrupt:
        for epoch in range(epochs):
            epoch_start[...] = training.params
            epoch_loss = _run_epoch(training, opt, X, Y, c_all, batch, shuffle,
                                    (tolerance, epoch, met_at) if check_every_step else None)
            record.epoch(epoch_loss, epoch_start)
            total = epoch_loss[0] if K == 1 else np.add.reduce(epoch_loss)
            if all_alive and math.isfinite(total):  # the start was good:
                last_good, epoch_start = epoch_start, last_good  # keep it (a swap, no copy)
            else:
                all_alive = False
                alive &= np.isfinite(epoch_loss)
                np.copyto(last_good, epoch_start, where=alive[:, None])
                if not alive.any():
                    reason = "diverged"
                    break
            if check_every_epoch:
                met = evaluate(net, training.layers, X, Y, c_all, batch, tolerance)[1]
                met_at[(met_at < 0) & met] = epoch
            if validation is not None:
                record.val_loss.append(evaluate(net, training.layers, *validation, batch)[0])
                if stop is not None and stop.update(record.val_loss[-1], training.params, epoch):
                    reason = "early stopping"
                    break
            if (check_every_step or check_every_epoch) and met_at.max() >= 0:
                reason = "targets met"
                break
            if auto_stop:
                stalled = plateau.update(epoch_loss)
                if redraws_left:  # start copies stuck short of the targets again
                    stuck = np.flatnonzero(stalled | ~alive)[:redraws_left]
                    if stuck.size:
                        net.initialize(training.layers, stuck)
                        opt.reset(stuck)
                        plateau.restart(stuck)
                        last_good[stuck] = training.params[stuck]
                        alive[stuck], stalled[stuck] = True, False
                        all_alive = bool(alive.all())
                        redraws_left -= stuck.size
                        history.redrawn += stuck.size
                if stalled[alive].all():
                    reason = "converged"
                    break
            if callbacks:
                logs, training.logged_copy = _logs(
                    epoch_loss, record.val_loss[-1] if validation else None, alive)
                for callback in callbacks:
                    callback.on_epoch_end(training, epoch, logs)
                if training.stop_reason:
                    reason = training.stop_reason
                    break
    if stop is not None:
        stop.restore(training.params)
    with interrupt:  # (the callbacks' code: a Ctrl-C stops it at once)
        for callback in callbacks:
            callback.on_train_end(training)
    if interrupt.error is not None:
        reason = "interrupted"
    with interrupt.deferred():  # a Ctrl-C now waits until the kept weights are written
        # Judge the copies by their weights as they are now (callbacks may have restored some):
        # one pass over the data, unless there is neither a copy to choose nor a target to check.
        check = tolerance if auto_stop or target_tolerance is not None else None

        def judge() -> tuple[Array, Array | None]:
            if K == 1 and check is None:  # no pass: trust the copy if its last epoch was finite
                return np.where(alive, 0.0, np.inf), None
            return evaluate(net, training.layers, X, Y, c_all, batch, check)

        final, met = judge()
        finite = np.isfinite(final) & np.isfinite(training.params).all(axis=1)
        if not finite.all():
            training.params[~finite] = last_good[~finite]
            final, met = judge()
        final_val = None
        if validation is not None:
            final_val = evaluate(net, training.layers, *validation, batch)[0]
        best = _choose_copy(final, final_val, met_at, finite)
        for layer, (W, b) in zip(net.layers, training.copy_of(best), strict=True):
            layer.weights[...], layer.bias[...] = W, b
        net.input_range_ = input_range

        record.fill(history, best)
        history.stopped_because = reason
        history.replica = best
        if stop is not None and stop.best_epoch[best] >= 0:
            history.best_epoch = int(stop.best_epoch[best])
        history.learned = None if met is None else bool(met[best])
        history.seconds = time.perf_counter() - start
        if reason == "diverged" or not finite[best]:
            history.stopped_because = "diverged"
            warnings.warn(
                "training diverged (the loss became NaN or inf); the last finite weights were "
                "restored. Lower the learning rate, or scale the inputs and targets",
                checks.NumericalWarning,
                stacklevel=3,
            )
    net.history_ = history
    if interrupt.error is not None:
        interrupt.error.history = history
        raise interrupt.error
    return history


# -- helpers ------------------------------------------------------------------------------------
def _run_epoch(training: Training, opt: Optimizer, X: Array, Y: Array, c: float | Array,
               batch: int, shuffle: bool, targets: tuple | None) -> Array:
    """One pass over the data; the loss of each copy, averaged over its batches.

    With ``targets = (tolerance, epoch, met_at)`` (full batch only), copies whose outputs meet
    the targets are marked in ``met_at`` and the step is not taken: those weights are kept.
    """
    n = X.shape[0]
    if batch == n:
        loss = training.forward_backward(X, Y, c)
        if targets is None or not _mark_targets_met(training.layers[-1].A, Y, *targets):
            opt.step([training.params], [training.grads])
        return loss
    losses = []  # per batch, averaged at the end, weighted by the batches' sizes
    for Xb, Yb, cb in _batches(X, Y, c, batch, shuffle, training.net):
        losses.append(training.forward_backward(Xb, Yb, cb))
        opt.step([training.params], [training.grads])
    sizes = np.full(len(losses), batch / n)
    sizes[-1] = (n - batch * (len(losses) - 1)) / n
    return sizes @ np.array(losses)


class _Record:
    """Per-epoch measurements of every copy; :meth:`fill` puts the kept copy's into a History."""

    LARGE = 1 << 16  # parameters above which norms are taken a block at a time (less memory)
    BLOCK = 1 << 16  # parameters per block
    KEPT = 1 << 14  # small networks: entries of the epochs kept for one reduction (128 kB)

    def __init__(self, training: Training) -> None:
        self.training = training
        self.loss: list[Array] = []
        self.val_loss: list[Array] = []
        # blocks of epochs, (epochs, 3, K, L): ||dW_l||^2 at the epoch's last step,
        # ||W_l(end) - W_l(start)||^2 over the epoch, and ||W_l(start)||^2
        self.squares: list[Array] = []
        params = training.params
        # Small networks keep (dW, W(end), W(start)) of up to 64 epochs and reduce them
        # together: an epoch of a tiny network costs about as much as those reductions.
        epochs = max(1, min(64, self.KEPT // (3 * params.size)))
        small = params.size <= self.LARGE
        self.kept = np.empty((epochs, 3, *params.shape), params.dtype) if small else None
        self.slots = [tuple(slot) for slot in self.kept] if small else []  # views, made once
        # large networks: one block of W(end) - W(start) at a time
        self.change = None if small else np.empty((params.shape[0], self.BLOCK), params.dtype)
        self.n_kept = 0

    def epoch(self, loss: Array, start: Array) -> None:
        t = self.training
        self.loss.append(loss)
        if self.kept is not None:
            gradients, end_copy, start_copy = self.slots[self.n_kept]
            gradients[...] = t.grads
            end_copy[...] = t.params
            start_copy[...] = start
            self.n_kept += 1
            if self.n_kept == len(self.kept):
                self._reduce_kept()
            return
        squares = np.zeros((3, t.n_copies, len(t.starts) // 2), t.params.dtype)
        change = self.change
        for layer, (first, end) in enumerate(zip(t.starts[::2], t.starts[1::2], strict=True)):
            for a in range(first, end, self.BLOCK):  # a block at a time: no large temporary
                cols = slice(a, min(a + self.BLOCK, end))
                d = np.subtract(t.params[:, cols], start[:, cols], out=change[:, : cols.stop - a])
                for i, x in enumerate((t.grads[:, cols], d, start[:, cols])):
                    squares[i, :, layer] += np.einsum("kp,kp->k", x, x)
        self.squares.append(squares[None])

    def _reduce_kept(self) -> None:
        """Sums of squares per layer of the kept epochs, in one reduction."""
        kept = self.kept[: self.n_kept]
        np.subtract(kept[:, 1], kept[:, 2], out=kept[:, 1])  # W(end) - W(start)
        np.multiply(kept, kept, out=kept)
        self.squares.append(np.add.reduceat(kept, self.training.starts, axis=-1)[..., ::2])
        self.n_kept = 0

    def fill(self, history: History, k: int) -> None:
        history.epochs = len(self.loss)
        history.loss = [float(v[k]) for v in self.loss]
        history.val_loss = [float(v[k]) for v in self.val_loss]
        with np.errstate(invalid="ignore", over="ignore"):  # a diverged copy gives inf or NaN
            if self.kept is not None:
                self._reduce_kept()
            if self.loss:
                squares = np.concatenate(self.squares)[:, :, k].transpose(1, 0, 2)
                gradient_sq, change_sq, weight_sq = squares
                history.gradient_norms = np.sqrt(gradient_sq).tolist()
                history.update_ratios = np.sqrt(change_sq / np.maximum(weight_sq, 1e-30)).tolist()


def _check_restarts(restarts: int | None, work: int) -> int:
    if restarts is None:
        return AUTO_RESTARTS if work <= SMALL_PROBLEM else 1
    return restarts


def _check_memory(net: Network, K: int, batch: int, epochs: int, window: int, opt: Optimizer,
                  validation: tuple | None) -> None:
    """Refuse a training whose arrays would not fit in the memory budget (:mod:`.checks`):
    ``K`` copies of the parameters with their gradients, two snapshots, the optimizer's state
    and the history's blocks; one batch's activations forward and backward; the plateau rule's
    window; and the History's entries of every epoch."""
    size, L, P = net.dtype.itemsize, len(net.shapes), net.n_parameters
    state = 1 + len(opt.init_state(np.zeros((1, 1), net.dtype)))  # arrays per parameter
    parts = {  # what needs the memory: (bytes, the fix)
        "weights, gradients and optimizer state": (
            K * P * size * (4 + state) + min(K * P, 3 * _Record.KEPT) * size,
            "use fewer restarts or smaller layers"),
        "activations": (
            checks.activation_bytes(net.sizes, batch, K, size, backward=True)
            + (0 if validation is None else checks.activation_bytes(
                net.sizes, min(batch, len(validation[0])), K, size, backward=False)),
            "use a smaller batch_size, fewer restarts or smaller layers"),
        f"the last {window} epochs' losses": (
            (window + 1) * K * 8 * 2, "use a smaller n_iter_no_change"),
        f"the history of {epochs} epochs": (
            epochs * (320 + 16 * K + 6 * K * L * size + 64 * L), "train for fewer epochs"),
    }
    largest = max(parts, key=lambda part: parts[part][0])
    checks.check_memory(sum(bytes_ for bytes_, _ in parts.values()),
                        f"training {K} cop{'y' if K == 1 else 'ies'} of a "
                        f"{'-'.join(map(str, net.sizes))} network (most for {largest}: "
                        f"{checks.format_bytes(parts[largest][0])})", parts[largest][1])


class _Interrupt:
    """Catches a ``KeyboardInterrupt`` (Ctrl-C) in the training loop, so that ``fit`` can keep
    the best weights so far before raising it again (``error``); :meth:`deferred` holds a
    Ctrl-C back while the kept weights are chosen and written."""

    def __init__(self) -> None:
        self.error: KeyboardInterrupt | None = None

    def __enter__(self) -> _Interrupt:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.error = error
            return True
        return False

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A Ctrl-C during the block is raised (as ``error``) only after it; a second one at
        once."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield  # only the main thread receives SIGINT, and only this handler raises
            return
        pressed = []

        def hold(*_) -> None:
            if pressed:  # pressed twice: the user insists
                raise KeyboardInterrupt
            pressed.append(True)

        previous = signal.signal(signal.SIGINT, hold)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        if pressed and self.error is None:
            self.error = KeyboardInterrupt()


def _check_validation(net: Network, validation_data) -> tuple[Array, Array, float] | None:
    if validation_data is None:
        return None
    if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    return net.check_data(*validation_data)


def _batches(X: Array, Y: Array, c: float | Array, batch: int, shuffle: bool, net: Network):
    """``(X_batch, Y_batch, c_batch)`` for one epoch of (shuffled) mini-batches.

    ``c`` holds the samples' loss weights (``1/n``, or a column summing to 1); each batch's
    weights are renormalised to sum to 1, or left at 0 if all its samples weigh nothing.
    """
    n = X.shape[0]
    order = net.rng.permutation(n) if shuffle else np.arange(n)
    for first in range(0, n, batch):
        rows = order[first : first + batch]
        Xb, Yb = X.take(rows, axis=0), Y.take(rows, axis=0)  # (take: faster than X[rows])
        if isinstance(c, float):
            yield Xb, Yb, 1.0 / rows.size
        else:
            weights = c.take(rows, axis=0)
            total = weights.sum()
            yield Xb, Yb, weights / total if total > 0 else weights


def _target_tolerance(target_tolerance: float | None, net: Network, Y: Array) -> float | None:
    """The tolerance within which outputs count as meeting their targets, or None."""
    if target_tolerance is not None:
        return target_tolerance
    classes = activation_name(net.output_activation) in ("sigmoid", "softmax")
    return 0.1 if classes and np.isin(Y, (0, 1)).all() else None


def _mark_targets_met(A: Array, Y: Array, tolerance: float, epoch: int, met_at: Array) -> bool:
    """Mark in ``met_at`` the copies whose outputs are all within ``tolerance`` of the targets."""
    met = (np.abs(A - Y) < tolerance).all(axis=(-2, -1)).reshape(-1)
    if not met.any():
        return False
    met_at[(met_at < 0) & met] = epoch
    return True


def evaluate(net: Network, layers: list[Dense], X: Array, Y: Array, c: float | Array,
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


class _Plateau:
    """Which copies have stopped improving: best loss now against the best ``window`` epochs ago.

    A copy has stalled when ``best_then - best_now < tol * max(1, best_then)``, once it has
    trained for more than ``window`` epochs since it started (or restarted).
    """

    def __init__(self, window: int, tol: float, K: int) -> None:
        self.window, self.tol = window, tol
        self.best = np.full(K, np.inf)
        self.running_best = np.full((window + 1, K), np.inf)  # ring buffer of past ``best``
        self.age = np.zeros(K, dtype=int)
        self.epoch = 0

    def update(self, loss: Array) -> Array:
        """Record one epoch's losses; return the mask of stalled copies."""
        self.best = np.minimum(self.best, loss)
        slot = self.epoch % (self.window + 1)
        self.running_best[slot] = self.best
        then = self.running_best[(slot + 1) % (self.window + 1)]
        self.epoch += 1
        self.age += 1
        return (self.age > self.window) & (then - self.best < self.tol * np.maximum(1.0, then))

    def restart(self, copies: Array) -> None:
        self.best[copies] = np.inf
        self.running_best[:, copies] = np.inf
        self.age[copies] = 0


def _logs(loss: Array, val_loss: Array | None, alive: Array) -> tuple[dict[str, float], int]:
    """The epoch's logs, of the copy with the lowest training loss; and that copy's index."""
    best = int(np.argmin(np.where(alive, loss, np.inf)))
    logs = {"loss": float(loss[best])}
    if val_loss is not None:
        logs["val_loss"] = float(val_loss[best])
    return logs, best


def _choose_copy(final: Array, final_val: Array | None, met_at: Array, finite: Array) -> int:
    """The copy to keep: one that met the targets, else the lowest validation or training loss.

    Copies whose weights had to be restored after diverging (``finite`` False) come last.
    """
    score = final if final_val is None else final_val
    score = np.where(np.isfinite(score), score, np.inf)
    rank = np.lexsort((score, met_at < 0, ~finite))  # finite first, then met, then lowest loss
    return int(rank[0])
