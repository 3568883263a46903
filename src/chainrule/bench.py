"""Benchmarks: the questions' problems, the classic backprop benchmarks, and training speed.

Each ``run_*`` function returns rows; each ``format_*`` function turns rows into a table.
``chainrule bench`` and the scripts in ``benchmarks/`` call them. The speed benchmark needs
PyTorch and scikit-learn (``pip install torch==2.13.0 scikit-learn``).
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .datasets import PROBLEMS, binary_inputs, encoder, parity, spirals
from .network import Network
from .optimizers import SGD

Array = np.ndarray


# -- learning: the questions' problems with default settings ---------------------------------
@dataclass
class Outcome:
    """Many trials of one configuration: how many learned, in how many epochs, how fast."""

    name: str
    sizes: tuple[int, ...]
    trials: int = 0
    learned: int = 0
    epochs: list[int] = field(default_factory=list)
    copy_epochs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, learned: bool, epochs: int, copies: int, seconds: float, reason: str) -> None:
        self.trials += 1
        self.learned += learned
        self.epochs.append(epochs)
        self.copy_epochs.append(epochs * copies)
        self.seconds.append(seconds)
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def _trial(outcome: Outcome, X: Array, y: Array, seed: int, network: dict, fit: dict,
           learned: Callable[[Network], bool]) -> None:
    start = time.perf_counter()
    net = Network(list(outcome.sizes), seed=seed, **network)
    history = net.fit(X, y, **fit)
    outcome.add(learned(net), history.epochs, history.restarts + history.redrawn,
                time.perf_counter() - start, history.stopped_because)


def run_learning(seeds: int = 100) -> list[Outcome]:
    """Every problem of the questions with defaults only, and question 000's online SGD on XOR.

    A seed succeeds when every output is on the right side of 0.5.
    """
    _engine_ready()
    runs = [(name, p, {}) for name, p in PROBLEMS.items()]
    runs.append(("xor online", PROBLEMS["xor"],
                 dict(batch_size=1, optimizer="sgd", learning_rate=0.5)))
    outcomes = []
    for name, problem, fit in runs:
        outcome = Outcome(name, problem.sizes)
        right_side = _right_side(problem.X, problem.y)
        for seed in range(seeds):
            _trial(outcome, problem.X, problem.y, seed, {}, fit, right_side)
        outcomes.append(outcome)
    return outcomes


def _engine_ready() -> None:
    """Load (or compile) the engine before the first timed trial: once per process."""
    from .demo import engine_ready

    engine_ready()


def _right_side(X: Array, y: Array) -> Callable[[Network], bool]:
    return lambda net: bool(np.all((net.predict(X).reshape(y.shape) > 0.5) == (y > 0.5)))


def format_learning(outcomes: list[Outcome]) -> str:
    goals: list[str] = []
    lines = [f"{'problem':12s} {'sizes':8s} {'learned':>9s} {'median epochs':>14s} "
             f"{'ms per fit':>11s}  stopped because"]
    for o in outcomes:
        sizes = "-".join(map(str, o.sizes))
        lines.append(f"{o.name:12s} {sizes:8s} {o.learned:>4d}/{o.trials:<4d} "
                     f"{np.median(o.epochs):>14.0f} {1000 * np.mean(o.seconds):>11.1f}  "
                     f"{o.reasons}")
        if o.name == "even-odd":
            ms = 1000 * np.mean(o.seconds)
            goals.append(f"goal: even/odd 1-16-1 at most 20 ms per fit: "
                         f"{'met' if ms <= 20 else 'MISSED'} ({ms:.1f} ms)")
    return "\n".join(lines + goals)


# -- the classic benchmarks, 40-20-40 criterion ----------------------------------------------
@dataclass(frozen=True)
class Classic:
    """A textbook benchmark with the settings chainrule uses for it and the published figures."""

    name: str
    data: Callable[[], tuple[Array, Array]]
    sizes: tuple[int, ...]
    network: dict
    fit: dict
    published: str
    goal: str
    meets_goal: Callable[[Outcome], bool]


def _pm1(X: Array) -> Array:
    return 2 * X - 1


CLASSICS = [
    Classic("xor", lambda: (binary_inputs(2), np.array([0, 1, 1, 0.0])), (2, 2, 1),
            dict(activation="tanh", loss="bce"), dict(learning_rate=0.5),
            "quickprop 24.22 mean epochs incl. restarts; backprop 245-558",
            "100%, median <= 20 epochs",
            lambda o: o.learned == o.trials and np.median(o.epochs) <= 20),
    Classic("encoder 10-5-10", lambda: encoder(10), (10, 5, 10),
            dict(activation="tanh", loss="bce"), dict(learning_rate=0.5),
            "backprop 129, quickprop 14.01 mean epochs", "100%, mean <= 14 epochs",
            lambda o: o.learned == o.trials and np.mean(o.epochs) <= 14),
    Classic("parity 8-bit", lambda: (_pm1(parity(8)[0]), parity(8)[1]), (8, 16, 1),
            dict(activation="tanh", loss="bce"), dict(learning_rate=0.1, restarts=16),
            "backprop ~2000, Cascade-Correlation 357 mean epochs", "100%, mean <= 357 epochs",
            lambda o: o.learned == o.trials and np.mean(o.epochs) <= 357),
    Classic("two spirals", lambda: (spirals()[0] / 6.5, spirals()[1]), (2, 32, 32, 1),
            dict(activation="tanh", loss="bce"), dict(learning_rate=0.1, restarts=4),
            "backprop 20,000, quickprop 8,000, Cascade-Correlation 1,700 epochs",
            "100%, mean <= 1,700 epochs, <= 2 s each",
            lambda o: o.learned == o.trials and np.mean(o.epochs) <= 1700
            and max(o.seconds) <= 2),
]


def run_classic(trials: int = 100, names: list[str] | None = None) -> list[tuple[Classic, Outcome]]:
    """Each classic benchmark over ``trials`` seeds with the 40-20-40 criterion.

    A trial learns when every output is within 0.4 of its 0/1 target (``target_tolerance=0.4``);
    ``fit`` stops there. Epochs count passes of the copies trained together; copy-epochs count
    the work of every copy (Fahlman's "incl. restarts" is the sequential equivalent).
    """
    _engine_ready()
    results = []
    for bench in CLASSICS:
        if names and bench.name not in names:
            continue
        X, y = bench.data()
        outcome = Outcome(bench.name, bench.sizes)
        fit = dict(bench.fit, target_tolerance=0.4)
        for seed in range(trials):
            _trial(outcome, X, y, seed, bench.network, fit, _within(X, y, 0.4))
        results.append((bench, outcome))
    return results


def _within(X: Array, y: Array, tolerance: float) -> Callable[[Network], bool]:
    return lambda net: bool(np.all(np.abs(net.predict(X) - y.reshape(len(X), -1)) < tolerance))


def format_classic(results: list[tuple[Classic, Outcome]]) -> str:
    lines = [f"{'benchmark':16s} {'sizes':10s} {'learned':>8s} {'mean ep':>8s} {'median':>7s} "
             f"{'copy-ep':>8s} {'s/trial':>8s}  goal (met?) | published | settings"]
    for bench, o in results:
        sizes = "-".join(map(str, bench.sizes))
        met = "yes" if bench.meets_goal(o) else "NO"
        settings = ", ".join(f"{k}={v}" for k, v in {**bench.network, **bench.fit}.items())
        lines.append(
            f"{bench.name:16s} {sizes:10s} {o.learned:>4d}/{o.trials:<3d} "
            f"{np.mean(o.epochs):8.1f} {np.median(o.epochs):7.0f} {np.mean(o.copy_epochs):8.0f} "
            f"{np.mean(o.seconds):8.3f}  {bench.goal} ({met}) | {bench.published} | {settings}"
        )
    return "\n".join(lines)


# -- speed, side by side with PyTorch and scikit-learn ---------------------------------------
@dataclass(frozen=True)
class SpeedCase:
    name: str
    sizes: tuple[int, ...]
    batch: int
    dtype: str
    n_samples: int
    epochs: int


SPEED_CASES = [
    SpeedCase("small-f64", (64, 128, 10), 32, "float64", 4096, 3),
    SpeedCase("small-f32", (64, 128, 10), 32, "float32", 4096, 3),
    SpeedCase("mnist-like", (784, 256, 10), 128, "float32", 8192, 1),
    SpeedCase("wide", (784, 1024, 1024, 10), 256, "float32", 4096, 1),
    SpeedCase("xor-step", (2, 2, 1), 4, "float64", 4, 2000),
]


def gemm_peak(dtype: str, n: int = 2048, repeats: int = 10) -> float:
    """This machine's matrix-multiply throughput in GFLOP/s: the best of several n x n products."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    return 2 * n**3 / _best_seconds(lambda: a @ b, repeats) / 1e9


def _best_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def training_flops(sizes: tuple[int, ...]) -> int:
    """FLOPs per sample of one SGD step: forward (2), dW (2) and dX (2, not for the first layer)
    per weight."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return 6 * sum(products) - 2 * products[0]


def _speed_data(case: SpeedCase) -> tuple[Array, Array]:
    if case.name == "xor-step":
        return binary_inputs(2), np.array([0, 1, 1, 0.0])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((case.n_samples, case.sizes[0])).astype(case.dtype)
    return X, rng.integers(0, case.sizes[-1], case.n_samples)


def _binary(case: SpeedCase) -> bool:
    return case.sizes[-1] == 1


def _train_chainrule(case: SpeedCase, X: Array, y: Array) -> Callable[[], object]:
    net = Network(list(case.sizes), activation="sigmoid" if _binary(case) else "relu",
                  output_activation="sigmoid" if _binary(case) else "softmax",
                  loss="mse" if _binary(case) else "cross_entropy", dtype=case.dtype, seed=0)
    batch = None if case.batch >= len(X) else case.batch
    return lambda: net.fit(X, y, epochs=case.epochs, batch_size=batch, optimizer=SGD(0.01),
                           restarts=1)


def _train_numpy(case: SpeedCase, X: Array, y: Array) -> Callable[[], object]:
    """The floor: a minimal hand-written NumPy loop (2-layer only), no checks, no history."""
    if len(case.sizes) != 3:
        return None
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal(case.sizes[:2]).astype(case.dtype) * 0.1
    W2 = rng.standard_normal(case.sizes[1:]).astype(case.dtype) * 0.1
    b1, b2 = np.zeros(case.sizes[1], case.dtype), np.zeros(case.sizes[2], case.dtype)
    Y = y.reshape(-1, 1).astype(case.dtype) if _binary(case) else np.eye(case.sizes[2],
                                                                        dtype=case.dtype)[y]

    def train() -> None:
        nonlocal W1, b1, W2, b2
        for _ in range(case.epochs):
            order = rng.permutation(len(X)) if case.batch < len(X) else None  # full batch: as is
            for first in range(0, len(X), case.batch):
                rows = order[first : first + case.batch] if order is not None else slice(None)
                Xb, Yb = X[rows], Y[rows]
                Z1 = Xb @ W1 + b1
                if _binary(case):
                    A1 = 1 / (1 + np.exp(-Z1))
                    A2 = 1 / (1 + np.exp(-(A1 @ W2 + b2)))
                    dZ2 = (A2 - Yb) * (2 / A2.size) * A2 * (1 - A2)
                    dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)
                else:
                    A1 = np.maximum(Z1, 0)
                    Z2 = A1 @ W2 + b2
                    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                    dZ2 = (E / E.sum(axis=1, keepdims=True) - Yb) / len(rows)
                    dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
                W2 -= 0.01 * (A1.T @ dZ2)
                b2 -= 0.01 * dZ2.sum(axis=0)
                W1 -= 0.01 * (Xb.T @ dZ1)
                b1 -= 0.01 * dZ1.sum(axis=0)

    return train


def _products_only(case: SpeedCase, X: Array, y: Array) -> Callable[[], object]:
    """The ceiling: only the matrix products of each SGD step (``A W`` forward, ``A^T dZ`` and
    ``dZ W^T`` backward), on the same batches, into preallocated arrays; no bias, activation,
    loss or update. No training can be faster than this with NumPy's matrix multiply."""
    rng = np.random.default_rng(0)
    shapes = list(zip(case.sizes[:-1], case.sizes[1:], strict=True))
    weights = [rng.standard_normal(shape).astype(case.dtype) * 0.1 for shape in shapes]
    outputs = [np.empty((case.batch, n_out), case.dtype) for _, n_out in shapes]
    errors = [np.empty((case.batch, n_in), case.dtype) for n_in, _ in shapes]
    gradients = [np.empty_like(W) for W in weights]
    product = np.dot  # BLAS, with half np.matmul's call overhead

    def train() -> None:
        for _ in range(case.epochs):
            for first in range(0, len(X), case.batch):
                A = X[first : first + case.batch]
                rows = A.shape[0]
                inputs = [A]
                for W, out in zip(weights, outputs, strict=True):
                    inputs.append(product(inputs[-1], W, out=out[:rows]))
                dZ = inputs.pop()
                for layer in range(len(weights) - 1, -1, -1):
                    product(inputs[layer].T, dZ, out=gradients[layer])
                    if layer:
                        dZ = product(dZ, weights[layer].T, out=errors[layer][:rows])

    return train


def _train_torch(case: SpeedCase, X: Array, y: Array) -> Callable[[], object]:
    import torch

    dtype = torch.float32 if case.dtype == "float32" else torch.float64
    modules: list = []
    for i, (a, b) in enumerate(zip(case.sizes[:-1], case.sizes[1:], strict=True)):
        modules.append(torch.nn.Linear(a, b, dtype=dtype))
        if i < len(case.sizes) - 2:
            modules.append(torch.nn.Sigmoid() if _binary(case) else torch.nn.ReLU())
    if _binary(case):
        modules.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*modules)
    loss_fn = torch.nn.MSELoss() if _binary(case) else torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    Xt = torch.from_numpy(X).to(dtype)
    yt = torch.from_numpy(y).to(dtype)[:, None] if _binary(case) else torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def train() -> None:
        for _ in range(case.epochs):
            if case.batch >= len(Xt):  # full batch: no shuffle, no gather
                opt.zero_grad()
                loss_fn(model(Xt), yt).backward()
                opt.step()
                continue
            order = torch.randperm(len(Xt), generator=generator)
            for first in range(0, len(Xt), case.batch):
                rows = order[first : first + case.batch]
                opt.zero_grad()
                loss_fn(model(Xt[rows]), yt[rows]).backward()
                opt.step()

    return train


