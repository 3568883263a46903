"""The learner's parameters, however they are written, as one flat vector and back.

Learners keep their parameters in many shapes: a dict of floats (``{"w11": 0.3, "b1": 0.0}``),
a dict or list of arrays (``[W1, b1, W2, b2]``), or nested lists (Nielsen's
``[self.weights, self.biases]``). The checks work on one float64 vector ``theta`` holding every
entry; :class:`Params` turns ``theta`` back into the learner's own structure (with floats where
the learner wrote floats) and reads a structure, such as one changed in place by a training
step, back into a vector.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray
Path = tuple[Any, ...]  # keys and indices from the top of the structure down to a leaf


def label(name: str | int) -> str:
    """How a parameter is named in messages: its key, or ``params[i]`` for a list entry."""
    return f"params[{name}]" if isinstance(name, int) else str(name)


@dataclass
class Params:
    """The leaves of a parameter structure: names, shapes, and where they sit in ``theta``."""

    structure: Any
    paths: list[Path]
    names: list[str | int]
    shapes: list[tuple[int, ...]]
    is_float: list[bool]  # written as a Python number: passed back as a float
    offsets: Array  # where each leaf starts in theta (one more entry: the total size)

    @classmethod
    def of(cls, params: Any) -> Params:
        """Read ``params``: a dict, list or tuple of numbers or arrays, possibly nested."""
        if not isinstance(params, Mapping | list | tuple):
            raise TypeError(f"params must be a dict or a list of arrays, got "
                            f"{type(params).__name__}")
        paths: list[Path] = []
        _collect(params, (), paths)
        if not paths:
            raise ValueError("params is empty: there is nothing to check")
        names = [_name(path) for path in paths]
        values = [as_float_array(_get(params, p), f"parameter {label(n)}")
                  for p, n in zip(paths, names, strict=True)]
        is_float = [v.ndim == 0 and not isinstance(_get(params, p), np.ndarray)
                    for v, p in zip(values, paths, strict=True)]
        offsets = np.cumsum([0] + [v.size for v in values])
        return cls(params, paths, names, [v.shape for v in values], is_float, offsets)

    @property
    def size(self) -> int:
        """Entries in all leaves together: the length of ``theta``."""
        return int(self.offsets[-1])

    def __len__(self) -> int:
        return len(self.paths)

    def leaf(self, theta: Array, i: int) -> Array:
        """Leaf ``i`` of ``theta``, in its own shape (a view)."""
        return theta[self.offsets[i]:self.offsets[i + 1]].reshape(self.shapes[i])

    def theta(self, structure: Any = None) -> Array:
        """The entries of ``structure`` (default: the original) as one float64 vector."""
        structure = self.structure if structure is None else structure
        parts = []
        for path, name, shape in zip(self.paths, self.names, self.shapes, strict=True):
            value = as_float_array(_get(structure, path), f"parameter {label(name)}")
            if value.shape != shape:
                hint = ""
                if len(shape) == 2 and 1 in shape and value.ndim == 2 and \
                        np.broadcast_shapes(shape, value.shape) == value.shape:
                    hint = (" (broadcast: a (k, 1) bias minus a (k,) gradient, e.g. a sum "
                            "without keepdims=True?)")
                raise ValueError(f"{label(name)} changed shape from {shape} to "
                                 f"{value.shape}{hint}")
            parts.append(value.reshape(-1))
        return np.concatenate(parts)

    def build(self, theta: Array) -> Any:
        """A new structure like the original, holding the values of ``theta``."""
        leaves = {path: (float(self.leaf(theta, i)) if self.is_float[i]
                         else self._like(i, self.leaf(theta, i).copy()))
                  for i, path in enumerate(self.paths)}
        return _rebuild(self.structure, (), leaves)

    def _like(self, i: int, value: Array) -> Array:
        """``value`` as the learner's own kind of array: ``np.matrix`` stays a matrix (its ``*``
        is the matrix product, which their code relies on)."""
        if not isinstance(_get(self.structure, self.paths[i]), np.matrix):
            return value
        with warnings.catch_warnings():  # (NumPy's notice that np.matrix is discouraged)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.asmatrix(value)

    def vector(self, grads: Any, what: str = "grad_fn") -> Array:
        """Gradients in the structure of the parameters (or a flat list/tuple of one gradient
        per parameter, in their order) as one float64 vector; clear errors when they do not
        fit."""
        # a dict's (or nested lists') gradients as one flat list, in the order of the leaves
        flat = (isinstance(grads, list | tuple) and len(grads) == len(self)
                and (isinstance(self.structure, Mapping) or any(len(p) > 1 for p in self.paths)))
        grads = _gradient_keys(grads, self.structure)
        self._check_top(grads, what, flat)
        parts = []
        for i, (path, name, shape) in enumerate(zip(self.paths, self.names, self.shapes,
                                                    strict=True)):
            if flat:
                value = grads[i]
            else:
                value = _lookup(grads, path, name, what, self)
            grad = as_float_array(value, f"the gradient of {label(name)}")
            if grad.shape != shape:
                if grad.size == int(np.prod(shape)) and (grad.ndim <= 1 or len(shape) <= 1):
                    grad = grad.reshape(shape)  # (n,) for (n, 1) and the like
                else:
                    hint = " (it looks transposed)" if grad.shape == shape[::-1] else ""
                    if not hint and isinstance(grads, list | tuple) and \
                            len(grads) == len(self) and self._reversed(grads):
                        hint = " (the gradients look listed last layer first: return them in "
                        hint += "the order of params)"
                    elif not hint and sum(d > 1 for d in shape) <= 1 and grad.size != 1:
                        hint = (" (for a bias: sum the error over the samples only, "
                                "np.sum(delta, axis=0) for samples in rows, axis=1 for samples "
                                "in columns, with keepdims=True for a column vector)")
                    elif not hint and grad.size == 1:
                        hint = (" (a single number: a sum over every axis where only the "
                                "samples' belongs, or a product of the wrong arrays, such as "
                                "the layer's own output where its input belongs?)")
                    raise ValueError(
                        f"the gradient of {label(name)} has shape {grad.shape} but the "
                        f"parameter has shape {shape}{hint}; a gradient must have the shape of "
                        "its parameter")
            parts.append(grad.reshape(-1))
        return np.concatenate(parts)


    def _reversed(self, grads: list | tuple) -> bool:
        """Do the gradients have the parameters' shapes in reverse order?"""
        try:
            shapes = [np.shape(g) for g in reversed(grads)]
        except ValueError:
            return False
        return [int(np.prod(s)) for s in shapes] == [int(np.prod(s)) for s in self.shapes]

    def _check_top(self, grads: Any, what: str, flat: bool) -> None:
        """Clear errors for gradients whose top level does not mirror the parameters."""
        top = self.structure
        if flat:
            return
        if isinstance(top, Mapping):
            if not isinstance(grads, Mapping):
                raise TypeError(f"params is a dict, so {what} must return a dict with the same "
                                f"keys (or a list in their order); it returned "
                                f"{type(grads).__name__}")
            extra = [k for k in grads if k not in top]
            if extra:
                raise ValueError(f"{what} must return one gradient per parameter: unexpected "
                                 f"{extra} (expected keys {list(top)})")
        elif not isinstance(grads, list | tuple) or len(grads) != len(top):
            got = len(grads) if isinstance(grads, list | tuple) else type(grads).__name__
            raise ValueError(f"params has {len(top)} entries, so {what} must return a list of "
                             f"{len(top)} gradients; it returned {got}")


