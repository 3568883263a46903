"""scikit-learn estimators on :class:`chainrule.Network`: a drop-in for ``sklearn.neural_network``.

>>> from chainrule.sklearn import MLPClassifier      # instead of sklearn.neural_network

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's constructor parameters with the same
defaults and set the same fitted attributes (``coefs_``, ``intercepts_``, ``loss_``,
``loss_curve_``, ``best_loss_``, ``validation_scores_``, ``best_validation_score_``, ``t_``,
``n_iter_``, ``n_layers_``, ``n_outputs_``, ``classes_``, ``out_activation_``, ...). They are thin
adapters: all forward and backward computation is :class:`~chainrule.Network`'s, all updates are a
chainrule :class:`~chainrule.Optimizer`'s. This module only translates the conventions:

* **Losses.** scikit-learn minimises ``L_sk = v * L_cr`` plus ``0.5 alpha ||W||^2 / sum(w)`` per
  batch, where ``L_cr`` is chainrule's loss (``mse``, ``bce``, ``cross_entropy``, means over samples
  and outputs) and ``v`` is ``1/2`` for ``squared_error`` (half the mean square), ``n_outputs`` for
  sigmoid outputs (scikit-learn sums the binary log-loss over outputs) and ``1`` for softmax.
  Its gradient is ``s * grad L_cr`` with ``s = v`` except ``s = n_outputs / 2`` for multi-output
  squared error (scikit-learn's gradient sums over outputs while its loss value averages them).
  So the adapter trains chainrule's loss with ``weight_decay = alpha / (s * batch_size * mean
  sample weight)``, SGD with ``learning_rate = s * learning_rate_init`` and Adam with
  ``epsilon = epsilon / s``: from the same weights, SGD makes scikit-learn's updates to rounding
  error; Adam differs slightly because chainrule (like PyTorch) adds ``epsilon`` after the bias
  correction. ``loss_`` and ``loss_curve_`` are in scikit-learn's units. Approximations: the
  decay of a shorter last batch (or of batches whose weights average differently) uses the
  nominal batch, and for multi-output squared error the part of the penalty that ``v`` does not
  cover is taken at the end-of-epoch weights.
* **Solvers.** ``adam`` and ``sgd`` run one :meth:`chainrule.Network.fit` call with a callback that
  applies scikit-learn's stopping rule (``tol``, ``n_iter_no_change``), learning-rate schedules and
  early stopping (best weights restored). ``lbfgs`` runs ``scipy.optimize.minimize(L-BFGS-B)`` on
  the flattened parameters with :meth:`chainrule.Network.gradients` (needs SciPy). ``verbose``
  writes scikit-learn's progress lines to stdout from the callback (not for ``lbfgs``).
* **warm_start and partial_fit keep the optimizer** (Adam's moments, SGD's velocity, a learning
  rate lowered by ``adaptive``) between calls, unlike scikit-learn, which starts a fresh
  optimizer on every ``fit``. ``partial_fit`` exists for ``sgd`` and ``adam`` only (scikit-learn's
  regressor also offers it for ``lbfgs``).
* Predictions never warn: :meth:`chainrule.Network.predict`'s out-of-range warning is skipped.
* Weights start like scikit-learn's (Glorot uniform) but biases start at zero; random streams
  differ, so results match scikit-learn's in distribution, not bit for bit.
* Extras, whose defaults keep scikit-learn's behaviour: ``activation`` may also be any chainrule
  activation name or a list with one per hidden layer; ``loss``; ``class_weight``; ``restarts``
  (copies trained together, best kept); ``dtype``.

Sparse inputs are accepted and converted to dense arrays.
"""

from __future__ import annotations

import sys
import warnings
from numbers import Integral, Real

import numpy as np

try:
    from sklearn.base import (
        BaseEstimator,
        ClassifierMixin,
        RegressorMixin,
        _fit_context,
        is_classifier,
    )
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, column_or_1d
    from sklearn.utils._param_validation import Interval, Options, StrOptions
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import (
        _check_partial_fit_first_call,
        check_classification_targets,
        type_of_target,
        unique_labels,
    )
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "chainrule.sklearn needs scikit-learn: pip install 'chainrule[sklearn]'"
    ) from error

