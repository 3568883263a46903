"""chainrule's gradient check: the comparison itself (points, tolerances, structures, errors,
the printed report). Naming the mistakes is tested in test_mistakes.py."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import mistake_zoo as zoo
import numpy as np
import pytest

from chainrule import Network
from chainrule.explain import GradientReport, check_gradients

ALL = zoo.CORRECT + zoo.BUGGY


def ids(members: list[zoo.Member]) -> list[str]:
    return [m.name for m in members]


def run(member: zoo.Member, **kwargs) -> GradientReport:
    return check_gradients(member.loss, member.grad, member.params, **kwargs)


def leaves(params) -> list:
    """The arrays and floats of a (possibly nested) parameter structure, in order."""
    if isinstance(params, dict):
        return [x for v in params.values() for x in leaves(v)]
    if isinstance(params, list):
        return [x for v in params for x in leaves(v)]
    return [params]


# -- right and wrong ------------------------------------------------------------------------------
@pytest.mark.parametrize("member", zoo.CORRECT, ids=ids(zoo.CORRECT))
def test_correct_code_passes_with_and_without_data(member: zoo.Member) -> None:
    for report in (run(member), run(member, X=member.X, y=member.y)):
        assert report.ok, str(report)
        assert report.failed == [] and report.mistakes == {}
        assert all(row.verdict == "ok" and row.mistake is None for row in report.rows)


@pytest.mark.parametrize("member", zoo.BUGGY, ids=ids(zoo.BUGGY))
def test_exactly_the_wrong_parameters_are_named(member: zoo.Member) -> None:
    report = run(member, X=member.X, y=member.y)
    assert {str(name) for name in report.failed} == {str(n) for n in member.expected}, str(
        report)


def test_it_checks_at_several_points_including_after_training_steps() -> None:
    report = run(zoo.xor())
    assert len(report.points) >= 3
    assert report.points[0] == "your parameters"
    assert any("steps of gradient descent" in p for p in report.points)
    assert f"{len(report.points)} points" in str(report).splitlines()[0]


def test_a_mistake_that_vanishes_at_the_given_point_is_still_found() -> None:
    # relu hidden units all active at the given parameters: a dropped relu derivative changes
    # nothing there, and shows only at the other points
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    y = X[:, :1] - X[:, 1:] ** 2
    params = {"W1": rng.normal(scale=0.3, size=(2, 4)), "b1": np.full(4, 3.0),
              "W2": rng.normal(size=(4, 1)), "b2": np.zeros(1)}

    def loss(p):
        return float(np.mean((np.maximum(X @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"] - y) ** 2))

    def grad(p):
        Z1 = X @ p["W1"] + p["b1"]
        A1 = np.maximum(Z1, 0)
        D2 = 2 * (A1 @ p["W2"] + p["b2"] - y) / len(X)
        D1 = D2 @ p["W2"].T  # bug: the relu mask (Z1 > 0) left out
        return {"W1": X.T @ D1, "b1": D1.sum(0), "W2": A1.T @ D2, "b2": D2.sum(0)}

    assert (X @ params["W1"] + params["b1"] > 0).all()  # every unit active at the start
    report = check_gradients(loss, grad, params, X=X, y=y)
    assert report.failed == ["W1", "b1"]
    assert report.mistakes == {"W1": "derivative-missing", "b1": "derivative-missing"}
    assert report["W1"].point > 0  # found at another point than the learner's own


# -- parameters: structures, copies ---------------------------------------------------------------
def test_output_updated_first_really_mutates_its_argument() -> None:
    # precondition of the next test: this grad changes the arrays it is given
    member = zoo.xor("stale-weights")
    params = copy.deepcopy(member.params)
    member.grad(params)
    assert not np.array_equal(params["W2"], member.params["W2"])


@pytest.mark.parametrize("member", ALL, ids=ids(ALL))
def test_params_are_not_modified(member: zoo.Member) -> None:
    before = copy.deepcopy(member.params)
    objects = leaves(member.params)
    run(member, X=member.X, y=member.y)
    for obj, same, old in zip(leaves(member.params), objects, leaves(before), strict=True):
        assert obj is same
        assert type(obj) is type(old)
        assert np.array_equal(obj, old)


def test_caller_arrays_are_not_perturbed_even_during_the_check() -> None:
    member = zoo.xor()
    before = copy.deepcopy(member.params)

    def loss(p: dict) -> float:
        for name, array in member.params.items():
            assert np.array_equal(array, before[name]), f"{name} perturbed in place"
        return member.loss(p)

    assert check_gradients(loss, member.grad, member.params).ok


def test_float_params_are_passed_as_floats_and_gradients_may_be_floats() -> None:
    seen = []

    def loss(p: dict) -> float:
        seen.extend(type(value) for value in p.values())
        return zoo.chain_loss(p)

    report = check_gradients(loss, zoo.chain_grad, {"w1": 1, "b1": 0.0, "w2": np.float64(0.7),
                                                     "b2": 0.2})
    assert report.ok, str(report)
    assert set(seen) == {float}
    assert [row.shape for row in report.rows] == [()] * 4


def test_parameters_given_by_name_and_gradients_as_a_tuple() -> None:
    # def loss(w1, b1, w2, b2) and a gradient returned as a tuple in the order of the keys
    def loss(w1, b1, w2, b2):
        return zoo.chain_loss({"w1": w1, "b1": b1, "w2": w2, "b2": b2})

    def grad(w1, b1, w2, b2):
        g = zoo.chain_grad({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, "wrong-input")
        return g["w1"], g["b1"], g["w2"], g["b2"]

    report = check_gradients(loss, grad, {"w1": 0.3, "b1": -0.2, "w2": 0.8, "b2": 0.1},
                             X=zoo.CHAIN_X, y=zoo.CHAIN_Y)
    assert report.mistakes == {"w2": "wrong-input"}


def test_list_and_nested_list_params_are_named_by_position() -> None:
    member = zoo.nielsen("not-computed")
    report = run(member)
    assert report.failed == ["params[1][0]"]
    flat = [w for pair in member.params for w in pair]
    report = check_gradients(
        lambda ps: member.loss([ps[:2], ps[2:]]),
        lambda ps: [g for pair in member.grad([ps[:2], ps[2:]]) for g in pair], flat)
    assert report.failed == [2]
    assert "params[2]" in str(report)


def test_loss_and_gradient_may_take_the_data_as_arguments() -> None:
    def loss(p, X, y):
        return float(np.mean((zoo.sigma(zoo.sigma(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])
                              - y) ** 2))

    member = zoo.xor("derivative-missing")
    report = check_gradients(loss, lambda p, X, y: member.grad(p), member.params, X=zoo.XOR_X,
                             y=zoo.XOR_Y)
    assert report.mistakes == {"W1": "derivative-missing", "b1": "derivative-missing"}


# -- numerics -------------------------------------------------------------------------------------
def test_saturated_unit_with_near_zero_gradients_is_not_flagged() -> None:
    member = zoo.xor()
    params = copy.deepcopy(member.params)
    params["W1"][:, 0] = [12.0, 12.0]  # hidden unit 0 sees z = 10, 22, 22, 34: saturated
    params["b1"][0] = 10.0
    report = check_gradients(member.loss, member.grad, params)
    assert report.ok, str(report)


def scaled_loss(p: dict) -> float:
    return float(np.sum((p["w"] * 1e-7 - 1) ** 2))


def test_large_magnitude_params_use_a_scaled_step() -> None:
    params = {"w": np.array([3e7, -5e7])}

    def grad(p: dict) -> dict:
        return {"w": 2e-7 * (p["w"] * 1e-7 - 1)}

    report = check_gradients(scaled_loss, grad, params)
    assert report.ok, str(report)
    assert report["w"].max_rel_error < 1e-7
    off = check_gradients(scaled_loss, lambda p: {"w": grad(p)["w"] * 1.1}, params)
    assert off.failed == ["w"]
    assert off.mistakes == {"w": "scale"} and off["w"].factor == pytest.approx(1.1)


def test_tolerances_are_keyword_arguments() -> None:
    assert not run(zoo.xor(), rtol=1e-13).ok
    never = zoo.xor("not-computed")
    assert not run(never).ok
    assert run(never, atol=1e5).ok  # a huge floor hides the small gradients of W1


def test_numeric_gradients_match_torch_autograd() -> None:
    import torch

    member = zoo.softmax()
    X = torch.tensor(zoo.SOFTMAX_X, dtype=torch.float64)
    labels = torch.tensor(zoo.SOFTMAX_LABELS)

    def torch_grad(p: dict) -> dict:
        t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
        logits = torch.tanh(X @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
        torch.nn.functional.cross_entropy(logits, labels).backward()
        return {k: v.grad.numpy() for k, v in t.items()}

    report = check_gradients(member.loss, torch_grad, member.params, rtol=1e-7)
    assert report.ok, str(report)
    assert "tanh then softmax" in report.network


# -- float32 --------------------------------------------------------------------------------------
def test_float32_gradient_gives_a_note_and_looser_tolerances() -> None:
    member = zoo.xor()

    def grad32(p: dict) -> dict:
        return {k: v.astype(np.float32) for k, v in member.grad(p).items()}

    report = check_gradients(member.loss, grad32, member.params)
    assert report.ok, str(report)
    assert report.rtol >= 1e-2
    assert any("float32" in note and "float64" in note for note in report.notes)
    assert not any("float32" in note for note in run(member).notes)


def test_float32_loss_still_finds_a_missing_factor() -> None:
    def loss32(p: dict) -> np.float32:
        X, T = zoo.XOR_X.astype(np.float32), zoo.XOR_Y.astype(np.float32)
        W1, b1, W2, b2 = (p[k].astype(np.float32) for k in ("W1", "b1", "W2", "b2"))
        return np.mean((zoo.sigma(zoo.sigma(X @ W1 + b1) @ W2 + b2) - T) ** 2)

    good = zoo.xor()
    assert check_gradients(loss32, good.grad, good.params).ok
    report = check_gradients(loss32, zoo.xor("sign").grad, good.params)
    assert set(report.mistakes.values()) == {"sign"}


# -- clear errors ---------------------------------------------------------------------------------
def with_grads(change) -> tuple:
    member = zoo.xor()
    return member.loss, lambda p: change(member.grad(p)), member.params


def test_wrong_shape_raises_naming_the_parameter_and_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"W2 has shape \(1, 2\) .* shape \(2, 1\) \(it looks "
                                         r"transposed\)"):
        check_gradients(*with_grads(lambda g: {**g, "W2": g["W2"].T.copy()}))
    with pytest.raises(ValueError, match=r"W1 has shape \(\) .* shape \(2, 2\)"):
        check_gradients(*with_grads(lambda g: {**g, "W1": 0.5}))


def test_missing_or_unexpected_key_raises() -> None:
    with pytest.raises(ValueError, match="b1 is missing"):
        check_gradients(*with_grads(lambda g: {k: v for k, v in g.items() if k != "b1"}))
    with pytest.raises(ValueError, match=r"unexpected \['W3'\]"):
        check_gradients(*with_grads(lambda g: {**g, "W3": g["W1"]}))
    with pytest.raises(TypeError, match="must return a dict"):
        check_gradients(*with_grads(lambda g: g["W1"]))


def test_wrong_list_length_raises() -> None:
    member = zoo.xor()
    names = ["W1", "b1", "W2", "b2"]
    with pytest.raises(ValueError, match="list of 4 gradients; it returned 3"):
        check_gradients(lambda ps: member.loss(dict(zip(names, ps, strict=True))),
                        lambda ps: list(member.grad(dict(zip(names, ps, strict=True))).values()
                                        )[:3],
                        [member.params[k] for k in names])


def test_none_gradient_raises_type_error() -> None:
    with pytest.raises(TypeError, match="gradient of W2 must be a number or an array"):
        check_gradients(*with_grads(lambda g: {**g, "W2": None}))


def test_non_finite_gradient_is_a_failing_parameter() -> None:
    def poison(g: dict) -> dict:
        g["b1"][1] = np.nan
        return g

    report = check_gradients(*with_grads(poison))
    assert report.failed == ["b1"]
    assert report["b1"].verdict == "not finite"
    assert report["b1"].worst_index == (1,)


def test_bad_functions_and_params_raise() -> None:
    member = zoo.chain()
    with pytest.raises(TypeError, match="loss_fn must be a function"):
        check_gradients(0.25, member.grad, member.params)
    with pytest.raises(TypeError, match="grad_fn must be a function"):
        check_gradients(member.loss, None, member.params)
    with pytest.raises(TypeError, match="params must be a dict or a list"):
        check_gradients(member.loss, member.grad, 0.5)
    with pytest.raises(ValueError, match="params is empty"):
        check_gradients(member.loss, member.grad, {})
    with pytest.raises(TypeError, match="parameter w2 must be a number"):
        check_gradients(member.loss, member.grad, {**member.params, "w2": "0.3"})
    with pytest.raises(TypeError, match=r"parameter params\[1\] must be a number"):
        check_gradients(member.loss, member.grad, [np.zeros(2), "0.3"])


def test_non_scalar_or_non_finite_loss_raises() -> None:
    member = zoo.xor()
    with pytest.raises(ValueError, match=r"single number, got ndarray of shape \(8,\)"):
        check_gradients(lambda p: np.zeros(8), member.grad, member.params)
    with pytest.raises(ValueError, match="finite loss"):
        check_gradients(lambda p: np.nan, member.grad, member.params)


# -- check_gradients(net, X, y) -------------------------------------------------------------------
class StandInNet:
    """A 2-layer sigmoid MLP with the chainrule Network API (weights of shape (n_in, n_out))."""

    def __init__(self, dtype: type = np.float64, bug: str | None = None) -> None:
        rng = np.random.default_rng(5)
        self.dtype = np.dtype(dtype)
        self.bug = bug
        self.layers = [SimpleNamespace(weights=rng.normal(size=(n_in, n_out)).astype(dtype),
                                       bias=rng.normal(size=n_out).astype(dtype))
                       for n_in, n_out in ((2, 3), (3, 1))]

    def forward(self, X: np.ndarray) -> list[np.ndarray]:
        activations = [X.astype(self.dtype)]
        for layer in self.layers:
            activations.append(zoo.sigma(activations[-1] @ layer.weights + layer.bias))
        return activations

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(np.sum((self.forward(X)[-1] - y) ** 2, axis=1)))

    def gradients(self, X: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        activations = self.forward(X)
        out = activations[-1]
        delta = (2 * (out - y.astype(self.dtype)) / len(X)) * out * (1 - out)
        grads = []
        for i in reversed(range(len(self.layers))):
            grads.insert(0, (activations[i].T @ delta, delta.sum(axis=0)))
            back = delta @ self.layers[i].weights.T
            a = activations[i]
            delta = (-back if self.bug == "hidden sign" else back) * a * (1 - a)
        return grads


def snapshot(net: StandInNet) -> list[tuple]:
    return [(layer.weights, layer.weights.copy(), layer.bias, layer.bias.copy())
            for layer in net.layers]


def assert_unchanged(net: StandInNet, saved: list[tuple]) -> None:
    for layer, (weights, weights_copy, bias, bias_copy) in zip(net.layers, saved, strict=True):
        assert layer.weights is weights and layer.bias is bias
        assert np.array_equal(layer.weights, weights_copy)
        assert np.array_equal(layer.bias, bias_copy)
        assert layer.weights.dtype == weights_copy.dtype


def test_network_gradients_are_checked_and_the_net_is_left_unchanged() -> None:
    net = StandInNet()
    saved = snapshot(net)
    report = check_gradients(net, zoo.XOR_X, zoo.XOR_Y)
    assert report.ok, str(report)
    assert [row.name for row in report.rows] == ["W1", "b1", "W2", "b2"]
    assert report["W1"].shape == (2, 3)
    assert report.network.startswith("2-3-1, sigmoid then sigmoid")
    assert_unchanged(net, saved)


def test_network_with_a_wrong_hidden_layer_is_caught() -> None:
    report = check_gradients(StandInNet(bug="hidden sign"), zoo.XOR_X, zoo.XOR_Y)
    assert report.failed == ["W1", "b1"]
    assert report.mistakes == {"W1": "sign", "b1": "sign"}


def test_chainrule_networks_pass_their_own_check() -> None:
    for kwargs, y in (({}, zoo.XOR_Y), ({"activation": "tanh", "output_activation": "softmax",
                                         "loss": "cross_entropy"}, np.array([0, 1, 1, 0]))):
        net = Network([2, 3, 2 if kwargs else 1], seed=1, **kwargs)
        report = check_gradients(net, zoo.XOR_X, y)
        assert report.ok, str(report)
        assert report.network, str(report)


def test_network_is_restored_when_its_loss_raises() -> None:
    net = StandInNet()
    saved = snapshot(net)
    calls = []

    def failing_loss(X: np.ndarray, y: np.ndarray) -> float:
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("boom")
        return StandInNet.loss(net, X, y)

    net.loss = failing_loss
    with pytest.raises(RuntimeError, match="boom"):
        check_gradients(net, zoo.XOR_X, zoo.XOR_Y)
    assert_unchanged(net, saved)


def test_float32_network_is_checked_with_a_note() -> None:
    net = StandInNet(dtype=np.float32)
    saved = snapshot(net)
    report = check_gradients(net, zoo.XOR_X, zoo.XOR_Y)
    assert report.ok, str(report)
    assert any("float32" in note for note in report.notes)
    assert report.rtol >= 1e-2
    assert_unchanged(net, saved)
    assert check_gradients(StandInNet(np.float32, "hidden sign"), zoo.XOR_X,
                           zoo.XOR_Y).failed == ["W1", "b1"]


# -- the printed report ---------------------------------------------------------------------------
def test_report_prints_the_network_a_table_then_the_explanations() -> None:
    report = run(zoo.xor("not-computed"))
    lines = str(report).splitlines()
    assert lines[0].startswith("Gradient check: 1 of 4 parameters wrong")
    assert lines[1].startswith("Your network: 2-2-1, sigmoid then sigmoid")
    header, rows = lines[2], lines[3:7]
    for column in ("parameter", "shape", "max abs error", "max rel error", "worst index",
                   "mistake"):
        assert column in header
    for line, name in zip(rows, ("W1", "b1", "W2", "b2"), strict=True):
        assert line.split()[0] == name
    assert [line[header.index("mistake"):] for line in rows] == ["not-computed", "ok", "ok",
                                                                "ok"]
    assert lines[7].startswith("W1[")
    assert "not-computed: never computed" in lines[7]
    assert "yours: dL/dW1 = 0" in str(report)
    assert "right: dL/dW1 = xᵀ·δ1" in str(report)
    assert any(line.startswith("Note: notation: x → z1 = x·W1 + b1") for line in lines)


def test_a_large_network_is_checked_on_a_sample_and_its_own_gradient() -> None:
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(60, 200)), rng.integers(0, 5, 60)
    params = {"W1": rng.normal(scale=0.1, size=(200, 20)), "b1": np.zeros(20),
              "W2": rng.normal(scale=0.3, size=(20, 5)), "b2": np.zeros(5)}

    def loss(p):
        Z = np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        Z = Z - Z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(60), labels]))

    def grad(p, bug=False):
        A1 = np.tanh(X @ p["W1"] + p["b1"])
        Z = A1 @ p["W2"] + p["b2"]
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        D2 = (P - np.eye(5)[labels]) / 60
        D1 = D2 @ p["W2"].T * (1 if bug else 1 - A1**2)
        return {"W1": X.T @ D1, "b1": D1.sum(0), "W2": A1.T @ D2, "b2": D2.sum(0)}

    assert check_gradients(loss, grad, params, X=X, y=labels).ok
    report = check_gradients(loss, lambda p: grad(p, bug=True), params, X=X, y=labels)
    assert report.mistakes == {"W1": "derivative-missing", "b1": "derivative-missing"}
    assert any("entries per point" in note for note in report.notes)
