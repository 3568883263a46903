"""Naming the mistake: the zoo (one member per code at four shapes of learner code), the five
questions' code as the learners wrote it, check_update, and what the report says."""

from __future__ import annotations

import importlib

import learner_code
import learner_scalars
import mistake_zoo as zoo
import numpy as np
import pytest
from learner_code import sig

from chainrule.explain import MISTAKES, check_gradients, check_update

QUESTIONS = ["q000", "q001", "q002", "q003", "q004"]


def ids(members: list[zoo.Member]) -> list[str]:
    return [m.name for m in members]


def named(report) -> dict[str, str]:
    return {str(name): code for name, code in report.mistakes.items()}


# -- the zoo --------------------------------------------------------------------------------------
def test_the_zoo_has_every_code_at_every_shape() -> None:
    assert set(zoo.CODES) == set(MISTAKES)
    for shape in zoo.SHAPES:
        codes = {m.bug for m in zoo.BUGGY if m.shape == shape.__name__}
        assert codes == set(MISTAKES)


@pytest.mark.parametrize("member", zoo.BUGGY, ids=ids(zoo.BUGGY))
def test_every_member_gets_its_code_on_exactly_its_wrong_parameters(member: zoo.Member) -> None:
    report = check_gradients(member.loss, member.grad, member.params, X=member.X, y=member.y)
    assert named(report) == member.expected, str(report)
    for row in report.rows:
        assert (row.mistake is None) == row.ok
    if member.bug != "unexplained":
        assert all(row.yours for row in report.rows if not row.ok), str(report)


@pytest.mark.parametrize("member", zoo.BUGGY, ids=ids(zoo.BUGGY))
def test_the_correct_twin_is_never_flagged(member: zoo.Member) -> None:
    twin = getattr(zoo, member.shape)(None)
    twin_params = member.params  # the buggy member's own starting point
    report = check_gradients(twin.loss, twin.grad, twin_params, X=member.X, y=member.y)
    assert report.ok and report.mistakes == {}, str(report)


@pytest.mark.parametrize("member", [m for m in zoo.BUGGY if m.bug in (
    "not-computed", "sign", "scale")], ids=ids([m for m in zoo.BUGGY if m.bug in (
        "not-computed", "sign", "scale")]))
def test_without_the_data_the_numbers_alone_still_name_zero_sign_and_scale(
        member: zoo.Member) -> None:
    # the zoo's losses read module globals the data discovery does not trust to be data
    # (CHAIN_X, XOR_X, ...): pass nothing, and the pattern alone must still be right
    report = check_gradients(member.loss, member.grad, member.params)
    assert named(report) == member.expected, str(report)


def test_the_mistake_does_not_depend_on_the_order_of_the_keys() -> None:
    member = zoo.chain("derivative-at-wrong-value")
    for order in (("w1", "w2", "b1", "b2"), ("b2", "w2", "b1", "w1")):
        params = {k: member.params[k] for k in order}
        report = check_gradients(member.loss, member.grad, params, X=member.X, y=member.y)
        assert named(report) == {"w1": "derivative-at-wrong-value",
                                 "b1": "derivative-at-wrong-value"}, str(report)


def test_not_carried_back_is_said_only_from_the_structure() -> None:
    # a one-layer logistic regression with a wrong gradient has no layer to carry back to
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), (rng.random(20) > 0.5) * 1.0

    def loss(p):
        a = 1 / (1 + np.exp(-(X @ p["w"] + p["b"])))
        return float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))

    def grad(p):
        a = 1 / (1 + np.exp(-(X @ p["w"] + p["b"])))
        return {"w": X.T @ (a - y) / len(y) * 1.5, "b": np.mean(a - y) * 1.5}

    report = check_gradients(loss, grad, {"w": rng.normal(size=3), "b": 0.1}, X=X, y=y)
    assert named(report) == {"w": "scale", "b": "scale"}
    assert not any("carried back" in note for note in report.notes)
    # question 000's layer that is never updated is not "not carried back" either
    report = check_gradients(*_q("q000").step_as_grad(), X=[1, 0], y=[1])
    assert named(report) == {"W1": "not-computed"}
    assert not any("carried back" in note for note in report.notes)


