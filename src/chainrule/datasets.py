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


# -- generated benchmark datasets ----------------------------------------------------------------
def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    """The given generator, or a fixed-seed one, so that a default call is reproducible."""
    if rng is None:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator or None, got {type(rng).__name__}")
    return rng


def _check_n(n: int, minimum: int = 2) -> int:
    if not (isinstance(n, int | np.integer) and n >= minimum):
        raise ValueError(f"n must be an integer >= {minimum}, got {n!r}")
    return int(n)


def spirals(n: int = 194, noise: float = 0.0,
            rng: np.random.Generator | None = None) -> tuple[Array, Array]:
    """Two interlocking spirals: the CMU benchmark of Lang & Witbrock (1988).

    Point ``i = 0..96`` of the first spiral (class 1) lies at angle and radius

    .. math:: \\phi_i = i \\pi / 16, \\qquad r_i = 6.5 (104 - i) / 104,

    i.e. at ``(r sin phi, r cos phi)``; the second spiral (class 0) is the first one turned by
    180 degrees, ``(-x, -y)``. The points alternate between the spirals, as in the benchmark file.
    ``n = 194`` (97 per spiral, three turns) is the classic data set; another even ``n`` spreads
    ``n / 2`` points per spiral over the same three turns. ``noise`` adds Gaussian jitter of that
    standard deviation to both coordinates.
    """
    n = _check_n(n)
    per = n // 2
    i = np.linspace(0.0, 96.0, per) if per != 97 else np.arange(97.0)
    angle = i * np.pi / 16.0
    radius = 6.5 * (104.0 - i) / 104.0
    first = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    X = np.empty((2 * per, 2))
    X[0::2], X[1::2] = first, -first
    y = np.tile([1.0, 0.0], per)
    if noise:
        X = X + _rng(rng).normal(0.0, noise, X.shape)
    return X, y


def moons(n: int = 200, noise: float = 0.1,
          rng: np.random.Generator | None = None) -> tuple[Array, Array]:
    """Two interleaving half circles: class 0 the upper one, class 1 the lower one shifted right.

    ``(cos t, sin t)`` and ``(1 - cos t, 1/2 - sin t)`` for ``t`` evenly in ``[0, pi]``, plus
    Gaussian noise of standard deviation ``noise``.
    """
    n = _check_n(n)
    n0 = n // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.vstack([np.column_stack([np.cos(t0), np.sin(t0)]),
                   np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])])
    y = np.r_[np.zeros(n0), np.ones(n - n0)]
    return X + _rng(rng).normal(0.0, noise, X.shape), y


def circles(n: int = 200, noise: float = 0.05, rng: np.random.Generator | None = None,
            factor: float = 0.5) -> tuple[Array, Array]:
    """A circle of radius ``factor`` (class 1) inside a circle of radius 1 (class 0), plus noise."""
    n = _check_n(n)
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie in (0, 1), got {factor}")
    n0 = n // 2
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n - n0, endpoint=False)
    X = np.vstack([np.column_stack([np.cos(t0), np.sin(t0)]),
                   factor * np.column_stack([np.cos(t1), np.sin(t1)])])
    y = np.r_[np.zeros(n0), np.ones(n - n0)]
    return X + _rng(rng).normal(0.0, noise, X.shape), y


def blobs(n: int = 300, noise: float = 1.0, rng: np.random.Generator | None = None,
          centers: int = 3, n_features: int = 2) -> tuple[Array, Array]:
    """``centers`` Gaussian clusters of standard deviation ``noise``; the label is the cluster.

    Centres are drawn uniformly in ``[-10, 10]^n_features``; points are dealt to the clusters in
    turn, so the classes have equal sizes (up to one).
    """
    n = _check_n(n)
    if not (isinstance(centers, int | np.integer) and centers >= 1):
        raise ValueError(f"centers must be a positive integer, got {centers!r}")
    rng = _rng(rng)
    middle = rng.uniform(-10.0, 10.0, (centers, n_features))
    y = np.arange(n) % centers
    return middle[y] + rng.normal(0.0, noise, (n, n_features)), y.astype(float)


