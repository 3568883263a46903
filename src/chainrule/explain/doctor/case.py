"""The case the doctor's rules examine: the data, the network, a training run, and probes.

Everything a rule needs is computed here once and kept: the checked data and the loss of the
best constant prediction (``baseline``, the yardstick of every loss), the *run* (the learner's
own history, or a probe that repeats their training on a copy), and the probes that compare
initialisations, wider networks and standardised inputs. ``net`` itself is never changed.

What "learned" means depends on the data. A truth table (0/1 targets, every row of a small
domain, no held-out rows) is learned when every output is on the right side of 0.5 (the
questions' problems). Real data is not learned row by row: there a run has learned when its loss
is well below the baseline, and a copy is *stuck* when its loss stopped falling far above the
best copy's, judged on its trend.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...activations import activation_name
from ...callbacks import Callback
from ...network import Network, forward
from ...optimizers import Optimizer
from ...training import AUTO_RESTARTS, SMALL_PROBLEM, History, Training, evaluate
from .findings import RANK, Finding
from .hints import Hints

Array = np.ndarray

TRUTH_TABLE_ROWS = 256  # 0/1 targets, discrete inputs, at most this many rows: a truth table
TRUTH_TABLE_VALUES = 16  # distinct values a column of a truth table's inputs has at most
FITTED_LOSS = 0.05  # loss / baseline below which real data counts as fitted
LEARNED_LOSS = 0.8  # loss / baseline below which a run has learned something
NEAR_LINEAR = 0.02  # ... or within this many baselines of a model without hidden layer's loss
SIGNAL = 0.98  # held-out loss / constant prediction's below which something was learned
STUCK_GAP = 0.25  # a copy is stuck this many baselines above the best copy, not falling
NEAR_BEST = 0.1  # a copy is good within this many baselines of the best
SLOW_PROGRESS = 0.01  # relative loss decrease that counts as "still falling"
SEEDS = 8
# Each probe gets the epochs that take about PROBE_SECONDS (estimated from the sizes, so that
# the result does not depend on the machine's speed), at most PROBE_EPOCHS and at least 10 (or
# 200 updates' worth, if that is fewer):
PROBE_SECONDS = {"yours": 1.0, "more": 0.25, "seeds": 0.6, "capacity": 0.3}
PROBE_EPOCHS = {"yours": 5000, "more": 2000, "seeds": 400, "capacity": 1500}
LARGE_PROBLEM = 4  # skip the seed probe when even its shortest run would exceed this x budget


@dataclass
class Run:
    """A training run the rules read: the learner's, or the probe that repeats it."""

    history: History
    net: Network  # as trained
    source: str  # "your training run" or "the probe with your settings"
    complete: bool  # it ran every epoch the learner asked for
    fitted: bool
    loss_ratio: float  # final training loss / baseline