def test_formulas_are_in_the_learners_names() -> None:
    member = zoo.chain("wrong-input")
    report = check_gradients(member.loss, member.grad, member.params, X=member.X, y=member.y)
    row = report["w2"]
    assert row.yours.startswith("dw2 = δ2·w2: the weight itself where the input a1 belongs")
    assert row.right.startswith("dL/dw2 = Σ over the samples of δ2·a1")
    assert "w2: analytic" in row.explanation and "fix:" in row.explanation
    assert any("z1 = w1·x + b1" in note for note in report.notes)


def test_a_forward_pass_mistake_is_shown_where_it_is() -> None:
    member = zoo.softmax("forward-pass")
    report = check_gradients(member.loss, member.grad, member.params, X=member.X, y=member.y)
    assert "over the samples" in report["W2"].yours
    member = zoo.xor("forward-pass")  # b2 left out of the loss: no classic variant
    report = check_gradients(member.loss, member.grad, member.params, X=member.X, y=member.y)
    assert "your gradient is exactly that of 2-2-1" in report["b2"].yours
    assert report.network.startswith("2-2-1")


def test_an_arbitrary_factor_is_a_scale_with_its_value() -> None:
    member = zoo.xor()
    report = check_gradients(member.loss, lambda p: {k: 0.1 * v for k, v in
                                                     member.grad(p).items()}, member.params)
    assert set(report.mistakes.values()) == {"scale"}
    assert all(row.factor == pytest.approx(0.1) for row in report.rows)
    assert "a missing factor of 10" in report["W1"].yours
    assert "learning rate" in report["W1"].yours


def test_a_scale_and_a_structural_mistake_together_name_the_structural_one() -> None:
    member = zoo.chain("wrong-input")  # and a learning rate left inside the gradient
    report = check_gradients(member.loss, lambda p: {k: 0.1 * v for k, v in
                                                     member.grad(p).items()},
                             member.params, X=member.X, y=member.y)
    assert report.mistakes["w2"] == "wrong-input"
    assert report["w2"].factor == pytest.approx(0.1)
    assert "times 0.1" in report["w2"].yours


# -- check_update ---------------------------------------------------------------------------------
def as_step(member: zoo.Member, rate: float):
    """The member's gradient as a training step that updates in place (the stale-weights
    member's gradient has already updated W2, with the zoo's RATE)."""
    def step(p):
        grads = member.grad(p)
        for name, g in grads.items():
            if not (member.bug == "stale-weights" and name == "W2"):
                p[name] = p[name] - rate * g
    return step


@pytest.mark.parametrize("bug", ["not-computed", "derivative-missing", "stale-weights",
                                 "wrong-input", None])
def test_check_update_recovers_the_implied_gradient(bug: str | None) -> None:
    member = zoo.xor(bug)
    report = check_update(as_step(member, zoo.RATE), member.params, member.loss, zoo.RATE,
                          X=member.X, y=member.y)
    assert named(report) == member.expected, str(report)
    assert "implied" in str(report) or report.ok


