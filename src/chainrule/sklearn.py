"""scikit-learn estimators on :class:`chainrule.Network`: a drop-in for ``sklearn.neural_network``.

>>> from chainrule.sklearn import MLPClassifier      # instead of sklearn.neural_network

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's constructor parameters with the same
defaults and set the same fitted attributes (``coefs_``, ``intercepts_``, ``loss_``,
``loss_curve_``, ``best_loss_``, ``validation_scores_``, ``best_validation_score_``, ``t_``,
``n_iter_``, ``n_layers_``, ``n_outputs_``, ``classes_``, ``out_activation_``, ...). They are thin
adapters: all forward and backward computation is :class:`~chainrule.Network`'s, all updates are a
chainrule :class:`~chainrule.Optimizer`'s. This module only translates the conventions:

* **Losses.** scikit-learn minimises ``L_sk = v * L_cr + C`` plus ``0.5 alpha ||W||^2 / sum(w)``
  per batch, where ``L_cr`` is chainrule's loss (``mse``, ``bce``, ``cross_entropy``, ``poisson``,
  means over samples and outputs) and ``v`` is ``1/2`` for ``squared_error`` (half the mean
  square), ``n_outputs`` for sigmoid outputs (scikit-learn sums the binary log-loss over outputs)
  and for ``poisson`` (half the Poisson deviance, summed over outputs, whose ``C = sum_k mean_i
  (y log y - y)`` does not depend on the weights; ``C = 0`` otherwise), and ``1`` for softmax.
  Its gradient is ``s * grad L_cr`` with ``s = v`` except ``s = n_outputs / 2`` for multi-output
  squared error (scikit-learn's gradient sums over outputs while its loss value averages them).
  So the adapter trains chainrule's loss with ``weight_decay = alpha / (s * batch_size * mean
  sample weight)``, SGD with ``learning_rate = s * learning_rate_init`` and Adam with
  ``epsilon = epsilon / s``: from the same weights, SGD makes scikit-learn's updates to rounding
  error (also when ``invscaling`` or ``adaptive`` change the rate: the momentum buffer, a
  gradient in chainrule as in PyTorch, is rescaled to keep scikit-learn's velocity); Adam
  differs slightly because chainrule (like PyTorch) adds ``epsilon`` after the bias correction.
  ``loss_`` and ``loss_curve_`` are in scikit-learn's units. Approximations: the
  decay of a shorter last batch (or of batches whose weights average differently) uses the
  nominal batch, and for multi-output squared error the part of the penalty that ``v`` does not
  cover is taken at the end-of-epoch weights; with sample weights, Poisson's ``C`` is the
  weighted mean over all samples, not batch by batch. scikit-learn clips probabilities to
  ``[eps, 1 - eps]`` in its log-loss and chainrule does not, so on a sample classified wrongly
  with a logit beyond about 36 the two ``loss_`` differ.
* **Solvers.** ``adam`` and ``sgd`` run one :meth:`chainrule.Network.fit` call with a callback that
  applies scikit-learn's stopping rule (``tol``, ``n_iter_no_change``), learning-rate schedules and
  early stopping (best weights restored). When the loss becomes NaN or inf, scikit-learn goes on
  with NaN weights; the adapter stops there and records the epochs scikit-learn would still run
  (NaN losses, the score of NaN outputs, its stopping rule, the ``ConvergenceWarning`` at
  ``max_iter``), then raises scikit-learn's ``ValueError`` ("Solver produced non-finite parameter
  weights...") unless early stopping restored finite best weights. ``lbfgs`` runs
  ``scipy.optimize.minimize(L-BFGS-B)`` on the flattened parameters with
  :meth:`chainrule.Network.gradients` (needs SciPy). ``verbose`` writes scikit-learn's progress
  lines to stdout from the callback (not for ``lbfgs``).
* **warm_start and partial_fit keep the optimizer** (Adam's moments, SGD's velocity, a learning
  rate lowered by ``adaptive``) between calls, unlike scikit-learn, which starts a fresh
  optimizer on every ``fit``. ``partial_fit`` exists for ``sgd`` and ``adam`` only (scikit-learn's
  regressor also offers it for ``lbfgs``).
* Predictions never warn: :meth:`chainrule.Network.predict`'s out-of-range warning is skipped.
* **Randomness.** Weights and biases are drawn as scikit-learn draws them, from the same
  ``RandomState`` in the same order, and the early-stopping split is scikit-learn's: from the same
  ``random_state`` both start from the same weights and validate on the same samples (full-batch
  SGD then follows scikit-learn's path to rounding error). The order of the mini-batches comes
  from a generator seeded from that ``RandomState`` and differs from scikit-learn's; copies beyond
  the first (``restarts``) start from that generator too.
* **dtype.** float32 ``X`` trains float32 weights and predicts float32 (``dtype=None``, as
  scikit-learn); predictions take the type NumPy gives ``X @ coefs_``.
* **Fitted by hand.** ``partial_fit`` (and ``warm_start``) work from the public fitted attributes
  (``coefs_``, ``intercepts_``, ``out_activation_``, ``n_outputs_``, ...): when no network fits
  them, one is rebuilt from them; ``predict`` uses only them.
* Extras, whose defaults keep scikit-learn's behaviour: ``activation`` may also be any chainrule
  activation name or a list with one per hidden layer; ``loss``; ``class_weight``; ``restarts``
  (copies trained together, best kept); ``dtype``. No method scikit-learn's estimators lack (no
  ``decision_function``: meta-estimators choose by what exists).

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

from .activations import ACTIVATIONS, ALIASES, activation_name, get_activation
from .callbacks import Callback
from .layers import Dense
from .network import Network, forward
from .optimizers import SGD, Adam, Optimizer

__all__ = ["MLPClassifier", "MLPRegressor"]

Array = np.ndarray

HIDDEN_ACTIVATIONS = (set(ACTIVATIONS) | set(ALIASES)) - {"softmax"}
SKLEARN_NAMES = {"sigmoid": "logistic"}  # chainrule activation name -> scikit-learn's
FUSED_LOSSES = {"sigmoid": "bce", "softmax": "cross_entropy", "exp": "poisson"}  # for log_loss
NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)


def _uniform_start(rng, layers, logistic: bool, copies=...) -> None:
    """scikit-learn's start: layer by layer, ``W`` and then ``b`` drawn from ``U(-r, r)`` with
    ``r = sqrt(6 / (n_in + n_out))`` (``sqrt(2 / ...)`` for logistic networks).

    With scikit-learn's ``RandomState`` this draws the very numbers scikit-learn draws;
    ``copies`` selects the stacked copies to start (``restarts``).
    """
    factor = 2.0 if logistic else 6.0
    for layer in layers:
        r = np.sqrt(factor / (layer.n_in + layer.n_out))
        layer.weights[copies] = rng.uniform(-r, r, layer.weights[copies].shape)
        layer.bias[copies] = rng.uniform(-r, r, layer.bias[copies].shape)


class _SklearnSchedule(Callback):
    """scikit-learn's end-of-epoch bookkeeping, run inside :meth:`Network.fit`.

    Records ``loss_curve_`` in scikit-learn's units, counts epochs without improvement (of the
    training loss, or of the validation score with early stopping, keeping the best weights),
    applies the learning-rate schedule and stops training. Copies beyond the first
    (``restarts``) start like scikit-learn's weights.
    """

    def __init__(self, est, opt: Optimizer, n_train: int, setup: dict, validation, incremental):
        self.est, self.opt, self.n_train = est, opt, n_train
        self.setup, self.validation, self.incremental = setup, validation, incremental

    def on_train_begin(self, training) -> None:
        if training.n_copies > 1:
            _uniform_start(training.net.rng, training.layers, self.setup["logistic"],
                           slice(1, None))

    def on_epoch_end(self, training, epoch: int, logs: dict[str, float]) -> None:
        setup = self.setup
        loss = setup["v"] * logs["loss"] + setup["constant"]
        if setup["penalty"]:  # the part of the penalty v * weight_decay does not account for
            loss += setup["penalty"] * sum(  # of the copy whose loss logs["loss"] is
                float((W * W).sum()) for W, _ in training.copy_of(training.logged_copy))
        score = parameters = None
        if self.validation is not None:
            X_val, y_val, w_val = self.validation
            outputs = forward(training.layers, X_val).reshape(
                training.n_copies, X_val.shape[0], -1)
            scores = [self.est._score_outputs(A, y_val, w_val) for A in outputs]
            best_copy = 0 if np.isnan(scores).all() else int(np.nanargmax(scores))
            score = scores[best_copy]
            parameters = [p for pair in training.copy_of(best_copy) for p in pair]
        if self.end_epoch(loss, score, parameters):
            training.stop_reason = "converged"

    def end_epoch(self, loss: float, score: float | None, parameters: list[Array] | None
                  ) -> bool:
        """scikit-learn's bookkeeping after an epoch of training loss ``loss`` (and validation
        score ``score`` of the weights ``parameters``, kept if best); True when training stops.
        """
        est = self.est
        est.loss_ = loss
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_curve_.append(loss)
        if est.verbose:
            sys.stdout.write(f"Iteration {est.n_iter_}, loss = {loss:.8f}\n")
        if score is None:  # (NaN compares False: a NaN loss resets the count, as in sklearn)
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if loss < est.best_loss_:
                est.best_loss_ = loss
        else:
            est.validation_scores_.append(score)
            if est.verbose:
                sys.stdout.write(f"Validation score: {score:f}\n")
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_parameters = [p.copy() for p in parameters]
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            self._set_rate(self.setup["s"] * est.learning_rate_init / (
                (est.t_ + 1) ** est.power_t))
        if est._no_improvement_count > est.n_iter_no_change:
            if self._stops():
                return True
            est._no_improvement_count = 0
        if not self.incremental and est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return False

    def _stops(self) -> bool:
        """No improvement for ``n_iter_no_change`` epochs: stop, or (``adaptive``) divide the
        learning rate by 5 while it is above 1e-6. Says why on stdout when ``verbose``."""
        est = self.est
        what = "Validation score" if self.validation is not None else "Training loss"
        message = (f"{what} did not improve more than tol={est.tol:f} for "
                   f"{est.n_iter_no_change} consecutive epochs.")
        rate = self.opt.learning_rate / self.setup["s"]
        adaptive = est.solver == "sgd" and est.learning_rate == "adaptive"
        if adaptive and rate > 1e-6:
            self._set_rate(self.opt.learning_rate / 5.0)
            message += f" Setting learning rate to {rate / 5.0:f}"
        elif adaptive:
            message += " Learning rate too small. Stopping."
        else:
            message += " Stopping."
        if est.verbose:
            sys.stdout.write(message + "\n")
        return not (adaptive and rate > 1e-6)

    def _set_rate(self, rate: float) -> None:
        """Change SGD's learning rate. scikit-learn's velocity is a step in parameter units and
        carries over unchanged; chainrule's (PyTorch's) ``v`` is in gradient units, stepped by
        ``lr v``, so it is scaled by ``old / new`` to take the same steps."""
        opt = self.opt
        if isinstance(opt, SGD) and opt.momentum and opt.state is not None:
            for state in opt.state:
                state["v"] *= opt.learning_rate / rate
        opt.learning_rate = rate

    def after_divergence(self, epochs_left: int, n_outputs: int) -> None:
        """The epochs scikit-learn would still run after the loss became NaN or inf.

        Its weights are NaN from then on: every training loss is NaN, every validation score
        that of NaN outputs, and its rules stop or run to ``max_iter`` as they would. They are
        recorded here without being run (should such a score be the best, the best weights are
        NaN, and restoring them fails as it does in scikit-learn).
        """
        score = None
        if self.validation is not None:
            X_val, y_val, w_val = self.validation
            score = self.est._score_outputs(
                np.full((X_val.shape[0], n_outputs), np.nan), y_val, w_val)
        nan_weights = [np.full_like(p, np.nan) for p in self.est._best_parameters]
        for _ in range(epochs_left):
            if self.end_epoch(np.nan, score, nan_weights):
                break


def _sizes_of(coefs, intercepts) -> list[int]:
    """Layer sizes from weight matrices ``(n_in, n_out)`` and bias vectors ``(n_out,)``, or a
    ValueError naming the array that does not fit."""
    shapes = [np.shape(W) for W in coefs]
    if not shapes or any(len(shape) != 2 for shape in shapes):
        raise ValueError(f"coefs_ must be a list of 2-D arrays, got shapes {shapes}")
    sizes = [shapes[0][0]] + [shape[1] for shape in shapes]
    for i, shape in enumerate(shapes):
        if shape[0] != sizes[i]:
            raise ValueError(f"coefs_[{i}] has shape {shape}; expected {sizes[i]} rows")
    if [np.shape(b) for b in intercepts] != [(n,) for n in sizes[1:]]:
        raise ValueError(
            f"intercepts_ must have shapes {[(n,) for n in sizes[1:]]} to fit coefs_, got "
            f"{[np.shape(b) for b in intercepts]}"
        )
    return sizes


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
        "dtype": [StrOptions({"float64", "float32"}), None],
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
            dtype = X.dtype if self.dtype is None else np.dtype(self.dtype)  # float32 stays
            self._initialize(Y, [X.shape[1], *hidden, Y.shape[1]], rng, dtype)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted with {self.n_outputs_}; "
                "refit with warm_start=False"
            )
        net = self._synced_network()
        if self.solver == "lbfgs":
            net.rng = np.random.default_rng(rng.randint(2**31 - 1))  # for restarts
            self._fit_lbfgs(net, X, Y, sample_weight)
        else:
            self._fit_stochastic(net, X, Y, sample_weight, rng, incremental)
        for layer in net.layers:  # drop the cached batch activations: smaller pickles
            layer.X = layer.Z = layer.A = None
        if not all(np.isfinite(p).all() for p in net.parameters()):
            raise ValueError(NON_FINITE)
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
        """chainrule's names of the hidden activations, one per hidden layer."""
        activation = self.activation
        names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        if len(names) != n_hidden or not all(
                isinstance(a, str) and a.lower() in HIDDEN_ACTIVATIONS for a in names):
            raise ValueError(
                f"activation must be one of {sorted(HIDDEN_ACTIVATIONS)} or a list of them, one "
                f"per hidden layer ({n_hidden}), got {activation!r}"
            )
        return [ALIASES.get(a.lower(), a.lower()) for a in names]

    def _activation_names(self, n_layers: int) -> list[str]:
        """chainrule's names of every layer's activation, from ``activation`` and
        ``out_activation_`` (as scikit-learn's forward pass takes them)."""
        output = ALIASES.get(self.out_activation_, self.out_activation_)
        if output not in ACTIVATIONS:
            raise ValueError(
                f"out_activation_ must be one of logistic, softmax, identity, exp, got "
                f"{self.out_activation_!r}"
            )
        return [*self._hidden_activations(n_layers - 1), output]

    def _logistic(self) -> bool:
        """Whether every hidden activation is logistic: scikit-learn then starts narrower."""
        named = [self.activation] if isinstance(self.activation, str) else list(self.activation)
        return all(ALIASES.get(a.lower(), a.lower()) == "sigmoid" for a in named)

    def _loss_for(self, output: str) -> str:
        """chainrule's loss: ``mse`` for squared error, else the loss fused with the output."""
        if self.loss == "squared_error":
            return "mse"
        if output not in FUSED_LOSSES:
            raise ValueError(
                f"loss={self.loss!r} does not fit out_activation_={self.out_activation_!r}"
            )
        return FUSED_LOSSES[output]

    def _new_network(self, sizes: list[int], dtype) -> Network:
        """A network of ``sizes`` with this estimator's activations and loss (weights to be
        set: its seed and initialiser do not matter)."""
        names = self._activation_names(len(sizes) - 1)
        return Network(sizes, activation=names[:-1], output_activation=names[-1],
                       loss=self._loss_for(names[-1]), init="glorot_uniform", seed=0,
                       dtype=dtype)

    def _initialize(self, Y: Array, layer_units: list[int], rng, dtype) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        output = self._output()
        self.out_activation_ = SKLEARN_NAMES.get(output, output)
        self._network = self._new_network(layer_units, dtype)
        _uniform_start(rng, self._network.layers, self._logistic())
        self.coefs_ = [layer.weights for layer in self._network.layers]
        self.intercepts_ = [layer.bias for layer in self._network.layers]
        self._optimizer = None
        self._best_parameters = [p.copy() for p in self._network.parameters()]
        if self.solver != "lbfgs":
            self._start_bookkeeping()

    def _start_bookkeeping(self, missing_only: bool = False) -> None:
        """The stochastic solvers' records, as a first ``fit`` starts them (with
        ``missing_only``, only those an estimator fitted by hand lacks)."""
        values = {"loss_curve_": [], "_no_improvement_count": 0}
        if self.early_stopping:
            values.update(validation_scores_=[], best_validation_score_=-np.inf,
                          best_loss_=None)
        else:
            values.update(best_loss_=np.inf, validation_scores_=None,
                          best_validation_score_=None)
        for name, value in values.items():
            if not (missing_only and hasattr(self, name)):
                setattr(self, name, value)

    def _synced_network(self) -> Network:
        """The network, holding the weights of ``coefs_`` and ``intercepts_``.

        It is rebuilt from the public fitted attributes (``coefs_``, ``intercepts_``,
        ``out_activation_``, ...) when there is none that fits them: an estimator fitted by hand,
        or one whose arrays were replaced by others of new shapes.
        """
        sizes = _sizes_of(self.coefs_, self.intercepts_)
        net = getattr(self, "_network", None)
        if not hasattr(self, "out_activation_"):
            output = self._output()
            self.out_activation_ = SKLEARN_NAMES.get(output, output)
        if net is None or net.sizes != sizes or [
                activation_name(layer.activation) for layer in net.layers
        ] != self._activation_names(len(sizes) - 1):
            dtype = self.dtype or (
                np.float32 if np.asarray(self.coefs_[0]).dtype == np.float32 else np.float64)
            net = self._network = self._new_network(sizes, dtype)
            for name, value in (("n_iter_", 0), ("t_", 0), ("n_layers_", len(sizes))):
                if not hasattr(self, name):
                    setattr(self, name, value)
            if self.solver != "lbfgs":
                self._start_bookkeeping(missing_only=True)
            self._optimizer = None
            self._best_parameters = None
        for layer, W, b in zip(net.layers, self.coefs_, self.intercepts_, strict=True):
            for name, value in (("weights", W), ("bias", b)):
                current = getattr(layer, name)
                if not current.flags.writeable:  # e.g. loaded from a read-only memory map
                    setattr(layer, name, np.array(value, dtype=net.dtype))
                elif current is not value:
                    current[...] = value
        self.coefs_ = [layer.weights for layer in net.layers]
        self.intercepts_ = [layer.bias for layer in net.layers]
        if getattr(self, "_best_parameters", None) is None:
            self._best_parameters = [p.copy() for p in net.parameters()]
        return net

    def _scales(self) -> tuple[float, float]:
        """``(v, s)``: scikit-learn's loss is ``v`` times chainrule's, its gradient ``s`` times."""
        loss = self._network.loss_function.name
        if loss == "mse":
            return 0.5, self.n_outputs_ / 2.0
        if loss in ("bce", "poisson"):
            return float(self.n_outputs_), float(self.n_outputs_)
        return 1.0, 1.0

    def _loss_constant(self, Y: Array, sample_weight) -> float:
        """What scikit-learn's loss adds to ``v`` times chainrule's: for Poisson (half the
        deviance) ``sum_k mean_i (y log y - y)``, which does not depend on the weights."""
        if self._network.loss_function.name != "poisson":
            return 0.0
        terms = Y * np.log(np.where(Y > 0, Y, 1.0)) - Y
        return float(np.average(terms, weights=sample_weight, axis=0).sum())

    def _fit_stochastic(self, net, X, Y, sample_weight, rng, incremental) -> None:
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        validation = None
        if self.early_stopping:
            X, Y, sample_weight, validation = self._split_validation(X, Y, sample_weight, rng)
        net.rng = np.random.default_rng(rng.randint(2**31 - 1))  # shuffles (and restarts)
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
            "v": v, "s": s, "logistic": self._logistic(),
            "weight_decay": self.alpha / (s * batch * mean_weight),
            # scikit-learn adds 0.5 alpha ||W||^2 / (batch weight) per batch; v * weight_decay
            # covers v / s of it (all of it unless squared error has several outputs)
            "penalty": (1 - v / s) * 0.5 * self.alpha * batches / (n * mean_weight),
            "constant": self._loss_constant(Y, sample_weight),
        }
        opt = self._stochastic_optimizer(incremental, s)
        self.n_iter_ = 0
        schedule = _SklearnSchedule(self, opt, n, setup, validation, incremental)
        epochs = 1 if incremental else self.max_iter
        history = net.fit(
            X, Y, epochs=epochs, batch_size=batch, optimizer=opt, shuffle=self.shuffle,
            callbacks=[schedule], restarts=self.restarts, weight_decay=setup["weight_decay"],
            sample_weight=sample_weight,
        )
        if history.stopped_because == "diverged":
            schedule.after_divergence(epochs - self.n_iter_, Y.shape[1])
            if validation is None:
                raise ValueError(NON_FINITE)
        if validation is not None:  # scikit-learn restores the best weights
            for p, best in zip(net.parameters(), self._best_parameters, strict=True):
                p[...] = best

    def _stochastic_optimizer(self, incremental: bool, s: float) -> Optimizer:
        """The optimizer: kept from the last call by ``partial_fit`` and ``warm_start``."""
        keep = incremental or self.warm_start
        optimizer = getattr(self, "_optimizer", None)
        if keep and optimizer is not None and getattr(self, "_optimizer_for", None) == (
                self.solver, self.restarts):
            if optimizer.state is not None:  # writable again after a read-only load
                optimizer.state = [
                    {k: v if v.flags.writeable else np.array(v) for k, v in state.items()}
                    for state in optimizer.state
                ]
            return optimizer
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
        """scikit-learn's hold-out split: stratified for single-output classification, by the
        network's 0/1 target as scikit-learn stratifies (the same split from the same state)."""
        stratify = Y.astype(bool) if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
        try:
            parts = train_test_split(
                *arrays, random_state=rng, test_size=self.validation_fraction,
                stratify=stratify)
        except ValueError as error:
            if stratify is None:
                raise
            names = ", ".join(f"{code!r} is {label!r}" for code, label in zip(
                ("False", "True"), self.classes_.tolist(), strict=False))
            raise ValueError(
                f"{error} (in the labels of y: {names}; early_stopping holds out a validation "
                "set stratified by class)"
            ) from error
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
        constant = self._loss_constant(Y_net, sample_weight)
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
            return value + constant, np.concatenate([g.ravel() for g in flat]).astype(
                np.float64)

        best = None
        for restart in range(self.restarts):
            if restart:
                _uniform_start(net.rng, net.layers, self._logistic())
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
        self.loss_ = v * net.loss(X, Y_net, sample_weight) + penalty() + constant

    # -- prediction ------------------------------------------------------------------------
    def _outputs(self, X) -> Array:
        """Network outputs for ``X``, shape ``(n, n_outputs_)``, from the public fitted
        attributes, in the type NumPy gives ``X @ coefs_`` (float32 for float32 ``X`` and
        weights, as scikit-learn)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        X = X.toarray() if hasattr(X, "toarray") else X
        dtype = np.result_type(X.dtype, *(np.asarray(W).dtype for W in self.coefs_), np.float32)
        names = self._activation_names(len(self.coefs_))
        layers = [  # fresh layers: predicting changes nothing
            Dense(np.asarray(W, dtype), np.asarray(b, dtype), get_activation(name))
            for W, b, name in zip(self.coefs_, self.intercepts_, names, strict=True)
        ]
        with np.errstate(over="ignore"):  # a saturated logistic unit's exp(-z) may overflow
            return forward(layers, X.astype(dtype, copy=False))

    def _score_outputs(self, A: Array, y, sample_weight) -> float:
        """The validation score (accuracy or R^2) of network outputs ``A``; as in scikit-learn,
        NaN when predictions are floats and not all finite."""
        y_pred = self._from_outputs(A)
        if y_pred.dtype.kind == "f" and not np.isfinite(y_pred).all():
            return np.nan
        return float(self._score_function(y, y_pred, sample_weight=sample_weight))

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
    dtype : {"float64", "float32"} or None
        Floating-point type of the network's weights and computations; ``None`` (as
        scikit-learn) keeps float32 ``X`` in float32 and computes everything else in float64.
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
        dtype=None,
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

    def _output(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "sigmoid"

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

    Identity outputs (one per target column) and squared error, or exponential outputs and the
    Poisson loss. See the module docstring for how scikit-learn's parameters map onto
    chainrule's; the parameters that differ are

    Parameters
    ----------
    loss : {"squared_error", "poisson"}
        Half the mean square error with identity outputs, or (for counts, ``y >= 0``) half the
        Poisson deviance with exponential outputs (``out_activation_ = "exp"``), chainrule's
        ``poisson`` loss.
    restarts : int
        Independently initialised networks trained together; the best one is kept.
    dtype : {"float64", "float32"} or None
        Floating-point type of the network's weights and computations; ``None`` (as
        scikit-learn) keeps float32 ``X`` in float32 and computes everything else in float64.
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
        dtype=None,
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
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
            dtype=(np.float64, np.float32), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and y.min() < 0:
            raise ValueError(
                f"loss='poisson' requires y >= 0 (counts or rates), got a minimum of {y.min()}; "
                "use loss='squared_error' for targets that can be negative"
            )
        return X, y, y

    @staticmethod
    def _class_weights(y, sample_weight):
        return sample_weight

    def _output(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

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
        poisson = self.loss == "poisson"
        tags.target_tags.positive_only = poisson  # as PoissonRegressor's
        # (several Poisson outputs work, but scikit-learn's multi-output check ignores
        # positive_only and draws negative targets)
        tags.target_tags.multi_output = not poisson
        return tags
