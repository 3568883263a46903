"""Find the learner's training data where their loss function reads it.

Learners' loss functions seldom take the data as arguments: they read globals (``x_data``,
``labels``) or the attributes of their network object (``self.X``). To identify the network
without asking, :func:`data_candidates` collects the numbers such a function (and the
functions it calls) reads, and proposes ``(inputs, targets)`` pairs, likeliest names first.
Nothing is executed: only names and values already in memory are read.
"""

from __future__ import annotations

import dis
import inspect
import itertools
import re
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

INPUT_NAMES = ("x", "xs", "inputs", "input", "x_data", "x_train", "data", "features", "set_q",
               "training_inputs", "samples", "q")
TARGET_NAMES = ("y", "ys", "t", "target", "targets", "labels", "label", "y_data", "y_train",
                "expected", "outputs", "set_a", "answers", "a", "truth")
NUMBERED_INPUT = re.compile(r"^(x|i|in|inp|input)_?(\d+)$", re.IGNORECASE)
NUMBERED_TARGET = re.compile(r"^(t|y|target|desired|expected)_?(\d+)$", re.IGNORECASE)
MAX_PAIRS = 24
MAX_ROWS = 16  # single samples of the likeliest pair tried as the data
MAX_ENTRIES = 1_000_000
MAX_ROWS_OF_PAIRS = 100_000  # (x, t) pairs read as a data set at most


def data_candidates(*functions: Callable, exclude: tuple[Any, ...] = ()) -> list[tuple[Any, Any]]:
    """``(X, y)`` pairs read by ``functions``, most plausible first (at most ``MAX_PAIRS``)."""
    found: dict[str, np.ndarray] = {}
    samples: list[tuple[np.ndarray, np.ndarray]] = []  # lists of (x, t) pairs
    seen: set[int] = {id(x) for x in exclude}
    for fn in functions:
        for name, value in _read_names(fn, depth=2, visited=set()):
            if id(value) in seen or name in found:
                continue
            pair = _sample_pairs(value)
            if pair is not None:
                samples.append(pair)
            elif (array := _numbers(value)) is not None:
                found[name] = array
    pairs = []
    for (xn, X), (yn, y) in itertools.permutations(found.items(), 2):
        if _compatible(X, y):
            pairs.append((_rank(xn, INPUT_NAMES) + _rank(yn, TARGET_NAMES), X, y))
    pairs.sort(key=lambda p: p[0])
    out = _numbered_scalars(found) + samples + [(X, y) for _, X, y in pairs[:MAX_PAIRS]]
    if out:  # a loss of one sample of the data (question 002 trains on X[s], y[s])
        X, y = out[0]
        if X.ndim >= 1 and y.ndim >= 1 and X.shape[0] == y.shape[0] <= MAX_ROWS:
            out += [(X[i], y[i]) for i in range(X.shape[0])]
    return out


def _numbered_scalars(found: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """One sample written as numbered scalars: inputs ``x1, x2`` (``X1``, ``i1``, ``input_1``)
    and a target ``t`` (``T``, ``target``, ``y``) or numbered targets ``t1, t2``."""
    def numbered(pattern: re.Pattern) -> dict[str, list[tuple[int, float]]]:
        groups: dict[str, list[tuple[int, float]]] = {}
        for name, value in found.items():
            match = pattern.match(name)
            if match and value.ndim == 0:
                groups.setdefault(match[1].lower(), []).append((int(match[2]), float(value)))
        return groups

    targets = [np.array([float(found[name])]) for name in sorted(
        (n for n in found if found[n].ndim == 0 and n.lower() in TARGET_NAMES[:6]),
        key=lambda n: _rank(n, TARGET_NAMES))]
    targets += [np.array([v for _, v in sorted(entries)])
                for entries in numbered(NUMBERED_TARGET).values()]
    return [(np.array([[v for _, v in sorted(entries)]]), t[None, :])
            for entries in numbered(NUMBERED_INPUT).values() for t in targets]


def _sample_pairs(value: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A list of ``(inputs, target)`` pairs (``data = [([0, 1], 1), ...]``, Nielsen's
    ``training_data``) as ``(X, y)``, one row per pair; else None."""
    if not isinstance(value, list | tuple) or not 0 < len(value) <= MAX_ROWS_OF_PAIRS or \
            not all(isinstance(item, list | tuple) and len(item) == 2 for item in value):
        return None
    X = [_numbers(x) for x, _ in value]
    y = [_numbers(t) for _, t in value]
    if all(v is not None and v.ndim == 0 for v in X + y):
        return None  # rows of two numbers ([[0, 0], [0, 1]]): a table, not pairs
    if any(v is None for v in X + y) or len({v.size for v in X}) != 1 or \
            len({v.size for v in y}) != 1:
        return None
    return np.array([v.ravel() for v in X]), np.array([v.ravel() for v in y])


def _read_names(fn: Any, depth: int, visited: set[int]) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` for the globals, closure cells, defaults and ``self`` attributes that
    ``fn`` can read; functions it names are followed ``depth`` levels deep."""
    if id(fn) in visited or depth < 0:
        return
    visited.add(id(fn))
    owner = getattr(fn, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        for name, value in vars(owner).items() if hasattr(owner, "__dict__") else ():
            yield name, value
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return
    namespace = getattr(fn, "__globals__", {})
    for name in _globals_read(code):
        if name in namespace:
            value = namespace[name]
            yield name, value
            if inspect.isfunction(value) or inspect.ismethod(value):
                yield from _read_names(value, depth - 1, visited)
    for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        yield name, value
        if inspect.isfunction(value):
            yield from _read_names(value, depth - 1, visited)
    for name, value in zip(reversed(code.co_varnames[:code.co_argcount]),
                           reversed(fn.__defaults__ or ()), strict=False):
        yield name, value


def _globals_read(code: types.CodeType) -> list[str]:
    """The global names ``code`` (and the comprehensions and lambdas inside it) loads: not
    attribute names such as the ``T`` of ``W.T``, which share ``co_names`` with them."""
    names = [ins.argval for ins in dis.get_instructions(code)
             if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _globals_read(const)
    return list(dict.fromkeys(names))


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a finite float array, or None when it is not plain numbers."""
    if isinstance(value, bool) or callable(value) or isinstance(value, types.ModuleType | str):
        return None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return None
    if array.dtype.kind not in "biuf" or array.size == 0 or array.size > MAX_ENTRIES:
        return None
    array = array.astype(np.float64)
    return array if np.all(np.isfinite(array)) else None


def _compatible(X: np.ndarray, y: np.ndarray) -> bool:
    """Could ``y`` hold the targets of the samples in ``X``?"""
    if X.ndim == 0:
        return y.ndim == 0 or y.size <= 10
    if X.ndim == 1:
        return y.ndim <= 1 and (y.size in (1, X.size) or X.size <= 64)
    return y.ndim == 0 and X.shape[0] == 1 or X.shape[0] in y.shape or X.shape[1] in y.shape


def _rank(name: str, preferred: tuple[str, ...]) -> int:
    lower = name.lower()
    if lower in preferred:
        return preferred.index(lower)
    return len(preferred) + (0 if any(lower.startswith(p) for p in preferred if p) else 10)
