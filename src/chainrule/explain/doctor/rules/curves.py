"""Rules that read a training run: its loss curve, gradient norms and update sizes, and its
validation loss. The run is the learner's own (``history=``) or the probe that repeats their
training on a copy; both go through the same rules, so the two agree."""

from __future__ import annotations

import numpy as np

from ....optimizers import Optimizer, Rprop, get_optimizer
from ..case import LEARNED_LOSS, SIGNAL, SLOW_PROGRESS, Case
from . import rule
from .units import check_units, vector

DIVERGING = 100.0  # loss growth (max / start) that counts as diverging
OSCILLATING = 0.3  # fraction of epochs in which the loss rises
BIG_UPDATE = 0.5  # ||dW|| / ||W|| per update (median of the first 10 epochs) that overshoots
SLOW_UPDATE = 1e-4  # ||dW|| / ||W|| per update below which the steps are tiny
FEW_UPDATES = 100  # fewer updates than this, with the loss still falling, are too few
MIN_CURVE = 20  # epochs a loss curve needs before it can be called oscillating or stuck
HISTORY_VANISHING = 1e-4  # ||dW|| of the first layer / of the last layer, median over epochs
EXPLODING = 1e3
OVERFIT_RISE = 0.1  # validation loss this much (relative) above its best: rising ...
OVERFIT_RISE_BASE = 0.02  # ... and by this many (validation) baselines
OVERFIT_GAP = 0.5  # validation above training loss by this many (validation) baselines
AMBIGUOUS = 0.9  # held-out loss / constant's above which chance alone may explain the gain


def _rate(case: Case) -> float | None:
    optimizer = case.kwargs.get("optimizer", "auto")
    if isinstance(optimizer, Optimizer):
        return optimizer.learning_rate
    return case.kwargs.get("learning_rate")


def _lower_rate(case: Case) -> str:
    rate = _rate(case)
    if rate is None:
        return (f"pass a smaller learning rate, e.g. {case.hints.learning_rate(None, 0.01)} (for "
                "the default optimizer the initial step of Rprop, or Adam's rate for "
                "mini-batches), and scale the inputs and targets")
    return (f"lower the learning rate ({case.hints.learning_rate(rate, rate / 10)}), or use "
            f"{case.hints.auto_optimizer()}; scale the inputs and targets")


def _raise_rate(case: Case) -> str:
    rate = _rate(case)
    if rate is None:
        return f"raise the learning rate tenfold or more, or use {case.hints.auto_optimizer()}"
    return (f"raise the learning rate ({case.hints.learning_rate(rate, rate * 100)}), or use "
            f"{case.hints.auto_optimizer()}, which adapts its step sizes")