def _train_sklearn(case: SpeedCase, X: Array, y: Array) -> Callable[[], object]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=case.sizes[1:-1], solver="sgd", momentum=0,
                          learning_rate_init=0.01, batch_size=case.batch, max_iter=case.epochs,
                          alpha=0, tol=0, n_iter_no_change=10**9, random_state=0,
                          shuffle=case.batch < len(X),
                          activation="logistic" if _binary(case) else "relu")

    def train() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)

    return train


def _peer(name: str) -> Callable:
    """A trainer from :mod:`chainrule.peers`, or none when its library is not installed."""

    def make(case: SpeedCase, X: Array, y: Array) -> Callable[[], object] | None:
        from . import peers

        try:
            return getattr(peers, name)(case, X, y)
        except ImportError:
            return None

    return make


LIBRARIES = {"chainrule": _train_chainrule, "numpy loop": _train_numpy, "pytorch": _train_torch,
             "sklearn": _train_sklearn, "jax-step": _peer("train_jax_step"),
             "jax-loop": _peer("train_jax_loop"), "numba-loop": _peer("train_numba_loop"),
             "products": _products_only}


def run_speed(repeats: int = 5, names: list[str] | None = None) -> tuple[dict, list[dict]]:
    """Median training time of every library on every case, measured in turns in one process.

    Returns the matrix-multiply peaks (GFLOP/s per dtype) and one row per case and library with
    ``seconds`` (median), ``samples_per_second``, ``us_per_step`` and ``peak_fraction``.
    """
    peaks = {dtype: gemm_peak(dtype) for dtype in ("float32", "float64")}
    rows = []  # (the peak is measured again at the end, and the best of the two kept)
    for case in SPEED_CASES:
        if names and case.name not in names:
            continue
        X, y = _speed_data(case)
        runs = {lib: make(case, X, y) for lib, make in LIBRARIES.items()}
        runs = {lib: run for lib, run in runs.items() if run is not None}
        for run in runs.values():
            run()  # warm-up
        times = {lib: [] for lib in runs}
        for _ in range(repeats):  # interleaved, so that load on the machine hits all alike
            for lib, run in runs.items():
                gc.disable()  # as timeit: no garbage collection inside a timed run
                start = time.perf_counter()
                run()
                times[lib].append(time.perf_counter() - start)
                gc.enable()
        steps = case.epochs * -(-len(X) // case.batch)
        for lib, samples in times.items():
            seconds = float(np.median(samples))
            rate = case.epochs * len(X) / seconds
            rows.append(dict(case=case.name, library=lib, seconds=seconds, dtype=case.dtype,
                             samples_per_second=rate, us_per_step=seconds / steps * 1e6,
                             gflops=rate * training_flops(case.sizes) / 1e9))
    for dtype in peaks:
        peaks[dtype] = max(peaks[dtype], gemm_peak(dtype))
    for row in rows:
        row["peak_fraction"] = row["gflops"] / peaks[row["dtype"]]
    return peaks, rows


def format_speed(peaks: dict, rows: list[dict]) -> str:
    lines = [f"matrix-multiply peak: float32 {peaks['float32']:.1f} GFLOP/s, "
             f"float64 {peaks['float64']:.1f} GFLOP/s",
             f"{'case':11s} {'library':11s} {'samples/s':>11s} {'us/step':>9s} {'% peak':>7s} "
             f"{'chainrule is':>16s}"]
    ours = {r["case"]: r["seconds"] for r in rows if r["library"] == "chainrule"}
    for r in rows:
        times = r["seconds"] / ours[r["case"]]
        ratio = "" if r["library"] == "chainrule" else f"{times:.2f}x as fast"
        lines.append(f"{r['case']:11s} {r['library']:11s} {r['samples_per_second']:11.0f} "
                     f"{r['us_per_step']:9.1f} {100 * r['peak_fraction']:6.1f}% {ratio:>16s}")
    lines.append("(products: the step's matrix products alone, without bias, activations, loss or "
                 "update: the ceiling for NumPy; jax-loop: every epoch in one compiled call)")
    return "\n".join(lines + speed_goals(rows))


def speed_goals(rows: list[dict]) -> list[str]:
    """The engine's goals (issue 16), each with the figure measured and whether it is met."""
    by = {(r["case"], r["library"]): r for r in rows}
    goals = []
    if ("xor-step", "chainrule") in by:
        us = by["xor-step", "chainrule"]["us_per_step"]
        goals.append(f"XOR 2-2-1 full-batch step {us:.2f} us (goal <= 0.5 us): "
                     f"{'met' if us <= 0.5 else 'MISSED'}")
    for case in ("small-f64", "small-f32", "mnist-like"):
        if (case, "chainrule") in by and (case, "jax-loop") in by:
            ratio = by[case, "jax-loop"]["seconds"] / by[case, "chainrule"]["seconds"]
            goals.append(f"{case}: {ratio:.2f}x JAX's whole compiled loop (goal >= 1.0x): "
                         f"{'met' if ratio >= 1.0 else 'MISSED'}")
    if ("wide", "chainrule") in by:
        fraction = by["wide", "chainrule"]["peak_fraction"]
        goals.append(f"wide: {100 * fraction:.1f}% of the matrix-multiply peak (goal >= 85%): "
                     f"{'met' if fraction >= 0.85 else 'MISSED'}")
    return (["", "goals:"] + ["  " + g for g in goals]) if goals else []


# -- restarts: copies trained together ---------------------------------------------------------
def run_restarts(seeds: int = 1000, copies: tuple[int, ...] = (1, 16, 64), epochs: int = 500,
                 repeats: int = 7) -> dict:
    """XOR 2-2-1 with defaults over ``seeds`` seeds (40-20-40 criterion), and the cost of copies.

    Returns ``learned`` (seeds whose net met the criterion), ``seeds``, ``median_epochs``, and
    ``seconds[K]``: median wall time of ``epochs`` full-batch epochs with ``restarts=K``.
    """
    _engine_ready()
    problem = PROBLEMS["xor"]
    within = _within(problem.X, problem.y, 0.4)
    outcome = Outcome("xor", problem.sizes)
    for seed in range(seeds):
        _trial(outcome, problem.X, problem.y, seed, {}, dict(target_tolerance=0.4), within)
    seconds = {}
    for K in copies:
        net = Network(list(problem.sizes), seed=0)
        fit = dict(epochs=epochs, restarts=K, optimizer="rprop")
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            net.fit(problem.X, problem.y, **fit)
            times.append(time.perf_counter() - start)
        seconds[K] = float(np.median(times))
    return dict(learned=outcome.learned, seeds=seeds, epochs=epochs, seconds=seconds,
                median_epochs=float(np.median(outcome.epochs)))


def format_restarts(result: dict) -> str:
    lines = [f"XOR 2-2-1 with defaults, 40-20-40 criterion: {result['learned']}/{result['seeds']} "
             f"seeds learned, median {result['median_epochs']:.0f} epochs"]
    base = result["seconds"][min(result["seconds"])]
    for K, seconds in result["seconds"].items():
        lines.append(f"restarts={K:<3d} {result['epochs']} epochs: {seconds * 1000:7.1f} ms "
                     f"({seconds / base:.2f}x the time of one copy)")
    if 64 in result["seconds"]:
        ratio = result["seconds"][64] / base
        lines.append(f"goal: 64 copies at most 1.5x the time of one: "
                     f"{'met' if ratio <= 1.5 else 'MISSED'} ({ratio:.2f}x)")
    return "\n".join(lines)


# -- memory -------------------------------------------------------------------------------------
def run_memory(names: list[str] | None = None) -> list[dict]:
    """Peak memory of one training epoch of each speed case, against what it cannot do without.

    The baseline is the data, the parameters, their gradients, and one batch's inputs,
    activations (``Z`` and ``A``) and activation gradients (``dZ`` and ``dA``). The peak is
    measured with ``tracemalloc`` (NumPy reports its allocations to it) and counts the data and
    the network, which exist before ``fit``; it is taken on a second ``fit``, after the
    compiled engine was compiled or loaded from its cache. XOR is left out: its baseline is a
    few hundred bytes, far below Python's fixed costs.
    """
    import tracemalloc

    rows = []
    for case in SPEED_CASES:
        if (names and case.name not in names) or case.name == "xor-step":
            continue
        X, y = _speed_data(case)
        train = _train_chainrule(case, X, y)
        itemsize = np.dtype(case.dtype).itemsize
        batch = min(case.batch, len(X))
        parameters = sum(a * b + b for a, b in zip(case.sizes[:-1], case.sizes[1:], strict=True))
        activations = 4 * batch * sum(case.sizes[1:])  # Z, A, dZ, dA per layer
        baseline = X.nbytes + itemsize * (2 * parameters + activations + batch * case.sizes[0])
        train()  # the engine compiles (or loads its compiled code) once, not in the count
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        train()
        peak = tracemalloc.get_traced_memory()[1] - start + X.nbytes + itemsize * parameters
        tracemalloc.stop()
        rows.append(dict(case=case.name, baseline=baseline, peak=peak))
    return rows


def format_memory(rows: list[dict]) -> str:
    lines = [f"{'case':11s} {'baseline MB':>12s} {'peak MB':>9s} {'ratio':>6s}"]
    for r in rows:
        lines.append(f"{r['case']:11s} {r['baseline'] / 1e6:12.1f} {r['peak'] / 1e6:9.1f} "
                     f"{r['peak'] / r['baseline']:6.2f}")
    return "\n".join(lines)
