"""ONNX export: a valid graph whose onnxruntime predictions equal ``Network.predict``."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from chainrule import Activation, Network
from chainrule.export import DEFAULT_OPSET, build_model, to_onnx

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "identity"]
OUTPUT = HIDDEN + ["softmax"]


def random_net(sizes, activation, output_activation, dtype="float32", seed=0):
    """A network with random weights and non-zero biases, so every activation sees both signs."""
    net = Network(sizes, activation=activation, output_activation=output_activation,
                  seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    for layer in net.layers:
        layer.bias[...] = rng.normal(0, 0.5, layer.bias.shape)
    return net


def inputs(n_inputs, dtype, n=64, seed=1):
    """Random inputs spread widely enough to reach saturation and the negative side."""
    return (np.random.default_rng(seed).normal(0, 3, (n, n_inputs))).astype(dtype)


def run(path_or_model, X):
    source = path_or_model
    if isinstance(path_or_model, onnx.ModelProto):
        source = path_or_model.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X})[0]


@pytest.mark.parametrize("output", OUTPUT)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "scaled"])
def test_float32_matches_predict_for_every_activation(tmp_path, hidden, output, scaled):
    net = random_net([4, 6, 5, 3], hidden, output)
    X = inputs(4, np.float32)
    mean = scale = None
    expected_inputs = X
    if scaled:
        mean = np.array([1.0, -2.0, 0.5, 10.0], np.float32)
        scale = np.array([2.0, 0.5, 1.0, 4.0], np.float32)
        expected_inputs = (X - mean) / scale
    path = tmp_path / "net.onnx"
    to_onnx(net, path, input_mean=mean, input_scale=scale)

    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    got = run(str(path), X)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, net.predict(expected_inputs), rtol=0, atol=1e-5)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_float64_net_exports_float64_and_matches_to_1e12(tmp_path, hidden):
    net = random_net([3, 7, 4, 2], hidden, "softmax", dtype="float64")
    X = inputs(3, np.float64)
    mean, scale = np.array([0.5, -1.0, 2.0]), np.array([3.0, 0.25, 1.5])
    path = tmp_path / "net.onnx"
    net.to_onnx(path, input_mean=mean, input_scale=scale)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    got = run(str(path), X)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, net.predict((X - mean) / scale), rtol=0, atol=1e-12)


@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity", "tanh", "relu"])
def test_float64_output_activations(output):
    net = random_net([3, 5, 3], "tanh", output, dtype="float64")
    X = inputs(3, np.float64)
    np.testing.assert_allclose(run(build_model(net), X), net.predict(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-6), ("float64", 1e-13)])
def test_exp_output_of_a_poisson_network_is_exported_as_exp(dtype, rtol):
    net = Network([3, 5, 2], activation="tanh", output_activation="exp", loss="poisson",
                  dtype=dtype, seed=0)
    net.layers[-1].bias[...] = [1.5, -2.0]
    model = build_model(net)
    assert [node.op_type for node in model.graph.node] == ["Gemm", "Tanh", "Gemm", "Exp"]
    X = inputs(3, np.dtype(dtype))
    got = run(model, X)
    assert got.dtype == np.dtype(dtype) and (got > 0).all()
    np.testing.assert_allclose(got, net.predict(X), rtol=rtol)


@pytest.mark.parametrize(
    "sizes, hidden",
    [
        ([5, 2], []),
        ([2, 8, 1], ["relu"]),
        ([6, 16, 12, 8, 4, 3], ["tanh", "elu", "leaky_relu", "softplus"]),
        ([3, 4, 4, 4, 4, 4, 4, 2], ["sigmoid", "relu", "identity", "tanh", "elu", "softplus"]),
    ],
    ids=["no_hidden", "one_hidden", "four_hidden_mixed", "six_hidden_mixed"],
)
def test_multilayer_nets(sizes, hidden, tmp_path):
    net = random_net(sizes, hidden, "softmax" if sizes[-1] > 1 else "sigmoid")
    X = inputs(sizes[0], np.float32)
    model = to_onnx(net, tmp_path / "deep.onnx", input_mean=0.5, input_scale=2.0)
    gemms = [node for node in model.graph.node if node.op_type == "Gemm"]
    assert len(gemms) == len(net.layers)
    np.testing.assert_allclose(
        run(str(tmp_path / "deep.onnx"), X), net.predict((X - np.float32(0.5)) / np.float32(2)),
        rtol=0, atol=1e-5,
    )


def test_trained_classifier_keeps_its_predictions(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 2)).astype(np.float32) * 4 + 10
    y = (X[:, 0] > X[:, 1]).astype(int) + (X.sum(axis=1) > 20)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    net = Network([2, 8, 3], activation="tanh", output_activation="softmax",
                  loss="cross_entropy", dtype="float32", seed=0)
    net.fit((X - mean) / scale, y, epochs=200, learning_rate=0.05)
    net.to_onnx(tmp_path / "clf.onnx", input_mean=mean, input_scale=scale)
    probabilities = run(str(tmp_path / "clf.onnx"), X)
    expected = net.predict((X - mean) / scale)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), expected.argmax(axis=1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-6)


def test_batch_dimension_is_dynamic():
    net = random_net([3, 4, 2], "relu", "sigmoid")
    model = build_model(net)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 3
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (1, 2, 37, 500):
        X = inputs(3, np.float32, n=n, seed=n)
        (got,) = session.run(None, {"input": X})
        assert got.shape == (n, 2)
        np.testing.assert_allclose(got, net.predict(X), rtol=0, atol=1e-5)


def test_graph_uses_standard_ops_and_default_opset():
    net = random_net([2, 3, 3, 3, 3, 3, 3, 3, 2], HIDDEN, "softmax")
    model = build_model(net, input_mean=[0, 1], input_scale=[1, 2])
    assert [(o.domain, o.version) for o in model.opset_import] == [("", DEFAULT_OPSET)]
    ops = [node.op_type for node in model.graph.node]
    assert ops == ["Sub", "Div"] + [
        op for act in ["Sigmoid", "Tanh", "Relu", "LeakyRelu", "Elu", "Softplus", "Identity",
                       "Softmax"] for op in ("Gemm", act)
    ]
    attrs = {node.op_type: {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
             for node in model.graph.node}
    assert attrs["LeakyRelu"]["alpha"] == pytest.approx(0.01)
    assert attrs["Elu"]["alpha"] == 1.0
    assert attrs["Softmax"]["axis"] == -1
    # loadable by runtimes that predate the installed onnx: the IR version matches the opset
    assert model.ir_version == 8


# onnxruntime 1.31 reads up to opset 26 / IR 13; the installed onnx can write newer ones
@pytest.mark.parametrize("opset", [13, 14, 15, 16, 18, 21, 26])
def test_other_opsets_give_the_same_predictions(opset):
    net = random_net([3, 5, 4, 2], ["leaky_relu", "softplus"], "softmax")
    model = build_model(net, opset=opset)
    assert model.opset_import[0].version == opset
    onnx.checker.check_model(model, full_check=True)
    X = inputs(3, np.float32)
    np.testing.assert_allclose(run(model, X), net.predict(X), rtol=0, atol=1e-5)


@pytest.mark.parametrize("opset", [12, 0, 10_000, 17.0, "17"])
def test_bad_opset_is_refused(opset):
    with pytest.raises(ValueError, match="opset must be an integer from 13"):
        build_model(random_net([2, 2, 1], "tanh", "sigmoid"), opset=opset)


class Swish:
    """A user activation with no ONNX mapping."""

    def forward(self, Z):
        return Z / (1 + np.exp(-Z))

    def derivative(self, Z, A):
        s = 1 / (1 + np.exp(-Z))
        return s + A * (1 - s)


def test_user_activation_is_refused_by_name(tmp_path):
    net = Network([2, 3, 1], activation=Swish(), output_activation="sigmoid")
    with pytest.raises(ValueError, match=r"layer 0 uses activation 'Swish'.*no ONNX equivalent"):
        to_onnx(net, tmp_path / "swish.onnx")
    assert not (tmp_path / "swish.onnx").exists()


def test_user_activation_with_a_builtin_name_is_refused():
    fake = Activation("sigmoid", lambda Z: Z, lambda Z, A: np.ones_like(Z))
    net = Network([2, 3, 1], activation="relu", output_activation=fake)
    with pytest.raises(ValueError, match="layer 1 uses activation 'sigmoid' \\(Activation\\)"):
        build_model(net)


def test_write_is_atomic_and_replaces_the_old_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    net = random_net([2, 3, 1], "relu", "sigmoid")
    to_onnx(net, path)
    assert onnx.load(path).graph.node[0].op_type == "Gemm"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]

    before = path.read_bytes()
    bad = Network([2, 3, 1], activation=Swish())
    with pytest.raises(ValueError):
        to_onnx(bad, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_write_into_missing_folder_fails_cleanly(tmp_path):
    net = random_net([2, 3, 1], "relu", "sigmoid")
    with pytest.raises(ValueError, match="directory .*missing does not exist"):
        to_onnx(net, tmp_path / "missing" / "model.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_mean": [1.0, 2.0, 3.0]}, r"input_mean must be a scalar or have shape \(2,\)"),
        ({"input_scale": np.ones((2, 1))}, r"input_scale must be a scalar or have shape \(2,\)"),
        ({"input_scale": [1.0, 0.0]}, "input_scale contains zeros"),
        ({"input_mean": [np.nan, 0.0]}, "input_mean contains NaN"),
    ],
)
def test_bad_scaling_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model(random_net([2, 3, 1], "relu", "sigmoid"), **kwargs)


def test_mean_only_and_scale_only():
    net = random_net([2, 3, 1], "elu", "identity")
    X = inputs(2, np.float32)
    only_mean = build_model(net, input_mean=[1, 2])
    only_scale = build_model(net, input_scale=[4, 8])
    assert [n.op_type for n in only_mean.graph.node][0] == "Sub"
    assert [n.op_type for n in only_scale.graph.node][0] == "Div"
    np.testing.assert_allclose(run(only_mean, X), net.predict(X - np.float32([1, 2])), atol=1e-5)
    np.testing.assert_allclose(run(only_scale, X), net.predict(X / np.float32([4, 8])), atol=1e-5)


@pytest.mark.parametrize("dtype, atol", [("float32", 1e-4), ("float64", 1e-12)])
def test_output_mapping_for_standardised_regression_targets(tmp_path, dtype, atol):
    net = random_net([3, 6, 2], "tanh", "identity", dtype=dtype)
    X = inputs(3, dtype)
    x_mean, x_scale = np.array([1.0, 2.0, 3.0]), np.array([0.5, 2.0, 4.0])
    y_mean, y_scale = np.array([100.0, -5.0]), np.array([20.0, 0.1])
    model = to_onnx(net, tmp_path / "reg.onnx", input_mean=x_mean, input_scale=x_scale,
                    output_mean=y_mean, output_scale=y_scale)
    assert [n.op_type for n in model.graph.node][-2:] == ["Mul", "Add"]
    assert model.graph.node[-1].output[0] == "output"
    cast = np.dtype(dtype).type
    expected = net.predict((X - cast(x_mean)) / cast(x_scale)) * cast(y_scale) + cast(y_mean)
    np.testing.assert_allclose(run(str(tmp_path / "reg.onnx"), X), expected, rtol=0, atol=atol)


def test_output_mapping_shape_is_checked():
    with pytest.raises(ValueError, match=r"output_scale must be a scalar or have shape \(2,\) "
                                         r"for a network with 2 outputs"):
        build_model(random_net([3, 2], [], "identity"), output_scale=[1.0, 2.0, 3.0])


def test_stacked_replicas_are_refused():
    net = random_net([2, 3, 1], "relu", "sigmoid")
    net.layers[0].weights = np.stack([net.layers[0].weights] * 2)
    with pytest.raises(ValueError, match="stacked replica"):
        build_model(net)


def test_missing_onnx_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[onnx\]'"):
        random_net([2, 2, 1], "tanh", "sigmoid").to_onnx(tmp_path / "x.onnx")


def _raw_table_model(tmp_path, text):
    """A regression model trained briefly on the CSV ``text``, and its ONNX graph's session."""
    from chainrule.data import build_model, read_table
    from chainrule.export import model_to_onnx

    path = tmp_path / "raw.csv"
    path.write_text(text)
    table = read_table(str(path), "y")
    model = build_model(table, hidden=(4,), seed=0)
    model.fit(table, epochs=5)
    session = ort.InferenceSession(model_to_onnx(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return str(path), model, session


def test_onnx_on_raw_text_cells_equals_predict_with_spaces_and_a_none_category(tmp_path):
    """Raw cells as written ('WD ' with its space, a category named 'None') give the graph what
    `predict` gives: the reader keeps text as written, and 'None' is not a missing marker."""
    import pandas as pd

    rng = np.random.default_rng(0)
    kinds = rng.choice(["WD ", "New", "None"], 60)
    x = rng.normal(size=60)
    y = x + np.select([kinds == "WD ", kinds == "None"], [5.0, -5.0], 0.0)
    rows = "".join(f"{a:.4f},{k},{b:.4f}\n" for a, k, b in zip(x, kinds, y, strict=True))
    path, model, session = _raw_table_model(tmp_path, "x,kind,y\n" + rows)
    assert model.preprocessor.categorical[0].categories == ["New", "None", "WD "]
    raw = pd.read_csv(path, keep_default_na=False, dtype=str)
    got = session.run(None, {"input": raw[["x"]].to_numpy(float),
                             "kind": raw[["kind"]].to_numpy(object)})[0][:, 0]
    from chainrule.data import read_table

    np.testing.assert_allclose(got, model.predict(read_table(path)), rtol=0, atol=1e-12)


def test_onnx_with_a_date_column_equals_predict(tmp_path):
    """A date column enters the graph as days since 1970-01-01 (onnx_inputs converts it), and
    the graph predicts what the model does."""
    from chainrule.data import read_table
    from chainrule.export import onnx_inputs

    rng = np.random.default_rng(1)
    days = rng.integers(0, 5000, 50)
    dates = np.datetime64("1985-01-01") + days
    rows = "".join(f"{d},{c},{v / 1000 + rng.normal():.4f}\n"
                   for d, c, v in zip(dates, rng.choice(["a", "b"], 50), days, strict=True))
    path, model, session = _raw_table_model(tmp_path, "when,c,y\n" + rows)
    assert [c.role for c in model.preprocessor.columns] == ["date", "categorical"]
    feeds = onnx_inputs(model, path)
    np.testing.assert_array_equal(feeds["input"][:, 0], (dates - np.datetime64("1970-01-01"))
                                  .astype(float))
    np.testing.assert_allclose(session.run(None, feeds)[0][:, 0],
                               model.predict(read_table(path)), rtol=0, atol=1e-12)
