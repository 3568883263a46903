"""Optimizer update rules, recomputed from their formulas and compared with ``torch.optim``.

Each optimizer is fed the same sequence of gradients as (a) a plain NumPy transcription of its
formula written here and (b) the corresponding ``torch.optim`` class; the parameters must agree
after every step. ``fit`` is checked to apply the same rules to ``net.gradients``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from chainrule import SGD, Adam, Network, RMSprop, Rprop
from chainrule.optimizers import Optimizer, get_optimizer

STEPS = 12
SHAPES = [(3, 4), (4,)]


def gradient_sequence(seed: int = 0) -> list[list[np.ndarray]]:
    """Gradients for a (3, 4) matrix and a (4,) vector over ``STEPS`` steps, with sign flips
    and some exact zeros (which Rprop treats specially)."""
    rng = np.random.default_rng(seed)
    steps = []
    for t in range(STEPS):
        grads = [rng.normal(size=shape) * (1 + t % 3) for shape in SHAPES]
        grads[0][0, 0] = 0.0 if t % 4 == 0 else grads[0][0, 0]
        grads[1][1] = abs(grads[1][1])  # this one never changes sign: its Rprop step grows
        steps.append(grads)
    return steps


def initial_parameters() -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    return [rng.normal(size=shape) for shape in SHAPES]


# --- the formulas, written out once more -------------------------------------------------------
def sgd_rule(lr: float, momentum: float = 0.0, nesterov: bool = False) -> Callable:
    def update(p, g, s):
        if momentum == 0:
            return p - lr * g
        s["v"] = momentum * s.get("v", 0.0) + g
        direction = g + momentum * s["v"] if nesterov else s["v"]
        return p - lr * direction

    return update


def adam_rule(lr: float, beta_1: float = 0.9, beta_2: float = 0.999, eps: float = 1e-8):
    def update(p, g, s):
        t = s["t"] = s.get("t", 0) + 1
        s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
        s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g**2
        m_hat = s["m"] / (1 - beta_1**t)
        v_hat = s["v"] / (1 - beta_2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)

    return update


def rmsprop_rule(lr: float, rho: float = 0.99, eps: float = 1e-8):
    def update(p, g, s):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g**2
        return p - lr * g / (np.sqrt(s["v"]) + eps)

    return update


def rprop_rule(lr: float, eta_minus=0.5, eta_plus=1.2, step_min=1e-6, step_max=50.0):
    def update(p, g, s):
        previous = s.get("previous", np.zeros_like(g))
        step = s.get("step", np.full_like(g, lr))
        p, step, g = p.copy(), step.copy(), g.copy()
        for i in np.ndindex(g.shape):  # one weight at a time, as the paper describes it
            if g[i] * previous[i] > 0:
                step[i] = min(step[i] * eta_plus, step_max)
            elif g[i] * previous[i] < 0:
                step[i] = max(step[i] * eta_minus, step_min)
                g[i] = 0.0  # iRprop-: no update after a sign change
            p[i] -= np.sign(g[i]) * step[i]
        s["previous"], s["step"] = g, step
        return p

    return update


def run_reference(rule: Callable, grads_per_step) -> list[list[np.ndarray]]:
    params = initial_parameters()
    states = [{} for _ in params]
    trajectory = []
    for grads in grads_per_step:
        params = [rule(p, g, s) for p, g, s in zip(params, grads, states, strict=True)]
        trajectory.append([p.copy() for p in params])
    return trajectory


def run_chainrule(optimizer: Optimizer, grads_per_step) -> list[list[np.ndarray]]:
    params = initial_parameters()
    trajectory = []
    for grads in grads_per_step:
        optimizer.step(params, [g.copy() for g in grads])
        trajectory.append([p.copy() for p in params])
    return trajectory


def run_torch(make: Callable, grads_per_step) -> list[list[np.ndarray]]:
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True)
              for p in initial_parameters()]
    optimizer = make(params)
    trajectory = []
    for grads in grads_per_step:
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


def assert_same_trajectory(actual, expected, rtol: float = 1e-12) -> None:
    assert len(actual) == len(expected) == STEPS
    for t, (got, want) in enumerate(zip(actual, expected, strict=True)):
        for p, q in zip(got, want, strict=True):
            np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-14, err_msg=f"step {t + 1}")


CASES = {
    "sgd": (
        lambda: SGD(0.05),
        sgd_rule(0.05),
        lambda ps: torch.optim.SGD(ps, lr=0.05),
    ),
    "sgd-momentum": (
        lambda: SGD(0.05, momentum=0.9),
        sgd_rule(0.05, momentum=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    ),
    "sgd-nesterov": (
        lambda: SGD(0.05, momentum=0.8, nesterov=True),
        sgd_rule(0.05, momentum=0.8, nesterov=True),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
    ),
    "adam": (
        lambda: Adam(0.01),
        adam_rule(0.01),
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
    ),
    "adam-betas": (
        lambda: Adam(0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-6),
        adam_rule(0.02, beta_1=0.5, beta_2=0.9, eps=1e-6),
        lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.5, 0.9), eps=1e-6),
    ),
    "rmsprop": (
        lambda: RMSprop(0.01),
        rmsprop_rule(0.01),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99, eps=1e-8),
    ),
    "rmsprop-rho": (
        lambda: RMSprop(0.03, rho=0.8, epsilon=1e-6),
        rmsprop_rule(0.03, rho=0.8, eps=1e-6),
        lambda ps: torch.optim.RMSprop(ps, lr=0.03, alpha=0.8, eps=1e-6),
    ),
    "rprop": (
        lambda: Rprop(0.05),
        rprop_rule(0.05),
        lambda ps: torch.optim.Rprop(ps, lr=0.05, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)),
    ),
    "rprop-clipped": (  # steps hit both bounds
        lambda: Rprop(0.05, eta_minus=0.1, eta_plus=2.0, step_min=0.01, step_max=0.3),
        rprop_rule(0.05, eta_minus=0.1, eta_plus=2.0, step_min=0.01, step_max=0.3),
        lambda ps: torch.optim.Rprop(ps, lr=0.05, etas=(0.1, 2.0), step_sizes=(0.01, 0.3)),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_update_rule_matches_the_formula(case: str) -> None:
    make, rule, _ = CASES[case]
    grads = gradient_sequence()
    assert_same_trajectory(run_chainrule(make(), grads), run_reference(rule, grads))


@pytest.mark.parametrize("case", list(CASES))
def test_update_rule_matches_torch_optim(case: str) -> None:
    make, _, make_torch = CASES[case]
    grads = gradient_sequence(1)
    assert_same_trajectory(run_chainrule(make(), grads), run_torch(make_torch, grads))


@pytest.mark.parametrize("case", list(CASES))
def test_update_rule_on_stacked_copies_matches_the_formula_per_copy(case: str) -> None:
    """Training updates K copies stacked on a leading axis in one step: each row must follow
    the formula as if it were alone (Adam counts its steps per copy)."""
    make, rule, _ = CASES[case]
    stacked = [np.stack([g, -0.5 * g, 2 * g]) for g in gradient_sequence(2)[0]]  # 3 copies
    params = [np.stack([p, p + 1, -p]) for p in initial_parameters()]
    optimizer = make()
    for _ in range(3):
        optimizer.step(params, stacked)
    for i, p0 in enumerate(initial_parameters()):
        for k, (start, scale) in enumerate(((p0, 1.0), (p0 + 1, -0.5), (-p0, 2.0))):
            want, state = start.copy(), {}
            for _ in range(3):
                want = rule(want, scale * gradient_sequence(2)[0][i], state)
            np.testing.assert_allclose(params[i][k], want, rtol=1e-12, atol=1e-14)


def test_rprop_steps_reach_their_bounds() -> None:
    """The clipped case really exercises step_max and step_min (else it tests nothing more)."""
    optimizer = CASES["rprop-clipped"][0]()
    run_chainrule(optimizer, gradient_sequence())
    steps = optimizer.state[1]["step"]
    assert steps[1] == pytest.approx(0.3)  # gradient of constant sign: grown to step_max
    all_steps = np.concatenate([s["step"].ravel() for s in optimizer.state])
    assert np.isclose(all_steps, 0.01).any()


# --- through fit ------------------------------------------------------------------------------
def regression_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10, 3))
    y = np.tanh(X @ np.array([1.0, -2.0, 0.5]))[:, None]
    return X, y


FIT_CASES = {
    "sgd": (dict(optimizer="sgd", learning_rate=0.3), sgd_rule(0.3)),
    "sgd-nesterov": (
        dict(optimizer=SGD(0.1, momentum=0.9, nesterov=True)),
        sgd_rule(0.1, momentum=0.9, nesterov=True),
    ),
    "adam": (dict(optimizer="adam", learning_rate=0.05), adam_rule(0.05)),
    "rmsprop": (dict(optimizer="rmsprop", learning_rate=0.02), rmsprop_rule(0.02)),
    "rprop": (dict(optimizer="rprop", learning_rate=0.07), rprop_rule(0.07)),
    "auto-full-batch-is-rprop": (dict(), rprop_rule(0.1)),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_applies_the_rule_to_backprop_gradients(case: str) -> None:
    """Full-batch fit for 6 epochs == 6 steps of the formula on ``net.gradients``."""
    kwargs, rule = FIT_CASES[case]
    X, y = regression_problem()
    net = Network([3, 4, 1], activation="tanh", output_activation="identity", seed=4)
    manual = net.copy()
    history = net.fit(X, y, epochs=6, batch_size=None, restarts=1, **kwargs)

    states = [{} for _ in manual.parameters()]
    for _ in range(6):
        flat = [g for pair in manual.gradients(X, y) for g in pair]
        for p, g, s in zip(manual.parameters(), flat, states, strict=True):
            p[...] = rule(p.copy(), g, s)
    assert history.epochs == 6
    for got, want in zip(net.parameters(), manual.parameters(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_optimizer_object_state_carries_over_between_fit_calls() -> None:
    """Two fits of 3 epochs with the same Adam object == one fit of 6 epochs."""
    X, y = regression_problem()
    twice = Network([3, 4, 1], activation="tanh", output_activation="identity", seed=4)
    once = twice.copy()
    adam = Adam(0.05)
    for _ in range(2):
        twice.fit(X, y, epochs=3, optimizer=adam, restarts=1)
    once.fit(X, y, epochs=6, optimizer=Adam(0.05), restarts=1)
    for p, q in zip(twice.parameters(), once.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


def test_weight_decay_adds_decay_times_weights_to_weight_gradients_only() -> None:
    X, y = regression_problem()
    net = Network([3, 4, 1], activation="tanh", output_activation="identity", seed=4)
    before = net.copy()
    lr, decay = 0.2, 0.3
    net.fit(X, y, epochs=1, optimizer="sgd", learning_rate=lr, weight_decay=decay, restarts=1)
    for layer, old, (dW, db) in zip(
        net.layers, before.layers, before.gradients(X, y), strict=True
    ):
        np.testing.assert_allclose(
            layer.weights, old.weights - lr * (dW + decay * old.weights), rtol=1e-13, atol=1e-15
        )
        np.testing.assert_allclose(layer.bias, old.bias - lr * db, rtol=1e-13, atol=1e-15)


# --- bad arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize("learning_rate", [0.0, -0.1, float("nan"), float("inf")])
def test_non_positive_or_non_finite_learning_rate_is_refused(learning_rate: float) -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(learning_rate)
    X, y = regression_problem()
    net = Network([3, 2, 1], output_activation="identity")
    with pytest.raises(ValueError, match="learning_rate"):
        net.fit(X, y, epochs=1, optimizer="adam", learning_rate=learning_rate)


def test_bad_momentum_and_nesterov_without_momentum_are_refused() -> None:
    with pytest.raises(ValueError, match="momentum"):
        SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="nesterov"):
        SGD(0.1, nesterov=True)


def test_get_optimizer_names_and_objects() -> None:
    assert isinstance(get_optimizer("auto", None, full_batch=True), Rprop)
    assert isinstance(get_optimizer("auto", None, full_batch=False), Adam)
    assert isinstance(get_optimizer("RMSprop", 0.1, full_batch=False), RMSprop)
    assert get_optimizer("sgd", 0.25, full_batch=True).learning_rate == 0.25
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        get_optimizer("adagrad", None, full_batch=True)
    with pytest.raises(ValueError, match="learning_rate"):
        get_optimizer(SGD(0.1), 0.5, full_batch=True)
    with pytest.raises(TypeError, match="optimizer"):
        get_optimizer(torch.optim.SGD, None, full_batch=True)
