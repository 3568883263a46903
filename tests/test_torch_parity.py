"""PyTorch autograd as the reference (float64): activations, losses and whole random networks.

Every activation's forward and derivative, every loss's value and output error ``dZ`` (``poisson``
against ``nn.PoissonNLLLoss(log_input=True)``), and ``net.loss`` / ``net.gradients`` of random
networks (every hidden activation but ``exp`` x every valid output activation / loss pair, 1-4
weight layers, widths 1-8, with and without sample weights) are compared with the same
computation written in PyTorch, to 1e-9 relative.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from chainrule import Network
from chainrule.activations import get_activation
from chainrule.losses import get_loss

RTOL = 1e-9
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "exp", "identity"]
PAIRS = [
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("identity", "mse"),
    ("softplus", "mse"),
    ("elu", "mse"),
    ("leaky_relu", "mse"),
    ("softmax", "mse"),
    ("sigmoid", "bce"),
    ("softmax", "cross_entropy"),
    ("exp", "mse"),
    ("exp", "poisson"),
]
# hidden activations of the random networks: exp of exp of ... overflows in deep random nets
NETWORK_HIDDEN = [name for name in HIDDEN if name != "exp"]
TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda Z: F.leaky_relu(Z, negative_slope=0.01),
    "elu": lambda Z: F.elu(Z, alpha=1.0),
    "softplus": F.softplus,
    "exp": torch.exp,
    "identity": lambda Z: Z,
    "softmax": lambda Z: torch.softmax(Z, dim=-1),
}


def assert_close(actual, expected, rtol: float = RTOL) -> None:
    """``actual == expected`` to ``rtol``, with an absolute floor tiny next to the magnitudes."""
    expected = np.asarray(expected)
    atol = 1e-12 * float(np.abs(expected).max(initial=0.0))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def tensor(values, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(values), dtype=torch.float64, requires_grad=grad)


# --- activations --------------------------------------------------------------------------
def activation_inputs() -> np.ndarray:
    """Net inputs across the useful range and both tails, none at a kink (``z = 0``)."""
    rng = np.random.default_rng(1)
    Z = rng.normal(0.0, 4.0, size=(40, 3))
    Z = np.where(np.abs(Z) < 1e-3, 0.5, Z)
    tails = np.array([[-40.0, -25.0, -8.0], [8.0, 25.0, 40.0]])
    return np.vstack([Z, tails])


@pytest.mark.parametrize("name", HIDDEN)
def test_activation_forward_and_derivative_match_torch_autograd(name: str) -> None:
    activation = get_activation(name)
    Z = activation_inputs()
    A = activation.forward(Z)
    z = tensor(Z, grad=True)
    a = TORCH_ACTIVATIONS[name](z)
    a.sum().backward()
    assert_close(A, a.detach().numpy())
    assert_close(activation.derivative(Z, A), z.grad.numpy())


def test_softmax_forward_matches_torch_and_has_no_elementwise_derivative() -> None:
    softmax = get_activation("softmax")
    Z = activation_inputs()
    assert_close(softmax.forward(Z), torch.softmax(tensor(Z), dim=-1).numpy())
    with pytest.raises(TypeError, match="not elementwise"):
        softmax.derivative(Z, softmax.forward(Z))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", [*HIDDEN, "softmax"])
def test_compiled_activation_is_the_core_activation_in_its_dtype(name: str, dtype) -> None:
    """The engine's compiled ``f`` and ``D * f'`` (flat arrays, with an offset) are the core's,
    to a few units in the last place of the largest value (its ``exp`` is its own; where ``f'``
    saturates, ``1 - a^2`` cancels those units), and the core keeps the dtype."""
    from chainrule.engine import maths

    activation = get_activation(name)
    Z = activation_inputs().astype(dtype)
    A = activation.forward(Z)
    assert A.dtype == dtype
    code, (rows, cols) = maths.ACTIVATIONS.index(name), Z.shape
    eps = 1e-14 if dtype == np.float64 else 1e-6
    Zs, As = np.concatenate([[7.0], Z.ravel()]).astype(dtype), np.full(Z.size + 1, np.nan, dtype)
    maths.activate(code, Zs, As, 1, rows, cols)
    np.testing.assert_allclose(As[1:].reshape(Z.shape), A, rtol=eps,
                               atol=eps * np.abs(A).max())
    dA = np.random.default_rng(2).normal(size=Z.shape).astype(dtype)
    D = dA.ravel().copy()
    maths.times_derivative(code, Zs, As, 1, D, 0, rows, cols)
    if name == "softmax":  # the Jacobian-vector product
        want = A * (dA - (dA * A).sum(axis=-1, keepdims=True))
    else:
        want = dA * activation.derivative(Z, A)
        assert activation.derivative(Z, A).dtype == dtype
    np.testing.assert_allclose(D.reshape(Z.shape), want, rtol=eps, atol=eps * np.abs(want).max())


@pytest.mark.parametrize("name", [*HIDDEN, "softmax"])
def test_activation_of_integer_inputs_is_the_activation_of_the_same_floats(name: str) -> None:
    activation = get_activation(name)
    Z = np.array([[-3, -1, 0, 2, 5]])
    A = activation.forward(Z)
    np.testing.assert_allclose(A, activation.forward(Z.astype(float)), rtol=1e-15)
    if name != "softmax":
        np.testing.assert_allclose(activation.derivative(Z, A),
                                   activation.derivative(Z.astype(float), A), rtol=1e-15)


def test_sigmoid_saturates_to_exactly_0_and_1_without_a_warning_from_the_network() -> None:
    net = Network([1, 1], activation=[], output_activation="sigmoid")
    net.layers[0].weights[...] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = net.predict(np.array([[-800.0], [-30.0], [800.0]]))
        net.gradients(np.array([[-800.0]]), np.array([1.0]))
    assert out[0, 0] == 0.0 and out[2, 0] == 1.0
    assert_close(out[1, 0], np.exp(-30.0) / (1 + np.exp(-30.0)))


# --- losses -------------------------------------------------------------------------------
def torch_loss_value(loss: str, z: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """PyTorch's definition of each loss, mean reduction, from the logits ``z``."""
    if loss == "mse":
        return F.mse_loss(z, targets)  # identity output: A = Z
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(z, targets)
    if loss == "poisson":
        return torch.nn.PoissonNLLLoss(log_input=True)(z, targets)
    return F.cross_entropy(z, targets)


