"""The compiled engine against the core: the same training, update for update.

Every hidden activation x output/loss pair x optimizer x (1 copy, 3 copies) x (full batch,
mini-batches) is trained for a few epochs on both paths (``engine="compiled"`` and
``engine="numpy"``, the core's own forward, backward and optimizer step); the parameters, the
losses and the history must agree within 1e-12 in float64 and 1e-5 in float32. Then the
stopping rules, callbacks, the optimizer's state, the BLAS fallbacks and the choice of path.

The data are well conditioned on purpose: small positive inputs and targets on one side of the
outputs, never saturating them, so that no gradient is a near-cancelling sum (Adam and RMSprop
divide a gradient by its own size, and turn a last-bit difference of a near-zero gradient into a
visible one; a saturated output's ``a - y`` loses its digits in float32).
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from chainrule import SGD, Adam, Callback, Network, RMSprop, Rprop

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "exp", "identity"]
OUTPUTS = [("mse", "sigmoid"), ("mse", "identity"), ("mse", "softmax"), ("bce", "sigmoid"),
           ("cross_entropy", "softmax"), ("poisson", "exp")]
OPTIMIZERS = {
    "sgd": lambda: SGD(0.005),
    "momentum": lambda: SGD(0.005, momentum=0.9),
    "nesterov": lambda: SGD(0.005, momentum=0.9, nesterov=True),
    "adam": lambda: Adam(0.005),
    "rmsprop": lambda: RMSprop(0.002),
    "rprop": lambda: Rprop(0.01),
}
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
# the history's norms are sums of squares of differences, which the core takes in the
# network's dtype (the engine in float64): float32 rounds them to about 1e-4 relative
HISTORY_TOLERANCE = {"float64": 1e-10, "float32": 1e-3}


def problem(loss: str, output: str, n: int = 23):
    """Small positive inputs, and targets the outputs move towards without saturating."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0.2, 0.6, size=(n, 3))
    if output == "softmax":
        return X, np.tile([0.6, 0.25, 0.15], (n, 1))
    if loss == "poisson":
        return X, rng.integers(3, 6, size=n).astype(float)
    if output == "sigmoid":
        return X, np.full(n, 0.8)
    return X, rng.uniform(2.0, 3.0, size=n)


