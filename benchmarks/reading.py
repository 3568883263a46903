"""Reading a large numeric CSV: ``chainrule.data.read_table`` beside ``pandas.read_csv``.

The file: ``--rows`` x ``--columns`` (default 1,000,000 x 20) normal numbers written with 8
significant digits, made once in a temporary folder (or ``--file`` to read your own). Each reader
runs in a fresh subprocess per repeat, in turns, so every measurement starts from the same empty
interpreter:

* time: wall time of the read call alone (imports excluded), median of ``--repeats``;
* peak memory: the process's peak resident size after the read minus its resident size just
  before it (``resource.getrusage`` ``ru_maxrss``, which also sees Arrow's and pandas' native
  allocations that ``tracemalloc`` misses), as a multiple of the final float64 array
  (``rows x columns x 8`` bytes).

Readers: ``chainrule`` (``read_table``: Arrow's CSV parser, then one float64 array),
``pandas`` (``pandas.read_csv``, default C engine: a DataFrame), ``pandas+numpy`` (the same and
``.to_numpy()``, the array chainrule returns), ``pandas-pyarrow`` (``engine="pyarrow"``).
The goals: chainrule within 1.25x pandas.read_csv's time, and peak memory within 3x the array.

Run: ``python benchmarks/reading.py`` (about a minute), ``--rows 200000`` for a quick look.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

PROBE = r"""
import json, resource, sys, time
sys.path.insert(0, {src!r})
reader, path = sys.argv[1], sys.argv[2]
import numpy as np
import pandas as pd
import pyarrow.csv
from chainrule.data import read_table

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

before = rss_kb()
start = time.perf_counter()
if reader == "chainrule":
    X = read_table(path).X
elif reader == "pandas":
    X = pd.read_csv(path)
elif reader == "pandas+numpy":
    X = pd.read_csv(path).to_numpy()
elif reader == "pandas-pyarrow":
    X = pd.read_csv(path, engine="pyarrow")
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_kb": peak - before, "shape": list(X.shape)}}))
"""

READERS = ("chainrule", "pandas", "pandas+numpy", "pandas-pyarrow")


def make_file(path: str, rows: int, columns: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join(f"c{j}" for j in range(columns)) + "\n")
        for first in range(0, rows, 100_000):
            block = rng.normal(size=(min(100_000, rows - first), columns))
            np.savetxt(f, block, delimiter=",", fmt="%.8g")


def measure(reader: str, path: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE.format(src=SRC), reader, path],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--file", help="read this CSV instead of a generated one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.file or os.path.join(folder, "numbers.csv")
        if not args.file:
            make_file(path, args.rows, args.columns)
        results: dict[str, list[dict]] = {r: [] for r in READERS}
        for _ in range(args.repeats):  # in turns, so that a slow phase of the machine hits all
            for reader in READERS:
                results[reader].append(measure(reader, path))
        shape = results["chainrule"][0]["shape"]
        array_mb = shape[0] * shape[1] * 8 / 1e6
        size_mb = os.path.getsize(path) / 1e6
    base = statistics.median(r["seconds"] for r in results["pandas"])
    print(f"{shape[0]:,} x {shape[1]} numeric CSV, {size_mb:.0f} MB; the float64 array is "
          f"{array_mb:.0f} MB; median of {args.repeats} runs, each in a fresh process\n")
    print("| reader | seconds | vs pandas.read_csv | peak memory MB | peak / array |")
    print("|---|---|---|---|---|")
    for reader, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_kb"] for r in runs) / 1e3
        print(f"| {reader} | {seconds:.2f} | {seconds / base:.2f}x | {peak:.0f} | "
              f"{peak / array_mb:.2f}x |")


if __name__ == "__main__":
    main()
