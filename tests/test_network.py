"""The Network: construction, input checking, central-difference gradients, dtypes, seeds."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from chainrule import Network
from chainrule.datasets import PROBLEMS

XOR = PROBLEMS["xor"]


# --- gradients by central differences (no torch, no chainrule.gradcheck) -------------------
def central_differences(net: Network, X, y, sample_weight=None, h: float = 1e-6):
    """``(L(p + h) - L(p - h)) / 2h`` for every weight and bias, nudging them in place."""
    grads = []
    for layer in net.layers:
        pair = []
        for p in (layer.weights, layer.bias):
            g = np.zeros_like(p)
            for i in np.ndindex(p.shape):
                old = p[i]
                p[i] = old + h
                up = net.loss(X, y, sample_weight)
                p[i] = old - h
                down = net.loss(X, y, sample_weight)
                p[i] = old
                g[i] = (up - down) / (2 * h)
            pair.append(g)
        grads.append(tuple(pair))
    return grads


NETS = [
    dict(sizes=[2, 3, 1]),
    dict(sizes=[3, 4, 2], activation="tanh", output_activation="sigmoid", loss="bce"),
    dict(sizes=[4, 5, 3], activation="elu", output_activation="softmax", loss="cross_entropy"),
    dict(sizes=[2, 4, 3, 2], activation=["softplus", "leaky_relu"], output_activation="identity"),
    dict(sizes=[3, 3, 3], activation="relu", output_activation="softmax", loss="mse"),
    dict(sizes=[3, 4, 2], activation="tanh", output_activation="exp", loss="poisson"),
    dict(sizes=[2, 3, 2, 1], activation=["exp", "sigmoid"], output_activation="exp"),
]


def data_for(net: Network, rng: np.random.Generator, n: int = 6):
    X = rng.normal(size=(n, net.n_inputs))
    if net.loss_function.name == "cross_entropy":
        return X, rng.integers(0, net.n_outputs, size=n)
    if net.loss_function.name == "poisson":  # counts
        return X, rng.poisson(2.0, size=(n, net.n_outputs))
    return X, rng.random((n, net.n_outputs))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("spec", NETS, ids=lambda spec: "-".join(map(str, spec["sizes"])))
def test_backprop_gradients_match_central_differences(spec: dict, weighted: bool) -> None:
    rng = np.random.default_rng(len(spec["sizes"]) + 10 * weighted)
    net = Network(**spec, seed=3)
    X, y = data_for(net, rng)
    sample_weight = rng.random(len(X)) + 0.1 if weighted else None
    backprop = net.gradients(X, y, sample_weight)
    numeric = central_differences(net, X, y, sample_weight)
    for (dW, db), (nW, nb) in zip(backprop, numeric, strict=True):
        scale = max(np.abs(nW).max(), np.abs(nb).max(), 1e-3)
        np.testing.assert_allclose(dW, nW, rtol=1e-6, atol=1e-8 * scale)
        np.testing.assert_allclose(db, nb, rtol=1e-6, atol=1e-8 * scale)


def test_central_differences_catch_a_wrong_gradient() -> None:
    """The check above can fail: a gradient off by 1% in one entry is caught."""
    rng = np.random.default_rng(0)
    net = Network([2, 3, 1], seed=3)
    X, y = data_for(net, rng)
    dW, _ = net.gradients(X, y)[0]
    nW, _ = central_differences(net, X, y)[0]
    dW[1, 2] *= 1.01
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(dW, nW, rtol=1e-6, atol=1e-8 * np.abs(nW).max())


# --- shapes of targets ----------------------------------------------------------------------
def test_targets_of_shape_n_are_a_column_for_one_output_never_broadcast() -> None:
    rng = np.random.default_rng(1)
    net = Network([2, 3, 1], output_activation="identity", seed=0)
    X = rng.normal(size=(5, 2))
    y = rng.normal(size=5)
    A = net.predict(X)
    assert A.shape == (5, 1)
    expected = np.mean((A[:, 0] - y) ** 2)
    broadcast = np.mean((A - y) ** 2)  # (5, 1) - (5,) -> (5, 5): the classic mistake
    assert not np.isclose(expected, broadcast)
    assert net.loss(X, y) == pytest.approx(expected, rel=1e-13)
    assert net.loss(X, y) == net.loss(X, y[:, None])
    for (dW, db), (cW, cb) in zip(net.gradients(X, y), net.gradients(X, y[:, None]), strict=True):
        np.testing.assert_array_equal(dW, cW)
        np.testing.assert_array_equal(db, cb)


def test_fit_with_targets_of_shape_n_equals_fit_with_a_column() -> None:
    flat, column = Network([2, 2, 1], seed=1), Network([2, 2, 1], seed=1)
    h1 = flat.fit(XOR.X, XOR.y, epochs=30, optimizer="sgd", learning_rate=0.5, restarts=1)
    h2 = column.fit(XOR.X, XOR.y[:, None], epochs=30, optimizer="sgd", learning_rate=0.5,
                    restarts=1)
    assert h1.loss == h2.loss
    for p, q in zip(flat.parameters(), column.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


def test_one_input_network_accepts_a_flat_x() -> None:
    net = Network([1, 3, 1], seed=0)
    x = np.linspace(0, 1, 4)
    np.testing.assert_array_equal(net.predict(x), net.predict(x[:, None]))


# --- bad input: ValueError/TypeError naming the problem ------------------------------------
def test_wrong_x_shape_is_refused() -> None:
    net = Network([2, 2, 1])
    with pytest.raises(ValueError, match=re.escape("X must have shape (n, 2)")):
        net.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X must have shape"):
        net.fit(np.zeros(4), np.zeros(4), epochs=1)
    with pytest.raises(ValueError, match="X must have shape"):
        net.loss(np.zeros((2, 2, 2)), np.zeros(2))


def test_mismatched_sample_counts_are_refused() -> None:
    net = Network([2, 2, 1])
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        net.fit(XOR.X, XOR.y[:3], epochs=1)
    with pytest.raises(ValueError, match="sample_weight"):
        net.fit(XOR.X, XOR.y, epochs=1, sample_weight=np.ones(3))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x_or_y_is_refused(bad: float) -> None:
    net = Network([2, 2, 1])
    X, y = XOR.X.copy(), XOR.y.copy()
    X[1, 0] = bad
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.fit(X, XOR.y, epochs=1)
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.predict(X)
    y[2] = bad
    with pytest.raises(ValueError, match="targets contain NaN or inf"):
        net.fit(XOR.X, y, epochs=1)


def test_non_numeric_data_is_refused() -> None:
    net = Network([2, 2, 1])
    with pytest.raises(ValueError, match="X must be numeric"):
        net.predict([["a", "b"]])
    with pytest.raises(ValueError, match="targets must be numeric"):
        net.fit(XOR.X, ["a", "b", "c", "d"], epochs=1)


def test_labels_that_do_not_fit_the_loss_are_refused() -> None:
    bce = Network([2, 2, 1], loss="bce")
    with pytest.raises(ValueError, match=re.escape("needs targets in [0, 1]")):
        bce.fit(XOR.X, [0, 1, 2, 0], epochs=1)
    softmax = Network([2, 3, 3], output_activation="softmax", loss="cross_entropy")
    with pytest.raises(ValueError, match=re.escape("integers in 0..2 for 3 outputs")):
        softmax.fit(XOR.X, [0, 1, 7, 2], epochs=1)
    with pytest.raises(ValueError, match="integers"):
        softmax.fit(XOR.X, [0, 1.5, 1, 2], epochs=1)
    with pytest.raises(ValueError, match="integers"):
        softmax.loss(XOR.X, [0, -1, 1, 2])
    with pytest.raises(ValueError, match="sum to 1"):
        softmax.loss(XOR.X, np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=re.escape("y must have shape (n, 2)")):
        Network([2, 2, 2]).fit(XOR.X, np.zeros((4, 3)), epochs=1)
    with pytest.raises(ValueError, match="2 outputs"):
        Network([2, 2, 2]).fit(XOR.X, np.zeros(4), epochs=1)
    poisson = Network([2, 2, 1], output_activation="exp", loss="poisson")
    with pytest.raises(ValueError, match="'poisson' needs non-negative targets"):
        poisson.fit(XOR.X, [0, 1, -2, 3], epochs=1)
    poisson.loss(XOR.X, [0, 1.5, 2, 30])  # counts or rates: any y >= 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(activation="sigmod"), ValueError, "unknown activation 'sigmod'"),
        (dict(output_activation="softmaxx"), ValueError, "unknown activation 'softmaxx'"),
        (dict(activation=3), TypeError, "activation must be a name"),
        (dict(loss="mae"), ValueError, "unknown loss 'mae'"),
        (dict(loss=None), TypeError, "loss must be a name"),
        (dict(init="xavier"), ValueError, "unknown init 'xavier'"),
        (dict(init=0.5), TypeError, "init must be a name or a callable"),
        (dict(sizes=[2, 0, 1]), ValueError, "at least one unit"),
        (dict(sizes=[2, -3, 1]), ValueError, "at least one unit"),
        (dict(sizes=[0, 2, 1]), ValueError, "at least one unit"),
        (dict(sizes=[3]), ValueError, "at least an input and an output"),
        (dict(sizes=[2, "x", 1]), TypeError, "sizes must be a sequence of integers"),
        (dict(activation="softmax", output_activation="softmax"), ValueError,
         "softmax is for the output layer only"),
        (dict(output_activation="tanh", loss="bce"), ValueError,
         "loss 'bce' needs output_activation='sigmoid'"),
        (dict(output_activation="sigmoid", loss="cross_entropy"), ValueError,
         "loss 'cross_entropy' needs output_activation='softmax'"),
        (dict(output_activation="identity", loss="poisson"), ValueError,
         "loss 'poisson' needs output_activation='exp'"),
        (dict(activation=["tanh", "relu"]), ValueError, "2 hidden activations for 1 hidden"),
        (dict(dtype="int32"), ValueError, "dtype must be float32 or float64"),
        (dict(seed="seven"), TypeError, "seed must be"),
    ],
)
def test_bad_network_arguments_are_refused_by_name(kwargs, error, message) -> None:
    kwargs = {"sizes": [2, 3, 2], **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        Network(**kwargs)


def test_init_zeros_warns_and_gives_identical_hidden_units() -> None:
    with pytest.warns(UserWarning, match="init='zeros'"):
        net = Network([2, 3, 1], init="zeros")
    assert all(not p.any() for p in net.parameters())


# --- dtypes and seeds ---------------------------------------------------------------------------
def test_float32_network_computes_in_float32() -> None:
    net = Network([2, 3, 2], activation="tanh", output_activation="softmax",
                  loss="cross_entropy", dtype="float32")
    assert all(p.dtype == np.float32 for p in net.parameters())
    X = XOR.X.astype(np.float64)
    assert net.predict(X).dtype == np.float32
    grads = net.gradients(X, [0, 1, 1, 0], sample_weight=np.array([1.0, 2.0, 1.0, 1.0]))
    assert all(g.dtype == np.float32 for pair in grads for g in pair)


def test_same_seed_same_initial_weights_different_seed_different() -> None:
    a, b, c = Network([3, 5, 2], seed=9), Network([3, 5, 2], seed=9), Network([3, 5, 2], seed=10)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(p, q)
    assert not np.array_equal(a.layers[0].weights, c.layers[0].weights)
    generator = Network([3, 5, 2], seed=np.random.default_rng(9))
    assert np.array_equal(generator.layers[0].weights, a.layers[0].weights)


def test_copy_is_independent() -> None:
    net = Network([2, 2, 1], seed=0)
    twin = net.copy()
    twin.layers[0].weights += 1.0
    assert not np.array_equal(net.layers[0].weights, twin.layers[0].weights)
    assert net.rng.random() == twin.rng.random()


def test_fit_trains_a_deep_copy_and_rebound_arrays():
    """Layers hold views into one flat buffer; a deep copy or a rebound array is re-packed."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0.0])
    net = Network([2, 3, 1], seed=0)
    twin = net.copy()
    twin.fit(X, y, epochs=5, optimizer="sgd", restarts=1)
    assert not np.array_equal(twin.layers[0].weights, net.layers[0].weights)  # twin trained
    assert all(p.base is twin.buffer for p in twin.parameters())

    chosen = np.full((2, 3), 0.25)
    net.layers[0].weights = chosen  # rebinding instead of writing in place
    before = net.loss(X, y)
    net.fit(X, y, epochs=5, optimizer="sgd", restarts=1)
    assert net.loss(X, y) < before
    assert not np.array_equal(net.layers[0].weights, np.full((2, 3), 0.25))
    assert all(p.base is net.buffer for p in net.parameters())