@dataclass(frozen=True)
class Generated:
    """A generated data set: its maker ``make(n, noise, rng)`` and a one-line description."""

    name: str
    make: object
    description: str


GENERATED: dict[str, Generated] = {
    g.name: g
    for g in (
        Generated("spirals", spirals, "two spirals, 194 points (Lang & Witbrock's CMU benchmark)"),
        Generated("moons", moons, "two interleaving half circles, 200 points, noise 0.1"),
        Generated("circles", circles, "a circle inside a circle, 200 points, noise 0.05"),
        Generated("blobs", blobs, "three Gaussian clusters in 2-D, 300 points"),
    )
}
BUNDLED = {  # scikit-learn's bundled data sets (files inside the package), used when installed
    "iris": "iris flowers: 150 samples, 4 features, 3 classes (scikit-learn)",
    "wine": "wines: 178 samples, 13 features, 3 classes (scikit-learn)",
    "breast_cancer": "breast cancer: 569 samples, 30 features, 2 classes (scikit-learn)",
    "digits": "8x8 digits: 1797 samples, 64 features, 10 classes (scikit-learn)",
    "diabetes": "diabetes progression: 442 samples, 10 features, regression (scikit-learn)",
}


def _bundled(name: str) -> tuple[Array, Array] | None:
    """A scikit-learn bundled data set, or None when scikit-learn is not installed."""
    try:
        from sklearn import datasets
    except ImportError:
        return None
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X.astype(float), y.astype(float)


SIZED = {"parity": (parity, 4, "n-bit parity (default 4): parity4, parity5, ..."),
         "encoder": (encoder, 8, "the n-m-n encoder (default 8): encoder4, encoder8, ...")}


def dataset_names() -> list[tuple[str, str, int, int]]:
    """Every built-in data set as ``(name, description, samples, features)``."""
    rows = [(p.name, p.description, len(p.X), p.X.shape[1]) for p in PROBLEMS.values()]
    for g in GENERATED.values():
        X, _ = g.make()
        rows.append((g.name, g.description, len(X), X.shape[1]))
    for name, (make, default, description) in SIZED.items():
        X, _ = make(default)
        rows.append((name, description, len(X), X.shape[1]))
    for name, description in BUNDLED.items():
        data = _bundled(name)
        if data is not None:
            rows.append((name, description, *data[0].shape))
    return rows


def load_dataset(name: str, n: int | None = None, noise: float | None = None,
                 rng: np.random.Generator | None = None) -> tuple[Array, Array]:
    """Inputs and targets of a built-in data set by name (see :func:`dataset_names`).

    ``n`` and ``noise`` override the generated sets' defaults; ``parity5`` or ``encoder4`` pick
    the size of the sized ones. Unknown names raise ``ValueError``.
    """
    if name in PROBLEMS:
        return PROBLEMS[name].X, PROBLEMS[name].y
    if name in GENERATED:
        kwargs = {k: v for k, v in (("n", n), ("noise", noise)) if v is not None}
        return GENERATED[name].make(rng=rng, **kwargs)
    for prefix, (make, default, _) in SIZED.items():
        size = name[len(prefix):]
        if name.startswith(prefix) and (size == "" or (size.isdigit() and 1 <= int(size) <= 16)):
            return make(int(size or default))
    if name in BUNDLED:
        data = _bundled(name)
        if data is None:
            raise ValueError(f"data set {name!r} comes with scikit-learn: "
                             "pip install 'chainrule[sklearn]'")
        return data
    known = ", ".join(list(PROBLEMS) + list(GENERATED) + ["parityN", "encoderN"] + list(BUNDLED))
    raise ValueError(f"unknown data set {name!r}; built-in data sets are {known}")


def is_dataset_name(name: str) -> bool:
    """Whether ``name`` names a built-in data set."""
    try:
        load_dataset(name)
    except ValueError:
        return False
    return True
