"""Export a trained network as an ONNX graph, to run it without chainrule (or Python).

The graph is the forward pass of :mod:`chainrule.layers`, one ``Gemm`` and one activation node per
layer, between an optional standardisation of the inputs and an optional mapping of the outputs::

    X_0 = (X - mean) / scale            Sub, Div          (only when given)
    Z_l = X_{l-1} W_l + b_l             Gemm(X, W, b)     W of shape (n_in, n_out), no transpose
    X_l = f_l(Z_l)                      Sigmoid, Tanh, Relu, LeakyRelu(alpha=0.01), Elu(alpha=1),
                                        Softplus, Exp, Identity, Softmax(axis=-1)
    Y = X_L * out_scale + out_mean      Mul, Add          (only when given)

The input ``"input"`` has shape ``(batch, n_inputs)`` with a dynamic batch dimension, the output
``"output"`` shape ``(batch, n_outputs)``; both have the network's dtype.

Why opset 17 by default: every operator used here has had its current definition since opset 13,
and opset 17 (IR version 8) is read by every onnxruntime since 1.12 (2022), by TensorRT 8.5+,
OpenVINO and onnxruntime-web, and is what the PyTorch exporter has long written by default. Any
opset from 13 to the installed ``onnx``'s newest can be asked for; the IR version written is the
oldest that supports the opset, so older runtimes can load the file. Runtimes lag behind ``onnx``
itself (onnxruntime 1.31 reads opsets up to 26 while onnx 1.23 writes 28): ask for a newer opset
only when the target runtime is known to read it.

float32 networks use the standard operators throughout. onnxruntime's CPU kernels for ``Elu`` and
``Softplus`` exist only for float32, and ``LeakyRelu``'s ``alpha`` attribute is a float32 (0.01
becomes 0.0099999998), so a float64 network writes these three activations as the same formulas in
elementary operators (``Where``, ``Greater``, ``Exp``, ``Log``, ...), which runtimes support in
double precision, with the constants stored as float64 tensors.
"""

from __future__ import annotations

import os

import numpy as np

from .activations import ACTIVATIONS, activation_name
from .io import atomic_write

Array = np.ndarray

DEFAULT_OPSET = 17
MIN_OPSET = 13
INPUT_NAME = "input"
OUTPUT_NAME = "output"

# chainrule name -> (ONNX operator, attributes). Every mapped activation is exactly this function.
ONNX_ACTIVATIONS: dict[str, tuple[str, dict]] = {
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.01}),
    "elu": ("Elu", {"alpha": 1.0}),
    "softplus": ("Softplus", {}),
    "exp": ("Exp", {}),
    "identity": ("Identity", {}),
    "softmax": ("Softmax", {"axis": -1}),
}


