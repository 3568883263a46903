"""Training: mini-batch gradient descent with stopping rules, divergence recovery and restarts.

Small networks succeed or fail by their initial weights (a 2-2-1 sigmoid net gets stuck on XOR
for some seeds). ``fit`` therefore trains ``K`` independently initialised copies at once, as one
batched computation with a leading replica axis (see :mod:`chainrule.layers`), and keeps the best
copy. Copy 0 always starts from the network's current weights, so ``restarts=1`` trains exactly
this network.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .activations import activation_name
from .callbacks import Callback
from .layers import Dense
from .network import Network, backward, forward, sample_weights
from .optimizers import Optimizer, get_optimizer

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
        ``"early stopping"``, ``"diverged"`` or ``"stopped by callback"``.
    learned : bool or None
        Whether every output is within ``target_tolerance`` of its target (``None`` when the
        targets are not classes and no tolerance was given).
    restarts : int
        Copies trained together; ``replica`` is the index of the one kept.
    gradient_norms, update_ratios : list of list of float
        Per epoch and per layer: ``||dW||`` of the epoch's last step, and ``||dW_epoch|| / ||W||``,
        the relative change of the weights over the epoch.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epochs: int = 0
    stopped_because: str = ""
    learned: bool | None = None
    restarts: int = 1
    replica: int = 0
    seconds: float = 0.0
    gradient_norms: list[list[float]] = field(default_factory=list)
    update_ratios: list[list[float]] = field(default_factory=list)
    optimizer: Optimizer | None = None

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.4g}" if self.loss else "-"
        return (
            f"History(epochs={self.epochs}, loss={last}, stopped_because={self.stopped_because!r}, "
            f"learned={self.learned}, restarts={self.restarts})"
        )


class Training:
    """The state of one ``fit`` call, as callbacks see it.

    ``layers`` hold the ``K`` copies being trained (weights ``(K, n_in, n_out)``); a callback stops
    training by setting ``stop_reason``, and may save and restore all copies with
    :meth:`get_weights` / :meth:`set_weights`.
    """

    def __init__(self, net: Network, layers: list[Dense], history: History) -> None:
        self.net, self.layers, self.history = net, layers, history
        self.stop_reason: str | None = None

    def parameters(self) -> list[Array]:
        return [p for layer in self.layers for p in (layer.weights, layer.bias)]

    def get_weights(self) -> list[Array]:
        return [p.copy() for p in self.parameters()]

    def set_weights(self, weights: Sequence[Array]) -> None:
        for p, w in zip(self.parameters(), weights, strict=True):
            p[...] = w


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
        improving, under a cap of ``max_epochs``.
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
        E.g. :class:`~chainrule.callbacks.EarlyStopping`, :class:`~chainrule.callbacks.Progress`.
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

    Returns
    -------
    History
    """
    start = time.perf_counter()
    X, Y, c_all = net.check_data(X, y, sample_weight)
    n = X.shape[0]
    validation = _check_validation(net, validation_data)
    batch = n if batch_size is None else _check_batch_size(batch_size, n)
    batches_per_epoch = -(-n // batch)
    opt = get_optimizer(optimizer, learning_rate, full_batch=batch == n)
    n_params = sum(p.size for p in net.parameters())
    K = _check_restarts(restarts, n * n_params)
    auto_stop = epochs is None
    if auto_stop:
        epochs = max_epochs or int(np.clip(np.ceil(100_000 / batches_per_epoch), 200, 10_000))
    elif not (isinstance(epochs, int | np.integer) and epochs >= 1):
        raise ValueError(f"epochs must be a positive integer or None, got {epochs!r}")
    tolerance = _target_tolerance(target_tolerance, net, Y)
    window = max(n_iter_no_change, -(-100 // batches_per_epoch))

    layers = _replicate(net, K)
    history = History(restarts=K, optimizer=opt)
    training = Training(net, layers, history)
    out = layers[-1]
    params = training.parameters()
    last_good = training.get_weights()
    losses, val_losses, norms, ratios = [], [], [], []
    met_at = np.full(K, -1)
    alive = np.ones(K, dtype=bool)
    for cb in callbacks:
        cb.on_train_begin(training)
    reason = "epochs done"
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            epoch_loss = np.zeros(K)
            order = net.rng.permutation(n) if shuffle and batch < n else None
            for first in range(0, n, batch):
                if batch == n:
                    Xb, Yb, cw = X, Y, c_all
                else:
                    rows = order[first : first + batch] if order is not None else (
                        slice(first, first + batch))
                    Xb, Yb = X[rows], Y[rows]
                    cw = _batch_weights(sample_weight, rows, Xb.shape[0], net)
                forward(layers, Xb)
                epoch_loss += np.reshape(net.loss_function.value(out.Z, out.A, Yb, cw), K) * (
                    Xb.shape[0] / n)
                if batch == n and auto_stop and tolerance is not None:
                    _mark_targets_met(out.A, Y, tolerance, epoch, met_at)
                grads = backward(
                    layers, net.loss_function.delta(out.Z, out.A, Yb, cw, out.activation))
                flat = [g for pair in grads for g in pair]
                if weight_decay:
                    for g, W in zip(flat[::2], params[::2], strict=True):
                        g += weight_decay * W
                if (met_at >= 0).any():
                    break  # these weights meet the targets: keep them as they are
                opt.step(params, flat)
            if weight_decay:
                epoch_loss += 0.5 * weight_decay * sum(
                    (W * W).sum(axis=(-2, -1)) for W in params[::2])
            losses.append(epoch_loss)
            norms.append([np.sqrt((g * g).sum(axis=(-2, -1))) for g in flat[::2]])
            ratios.append(_update_ratios(params[::2], last_good[::2]))
            alive &= np.isfinite(epoch_loss)
            if not alive.any():
                training.set_weights(last_good)
                reason = "diverged"
                break
            _save_finite(last_good, params, alive)
            if batch < n and auto_stop and tolerance is not None and n <= 4096:
                _mark_targets_met(forward(layers, X), Y, tolerance, epoch, met_at)
            if validation is not None:
                val_losses.append(_loss_per_copy(net, layers, *validation))
            if (met_at >= 0).any():
                reason = "targets met"
                break
            if auto_stop and _stopped_improving(losses, window, tol, alive):
                reason = "converged"
                break
            logs = _logs(losses[-1], val_losses[-1] if val_losses else None, alive)
            for callback in callbacks:
                callback.on_epoch_end(training, epoch, logs)
            if training.stop_reason:
                reason = training.stop_reason
                break
        else:
            reason = "max_epochs" if auto_stop else "epochs done"
    for cb in callbacks:
        cb.on_train_end(training)

    best = _choose_copy(losses, val_losses, met_at, alive)
    for layer, trained in zip(net.layers, layers, strict=True):
        layer.weights[...] = trained.weights[best]
        layer.bias[...] = trained.bias[best]
    net.input_range_ = (X.min(axis=0), X.max(axis=0))

    history.loss = [float(v[best]) for v in losses]
    history.val_loss = [float(v[best]) for v in val_losses]
    history.gradient_norms = [[float(v[best]) for v in row] for row in norms]
    history.update_ratios = [[float(v[best]) for v in row] for row in ratios]
    history.epochs = len(losses)
    history.stopped_because = reason
    history.replica = best
    history.learned = None if tolerance is None else _targets_met(net, X, Y, tolerance)
    history.seconds = time.perf_counter() - start
    if reason == "diverged" or not alive[best]:
        history.stopped_because = "diverged"
        warnings.warn(
            "training diverged (the loss became NaN or inf); the last finite weights were "
            "restored. Lower the learning rate, or scale the inputs and targets",
            RuntimeWarning,
            stacklevel=3,
        )
    return history


# -- helpers ------------------------------------------------------------------------------------
def _replicate(net: Network, K: int) -> list[Dense]:
    """``K`` stacked copies of the net's layers: copy 0 as it is, the others freshly drawn."""
    layers = [
        Dense(np.empty((K, *layer.weights.shape), net.dtype),
              np.empty((K, *layer.bias.shape), net.dtype), layer.activation)
        for layer in net.layers
    ]
    if K > 1:
        net.initialize(layers)
    for stacked, layer in zip(layers, net.layers, strict=True):
        stacked.weights[0], stacked.bias[0] = layer.weights, layer.bias
    return layers


def _check_restarts(restarts: int | None, work: int) -> int:
    if restarts is None:
        return AUTO_RESTARTS if work <= SMALL_PROBLEM else 1
    if not (isinstance(restarts, int | np.integer) and restarts >= 1):
        raise ValueError(f"restarts must be a positive integer or None, got {restarts!r}")
    return int(restarts)


def _check_batch_size(batch_size: int, n: int) -> int:
    if not (isinstance(batch_size, int | np.integer) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    return min(int(batch_size), n)


def _check_validation(net: Network, validation_data) -> tuple[Array, Array, float] | None:
    if validation_data is None:
        return None
    if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    return net.check_data(*validation_data)


def _batch_weights(sample_weight, rows, n_rows: int, net: Network) -> float | Array:
    if sample_weight is None:
        return 1.0 / n_rows
    return sample_weights(np.asarray(sample_weight)[rows], n_rows, net.dtype)


def _target_tolerance(target_tolerance: float | None, net: Network, Y: Array) -> float | None:
    """The tolerance within which outputs count as meeting their targets, or None."""
    if target_tolerance is not None:
        if not target_tolerance > 0:
            raise ValueError(f"target_tolerance must be positive, got {target_tolerance}")
        return float(target_tolerance)
    classes = activation_name(net.output_activation) in ("sigmoid", "softmax")
    return 0.1 if classes and np.isin(Y, (0, 1)).all() else None


def _mark_targets_met(A: Array, Y: Array, tolerance: float, epoch: int, met_at: Array) -> None:
    met = (np.abs(A - Y) < tolerance).all(axis=(-2, -1)).reshape(-1)
    met_at[(met_at < 0) & met] = epoch


def _targets_met(net: Network, X: Array, Y: Array, tolerance: float) -> bool:
    return bool((np.abs(forward(net.layers, X) - Y) < tolerance).all())


def _loss_per_copy(net: Network, layers: list[Dense], X: Array, Y: Array, c) -> Array:
    out = layers[-1]
    forward(layers, X)
    return np.reshape(net.loss_function.value(out.Z, out.A, Y, c), -1)


def _update_ratios(weights: list[Array], before: list[Array]) -> list[Array]:
    """``||W - W_before|| / ||W_before||`` per copy, for each layer."""
    def squared_norm(W: Array) -> Array:
        return (W * W).sum(axis=(-2, -1))

    return [
        np.sqrt(squared_norm(W - W0) / np.maximum(squared_norm(W0), 1e-30))
        for W, W0 in zip(weights, before, strict=True)
    ]


def _save_finite(saved: list[Array], params: list[Array], alive: Array) -> None:
    """Copy the parameters of the copies still finite into ``saved``."""
    for s, p in zip(saved, params, strict=True):
        np.copyto(s, p, where=alive.reshape((-1,) + (1,) * (p.ndim - 1)))


def _stopped_improving(losses: list[Array], window: int, tol: float, alive: Array) -> bool:
    """Whether every finite copy's best loss of the last ``window`` epochs is no real gain."""
    if len(losses) <= window:
        return False
    history = np.array(losses)
    before = history[:-window].min(axis=0)
    recent = history[-window:].min(axis=0)
    stalled = before - recent < tol * np.maximum(1.0, before)
    return bool(stalled[alive].all())


def _logs(loss: Array, val_loss: Array | None, alive: Array) -> dict[str, float]:
    best = int(np.argmin(np.where(alive, loss, np.inf)))
    logs = {"loss": float(loss[best])}
    if val_loss is not None:
        logs["val_loss"] = float(val_loss[best])
    return logs


def _choose_copy(losses, val_losses, met_at: Array, alive: Array) -> int:
    """The copy to keep: first to meet the targets, else lowest validation or training loss."""
    if not alive.any():  # all diverged: the copy whose loss had been lowest
        lowest = np.nan_to_num(np.array(losses), nan=np.inf, posinf=np.inf).min(axis=0)
        return int(np.argmin(lowest))
    final = np.where(alive, losses[-1], np.inf)
    if (met_at >= 0).any():
        final = np.where(met_at >= 0, final, np.inf)
    elif val_losses:
        final = np.where(alive, val_losses[-1], np.inf)
    return int(np.argmin(final)) if np.isfinite(final).any() else 0
