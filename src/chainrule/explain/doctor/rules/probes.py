"""Rules that train copies: do some initialisations learn and others get stuck? When none
learns, would standardised inputs, fit's default settings or a wider network?"""

from __future__ import annotations

import numpy as np

from ....network import Network
from ..case import (
    LARGE_PROBLEM,
    LEARNED_LOSS,
    NEAR_BEST,
    PROBE_EPOCHS,
    PROBE_SECONDS,
    SEEDS,
    STUCK_GAP,
    Case,
    Copies,
)
from . import rule

MIN_CURVE = 20  # epochs a probe needs before its copies can be called stuck
WIDER_GAIN = 0.25  # loss decrease (in baselines) that makes a wider net better
WIDE_UNITS = 16  # hidden units per layer (at least, and at least 4x) of the wider net
TOO_SMALL_LOSS = 0.2  # truth tables: best loss / baseline above which a net does not fit
REAL_WIDE_LOSS = 0.5  # real data: the wider net must get below this, and on held-out rows
LEARNED_GAIN = 0.1  # real data: a good copy's loss fell by this many baselines from its start
HOLD_OUT = 0.2  # rows the doctor holds out itself, when no validation data are given
GENERALISES = 0.95  # held-out loss / constant prediction's below which something generalises


def seeds(case: Case) -> Copies | None:
    """``SEEDS`` initialisations (4 for large problems) trained with the learner's settings."""
    if "seeds" in case.cache:
        return case.cache["seeds"]
    count = SEEDS if case.epochs_for("seeds", SEEDS) >= MIN_CURVE else SEEDS // 2
    cost = case.fewest_epochs() * case.seconds_per_epoch(count)
    if cost > PROBE_SECONDS["seeds"] * LARGE_PROBLEM:
        case.add("probe-truncated", "info",
                 f"the problem is too large to compare {count} initialisations quickly (about "
                 f"{cost:.0f} s estimated), so seed-dependence and network size were not checked",
                 f"check a real run instead: {case.hints.full_run()}")
        case.cache["seeds"] = None
        return None
    net = case.net.copy()
    net.rng = np.random.default_rng(20240601)
    epochs = case.epochs_for("seeds", count)
    return case.copies("seeds", net, restarts=count, epochs=epochs)


def _groups(case: Case, copies: Copies) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which copies learned well, got stuck (no longer falling, far above the best), or were
    still improving: the three add up to all copies."""
    losses = copies.lowest
    best = float(losses.min())
    if case.truth_table:
        good = copies.fitted
    else:  # near the best copy, and by learning: not by the luck of a low starting loss
        start = copies.curves[0] if len(copies.curves) else losses
        moved = losses <= start - LEARNED_GAIN * case.baseline
        good = copies.fitted | (losses <= best + NEAR_BEST * case.baseline) & moved
    stuck = ~good & ~copies.falling() & (losses > best + STUCK_GAP * case.baseline)
    return good, stuck, ~good & ~stuck


def learned(case: Case, loss: float, fitted: bool) -> bool:
    """Whether a copy learned: fitted the truth table, or for real data got well below the
    constant prediction's loss (or as low as a network without hidden layer gets)."""
    if case.truth_table:
        return fitted
    return case.learned_loss(loss)


@rule("seed-dependent", "probe-truncated", needs=("probe",))
def seed_dependent(case: Case) -> None:
    """Of 8 initialisations trained with your settings, some learn and some get stuck (their
    loss stopped falling a quarter of a constant prediction's loss above the best copy's):
    (warning) when your copies (``restarts``) would all get stuck with probability over 1%,
    else (info)."""
    copies = seeds(case)
    if copies is None or copies.epochs < MIN_CURVE or case.has("learning-rate-too-low"):
        return
    good, stuck, improving = _groups(case, copies)
    best = float(copies.losses.min())
    if not (good.any() and stuck.any() and learned(case, best, bool(copies.fitted.any()))):
        return
    p = 1 - stuck.mean()
    user = case.kwargs.get("restarts")
    copies_used = case.user_copies
    risk = (1 - p) ** copies_used
    needed = int(np.ceil(np.log(0.01) / np.log(1 - p))) if p < 1 else 1
    how = "fit's default restarts=None" if user is None else f"restarts={copies_used}"
    if case.hints.name == "cli":
        how = "the default --restarts" if user is None else f"--restarts {copies_used}"
    n = copies.losses.size
    verb = "fit the training set" if case.truth_table else "reached a loss near the best"
    still = f", and {improving.sum()} were still improving" if improving.any() else ""
    case.add(
        "seed-dependent", "warning" if risk > 0.01 else "info",
        f"{good.sum()} of {n} random initialisations trained with your settings for "
        f"{copies.epochs} epochs {verb} (best loss {_loss(best)}), {stuck.sum()} got stuck "
        f"(lowest loss {_loss(np.median(copies.lowest[stuck]))}, median, no longer falling)"
        f"{still}; a constant prediction gives {case.baseline:.3g}. With {how} ({copies_used} "
        f"cop{'y' if copies_used == 1 else 'ies'} for this problem) the chance that every copy "
        "gets stuck is " + (f"{100 * risk:.2g}%" if risk >= 1e-4 else "below 0.01%"),
        case.hints.restarts(max(needed, 2), case.default_copies)
        + ", or use more hidden units")


