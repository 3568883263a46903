"""The playground's state: one training run at a time, on its own thread, driven by the page.

Training goes through the public API only: ``Network.fit`` with a callback. A run with ``K > 1``
copies starts with one ``fit(epochs=None, restarts=K)`` (the copies race from different initial
weights and the best is kept, as ``fit`` does by default); then, and for ``K = 1`` from the start,
the network trains on in chunks of ``fit(epochs=N)`` with one kept optimizer object, whose state
carries over from chunk to chunk. The callback (:class:`_Reporter`) records the losses, publishes
what the page shows at most :data:`MAX_UPDATES` times a second, and holds training while the page
has paused it, so that pause, play and "one epoch" never stop and restart ``fit``.

The page's requests only change flags under a lock and read the latest published state; they
never wait for training, which runs on its own thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..callbacks import Callback
from ..optimizers import get_optimizer
from . import views
from .problems import PlaygroundData, load_problem, problem_names
from .settings import Settings, SettingsError, build_network, default_settings, parse_settings
from .worked import difference_from_gradients, worked_pass

MAX_UPDATES = 30  # states published (and pushed to the page) per second, at most
CHUNK_SECONDS = 0.5  # length of one fit(epochs=N) chunk after the race
VIEW_SHARE = 0.2  # drawing the page's state takes at most this share of the training thread
DOCTOR_EVERY = 2.0  # seconds between the doctor's looks at the run
SERIES_POINTS = 1000  # points kept per curve (halved, every other one, when full)
STOPPED = "stopped by the page"
FINISHED = {"targets met": "Targets met: every output is within 0.1 of its target",
            "converged": "Converged: the loss stopped improving"}


class Series:
    """A curve that keeps at most ``limit`` points of an unbounded run: when full, every other
    point is dropped and from then on only every ``stride``-th new point is kept."""

    def __init__(self, limit: int = SERIES_POINTS) -> None:
        self.limit, self.stride, self.count = limit, 1, 0
        self.x: list[int] = []
        self.y: list[Any] = []

    def due(self) -> bool:
        """Whether the next point will be kept (so that it need not be computed otherwise)."""
        return self.count % self.stride == 0

    def add(self, x: int, y: Any) -> None:
        if self.due():
            self.x.append(x)
            self.y.append(y)
            if len(self.x) >= self.limit:
                self.x, self.y, self.stride = self.x[::2], self.y[::2], self.stride * 2
        self.count += 1

    def to_json(self) -> dict[str, list]:
        return {"x": list(self.x), "y": list(self.y)}


class Run:
    """One run: a network from one set of settings, trained from epoch 0."""

    def __init__(self, number: int, data: PlaygroundData, settings: Settings) -> None:
        self.number, self.data, self.settings = number, data, settings
        self.net = build_network(settings, data)
        self.template = self.net.copy()  # untrained: for building networks from weights
        self.display = self.net.copy()  # what the page is drawn from (training thread only)
        self.box = views.input_box(data)
        self.grid = views.grid_inputs(self.box) if "map" in data.views else None
        full_batch = settings.batch_size is None or settings.batch_size >= len(data.X)
        self.optimizer = get_optimizer(settings.optimizer, settings.learning_rate, full_batch)
        self.race_pending = settings.restarts > 1
        self.keep_going = False  # fit's stopping rules have stopped training once
        self.race: dict[str, Any] | None = None
        self.thread: threading.Thread | None = None
        self.doctor: threading.Thread | None = None  # the examination before training
        self.playing = False
        self.budget = 0  # epochs still to run for "one epoch"
        self.stop = False
        self.waiting = False  # held by the page (paused between epochs)
        self.status, self.message, self.notice = "ready", "", ""
        self.epoch = 0
        self.chunk = 20
        self.loss = Series()  # [train, validation] per epoch
        self.gradient_norms = Series()  # ||dW_l|| per layer, per epoch
        self.weights: list[tuple[np.ndarray, np.ndarray]] = []
        self.view: dict[str, Any] = {}
        self.published_at = 0.0
        self.view_seconds = 0.0  # the time the last state took to draw
        self.rate = (time.perf_counter(), 0, 0.0)  # (time, epoch, epochs per second)
        self.next_epoch_at = 0.0
        self.findings_before: dict[str, Any] = {"status": "running", "items": []}
        self.findings_run: dict[str, Any] = {"status": "waiting", "items": [], "epoch": None}
        self.doctor_at = 0.0

    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        d = self.data
        return None if d.X_val is None else (d.X_val, self.targets(d.y_val))

    def targets(self, y: np.ndarray) -> np.ndarray:
        """``y`` as this run's loss takes it: class indices, or one-hot rows for a softmax
        output trained with mse."""
        if self.data.task == "multiclass" and self.settings.loss == "mse":
            return np.eye(len(self.data.classes))[np.asarray(y, dtype=int)]
        return y


class _Reporter(Callback):
    """Records each epoch, publishes the page's state, and holds training while paused."""

    def __init__(self, session: Session, run: Run) -> None:
        self.session, self.run = session, run

    def on_epoch_end(self, training, epoch: int, logs: dict[str, float]) -> None:
        self.session._after_epoch(self.run, training, logs)