def test_check_update_may_return_the_new_parameters() -> None:
    def step(w1, b1, w2, b2):
        g = zoo.chain_grad({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, "wrong-input")
        return w1 - 0.5 * g["w1"], b1 - 0.5 * g["b1"], w2 - 0.5 * g["w2"], b2 - 0.5 * g["b2"]

    def loss(w1, b1, w2, b2):
        return zoo.chain_loss({"w1": w1, "b1": b1, "w2": w2, "b2": b2})

    report = check_update(step, {"w1": 0.3, "b1": -0.2, "w2": 0.8, "b2": 0.1}, loss, 0.5,
                          X=zoo.CHAIN_X, y=zoo.CHAIN_Y)
    assert named(report) == {"w2": "wrong-input"}


def test_check_update_refuses_a_bad_rate_and_a_bad_return() -> None:
    member = zoo.xor()
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        check_update(as_step(member, 0.3), member.params, member.loss, 0)
    with pytest.raises(ValueError, match="step returned something"):
        check_update(lambda p: 3, member.params, member.loss, 0.1)


# -- the five questions ---------------------------------------------------------------------------
def _q(name: str):
    module = importlib.import_module(f"questions.{name}")

    def step_as_grad():
        rate = module.LEARNING_RATE

        def grad(p):
            before = {k: np.asarray(v, dtype=float).copy() for k, v in p.items()}
            after = module.step(p) or p
            return {k: (before[k] - np.asarray(after[k], dtype=float)) / rate for k in p}
        return module.loss, grad, module.params

    module.step_as_grad = step_as_grad
    return module


@pytest.mark.parametrize("name", ["q000", "q001", "q003", "q004"])
def test_each_questions_training_step_gets_its_mistake_named(name: str) -> None:
    q = _q(name)
    report = check_update(q.step, q.params, q.loss, q.LEARNING_RATE)
    assert named(report) == q.MISTAKES, str(report)
    assert report.network, "identified from the parameters and the loss alone"


def test_question_002s_right_backpropagation_is_not_flagged() -> None:
    q = _q("q002")
    report = check_gradients(q.loss, q.grad, q.params)
    assert report.ok, str(report)
    assert report.network == "3-4-1, sigmoid then sigmoid, loss half the sum of (a - t)^2"


def test_question_002s_printed_loss_is_not_the_loss_its_gradient_descends() -> None:
    q = _q("q002")

    def printed(p):  # print(np.linalg.norm(a - target) / 2)  # "this is the mean square loss"
        q.net.w, q.net.b = p
        return float(np.linalg.norm(q.net.feedforward(q.X[q.SAMPLE]) - q.y[q.SAMPLE]) / 2)

    report = check_gradients(printed, q.grad, q.params)
    assert set(report.mistakes.values()) == {"forward-pass"}
    assert "norm" in report.rows[0].yours


def test_question_003_names_the_activation_applied_twice_in_the_forward_pass() -> None:
    q = _q("q003")
    report = check_update(q.step, q.params, q.loss, q.LEARNING_RATE)
    assert "applied twice in layer 2" in report.network
    assert "sigmoid(sigmoid(z2))" in report.rows[0].yours


# -- where the data is found -------------------------------------------------------------------
def test_the_data_is_found_in_a_closure_and_in_self() -> None:
    member = zoo.xor("derivative-missing")

    def make(X, y):  # a loss that closes over its data
        def loss(p):
            A1 = zoo.sigma(X @ p["W1"] + p["b1"])
            return float(np.mean((zoo.sigma(A1 @ p["W2"] + p["b2"]) - y) ** 2))
        return loss

    report = check_gradients(make(zoo.XOR_X.copy(), zoo.XOR_Y.copy()), member.grad,
                             member.params)
    assert named(report) == member.expected

    class Net:  # a loss method that reads self.inputs and self.targets
        def __init__(self):
            self.inputs, self.targets = zoo.XOR_X.copy(), zoo.XOR_Y.copy()

        def loss(self, p):
            return make(self.inputs, self.targets)(p)

    report = check_gradients(Net().loss, member.grad, member.params)
    assert named(report) == member.expected
    assert report.network.startswith("2-2-1")


# -- an L2 penalty on one side only, a product in the wrong order --------------------------------
def regression_net(decay_in_loss: float, decay_in_grad: float):
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    params = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": rng.normal(size=(4, 1)),
              "b2": np.zeros(1)}

    def loss(p):
        out = np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        return float(np.mean((out - y) ** 2) + decay_in_loss * (np.sum(p["W1"] ** 2)
                                                                + np.sum(p["W2"] ** 2)))

    def grad(p):
        A1 = np.tanh(X @ p["W1"] + p["b1"])
        d2 = 2 * (A1 @ p["W2"] + p["b2"] - y) / len(X)
        d1 = d2 @ p["W2"].T * (1 - A1**2)
        return {"W1": X.T @ d1 + 2 * decay_in_grad * p["W1"], "b1": d1.sum(0),
                "W2": A1.T @ d2 + 2 * decay_in_grad * p["W2"], "b2": d2.sum(0)}

    return loss, grad, params, X, y


def test_an_l2_penalty_on_one_side_only_is_a_forward_pass_mistake() -> None:
    loss, grad, params, X, y = regression_net(0.05, 0.05)
    report = check_gradients(loss, grad, params, X=X, y=y)
    assert report.ok and "L2 penalty" in report.network
    loss, grad, params, X, y = regression_net(0.05, 0.0)
    report = check_gradients(loss, grad, params, X=X, y=y)
    assert named(report) == {"W1": "forward-pass", "W2": "forward-pass"}
    assert "your loss adds an L2 penalty" in report["W1"].yours
    loss, grad, params, X, y = regression_net(0.0, 0.05)
    report = check_gradients(loss, grad, params, X=X, y=y)
    assert named(report) == {"W1": "forward-pass", "W2": "forward-pass"}
    assert "your loss does not have" in report["W2"].yours


