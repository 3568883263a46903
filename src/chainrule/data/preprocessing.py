"""Column roles and the preprocessing that turns a raw table into the network's inputs.

:class:`Preprocessor` decides a role for every feature column when it is fitted on the training
rows, and applies the same steps to any later table (``predict``, ``evaluate``, ``doctor``, and
the ONNX graph of :mod:`chainrule.export`). Its whole state is JSON (:meth:`Preprocessor.to_json`),
stored in the model file: nothing is pickled.

Roles
    ``numeric``
        Numbers. Missing cells are filled with the training median; the column is then
        standardised, ``x' = (x - mean) / scale`` (mean and standard deviation of the filled
        training column; ``scale = 1`` when ``standardize=False``).
    ``date``
        Text of dates (see :mod:`.dates`; also Parquet/Feather date and timestamp columns): the
        number of days since 1970-01-01, then as ``numeric`` (median, standardised). The
        format found in training is stored and read the same way later.
    ``categorical``
        Text, true/false, or numbers named in ``categorical=``. One-hot coded over the categories
        seen in training (their text, sorted); a category unseen in training gives an all-zero
        row, counted in a warning. Missing cells take the most frequent category.
    ``dropped``
        Not used, with the reason: named in ``drop=``; identifier-like text (more than 10
        distinct values, in more than half the rows: names, ids, free text), which new rows
        would hardly share; a row number (a column named like ``rownames`` or
        ``Unnamed: 0`` holding distinct whole numbers, as R's and pandas' row names written to a
        file do, in any order after a split); a constant column; a column with no value at all.

Every numeric or categorical column with missing cells in training also gets a missing
indicator, ``1`` where the cell was missing and ``0`` elsewhere, so the network can tell a filled
value from a real one.

The network's inputs are laid out by group: the numeric and date columns (in table order), then
the indicators of those that have one, then, per categorical column, its one-hot block
followed by its indicator.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dates import date_days, date_format, day_text
from .reading import Table, numeric_table, text_numbers

Array = np.ndarray

ROLES = ("numeric", "date", "categorical", "dropped")
NUMBER_ROLES = ("numeric", "date")  # the roles of the numeric block: raw numbers, then scaled
IDENTIFIER_FRACTION = 0.5  # text with distinct values in more than this share of rows ...
DECORATED_NUMBER = re.compile(r"\s*\(?[+-]?[$€£¥]?\s*\d[\d,. ]*%?\)?\s*")  # 12%, $1,200, (12)
IDENTIFIER_MIN_VALUES = 10  # ... and more than this many distinct values is identifier-like
ROW_NUMBER_NAMES = ("", "rownames", "row.names", "row_names", "unnamed: 0")
FAR = 1.0  # warn for raw values more than FAR training ranges outside that range


def category_text(value: Any) -> str | None:
    """The text a cell has as a category: ``"Biscoe"``, ``"4"`` for ``4.0``, ``"True"``.

    ``None`` for a missing cell (``None`` or NaN).
    """
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 \
            else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


@dataclass
class Column:
    """One feature column's role and the numbers that preprocess it.

    Attributes
    ----------
    name : str
    role : {"numeric", "date", "categorical", "dropped"}
    reason : str
        Why it has its role (shown by ``chainrule train``).
    fill : float or str or None
        The value that replaces a missing cell: the training median (numeric) or the most
        frequent category (categorical).
    indicator : bool
        Whether a missing-indicator input follows (the column had gaps in training).
    mean, scale : float
        Numeric and date: ``x' = (x - mean) / scale`` (dates in days since 1970-01-01).
    low, high : float or None
        Numeric and date: the range of the training values (for the out-of-range warning);
        ``None`` when unknown (models from format-1 files).
    categories : list of str
        Categorical: the categories, sorted, one input each.
    format : str or None
        Date: how the text is read, ``"ISO8601"`` or a ``strptime`` format such as ``%m/%d/%Y``.
    """

    name: str
    role: str
    reason: str = ""
    fill: float | str | None = None
    indicator: bool = False
    mean: float = 0.0
    scale: float = 1.0
    low: float | None = None
    high: float | None = None
    categories: list[str] = field(default_factory=list)
    format: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "role": self.role, "reason": self.reason}
        if self.role in NUMBER_ROLES:
            data.update(fill=self.fill, indicator=self.indicator, mean=self.mean,
                        scale=self.scale, low=self.low, high=self.high)
        if self.role == "date":
            data["format"] = self.format
        elif self.role == "categorical":
            data.update(fill=self.fill, indicator=self.indicator, categories=self.categories)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Column:
        """Rebuild from :meth:`to_json` output, checking every field (for model files)."""
        if not isinstance(data, dict):
            raise ValueError("each preprocessing column must be a JSON object")
        name, role = data.get("name"), data.get("role")
        if not isinstance(name, str) or role not in ROLES:
            raise ValueError(f"a preprocessing column needs a name and a role in {ROLES}")
        number = {"fill", "indicator", "mean", "scale", "low", "high"}
        keys = {"numeric": number, "date": number | {"format"},
                "categorical": {"fill", "indicator", "categories"}, "dropped": set()}[role]
        if set(data) != {"name", "role", "reason"} | keys or not isinstance(data["reason"], str):
            raise ValueError(f"preprocessing column {name!r} ({role}) must have exactly "
                             f"{', '.join(sorted({'name', 'role', 'reason'} | keys))}")
        column = cls(name, role, data["reason"])
        if role == "dropped":
            return column
        if not isinstance(data["indicator"], bool):
            raise ValueError(f"column {name!r}: indicator must be true or false")
        column.indicator = data["indicator"]
        if role == "date":
            if not isinstance(data["format"], str) or not data["format"]:
                raise ValueError(f"column {name!r}: format must be a date format string")
            column.format = data["format"]
        if role in NUMBER_ROLES:
            for key in ("fill", "mean", "scale", "low", "high"):
                value = data[key]
                if value is None and key in ("low", "high"):
                    continue
                if not (isinstance(value, int | float) and not isinstance(value, bool)
                        and math.isfinite(value)):
                    raise ValueError(f"column {name!r}: {key} must be a finite number")
                setattr(column, key, float(value))
            if column.scale <= 0:
                raise ValueError(f"column {name!r}: scale must be positive")
            return column
        categories = data["categories"]
        if not (isinstance(categories, list) and categories
                and all(isinstance(c, str) for c in categories)
                and len(set(categories)) == len(categories)):
            raise ValueError(f"column {name!r}: categories must be distinct strings")
        if data["fill"] not in categories:
            raise ValueError(f"column {name!r}: fill must be one of its categories")
        column.categories, column.fill = categories, data["fill"]
        return column


class Preprocessor:
    """Column roles, imputation, one-hot coding and scaling, fitted on training rows.

    Parameters
    ----------
    columns : list of Column
        One per feature column of the training table, in its order.

    Examples
    --------
    >>> pre = Preprocessor.fit(table, categorical=["year"], drop=["id"])
    >>> X = pre.transform(table)          # (n, pre.n_outputs) floats for the network
    >>> pre.describe()                    # one line per column: its role and why
    """

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("preprocessing column names must be distinct")
        self.numeric = [c for c in self.columns if c.role in NUMBER_ROLES]  # dates as days
        self.categorical = [c for c in self.columns if c.role == "categorical"]

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, table: Table, categorical: Iterable[str] = (), drop: Iterable[str] = (),
            standardize: bool = True) -> Preprocessor:
        """Decide each column's role from ``table`` (the training rows) and fit its numbers.

        Parameters
        ----------
        table : Table
        categorical : iterable of str
            Columns to one-hot code although they hold numbers (e.g. integer codes). A text
            column named here is kept even when it looks like an identifier.
        drop : iterable of str
            Columns not to use.
        standardize : bool
            Scale numeric columns to mean 0 and standard deviation 1.

        Raises
        ------
        ValueError
            For a name in ``categorical`` or ``drop`` that is not a feature column, or a table
            left without any usable column.
        """
        categorical, drop = list(categorical), list(drop)
        for option, names in (("categorical", categorical), ("drop", drop)):
            unknown = [n for n in names if n not in table.columns]
            if unknown:
                raise ValueError(f"--{option} names column(s) {', '.join(unknown)}, not among "
                                 f"the feature columns {', '.join(table.columns)}")
        both = sorted(set(categorical) & set(drop))
        if both:
            raise ValueError(f"column(s) {', '.join(both)} are both categorical and dropped")
        columns = []
        for name in table.columns:
            values = table.column(name)
            if name in drop:
                columns.append(Column(name, "dropped", "asked (--drop)"))
            elif name in categorical:
                columns.append(_categorical(name, values, forced=True))
            elif name in table.text:
                fmt = date_format(values)
                columns.append(_categorical(name, values, forced=False) if fmt is None
                               else _date(name, values, fmt, standardize))
            else:
                columns.append(_numeric(name, values, standardize))
        pre = cls(columns)
        if not pre.numeric and not pre.categorical:
            raise ValueError("no usable feature column is left: "
                             + "; ".join(f"{c.name}: {c.reason}" for c in columns))
        return pre

    # -- applying ---------------------------------------------------------------------------
    @property
    def text_columns(self) -> list[str]:
        """The categorical columns: read as text from new files, so codes such as ``007`` keep
        their zeros."""
        return [c.name for c in self.categorical]

    @property
    def input_columns(self) -> list[str]:
        """The columns a table must have: every column not dropped."""
        return [c.name for c in self.columns if c.role != "dropped"]

    @property
    def output_names(self) -> list[str]:
        """A name for each network input: ``age``, ``age_missing``, ``island=Biscoe``, ..."""
        names = [c.name for c in self.numeric]
        names += [f"{c.name}_missing" for c in self.numeric if c.indicator]
        for c in self.categorical:
            names += [f"{c.name}={v}" for v in c.categories]
            names += [f"{c.name}_missing"] if c.indicator else []
        return names

    @property
    def n_outputs(self) -> int:
        return len(self.output_names)

    def transform(self, table: Table | Array, dtype: Any = np.float64) -> Array:
        """The network's inputs for the rows of ``table``: shape ``(n, n_outputs)``.

        ``table`` may also be a plain numeric array when every used column is numeric (its
        columns in :attr:`input_columns` order). Warns, naming the columns, about categories
        unseen in training, missing cells in columns that had none in training, and numbers far
        outside the training range.
        """
        table = self._as_table(table)
        n = table.n_samples
        out = np.empty((n, self.n_outputs), dtype=dtype)
        if self.numeric:
            raw = self.raw_numbers(table)
            gaps = np.isnan(raw)
            self._warn_numeric(raw, gaps)
            p = len(self.numeric)
            # in the output's dtype, as (x - mean) * (1 / scale): the very operations of the
            # exported ONNX graph (Imputer, Scaler), so that both give the same numbers
            fill, mean, inverse = (np.array(v).astype(dtype) for v in zip(
                *[(c.fill, c.mean, 1 / c.scale) for c in self.numeric], strict=True))
            block = raw.astype(dtype)
            if gaps.any():
                np.copyto(block, fill, where=gaps)
            np.subtract(block, mean, out=block)
            np.multiply(block, inverse, out=out[:, :p])
            flagged = [j for j, c in enumerate(self.numeric) if c.indicator]
            out[:, p : p + len(flagged)] = gaps[:, flagged]
            at = p + len(flagged)
        else:
            at = 0
        for column in self.categorical:
            at = _one_hot(column, table.column(column.name), out, at)
        return out

    def raw_numbers(self, table: Table | Array) -> Array:
        """The raw numeric block for the rows of ``table``: the :attr:`numeric` columns (dates
        as days since 1970-01-01), NaN where missing; what the ONNX graph's ``"input"`` takes."""
        table = self._as_table(table)
        return table.X[:, [table.numeric.index(c.name) for c in self.numeric]]

    def _as_table(self, table: Table | Array) -> Table:
        if isinstance(table, Table):
            missing = [n for n in self.input_columns if n not in table.columns]
            if missing:
                raise ValueError(f"the data lack the model's input column(s) "
                                 f"{', '.join(missing)}")
            wrong = [c for c in self.numeric if c.name in table.text]
            return _as_numbers(table, wrong) if wrong else table
        if self.categorical:
            raise ValueError("this model has categorical columns "
                             f"({', '.join(c.name for c in self.categorical)}); give it a table "
                             "(a file or a pandas DataFrame), not an array")
        X = np.asarray(table, dtype=float)
        X = X[:, None] if X.ndim == 1 else X
        names = self.input_columns
        if X.ndim != 2 or X.shape[1] != len(names):
            raise ValueError(f"X must have shape (n, {len(names)}): the columns "
                             f"{', '.join(names)}; got {X.shape}")
        return numeric_table(X, names)

    def _warn_numeric(self, raw: Array, gaps: Array) -> None:
        unexpected = [f"{c.name!r} ({count})" for c, count in zip(self.numeric, gaps.sum(axis=0),
                                                                  strict=True)
                      if count and not c.indicator]
        if unexpected:
            warnings.warn(f"missing values in column(s) {', '.join(unexpected)}, which had none in "
                          "training, were filled with the training medians", UserWarning,
                          stacklevel=4)
        low = np.array([-np.inf if c.low is None else c.low for c in self.numeric])
        high = np.array([np.inf if c.high is None else c.high for c in self.numeric])
        with np.errstate(invalid="ignore"):
            span = np.maximum(high - low, np.maximum(1.0, np.abs(high)) * 1e-9)
            far = (raw < low - FAR * span) | (raw > high + FAR * span)
        counts = far.sum(axis=0)
        if counts.any():
            j = int(np.flatnonzero(counts)[0])
            value = raw[far[:, j], j][0]
            named = ", ".join(f"{c.name!r} ({k})" for c, k in zip(self.numeric, counts,
                                                                  strict=True) if k)
            warnings.warn(f"values far outside the range seen in training, in column(s) {named} "
                          f"(e.g. {value:g} in {self.numeric[j].name!r}, which ranged over "
                          f"[{low[j]:g}, {high[j]:g}] in training)", UserWarning, stacklevel=4)

    # -- describing and storing --------------------------------------------------------------
    def describe(self) -> list[tuple[str, str, str]]:
        """``(column, role, detail)`` for every column, for people."""
        rows = []
        for c in self.columns:
            if c.role == "numeric":
                detail = c.reason
            elif c.role == "categorical":
                shown = ", ".join(c.categories[:6]) + (", ..." if len(c.categories) > 6 else "")
                detail = f"{c.reason}: {len(c.categories)} categories ({shown})"
            else:
                detail = c.reason
            if c.indicator:
                fill = f"the median {day_text(c.fill)}" if c.role == "date" else _fill_text(c.fill)
                detail += f"; gaps filled with {fill} + missing indicator"
            rows.append((c.name, c.role, detail))
        return rows

    def to_json(self) -> dict[str, Any]:
        return {"columns": [c.to_json() for c in self.columns]}

    @classmethod
    def from_json(cls, data: Any) -> Preprocessor:
        """Rebuild from :meth:`to_json` output, checking every field (for model files)."""
        if not isinstance(data, dict) or set(data) != {"columns"} or not isinstance(
                data["columns"], list):
            raise ValueError("preprocessing columns must be a JSON object with a 'columns' list")
        pre = cls([Column.from_json(c) for c in data["columns"]])
        if not pre.numeric and not pre.categorical:
            raise ValueError("preprocessing has no used column")
        return pre

    @classmethod
    def scaling(cls, names: Sequence[str], mean: Array, scale: Array) -> Preprocessor:
        """Numeric columns with a given standardisation (the format-1 model files' scaling)."""
        return cls([Column(n, "numeric", "number", fill=float(m), mean=float(m),
                           scale=float(s))
                    for n, m, s in zip(names, mean, scale, strict=True)])

    def __repr__(self) -> str:
        roles = {r: sum(c.role == r for c in self.columns) for r in ROLES}
        return (f"Preprocessor({roles['numeric']} numeric, {roles['categorical']} categorical, "
                f"{roles['dropped']} dropped -> {self.n_outputs} inputs)")


