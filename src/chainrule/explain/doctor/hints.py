"""Fixes in the words of the person asking: Python calls for the library, flags for the CLI.

A doctor rule never writes ``fit(..., restarts=16)`` itself: it asks its :class:`Hints` for
``restarts(16)``, which a library user reads as Python and a shell user as ``--restarts 16``.
"""

from __future__ import annotations

from collections.abc import Sequence


class Hints:
    """The library's words: Python arguments and calls."""

    name = "python"

    def setting(self, name: str, value: object) -> str:
        """One argument of ``fit`` or ``Network``: ``learning_rate=0.01``."""
        return f"{name}={value!r}"

    def fit(self, *settings: str) -> str:
        return f"fit(..., {', '.join(settings)})"

    def train_longer(self) -> str:
        return ("train longer: fit(..., epochs=None) trains until the targets are met or the "
                "loss stops improving (or raise epochs/max_epochs)")

    def restarts(self, copies: int, default: int) -> str:
        if copies <= default:
            return (f"leave restarts at its default (restarts=None trains {default} copies for "
                    "a problem this small and keeps the best)")
        return f"train several copies and keep the best: fit(..., restarts={copies})"

    def learning_rate(self, old: float | None, new: float) -> str:
        instead = f" instead of {old:g}" if old is not None else ""
        return f"learning_rate={new:g}{instead}"

    def auto_optimizer(self) -> str:
        return "optimizer='auto' without learning_rate and batch_size (Rprop on the full batch)"

    def network(self, sizes: Sequence[int]) -> str:
        return f"Network({list(sizes)}, ...)"

    def standardise(self) -> str:
        return ("standardise each feature, X = (X - X.mean(axis=0)) / X.std(axis=0), and apply "
                "the same mean and std to new inputs before predicting")

    def scale_targets(self) -> str:
        return ("standardise the targets, y_s = (y - y.mean(axis=0)) / y.std(axis=0), train on "
                "y_s, and predict with net.predict(X) * y.std(axis=0) + y.mean(axis=0)")

    def init_auto(self) -> str:
        return "initialise weights at random: Network(..., init='auto')"

    def activation(self, name: str) -> str:
        return f"activation={name!r}"

    def output(self, activation: str, loss: str) -> str:
        return f"output_activation={activation!r} with loss={loss!r}"

    def early_stopping(self) -> str:
        return ("stop on the validation loss and keep the best weights: fit(..., "
                "validation_data=(X_val, y_val)) with epochs=None does, or "
                "callbacks=[EarlyStopping(patience=10)]")

    def weight_decay(self, value: float) -> str:
        return f"fit(..., weight_decay={value:g})"

    def full_run(self) -> str:
        return "pass history=net.fit(...) to check a full run"


class CommandLineHints(Hints):
    """The command line's words: ``chainrule train``/``doctor`` flags."""

    name = "cli"

    def setting(self, name: str, value: object) -> str:
        return f"--{name.replace('_', '-')} {value}"

    def fit(self, *settings: str) -> str:
        return " ".join(settings)

    def train_longer(self) -> str:
        return ("train longer: leave out --epochs (training then runs until the loss stops "
                "improving), or raise --epochs")

    def restarts(self, copies: int, default: int) -> str:
        if copies <= default:
            return (f"leave out --restarts (the default trains {default} copies for a problem "
                    "this small and keeps the best)")
        return f"train several copies and keep the best: --restarts {copies}"

    def learning_rate(self, old: float | None, new: float) -> str:
        instead = f" instead of {old:g}" if old is not None else ""
        return f"--learning-rate {new:g}{instead}"

    def auto_optimizer(self) -> str:
        return "--optimizer auto without --learning-rate and --batch-size (Rprop, full batch)"

    def network(self, sizes: Sequence[int]) -> str:
        hidden = ",".join(map(str, sizes[1:-1])) or "0"
        return f"--layers {hidden}"

    def standardise(self) -> str:
        return ("leave out --no-standardize: the inputs are then scaled, and the scaling is "
                "stored in the model for predict")

    def scale_targets(self) -> str:
        return "leave out --no-standardize: regression targets are then scaled too"

    def init_auto(self) -> str:
        return "train from random weights (the command line always does)"

    def activation(self, name: str) -> str:
        return f"--activation {name}"

    def output(self, activation: str, loss: str) -> str:
        return f"--loss {loss}"

    def early_stopping(self) -> str:
        return ("stop on the validation loss and keep the best weights: --early-stopping "
                "--patience 10 (with --validation 0.2)")

    def weight_decay(self, value: float) -> str:
        return f"--weight-decay {value:g}"

    def full_run(self) -> str:
        return "train it with `chainrule train` and look at the curves (--plot)"


def hints_for(speaker: str | Hints) -> Hints:
    """``"python"`` or ``"cli"`` (or a :class:`Hints` object) as a :class:`Hints`."""
    if isinstance(speaker, Hints):
        return speaker
    if speaker == "python":
        return Hints()
    if speaker == "cli":
        return CommandLineHints()
    raise ValueError(f"hints must be 'python' or 'cli', got {speaker!r}")