def test_a_square_weight_gradient_in_the_wrong_order_is_a_wrong_input() -> None:
    member = zoo.softmax()

    def grad(p):
        g = member.grad(p)
        return {**g, "W2": g["W2"].T}  # A1ᵀ·δ2 written the other way round

    report = check_gradients(member.loss, grad, member.params, X=member.X, y=member.y)
    assert named(report) == {"W2": "wrong-input"}
    assert "transposed" in report["W2"].yours


# -- more learners' code ---------------------------------------------------------------------------
@pytest.mark.parametrize("with_data", [True, False], ids=["data given", "data found"])
@pytest.mark.parametrize("name", [name for name, _, _ in learner_code.CASES])
def test_learners_code_from_qa_sites_gets_its_mistake_named(name: str, with_data: bool) -> None:
    make, expected = next((fn, exp) for n, fn, exp in learner_code.CASES if n == name)
    loss, grad, params, X, y = make()
    data = {"X": X, "y": y} if with_data else {}
    report = check_gradients(loss, grad, params, **data)
    assert report.mistakes == expected, str(report)


def test_scalars_whose_biases_are_named_like_weights_and_data_in_numbered_globals() -> None:
    """``w1 .. w9`` with the biases last, the sample in globals ``X1, X2, T``: the network is
    identified without being told, and the wrong derivative named on exactly its parameters."""
    report = check_update(learner_scalars.step, learner_scalars.params, learner_scalars.loss,
                          learner_scalars.lr)
    wrong = {"w1", "w2", "w3", "w4", "w7", "w8"}
    assert report.mistakes == dict.fromkeys(wrong, "derivative-at-wrong-value"), str(report)
    assert "2-2-1" in report.network


def test_carry_without_the_transpose_names_the_weight_the_error_passes_through() -> None:
    make = next(fn for name, fn, _ in learner_code.CASES if name.startswith("(out, in)"))
    loss, grad, params, X, y = make()
    report = check_gradients(loss, grad, params, X=X, y=y)
    assert "δ2·W_ho without the transpose" in report["W_ih"].yours
    assert "W_ih" not in report["W_ih"].yours


def test_a_step_that_rebinds_its_arrays_is_refused_with_the_reason() -> None:
    """Nielsen's ``self.weights = [...]``: the arrays passed in never change and nothing is
    returned. That is not 'never computed' on every parameter: it is refused, saying why."""
    X, y = np.array([[0.0, 1.0]]), np.array([[1.0]])
    net = {"weights": [np.full((2, 2), 0.3), np.full((2, 1), -0.2)]}

    def loss(p):
        return float(np.sum((sig(sig(X @ p[0]) @ p[1]) - y) ** 2))

    def step(p):
        net["weights"] = [w - 0.1 for w in p]  # a new list: p itself is untouched

    with pytest.raises(ValueError, match="changed none of the parameters"):
        check_update(step, net["weights"], loss, 0.1, X=X, y=y)


def test_gradients_listed_last_layer_first_get_a_hint() -> None:
    X, y = np.array([[0.0, 1.0]]), np.array([[1.0]])
    params = [np.full((2, 3), 0.3), np.zeros(3), np.full((3, 1), -0.2), np.zeros(1)]

    def loss(p):
        return float(np.sum((sig(sig(X @ p[0] + p[1]) @ p[2] + p[3]) - y) ** 2))

    with pytest.raises(ValueError, match="last layer first"):
        check_gradients(loss, lambda p: [np.zeros_like(q) for q in reversed(p)], params)


def test_the_notation_reads_as_english_and_defines_the_loss_constant() -> None:
    make = next(fn for name, fn, _ in learner_code.CASES if name.startswith("Ng course dict"))
    loss, grad, params, X, y = make()

    def doubled_output_gradient(p):
        g = grad(p)
        return {**g, "dW2": 2 * g["dW2"]}

    report = check_gradients(loss, doubled_output_gradient, params, X=X, y=y)
    notation = next(n for n in report.notes if n.startswith("notation"))
    assert "the loss is the mean over samples" in notation
    assert report.mistakes["W2"] == "scale"
    assert "δ2 = c·(a2 - t) with c = 1/n = 1/30" in report["W2"].right


