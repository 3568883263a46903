"""The demo: train every problem from the questions with default settings, show the truth tables."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .datasets import PROBLEMS, Problem
from .network import Network
from .training import History


@dataclass
class DemoResult:
    """One trained problem: the problem, the outputs after training, and the history."""

    problem: Problem
    outputs: np.ndarray
    history: History
    seconds: float

    @property
    def learned(self) -> bool:
        """Every output on the right side of 0.5."""
        return bool(np.all((self.outputs.ravel() > 0.5) == (self.problem.y > 0.5)))


def run(problem: Problem, seed: int = 0) -> DemoResult:
    """Train ``problem`` with :class:`Network` defaults and return the result."""
    start = time.perf_counter()
    net = Network(list(problem.sizes), seed=seed)
    history = net.fit(problem.X, problem.y)
    outputs = net.predict(problem.X)
    return DemoResult(problem, outputs, history, time.perf_counter() - start)


def format_result(result: DemoResult) -> str:
    """A truth table: input, target, output, whether each row is right; then epochs and time."""
    p, h = result.problem, result.history
    sizes = "-".join(map(str, p.sizes))
    lines = [f"{p.name} ({sizes}): {p.description}", "  input        target  output  right"]
    for x, t, o in zip(p.X, p.y, result.outputs.ravel(), strict=True):
        shown = " ".join(f"{v:g}" for v in x)
        right = "yes" if (o > 0.5) == (t > 0.5) else "NO"
        lines.append(f"  {shown:<12s} {t:<7g} {o:<7.3f} {right}")
    verdict = "learned" if result.learned else "NOT learned"
    lines.append(
        f"  {verdict}: {h.epochs} epochs ({h.stopped_because}), {h.restarts} copies trained "
        f"together, {result.seconds * 1000:.0f} ms"
    )
    return "\n".join(lines)


def run_all(names: list[str] | None = None, seed: int = 0) -> list[DemoResult]:
    """Run the named problems (all by default)."""
    return [run(PROBLEMS[name], seed) for name in names or list(PROBLEMS)]


def engine_ready() -> float:
    """Seconds to make the compiled engine ready (one epoch of XOR): after a fresh install
    that compiles it (once: Numba keeps it on disk), later it only loads it."""
    start = time.perf_counter()
    problem = PROBLEMS["xor"]
    Network(list(problem.sizes)).fit(problem.X, problem.y, epochs=1, restarts=1)
    return time.perf_counter() - start
