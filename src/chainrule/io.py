"""Model files: arrays and JSON in one ``.npz`` archive, readable with NumPy alone, never pickled.

Format (``format_version`` 2)
-----------------------------
A zip archive written by ``np.savez`` (any file name; ``.chainrule`` by convention) holding

``W1, b1, ..., WL, bL``
    The weights ``(n_in, n_out)`` and biases ``(n_out,)`` of layers ``1..L``, in the network's
    dtype (float32 or float64), stored bit for bit.
``meta``
    A 0-d unicode string array holding one JSON object::

        {"format": "chainrule-model", "format_version": 2, "chainrule_version": "0.1.0",
         "architecture": {"sizes": [2, 16, 1], "activations": ["tanh"],
                          "output_activation": "sigmoid", "loss": "bce", "dtype": "float64"},
         "preprocessing": {"inputs": {"columns": [{"name": ..., "role": ..., ...}, ...]}
                                     or null,
                           "targets": {"mean": [...], "scale": [...]} or null},
         "task": "classification" | "regression" | null,
         "classes": [labels] or null, "feature_names": [...] or null, "target": str or null,
         "input_range": {"low": [...], "high": [...]} or null,
         "metadata": {...}}

``preprocessing.inputs`` is :meth:`chainrule.data.Preprocessor.to_json`: every raw column's role
(numeric, categorical, dropped) with its fill value, scaling and categories; ``feature_names``
repeats the raw columns the model reads. Format 1 (still read) stored a plain input scaling,
``{"mean": [...], "scale": [...]}``, instead.

Any reader can do ``z = np.load(path, allow_pickle=False); json.loads(str(z["meta"]))``.

Writes are atomic: a temporary file in the target's directory is written, flushed, fsynced and
then renamed over the target with ``os.replace``, so a crash leaves either the old file or the
new one, never half of one.

Reading checks everything (archive, JSON, versions, names, shapes, dtypes, finiteness) and turns
any problem into a single ``ValueError``: a truncated, corrupted or tampered file is refused, and
nothing in it is ever executed.

:func:`load` returns the bare :class:`~chainrule.network.Network`; :func:`load_model` returns the
:class:`~chainrule.data.Model` bundle with the preprocessing and class labels.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from typing import Any

import numpy as np

from . import checks
from .activations import ACTIVATIONS, activation_name
from .archive import Archive, ArchiveError
from .data import TASKS, Model, Preprocessor, Standardizer
from .data.targets import _float_list
from .losses import LOSSES
from .network import Network

FORMAT = "chainrule-model"
FORMAT_VERSION = 2
META_KEYS = {"format", "format_version", "chainrule_version", "architecture", "preprocessing",
             "task", "classes", "feature_names", "target", "input_range", "metadata"}
MAX_LAYERS = 1000
MAX_UNITS = 1_000_000
MAX_META_CHARS = 1 << 22  # characters of the meta JSON (4 Mi; 16 MiB as stored)


# -- writing -----------------------------------------------------------------------------------
def save_network(net: Network, path: str | os.PathLike, **metadata: Any) -> None:
    """Save ``net`` to ``path`` (any extension, written as is), atomically.

    Parameters
    ----------
    net : Network
        With built-in activations and loss (custom objects cannot be stored by name).
    path : str or path
    **metadata
        JSON-serialisable values stored under ``"metadata"`` (e.g. ``note="xor, seed 3"``).
    """
    _write(Model(net, task=None, metadata=dict(metadata)), path)


def save_model(model: Model, path: str | os.PathLike) -> None:
    """Save a :class:`~chainrule.data.Model` (network, scaling, class labels) atomically."""
    _write(model, path)


def _write(model: Model, path: str | os.PathLike) -> None:
    net = model.network
    arrays = {}
    for i, layer in enumerate(net.layers, start=1):
        arrays[f"W{i}"] = np.ascontiguousarray(layer.weights)
        arrays[f"b{i}"] = np.ascontiguousarray(layer.bias)
    try:
        meta = json.dumps(_meta(model), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata must be JSON-serialisable and finite: {error}") from None
    arrays["meta"] = np.array(meta)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def architecture(net: Network) -> dict[str, Any]:
    """The network's shape as a model file stores it: sizes, activations, loss, dtype."""
    names = [activation_name(layer.activation) for layer in net.layers]
    return {"sizes": list(net.sizes), "activations": names[:-1], "output_activation": names[-1],
            "loss": net.loss_function.name, "dtype": net.dtype.name}


