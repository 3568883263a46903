"""Reading tables: CSV/TSV through pandas, Parquet and Feather through Arrow, NumPy files, frames.

Every source becomes a :class:`Table`: the numeric feature columns as **one** float array ``X``
(missing cells are NaN), the other feature columns (text, true/false, dates) as arrays of
Python strings (``None`` where missing), and the target column as read.

Text files are parsed by pandas' C reader, which converts each numeric column straight into a
typed buffer: no Python object is made per numeric cell. The file is parsed about 16 MB at a
time and each chunk's numbers are copied into the final array ``X`` at once, so reading peaks
well under twice that array (``benchmarks/reading.py`` measures it beside ``pandas.read_csv``;
pandas' C reader parses numbers faster per core than Arrow's on the project's machines). The
delimiter is sniffed from the first 64 kB (``, ; | tab space``). pandas' rules apply: its
missing-value strings (empty, ``NA``, ``NaN``, ``null``, ``N/A``, ...; not ``None``, which is
a category name as often as not) are missing, a row with too few fields is filled with missing
values, one with too many is an error. Text cells are kept exactly as written (``"WD "`` keeps
its space, as the exported ONNX graph sees it); a cell of blanks only is missing.
Compressed files (``.gz``, ``.bz2``, ...) are decompressed on the fly.

Files are parsed, never executed: ``.npy``/``.npz`` are loaded with ``allow_pickle=False``. Every
problem becomes one ``ValueError`` naming the file and what is wrong.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..archive import Archive
from ..checks import check_memory, memory_limit

Array = np.ndarray

SNIFF_BYTES = 64 * 1024
CHUNK_BYTES = 16 << 20  # CSV files are parsed about this much at a time
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".dat")
ARROW_SUFFIXES = {".parquet": "Parquet", ".pq": "Parquet", ".feather": "Feather",
                  ".arrow": "Feather", ".ipc": "Feather"}
# the strings read as missing: pandas.read_csv's defaults but "None", a real category (vcd's
# Arthritis: Improved = None/Some/Marked; Ames: Mas_Vnr_Type = None)
NA_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"]

NA_OPTIONS = {"keep_default_na": False, "na_values": NA_STRINGS}  # for pandas.read_csv


@dataclass
class Table:
    """A data set as read.

    Attributes
    ----------
    X : array of shape (n, p), float64
        The numeric feature columns, NaN where a cell is missing.
    numeric : list of str
        Names of ``X``'s columns.
    text : dict of str to object array
        The other feature columns: strings (or ``True``/``False``), ``None`` where missing.
    columns : list of str
        Every feature column, numeric or not, in the file's order.
    target : array or None
        The target column as read: floats (NaN where missing) or an object array of labels
        (``None`` where missing). ``None`` when no target was asked for.
    """

    X: Array
    numeric: list[str]
    text: dict[str, Array] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    target: Array | None = None
    target_name: str | None = None
    source: str = ""
    decimal_comma: bool = False  # numbers written as 0,126 (a ';'-separated file)

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = [*self.numeric, *self.text]

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def feature_names(self) -> list[str]:
        """Every feature column's name (numeric or not), in order."""
        return self.columns

    def column(self, name: str) -> Array:
        """One feature column: a float view into ``X``, or the object array of a text column."""
        if name in self.text:
            return self.text[name]
        return self.X[:, self.numeric.index(name)]

    def take(self, rows: Array | slice) -> Table:
        """The table of the given rows (indices, a boolean mask or a slice)."""
        target = None if self.target is None else self.target[rows]
        return Table(self.X[rows], list(self.numeric), {k: v[rows] for k, v in self.text.items()},
                     list(self.columns), target, self.target_name, self.source,
                     self.decimal_comma)


def numeric_table(X: Array, names: Sequence[str], target: Array | None = None,
                  target_name: str | None = None, source: str = "") -> Table:
    """A :class:`Table` of numeric columns only."""
    return Table(np.asarray(X, dtype=float), list(names), {}, list(names), target, target_name,
                 source)


