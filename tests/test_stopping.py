"""Tests for stopping on validation data (chainrule.stopping, through fit)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Network
from chainrule.datasets import PROBLEMS
from chainrule.stopping import ValidationStop


def overfitting_regression(seed: int = 1):
    """12 noisy training samples of sin(3x) and 40 clean validation ones: a 1-32-1 net overfits."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (12, 1))
    y = np.sin(3 * X) + 0.3 * rng.normal(size=X.shape)
    Xv = rng.uniform(-1, 1, (40, 1))
    return X, y, Xv, np.sin(3 * Xv)


def test_validation_stop_keeps_each_copys_best_weights_and_waits_patience():
    params = np.zeros((2, 3))
    stop = ValidationStop(params, patience=2, tol=0.0)
    losses = [(5.0, 5.0), (4.0, 6.0), (4.5, 3.0), (4.2, 3.5), (4.1, 2.0), (4.0, 2.5)]
    stopped = []
    for epoch, loss in enumerate(losses):
        params[:] = epoch + 1  # the weights after this epoch
        stopped.append(stop.update(np.array(loss), params, epoch))
    # copy 0's best is epoch 1 (4.0; the later 4.0 is no improvement); copy 1's epoch 4
    np.testing.assert_array_equal(stop.best_epoch, [1, 4])
    assert stopped == [False, False, False, False, False, False]  # copy 1 improved at epoch 4
    assert stop.update(np.array([4.0, 2.1]), params, 6) is True  # both waited 2+ epochs
    stop.restore(params)
    np.testing.assert_array_equal(params, [[2, 2, 2], [5, 5, 5]])
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        ValidationStop(params, patience=0)


def test_epochs_none_with_validation_stops_on_it_and_restores_the_best_epoch():
    X, y, Xv, yv = overfitting_regression()
    kwargs = dict(optimizer="adam", learning_rate=0.03, restarts=1)
    net = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=0)
    start = net.copy()
    history = net.fit(X, y, validation_data=(Xv, yv), patience=20, **kwargs)
    best = int(np.argmin(history.val_loss))
    assert history.stopped_because == "early stopping" and history.best_epoch == best
    assert history.epochs == best + 1 + 20
    assert net.loss(Xv, yv) == pytest.approx(min(history.val_loss), rel=1e-12)
    start.fit(X, y, epochs=best + 1, **kwargs)  # the same training, stopped there
    for a, b in zip(net.parameters(), start.parameters(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # without validation the same fit trains on (the training loss keeps falling)
    alone = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=0)
    assert alone.fit(X, y, **kwargs).epochs > history.epochs


def test_the_kept_copy_of_several_is_the_one_with_the_lowest_validation_loss():
    X, y, Xv, yv = overfitting_regression(2)
    net = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=3)
    history = net.fit(X, y, validation_data=(Xv, yv), optimizer="adam", learning_rate=0.03,
                      restarts=4, patience=15)
    assert history.stopped_because == "early stopping"
    assert net.loss(Xv, yv) == pytest.approx(min(history.val_loss), rel=1e-9)


def test_early_stopping_generalises_better_than_training_to_the_end():
    X, y, Xv, yv = overfitting_regression()
    stopped = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=0)
    stopped.fit(X, y, validation_data=(Xv, yv), optimizer="adam", learning_rate=0.03,
                restarts=1, patience=20)
    full = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=0)
    full.fit(X, y, epochs=3000, optimizer="adam", learning_rate=0.03, restarts=1)
    assert stopped.loss(Xv, yv) < 0.7 * full.loss(Xv, yv)


def test_options_switch_it_off_on_and_refuse_it_without_validation():
    X, y, Xv, yv = overfitting_regression()
    kwargs = dict(optimizer="adam", learning_rate=0.03, restarts=1)
    net = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=0)
    history = net.fit(X, y, validation_data=(Xv, yv), early_stopping=False, max_epochs=300,
                      **kwargs)
    assert history.stopped_because != "early stopping" and history.best_epoch is None
    assert len(history.val_loss) == history.epochs
    net = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=0)
    history = net.fit(X, y, epochs=3000, validation_data=(Xv, yv), early_stopping=True,
                      patience=20, **kwargs)
    assert history.stopped_because == "early stopping" and history.epochs < 3000
    with pytest.raises(ValueError, match="early_stopping=True needs validation_data"):
        net.fit(X, y, early_stopping=True)
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        net.fit(X, y, validation_data=(Xv, yv), patience=0)


@pytest.mark.parametrize("name", ["xor", "three-input", "even-odd"])
def test_truth_tables_without_validation_still_stop_when_targets_are_met(name):
    problem = PROBLEMS[name]
    history = Network(list(problem.sizes), seed=0).fit(problem.X, problem.y)
    assert history.stopped_because == "targets met" and history.learned
    assert history.best_epoch is None
