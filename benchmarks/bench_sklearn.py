"""chainrule.sklearn beside sklearn.neural_network: same arguments, same folds, one process.

For each of scikit-learn's bundled datasets, ``make_pipeline(StandardScaler(), MLP...(**args))``
is cross-validated on the same 5 folds (``StratifiedKFold``/``KFold``, ``shuffle=True``,
``random_state=0``) with scikit-learn's MLP and with chainrule's drop-in. Prints the mean test
score (accuracy, R^2), the total fit time over the folds (fastest of ``--repeats``), the time
ratio sklearn / chainrule (above 1: chainrule is faster) and the geometric mean of the ratios.
BLAS runs on ``--threads`` threads (default 1) for both: on a small shared machine a
multi-threaded BLAS oversubscribes the cores and the timings become noise.

    python benchmarks/bench_sklearn.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn import neural_network
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import chainrule.sklearn

# name: (loader, task, MLP arguments shared by both libraries)
DATASETS = {
    "breast_cancer": (load_breast_cancer, "classification", {}),
    "wine": (load_wine, "classification", {}),
    "digits": (load_digits, "classification", {}),
    "diabetes": (load_diabetes, "regression", {"max_iter": 1000}),
}
LIBRARIES = {"sklearn": neural_network, "chainrule": chainrule.sklearn}


def cross_validate(X, y, task: str, args: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Per library: mean test score over the 5 folds, and the fastest total fit time.

    The libraries take turns fold by fold, so a burst of load from other processes hits both.
    """
    splitter = (StratifiedKFold if task == "classification" else KFold)(
        n_splits=5, shuffle=True, random_state=0)
    folds = list(splitter.split(X, y))
    scores = {library: [] for library in LIBRARIES}
    totals = {library: np.zeros(repeats) for library in LIBRARIES}
    for repeat in range(repeats):
        for train, test in folds:
            for library, module in LIBRARIES.items():
                estimator = module.MLPClassifier if task == "classification" else (
                    module.MLPRegressor)
                model = make_pipeline(StandardScaler(), estimator(random_state=0, **args))
                start = time.perf_counter()
                model.fit(X[train], y[train])
                totals[library][repeat] += time.perf_counter() - start
                if repeat == 0:
                    scores[library].append(model.score(X[test], y[test]))
    return {lib: (float(np.mean(scores[lib])), float(totals[lib].min())) for lib in LIBRARIES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timing runs; the fastest is shown")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both")
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    options = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(limits=options.threads, user_api="blas"):
        run(options)


def run(options: argparse.Namespace) -> None:
    print(f"{'dataset':<14}{'args':<18}{'library':<11}{'score':>8}{'fit s':>9}{'ratio':>8}")
    ratios, verdicts, totals = [], [], np.zeros(2)
    for name in options.datasets:
        loader, task, args = DATASETS[name]
        X, y = loader(return_X_y=True)
        results = cross_validate(X, y, task, args, options.repeats)
        (sk_score, sk_time), (cr_score, cr_time) = results["sklearn"], results["chainrule"]
        ratio = sk_time / cr_time
        totals += sk_time, cr_time
        ratios.append(ratio)
        verdicts.append(cr_score >= sk_score - 0.01)
        label = ",".join(f"{k}={v}" for k, v in args.items()) or "defaults"
        print(f"{name:<14}{label:<18}{'sklearn':<11}{sk_score:>8.4f}{sk_time:>9.3f}")
        print(f"{'':<14}{'':<18}{'chainrule':<11}{cr_score:>8.4f}{cr_time:>9.3f}{ratio:>7.2f}x")
    geometric = float(np.exp(np.mean(np.log(ratios))))
    print(f"\ngeometric mean time ratio (sklearn / chainrule): {geometric:.2f}x; all fits: "
          f"{totals[0]:.2f} s / {totals[1]:.2f} s = {totals[0] / totals[1]:.2f}x")
    print(f"score within 0.01 of sklearn or better on {sum(verdicts)}/{len(verdicts)} datasets")
    print(f"goal: at least 4x scikit-learn (geometric mean): "
          f"{'met' if geometric >= 4 else 'MISSED'} ({geometric:.2f}x)")


if __name__ == "__main__":
    main()
