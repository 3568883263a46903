"""The compiled training loop: many epochs of every copy, with the stopping rules, in one call.

:func:`run_epochs` does what :func:`chainrule.training.fit` does epoch by epoch on the NumPy
path, in the same order (see :mod:`chainrule.training.rules` for each rule):

1. each batch: forward, loss and backward for every copy, then the optimizer's step (full batch,
   with the targets checked: no step once a copy meets them);
2. the epoch's records: each copy's loss and, per layer, ``||dW||^2`` of the last step,
   ``||W_end - W_start||^2`` and ``||W_start||^2``;
3. divergence: copies whose loss is not finite stop counting as alive; the others keep the
   start of this epoch as their last good weights;
4. the targets checked on all the data (mini-batches), the validation loss and the validation
   stopping rule, then the plateau rule.

It returns the epochs run and why it stopped (``STATUS``). Copies that need new random weights
(``REDRAW``) send it back to Python, which draws them and calls it again; so do callbacks, after
every epoch.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .caching import key_by_all_files
from .maths import (
    LR,
    MOMENTUM,
    SGD,
    START,
    backward,
    decay_weights,
    forward,
    loss_and_error,
    targets_met,
    update,
)

JIT = dict(cache=True, error_model="numpy", fastmath={"contract"}, nogil=True)
STATUS = ("running", "targets met", "converged", "early stopping", "diverged", "redraw")
RUNNING, TARGETS_MET, CONVERGED, EARLY_STOPPING, DIVERGED, REDRAW = range(6)
# the integer settings, in the array ``settings``
(BATCH, EPOCHS, FIRST_EPOCH, CHECK_STEP, CHECK_EPOCH, AUTO_STOP, WINDOW, PATIENCE, REDRAWS,
 VALIDATION, OPTIMIZER, LOSS, BLAS) = range(13)
# the real-valued settings, after the optimizer's in ``hyper``
DECAY, TOLERANCE, TOL = 11, 12, 13


@njit(**JIT)
def _nan_min(a, b):
    """``np.minimum``: NaN if either is NaN."""
    return a if (a <= b or a != a) else b


FLAT = dict(JIT, _nrt=False)  # (helpers that allocate nothing)


@njit(**FLAT)
def _copy(source, target, start, size):
    """``target[start:start + size] = source[start:start + size]``."""
    s, t = source[start : start + size], target[start : start + size]
    for i in range(size):
        t[i] = s[i]


@njit(**FLAT)
def _squares(params, grads, epoch_start, start, size):
    """``||dW||^2``, ``||W - W_start||^2`` and ``||W_start||^2`` over ``size`` weights."""
    p, g, w = (params[start : start + size], grads[start : start + size],
               epoch_start[start : start + size])
    g2 = d2 = w2 = 0.0
    for i in range(size):
        change = p[i] - w[i]
        g2 += g[i] * g[i]
        d2 += change * change
        w2 += w[i] * w[i]
    return g2, d2, w2


@njit(**FLAT)
def _gather(X, Xb, order, e, start, rows, d):
    """Rows ``order[e n + start + i]`` (or ``start + i`` without an order) of ``X`` into ``Xb``."""
    n = X.size // d
    for i in range(rows):
        r = order[e * n + start + i] if order.size else start + i
        source, target = X[r * d : (r + 1) * d], Xb[i * d : (i + 1) * d]
        for j in range(d):
            target[j] = source[j]


@njit(**JIT)
def _evaluate(blas, loss, params, P, X, Y, n, chunk, sizes, offsets, acts, Zs, As, rows_max,
              weights, tolerance, values, met):
    """Loss of every copy on the ``n`` samples ``(X, Y)`` into ``values``, ``chunk`` rows at a
    time, and with ``tolerance > 0`` whether each copy meets the targets into ``met``
    (training's ``evaluate``)."""
    d, m = sizes[0], sizes[sizes.size - 1]
    no_error = Zs[:0]
    for k in range(values.size):
        values[k] = 0.0
        met[k] = True
        for first in range(0, n, chunk):
            rows = min(chunk, n - first)
            out = forward(blas, params, k * P, X, first * d, rows, sizes, offsets, acts, Zs,
                          As, rows_max)
            values[k] += loss_and_error(loss, acts[acts.size - 1], Zs, As, out, Y, first * m,
                                        rows, m, 1.0 / n, weights, first, no_error)
            if tolerance > 0.0 and met[k]:
                met[k] = targets_met(As, out, Y, first * m, rows * m, tolerance)


@njit(**JIT)
def run_epochs(X, Y, weights, X_val, Y_val, orders, sizes, offsets, acts, settings, hyper,
               params, grads, first, second, steps, epoch_start, last_good, alive, met_at,
               plateau_best, plateau_ring, plateau_age, plateau_count,
               val_best, val_best_epoch, val_improved_at, val_weights,
               loss_out, val_out, squares_out, stalled):
    """Train every copy for up to ``settings[EPOCHS]`` epochs; return ``(epochs run, status)``.

    Arrays are flat: the data ``X`` ``(n, d)`` and ``Y`` ``(n, m)``; the parameters, gradients
    and every per-parameter state ``(K, P)``. ``weights`` holds the samples' loss weights
    (summing to 1), or nothing for the plain mean; ``orders`` each epoch's order of the samples
    for mini-batches (nothing: in order). All state is updated in place: the optimizer's
    (``first``, ``second``, ``steps``), the divergence guard's (``epoch_start``, ``last_good``,
    ``alive``), the targets' (``met_at``), the plateau rule's and the validation rule's. Epoch
    ``e`` of the call writes row ``e`` of ``loss_out``, ``val_out`` and ``squares_out``.
    """
    K = alive.size
    P = params.size // K
    L = sizes.size - 1
    d, m = sizes[0], sizes[L]
    n, n_val = X.size // d, X_val.size // d
    batch, epochs, epoch_0 = settings[BATCH], settings[EPOCHS], settings[FIRST_EPOCH]
    blas, optimizer, loss = settings[BLAS], settings[OPTIMIZER], settings[LOSS]
    window, patience, redraws = settings[WINDOW], settings[PATIENCE], settings[REDRAWS]
    decay, tolerance, tol = hyper[DECAY], hyper[TOLERANCE], hyper[TOL]
    units = widest = 0
    for layer in range(L):
        units += sizes[layer + 1]
        widest = max(widest, sizes[layer + 1], sizes[layer])
    rows_max = min(batch, max(n, n_val))
    Zs = np.empty(rows_max * units, params.dtype)
    As = np.empty(rows_max * units, params.dtype)
    D = np.empty(rows_max * widest, params.dtype)
    E = np.empty(rows_max * widest, params.dtype)
    rows_batch = min(batch, n)
    Xb = np.empty(rows_batch * d, X.dtype)
    Yb = np.empty(rows_batch * m, Y.dtype)
    wb = np.empty(rows_batch if weights.size else 0, weights.dtype)
    no_weights = weights[:0]
    losses = np.zeros(K)
    values = np.zeros(K)
    met = np.zeros(K, np.bool_)
    plain_sgd = optimizer == SGD and hyper[MOMENTUM] == 0.0 and decay == 0.0

    for e in range(epochs):
        epoch = epoch_0 + e
        _copy(params, epoch_start, START[0], K * P)
        # 1. the batches
        if batch >= n:  # full batch: every copy's step, unless one meets the targets
            any_met = False
            for k in range(K):
                out = forward(blas, params, k * P, X, START[0], n, sizes, offsets, acts, Zs, As,
                              rows_max)
                losses[k] = loss_and_error(loss, acts[L - 1], Zs, As, out, Y, START[0], n, m,
                                           1.0 / n, weights, START[0], D)
                backward(blas, params, grads, k * P, X, START[0], n, D, E, sizes, offsets, acts, Zs,
                         As, rows_max, 0.0)
                if decay != 0.0:
                    losses[k] += decay_weights(params, grads, k * P, sizes, offsets, decay)
                met[k] = settings[CHECK_STEP] != 0 and targets_met(As, out, Y, START[0], n * m,
                                                                   tolerance)
                any_met = any_met or met[k]
            for k in range(K):
                if any_met and met[k] and met_at[k] < 0:
                    met_at[k] = epoch
                elif not any_met:
                    update(optimizer, hyper, params, grads, first, second, steps, k, P)
        else:  # mini-batches, each renormalising its samples' weights
            for k in range(K):
                losses[k] = 0.0
            for start in range(0, n, batch):
                rows = min(batch, n - start)
                _gather(X, Xb, orders, e, start, rows, d)
                _gather(Y, Yb, orders, e, start, rows, m)
                total = 0.0
                if weights.size:
                    _gather(weights, wb, orders, e, start, rows, 1)
                    for i in range(rows):
                        total += wb[i]
                if total > 0.0:
                    for i in range(rows):
                        wb[i] = wb[i] / total
                # plain SGD updates in the backward pass, but for the last step of the epoch,
                # whose gradients the records and callbacks read
                fused = hyper[LR] if (plain_sgd and start + batch < n) else 0.0
                for k in range(K):
                    out = forward(blas, params, k * P, Xb, START[0], rows, sizes, offsets, acts, Zs,
                                  As, rows_max)
                    value = loss_and_error(loss, acts[L - 1], Zs, As, out, Yb, START[0], rows, m,
                                           1.0 / rows, wb, START[0], D)
                    backward(blas, params, grads, k * P, Xb, START[0], rows, D, E, sizes, offsets,
                             acts, Zs, As, rows_max, fused)
                    if decay != 0.0:
                        value += decay_weights(params, grads, k * P, sizes, offsets, decay)
                    losses[k] += value * (rows / n)
                for k in range(K):
                    if fused == 0.0:
                        update(optimizer, hyper, params, grads, first, second, steps, k, P)
        # 2. the records
        for k in range(K):
            loss_out[e * K + k] = losses[k]
            for layer in range(L):
                g2, d2, w2 = _squares(params, grads, epoch_start, k * P + offsets[layer],
                                      sizes[layer] * sizes[layer + 1])
                at = ((e * 3) * K + k) * L + layer
                squares_out[at] = g2
                squares_out[at + K * L] = d2
                squares_out[at + 2 * K * L] = w2
        # 3. divergence
        any_alive = False
        for k in range(K):
            if not np.isfinite(losses[k]):
                alive[k] = False
            if alive[k]:
                _copy(epoch_start, last_good, k * P, P)
                any_alive = True
        if not any_alive:
            return e + 1, DIVERGED
        # 4. targets on all the data, validation, plateau
        if settings[CHECK_EPOCH]:
            _evaluate(blas, loss, params, P, X, Y, n, batch, sizes, offsets, acts, Zs, As,
                      rows_max, weights, tolerance, values, met)
            for k in range(K):
                if met[k] and met_at[k] < 0:
                    met_at[k] = epoch
        if settings[VALIDATION]:
            _evaluate(blas, loss, params, P, X_val, Y_val, n_val, batch, sizes, offsets, acts,
                      Zs, As, rows_max, no_weights, 0.0, values, met)
            out_of_patience = True
            for k in range(K):
                val_out[e * K + k] = values[k]
                if patience == 0:
                    continue
                if values[k] < val_best[k]:  # (NaN never is)
                    gain = val_best[k] - values[k]
                    if gain == np.inf or gain > tol * max(1.0, val_best[k]):
                        val_improved_at[k] = epoch
                    val_best[k] = values[k]
                    val_best_epoch[k] = epoch
                    _copy(params, val_weights, k * P, P)
                if epoch - val_improved_at[k] < patience:
                    out_of_patience = False
            if patience > 0 and out_of_patience:
                return e + 1, EARLY_STOPPING
        if settings[CHECK_STEP] or settings[CHECK_EPOCH]:
            for k in range(K):
                if met_at[k] >= 0:
                    return e + 1, TARGETS_MET
        if settings[AUTO_STOP]:
            slot = plateau_count[0] % (window + 1)
            then_slot = (slot + 1) % (window + 1)
            plateau_count[0] += 1
            any_stuck = False
            all_stalled = True
            for k in range(K):
                plateau_best[k] = _nan_min(plateau_best[k], losses[k])
                plateau_ring[slot * K + k] = plateau_best[k]
                then = plateau_ring[then_slot * K + k]
                plateau_age[k] += 1
                stalled[k] = plateau_age[k] > window and (
                    then - plateau_best[k] < tol * (then if then > 1.0 or then != then else 1.0))
                any_stuck = any_stuck or stalled[k] or not alive[k]
                if alive[k] and not stalled[k]:
                    all_stalled = False
            if redraws > 0 and any_stuck:
                return e + 1, REDRAW
            if all_stalled:
                return e + 1, CONVERGED
    return epochs, RUNNING


key_by_all_files(globals())  # (before any function here runs)