def loss_targets(loss: str, kind: str, n: int, n_out: int, rng: np.random.Generator):
    """``(y for chainrule, targets for torch)``."""
    if loss == "mse":
        y = rng.normal(size=(n, n_out))
        return y, tensor(y)
    if loss == "bce":
        y = rng.random((n, n_out))
        if kind == "hard":
            y = np.round(y)
        return y, tensor(y)
    if loss == "poisson":  # counts, or non-negative rates
        y = rng.poisson(3.0, size=(n, n_out)).astype(float)
        if kind == "rates":
            y *= rng.random((n, n_out))
        return y, tensor(y)
    if kind == "labels":
        y = rng.integers(0, n_out, size=n)
        return y, torch.tensor(y, dtype=torch.long)
    if kind == "onehot":
        y = np.eye(n_out)[rng.integers(0, n_out, size=n)]
    else:  # probabilities
        y = rng.random((n, n_out)) + 0.05
        y /= y.sum(axis=1, keepdims=True)
    return y, tensor(y)


LOSS_CASES = [
    ("mse", "identity", "real"),
    ("bce", "sigmoid", "hard"),
    ("bce", "sigmoid", "soft"),
    ("cross_entropy", "softmax", "labels"),
    ("cross_entropy", "softmax", "onehot"),
    ("cross_entropy", "softmax", "probabilities"),
    ("poisson", "exp", "counts"),
    ("poisson", "exp", "rates"),
]