def _as_numbers(table: Table, wanted: list[Column]) -> Table:
    """``table`` with the text columns ``wanted`` read as numbers, or dates as days; text that
    is neither becomes missing, with a warning (the column was numeric or dates in training)."""
    columns, bad = [], {}
    for column in wanted:
        text = table.text[column.name]
        values, others = (date_days(text, column.format) if column.role == "date"
                          else text_numbers(text, table.decimal_comma))
        if others:
            bad[column.name] = (others, "dates" if column.role == "date" else "numbers")
        columns.append(values)
    if bad:
        shown = "; ".join(f"{n!r}: {len(v)} (e.g. {v[0]!r}; training had {kind})"
                          for n, (v, kind) in bad.items())
        warnings.warn(f"text where training had numbers or dates, treated as missing, in "
                      f"column(s) {shown}", UserWarning, stacklevel=5)
    names = [c.name for c in wanted]
    text = {k: v for k, v in table.text.items() if k not in names}
    X = np.column_stack([table.X, *columns])
    return Table(X, [*table.numeric, *names], text, table.columns, table.target,
                 table.target_name, table.source, table.decimal_comma)


# -- one column at a time --------------------------------------------------------------------------
def _numeric(name: str, values: Array, standardize: bool) -> Column:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return Column(name, "dropped", "no value at all")
    low, high = float(present.min()), float(present.max())
    gaps = present.size < values.size
    if low == high and not gaps:
        return Column(name, "dropped", f"constant ({low:g})")
    if _is_row_number(name, values):
        return Column(name, "dropped", "row numbers (distinct whole numbers)")
    median = float(np.median(present))
    filled = np.where(np.isnan(values), median, values) if gaps else values
    mean, std = float(filled.mean()), float(filled.std())
    scale = std if standardize and std > 1e-12 * max(1.0, abs(mean)) else 1.0
    return Column(name, "numeric", "number", fill=median, indicator=gaps,
                  mean=mean if standardize else 0.0, scale=scale, low=low, high=high)


