"""``fit``: training as a few named steps.

1. :func:`~.setup.setup`: check the arguments, derive the run's settings;
2. :class:`~.state.Training`: the copies' parameters and gradients; :class:`~.rules.Rules`:
   the stopping rules' state; :class:`~.history.Record`: the per-epoch measurements;
3. :func:`_path`: the compiled engine (:class:`~.compiled.CompiledPath`) when it can run the
   network, optimizer and callbacks, else the NumPy path (:class:`~.numpy_path.NumpyPath`);
4. :func:`_train`: epochs until a rule or a callback stops them, copies redrawn when stuck;
5. :func:`_keep_best`: judge the copies, keep the best in the network, fill the History.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence

import numpy as np

from .. import checks, engine
from ..callbacks import Callback
from ..core.network import Network
from ..core.optimizers import Optimizer
from ..stopping import ValidationStop
from .compiled import CompiledPath
from .history import History, Record
from .interrupt import Interrupt
from .numpy_path import NumpyPath, _hooks_batches
from .rules import Rules, choose_copy, logs
from .setup import Setup, check_fit_arguments, evaluate, setup
from .state import Training

Array = np.ndarray
ENGINES = ("auto", "compiled", "numpy")


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
    engine: str | None = None,
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
    engine : {"auto", "compiled", "numpy"}, optional
        ``"auto"`` (default; or the environment variable ``CHAINRULE_ENGINE``) trains with the
        compiled engine whenever it can (built-in activations, loss and optimizer, no
        ``on_batch_end`` callback, Numba installed), else on the NumPy path;
        ``history.engine`` and ``history.engine_note`` say which ran and why.

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
    s = setup(net, X, y, epochs, batch_size, optimizer, learning_rate, shuffle, validation_data,
              restarts, weight_decay, sample_weight, max_epochs, tol, n_iter_no_change,
              target_tolerance, early_stopping, patience)
    training = Training(net, s.copies, weight_decay)
    stop = ValidationStop(training.params, s.patience, tol) if s.early_stopping else None
    rules = Rules(training, s.tolerance, s.tolerance is not None and s.auto_stop and s.full_batch,
                  s.tolerance is not None and s.auto_stop and not s.full_batch
                  and s.X.shape[0] <= 4096, s.auto_stop, s.window, tol, stop,
                  3 * s.copies if s.redraw else 0)
    record = Record()
    history = History(restarts=s.copies, optimizer=s.optimizer)
    path = _path(engine, s, training, rules, record, callbacks)
    history.engine, history.engine_note = path.name, path.note
    for callback in callbacks:
        callback.on_train_begin(training)
    reason = "interrupted"
    interrupt = Interrupt()
    with np.errstate(over="ignore", invalid="ignore"), interrupt:
        reason = _train(s, training, rules, record, path, callbacks, history)
    if stop is not None:
        stop.restore(training.params)
    with interrupt:  # (the callbacks' code: a Ctrl-C stops it at once)
        for callback in callbacks:
            callback.on_train_end(training)
    if interrupt.error is not None:
        reason = "interrupted"
    with interrupt.deferred():  # a Ctrl-C now waits until the kept weights are written
        _keep_best(s, training, rules, record, history, reason)
        history.seconds = time.perf_counter() - start
    net.history_ = history
    if interrupt.error is not None:
        interrupt.error.history = history
        raise interrupt.error
    return history


def _path(choice: str | None, s: Setup, training: Training, rules: Rules, record: Record,
          callbacks: Sequence[Callback]) -> CompiledPath | NumpyPath:
    """The compiled engine if it can run this training (and was not refused), else NumPy."""
    choice = (choice or os.environ.get("CHAINRULE_ENGINE") or "auto").lower()
    if choice not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {choice!r}")
    reason = "engine='numpy' was asked for" if choice == "numpy" else \
        engine.unsupported(s.net, s.optimizer)
    if reason is None and any(_hooks_batches(c) for c in callbacks):
        reason = "a callback needs Python after every step (on_batch_end)"
    if reason is None:
        try:
            return CompiledPath(s, training, rules, record, per_epoch=bool(callbacks))
        except ImportError as error:  # e.g. a Numba too old for this NumPy
            reason = f"the compiled engine could not be loaded ({error})"
    if choice == "compiled":
        raise ValueError(f"engine='compiled' cannot train this network: {reason}; use "
                         "engine='auto' to train it on the NumPy path")
    return NumpyPath(s, training, rules, record, reason, callbacks)


def _train(s: Setup, training: Training, rules: Rules, record: Record,
           path: CompiledPath | NumpyPath, callbacks: Sequence[Callback],
           history: History) -> str:
    """Epochs until a rule or a callback stops them; the reason training stopped."""
    epoch = 0
    while epoch < s.epochs:
        done, reason = path.run(epoch, 1 if callbacks else s.epochs - epoch)
        epoch += done
        if reason == "redraw":  # copies stuck short of the targets start again
            redrawn, reason = rules.redraw(s.net, s.optimizer)
            history.redrawn += redrawn
        if reason is not None:
            return reason
        if callbacks:
            loss, val_loss = record.last()
            epoch_logs, training.logged_copy = logs(loss, val_loss, rules.alive)
            for callback in callbacks:
                callback.on_epoch_end(training, epoch - 1, epoch_logs)
            if training.stop_reason:
                return training.stop_reason
    return "max_epochs" if s.auto_stop else "epochs done"


def _keep_best(s: Setup, training: Training, rules: Rules, record: Record, history: History,
               reason: str) -> None:
    """Judge the copies by their weights as they are now (callbacks may have restored some),
    put the best into the network and its records into ``history``."""
    K, net = training.n_copies, s.net
    check = s.tolerance if s.judge_targets else None

    def judge() -> tuple[Array, Array | None]:
        if K == 1 and check is None:  # no pass: trust the copy if its last epoch was finite
            return np.where(rules.alive, 0.0, np.inf), None
        return evaluate(net, training.layers, s.X, s.Y, s.c, s.batch, check)

    final, met = judge()
    finite = np.isfinite(final) & np.isfinite(training.params).all(axis=1)
    if not finite.all():
        training.params[~finite] = rules.last_good[~finite]
        final, met = judge()
    final_val = None
    if s.validation is not None:
        final_val = evaluate(net, training.layers, *s.validation, s.batch)[0]
    best = choose_copy(final, final_val, rules.met_at, finite)
    for layer, (W, b) in zip(net.layers, training.copy_of(best), strict=True):
        layer.weights[...], layer.bias[...] = W, b
    net.input_range_ = s.input_range
    record.fill(history, best)
    history.stopped_because = reason
    history.replica = best
    stop = rules.stop
    if stop is not None and stop.best_epoch[best] >= 0:
        history.best_epoch = int(stop.best_epoch[best])
    history.learned = None if met is None else bool(met[best])
    if reason == "diverged" or not finite[best]:
        history.stopped_because = "diverged"
        warnings.warn(
            "training diverged (the loss became NaN or inf); the last finite weights were "
            "restored. Lower the learning rate, or scale the inputs and targets",
            checks.NumericalWarning,
            stacklevel=4,
        )