@pytest.mark.parametrize("n", [9, 30_000], ids=["9 rows", "30000 rows"])  # dot / pairwise sum
@pytest.mark.parametrize("scale", [1.0, 50.0, 800.0], ids=["z~1", "z~50", "z~800"])
@pytest.mark.parametrize(("loss_name", "output", "kind"), LOSS_CASES)
def test_loss_value_and_output_error_match_torch(
    loss_name: str, output: str, kind: str, scale: float, n: int
) -> None:
    rng = np.random.default_rng(7)
    n_out = 3
    Z = rng.normal(size=(n, n_out))
    Z = scale * Z / np.abs(Z).max(axis=1, keepdims=True)  # every row has a |z| = scale
    if loss_name == "poisson":  # exp(z) overflows above z = 709 (in torch too): large |z| are
        Z = np.minimum(Z, 40.0)  # negative, where a = 0 and log a would be -inf
    y, targets = loss_targets(loss_name, kind, n, n_out, rng)
    loss = get_loss(loss_name)
    activation = get_activation(output)
    with np.errstate(over="ignore"):  # sigmoid: exp(-z) = inf at z ~ -800, giving a = 0
        A = activation.forward(Z)
    Y = loss.prepare_targets(y, n_out, np.dtype(np.float64))

    value = loss.value(Z, A, Y, 1.0 / n)
    dZ = loss.delta(Z, A, Y, 1.0 / n, activation)

    z = tensor(Z, grad=True)
    expected = torch_loss_value(loss_name, z, targets)
    expected.backward()
    assert np.isfinite(value) and np.all(np.isfinite(dZ))
    assert_close(value, expected.item())
    assert_close(dZ, z.grad.numpy())


@pytest.mark.parametrize("copies", [1, 3])
@pytest.mark.parametrize("weights", ["mean", "sample weights"])
@pytest.mark.parametrize("scale", [1.0, 800.0], ids=["z~1", "z~800"])
@pytest.mark.parametrize(("loss_name", "output", "kind"), LOSS_CASES)
def test_compiled_loss_and_output_error_match_torch(
    loss_name: str, output: str, kind: str, scale: float, weights: str, copies: int
) -> None:
    """The engine's compiled loss value and output error (each copy's rows from an offset in
    one flat array, as training lays them out) are torch's, and the core's."""
    from chainrule.engine import maths

    rng = np.random.default_rng(11)
    n, n_out = 7, 3
    Z = rng.normal(size=(copies, n, n_out))
    Z = scale * Z / np.abs(Z).max(axis=-1, keepdims=True)
    if loss_name == "poisson":
        Z = np.minimum(Z, 40.0)
    y, targets = loss_targets(loss_name, kind, n, n_out, rng)
    loss, activation = get_loss(loss_name), get_activation(output)
    with np.errstate(over="ignore"):
        A = activation.forward(Z)
    Y = loss.prepare_targets(y, n_out, np.dtype(np.float64))
    w = rng.dirichlet(np.ones(n)) if weights == "sample weights" else np.zeros(0)
    c = w[:, None] if w.size else 1.0 / n
    for k in range(copies):
        D = np.full(n * n_out, np.nan)
        value = maths.loss_and_error(maths.LOSSES.index(loss_name), maths.ACTIVATIONS.index(
            output), Z.ravel(), A.ravel(), k * n * n_out, Y.ravel(), 0, n, n_out, 1.0 / n, w, 0,
            D)
        assert_close(value, loss.value(Z[k], A[k], Y, c), rtol=1e-13)
        assert_close(D.reshape(n, n_out), loss.delta(Z[k], A[k], Y, c, activation), rtol=1e-13)
        if weights == "mean":
            z = tensor(Z[k], grad=True)
            expected = torch_loss_value(loss_name, z, targets)
            expected.backward()
            assert_close(value, expected.item())
            assert_close(D.reshape(n, n_out), z.grad.numpy())


