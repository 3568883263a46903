"""PyTorch interop: ``from_torch`` and ``to_torch`` compute the same function both ways."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from torch import nn

from chainrule import Activation, Network
from chainrule.interop import from_torch, to_torch

TORCH_ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": lambda: nn.ELU(alpha=1.0),
    "softplus": lambda: nn.Softplus(beta=1),
    "identity": nn.Identity,
}
OUTPUTS = {**TORCH_ACTIVATIONS, "softmax": lambda: nn.Softmax(dim=-1)}
TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-6}
DTYPES = [torch.float64, torch.float32]
DTYPE_IDS = ["float64", "float32"]


def sequential(sizes, hidden, output, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    modules = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        modules.append(nn.Linear(n_in, n_out))
        last = i == len(sizes) - 2
        modules.append(OUTPUTS[output]() if last else TORCH_ACTIVATIONS[hidden]())
    return nn.Sequential(*modules).to(dtype)


def inputs(n_inputs, dtype=np.float64, n=50, seed=1):
    return np.random.default_rng(seed).normal(0, 2, (n, n_inputs)).astype(dtype)


def torch_predict(seq, X):
    with torch.no_grad():
        return seq(torch.from_numpy(X)).numpy()


def random_net(sizes, hidden, output, dtype="float64", seed=0):
    net = Network(sizes, activation=hidden, output_activation=output, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 7)
    for layer in net.layers:
        layer.bias[...] = rng.normal(0, 0.5, layer.bias.shape)
    return net


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", TORCH_ACTIVATIONS)
def test_from_torch_predicts_like_torch(hidden, output, dtype):
    seq = sequential([4, 6, 5, 3], hidden, output, dtype)
    net = from_torch(seq)
    assert net.sizes == [4, 6, 5, 3]
    assert net.dtype == (np.float64 if dtype == torch.float64 else np.float32)
    assert [layer.activation.name for layer in net.layers] == [hidden, hidden, output]
    X = inputs(4, net.dtype)
    np.testing.assert_allclose(net.predict(X), torch_predict(seq, X), rtol=0,
                               atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", TORCH_ACTIVATIONS)
def test_to_torch_predicts_like_network(hidden, output, dtype):
    net = random_net([3, 7, 4, 2], hidden, output, dtype)
    seq = to_torch(net)
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    assert all(p.dtype == torch_dtype for p in seq.parameters())
    assert not seq.training
    X = inputs(3, net.dtype)
    np.testing.assert_allclose(torch_predict(seq, X), net.predict(X), rtol=0,
                               atol=TOLERANCE[torch_dtype])


def test_weights_are_transposed():
    seq = nn.Sequential(nn.Linear(3, 2), nn.Tanh()).double()
    net = from_torch(seq)
    np.testing.assert_array_equal(net.layers[0].weights, seq[0].weight.detach().numpy().T)
    np.testing.assert_array_equal(net.layers[0].bias, seq[0].bias.detach().numpy())
    assert net.layers[0].weights.shape == (3, 2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_network_torch_network_is_exact(dtype):
    net = random_net([5, 8, 6, 4, 3], ["elu", "leaky_relu", "softplus"], "softmax", dtype)
    back = from_torch(to_torch(net), loss="mse")
    assert back.sizes == net.sizes and back.dtype == net.dtype
    for a, b in zip(net.layers, back.layers, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert a.activation is b.activation
    X = inputs(5, net.dtype)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_round_trip_torch_network_torch_is_exact():
    seq = nn.Sequential(
        nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.Sigmoid(), nn.Linear(6, 2)
    ).double()
    again = to_torch(from_torch(seq))
    original = seq.state_dict()
    copied = again.state_dict()
    assert [tuple(v.shape) for v in original.values()] == [tuple(v.shape) for v in copied.values()]
    for a, b in zip(original.values(), copied.values(), strict=True):
        assert torch.equal(a, b)
    X = inputs(4)
    np.testing.assert_array_equal(torch_predict(again, X), torch_predict(seq, X))


def test_gradients_agree_with_torch_autograd():
    net = random_net([3, 5, 4, 2], ["tanh", "softplus"], "sigmoid")
    seq = to_torch(net)
    X, Y = inputs(3, n=20), np.random.default_rng(5).uniform(size=(20, 2))
    loss = nn.MSELoss()(seq(torch.from_numpy(X)), torch.from_numpy(Y))
    loss.backward()
    assert loss.item() == pytest.approx(net.loss(X, Y), rel=1e-12)
    linears = [m for m in seq if isinstance(m, nn.Linear)]
    for (dW, db), linear in zip(net.gradients(X, Y), linears, strict=True):
        np.testing.assert_allclose(dW, linear.weight.grad.numpy().T, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db, linear.bias.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_consecutive_linears_get_identity_between_them():
    seq = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)).double()
    net = from_torch(seq)
    assert [layer.activation.name for layer in net.layers] == ["identity", "relu", "identity"]
    X = inputs(3)
    np.testing.assert_allclose(net.predict(X), torch_predict(seq, X), rtol=0, atol=1e-12)


def test_explicit_identity_and_no_bias():
    seq = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Identity(), nn.Linear(4, 1)).double()
    net = from_torch(seq)
    np.testing.assert_array_equal(net.layers[0].bias, 0)
    X = inputs(3)
    np.testing.assert_allclose(net.predict(X), torch_predict(seq, X), rtol=0, atol=1e-12)


def test_softmax_dim_one_is_accepted():
    seq = nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1)).double()
    assert from_torch(seq).output_activation.name == "softmax"


def test_loss_is_chosen_from_the_last_activation_or_given():
    softmax = nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=-1))
    sigmoid = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    assert from_torch(softmax).loss_function.name == "cross_entropy"
    assert from_torch(sigmoid).loss_function.name == "mse"
    assert from_torch(sigmoid, loss="bce").loss_function.name == "bce"
    with pytest.raises(ValueError, match="needs output_activation='softmax'"):
        from_torch(sigmoid, loss="cross_entropy")


def test_dtype_follows_torch_or_is_given():
    seq32 = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert from_torch(seq32).dtype == np.float32
    net64 = from_torch(seq32, dtype="float64")
    assert net64.dtype == np.float64
    X = inputs(2, np.float32)
    np.testing.assert_allclose(net64.predict(X), torch_predict(seq32, X), rtol=0, atol=1e-6)


def test_imported_network_can_be_trained():
    seq = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid()).double()
    net = from_torch(seq, loss="bce")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0])
    before = net.loss(X, y)
    net.fit(X, y, epochs=200, learning_rate=0.5, optimizer="sgd")
    assert net.loss(X, y) < before
    # the torch module is untouched: chainrule copied the weights
    assert not np.allclose(net.layers[0].weights, seq[0].weight.detach().numpy().T)


@pytest.mark.parametrize(
    "modules, message",
    [
        ([nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1)], r"module 1 \(Dropout.*not supported"),
        ([nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)], r"module 1 \(GELU.*not supported"),
        ([nn.Conv1d(1, 1, 1)], r"module 0 \(Conv1d.*not supported"),
        ([nn.Linear(2, 3), nn.LeakyReLU(0.2)], r"negative_slope=0.2"),
        ([nn.Linear(2, 3), nn.ELU(alpha=0.5)], r"ELU\(alpha=0.5\)"),
        ([nn.Linear(2, 3), nn.Softplus(beta=2)], r"Softplus\(beta=2\)"),
        ([nn.Linear(2, 3), nn.Softmax(dim=0)], r"Softmax\(dim=0\)"),
        ([nn.Linear(2, 3), nn.Softmax(dim=None)], r"Softmax\(dim=None\)"),
        ([nn.Linear(2, 3), nn.Softmax(dim=-1), nn.Linear(3, 1)], "not the last module"),
        ([nn.ReLU(), nn.Linear(2, 1)], r"module 0 \(ReLU\(\)\) does not follow an nn.Linear"),
        ([nn.Linear(2, 3), nn.ReLU(), nn.Tanh()], r"module 2 \(Tanh\(\)\) does not follow"),
        ([nn.Linear(2, 3), nn.Linear(4, 1)], r"module 1 \(Linear 4 -> 1\) does not follow"),
        ([], "no nn.Linear layer"),
    ],
    ids=["dropout", "gelu", "conv", "leaky_slope", "elu_alpha", "softplus_beta", "softmax_dim0",
         "softmax_dimNone", "softmax_not_last", "activation_first", "two_activations",
         "size_mismatch", "empty"],
)
def test_unsupported_modules_are_refused(modules, message):
    with pytest.raises(ValueError, match=message):
        from_torch(nn.Sequential(*modules))


def test_non_sequential_is_refused():
    with pytest.raises(TypeError, match="needs a torch.nn.Sequential"):
        from_torch(nn.Linear(2, 1))


def test_to_torch_refuses_user_activations():
    swish = Activation("swish", lambda Z: Z / (1 + np.exp(-Z)), lambda Z, A: np.ones_like(Z))
    with pytest.raises(ValueError, match=r"layer 0 uses activation 'swish'.*no PyTorch module"):
        Network([2, 3, 1], activation=swish).to_torch()
    fake = Activation("relu", np.abs, lambda Z, A: np.sign(Z))
    with pytest.raises(ValueError, match=r"layer 1 uses activation 'relu' \(Activation\)"):
        to_torch(Network([2, 3, 1], activation="tanh", output_activation=fake))


def test_to_torch_refuses_exp_clearly_instead_of_changing_the_function():
    net = Network([2, 3, 1], activation="tanh", output_activation="exp", loss="poisson")
    with pytest.raises(ValueError, match=r"layer 1 uses activation 'exp'.*to_onnx"):
        to_torch(net)


def test_network_to_torch_method_delegates():
    net = random_net([2, 3, 1], "relu", "sigmoid")
    seq = net.to_torch()
    X = inputs(2)
    np.testing.assert_allclose(torch_predict(seq, X), net.predict(X), rtol=0, atol=1e-12)


def test_missing_torch_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install torch==2.13.0"):
        to_torch(Network([2, 2, 1]))
