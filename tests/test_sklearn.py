"""chainrule.sklearn: drop-in MLPClassifier / MLPRegressor that pass scikit-learn's checks."""

import inspect
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.neural_network._base import binary_log_loss, squared_loss  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import chainrule.sklearn as adapter  # noqa: E402
from chainrule.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    return X, y / y.std()


# -- scikit-learn's own estimator checks, nothing expected to fail --------------------------------
@parametrize_with_checks([
    MLPClassifier(hidden_layer_sizes=(8,), max_iter=100, learning_rate_init=0.01, random_state=0),
    MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.002, tol=1e-3,
                 random_state=0),  # (at 0.01 check_regressor_multioutput diverges, as in sklearn)
    MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0),
])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short max_iter on purpose
        check(estimator)


# -- same constructor as scikit-learn's -----------------------------------------------------------
@pytest.mark.parametrize("ours, theirs", [
    (MLPClassifier, neural_network.MLPClassifier),
    (MLPRegressor, neural_network.MLPRegressor),
])
def test_signature_matches_sklearn(ours, theirs):
    mine = inspect.signature(ours).parameters
    reference = inspect.signature(theirs).parameters
    for name, parameter in reference.items():
        assert name in mine, name
        assert mine[name].default == parameter.default, name
        assert mine[name].kind == parameter.kind, name
    assert list(mine)[: len(reference)] == list(reference)  # positional order too
    extras = set(mine) - set(reference)
    assert extras <= {"loss", "class_weight", "restarts", "dtype"}
    assert all(mine[name].kind == inspect.Parameter.KEYWORD_ONLY for name in extras)
    assert mine["restarts"].default == 1 and mine["dtype"].default is None


@pytest.mark.parametrize("ours, theirs", [
    (MLPClassifier, neural_network.MLPClassifier),
    (MLPRegressor, neural_network.MLPRegressor),
])
def test_same_fitted_attributes_as_sklearn(ours, theirs, iris):
    X, y = iris

    def fitted(est):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}

    assert fitted(ours(max_iter=5, random_state=0)) == fitted(theirs(max_iter=5, random_state=0))


# -- the same updates as scikit-learn's, from the same weights -------------------------------------
def _targets(kind):
    rng = np.random.default_rng(0)
    if kind == "binary":
        return make_classification(n_samples=60, n_features=5, random_state=0)[1], [0, 1]
    if kind == "multiclass":
        return make_classification(n_samples=60, n_features=5, n_informative=3, n_classes=3,
                                   random_state=0)[1], [0, 1, 2]
    if kind == "multilabel":
        return make_multilabel_classification(n_samples=60, n_features=5, n_classes=3,
                                              random_state=0)[1], [0, 1, 2]
    return rng.normal(size=60 if kind == "regression" else (60, 3)), None


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput"])
def test_updates_and_loss_match_sklearn_from_the_same_weights(kind, solver):
    X = make_classification(n_samples=60, n_features=5, random_state=0)[0]
    y, classes = _targets(kind)
    name = "MLPRegressor" if classes is None else "MLPClassifier"
    extra = dict(momentum=0.0, learning_rate_init=0.05) if solver == "sgd" else dict(
        learning_rate_init=0.01)
    kwargs = dict(hidden_layer_sizes=(4,), solver=solver, alpha=0.3, batch_size=60,
                  shuffle=False, random_state=0, **extra)
    first = {} if classes is None else {"classes": classes}
    theirs = getattr(neural_network, name)(**kwargs).partial_fit(X, y, **first)
    ours = getattr(adapter, name)(**kwargs).partial_fit(X, y, **first)
    ours.coefs_ = [W.copy() for W in theirs.coefs_]
    ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
    del theirs._optimizer  # both start a fresh optimizer from the same weights
    ours._optimizer = None
    for _ in range(3):
        theirs.partial_fit(X, y)
        ours.partial_fit(X, y)
    exact = solver == "sgd"  # Adam: PyTorch's epsilon placement differs from sklearn's
    for mine, reference in zip(ours.coefs_ + ours.intercepts_,
                               theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_allclose(mine, reference, atol=1e-12 if exact else 1e-4)
    # loss_ in sklearn's units (multi-output squared error: penalty at end-of-epoch weights)
    tolerance = 1e-12 if exact and kind != "multioutput" else 1e-3
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=tolerance)


