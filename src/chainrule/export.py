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
ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 2  # LabelEncoder-2, OneHotEncoder-1, Imputer-1, Scaler-1: read since onnxruntime 1.3
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
    dtype: str | np.dtype | None = None,
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
    dtype : {"float32", "float64"}, optional
        The graph's input, weights and output; default the network's dtype.

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
        output_mean=output_mean, output_scale=output_scale, dtype=dtype,
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
    dtype: str | np.dtype | None = None,
):
    """The ONNX ``ModelProto`` of ``net`` without writing it; arguments as :func:`to_onnx`.

    ``dtype`` (float32 or float64) is the graph's; by default the network's own.
    """
    onnx = require_onnx()
    opset = _check_opset(onnx, DEFAULT_OPSET if opset is None else opset)
    graph = _GraphBuilder(net.dtype if dtype is None else dtype)
    _check_single(net)
    n_in = net.layers[0].n_in
    x = INPUT_NAME
    if input_mean is not None:
        mean = graph.constant("input_mean", _check_scaling(input_mean, n_in, "input_mean",
                                                           graph.dtype))
        x = graph.node("Sub", [x, mean], "centred")
    if input_scale is not None:
        scale = _check_scaling(input_scale, n_in, "input_scale", graph.dtype)
        if np.any(scale == 0):
            raise ValueError("input_scale contains zeros; use 1 for constant input columns")
        x = graph.node("Div", [x, graph.constant("input_scale", scale)], "standardised")
    _network_nodes(graph, net, x, output_mean, output_scale)
    inputs = [graph.tensor(INPUT_NAME, graph.elem_type, n_in)]
    return graph.model(onnx, inputs, net.layers[-1].n_out, opset, repr(net))


def _check_single(net) -> None:
    for layer in net.layers:
        if np.ndim(layer.weights) != 2:
            raise ValueError(
                f"cannot export stacked replica weights of shape {np.shape(layer.weights)}; "
                "export a single trained network"
            )


def _network_nodes(graph: _GraphBuilder, net, x: str, output_mean, output_scale) -> str:
    """The layers ``Gemm`` + activation from ``x``, then the output mapping; the last node
    writes the graph's output."""
    names = [_onnx_activation(layer.activation, i) for i, layer in enumerate(net.layers)]
    n_out = net.layers[-1].n_out
    for i, (layer, name) in enumerate(zip(net.layers, names, strict=True)):
        W = graph.constant(f"W{i + 1}", layer.weights)
        b = graph.constant(f"b{i + 1}", layer.bias)
        z = graph.node("Gemm", [x, W, b], f"Z{i + 1}")
        x = graph.activation(name, z, f"A{i + 1}")
    if output_scale is not None:
        scale = _check_scaling(output_scale, n_out, "output_scale", graph.dtype)
        x = graph.node("Mul", [x, graph.constant("output_scale", scale)], "rescaled")
    if output_mean is not None:
        mean = _check_scaling(output_mean, n_out, "output_mean", graph.dtype)
        x = graph.node("Add", [x, graph.constant("output_mean", mean)], "shifted")
    graph.nodes[-1].output[0] = OUTPUT_NAME
    return OUTPUT_NAME


