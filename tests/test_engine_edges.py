"""The compiled engine at the edges: non-finite values, and its compiled code kept on disk.

(``tests/test_engine.py`` checks the engine against the core on well-conditioned training.)
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from chainrule import SGD, Network


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