# -- meta-estimators, cloning, pickling -----------------------------------------------------------
def test_pipeline_grid_search_cross_val_clone_pickle(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(10,),
                                                         solver="lbfgs", random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    scores = cross_val_score(pipe, X, y, cv=3, n_jobs=2)
    assert scores.shape == (3,) and scores.mean() > 0.9

    est = MLPClassifier(hidden_layer_sizes=(7,), solver="lbfgs", random_state=0).fit(X, y)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "coefs_")
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    assert restored.coefs_[0].shape == (4, 7)


# -- warm_start and partial_fit keep the optimizer state ------------------------------------------
def test_partial_fit_and_warm_start_continue_the_optimizer(regression):
    X, y = regression
    kwargs = dict(hidden_layer_sizes=(6,), shuffle=False, random_state=0)
    with pytest.warns(ConvergenceWarning):
        straight = MLPRegressor(max_iter=3, **kwargs).fit(X, y)

    stepwise = MLPRegressor(**kwargs)
    for _ in range(3):
        stepwise.partial_fit(X, y)
    optimizer = stepwise._optimizer
    warm = MLPRegressor(max_iter=1, warm_start=True, **kwargs)
    for _ in range(3):
        with pytest.warns(ConvergenceWarning):
            warm.fit(X, y)
    for other in (stepwise, warm):
        for W, W_other in zip(straight.coefs_, other.coefs_, strict=True):
            np.testing.assert_allclose(W_other, W, rtol=1e-12, atol=1e-14)
    assert stepwise.t_ == warm.t_ == 3 * len(y) and len(warm.loss_curve_) == 3

    # a fresh optimizer (as a cold fit would make) moves differently: the state did matter
    restarted = MLPRegressor(max_iter=1, warm_start=True, **kwargs)
    for _ in range(3):
        restarted._optimizer = None
        with pytest.warns(ConvergenceWarning):
            restarted.fit(X, y)
    assert not np.allclose(restarted.coefs_[0], straight.coefs_[0])
    stepwise.partial_fit(X, y)
    assert stepwise._optimizer is optimizer


def test_partial_fit_classifier_needs_classes_first(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X[:30], y[:30])
    est.partial_fit(X[:30], y[:30], classes=[0, 1, 2])
    est.partial_fit(X[30:], y[30:])
    assert list(est.classes_) == [0, 1, 2] and est.n_iter_ == 1 and est.t_ == len(y)
    assert est.predict_proba(X).shape == (150, 3)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


# -- stopping -------------------------------------------------------------------------------------
def test_convergence_warning_only_when_max_iter_is_hit(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=4, random_state=0).fit(X, y)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(5,), tol=10.0, random_state=0).fit(X, y)
    assert est.n_iter_ == est.n_iter_no_change + 2  # epoch 1 sets best_loss_ from inf


def test_stopping_rule_is_sklearn_rule(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(10,), tol=1e-3, n_iter_no_change=5, max_iter=500,
                        learning_rate_init=0.01, random_state=0).fit(X, y)
    best, count, stopped_at = np.inf, 0, None
    for i, loss in enumerate(est.loss_curve_):  # sklearn's _update_no_improvement_count
        count = count + 1 if loss > best - est.tol else 0
        best = min(best, loss)
        if count > est.n_iter_no_change:
            stopped_at = i + 1
            break
    assert stopped_at == est.n_iter_ < 500
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.loss_curve_[-1] == est.loss_


def test_adaptive_learning_rate_divides_by_five(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(5,), solver="sgd", learning_rate="adaptive",
                        learning_rate_init=0.1, tol=1.0, max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est._optimizer.learning_rate == pytest.approx(0.1 / 5**2)  # 30 epochs = 2 x 11 + 8


def test_early_stopping_restores_the_best_weights(regression, monkeypatch):
    X, y = regression
    splits, split = [], adapter.train_test_split

    def recording_split(*arrays, **kwargs):
        splits.append(split(*arrays, **kwargs))
        return splits[-1]

    monkeypatch.setattr(adapter, "train_test_split", recording_split)
    est = MLPRegressor(hidden_layer_sizes=(30,), early_stopping=True, validation_fraction=0.3,
                       learning_rate_init=0.05, tol=0.0, n_iter_no_change=5, max_iter=300,
                       random_state=0).fit(X, y)
    _, X_val, _, y_val = splits[0]
    assert len(est.validation_scores_) == est.n_iter_ < 300
    assert est.best_loss_ is None
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.validation_scores_[-1] < est.best_validation_score_  # the last epoch was worse
    assert est.score(X_val, y_val.ravel()) == pytest.approx(est.best_validation_score_, abs=1e-12)
    with pytest.raises(ValueError, match="early_stopping"):
        est.partial_fit(X, y)


# -- sample weights -------------------------------------------------------------------------------
def test_sample_weight_zero_is_removal_and_weights_matter(iris):
    X, y = iris
    keep = np.arange(len(y)) % 3 != 0
    kwargs = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**kwargs).fit(X, y, sample_weight=keep.astype(float))
        removed = MLPClassifier(**kwargs).fit(X[keep], y[keep])
        plain = MLPClassifier(**kwargs).fit(X, y)
        heavy = np.where(y == 2, 20.0, 1.0)
        tilted = MLPClassifier(**kwargs).fit(X, y, sample_weight=heavy)
        balanced = MLPClassifier(class_weight={0: 1, 1: 1, 2: 20}, **kwargs).fit(X, y)
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), atol=1e-6)
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X), atol=1e-3)
    # up-weighting class 2 raises its predicted probability on average
    assert tilted.predict_proba(X)[:, 2].mean() > plain.predict_proba(X)[:, 2].mean()
    np.testing.assert_allclose(balanced.predict_proba(X), tilted.predict_proba(X), atol=1e-9)
    assert np.array_equal(compute_sample_weight({0: 1, 1: 1, 2: 20}, y), heavy)