GRADIENT_AFFIXES = re.compile(r"^(dl_?d|dj_?d|dloss_?d|grad_?|d_?|g_?)|(_?grads?|_?gradient)$",
                              re.IGNORECASE)


def _gradient_keys(grads: Any, structure: Any) -> Any:
    """Gradients keyed as learners key them (``dW1``, ``grad_b1``, ``dL_dW1``, ``W1_grad``)
    for parameters keyed ``W1``, ``b1``: the same dict under the parameters' keys. Anything
    that does not map one to one is returned unchanged."""
    if not (isinstance(grads, Mapping) and isinstance(structure, Mapping)) or \
            all(k in structure for k in grads):
        return grads
    renamed = {}
    for key, value in grads.items():
        if key in structure:
            renamed[key] = value
            continue
        names = {GRADIENT_AFFIXES.sub("", key, count=n) for n in (1, 2)} \
            if isinstance(key, str) else set()
        names = [n for n in names if n in structure and n not in grads and n not in renamed]
        if len(names) != 1:
            return grads
        renamed[names[0]] = value
    return renamed


def _collect(node: Any, path: Path, out: list[Path]) -> None:
    """The paths of the leaves under ``node``. Below the top, a list of plain numbers is one
    leaf (``{"w": [0.1, 0.2]}`` is a vector); at the top each entry is a parameter."""
    if isinstance(node, Mapping):
        for key in node:
            _collect(node[key], (*path, key), out)
    elif isinstance(node, list | tuple) and (not path or not _is_number_list(node)):
        for i, item in enumerate(node):
            _collect(item, (*path, i), out)
    else:
        out.append(path)