def require_onnx():
    """Import ``onnx``, or raise an ImportError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the 'onnx' package: pip install 'chainrule[onnx]' "
            "(or pip install onnx onnxruntime)"
        ) from None
    return onnx


def to_onnx(
    net,
    path: str | os.PathLike,
    input_mean: Array | float | None = None,
    input_scale: Array | float | None = None,
    opset: int | None = None,
    output_mean: Array | float | None = None,
    output_scale: Array | float | None = None,
):
    """Write ``net`` as an ONNX model file at ``path`` (atomically) and return the ``ModelProto``.

    The file computes ``net.predict((X - input_mean) / input_scale) * output_scale +
    output_mean``: the standardisation ``x_j' = (x_j - mean_j) / scale_j`` used in training (e.g.
    :class:`chainrule.data.Standardizer`'s or a scikit-learn ``StandardScaler``'s ``mean`` and
    ``scale``) travels inside the model, so callers feed raw inputs; for a regression network
    trained on standardised targets the output mapping gives predictions in the targets' units.

    Parameters
    ----------
    net : Network
        The network to export (one set of weights, not stacked replicas).
    path : str or path-like
        Where to write the ``.onnx`` file; written to a temporary file beside it and then renamed
        over it, so a reader never sees half a model.
    input_mean, input_scale : array of shape (n_inputs,), scalar, or None
        Optional standardisation applied first (``Sub`` then ``Div``). ``scale`` must be non-zero.
    opset : int, optional
        ONNX operator set, 13 up to the installed ``onnx``'s newest; default 17 (see module notes).
    output_mean, output_scale : array of shape (n_outputs,), scalar, or None
        Optional mapping of the network's outputs, applied last (``Mul`` then ``Add``).

    Returns
    -------
    onnx.ModelProto
        The model that was written (already checked by ``onnx.checker``).

    Raises
    ------
    ValueError
        For an activation without an ONNX equivalent (a user-defined object), a bad opset, or
        scaling arrays of the wrong shape.
    ImportError
        When ``onnx`` is not installed.
    """
    model = build_model(
        net, input_mean=input_mean, input_scale=input_scale, opset=opset,
        output_mean=output_mean, output_scale=output_scale,
    )
    data = model.SerializeToString()
    atomic_write(path, lambda f: f.write(data))
    return model


def build_model(
    net,
    input_mean: Array | float | None = None,
    input_scale: Array | float | None = None,
    opset: int | None = None,
    output_mean: Array | float | None = None,
    output_scale: Array | float | None = None,
):
    """The ONNX ``ModelProto`` of ``net`` without writing it; arguments as :func:`to_onnx`."""
    onnx = require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    opset = _check_opset(onnx, DEFAULT_OPSET if opset is None else opset)
    dtype = np.dtype(net.dtype)
    elem_type = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    graph = _GraphBuilder(numpy_helper, helper, dtype)
    for layer in net.layers:
        if np.ndim(layer.weights) != 2:
            raise ValueError(
                f"cannot export stacked replica weights of shape {np.shape(layer.weights)}; "
                "export a single trained network"
            )
    names = [_onnx_activation(layer.activation, i) for i, layer in enumerate(net.layers)]

    x = INPUT_NAME
    n_in, n_out = net.layers[0].n_in, net.layers[-1].n_out
    if input_mean is not None:
        mean = graph.constant("input_mean", _check_scaling(input_mean, n_in, "input_mean", dtype))
        x = graph.node("Sub", [x, mean], "centred")
    if input_scale is not None:
        scale = _check_scaling(input_scale, n_in, "input_scale", dtype)
        if np.any(scale == 0):
            raise ValueError("input_scale contains zeros; use 1 for constant input columns")
        x = graph.node("Div", [x, graph.constant("input_scale", scale)], "standardised")
    for i, (layer, name) in enumerate(zip(net.layers, names, strict=True)):
        W = graph.constant(f"W{i + 1}", layer.weights)
        b = graph.constant(f"b{i + 1}", layer.bias)
        z = graph.node("Gemm", [x, W, b], f"Z{i + 1}")
        x = graph.activation(name, z, f"A{i + 1}")
    if output_scale is not None:
        scale = _check_scaling(output_scale, n_out, "output_scale", dtype)
        x = graph.node("Mul", [x, graph.constant("output_scale", scale)], "rescaled")
    if output_mean is not None:
        mean = _check_scaling(output_mean, n_out, "output_mean", dtype)
        x = graph.node("Add", [x, graph.constant("output_mean", mean)], "shifted")
    graph.nodes[-1].output[0] = OUTPUT_NAME  # the last node writes the graph's output

    onnx_graph = helper.make_graph(
        graph.nodes,
        "chainrule_mlp",
        [helper.make_tensor_value_info(INPUT_NAME, elem_type, ["batch", n_in])],
        [helper.make_tensor_value_info(OUTPUT_NAME, elem_type, ["batch", n_out])],
        initializer=graph.initializers,
        doc_string=repr(net),
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        onnx_graph,
        opset_imports=opsets,
        ir_version=helper.find_min_ir_version_for(opsets),
        producer_name="chainrule",
        producer_version=_version(),
        doc_string=f"{repr(net)} exported by chainrule",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


class _GraphBuilder:
    """Collects nodes and constant tensors, giving every intermediate a unique name."""

    def __init__(self, numpy_helper, helper, dtype: np.dtype) -> None:
        self.numpy_helper = numpy_helper
        self.helper = helper
        self.dtype = dtype
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def constant(self, name: str, value) -> str:
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        self.count += 1
        output = output or f"t{self.count}_{op.lower()}"
        self.nodes.append(
            self.helper.make_node(op, inputs, [output], name=f"{op}_{self.count}", **attrs)
        )
        return output

    def activation(self, name: str, z: str, output: str) -> str:
        """``f(z)`` as the standard operator, or as elementary operators in float64 (see top)."""
        op, attrs = ONNX_ACTIVATIONS[name]
        if self.dtype == np.float64 and name in ("leaky_relu", "elu", "softplus"):
            return self.elementary(name, z, output)
        return self.node(op, [z], output, **attrs)

    def elementary(self, name: str, z: str, output: str) -> str:
        zero = self.constant(f"zero_{self.count}", 0.0)
        positive = self.node("Greater", [z, zero])
        if name == "leaky_relu":  # where(z > 0, z, 0.01 z)
            negative = self.node("Mul", [z, self.constant(f"slope_{self.count}", 0.01)])
            return self.node("Where", [positive, z, negative], output)
        one = self.constant(f"one_{self.count}", 1.0)
        if name == "elu":  # where(z > 0, z, exp(min(z, 0)) - 1)
            expm1 = self.node("Sub", [self.node("Exp", [self.node("Min", [z, zero])]), one])
            return self.node("Where", [positive, z, expm1], output)
        # softplus: max(z, 0) + log(1 + exp(-|z|)), never overflowing
        tail = self.node("Exp", [self.node("Neg", [self.node("Abs", [z])])])
        log1p = self.node("Log", [self.node("Add", [tail, one])])
        return self.node("Add", [self.node("Relu", [z]), log1p], output)


def _onnx_activation(activation, index: int) -> str:
    """The table name of a built-in activation, or a ValueError naming the unsupported one."""
    name = activation_name(activation)
    if name in ONNX_ACTIVATIONS and ACTIVATIONS.get(name) is activation:
        return name
    raise ValueError(
        f"layer {index} uses activation {name!r} ({type(activation).__name__}), which has no "
        f"ONNX equivalent; ONNX export supports the built-in activations "
        f"{', '.join(ONNX_ACTIVATIONS)}"
    )


def _check_opset(onnx, opset: int) -> int:
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int | np.integer) or not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"opset must be an integer from {MIN_OPSET} to {newest} (this onnx's newest), "
            f"got {opset!r}; the default {DEFAULT_OPSET} suits most runtimes"
        )
    return int(opset)


def _check_scaling(value, n: int, what: str, dtype: np.dtype) -> Array:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(n, array)
    if array.shape != (n,):
        units = "inputs" if what.startswith("input") else "outputs"
        raise ValueError(
            f"{what} must be a scalar or have shape ({n},) for a network with {n} {units}, "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or inf")
    return array.astype(dtype)


def _version() -> str:
    from . import __version__

    return __version__
