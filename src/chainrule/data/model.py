"""The CLI's :class:`Model`: a network with the preprocessing of its inputs and targets.

:func:`build_model` makes an untrained model for a table: a :class:`~.preprocessing.Preprocessor`
fitted on the training rows, the target's coding (:mod:`.targets`) and a network of the right
shape. :func:`holdout` is the rule that decides which rows the CLI holds out for validation.
:func:`chainrule.io.load_model` reads a saved model back.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..network import Network
from .preprocessing import Preprocessor
from .reading import Table, read_table
from .targets import (
    TASKS,
    Standardizer,
    class_labels,
    encode_labels,
    infer_task,
    output_for,
    regression_targets,
)

Array = np.ndarray

HOLDOUT = 0.2  # share of the rows held out for validation ...
MIN_HOLDOUT_ROWS = 30  # ... from tables of at least this many rows that are not a whole domain


@dataclass
class Model:
    """A trained network with its preprocessing: what ``chainrule train`` saves.

    Attributes
    ----------
    network : Network
        Works on preprocessed inputs (and, for regression, scaled targets).
    task : {"classification", "regression"} or None
        ``None`` for a bare network saved with :meth:`Network.save`.
    preprocessor : Preprocessor or None
        Turns raw columns into the network's inputs (see :mod:`.preprocessing`).
    target_scaler : Standardizer or None
        Regression only: network outputs are mapped back with ``inverse_transform``.
    classes : list or None
        Classification only: the label of each class index.
    target : str or None
        The target column's name.
    metadata : dict
        Anything JSON-serialisable saved along (e.g. training settings).
    """

    network: Network
    task: str | None = "regression"
    preprocessor: Preprocessor | None = None
    target_scaler: Standardizer | None = None
    classes: list[Any] | None = None
    target: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str] | None:
        """The raw columns the model reads (dropped columns are not needed)."""
        return None if self.preprocessor is None else self.preprocessor.input_columns

    def inputs(self, X: Table | Array | Any) -> Array:
        """Raw inputs (a :class:`Table`, a file's path, a pandas DataFrame or a numeric array)
        as the network sees them: preprocessed, in the network's dtype."""
        if isinstance(X, str | os.PathLike):
            X = read_table(X, text=self.preprocessor.text_columns
                           if self.preprocessor is not None else ())
        if self.preprocessor is None:
            X = np.asarray(X, dtype=self.network.dtype)
            return X[:, None] if X.ndim == 1 else X
        if not isinstance(X, Table) and type(X).__module__.split(".")[0] == "pandas":
            X = read_table(X)
        return self.preprocessor.transform(X, dtype=self.network.dtype)

    def targets(self, y: Array) -> Array:
        """Raw targets as the network is trained on them: class indices / one-hot, or scaled."""
        if self.task == "classification":
            index = encode_labels(y, self.classes)
            if self.network.n_outputs == 1:
                return index.astype(float)
            return np.eye(self.network.n_outputs)[index]
        y = regression_targets(y, self.target)
        return self.target_scaler.transform(y) if self.target_scaler is not None else y

    def fit(self, table: Table, **fit_kwargs: Any):
        """Train the network on the table's rows; ``validation=`` takes a second table.

        The network's own out-of-range check (on preprocessed inputs) is switched off: the
        preprocessor checks raw columns, by name. Returns the :class:`~chainrule.History`.
        """
        validation = fit_kwargs.pop("validation", None)
        if validation is not None:
            fit_kwargs["validation_data"] = (self.inputs(validation),
                                             self.targets(validation.target))
        history = self.network.fit(self.inputs(table), self.targets(table.target), **fit_kwargs)
        self.network.input_range_ = None
        return history

    def _outputs(self, X: Table | Array | Any) -> Array:
        return self.network.predict(self.inputs(X))

    def predict_proba(self, X: Table | Array | Any) -> Array:
        """Class probabilities, shape ``(n, n_classes)`` (classification only)."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification models")
        return self._probabilities(self._outputs(X))

    @staticmethod
    def _probabilities(out: Array) -> Array:
        return np.column_stack([1 - out[:, 0], out[:, 0]]) if out.shape[1] == 1 else out

    def predict(self, X: Table | Array | Any) -> Array:
        """Predicted labels (classification) or values in the target's units (regression)."""
        return self._decode(self._outputs(X))

    def _decode(self, out: Array) -> Array:
        if self.task == "classification":
            index = self._probabilities(out).argmax(axis=1)
            return np.array(self.classes, dtype=object)[index]
        if self.target_scaler is not None:
            out = self.target_scaler.inverse_transform(out)
        return out[:, 0] if out.shape[1] == 1 else out

    def evaluate(self, X: Table | Array | Any, y: Array) -> dict[str, float]:
        """``loss`` (as in training), and ``accuracy`` or ``r2`` and ``mse`` in target units."""
        targets = self.targets(y)  # unknown labels are refused before any warning on X
        inputs = self.inputs(X)
        result = {"samples": int(len(inputs)), "loss": self.network.loss(inputs, targets)}
        out = self.network.predict(inputs)
        if self.task == "classification":
            index = encode_labels(y, self.classes)
            result["accuracy"] = float(np.mean(self._probabilities(out).argmax(axis=1) == index))
        else:
            y = np.asarray(y, dtype=float)
            error = self._decode(out) - y
            result["mse"] = float(np.mean(error**2))
            spread = float(np.sum((y - y.mean(axis=0)) ** 2))
            result["r2"] = 1.0 - float(np.sum(error**2)) / spread if spread > 0 else float("nan")
        return result

    def save(self, path: str | os.PathLike) -> None:
        """Write the model file (see :mod:`chainrule.io`): atomically, never pickled."""
        from ..io import save_model

        save_model(self, path)


def build_model(table: Table, task: str = "auto", hidden: Sequence[int] = (16,),
                activation: str = "tanh", loss: str = "auto", seed: int | None = 0,
                dtype: str = "float64", standardize: bool = True,
                rows: Array | None = None, categorical: Iterable[str] = (),
                drop: Iterable[str] = ()) -> Model:
    """An untrained :class:`Model` for ``table``: the network and the preprocessing fitted on it.

    ``rows`` selects the training rows the preprocessing is fitted on (all rows by default);
    ``categorical`` and ``drop`` name columns as :meth:`Preprocessor.fit` takes them. The
    target must have no missing values (see :func:`~.targets.drop_missing_target`).
    """
    if table.target is None:
        raise ValueError("a target column is needed to train")
    if task == "auto":
        task = infer_task(table.target)
    if task not in TASKS:
        raise ValueError(f"task must be auto, classification or regression, got {task!r}")
    train = table if rows is None else table.take(rows)
    if task == "regression" and table.target.dtype.kind not in "biuf":
        raise ValueError(f"target {table.target_name!r} is not numeric, so it cannot be "
                         "regressed; use --task classification")
    classes = class_labels(table.target) if task == "classification" else None
    output, loss, n_out = output_for(task, len(classes or ()), loss)
    pre = Preprocessor.fit(train, categorical, drop, standardize)
    net = Network([pre.n_outputs, *hidden, n_out], activation=activation,
                  output_activation=output, loss=loss, seed=seed, dtype=dtype)
    return Model(
        net, task, pre,
        target_scaler=Standardizer.fit(train.target) if standardize and task == "regression"
        else None,
        classes=classes, target=table.target_name,
    )


def holdout(table: Table, fraction: float | None = None) -> tuple[float, str]:
    """The share of rows the CLI holds out for validation, and why.

    The rule: hold out 20% of the rows, unless

    * the table has fewer than 30 rows (too few to spare any), or
    * the table is a whole domain: each column takes few values (at most ``sqrt(n)``), and the
      rows are distinct and are every combination of them (a truth table such as XOR, parity,
      or a grid). There is nothing else to generalise to, so every row is for training and
      training stops when every target is met.

    ``fraction`` (``--validation``) overrides the rule.
    """
    n = table.n_samples
    if fraction is not None:
        if not 0 <= fraction < 1:
            raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
        return fraction, ("none, as asked (--validation 0)" if fraction == 0 else
                          f"{fraction:.0%} of the rows, as asked (--validation)")
    if n < MIN_HOLDOUT_ROWS:
        return 0.0, f"none: {n} rows are too few to hold any out (fewer than {MIN_HOLDOUT_ROWS})"
    if _whole_domain(table):
        return 0.0, (f"none: the {n} rows are every combination of the inputs' values (a truth "
                     "table), so there is nothing else to generalise to")
    return HOLDOUT, (f"{HOLDOUT:.0%} of the rows held out, to stop training where held-out "
                     "loss is lowest")


def _whole_domain(table: Table) -> bool:
    """Whether the columns take few values and the rows are every combination of them, once."""
    n = table.n_samples
    combinations = 1
    keys = []
    for name in table.columns:
        values = table.column(name)
        codes = np.unique(np.asarray([str(v) for v in values.tolist()]) if values.dtype == object
                          else values, return_inverse=True)[1]
        values = int(codes.max()) + 1
        combinations *= values
        if combinations > n or values * values > n:
            return False
        keys.append(codes)
    distinct = len({tuple(row) for row in np.column_stack(keys).tolist()})
    return combinations == n == distinct


def split_rows(n: int, fraction: float, rng: np.random.Generator,
               strata: Array | None = None) -> tuple[Array, Array]:
    """Random ``(train, validation)`` row indices with about ``fraction * n`` validation rows.

    With ``strata`` (class labels), each class is split in that proportion, and keeps at least
    one training row.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    if not fraction:
        return np.arange(n), np.arange(0)
    if strata is None:
        order = rng.permutation(n)
        n_val = int(round(fraction * n))
        held = order[:n_val]
    else:
        codes = np.unique(np.asarray(strata).astype(str), return_inverse=True)[1]
        held = []
        for c in range(int(codes.max()) + 1):
            rows = rng.permutation(np.flatnonzero(codes == c))
            held.append(rows[: min(int(round(fraction * len(rows))), len(rows) - 1)])
        held = np.concatenate(held)
    if held.size < 1 and strata is not None:
        raise ValueError(f"cannot hold out {fraction:g} of {n} rows for validation: each of the "
                         f"{int(codes.max()) + 1} classes has too few rows to spare one; give "
                         "--validation 0, or a target with fewer classes (--task regression "
                         "for a quantity)")
    if held.size < 1 or n - held.size < 1:
        raise ValueError(f"cannot hold out {fraction:g} of {n} rows for validation")
    mask = np.zeros(n, dtype=bool)
    mask[held] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)
