"""Whole training runs of the compiled engine against PyTorch: the same network, the same
batches, the same optimizer, the same weights after every epoch.

``test_engine.py`` holds the engine to the NumPy core within 1e-12; this holds it directly to
``torch.optim`` and autograd, so that the engine and the core cannot drift from PyTorch together.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Network
from chainrule.core.optimizers import SGD, Adam, RMSprop, Rprop

torch = pytest.importorskip("torch")

EPOCHS = 12

OPTIMIZERS = {
    "sgd": (lambda: SGD(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "nesterov": (lambda: SGD(0.05, momentum=0.9, nesterov=True),
                 lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (lambda: Adam(0.02), lambda ps: torch.optim.Adam(ps, lr=0.02)),
    "rmsprop": (lambda: RMSprop(0.01), lambda ps: torch.optim.RMSprop(ps, lr=0.01)),
    "rprop": (lambda: Rprop(0.05), lambda ps: torch.optim.Rprop(ps, lr=0.05)),
}

# (hidden activation, output activation, loss) -> torch's modules and loss on the logits
OUTPUTS = {
    "tanh-identity-mse": ("tanh", "identity", "mse"),
    "relu-softmax-cross_entropy": ("relu", "softmax", "cross_entropy"),
    "sigmoid-sigmoid-bce": ("sigmoid", "sigmoid", "bce"),
}


def _torch_model(net: Network):
    hidden = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}
    modules = []
    for i, layer in enumerate(net.layers):
        linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weights.T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.bias.copy()))
        modules.append(linear)
        if i < len(net.layers) - 1:
            modules.append(hidden[layer.activation.name]())
    return torch.nn.Sequential(*modules)


def _torch_loss(loss: str, logits, y: np.ndarray):
    if loss == "mse":
        return torch.nn.functional.mse_loss(logits, torch.from_numpy(y))
    if loss == "cross_entropy":
        return torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y))


def _problem(loss: str):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(22, 3))
    if loss == "mse":
        return X, np.sin(X @ np.array([[1.0, -0.5], [0.3, 0.8], [-1.0, 0.2]]))
    if loss == "cross_entropy":
        return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, (X[:, :1] * X[:, 1:2] > 0).astype(np.float64)


RUNS = [(optimizer, batch) for optimizer in OPTIMIZERS for batch in (None, 8)  # 8 leaves a
        if not (optimizer == "rprop" and batch)]  # short last batch; Rprop is full-batch only


@pytest.mark.parametrize(("optimizer", "batch"), RUNS)
@pytest.mark.parametrize("case", list(OUTPUTS))
def test_compiled_training_follows_torch_epoch_by_epoch(case: str, optimizer: str, batch) -> None:
    hidden, output, loss = OUTPUTS[case]
    X, y = _problem(loss)
    n_out = {"mse": 2, "cross_entropy": 3, "bce": 1}[loss]
    net = Network([3, 5, 4, n_out], activation=hidden, output_activation=output, loss=loss,
                  seed=1)
    model = _torch_model(net)
    make, make_torch = OPTIMIZERS[optimizer]
    chain_opt, torch_opt = make(), make_torch(model.parameters())
    size = batch or len(X)
    for _ in range(EPOCHS):
        history = net.fit(X, y, epochs=1, batch_size=batch, optimizer=chain_opt, shuffle=False,
                          restarts=1, engine="compiled")
        for first in range(0, len(X), size):
            torch_opt.zero_grad()
            rows = slice(first, first + size)
            _torch_loss(loss, model(torch.from_numpy(X[rows])), y[rows]).backward()
            torch_opt.step()
        assert history.engine == "compiled"
        for layer, linear in zip(net.layers, model[::2], strict=True):
            np.testing.assert_allclose(layer.weights, linear.weight.detach().numpy().T,
                                       rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(layer.bias, linear.bias.detach().numpy(),
                                       rtol=1e-9, atol=1e-11)


def test_weight_decay_on_the_engine_is_torchs_l2_on_the_weights_only() -> None:
    X, y = _problem("mse")
    net = Network([3, 5, 2], activation="tanh", output_activation="identity", loss="mse", seed=2)
    model = _torch_model(net)
    weights, biases = [m.weight for m in model[::2]], [m.bias for m in model[::2]]
    torch_opt = torch.optim.SGD([{"params": weights, "weight_decay": 0.05},
                                 {"params": biases, "weight_decay": 0.0}], lr=0.1, momentum=0.5)
    chain_opt = SGD(0.1, momentum=0.5)
    for _ in range(EPOCHS):
        net.fit(X, y, epochs=1, optimizer=chain_opt, restarts=1, weight_decay=0.05,
                engine="compiled")
        torch_opt.zero_grad()
        _torch_loss("mse", model(torch.from_numpy(X)), y).backward()
        torch_opt.step()
    for layer, linear in zip(net.layers, model[::2], strict=True):
        np.testing.assert_allclose(layer.weights, linear.weight.detach().numpy().T, rtol=1e-9,
                                   atol=1e-11)
        np.testing.assert_allclose(layer.bias, linear.bias.detach().numpy(), rtol=1e-9,
                                   atol=1e-11)