# -- multi-label, multi-output, and sklearn's loss definition -------------------------------------
def test_multilabel_uses_sigmoid_outputs_and_sklearn_loss():
    X, Y = make_multilabel_classification(n_samples=150, n_features=8, n_classes=4,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    est = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=500, alpha=1.0,
                        random_state=0).fit(X, Y)
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 4
    assert list(est.classes_) == [0, 1, 2, 3]
    proba = est.predict_proba(X)
    assert proba.shape == (150, 4) and (proba > 0).all() and (proba < 1).all()
    assert est.predict(X).shape == (150, 4) and est.score(X, Y) > 0.7
    penalty = 0.5 * est.alpha * sum((W**2).sum() for W in est.coefs_) / len(X)
    assert est.loss_ == pytest.approx(binary_log_loss(Y, proba) + penalty, rel=1e-9)


def test_multioutput_regression_and_sklearn_squared_loss():
    X, Y = make_regression(n_samples=100, n_features=4, n_targets=3, random_state=0)
    Y = Y / Y.std(axis=0)
    est = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=300, alpha=0.01,
                       random_state=0).fit(X, Y)
    prediction = est.predict(X)
    assert est.out_activation_ == "identity" and prediction.shape == (100, 3)
    assert est.score(X, Y) > 0.9
    penalty = 0.5 * est.alpha * sum((W**2).sum() for W in est.coefs_) / len(X)
    assert est.loss_ == pytest.approx(squared_loss(Y, prediction) + penalty, rel=1e-9)
    adam = MLPRegressor(hidden_layer_sizes=(20,), max_iter=400, learning_rate_init=0.01,
                        random_state=0).fit(X, Y)
    assert adam.score(X, Y) > 0.9 and adam.n_outputs_ == 3


def test_binary_is_one_logistic_output(iris):
    X, y = iris
    labels = np.where(y == 0, "setosa", "other")
    est = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0).fit(X, labels)
    assert est.out_activation_ == "logistic" and est.coefs_[-1].shape == (5, 1)
    assert set(est.predict(X)) == {"setosa", "other"} and est.score(X, labels) == 1.0
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba))


# -- the extras -----------------------------------------------------------------------------------
def test_extras_per_layer_activations_dtype_restarts(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(6, 4), activation=["tanh", "elu"], solver="lbfgs",
                        dtype="float32", restarts=3, random_state=0).fit(X, y)
    assert all(W.dtype == np.float32 for W in est.coefs_) and est.n_layers_ == 4
    assert est.score(X, y) > 0.9
    with pytest.raises(ValueError, match="one per hidden layer"):
        MLPClassifier(hidden_layer_sizes=(6, 4), activation=["tanh"]).fit(X, y)
    est = MLPClassifier(hidden_layer_sizes=(6,), restarts=4, early_stopping=True, max_iter=50,
                        learning_rate_init=0.05, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.8


def test_import_chainrule_without_sklearn():
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None\n"
        "import chainrule\n"
        "net = chainrule.Network([2, 3, 1], seed=0)\n"
        "net.fit([[0, 0], [1, 1]], [0, 1], epochs=2)\n"
        "try:\n"
        "    import chainrule.sklearn\n"
        "except ImportError as error:\n"
        "    print('refused:', error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "pip install" in result.stdout
