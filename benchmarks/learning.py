"""Does chainrule learn the questions' problems with its defaults? Success over seeds 0..N-1.

``Network(sizes, seed=s).fit(X, y)`` with no other arguments; a seed succeeds when every output is
on the right side of 0.5. Also question 000's online SGD (batch 1, sgd, learning rate 0.5) on XOR.

Run: ``python benchmarks/learning.py [--seeds 100]``
"""

import argparse

from chainrule.bench import format_learning, run_learning

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--seeds", type=int, default=100)
print(format_learning(run_learning(parser.parse_args().seeds)))