def test_a_bias_summed_over_the_wrong_axis_gets_a_hint() -> None:
    X, y = np.random.default_rng(0).normal(size=(5, 2)), np.ones((5, 1))
    params = {"W1": np.full((2, 3), 0.3), "b1": np.zeros(3), "W2": np.full((3, 1), 0.2),
              "b2": np.zeros(1)}

    def loss(p):
        return float(np.sum((sig(sig(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]) - y) ** 2))

    def grad(p, axis):
        H = sig(X @ p["W1"] + p["b1"])
        out = sig(H @ p["W2"] + p["b2"])
        d = 2 * (out - y) * out * (1 - out)
        dh = d @ p["W2"].T * H * (1 - H)
        return {"W1": X.T @ dh, "b1": np.sum(dh, axis=axis), "W2": H.T @ d, "b2": np.sum(d)}

    with pytest.raises(ValueError, match="sum the error over the samples only"):
        check_gradients(loss, lambda p: grad(p, 1), params)
    with pytest.raises(ValueError, match="a sum over every axis"):
        check_gradients(loss, lambda p: grad(p, None), params)
    assert check_gradients(loss, lambda p: grad(p, 0), params).ok


def _l2_case(bug: str):
    """A 3-4-1 sigmoid net, mean squared error + lambda/(2m) sum W^2, with a bug in the L2 part
    of the gradient only."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(6, 3)), rng.random((6, 1))
    lam, m = 0.3, 6
    params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4) * 0.1,
              "W2": rng.normal(size=(4, 1)), "b2": np.zeros(1)}

    def loss(p):
        out = sig(sig(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])
        return float(np.mean((out - y) ** 2) + lam / (2 * m) * (np.sum(p["W1"] ** 2)
                                                                + np.sum(p["W2"] ** 2)))

    def grad(p):
        H = sig(X @ p["W1"] + p["b1"])
        out = sig(H @ p["W2"] + p["b2"])
        d = 2 * (out - y) / m * out * (1 - out)
        dh = d @ p["W2"].T * H * (1 - H)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": H.T @ d, "b2": d.sum(0)}
        l2 = {"W1": lam / m, "W2": lam / m}
        if bug == "on the biases":
            g["b1"] = g["b1"] + lam / m * p["b1"]
        for name, c in l2.items():
            if bug == "without 1/m":
                c = lam
            elif bug == "wrong sign":
                c = -c
            elif bug == "forgotten in W1" and name == "W1":
                c = 0.0
            g[name] = g[name] + c * p[name]
        return g

    return loss, grad, params, X, y


@pytest.mark.parametrize(("bug", "wrong", "words"), [
    ("on the biases", {"b1"}, "to the biases' gradients"),
    ("without 1/m", {"W1", "W2"}, "6 times it"),
    ("wrong sign", {"W1", "W2"}, "a sign error"),
    ("forgotten in W1", {"W1"}, "leaves out of layer 1's weight gradient"),
])
def test_a_wrong_l2_term_is_named_as_a_penalty_the_loss_does_not_have(bug, wrong, words):
    """The data part is right: the L2 part is the gradient of another penalty than the loss's
    (forward-pass, with the penalty named), never 'wrong-input' or a backprop mistake."""
    loss, grad, params, X, y = _l2_case(bug)
    report = check_gradients(loss, grad, params, X=X, y=y)
    assert report.mistakes == dict.fromkeys(wrong, "forward-pass"), str(report)
    assert words in report[sorted(wrong)[0]].yours
    correct = check_gradients(loss, _l2_case("none")[1], params, X=X, y=y)
    assert correct.ok, str(correct)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix in the test's code
def test_np_matrix_parameters_stay_matrices_in_the_learners_functions() -> None:
    """Old tutorials use np.matrix, where * is the matrix product: the copies the check passes
    must be matrices too, or a correct program computes something else."""
    x, t = np.matrix([[0.5], [-1.0], [0.25]]), np.matrix([[1.0], [0.0]])
    rng = np.random.default_rng(17)
    params = [np.matrix(rng.normal(size=(4, 3))), np.matrix(rng.normal(size=(4, 1))),
              np.matrix(rng.normal(size=(2, 4))), np.matrix(rng.normal(size=(2, 1)))]

    def cost(p):
        W1, b1, W2, b2 = p
        a2 = sig(W2 * sig(W1 * x + b1) + b2)
        return 0.5 * ((a2 - t).T * (a2 - t)).item()

    def backprop(p):
        W1, b1, W2, b2 = p
        a1 = sig(W1 * x + b1)
        a2 = sig(W2 * a1 + b2)
        d2 = np.multiply(a2 - t, np.multiply(a2, 1 - a2))
        d1 = np.multiply(W2.T * d2, np.multiply(a1, 1 - a1))
        return [d1 * x.T, d1, d2 * a1.T, d2]

    assert check_gradients(cost, backprop, params).ok


DATA = [([0, 0], [0, 1]), ([0, 1], [1, 0]), ([1, 0], [1, 0]), ([1, 1], [0, 1])]


def test_data_as_a_list_of_input_target_pairs_is_found() -> None:
    """Pure-Python code keeping its samples as (x, t) pairs: the network is identified from
    them, and the dropped hidden derivative named."""
    rng = np.random.default_rng(2)
    params = {"W1": rng.normal(size=(2, 3)).tolist(), "b1": [0.1, -0.1, 0.0],
              "W2": rng.normal(size=(3, 2)).tolist(), "b2": [0.0, 0.0]}

    def forward(p, x):
        h = [sig(sum(x[i] * p["W1"][i][j] for i in range(2)) + p["b1"][j]) for j in range(3)]
        o = [sig(sum(h[j] * p["W2"][j][k] for j in range(3)) + p["b2"][k]) for k in range(2)]
        return h, o

    def loss(p):
        return sum(sum((o - tk) ** 2 for o, tk in zip(forward(p, x)[1], t, strict=True))
                   for x, t in DATA) / len(DATA)

    def gradient(p):
        g = {k: np.zeros(np.shape(v)) for k, v in p.items()}
        for x, t in DATA:
            h, o = forward(p, x)
            d_o = [2 * (o[k] - t[k]) * o[k] * (1 - o[k]) / len(DATA) for k in range(2)]
            d_h = [sum(d_o[k] * p["W2"][j][k] for k in range(2)) for j in range(3)]  # no σ'
            g["W2"] += np.outer(h, d_o)
            g["b2"] += d_o
            g["W1"] += np.outer(x, d_h)
            g["b1"] += d_h
        return g

    report = check_gradients(loss, gradient, params)
    assert report.mistakes == {"W1": "derivative-missing", "b1": "derivative-missing"}, str(report)


def test_a_step_that_breaks_a_bias_shape_says_which_and_how() -> None:
    X, y = np.array([[0.0, 1.0], [1.0, 1.0]]).T, np.array([[1.0, 0.0]])  # samples as columns
    params = {"W1": np.full((3, 2), 0.2), "b1": np.zeros((3, 1)), "W2": np.full((1, 3), 0.1),
              "b2": np.zeros((1, 1))}

    def loss(p):
        return float(np.mean((sig(p["W2"] @ sig(p["W1"] @ X + p["b1"]) + p["b2"]) - y) ** 2))

    def step(p):
        A1 = sig(p["W1"] @ X + p["b1"])
        A2 = sig(p["W2"] @ A1 + p["b2"])
        dZ2 = (A2 - y) * A2 * (1 - A2)
        dZ1 = p["W2"].T @ dZ2 * A1 * (1 - A1)
        p["W1"] = p["W1"] - 0.5 * dZ1 @ X.T
        p["b1"] = p["b1"] - 0.5 * np.sum(dZ1, axis=1)  # the bug: no keepdims=True
        p["W2"] = p["W2"] - 0.5 * dZ2 @ A1.T
        p["b2"] = p["b2"] - 0.5 * np.sum(dZ2, axis=1, keepdims=True)
        return p

    with pytest.raises(ValueError, match=r"b1 changed shape from \(3, 1\) to \(3, 3\).*keepdims"):
        check_update(step, params, loss, 0.5, X=X.T, y=y.T)


def test_a_bias_summed_over_every_axis_is_told_from_its_right_error() -> None:
    """db2 = np.sum(dZ2) for a 2-output layer: the shape fits (a scalar broadcast), the error
    is right (so is dW2), only the sum is wrong: say that, not 'not the right error'."""
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    params = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": rng.normal(size=(4, 2)),
              "b2": np.zeros(2)}

    def loss(p):
        return float(np.mean((np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - Y) ** 2))

    def grad(p):
        H = np.tanh(X @ p["W1"] + p["b1"])
        d2 = 2 * (H @ p["W2"] + p["b2"] - Y) / Y.size
        d1 = d2 @ p["W2"].T * (1 - H**2)
        return {"W1": X.T @ d1, "b1": d1.sum(0), "W2": H.T @ d2,
                "b2": np.full(2, np.sum(d2))}  # the bug: every axis summed

    report = check_gradients(loss, grad, params, X=X, y=Y)
    assert report.mistakes == {"b2": "unexplained"}, str(report)
    assert "over every axis" in report["b2"].yours


def test_a_one_layer_net_keyed_w_and_b_is_identified() -> None:
    """Logistic regression with params {'w', 'b'} (no layer number) and samples as columns
    (datascience.stackexchange 25394): dw built from the layer's own output is named."""
    X, Y = np.array([[-3.0, -2.0, 3.0, 2.0]]), np.array([[0.0, 0.0, 1.0, 1.0]])
    params = {"w": np.array([[0.3]]), "b": np.array([[0.1]])}

    def loss(p):
        h = sig(p["w"] @ X + p["b"])
        return float(-np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)))

    def grads(p):
        h = sig(p["w"] @ X + p["b"])
        dz = h - Y
        return {"w": dz @ h.T, "b": np.sum(dz, axis=1, keepdims=True)}  # bug: h for X

    report = check_gradients(loss, grads, params, X=X.T, y=Y.T)
    assert report.mistakes == {"w": "wrong-input"}, str(report)


