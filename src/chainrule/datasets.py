"""Built-in problems, generated (never downloaded): the questions' truth tables and classics.

Each :class:`Problem` carries its inputs ``X``, targets ``y``, and the topology the question used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Problem:
    """A training problem: inputs, targets, and the network size that goes with it."""

    name: str
    X: Array
    y: Array
    sizes: tuple[int, ...]
    description: str


def binary_inputs(n_bits: int) -> Array:
    """All ``2**n_bits`` binary input rows in counting order: ``000, 001, ..., 111``."""
    codes = np.arange(2**n_bits)[:, None]
    return ((codes >> np.arange(n_bits - 1, -1, -1)) & 1).astype(float)


def parity(n_bits: int) -> tuple[Array, Array]:
    """``n_bits``-bit parity: target 1 when an odd number of inputs is 1."""
    X = binary_inputs(n_bits)
    return X, X.sum(axis=1) % 2


def encoder(n: int) -> tuple[Array, Array]:
    """The ``n``-m-``n`` encoder: reproduce each of the ``n`` one-hot patterns at the output."""
    X = np.eye(n)
    return X, X.copy()


def _gates() -> dict[str, Array]:
    X = binary_inputs(2)
    return {"xor": X[:, 0] != X[:, 1], "and": X[:, 0] * X[:, 1] > 0, "or": X.max(axis=1) > 0}


def _problems() -> dict[str, Problem]:
    X2 = binary_inputs(2)
    gates = _gates()
    numbers = np.arange(1, 10, dtype=float)
    return {
        p.name: p
        for p in (
            Problem("xor", X2, gates["xor"].astype(float), (2, 2, 1),
                    "XOR with a 2-2-1 sigmoid net (questions 000, 001)"),
            Problem("and", X2, gates["and"].astype(float), (2, 2, 1), "AND, 2-2-1 (question 001)"),
            Problem("or", X2, gates["or"].astype(float), (2, 2, 1), "OR, 2-2-1 (question 001)"),
            Problem("three-input", binary_inputs(3), np.array([1, 1, 1, 0, 1, 0, 1, 1.0]),
                    (3, 4, 1), "y = 11101011 over inputs 000..111, 3-4-1 (question 002)"),
            Problem("and-chain", X2, gates["and"].astype(float), (2, 1, 1),
                    "AND with a two-neuron 2-1-1 chain (question 003)"),
            Problem("xor-deep", X2, gates["xor"].astype(float), (2, 3, 3, 1),
                    "XOR with two hidden layers, 2-3-3-1 (question 001)"),
            Problem("even-odd", (numbers / numbers.max())[:, None], (numbers % 2 == 0) * 1.0,
                    (1, 16, 1), "even (1) or odd (0) of 1..9 scaled to [0, 1], 1-16-1 "
                    "(question 004 used 1-1-1, which is too small)"),
        )
    }


PROBLEMS: dict[str, Problem] = _problems()


def get_problem(name: str) -> Problem:
    """A built-in problem by name (see :data:`PROBLEMS`)."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; choose one of {', '.join(PROBLEMS)}")
    return PROBLEMS[name]
