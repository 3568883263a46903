"""Which network does the learner's loss compute? Found by trying, not by asking.

The learner does not describe their network; their parameters and their loss do. The layer
sizes come from the parameters' shapes (either weight convention, ``(in, out)`` or
``(out, in)``; scalars named ``w11, w12, b1`` or ``w1 .. w6``; vectors; column vectors), and
every combination of an activation per layer and a loss (squared error, binary or categorical
cross-entropy, times any constant: sum, mean, half) is evaluated on the learner's data at
several parameter points. The combination whose loss equals the learner's at every point is
the learner's network. Forward-pass mistakes are tried the same way (an activation applied
twice, a softmax normalised over the samples), and when no loss matches, the combination
whose true gradient equals the learner's gradient (then the loss is what is wrong).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .model import ERRORS, HIDDEN, OUTPUT, LayerMap, Layout, Model
from .params import Params, label

Array = np.ndarray
MATCH_RTOL = 1e-6  # a loss "equals" the learner's within this relative error at every point
MAX_CANDIDATES = 20_000  # networks tried at most (layouts x activations x losses)


@dataclass(frozen=True)
class Leaf:
    """One parameter, as the layout search sees it."""

    index: int
    name: str
    shape: tuple[int, ...]
    start: int  # where it begins in theta
    role: str | None  # "w", "b" or None (unknown)
    digits: tuple[int, ...]  # the numbers in its name (or nested indices)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=int))

    def indices(self) -> Array:
        return np.arange(self.start, self.start + self.size).reshape(self.shape or (1,))


def leaves(params: Params) -> list[Leaf]:
    """The parameters with the role and numbers read from their names."""
    out = []
    for i, (path, name, shape) in enumerate(zip(params.paths, params.names, params.shapes,
                                                strict=True)):
        words = [str(p) for p in path if isinstance(p, str)]
        text = "_".join(words).lower()
        numbers = [int(p) for p in path if isinstance(p, int)] if len(path) > 1 else []
        numbers += [int(d) for d in re.findall(r"\d+", text)]
        role = None
        stem = re.sub(r"^(self_|layer_?|l_?)", "", text)
        if re.match(r"(b|bias|intercept|c\d)", stem) or "bias" in text:
            role = "b"
        elif re.match(r"(w|weight|theta|syn|kernel|v\d|coef)", stem) or "weight" in text:
            role = "w"
        out.append(Leaf(i, label(name), tuple(shape), int(params.offsets[i]), role,
                        tuple(numbers)))
    return out


# -- layouts ---------------------------------------------------------------------------------------
def layouts(params: Params, n_in: int) -> list[Layout]:
    """Every way the parameters can form a chain of layers starting with ``n_in`` inputs."""
    items = leaves(params)
    found: dict[tuple, Layout] = {}
    for groups in _groupings(items):
        for layout in _assemble(groups, n_in):
            key = tuple((m.W.tobytes(), None if m.b is None else m.b.tobytes())
                        for m in layout.layers)
            found.setdefault(key, layout)
    return list(found.values())


Group = tuple[list[Leaf], list[Leaf]]  # a layer's weight leaves and bias leaves


def _groupings(items: list[Leaf]) -> Iterator[list[Group]]:
    """Ways to split the leaves into layers, first to last."""
    if all(leaf.role is not None for leaf in items):
        yield from _by_number(items)
        yield from _by_order([x for x in items if x.role == "w"],
                             [x for x in items if x.role == "b"])
        return
    # unnamed (a list): weights and biases alternate, or all weights come first
    yield from _by_order(items[0::2], items[1::2])
    half = len(items) // 2
    yield from _by_order(items[:half], items[half:])
    yield from _by_order(items, [])


def _by_number(items: list[Leaf]) -> Iterator[list[Group]]:
    """Layers numbered in the names: ``W1, b1, W2, b2``; ``w11, w12, b1, w2``; ``w[0]``."""
    def key(leaf: Leaf) -> int | None:
        if not leaf.digits:
            return None
        if leaf.size == 1 and len(leaf.digits) == 1 and leaf.digits[0] >= 10:
            return int(str(leaf.digits[0])[0])  # w12: layer 1, entry 2
        return leaf.digits[0]

    keys = [key(leaf) for leaf in items]
    if any(k is None for k in keys):
        return
    groups = []
    for k in sorted(set(keys)):
        members = [leaf for leaf, kk in zip(items, keys, strict=True) if kk == k]
        groups.append(([x for x in members if x.role == "w"], [x for x in members
                                                                if x.role == "b"]))
    if all(weights for weights, _ in groups):
        yield groups


def _by_order(weights: list[Leaf], biases: list[Leaf]) -> Iterator[list[Group]]:
    """The i-th weight with the i-th bias; or scalars in sequence (``w1 .. w6``)."""
    if not weights:
        return
    if len(weights) == 1 and len(biases) <= 1:  # one layer, whatever its size (1-1: scalars)
        yield [(weights, biases)]
        return
    if all(leaf.size == 1 for leaf in weights):
        return  # scalars in sequence: sized by the data, see _sequential
    if not biases:
        yield [([w], []) for w in weights]
    elif len(biases) == len(weights):
        yield [([w], [b]) for w, b in zip(weights, biases, strict=True)]


def _assemble(groups: list[Group], n_in: int) -> Iterator[Layout]:
    """Every chain of layers the groups can form (orientations, orders of scalars)."""
    def extend(i: int, n: int, done: tuple[LayerMap, ...]) -> Iterator[Layout]:
        if i == len(groups):
            yield Layout(done)
            return
        weights, biases = groups[i]
        for layer in _layer_maps(weights, biases, n):
            yield from extend(i + 1, layer.n_out, (*done, layer))

    yield from extend(0, n_in, ())


def _layer_maps(weights: list[Leaf], biases: list[Leaf], n_in: int) -> Iterator[LayerMap]:
    """The ways one layer's leaves give ``W`` (n_in, n_out) and ``b``."""
    bias_index = _bias_indices(biases)
    bias_name = ", ".join(b.name for b in biases) or None
    if len(weights) == 1 and weights[0].size > 1 or len(weights) == 1 and not biases:
        w = weights[0]
        idx = w.indices()
        if idx.ndim == 1:
            options = [(idx[:, None], "io"), (idx[None, :], "oi")]
        else:
            idx = idx.reshape(idx.shape[0], -1)
            options = [(idx, "io"), (idx.T, "oi")]
        for W, orientation in options:
            if W.shape[0] == n_in and (bias_index is None or bias_index.size == W.shape[1]):
                yield LayerMap(W, bias_index, w.name, bias_name, orientation)
            if bias_index is None and W.shape[0] == n_in + 1:  # bias folded into the weights
                line = "row" if orientation == "io" else "column"
                yield LayerMap(W[1:], W[0], w.name, f"{w.name}'s first {line} (the bias)",
                               orientation)
                yield LayerMap(W[:-1], W[-1], w.name, f"{w.name}'s last {line} (the bias)",
                               orientation)
        return
    if not all(w.size == 1 for w in weights) or len(weights) % n_in:
        return
    ordered = sorted(weights, key=lambda w: w.digits)
    flat = np.array([w.start for w in ordered])
    n_out = len(weights) // n_in
    if bias_index is not None and bias_index.size != n_out:
        return
    name = ", ".join(w.name for w in ordered)
    yield LayerMap(flat.reshape(n_in, n_out), bias_index, name, bias_name, "scalar")
    if n_in > 1 and n_out > 1:  # w11, w12 as (unit 1: inputs 1, 2) rather than the reverse
        yield LayerMap(flat.reshape(n_out, n_in).T, bias_index, name, bias_name, "scalar")