def _is_number_list(node: list | tuple) -> bool:
    """A list of plain numbers (or of such lists) is one array-like leaf, not a structure."""
    return bool(node) and all(
        isinstance(x, int | float | np.number) and not isinstance(x, bool) or
        isinstance(x, list | tuple) and _is_number_list(x) for x in node)


def _name(path: Path) -> str | int:
    """``w11``, ``3`` (an entry of a top-level list), ``w[0]``, ``params[0][1]``."""
    if len(path) == 1:
        return path[0] if isinstance(path[0], int | str) else str(path[0])
    head = "params" if isinstance(path[0], int) else str(path[0])
    return head + "".join(f"[{p}]" for p in (path if head == "params" else path[1:]))


def _get(node: Any, path: Path) -> Any:
    for key in path:
        node = node[key]
    return node


def _lookup(grads: Any, path: Path, name: str | int, what: str, params: Params) -> Any:
    node = grads
    for depth, key in enumerate(path):
        if isinstance(node, Mapping):
            if key not in node:
                expected = [label(n) for n in params.names]
                raise ValueError(f"{what} must return one gradient per parameter: "
                                 f"{label(name)} is missing (expected {expected})")
        elif isinstance(node, list | tuple):
            if not isinstance(key, int) or key >= len(node):
                raise ValueError(f"{what} must return gradients in the structure of params: "
                                 f"no entry for {label(name)}")
        else:
            kind = type(params.structure).__name__ if depth == 0 else "container"
            raise TypeError(f"params is a {kind}, so {what} must return a {kind} of the same "
                            f"structure; it returned {type(grads).__name__}")
        node = node[key]
    return node


def _rebuild(node: Any, path: Path, leaves: dict[Path, Any]) -> Any:
    if path in leaves:
        return leaves[path]
    if isinstance(node, Mapping):
        return {key: _rebuild(node[key], (*path, key), leaves) for key in node}
    items = [_rebuild(item, (*path, i), leaves) for i, item in enumerate(node)]
    return tuple(items) if isinstance(node, tuple) else items


def as_float_array(value: Any, what: str) -> Array:
    """A float64 copy of ``value``, or a TypeError saying what was wrong."""
    try:
        kind = "O" if value is None else np.asarray(value).dtype.kind
    except ValueError:  # a ragged list such as [np.zeros(2), np.zeros(3)]
        kind = "O"
    if kind not in "biuf":
        raise TypeError(f"{what} must be a number or an array of numbers, "
                        f"got {type(value).__name__}")
    return np.array(value, dtype=np.float64)  # always a copy


def as_loss(value: Any, what: str = "loss_fn") -> float:
    """The loss as a float, or a clear error when it is not one finite number."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "fiu":
        raise ValueError(f"{what} must return a single number, got {type(value).__name__} "
                         f"of shape {array.shape}; average the per-sample losses (np.mean)")
    return float(array.reshape(()))


class Caller:
    """Calls a learner's function the way it was written.

    ``fn(params)`` is the usual form; ``fn(params, X, y)`` when it takes three arguments and
    data are given; ``fn(**params)`` when its arguments are the names of the parameters
    (``def loss(w1, b1, w2, b2)``). The structure passed is always a fresh copy.
    """

    def __init__(self, fn: Callable, params: Params, data: tuple[Any, Any] | None,
                 what: str) -> None:
        if not callable(fn):
            raise TypeError(f"{what} must be a function, got {type(fn).__name__}")
        self.fn, self.params, self.data, self.what = fn, params, data, what
        self.by_name = self.with_data = False
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            return
        required = [p for p in signature.parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                           p.POSITIONAL_OR_KEYWORD)]
        names = set(signature.parameters)
        keys = params.names if isinstance(params.structure, Mapping) else []
        self.by_name = (len(keys) > 1 and all(isinstance(k, str) and k in names for k in keys)
                        and len(required) >= len(keys))
        self.with_data = not self.by_name and data is not None and len(required) == 3

    def __call__(self, structure: Any) -> Any:
        if self.by_name:
            return self.fn(**structure)
        if self.with_data:
            return self.fn(structure, *self.data)
        return self.fn(structure)