def _loss(value: float) -> str:
    return "below 1e-6" if value < 1e-6 else f"{value:.3g}"


def _nothing_learns(case: Case) -> Copies | None:
    """The seed probe, when no copy learned and the probe ran long enough to tell."""
    copies = seeds(case)
    if copies is None or case.has("symmetric-units", "targets-out-of-range", severity="error"):
        return None
    best = float(copies.losses.min())
    if copies.fitted.any() or learned(case, best, False) or (
            case.truth_table and best <= TOO_SMALL_LOSS * case.baseline):
        return None
    if copies.falling().all() and copies.epochs < PROBE_EPOCHS["seeds"]:
        if not case.has("too-few-updates", "learning-rate-too-low", "learning-rate-too-high"):
            case.add("probe-truncated", "info",
                     f"none of {copies.losses.size} initialisations learned within the probe's "
                     f"{copies.epochs} epochs (best loss {best:.4g}, {best / case.baseline:.0%} "
                     "of a constant prediction's), but the loss was still falling: the probe is "
                     "too short to tell more", f"{case.hints.train_longer()}; "
                                               f"{case.hints.full_run()}")
        return None
    return copies


@rule("unscaled-inputs", "probe-truncated", needs=("probe",))
def inputs_that_block_learning(case: Case) -> None:
    """(warning) no initialisation learns, but the same training on standardised inputs does
    (or lowers the loss by 25% of a constant prediction's)."""
    copies = _nothing_learns(case)
    if copies is None or case.has("learning-rate-too-high", "learning-rate-too-low"):
        return
    X = case.X
    mean, std = X.mean(axis=0), X.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    if np.all(np.abs(mean) < 0.5 * std) and np.all((std > 0.5) & (std < 2)):
        return  # about standard already: scaling is not the cause
    if np.all(np.abs(X) <= 1) and all(np.unique(column).size <= 2 for column in X.T):
        return  # switches (0/1, -1/1 inputs): on a unit scale, not what blocks learning
    net = case.net.copy()
    net.rng = np.random.default_rng(20240604)
    case.X = ((X - mean) / std).astype(X.dtype)
    try:
        _, record = case.train(net, record=True, restarts=copies.losses.size,
                               epochs=copies.epochs)
    finally:
        case.X = X
    best, after = float(copies.losses.min()), float(record.losses.min())
    if not (record.fitted.any() or best - after >= WIDER_GAIN * case.baseline):
        return
    listed = ", ".join(f"feature {j} (mean {mean[j]:.3g}, std {std[j]:.3g})"
                       for j in range(min(3, X.shape[1])))
    case.cache["explained"] = True
    case.add(
        "unscaled-inputs", "warning",
        f"none of {copies.losses.size} initialisations learned within {copies.epochs} epochs "
        f"with the inputs as they are ({listed}; best loss {best:.4g}), but with the same inputs "
        f"standardised {int(record.fitted.sum())} of {copies.losses.size} fit (best loss "
        f"{after:.4g})", case.hints.standardise())


def wider(case: Case) -> Network | None:
    net = case.net
    hidden = [max(WIDE_UNITS, 4 * s) for s in case.sizes[1:-1]]
    activations = [layer.activation for layer in net.layers[:-1]]
    if not hidden:
        hidden, activations = [WIDE_UNITS], ["tanh"]
    try:
        return Network([case.sizes[0], *hidden, case.sizes[-1]], activation=activations,
                       output_activation=net.output_activation, loss=net.loss_function,
                       init=net.init, seed=20240603, dtype=net.dtype)
    except (ValueError, TypeError):
        return None