def _bias_indices(biases: list[Leaf]) -> Array | None:
    if not biases:
        return None
    ordered = sorted(biases, key=lambda b: b.digits) if all(b.size == 1 for b in biases) \
        else biases
    return np.concatenate([b.indices().reshape(-1) for b in ordered])


def sequential_layouts(params: Params, n_in: int, n_out: int) -> list[Layout]:
    """Scalars in sequence, ``w1 .. w6`` and ``b1 .. b3``, as one hidden layer: its size is
    what makes the count add up with the data's inputs and outputs. Biases named like the
    weights (``w1 .. w9``, the last three the biases) are tried in the two usual places: after
    all the weights, or after each layer's weights."""
    items = leaves(params)
    if not all(leaf.size == 1 for leaf in items):
        return []
    weights = sorted([x for x in items if x.role != "b"], key=lambda x: x.digits)
    biases = sorted([x for x in items if x.role == "b"], key=lambda x: x.digits)
    splits = []  # (hidden units, first layer's weights, second's, first's biases, second's)
    hidden, rest = divmod(len(weights), n_in + n_out)
    if not rest and hidden >= 1 and len(biases) in (0, hidden + n_out):
        cut = n_in * hidden
        splits.append((hidden, weights[:cut], weights[cut:], biases[:hidden], biases[hidden:]))
    hidden, rest = divmod(len(weights) - n_out, n_in + n_out + 1)
    if not biases and not rest and hidden >= 1:
        cut, end = n_in * hidden, (n_in + n_out) * hidden
        splits.append((hidden, weights[:cut], weights[cut:end], weights[end:end + hidden],
                       weights[end + hidden:]))  # W1, W2, b1, b2
        first, b1 = weights[:cut], weights[cut:cut + hidden]
        splits.append((hidden, first, weights[cut + hidden:-n_out], b1, weights[-n_out:]))
    out = []
    for hidden, w1, w2, b1, b2 in splits:
        first, second = np.array([w.start for w in w1]), np.array([w.start for w in w2])
        starts1 = np.array([x.start for x in b1]) if b1 else None
        starts2 = np.array([x.start for x in b2]) if b2 else None
        names = [", ".join(x.name for x in w1), ", ".join(x.name for x in w2)]
        bias_names = [", ".join(x.name for x in b1) or None, ", ".join(x.name for x in b2) or None]
        for order1, order2 in itertools.product((False, True), repeat=2):
            W1 = first.reshape(hidden, n_in).T if order1 else first.reshape(n_in, hidden)
            W2 = second.reshape(n_out, hidden).T if order2 else second.reshape(hidden, n_out)
            out.append(Layout((LayerMap(W1, starts1, names[0], bias_names[0], "scalar"),
                               LayerMap(W2, starts2, names[1], bias_names[1], "scalar"))))
    return out