def train(engine: str, hidden: str, loss: str, output: str, optimizer: str, copies: int,
          batch: int | None, dtype: str, epochs: int = 3, **fit):
    X, y = problem(loss, output)
    n_out = 3 if output == "softmax" else 1
    net = Network([3, 4, 3, n_out], activation=hidden, output_activation=output, loss=loss,
                  seed=7, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = net.fit(X, y, epochs=epochs, batch_size=batch,
                          optimizer=OPTIMIZERS[optimizer](), restarts=copies, engine=engine,
                          **fit)
    assert history.engine == engine
    return net, history


def assert_same_training(a, b, tolerance: float, history_tolerance: float = 1e-10) -> None:
    """The same parameters within ``tolerance`` (relative, and absolute below 1), the same
    history within ``history_tolerance`` of each series' largest value."""
    (net_a, history_a), (net_b, history_b) = a, b
    for p, q in zip(net_a.parameters(), net_b.parameters(), strict=True):
        np.testing.assert_allclose(p, q, rtol=tolerance, atol=tolerance)
    for name in ("loss", "val_loss", "gradient_norms", "update_ratios"):
        got, want = np.array(getattr(history_a, name)), np.array(getattr(history_b, name))
        scale = np.abs(want).max(initial=0.0) if np.isfinite(want).all() else 0.0
        np.testing.assert_allclose(got, want, rtol=history_tolerance,
                                   atol=history_tolerance * scale, err_msg=name)
    for name in ("epochs", "stopped_because", "replica", "redrawn", "best_epoch", "learned"):
        assert getattr(history_a, name) == getattr(history_b, name), name


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("loss", "output"), OUTPUTS, ids=[f"{lo}-{o}" for lo, o in OUTPUTS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_compiled_training_is_the_core_training(hidden: str, loss: str, output: str,
                                                dtype: str) -> None:
    for optimizer in OPTIMIZERS:
        for copies in (1, 3):
            for batch in (None, 5):
                if optimizer == "rprop" and batch is not None:
                    continue  # full batch only
                runs = [train(engine, hidden, loss, output, optimizer, copies, batch, dtype)
                        for engine in ("compiled", "numpy")]
                assert np.all(np.isfinite(runs[0][1].loss)), (optimizer, copies, batch)
                assert_same_training(*runs, TOLERANCE[dtype], HISTORY_TOLERANCE[dtype])


def test_the_parameters_really_move() -> None:
    """The comparison above is not of two networks that never changed."""
    before = Network([3, 4, 3, 1], activation="tanh", seed=7).parameters()
    net, _ = train("compiled", "tanh", "mse", "sigmoid", "adam", 1, 5, "float64")
    assert all(np.abs(p - q).max() > 1e-3 for p, q in zip(net.parameters(), before,
                                                           strict=True))


@pytest.mark.parametrize("batch", [None, 5])
def test_weight_decay_and_sample_weights_train_alike(batch) -> None:
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.0, 2.0, size=23)
    weights[4] = 0.0
    runs = [train(engine, "tanh", "bce", "sigmoid", "momentum", 3, batch, "float64",
                  weight_decay=0.05, sample_weight=weights) for engine in ("compiled", "numpy")]
    assert_same_training(*runs, 1e-12)


@pytest.mark.parametrize("shuffle", [True, False])
def test_shuffled_mini_batches_are_the_same_batches(shuffle: bool) -> None:
    """The engine draws each epoch's order from the network's generator as the NumPy path
    does, and leaves the generator where the NumPy path leaves it."""
    runs = [train(engine, "relu", "cross_entropy", "softmax", "sgd", 1, 4, "float64",
                  epochs=5, shuffle=shuffle) for engine in ("compiled", "numpy")]
    assert_same_training(*runs, 1e-12)
    assert runs[0][0].rng.random() == runs[1][0].rng.random()


# --- the stopping rules, on both paths ------------------------------------------------------
def both(make_net, X, y, **fit):
    """``fit`` on both paths from the same network; the two (net, history) pairs."""
    runs = []
    for engine in ("compiled", "numpy"):
        net = make_net()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            runs.append((net, net.fit(X, y, engine=engine, **fit)))
    return runs


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_Y = np.array([0, 1, 1, 0.0])


@pytest.mark.parametrize("seed", range(6))
def test_targets_met_with_restarts_and_redraws_stop_alike(seed: int) -> None:
    """Defaults on XOR: 16 copies, Rprop, targets checked every step, stuck copies redrawn."""
    runs = both(lambda: Network([2, 2, 1], seed=seed), XOR_X, XOR_Y)
    assert runs[0][1].stopped_because == "targets met"
    assert_same_training(*runs, 1e-9)


def test_redrawn_copies_are_redrawn_alike() -> None:
    """Even/odd with a 1-2-1 net: copies get stuck, are started again, and the rest stall."""
    x = np.arange(1, 10) / 9.0
    runs = both(lambda: Network([1, 2, 1], seed=0), x[:, None], (np.arange(1, 10) % 2 == 0) * 1.0,
                max_epochs=600)
    assert runs[0][1].redrawn > 0
    assert_same_training(*runs, 1e-9)


def test_mini_batch_targets_on_all_the_data_stop_alike() -> None:
    runs = both(lambda: Network([2, 4, 1], seed=1), XOR_X, XOR_Y, batch_size=2)
    assert runs[0][1].stopped_because == "targets met"
    assert_same_training(*runs, 1e-9)


def test_plateau_stops_alike() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=40)
    runs = both(lambda: Network([2, 3, 1], output_activation="identity", seed=0), X, y,
                optimizer="adam", learning_rate=0.05, batch_size=8, restarts=2, tol=1e-2)
    assert runs[0][1].stopped_because == "converged"
    assert_same_training(*runs, 1e-9)