@pytest.mark.parametrize("scale", [50.0, 800.0])
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_mse_output_error_through_saturated_outputs_matches_torch(output: str, scale: float):
    """MSE through a saturated sigmoid/softmax: the error vanishes, and is never NaN."""
    rng = np.random.default_rng(3)
    Z = scale * np.sign(rng.normal(size=(6, 3)))
    Y = rng.random((6, 3))
    activation = get_activation(output)
    with np.errstate(over="ignore"):  # sigmoid: exp(-z) = inf at z = -800, giving a = 0
        A = activation.forward(Z)
    dZ = get_loss("mse").delta(Z, A, Y, 1 / 6, activation)
    z = tensor(Z, grad=True)
    F.mse_loss(TORCH_ACTIVATIONS[output](z), tensor(Y)).backward()
    assert np.all(np.isfinite(dZ))
    assert_close(dZ, z.grad.numpy())


# --- whole networks -----------------------------------------------------------------------
def random_data(net: Network, loss: str, output: str, n: int, rng: np.random.Generator,
                kind: str = "labels"):
    """Inputs, targets for chainrule, and the same targets for torch."""
    n_out = net.n_outputs
    X = rng.normal(size=(n, net.n_inputs))
    if loss == "cross_entropy":
        y, targets = loss_targets(loss, kind, n, n_out, rng)
    elif loss == "bce":
        y, targets = loss_targets(loss, "soft", n, n_out, rng)
        y[::2] = np.round(y[::2])
        targets = tensor(y)
    elif loss == "poisson":
        y, targets = loss_targets(loss, "counts", n, n_out, rng)
    elif output in ("sigmoid", "softmax"):
        y = rng.random((n, n_out))
        targets = tensor(y)
    else:
        y = rng.normal(size=(n, n_out))
        targets = tensor(y)
    return X, y, targets


def torch_network_loss(net: Network, X, targets, loss: str, sample_weight=None):
    """The network and its loss written in PyTorch from ``net``'s weights: (loss, params)."""
    A = tensor(X)
    params = []
    for layer in net.layers:
        W = tensor(layer.weights, grad=True)
        b = tensor(layer.bias, grad=True)
        params.append((W, b))
        Z = A @ W + b
        A = TORCH_ACTIVATIONS[layer.activation.name](Z)
    if sample_weight is None:
        if loss == "mse":
            return F.mse_loss(A, targets), params
        if loss == "bce":
            return F.binary_cross_entropy_with_logits(Z, targets), params
        if loss == "poisson":
            return torch.nn.PoissonNLLLoss(log_input=True)(Z, targets), params
        return F.cross_entropy(Z, targets), params
    if loss == "mse":
        per_sample = F.mse_loss(A, targets, reduction="none").mean(dim=1)
    elif loss == "bce":
        per_sample = F.binary_cross_entropy_with_logits(Z, targets, reduction="none").mean(dim=1)
    elif loss == "poisson":
        per_sample = torch.nn.PoissonNLLLoss(log_input=True, reduction="none")(Z, targets).mean(
            dim=1)
    else:
        per_sample = F.cross_entropy(Z, targets, reduction="none")
    w = tensor(sample_weight)
    return (w * per_sample).sum() / w.sum(), params


def assert_network_matches_torch(net: Network, X, y, targets, loss: str, sample_weight=None):
    expected, params = torch_network_loss(net, X, targets, loss, sample_weight)
    expected.backward()
    assert np.isfinite(expected.item())  # a comparison of infinities would prove nothing
    assert_close(net.loss(X, y, sample_weight=sample_weight), expected.item())
    grads = net.gradients(X, y, sample_weight=sample_weight)
    assert len(grads) == len(params)
    for (dW, db), (W, b) in zip(grads, params, strict=True):
        assert dW.shape == W.shape and db.shape == b.shape
        assert_close(dW, W.grad.numpy())
        assert_close(db, b.grad.numpy())


