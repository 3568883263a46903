"""Other ways to train the speed benchmark's networks: JAX (two ways) and a Numba loop.

Each ``train_*`` function takes a :class:`~chainrule.bench.SpeedCase`, its data and an
``activation`` name (``"sigmoid"`` with a sigmoid output and the mean squared error for one
output, ``"relu"`` with a softmax output and cross-entropy otherwise), and returns a function
that trains the network for the case's epochs with plain SGD (learning rate 0.01), shuffling
mini-batches every epoch, as every library in :mod:`chainrule.bench` does. The first call
compiles; the benchmark calls each once before timing.

* ``jax-step``: ``jax.jit`` of one SGD step, called from a Python loop over the batches;
* ``jax-loop``: the whole training in one compiled call: ``lax.fori_loop`` over the epochs,
  ``lax.scan`` over each epoch's batches (what a JAX user after speed writes);
* ``numba-loop``: one hidden layer in explicit loops, compiled by Numba (no BLAS): the floor
  for tiny networks.

JAX is a benchmark extra (``pip install "chainrule[bench]"``), never a dependency.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
LEARNING_RATE = 0.01


def _jax():
    try:
        import jax
    except ImportError as error:
        raise ImportError("the JAX peers need JAX: pip install 'chainrule[bench]'") from error
    jax.config.update("jax_enable_x64", True)  # float64 cases stay float64
    jax.config.update("jax_platforms", "cpu")
    return jax


def _jax_model(sizes: tuple[int, ...], dtype: str, binary: bool):
    """Initial parameters and the loss ``loss(params, X, Y)`` of the case's network."""
    jax = _jax()
    jnp = jax.numpy
    rng = np.random.default_rng(0)
    params = [(jnp.asarray(rng.standard_normal((a, b)) * np.sqrt(1 / a), dtype=dtype),
               jnp.zeros(b, dtype=dtype)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]

    def loss(params, X, Y):
        A = X
        for W, b in params[:-1]:
            Z = A @ W + b
            A = jax.nn.sigmoid(Z) if binary else jax.nn.relu(Z)
        W, b = params[-1]
        Z = A @ W + b
        if binary:
            return jnp.mean((jax.nn.sigmoid(Z) - Y) ** 2)
        return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(Z), axis=-1))

    return params, loss


def _targets(y: Array, sizes: tuple[int, ...], dtype: str) -> Array:
    if sizes[-1] == 1:
        return y.reshape(-1, 1).astype(dtype)
    return np.eye(sizes[-1], dtype=dtype)[y]


def train_jax_step(case, X: Array, y: Array) -> Callable[[], object]:
    """A jitted SGD step per batch, driven from Python."""
    jax = _jax()
    binary = case.sizes[-1] == 1
    params, loss = _jax_model(case.sizes, case.dtype, binary)
    Xj, Yj = jax.numpy.asarray(X), jax.numpy.asarray(_targets(y, case.sizes, case.dtype))
    full = case.batch >= len(X)

    @jax.jit
    def step(params, rows):
        Xb, Yb = (Xj, Yj) if full else (Xj[rows], Yj[rows])
        grads = jax.grad(loss)(params, Xb, Yb)
        return jax.tree.map(lambda p, g: p - LEARNING_RATE * g, params, grads)

    rng = np.random.default_rng(0)
    state = [params]

    def train() -> None:
        p = state[0]
        for _ in range(case.epochs):
            if full:
                p = step(p, 0)
                continue
            order = rng.permutation(len(X))
            for first in range(0, len(X), case.batch):
                p = step(p, order[first : first + case.batch])
        jax.block_until_ready(p)
        state[0] = p

    return train


def train_jax_loop(case, X: Array, y: Array) -> Callable[[], object]:
    """All epochs in one compiled call: ``fori_loop`` over epochs, ``scan`` over batches."""
    jax = _jax()
    jnp, lax = jax.numpy, jax.lax
    binary = case.sizes[-1] == 1
    params, loss = _jax_model(case.sizes, case.dtype, binary)
    Xj, Yj = jnp.asarray(X), jnp.asarray(_targets(y, case.sizes, case.dtype))
    n, batch = len(X), min(case.batch, len(X))
    batches = n // batch  # (every case's n is a multiple of its batch)

    def sgd(params, Xb, Yb):
        grads = jax.grad(loss)(params, Xb, Yb)
        return jax.tree.map(lambda p, g: p - LEARNING_RATE * g, params, grads)

    @jax.jit
    def run(params, key):
        def epoch(_, carry):
            params, key = carry
            if batches == 1:
                return sgd(params, Xj, Yj), key
            key, sub = jax.random.split(key)
            order = jax.random.permutation(sub, n).reshape(batches, batch)

            def one(params, rows):
                return sgd(params, Xj[rows], Yj[rows]), None

            return lax.scan(one, params, order)[0], key

        return lax.fori_loop(0, case.epochs, epoch, (params, key))

    state = [params, jax.random.PRNGKey(0)]

    def train() -> None:
        p, key = run(state[0], state[1])
        jax.block_until_ready(p)
        state[0], state[1] = p, key

    return train


