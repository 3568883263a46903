"""Arguments checked at the door, and the memory budget checked before anything large is made.

Every public entry point (``Network``, ``fit``, the model loader, the CLI) checks its arguments
with these helpers, so that a bad value fails at once with one ``ValueError`` or ``TypeError``
that names the argument, the value given and what is allowed, instead of deep inside NumPy.

The memory budget
-----------------
Before a network, its training copies, optimizer state, buffers and history are allocated,
:func:`check_memory` compares an estimate of their bytes with a limit and refuses with a
``ValueError`` naming both when the estimate is over it. The limit is, in this order:

- the one given to :func:`set_memory_limit` (``None`` goes back to the default);
- the environment variable ``CHAINRULE_MEMORY_LIMIT``: bytes with an optional unit (``"4GB"``,
  ``"512MiB"``, ``"2e9"``), a percentage of the available memory (``"80%"``), or ``"off"``;
- by default, ``DEFAULT_FRACTION`` of the memory available now (``MemAvailable`` in
  ``/proc/meminfo``, else ``os.sysconf``), or no limit where neither can be read.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_FRACTION = 0.5  # of the available memory
SMALL = 64 << 20  # bytes that the default limit never refuses
ENVIRONMENT = "CHAINRULE_MEMORY_LIMIT"
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
          "t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_limit: float | str | None = None  # set by set_memory_limit


class ArgumentError(TypeError, ValueError):
    """An argument of the wrong type: a ``TypeError``, and a ``ValueError`` too (as
    scikit-learn's ``InvalidParameterError``), so that either ``except`` catches it."""


class NumericalWarning(UserWarning):
    """A computation overflowed or diverged: chainrule's words, in place of NumPy's
    ``RuntimeWarning``."""


# -- single values -----------------------------------------------------------------------------
def is_integer(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools, floats and everything else."""
    if type(value) is int:
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def integer(value: Any, name: str, minimum: int = 1, none: bool = False) -> int | None:
    """``value`` as an ``int >= minimum`` (``None`` passes when ``none``), else an error.

    Bools and floats are refused, even ``3.0``: a count is an integer.
    """
    if value is None and none:
        return None
    allowed = {1: "a positive integer", 0: "a non-negative integer"}.get(
        minimum, f"an integer >= {minimum}") + (" or None" if none else "")
    if not is_integer(value):
        raise ArgumentError(f"{name} must be {allowed}, got {_show(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def number(value: Any, name: str, minimum: float = 0.0, strict: bool = False,
           none: bool = False) -> float | None:
    """``value`` as a finite float ``>= minimum`` (``> minimum`` when ``strict``), else an error.

    Python and NumPy numbers (and 0-d arrays of them) are accepted; bools and strings are not.
    """
    if value is None and none:
        return None
    allowed = f"a finite number {'>' if strict else '>='} {minimum:g}"
    if minimum == -math.inf:
        allowed = "a finite number"
    elif minimum == 0:
        allowed = f"positive ({allowed})" if strict else f"non-negative ({allowed})"
    allowed += " or None" if none else ""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if not isinstance(value, numbers.Real) or isinstance(value, bool | np.bool_):
        raise ArgumentError(f"{name} must be {allowed}, got {_show(value)}")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def flag(value: Any, name: str) -> bool:
    """``value`` as a bool: ``True``/``False`` (or NumPy's), nothing else."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def seed(value: Any) -> np.random.Generator:
    """A ``np.random.Generator``: from a non-negative integer seed, ``None`` (fresh entropy), or
    the generator itself."""
    if isinstance(value, np.random.Generator):
        return value
    if value is not None:
        integer(value, "seed", minimum=0)
    return np.random.default_rng(value)


def sizes(value: Any) -> list[int]:
    """Layer sizes: a sequence of two or more positive integers (``[2, 2, 1]``)."""
    example = "like [2, 2, 1] (inputs, hidden units, outputs)"
    if isinstance(value, np.ndarray):
        value = value.tolist() if value.ndim == 1 else value
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ArgumentError(f"sizes must be a sequence of integers {example}, got "
                            f"{_show(value)}")
    for i, size in enumerate(value):
        if not is_integer(size):
            raise ArgumentError(f"sizes must be a sequence of integers {example}; sizes[{i}] is "
                            f"{_show(size)}")
    if len(value) < 2:
        raise ValueError(f"sizes needs at least an input and an output size {example}, got "
                         f"{list(value)}")
    if min(value) < 1:
        raise ValueError(f"every layer needs at least one unit, got sizes {list(value)}")
    return [int(s) for s in value]


def path(value: Any, name: str = "path") -> str:
    """A file path: a non-empty ``str`` or ``os.PathLike`` (``bytes`` decoded), without NUL."""
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not isinstance(value, str | os.PathLike):
        raise ArgumentError(f"{name} must be a file path (str or pathlib.Path), got "
                            f"{_show(value)}")
    value = os.fspath(value)
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not value or "\0" in value:
        raise ValueError(f"{name} must be a file name, got {value!r}")
    return value


def callbacks(value: Any) -> list:
    """A list of callbacks: objects with ``on_train_begin``, ``on_epoch_end`` and
    ``on_train_end`` (a :class:`~chainrule.callbacks.Callback`); one alone is accepted too."""
    hooks = ("on_train_begin", "on_epoch_end", "on_train_end")
    if value is None:
        return []
    if all(callable(getattr(value, hook, None)) for hook in hooks) and not isinstance(value,
                                                                                    type):
        return [value]
    if isinstance(value, str | bytes | dict) or not isinstance(value, Sequence | set | tuple):
        raise TypeError(f"callbacks must be a list of Callback objects, got {_show(value)}")
    for item in value:
        if isinstance(item, type):
            raise TypeError(f"callbacks must be Callback objects, not classes: pass "
                            f"{item.__name__}(), not {item.__name__}")
        missing = [hook for hook in hooks if not callable(getattr(item, hook, None))]
        if missing:
            raise TypeError(f"callbacks must be Callback objects (with {', '.join(hooks)}); "
                            f"{_show(item)} has no {', '.join(missing)}; subclass "
                            "chainrule.Callback")
    return list(value)


def _show(value: Any) -> str:
    """A short description of a value for an error message: its repr (cut) and type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


# -- arrays --------------------------------------------------------------------------------------
def as_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a NumPy array, in our words when NumPy cannot make one (ragged rows,
    objects such as None among the numbers)."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError, OverflowError) as error:
            reason = "ragged rows" if "inhomogeneous" in str(error) else type(error).__name__
            raise ValueError(f"{name} must be a rectangular array of numbers (every row the "
                             f"same length); could not make one ({reason})") from None
    if array.dtype.kind == "O":
        raise ValueError(f"{name} must be a rectangular array of numbers (every row the same "
                         "length, no None or objects)")
    return array


def numeric_array(value: Any, name: str) -> np.ndarray:
    """:func:`as_array`, of numbers (bool, integer or real)."""
    array = as_array(value, name)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    return array


def cast(array: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``array`` as ``dtype`` (no copy if it is already), refusing numbers too large for it
    (1e308 does not fit float32) instead of turning them into inf with NumPy's warning."""
    dtype = np.dtype(dtype)
    if array.dtype == dtype:
        return array
    if array.dtype.kind == "f" and array.size and array.dtype.itemsize > dtype.itemsize:
        with np.errstate(invalid="ignore"):
            largest = np.nanmax(np.abs(array)) if not np.isnan(array).all() else 0.0
        if np.isfinite(largest) and largest > np.finfo(dtype).max:
            raise ValueError(f"{name} holds values too large for {dtype} (up to {largest:g}); "
                             f"scale them, or use dtype='float64'")
    with np.errstate(over="ignore", invalid="ignore"):
        return array.astype(dtype)


# -- memory --------------------------------------------------------------------------------------
def set_memory_limit(limit: float | str | None) -> float | str | None:
    """Set the memory budget (bytes, or a string as ``CHAINRULE_MEMORY_LIMIT`` takes); ``None``
    restores the default. Returns the previous setting."""
    global _limit
    if limit is not None:
        _parse_limit(limit, "memory limit")
    previous, _limit = _limit, limit
    return previous


def memory_limit() -> float:
    """The memory budget in bytes now (``inf`` when there is none)."""
    if _limit is not None:
        return _parse_limit(_limit, "memory limit")
    text = os.environ.get(ENVIRONMENT, "").strip()
    if text:
        return _parse_limit(text, ENVIRONMENT)
    available = available_memory()
    return math.inf if available is None else DEFAULT_FRACTION * available


def available_memory() -> int | None:
    """Bytes of memory available now: ``MemAvailable`` (Linux), else free pages, else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _parse_limit(limit: float | str, what: str) -> float:
    if isinstance(limit, str):
        text = limit.strip().lower().replace(" ", "")
        if text in ("off", "none", "inf", "unlimited"):
            return math.inf
        if text.endswith("%"):
            percent = _parse_number(text[:-1], limit, what)
            available = available_memory()
            return math.inf if available is None else percent / 100 * available
        match = re.fullmatch(r"([0-9.e+]+)([a-z]*)", text)
        if match is None or match.group(2) not in _UNITS:
            raise ValueError(f"{what} must be bytes with an optional unit (4GB, 512MiB), a "
                             f"percentage of the available memory (80%) or 'off', got "
                             f"{limit!r}")
        return _parse_number(match.group(1), limit, what) * _UNITS[match.group(2)]
    return number(limit, what, minimum=0, strict=True)


def _parse_number(text: str, limit: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive size like 4GB or 80%, got {limit!r}")
    return value


def check_memory(estimate: float, what: str, fix: str = "use smaller sizes") -> None:
    """Refuse with a ``ValueError`` when ``estimate`` bytes are over the memory budget.

    Under the default limit, estimates below ``SMALL`` pass without reading the memory
    available (a small fit should not pay for reading ``/proc/meminfo``).
    """
    if estimate < SMALL and _limit is None and ENVIRONMENT not in os.environ:
        return
    limit = memory_limit()
    if estimate > limit:
        raise ValueError(
            f"{what} would need about {format_bytes(estimate)} of memory, over the limit of "
            f"{format_bytes(limit)}; {fix}, or raise the limit with {ENVIRONMENT} (e.g. 16GB, "
            f"90%, off) or chainrule.set_memory_limit"
        )


def format_bytes(n: float) -> str:
    """``n`` bytes in words: ``"74.5 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


LAYER_BYTES = 2048  # a layer's Python objects (Dense, views, activation), about


def network_bytes(layer_sizes: Sequence[int], itemsize: int) -> int:
    """A network's parameters, the largest initialiser temporary (float64) while drawn, and
    its layers' objects."""
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:], strict=False))
    parameters = sum(n_in * n_out + n_out for n_in, n_out in shapes)
    return (parameters * itemsize + max(n_in * n_out for n_in, n_out in shapes) * 8
            + len(shapes) * LAYER_BYTES)


def activation_bytes(layer_sizes: Sequence[int], rows: int, copies: int, itemsize: int,
                     backward: bool) -> int:
    """Per-layer arrays of one pass over ``rows`` samples: ``Z, A`` forward, and ``dZ, dX``
    backward, for ``copies`` copies."""
    per_row = sum(layer_sizes[1:]) * (2 + 2 * backward) + layer_sizes[0] * backward
    return rows * copies * per_row * itemsize
