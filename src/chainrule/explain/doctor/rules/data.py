"""Rules about the data: targets the output cannot reach, a loss that does not fit them,
inputs and targets far from unit scale, nothing to learn."""

from __future__ import annotations

import numpy as np

from ..case import Case
from . import rule

Array = np.ndarray
OUTPUT_RANGES = {  # output activation -> (low, high) it can reach (closed, for the check)
    "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0),
    "relu": (0.0, np.inf), "softplus": (0.0, np.inf), "elu": (-1.0, np.inf),
}
UNBOUNDED = ("identity", "relu", "leaky_relu", "elu", "softplus")
REGRESSION_VALUES = 10  # more distinct target values than this "look like regression"
UNSCALED_RMS = 4.0  # sqrt(mean^2 + std^2) of a feature above which it is unscaled
UNSCALED_OFFSET = 10.0  # |mean| / std above which a feature is far from zero mean
UNSCALED_TARGETS = 10.0  # rms of a regression target column above which it is unscaled
TINY_SCALE = 0.01


def _raw_targets(case: Case) -> Array | None:
    """``y`` as a float ``(n, n_out)`` array for the range check, or None if unusable."""
    y = np.asarray(case.y_raw)
    if y.dtype.kind not in "biuf" or case.loss_name == "cross_entropy":
        return None
    n_out = case.sizes[-1]
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_out or not np.isfinite(y).all():
        return None
    return y.astype(np.float64)


def looks_like_regression(y: Array) -> bool:
    values = np.unique(y)
    return values.size > REGRESSION_VALUES and not np.isin(values, (0.0, 1.0)).all()


def _num(x: float) -> str:
    return "inf" if x == np.inf else "-inf" if x == -np.inf else f"{x:g}"


@rule("targets-out-of-range", "loss-output-mismatch", needs=("raw",))
def targets_out_of_range(case: Case) -> None:
    """(error) a target lies outside what the output activation can produce: sigmoid
    ``[0, 1]``, tanh ``[-1, 1]``, relu/softplus ``>= 0``, elu ``>= -1``; softmax target rows that
    do not sum to 1. Checked before any training, also where ``fit`` would accept them (mse)."""
    y = _raw_targets(case)
    if y is None or case.out_name not in OUTPUT_RANGES:
        return
    low, high = OUTPUT_RANGES[case.out_name]
    outside = (y < low - 1e-9) | (y > high + 1e-9)
    if case.out_name == "softmax" and not outside.any():
        rows = ~np.isclose(y.sum(axis=1), 1.0)
        if rows.any():
            case.add(
                "targets-out-of-range", "error",
                f"{rows.sum()} of {y.shape[0]} target rows do not sum to 1 (sums from "
                f"{y.sum(axis=1).min():.3g} to {y.sum(axis=1).max():.3g}), but softmax outputs "
                "always do: the network can never produce them",
                "for one class per sample use one-hot rows or integer labels with "
                f"{case.hints.output('softmax', 'cross_entropy')}; for several independent 0/1 "
                f"outputs use {case.hints.output('sigmoid', 'bce')}")
        return
    if not outside.any():
        return
    interval = f"[{_num(low)}, {_num(high)}]"
    if np.isfinite(high):
        fix = (f"scale the targets into {interval} (e.g. (y - y.min()) / (y.max() - y.min())"
               f"{' * 2 - 1' if low < 0 else ''}), or for regression use an identity output "
               f"({case.hints.output('identity', 'mse')})")
    else:
        fix = (f"use an identity output ({case.hints.output('identity', 'mse')}) for targets "
               f"below {_num(low)}, or shift the targets")
    case.add(
        "targets-out-of-range", "error",
        f"{outside.sum()} of {y.size} targets ({outside.mean():.0%}) lie outside {interval}, the "
        f"range of the {case.out_name} output (targets span {y.min():.4g} to {y.max():.4g}): the "
        "network can never output them, so it settles on a compromise", fix)
    if looks_like_regression(y):
        case.add(
            "loss-output-mismatch", "warning",
            f"the targets look like regression values ({np.unique(y).size} distinct values from "
            f"{y.min():.4g} to {y.max():.4g}), but the output is {case.out_name}, which is for "
            "classes and probabilities",
            f"use {case.hints.output('identity', 'mse')} for regression, and scale the targets")


