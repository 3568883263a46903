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
    load_digits,
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.neural_network._base import (  # noqa: E402
    binary_log_loss,
    poisson_loss,
    squared_loss,
)
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
    MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), learning_rate_init=0.01, random_state=0),
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


# -- the same updates as scikit-learn's, from the same weights ------------------------------------
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


# -- scikit-learn's start, so the same path from the same random_state ----------------------------
def _task(kind):
    """``(estimator name, y)`` of a small problem of each kind."""
    if kind == "poisson":
        X = make_classification(n_samples=60, n_features=5, random_state=0)[0]
        return "MLPRegressor", np.random.default_rng(0).poisson(np.exp(0.3 * X[:, 0] + 0.5))
    y, classes = _targets(kind)
    return ("MLPRegressor" if classes is None else "MLPClassifier"), y


@pytest.mark.parametrize("early_stopping", [False, True], ids=["", "early_stopping"])
@pytest.mark.parametrize("activation", ["relu", "logistic"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "poisson"])
def test_same_start_split_and_sgd_path_as_sklearn_from_the_same_random_state(
        kind, activation, early_stopping):
    """Weights and biases are drawn as scikit-learn draws them, and the validation split is
    its split: full-batch SGD (momentum 0.9) then follows scikit-learn's path to rounding."""
    X = make_classification(n_samples=60, n_features=5, random_state=0)[0]
    name, y = _task(kind)
    kwargs = dict(hidden_layer_sizes=(4, 3), activation=activation, solver="sgd",
                  learning_rate_init=0.05, batch_size=60, shuffle=False, max_iter=6,
                  early_stopping=early_stopping, validation_fraction=0.2, random_state=3)
    if kind == "poisson":
        kwargs["loss"] = "poisson"
    fitted = []
    for module in (neural_network, adapter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted.append(getattr(module, name)(**kwargs).fit(X, y))
    theirs, ours = fitted
    assert np.abs(theirs.intercepts_[0]).min() > 0  # biases are drawn, not zero
    assert ours.n_iter_ == theirs.n_iter_ and ours.out_activation_ == theirs.out_activation_
    for mine, reference in zip(ours.coefs_ + ours.intercepts_,
                               theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    if early_stopping:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=1e-9)


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("schedule", ["adaptive", "invscaling"])
def test_sgd_schedules_follow_sklearns_path_with_momentum(schedule, nesterov, iris):
    """When the learning rate changes, scikit-learn's velocity (a step) carries over: chainrule's
    momentum buffer (a gradient, as PyTorch's) is rescaled to take the same steps."""
    X, y = iris
    kwargs = dict(hidden_layer_sizes=5, solver="sgd", learning_rate=schedule,
                  learning_rate_init=0.05, nesterovs_momentum=nesterov, tol=0.5,
                  n_iter_no_change=2, max_iter=15, shuffle=False, batch_size=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = neural_network.MLPClassifier(**kwargs).fit(X, y)
        ours = MLPClassifier(**kwargs).fit(X, y)
    assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    for mine, reference in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-13)


# -- divergence -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, extra, scale", [
    ("MLPRegressor", dict(activation="identity", learning_rate_init=1.0), 100.0),
    ("MLPClassifier", dict(activation="identity", learning_rate_init=1e4), 1e150),
])
def test_divergence_with_early_stopping_is_recorded_as_sklearn_records_it(name, extra, scale):
    """After the loss becomes NaN, scikit-learn's epochs score NaN outputs (NaN for R^2, some
    accuracy for labels) until its rules stop or max_iter warns; the best weights come back."""
    X, y = load_iris(return_X_y=True)
    kwargs = dict(hidden_layer_sizes=50, solver="sgd", max_iter=20, early_stopping=True,
                  shuffle=False, random_state=0, **extra)
    fitted, caught = [], []
    for module in (neural_network, adapter):
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            fitted.append(getattr(module, name)(**kwargs).fit(X * scale, y))
        caught.append({r.category for r in records} & {ConvergenceWarning})
    theirs, ours = fitted
    assert not np.isfinite(theirs.loss_curve_).all()  # it did diverge
    assert ours.n_iter_ == theirs.n_iter_ and caught[0] == caught[1]
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-9)
    assert all(isinstance(v, float) for v in ours.validation_scores_)
    assert np.isnan(ours.loss_curve_[-1]) and np.isnan(ours.loss_)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)


