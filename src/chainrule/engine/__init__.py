"""The compiled engine: ``fit``'s epochs in machine code (Numba), tested equal to the core.

:func:`unsupported` says why a network and optimizer cannot train compiled (or ``None``);
:class:`Kernel` binds a run's arrays to the compiled loop (:mod:`.loop`) and runs epochs.

How it works:

* **one call, many epochs**: :func:`.loop.run_epochs` trains every copy through every batch,
  updates, records the history and applies the stopping rules for as many epochs as it is asked
  (all of them, unless a callback needs Python after every epoch);
* **no views, no allocation** in the hot loop: matrices are blocks of flat arrays; scratch is
  allocated once per call;
* **BLAS where it pays**: products go to the BLAS that NumPy itself uses (:mod:`.blas`), with
  ``Z = b + X W`` in one call; products of at most ``blas.SMALL_PRODUCT`` multiply-adds run in
  plain loops, where a call would cost more than the work;
* **cached**: compiled once per float type and kept on disk by Numba (``cache=True``: next to
  the package, or in the user's cache folder when that is read-only).

Importing this package does not import Numba; :class:`Kernel` does, the first time.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

from ..core.activations import ACTIVATIONS
from ..core.losses import LOSSES
from ..core.optimizers import SGD, Adam, Optimizer, RMSprop, Rprop

Array = np.ndarray
_OPTIMIZERS = (SGD, Adam, RMSprop, Rprop)  # the order of maths.OPTIMIZERS


def unsupported(net, optimizer: Optimizer) -> str | None:
    """Why ``net`` cannot train compiled with ``optimizer``, or ``None`` when it can."""
    if not _numba_installed():
        return "Numba is not installed (pip install numba)"
    for i, layer in enumerate(net.layers):
        name = getattr(layer.activation, "name", None)
        if ACTIVATIONS.get(name) != layer.activation:  # (a copy of a built-in is equal to it)
            return (f"the activation of layer {i + 1} is your own object "
                    f"({type(layer.activation).__name__})")
    loss = net.loss_function
    if LOSSES.get(loss.name) != loss or type(loss) is not type(LOSSES[loss.name]):
        return f"the loss is your own object ({type(loss).__name__})"
    if type(optimizer) not in _OPTIMIZERS:
        return f"the optimizer is your own class ({type(optimizer).__name__})"
    return None


class Kernel:
    """One run's arrays, bound to the compiled loop.

    Parameters
    ----------
    net : Network
    X, Y : arrays
        Training inputs and targets; ``c`` the samples' loss weights (``1/n`` or a column).
    validation : (X_val, Y_val, c_val) or None
    batch : int
    optimizer : Optimizer
        One of the core's; its state (created here if need be) is updated in place.
    params, grads : arrays (K, P)
        The copies' parameters and gradients, updated in place.
    weight_decay, tolerance, tol : float
    rules : object
        The rules' state arrays (``chainrule.training.rules.Rules``): ``alive``, ``last_good``,
        ``met_at``, ``stalled``, ``plateau`` (``best``, ``ring``, ``age``, ``count``) and
        ``stop`` (``best``, ``best_epoch``, ``improved_at``, ``weights``) or ``None``.
    """

    def __init__(self, net, X: Array, Y: Array, c, validation, batch: int,
                 optimizer: Optimizer, params: Array, grads: Array, weight_decay: float,
                 rules) -> None:
        from . import blas, loop, maths  # Numba is imported here, the first time

        self.loop, self.maths, self.blas_kind = loop, maths, blas.KIND
        self.note = f"Numba {_numba_version()}, {blas.NAME}"
        self.optimizer, self.rules = optimizer, rules
        self.K, self.P = params.shape
        self.L = len(net.sizes) - 1
        self.batch, self.n = batch, X.shape[0]
        self.data = (_data(X), _data(Y), _data(np.zeros(0, params.dtype) if isinstance(c, float)
                                               else c))
        X_val, Y_val = (validation[0], validation[1]) if validation is not None else \
            (X[:0], Y[:0])
        self.validation = (_data(X_val), _data(Y_val))
        self.has_validation = validation is not None
        self.sizes = np.array(net.sizes, np.int64)
        sizes = [n_in * n_out + n_out for n_in, n_out in net.shapes]
        self.offsets = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.acts = np.array([maths.ACTIVATIONS.index(layer.activation.name)
                              for layer in net.layers], np.int64)
        self.loss = maths.LOSSES.index(net.loss_function.name)
        self.params, self.grads = _flat(params), _flat(grads)
        self.state = self._optimizer_state(params)
        self.epoch_start = np.empty_like(self.params)
        self.weight_decay = weight_decay
        self.hyper = np.zeros(14)
        self.settings = np.zeros(13, np.int64)

    def _optimizer_state(self, params: Array) -> tuple[Array, Array, Array]:
        """The optimizer's state arrays as the loop takes them: ``first``, ``second`` (flat,
        ``K P``) and ``steps`` (``K``); empty where the optimizer keeps none."""
        state = self.optimizer.states_for([params])[0]
        for key, value in state.items():  # the loop writes them in place: contiguous
            if not (value.flags.c_contiguous and value.flags.writeable):
                state[key] = np.ascontiguousarray(value).copy()
        none = np.zeros(0, params.dtype)
        names = {SGD: ("v", None, None), Adam: ("m", "v", "t"), RMSprop: ("v", None, None),
                 Rprop: ("previous", "step", None)}[type(self.optimizer)]
        return tuple(_flat(state[name]) if name in state else none for name in names)

    def _start_velocity(self) -> None:
        """SGD's momentum was turned on after the start (by a callback, or on an optimizer
        reused): give it the velocity the loop updates, as the core's step does."""
        params = self.params.reshape(self.K, self.P)
        self.optimizer.states_for([params])[0].setdefault("v", np.zeros_like(params))
        self.state = self._optimizer_state(params)
        self.bind(*self.bound)

    def bind(self, tolerance: float | None, tol: float, check_step: bool, check_epoch: bool,
             auto_stop: bool, window: int, patience: int) -> None:
        """Fix the run's settings and the arguments that stay the same from call to call."""
        self.bound = (tolerance, tol, check_step, check_epoch, auto_stop, window, patience)
        loop, m, s, r = self.loop, self.maths, self.settings, self.rules
        s[loop.BATCH] = self.batch
        s[loop.CHECK_STEP], s[loop.CHECK_EPOCH], s[loop.AUTO_STOP] = \
            check_step, check_epoch, auto_stop
        s[loop.WINDOW], s[loop.VALIDATION] = window, self.has_validation
        s[loop.PATIENCE] = patience if r.stop is not None else 0
        s[loop.OPTIMIZER] = _OPTIMIZERS.index(type(self.optimizer))
        s[loop.LOSS], s[loop.BLAS] = self.loss, self.blas_kind
        self.hyper[loop.DECAY] = self.weight_decay
        self.hyper[loop.TOLERANCE] = -1.0 if tolerance is None else tolerance
        self.hyper[loop.TOL] = tol
        self.names = [(index, name) for index, name in (
            (m.MOMENTUM, "momentum"), (m.NESTEROV, "nesterov"), (m.BETA_1, "beta_1"),
            (m.BETA_2, "beta_2"), (m.EPSILON, "epsilon"), (m.RHO, "rho"),
            (m.ETA_MINUS, "eta_minus"), (m.ETA_PLUS, "eta_plus"), (m.STEP_MIN, "step_min"),
            (m.STEP_MAX, "step_max")) if hasattr(self.optimizer, name)]
        p, stop = r.plateau, r.stop
        stop_arrays = (stop.best, stop.best_epoch, stop.improved_at, _flat(stop.weights)) \
            if stop is not None else (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64),
                                      self.params[:0])
        self.arguments = (  # up to the orders, then from the settings to the records
            (*self.data, *self.validation),
            (self.sizes, self.offsets, self.acts, s, self.hyper, self.params, self.grads,
             *self.state, self.epoch_start, _flat(r.last_good), r.alive, r.met_at, p.best,
             _flat(p.ring), p.age, p.count, *stop_arrays))

    def run(self, first_epoch: int, epochs: int, orders: Array, redraws: int
            ) -> tuple[int, str | None, Array, Array | None, Array]:
        """Train ``epochs`` epochs from ``first_epoch`` (``orders``: each epoch's order of the
        samples, or empty; ``redraws``: copies that may still be drawn again); return the
        epochs run, the reason they stopped (``None``: all done; ``"redraw"``: copies need new
        weights), and their records: losses ``(E, K)``, validation losses ``(E, K)`` and
        squares ``(E, 3, K, L)``."""
        loop, s, K, opt = self.loop, self.settings, self.K, self.optimizer
        if type(opt) is SGD and opt.momentum and not self.state[0].size:
            self._start_velocity()
        s[loop.EPOCHS], s[loop.FIRST_EPOCH], s[loop.REDRAWS] = epochs, first_epoch, redraws
        self.hyper[self.maths.LR] = opt.learning_rate  # (read at every call: a callback may
        for index, name in self.names:  # change the learning rate)
            self.hyper[index] = getattr(opt, name)
        loss = np.empty(epochs * K)  # (the rows of the epochs that run are all written)
        val_loss = np.empty(epochs * K)
        squares = np.empty(epochs * 3 * K * self.L)
        data, state = self.arguments
        done, status = loop.run_epochs(*data, orders, *state, loss, val_loss, squares,
                                       self.rules.stalled)
        reason = None if status == loop.RUNNING else loop.STATUS[status]
        validated = done - (status == loop.DIVERGED)  # (no validation after divergence)
        return (done, reason, loss.reshape(epochs, K)[:done],
                val_loss.reshape(epochs, K)[:validated] if self.has_validation else None,
                squares.reshape(epochs, 3, K, self.L)[:done])


def _data(array: Array) -> Array:
    """Data as the loop reads it: flat and C-ordered, copied only if it is not, or if it is
    read-only (the loop never writes it, but takes one compiled type of array for all)."""
    flat = np.ascontiguousarray(array).reshape(-1)
    return flat if flat.flags.writeable else flat.copy()


def _flat(array: Array) -> Array:
    """``array`` as a flat view (it must be C-contiguous: the loop writes into it)."""
    flat = array.reshape(-1)
    if not np.shares_memory(flat, array) and array.size:
        raise ValueError("the compiled engine needs contiguous arrays")
    return flat


@functools.cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


@functools.cache
def _numba_version() -> str:
    import numba

    return numba.__version__


def estimate_seconds(n: int, parameters: int, copies: int) -> float:
    """A rough time for one epoch, before any was measured: 5 GFLOP/s of 6 n P operations,
    plus 0.2 us per copy."""
    return 6 * n * parameters * copies / 5e9 + 2e-7 * copies

