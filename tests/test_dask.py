"""Scale-out: a grid search over chainrule estimators on a Dask cluster equals the local one.

The cluster is two worker processes on the loopback interface (no dashboard), started once for
this module and closed by a fixture finalizer.
"""

from __future__ import annotations

import os
import warnings

import dask
import joblib
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from chainrule.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client(request):
    # the settings the README recommends (see benchmarks/bench_dask.py): no worker profiler,
    # and malloc thresholds that keep NumPy temporaries off mmap
    settings = {
        "distributed.worker.profile.enabled": False,
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 4 * 2**20,
        "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 2**20,
    }
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        )
    client = Client(cluster)

    def close():
        client.close()
        cluster.close()

    request.addfinalizer(close)
    return client


def search(estimator, grid, X, y, n_jobs, dask_client=None):
    """Fit a 3-fold grid search, on the cluster when ``dask_client`` is given; its task stream."""
    gs = GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs)
    if dask_client is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return gs.fit(X, y), []
    with get_task_stream(dask_client) as stream, joblib.parallel_config(backend="dask"):
        gs.fit(X, y)
    return gs, stream.data


def assert_same_search(distributed, local):
    assert distributed.best_params_ == local.best_params_
    assert distributed.best_index_ == local.best_index_
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_allclose(
            distributed.cv_results_[key], local.cv_results_[key], rtol=0, atol=1e-12
        )
    assert distributed.cv_results_["params"] == local.cv_results_["params"]


def assert_ran_on_workers(stream, client):
    workers = set(client.scheduler_info()["workers"])
    used = {task["worker"] for task in stream}
    assert stream, "no task ran on the Dask cluster"
    assert used <= workers
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    pids = set(client.run(os.getpid).values())
    assert os.getpid() not in pids and len(pids) == 2


def test_classifier_grid_search_on_dask_equals_local(client):
    X, y = make_classification(
        n_samples=240, n_features=6, n_informative=4, n_classes=3, class_sep=0.8,
        random_state=0,
    )
    estimator = MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0)
    grid = {
        "hidden_layer_sizes": [(2,), (16,)],
        "alpha": [1e-4, 1.0],
        "learning_rate_init": [1e-3, 1e-2],
    }
    distributed, stream = search(estimator, grid, X, y, n_jobs=-1, dask_client=client)
    local, _ = search(estimator, grid, X, y, n_jobs=1)

    assert_ran_on_workers(stream, client)
    assert_same_search(distributed, local)
    # the comparison means something: the candidates do not all score the same
    assert np.ptp(local.cv_results_["mean_test_score"]) > 0.05
    np.testing.assert_array_equal(distributed.predict(X), local.predict(X))


def test_regressor_grid_search_on_dask_equals_local(client):
    X, y = make_regression(n_samples=150, n_features=4, noise=5.0, random_state=1)
    y = y / y.std()
    estimator = MLPRegressor(max_iter=80, random_state=0, learning_rate_init=0.01)
    grid = {"hidden_layer_sizes": [(3,), (12,)], "activation": ["relu", "tanh"]}
    distributed, stream = search(estimator, grid, X, y, n_jobs=-1, dask_client=client)
    local, _ = search(estimator, grid, X, y, n_jobs=1)

    assert_ran_on_workers(stream, client)
    assert_same_search(distributed, local)
    np.testing.assert_allclose(distributed.predict(X), local.predict(X), rtol=0, atol=1e-12)


def test_fitted_estimator_predicts_the_same_on_a_worker(client):
    X, y = make_classification(n_samples=100, n_features=5, random_state=2)
    model = MLPClassifier(hidden_layer_sizes=(6,), max_iter=50, random_state=0).fit(X, y)
    remote = client.submit(model.predict_proba, X).result()
    np.testing.assert_array_equal(remote, model.predict_proba(X))