def read_table(source: str | os.PathLike | Any, target: str | None = None,
               features: Sequence[str] | None = None, text: Sequence[str] = ()) -> Table:
    """Read a data set: a file, a pandas DataFrame, or a built-in data set name.

    Parameters
    ----------
    source : str, path or pandas.DataFrame
        A file (``.csv``, ``.tsv``, ``.txt``, also ``.gz``/``.bz2``-compressed; ``.parquet``,
        ``.feather``/``.arrow``; ``.npy``, ``.npz``), a DataFrame, or a built-in name such as
        ``spirals`` (see :func:`chainrule.datasets.dataset_names`).
    target : str, optional
        The target column: a header name, or a column index (the only way for arrays). Every
        other column is a feature. ``None`` reads features only. Built-in data sets always come
        with their target, named ``y``.
    features : sequence of str, optional
        For prediction: take exactly these columns, by name, in this order (other columns,
        such as the target, are ignored). Arrays without names must have exactly this many
        columns, or one more when ``target`` is given.
    text : sequence of str, optional
        Columns of a CSV/TSV file to read as text whatever they hold: a model's categorical
        columns, whose codes (``"007"``) must stay as written even where a new file has only
        number-like ones.

    Raises
    ------
    ValueError
        Naming the problem: missing file, empty file, missing column, unreadable file, ...
    """
    if _is_data_frame(source):
        return _from_arrow(_arrow_of_frame(source), target, features, "the data frame")
    from ..datasets import is_dataset_name, load_dataset

    path = os.fspath(source)
    if not os.path.exists(path):
        if is_dataset_name(path):
            X, y = load_dataset(path)
            return _builtin_table(path, X, y, features)
        raise ValueError(f"no such file: {path} (nor a built-in data set; see `chainrule "
                         "datasets`)")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, not a data file")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path} is empty")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".npy", ".npz"):
        return _read_numpy(path, suffix, target, features)
    if suffix in ARROW_SUFFIXES:
        return _from_arrow(_read_arrow_file(path, ARROW_SUFFIXES[suffix]), target, features, path)
    return _read_text(path, target, features, text)


def _is_data_frame(source: Any) -> bool:
    return type(source).__module__.split(".")[0] == "pandas" and hasattr(source, "columns")


def _arrow_of_frame(frame: Any):
    import pyarrow as pa

    frame = frame.rename(columns=str)
    try:  # numeric columns are shared, not copied; one thread: no pool to wait for
        return pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    except (pa.ArrowException, TypeError, ValueError):  # mixed Python objects in a column
        mixed = [c for c in frame.columns if frame[c].dtype == object]
        frame = frame.astype({c: str for c in mixed}).where(frame.notna(), None)
        return pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)


def _builtin_table(name: str, X: Array, y: Array, features: Sequence[str] | None) -> Table:
    names = [f"x{i}" for i in range(X.shape[1])]
    if y.ndim == 2:  # one-hot rows (the encoder): the class is the hot column
        y = y.argmax(axis=1)
    if features is not None:
        _require_columns(features, names, name)
    return numeric_table(X, names, y, "y", name)


# -- Arrow sources -------------------------------------------------------------------------------
def _read_text(path: str, target: str | None, features: Sequence[str] | None,
               text: Sequence[str] = ()) -> Table:
    """A CSV/TSV file, parsed by pandas' C reader about ``CHUNK_BYTES`` at a time.

    Each chunk's numbers are copied into the final array at once, so memory never holds the
    whole parsed file. A column that holds numbers in one chunk and text in another makes the
    whole file be parsed at once instead, which types every column from all its rows.
    """
    import pandas as pd

    delimiter, header, line_bytes, spaced = _sniff(path)
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise ValueError(f"{path}: column name(s) {', '.join(twice)} appear more than once")
    options = dict(NA_OPTIONS, dtype={name: str for name in text if name in header} or None,
                   skipinitialspace=spaced)
    try:
        try:
            rows = max(1000, CHUNK_BYTES // line_bytes)
            with pd.read_csv(path, sep=delimiter, chunksize=rows, **options) as chunks:
                return _read_chunks(chunks, os.path.getsize(path) // line_bytes, target,
                                    features, path, delimiter)
        except _Whole:
            pass
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' mixed-types warning: handled here
            frame = pd.read_csv(path, sep=delimiter, low_memory=False, **options)
        return _from_arrow(_arrow_of_frame(frame), target, features, path, delimiter == ";")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text (UTF-8) table; expected CSV/TSV, Parquet, "
                         "Feather, .npy or .npz") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError) as error:
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if fields:
            expected, line, saw = fields.groups()
            raise ValueError(f"{path}, line {line}: {saw} fields but the header has "
                             f"{expected}") from None
        raise ValueError(f"{path} is not a readable CSV/TSV file: {_first_line(error)}") from None