def test_validation_early_stopping_keeps_the_same_best_epoch() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] - 2 * X[:, 1] + 0.5 * rng.normal(size=60)
    runs = both(lambda: Network([3, 16, 1], activation="tanh", output_activation="identity",
                                seed=2), X[:40], y[:40], validation_data=(X[40:], y[40:]),
                optimizer="adam", learning_rate=0.05, batch_size=8, restarts=3, patience=5)
    assert runs[0][1].stopped_because == "early stopping"
    assert runs[0][1].best_epoch is not None and runs[0][1].best_epoch < runs[0][1].epochs - 1
    assert_same_training(*runs, 1e-9)


def test_divergence_restores_the_same_last_finite_weights() -> None:
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(20, 2)) * 100, rng.normal(size=20) * 1e3
    runs = both(lambda: Network([2, 8, 1], activation="relu", output_activation="identity",
                                seed=0), X, y, optimizer="sgd", learning_rate=10.0, epochs=50,
                restarts=2)
    assert runs[0][1].stopped_because == "diverged"
    assert all(np.isfinite(p).all() for p in runs[0][0].parameters())
    assert_same_training(*runs, 1e-9)


# --- callbacks and state ------------------------------------------------------------------------
def test_callbacks_see_every_epoch_and_can_stop_the_engine() -> None:
    seen = []

    class StopAtFive(Callback):
        def on_epoch_end(self, training, epoch, logs):
            seen.append((epoch, logs["loss"], training.params.copy()))
            if epoch == 4:
                training.stop_reason = "stopped by callback"

    net = Network([2, 3, 1], seed=0)
    history = net.fit(XOR_X, XOR_Y, epochs=100, callbacks=[StopAtFive()], restarts=1)
    assert history.engine == "compiled"
    assert history.stopped_because == "stopped by callback" and history.epochs == 5
    assert [e for e, _, _ in seen] == [0, 1, 2, 3, 4]
    assert [loss for _, loss, _ in seen] == history.loss
    assert not np.array_equal(seen[0][2], seen[-1][2])  # the weights were moving


def test_a_callback_may_change_the_learning_rate_between_epochs() -> None:
    class Halve(Callback):
        def on_epoch_end(self, training, epoch, logs):
            self.optimizer.learning_rate /= 2

    runs = []
    for engine in ("compiled", "numpy"):
        net, halve = Network([2, 3, 1], seed=0), Halve()
        halve.optimizer = SGD(0.5, momentum=0.5)
        runs.append((net, net.fit(XOR_X, XOR_Y, epochs=6, optimizer=halve.optimizer,
                                  callbacks=[halve], restarts=2, engine=engine)))
    assert_same_training(*runs, 1e-12)


def test_a_batch_callback_trains_on_the_numpy_path_and_sees_every_step() -> None:
    steps = []

    class EveryStep(Callback):
        def on_batch_end(self, training, batch, logs):
            steps.append(batch)

    history = Network([2, 3, 1], seed=0).fit(XOR_X, XOR_Y, epochs=2, batch_size=1,
                                             optimizer="sgd", callbacks=[EveryStep()])
    assert history.engine == "numpy" and "on_batch_end" in history.engine_note
    assert steps == [0, 1, 2, 3] * 2


def test_own_objects_train_on_the_numpy_path_saying_which() -> None:
    from chainrule import Activation

    cube = Activation("cube", lambda Z: Z**3, lambda Z, A: 3 * Z**2)
    history = Network([2, 3, 1], activation=cube, seed=0).fit(XOR_X, XOR_Y, epochs=2)
    assert history.engine == "numpy" and "layer 1" in history.engine_note

    class Halving(SGD):
        def update(self, p, g, s):
            p -= 0.5 * self.learning_rate * g

    history = Network([2, 3, 1], seed=0).fit(XOR_X, XOR_Y, epochs=2, optimizer=Halving(0.1))
    assert history.engine == "numpy" and "Halving" in history.engine_note
    with pytest.raises(ValueError, match="engine='compiled' cannot train this network"):
        Network([2, 3, 1], activation=cube).fit(XOR_X, XOR_Y, epochs=1, engine="compiled")
    with pytest.raises(ValueError, match="engine must be one of"):
        Network([2, 3, 1]).fit(XOR_X, XOR_Y, epochs=1, engine="fast")


