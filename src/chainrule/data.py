"""Data for the command line: reading tables, scaling inputs, encoding targets, and :class:`Model`.

Reading
    :func:`read_table` reads a CSV/TSV file with a header row (the delimiter is sniffed), a NumPy
    ``.npy`` file (a 2-D array; the target is a column index), a ``.npz`` file (arrays ``X`` and
    ``y``, or one 2-D array and a column index), or the name of a built-in data set
    (:mod:`chainrule.datasets`). Files are parsed, never executed: ``.npy``/``.npz`` are loaded
    with ``allow_pickle=False``.

Preprocessing
    Inputs are standardised, ``x' = (x - mean) / scale``, by a :class:`Standardizer` fitted on the
    training rows (a constant column gets ``scale = 1``). Classification targets become class
    indices ``0..k-1`` into the sorted class labels (2 classes: one sigmoid output with ``bce``;
    more: a softmax output with ``cross_entropy``); regression targets are standardised too and
    predictions are mapped back, ``y = y' scale + mean``.

:class:`Model` bundles the trained :class:`~chainrule.network.Network` with this preprocessing and
the class labels; :func:`chainrule.io.load_model` reads one back.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .network import Network

Array = np.ndarray

TASKS = ("classification", "regression")
MAX_CLASSES = 20  # integer targets with up to this many distinct values are taken to be classes
SNIFF_BYTES = 64 * 1024


# -- reading -----------------------------------------------------------------------------------
@dataclass
class Table:
    """A data set as read: numeric feature columns, their names, and the raw target column.

    ``target`` holds the target column's values as read (numbers, or strings for labels), or is
    ``None`` when no target was asked for.
    """

    X: Array
    feature_names: list[str]
    target: Array | None = None
    target_name: str | None = None
    source: str = ""

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]


def read_table(source: str | os.PathLike, target: str | None = None,
               features: Sequence[str] | None = None) -> Table:
    """Read a data set from a CSV/TSV/NPY/NPZ file or a built-in data set name.

    Parameters
    ----------
    source : str or path
        A file (``.csv``, ``.tsv``, ``.txt``, ``.npy``, ``.npz``) or a built-in name such as
        ``spirals`` (see :func:`chainrule.datasets.dataset_names`).
    target : str, optional
        The target column: a header name for text files, a column index for arrays. Every other
        column is a feature. ``None`` reads features only (an ``.npz``'s ``y`` is then ignored).
        Built-in data sets always come with their target, named ``y``.
    features : sequence of str, optional
        For prediction: take exactly these columns, by name, in this order (other columns,
        such as the target, are ignored). Arrays without names must have exactly this many
        columns, or one more when ``target`` is given.

    Raises
    ------
    ValueError
        Naming the problem: missing file, empty file, missing column, non-numeric feature, ...
    """
    from .datasets import is_dataset_name, load_dataset

    path = os.fspath(source)
    if not os.path.exists(path):
        if is_dataset_name(path):
            X, y = load_dataset(path)
            return _builtin_table(path, X, y, target, features)
        raise ValueError(f"no such file: {path} (nor a built-in data set; see `chainrule "
                         "datasets`)")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, not a data file")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path} is empty")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".npy", ".npz"):
        return _read_numpy(path, suffix, target, features)
    return _read_text(path, target, features)


def _builtin_table(name: str, X: Array, y: Array, target: str | None,
                   features: Sequence[str] | None) -> Table:
    names = [f"x{i}" for i in range(X.shape[1])]
    if y.ndim == 2:  # one-hot rows (the encoder): the class is the hot column
        y = y.argmax(axis=1)
    if features is not None:
        _require_columns(features, names, name)
    return Table(np.asarray(X, float), names, y, "y", name)


def _read_text(path: str, target: str | None, features: Sequence[str] | None) -> Table:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = f.read(SNIFF_BYTES)
            f.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",\t;| ")
            except csv.Error:
                dialect = csv.excel_tab if "\t" in sample.splitlines()[0] else csv.excel
            rows = [row for row in csv.reader(f, dialect) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not a text (UTF-8) table; expected CSV/TSV, .npy or .npz") from None
    except csv.Error as error:
        raise ValueError(f"{path} is not a readable CSV/TSV file: {error}") from None
    if not rows:
        raise ValueError(f"{path} is empty")
    header = [name.strip() for name in rows[0]]
    body = rows[1:]
    if not body:
        raise ValueError(f"{path} has a header but no data rows")
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise ValueError(f"{path}: column name(s) {', '.join(twice)} appear more than once")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} fields but the header has "
                             f"{len(header)}")
    columns = {name: [row[j].strip() for row in body] for j, name in enumerate(header)}
    target_name = None if target is None else _column_name(target, header, path)
    if features is not None:
        _require_columns(features, header, path)
        names = list(features)
    else:
        names = [h for h in header if h != target_name]
    if not names:
        raise ValueError(f"{path} has no feature columns besides the target {target_name!r}")
    X = np.column_stack([_numeric_column(columns[name], name, path) for name in names])
    y = None if target_name is None else _target_column(columns[target_name], target_name, path)
    return Table(X, names, y, target_name, path)


def _column_name(target: str, header: list[str], path: str) -> str:
    if target in header:
        return target
    if target.lstrip("-").isdigit() and -len(header) <= int(target) < len(header):
        return header[int(target)]
    raise ValueError(f"target column {target!r} not found in {path}; columns are "
                     f"{', '.join(header)}")


def _require_columns(wanted: Sequence[str], available: Sequence[str], path: str) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ValueError(f"{path} lacks the model's input column(s) {', '.join(missing)}; it has "
                         f"{', '.join(available)}")


def _numeric_column(cells: list[str], name: str, path: str) -> Array:
    values = np.empty(len(cells))
    for i, cell in enumerate(cells):
        try:
            values[i] = float(cell)
        except ValueError:
            what = "is empty" if cell == "" else f"holds {cell[:40]!r}"
            raise ValueError(f"feature column {name!r} in {path} must be numeric, but row {i + 2} "
                             f"{what}; drop or encode that column") from None
        if not math.isfinite(values[i]):
            raise ValueError(f"feature column {name!r} in {path} holds {cell!r} at row {i + 2}; "
                             "remove or impute it")
    return values


def _target_column(cells: list[str], name: str, path: str) -> Array:
    if any(cell == "" for cell in cells):
        row = cells.index("") + 2
        raise ValueError(f"target column {name!r} in {path} is empty at row {row}")
    try:
        values = np.array([float(cell) for cell in cells])
    except ValueError:
        return np.array(cells, dtype=str)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"target column {name!r} in {path} holds NaN or inf")
    return values


def _read_numpy(path: str, suffix: str, target: str | None,
                features: Sequence[str] | None) -> Table:
    try:
        loaded = np.load(path, allow_pickle=False)
        if hasattr(loaded, "files"):  # an .npz archive
            with loaded:
                arrays = {name: loaded[name] for name in loaded.files}
        else:
            arrays = {"": loaded}
    except Exception as error:  # any corruption: one clear message
        raise ValueError(f"{path} is not a readable NumPy {suffix} file without pickle "
                         f"({error})") from None
    if suffix == ".npz" and "X" in arrays:
        X = _numeric_array(arrays["X"], "X", path)
        X = X[:, None] if X.ndim == 1 else X
        if X.ndim != 2:
            raise ValueError(f"{path}: X must be a 2-D array, got shape {X.shape}")
        names = [f"x{i}" for i in range(X.shape[1])]
        if features is not None and len(features) != len(names):
            raise ValueError(f"{path}: X has {len(names)} columns but the model takes "
                             f"{len(features)} inputs")
        y = None
        if target is not None:
            if "y" not in arrays:
                raise ValueError(f"{path} has X but no array y for the target")
            y = _target_array(arrays["y"], path)
            if len(y) != len(X):
                raise ValueError(f"{path}: X has {len(X)} rows but y has {len(y)}")
        return _checked(Table(X, features and list(features) or names, y, target and "y", path))
    if len(arrays) != 1:
        raise ValueError(f"{path} must hold arrays X and y, or a single 2-D array; it holds "
                         f"{', '.join(arrays)}")
    data = _numeric_array(next(iter(arrays.values())), "the array", path)
    if data.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array (rows x columns), got shape {data.shape}")
    n_cols = data.shape[1]
    index = None
    if features is not None and n_cols == len(features):
        target = None  # predicting, and the array holds the inputs only
    if target is not None:
        try:
            index = int(target)
        except ValueError:
            raise ValueError(f"{path} has no column names: give the target as a column index "
                             f"0..{n_cols - 1}, not {target!r}") from None
        if not -n_cols <= index < n_cols:
            raise ValueError(f"target column {index} out of range for {path} with {n_cols} "
                             "columns")
        index %= n_cols
    keep = [j for j in range(n_cols) if j != index]
    if features is not None and len(features) != len(keep):
        if index is None and len(features) == n_cols - 1:
            raise ValueError(f"{path} has {n_cols} columns but the model takes {len(features)} "
                             "inputs; pass --target to drop the target column")
        raise ValueError(f"{path}: {len(keep)} feature columns, but the model takes "
                         f"{len(features)} inputs")
    names = list(features) if features is not None else [f"x{j}" for j in keep]
    y = None if index is None else data[:, index]
    return _checked(Table(data[:, keep], names, y, None if index is None else str(index), path))


def _numeric_array(array: Array, what: str, path: str) -> Array:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} must be numeric, got dtype {array.dtype}")
    return array.astype(float)


def _target_array(y: Array, path: str) -> Array:
    if y.dtype.kind in "US":
        return y.astype(str).ravel()
    y = _numeric_array(y, "y", path)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{path}: y must be one column, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{path}: y holds NaN or inf")
    return y


def _checked(table: Table) -> Table:
    if table.n_samples == 0:
        raise ValueError(f"{table.source} has no rows")
    if not np.all(np.isfinite(table.X)):
        bad = np.flatnonzero(~np.isfinite(table.X).all(axis=0))[0]
        raise ValueError(f"feature column {table.feature_names[bad]!r} in {table.source} holds "
                         "NaN or inf; remove or impute those rows")
    return table


# -- preprocessing -----------------------------------------------------------------------------
@dataclass
class Standardizer:
    """Column scaling ``x' = (x - mean) / scale``, with ``scale = std`` (1 for a constant column).

    Fit it on training data only, then apply the same ``mean`` and ``scale`` to new data.
    """

    mean: Array
    scale: Array

    @classmethod
    def fit(cls, X: Array) -> Standardizer:
        X = np.asarray(X, dtype=float)
        X = X[:, None] if X.ndim == 1 else X
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        return cls(mean, np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0))

    def transform(self, X: Array) -> Array:
        return (np.asarray(X, dtype=float) - self.mean) / self.scale

    def inverse_transform(self, X: Array) -> Array:
        return np.asarray(X, dtype=float) * self.scale + self.mean

    def to_json(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_json(cls, data: Any, size: int, what: str) -> Standardizer:
        """Rebuild from :meth:`to_json` output, checking lengths and values (for model files)."""
        if not isinstance(data, dict) or set(data) != {"mean", "scale"}:
            raise ValueError(f"{what} must have exactly 'mean' and 'scale'")
        mean, scale = (_float_list(data[k], size, f"{what} {k}") for k in ("mean", "scale"))
        if not np.all(scale > 0):
            raise ValueError(f"{what} scale must be positive")
        return cls(mean, scale)


def _float_list(values: Any, size: int, what: str) -> Array:
    if not (isinstance(values, list) and len(values) == size and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
        raise ValueError(f"{what} must be a list of {size} numbers")
    array = np.array(values, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} holds NaN or inf")
    return array


def infer_task(y: Array) -> str:
    """``"classification"`` for labels (text, or a few distinct integers), else ``"regression"``.

    Integer-valued targets count as classes when they have at most 20 distinct values and at
    most half as many distinct values as samples (``0..9`` in 10 rows is a regression).
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        return "classification"
    distinct = np.unique(y)
    integers = np.all(distinct == np.round(distinct))
    few = len(distinct) <= min(MAX_CLASSES, max(2, len(y) // 2))
    return "classification" if integers and few else "regression"


def class_labels(y: Array) -> list[Any]:
    """Sorted distinct labels as JSON-friendly Python values (integral floats become ints)."""
    distinct = np.unique(y)
    if distinct.dtype.kind not in "biuf":
        return [str(v) for v in distinct]
    if np.all(distinct == np.round(distinct)):
        return [int(v) for v in distinct]
    return [float(v) for v in distinct]


def encode_labels(y: Array, classes: Sequence[Any]) -> Array:
    """Indices of ``y``'s labels in ``classes``; unknown labels raise ``ValueError``."""
    y = np.asarray(y)
    keys = [str(c) for c in classes] if y.dtype.kind not in "biuf" else [float(c) for c in classes]
    values = y.astype(str) if y.dtype.kind not in "biuf" else y.astype(float)
    lookup = {k: i for i, k in enumerate(keys)}
    unknown = sorted({str(v) for v in values.tolist() if v not in lookup})
    if unknown:
        raise ValueError(f"target label(s) {', '.join(unknown[:5])} were not seen in training; "
                         f"the model knows {', '.join(map(str, classes))}")
    return np.array([lookup[v] for v in values.tolist()], dtype=np.intp)


# -- the model bundle --------------------------------------------------------------------------
@dataclass
class Model:
    """A trained network with its preprocessing: what ``chainrule train`` saves.

    Attributes
    ----------
    network : Network
        Works on scaled inputs (and, for regression, scaled targets).
    task : {"classification", "regression"}
    scaler : Standardizer or None
        Applied to raw inputs before the network.
    target_scaler : Standardizer or None
        Regression only: network outputs are mapped back with ``inverse_transform``.
    classes : list or None
        Classification only: the label of each class index.
    feature_names, target : column names of the inputs and of the target.
    metadata : dict
        Anything JSON-serialisable saved along (e.g. training settings).
    """

    network: Network
    task: str = "regression"
    scaler: Standardizer | None = None
    target_scaler: Standardizer | None = None
    classes: list[Any] | None = None
    feature_names: list[str] | None = None
    target: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def inputs(self, X: Array) -> Array:
        """Raw inputs as the network sees them (scaled)."""
        X = np.asarray(X, dtype=float)
        X = X[:, None] if X.ndim == 1 else X
        return self.scaler.transform(X) if self.scaler is not None else X

    def targets(self, y: Array) -> Array:
        """Raw targets as the network is trained on them: class indices / one-hot, or scaled."""
        if self.task == "classification":
            index = encode_labels(y, self.classes)
            if self.network.n_outputs == 1:
                return index.astype(float)
            return np.eye(self.network.n_outputs)[index]
        y = np.asarray(y, dtype=float)
        return self.target_scaler.transform(y) if self.target_scaler is not None else y

    def predict_proba(self, X: Array) -> Array:
        """Class probabilities, shape ``(n, n_classes)`` (classification only)."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification models")
        out = self.network.predict(self.inputs(X))
        return np.column_stack([1 - out[:, 0], out[:, 0]]) if out.shape[1] == 1 else out

    def predict(self, X: Array) -> Array:
        """Predicted labels (classification) or values in the target's units (regression)."""
        if self.task == "classification":
            index = self.predict_proba(X).argmax(axis=1)
            return np.array(self.classes, dtype=object)[index]
        out = self.network.predict(self.inputs(X))
        if self.target_scaler is not None:
            out = self.target_scaler.inverse_transform(out)
        return out[:, 0] if out.shape[1] == 1 else out

    def evaluate(self, X: Array, y: Array) -> dict[str, float]:
        """``loss`` (as in training), and ``accuracy`` or ``r2`` and ``mse`` in target units."""
        result = {"samples": int(len(X)),
                  "loss": self.network.loss(self.inputs(X), self.targets(y))}
        if self.task == "classification":
            index = encode_labels(y, self.classes)
            result["accuracy"] = float(np.mean(self.predict_proba(X).argmax(axis=1) == index))
        else:
            y = np.asarray(y, dtype=float)
            error = self.predict(X) - y
            result["mse"] = float(np.mean(error**2))
            spread = float(np.sum((y - y.mean(axis=0)) ** 2))
            result["r2"] = 1.0 - float(np.sum(error**2)) / spread if spread > 0 else float("nan")
        return result

    def save(self, path: str | os.PathLike) -> None:
        """Write the model file (see :mod:`chainrule.io`): atomically, never pickled."""
        from .io import save_model

        save_model(self, path)


def output_for(task: str, n_classes: int, loss: str = "auto") -> tuple[str, str, int]:
    """``(output_activation, loss, n_outputs)`` for a task, refusing combinations that don't fit.

    Classification: 2 classes take one sigmoid output with ``bce``, more a softmax output with
    ``cross_entropy``; ``mse`` keeps those outputs, and ``cross_entropy`` on 2 classes uses two
    softmax outputs. Regression: an identity output with ``mse``.
    """
    if task == "regression":
        if loss not in ("auto", "mse"):
            raise ValueError(f"loss {loss!r} is for classification; regression uses mse")
        return "identity", "mse", 1
    if n_classes < 2:
        raise ValueError("the target has a single class; classification needs at least two")
    if loss == "bce" and n_classes > 2:
        raise ValueError(f"loss 'bce' is for 2 classes, the target has {n_classes}; use "
                         "cross_entropy")
    if loss == "cross_entropy" or (loss == "auto" and n_classes > 2) or (
            loss == "mse" and n_classes > 2):
        return "softmax", "cross_entropy" if loss != "mse" else "mse", n_classes
    return "sigmoid", "bce" if loss in ("auto", "bce") else "mse", 1


def build_model(table: Table, task: str = "auto", hidden: Sequence[int] = (16,),
                activation: str = "tanh", loss: str = "auto", seed: int | None = 0,
                dtype: str = "float64", standardize: bool = True,
                rows: Array | None = None) -> Model:
    """An untrained :class:`Model` for ``table``: the network and the preprocessing fitted on it.

    ``rows`` selects the training rows the scalers are fitted on (all rows by default).
    """
    if table.target is None:
        raise ValueError("a target column is needed to train")
    if task == "auto":
        task = infer_task(table.target)
    if task not in TASKS:
        raise ValueError(f"task must be auto, classification or regression, got {task!r}")
    rows = slice(None) if rows is None else rows
    y = table.target[rows]
    if task == "regression" and table.target.dtype.kind not in "biuf":
        raise ValueError(f"target {table.target_name!r} is not numeric, so it cannot be "
                         "regressed; use --task classification")
    classes = class_labels(table.target) if task == "classification" else None
    output, loss, n_out = output_for(task, len(classes or ()), loss)
    net = Network([table.X.shape[1], *hidden, n_out], activation=activation,
                  output_activation=output, loss=loss, seed=seed, dtype=dtype)
    return Model(
        net, task,
        scaler=Standardizer.fit(table.X[rows]) if standardize else None,
        target_scaler=Standardizer.fit(y) if standardize and task == "regression" else None,
        classes=classes, feature_names=list(table.feature_names), target=table.target_name,
    )


def split_rows(n: int, fraction: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Random ``(train, validation)`` row indices with ``round(fraction * n)`` validation rows."""
    if not 0 <= fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    order = rng.permutation(n)
    n_val = int(round(fraction * n))
    if fraction and (n_val < 1 or n - n_val < 1):
        raise ValueError(f"cannot hold out {fraction:g} of {n} rows for validation")
    return np.sort(order[n_val:]), np.sort(order[:n_val])
