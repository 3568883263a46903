"""Move networks between chainrule and PyTorch: ``nn.Sequential`` of ``nn.Linear`` layers.

Both compute the same layer, written with the weight matrix the other way round::

    chainrule:  Z = X W + b       W of shape (n_in, n_out)
    PyTorch:    Z = X V^T + b     nn.Linear.weight V of shape (n_out, n_in)

so ``W = V^T``. Activations map one to one:

=============  ===========================  =============================================
chainrule      PyTorch                      note
=============  ===========================  =============================================
sigmoid        ``nn.Sigmoid()``
tanh           ``nn.Tanh()``
relu           ``nn.ReLU()``
leaky_relu     ``nn.LeakyReLU(0.01)``       the default slope only
elu            ``nn.ELU(alpha=1.0)``        the default alpha only
softplus       ``nn.Softplus(beta=1)``      PyTorch returns ``z`` itself for ``z > 20``
exp            none                         ``to_torch`` refuses it (see below)
identity       ``nn.Identity()`` or nothing  two Linear layers in a row: identity between
softmax        ``nn.Softmax(dim=-1)``        last module only
=============  ===========================  =============================================

PyTorch has no module for the exponential, so ``to_torch`` refuses a network with an ``exp``
layer (a Poisson network's output) rather than return a different function; train such a model in
PyTorch on the logits with ``nn.PoissonNLLLoss(log_input=True)`` and apply ``torch.exp`` to
predict.

PyTorch is an optional dependency (``pip install torch==2.13.0``), imported only here.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, activation_name

Array = np.ndarray


def require_torch():
    """Import ``torch``, or raise an ImportError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            "PyTorch interop needs torch: pip install 'chainrule[torch]' "
            "(or pip install torch==2.13.0)"
        ) from None
    return torch


def _activation_of(module, nn) -> str | None:
    """The chainrule name of a supported activation module, or None if it is not one."""
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Identity):
        return "identity"
    if isinstance(module, nn.LeakyReLU):
        if module.negative_slope != 0.01:
            raise ValueError(
                f"nn.LeakyReLU(negative_slope={module.negative_slope}) is not supported; "
                "chainrule's leaky_relu has slope 0.01 (nn.LeakyReLU(0.01))"
            )
        return "leaky_relu"
    if isinstance(module, nn.ELU):
        if module.alpha != 1.0:
            raise ValueError(
                f"nn.ELU(alpha={module.alpha}) is not supported; chainrule's elu has alpha=1"
            )
        return "elu"
    if isinstance(module, nn.Softplus):
        if module.beta != 1:
            raise ValueError(
                f"nn.Softplus(beta={module.beta}) is not supported; chainrule's softplus has beta=1"
            )
        return "softplus"
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(
                f"nn.Softmax(dim={module.dim}) is not supported; use nn.Softmax(dim=-1), "
                "softmax over the features of each sample"
            )
        return "softmax"
    return None