class Session:
    """The playground's one session: the current run, and the commands of the page.

    Parameters
    ----------
    data : PlaygroundData
        The problem to start with.
    settings : Settings, optional
        Its settings (default: the problem's own).
    loader : callable, optional
        ``loader(name) -> PlaygroundData`` for the problems the page may switch to.
    problems : list of str
        Names the page offers.
    """

    def __init__(self, data: PlaygroundData, settings: Settings | None = None,
                 loader=None, problems: list[str] | None = None) -> None:
        self.cond = threading.Condition()
        self.version = 0
        self.closed = False
        self.loader = loader or (lambda name: data if name == data.name else load_problem(name))
        self.problems = problems or problem_names(data.name)
        self._json_cache: tuple[int, bytes] | None = None
        self.run: Run | None = None
        self._start(data, settings or default_settings(data))

    # -- the page's commands ----------------------------------------------------------------------
    def command(self, action: str) -> None:
        """``play``, ``pause``, ``epoch`` (one epoch, then pause) or ``reset``."""
        if action == "reset":
            run = self.run
            self._start(run.data, run.settings)
            return
        if action not in ("play", "pause", "epoch"):
            raise ValueError(f"unknown action {action!r}; use play, pause, epoch, sample or reset")
        with self.cond:
            run = self.run
            if action == "pause":
                run.playing = False
            else:
                run.playing = action == "play"
                run.budget += action == "epoch"
                run.next_epoch_at = time.perf_counter()
                if run.thread is None or not run.thread.is_alive():
                    run.status, run.message = "playing", ""
                    run.thread = threading.Thread(target=self._train, args=(run,), daemon=True,
                                                  name=f"chainrule-playground-run-{run.number}")
                    run.thread.start()
            self._changed()

    def update_settings(self, payload: Any) -> Settings:
        """Apply the page's settings: a new problem starts from its own defaults (keeping the
        seed); any other change restarts training from epoch 0, except ``speed``, which applies
        at once.

        Raises :class:`SettingsError` (nothing changes) when a setting is not valid.
        """
        run = self.run
        data, current = run.data, run.settings
        if isinstance(payload, dict) and payload.get("problem", data.name) != data.name:
            name = payload["problem"]
            if name not in self.problems:
                raise SettingsError("problem", f"unknown problem {name!r}; choose one of "
                                               f"{', '.join(self.problems)}")
            data = self.loader(name)
            current = default_settings(data, seed=current.seed)  # its own sizes, speed, ...
            payload = {k: v for k, v in payload.items() if k in ("problem", "seed")}
        settings = parse_settings(payload, current, data)
        if settings == replace(run.settings, speed=settings.speed) and data is run.data:
            with self.cond:
                run.settings = settings  # only the speed: no restart
                self._changed()
            return settings
        build_network(settings, data)  # raises SettingsError before the old run is stopped
        self._start(data, settings)
        return settings

    def worked(self, index: Any) -> dict[str, Any]:
        """The worked backward pass of training sample ``index`` with the weights shown now.

        Pauses training first, and waits until it is held between two epochs, so that the
        numbers belong to the weights on the page.
        """
        self.command("pause")
        with self.cond:
            run = self.run
            self.cond.wait_for(lambda: run.waiting or run.thread is None
                               or not run.thread.is_alive() or run.stop, timeout=5.0)
            weights = run.weights
            epoch = run.epoch
        n = len(run.data.X)
        try:
            i = int(index)
        except (TypeError, ValueError, OverflowError):  # (OverflowError: 1e400, infinity)
            raise ValueError(f"sample must be a whole number from 0 to {n - 1}") from None
        if not 0 <= i < n:
            raise ValueError(f"sample must be from 0 to {n - 1}, got {i}")
        net = run.template.copy()
        for layer, (W, b) in zip(net.layers, weights, strict=True):
            layer.weights[...], layer.bias[...] = W, b
        worked = worked_pass(net, run.data.X[i], run.targets(run.data.y)[i])
        return {"run": run.number, "epoch": epoch, "index": i, "n": n,
                "worked": worked.to_json(), "difference": difference_from_gradients(worked, net),
                "sizes": list(net.sizes),
                "weights": [[W.tolist(), b.tolist()] for W, b in weights]}

    def state(self) -> dict[str, Any]:
        """What the page shows now."""
        with self.cond:
            run = self.run
            return {
                "version": self.version, "run": run.number, "status": run.status,
                "message": run.message, "notice": run.notice, "epoch": run.epoch,
                "epochs_per_second": run.rate[2],
                "settings": run.settings.to_json(), "problems": self.problems,
                "race": run.race, "loss": run.loss.to_json(),
                "gradient_norms": run.gradient_norms.to_json(),
                "findings": {"before": run.findings_before, "run": run.findings_run},
                **run.view,
            }

    def state_json(self) -> tuple[int, bytes]:
        """``(version, state as JSON bytes)``, encoded once per version."""
        import json

        with self.cond:
            if self._json_cache and self._json_cache[0] == self.version:
                return self._json_cache
            state = self.state()
        body = json.dumps(state, allow_nan=False, default=_plain).encode()
        with self.cond:
            self._json_cache = (state["version"], body)
        return self._json_cache

    def problem(self) -> dict[str, Any]:
        """The current problem's data points and names (they change only with the run)."""
        with self.cond:
            run = self.run
        return {"run": run.number, **run.data.describe()}

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until the state's version differs from ``version`` (or ``timeout``)."""
        with self.cond:
            self.cond.wait_for(lambda: self.version != version or self.closed, timeout)
            return self.version

    def close(self) -> None:
        """Stop training, wake every waiting request, and let the doctor finish its look."""
        with self.cond:
            self.closed = True
            thread = self._stop(self.run)
        if thread is not None:
            thread.join(timeout=10)
        if self.run.doctor is not None:
            self.run.doctor.join(timeout=10)

    # -- runs -------------------------------------------------------------------------------------
    def _start(self, data: PlaygroundData, settings: Settings) -> None:
        with self.cond:
            old = self.run
            thread = self._stop(old) if old else None
        if thread is not None:
            thread.join(timeout=10)
        run = Run(old.number + 1 if old else 1, data, settings)
        self._publish(run, None)
        with self.cond:
            self.run = run
            self._changed()
        run.doctor = threading.Thread(target=self._doctor_before, args=(run, run.net.copy()),
                                      daemon=True, name=f"chainrule-playground-doctor-{run.number}")
        run.doctor.start()

    def _stop(self, run: Run | None) -> threading.Thread | None:
        """Ask ``run``'s training to stop (call with the lock held); the thread to join."""
        if run is None:
            return None
        run.stop, run.playing = True, False
        self.cond.notify_all()
        return run.thread if run.thread is not threading.current_thread() else None

    def _changed(self) -> None:
        """Mark the state as new (call with the lock held) and wake the page's streams."""
        self.version += 1
        self.cond.notify_all()

    def _train(self, run: Run) -> None:
        """The training thread of ``run``: the race, then chunks, until stopped or diverged."""
        X, y, s = run.data.X, run.targets(run.data.y), run.settings
        reporter = _Reporter(self, run)
        try:
            while True:
                with self.cond:
                    self._hold(run)
                    if run.stop:
                        return
                start = run.epoch
                kwargs = {"batch_size": s.batch_size, "validation_data": run.validation(),
                          "callbacks": [reporter]}
                if run.race_pending:
                    run.race = {"copies": s.restarts, "running": True}
                    history = run.net.fit(X, y, epochs=None, restarts=s.restarts,
                                          optimizer=s.optimizer, learning_rate=s.learning_rate,
                                          **kwargs)
                    run.race_pending = False
                    run.race = {"copies": s.restarts, "running": False, "kept": history.replica,
                                "ended": history.stopped_because, "epochs": history.epochs}
                else:  # fit's own stopping rules until they first stop it, then on and on
                    length = ({"epochs": run.chunk} if run.keep_going else
                              {"epochs": None, "max_epochs": run.chunk})
                    history = run.net.fit(X, y, restarts=1, optimizer=run.optimizer,
                                          **length, **kwargs)
                    per_epoch = history.seconds / max(history.epochs, 1)
                    run.chunk = int(np.clip(CHUNK_SECONDS / max(per_epoch, 1e-6), 1, 5000))
                if history.stopped_because == STOPPED:
                    return
                run.epoch = start + history.epochs
                reason = history.stopped_because
                self._doctor_run(run, history)
                self._publish(run, None)
                if reason == "diverged" or (reason in FINISHED and not run.keep_going):
                    with self.cond:  # stop here, with the final weights already shown
                        run.playing, run.budget = False, 0
                        if reason == "diverged":
                            run.status = "diverged"
                            run.message = ("training diverged: the loss became NaN or inf, "
                                           "and the last finite weights were restored. Lower "
                                           "the learning rate.")
                        else:
                            run.keep_going, run.status = True, "finished"
                            run.notice = (f"{FINISHED[reason]} at epoch {run.epoch:,}: here "
                                          "fit() would stop. Press Play to train on anyway.")
                        self._changed()
                    if reason == "diverged":
                        return
        except Exception as error:  # shown on the page; the server carries on
            with self.cond:
                run.status, run.playing = "error", False
                run.message = f"training stopped: {type(error).__name__}: {error}"
                self._changed()

    def _after_epoch(self, run: Run, training, logs: dict[str, float]) -> None:
        """After every epoch (training thread): record it, publish when due, hold while
        paused."""
        now = time.perf_counter()
        norms = None
        if run.gradient_norms.due():  # ||dW_l|| of the epoch's last step, of the copy shown
            k = training.logged_copy if training.n_copies > 1 else ...
            norms = [_finite(np.sqrt(np.vdot(dW[k], dW[k]))) for dW, _ in training.grad_views]
        with self.cond:
            run.epoch += 1
            run.loss.add(run.epoch, [_finite(logs["loss"]), _finite(logs.get("val_loss"))])
            run.gradient_norms.add(run.epoch, norms)
            if run.budget:
                run.budget -= 1
            hold = run.stop or not (run.playing or run.budget)
        if hold or now - run.published_at >= max(0.9 / MAX_UPDATES, run.view_seconds / VIEW_SHARE):
            self._publish(run, training)
        with self.cond:
            self._hold(run)
            if run.stop:
                training.stop_reason = STOPPED
                return
            speed = run.settings.speed if run.playing else None
        if speed:  # at most `speed` epochs a second
            run.next_epoch_at = max(run.next_epoch_at + 1.0 / speed, now - 0.5)
            delay = run.next_epoch_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    def _hold(self, run: Run) -> None:
        """Wait (with the lock held) while the page has paused ``run``."""
        if not (run.stop or run.playing or run.budget):
            run.waiting = True
            run.status = "finished" if run.status == "finished" else "paused"
            self._changed()
            self.cond.wait_for(lambda: run.stop or run.playing or run.budget > 0)
            run.waiting = False
            run.next_epoch_at = time.perf_counter()
        run.status = "stopped" if run.stop else "playing"
        if run.playing:
            run.notice = ""

    def _publish(self, run: Run, training) -> None:
        """Draw the shown copy's weights into the page's state (from ``training`` when given,
        else from ``run.net``)."""
        if training is not None:
            weights = [(W.copy(), b.copy()) for W, b in training.copy_of(training.logged_copy)]
            if run.race is not None and run.race.get("running"):
                run.race = {**run.race, "shown": int(training.logged_copy)}
        else:
            weights = [(layer.weights.copy(), layer.bias.copy()) for layer in run.net.layers]
        start = time.perf_counter()
        view = self._view(run, weights)
        now = time.perf_counter()
        run.view_seconds = now - start
        with self.cond:
            then, epoch_then, rate = run.rate
            if now - then >= 0.5:
                run.rate = (now, run.epoch, (run.epoch - epoch_then) / (now - then))
            run.weights, run.view, run.published_at = weights, view, now
            self._changed()

    def _view(self, run: Run, weights: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
        data, net = run.data, run.display
        for layer, (W, b) in zip(net.layers, weights, strict=True):
            layer.weights[...], layer.bias[...] = W, b
        outputs, health = views.outputs_and_health(net, data.X)
        view: dict[str, Any] = {
            "network": {"sizes": list(net.sizes),
                        "activations": [getattr(layer.activation, "name", "custom")
                                        for layer in net.layers],
                        "loss": net.loss_function.name,
                        "weights": [_rounded(W) for W, _ in weights],
                        "biases": [_rounded(b) for _, b in weights],
                        "units": health},
            "accuracy": None, "val_accuracy": None,
        }
        if data.task != "regression":
            view["accuracy"] = float(views.correct(outputs, data.y, data.task).mean())
            if data.X_val is not None:
                val = net.predict(data.X_val)
                view["val_accuracy"] = float(views.correct(val, data.y_val, data.task).mean())
        if "table" in data.views:
            view["table"] = views.table(outputs, data)
        if "map" in data.views:
            view["map"] = views.heat_map(net, data, run.grid)
            view["map"]["box"] = run.box
        if "curve" in data.views:
            view["curve"] = views.curve(net, run.box)
        return view

    # -- the doctor -------------------------------------------------------------------------------
    def _doctor_before(self, run: Run, net) -> None:
        """The doctor's examination before training, with probes (its own thread)."""
        from .. import diagnose

        try:
            findings = diagnose(net, run.data.X, run.targets(run.data.y),
                                **run.settings.fit_kwargs())
            result = {"status": "done", "items": [_finding(f) for f in findings]}
        except Exception as error:  # the page says so; the playground carries on
            result = {"status": "failed", "items": [],
                      "message": f"{type(error).__name__}: {error}"}
        with self.cond:
            run.findings_before = result
            self._changed()

    def _doctor_run(self, run: Run, history) -> None:
        """The doctor's look at the run so far (no probes), at most every few seconds."""
        now = time.perf_counter()
        if now - run.doctor_at < DOCTOR_EVERY and history.stopped_because != "diverged":
            return
        from .. import diagnose

        run.doctor_at = now
        kwargs = {**run.settings.fit_kwargs(), "restarts": 1}
        try:
            findings = diagnose(run.net.copy(), run.data.X, run.targets(run.data.y),
                                history=history,
                                probe=False, **kwargs)
            result = {"status": "done", "items": [_finding(f) for f in findings]}
        except Exception as error:
            result = {"status": "failed", "items": [],
                      "message": f"{type(error).__name__}: {error}"}
        result["epoch"] = run.epoch
        with self.cond:
            run.findings_run = result
            self._changed()


def _finding(finding) -> dict[str, str]:
    return {key: str(getattr(finding, key, "")) for key in ("code", "severity", "message", "hint")}


def _finite(value: float | None) -> float | None:
    """``value`` as a float, or ``None`` for NaN and inf (JSON has neither)."""
    return None if value is None or not np.isfinite(value) else float(value)


def _rounded(values: np.ndarray, decimals: int = 5) -> list:
    """Rounded values as lists for the page; NaN and inf (a diverging step) as 0 and +-1e300."""
    return np.round(np.nan_to_num(values, nan=0.0, posinf=1e300, neginf=-1e300), decimals).tolist()


def _plain(value: Any) -> Any:
    """JSON for NumPy scalars and arrays."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} to the page")