class _GraphBuilder:
    """Collects nodes and constant tensors, giving every intermediate a unique name."""

    def __init__(self, dtype: str | np.dtype) -> None:
        from onnx import TensorProto, helper, numpy_helper

        self.numpy_helper = numpy_helper
        self.helper = helper
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.elem_type = TensorProto.DOUBLE if self.dtype == np.float64 else TensorProto.FLOAT
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0
        self.uses_ml = False

    def tensor(self, name: str, elem_type: int, width: int):
        """A graph input or output of shape ``(batch, width)``."""
        return self.helper.make_tensor_value_info(name, elem_type, ["batch", width])

    def model(self, onnx, inputs: list, n_out: int, opset: int, doc: str, metadata=None):
        """The checked ``ModelProto`` of the nodes collected, with the given inputs."""
        helper = self.helper
        internal = {t.name for t in self.initializers} | {o for n in self.nodes for o in n.output}
        clash = sorted(internal & {i.name for i in inputs})
        if clash:
            raise ValueError(f"column name(s) {', '.join(clash)} are used inside the ONNX graph; "
                             "rename them")
        graph = helper.make_graph(
            self.nodes, "chainrule_mlp", inputs, [self.tensor(OUTPUT_NAME, self.elem_type, n_out)],
            initializer=self.initializers, doc_string=doc,
        )
        opsets = [helper.make_opsetid("", opset)]
        if self.uses_ml:
            opsets.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))
        model = helper.make_model(
            graph,
            opset_imports=opsets,
            ir_version=helper.find_min_ir_version_for(opsets),
            producer_name="chainrule",
            producer_version=_version(),
            doc_string=f"{doc} exported by chainrule",
        )
        for key, value in (metadata or {}).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(model, full_check=True)
        return model

    def integers(self, name: str, values) -> str:
        """A constant int64 tensor (indices)."""
        self.initializers.append(self.numpy_helper.from_array(np.asarray(values, np.int64),
                                                              name))
        return name

    def constant(self, name: str, value) -> str:
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, domain: str = "",
             **attrs) -> str:
        self.count += 1
        output = output or f"t{self.count}_{op.lower()}"
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=f"{op}_{self.count}",
                                                domain=domain or None, **attrs))
        self.uses_ml |= domain == ML_DOMAIN
        return output

    def ml(self, op: str, inputs: list[str], **attrs) -> str:
        """A node of the ONNX-ML operator set (``ai.onnx.ml``)."""
        return self.node(op, inputs, domain=ML_DOMAIN, **attrs)

    def cast(self, x: str) -> str:
        """``x`` (float32, as ONNX-ML operators output) in the graph's dtype."""
        if self.dtype == np.float32:
            return x
        return self.node("Cast", [x], to=self.elem_type)

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


def model_to_onnx(model, path: str | os.PathLike | None = None,
                  dtype: str | np.dtype | None = None, opset: int | None = None):
    """The ONNX graph of a CLI :class:`~chainrule.data.Model`, from raw columns to predictions.

    The preprocessing is part of the graph, in ONNX-ML operators, so a runtime predicts from
    the table's own columns what ``chainrule predict`` does:

    * ``"input"``, shape ``(batch, n_numeric)`` in ``dtype``: the numeric columns, in the order
      of the model's ``numeric`` columns (also in the file's metadata, ``numeric_columns``), NaN
      where a value is missing. A date column (role ``date``) is given as the number of days
      since 1970-01-01 (fractions for times of day), as :func:`onnx_inputs` converts it: the
      graph does no date parsing. float32: ``Imputer`` (the training medians) then ``Scaler``
      (``(x - mean) * (1 / scale)``); float64, which those operators do not compute in:
      ``IsNaN``/``Where`` then ``Sub``/``Mul``. These are the operations, in the same type, of
      :meth:`~chainrule.data.Preprocessor.transform`. Missing indicators: ``IsNaN``, ``Gather``.
    * one string input per categorical column, named after the column, shape ``(batch, 1)``:
      its category text as ``chainrule train`` lists it (``"Biscoe"``, ``"4"``, ``"True"``).
      A missing value is ``""`` or one of pandas' missing-value strings (``"NA"``, ``"nan"``,
      ...). ``LabelEncoder`` maps missing values to the most frequent category (and any other
      unknown text to an unseen marker), ``OneHotEncoder(zeros=1)`` codes the categories and
      gives all-zero rows for unseen ones; a second ``LabelEncoder`` makes the missing
      indicator.
    * ``"output"``: class probabilities (one column, P(second class), for two classes), or
      regression targets in their own units.

    Parameters
    ----------
    model : chainrule.data.Model
        A model trained by ``chainrule train`` (with its preprocessing).
    path : str or path-like, optional
        Where to write the file (atomically); ``None`` only builds the graph.
    dtype : {"float32", "float64"}, optional
        The graph's numeric type; default the network's. Another type converts the weights, and
        the predictions then differ from the model's by that type's rounding.
    opset : int, optional
        As :func:`to_onnx`.

    Returns
    -------
    onnx.ModelProto
    """
    from .data import NA_STRINGS

    onnx = require_onnx()
    opset = _check_opset(onnx, DEFAULT_OPSET if opset is None else opset)
    pre, net = model.preprocessor, model.network
    if pre is None:
        raise ValueError("this model has no preprocessing; export its network with to_onnx")
    _check_single(net)
    graph = _GraphBuilder(net.dtype if dtype is None else dtype)
    names = pre.text_columns
    if INPUT_NAME in names:
        raise ValueError(f"a categorical column is named {INPUT_NAME!r}, the name of the "
                         "numeric input; rename it")
    from onnx import TensorProto

    inputs, pieces = [], []
    if pre.numeric:
        inputs.append(graph.tensor(INPUT_NAME, graph.elem_type, len(pre.numeric)))
        pieces += _numeric_nodes(graph, pre.numeric)
    for column in pre.categorical:
        inputs.append(graph.tensor(column.name, TensorProto.STRING, 1))
        pieces += _categorical_nodes(graph, column, NA_STRINGS)
    x = pieces[0] if len(pieces) == 1 else graph.node("Concat", pieces, "features", axis=1)
    scaler = model.target_scaler
    _network_nodes(graph, net, x, None if scaler is None else scaler.mean,
                   None if scaler is None else scaler.scale)
    metadata = {"numeric_columns": ",".join(c.name for c in pre.numeric),
                "date_columns": ",".join(c.name for c in pre.numeric if c.role == "date"),
                "categorical_columns": ",".join(names),
                "task": str(model.task), "classes": ",".join(map(str, model.classes or []))}
    proto = graph.model(onnx, inputs, net.layers[-1].n_out, opset, repr(net), metadata)
    if path is not None:
        data = proto.SerializeToString()
        atomic_write(path, lambda f: f.write(data))
    return proto


