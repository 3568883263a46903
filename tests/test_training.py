"""fit: one SGD step by hand, stopping rules, restarts, divergence, callbacks, reproducibility,
float32, and "learns with the defaults" on every built-in problem."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from chainrule import SGD, Callback, EarlyStopping, Network
from chainrule.activations import get_activation
from chainrule.checks import NumericalWarning
from chainrule.datasets import PROBLEMS
from chainrule.layers import Dense

XOR = PROBLEMS["xor"]


def right_side_of_half(net: Network, X, y) -> bool:
    """Every output on the same side of 0.5 as its 0/1 target."""
    out = net.predict(X)
    return bool(np.all((out > 0.5) == (np.reshape(y, out.shape) > 0.5)))


def assert_same_parameters(a: Network, b: Network, rtol: float = 0.0) -> None:
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        if rtol:
            np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-15)
        else:
            np.testing.assert_array_equal(p, q)


# --- one SGD step, by hand ----------------------------------------------------------------------
def test_one_sgd_step_on_a_2_1_1_sigmoid_chain_worked_by_hand() -> None:
    """The two-neuron chain of the seed question, with scalar formulas as a learner writes them."""
    w11, w12, b1, w2, b2 = 0.3, -0.2, 0.1, 0.5, -0.4
    x1, x2, y = 1.0, 0.5, 1.0
    alpha = 0.5

    def sigma(z: float) -> float:
        return 1 / (1 + math.exp(-z))

    z1 = w11 * x1 + w12 * x2 + b1
    a1 = sigma(z1)
    z2 = w2 * a1 + b2
    a2 = sigma(z2)
    loss = (a2 - y) ** 2
    delta2 = 2 * (a2 - y) * a2 * (1 - a2)  # dL/dz2
    dw2, db2 = delta2 * a1, delta2
    delta1 = delta2 * w2 * a1 * (1 - a1)  # dL/dz1, through the old w2
    dw11, dw12, db1 = delta1 * x1, delta1 * x2, delta1

    net = Network([2, 1, 1], seed=0)
    net.layers[0].weights[...] = [[w11], [w12]]
    net.layers[0].bias[...] = [b1]
    net.layers[1].weights[...] = [[w2]]
    net.layers[1].bias[...] = [b2]
    X, Y = np.array([[x1, x2]]), np.array([y])

    assert net.loss(X, Y) == pytest.approx(loss, rel=1e-14)
    (dW1, db1_), (dW2, db2_) = net.gradients(X, Y)
    np.testing.assert_allclose(dW1, [[dw11], [dw12]], rtol=1e-13)
    np.testing.assert_allclose(db1_, [db1], rtol=1e-13)
    np.testing.assert_allclose(dW2, [[dw2]], rtol=1e-13)
    np.testing.assert_allclose(db2_, [db2], rtol=1e-13)

    history = net.fit(X, Y, epochs=1, batch_size=None, optimizer="sgd", learning_rate=alpha,
                      restarts=1)
    assert history.epochs == 1 and history.loss == [pytest.approx(loss, rel=1e-14)]
    np.testing.assert_allclose(
        net.layers[0].weights, [[w11 - alpha * dw11], [w12 - alpha * dw12]], rtol=1e-13)
    np.testing.assert_allclose(net.layers[0].bias, [b1 - alpha * db1], rtol=1e-13)
    np.testing.assert_allclose(net.layers[1].weights, [[w2 - alpha * dw2]], rtol=1e-13)
    np.testing.assert_allclose(net.layers[1].bias, [b2 - alpha * db2], rtol=1e-13)


# --- restarts=1 trains exactly this network -----------------------------------------------------
def numpy_sgd(weights: list, biases: list, X, Y, lr: float, epochs: int):
    """Full-batch gradient descent on a sigmoid MLP with the mean squared error, from scratch."""
    weights = [W.copy() for W in weights]
    biases = [b.copy() for b in biases]
    n, n_out = Y.shape
    for _ in range(epochs):
        activations = [X]
        for W, b in zip(weights, biases, strict=True):
            activations.append(1 / (1 + np.exp(-(activations[-1] @ W + b))))
        A = activations[-1]
        delta = 2 * (A - Y) / (n * n_out) * A * (1 - A)
        for i in range(len(weights) - 1, -1, -1):
            dW = activations[i].T @ delta
            db = delta.sum(axis=0)
            if i > 0:
                a = activations[i]
                delta = (delta @ weights[i].T) * a * (1 - a)
            weights[i] = weights[i] - lr * dW
            biases[i] = biases[i] - lr * db
    return weights, biases


def test_restarts_1_with_sgd_is_plain_full_batch_gradient_descent_from_the_net() -> None:
    p = PROBLEMS["three-input"]
    net = Network([3, 4, 2, 1], seed=5)
    weights = [layer.weights.copy() for layer in net.layers]
    biases = [layer.bias.copy() for layer in net.layers]
    net.fit(p.X, p.y, epochs=5, optimizer="sgd", learning_rate=0.7, restarts=1)
    want_W, want_b = numpy_sgd(weights, biases, p.X, p.y[:, None], 0.7, 5)
    for layer, W, b in zip(net.layers, want_W, want_b, strict=True):
        np.testing.assert_allclose(layer.weights, W, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer.bias, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_mini_batch_sgd_with_kept_buffers_is_plain_sgd_on_the_same_batches(activation) -> None:
    """Training reuses its arrays from step to step (and a short last batch has its own):
    every step must still equal one fresh gradient step on that batch."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(23, 3)), rng.integers(0, 3, size=23)
    net = Network([3, 5, 4, 3], activation=activation, output_activation="softmax",
                  loss="cross_entropy", seed=9)
    reference = net.copy()  # same weights and the same random state: the same shuffles
    history = net.fit(X, y, epochs=3, batch_size=5, optimizer="sgd", learning_rate=0.3,
                      restarts=1)
    losses = []
    for _ in range(3):
        order, epoch_loss = reference.rng.permutation(23), 0.0
        for first in range(0, 23, 5):
            rows = order[first : first + 5]
            epoch_loss += reference.loss(X[rows], y[rows]) * rows.size / 23
            for layer, (dW, db) in zip(reference.layers, reference.gradients(X[rows], y[rows]),
                                       strict=True):
                layer.weights -= 0.3 * dW
                layer.bias -= 0.3 * db
        losses.append(epoch_loss)
    for layer, want in zip(net.layers, reference.layers, strict=True):
        np.testing.assert_allclose(layer.weights, want.weights, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.bias, want.bias, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("copies", [None, 3])
def test_dense_layer_computes_the_formulas_for_any_batch(dtype, copies) -> None:
    """One network's plain matrices and a stack of copies, batch sizes changing from call to
    call, in the layer's own dtype."""
    rng = np.random.default_rng(1)
    lead = () if copies is None else (copies,)
    W = rng.normal(size=(*lead, 4, 2)).astype(dtype)
    b = rng.normal(size=(*lead, 2)).astype(dtype)
    layer = Dense(W, b, get_activation("tanh"))
    tol = dict(rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    for n in (5, 3, 5, 1):
        X = rng.normal(size=(n, 4)).astype(dtype)
        A = layer.forward(X)
        np.testing.assert_allclose(A, np.tanh(X @ W + b[..., None, :]), **tol)
        dZ = rng.normal(size=A.shape).astype(dtype)
        dW, db, dX = layer.backward(dZ)
        assert dW.dtype == db.dtype == dX.dtype == dtype
        np.testing.assert_allclose(dW, X.T @ dZ, **tol)
        np.testing.assert_allclose(db, dZ.sum(axis=-2), **tol)
        np.testing.assert_allclose(dX, dZ @ np.swapaxes(W, -1, -2), **tol)


def test_sample_weight_in_fit_weights_the_gradient_step() -> None:
    net = Network([2, 3, 1], seed=2)
    before = net.copy()
    w = np.array([1.0, 3.0, 0.0, 2.0])
    net.fit(XOR.X, XOR.y, epochs=1, optimizer="sgd", learning_rate=0.5, restarts=1,
            sample_weight=w)
    for layer, old, (dW, db) in zip(
        net.layers, before.layers, before.gradients(XOR.X, XOR.y, sample_weight=w), strict=True
    ):
        np.testing.assert_allclose(layer.weights, old.weights - 0.5 * dW, rtol=1e-13)
        np.testing.assert_allclose(layer.bias, old.bias - 0.5 * db, rtol=1e-13)


def test_zero_sample_weights_in_a_mini_batch_just_leave_those_samples_out() -> None:
    """Valid weights (non-negative, not all zero) with online SGD: a sample of weight 0 must not
    move the weights, and must not stop training."""
    w = np.array([1.0, 0.0, 2.0, 1.0])
    net = Network([2, 3, 1], seed=2)
    manual = net.copy()
    net.fit(XOR.X, XOR.y, epochs=2, batch_size=1, shuffle=False, optimizer="sgd",
            learning_rate=0.5, restarts=1, sample_weight=w)
    for _ in range(2):
        for i in (0, 2, 3):  # one sample per step: its weight normalises to 1
            for layer, (dW, db) in zip(
                manual.layers, manual.gradients(XOR.X[i : i + 1], XOR.y[i : i + 1]), strict=True
            ):
                layer.weights -= 0.5 * dW
                layer.bias -= 0.5 * db
    assert_same_parameters(net, manual, rtol=1e-12)


# --- reproducibility ----------------------------------------------------------------------------
def noisy_classes(seed: int = 0, n: int = 30):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] * X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(float)
    return X, y


FITS = {
    "full-batch-restarts": dict(epochs=100),
    "mini-batch-shuffled": dict(epochs=15, batch_size=4, shuffle=True, optimizer="adam",
                                learning_rate=0.05),
}


@pytest.mark.parametrize("kwargs", list(FITS.values()), ids=list(FITS))
def test_same_seed_is_bit_identical_and_another_seed_differs(kwargs: dict) -> None:
    X, y = noisy_classes()
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        net = Network([2, 4, 1], seed=seed)
        runs[name] = (net, net.fit(X, y, **kwargs))
    (a, ha), (b, hb), (c, hc) = runs["a"], runs["b"], runs["c"]
    assert_same_parameters(a, b)
    assert ha.loss == hb.loss and ha.gradient_norms == hb.gradient_norms
    assert ha.replica == hb.replica and ha.epochs == hb.epochs
    assert np.array_equal(np.array(ha.loss), np.array(hb.loss))
    assert not np.array_equal(a.layers[0].weights, c.layers[0].weights)
    assert ha.loss != hc.loss


def test_shuffle_changes_the_mini_batches() -> None:
    X, y = noisy_classes()
    kwargs = dict(epochs=3, batch_size=4, optimizer="sgd", learning_rate=0.5, restarts=1)
    shuffled, ordered = Network([2, 4, 1], seed=1), Network([2, 4, 1], seed=1)
    shuffled.fit(X, y, shuffle=True, **kwargs)
    ordered.fit(X, y, shuffle=False, **kwargs)
    assert not np.array_equal(shuffled.layers[0].weights, ordered.layers[0].weights)


# --- float32 end to end -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "optimizer", ["adam", SGD(0.1, momentum=0.9)], ids=["adam", "sgd-momentum"])
@pytest.mark.parametrize("batch_size", [None, 3])
def test_float32_stays_float32_through_fit(optimizer, batch_size) -> None:
    X, y = noisy_classes(n=12)
    net = Network([2, 3, 1], activation="tanh", dtype="float32", seed=0)
    history = net.fit(X, y, epochs=4, batch_size=batch_size, optimizer=optimizer, restarts=3,
                      validation_data=(X, y))
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.predict(X).dtype == np.float32
    assert all(g.dtype == np.float32 for pair in net.gradients(X, y) for g in pair)
    states = [a for s in history.optimizer.state for a in s.values() if np.ndim(a) > 0]
    assert states, "the optimizer kept no per-parameter state"
    assert {a.dtype for a in states} == {np.dtype(np.float32)}
    assert all(np.isfinite(v) for v in history.loss + history.val_loss)


# --- divergence ----------------------------------------------------------------------------------
def unscaled_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(0.0, 100.0, size=(50, 3))
    return X, X @ np.array([3.0, -2.0, 5.0]) + 1000.0


def diverging_fit(learning_rate: float) -> tuple[Network, object]:
    X, y = unscaled_regression()
    net = Network([3, 4, 1], output_activation="identity", seed=0)
    with pytest.warns(NumericalWarning, match="diverged"):
        history = net.fit(X, y, epochs=300, optimizer="sgd", learning_rate=learning_rate,
                          restarts=1)
    return net, history


def test_huge_learning_rate_warns_and_stops_as_diverged_with_finite_weights() -> None:
    net, history = diverging_fit(1e6)
    assert history.stopped_because == "diverged"
    assert history.epochs < 300
    assert all(np.all(np.isfinite(p)) for p in net.parameters())


def test_weights_restored_after_divergence_have_a_finite_loss() -> None:
    """"The last finite weights were restored": a network that can still be evaluated."""
    net, history = diverging_fit(1e6)
    X, y = unscaled_regression()
    with np.errstate(over="ignore", invalid="ignore"):
        restored_loss = net.loss(X, y)
    assert np.isfinite(restored_loss), (
        f"restored weights have loss {restored_loss}; last finite epoch losses "
        f"{history.loss[-3:]}")


def test_weights_stay_finite_when_one_update_overflows() -> None:
    """A first step that overflows the weights themselves (lr = 1e308): still restored finite."""
    net, history = diverging_fit(1e308)
    assert history.stopped_because == "diverged"
    assert all(np.all(np.isfinite(p)) for p in net.parameters()), net.parameters()


# --- stopping rules ------------------------------------------------------------------------------
def test_epochs_none_stops_when_xor_targets_are_met() -> None:
    net = Network([2, 2, 1], seed=0)
    history = net.fit(XOR.X, XOR.y)
    assert history.stopped_because == "targets met"
    assert history.learned is True
    assert np.all(np.abs(net.predict(XOR.X)[:, 0] - XOR.y) < 0.1)
    assert history.epochs == len(history.loss) < 10_000
    assert history.loss[-1] == pytest.approx(net.loss(XOR.X, XOR.y), rel=1e-12)


def test_epochs_none_gives_up_on_an_unlearnable_problem() -> None:
    """The same inputs with both labels: no network gets all outputs within 0.1."""
    rng = np.random.default_rng(0)
    X = rng.random((12, 2))
    X, y = np.vstack([X, X]), np.r_[np.zeros(12), np.ones(12)]
    net = Network([2, 1, 1], seed=0)
    history = net.fit(X, y, restarts=1, max_epochs=3000)
    assert history.stopped_because in ("converged", "max_epochs")
    assert history.learned is False
    assert history.epochs == len(history.loss) <= 3000


def test_max_epochs_caps_epochs_none() -> None:
    """With tol=0 the loss never counts as stalled, so only the cap stops training."""
    X, y = noisy_classes(2, n=16)
    net = Network([2, 2, 1], seed=0)
    history = net.fit(X, y, restarts=1, max_epochs=40, tol=0.0)
    assert history.stopped_because == "max_epochs"
    assert history.epochs == len(history.loss) == 40


def test_learned_is_none_for_regression_targets() -> None:
    X, y = unscaled_regression()
    net = Network([3, 2, 1], output_activation="identity", seed=0)
    history = net.fit(X / 100, y / 1000, epochs=3, restarts=1)
    assert history.learned is None
    assert history.stopped_because == "epochs done"


def test_restarts_keep_a_copy_that_met_the_targets() -> None:
    """Copy 0 starts with identical hidden units (all zero), so it cannot learn XOR; the kept
    copy must be another one, and it must meet the targets."""
    net = Network([2, 2, 1], seed=1)
    for p in net.parameters():
        p[...] = 0.0
    history = net.fit(XOR.X, XOR.y, restarts=8)
    assert history.restarts == 8
    assert history.stopped_because == "targets met"
    assert history.replica != 0
    assert history.learned is True
    assert np.all(np.abs(net.predict(XOR.X)[:, 0] - XOR.y) < 0.1)
    assert history.loss[-1] == pytest.approx(net.loss(XOR.X, XOR.y), rel=1e-12)


def test_restarts_1_from_identical_hidden_units_cannot_learn_xor() -> None:
    net = Network([2, 2, 1], seed=1)
    for p in net.parameters():
        p[...] = 0.0
    history = net.fit(XOR.X, XOR.y, restarts=1, max_epochs=2000)
    assert history.learned is False
    np.testing.assert_array_equal(net.layers[0].weights[:, 0], net.layers[0].weights[:, 1])


# --- what history records ------------------------------------------------------------------------
def test_validation_loss_is_the_loss_on_the_validation_data_after_each_epoch() -> None:
    X, y = noisy_classes(0)
    Xv, yv = noisy_classes(1, n=10)
    net = Network([2, 3, 1], seed=0)
    stepwise = net.copy()
    history = net.fit(X, y, epochs=5, optimizer="sgd", learning_rate=0.5, restarts=1,
                      validation_data=(Xv, yv))
    expected = []
    for _ in range(5):
        stepwise.fit(X, y, epochs=1, optimizer="sgd", learning_rate=0.5, restarts=1)
        expected.append(stepwise.loss(Xv, yv))
    assert len(history.val_loss) == 5
    np.testing.assert_allclose(history.val_loss, expected, rtol=1e-12)
    assert history.val_loss[-1] == pytest.approx(net.loss(Xv, yv), rel=1e-12)


@pytest.mark.parametrize("batch_size", [None, 3])
def test_gradient_norms_are_the_last_steps_weight_gradient_norms(batch_size) -> None:
    X, y = noisy_classes(0, n=8)
    net = Network([2, 3, 2, 1], seed=0)
    manual = net.copy()
    history = net.fit(X, y, epochs=4, batch_size=batch_size, shuffle=False, optimizer="sgd",
                      learning_rate=0.5, restarts=1)
    step = len(X) if batch_size is None else batch_size
    expected = []
    for _ in range(4):
        for first in range(0, len(X), step):
            rows = slice(first, first + step)
            grads = manual.gradients(X[rows], y[rows])
            for layer, (dW, db) in zip(manual.layers, grads, strict=True):
                layer.weights -= 0.5 * dW
                layer.bias -= 0.5 * db
        expected.append([np.linalg.norm(dW) for dW, _ in grads])
    assert len(history.gradient_norms) == history.epochs == 4
    assert all(len(row) == 3 for row in history.gradient_norms)
    np.testing.assert_allclose(history.gradient_norms, expected, rtol=1e-12)
    assert_same_parameters(net, manual, rtol=1e-12)


def overfitting_regression():
    """12 noisy training samples of sin(3x) and 40 clean validation ones: a 1-32-1 net overfits."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (12, 1))
    y = np.sin(3 * X) + 0.3 * rng.normal(size=X.shape)
    Xv = rng.uniform(-1, 1, (40, 1))
    return X, y, Xv, np.sin(3 * Xv)


def test_early_stopping_restores_the_weights_of_the_best_validation_epoch() -> None:
    X, y, Xv, yv = overfitting_regression()
    kwargs = dict(optimizer="adam", learning_rate=0.03, restarts=1)
    net = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=0)
    start = net.copy()
    history = net.fit(X, y, epochs=2000, validation_data=(Xv, yv),
                      callbacks=[EarlyStopping(patience=20)], **kwargs)
    best = int(np.argmin(history.val_loss))
    assert history.stopped_because == "early stopping"
    assert history.epochs == len(history.val_loss) == best + 1 + 21
    assert net.loss(Xv, yv) == pytest.approx(min(history.val_loss), rel=1e-12)
    assert net.loss(Xv, yv) < history.val_loss[-1]
    start.fit(X, y, epochs=best + 1, **kwargs)
    assert_same_parameters(net, start, rtol=1e-12)


def test_early_stopping_with_restarts_keeps_the_copy_of_the_best_validation_loss() -> None:
    """With K copies, EarlyStopping watches the best copy's val_loss; after restoring that
    epoch, the network kept must be the copy that reached the best val_loss."""
    X, y, Xv, yv = overfitting_regression()
    wrong = []
    for seed in range(5):
        stopper = EarlyStopping(patience=20)
        net = Network([1, 32, 1], activation="tanh", output_activation="identity", seed=seed)
        history = net.fit(X, y, epochs=2000, optimizer="adam", learning_rate=0.03, restarts=4,
                          validation_data=(Xv, yv), callbacks=[stopper])
        assert history.stopped_because == "early stopping"
        if not np.isclose(net.loss(Xv, yv), stopper.best, rtol=1e-12, atol=0):
            wrong.append((seed, history.replica, net.loss(Xv, yv), stopper.best))
    assert not wrong, f"(seed, kept copy, its val_loss, best val_loss seen): {wrong}"


# --- bad arguments to fit ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(epochs=0), "epochs must be a positive integer"),
        (dict(epochs=-3), "epochs must be a positive integer"),
        (dict(epochs=2.5), "epochs must be a positive integer"),
        (dict(epochs="10"), "epochs must be a positive integer"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(batch_size=-1), "batch_size must be a positive integer"),
        (dict(batch_size=1.5), "batch_size must be a positive integer"),
        (dict(restarts=0), "restarts must be a positive integer"),
        (dict(restarts=-2), "restarts must be a positive integer"),
        (dict(restarts=1.5), "restarts must be a positive integer"),
        (dict(optimizer="adagrad"), "unknown optimizer 'adagrad'"),
        (dict(optimizer="rprop", batch_size=2), "full-batch"),
        (dict(target_tolerance=0.0), "target_tolerance must be positive"),
        (dict(validation_data=XOR.X), "validation_data must be a pair"),
        (dict(validation_data=(XOR.X, XOR.y[:2])), "X has 4 samples but y has 2"),
    ],
)
def test_bad_fit_arguments_are_refused_by_name(kwargs: dict, message: str) -> None:
    net = Network([2, 2, 1], seed=0)
    before = net.copy()
    with pytest.raises(ValueError, match=re.escape(message)):
        net.fit(XOR.X, XOR.y, **kwargs)
    assert_same_parameters(net, before)


def test_optimizer_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="optimizer must be a name or an Optimizer"):
        Network([2, 2, 1]).fit(XOR.X, XOR.y, epochs=1, optimizer=0.1)


# --- learning ------------------------------------------------------------------------------------
def test_online_sgd_learns_xor_for_most_seeds() -> None:
    learned = []
    for seed in range(10):
        net = Network([2, 2, 1], seed=seed)
        net.fit(XOR.X, XOR.y, batch_size=1, optimizer="sgd", learning_rate=0.5)
        learned.append(right_side_of_half(net, XOR.X, XOR.y))
    assert sum(learned) >= 8, learned


DEFAULT_RUNS = [
    (name, seed)
    for name in PROBLEMS
    for seed in (range(3) if name == "even-odd" else range(10))
]


@pytest.mark.parametrize(("name", "seed"), DEFAULT_RUNS,
                         ids=[f"{name}-seed{seed}" for name, seed in DEFAULT_RUNS])
def test_learns_every_builtin_problem_with_the_defaults(name: str, seed: int) -> None:
    p = PROBLEMS[name]
    net = Network(list(p.sizes), seed=seed)
    history = net.fit(p.X, p.y)
    assert right_side_of_half(net, p.X, p.y), (history, net.predict(p.X)[:, 0], p.y)


def test_auto_restarts_redraw_copies_that_get_stuck():
    """With restarts=None, copies that stall short of the targets are redrawn until one learns."""
    calls = []

    def zeros_then_random(rng, n_in, n_out, shape):
        calls.append(shape)
        # the net's own layers (2 draws) and the 16 copies (2 draws) start symmetric, which
        # cannot learn XOR; redraws are random
        return np.zeros(shape) if len(calls) <= 4 else rng.uniform(-1.5, 1.5, size=shape)

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0.0])
    net = Network([2, 2, 1], init=zeros_then_random, seed=0)
    history = net.fit(X, y)
    assert history.redrawn > 0
    assert history.stopped_because == "targets met"
    assert history.learned
    assert np.all((net.predict(X).ravel() > 0.5) == (y > 0.5))


def test_explicit_restarts_are_never_redrawn():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    with pytest.warns(UserWarning, match="init='zeros'"):
        net = Network([2, 2, 1], init="zeros", seed=0)
    history = net.fit(X, [0, 1, 1, 0], restarts=4)
    assert history.redrawn == 0
    assert history.stopped_because == "converged"
    assert not history.learned


@pytest.mark.parametrize("restarts", [1, 3])
def test_history_norms_are_the_formulas_on_both_engines(restarts):
    """``gradient_norms`` is ``||dW_l||`` of each epoch's last step and ``update_ratios``
    ``||W_end - W_start|| / ||W_start||`` over the epoch: the compiled engine records them in
    its loop, the NumPy path after each epoch; both must give the formulas' numbers."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 5)), rng.integers(0, 2, 64).astype(float)

    class Spy(Callback):  # the weights and last gradients of the kept copy, after each epoch
        def on_train_begin(self, training):
            self.weights = [np.concatenate([W.ravel() for W, _ in training.copy_of(k)])
                            for k in range(restarts)]
            self.rows = []

        def on_epoch_end(self, training, epoch, logs):
            now = [np.concatenate([W.ravel() for W, _ in training.copy_of(k)])
                   for k in range(restarts)]
            norms = [np.linalg.norm(dW) for dW, _ in training.grad_views]  # (one copy: its own)
            self.rows.append((self.weights, now, norms))
            self.weights = now

    histories = {}
    for engine in ("compiled", "numpy"):
        net, spy = Network([5, 7, 3, 1], seed=3), Spy()
        histories[engine] = net.fit(X, y, epochs=7, batch_size=16, optimizer="sgd",
                                    restarts=restarts, engine=engine, callbacks=[spy])
        assert histories[engine].engine == engine
        assert len(histories[engine].gradient_norms) == len(histories[engine].update_ratios) == 7
    for name in ("gradient_norms", "update_ratios", "loss"):
        np.testing.assert_allclose(getattr(histories["compiled"], name),
                                   getattr(histories["numpy"], name), rtol=1e-10)
    assert np.all(np.array(histories["numpy"].gradient_norms) > 0)
    kept = histories["numpy"].replica
    for epoch, (before, after, norms) in enumerate(spy.rows):  # the NumPy run's
        split = np.cumsum([35, 21])  # W_1 (5 x 7), W_2 (7 x 3), W_3 (3 x 1)
        for layer, (a, b) in enumerate(zip(np.split(before[kept], split),
                                           np.split(after[kept], split), strict=True)):
            ratio = np.linalg.norm(b - a) / np.linalg.norm(a)
            assert histories["numpy"].update_ratios[epoch][layer] == pytest.approx(ratio,
                                                                                   rel=1e-9)
        if restarts == 1:
            np.testing.assert_allclose(histories["numpy"].gradient_norms[epoch], norms,
                                       rtol=1e-12)


def net_parameters(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def test_evaluation_in_chunks_does_not_depend_on_the_chunk_size():
    from chainrule.training import evaluate

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 3)), rng.integers(0, 2, 50).astype(float)
    net = Network([3, 4, 1], seed=0)
    Xc, Y, c = net.check_data(X, y, sample_weight=rng.uniform(0.5, 2, 50))
    whole, met_whole = evaluate(net, net.layers, Xc, Y, c, chunk=50, tolerance=0.45)
    pieces, met_pieces = evaluate(net, net.layers, Xc, Y, c, chunk=7, tolerance=0.45)
    np.testing.assert_allclose(pieces, whole, rtol=1e-13)
    assert whole[0] == pytest.approx(net.loss(X, y, sample_weight=c[:, 0] * 50), rel=1e-12)
    np.testing.assert_array_equal(met_pieces, met_whole)


def test_logs_hold_the_loss_of_the_copy_training_names() -> None:
    """With several copies, ``logs["loss"]`` is the lowest copy's, and ``training.logged_copy``
    says which one (the scikit-learn adapter adds that copy's weight penalty)."""
    from chainrule.callbacks import Callback
    from chainrule.training import evaluate

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    seen = []

    class Spy(Callback):
        def on_epoch_end(self, training, epoch, logs):
            X_, Y_, c = training.net.check_data(X, y)
            losses = evaluate(training.net, training.layers, X_, Y_, c)[0]
            seen.append((training.logged_copy, logs["loss"], losses))

    net = Network([2, 8, 1], output_activation="identity", seed=4)
    net.fit(X, y, epochs=3, optimizer=SGD(1e-12), restarts=5, callbacks=[Spy()])
    for copy, logged, losses in seen:  # the weights barely move: end-of-epoch losses will do
        assert copy == int(np.argmin(losses))
        assert logged == pytest.approx(losses[copy], rel=1e-9)
    assert len({round(float(v), 6) for v in seen[0][2]}) == 5  # the copies really differ