def test_copies_of_a_network_still_train_compiled() -> None:
    """``net.copy()`` (deep copy) and pickling give equal, not identical, activation objects."""
    import pickle

    net = Network([2, 3, 1], activation="tanh", seed=0)
    for twin in (net.copy(), pickle.loads(pickle.dumps(net))):
        assert twin.fit(XOR_X, XOR_Y, epochs=2).engine == "compiled"


def test_float32_stays_float32_on_the_engine() -> None:
    net = Network([2, 3, 1], dtype="float32", seed=0)
    optimizer = Adam(0.01)
    net.fit(XOR_X, XOR_Y, epochs=3, optimizer=optimizer)
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert all(a.dtype == np.float32 for s in optimizer.state for a in s.values())


# --- the matrix products ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(4, 2, 3), (33, 64, 17), (1, 300, 2)])
def test_matrix_products_in_loops_and_through_blas_are_the_products(shape, dtype) -> None:
    from chainrule.engine import blas

    m, k, n = shape
    rng = np.random.default_rng(0)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    for kind in {blas.LOOPS, blas.KIND}:
        for ta in (False, True):
            for tb in (False, True):
                A = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
                B = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
                C0 = rng.normal(size=(m, n)).astype(dtype)
                C = np.concatenate([[5.0], C0.ravel()]).astype(dtype)  # from an offset
                blas.gemm(kind, ta, tb, m, n, k, 0.5, A.ravel(), 0, np.concatenate(
                    [np.zeros(3, dtype), B.ravel()]), 3, 2.0, C, 1)
                want = 0.5 * (A.T if ta else A) @ (B.T if tb else B) + 2 * C0
                np.testing.assert_allclose(C[1:].reshape(m, n), want, rtol=tol, atol=tol)
                assert C[0] == 5.0


@pytest.mark.parametrize("blas", ["scipy", "loops"])
def test_the_blas_fallbacks_train_as_numpys_openblas(blas: str) -> None:
    """Without NumPy's bundled OpenBLAS the engine takes SciPy's BLAS, or its own loops."""
    code = (
        "import numpy as np\n"
        "from chainrule import Network\n"
        "from chainrule.engine import blas\n"
        "rng = np.random.default_rng(0)\n"
        "X, y = rng.normal(size=(64, 20)), rng.integers(0, 3, 64)\n"
        "net = Network([20, 32, 3], activation='relu', output_activation='softmax',\n"
        "              loss='cross_entropy', seed=0)\n"
        "h = net.fit(X, y, epochs=3, batch_size=16, optimizer='adam', restarts=2)\n"
        "print(blas.NAME, '|', h.engine, '|', *np.concatenate([p.ravel() for p in "
        "net.parameters()]).tolist())\n"
    )
    results = {}
    for kind in ("numpy", blas):
        env = dict(os.environ, CHAINRULE_BLAS=kind)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=300, check=True).stdout
        name, engine, values = out.split(" | ")
        assert engine == "compiled"
        results[kind] = (name, np.array(values.split(), dtype=float))
    assert results["numpy"][0] == "NumPy's OpenBLAS"
    assert results[blas][0] == {"scipy": "SciPy's BLAS", "loops": "no BLAS found: compiled loops"}[
        blas]
    np.testing.assert_allclose(results[blas][1], results["numpy"][1], rtol=1e-10, atol=1e-12)


def test_an_engine_that_cannot_load_leaves_training_to_numpy(monkeypatch) -> None:
    """A Numba that fails to import (e.g. too old for the NumPy installed) is not an error."""
    import chainrule.training.compiled as compiled

    def broken(*args, **kwargs):
        raise ImportError("Numba needs NumPy 2.5 or less")

    monkeypatch.setattr(compiled, "Kernel", broken)
    history = Network([2, 3, 1], seed=0).fit(XOR_X, XOR_Y, epochs=2)
    assert history.engine == "numpy" and "could not be loaded" in history.engine_note
    with pytest.raises(ValueError, match="could not be loaded"):
        Network([2, 3, 1], seed=0).fit(XOR_X, XOR_Y, epochs=2, engine="compiled")