def _date(name: str, values: Array, fmt: str, standardize: bool) -> Column:
    """A column of text dates: days since 1970-01-01, fitted as a numeric column."""
    days, others = date_days(values, fmt)
    column = _numeric(name, days, standardize)
    if column.role == "dropped":
        return column
    column.role, column.format = "date", fmt
    column.reason = f"date ({'ISO 8601' if fmt == 'ISO8601' else fmt}) as days since 1970-01-01"
    if others:
        column.reason += f"; {len(others)} cell(s) not dates (e.g. {others[0]!r}) are missing"
    return column


def _is_row_number(name: str, values: Array) -> bool:
    """A column named like R's or pandas' row names, holding distinct whole numbers."""
    if name.strip().lower() not in ROW_NUMBER_NAMES or values.size < 2:
        return False
    return bool(np.all(values == np.round(values))) and np.unique(values).size == values.size


def _categorical(name: str, values: Array, forced: bool) -> Column:
    texts = [category_text(v) for v in values.tolist()]
    present = [t for t in texts if t is not None]
    if not present:
        return Column(name, "dropped", "no value at all")
    categories, counts = np.unique(np.array(present, dtype=object).astype(str),
                                   return_counts=True)
    gaps = len(present) < len(texts)
    if len(categories) == 1 and not gaps and not forced:
        return Column(name, "dropped", f"constant ({categories[0]!r})")
    distinct = len(categories)
    if not forced and distinct > IDENTIFIER_MIN_VALUES and distinct > (
            IDENTIFIER_FRACTION * len(present)):
        if sum(bool(DECORATED_NUMBER.fullmatch(t)) for t in present) >= 0.9 * len(present):
            shown = ", ".join(repr(t) for t in present[:2])
            return Column(name, "dropped", f"numbers written with symbols ({shown}): write them "
                                           "as plain numbers (no %, currency or thousands "
                                           "separators) to use them")
        _, others = text_numbers(np.array(present, dtype=object))
        if len(others) < len(present) / 2:  # mostly numbers: say so, and which cells are not
            shown = ", ".join(repr(o) for o in list(dict.fromkeys(others))[:3])
            return Column(name, "dropped", f"numbers in {1 - len(others) / len(present):.0%} of "
                                           f"its cells, but not in {len(others)} ({shown}): "
                                           "write those as plain numbers, or leave them empty")
        return Column(name, "dropped", f"identifier-like text ({distinct} distinct values in "
                                       f"{len(present)} rows); keep it with --categorical")
    reason = "asked (--categorical)" if forced else (
        "true/false" if isinstance(_first(values), bool | np.bool_) else "text")
    mode = str(categories[int(np.argmax(counts))])
    return Column(name, "categorical", reason, fill=mode, indicator=gaps,
                  categories=[str(c) for c in categories])


