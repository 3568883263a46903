"""How long ``diagnose`` takes on each problem of the questions (``chainrule.datasets.PROBLEMS``).

The net of the problem's sizes with default settings, ``diagnose(net, X, y)``: the probe
repeating fit's defaults and the short comparisons it runs (initialisations, standardised
inputs, a wider net). Median and range of ``--repeats`` runs, after one run that loads (or
compiles) the engine; the findings' codes beside.

    python benchmarks/diagnose.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from chainrule import Network, diagnose
from chainrule.datasets import PROBLEMS

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--repeats", type=int, default=7)
args = parser.parse_args()

warnings.simplefilter("ignore")
diagnose(Network([2, 2, 1]), PROBLEMS["xor"].X, PROBLEMS["xor"].y)  # load the engine
print(f"{'problem':12s} {'sizes':8s} {'median s':>9s} {'range s':>15s}  findings")
worst = 0.0
for name, problem in PROBLEMS.items():
    seconds, codes = [], []
    for _ in range(args.repeats):
        net = Network(list(problem.sizes), seed=0)
        start = time.perf_counter()
        findings = diagnose(net, problem.X, problem.y)
        seconds.append(time.perf_counter() - start)
        codes = [f.code for f in findings]
    worst = max(worst, float(np.median(seconds)))
    sizes = "-".join(map(str, problem.sizes))
    print(f"{name:12s} {sizes:8s} {np.median(seconds):9.3f} "
          f"{min(seconds):7.3f}-{max(seconds):.3f}  {', '.join(codes)}")
print(f"slowest median: {worst:.3f} s (goal: at most 0.3 s)")
