"""Tests for chainrule.gradcheck, mostly on the networks of the bug zoo (tests/bugzoo.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import bugzoo
import numpy as np
import pytest
from bugzoo import BUGGY, CORRECT, NOT_CARRIED_BACK, Case

from chainrule.gradcheck import GradientReport, check_gradients

ALL = CORRECT + BUGGY


def ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def run(case: Case, **kwargs: float) -> GradientReport:
    return check_gradients(case.loss_fn, case.grad_fn, case.params, **kwargs)


def names_of(params: dict | list) -> list:
    return list(params) if isinstance(params, dict) else list(range(len(params)))


def has_carried_back_note(report: GradientReport) -> bool:
    return any(NOT_CARRIED_BACK in note for note in report.notes)


def with_grads(change: Callable[[dict], Any]) -> tuple:
    """The correct 3-4-1 case with its gradients passed through `change`."""
    case = bugzoo.mlp_case("3-input", 4)
    return case.loss_fn, lambda p: change(case.grad_fn(p)), case.params


# --- The bug zoo ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CORRECT, ids=ids(CORRECT))
def test_correct_twin_passes(case: Case) -> None:
    report = run(case)
    assert report.ok, str(report)
    assert report.failed == []
    assert all(row.verdict == "ok" for row in report.rows)


@pytest.mark.parametrize("case", BUGGY, ids=ids(BUGGY))
def test_mistake_is_caught_and_exactly_the_wrong_parameters_are_named(case: Case) -> None:
    report = run(case)
    assert not report.ok
    assert set(report.failed) == case.failing, str(report)
    assert len(report.failed) == len(case.failing)


HINTED = [case for case in BUGGY if case.hint]


@pytest.mark.parametrize("case", HINTED, ids=ids(HINTED))
def test_report_recognises_the_signature(case: Case) -> None:
    assert case.hint in str(run(case))


@pytest.mark.parametrize("case", [c for c in BUGGY if "missing factor 2" in c.name],
                         ids=ids([c for c in BUGGY if "missing factor 2" in c.name]))
def test_missing_factor_2_is_named_with_its_factor(case: Case) -> None:
    for row in run(case).rows:
        assert row.verdict == "missing factor"
        assert "analytic = 0.5 x numeric" in row.explanation
        assert "missing factor of 2 " in row.explanation


def test_sign_error_is_named() -> None:
    report = run(bugzoo.chain_case("sign error"))
    assert [row.verdict for row in report.rows] == ["sign error"] * 5
    assert all("a sign error" in row.explanation for row in report.rows)


def test_gradient_never_computed_is_never_updated() -> None:
    report = run(bugzoo.mlp_case("XOR", 2, "first layer never computed"))
    for name in ("W1", "b1"):
        assert report[name].verdict == "never updated"
        assert "never updated" in report[name].explanation
        assert report[name].analytic == 0.0
        assert report[name].numeric != 0.0


@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_carried_back_note_only_when_the_last_parameters_are_right(case: Case) -> None:
    names = names_of(case.params)
    wrong = len(case.failing)
    earlier_only = 0 < wrong < len(names) and set(names[:wrong]) == case.failing
    assert has_carried_back_note(run(case)) == earlier_only


def test_no_carried_back_note_when_a_wrong_parameter_follows_a_right_one() -> None:
    loss_fn, grad_fn, params = with_grads(lambda g: {**g, "W1": -g["W1"], "W2": -g["W2"]})
    report = check_gradients(loss_fn, grad_fn, params)
    assert report.failed == ["W1", "W2"]
    assert not has_carried_back_note(report)


def test_a_generic_mistake_is_not_called_a_factor_or_a_sign() -> None:
    report = run(bugzoo.chain_case("weight where the activation belongs"))
    assert report["w2"].verdict == "wrong"
    assert "chain rule" in report["w2"].explanation


def test_worst_entry_is_named_with_analytic_and_numeric_values() -> None:
    case = bugzoo.mlp_case("half adder", 2, "missing transpose")
    row = run(case)["W1"]
    analytic = case.grad_fn(copy.deepcopy(case.params))["W1"]
    assert row.worst_index == (1, 0)
    assert row.analytic == pytest.approx(analytic[row.worst_index], rel=1e-12)
    assert abs(row.analytic - row.numeric) <= row.max_abs_error
    assert row.explanation.startswith(f"W1[1, 0]: analytic {row.analytic:.6g} vs numeric")


# --- Parameters: structures, copies -----------------------------------------------------


def test_output_updated_first_really_mutates_its_argument() -> None:
    # Precondition of the next test: this grad_fn changes the array it is given.
    case = bugzoo.mlp_case("XOR", 2, "output updated first")
    params = copy.deepcopy(case.params)
    case.grad_fn(params)
    assert not np.array_equal(params["W2"], case.params["W2"])


@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_params_are_not_modified(case: Case) -> None:
    before = copy.deepcopy(case.params)
    objects = [case.params[name] for name in names_of(case.params)]
    run(case)
    assert names_of(case.params) == names_of(before)
    for name, obj in zip(names_of(case.params), objects, strict=True):
        assert case.params[name] is obj
        assert type(obj) is type(before[name])
        assert np.array_equal(obj, before[name])


def test_caller_arrays_are_not_perturbed_even_during_the_check() -> None:
    case = bugzoo.mlp_case("XOR", 2)
    before = copy.deepcopy(case.params)

    def loss_fn(p: dict) -> float:
        for name, array in case.params.items():
            assert np.array_equal(array, before[name]), f"{name} perturbed in place"
        return case.loss_fn(p)

    assert check_gradients(loss_fn, case.grad_fn, case.params).ok


def test_float_params_are_passed_as_floats_and_gradients_may_be_floats() -> None:
    seen = []

    def loss_fn(p: dict) -> float:
        seen.extend(type(value) for value in p.values())
        return bugzoo.chain_loss(p)

    report = check_gradients(loss_fn, bugzoo.chain_grad, {"w11": 1, "w12": -0.5, "b1": 0.0,
                                                          "w2": np.float64(0.7), "b2": 0.2})
    assert report.ok, str(report)
    assert set(seen) == {float}
    assert [row.shape for row in report.rows] == [()] * 5


def test_tuple_params_use_indices_as_names() -> None:
    case = bugzoo.as_list(bugzoo.mlp_case("XOR", 2, "first layer never computed"))
    report = check_gradients(lambda ps: case.loss_fn(list(ps)),
                             lambda ps: tuple(case.grad_fn(list(ps))), tuple(case.params))
    assert report.failed == [0, 1]
    assert "params[0][" in str(report)


# --- Numerical edge cases ---------------------------------------------------------------


def test_saturated_unit_with_near_zero_gradients_is_not_flagged() -> None:
    case = bugzoo.mlp_case("XOR", 2)
    params = copy.deepcopy(case.params)
    params["W1"][0] = [12.0, 12.0]  # hidden unit 0 sees z = 10, 22, 22, 34: saturated
    params["b1"][0] = 10.0
    report = check_gradients(case.loss_fn, case.grad_fn, params)
    assert report.ok, str(report)
    # A plain relative error |a - n| / max(|a|, |n|) would flag W1: its entries are noise.
    row = report["W1"]
    assert abs(row.analytic) < 1e-10
    assert abs(row.analytic - row.numeric) / max(abs(row.analytic), abs(row.numeric)) > 1e-3


def scaled_loss(p: dict) -> float:
    return float(np.sum((p["w"] * 1e-7 - 1) ** 2))


def test_large_magnitude_params_use_a_scaled_step() -> None:
    # With a fixed step of ~6e-6, rounding in the loss (~4e-15) / step gives errors of ~1e-9
    # on gradients of ~1e-6: a rel. error of ~1e-3. A step scaled to |w| keeps it tiny.
    params = {"w": np.array([3e7, -5e7])}

    def grad_fn(p: dict) -> dict:
        return {"w": 2e-7 * (p["w"] * 1e-7 - 1)}

    report = check_gradients(scaled_loss, grad_fn, params)
    assert report.ok, str(report)
    assert report["w"].max_rel_error < 1e-8
    # Its gradients are small next to the loss (40): a 10% error must still be seen.
    off = check_gradients(scaled_loss, lambda p: {"w": grad_fn(p)["w"] * 1.1}, params)
    assert off.failed == ["w"]


def test_tolerances_are_keyword_arguments() -> None:
    assert not run(bugzoo.mlp_case("XOR", 2), rtol=1e-13).ok
    never = bugzoo.mlp_case("XOR", 2, "first layer never computed")
    assert not run(never).ok
    assert run(never, atol=1e5).ok  # a huge floor hides the small gradients of W1 and b1


def test_numeric_gradients_match_torch_autograd() -> None:
    torch = pytest.importorskip("torch")
    case = bugzoo.mlp_case("3-input", 4)
    X, T = (torch.tensor(array, dtype=torch.float64) for array in bugzoo.DATA["3-input"])

    def torch_grad(p: dict) -> dict:
        t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
        A1 = torch.sigmoid(X @ t["W1"].T + t["b1"])
        A2 = torch.sigmoid(A1 @ t["W2"].T + t["b2"])
        ((A2 - T) ** 2).sum(dim=1).mean().backward()
        return {k: v.grad.numpy() for k, v in t.items()}

    report = check_gradients(case.loss_fn, torch_grad, case.params, rtol=1e-7)
    assert report.ok, str(report)
    expected = torch_grad(case.params)
    for row in report.rows:
        assert row.numeric == pytest.approx(expected[row.name][row.worst_index], rel=1e-7)


# --- float32 ----------------------------------------------------------------------------


def test_float32_gradient_gives_a_note_not_a_crash() -> None:
    case = bugzoo.mlp_case("3-input", 4)

    def grad32(p: dict) -> dict:
        return {k: v.astype(np.float32) for k, v in case.grad_fn(p).items()}

    report = check_gradients(case.loss_fn, grad32, case.params)
    assert report.ok, str(report)
    assert "float32" in report.notes[0] and "float64" in report.notes[0]
    assert "gradients of W1, b1, W2, b2" in report.notes[0]
    assert not run(case).notes  # float64 gets no note


def loss32(p: dict) -> np.float32:
    X, T = (array.astype(np.float32) for array in bugzoo.DATA["3-input"])
    W1, b1, W2, b2 = (p[name].astype(np.float32) for name in bugzoo.MLP_NAMES)
    A2 = bugzoo.sigma(bugzoo.sigma(X @ W1.T + b1) @ W2.T + b2)
    return np.mean(np.sum((A2 - T) ** 2, axis=1))


def test_float32_loss_is_checked_with_a_longer_step_and_still_finds_a_missing_factor() -> None:
    good = bugzoo.mlp_case("3-input", 4)
    report = check_gradients(loss32, good.grad_fn, good.params)
    assert report.ok, str(report)
    assert "float32 found in the loss" in report.notes[0]
    bad = bugzoo.mlp_case("3-input", 4, "missing factor 2")
    report = check_gradients(loss32, bad.grad_fn, bad.params)
    assert [row.verdict for row in report.rows] == ["missing factor"] * 4


# --- Clear errors -----------------------------------------------------------------------


def test_wrong_shape_raises_naming_the_parameter_and_both_shapes() -> None:
    loss_fn, grad_fn, params = with_grads(lambda g: {**g, "W1": g["W1"].T})
    with pytest.raises(ValueError, match=r"W1 has shape \(3, 4\) .* shape \(4, 3\) \(it looks "
                                         r"transposed\)"):
        check_gradients(loss_fn, grad_fn, params)
    loss_fn, grad_fn, params = with_grads(lambda g: {**g, "b2": 0.5})
    with pytest.raises(ValueError, match=r"b2 has shape \(\) .* shape \(1,\)"):
        check_gradients(loss_fn, grad_fn, params)


def test_missing_or_unexpected_key_raises() -> None:
    loss_fn, grad_fn, params = with_grads(lambda g: {k: v for k, v in g.items() if k != "b1"})
    with pytest.raises(ValueError, match=r"missing \['b1'\]"):
        check_gradients(loss_fn, grad_fn, params)
    loss_fn, grad_fn, params = with_grads(lambda g: {**g, "W3": g["W1"]})
    with pytest.raises(ValueError, match=r"unexpected \['W3'\]"):
        check_gradients(loss_fn, grad_fn, params)
    loss_fn, grad_fn, params = with_grads(lambda g: list(g.values()))
    with pytest.raises(TypeError, match="must return a dict"):
        check_gradients(loss_fn, grad_fn, params)


def test_wrong_list_length_raises() -> None:
    case = bugzoo.as_list(bugzoo.mlp_case("3-input", 4))
    with pytest.raises(ValueError, match="list of 4 gradients; it returned 3"):
        check_gradients(case.loss_fn, lambda ps: case.grad_fn(ps)[:3], case.params)


def test_none_gradient_raises_type_error() -> None:
    loss_fn, grad_fn, params = with_grads(lambda g: {**g, "W2": None})
    with pytest.raises(TypeError, match="gradient of W2 must be a number or an array"):
        check_gradients(loss_fn, grad_fn, params)


def test_non_finite_gradient_is_a_failing_parameter() -> None:
    def poison(g: dict) -> dict:
        g["b1"][2] = np.nan
        return g

    report = check_gradients(*with_grads(poison))
    assert report.failed == ["b1"]
    assert report["b1"].verdict == "not finite"
    assert report["b1"].worst_index == (2,)


def test_bad_functions_and_params_raise() -> None:
    case = bugzoo.chain_case()
    with pytest.raises(TypeError, match="loss_fn must be a function"):
        check_gradients(0.25, case.grad_fn, case.params)
    with pytest.raises(TypeError, match="grad_fn must be a function"):
        check_gradients(case.loss_fn, None, case.params)
    with pytest.raises(TypeError, match="params must be a dict or a list"):
        check_gradients(case.loss_fn, case.grad_fn, 0.5)
    with pytest.raises(ValueError, match="params is empty"):
        check_gradients(case.loss_fn, case.grad_fn, {})
    with pytest.raises(TypeError, match="parameter w2 must be a number"):
        check_gradients(case.loss_fn, case.grad_fn, {**case.params, "w2": "0.3"})
    with pytest.raises(TypeError, match=r"parameter params\[0\] must be a number"):
        check_gradients(case.loss_fn, case.grad_fn, [[np.zeros(2), np.zeros(3)]])


def test_non_scalar_or_non_finite_loss_raises() -> None:
    case = bugzoo.mlp_case("3-input", 4)
    with pytest.raises(ValueError, match=r"single number, got ndarray of shape \(8,\)"):
        check_gradients(lambda p: np.zeros(8), case.grad_fn, case.params)
    with pytest.raises(ValueError, match="finite loss"):
        check_gradients(lambda p: np.nan, case.grad_fn, case.params)


# --- check_gradients(net, X, y) ---------------------------------------------------------


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
            activations.append(bugzoo.sigma(activations[-1] @ layer.weights + layer.bias))
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


XOR_X, XOR_Y = bugzoo.DATA["XOR"]


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
    report = check_gradients(net, XOR_X, XOR_Y)
    assert report.ok, str(report)
    assert [row.name for row in report.rows] == ["W1", "b1", "W2", "b2"]
    assert report["W1"].shape == (2, 3)
    assert_unchanged(net, saved)


def test_network_with_a_wrong_hidden_layer_is_caught() -> None:
    net = StandInNet(bug="hidden sign")
    report = check_gradients(net, XOR_X, XOR_Y)
    assert report.failed == ["W1", "b1"]
    assert report["W1"].verdict == "sign error"
    assert has_carried_back_note(report)


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
        check_gradients(net, XOR_X, XOR_Y)
    assert_unchanged(net, saved)


def test_float32_network_is_checked_with_a_note() -> None:
    net = StandInNet(dtype=np.float32)
    saved = snapshot(net)
    report = check_gradients(net, XOR_X, XOR_Y)
    assert report.ok, str(report)
    assert "float32 found in the network" in report.notes[0]
    assert report.rtol >= 1e-2
    assert_unchanged(net, saved)
    assert check_gradients(StandInNet(np.float32, "hidden sign"), XOR_X, XOR_Y).failed == [
        "W1", "b1"]


# --- The printed report -----------------------------------------------------------------


def test_report_prints_a_table_then_the_explanations() -> None:
    report = run(bugzoo.mlp_case("XOR", 2, "first layer never computed"))
    lines = str(report).splitlines()
    assert lines[0].startswith("Gradient check: 2 of 4 parameters wrong")
    header, rows = lines[1], lines[2:6]
    for column in ("parameter", "shape", "max abs error", "max rel error", "worst index",
                   "verdict"):
        assert column in header
    for line, name in zip(rows, ("W1", "b1", "W2", "b2"), strict=True):
        assert line.split()[0] == name
    verdicts = [line[header.index("verdict"):] for line in rows]  # an aligned column
    assert verdicts == ["never updated", "never updated", "ok", "ok"]
    assert lines[6].startswith("W1[0, 0]: analytic 0 vs numeric")
    assert lines[-1].startswith("Note: W2, b2 are right but W1, b1")
