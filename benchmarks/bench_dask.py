"""Grid search on a local Dask cluster: wall time with 2 workers against 1 (and against no Dask).

A 16-candidate ``GridSearchCV`` (4 hidden sizes x 4 alphas, 3-fold: 48 fits) of
``chainrule.sklearn.MLPClassifier`` runs under ``joblib.parallel_config(backend="dask")`` on a
``LocalCluster`` of 2 single-threaded worker processes on 127.0.0.1:

* **1 worker**: every task pinned to one worker (``workers=[address]``,
  ``allow_other_workers=False``). A cluster of only one worker would not do: joblib's Dask backend
  counts the cluster's threads, sees 1, and runs the search sequentially in the client process.
* **2 workers**: tasks go to both.
* **no Dask**: plain ``n_jobs=1`` in this process, BLAS limited to one thread like a worker's.

The three settings are timed in turn, ``--repeats`` rounds, and the medians of the wall times are
printed with the speedups. Cluster start-up and a warm-up search are not timed.

Two Dask defaults slow chainrule's many small NumPy calls in a worker about twofold, so the
cluster here changes them unless ``--dask-defaults`` is given:

* the worker profiler samples the running task's stack every 10 ms while holding the GIL:
  ``distributed.worker.profile.enabled: false``;
* the nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also switches off glibc's
  adaptive mmap threshold: every temporary array of 128 KiB or more is then mmap'd and unmapped,
  and its pages faulted in again (about 50,000 page faults for 4 small fits, against 2,500 in a
  plain process). ``MALLOC_TRIM_THRESHOLD_=4 MiB`` and ``MALLOC_MMAP_THRESHOLD_=1 MiB`` in
  ``distributed.nanny.pre-spawn-environ`` bring it back to the plain process's count.

    python benchmarks/bench_dask.py [--repeats 3] [--samples 3000] [--dask-defaults]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import dask
import joblib
from dask.distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from chainrule.sklearn import MLPClassifier

WORKER_SETTINGS = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 4 * 2**20,
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 2**20,
}
GRID = {"hidden_layer_sizes": [(16,), (32,), (64,), (96,)], "alpha": [1e-4, 1e-3, 1e-2, 1e-1]}


def timed_search(X, y, **dask_options) -> float:
    """Seconds for one grid search: on the cluster with ``dask_options``, or plainly if None."""
    search = GridSearchCV(
        MLPClassifier(max_iter=30, random_state=0, tol=0.0), GRID, cv=3, n_jobs=-1
    )
    with warnings.catch_warnings():  # scikit-learn passes these filters on to the workers
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        if dask_options.pop("local", False):
            with threadpool_limits(1):
                search.set_params(n_jobs=1).fit(X, y)
        else:
            with joblib.parallel_config(backend="dask", **dask_options):
                search.fit(X, y)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument(
        "--dask-defaults", action="store_true",
        help="keep Dask's worker profiler and malloc settings (see the module docstring)",
    )
    args = parser.parse_args()
    X, y = make_classification(
        n_samples=args.samples, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    print(f"GridSearchCV: 16 candidates x 3 folds, {args.samples} samples x 20 features, "
          f"MLPClassifier(max_iter=30); {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; "
          f"{'Dask defaults' if args.dask_defaults else 'worker profiler off, malloc thresholds'}")
    with dask.config.set({} if args.dask_defaults else WORKER_SETTINGS), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        first = sorted(client.scheduler_info()["workers"])[0]
        settings = {
            "no Dask, n_jobs=1": {"local": True},
            "Dask, 1 worker": {"workers": [first], "allow_other_workers": False},
            "Dask, 2 workers": {},
        }
        timed_search(X, y)  # warm-up: the workers import chainrule and scikit-learn
        times: dict[str, list[float]] = {label: [] for label in settings}
        for _ in range(args.repeats):
            for label, options in settings.items():
                times[label].append(timed_search(X, y, **options))
    medians = {label: statistics.median(t) for label, t in times.items()}
    for label, t in times.items():
        print(f"  {label:<18} {medians[label]:7.2f} s   ({', '.join(f'{s:.2f}' for s in t)})")
    two = medians["Dask, 2 workers"]
    print(f"speedup 2 workers vs 1 worker: {medians['Dask, 1 worker'] / two:.2f}x")
    print(f"speedup 2 workers vs no Dask:  {medians['no Dask, n_jobs=1'] / two:.2f}x")


if __name__ == "__main__":
    main()