@rule("learning-rate-too-high", "probe-truncated", needs=("run",))
def learning_rate_too_high(case: Case) -> None:
    """(error) the loss becomes NaN/inf, or grows 100-fold and ends above its start; (warning)
    the run did not learn, the loss does not get below 90% of its start and rises in at least
    30% of the epochs, or ends above 1.2 times its start, or peaks above twice its start, or the
    first updates change the weights by more than 50% of their size each."""
    run = case.run()
    h, source = run.history, run.source
    loss = np.asarray(h.loss, dtype=np.float64)
    if loss.size == 0:
        return
    first = loss[0]
    finite = loss[np.isfinite(loss)]
    if h.stopped_because == "diverged" or finite.size < loss.size:
        bad = int(np.argmax(~np.isfinite(loss))) if finite.size < loss.size else loss.size
        case.add("learning-rate-too-high", "error",
                 f"in {source} the loss diverged (became NaN or inf) after {bad} epoch(s), from "
                 f"{first:.4g}: the steps overshoot and grow", _lower_rate(case))
        return
    if loss.max() > DIVERGING * abs(first) and loss[-1] > first:
        case.add("learning-rate-too-high", "error",
                 f"in {source} the loss grew from {first:.4g} to {loss.max():.4g} in "
                 f"{int(np.argmax(loss))} epoch(s) and ended at {loss[-1]:.4g}: the steps "
                 "overshoot and grow", _lower_rate(case))
        return
    up = np.diff(loss) > 1e-3 * np.abs(loss[:-1])
    early = up[: max(8, up.size // 4)]
    rises = max(float(up.mean()), float(early.mean())) if up.size else 0.0
    tail = loss[-max(1, loss.size // 4):].min()
    worse = loss[-1] > 1.2 * first
    ratios = np.asarray(h.update_ratios, dtype=np.float64)
    jumps = (float(np.median(ratios[:10].max(axis=1))) / case.batches
             if ratios.ndim == 2 and ratios.size else 0.0)
    adaptive = _adaptive_steps(case)
    stalled = tail > 0.9 * first and (rises >= OSCILLATING or worse or loss.max() > 2 * first
                                      or jumps > BIG_UPDATE) and not adaptive
    thrashing = not case.truth_table and rises >= OSCILLATING and \
        loss[-1] > 1.5 * finite.min() and not case.learned_loss(loss[-1])
    if not run.fitted and loss.size >= MIN_CURVE and (stalled or thrashing):
        how = ("ended higher than it started" if worse else "went nowhere") if stalled else \
            f"thrashed: it ended at {loss[-1] / finite.min():.3g} times its lowest value"
        signs = [f"it rose in {up.sum()} of {up.size} epochs"]
        first_jump = float(ratios[0].max()) / case.batches if ratios.ndim == 2 and \
            ratios.size else 0.0
        if jumps > BIG_UPDATE:
            signs.append(f"each of the first updates changed the weights by {jumps:.0%} of "
                         "their size")
        elif first_jump > BIG_UPDATE:
            signs.append(f"the first updates changed the weights by up to {first_jump:.0%} of "
                         "their size")
        case.add("learning-rate-too-high", "warning",
                 f"in {source} the loss {how} (start {first:.4g}, lowest {finite.min():.4g}, "
                 f"peak {loss.max():.4g}, end {loss[-1]:.4g}): {', and '.join(signs)}: the steps "
                 "overshoot", _lower_rate(case))
    elif not run.fitted and case.probing and not adaptive:
        _overshooting_copies(case)


def _adaptive_steps(case: Case) -> bool:
    """Rprop at its default initial step (fit's choice for full batches): it sizes its own
    steps, and a loss that wanders then says nothing about a learning rate."""
    if _rate(case) is not None:  # (an Optimizer object always has its rate)
        return False
    chosen = get_optimizer(case.kwargs.get("optimizer", "auto"), None, case.batches == 1)
    return isinstance(chosen, Rprop)


def _overshooting_copies(case: Case) -> None:
    """The kept copy of a run may be the one that overshot least: look at every copy of the
    seed probe too. Most of them overshooting (a peak over twice the start, or an end above
    it) and none learning says the same."""
    from .probes import seeds

    copies = seeds(case)
    if copies is None or len(copies.curves) < 2 or copies.fitted.any():
        return
    start = copies.curves[0]
    over = (copies.curves.max(axis=0) > 2 * start) | (copies.losses > 1.2 * start)
    if over.mean() >= 0.5:
        case.add("learning-rate-too-high", "warning",
                 f"{over.sum()} of {over.size} initialisations trained with your settings "
                 f"overshoot: their loss peaks at {np.median(copies.curves.max(axis=0)):.4g} "
                 f"(median) from {np.median(start):.4g} after the first epoch, and none learns "
                 "the training set", _lower_rate(case))


@rule("exploding-gradients", "vanishing-gradients", needs=("run",))
def gradient_history(case: Case) -> None:
    """(error) the gradient norms became NaN or inf; (warning) the total ``||dW||`` grew more
    than 1e3-fold while the loss did not halve; ``vanishing-gradients`` (warning): ``||dW||`` of
    the first layer below 1e-4 of the last layer's (median over epochs, 3 or more layers)."""
    run = case.run()
    grads = np.asarray(run.history.gradient_norms, dtype=np.float64)
    loss = np.asarray(run.history.loss, dtype=np.float64)
    if grads.ndim != 2 or not grads.size:
        return
    source = run.source
    if not np.isfinite(grads).all():
        case.add("exploding-gradients", "error", f"in {source} the gradient norms became NaN or "
                 "inf", "scale the inputs and targets, initialise with init='auto', lower the "
                            "learning rate")
        return
    if grads.shape[1] >= 3:
        last = np.maximum(grads[:, -1], 1e-300)
        ratio = float(np.median(grads[:, 0] / last))
        if ratio < HISTORY_VANISHING and grads[:, -1].max() > 0:
            case.add("vanishing-gradients", "warning",
                     f"in {source} the first layer's gradient norm was {ratio:.2g} of the last "
                     f"layer's (median over {grads.shape[0]} epochs; last epoch per layer: "
                     f"{vector(grads[-1])}): the first layers barely learn",
                     f"use fewer layers, {case.hints.activation('tanh')} or "
                     f"{case.hints.activation('leaky_relu')}, and scaled inputs")
    total = np.sqrt((grads * grads).sum(axis=1))
    growth = float(total.max() / max(total[0], 1e-300))
    if growth > EXPLODING and loss.min() > 0.5 * loss[0] and \
            not case.has("learning-rate-too-high"):
        case.add("exploding-gradients", "warning",
                 f"in {source} the gradient norms grew {growth:.3g}x (per layer, first epoch: "
                 f"{vector(grads[0])}; largest: {vector(grads.max(axis=0))}) while the loss did "
                 "not halve", "lower the learning rate, scale inputs and targets, and "
                              "initialise with init='auto'")


@rule("learning-rate-too-low", "probe-truncated", needs=("run",))
def learning_rate_too_low(case: Case) -> None:
    """(warning) the loss falls by less than 1% while each update changes the weights by less
    than 1e-4 of their size, with healthy gradients."""
    run = case.run()
    h = run.history
    loss = np.asarray(h.loss, dtype=np.float64)
    ratios = np.asarray(h.update_ratios, dtype=np.float64)
    grads = np.asarray(h.gradient_norms, dtype=np.float64)
    if run.fitted or not (ratios.ndim == 2 and ratios.size and grads.size) or loss.size == 0 \
            or case.has("vanishing-gradients", "saturated-units", "dead-units",
                        "symmetric-units", "learning-rate-too-high") or np.nanmax(grads) <= 0:
        return
    first = loss[0]
    progress = (first - loss.min()) / max(abs(first), 1e-300)
    per_update = float(np.median(ratios.max(axis=1))) / case.batches
    if progress < SLOW_PROGRESS and per_update < SLOW_UPDATE:
        case.add("learning-rate-too-low", "warning",
                 f"in {run.source} the loss barely moved, from {first:.4g} to {loss[-1]:.4g} "
                 f"({progress:.2%}) in {loss.size} epochs, while the gradients are healthy "
                 f"(||dW|| up to {np.nanmax(grads):.3g}) and each update changed the weights by "
                 f"only {per_update:.2g} of their size", _raise_rate(case))
    elif case.probing and run.loss_ratio > LEARNED_LOSS:
        _creeping_copies(case)


def _creeping_copies(case: Case) -> None:
    """A run whose copies were redrawn mixes curves: look at the seed probe's copies too. All of
    them barely moving, with tiny updates, says the same."""
    from .probes import seeds

    copies = seeds(case)
    if copies is None or len(copies.curves) < 2 or copies.fitted.any():
        return
    start = copies.curves[0]
    progress = (start - copies.curves.min(axis=0)) / np.maximum(np.abs(start), 1e-300)
    if np.all(progress < SLOW_PROGRESS) and np.all(copies.moved < SLOW_UPDATE):
        case.add("learning-rate-too-low", "warning",
                 f"the loss of {progress.size} initialisations trained with your settings for "
                 f"{copies.epochs} epochs barely moved: it fell by {np.median(progress):.2%} "
                 f"(median) while each update changed the weights by only "
                 f"{np.median(copies.moved):.2g} of their size", _raise_rate(case))


def _still_falling(loss: np.ndarray, updates_per_epoch: int) -> float | None:
    """How much the loss fell over the last fifth of the epochs, when that counts as still
    falling (over 1%, or anything in under 100 updates); else None."""
    if loss.size < 2:
        return None
    k = max(1, loss.size // 5)
    fell = (loss[-k - 1] - loss[-1]) / max(abs(loss[-k - 1]), 1e-300)
    updates = loss.size * updates_per_epoch
    return fell if fell > SLOW_PROGRESS or (updates < FEW_UPDATES and fell > 0) else None


@rule("too-few-updates", needs=("run",))
def too_few_updates(case: Case) -> None:
    """(warning) the run ran every epoch asked for, stopped by ``epochs``/``max_epochs`` without
    learning the training set, and its loss was still falling: over 1% in the last fifth of the
    epochs, or anything in under 100 updates (and the validation loss, if any, was falling
    too)."""
    run = case.run()
    h = run.history
    if not run.complete or run.fitted or h.stopped_because not in ("epochs done", "max_epochs") \
            or case.has("learning-rate-too-high"):
        return
    loss = np.asarray(h.loss, dtype=np.float64)
    fell = _still_falling(loss, case.batches)
    if fell is None:
        return
    if h.val_loss and _still_falling(np.asarray(h.val_loss, dtype=np.float64), 1) is None:
        return  # the held-out loss stopped improving: more epochs would only memorise
    k = max(1, loss.size // 5)
    updates = loss.size * case.batches
    more = ""
    if case.probing:
        continued = run.net.copy()
        h2, _ = case.train(continued, epochs=None, max_epochs=case.epochs_for("more", 1),
                           restarts=1)
        if h2.loss and h2.loss[-1] >= loss[-1]:
            return  # more of the same training did not help: not a matter of epochs
        if h2.loss:
            more = (f"; continuing the same training for {h2.epochs} more epochs brought it to "
                    f"{h2.loss[-1]:.4g}" + (" and fitted the training set"
                                            if case.fits(continued) else ""))
    case.add("too-few-updates", "warning",
             f"{run.source} stopped after {loss.size} epochs ({updates} weight updates, "
             f"{h.stopped_because}) with the loss still falling: {fell:.1%} over the last {k} "
             f"epoch(s), to {loss[-1]:.4g} (a constant prediction gives {case.baseline:.4g})"
             + more, case.hints.train_longer())


@rule("overfitting", needs=("run", "validation"))
def overfitting(case: Case) -> None:
    """(warning) with validation data: the validation loss rose over 10% above its best (and by
    2% of a constant prediction's) while the training loss kept falling, and the run kept those
    later weights; or it ends far above the training loss (by half a constant prediction's
    validation loss, and three times it)."""
    run = case.run()
    h = run.history
    val = np.asarray(h.val_loss, dtype=np.float64)
    train = np.asarray(h.loss, dtype=np.float64)
    if val.size < 5 or val.size != train.size or not np.all(np.isfinite(val)):
        return
    if case.validation is None:
        return
    Xv, Yv, cv = case.validation
    base = case.constant_loss(Yv, cv)
    best = int(np.argmin(val))
    end = float(run.net.loss(Xv, Yv))  # of the weights kept, which early stopping restores
    if end <= val[best] + 0.01 * abs(val[best]) + 1e-12:
        return  # the run kept its best weights on the validation rows
    rising = (end > (1 + OVERFIT_RISE) * val[best] and end - val[best] > OVERFIT_RISE_BASE * base
              and best < 0.8 * (val.size - 1) and train[-1] < train[best])
    gap = end > 3 * train[-1] and end - train[-1] > OVERFIT_GAP * base
    if not (rising or gap):
        return
    if rising:
        what = (f"the validation loss was lowest at epoch {best + 1} ({val[best]:.4g}) and rose "
                f"to {end:.4g} by the end ({val.size} epochs), while the training loss kept "
                f"falling ({train[best]:.4g} to {train[-1]:.4g})")
    else:
        what = (f"the validation loss ends at {end:.4g}, {end / max(train[-1], 1e-300):.3g} "
                f"times the training loss ({train[-1]:.4g}; a constant prediction gives "
                f"{base:.4g} on the validation rows), best at epoch {best + 1} ({val[best]:.4g})")
    hidden = [max(1, s // 2) for s in case.sizes[1:-1]]
    smaller = case.hints.network([case.sizes[0], *hidden, case.sizes[-1]])
    case.add("overfitting", "warning",
             f"in {run.source} {what}: the network memorises the training rows instead of "
             "learning what generalises",
             f"{case.hints.early_stopping()}; or add an L2 penalty ({case.hints.weight_decay(1e-3)}"
             f"), use fewer hidden units ({smaller}), or more training rows")


@rule("not-learning", needs=("run", "validation"))
def nothing_held_out(case: Case) -> None:
    """(warning) with validation data: the weights the run kept do no better on the
    validation rows than a constant prediction (the training rows' mean) does, within 2%; or,
    within 10% of it, no better than the same training on shuffled targets does (two
    shuffles: what early stopping's choice of epoch reaches by chance)."""
    from .probes import PROBLEMS

    run = case.run()
    if case.validation is None or case.has(*PROBLEMS):
        return  # an earlier finding already says why
    ratio = case.held_out_ratio(run.net)
    if ratio >= SIGNAL:
        why = "nothing learned carries over to held-out rows"
    elif ratio >= AMBIGUOUS and case.probe_asked is not False:
        shuffled = [_shuffled_held_out_ratio(case, seed) for seed in (1, 2)]
        if ratio < min(shuffled) - 0.01:
            return
        why = (f"the same training on shuffled targets gets as far ({vector(shuffled)}, as "
               "ratios): early stopping chose the epoch that fits these rows by chance, and "
               "nothing learned carries over")
    else:
        return
    case.add("not-learning", "warning",
             f"after {run.source} the validation loss is {ratio:.0%} of a constant "
             f"prediction's (the training rows' mean) on the same rows, with the training loss at "
             f"{run.loss_ratio:.0%} of its constant prediction's: {why}",
             "check that X and y belong together (rows in the same order, the right target "
             "column) and that the inputs can tell the target; then try other settings or a "
             "larger network")


def _shuffled_held_out_ratio(case: Case, seed: int) -> float:
    """:meth:`Case.held_out_ratio` of the same training (a fresh start, your settings, your
    validation rows) on the training targets shuffled: what chance alone reaches."""
    net = case.start_net().copy()
    net.rng = np.random.default_rng(20240608 + seed)
    net.initialize(net.layers)
    order = np.random.default_rng(seed).permutation(case.n)
    net.fit(case.X, case.Y[order], validation_data=case.validation_data,
            **case.budgeted_settings())
    return case.held_out_ratio(net)


@rule("saturated-units", "dead-units", needs=("run",))
def units_after_the_run(case: Case) -> None:
    """(info) the same unit checks as at the start, on the network after a run that did not
    learn (there saturation is mostly a symptom)."""
    run = case.run()
    if run.fitted or run.loss_ratio <= LEARNED_LOSS:
        return
    when = "in the trained network" if case.history is not None else \
        "after the probe training"
    check_units(case, run.net, when)