from .activations import ACTIVATIONS, ALIASES
from .callbacks import Callback
from .initializers import glorot_uniform
from .layers import Dense
from .network import Network, forward
from .optimizers import SGD, Adam, Optimizer

__all__ = ["MLPClassifier", "MLPRegressor"]

Array = np.ndarray

HIDDEN_ACTIVATIONS = (set(ACTIVATIONS) | set(ALIASES)) - {"softmax"}
SKLEARN_NAMES = {"sigmoid": "logistic"}  # chainrule activation name -> scikit-learn's


def _glorot_logistic(rng, n_in, n_out, shape):
    """scikit-learn's start for logistic nets: ``U(-r, r)``, ``r = sqrt(2 / (n_in + n_out))``."""
    return glorot_uniform(rng, n_in, n_out, shape) / np.sqrt(3.0)


class _SklearnSchedule(Callback):
    """scikit-learn's end-of-epoch bookkeeping, run inside :meth:`Network.fit`.

    Records ``loss_curve_`` in scikit-learn's units, counts epochs without improvement (of the
    training loss, or of the validation score with early stopping), applies the learning-rate
    schedule, stops training, and with early stopping restores the best weights at the end.
    """

    def __init__(self, est, opt: Optimizer, n_train: int, setup: dict, validation, incremental):
        self.est, self.opt, self.n_train = est, opt, n_train
        self.setup, self.validation, self.incremental = setup, validation, incremental

    def on_epoch_end(self, training, epoch: int, logs: dict[str, float]) -> None:
        est, setup = self.est, self.setup
        est.loss_ = setup["v"] * logs["loss"]
        if setup["penalty"]:  # the part of the penalty v * weight_decay does not account for
            est.loss_ += setup["penalty"] * sum(  # of the copy whose loss logs["loss"] is
                float((W * W).sum()) for W, _ in training.copy_of(training.logged_copy))
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            sys.stdout.write(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}\n")
        if self.validation is not None:
            self._validation_step(training)
        else:
            if est.loss_curve_[-1] > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            self.opt.learning_rate = setup["s"] * est.learning_rate_init / (
                (est.t_ + 1) ** est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            if est.solver == "sgd" and est.learning_rate == "adaptive" and (
                    self.opt.learning_rate / setup["s"] > 1e-6):
                self.opt.learning_rate /= 5.0
                est._no_improvement_count = 0
            else:
                training.stop_reason = "converged"
                return
        if not self.incremental and est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )

    def _validation_step(self, training) -> None:
        est = self.est
        X_val, y_val, w_val = self.validation
        outputs = forward(training.layers, X_val).reshape(
            training.n_copies, X_val.shape[0], -1)
        scores = [est._score_outputs(A, y_val, w_val) for A in outputs]
        best_copy = int(np.nanargmax(scores)) if np.isfinite(scores).any() else 0
        score = scores[best_copy]
        est.validation_scores_.append(score)
        if est.verbose:
            sys.stdout.write(f"Validation score: {score:f}\n")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_parameters = [
                p.copy() for pair in training.copy_of(best_copy) for p in pair]

    def on_train_end(self, training) -> None:
        if self.validation is not None:  # every copy gets the best weights, so fit keeps them
            stacked = [p for layer in training.layers for p in (layer.weights, layer.bias)]
            for p, best in zip(stacked, self.est._best_parameters, strict=True):
                p[...] = best


