"""The compiled engine at the edges: non-finite values, and its compiled code kept on disk.

(``tests/test_engine.py`` checks the engine against the core on well-conditioned training.)
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from chainrule import SGD, Callback, Network


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_logit_overflowing_to_minus_infinity_diverges_on_both_paths(dtype: str) -> None:
    """The core's cross-entropy ``y (logsumexp(z) - z)`` is NaN where ``z = -inf`` and
    ``y = 0``: that training has diverged, on the engine too (which skips the terms of zero
    targets, and took it for a finite loss)."""
    big = 1e30 if dtype == "float32" else 1e300
    X, y = np.array([[big], [big / 2], [1.0]]), np.array([0, 0, 1])
    runs = []
    for engine in ("compiled", "numpy"):
        net = Network([1, 1, 2], activation="identity", output_activation="softmax",
                      loss="cross_entropy", dtype=dtype, seed=0)
        net.layers[0].weights[...], net.layers[0].bias[...] = 1.0, 0.0
        net.layers[1].weights[...], net.layers[1].bias[...] = [[0.0, -1e10]], 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = net.fit(X, y, epochs=3, optimizer=SGD(1e-40), restarts=1, engine=engine)
        assert history.engine == engine
        runs.append(history)
    assert [h.stopped_because for h in runs] == ["diverged", "diverged"]
    assert [h.epochs for h in runs] == [1, 1]


def test_the_engines_cross_entropy_is_nan_wherever_the_cores_is() -> None:
    from chainrule.core.losses import LOSSES
    from chainrule.engine import maths

    for bad in (-np.inf, np.inf, np.nan):
        for Y in ([[1.0, 0, 0], [0, 1, 0]], [[0.0, 0, 0], [0, 1, 0]], [[0, 1.0, 0], [0, 1, 0]]):
            Z = np.array([[1.0, bad, 0.5], [0.2, 0.1, 0.3]])
            Y = np.array(Y)
            A = np.empty(6)
            maths.activate(maths.SOFTMAX, Z.ravel().copy(), A, 0, 2, 3)
            with np.errstate(all="ignore"):
                want = LOSSES["cross_entropy"].value(Z, A.reshape(2, 3), Y, 0.5)
            got = maths.loss_and_error(maths.CROSS_ENTROPY, maths.SOFTMAX, Z.ravel().copy(), A,
                                       0, Y.ravel().copy(), 0, 2, 3, 0.5, np.zeros(0), 0,
                                       np.zeros(0))
            assert np.isnan(got) == np.isnan(want) and (np.isnan(got) or got == want), (bad, Y)


@pytest.mark.parametrize("batch", [None, 5])
def test_momentum_turned_on_during_training_trains_alike(batch) -> None:
    """SGD keeps no velocity without momentum; a callback that turns momentum on (a warm-up)
    starts one from rest on both paths (the engine wrote past the end of an empty array, and
    the core raised ``KeyError: 'v'``)."""

    class WarmUp(Callback):
        def on_epoch_end(self, training, epoch, logs):
            self.optimizer.momentum = min(0.9, 0.3 * (epoch + 1))

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X[:, 0] - X[:, 1]
    runs = []
    for engine in ("compiled", "numpy"):
        warm_up = WarmUp()
        warm_up.optimizer = SGD(0.02)
        net = Network([3, 30, 1], output_activation="identity", seed=0)
        runs.append((net, net.fit(X, y, epochs=6, batch_size=batch, optimizer=warm_up.optimizer,
                                  callbacks=[warm_up], restarts=3, engine=engine)))
    (net_a, history_a), (net_b, history_b) = runs
    assert history_a.engine == "compiled" and history_a.stopped_because == "epochs done"
    assert warm_up.optimizer.state[0]["v"].any()
    for p, q in zip(net_a.parameters(), net_b.parameters(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history_a.loss, history_b.loss, rtol=1e-12)


def test_an_optimizer_given_momentum_between_fits_keeps_training() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = np.tanh(X[:, 0])
    nets = []
    for engine in ("compiled", "numpy"):
        optimizer, net = SGD(0.05), Network([2, 8, 1], output_activation="identity", seed=1)
        net.fit(X, y, epochs=3, optimizer=optimizer, restarts=2, engine=engine)
        optimizer.momentum = 0.9
        net.fit(X, y, epochs=3, optimizer=optimizer, restarts=2, engine=engine)
        nets.append(net)
    for p, q in zip(*(net.parameters() for net in nets), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


FORWARD = """
import numpy as np
from chainrule.engine import maths
sizes, offsets = np.array([3, 40, 2]), np.array([0, 160])
acts = np.array([maths.TANH, maths.IDENTITY])
params, X = np.linspace(-1, 1, 242), np.linspace(0, 1, 90)
Zs, As = np.empty(30 * 42), np.empty(30 * 42)
out = maths.forward(0, params, 0, X, 0, 30, sizes, offsets, acts, Zs, As, 30)
print(float(As[out]))
"""


def test_an_edit_of_one_engine_file_recompiles_the_code_that_holds_it(tmp_path) -> None:
    """``maths.forward`` cached on disk holds ``blas.gemm``: after an edit of ``blas.py``
    alone (here: products doubled), it must not run the old ``gemm`` from the cache."""
    import shutil
    import subprocess
    import sys

    import chainrule

    package = tmp_path / "chainrule"
    shutil.copytree(os.path.dirname(chainrule.__file__), package,
                    ignore=shutil.ignore_patterns("__pycache__"))

    def forward() -> float:
        env = dict(os.environ, PYTHONPATH=str(tmp_path))
        env.pop("NUMBA_CACHE_DIR", None)
        out = subprocess.run([sys.executable, "-c", FORWARD], env=env, capture_output=True,
                             text=True, check=True, timeout=300).stdout
        return float(out)

    before = forward()
    blas = package / "engine" / "blas.py"
    source = blas.read_text()
    edit = "    if kind == LOOPS or m * n * k"
    assert edit in source
    blas.write_text(source.replace(edit, "    alpha = 2.0 * alpha\n" + edit, 1))
    after = forward()
    assert after != before
