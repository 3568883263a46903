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


# --- the engine's own exp, expm1, tanh, log, log1p against NumPy's ----------------------------
def _kernels():
    from numba import njit

    from chainrule.engine import maths

    def vectorised(function):
        @njit
        def apply(x, out):
            for i in range(x.size):
                out[i] = function(x[i])

        return apply

    return {"exp": (vectorised(maths.fast_exp), np.exp),
            "expm1": (vectorised(maths.fast_expm1), np.expm1),
            "tanh": (vectorised(maths.fast_tanh), np.tanh),
            "log": (vectorised(maths.fast_log), np.log),
            "log1p": (vectorised(maths.fast_log1p), np.log1p)}


SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, -1e-310, 5e-324, 2.2250738585072014e-308,
           1e-20, -1e-20, 0.34657359027997264, -0.34657359027997264, 1.0, -1.0, 19.99, 20.0,
           -20.0, 20.01, 88.7, 88.73, -87.4, -103.98, 709.0, 709.782712893384, 709.7827128933841,
           710.0, -708.39, -708.3964185322641, -708.4, -745.2, -746.0, 1e4, -1e4]


def test_the_engines_maths_is_numpys_within_a_few_ulp() -> None:
    """Over ``|x|`` up to 1e4, at the overflow thresholds, at 0, -0.0, inf and NaN: at most 3
    units in the last place from NumPy, and non-finite exactly where NumPy's is. Two documented
    shortcuts: ``exp`` is 0 where NumPy's is subnormal (below ``log`` of the smallest normal
    number: an absolute error under 2.3e-308), and ``log`` takes normal numbers only (its
    callers never pass others)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([SPECIAL, rng.uniform(-1e4, 1e4, 20_000), rng.uniform(-800, 800, 20_000),
                        rng.uniform(-30, 30, 20_000), rng.uniform(-1, 1, 20_000)])
    positive = np.concatenate([[0.0, 1.0, 2.0, np.inf, np.nan, 2.2250738585072014e-308],
                               np.exp(rng.uniform(-700, 700, 20_000)), rng.uniform(0, 2, 20_000)])
    fractions = np.concatenate([[0.0, 1.0, np.inf, np.nan, 5e-324], rng.uniform(0, 1, 20_000),
                                np.exp(rng.uniform(-745, 0, 20_000))])
    inputs = {"exp": x, "expm1": x, "tanh": x, "log": positive, "log1p": fractions}
    tiny = np.finfo(np.float64).tiny
    for name, (engine, numpy) in _kernels().items():
        got = np.empty_like(inputs[name])
        engine(inputs[name], got)
        with np.errstate(all="ignore"):
            want = numpy(inputs[name])
        finite = np.isfinite(want)
        assert np.array_equal(np.isfinite(got), finite), name
        assert np.array_equal(got[~finite], want[~finite], equal_nan=True), name
        error = np.abs(got[finite] - want[finite])
        ulp = np.spacing(np.abs(want[finite]))
        allowed = np.where(np.abs(want[finite]) < tiny, tiny, 3 * ulp) if name == "exp" else \
            3 * ulp
        assert (error <= allowed).all(), (name, inputs[name][finite][np.argmax(error / allowed)])