@rule("loss-output-mismatch")
def loss_output_mismatch(case: Case) -> None:
    """(warning) softmax + mse; an identity/relu-like output + mse with 0/1 class targets;
    (info) regression-like targets (over 10 distinct values, not all 0/1) within a
    sigmoid/tanh output's range; bce over one-hot rows."""
    Y, out, loss, hints = case.Y, case.out_name, case.loss_name, case.hints
    if out == "softmax" and loss == "mse":
        case.add(
            "loss-output-mismatch", "warning",
            f"a softmax output with loss='mse' over {case.sizes[-1]} outputs: the squared error's "
            "gradient through softmax is weak, and nearly zero when a class is confidently "
            "wrong, so learning stalls",
            f"use {hints.output('softmax', 'cross_entropy')} (fused with softmax) and integer "
            "class labels")
    elif out in UNBOUNDED and loss == "mse" and case.classes:
        extra = (" A ReLU-type output that turns negative for every sample gets no gradient at "
                 "all and stays at 0." if out != "identity" else "")
        case.add(
            "loss-output-mismatch", "warning",
            f"the targets are 0/1 classes ({int(Y.sum())} ones, {int(Y.size - Y.sum())} zeros) "
            f"but the output is {out} with loss='mse': its outputs are not confined to [0, 1] "
            "and the loss keeps pulling correct but confident outputs back." + extra,
            f"use {hints.output('sigmoid', 'bce')} (or softmax with cross_entropy for one class "
            "out of several)")
    elif (out in ("sigmoid", "tanh", "softmax") and "loss-output-mismatch" not in case.findings
          and looks_like_regression(Y)):
        case.add(
            "loss-output-mismatch", "info",
            f"the targets look like regression values ({np.unique(Y).size} distinct values from "
            f"{Y.min():.4g} to {Y.max():.4g}) with a {out} output: they are within its range, but "
            "values near its ends need saturated units, which learn slowly",
            f"for regression use {hints.output('identity', 'mse')} and scaled targets")
    elif loss == "bce" and Y.shape[1] > 1 and case.classes and np.allclose(Y.sum(axis=1), 1.0):
        case.add(
            "loss-output-mismatch", "info",
            f"every target row is one-hot over {Y.shape[1]} outputs, but sigmoid + bce treats the "
            "outputs as independent yes/no questions",
            f"for one class out of several use {hints.output('softmax', 'cross_entropy')}")


@rule("constant-targets")
def constant_targets(case: Case) -> None:
    """(warning) every target is the same: there is nothing to learn (the diagnosis stops)."""
    if case.baseline <= 1e-12 * max(1.0, float(np.abs(case.Y).max())):
        case.add("constant-targets", "warning",
                 f"all {case.Y.shape[0]} targets are equal ({case.Y[0, 0]:.4g} ...): there is "
                 "nothing to learn, and any network will output a constant",
                 "check that y is the column you meant to predict")
        case.stopped = True


@rule("unscaled-inputs")
def unscaled_inputs(case: Case) -> None:
    """(warning) a feature with ``sqrt(mean^2 + std^2) > 4``, or ``|mean| > 10 std``, or
    ``0 < std < 0.01`` with all ``|x| < 0.1``; never a switch (two values within [-1, 1], such
    as the one-hot column of a rare category)."""
    X = case.X.astype(np.float64)
    mean, std = X.mean(axis=0), X.std(axis=0)
    rms = np.sqrt(mean**2 + std**2)
    switch = np.array([np.all(np.abs(column) <= 1) and np.unique(column).size <= 2
                       for column in X.T], dtype=bool)
    varies = (std > 1e-8 * np.maximum(1.0, np.abs(mean))) & ~switch  # (constant: rounding)
    big = rms > UNSCALED_RMS
    offset = varies & (np.abs(mean) > UNSCALED_OFFSET * std)
    tiny = varies & (std < TINY_SCALE) & (np.abs(X).max(axis=0) < 0.1)
    bad = np.flatnonzero(big | offset | tiny)
    if bad.size == 0:
        return
    worst = bad[np.argsort(-np.abs(np.log(np.maximum(rms[bad], 1e-30))))][:3]
    listed = ", ".join(f"feature {j} (mean {mean[j]:.3g}, std {std[j]:.3g})" for j in worst)
    case.add(
        "unscaled-inputs", "warning",
        f"{bad.size} of {X.shape[1]} input features are far from zero mean and unit scale: "
        f"{listed}. Large inputs saturate sigmoid/tanh units and make steps uneven across "
        "weights; tiny ones barely move the units", case.hints.standardise())


@rule("unscaled-targets")
def unscaled_targets(case: Case) -> None:
    """(warning) with mse and an unbounded output (identity, relu, ...): a target column with
    ``sqrt(mean^2 + std^2) > 10`` or ``|mean| > 10 std``."""
    if case.loss_name != "mse" or case.out_name not in UNBOUNDED or case.classes:
        return
    Y = case.Y.astype(np.float64)
    mean, std = Y.mean(axis=0), Y.std(axis=0)
    rms = np.sqrt(mean**2 + std**2)
    bad = np.flatnonzero((rms > UNSCALED_TARGETS) | ((std > 0) & (np.abs(mean) >
                                                                 UNSCALED_OFFSET * std)))
    if bad.size == 0:
        return
    j = bad[np.argmax(rms[bad])]
    case.add(
        "unscaled-targets", "warning",
        f"{bad.size} of {Y.shape[1]} target columns are far from zero mean and unit scale: column "
        f"{j} has mean {mean[j]:.4g} and std {std[j]:.4g}. The output weights must grow to that "
        "scale, which takes many steps, and the loss is dominated by it",
        case.hints.scale_targets())