def flat_layouts(params: Params, n_in: int, n_out: int) -> list[Layout]:
    """One hidden layer unrolled into one vector (Ng's ``nn_params``), or given as a list of
    plain numbers with no names: every usual order of its entries, sized by the data.

    The orders: ``W1, b1, W2, b2``; ``W1, W2, b1, b2``; each unit's weights then its bias; no
    biases; and the bias folded in as the first column of ``(out, in + 1)`` matrices (Ng's
    ``Theta``), each weight matrix row- or column-major.
    """
    items = leaves(params)
    single = len(items) == 1 and len(items[0].shape) == 1
    unnamed = all(x.size == 1 and x.role is None for x in items) and len(items) > 1
    if not (single or unnamed):
        return []
    index = items[0].indices().reshape(-1) if single else np.array([x.start for x in items])
    name = items[0].name if single else "params"
    size = index.size
    out: list[Layout] = []

    def layer(W: Array, b: Array | None, first: int) -> LayerMap:
        return LayerMap(W, b, f"{name}[{first}:]", None if b is None else f"{name} (biases)",
                        "io")

    def matrices(block: Array, rows: int, cols: int) -> list[Array]:
        """``(rows, cols)`` weights (in, out) from a block, in row- and column-major order."""
        return [block.reshape(rows, cols), block.reshape(cols, rows).T]

    for hidden in range(1, size):
        with_bias = hidden * (n_in + n_out + 1) + n_out
        if size == with_bias:
            w1, w2 = n_in * hidden, hidden * n_out
            orders = {"layers": (0, w1, w1 + hidden, w1 + hidden + w2),
                      "weights first": (0, w1 + w2, w1, w1 + w2 + hidden)}
            for a, b1_at, w2_at, b2_at in orders.values():
                for W1 in matrices(index[a:a + w1], n_in, hidden):
                    for W2 in matrices(index[w2_at:w2_at + w2], hidden, n_out):
                        out.append(Layout((layer(W1, index[b1_at:b1_at + hidden], 0),
                                           layer(W2, index[b2_at:b2_at + n_out], w2_at))))
            units = index[: hidden * (n_in + 1)].reshape(hidden, n_in + 1)
            outs = index[hidden * (n_in + 1):].reshape(n_out, hidden + 1)
            out.append(Layout((layer(units[:, :-1].T, units[:, -1], 0),
                               layer(outs[:, :-1].T, outs[:, -1], int(units.size)))))
            out.append(Layout((layer(units[:, 1:].T, units[:, 0], 0),  # Theta, bias first
                               layer(outs[:, 1:].T, outs[:, 0], int(units.size)))))
            theta1 = index[: hidden * (n_in + 1)].reshape(n_in + 1, hidden).T  # column-major
            theta2 = index[hidden * (n_in + 1):].reshape(hidden + 1, n_out).T
            out.append(Layout((layer(theta1[:, 1:].T, theta1[:, 0], 0),
                               layer(theta2[:, 1:].T, theta2[:, 0], int(theta1.size)))))
        if size == hidden * (n_in + n_out):
            w1 = n_in * hidden
            for W1 in matrices(index[:w1], n_in, hidden):
                for W2 in matrices(index[w1:], hidden, n_out):
                    out.append(Layout((layer(W1, None, 0), layer(W2, None, w1))))
    return out