def _first(values: Array) -> Any:
    return next((v for v in values.tolist() if v is not None), None)


def _one_hot(column: Column, values: Array, out: Array, at: int) -> int:
    """Write the column's one-hot block (and indicator) into ``out`` from column ``at``."""
    index = {c: i for i, c in enumerate(column.categories)}
    k = len(column.categories)
    texts = [category_text(v) for v in values.tolist()]
    missing = np.array([t is None for t in texts], dtype=bool)
    codes = np.array([index.get(column.fill if t is None else t, -1) for t in texts],
                     dtype=np.intp)
    block = out[:, at : at + k]
    block[...] = 0
    seen = codes >= 0
    block[np.flatnonzero(seen), codes[seen]] = 1
    unseen = int((~seen).sum())
    if unseen:
        examples = sorted({t for t, s in zip(texts, seen, strict=True) if not s})[:3]
        warnings.warn(f"column {column.name!r}: {unseen} row(s) hold categories not seen in "
                      f"training ({', '.join(map(repr, examples))}); they were coded as all "
                      "zeros", UserWarning, stacklevel=4)
    if missing.any() and not column.indicator:
        warnings.warn(f"column {column.name!r} has {int(missing.sum())} missing value(s), and "
                      f"none in training; they were filled with the most frequent category "
                      f"{column.fill!r}", UserWarning, stacklevel=4)
    at += k
    if column.indicator:
        out[:, at] = missing
        at += 1
    return at


def _fill_text(fill: Any) -> str:
    return f"the median {fill:g}" if isinstance(fill, float) else f"the most frequent {fill!r}"