def _meta(model: Model) -> dict[str, Any]:
    from . import __version__

    net = model.network
    names = [activation_name(layer.activation) for layer in net.layers]
    for name, layer in zip(names, net.layers, strict=True):
        if ACTIVATIONS.get(name) is not layer.activation:
            raise ValueError(f"cannot save the custom activation {name!r} by name; model files "
                             f"hold the built-in activations {', '.join(ACTIVATIONS)}")
    if LOSSES.get(net.loss_function.name) != net.loss_function:
        raise ValueError(f"cannot save the custom loss {net.loss_function.name!r}")
    low_high = None
    if getattr(net, "input_range_", None) is not None:
        low, high = net.input_range_
        low_high = {"low": [float(v) for v in low], "high": [float(v) for v in high]}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chainrule_version": __version__,
        "architecture": architecture(net),
        "preprocessing": {
            "inputs": None if model.preprocessor is None else model.preprocessor.to_json(),
            "targets": model.target_scaler.to_json() if model.target_scaler is not None else None,
        },
        "task": model.task,
        "classes": model.classes,
        "feature_names": model.feature_names,
        "target": model.target,
        "input_range": low_high,
        "metadata": model.metadata,
    }


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it onto ``path``.

    The data are fsynced before ``os.replace``, so readers see the old file or the complete new
    one. On any error the temporary file is removed and ``path`` is left untouched. The
    temporary file's name holds the writer's process id (``.NAME.PID-XXXXXXXX.tmp``); after a
    successful write, those that writers killed mid-save (their process gone) left beside
    ``path`` are removed.
    """
    path = checks.path(path)
    if os.path.islink(path):
        path = os.path.realpath(path)  # write through the link: the link stays, as open() does
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        raise ValueError(f"cannot write {path}: it exists and is not a regular file (a device "
                         "such as /dev/null, a pipe or a socket, which a save would replace); "
                         "give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"cannot write {path}: directory {directory} does not exist")
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        raise ValueError(f"cannot write {path}: it is a folder; give a file name")
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _remove_stale_temporaries(directory, base)
    try:  # make the rename itself durable (not possible on every platform)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


STALE_SECONDS = 3600  # where process ids cannot be checked: temporary files older than this


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Remove the temporary files of ``base`` whose writer no longer runs (killed mid-save)."""
    pattern = re.compile(rf"\.{re.escape(base)}\.(\d+)-[a-z0-9_]+\.tmp")
    try:
        names = [entry.name for entry in os.scandir(directory)
                 if entry.name.startswith(f".{base}.") and pattern.fullmatch(entry.name)]
    except OSError:
        return
    for name in names:
        stale = os.path.join(directory, name)
        try:
            if _writer_gone(int(pattern.fullmatch(name).group(1)), stale):
                os.unlink(stale)
        except OSError:
            pass  # removed meanwhile, or not ours to remove


def _writer_gone(pid: int, path: str) -> bool:
    if pid == os.getpid():
        return False  # another thread of this process may be writing it
    if os.name != "posix":
        return time.time() - os.path.getmtime(path) > STALE_SECONDS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    try:  # Linux: a killed writer whose parent has not reaped it yet is a zombie
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


# -- reading -----------------------------------------------------------------------------------
def load(path: str | os.PathLike) -> Network:
    """The :class:`~chainrule.network.Network` saved in ``path`` (weights bit for bit).

    The network works on the inputs it was trained on: a model saved by ``chainrule train``
    expects *scaled* inputs; use :func:`load_model` to get the scaling too.

    Raises
    ------
    ValueError
        For a missing, truncated, corrupted, tampered, newer-format or non-chainrule file.
    """
    return load_model(path).network


def load_model(path: str | os.PathLike) -> Model:
    """The :class:`~chainrule.data.Model` saved in ``path``: network, scaling and class labels.

    Raises
    ------
    ValueError
        For a missing, truncated, corrupted, tampered, newer-format or non-chainrule file.
    """
    path = checks.path(path)
    arrays, meta = _read(path)
    try:
        return _model(arrays, meta)
    except ValueError as error:
        raise ValueError(f"{path} is not a valid chainrule model: {error}") from None