def test_rebound_arrays_of_the_wrong_shape_are_refused():
    net = Network([2, 3, 1], seed=0)
    net.layers[0].weights = np.zeros((3, 2))
    with pytest.raises(ValueError, match="do not fit the network's sizes"):
        net.fit(np.zeros((4, 2)), np.zeros(4), epochs=1, restarts=1)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("d", [1, 3, 784, 5000])
@pytest.mark.parametrize("n", [1, 5, 256, 257, 1000, 4099])
def test_column_range_in_blocks_is_the_columns_minimum_and_maximum(n: int, d: int, order) -> None:
    from chainrule.network import column_range

    X = np.random.default_rng(n).normal(size=(n, d)).astype(np.float32, order=order)
    for block in (1 << 16, 1000):  # many blocks, with a last one short of whole groups of rows
        low, high = column_range(X, block=block)
        np.testing.assert_array_equal(low, X.min(axis=0))
        np.testing.assert_array_equal(high, X.max(axis=0))
        assert low.dtype == high.dtype == np.float32
    X[n // 2, d // 3] = np.nan  # NaN anywhere reaches its column's range
    assert np.isnan(column_range(X)[0][d // 3]) and np.isnan(column_range(X)[1][d // 3])


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_column_range_of_integer_and_boolean_inputs(dtype) -> None:
    from chainrule.network import column_range

    X = np.random.default_rng(0).integers(0, 2, size=(1001, 7)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = column_range(X, block=700)
        net = Network([7, 2, 1], seed=0)
        net.fit(X, X[:, 0].astype(float), epochs=2, restarts=1)  # the range is the net's dtype
    np.testing.assert_array_equal(low, X.min(axis=0))
    np.testing.assert_array_equal(high, X.max(axis=0))
    np.testing.assert_array_equal(net.input_range_[1], X.max(axis=0).astype(np.float64))


def test_predict_warns_when_inputs_lie_far_outside_the_training_range() -> None:
    """Question 003's mistake: inputs scaled for training but not for prediction."""
    import warnings

    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    net = Network([3, 4, 1], seed=0)
    net.fit(X, (X[:, 0] > 0.5).astype(float), epochs=2, restarts=1)
    np.testing.assert_array_equal(net.input_range_[0], X.min(axis=0))
    np.testing.assert_array_equal(net.input_range_[1], X.max(axis=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.predict(X * 1.5)  # within one span of the range: no warning
    unscaled = X.copy()
    unscaled[7, 2] = 250.0
    with pytest.warns(UserWarning, match=r"column\(s\) \[2\].*e\.g\. 250 .*scaled for training"):
        net.predict(unscaled)


def test_the_range_warning_shows_a_value_beside_its_own_columns_range() -> None:
    """The digits test split once warned "1 vs [-0.0431, 23.19]": the first far value in row
    order (from a column constant in training) shown against the first far column's range."""
    import warnings

    X = np.column_stack([np.zeros(50), np.linspace(0, 1, 50)])  # column 0 constant in training
    net = Network([2, 3, 1], seed=0)
    net.fit(X, (X[:, 1] > 0.5) * 1.0, epochs=2, restarts=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.predict([[0.5, 0.5], [-1.0, 1.9]])  # a constant column: one unit of slack
    with pytest.warns(UserWarning, match=r"column\(s\) \[0, 1\] .*e\.g\. 7 in column 0 vs "
                                         r"\[0, 0\]"):
        net.predict([[0.0, 9.0], [7.0, 0.5]])  # row order would show 9 first


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_deep_in_a_large_x_is_refused_by_fit_and_predict(bad: float) -> None:
    """fit and predict find non-finite inputs through the columns' range, taken in blocks of
    256 rows: a bad value in a later block must still be caught."""
    X = np.random.default_rng(0).normal(size=(700, 2))
    X[555, 1] = bad
    net = Network([2, 2, 1])
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.fit(X, np.zeros(700), epochs=1)
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.predict(X)
