"""The core's maths, compiled: activations, losses, forward and backward passes, optimizer steps.

Every function here computes what its namesake in :mod:`chainrule.core` computes (the formulas
are in the core's docstrings), for one copy of the network. Matrices are row-major blocks of
flat arrays, named by the array and the offset where they start:

* ``params[p0:]`` holds a copy's parameters as the core's buffer does (``W_1`` row by row, then
  ``b_1``, then ``W_2``, ...); ``offsets[l]`` is where ``W_l`` starts;
* a batch's ``Z_l`` and ``A_l`` live in one flat scratch array each, layer ``l`` from
  ``rows_max * before[l]`` (``before[l]``: the units of the layers before it);
* activations, losses and optimizers are small integer codes (``ACTIVATIONS``, ``LOSSES``,
  ``OPTIMIZERS``), branched on once per array, not per number.

No views are made: a tiny network's step is a few hundred multiply-adds, and each NumPy-style
view would cost as much as dozens of them. Speed without changing the maths: the sigmoid,
softmax and exponential use :func:`fast_exp`, an ``exp`` within 1 ulp that the compiler can
vectorise (the C library's cannot be); products of matrices go through
:func:`chainrule.engine.blas.gemm`, which adds ``A W`` onto the bias rows in one call.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .blas import gemm
from .caching import key_by_all_files

# codes: the position of the name is the code
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "exp", "identity",
               "softmax")
SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SOFTPLUS, EXP, IDENTITY, SOFTMAX = range(9)
LOSSES = ("mse", "bce", "cross_entropy", "poisson")
MSE, BCE, CROSS_ENTROPY, POISSON = range(4)
OPTIMIZERS = ("SGD", "Adam", "RMSprop", "Rprop")
SGD, ADAM, RMSPROP, RPROP = range(4)
# the optimizers' hyper-parameters, in the array ``hyper``
LR, MOMENTUM, NESTEROV, BETA_1, BETA_2, EPSILON, RHO, ETA_MINUS, ETA_PLUS, STEP_MIN, STEP_MAX = \
    range(11)

LEAKY_SLOPE = 0.01
# compiled once per float type and cached on disk; NumPy's rules for 1/0 (inf, no exception);
# a * b + c may be one fused multiply-add; these functions allocate nothing (no reference counts)
JIT = dict(cache=True, error_model="numpy", fastmath={"contract"}, nogil=True, _nrt=False)


# False, True and 0 read from arrays, as values known only at run time: a function called with
# them is compiled once, not once for each constant passed to it (Numba specialises on those)
_FLAGS = np.array([False, True])
START = np.zeros(1, np.int64)


# -- exp, vectorisable ----------------------------------------------------------------------------
@intrinsic
def _float_bits(typingctx, x):
    """The bits of a float64, as an int64."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, x):
    """The float64 whose bits are the int64 ``x``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts, so that n ln 2 is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer, kept in the low bits


_LOWEST = -708.3964185322641  # log of the smallest normal float64: below it, 0
_HIGHEST = 709.782712893384  # log of the largest float64: above it, inf


@njit(**JIT)
def fast_exp(x):
    """``exp(x)`` in float64, within 1 ulp; 0 below ``log`` of the smallest normal number (where
    ``exp`` is subnormal, below ``2.2e-308``: no slow subnormal arithmetic), inf above 709.78,
    NaN kept.

    ``x = n ln 2 + r`` with ``|r| <= ln 2 / 2``; ``exp(r)`` by its Taylor series to ``r^13``
    (error below 2e-17); ``2^n`` built from its bits, in two factors so that ``n = 1024`` (at the
    top of the range) stays finite until the product.
    """
    x = np.float64(x)
    y = _LOWEST if x < _LOWEST else (_HIGHEST if x > _HIGHEST else x)  # (NaN stays NaN)
    t = y * _INV_LN2 + _SHIFT
    n = t - _SHIFT
    r = (y - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (
        1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (
            1 / 3628800 + r * (1 / 39916800 + r * (1 / 479001600 + r / 6227020800))))))))))))
    k = _float_bits(t) - _float_bits(_SHIFT)  # n, as an integer
    half = k >> 1
    e = p * _bits_float((half + 1023) << 52) * _bits_float((k - half + 1023) << 52)
    return 0.0 if x < _LOWEST else (np.inf if x > _HIGHEST else e)


@njit(**JIT, inline="always")
def fast_expm1(x):
    """``exp(x) - 1`` within a few ulp, vectorisable: by its Taylor series ``x + x^2/2 + ...``
    (to ``x^14``) where ``|x| < ln 2 / 2`` and it would cancel, else ``fast_exp(x) - 1``."""
    x = np.float64(x)
    small = x * (1.0 + x * (0.5 + x * (1 / 6 + x * (1 / 24 + x * (1 / 120 + x * (1 / 720 + x * (
        1 / 5040 + x * (1 / 40320 + x * (1 / 362880 + x * (1 / 3628800 + x * (
            1 / 39916800 + x * (1 / 479001600 + x * (1 / 6227020800 + x / 87178291200)))))))))))))
    return small if abs(x) < 0.34657359027997264 else fast_exp(x) - 1.0


@njit(**JIT, inline="always")
def fast_tanh(x):
    """``tanh(x) = e / (e + 2)`` with ``e = exp(2x) - 1``, within a few ulp, vectorisable (the C
    library's ``tanh`` is not: 10-20x slower per number); ``+-1`` beyond ``|x| = 20``."""
    x = np.float64(x)
    y = -20.0 if x < -20.0 else (20.0 if x > 20.0 else x)  # (NaN stays NaN)
    e = fast_expm1(2.0 * y)
    return e / (e + 2.0)


_SQRT2 = 1.4142135623730951
_MANTISSA = (1 << 52) - 1


@njit(**JIT, inline="always")
def fast_log(x):
    """``log(x)`` within a few ulp, vectorisable, for normal (not subnormal) ``x``; ``-inf`` at 0,
    ``inf`` at inf, NaN for NaN and negative ``x``.

    ``x = 2^k m`` with ``m`` in ``[sqrt(2)/2, sqrt(2))``, taken from the bits;
    ``log m = 2 atanh(s)`` with ``s = (m - 1)/(m + 1)``, ``|s| <= 0.172``, by its series to
    ``s^25``.
    """
    bits = _float_bits(np.float64(x))
    k = ((bits >> 52) & 0x7FF) - 1023
    m = _bits_float((bits & _MANTISSA) | (1023 << 52))  # in [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    k = k + 1 if big else k
    s = (m - 1.0) / (m + 1.0)
    t = s * s
    series = 1.0 + t * (1 / 3 + t * (1 / 5 + t * (1 / 7 + t * (1 / 9 + t * (1 / 11 + t * (
        1 / 13 + t * (1 / 15 + t * (1 / 17 + t * (1 / 19 + t * (1 / 21 + t * (
            1 / 23 + t / 25)))))))))))
    r = k * _LN2_HI + (2.0 * s * series + k * _LN2_LO)
    r = r if x < np.inf else x  # (inf, and NaN)
    r = -np.inf if x == 0.0 else r
    return np.nan if x < 0.0 else r


@njit(**JIT, inline="always")
def fast_log1p(e):
    """``log(1 + e)`` for ``e >= 0``, within a few ulp: ``log(u)`` of ``u = 1 + e`` rounded,
    corrected by what the rounding lost, ``(e - (u - 1)) / u`` (nothing at ``e = inf``)."""
    u = 1.0 + e
    return fast_log(u) + ((e - (u - 1.0)) / u if u < np.inf else 0.0)


# -- activations ----------------------------------------------------------------------------------
@njit(**JIT)
def activate(code, Z, A, start, rows, cols):
    """``A = f(Z)`` on the ``(rows, cols)`` block from ``start`` of both (rows: samples)."""
    z, a = Z[start : start + rows * cols], A[start : start + rows * cols]
    if code == SIGMOID:
        for i in range(z.size):
            a[i] = 1.0 / (1.0 + fast_exp(-z[i]))
    elif code == TANH:
        for i in range(z.size):
            a[i] = fast_tanh(z[i])
    elif code == RELU:
        for i in range(z.size):
            a[i] = z[i] if not z[i] <= 0.0 else 0.0  # (NaN stays NaN, as with np.maximum)
    elif code == LEAKY_RELU:
        for i in range(z.size):
            a[i] = z[i] if z[i] > 0.0 else LEAKY_SLOPE * z[i]
    elif code == ELU:
        for i in range(z.size):
            a[i] = z[i] if z[i] > 0.0 else fast_expm1(z[i])
    elif code == SOFTPLUS:
        for i in range(z.size):
            a[i] = max(z[i], 0.0) + fast_log1p(fast_exp(-abs(z[i])))
    elif code == EXP:
        for i in range(z.size):
            a[i] = fast_exp(z[i])
    elif code == IDENTITY:
        for i in range(z.size):
            a[i] = z[i]
    else:  # softmax over each row, shifted by the row's maximum
        for row in range(rows):
            zr, ar = z[row * cols : (row + 1) * cols], a[row * cols : (row + 1) * cols]
            top = zr[0]
            for j in range(1, cols):
                top = max(top, zr[j])
            total = 0.0
            for j in range(cols):
                ar[j] = fast_exp(zr[j] - top)
                total += ar[j]
            for j in range(cols):
                ar[j] = ar[j] / total


@njit(**JIT)
def times_derivative(code, Z, A, start, D, d, rows, cols):
    """``D = D * f'(Z)`` (with ``A = f(Z)``; ``D`` from ``d``, ``Z`` and ``A`` from ``start``):
    a hidden layer's error from the gradient of its output."""
    size = rows * cols
    z, a, e = Z[start : start + size], A[start : start + size], D[d : d + size]
    if code == SIGMOID:
        for i in range(size):
            e[i] = e[i] * ((1.0 - a[i]) * a[i])
    elif code == TANH:
        for i in range(size):
            e[i] = e[i] * (1.0 - a[i] * a[i])
    elif code == RELU:
        for i in range(size):
            e[i] = e[i] * (1.0 if z[i] > 0.0 else 0.0)
    elif code == LEAKY_RELU:
        for i in range(size):
            e[i] = e[i] * (1.0 if z[i] > 0.0 else LEAKY_SLOPE)
    elif code == ELU:
        for i in range(size):
            e[i] = e[i] * (1.0 if z[i] > 0.0 else a[i] + 1.0)
    elif code == SOFTPLUS:
        for i in range(size):
            e[i] = e[i] * (1.0 / (1.0 + fast_exp(-z[i])))
    elif code == EXP:
        for i in range(size):
            e[i] = e[i] * a[i]
    elif code == SOFTMAX:  # not elementwise: the Jacobian-vector product A * (D - sum_k D_k A_k)
        for row in range(rows):
            ar, er = a[row * cols : (row + 1) * cols], e[row * cols : (row + 1) * cols]
            total = 0.0
            for j in range(cols):
                total += er[j] * ar[j]
            for j in range(cols):
                er[j] = ar[j] * (er[j] - total)


# -- losses ---------------------------------------------------------------------------------------
@njit(**JIT)
def loss_and_error(loss, output, Z, A, start, Y, y, rows, m, c, weights, w, D):
    """The loss of one copy on a batch, and (with ``D``) its output error ``dZ_L`` into ``D``.

    ``Z`` and ``A`` from ``start``, the targets ``Y`` from ``y``, both ``(rows, m)``; sample
    ``i`` weighs ``weights[w + i]``, or ``c`` when ``weights`` is empty. ``D`` empty: the value
    only.
    """
    error = D.size > 0
    if error and not weights.size and loss != CROSS_ENTROPY:
        return _plain_mean(loss, output, Z, A, start, Y, y, rows, m, c, D)
    value = 0.0
    tiny = np.finfo(Y.dtype).tiny
    for i in range(rows):
        ci = weights[w + i] if weights.size else c
        z0, y0 = start + i * m, y + i * m
        row = 0.0
        if loss == MSE:
            for j in range(m):
                diff = A[z0 + j] - Y[y0 + j]
                row += diff * diff
                if error:
                    D[i * m + j] = diff * (2.0 * ci / m)
            row = row / m
        elif loss == BCE:  # -y log s(z) - (1-y) log(1-s(z)) = max(z, 0) - z y + log(1 + e^-|z|)
            for j in range(m):
                z = np.float64(Z[z0 + j])
                row += max(z, 0.0) - z * Y[y0 + j] + fast_log1p(fast_exp(-abs(z)))
                if error:
                    D[i * m + j] = (A[z0 + j] - Y[y0 + j]) * (ci / m)
            row = row / m
        elif loss == POISSON:  # a - y log a, with log a = z
            for j in range(m):
                row += A[z0 + j] - Y[y0 + j] * np.float64(Z[z0 + j])
                if error:
                    D[i * m + j] = (A[z0 + j] - Y[y0 + j]) * (ci / m)
            row = row / m
        else:  # cross_entropy: -sum_k y log a; where an a underflowed, logsumexp(z) - z
            lse = np.nan
            for j in range(m):
                if Y[y0 + j] != 0.0:
                    if A[z0 + j] > tiny:
                        row -= Y[y0 + j] * fast_log(A[z0 + j])
                    else:
                        if lse != lse:
                            top = Z[z0]
                            for q in range(1, m):
                                top = max(top, Z[z0 + q])
                            total = 0.0
                            for q in range(m):
                                total += fast_exp(Z[z0 + q] - top)
                            lse = top + fast_log(total)
                        row += Y[y0 + j] * (lse - Z[z0 + j])
                elif not abs(Z[z0 + j]) < np.inf:  # the core's 0 (lse - z): NaN, as it
                    row = np.nan  # is where z is -inf, +inf or NaN (then: diverged)
                if error:
                    D[i * m + j] = (A[z0 + j] - Y[y0 + j]) * ci
        value += ci * row
    if error and loss == MSE:
        times_derivative(output, Z, A, start, D, START[0], rows, m)
    return value


@njit(**JIT)
def _plain_mean(loss, output, Z, A, start, Y, y, rows, m, c, D):
    """:func:`loss_and_error` of ``mse``, ``bce`` and ``poisson`` with every sample weighing
    ``c``: each number's term written into ``D`` first, in one loop the compiler vectorises
    (the ``exp`` and ``log`` of ``bce``), then summed, then ``D`` turned into the error."""
    size = rows * m
    a, t, z, d = A[start : start + size], Y[y : y + size], Z[start : start + size], D[:size]
    if loss == MSE:
        for i in range(size):
            d[i] = a[i] - t[i]
        value = 0.0
        for i in range(size):
            value += d[i] * d[i]
        for i in range(size):
            d[i] = d[i] * (2.0 * c / m)
        times_derivative(output, Z, A, start, D, START[0], rows, m)
        return value * c / m
    if loss == BCE:  # -y log s(z) - (1-y) log(1-s(z)) = max(z, 0) - z y + log(1 + e^-|z|)
        for i in range(size):
            zi = np.float64(z[i])
            d[i] = max(zi, 0.0) - zi * t[i] + fast_log1p(fast_exp(-abs(zi)))
    else:  # poisson: a - y log a, with log a = z
        for i in range(size):
            d[i] = a[i] - t[i] * np.float64(z[i])
    value = 0.0
    for i in range(size):
        value += d[i]
    for i in range(size):
        d[i] = (a[i] - t[i]) * (c / m)
    return value * c / m


@njit(**JIT)
def targets_met(A, start, Y, y, size, tolerance):
    """Whether each of ``size`` outputs is within ``tolerance`` of its target (NaN never is)."""
    a, t = A[start : start + size], Y[y : y + size]
    met = True
    for i in range(size):
        met = met and abs(a[i] - t[i]) < tolerance
    return met


# -- one copy: forward and backward ---------------------------------------------------------------
@njit(**JIT)
def forward(blas, params, p0, X, x0, rows, sizes, offsets, acts, Zs, As, rows_max):
    """``Z_l = A_{l-1} W_l + b_l``, ``A_l = f_l(Z_l)`` for every layer of the copy whose
    parameters start at ``params[p0]``, on ``rows`` samples from ``X[x0]``. Returns where the
    output layer's block starts."""
    A, a = X, x0
    before = 0
    for layer in range(sizes.size - 1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        w = p0 + offsets[layer]
        b = w + n_in * n_out
        z = rows_max * before
        bias = params[b : b + n_out]
        for i in range(rows):
            row = Zs[z + i * n_out : z + (i + 1) * n_out]
            for j in range(n_out):
                row[j] = bias[j]
        gemm(blas, _FLAGS[0], _FLAGS[0], rows, n_out, n_in, 1.0, A, a, params, w, 1.0, Zs, z)
        activate(acts[layer], Zs, As, z, rows, n_out)
        A, a = As, z
        before += n_out
    return rows_max * (before - sizes[sizes.size - 1])


@njit(**JIT)
def backward(blas, params, grads, p0, X, x0, rows, D, E, sizes, offsets, acts, Zs, As,
             rows_max, step):
    """``dW_l = A_{l-1}^T dZ_l``, ``db_l = sum_i dZ_l``, ``dZ_{l-1} = (dZ_l W_l^T) *
    f'(Z_{l-1})`` into ``grads`` (from ``p0``), from the output error in ``D``; ``E`` is scratch
    of ``D``'s size.

    With ``step > 0`` (plain SGD, when nothing reads the gradients) each layer is updated as
    soon as its error has been carried back through it: ``W_l -= step A_{l-1}^T dZ_l`` in the
    product itself (BLAS ``gemm`` adds to ``W``), and ``b_l -= step sum_i dZ_l``; ``grads`` is
    left as it was. A pass over the parameters saved: the update of a large network is memory's
    speed, not arithmetic's.
    """
    L = sizes.size - 1
    before = 0
    for layer in range(L):
        before += sizes[layer + 1]
    for layer in range(L - 1, -1, -1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        w = p0 + offsets[layer]
        b = w + n_in * n_out
        before -= n_out
        if layer > 0:
            A, a = As, rows_max * (before - n_in)
            gemm(blas, _FLAGS[0], _FLAGS[1], rows, n_in, n_out, 1.0, D, START[0], params, w, 0.0,
                 E, START[0])  # dZ W^T, with W as it was in the forward pass
            times_derivative(acts[layer - 1], Zs, As, a, E, START[0], rows, n_in)
        else:
            A, a = X, x0
        if step > 0.0:
            gemm(blas, _FLAGS[1], _FLAGS[0], n_in, n_out, rows, -step, A, a, D, START[0], 1.0,
                 params, w)
            db, scale = params[b : b + n_out], -step
        else:
            gemm(blas, _FLAGS[1], _FLAGS[0], n_in, n_out, rows, 1.0, A, a, D, START[0], 0.0,
                 grads, w)
            db, scale = grads[b : b + n_out], 1.0
            for j in range(n_out):
                db[j] = 0.0
        for i in range(rows):
            row = D[i * n_out : (i + 1) * n_out]
            for j in range(n_out):
                db[j] += scale * row[j]
        D, E = E, D


@njit(**JIT)
def decay_weights(params, grads, p0, sizes, offsets, decay):
    """L2 penalty on the weights (not the biases): ``dW += decay W``; returns
    ``decay / 2 sum W^2``."""
    penalty = 0.0
    for layer in range(sizes.size - 1):
        start = p0 + offsets[layer]
        end = start + sizes[layer] * sizes[layer + 1]
        w, g = params[start:end], grads[start:end]
        for i in range(w.size):
            g[i] += decay * w[i]
            penalty += decay * w[i] * w[i]
    return 0.5 * penalty


# -- optimizers -----------------------------------------------------------------------------------
@njit(**JIT)
def update(optimizer, hyper, params, grads, first, second, steps, k, P):
    """One step of the optimizer on copy ``k`` (``P`` parameters from ``k P``; core
    ``optimizers``). Its state: SGD's velocity in ``first``; Adam's moments in ``first`` and
    ``second`` and its step count in ``steps``; RMSprop's square average in ``first``; Rprop's
    previous gradient in ``first`` and its step sizes in ``second``."""
    lr = hyper[LR]
    p, g = params[k * P : (k + 1) * P], grads[k * P : (k + 1) * P]
    s1 = first[k * P : (k + 1) * P] if first.size else first
    s2 = second[k * P : (k + 1) * P] if second.size else second
    if optimizer == SGD:
        momentum = hyper[MOMENTUM]
        if momentum == 0.0:
            for i in range(P):
                p[i] -= g[i] * lr
        elif hyper[NESTEROV] != 0.0:
            for i in range(P):
                s1[i] = s1[i] * momentum + g[i]
                p[i] -= (g[i] + s1[i] * momentum) * lr
        else:
            for i in range(P):
                s1[i] = s1[i] * momentum + g[i]
                p[i] -= s1[i] * lr
    elif optimizer == ADAM:
        beta_1, beta_2, epsilon = hyper[BETA_1], hyper[BETA_2], hyper[EPSILON]
        steps[k] += 1
        t = steps[k]
        correction = 1.0 / (1.0 - beta_2**t)  # (a product per number, not a division)
        scale = lr / (1.0 - beta_1**t)
        for i in range(P):
            s1[i] = s1[i] * beta_1 + g[i] * (1.0 - beta_1)
            s2[i] = s2[i] * beta_2 + (g[i] * g[i]) * (1.0 - beta_2)
            p[i] -= s1[i] / (math.sqrt(s2[i] * correction) + epsilon) * scale
    elif optimizer == RMSPROP:
        rho, epsilon = hyper[RHO], hyper[EPSILON]
        for i in range(P):
            s1[i] = s1[i] * rho + (g[i] * g[i]) * (1.0 - rho)
            p[i] -= g[i] / (math.sqrt(s1[i]) + epsilon) * lr
    else:  # Rprop (iRprop-)
        eta_minus, eta_plus = hyper[ETA_MINUS], hyper[ETA_PLUS]
        step_min, step_max = hyper[STEP_MIN], hyper[STEP_MAX]
        for i in range(P):
            agreement = g[i] * s1[i]
            factor = eta_plus if agreement > 0.0 else (eta_minus if agreement < 0.0 else 1.0)
            s2[i] = min(max(s2[i] * factor, step_min), step_max)
            gi = 0.0 if agreement < 0.0 else g[i]
            p[i] -= (1.0 if gi > 0.0 else (-1.0 if gi < 0.0 else gi)) * s2[i]
            s1[i] = gi


key_by_all_files(globals())  # (before any function here runs)
