"""The playground's settings: checked one by one, so that the page can say which one is wrong.

What the page sends is untrusted text. :func:`parse_settings` turns it into :class:`Settings`
or raises :class:`SettingsError` naming the field and what to type instead; nothing else
reaches the network. :func:`build_network` makes the :class:`~chainrule.network.Network`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..network import Network
from .problems import PlaygroundData

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "identity")
OPTIMIZERS = ("auto", "sgd", "adam", "rmsprop", "rprop")
SPEEDS = (1, 5, 20, 60, 200, 1000)  # epochs per second the page offers; None: as fast as it can
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 256
MAX_PARAMETERS = 200_000
MAX_RESTARTS = 64
FIELDS = ("problem", "layers", "activation", "loss", "optimizer", "learning_rate", "batch_size",
          "restarts", "seed", "speed")


class SettingsError(ValueError):
    """A setting the page sent is not valid: ``field`` names it, the message says what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Settings:
    """Everything that defines a run. Changing any field but ``speed`` restarts training."""

    problem: str
    layers: tuple[int, ...]
    activation: str
    loss: str
    optimizer: str = "auto"
    learning_rate: float | None = None
    batch_size: int | None = None
    restarts: int = 1
    seed: int = 0
    speed: int | None = None  # epochs per second; None: as fast as the machine goes

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "layers": list(self.layers)}

    def fit_kwargs(self) -> dict[str, Any]:
        """The arguments of :meth:`Network.fit` these settings choose."""
        return {"optimizer": self.optimizer, "learning_rate": self.learning_rate,
                "batch_size": self.batch_size, "restarts": self.restarts}


def default_settings(data: PlaygroundData, seed: int = 0, speed: int | None = None) -> Settings:
    """The settings a problem starts with: its own sizes, activation and loss, and as many
    copies trained together as ``fit`` would use (16 for small problems, else 1)."""
    from ..training import AUTO_RESTARTS, SMALL_PROBLEM

    sizes = [data.n_inputs, *data.layers, data.n_outputs]
    n_parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    restarts = AUTO_RESTARTS if len(data.X) * n_parameters <= SMALL_PROBLEM else 1
    if speed is None and len(data.X) <= 32:
        speed = 60  # small problems learn in a blink: slow enough to watch
    return Settings(data.name, tuple(data.layers), data.activation, data.loss, restarts=restarts,
                    seed=seed, speed=speed)


def parse_settings(payload: Any, current: Settings, data: PlaygroundData) -> Settings:
    """The settings in ``payload`` (a JSON object from the page; missing fields keep their
    ``current`` values), checked against the problem ``data``.

    Raises
    ------
    SettingsError
        For the first field that is not valid, with a message saying what to type.
    """
    if not isinstance(payload, dict):
        raise SettingsError("", "settings must be a JSON object")
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise SettingsError(unknown[0], f"unknown setting {unknown[0]!r}; the settings are "
                                        f"{', '.join(FIELDS)}")
    changes = {}
    for name, value in payload.items():
        changes[name] = _PARSERS[name](value, data) if name != "problem" else str(value)
    settings = replace(current, **changes)
    if settings.optimizer == "rprop" and settings.batch_size is not None and \
            settings.batch_size < len(data.X):
        raise SettingsError("optimizer", "rprop works on full batches only: leave the batch "
                                         "size empty, or choose adam or sgd")
    if settings.loss not in data.losses:
        raise SettingsError("loss", f"loss {settings.loss!r} does not fit a "
                                    f"{data.output_activation} output; choose "
                                    f"{' or '.join(data.losses)}")
    sizes = [data.n_inputs, *settings.layers, data.n_outputs]
    n_parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    if n_parameters > MAX_PARAMETERS:
        raise SettingsError("layers", f"{n_parameters:,} parameters is more than the "
                                      f"playground's {MAX_PARAMETERS:,}: use smaller layers")
    return settings


def build_network(settings: Settings, data: PlaygroundData) -> Network:
    """The untrained network the settings describe, seeded with ``settings.seed``."""
    sizes = [data.n_inputs, *settings.layers, data.n_outputs]
    try:
        return Network(sizes, activation=settings.activation,
                       output_activation=data.output_activation, loss=settings.loss,
                       seed=settings.seed)
    except (ValueError, TypeError) as error:
        raise SettingsError("layers", str(error)) from None


# -- one parser per field: each takes what the page typed and returns the checked value -----------
def _layers(value: Any, data: PlaygroundData) -> tuple[int, ...]:
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    text = text.replace(" ", "").strip(",")
    if text in ("", "0"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise SettingsError("layers", f"layer sizes must be whole numbers separated by commas, "
                                      f"like 4,4; got {text!r}") from None
    if not all(1 <= s <= MAX_UNITS for s in sizes):
        raise SettingsError("layers", f"each layer needs 1 to {MAX_UNITS} units; got {text}")
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise SettingsError("layers", f"at most {MAX_HIDDEN_LAYERS} hidden layers; got "
                                      f"{len(sizes)}")
    return sizes


def _choice(field: str, choices: tuple[str, ...]):
    def parse(value: Any, data: PlaygroundData) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise SettingsError(field, f"{field.replace('_', ' ')} must be one of "
                                       f"{', '.join(choices)}; got {str(value)[:40]!r}")
        return text
    return parse


def _optional_number(field: str, kind: type, low: float, high: float, what: str):
    def parse(value: Any, data: PlaygroundData):
        if value is None or (isinstance(value, str) and value.strip() in ("", "auto", "all")):
            return None
        return _number(field, kind, low, high, what)(value, data)
    return parse


def _number(field: str, kind: type, low: float, high: float, what: str):
    def parse(value: Any, data: PlaygroundData):
        try:
            number = kind(str(value).strip()) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not math.isfinite(number) or not low <= number <= high:
            raise SettingsError(field, f"{field.replace('_', ' ')} must be {what}; got "
                                       f"{str(value)[:40]!r}")
        return number
    return parse


def _speed(value: Any, data: PlaygroundData) -> int | None:
    if value is None or str(value).strip().lower() in ("", "max"):
        return None
    return _number("speed", int, 1, 100_000, "a whole number of epochs per second, or max")(
        value, data)


_PARSERS = {
    "layers": _layers,
    "activation": _choice("activation", ACTIVATIONS),
    "loss": _choice("loss", ("mse", "bce", "cross_entropy")),
    "optimizer": _choice("optimizer", OPTIMIZERS),
    "learning_rate": _optional_number("learning_rate", float, 1e-12, 100.0,
                                      "a number above 0 and at most 100, or empty for the "
                                      "optimizer's default"),
    "batch_size": _optional_number("batch_size", int, 1, 1_000_000,
                                   "a whole number of samples of at least 1, or empty for the "
                                   "full batch"),
    "restarts": _number("restarts", int, 1, MAX_RESTARTS,
                        f"a whole number of copies from 1 to {MAX_RESTARTS}"),
    "seed": _number("seed", int, 0, 2**32 - 1, "a whole number from 0 to 4294967295"),
    "speed": _speed,
}