def _store_parameters(est, parameters: dict) -> None:
    """``__init__`` only stores its arguments, under their own names (scikit-learn's rule)."""
    for name, value in parameters.items():
        if name != "self":
            setattr(est, name, value)


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, fitting, the network."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(HIDDEN_ACTIVATIONS), list, tuple],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "restarts": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float64", "float32"})],
    }

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden = self._hidden_sizes()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y, y_labels = self._validate_input(X, y, incremental, reset=first_pass)
        X = X.toarray() if hasattr(X, "toarray") else X
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        sample_weight = self._class_weights(y_labels, sample_weight)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        rng = self._random_state()
        if first_pass:
            self._initialize(Y, [X.shape[1], *hidden, Y.shape[1]], rng)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted with {self.n_outputs_}; "
                "refit with warm_start=False"
            )
        net = self._synced_network()
        if self.solver == "lbfgs":
            self._fit_lbfgs(net, X, Y, sample_weight)
        else:
            self._fit_stochastic(net, X, Y, sample_weight, rng, incremental)
        for layer in net.layers:  # drop the cached batch activations: smaller pickles
            layer.X = layer.Z = layer.A = None
        if not all(np.isfinite(p).all() for p in net.parameters()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed."
            )
        return self

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(int(s) != s or s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _random_state(self) -> np.random.RandomState:
        if self.random_state is None:  # fresh entropy, leaving NumPy's global state alone
            return np.random.RandomState(np.random.default_rng().integers(2**31 - 1))
        return check_random_state(self.random_state)

    def _hidden_activations(self, n_hidden: int) -> list[str]:
        activation = self.activation
        names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        if len(names) != n_hidden or not all(
                isinstance(a, str) and a.lower() in HIDDEN_ACTIVATIONS for a in names):
            raise ValueError(
                f"activation must be one of {sorted(HIDDEN_ACTIVATIONS)} or a list of them, one "
                f"per hidden layer ({n_hidden}), got {activation!r}"
            )
        return names

    def _initialize(self, Y: Array, layer_units: list[int], rng) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        output, loss = self._output_and_loss()
        self.out_activation_ = SKLEARN_NAMES.get(output, output)
        hidden = self._hidden_activations(len(layer_units) - 2)
        named = [self.activation] if isinstance(self.activation, str) else hidden
        logistic = all(ALIASES.get(a.lower(), a.lower()) == "sigmoid" for a in named)
        self._network = Network(
            layer_units, activation=hidden, output_activation=output, loss=loss,
            init=_glorot_logistic if logistic else "glorot_uniform",
            seed=int(rng.randint(2**31 - 1)), dtype=self.dtype,
        )
        self.coefs_ = [layer.weights for layer in self._network.layers]
        self.intercepts_ = [layer.bias for layer in self._network.layers]
        self._optimizer = None
        self._best_parameters = [p.copy() for p in self._network.parameters()]
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _synced_network(self) -> Network:
        """The network, holding the weights of ``coefs_`` and ``intercepts_`` (if replaced)."""
        net = self._network
        for layer, W, b in zip(net.layers, self.coefs_, self.intercepts_, strict=True):
            for name, value in (("weights", W), ("bias", b)):
                current = getattr(layer, name)
                if not current.flags.writeable:  # e.g. loaded from a read-only memory map
                    setattr(layer, name, np.array(value, dtype=net.dtype))
                elif current is not value:
                    current[...] = value
        self.coefs_ = [layer.weights for layer in net.layers]
        self.intercepts_ = [layer.bias for layer in net.layers]
        return net

    def _scales(self) -> tuple[float, float]:
        """``(v, s)``: scikit-learn's loss is ``v`` times chainrule's, its gradient ``s`` times."""
        _, loss = self._output_and_loss()
        if loss == "mse":
            return 0.5, self.n_outputs_ / 2.0
        if loss == "bce":
            return float(self.n_outputs_), float(self.n_outputs_)
        return 1.0, 1.0

    def _fit_stochastic(self, net, X, Y, sample_weight, rng, incremental) -> None:
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        validation = None
        if self.early_stopping:
            X, Y, sample_weight, validation = self._split_validation(X, Y, sample_weight, rng)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to "
                    "be clipped", stacklevel=3)
            batch = int(np.clip(self.batch_size, 1, n))
        v, s = self._scales()
        mean_weight = 1.0 if sample_weight is None else float(np.mean(sample_weight))
        batches = -(-n // batch)
        setup = {
            "v": v, "s": s,
            "weight_decay": self.alpha / (s * batch * mean_weight),
            # scikit-learn adds 0.5 alpha ||W||^2 / (batch weight) per batch; v * weight_decay
            # covers v / s of it (all of it unless squared error has several outputs)
            "penalty": (1 - v / s) * 0.5 * self.alpha * batches / (n * mean_weight),
        }
        opt = self._stochastic_optimizer(incremental, s)
        self.n_iter_ = 0
        schedule = _SklearnSchedule(self, opt, n, setup, validation, incremental)
        net.fit(
            X, Y, epochs=1 if incremental else self.max_iter, batch_size=batch, optimizer=opt,
            shuffle=self.shuffle, callbacks=[schedule], restarts=self.restarts,
            weight_decay=setup["weight_decay"], sample_weight=sample_weight,
        )

    def _stochastic_optimizer(self, incremental: bool, s: float) -> Optimizer:
        """The optimizer: kept from the last call by ``partial_fit`` and ``warm_start``."""
        keep = incremental or self.warm_start
        if keep and self._optimizer is not None and self._optimizer_for == (
                self.solver, self.restarts):
            if self._optimizer.state is not None:  # writable again after a read-only load
                self._optimizer.state = [
                    {k: v if v.flags.writeable else np.array(v) for k, v in state.items()}
                    for state in self._optimizer.state
                ]
            return self._optimizer
        if self.solver == "sgd":
            self._optimizer = SGD(
                self.learning_rate_init * s, momentum=self.momentum,
                nesterov=self.nesterovs_momentum and self.momentum > 0)
        else:
            self._optimizer = Adam(
                self.learning_rate_init, beta_1=self.beta_1, beta_2=self.beta_2,
                epsilon=self.epsilon / s)
        self._optimizer_for = (self.solver, self.restarts)
        return self._optimizer

    def _split_validation(self, X, Y, sample_weight, rng):
        """scikit-learn's hold-out split: stratified for single-output classification."""
        stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
        parts = train_test_split(
            *arrays, random_state=rng, test_size=self.validation_fraction, stratify=stratify)
        X_train, X_val, Y_train, Y_val = parts[:4]
        w_train, w_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        X_val = self._network.check_inputs(X_val)
        return X_train, Y_train, w_train, (X_val, self._targets_for_score(Y_val), w_val)

    def _fit_lbfgs(self, net, X, Y, sample_weight) -> None:
        try:
            import scipy.optimize
        except ImportError as error:  # pragma: no cover
            raise ImportError("solver='lbfgs' needs SciPy: pip install 'chainrule[scipy]'") from (
                error)
        from sklearn.utils.optimize import _check_optimize_result

        X, Y_net, c = net.check_data(X, Y, sample_weight)
        v, s = self._scales()
        weight_total = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        flat = net.flat_parameters()[0]  # W1, b1, W2, b2, ...: the layers' arrays are views
        params = net.parameters()
        out = net.layers[-1]

        def unpack(x: Array) -> None:
            flat[...] = x

        def penalty() -> float:
            return 0.5 * self.alpha * sum(float((W * W).sum()) for W in params[::2]) / (
                weight_total)

        def loss_and_gradient(x: Array) -> tuple[float, Array]:
            unpack(x)
            grads = net.gradients(X, Y_net, sample_weight)
            flat = [s * g for pair in grads for g in pair]
            for g, W in zip(flat[::2], params[::2], strict=True):
                g += (self.alpha / weight_total) * W
            value = s * float(net.loss_function.value(out.Z, out.A, Y_net, c)) + penalty()
            return value, np.concatenate([g.ravel() for g in flat]).astype(np.float64)

        best = None
        for restart in range(self.restarts):
            if restart:
                net.initialize(net.layers)
            result = scipy.optimize.minimize(
                loss_and_gradient,
                flat.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
            )
            if best is None or result.fun < best.fun:
                best = result
        n_iter = _check_optimize_result("lbfgs", best, self.max_iter)
        unpack(best.x)
        self.n_iter_ = n_iter
        self.loss_ = v * net.loss(X, Y_net, sample_weight) + penalty()

    # -- prediction ------------------------------------------------------------------------
    def _outputs(self, X, logits: bool = False) -> Array:
        """Network outputs for ``X``, shape ``(n, n_outputs_)``; with ``logits``, the output
        layer's net input ``Z`` instead."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        X = X.toarray() if hasattr(X, "toarray") else X
        net = self._network
        layers = [  # fresh layers on coefs_ and intercepts_: predicting changes nothing
            Dense(W, b, layer.activation)
            for W, b, layer in zip(self.coefs_, self.intercepts_, net.layers, strict=True)
        ]
        with np.errstate(over="ignore"):  # a saturated logistic unit's exp(-z) may overflow
            A = forward(layers, net.check_inputs(X))
        return layers[-1].Z if logits else A

    def _score_outputs(self, A: Array, y, sample_weight) -> float:
        """The validation score (accuracy or R^2) of network outputs ``A``, NaN if not finite."""
        if not np.isfinite(A).all():
            return np.nan
        return float(self._score_function(y, self._from_outputs(A), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _stochastic(est) -> bool:
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is not "
            "stochastic."
        )
    return True


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on a chainrule Network.

    Binary targets get one sigmoid output and ``bce`` (scikit-learn's ``logistic``
    ``out_activation_``), several classes a softmax output and ``cross_entropy``, a 2-D binary
    indicator ``y`` (multi-label) one sigmoid per label and ``bce``. See the module docstring for
    how scikit-learn's parameters map onto chainrule's; the extras are

    Parameters
    ----------
    loss : {"log_loss", "squared_error"}
        ``log_loss`` (scikit-learn's) or the half mean square error of the output probabilities.
    class_weight : dict, list of dict, "balanced" or None
        Multiplies the sample weights, as
        :func:`sklearn.utils.class_weight.compute_sample_weight` computes them.
    restarts : int
        Independently initialised networks trained together; the best one is kept.
    dtype : {"float64", "float32"}
        Floating-point type of the network's weights and computations.
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"log_loss", "squared_error"})],
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        loss="log_loss",
        class_weight=None,
        restarts=1,
        dtype="float64",
    ):
        _store_parameters(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and class labels ``y`` (or a 2-D label indicator matrix)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=(np.float64, np.float32), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(np.float64), y

    def _class_weights(self, y, sample_weight):
        if self.class_weight is None:
            return sample_weight
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * sample_weight

    def _output_and_loss(self) -> tuple[str, str]:
        output = "softmax" if self._label_binarizer.y_type_ == "multiclass" else "sigmoid"
        if self.loss == "squared_error":
            return output, "mse"
        return output, "cross_entropy" if output == "softmax" else "bce"

    def _targets_for_score(self, Y: Array) -> Array:
        return self._label_binarizer.inverse_transform(Y)

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def _from_outputs(self, A: Array) -> Array:
        return self._label_binarizer.inverse_transform(A.ravel() if A.shape[1] == 1 else A)

    def predict(self, X):
        """Class labels (or the label indicator matrix) for the rows of ``X``."""
        return self._from_outputs(self._outputs(X))

    def decision_function(self, X):
        """Confidence scores: the logits ``Z`` of the output layer, before sigmoid or softmax.

        Shape ``(n,)`` for two classes (positive means the second class), else
        ``(n, n_classes)`` (or ``(n, n_labels)``); ``predict`` picks the largest or the positive.
        """
        Z = self._outputs(X, logits=True)
        return Z.ravel() if Z.shape[1] == 1 else Z

    def predict_proba(self, X):
        """Class probabilities: ``(n, n_classes)``; ``(n, n_labels)`` for multi-label ``y``."""
        A = self._outputs(X)
        if A.shape[1] == 1:
            return np.hstack([1 - A, A])
        return A

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on a chainrule Network.

    Identity outputs (one per target column) and squared error. See the module docstring for how
    scikit-learn's parameters map onto chainrule's; the extras are

    Parameters
    ----------
    loss : {"squared_error"}
        scikit-learn's ``poisson`` needs an exponential output, which chainrule does not have.
    restarts : int
        Independently initialised networks trained together; the best one is kept.
    dtype : {"float64", "float32"}
        Floating-point type of the network's weights and computations.
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        restarts=1,
        dtype="float64",
    ):
        _store_parameters(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and targets ``y`` of shape ``(n,)`` or ``(n, n_outputs)``."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        if self.loss == "poisson":
            raise ValueError(
                "loss='poisson' needs an exponential output activation, which chainrule does "
                "not provide yet; use loss='squared_error' (or sklearn.neural_network)"
            )
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
            dtype=(np.float64, np.float32), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, y

    @staticmethod
    def _class_weights(y, sample_weight):
        return sample_weight

    @staticmethod
    def _output_and_loss() -> tuple[str, str]:
        return "identity", "mse"

    @staticmethod
    def _targets_for_score(Y: Array) -> Array:
        return Y

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return r2_score(y, y_pred, sample_weight=sample_weight)

    @staticmethod
    def _from_outputs(A: Array) -> Array:
        return A.ravel() if A.shape[1] == 1 else A

    def predict(self, X):
        """Predicted targets: shape ``(n,)`` for one output, else ``(n, n_outputs)``."""
        return self._from_outputs(self._outputs(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
