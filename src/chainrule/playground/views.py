"""What the page draws, computed from a network: heat map, output curve, truth table, units.

Each function takes a :class:`~chainrule.network.Network` (with the weights to show) and the
problem, runs ``net.predict`` and returns plain lists, small enough to send to the page many
times a second: the heat map's outputs go as whole numbers ``0..1000``.
"""

from __future__ import annotations

import numpy as np

from ..activations import activation_name
from ..network import Network
from .problems import PlaygroundData

Array = np.ndarray

GRID = 60  # heat map cells per side
CURVE = 200  # points of the 1-D output curve
SATURATED_Z = {"sigmoid": 4.0, "tanh": 2.0}  # |z| beyond which f' is under 7% of its maximum
SATURATED_SHARE = 0.9  # of the samples, for a unit to count as saturated (as the doctor's rule)


def input_box(data: PlaygroundData) -> list[list[float]]:
    """``[[x_low, x_high], ...]`` per input: the data's range with a margin (0/1 inputs get
    ``[-0.5, 1.5]``, so the truth table's corners sit inside the picture)."""
    X = data.X if data.X_val is None else np.vstack([data.X, data.X_val])
    low, high = X.min(axis=0), X.max(axis=0)
    margin = np.maximum((high - low) * 0.1, 0.25)
    return [[float(a - m), float(b + m)] for a, b, m in zip(low, high, margin, strict=True)]


def grid_inputs(box: list[list[float]], size: int = GRID) -> Array:
    """The centres of a ``size x size`` grid over ``box``, row by row from the top (high x2)."""
    (x0, x1), (y0, y1) = box
    xs = x0 + (np.arange(size) + 0.5) * (x1 - x0) / size
    ys = y1 - (np.arange(size) + 0.5) * (y1 - y0) / size
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def heat_map(net: Network, data: PlaygroundData, grid: Array) -> dict:
    """The network's output over the grid: for two classes the output (``0..1000``); for more,
    the winning class and its probability; for regression the value, scaled to its range."""
    out = np.nan_to_num(net.predict(grid))
    if data.task == "multiclass":
        return {"kind": "multiclass", "size": GRID, "cls": out.argmax(axis=1).tolist(),
                "values": _permille(out.max(axis=1))}
    if data.task == "regression":
        values = out[:, 0]
        low, high = float(values.min()), float(values.max())
        return {"kind": "regression", "size": GRID, "low": low, "high": high,
                "values": _permille((values - low) / max(high - low, 1e-12))}
    return {"kind": "binary", "size": GRID, "values": _permille(out[:, 0])}


def curve(net: Network, box: list[list[float]]) -> dict:
    """The output for one input swept over its range: ``x`` and one list per output."""
    x = np.linspace(box[0][0], box[0][1], CURVE)
    out = net.predict(x[:, None])
    return {"x": np.round(x, 5).tolist(), "y": np.round(np.nan_to_num(out.T), 5).tolist()}


def table(outputs: Array, data: PlaygroundData) -> dict:
    """Each training row's outputs and whether it is right: on the right side of 0.5 (two
    classes), the largest output at the target class (more), within 0.1 (regression)."""
    right = correct(outputs, data.y, data.task)
    return {"outputs": np.round(np.nan_to_num(outputs), 6).tolist(), "right": right.tolist(),
            "all_right": bool(right.all())}


def correct(outputs: Array, y: Array, task: str) -> Array:
    """Whether each output is right for its target (see :func:`table`)."""
    if task == "multiclass":
        return outputs.argmax(axis=1) == y
    if task == "regression":
        return np.abs(outputs[:, 0] - y) < 0.1
    return (outputs[:, 0] > 0.5) == (y > 0.5)


def outputs_and_health(net: Network, X: Array) -> tuple[Array, list[list[str]]]:
    """``net``'s outputs for ``X``, and the state of every unit on those samples.

    A unit is ``"saturated"`` when it is a sigmoid/tanh unit with ``|z|`` past the point where
    ``f'`` falls under 7% of its maximum on 90% of the samples (the output layer only with
    ``mse``, where ``f'`` enters the error), ``"dead"`` when it is a ReLU unit with ``z <= 0`` on
    every sample, else ``""``: the doctor's rules, unit by unit.
    """
    outputs = net.predict(X)
    health = []
    last = len(net.layers) - 1
    for i, layer in enumerate(net.layers):
        name, Z = activation_name(layer.activation), layer.Z
        status = np.full(Z.shape[1], "", dtype=object)
        if name in SATURATED_Z and (i < last or net.loss_function.name == "mse"):
            status[(np.abs(Z) > SATURATED_Z[name]).mean(axis=0) >= SATURATED_SHARE] = "saturated"
        elif name == "relu":
            status[(Z <= 0).all(axis=0)] = "dead"
        health.append(status.tolist())
    return outputs, health


def _permille(values: Array) -> list[int]:
    values = np.nan_to_num(np.clip(values, 0.0, 1.0), nan=0.5)
    return np.rint(values * 1000).astype(int).tolist()
