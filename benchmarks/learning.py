"""Does chainrule learn the questions' problems with its defaults? Success rate over 100 seeds.

For every problem in ``chainrule.datasets.PROBLEMS``: ``Network(sizes, seed=s).fit(X, y)`` with no
other arguments, seeds 0..99; a seed succeeds when every output is on the right side of 0.5.
Also question 000's online SGD (``batch_size=1, optimizer="sgd", learning_rate=0.5``) on XOR 2-2-1.

Run: ``python benchmarks/learning.py [--seeds 100]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from chainrule import Network
from chainrule.datasets import PROBLEMS, Problem


def success_rate(problem: Problem, seeds: int, **fit_kwargs) -> tuple[int, float, float, dict]:
    learned, epochs, reasons = 0, [], {}
    start = time.perf_counter()
    for seed in range(seeds):
        net = Network(list(problem.sizes), seed=seed)
        history = net.fit(problem.X, problem.y, **fit_kwargs)
        out = net.predict(problem.X).ravel()
        learned += bool(np.all((out > 0.5) == (problem.y > 0.5)))
        epochs.append(history.epochs)
        reasons[history.stopped_because] = reasons.get(history.stopped_because, 0) + 1
    seconds = (time.perf_counter() - start) / seeds
    return learned, float(np.median(epochs)), seconds, reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    seeds = parser.parse_args().seeds
    header = f"{'problem':12s} {'sizes':8s} {'learned':>9s} {'median epochs':>14s} {'ms/fit':>8s}"
    print(header + "  stopped")
    runs = [(name, p, {}) for name, p in PROBLEMS.items()]
    online = dict(batch_size=1, optimizer="sgd", learning_rate=0.5)
    runs.append(("xor online", PROBLEMS["xor"], online))
    for name, problem, kwargs in runs:
        learned, epochs, seconds, reasons = success_rate(problem, seeds, **kwargs)
        sizes = "-".join(map(str, problem.sizes))
        print(f"{name:12s} {sizes:8s} {learned:>4d}/{seeds:<4d} {epochs:>14.0f} "
              f"{seconds * 1000:>8.1f}  {reasons}")


if __name__ == "__main__":
    main()