class _Whole(Exception):
    """The file cannot be read in chunks: read it whole."""


def _read_chunks(chunks, rows: int, target: str | None, features: Sequence[str] | None,
                 path: str, path_delimiter: str) -> Table:
    """The :class:`Table` of pandas' chunks of a file of about ``rows`` rows."""
    first = next(chunks)
    header = [str(name).strip() for name in first.columns]
    kinds = {name: _frame_kind(first[column]) for name, column in zip(header, first.columns,
                                                                       strict=True)}

    def parts():
        for part in itertools.chain([first], chunks):
            part.columns = header
            for name in header:
                if _frame_kind(part[name]) != kinds[name] and part[name].notna().any():
                    raise _Whole  # numbers in one chunk, text in another
            yield part

    return _assemble(header, kinds.__getitem__, parts(), target, features, path, rows,
                     path_delimiter == ";")


def _frame_kind(column) -> str:
    return "numeric" if column.dtype.kind in "iuf" else "text"


def _sniff(path: str) -> tuple[str, list[str], int, bool]:
    """The delimiter of a text table, from its first 64 kB (a comma when nothing else fits),
    its header's names, the mean bytes per line, and whether every delimiter is followed by a
    blank (``a, b, c``: the blank is layout, not part of the cells)."""
    import pyarrow as pa

    try:
        with pa.input_stream(path, compression="detect") as stream:
            raw = stream.read(SNIFF_BYTES)
    except (pa.ArrowException, OSError) as error:
        raise ValueError(f"{path} is not a readable file: {_first_line(error)}") from None
    try:  # incremental: a character cut at the end of the sample is not an error
        sample = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=False)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text (UTF-8) table; expected CSV/TSV, Parquet, "
                         "Feather, .npy or .npz") from None
    if "\x00" in sample:
        raise ValueError(f"{path} is not a text table (it holds NUL bytes); expected CSV/TSV, "
                         "Parquet, Feather, .npy or .npz")
    lines = sample.splitlines()
    if len(raw) == SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ValueError(f"{path} is empty")
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;| ").delimiter
    except csv.Error:
        delimiter = "\t" if "\t" in lines[0] else ","
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    line_bytes = max(1, len("\n".join(lines).encode()) // len(lines))
    spaced = delimiter != " " and all(
        line.count(delimiter) == line.count(delimiter + " ") > 0 for line in lines[:100])
    return delimiter, [name.strip() for name in header], line_bytes, spaced


def _read_arrow_file(path: str, kind: str):
    import pyarrow as pa

    try:
        if kind == "Parquet":
            from pyarrow import parquet

            return parquet.read_table(path)
        from pyarrow import feather

        return feather.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable {kind} file: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _from_arrow(arrow, target: str | None, features: Sequence[str] | None, source: str,
                decimal_comma: bool = False) -> Table:
    """The :class:`Table` of an Arrow table."""
    header = [str(name).strip() for name in arrow.schema.names]
    types = dict(zip(header, arrow.schema.types, strict=True))
    return _assemble(header, lambda name: _kind(types[name], name, source), arrow.to_batches(),
                     target, features, source, arrow.num_rows, decimal_comma)


def _assemble(header: list[str], kind_of, parts, target: str | None,
              features: Sequence[str] | None, source: str, rows: int | None,
              decimal_comma: bool = False) -> Table:
    """The :class:`Table` of ``parts`` (Arrow record batches or pandas frames, with the columns
    ``header``), about ``rows`` rows in all.

    The numeric feature columns are written part by part into one float64 array (column-major,
    grown by half when ``rows`` was too few); wholly empty rows are skipped. Text columns of
    numbers with a few stray cells (see :func:`text_numbers`) become numeric; when predicting
    (``features`` given) only the target does, the model's preprocessing reads the features.
    """
    if not header:
        raise ValueError(f"{source} has no columns")
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise ValueError(f"{source}: column name(s) {', '.join(twice)} appear more than once")
    target_name = None if target is None else _column_name(target, header, source)
    if features is not None:
        _require_columns(features, header, source)
        names = list(features)
    else:
        names = [h for h in header if h != target_name]
    if not names:
        raise ValueError(f"{source} has no feature columns besides the target {target_name!r}")
    kinds = {name: kind_of(name) for name in names}
    numeric = [name for name in names if kinds[name] == "numeric"]
    X = np.empty((rows or 0, len(numeric)), order="F")
    text: dict[str, list[Array]] = {name: [] for name in names if kinds[name] == "text"}
    y: list[Array] = []
    at = 0
    for part in parts:
        columns = _columns_of(part)
        k = len(columns[header[0]])
        if not k:
            continue
        if at + k > len(X):
            X = _grown(X, at, at + k)
        _numbers_into(X[at : at + k], columns, numeric, source, at)
        for name, values in text.items():
            values.append(_text_values(_arrow_column(columns[name])))
        if target_name is not None:
            y.append(_target_values(_arrow_column(columns[target_name]), target_name, source))
        at += k
    if at == 0:
        raise ValueError(f"{source} has a header but no data rows")
    target_values = None
    if target_name is not None:
        target_values = _numbers_if_numbers(np.concatenate(y), target_name, source,
                                            decimal_comma, " (rows without a target are not used)")
        if target_values.dtype.kind == "f" and np.isnan(target_values).all():
            raise ValueError(f"target column {target_name!r} in {source} is empty")
    X, texts = X[:at], {name: np.concatenate(v) for name, v in text.items()}
    if features is None:
        found = {name: _numbers_if_numbers(v, name, source, decimal_comma)
                 for name, v in texts.items()}
        found = {name: v for name, v in found.items() if v.dtype.kind == "f"}
        if found:
            X = np.column_stack([X, *found.values()])
            numeric = [*numeric, *found]
            texts = {name: v for name, v in texts.items() if name not in found}
    return Table(X, numeric, texts, names, target_values, target_name, source, decimal_comma)


NUMBER_SHARE = 0.9  # a text column is numbers when this share of its present cells are


def text_numbers(values: Array, decimal_comma: bool = False) -> tuple[Array, list[str]]:
    """The numbers of a text column: floats (NaN where missing or not a number), and the cells
    that are not numbers, in order.

    A cell is a number as Python and pandas write one (``-1.5e3``, surrounding blanks allowed;
    not ``inf``); with ``decimal_comma`` also as ``-0,126`` (Excel's in most of Europe).
    """
    import pandas as pd

    cells = pd.Series(values, dtype=object)
    present = cells.notna().to_numpy()
    if cells[present].map(type).isin([bool, np.bool_]).any():
        return np.full(len(values), np.nan), [str(v) for v in cells[present]]
    texts = cells[present].astype(str).str.strip()
    if decimal_comma:
        comma = texts.str.fullmatch(r"[+-]?\d*,\d+")
        texts = texts.where(~comma, texts.str.replace(",", ".", regex=False))
    numbers = np.array(pd.to_numeric(texts, errors="coerce"), dtype=float)
    numbers[np.isinf(numbers)] = np.nan
    out = np.full(len(values), np.nan)
    out[present] = numbers
    return out, [str(v) for v in cells[present][np.isnan(numbers)]]


def _numbers_if_numbers(values: Array, name: str, source: str, decimal_comma: bool,
                        consequence: str = "") -> Array:
    """``values`` as floats when they are text of which at least ``NUMBER_SHARE`` of the present
    cells are numbers (with a warning naming the others, now missing), else unchanged."""
    if values.dtype.kind != "O":
        return values
    present = [v for v in values[:1000].tolist() if v is not None]
    if not present or not any(isinstance(v, str) and any(c.isdigit() for c in v)
                              for v in present):
        return values  # a quick look: no digits at all
    if len(text_numbers(np.array(present, dtype=object), decimal_comma)[1]) > len(present) / 2:
        return values  # a quick look: mostly not numbers
    numbers, others = text_numbers(values, decimal_comma)
    count = sum(v is not None for v in values.tolist())
    if count == 0 or (count - len(others)) / count < NUMBER_SHARE - 1e-12:
        return values
    if others:
        distinct = list(dict.fromkeys(others))
        shown = ", ".join(map(repr, distinct[:3])) + (", ..." if len(distinct) > 3 else "")
        warnings.warn(f"column {name!r} in {source}: {count - len(others)} of {count} cells are "
                      f"numbers, so it is read as numbers; the other {len(others)} ({shown}) are "
                      f"missing{consequence}",
                      UserWarning, stacklevel=4)
    return numbers



def _columns_of(part) -> dict[str, Any]:
    """A part's columns by name, without its wholly empty rows (blank lines of a file)."""
    if hasattr(part, "schema"):  # an Arrow record batch
        part = _without_empty_rows(part)
        return {str(name).strip(): part.column(i) for i, name in enumerate(part.schema.names)}
    empty = part.isna().all(axis=1) if part[part.columns[0]].isna().any() else None
    if empty is not None and empty.any():
        part = part[~empty.to_numpy()]
    return {name: part[name] for name in part.columns}


def _arrow_column(column):
    """An Arrow array of a pandas column (missing values as nulls), or the Arrow column."""
    if hasattr(column, "to_numpy") and not hasattr(column, "type"):
        import pyarrow as pa

        try:
            return pa.array(column, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):  # mixed Python objects
            return pa.array([None if v is None or v != v else str(v) for v in column.tolist()])
    return column


def _numbers_into(out: Array, columns: dict[str, Any], numeric: list[str], source: str,
                  first_row: int) -> None:
    """Write the numeric columns of one part into ``out`` (its rows of the final array)."""
    if not numeric:
        return
    if hasattr(columns[numeric[0]], "type"):  # Arrow
        for j, name in enumerate(numeric):
            out[:, j] = _numeric_values(columns[name], name, source, first_row)
        return
    for j, name in enumerate(numeric):  # pandas; out is column-major: each a contiguous copy
        out[:, j] = columns[name].to_numpy(dtype=np.float64, na_value=np.nan)
    _refuse_inf(out, numeric, source, first_row)


def _refuse_inf(block: Array, names: list[str], source: str, first_row: int) -> None:
    if np.isinf(block).any():
        row, j = np.argwhere(np.isinf(block))[0]
        raise ValueError(f"feature column {names[j]!r} in {source} holds {block[row, j]} (data "
                         f"row {first_row + row + 1}); remove it or mark it missing")


def _grown(X: Array, used: int, needed: int) -> Array:
    """``X`` (column-major) with room for ``needed`` rows, its first ``used`` rows kept."""
    bigger = np.empty((max(needed, len(X) + len(X) // 2), X.shape[1]), order="F")
    bigger[:used] = X[:used]
    return bigger


def _without_empty_rows(batch):
    """The batch without its rows whose every cell is missing (blank lines of a file)."""
    import pyarrow.compute as pc

    if not all(column.null_count for column in batch.columns):
        return batch
    empty = pc.is_null(batch.column(0))
    for column in batch.columns[1:]:
        empty = pc.and_(empty, pc.is_null(column))
    return batch.filter(pc.invert(empty))


def _kind(kind, name: str, source: str) -> str:
    """``"numeric"`` or ``"text"`` for an Arrow type; other types are refused."""
    import pyarrow as pa

    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind) \
            or pa.types.is_null(kind):
        return "numeric"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        raise ValueError(f"column {name!r} in {source} is not UTF-8 text; save the file as "
                         "UTF-8")
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind)
            or pa.types.is_dictionary(kind) or pa.types.is_temporal(kind)
            or pa.types.is_string_view(kind)):
        return "text"
    raise ValueError(f"column {name!r} in {source} holds {kind} values, which are not table "
                     "cells; flatten it into plain columns")


def _numeric_values(column, name: str, source: str, first_row: int = 0) -> Array:
    import pyarrow as pa

    if pa.types.is_null(column.type):
        return np.full(len(column), np.nan)
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls become NaN
    _refuse_inf(values[:, None], [name], source, first_row)
    return values


def _text_values(column) -> Array:
    """An object array of strings as written (``None`` where missing or blank); ``True``/``False``
    stay booleans."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_boolean(kind):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        column = column.cast(pa.string())  # dates and times: their ISO text
    blank = pc.equal(pc.utf8_trim_whitespace(column), "")
    column = pc.if_else(blank, pa.scalar(None, column.type), column)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _target_values(column, name: str, source: str) -> Array:
    """Floats (NaN where missing) for a numeric target, else an object array (``None``)."""
    if _kind(column.type, name, source) == "numeric":
        import pyarrow as pa

        values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if np.isinf(values).any():
            raise ValueError(f"target column {name!r} in {source} holds inf")
        return values
    return _text_values(column)


def _column_name(target: str, header: list[str], source: str) -> str:
    if target in header:
        return target
    if target.lstrip("-").isdigit() and -len(header) <= int(target) < len(header):
        return header[int(target)]
    raise ValueError(f"target column {target!r} not found in {source}; columns are "
                     f"{', '.join(header)}")


def _require_columns(wanted: Sequence[str], available: Sequence[str], source: str) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ValueError(f"{source} lacks the model's input column(s) {', '.join(missing)}; it "
                         f"has {', '.join(available)}")


# -- NumPy files ---------------------------------------------------------------------------------
NPZ_ENTRIES = 16  # arrays a data archive may list (X and y, or one array, are read)


def _load_numpy(path: str, suffix: str) -> dict[str, Array]:
    """The arrays of a ``.npy`` or ``.npz`` data file, each checked before it is read: numbers
    or fixed-width text (class labels) only, never pickled objects; a declared size that the
    file really holds and that fits the memory budget, so that a small file cannot make a huge
    allocation or inflate without end."""
    def check(shape: tuple[int, ...], dtype: np.dtype) -> None:
        if dtype.kind not in "biufUS":
            raise ValueError(f"holds {dtype} values, not numbers or text")
        check_memory(math.prod(shape) * dtype.itemsize, f"reading {path}",
                     "use a smaller file")

    if suffix == ".npz":
        with Archive(path, NPZ_ENTRIES) as archive:
            return {name: archive.read(name, check, memory_limit()) for name in
                    sorted(archive.names)}
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"an .npy file of format version {version}, not 1.0 or 2.0")
        shape, _, dtype = read_header(f)
        check(shape, dtype)
        declared = math.prod(shape) * dtype.itemsize
        if declared != os.fstat(f.fileno()).st_size - f.tell():
            raise ValueError(f"its header declares {declared} bytes of data, but the file holds "
                             f"{os.fstat(f.fileno()).st_size - f.tell()}")
    return {"": np.load(path, allow_pickle=False)}


def _read_numpy(path: str, suffix: str, target: str | None,
                features: Sequence[str] | None) -> Table:
    try:
        arrays = _load_numpy(path, suffix)
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
        return _checked(numeric_table(X, features and list(features) or names, y,
                                      target and "y", path))
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
    return _checked(numeric_table(data[:, keep], names, y,
                                  None if index is None else str(index), path))


def _numeric_array(array: Array, what: str, path: str) -> Array:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} must be numeric, got dtype {array.dtype}")
    return array.astype(float)


def _target_array(y: Array, path: str) -> Array:
    if y.dtype.kind in "US":
        return y.astype(str).ravel().astype(object)
    y = _numeric_array(y, "y", path)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{path}: y must be one column, got shape {y.shape}")
    if np.isinf(y).any():
        raise ValueError(f"{path}: y holds inf")
    return y


def _checked(table: Table) -> Table:
    if table.n_samples == 0:
        raise ValueError(f"{table.source} has no rows")
    if np.isinf(table.X).any():
        bad = np.flatnonzero(np.isinf(table.X).any(axis=0))[0]
        raise ValueError(f"feature column {table.columns[bad]!r} in {table.source} holds inf; "
                         "remove it or mark it missing (NaN)")
    return table
