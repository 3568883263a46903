"""The problems the playground trains: the questions' truth tables, 2-D classics, a user's table.

:func:`load_problem` turns a name or a file into a :class:`PlaygroundData`: the inputs as the
network sees them, the targets as it trains on them, a validation split, and what the page can
draw (a truth table for small problems, a heat map for two inputs, a curve for one).

- The questions' problems (``xor``, ``and``, ``or``, ``three-input``, ``and-chain``,
  ``even-odd``, ``xor-deep``) keep their raw inputs, a sigmoid output and ``mse``, as the
  questions wrote them, so the worked numbers match a learner's own printouts.
- ``spirals``, ``circles`` and ``moons`` are generated (``samples`` points) and standardised.
- Any other name is a table: a CSV/TSV/NPY/NPZ file, or a built-in data set such as ``iris``
  (see ``chainrule datasets``). Its inputs are standardised; with more than two features, the
  network is trained on their first two principal components, or on two chosen ``columns``
  (``"all"`` keeps every feature, with no heat map).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..data import (
    Preprocessor,
    Standardizer,
    class_labels,
    drop_missing_target,
    encode_labels,
    infer_task,
    read_table,
    split_rows,
)
from ..datasets import PROBLEMS, load_dataset

Array = np.ndarray

GENERATED = ("spirals", "circles", "moons")
TABLE_ROWS = 32  # problems with at most this many training rows are shown as a table
VALIDATION = 0.2  # fraction held out when there are at least MIN_VALIDATION rows
MIN_VALIDATION = 20
DATA_SEED = 0  # the data's noise and split do not change with the network's seed


@dataclass
class PlaygroundData:
    """A problem as the playground trains and draws it.

    Attributes
    ----------
    name, description : str
    X, y : arrays
        Training inputs as the network sees them, and targets as it is trained on them:
        0/1 for two classes, class indices for more, standardised values for regression.
    X_val, y_val : arrays or None
        Held-out rows (none for the small problems, whose rows are the whole truth table).
    features : list of str
        The name of each network input.
    task : {"binary", "multiclass", "regression"}
    classes : list of str
        The label of each class (empty for regression).
    layers, activation, loss : defaults for the network's hidden sizes, activation and loss.
    note : str
        How the inputs were made (standardised, principal components, ...).
    """

    name: str
    description: str
    X: Array
    y: Array
    X_val: Array | None = None
    y_val: Array | None = None
    features: list[str] = field(default_factory=list)
    task: str = "binary"
    classes: list[str] = field(default_factory=list)
    layers: tuple[int, ...] = (4,)
    activation: str = "tanh"
    loss: str = "bce"
    note: str = ""

    @property
    def n_inputs(self) -> int:
        return self.X.shape[1]

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task == "multiclass" else 1

    @property
    def output_activation(self) -> str:
        return {"binary": "sigmoid", "multiclass": "softmax", "regression": "identity"}[self.task]

    @property
    def losses(self) -> tuple[str, ...]:
        """The losses that fit this task's output."""
        return {"binary": ("mse", "bce"), "multiclass": ("cross_entropy", "mse"),
                "regression": ("mse",)}[self.task]

    @property
    def views(self) -> list[str]:
        """What the page draws: ``table`` (small problems), ``map`` (2 inputs), ``curve`` (1)."""
        views = ["table"] if len(self.X) <= TABLE_ROWS else []
        if self.n_inputs == 2:
            views.append("map")
        elif self.n_inputs == 1:
            views.append("curve")
        return views

    def describe(self) -> dict:
        """The static part of the page's state: data points, names, views."""
        def rows(X, y):
            return [] if X is None else [[*map(float, x), float(t)] for x, t in zip(X, y,
                                                                                    strict=True)]
        return {
            "name": self.name, "description": self.description, "features": self.features,
            "task": self.task, "classes": self.classes, "views": self.views, "note": self.note,
            "n_train": len(self.X), "n_val": 0 if self.X_val is None else len(self.X_val),
            "train": rows(self.X, self.y), "val": rows(self.X_val, self.y_val),
            "losses": list(self.losses), "output_activation": self.output_activation,
        }


def problem_names(extra: str | None = None) -> list[str]:
    """The problems the page offers: the questions' ones, the generated ones, and ``extra``."""
    names = list(PROBLEMS) + list(GENERATED)
    return names + [extra] if extra and extra not in names else names


def load_problem(name: str, target: str | None = None, columns: str | None = None,
                 samples: int | None = None, noise: float | None = None) -> PlaygroundData:
    """The :class:`PlaygroundData` for a problem name, a built-in data set, or a table file.

    Parameters
    ----------
    name : str
        A question's problem, ``spirals``/``circles``/``moons``, a built-in data set, or a file.
    target : str, optional
        The target column of a file (built-in data sets have their own).
    columns : str, optional
        ``"A,B"``: train on these two feature columns (or one) instead of the first two
        principal components; ``"all"``: on every feature.
    samples, noise : optional
        Size and noise of the generated problems.

    Raises
    ------
    ValueError
        Naming the problem: unknown name, missing target, unknown column, ...
    """
    if name in PROBLEMS:
        if target or columns or samples or noise is not None:
            raise ValueError(f"{name} is a fixed truth table: it takes no --target, --columns, "
                             "--samples or --noise")
        p = PROBLEMS[name]
        return PlaygroundData(
            name, p.description, p.X.astype(float), p.y.astype(float),
            features=[f"x{i + 1}" for i in range(p.X.shape[1])], task="binary",
            classes=["0", "1"], layers=tuple(p.sizes[1:-1]), activation="sigmoid", loss="mse",
            note="raw inputs, sigmoid units and mse, as in the question")
    if name in GENERATED:
        if target or columns:
            raise ValueError(f"{name} is generated with two inputs: it takes no --target or "
                             "--columns")
        if samples is not None and not (isinstance(samples, int) and 4 <= samples <= 100_000):
            raise ValueError(f"--samples must be an integer from 4 to 100000, got {samples!r}")
        if noise is not None and not (np.isfinite(noise) and 0 <= noise <= 10):
            raise ValueError(f"--noise must be a number from 0 to 10, got {noise!r}")
        X, y = load_dataset(name, n=samples, noise=noise, rng=np.random.default_rng(DATA_SEED))
        data = _split(name, f"{name}: {len(X)} points", X, y, ["x1", "x2"], "binary",
                      ["0", "1"], "inputs standardised (mean 0, standard deviation 1)")
        data.layers = (8, 8)
        return data
    if samples is not None or noise is not None:
        raise ValueError("--samples and --noise are for spirals, circles and moons only")
    return _table(name, target, columns)


