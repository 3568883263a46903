"""The training doctor: why does my network not learn?

``diagnose(net, X, y, **fit_kwargs)`` looks at the data, at the network as it is, and at a short
*probe* training run of a copy of the network with the settings you would pass to
:meth:`~chainrule.network.Network.fit`, and returns :class:`Finding` objects, errors first::

    findings = diagnose(net, X, y, epochs=10)
    print(format_findings(findings))

Each finding has a stable ``code``, a ``severity`` (``"error"``: it cannot learn like this,
``"warning"``: it learns badly or by luck, ``"info"``), a ``message`` with the numbers that
triggered it, and a ``hint`` with a concrete fix. ``net`` itself is never changed.

What is checked, and when (the thresholds are module constants). The probes and what "fits"
means are described in :func:`diagnose`.

======================== ==========================================================================
code                     triggered when
======================== ==========================================================================
targets-out-of-range     (error) a target lies outside what the output activation can produce:
                         sigmoid ``[0, 1]``, tanh ``[-1, 1]``, relu/softplus ``>= 0``, elu
                         ``>= -1``; softmax target rows that do not sum to 1. Checked before any
                         training, also where ``fit`` would accept the targets (mse)
loss-output-mismatch     (warning) softmax + mse; an identity/relu-like output + mse with 0/1
                         class targets; regression-like targets (over 10 distinct values, not all
                         0/1) outside a sigmoid/tanh output's range. (info) such targets within
                         the range; bce over one-hot rows
unscaled-inputs          (warning) a feature with ``sqrt(mean^2 + std^2) > 4``, or
                         ``|mean| > 10 std``, or ``0 < std < 0.01`` with all ``|x| < 0.1``; or
                         no initialisation fits, but the same training on standardised inputs
                         fits (or lowers the loss by 25% of a constant prediction's)
unscaled-targets         (warning) with mse and an unbounded output (identity, relu, ...): a
                         target column with ``sqrt(mean^2 + std^2) > 10`` or ``|mean| > 10 std``
symmetric-units          (error) 2 or more hidden units of a layer with identical incoming weights,
                         bias and outgoing weights (to float32 precision), e.g. ``init="zeros"``
saturated-units          (warning) at least a quarter of a sigmoid/tanh layer's units (the output
                         layer too, with mse) have ``|z| > 4`` (sigmoid) or ``|z| > 2`` (tanh),
                         where ``f'`` is below 7% of its maximum, on at least 90% of the samples,
                         at the start; (info) the same after a probe that learned little
dead-units               ReLU units with ``z <= 0`` on every sample, at the start or after the
                         probe: (error) a whole layer, (warning) at least 25% of one, (info) fewer
vanishing-gradients      (warning) the rms error signal ``dL/dz`` of the first layer is below 1e-3
                         of the output layer's at the start (not reported when saturated or dead
                         units explain it); in a History, ``||dW||`` of the first layer below 1e-4
                         of the last layer's (median over epochs, 3 or more layers)
exploding-gradients      (warning) that ratio above 1e3, or the total ``||dW||`` grows more than
                         1e3-fold during training while the loss does not halve; (error) gradients
                         that are not finite
learning-rate-too-high   (error) the loss becomes NaN/inf, or grows 100-fold and ends above its
                         start; (warning) the loss does not get below 90% of its start and rises
                         in at least 30% of the epochs (overall or in the first quarter), or ends
                         above 1.2 times its start, or peaks above twice its start, or the first
                         updates change the weights by more than 50% of their size each
learning-rate-too-low    (warning) the loss falls by less than 1% while each update changes the
                         weights by less than 1e-4 of their size, with healthy gradients
too-few-updates          (warning) training ended by ``epochs``/``max_epochs`` without fitting, and
                         continuing it with the same settings fits or lowers the loss by 25% (and
                         by 10% of a constant prediction's loss); in a History: the loss fell by
                         over 1% in the last fifth of the epochs, or by anything in under 100
                         updates
constant-output          (error) after the probe (or your run) that did not fit, the standard
                         deviation of every output across samples is below 10% of the targets'
seed-dependent           of 8 initialisations trained with your settings, some fit and some get
                         stuck (loss above 20% of a constant prediction's): (warning) when your
                         ``restarts`` (``None``: 16 copies for small problems, else 1) would all
                         get stuck with probability over 1%, else (info)
too-small                (error) no initialisation fits even with fit's default settings, the best
                         loss stays above 20% of a constant prediction's, and a network with 4x
                         the hidden units (at least 16) fits or lowers the loss by 25% of a
                         constant prediction's
constant-targets         (warning) all targets are equal
not-learning             (warning) nothing fits and nothing above explains it
probe-truncated          (info) the probe could not run all your epochs, or ran out of time while
                         the loss was still falling
healthy                  (info) no error or warning
======================== ==========================================================================

"Fits the training set" means: for 0/1 targets, every output on the right side of 0.5; otherwise,
a loss below 5% of the loss of the best constant prediction.
"""

from __future__ import annotations

import copy
import inspect
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .activations import activation_name
from .callbacks import Callback
from .network import Network, backward, forward
from .optimizers import Optimizer
from .training import AUTO_RESTARTS, SMALL_PROBLEM, History, Training, evaluate
from .training import fit as _fit

Array = np.ndarray

__all__ = ["Finding", "diagnose", "format_findings", "SEVERITIES", "CODES"]

SEVERITIES = ("error", "warning", "info")
_PROBLEMS = (  # the codes that explain a failure
    "targets-out-of-range", "loss-output-mismatch", "unscaled-inputs", "unscaled-targets",
    "symmetric-units", "saturated-units", "dead-units", "vanishing-gradients",
    "exploding-gradients", "learning-rate-too-high", "learning-rate-too-low", "too-few-updates",
    "constant-output", "seed-dependent", "too-small",
)
CODES = (*_PROBLEMS, "constant-targets", "not-learning", "probe-truncated", "healthy")