def _read(path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The archive's arrays and its parsed meta; every failure becomes one ValueError.

    Nothing is inflated unchecked (:mod:`chainrule.archive`): the meta entry is read first,
    capped at ``MAX_META_CHARS`` characters; the arrays only once their names match the
    architecture it promises, their ``.npy`` headers its shapes and dtype, and their declared
    sizes those arrays exactly, and once the whole fits in the memory budget.
    """
    if not os.path.isfile(path):
        raise ValueError(f"no such model file: {path}")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise ValueError(f"{path} is not a chainrule model file (not an .npz archive)")
    try:
        with Archive(path, max_entries=2 * MAX_LAYERS + 1) as archive:
            if "meta" not in archive.names:
                raise ValueError(f"{path} is not a chainrule model file (no JSON 'meta' "
                                 "string)")
            parsed = _parse_meta(archive.read("meta", _meta_shape, 4 * MAX_META_CHARS), path)
            promised = _promised_arrays(_dict(parsed.get("architecture"), "architecture"))
            _check_names(set(archive.names) - {"meta"}, set(promised))
            checks.check_memory(2 * sum(math.prod(shape) * dtype.itemsize
                                        for shape, dtype in promised.values()),
                                f"the model file {path}")
            arrays = {name: archive.read(name, _expect(name, *promised[name]))
                      for name in promised}
    except ArchiveError as error:
        raise ValueError(f"{path} is not a chainrule model file (unreadable archive: "
                         f"{error})") from None
    except ValueError as error:
        message = str(error)
        if message.startswith(path):
            raise
        raise ValueError(f"{path} is not a valid chainrule model: {message}") from None
    except Exception as error:  # corrupt archives raise many types: zipfile, zlib, OSError...
        raise ValueError(f"{path} is not a chainrule model file (unreadable archive: "
                         f"{type(error).__name__}: {error})") from None
    return arrays, parsed


def _meta_shape(shape: tuple[int, ...], dtype: np.dtype) -> None:
    if shape != () or dtype.kind != "U":
        raise ValueError("no JSON 'meta' string (the meta entry is not one string)")


def _parse_meta(meta: np.ndarray, path: str) -> dict[str, Any]:
    """The meta JSON, its format and version checked."""
    try:
        parsed = json.loads(str(meta[()]), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{path} is not a valid chainrule model: meta is not valid JSON "
                         f"({error})") from None
    if not isinstance(parsed, dict) or parsed.get("format") != FORMAT:
        raise ValueError(f"{path} is not a chainrule model file (meta lacks format "
                         f"{FORMAT!r})")
    version = parsed.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} is not a valid chainrule model: bad format_version "
                         f"{version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} has model format {version}, newer than this chainrule reads "
                         f"({FORMAT_VERSION}); upgrade chainrule")
    return parsed


def _promised_arrays(arch: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of every array the architecture needs: ``W1, b1, ...``."""
    if set(arch) != {"sizes", "activations", "output_activation", "loss", "dtype"}:
        raise ValueError("architecture must have sizes, activations, output_activation, loss "
                         "and dtype")
    sizes = arch["sizes"]
    if not (isinstance(sizes, list) and 2 <= len(sizes) <= MAX_LAYERS + 1 and all(
            isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_UNITS
            for s in sizes)):
        raise ValueError(f"sizes must be a list of 2 or more positive integers, got "
                         f"{str(sizes)[:200]}")
    if arch["dtype"] not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {str(arch['dtype'])[:50]!r}")
    dtype = np.dtype(arch["dtype"])
    promised = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        promised[f"W{i}"] = ((n_in, n_out), dtype)
        promised[f"b{i}"] = ((n_out,), dtype)
    return promised


def _check_names(found: set[str], expected: set[str]) -> None:
    if found != expected:
        extra, missing = sorted(found - expected), sorted(expected - found)
        raise ValueError("the arrays do not match the architecture"
                         + (f"; missing {', '.join(missing[:10])}" if missing else "")
                         + (f"; unexpected {', '.join(extra[:10])}" if extra else ""))


def _expect(name: str, shape: tuple[int, ...], dtype: np.dtype):
    """A header check: the array ``name`` must have ``shape`` and ``dtype``."""
    def check(found_shape: tuple[int, ...], found_dtype: np.dtype) -> None:
        if found_dtype.hasobject:
            raise ValueError(f"{name} holds Python objects (pickled objects are never loaded)")
        if found_shape != shape or found_dtype != dtype:
            raise ValueError(f"{name} has shape {found_shape} and dtype {found_dtype}, but the "
                             f"architecture needs {shape} and {dtype}")
    return check


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _model(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Model:
    unknown = set(meta) - META_KEYS
    if unknown:
        raise ValueError(f"unknown meta field(s) {', '.join(sorted(unknown))}")
    net = _network(arrays, _dict(meta.get("architecture"), "architecture"))
    pre = _dict(meta.get("preprocessing"), "preprocessing")
    if set(pre) - {"inputs", "targets"}:
        raise ValueError("preprocessing may only hold 'inputs' and 'targets'")
    names = meta.get("feature_names")
    if names is not None and not (isinstance(names, list)
                                  and all(isinstance(n, str) for n in names)):
        raise ValueError("feature_names must be a list of strings")
    preprocessor = _preprocessor(pre.get("inputs"), meta.get("format_version"), names, net,
                                 meta.get("task"))
    target_scaler = None
    if pre.get("targets") is not None:
        target_scaler = Standardizer.from_json(pre["targets"], net.n_outputs, "target scaling")
    task = meta.get("task")
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)} or null, got {task!r}")
    classes = _classes(meta.get("classes"), net, task)
    if task == "regression" and classes is not None:
        raise ValueError("a regression model has no classes")
    if task != "regression" and target_scaler is not None:
        raise ValueError("target scaling belongs to regression models")
    target = meta.get("target")
    if target is not None and not isinstance(target, str):
        raise ValueError("target must be a string or null")
    input_range = meta.get("input_range")
    if input_range is not None:
        input_range = _dict(input_range, "input_range")
        if set(input_range) != {"low", "high"}:
            raise ValueError("input_range must have exactly 'low' and 'high'")
        net.input_range_ = tuple(_float_list(input_range[k], net.n_inputs, f"input_range {k}")
                                 .astype(net.dtype) for k in ("low", "high"))
    metadata = meta.get("metadata", {})
    return Model(net, task, preprocessor, target_scaler, classes, target,
                 _dict(metadata, "metadata"))