def train_numba_loop(case, X: Array, y: Array) -> Callable[[], object] | None:
    """One hidden layer in explicit compiled loops; ``None`` for deeper networks."""
    if len(case.sizes) != 3:
        return None
    from numba import njit

    @njit(cache=True, fastmath={"contract"}, error_model="numpy")
    def run(X, Y, W1, b1, W2, b2, orders, batch, epochs, binary, lr):
        n, d = X.shape
        h, m = W1.shape[1], W2.shape[1]
        A1 = np.empty((batch, h), X.dtype)
        A2 = np.empty((batch, m), X.dtype)
        D1 = np.empty((batch, h), X.dtype)
        for e in range(epochs):
            for first in range(0, n, batch):
                rows = min(batch, n - first)
                for i in range(rows):
                    r = orders[e, first + i] if orders.shape[0] else first + i
                    for j in range(h):
                        A1[i, j] = b1[j]
                    for p in range(d):
                        x = X[r, p]
                        for j in range(h):
                            A1[i, j] += x * W1[p, j]
                    for j in range(h):
                        z = A1[i, j]
                        A1[i, j] = 1.0 / (1.0 + np.exp(-z)) if binary else max(z, 0.0)
                    top = -np.inf
                    for k in range(m):
                        total = b2[k]
                        for j in range(h):
                            total += A1[i, j] * W2[j, k]
                        A2[i, k] = total
                        top = max(top, total)
                    if binary:  # dZ2 of the mean squared error through a sigmoid
                        for k in range(m):
                            a = 1.0 / (1.0 + np.exp(-A2[i, k]))
                            A2[i, k] = 2.0 * (a - Y[r, k]) / (rows * m) * a * (1.0 - a)
                    else:  # dZ2 of softmax cross-entropy
                        total = 0.0
                        for k in range(m):
                            A2[i, k] = np.exp(A2[i, k] - top)
                            total += A2[i, k]
                        for k in range(m):
                            A2[i, k] = (A2[i, k] / total - Y[r, k]) / rows
                    for j in range(h):
                        total = 0.0
                        for k in range(m):
                            total += A2[i, k] * W2[j, k]
                        a = A1[i, j]
                        D1[i, j] = total * (a * (1.0 - a) if binary else (1.0 if a > 0 else 0.0))
                for i in range(rows):  # the updates, after every error was carried back
                    r = orders[e, first + i] if orders.shape[0] else first + i
                    for j in range(h):
                        for k in range(m):
                            W2[j, k] -= lr * A1[i, j] * A2[i, k]
                    for k in range(m):
                        b2[k] -= lr * A2[i, k]
                    for p in range(d):
                        x = X[r, p]
                        for j in range(h):
                            W1[p, j] -= lr * x * D1[i, j]
                    for j in range(h):
                        b1[j] -= lr * D1[i, j]

    rng = np.random.default_rng(0)
    dtype = np.dtype(case.dtype)
    W1 = (rng.standard_normal(case.sizes[:2]) * 0.1).astype(dtype)
    W2 = (rng.standard_normal(case.sizes[1:]) * 0.1).astype(dtype)
    b1, b2 = np.zeros(case.sizes[1], dtype), np.zeros(case.sizes[2], dtype)
    Y = _targets(y, case.sizes, case.dtype)
    binary = case.sizes[-1] == 1
    batch = min(case.batch, len(X))

    def train() -> None:
        orders = (np.stack([rng.permutation(len(X)) for _ in range(case.epochs)])
                  if batch < len(X) else np.zeros((0, 0), np.int64))
        run(X, Y, W1, b1, W2, b2, orders, batch, case.epochs, binary, LEARNING_RATE)

    return train