def from_torch(sequential, dtype: str | np.dtype | None = None, loss: str | None = None):
    """A :class:`~chainrule.Network` with the layers and weights of a PyTorch ``nn.Sequential``.

    Parameters
    ----------
    sequential : torch.nn.Sequential
        ``nn.Linear`` layers, each followed by at most one supported activation (see the module
        table); ``nn.Softmax`` only at the end. Two Linear layers in a row get an identity
        activation between them.
    dtype : {"float32", "float64"}, optional
        The network's dtype; by default that of the first layer's weights.
    loss : str, optional
        The network's loss; by default ``"cross_entropy"`` after a final ``nn.Softmax``, else
        ``"mse"``.

    Returns
    -------
    Network
        With ``layers[i].weights = linear_i.weight.T`` and ``layers[i].bias = linear_i.bias``
        (zeros when the Linear has no bias).

    Raises
    ------
    ValueError
        For a module that is not supported, an activation not preceded by a Linear layer, a
        Softmax before the end, or Linear layers whose sizes do not chain.
    """
    torch = require_torch()
    from torch import nn

    from .network import Network

    if not isinstance(sequential, nn.Sequential):
        raise TypeError(
            f"from_torch needs a torch.nn.Sequential, got {type(sequential).__name__}"
        )
    modules = list(sequential)
    linears: list = []
    activations: list[str] = []
    for position, module in enumerate(modules):
        if isinstance(module, nn.Linear):
            if linears and len(activations) < len(linears):
                activations.append("identity")
            if linears and module.in_features != linears[-1].out_features:
                raise ValueError(
                    f"module {position} (Linear {module.in_features} -> {module.out_features}) "
                    f"does not follow Linear {linears[-1].in_features} -> "
                    f"{linears[-1].out_features}"
                )
            linears.append(module)
            continue
        name = _activation_of(module, nn)
        if name is None:
            raise ValueError(
                f"module {position} ({module!r}) is not supported; from_torch reads nn.Linear "
                "and the activations Sigmoid, Tanh, ReLU, LeakyReLU(0.01), ELU(alpha=1), "
                "Softplus(beta=1), Identity and a final Softmax(dim=-1)"
            )
        if len(activations) != len(linears) - 1 or not linears:
            raise ValueError(
                f"module {position} ({module!r}) does not follow an nn.Linear; chainrule layers "
                "are a Linear with at most one activation after it"
            )
        if name == "softmax" and position != len(modules) - 1:
            raise ValueError(
                f"nn.Softmax at module {position} is not the last module; chainrule uses "
                "softmax only as the output activation"
            )
        activations.append(name)
    if not linears:
        raise ValueError("the nn.Sequential has no nn.Linear layer to import")
    if len(activations) < len(linears):
        activations.append("identity")

    first = linears[0].weight
    if dtype is None:
        dtype = "float64" if first.dtype == torch.float64 else "float32"
    if loss is None:
        loss = "cross_entropy" if activations[-1] == "softmax" else "mse"
    sizes = [linears[0].in_features] + [linear.out_features for linear in linears]
    net = Network(
        sizes, activation=activations[:-1], output_activation=activations[-1], loss=loss,
        dtype=dtype,
    )
    for layer, linear in zip(net.layers, linears, strict=True):
        layer.weights[...] = linear.weight.detach().cpu().double().numpy().T
        if linear.bias is None:
            layer.bias[...] = 0
        else:
            layer.bias[...] = linear.bias.detach().cpu().double().numpy()
    return net


def to_torch(net):
    """A PyTorch ``nn.Sequential`` computing the same function as ``net``, in its dtype.

    Each layer becomes ``nn.Linear(n_in, n_out)`` with ``weight = W.T`` and ``bias = b``, followed
    by its activation module (none for identity). The result is in eval mode; a final
    ``nn.Softmax(dim=-1)`` is kept, so drop it (``seq[:-1]``) before training with
    ``nn.CrossEntropyLoss``, which expects logits.

    Raises
    ------
    ValueError
        For a user-defined activation object, which has no PyTorch module.
    """
    torch = require_torch()
    from torch import nn

    dtype = torch.float64 if np.dtype(net.dtype) == np.float64 else torch.float32
    modules_for = {
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.01),
        "elu": lambda: nn.ELU(alpha=1.0),
        "softplus": lambda: nn.Softplus(beta=1.0),
        "softmax": lambda: nn.Softmax(dim=-1),
    }
    modules = []
    for i, layer in enumerate(net.layers):
        if np.ndim(layer.weights) != 2:
            raise ValueError(
                f"cannot convert stacked replica weights of shape {np.shape(layer.weights)}"
            )
        name = activation_name(layer.activation)
        if ACTIVATIONS.get(name) is not layer.activation:
            raise ValueError(
                f"layer {i} uses activation {name!r} ({type(layer.activation).__name__}), which "
                "has no PyTorch module; to_torch supports the built-in activations "
                f"{', '.join(a for a in ACTIVATIONS if a != 'exp')}"
            )
        if name == "exp":
            raise ValueError(
                f"layer {i} uses activation 'exp', which has no PyTorch module; export the "
                "network to ONNX (net.to_onnx), which has Exp, or apply torch.exp to the output "
                "of a Sequential without it (nn.PoissonNLLLoss(log_input=True) takes that "
                "output, the logits)"
            )
        linear = nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.weights.T)))
            linear.bias.copy_(torch.from_numpy(np.asarray(layer.bias)))
        modules.append(linear)
        if name != "identity":
            modules.append(modules_for[name]())
    return nn.Sequential(*modules).eval()