def _table(source: str, target: str | None, columns: str | None) -> PlaygroundData:
    import os

    from ..datasets import is_dataset_name

    builtin = is_dataset_name(source)
    if not builtin and not os.path.exists(source):
        raise ValueError(f"no such problem or file: {source}; problems are "
                         f"{', '.join(problem_names())}, or a built-in data set (see `chainrule "
                         "datasets`), or a CSV/NPY file with --target")
    if target is None and not builtin:
        raise ValueError(f"--target COL is needed for the data file {source}")
    table = read_table(source, target)
    if table.target is None:
        raise ValueError(f"{source} has no target column; pass --target COL")
    table, dropped = drop_missing_target(table)
    task = infer_task(table.target)
    if task == "classification":
        labels = class_labels(table.target)
        if len(labels) < 2:
            raise ValueError(f"the target of {source} has a single class, {labels[0]!r}: there "
                             "is nothing to learn")
        y = encode_labels(table.target, labels).astype(float)
        task = "binary" if len(labels) == 2 else "multiclass"
        classes = [str(c) for c in labels]
    else:
        y = np.asarray(table.target, dtype=float)
        classes = []
    pre = Preprocessor.fit(table, standardize=False)  # (standardised in _split)
    X, features, note = _inputs(pre, table, columns, source)
    skipped = [f"{name} ({detail.split(';')[0]})" for name, role, detail in pre.describe()
               if role == "dropped"]
    if skipped:
        note += "; not used: " + ", ".join(skipped)
    if dropped:
        note += f"; {dropped} rows without a target left out"
    data = _split(source, f"{len(X)} rows, target {table.target_name}", X, y,
                  features, task, classes, note)
    if task == "regression":  # standardise the targets too, on the training rows
        scaler = Standardizer.fit(data.y[:, None])
        data.y = scaler.transform(data.y[:, None])[:, 0]
        if data.y_val is not None:
            data.y_val = scaler.transform(data.y_val[:, None])[:, 0]
        data.note += "; target standardised"
    data.loss = data.losses[0]
    data.layers = (8,) if len(X) <= TABLE_ROWS else (8, 8)
    return data


def _inputs(pre: Preprocessor, table, columns: str | None,
            source: str) -> tuple[Array, list[str], str]:
    """The columns the network takes: one or two chosen numeric ones, all (categories one-hot,
    gaps filled, as ``chainrule train`` does), or the first two principal components of all of
    them standardised; their names; and a note saying which."""
    names = pre.output_names
    if columns is not None and columns.strip().lower() != "all":
        chosen = [c.strip() for c in columns.split(",") if c.strip()]
        if not 1 <= len(chosen) <= 2:
            raise ValueError(f"--columns takes one or two column names (or 'all'), got "
                             f"{columns!r}")
        numeric = [c.name for c in pre.numeric]
        for name in chosen:
            if name not in table.columns:
                raise ValueError(f"{source} has no feature column {name!r}; its features are "
                                 f"{', '.join(table.columns)}")
            if name not in numeric:
                role = next(r for n, r, _ in pre.describe() if n == name)
                raise ValueError(f"--columns {name}: that column is {role}, not numbers; choose "
                                 f"one or two of {', '.join(numeric)}, or 'all'")
        pre = Preprocessor([c if c.name in chosen else replace(c, role="dropped")
                            for c in pre.columns])
        names = [c.name for c in pre.numeric]  # (table order; gap indicators come after)
        X = pre.transform(table)[:, [names.index(name) for name in chosen]]
        return X, chosen, "chosen columns"
    X = pre.transform(table)
    if columns is not None or X.shape[1] <= 2:
        return X, names, "all features" if columns is not None else "its features"
    Z = Standardizer.fit(X).transform(X)
    _, s, Vt = np.linalg.svd(Z - Z.mean(axis=0), full_matrices=False)
    share = (s[:2] ** 2).sum() / max((s**2).sum(), 1e-300)
    return (Z @ Vt[:2].T, ["PC1", "PC2"],
            f"the first two principal components of {X.shape[1]} standardised features "
            f"({share:.0%} of their variance)")


def _split(name: str, description: str, X: Array, y: Array, features: list[str], task: str,
           classes: list[str], note: str) -> PlaygroundData:
    """Hold out a validation fraction (from 20 rows on) and standardise the inputs on the rest."""
    n = len(X)
    fraction = VALIDATION if n >= MIN_VALIDATION else 0.0
    train, val = split_rows(n, fraction, np.random.default_rng(DATA_SEED))
    scaler = Standardizer.fit(X[train])
    X = scaler.transform(X)
    has_val = len(val) > 0
    return PlaygroundData(
        name, description, X[train], y[train], X[val] if has_val else None,
        y[val] if has_val else None, features=list(features), task=task, classes=classes,
        note=note if note.startswith("inputs") else f"inputs: {note}, standardised")