def test_a_network_without_biases_gets_a_note_when_an_input_of_zeros_pins_its_output() -> None:
    X, y = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0.0])
    params = {"weights0": np.array([[0.2], [-0.4]])}

    def loss(p):
        return float(0.5 * np.sum((sig(X @ p["weights0"])[:, 0] - y) ** 2))

    def grad(p):
        out = sig(X @ p["weights0"])[:, 0]
        return {"weights0": X.T @ ((out - y) * out * (1 - out))[:, None]}

    report = check_gradients(loss, grad, params, X=X, y=y)
    assert report.ok
    note = next(n for n in report.notes if "no biases" in n)
    assert "always 0.5 there (target 0)" in note
    def biased_loss(p):
        return float(0.5 * np.sum((sig(X @ p["W"] + p["b"])[:, 0] - y) ** 2))

    def biased_grad(p):
        out = sig(X @ p["W"] + p["b"])[:, 0]
        d = ((out - y) * out * (1 - out))[:, None]
        return {"W": X.T @ d, "b": d.sum(axis=0)}

    biased = check_gradients(biased_loss, biased_grad,
                             {"W": np.array([[0.2], [-0.4]]), "b": np.zeros(1)}, X=X, y=y)
    assert biased.ok and not any("no biases" in n for n in biased.notes)