# -- data ------------------------------------------------------------------------------------------
def shape_data(X: Array, y: Array, n_in: int, n_out: int) -> tuple[Array, Array] | None:
    """``(X, T)`` as ``(n, n_in)`` inputs and ``(n, n_out)`` float targets, one sample per row,
    from rows, columns (Nielsen's column vectors), a single sample, or class labels."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim == 0:
        X = X.reshape(1, 1)
    elif X.ndim == 1:
        X = X[None, :] if X.size == n_in else X[:, None]
    elif X.ndim > 2:
        X = X.reshape(X.shape[0], -1)
    if X.shape[1] != n_in:
        if X.shape[0] != n_in:
            return None
        X = X.T
    n = X.shape[0]
    if y.ndim == 2 and y.shape == (n, n_out):
        return X, y
    if y.ndim == 2 and y.shape == (n_out, n):
        return X, y.T
    if y.size == n * n_out:  # (n,) targets of one output, or one sample's (n_out,) targets
        return X, y.reshape(n, n_out)
    labels = y.reshape(-1)
    if labels.size == n and n_out > 1 and np.all(labels == np.round(labels)) \
            and labels.min() >= 0 and labels.max() < n_out:
        return X, np.eye(n_out)[labels.astype(int)]
    return None


# -- matching --------------------------------------------------------------------------------------
@dataclass
class Candidate:
    model: Model
    residual: float  # largest relative difference to the learner's loss over the points


def networks(params: Params, X: Array, y: Array) -> Iterator[Model]:
    """Every network (layout x activations x loss, before its constant) on this data."""
    n_in = _n_inputs(X)
    seen = set()
    for guess in n_in:
        for layout in layouts(params, guess):
            data = shape_data(X, y, layout.sizes[0], layout.sizes[-1])
            if data is None:
                continue
            key = tuple(m.W.tobytes() + (b"" if m.b is None else m.b.tobytes())
                        for m in layout.layers)
            if key in seen:
                continue
            seen.add(key)
            yield from _models(layout, *data)
        n_out = _n_outputs(y, X, guess)
        for layout in sequential_layouts(params, guess, n_out) + flat_layouts(params, guess,
                                                                               n_out):
            data = shape_data(X, y, guess, n_out)
            if data is not None:
                yield from _models(layout, *data)


def _n_inputs(X: Array) -> list[int]:
    X = np.asarray(X)
    if X.ndim == 0:
        return [1]
    if X.ndim == 1:
        return sorted({X.size, 1})
    return sorted({int(np.prod(X.shape[1:])), X.shape[0]})


def _n_outputs(y: Array, X: Array, n_in: int) -> int:
    y = np.asarray(y)
    n = np.asarray(X).size // max(n_in, 1)
    return max(1, y.size // max(n, 1))


def _models(layout: Layout, X: Array, T: Array) -> Iterator[Model]:
    depth = len(layout.layers)
    hidden_choices: Sequence[tuple[str, ...]]
    if depth <= 3:
        hidden_choices = list(itertools.product(HIDDEN, repeat=depth - 1))
    else:  # deep nets: one activation for every hidden layer
        hidden_choices = [(a,) * (depth - 1) for a in HIDDEN]
    n_out = layout.sizes[-1]
    binary = bool(np.all((T >= 0) & (T <= 1)))
    for hidden in hidden_choices:
        for out in OUTPUT:
            if out == "softmax" and (n_out < 2 or not binary):
                continue
            for error in ERRORS:
                if error != "squared" and not (binary and out in ("sigmoid", "softmax")
                                               or error == "bce" and out == "sigmoid"):
                    continue  # (bce with targets outside [0, 1]: a learner's mistake, computable)
                yield Model(layout, (*hidden, out), error, 1.0, X, T)


def variants(model: Model) -> Iterator[Model]:
    """The same network with a classic forward-pass mistake."""
    for layer in range(1, len(model.activations) + 1):
        if model.activations[layer - 1] not in ("identity", "relu", "softmax"):
            yield replace(model, twice=layer)
    if model.activations[-1] == "softmax" and model.T.shape[0] > 1:
        yield replace(model, softmax_axis=0, softmax_shift=0)
        yield replace(model, softmax_axis=0)  # the stable code's row maximum, then the bug
    if model.error == "squared":
        yield replace(model, root=True)


def match_loss(models: Iterator[Model], thetas: list[Array], losses: Array,
               rtol: float = MATCH_RTOL) -> Model | None:
    """The first network whose loss, times a constant fitted once (plus an L2 penalty of the
    weights, with a second constant, when that alone does not fit), equals the learner's at
    every point; None when none does."""
    losses = np.asarray(losses)
    close = rtol * np.maximum(np.abs(losses), 1e-300)
    penalties: dict[int, Array] = {}
    for count, model in enumerate(models):
        if count >= MAX_CANDIDATES:
            break
        sums = np.array([model.error_sum(model.forward(t).A[-1]) for t in thetas])
        if not np.all(np.isfinite(sums)) or not np.any(sums):
            continue
        scale = float(sums @ losses / (sums @ sums))
        if scale > 0 and np.all(np.abs(losses - scale * sums) <= close):
            return replace(model, scale=scale)
        if not model.standard or len(thetas) < 3:
            continue
        key = id(model.layout)
        if key not in penalties:
            penalties[key] = np.array([model.penalty(t) for t in thetas])
        basis = np.stack([sums, penalties[key]], axis=1)
        (scale, decay), *_ = np.linalg.lstsq(basis, losses, rcond=None)
        if scale > 0 and decay > 0 and np.all(np.abs(losses - basis @ (scale, decay)) <= close):
            return replace(model, scale=float(scale), decay=float(decay))
    return None


def match_gradient(models: Iterator[Model], thetas: list[Array], grads: list[Array],
                   rtol: float = MATCH_RTOL) -> Model | None:
    """The first network whose true gradient, times a constant, equals the learner's gradient
    at every point (used when no network's loss equals the learner's)."""
    user = np.concatenate(grads)
    if not np.any(user):
        return None
    for count, model in enumerate(models):
        if count >= MAX_CANDIDATES:
            break
        with np.errstate(all="ignore"):
            ours = np.concatenate([model.gradient(t) for t in thetas])
        if not np.all(np.isfinite(ours)) or not np.any(ours):
            continue
        scale = float(ours @ user / (ours @ ours))
        if scale > 0 and np.linalg.norm(user - scale * ours) <= rtol * np.linalg.norm(user):
            return replace(model, scale=scale)
    return None


def identify(params: Params, X: Array, y: Array, thetas: list[Array],
             loss_at: Callable[[Array], float], rtol: float = MATCH_RTOL,
             ) -> Model | None:
    """The network the learner's loss computes on ``(X, y)``, standard or with a forward-pass
    mistake; None when nothing matches."""
    losses = np.array([loss_at(t) for t in thetas])
    found = match_loss(networks(params, X, y), thetas, losses, rtol)
    if found is None:
        found = match_loss((v for m in networks(params, X, y) for v in variants(m)),
                           thetas, losses, rtol)
    return found
