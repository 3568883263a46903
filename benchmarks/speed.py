"""Training speed of chainrule, a minimal NumPy loop, PyTorch and scikit-learn, side by side.

Same shapes, data, batch size and plain SGD for every library, timed in turns in one process; the
median of ``--repeats`` runs, samples per second, microseconds per step, fraction of this
machine's matrix-multiply peak, and how many times as fast chainrule is. A ``products`` row times
each step's matrix products alone (the ceiling for NumPy). Then chainrule's peak memory in
training against the data, parameters, gradients and one batch's activations.

Run: ``python benchmarks/speed.py [--repeats 5] [--case small-f64 ...]``
"""

import argparse

from chainrule.bench import SPEED_CASES, format_memory, format_speed, run_memory, run_speed

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--case", choices=[c.name for c in SPEED_CASES], nargs="*")
args = parser.parse_args()
print(format_speed(*run_speed(args.repeats, args.case)))
print()
print(format_memory(run_memory(args.case)))