def test_cross_entropy_on_targets_outside_0_1_is_still_identified() -> None:
    """A sine fitted by a sigmoid output under cross-entropy (stackoverflow 55858141): the loss
    is a mistake of the learner's, but computable, so the network is identified and the
    gradient's own mistake (dW2 from the layer's output) named."""
    x = np.linspace(-3, 3, 12)[None, :]
    y = np.sin(x)  # outside [0, 1]: the output cannot reach it, and the doctor says so
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(4, 1)) * 0.1, "b1": np.zeros((4, 1)),
              "W2": rng.normal(size=(1, 4)) * 0.1, "b2": np.zeros((1, 1))}  # (the post's 0.01)

    def loss(p):
        A2 = sig(p["W2"] @ np.tanh(p["W1"] @ x + p["b1"]) + p["b2"])
        return float(-np.mean(y * np.log(A2) + (1 - y) * np.log(1 - A2)))

    def grad(p):
        A1 = np.tanh(p["W1"] @ x + p["b1"])
        A2 = sig(p["W2"] @ A1 + p["b2"])
        dZ2 = (A2 - y) / x.shape[1]
        dZ1 = p["W2"].T @ dZ2 * (1 - A1**2)
        return {"W1": dZ1 @ x.T, "b1": dZ1.sum(1, keepdims=True),
                "W2": dZ2 @ A2.T @ np.ones((1, 4)), "b2": dZ2.sum(1, keepdims=True)}  # A2, not A1

    report = check_gradients(loss, grad, params, X=x.T, y=y.T)
    assert report.mistakes == {"W2": "wrong-input"}, str(report)