def _numeric_nodes(graph: _GraphBuilder, columns) -> list[str]:
    """Imputed and standardised numeric block, then the missing indicators that exist."""
    fill = [c.fill for c in columns]
    mean = np.array([c.mean for c in columns])
    scale = np.array([c.scale for c in columns])
    if graph.dtype == np.float32:
        filled = graph.ml("Imputer", [INPUT_NAME], imputed_value_floats=[float(v) for v in fill],
                          replaced_value_float=float("nan"))
        block = graph.ml("Scaler", [filled], offset=[float(v) for v in mean],
                         scale=[float(v) for v in 1 / scale])
    else:
        missing = graph.node("IsNaN", [INPUT_NAME])
        filled = graph.node("Where", [missing, graph.constant("input_fill", fill), INPUT_NAME])
        centred = graph.node("Sub", [filled, graph.constant("input_mean", mean)])
        block = graph.node("Mul", [centred, graph.constant("input_inverse_scale", 1 / scale)])
    flagged = [j for j, c in enumerate(columns) if c.indicator]
    if not flagged:
        return [block]
    index = graph.integers("input_gaps", flagged)
    gaps = graph.node("Gather", [graph.node("IsNaN", [INPUT_NAME]), index], axis=1)
    return [block, graph.node("Cast", [gaps], to=graph.elem_type)]


def _categorical_nodes(graph: _GraphBuilder, column, na_strings: list[str]) -> list[str]:
    """One-hot block of a categorical column, then its missing indicator if it has one."""
    missing = [s for s in na_strings if s not in column.categories]
    unseen = "<unseen>"
    while unseen in column.categories:
        unseen += "_"
    known = graph.ml("LabelEncoder", [column.name], keys_strings=column.categories + missing,
                     values_strings=column.categories + [column.fill] * len(missing),
                     default_string=unseen)
    hot = graph.ml("OneHotEncoder", [known], cats_strings=column.categories, zeros=1)
    pieces = [graph.cast(graph.node("Flatten", [hot], axis=1))]
    if column.indicator:
        flag = graph.ml("LabelEncoder", [column.name], keys_strings=missing,
                        values_floats=[1.0] * len(missing), default_float=0.0)
        pieces.append(graph.cast(flag))
    return pieces


def onnx_inputs(model, data, dtype: str | np.dtype | None = None) -> dict[str, Array]:
    """The inputs of :func:`model_to_onnx`'s graph for the rows of ``data``.

    Parameters
    ----------
    model : chainrule.data.Model
    data : str, path, pandas.DataFrame or chainrule.data.Table
        A file or data frame with the model's columns (read with
        :func:`chainrule.data.read_table`), or a table already read.
    dtype : {"float32", "float64"}, optional
        The graph's numeric type; default the model's.

    Returns
    -------
    dict
        ``{"input": (n, n_numeric) array, column: (n, 1) array of str, ...}``: missing numbers
        are NaN, dates days since 1970-01-01, missing categories ``""``.
    """
    from .data import Table, category_text, read_table

    pre = model.preprocessor
    table = data if isinstance(data, Table) else read_table(
        data, features=model.feature_names, text=pre.text_columns)
    feeds = {}
    if pre.numeric:
        feeds[INPUT_NAME] = np.ascontiguousarray(pre.raw_numbers(table),
                                                 dtype=dtype or model.network.dtype)
    for column in pre.categorical:
        texts = [category_text(v) or "" for v in table.column(column.name).tolist()]
        feeds[column.name] = np.array(texts, dtype=object).reshape(-1, 1)
    return feeds
