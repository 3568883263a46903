"""Targets: the task (classes or a quantity), class labels, target scaling, the output layer.

Classification targets become class indices ``0..k-1`` into the sorted class labels (2 classes:
one sigmoid output with ``bce``; more: a softmax output with ``cross_entropy``). Regression
targets are standardised by a :class:`Standardizer`, ``y' = (y - mean) / scale``, and
predictions are mapped back, ``y = y' scale + mean``. Rows whose target is missing cannot be
learned from: :func:`drop_missing_target` removes them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .preprocessing import category_text
from .reading import Table

Array = np.ndarray

TASKS = ("classification", "regression")
MAX_CLASSES = 20  # integer targets with up to this many distinct values are taken to be classes


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


def task_reason(y: Array, task: str = "auto") -> str:
    """Why the task is what it is, and how to change it, for people (``chainrule train``)."""
    if task != "auto":
        return f"asked (--task {task})"
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        return "the target is text"
    if infer_task(y) == "regression":
        return "the target is numbers (not a few whole numbers)"
    return (f"whole numbers with at most {MAX_CLASSES} distinct values are classes; --task "
            "regression predicts the numbers instead")


def check_classes(y: Array, name: str | None, holdout: float) -> None:
    """Refuse a classification target that has a different value on each row (an identifier),
    when rows are to be held out; warn when there are more classes than half the rows."""
    n = len(y)
    k = len(np.unique(np.asarray(y).astype(str)))
    if k == n and n > 1 and holdout > 0:
        raise ValueError(f"target {name!r} has a different value on each of its {n} rows, like "
                         "an identifier, so no class can be learned: choose the column to predict "
                         "with --target (if it holds numbers written as text, write them as plain "
                         "numbers and use --task regression)")
    if k > n / 2 and k > 2:
        numbers = np.asarray(y).dtype.kind in "biuf"
        advice = ("if it is a quantity, --task regression predicts it" if numbers else
                  "check that it is the column to predict (text cannot be regressed; numbers "
                  "written as text must be plain numbers first)")
        warnings.warn(f"target {name!r} has {k} classes in {n} rows, most with a single row to "
                      f"learn from; {advice}", UserWarning, stacklevel=2)


def regression_targets(y: Array, name: str | None) -> Array:
    """A regression target as floats; text is refused naming the column."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        example = next((v for v in y.tolist() if v is not None), None)
        raise ValueError(f"target column {name!r} holds text ({example!r}), but the model "
                         "predicts numbers (regression): give the column of numbers it was "
                         "trained on with --target")
    return y.astype(float)


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
    if y.dtype.kind in "biuf" and all(isinstance(c, int | float) for c in classes):
        keys, values = [float(c) for c in classes], y.astype(float)
    else:  # text labels, or numbers read where the model's classes are text ('1', '2', 'x')
        keys = [category_text(c) for c in classes]
        values = np.array([category_text(v) for v in y.tolist()], dtype=object)
    lookup = {k: i for i, k in enumerate(keys)}
    unknown = sorted({str(v) for v in values.tolist() if v not in lookup})
    if unknown:
        raise ValueError(f"target label(s) {', '.join(unknown[:5])} were not seen in training; "
                         f"the model knows {', '.join(map(str, classes))}")
    return np.array([lookup[v] for v in values.tolist()], dtype=np.intp)


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
        raise ValueError("the target has a single class (every row has the same value); "
                         "classification needs at least two: give rows of other classes too, or "
                         "--task regression to predict a number")
    if loss == "bce" and n_classes > 2:
        raise ValueError(f"loss 'bce' is for 2 classes, the target has {n_classes}; use "
                         "cross_entropy")
    if loss == "cross_entropy" or (loss == "auto" and n_classes > 2) or (
            loss == "mse" and n_classes > 2):
        return "softmax", "cross_entropy" if loss != "mse" else "mse", n_classes
    return "sigmoid", "bce" if loss in ("auto", "bce") else "mse", 1


def target_missing(y: Array) -> Array:
    """Boolean mask of the missing entries of a target column (NaN or ``None``)."""
    y = np.asarray(y)
    if y.dtype.kind in "fc":
        return np.isnan(y)
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in y.tolist()],
                        dtype=bool)
    return np.zeros(len(y), dtype=bool)


def drop_missing_target(table: Table) -> tuple[Table, int]:
    """The rows of ``table`` whose target is present, and how many were dropped.

    Raises ``ValueError`` when no target remains. Text labels become a plain string array.
    """
    missing = target_missing(table.target)
    dropped = int(missing.sum())
    if dropped == len(missing):
        raise ValueError(f"target column {table.target_name!r} in {table.source} has no value")
    if dropped:
        table = table.take(~missing)
    if table.target.dtype.kind == "O":
        labels = table.target.tolist()
        table.target = np.array([str(v) for v in labels])
    return table, dropped