@pytest.mark.parametrize("solver, method, scale", [
    ("sgd", "fit", 100.0),
    ("adam", "fit", 1e306),
    ("adam", "partial_fit", 1e306),
    ("lbfgs", "fit", 1e306),
])
def test_divergence_raises_sklearns_value_error_when_sklearn_does(solver, method, scale):
    """The loss becoming NaN or inf in training is a ValueError, never weights that look fitted.
    L-BFGS stops at an infinite first loss with its start: no error there, in either library."""
    X, y = load_iris(return_X_y=True)
    kwargs = dict(hidden_layer_sizes=8, solver=solver, activation="identity",
                  learning_rate_init=1.0 if solver == "sgd" else 0.001, random_state=0)
    raised = []
    for module in (neural_network, adapter):
        est = module.MLPRegressor(**kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow; chainrule notes that training diverged
            try:
                getattr(est, method)(X * scale, y)
                raised.append(None)
            except ValueError as error:
                raised.append(str(error))
    assert raised[1] == raised[0]
    assert (raised[0] is None) == (solver == "lbfgs")
    if raised[0]:
        assert raised[0].startswith("Solver produced non-finite parameter weights.")


# -- float32 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_float32_input_keeps_float32_weights_and_outputs_as_sklearn(name):
    X, y = load_digits(n_class=3, return_X_y=True)
    X = X / 16.0
    outputs = "predict_proba" if name == "MLPClassifier" else "predict"
    kwargs = dict(hidden_layer_sizes=(6,), max_iter=5, shuffle=False, random_state=0)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for dtype in (np.float32, np.float64):
            ours = getattr(adapter, name)(**kwargs).fit(X.astype(dtype), y)
            theirs = getattr(neural_network, name)(**kwargs).fit(X.astype(dtype), y)
            assert {p.dtype for p in ours.coefs_ + ours.intercepts_} == {np.dtype(dtype)}
            for X_in in (X.astype(np.float32), X, X.astype(int)):  # the dtype NumPy gives too
                assert getattr(ours, outputs)(X_in).dtype == getattr(theirs, outputs)(X_in).dtype
            results[dtype] = getattr(ours, outputs)(X)
        forced = getattr(adapter, name)(dtype="float64", **kwargs).fit(X.astype(np.float32), y)
    assert forced.coefs_[0].dtype == np.float64
    # the same start and path, in float32 rounding
    np.testing.assert_allclose(results[np.float32], results[np.float64], rtol=1e-3, atol=1e-4)


# -- labels, methods ------------------------------------------------------------------------------
def test_stratification_error_names_the_labels_of_y():
    X, y = [[1, 2], [2, 3], [3, 4], [4, 5]], ["ham", "ham", "ham", "spam"]
    with pytest.raises(ValueError, match=r"too few members are: \['True'\].*'True' is 'spam'"):
        MLPClassifier(early_stopping=True).fit(X, y)


@pytest.mark.parametrize("ours, theirs", [
    (MLPClassifier, neural_network.MLPClassifier),
    (MLPRegressor, neural_network.MLPRegressor),
])
def test_the_same_public_methods_as_sklearn(ours, theirs):
    """No extra method: meta-estimators choose by what exists (CalibratedClassifierCV would
    calibrate a decision_function that scikit-learn's MLPClassifier does not have)."""
    def public(cls):
        est = cls()
        return {n for n in dir(est) if not n.startswith("_") and callable(getattr(est, n))}

    assert public(ours) == public(theirs)
    assert not hasattr(MLPClassifier(), "decision_function")


# -- fitted by hand -------------------------------------------------------------------------------
def test_partial_fit_works_from_public_attributes_set_by_hand(iris):
    """As scikit-learn's: the network is rebuilt from coefs_, intercepts_, out_activation_, ...
    for an estimator never fitted, and for one whose arrays were replaced by new shapes."""
    X, y = iris
    kwargs = dict(hidden_layer_sizes=(3,), solver="sgd", momentum=0.0, learning_rate_init=0.1,
                  random_state=0)
    theirs = neural_network.MLPClassifier(**kwargs).partial_fit(X, y, classes=[0, 1, 2])
    public = {name: getattr(theirs, name) for name in (
        "n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_", "t_",
        "loss_curve_", "best_loss_", "_no_improvement_count")}
    by_hand = MLPClassifier(**kwargs)
    for name, value in public.items():
        setattr(by_hand, name, value.copy() if isinstance(value, list) else value)
    by_hand.coefs_ = [W.copy() for W in theirs.coefs_]
    by_hand.intercepts_ = [b.copy() for b in theirs.intercepts_]
    reshaped = MLPClassifier(**{**kwargs, "hidden_layer_sizes": (7,)}).partial_fit(
        X, y, classes=[0, 1, 2])
    reshaped.coefs_ = [W.copy() for W in theirs.coefs_]
    reshaped.intercepts_ = [b.copy() for b in theirs.intercepts_]
    del theirs._optimizer  # a fresh optimizer for every estimator, from the same weights
    theirs.partial_fit(X, y)
    for ours in (by_hand, reshaped):
        ours.partial_fit(X, y, classes=[0, 1, 2])
        for mine, reference in zip(ours.coefs_ + ours.intercepts_,
                                   theirs.coefs_ + theirs.intercepts_, strict=True):
            np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9)
    reshaped.intercepts_ = reshaped.intercepts_[:1] + [np.zeros(5)]
    with pytest.raises(ValueError, match="intercepts_ must have shapes"):
        reshaped.partial_fit(X, y)


# -- Poisson --------------------------------------------------------------------------------------
def test_poisson_regressor_has_exp_outputs_and_sklearns_loss():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    rate = np.exp(0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.3)
    y = rng.poisson(rate)
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.01,
                       max_iter=500, random_state=0).fit(X, y)
    prediction = est.predict(X)
    assert est.out_activation_ == "exp" and (prediction > 0).all()
    penalty = 0.5 * est.alpha * sum((W**2).sum() for W in est.coefs_) / len(X)
    assert est.loss_ == pytest.approx(poisson_loss(y[:, None], prediction[:, None]) + penalty,
                                      rel=1e-9)
    # it learned the rates: far closer to them than the best constant
    assert np.mean((prediction - rate) ** 2) < 0.1 * np.mean((y.mean() - rate) ** 2)
    with pytest.raises(ValueError, match=r"requires y >= 0"):
        MLPRegressor(loss="poisson").fit(X, y - 1.0)
    Y = np.column_stack([y, rng.poisson(np.exp(-0.7 * X[:, 2]))])  # two count columns
    two = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.01,
                       max_iter=500, random_state=0).fit(X, Y)
    penalty = 0.5 * two.alpha * sum((W**2).sum() for W in two.coefs_) / len(X)
    assert two.predict(X).shape == (300, 2) and (two.predict(X) > 0).all()
    assert two.loss_ == pytest.approx(poisson_loss(Y, two.predict(X)) + penalty, rel=1e-9)


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