# -- thresholds ---------------------------------------------------------------------------------
SATURATION_Z = {"sigmoid": 4.0, "tanh": 2.0}  # |z| beyond which f'(z) < 7% of its maximum
SATURATED_SAMPLES = 0.9  # a unit is saturated when it is so on this fraction of samples
SATURATED_UNITS = 0.25  # ... and a layer is reported when this fraction of its units are
DEAD_UNITS = 0.25  # share of a layer's ReLU units dead that makes a warning (all: an error)
VANISHING = 1e-3  # rms dL/dz of the first layer / of the output layer
EXPLODING = 1e3
HISTORY_VANISHING = 1e-4  # ||dW|| of the first layer / of the last layer, median over epochs
UNSCALED_RMS = 4.0
UNSCALED_OFFSET = 10.0
UNSCALED_TARGETS = 10.0  # rms of a regression target column above which it is unscaled
TINY_SCALE = 0.01
REGRESSION_VALUES = 10  # more distinct target values than this "look like regression"
CONSTANT_SPREAD = 0.1  # std of outputs / std of targets below which the output is constant
FITTED_LOSS = 0.05  # loss / constant-prediction loss below which regression targets are fitted
TOO_SMALL_LOSS = 0.2  # loss / constant-prediction loss above which a net does not fit
SLOW_PROGRESS = 0.01  # relative loss decrease over a probe below which the loss "barely moves"
SLOW_UPDATE = 1e-4  # ||dW|| / ||W|| per update below which the steps are tiny
OSCILLATING = 0.3  # fraction of epochs in which the loss rises
BIG_UPDATE = 0.5  # ||dW|| / ||W|| per update (median of the first 10 epochs) that overshoots
DIVERGING = 100.0  # loss growth (max / start) that counts as diverging
FEW_UPDATES = 100  # fewer updates than this, with the loss still falling, are too few
CONTINUED = 0.75  # continuing training must bring the loss below this fraction of where it was
SEEDS = 8  # initialisations compared for seed-dependence and capacity (4 for large problems,
# where 8 would get fewer than 20 epochs)
LARGE_PROBLEM = 4  # skip the seed probe when even its shortest run would exceed this x its budget
MIN_CURVE = 20  # epochs a loss curve needs before it can be called oscillating or stuck
# Each probe run gets the epochs that take about PROBE_SECONDS (estimated from the sizes), at
# most PROBE_EPOCHS and at least 10 (or 200 updates' worth, if that is fewer):
PROBE_SECONDS = {"yours": 0.3, "more": 0.25, "seeds": 0.6, "capacity": 0.3}
PROBE_EPOCHS = {"yours": 500, "more": 2000, "seeds": 400, "capacity": 1500}
WIDER_GAIN = 0.25  # loss decrease (in constant-prediction losses) that makes a wider net better
WIDE_UNITS = 16  # hidden units per layer (at least, and at least 4x) of the wider comparison net

_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_OUTPUT_RANGES = {  # output activation -> (low, high) it can reach (closed, for the check)
    "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0),
    "relu": (0.0, np.inf), "softplus": (0.0, np.inf), "elu": (-1.0, np.inf),
}
_UNBOUNDED = ("identity", "relu", "leaky_relu", "elu", "softplus")


@dataclass(frozen=True)
class Finding:
    """One thing :func:`diagnose` found.

    Attributes
    ----------
    code : str
        Stable identifier, e.g. ``"symmetric-units"`` (see the module docstring).
    severity : {"error", "warning", "info"}
        ``error``: the network cannot learn like this; ``warning``: it learns badly or only
        by luck; ``info``: worth knowing.
    message : str
        What was found, in plain language, with the numbers that triggered it.
    hint : str
        A concrete fix.
    """

    code: str
    severity: str
    message: str
    hint: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def __str__(self) -> str:
        return f"{self.severity}: {self.code}: {self.message} Fix: {self.hint}"


def diagnose(
    net: Network,
    X: Array,
    y: Array,
    *,
    history: History | None = None,
    probe: bool | None = None,
    **fit_kwargs,
) -> list[Finding]:
    """Find out why ``net`` does not learn ``(X, y)``, without changing ``net``.

    Parameters
    ----------
    net : Network
        The network, as you would train it (or as trained, with ``history``).
    X, y : arrays
        The training data, as passed to ``net.fit``.
    history : History, optional
        The History of a real training run of ``net`` on ``(X, y)``: its losses, gradient norms
        and update ratios are checked too, and ``net`` is taken to be the trained network.
    probe : bool, optional
        Run short probe trainings of copies of ``net`` (default: yes, unless ``history`` is
        given). Without a probe only the data, the network and ``history`` are inspected.
    **fit_kwargs
        The settings you pass to :meth:`Network.fit` (``epochs``, ``batch_size``,
        ``optimizer``, ``learning_rate``, ``restarts``, ...); the probes use them. The probe
        trains one copy (``restarts=1``) unless you pass ``restarts``; ``callbacks`` and
        ``validation_data`` are ignored.

    Returns
    -------
    list of Finding
        Errors first, then warnings, then infos; one finding per code. A ``healthy`` info
        finding when there is no error or warning.

    Notes
    -----
    The probes, each sized to take a fraction of a second (:data:`PROBE_SECONDS`):

    1. your settings on a copy of ``net`` (its loss curve tells a too high or too low learning
       rate, its outputs a constant output, its units dead or saturated ones);
    2. if that did not fit and stopped at ``epochs``: the same training continued;
    3. :data:`SEEDS` initialisations (the first is ``net``'s own) with your settings: some fit
       and some do not means the outcome depends on the seed;
    4. if none fits: the architecture with default settings, and a wider one, to tell a too
       small network from bad settings.

    The number of epochs of each is estimated from the sizes of the problem, not measured, so
    the findings do not depend on the machine's speed. A network *fits* the training set when,
    for 0/1 targets, every output is on the right side of 0.5, and otherwise when its loss is
    below 5% of the loss of the best constant prediction (the mean target). With ``history``
    and ``probe=True``, the probes start from the trained weights.
    """
    unknown = sorted(set(fit_kwargs) - _FIT_PARAMETERS)
    if unknown:
        raise TypeError(
            f"diagnose got unknown fit argument(s) {', '.join(unknown)}; it takes the arguments "
            f"of Network.fit: {', '.join(sorted(_FIT_PARAMETERS))}"
        )
    if not isinstance(net, Network):
        raise TypeError(f"net must be a chainrule Network, got {type(net).__name__}")
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history must be the History returned by fit, got {type(history)}")
    doctor = _Doctor(net, X, y, history, fit_kwargs)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        doctor.run(probe=history is None if probe is None else bool(probe))
    return doctor.result()


def format_findings(findings: Sequence[Finding], width: int = 100) -> str:
    """The findings as a text table: severity, code, and the message with its fix below it.

    Parameters
    ----------
    findings : sequence of Finding
    width : int
        Line width the message column is wrapped to.
    """
    if not findings:
        return "No findings."
    sev = max(len("severity"), *(len(f.severity) for f in findings))
    code = max(len("code"), *(len(f.code) for f in findings))
    indent = " " * (sev + code + 4)
    text_width = max(30, width - len(indent))
    lines = [f"{'severity'.ljust(sev)}  {'code'.ljust(code)}  message / fix"]
    for f in findings:
        message = textwrap.wrap(f.message, text_width) or [""]
        hint = textwrap.wrap("fix: " + f.hint, text_width)
        lines.append(f"{f.severity.ljust(sev)}  {f.code.ljust(code)}  {message[0]}")
        lines += [indent + line for line in message[1:] + hint]
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    lines.append(", ".join(f"{k} {s}{'s' if k != 1 else ''}" for s, k in counts.items()))
    return "\n".join(lines)


