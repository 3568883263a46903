"""The textbook backprop benchmarks (XOR, 10-5-10 encoder, 8-bit parity, two spirals) with the
40-20-40 criterion, next to the published figures.

Run: ``python benchmarks/classic.py [--trials 100] [--only xor ...]``
"""

import argparse

from chainrule.bench import CLASSICS, format_classic, run_classic

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--trials", type=int, default=100)
parser.add_argument("--only", choices=[c.name for c in CLASSICS], nargs="*")
args = parser.parse_args()
print(format_classic(run_classic(args.trials, args.only)))