def random_sizes(rng: np.random.Generator, depth: int, output: str, loss: str) -> list[int]:
    """``depth`` weight layers, widths 1-8 (at least 2 outputs for softmax)."""
    sizes = rng.integers(1, 9, size=depth + 1).tolist()
    if output == "softmax" or loss == "cross_entropy":
        sizes[-1] = int(rng.integers(2, 9))
    return sizes


@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "sample_weight"])
@pytest.mark.parametrize(("output", "loss"), PAIRS, ids=[f"{o}-{lo}" for o, lo in PAIRS])
@pytest.mark.parametrize("hidden", NETWORK_HIDDEN)
def test_random_networks_loss_and_gradients_match_torch(
    hidden: str, output: str, loss: str, weighted: bool
) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{hidden}-{output}-{loss}-{weighted}".encode()))
    for depth in (1, 2, 3, 4):
        sizes = random_sizes(rng, depth, output, loss)
        net = Network(sizes, activation=hidden, output_activation=output, loss=loss,
                      seed=int(rng.integers(1 << 30)))
        for layer in net.layers:  # non-zero biases: no unit sits exactly at a kink (z = 0)
            layer.bias[...] = rng.normal(0.0, 0.3, size=layer.bias.shape)
        n = int(rng.integers(3, 12))
        kinds = ["labels", "probabilities"] if loss == "cross_entropy" else ["values"]
        for kind in kinds:
            X, y, targets = random_data(net, loss, output, n, rng, kind)
            sample_weight = rng.random(n) * 3 if weighted else None
            assert_network_matches_torch(net, X, y, targets, loss, sample_weight)


@pytest.mark.parametrize("scale", [50.0, 800.0])
@pytest.mark.parametrize(("output", "loss"), [("sigmoid", "bce"), ("softmax", "cross_entropy")])
def test_saturated_network_outputs_match_torch_without_nan(output, loss, scale) -> None:
    """Output logits around +-50 and +-800: the fused losses stay finite and exact."""
    rng = np.random.default_rng(11)
    net = Network([3, 4, 3], activation="tanh", output_activation=output, loss=loss, seed=2)
    X, y, targets = random_data(net, loss, output, 8, rng)
    net.layers[-1].weights *= scale / np.abs(net.layers[-1].weights).max()
    net.layers[-1].bias[...] = scale * np.array([1.0, -1.0, 0.5])
    Z = np.tanh(X @ net.layers[0].weights) @ net.layers[-1].weights + net.layers[-1].bias
    assert np.abs(Z).max() > 0.5 * scale
    value = net.loss(X, y)
    grads = net.gradients(X, y)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for pair in grads for g in pair)
    assert_network_matches_torch(net, X, y, targets, loss)


@pytest.mark.parametrize("scale", [50.0, 800.0])
def test_poisson_network_far_below_zero_stays_finite_and_matches_torch(scale) -> None:
    """Log-rates around -800: ``a = exp(z)`` underflows to 0, yet the loss ``a - y z`` (never
    ``y log a``) and its gradients stay finite and equal PyTorch's."""
    rng = np.random.default_rng(12)
    net = Network([3, 4, 2], activation="tanh", output_activation="exp", loss="poisson", seed=2)
    X, y, targets = random_data(net, "poisson", "exp", 8, rng)
    net.layers[-1].bias[...] = -scale
    assert net.predict(X).max() < np.exp(-0.5 * scale)
    assert_network_matches_torch(net, X, y, targets, "poisson")


def test_one_output_targets_of_shape_n_match_torch_column_targets() -> None:
    rng = np.random.default_rng(5)
    net = Network([2, 3, 1], activation="tanh", output_activation="identity", seed=1)
    X = rng.normal(size=(7, 2))
    y = rng.normal(size=7)
    assert_network_matches_torch(net, X, y, tensor(y[:, None]), "mse")