def _preprocessor(inputs: Any, version: int, names: list[str] | None, net: Network,
                  task: str | None) -> Preprocessor | None:
    """The input preprocessing: format 2's column roles, or format 1's plain scaling."""
    if version >= 2:
        if inputs is None:
            return None
        pre = Preprocessor.from_json(_dict(inputs, "input preprocessing"))
        if pre.n_outputs != net.n_inputs:
            raise ValueError(f"the preprocessing makes {pre.n_outputs} inputs but the network "
                             f"takes {net.n_inputs}")
        if names is not None and names != pre.input_columns:
            raise ValueError("feature_names do not match the preprocessing's columns")
        return pre
    if names is not None and len(names) != net.n_inputs:
        raise ValueError(f"feature_names must be a list of {net.n_inputs} strings")
    names = names or [f"x{i}" for i in range(net.n_inputs)]
    if inputs is not None:
        scaler = Standardizer.from_json(inputs, net.n_inputs, "input scaling")
        return Preprocessor.scaling(names, scaler.mean, scaler.scale)
    if task is None:
        return None
    return Preprocessor.scaling(names, np.zeros(net.n_inputs), np.ones(net.n_inputs))


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _network(arrays: dict[str, np.ndarray], arch: dict[str, Any]) -> Network:
    """The network: architecture and arrays already match (:func:`_read` checked them)."""
    sizes = arch["sizes"]
    hidden = arch["activations"]
    names = [*hidden, arch["output_activation"]] if isinstance(hidden, list) else None
    if names is None or len(hidden) != len(sizes) - 2 or not all(
            isinstance(n, str) and n in ACTIVATIONS for n in names):
        raise ValueError(f"activations must name {len(sizes) - 2} built-in activation(s) and "
                         f"output_activation one more, got {str(hidden)[:200]}, "
                         f"{str(arch['output_activation'])[:50]!r}")
    if not isinstance(arch["loss"], str) or arch["loss"] not in LOSSES:
        raise ValueError(f"unknown loss {str(arch['loss'])[:50]!r}")
    for name, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} holds NaN or inf")
    net = Network(sizes, activation=hidden, output_activation=names[-1], loss=arch["loss"],
                  seed=0, dtype=arch["dtype"])
    for i, layer in enumerate(net.layers, start=1):
        layer.weights[...] = arrays[f"W{i}"]
        layer.bias[...] = arrays[f"b{i}"]
    return net


def _classes(classes: Any, net: Network, task: str | None) -> list[Any] | None:
    if classes is None:
        if task == "classification":
            raise ValueError("a classification model needs its classes")
        return None
    if not (isinstance(classes, list) and classes and all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in classes)):
        raise ValueError("classes must be a non-empty list of strings or numbers")
    if len({str(c) for c in classes}) != len(classes):
        raise ValueError("classes must be distinct")
    expected = 2 if net.n_outputs == 1 else net.n_outputs
    if len(classes) != expected:
        raise ValueError(f"{len(classes)} classes for a network with {net.n_outputs} output(s)")
    if task != "classification":
        raise ValueError("classes belong to classification models")
    return classes