_FIT_PARAMETERS = frozenset(inspect.signature(_fit).parameters) - {"net", "X", "y"}


# -- the diagnosis ------------------------------------------------------------------------------
class _ReplicaResults(Callback):
    """Records the loss of every copy trained together halfway, and its loss and fit at the end."""

    def __init__(self, doctor: _Doctor, epochs: int | None) -> None:
        self.doctor = doctor
        self.halfway = None if epochs is None else (epochs - 1) // 2
        self.midway: Array | None = None
        self.losses: Array = np.zeros(0)
        self.fitted: Array = np.zeros(0, dtype=bool)

    def on_epoch_end(self, training: Training, epoch: int, logs: dict[str, float]) -> None:
        if epoch == self.halfway:
            self.midway = self.doctor.quality(training.layers)[0]

    def on_train_end(self, training: Training) -> None:
        self.losses, self.fitted = self.doctor.quality(training.layers)

    @property
    def stalled(self) -> bool:
        """Whether the copies that do not fit improved by less than 1% in the second half."""
        if self.midway is None:
            return False
        rest = ~self.fitted & np.isfinite(self.losses)
        return bool((self.losses[rest] > (1 - SLOW_PROGRESS) * self.midway[rest]).all())


class _Doctor:
    def __init__(self, net: Network, X, y, history: History | None, kwargs: dict) -> None:
        self.net = net.copy()  # every forward pass runs on copies: net keeps even its caches
        self.history = history
        self.kwargs = {k: v for k, v in kwargs.items()
                       if k not in ("callbacks", "validation_data")}
        self.X_raw, self.y_raw = X, y
        self.findings: dict[str, Finding] = {}
        self.sizes = list(net.sizes)
        self.loss_name = net.loss_function.name
        self.out_name = activation_name(net.output_activation)

    # -- bookkeeping ---------------------------------------------------------------------------
    def add(self, code: str, severity: str, message: str, hint: str) -> None:
        old = self.findings.get(code)
        if old is None or _RANK[severity] < _RANK[old.severity]:
            self.findings[code] = Finding(code, severity, message, hint)

    def has(self, *codes: str, severity: str = "warning") -> bool:
        return any(c in self.findings and _RANK[self.findings[c].severity] <= _RANK[severity]
                   for c in codes)

    def result(self) -> list[Finding]:
        return sorted(self.findings.values(), key=lambda f: _RANK[f.severity])

    # -- the steps -----------------------------------------------------------------------------
    def run(self, probe: bool) -> None:
        self.X = self.net.check_inputs(self.X_raw)
        self.check_inputs_scale()
        blocked = self.check_target_range()
        try:
            _, self.Y, self.c = self.net.check_data(
                self.X, self.y_raw, self.kwargs.get("sample_weight"))
        except ValueError:
            if blocked:
                return  # the loss refuses these targets: the range finding says why
            raise
        self.setup()
        self.check_loss_output()
        self.check_target_scale()
        if self.baseline <= 1e-12 * max(1.0, float(np.abs(self.Y).max())):
            self.add("constant-targets", "warning",
                     f"all {self.Y.shape[0]} targets are equal ({self.Y[0, 0]:.4g} ...): there "
                     "is nothing to learn, and any network will output a constant",
                     "check that y is the column you meant to predict")
            return
        self.check_symmetry(self.net)
        if self.history is None:
            self.check_units(self.net, when="at the start")
        elif not self.fits(self.net):
            self.check_units(self.net, when="in the trained network")
        self.check_gradient_flow()
        if self.history is not None:
            self.check_history(self.history, self.net, "your training run")
            self.check_constant_output(self.net, "after your training run")
        if probe and not blocked:
            self.probe()
        if not self.has(*_PROBLEMS, "constant-targets", "not-learning"):
            self.add("healthy", "info", self.healthy_message(probe and not blocked),
                     "nothing to fix; train with net.fit(X, y)")

    def setup(self) -> None:
        X, Y = self.X, self.Y
        self.n = X.shape[0]
        self.classes = bool(np.isin(Y, (0.0, 1.0)).all() and np.unique(Y).size == 2)
        self.baseline = self.constant_loss()
        batch_size = self.kwargs.get("batch_size")
        self.batch = self.n if batch_size is None else max(1, min(int(batch_size), self.n))
        self.batches = -(-self.n // self.batch)
        self.n_params = sum(p.size for p in self.net.parameters())

    # -- data ----------------------------------------------------------------------------------
    def check_inputs_scale(self) -> None:
        X = self.X.astype(np.float64)
        mean, std = X.mean(axis=0), X.std(axis=0)
        rms = np.sqrt(mean**2 + std**2)
        big = rms > UNSCALED_RMS
        offset = (std > 0) & (np.abs(mean) > UNSCALED_OFFSET * std)
        tiny = (std > 0) & (std < TINY_SCALE) & (np.abs(X).max(axis=0) < 0.1)
        bad = np.flatnonzero(big | offset | tiny)
        if bad.size == 0:
            return
        worst = bad[np.argsort(-np.abs(np.log(np.maximum(rms[bad], 1e-30))))][:3]
        listed = ", ".join(f"feature {j} (mean {mean[j]:.3g}, std {std[j]:.3g})" for j in worst)
        self.add(
            "unscaled-inputs", "warning",
            f"{bad.size} of {X.shape[1]} input features are far from zero mean and unit scale: "
            f"{listed}. Large inputs saturate sigmoid/tanh units and make steps uneven across "
            "weights; tiny ones barely move the units",
            "standardise each feature, X = (X - X.mean(axis=0)) / X.std(axis=0), and apply the "
            "same mean and std to new inputs before predicting",
        )

    def raw_targets(self) -> Array | None:
        """``y`` as a float ``(n, n_out)`` array for the range check, or None if unusable."""
        y = np.asarray(self.y_raw)
        if y.dtype.kind not in "biuf" or self.loss_name == "cross_entropy":
            return None
        n_out = self.sizes[-1]
        if y.ndim == 1 and n_out == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != n_out or not np.isfinite(y).all():
            return None
        return y.astype(np.float64)

    def check_target_range(self) -> bool:
        """Report targets the output cannot produce; True when that blocks training."""
        y = self.raw_targets()
        if y is None or self.out_name not in _OUTPUT_RANGES:
            return False
        low, high = _OUTPUT_RANGES[self.out_name]
        outside = (y < low - 1e-9) | (y > high + 1e-9)
        if self.out_name == "softmax" and not outside.any():
            rows = ~np.isclose(y.sum(axis=1), 1.0)
            if rows.any():
                self.add(
                    "targets-out-of-range", "error",
                    f"{rows.sum()} of {y.shape[0]} target rows do not sum to 1 (sums from "
                    f"{y.sum(axis=1).min():.3g} to {y.sum(axis=1).max():.3g}), but softmax "
                    "outputs always do: the network can never produce them",
                    "for one class per sample use one-hot rows or integer labels with "
                    "loss='cross_entropy'; for several independent 0/1 outputs use "
                    "output_activation='sigmoid' with loss='bce'",
                )
                return True
            return False
        if not outside.any():
            return False
        share = outside.mean()
        interval = f"[{_num(low)}, {_num(high)}]"
        self.add(
            "targets-out-of-range", "error",
            f"{outside.sum()} of {y.size} targets ({share:.0%}) lie outside {interval}, the range "
            f"of the {self.out_name} output (targets span {y.min():.4g} to {y.max():.4g}): the "
            "network can never output them, so it settles on a compromise",
            _range_hint(self.out_name, low, high),
        )
        if self.looks_like_regression(y):
            self.add(
                "loss-output-mismatch", "warning",
                f"the targets look like regression values ({np.unique(y).size} distinct values "
                f"from {y.min():.4g} to {y.max():.4g}), but the output is {self.out_name}, which "
                "is for classes and probabilities",
                "use output_activation='identity' with loss='mse' for regression, and "
                "standardise the targets",
            )
        return True

    @staticmethod
    def looks_like_regression(y: Array) -> bool:
        values = np.unique(y)
        return values.size > REGRESSION_VALUES and not np.isin(values, (0.0, 1.0)).all()

    def check_loss_output(self) -> None:
        Y, out, loss = self.Y, self.out_name, self.loss_name
        if out == "softmax" and loss == "mse":
            self.add(
                "loss-output-mismatch", "warning",
                f"a softmax output with loss='mse' over {self.sizes[-1]} outputs: the squared "
                "error's gradient through softmax is weak, and nearly zero when a class is "
                "confidently wrong, so learning stalls",
                "use loss='cross_entropy' (fused with softmax) and integer class labels",
            )
        elif out in _UNBOUNDED and loss == "mse" and self.classes:
            extra = (" A ReLU-type output that turns negative for every sample gets no gradient "
                     "at all and stays at 0." if out != "identity" else "")
            self.add(
                "loss-output-mismatch", "warning",
                f"the targets are 0/1 classes ({int(Y.sum())} ones, {int(Y.size - Y.sum())} "
                f"zeros) but the output is {out} with loss='mse': its outputs are not confined "
                "to [0, 1] and the loss keeps pulling correct but confident outputs back."
                + extra,
                "use output_activation='sigmoid' with loss='bce' (or softmax with "
                "loss='cross_entropy' for one class out of several)",
            )
        elif (out in ("sigmoid", "tanh", "softmax") and "loss-output-mismatch" not in
              self.findings and self.looks_like_regression(Y)):
            self.add(
                "loss-output-mismatch", "info",
                f"the targets look like regression values ({np.unique(Y).size} distinct values "
                f"from {Y.min():.4g} to {Y.max():.4g}) with a {out} output: they are within "
                "its range, but values near its ends need saturated units, which learn slowly",
                "for regression use output_activation='identity' and standardised targets",
            )
        elif (loss == "bce" and Y.shape[1] > 1 and self.classes
              and np.allclose(Y.sum(axis=1), 1.0)):
            self.add(
                "loss-output-mismatch", "info",
                f"every target row is one-hot over {Y.shape[1]} outputs, but sigmoid + bce "
                "treats the outputs as independent yes/no questions",
                "for one class out of several use output_activation='softmax' with "
                "loss='cross_entropy'",
            )

    def check_target_scale(self) -> None:
        if self.loss_name != "mse" or self.out_name not in _UNBOUNDED or self.classes:
            return
        Y = self.Y.astype(np.float64)
        mean, std = Y.mean(axis=0), Y.std(axis=0)
        rms = np.sqrt(mean**2 + std**2)
        bad = np.flatnonzero((rms > UNSCALED_TARGETS) | ((std > 0) & (np.abs(mean) >
                                                                     UNSCALED_OFFSET * std)))
        if bad.size == 0:
            return
        j = bad[np.argmax(rms[bad])]
        self.add(
            "unscaled-targets", "warning",
            f"{bad.size} of {Y.shape[1]} target columns are far from zero mean and unit scale: "
            f"column {j} has mean {mean[j]:.4g} and std {std[j]:.4g}. The output weights must "
            "grow to that scale, which takes many steps, and the loss is dominated by it",
            "standardise the targets, y_s = (y - y.mean(axis=0)) / y.std(axis=0), train on "
            "y_s, and predict with net.predict(X) * y.std(axis=0) + y.mean(axis=0)",
        )

    def constant_loss(self) -> float:
        """The loss of the best constant prediction (the mean target, as probabilities)."""
        Y, c = self.Y, self.c
        p = (Y * c).sum(axis=0) if isinstance(c, np.ndarray) else Y.mean(axis=0)
        p = np.broadcast_to(p, Y.shape)
        if self.loss_name == "mse":
            Z = A = p
        else:
            A = np.clip(p, 1e-12, 1 - 1e-12)
            Z = np.log(A / (1 - A)) if self.loss_name == "bce" else np.log(A)
        return float(self.net.loss_function.value(Z, A, Y, c))

    # -- the network ---------------------------------------------------------------------------
    def check_symmetry(self, net: Network) -> None:
        parts = []
        for i, (layer, after) in enumerate(zip(net.layers[:-1], net.layers[1:], strict=True)):
            if layer.n_out < 2:
                continue
            key = np.concatenate([layer.weights.T, layer.bias[:, None], after.weights], axis=1)
            # equal up to float32 precision: rounding differences of identical units vanish
            _, groups, counts = np.unique(key.astype(np.float32), axis=0,
                                          return_inverse=True, return_counts=True)
            twins = int(counts[counts > 1].sum())
            if twins:
                parts.append(
                    f"{twins} of {layer.n_out} hidden units in layer {i + 1} are copies of each "
                    f"other ({len(counts)} distinct unit(s) left; incoming weights e.g. "
                    f"{_vector(layer.weights[:, int(np.argmax(counts[groups]))])})")
        if parts:
            self.add(
                "symmetric-units", "error",
                "; ".join(parts) + ". Units with identical incoming and outgoing weights get "
                "identical gradients and stay identical forever, so the layer works like fewer "
                "units",
                "initialise weights at random: Network(..., init='auto'); never start all "
                "weights at the same constant such as 0",
            )

    def check_units(self, net: Network, when: str) -> None:
        layers = net.layers
        forward(layers, self.X)
        saturated, dead, dead_share = [], [], 0.0
        for i, layer in enumerate(layers):
            name = activation_name(layer.activation)
            output = i == len(layers) - 1
            where = "the output layer" if output else f"layer {i + 1}"
            kind = "output units" if output else "hidden units"
            Z = layer.Z
            if name in SATURATION_Z and not (output and self.loss_name != "mse"):
                z = SATURATION_Z[name]
                share = (np.abs(Z) > z).mean(axis=0)
                units = share >= SATURATED_SAMPLES
                if units.sum() >= max(1, SATURATED_UNITS * layer.n_out):
                    saturated.append(
                        f"{units.sum()} of {layer.n_out} {kind} in {where} are saturated "
                        f"(|z| > {z:g}) on {share[units].mean():.0%} of samples")
            if name == "relu":
                units = (Z <= 0).all(axis=0)
                if units.any():
                    dead.append(f"{units.sum()} of {layer.n_out} ReLU {kind} in {where}")
                    dead_share = max(dead_share, float(units.mean()))
        if saturated:
            self.add(
                # at the start saturation is a cause; after a failed probe mostly a symptom
                "saturated-units", "warning" if when != "after the probe training" else "info",
                f"{when}, " + "; ".join(saturated) + ": there the derivative is under 7% of its "
                "maximum, so their gradients vanish and they barely learn",
                "standardise the inputs and use init='auto' (Glorot), which keeps |z| near 1"
                + ("" if when == "at the start" else
                   "; lower the learning rate, large steps drive units into saturation"),
            )
        if dead:
            self.add(
                "dead-units",
                "error" if dead_share == 1 else "warning" if dead_share >= DEAD_UNITS else "info",
                f"{when}, " + "; ".join(dead) + f" are inactive (z <= 0) on all {self.n} "
                "samples: they output 0, get no gradient and never recover"
                + (", so the layer passes nothing on" if dead_share == 1 else ""),
                "use init='auto' (He) with standardised inputs and a smaller learning rate, "
                "or activation='leaky_relu', whose units cannot die",
            )

    def errors_and_grads(self, net: Network) -> tuple[list[float], list[float]]:
        """RMS of the error ``dL/dz`` and ``||dW||`` per layer, by backpropagation."""
        layers, out = net.layers, net.layers[-1]
        forward(layers, self.X)
        dZ = net.loss_function.delta(out.Z, out.A, self.Y, self.c, out.activation)
        rms = [float(np.sqrt(np.mean(dZ * dZ)))]
        for i in range(len(layers) - 1, 0, -1):
            dZ = layers[i - 1].error_from_output_gradient(dZ @ layers[i].weights.T)
            rms.append(float(np.sqrt(np.mean(dZ * dZ))))
        grads = backward(layers, net.loss_function.delta(out.Z, out.A, self.Y, self.c,
                                                         out.activation))
        return rms[::-1], [float(np.linalg.norm(dW)) for dW, _ in grads]

    def check_gradient_flow(self) -> None:
        if len(self.net.layers) < 2:
            return
        if any(not np.any(layer.weights) for layer in self.net.layers):
            return  # all-zero weights carry nothing back yet: symmetric-units says why
        rms, norms = self.errors_and_grads(self.net)
        listed = (f"rms dL/dz per layer, first to output: {_vector(rms)}; "
                  f"||dW|| per layer: {_vector(norms)}")
        if not np.isfinite(rms).all() or not np.isfinite(norms).all():
            self.add("exploding-gradients", "error",
                     f"the gradients are not finite at the start ({listed})",
                     "scale the inputs and targets, and use init='auto'")
            return
        if rms[-1] == 0:
            return
        ratio = rms[0] / rms[-1]
        if ratio < VANISHING and not self.has("saturated-units", "dead-units"):
            shrinks = f"shrinks {1 / ratio:.3g}x" if ratio > 0 else "vanishes"
            self.add(
                "vanishing-gradients", "warning",
                f"the error signal {shrinks} on its way back from the output to layer 1 "
                f"({listed}): the first layers barely learn",
                "use fewer layers, or activation='relu'/'leaky_relu' with init='auto' for deep "
                "nets, or activation='tanh' instead of 'sigmoid'; standardise the inputs",
            )
        elif ratio > EXPLODING:
            self.add(
                "exploding-gradients", "warning",
                f"the error signal grows {ratio:.3g}x on its way back from the output to layer "
                f"1 ({listed}): steps that suit the output layer blow up the first layers",
                "use init='auto' (weights scaled to the layer sizes) and fewer or narrower "
                "layers; lower the learning rate",
            )

    def check_constant_output(self, net: Network, when: str) -> bool:
        A = forward(net.layers, self.X)
        spread = A.std(axis=0)
        target = self.Y.std(axis=0)
        ratio = float((spread / np.maximum(target, 1e-30)).max())
        if ratio >= CONSTANT_SPREAD or self.fits(net):
            return False
        shown = _vector(A.mean(axis=0))
        self.add(
            "constant-output", "error",
            f"{when} the network outputs almost the same value for every input: about {shown} "
            f"for all {self.n} samples (output std {_vector(spread)} vs target std "
            f"{_vector(target)}, ratio {ratio:.2g}): it ignores its input",
            "see the other findings for the cause; usual ones are too few units, saturated or "
            "identical units, and too few updates",
        )
        return True

    # -- loss curves -----------------------------------------------------------------------------
    def check_history(self, h: History, net: Network, source: str, fitted: bool | None = None,
                      updates_per_epoch: int | None = None) -> None:
        loss = np.asarray(h.loss, dtype=np.float64)
        if loss.size == 0:
            return
        if fitted is None:
            fitted = self.fits(net)
        if updates_per_epoch is None:
            updates_per_epoch = self.batches
        first = loss[0]
        finite = loss[np.isfinite(loss)]
        if h.stopped_because == "diverged" or finite.size < loss.size:
            bad = int(np.argmax(~np.isfinite(loss))) if finite.size < loss.size else loss.size
            self.add(
                "learning-rate-too-high", "error",
                f"in {source} the loss diverged (became NaN or inf) after {bad} epoch(s), "
                f"from {first:.4g}: the steps overshoot and grow",
                self.lower_rate_hint(),
            )
            return
        if loss.max() > DIVERGING * abs(first) and loss[-1] > first:
            self.add(
                "learning-rate-too-high", "error",
                f"in {source} the loss grew from {first:.4g} to {loss.max():.4g} in "
                f"{int(np.argmax(loss))} epoch(s) and ended at {loss[-1]:.4g}: the steps "
                "overshoot and grow",
                self.lower_rate_hint(),
            )
            return
        up = np.diff(loss) > 1e-3 * np.abs(loss[:-1])
        early = up[: max(8, up.size // 4)]
        rises = max(float(up.mean()), float(early.mean())) if up.size else 0.0
        tail = loss[-max(1, loss.size // 4):].min()
        stuck = tail > 0.9 * first
        worse = loss[-1] > 1.2 * first
        ratios = np.asarray(h.update_ratios, dtype=np.float64)
        jumps = (float(np.median(ratios[:10].max(axis=1))) / updates_per_epoch
                 if ratios.ndim == 2 and ratios.size else 0.0)
        if not fitted and loss.size >= MIN_CURVE and stuck and (
                rises >= OSCILLATING or worse or loss.max() > 2 * first or jumps > BIG_UPDATE):
            how = "ended higher than it started" if worse else "went nowhere"
            self.add(
                "learning-rate-too-high", "warning",
                f"in {source} the loss {how} (start {first:.4g}, peak {loss.max():.4g}, end "
                f"{loss[-1]:.4g}): it rose in {up.sum()} of {up.size} epochs, and each of the "
                f"first updates changed the weights by "
                f"{jumps:.0%} of their size: the steps overshoot",
                self.lower_rate_hint(),
            )
        grads = np.asarray(h.gradient_norms, dtype=np.float64)
        if grads.ndim == 2 and grads.size:
            self.check_gradient_history(grads, loss, source)
        progress = (first - loss.min()) / max(abs(first), 1e-300)
        if (not fitted and ratios.ndim == 2 and ratios.size and progress < SLOW_PROGRESS
                and not self.has("vanishing-gradients", "saturated-units", "dead-units",
                                 "symmetric-units", "learning-rate-too-high")
                and grads.size and np.nanmax(grads) > 0):
            per_update = float(np.median(ratios.max(axis=1))) / updates_per_epoch
            if per_update < SLOW_UPDATE:
                self.add(
                    "learning-rate-too-low", "warning",
                    f"in {source} the loss barely moved, from {first:.4g} to {loss[-1]:.4g} "
                    f"({progress:.2%}) in {loss.size} epochs, while the gradients are healthy "
                    f"(||dW|| up to {np.nanmax(grads):.3g}) and each update changed the weights "
                    f"by only {per_update:.2g} of their size",
                    self.raise_rate_hint(),
                )
        if (source == "your training run" and not fitted and loss.size >= 2
                and h.stopped_because in ("epochs done", "max_epochs")):
            k = max(1, loss.size // 5)
            falling = (loss[-k - 1] - loss[-1]) / max(abs(loss[-k - 1]), 1e-300)
            updates = loss.size * updates_per_epoch
            if falling > SLOW_PROGRESS or (updates < FEW_UPDATES and falling > 0):
                self.add(
                    "too-few-updates", "warning",
                    f"{source} stopped after {loss.size} epochs ({updates} weight updates, "
                    f"{h.stopped_because}) without fitting the training set, while the loss was "
                    "still falling: "
                    f"{falling:.1%} over the last {k} epoch(s), to {loss[-1]:.4g}",
                    "train longer: fit(..., epochs=None) trains until the targets are met or "
                    "the loss stops improving",
                )

    def check_gradient_history(self, grads: Array, loss: Array, source: str) -> None:
        if not np.isfinite(grads).all():
            self.add("exploding-gradients", "error",
                     f"in {source} the gradient norms became NaN or inf",
                     "scale the inputs and targets, use init='auto', lower the learning rate")
            return
        if grads.shape[1] >= 3:
            last = np.maximum(grads[:, -1], 1e-300)
            ratio = float(np.median(grads[:, 0] / last))
            if ratio < HISTORY_VANISHING and grads[:, -1].max() > 0:
                self.add(
                    "vanishing-gradients", "warning",
                    f"in {source} the first layer's gradient norm was {ratio:.2g} of the last "
                    f"layer's (median over {grads.shape[0]} epochs; last epoch per layer: "
                    f"{_vector(grads[-1])}): the first layers barely learn",
                    "use fewer layers, tanh or leaky_relu with init='auto', and standardised "
                    "inputs",
                )
        total = np.sqrt((grads * grads).sum(axis=1))
        growth = float(total.max() / max(total[0], 1e-300))
        if (growth > EXPLODING and loss.min() > 0.5 * loss[0]
                and not self.has("learning-rate-too-high")):
            self.add(
                "exploding-gradients", "warning",
                f"in {source} the gradient norms grew {growth:.3g}x (per layer, first epoch: "
                f"{_vector(grads[0])}; largest: {_vector(grads.max(axis=0))}) while the loss did "
                "not halve",
                "lower the learning rate, scale inputs and targets, use init='auto'",
            )

    def lower_rate_hint(self) -> str:
        rate = self.kwargs.get("learning_rate")
        opt = self.kwargs.get("optimizer", "auto")
        if isinstance(opt, Optimizer):
            rate = opt.learning_rate
        if rate is None:
            return ("pass a smaller learning rate, e.g. learning_rate=0.01 (for optimizer='auto' "
                    "the initial step of Rprop, or Adam's rate for mini-batches), and scale the "
                    "inputs and targets")
        return (f"lower the learning rate (e.g. learning_rate={rate / 10:g} instead of "
                f"{rate:g}), or use optimizer='auto'; scale the inputs and targets")

    def raise_rate_hint(self) -> str:
        rate = self.kwargs.get("learning_rate")
        if rate is None:
            return ("raise the learning rate tenfold or more, or use optimizer='auto' (Rprop "
                    "adapts its step sizes)")
        return (f"raise the learning rate (e.g. learning_rate={rate * 100:g} instead of "
                f"{rate:g}), or use optimizer='auto' (Rprop adapts its step sizes)")

    # -- fit quality -----------------------------------------------------------------------------
    def fits(self, net: Network) -> bool:
        """Whether ``net`` fits the training set."""
        return bool(self.quality(net.layers)[1][0])

    def quality(self, layers) -> tuple[Array, Array]:
        """Per copy (of stacked layers, or of one net): training loss, and whether it fits."""
        loss, met = evaluate(self.net, layers, self.X, self.Y, self.c,
                             tolerance=0.5 if self.classes else None)
        fitted = met if self.classes else loss <= FITTED_LOSS * self.baseline
        finite = np.isfinite(loss)
        return np.where(finite, loss, np.inf), fitted & finite

    # -- probes ----------------------------------------------------------------------------------
    def epochs_for(self, probe: str, copies: int, net: Network | None = None) -> int:
        """Epochs that take about ``PROBE_SECONDS[probe]`` for ``copies`` copies (an estimate
        from the sizes, so that the result does not depend on the machine's speed)."""
        affordable = PROBE_SECONDS[probe] / self.seconds_per_epoch(copies, net)
        return int(np.clip(affordable, self.fewest_epochs(), PROBE_EPOCHS[probe]))

    def seconds_per_epoch(self, copies: int, net: Network | None = None) -> float:
        """A rough estimate of one epoch's time (measured on a laptop core)."""
        params = self.n_params if net is None else net.n_parameters
        layers = len(self.sizes) - 1
        return (1.5e-4 + 2e-5 * layers + 4.5e-5 * layers * self.batches * (self.batches > 1)
                + 4e-9 * self.n * params * copies)

    def fewest_epochs(self) -> int:
        """10 epochs, or 200 updates' worth if that is fewer."""
        return max(1, min(10, -(-200 // self.batches)))

    def train(self, net: Network, settings: str = "user", collect: bool = False,
              **overrides) -> tuple[History, _ReplicaResults | None]:
        kwargs = dict(self.kwargs) if settings == "user" else {
            k: v for k, v in self.kwargs.items() if k in ("weight_decay", "sample_weight")}
        if isinstance(kwargs.get("optimizer"), Optimizer):
            kwargs["optimizer"] = copy.deepcopy(kwargs["optimizer"])
        kwargs.update(overrides)
        recorder = _ReplicaResults(self, overrides.get("epochs")) if collect else None
        history = net.fit(self.X, self.Y, callbacks=(recorder,) if recorder else (), **kwargs)
        return history, recorder

    def probe(self) -> None:
        user_restarts = self.kwargs.get("restarts")
        copies = 1 if user_restarts is None else int(user_restarts)
        budget = self.epochs_for("yours", copies)
        epochs = self.kwargs.get("epochs")
        truncated = epochs is not None and epochs > budget
        first = self.net.copy()
        if epochs is None:
            cap = self.kwargs.get("max_epochs")
            capped_by_user = cap is not None and cap <= budget
            history, _ = self.train(first, restarts=copies,
                                    max_epochs=cap if capped_by_user else budget)
            limited_by_user = capped_by_user and history.stopped_because == "max_epochs"
        else:
            history, _ = self.train(first, restarts=copies, epochs=min(epochs, budget))
            limited_by_user = not truncated
        self.stalled = history.stopped_because == "converged"
        losses, fits = self.quality(first.layers)
        fitted = bool(fits[0])
        learned = fitted or losses[0] <= TOO_SMALL_LOSS * self.baseline
        if truncated:
            self.add("probe-truncated", "info",
                     f"the probe ran {budget} of your {epochs} epochs to stay quick; findings "
                     "about the end of training come from the other probes",
                     "nothing to fix; pass history=net.fit(...) to check a full run")
        self.check_history(history, first, "the probe with your settings", fitted)
        if not learned:
            self.check_units(first, when="after the probe training")
            if not truncated:
                self.check_constant_output(first, "after the probe with your settings,")
        if not fitted and limited_by_user and history.stopped_because != "diverged":
            self.check_more_updates(first, history)
        self.check_seeds()

    def check_more_updates(self, trained: Network, history: History) -> None:
        before = history.loss[-1] if history.loss else np.inf
        more = self.epochs_for("more", 1)
        h2, _ = self.train(trained, restarts=1, epochs=None, max_epochs=more)
        self.stalled |= h2.stopped_because == "converged"
        after = h2.loss[-1] if h2.loss else np.inf
        fitted = self.fits(trained)
        gain = before - after
        if fitted or (after <= CONTINUED * before and gain >= 0.1 * self.baseline):
            updates = history.epochs * self.batches
            self.add(
                "too-few-updates", "warning",
                f"your settings stop after {history.epochs} epoch(s) ({updates} weight "
                f"update(s)) with the loss at {before:.4g} (a constant prediction gives "
                f"{self.baseline:.4g}); continuing the same training for {h2.epochs} more "
                f"epochs brought it to {after:.4g}"
                + (" and fitted the training set" if fitted else ""),
                "train longer: fit(..., epochs=None) trains until the targets are met or the "
                "loss stops improving (or raise epochs/max_epochs)",
            )

    def check_seeds(self) -> None:
        seeds = self.net.copy()
        seeds.rng = np.random.default_rng(20240601)
        self.seeds = SEEDS if self.epochs_for("seeds", SEEDS) >= MIN_CURVE else SEEDS // 2
        cost = self.fewest_epochs() * self.seconds_per_epoch(self.seeds)
        if cost > PROBE_SECONDS["seeds"] * LARGE_PROBLEM:
            self.add(
                "probe-truncated", "info",
                f"the problem is too large to compare {self.seeds} initialisations quickly "
                f"(about {cost:.0f} s estimated), so seed-dependence and network size were not "
                "checked",
                "check a real run instead: diagnose(net, X, y, history=net.fit(X, y))",
            )
            return
        epochs = self.epochs_for("seeds", self.seeds)
        _, record = self.train(seeds, restarts=self.seeds, epochs=epochs, collect=True)
        wins = int(record.fitted.sum())
        stuck = ~record.fitted & (record.losses > TOO_SMALL_LOSS * self.baseline)
        self.seed_summary = (wins, epochs, float(record.losses.min()))
        if wins and stuck.any():
            self.report_seed_dependence(record, stuck, epochs)
        if wins or self.has("symmetric-units", "targets-out-of-range", severity="error"):
            return
        if record.losses.min() <= TOO_SMALL_LOSS * self.baseline:
            return  # it fits reasonably: not a capacity problem
        if not (self.stalled or record.stalled or epochs == PROBE_EPOCHS["seeds"]):
            # still improving when a large problem's probe ran out of time: cannot tell
            if not self.has(*_PROBLEMS):
                self.add(
                    "probe-truncated", "info",
                    f"none of {self.seeds} initialisations fit the training set within the probe's "
                    f"{epochs} epochs (best loss {record.losses.min():.4g}, "
                    f"{record.losses.min() / self.baseline:.0%} of a constant prediction's), "
                    "but the loss was still falling: the probe is too short to tell more",
                    "train with fit(..., epochs=None) and pass history=... to diagnose",
                )
            return
        if self.check_standardised(epochs, float(record.losses.min())):
            return
        self.default_loss: float | None = None
        self.check_capacity(float(record.losses.min()))
        if self.has(*_PROBLEMS):
            return
        best = float(record.losses.min())
        if self.default_loss is not None:
            self.add(
                "not-learning", "warning",
                f"none of {self.seeds} initialisations fit the training set within {epochs} epochs "
                f"with your settings (best loss {best:.4g}, {best / self.baseline:.0%} of a "
                f"constant prediction's {self.baseline:.4g}), but with fit's default settings "
                f"the same network reaches {self.default_loss:.4g}",
                "use fit's defaults: optimizer='auto' without learning_rate and batch_size "
                "(Rprop on the full batch), or tune the learning rate",
            )
        else:
            self.add(
                "not-learning", "warning",
                f"none of {self.seeds} initialisations fit the training set within {epochs} epochs "
                f"with your settings (best loss {best:.4g}, {best / self.baseline:.0%} of a "
                f"constant prediction's {self.baseline:.4g}), and no cause was found",
                "check that X and y belong together (rows in the same order), train longer "
                "with fit(..., epochs=None), or try a larger network",
            )

    def report_seed_dependence(self, record: _ReplicaResults, stuck: Array, epochs: int) -> None:
        wins = int(record.fitted.sum())
        p = 1 - stuck.mean()
        user = self.kwargs.get("restarts")
        if user is None:
            copies = AUTO_RESTARTS if self.n * self.n_params <= SMALL_PROBLEM else 1
        else:
            copies = int(user)
        risk = (1 - p) ** copies
        needed = int(np.ceil(np.log(0.01) / np.log(1 - p)))
        bad = record.losses[stuck]
        good = record.losses[record.fitted]
        how = "fit's default restarts=None" if user is None else f"restarts={copies}"
        self.add(
            "seed-dependent", "warning" if risk > 0.01 else "info",
            f"{wins} of {self.seeds} random initialisations fit the training set within {epochs} "
            f"epochs with your settings and {stuck.sum()} got stuck (final loss "
            f"{np.median(bad):.3g} vs {np.median(good):.3g}, medians; a constant prediction "
            f"gives {self.baseline:.3g}); with {how} ({copies} cop{'y' if copies == 1 else 'ies'}"
            f" for this problem) the chance that every copy gets stuck is "
            + (f"{100 * risk:.2g}%" if risk >= 1e-4 else "below 0.01%"),
            f"train several copies and keep the best: fit(..., restarts={max(needed, 2)}) "
            "(restarts=None does 16 for small problems), or use more hidden units",
        )

    def check_standardised(self, epochs: int, best: float) -> bool:
        """Nothing fits: would the same training fit standardised inputs? Then scaling is why."""
        X = self.X
        mean, std = X.mean(axis=0), X.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        if np.all(np.abs(mean) < 0.5 * std) and np.all((std > 0.5) & (std < 2)):
            return False  # about standard already: scaling is not the cause
        probe = self.net.copy()
        probe.rng = np.random.default_rng(20240604)
        self.X = ((X - mean) / std).astype(X.dtype)
        try:
            _, record = self.train(probe, collect=True, restarts=self.seeds, epochs=epochs)
        finally:
            self.X = X
        scaled = float(record.losses.min())
        if not (record.fitted.any() or best - scaled >= WIDER_GAIN * self.baseline):
            return False
        listed = ", ".join(f"feature {j} (mean {mean[j]:.3g}, std {std[j]:.3g})"
                           for j in range(min(3, X.shape[1])))
        self.add(
            "unscaled-inputs", "warning",
            f"none of {self.seeds} initialisations fit the training set within {epochs} epochs "
            f"with the inputs as they are ({listed}; best loss {best:.4g}), but with the same "
            f"inputs standardised {int(record.fitted.sum())} of {self.seeds} fit (best loss "
            f"{scaled:.4g})",
            "standardise each feature, X = (X - X.mean(axis=0)) / X.std(axis=0), and apply the "
            "same mean and std to new inputs before predicting",
        )
        return True

    def check_capacity(self, best: float) -> None:
        own = best
        defaults = all(self.kwargs.get(k) in (None, "auto") for k in
                       ("optimizer", "learning_rate", "batch_size"))
        if not defaults:
            probe = self.net.copy()
            probe.rng = np.random.default_rng(20240602)
            _, record = self.train(probe, settings="default", collect=True,
                                   restarts=self.seeds,
                                   epochs=self.epochs_for("capacity", self.seeds))
            if record.fitted.any() or record.losses.min() <= TOO_SMALL_LOSS * self.baseline:
                self.default_loss = float(record.losses.min())  # the settings are the problem
                return
            own = min(own, float(record.losses.min()))
        wide = self.wider()
        if wide is None:
            return
        epochs = self.epochs_for("capacity", self.seeds, wide)
        _, record = self.train(wide, settings="default", collect=True, restarts=self.seeds,
                               epochs=epochs)
        fitted = bool(record.fitted.any())
        wide_loss = float(record.losses.min())
        if not (fitted or own - wide_loss >= WIDER_GAIN * self.baseline):
            return
        sizes = "-".join(map(str, self.sizes))
        wide_sizes = "-".join(map(str, wide.sizes))
        self.add(
            "too-small", "error",
            f"the {sizes} network cannot fit even the training set: with good settings the best "
            f"of {self.seeds} initialisations reaches a loss of {own:.4g} "
            f"({own / self.baseline:.0%} of a constant prediction's {self.baseline:.4g}), "
            f"while a {wide_sizes} network "
            f"reaches {wide_loss:.4g} in {epochs} epochs" + (" and fits it" if fitted else ""),
            f"use more hidden units, e.g. Network({list(wide.sizes)}, ...)",
        )

    def wider(self) -> Network | None:
        net = self.net
        hidden = [max(WIDE_UNITS, 4 * s) for s in self.sizes[1:-1]]
        activations = [layer.activation for layer in net.layers[:-1]]
        if not hidden:
            hidden, activations = [WIDE_UNITS], ["tanh"]
        try:
            return Network([self.sizes[0], *hidden, self.sizes[-1]], activation=activations,
                           output_activation=net.output_activation, loss=net.loss_function,
                           init=net.init, seed=20240603, dtype=net.dtype)
        except (ValueError, TypeError):
            return None

    def healthy_message(self, probed: bool) -> str:
        if not probed:
            return "no problems found in the data and the network (no probe training was run)"
        if not hasattr(self, "seed_summary"):
            return "no problems found in the data, the network and a short probe training"
        wins, epochs, best = self.seed_summary
        return (f"no errors or warnings: {wins} of {self.seeds} initialisations fit the training "
                f"set within {epochs} epochs with your settings (best loss {best:.3g}; a "
                f"constant prediction gives {self.baseline:.3g})")


# -- formatting helpers ---------------------------------------------------------------------------
def _num(x: float) -> str:
    return "inf" if x == np.inf else "-inf" if x == -np.inf else f"{x:g}"


def _vector(values) -> str:
    values = np.ravel(np.asarray(values, dtype=np.float64))
    shown = ", ".join(f"{v:.3g}" for v in values[:6])
    more = ", ..." if values.size > 6 else ""
    return shown + more if values.size == 1 else f"[{shown}{more}]"


def _range_hint(name: str, low: float, high: float) -> str:
    if np.isfinite(high):
        return (f"scale the targets into [{_num(low)}, {_num(high)}] (e.g. (y - y.min()) / "
                f"(y.max() - y.min()){' * 2 - 1' if low < 0 else ''}), or for regression use "
                "output_activation='identity'")
    return ("use output_activation='identity' (or 'leaky_relu') for targets below "
            f"{_num(low)}, or shift the targets")