@dataclass
class Copies:
    """Copies trained together in a probe: the loss curve of each, and how each ended."""

    losses: Array  # final training loss of each copy
    fitted: Array  # bool, per copy
    curves: Array  # (epochs recorded, copies): training loss along the way
    epochs: int
    moved: Array  # per copy: ||theta_end - theta_start|| / ||theta_start||, per update

    @property
    def lowest(self) -> Array:
        """The lowest loss each copy reached along the way (a copy that learned and then
        jumped away late, as steps of Rprop past convergence can, still learned)."""
        if not len(self.curves):
            return self.losses
        return np.minimum(self.curves.min(axis=0), self.losses)

    def falling(self) -> Array:
        """Which copies were still improving in the last quarter of the run."""
        if len(self.curves) < 4:
            return np.zeros(self.losses.shape, dtype=bool)
        earlier = self.curves[(3 * len(self.curves)) // 4 - 1]
        return self.losses < (1 - SLOW_PROGRESS) * earlier


class _Recorder(Callback):
    """Records the loss of every copy along the run (at most ~100 times) and at its end."""

    def __init__(self, case: Case, epochs: int | None) -> None:
        self.case = case
        self.every = 1 if epochs is None else max(1, epochs // 100)
        self.curves: list[Array] = []
        self.result: Copies | None = None
        self.epoch = 0
        self.start: Array | None = None

    def on_train_begin(self, training: Training) -> None:
        self.start = training.params.copy()

    def on_epoch_end(self, training: Training, epoch: int, logs: dict[str, float]) -> None:
        self.epoch = epoch + 1
        if epoch % self.every == 0:
            self.curves.append(self.case.quality(training.layers)[0])

    def on_train_end(self, training: Training) -> None:
        losses, fitted = self.case.quality(training.layers)
        curves = np.array(self.curves) if self.curves else np.zeros((0, losses.size))
        change = np.linalg.norm(training.params - self.start, axis=1) / np.maximum(
            np.linalg.norm(self.start, axis=1), 1e-30)
        updates = max(1, self.epoch * self.case.batches)
        self.result = Copies(losses, fitted, curves, self.epoch, change / updates)


@dataclass
class Case:
    """The facts of one diagnosis, the findings so far, and the probes (run on demand)."""

    net: Network
    X_raw: Any
    y_raw: Any
    history: History | None
    kwargs: dict
    hints: Hints
    probing: bool
    probe_asked: bool | None = None
    findings: dict[str, Finding] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.net = self.net.copy()  # every forward pass runs on copies: net keeps its caches
        self.validation_data = self.kwargs.pop("validation_data", None)
        self.kwargs.pop("callbacks", None)
        self.sizes = list(self.net.sizes)
        self.loss_name = self.net.loss_function.name
        self.out_name = activation_name(self.net.output_activation)
        self.X = self.net.check_inputs(self.X_raw)

    # -- findings ----------------------------------------------------------------------------
    def check(self, rule: Any) -> None:
        """Run one rule; it may report only its own codes."""
        self.rule = rule
        try:
            rule.check(self)
        finally:
            self.rule = None

    def add(self, code: str, severity: str, message: str, hint: str) -> None:
        """Record a finding; one per code, the most severe kept."""
        rule = getattr(self, "rule", None)
        if rule is not None and code not in rule.codes:
            raise AssertionError(f"rule {rule.check.__name__} reported {code}, not one of "
                                 f"its codes {rule.codes}")
        old = self.findings.get(code)
        if old is None or RANK[severity] < RANK[old.severity]:
            self.findings[code] = Finding(code, severity, message, hint)

    def has(self, *codes: str, severity: str = "warning") -> bool:
        """Whether a finding with one of ``codes`` and at least ``severity`` was made."""
        return any(c in self.findings and RANK[self.findings[c].severity] <= RANK[severity]
                   for c in codes)

    # -- data ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Check the targets against the loss; derive what every rule measures against."""
        _, self.Y, self.c = self.net.check_data(self.X, self.y_raw, self.kwargs.get(
            "sample_weight"))
        self.n = self.X.shape[0]
        Y = self.Y
        self.classes = bool(np.isin(Y, (0.0, 1.0)).all() and np.unique(Y).size == 2)
        self.truth_table = (self.classes and self.n <= TRUTH_TABLE_ROWS
                            and self.validation_data is None and all(
                                np.unique(column).size <= TRUTH_TABLE_VALUES
                                for column in self.X.T))
        self.baseline = self.constant_loss(Y, self.c)
        batch_size = self.kwargs.get("batch_size")
        self.batch = self.n if batch_size is None else max(1, min(int(batch_size), self.n))
        self.batches = -(-self.n // self.batch)
        self.n_params = self.net.n_parameters
        self.validation = None
        if self.validation_data is not None:
            Xv, yv = self.validation_data
            self.validation = self.net.check_data(Xv, yv)

    def constant_loss(self, Y: Array, c: float | Array, prediction: Array | None = None) -> float:
        """The loss of the best constant prediction (the mean target, as probabilities), or of
        the constant ``prediction`` (e.g. the training rows' mean, on held-out rows)."""
        if prediction is not None:
            p = prediction
        else:
            p = (Y * c).sum(axis=0) if isinstance(c, np.ndarray) else Y.mean(axis=0)
        p = np.broadcast_to(p, Y.shape)
        if self.loss_name == "mse":
            Z = A = p
        else:
            A = np.clip(p, 1e-12, 1 - 1e-12)
            Z = np.log(A / (1 - A)) if self.loss_name == "bce" else np.log(A)
        return float(self.net.loss_function.value(Z, A, Y, c))

    def quality(self, layers) -> tuple[Array, Array]:
        """Per copy (of stacked layers, or of one net): training loss, and whether it fits."""
        loss, met = evaluate(self.net, layers, self.X, self.Y, self.c,
                             tolerance=0.5 if self.truth_table else None)
        fitted = met if self.truth_table else loss <= FITTED_LOSS * self.baseline
        finite = np.isfinite(loss)
        return np.where(finite, loss, np.inf), fitted & finite

    def fits(self, net: Network) -> bool:
        return bool(self.quality(net.layers)[1][0])

    # -- training --------------------------------------------------------------------------------
    @property
    def default_copies(self) -> int:
        """Copies ``fit(restarts=None)`` trains for this problem."""
        return AUTO_RESTARTS if self.n * self.n_params <= SMALL_PROBLEM else 1

    @property
    def user_copies(self) -> int:
        restarts = self.kwargs.get("restarts")
        return self.default_copies if restarts is None else int(restarts)

    def seconds_per_epoch(self, copies: int, net: Network | None = None) -> float:
        """A rough estimate of one epoch's time (measured on a laptop core)."""
        params = self.n_params if net is None else net.n_parameters
        layers = len(self.sizes) - 1
        return (1.5e-4 + 2e-5 * layers + 4.5e-5 * layers * self.batches * (self.batches > 1)
                + 4e-9 * self.n * params * copies)

    def fewest_epochs(self) -> int:
        """10 epochs, or 200 updates' worth if that is fewer."""
        return max(1, min(10, -(-200 // self.batches)))

    def epochs_for(self, probe: str, copies: int, net: Network | None = None) -> int:
        """Epochs that take about ``PROBE_SECONDS[probe]`` for ``copies`` copies."""
        affordable = PROBE_SECONDS[probe] / self.seconds_per_epoch(copies, net)
        return int(np.clip(affordable, self.fewest_epochs(), PROBE_EPOCHS[probe]))

    def budgeted_settings(self) -> dict:
        """The learner's fit settings, their epochs capped at the probe's budget (as the probe
        that repeats their training caps them)."""
        settings = dict(self.kwargs)
        budget = self.epochs_for("yours", self.user_copies)
        if settings.get("epochs") is None:
            settings["max_epochs"] = min(settings.get("max_epochs") or budget, budget)
        else:
            settings["epochs"] = min(int(settings["epochs"]), budget)
        return settings

    def train(self, net: Network, settings: str = "user", record: bool = False,
              **overrides) -> tuple[History, Copies | None]:
        """Train ``net`` with the learner's settings (or fit's defaults), plus ``overrides``."""
        kwargs = dict(self.kwargs) if settings == "user" else {
            k: v for k, v in self.kwargs.items() if k in ("weight_decay", "sample_weight")}
        if isinstance(kwargs.get("optimizer"), Optimizer):
            kwargs["optimizer"] = copy.deepcopy(kwargs["optimizer"])
        kwargs.update(overrides)
        if self.validation_data is not None and "validation_data" not in kwargs and \
                settings == "user" and not record:
            kwargs["validation_data"] = self.validation_data
        recorder = _Recorder(self, overrides.get("epochs")) if record else None
        history = net.fit(self.X, self.Y, callbacks=(recorder,) if recorder else (), **kwargs)
        return history, recorder.result if recorder else None

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> Run | None:
        """The learner's run (``history=``), or a probe repeating their training on a copy."""
        if "run" in self.cache:
            return self.cache["run"]
        result = None
        if self.history is not None:
            result = self._run_of(self.history, self.net, "your training run", True)
        elif self.probing:
            result = self._probe_run()
        self.cache["run"] = result
        return result

    def start_net(self) -> Network:
        """The network as training starts: as given, or (given a trained one, with its
        ``history``) a copy with its weights drawn again by its initialiser."""
        if self.history is None:
            return self.net
        if "start net" not in self.cache:
            net = self.net.copy()
            net.rng = np.random.default_rng(20240607)
            net.initialize(net.layers)
            self.cache["start net"] = net
        return self.cache["start net"]

    def learned_loss(self, loss: float) -> bool:
        """Real data: a training loss well below a constant prediction's, or as low as a
        network without hidden layer gets when the inputs tell that much (weak signal: they
        tell little, and that little was learned)."""
        if loss <= LEARNED_LOSS * self.baseline:
            return True
        linear = self.linear_loss()
        chance = (self.sizes[0] + 1) / self.n  # what a linear fit gains on noise, in-sample
        return linear <= (1 - chance - NEAR_LINEAR) * self.baseline and \
            loss <= linear + NEAR_LINEAR * self.baseline

    def run_learned(self) -> bool:
        """Whether the run learned: fitted a truth table, or got real data's loss (or, with
        validation data, the held-out loss) well below a constant prediction's."""
        run = self.run()
        if run is None or self.truth_table:
            return run is not None and run.fitted
        if self.validation is not None:
            return self.held_out_ratio(run.net) < SIGNAL
        return self.learned_loss(run.loss_ratio * self.baseline)

    def held_out_ratio(self, net: Network) -> float:
        """``net``'s loss on the validation rows / a constant prediction's (the training
        rows' mean) there."""
        Xv, Yv, cv = self.validation
        constant = self.constant_loss(Yv, cv, self.Y.mean(axis=0))
        return float(net.loss(Xv, Yv)) / max(constant, 1e-300)


    def linear_loss(self) -> float:
        """The training loss of a network without hidden layer (a linear or logistic model),
        trained with fit's defaults: what the inputs give without any hidden unit."""
        if "linear" not in self.cache:
            net = self.net
            try:
                linear = Network([self.sizes[0], self.sizes[-1]],
                                 output_activation=net.output_activation,
                                 loss=net.loss_function, seed=20240606, dtype=net.dtype)
                linear.fit(self.X, self.Y, restarts=1, max_epochs=self.epochs_for(
                    "capacity", 1, linear), **{k: v for k, v in self.kwargs.items()
                                               if k == "sample_weight"})
                self.cache["linear"] = float(self.quality(linear.layers)[0][0])
            except (ValueError, TypeError):
                self.cache["linear"] = -np.inf
        return self.cache["linear"]

    def rows_right(self, net: Network) -> int:
        """Truth tables: rows whose every output is on the right side of 0.5."""
        return int(np.all((forward(net.layers, self.X) > 0.5) == (self.Y > 0.5), axis=1).sum())

    def _run_of(self, history: History, net: Network, source: str, complete: bool) -> Run:
        losses, fits = self.quality(net.layers)
        return Run(history, net, source, complete, bool(fits[0]),
                   float(losses[0] / max(self.baseline, 1e-300)))

    def _probe_run(self) -> Run:
        """Your settings on a copy: your epochs where affordable, your copies (restarts)."""
        copies = self.user_copies
        budget = self.epochs_for("yours", copies)
        epochs = self.kwargs.get("epochs")
        probe = self.net.copy()
        if epochs is None:
            cap = self.kwargs.get("max_epochs")
            history, _ = self.train(probe, max_epochs=budget if cap is None else min(cap,
                                                                                    budget))
            complete = history.stopped_because != "max_epochs" or (cap is not None and
                                                                    cap <= budget)
        else:
            history, _ = self.train(probe, epochs=min(int(epochs), budget))
            complete = epochs <= budget
        self.cache["probe epochs"] = (history.epochs, epochs)
        return self._run_of(history, probe, "the probe with your settings", complete)

    def copies(self, name: str, net: Network, **settings) -> Copies:
        """A probe of several copies trained together, recorded per copy (cached by name)."""
        if name not in self.cache:
            self.cache[name] = self.train(net, record=True, **settings)[1]
        return self.cache[name]