@rule("too-small", "probe-truncated", needs=("probe",))
def too_small(case: Case) -> None:
    """(error) no initialisation learns, even with fit's default settings, and a network with 4x
    the hidden units (at least 16) does: for a truth table it fits or lowers the loss by 25% of a
    constant prediction's; for real data it gets below half of it, on held-out rows too."""
    if case.cache.get("explained") or case.has("unscaled-inputs"):
        return
    copies = _nothing_learns(case)
    if copies is None:
        return
    own = float(copies.losses.min())
    count = copies.losses.size
    defaults = all(case.kwargs.get(k) in (None, "auto") for k in
                   ("optimizer", "learning_rate", "batch_size"))
    if not defaults:
        net = case.net.copy()
        net.rng = np.random.default_rng(20240602)
        _, record = case.train(net, settings="default", record=True, restarts=count,
                               epochs=case.epochs_for("capacity", count))
        if record.fitted.any() or learned(case, float(record.losses.min()), False) or \
                case.truth_table and record.losses.min() <= TOO_SMALL_LOSS * case.baseline:
            case.cache["default loss"] = float(record.losses.min())  # the settings are why
            return
        own = min(own, float(record.losses.min()))
    wide = wider(case)
    if wide is None or not case.truth_table and case.validation is None:
        return  # real data without held-out rows: a wider net would only show it memorises
    epochs = case.epochs_for("capacity", count, wide)
    _, record = case.train(wide, settings="default", record=True, restarts=count, epochs=epochs)
    wide_loss = float(record.losses.min())
    if case.truth_table:
        better = bool(record.fitted.any()) or own - wide_loss >= WIDER_GAIN * case.baseline
    else:
        Xv, Yv, cv = case.validation
        held_out = float(wide.loss(Xv, Yv))
        better = wide_loss <= REAL_WIDE_LOSS * case.baseline and \
            held_out <= LEARNED_LOSS * case.constant_loss(Yv, cv)
    if not better:
        return
    sizes = "-".join(map(str, case.sizes))
    case.add(
        "too-small", "error",
        f"the {sizes} network cannot learn even the training set: with good settings the best of "
        f"{count} initialisations reaches a loss of {own:.4g} ({own / case.baseline:.0%} of a "
        f"constant prediction's {case.baseline:.4g}), while a {'-'.join(map(str, wide.sizes))} "
        f"network reaches {wide_loss:.4g} in {epochs} epochs"
        + (" and fits it" if record.fitted.any() else ""),
        f"use more hidden units, e.g. {case.hints.network(wide.sizes)}")


@rule("not-learning", needs=("run",))
def memorised(case: Case) -> None:
    """(warning) real data without validation data: the training loss fell well below a constant
    prediction's, but on rows the doctor holds out itself (20%) the same training never does
    better than a constant prediction: the rows are memorised, nothing generalises. (Also on a
    run passed as ``history``, unless ``probe=False``.)"""
    run = case.run()
    if (case.truth_table or case.validation is not None or case.n < 50
            or run.loss_ratio > LEARNED_LOSS or case.probe_asked is False):
        return
    rows = np.random.default_rng(20240605).permutation(case.n)
    cut = int(case.n * (1 - HOLD_OUT))
    train, held = rows[:cut], rows[cut:]
    settings = {k: v for k, v in case.budgeted_settings().items() if k != "sample_weight"}
    X, Y = case.X, case.Y
    net = case.net.copy()
    if case.history is not None:  # the net given has seen the held-out rows: start afresh
        net.rng = np.random.default_rng(20240605)
        net.initialize(net.layers)
    history = net.fit(X[train], Y[train], validation_data=(X[held], Y[held]), **settings)
    constant = case.constant_loss(Y[held], 1.0 / len(held), prediction=Y[train].mean(axis=0))
    best = min(history.val_loss) if history.val_loss else np.inf
    if best >= GENERALISES * constant:
        case.add("not-learning", "warning",
                 f"the training loss fell to {run.loss_ratio:.0%} of a constant prediction's, "
                 f"but on {len(held)} rows the doctor held out, the same training never did "
                 f"better than a constant prediction (best {best:.4g} against {constant:.4g}): "
                 "the network memorises rows, and nothing it learns generalises",
                 "check that X and y belong together (rows in the same order, the right target "
                 "column); hold out rows yourself to watch it ("
                 f"{case.hints.early_stopping()})")


@rule("not-learning", "probe-truncated", needs=("probe",))
def not_learning(case: Case) -> None:
    """(warning) no initialisation learns and nothing above explains it (or fit's default
    settings do learn: then the settings are the cause)."""
    if case.has(*PROBLEMS):
        return
    copies = _nothing_learns(case)
    if copies is None:
        return
    best = float(copies.losses.min())
    count, epochs = copies.losses.size, copies.epochs
    head = (f"none of {count} initialisations learned within {epochs} epochs with your "
            f"settings (best loss {best:.4g}, {best / case.baseline:.0%} of a constant "
            f"prediction's {case.baseline:.4g})")
    default = case.cache.get("default loss")
    if default is not None:
        case.add("not-learning", "warning",
                 f"{head}, but with fit's default settings the same network reaches {default:.4g}",
                 f"use {case.hints.auto_optimizer()}, or tune the learning rate")
    else:
        case.add("not-learning", "warning", f"{head}, and no cause was found",
                 "check that X and y belong together (rows in the same order), "
                 f"{case.hints.train_longer()}, or try a larger network")


PROBLEMS = (  # the codes that explain a failure
    "targets-out-of-range", "loss-output-mismatch", "unscaled-inputs", "unscaled-targets",
    "symmetric-units", "saturated-units", "dead-units", "vanishing-gradients",
    "exploding-gradients", "learning-rate-too-high", "learning-rate-too-low", "too-few-updates",
    "overfitting", "constant-output", "seed-dependent", "too-small",
)
