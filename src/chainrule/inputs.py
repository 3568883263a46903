"""What goes into a network, checked: inputs, targets, sample weights, the inputs' range, and a
user's initial weights.

Bad input raises a ``ValueError`` naming the problem and the fix. The inputs' range is taken in
the same pass that looks for NaN and inf (:func:`column_range`), kept by ``fit`` and compared
with by ``predict`` (:func:`warn_if_outside`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from . import checks

Array = np.ndarray
NOT_FINITE = "X contains NaN or inf; remove or impute those samples"


def input_array(X: Array, n_inputs: int) -> Array:
    """``X`` as a numeric ``(n, n_inputs)`` array with at least one row, or a ValueError."""
    X = checks.numeric_array(X, "X")
    if X.ndim == 1 and n_inputs == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != n_inputs:
        raise ValueError(
            f"X must have shape (n, {n_inputs}) for a network with {n_inputs} inputs, "
            f"got {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError("X has no samples")
    return X


def targets(loss: str, y: Array, n_out: int, dtype: np.dtype) -> Array:
    """``y`` as a float ``(n, n_out)`` array, refusing labels the loss named ``loss`` cannot fit.

    ``y`` of shape ``(n,)`` is one target per sample: for one output it becomes a column, for
    ``cross_entropy`` it holds integer class labels ``0 .. n_out - 1``.
    """
    y = checks.as_array(y, "y")
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"targets must be numeric, got dtype {y.dtype}; encode class labels as "
            "integers 0..n_classes-1"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("targets contain NaN or inf; remove or impute those samples")
    if loss == "cross_entropy":
        return _class_targets(y, n_out, dtype)
    if y.ndim == 1:
        if n_out != 1:
            raise ValueError(
                f"y has shape {y.shape} (one target per sample) but the network has "
                f"{n_out} outputs; pass y of shape (n, {n_out})"
            )
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(
            f"y must have shape (n, {n_out}) for a network with {n_out} outputs, got {y.shape}"
        )
    if loss == "bce" and (y.min() < 0 or y.max() > 1):
        raise ValueError(
            f"loss 'bce' needs targets in [0, 1], got values in [{y.min()}, {y.max()}]; "
            "use loss='cross_entropy' with a softmax output for more than two classes, "
            "or loss='mse' with output_activation='identity' for regression"
        )
    if loss == "poisson" and y.min() < 0:
        raise ValueError(
            f"loss 'poisson' needs non-negative targets (counts or rates), got a minimum of "
            f"{y.min()}; use loss='mse' with output_activation='identity' for targets "
            "that can be negative"
        )
    return checks.cast(y, dtype, "y")


def _class_targets(y: Array, n_out: int, dtype: np.dtype) -> Array:
    """One-hot rows from integer labels, or validated probability rows."""
    if n_out < 2:
        raise ValueError(
            "cross_entropy needs at least 2 outputs (softmax over one output is always 1); "
            "for two classes use one sigmoid output with loss='bce'"
        )
    if y.ndim == 1:
        labels = y
        if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= n_out:
            raise ValueError(
                f"cross_entropy labels must be integers in 0..{n_out - 1} for {n_out} outputs, "
                f"got values in [{labels.min()}, {labels.max()}]"
            )
        return np.eye(n_out, dtype=dtype)[labels.astype(np.intp)]
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(
            f"cross_entropy targets must be labels of shape (n,) or one-hot rows of shape "
            f"(n, {n_out}), got {y.shape}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        if y.min() < 0 or not np.allclose(y.sum(axis=1), 1.0):
            raise ValueError(
                "cross_entropy one-hot targets must be non-negative rows that sum to 1")
    return checks.cast(y, dtype, "y")


def sample_weights(sample_weight: Array | None, n: int, dtype: np.dtype) -> float | Array:
    """Per-sample loss weights ``c`` with ``sum(c) = 1``: ``1/n``, or a ``(n, 1)`` column."""
    if sample_weight is None:
        return 1.0 / n
    w = checks.cast(checks.numeric_array(sample_weight, "sample_weight"), dtype, "sample_weight")
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    w = w / w.max()  # then the sum cannot overflow
    return (w / w.sum())[:, None]


def column_range(X: Array, block: int = 1 << 18) -> tuple[Array, Array]:
    """Minimum and maximum of every column of ``X`` (shape ``(n, d)``), in one pass over it.

    Both reductions run on a block of about ``block`` numbers while it is in cache
    (``X.min(0), X.max(0)`` read ``X`` twice). Inside a block, ``k`` consecutive rows are laid
    side by side (a reshape, free on C-ordered data) so that NumPy reduces a few long rows of
    ``k d`` numbers instead of many short ones, whose per-row overhead dominates narrow data.
    A NaN propagates to both, an inf is one of them: ``fit`` and ``predict`` take the check for
    NaN and inf from this same pass.
    """
    n, d = X.shape
    k = max(1, 4096 // d) if X.flags.c_contiguous else 1  # rows laid side by side
    rows = k * max(1, block // (k * d))  # rows per block
    low = high = None
    for first in range(0, n, rows):
        part = X[first : first + rows]
        whole = part.shape[0] - part.shape[0] % k  # the rows that fill groups of k
        for piece in (part[:whole].reshape(-1, k * d), part[whole:]):  # groups, then the rest
            if piece.size:
                lows = np.minimum.reduce(piece, axis=0).reshape(-1, d).min(0)
                highs = np.maximum.reduce(piece, axis=0).reshape(-1, d).max(0)
                if low is None:
                    low, high = lows, highs
                else:
                    np.minimum(low, lows, out=low)
                    np.maximum(high, highs, out=high)
    return low, high


def warn_if_not_finite(values: Array | list[Array], what: str,
                       X_range: tuple[Array, Array]) -> None:
    """Warn (ours, not NumPy's overflow warning) when ``values`` (an array or a list of them)
    hold inf or NaN."""
    arrays = values if isinstance(values, list) else [values]
    if all(np.isfinite(v).all() for v in arrays):
        return
    dtype = arrays[0].dtype
    largest = float(max(np.abs(X_range[0]).max(), np.abs(X_range[1]).max()))
    warnings.warn(
        f"the {what} hold inf or NaN: the computation overflowed {dtype} (inputs as "
        f"large as {largest:g}); scale the inputs to a few units, as in training",
        checks.NumericalWarning,
        stacklevel=3,
    )


def warn_if_outside(X: Array, X_range: tuple[Array, Array],
                    input_range: tuple[Array, Array] | None) -> None:
    """Warn when inputs (of column range ``X_range``) lie far outside the training range
    ``input_range`` (a scaling step was forgotten?)."""
    if input_range is None:
        return
    low, high = input_range
    # far = more than one training range outside it; a column constant in training is known
    # only to its own order of magnitude
    span = np.where(high > low, high - low, np.maximum(np.abs(low), 1))
    if np.any(X_range[0] < low - span) or np.any(X_range[1] > high + span):  # then find which
        far = (X < low - span) | (X > high + span)
        columns = np.flatnonzero(far.any(axis=0)).tolist()
        j = columns[0]
        warnings.warn(
            f"inputs in column(s) {columns} lie far outside the range seen in training "
            f"(e.g. {X[far[:, j], j][0]:g} in column {j} vs [{low[j]:g}, {high[j]:g}]); were "
            "the inputs scaled for training but not for prediction?",
            UserWarning,
            stacklevel=3,
        )


def float_dtype(dtype: str | np.dtype) -> np.dtype:
    """``dtype`` as float32 or float64, or a ValueError."""
    try:
        checked = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        checked = None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return checked


def per_layer(activation, n_hidden: int) -> list:
    """One activation per hidden layer: the one given for all, or the list of them checked."""
    if isinstance(activation, str) or not isinstance(activation, Sequence):
        return [activation] * n_hidden
    if len(activation) != n_hidden:
        raise ValueError(f"got {len(activation)} hidden activations for {n_hidden} hidden layers")
    return list(activation)


def checked_weights(values, shape: tuple[int, ...], trusted: bool) -> np.ndarray:
    """An initialiser's weights, checked unless it is a built-in one (``trusted``): numbers of
    ``shape``, finite."""
    if trusted:
        return values
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            weights = np.broadcast_to(checks.numeric_array(values, "init's weights"), shape)
    except (ValueError, TypeError) as error:
        raise ValueError(f"init(rng, n_in, n_out, shape) must return numbers of shape {shape}; "
                         f"{error}") from None
    if not np.all(np.isfinite(weights)):
        raise ValueError("init returned NaN or inf initial weights")
    return weights


def warn_if_symmetric(init, stacklevel: int) -> None:
    """Warn that ``init="zeros"`` makes hidden units identical for good."""
    if isinstance(init, str) and init == "zeros":
        warnings.warn(
            "init='zeros': hidden units that start identical get identical gradients and stay "
            "identical, so a layer of them works like a single unit; use init='auto'",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def inputs_and_range(net, X: Array, with_range: bool = True
                     ) -> tuple[Array, tuple[Array, Array] | None]:
    """``X`` checked for ``net`` (a finite ``(n, n_inputs)`` array of its dtype), and each
    column's minimum and maximum, taken in the same pass as the NaN/inf check."""
    X = input_array(X, net.n_inputs)
    if not with_range:
        if not np.all(np.isfinite(X)):
            raise ValueError(NOT_FINITE)
        return checks.cast(X, net.dtype, "X"), None
    low, high = column_range(X)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError(NOT_FINITE)
    return checks.cast(X, net.dtype, "X"), (low.astype(net.dtype), high.astype(net.dtype))


def data_and_range(net, X: Array, y: Array, sample_weight: Array | None = None,
                   with_range: bool = True
                   ) -> tuple[Array, Array, float | Array, tuple[Array, Array] | None]:
    """Checked ``(X, Y, c)`` for ``net``: inputs, ``(n, n_out)`` targets (as its loss takes
    them) and per-sample loss weights; and the inputs' range, as :func:`inputs_and_range`."""
    X, input_range = inputs_and_range(net, X, with_range)
    Y = net.loss_function.prepare_targets(y, net.n_outputs, net.dtype)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {Y.shape[0]}")
    return X, Y, sample_weights(sample_weight, X.shape[0], net.dtype), input_range
