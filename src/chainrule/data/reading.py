"""Reading tables: CSV/TSV, Parquet and Feather through Apache Arrow, NumPy files, data frames.

Every source becomes a :class:`Table`: the numeric feature columns as **one** float array ``X``
(missing cells are NaN), the other feature columns (text, true/false, dates) as arrays of
Python strings (``None`` where missing), and the target column as read.

Text files are parsed by Arrow's multi-threaded CSV reader (``pyarrow.csv``), which converts
each numeric column straight into a typed buffer: no Python object is made per numeric cell.
The file is streamed block by block and each block's numbers become a float block at once, joined
into ``X`` at the end (each block freed once copied), so reading peaks well under twice the final
array (``benchmarks/reading.py`` measures it beside
``pandas.read_csv``). The delimiter is sniffed from the first 64 kB (``, ; | tab space``); cells
that pandas reads as missing (empty, ``NA``, ``NaN``, ``null``, ``None``, ``N/A``, ...) are missing
here too. ``.gz``/``.bz2`` files are decompressed on the fly.

Files are parsed, never executed: ``.npy``/``.npz`` are loaded with ``allow_pickle=False``. Every
problem becomes one ``ValueError`` naming the file and what is wrong.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Array = np.ndarray

SNIFF_BYTES = 64 * 1024
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".dat")
ARROW_SUFFIXES = {".parquet": "Parquet", ".pq": "Parquet", ".feather": "Feather",
                  ".arrow": "Feather", ".ipc": "Feather"}
# the strings pandas.read_csv reads as missing by default
NA_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


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
                     list(self.columns), target, self.target_name, self.source)


def numeric_table(X: Array, names: Sequence[str], target: Array | None = None,
                  target_name: str | None = None, source: str = "") -> Table:
    """A :class:`Table` of numeric columns only."""
    return Table(np.asarray(X, dtype=float), list(names), {}, list(names), target, target_name,
                 source)


def read_table(source: str | os.PathLike | Any, target: str | None = None,
               features: Sequence[str] | None = None) -> Table:
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
    return _read_text(path, target, features)


def _is_data_frame(source: Any) -> bool:
    return type(source).__module__.split(".")[0] == "pandas" and hasattr(source, "columns")


def _arrow_of_frame(frame: Any):
    import pyarrow as pa

    frame = frame.rename(columns=str)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):  # mixed Python objects in a column
        mixed = [c for c in frame.columns if frame[c].dtype == object]
        frame = frame.astype({c: str for c in mixed}).where(frame.notna(), None)
        return pa.Table.from_pandas(frame, preserve_index=False)


def _builtin_table(name: str, X: Array, y: Array, features: Sequence[str] | None) -> Table:
    names = [f"x{i}" for i in range(X.shape[1])]
    if y.ndim == 2:  # one-hot rows (the encoder): the class is the hot column
        y = y.argmax(axis=1)
    if features is not None:
        _require_columns(features, names, name)
    return numeric_table(X, names, y, "y", name)


# -- Arrow sources -------------------------------------------------------------------------------
def _read_text(path: str, target: str | None, features: Sequence[str] | None) -> Table:
    """A CSV/TSV file, streamed: Arrow parses it block by block (types from the first block)
    and each block's numbers become a float block at once, joined into one array at the end,
    block by block, each freed once copied: never the whole parsed file. A column whose type changes after the first block (a number column with text
    further down) makes the whole file be read at once instead, which infers from every row."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    delimiter = _sniff_delimiter(path)
    bad_rows: list[Any] = []

    def invalid_row(row) -> str:
        bad_rows.append(row)
        return "error"

    parse = pa_csv.ParseOptions(delimiter=delimiter, invalid_row_handler=invalid_row)
    convert = pa_csv.ConvertOptions(null_values=NA_STRINGS, strings_can_be_null=True)
    try:
        try:
            with pa_csv.open_csv(path, parse_options=parse, convert_options=convert) as reader:
                return _from_batches(reader.schema, reader, target, features, path)
        except pa.ArrowInvalid as error:
            if bad_rows or "conversion error" not in str(error).lower():
                raise
        return _from_arrow(pa_csv.read_csv(path, parse_options=parse, convert_options=convert),
                           target, features, path)
    except pa.ArrowInvalid as error:
        if bad_rows:
            row = bad_rows[0]
            raise ValueError(f"{path}: the row {row.text[:60]!r} has {row.actual_columns} "
                             f"fields but the header has {row.expected_columns}") from None
        raise ValueError(f"{path} is not a readable CSV/TSV file: {_first_line(error)}") from None
    except (pa.ArrowException, OSError) as error:
        raise ValueError(f"{path} is not a readable CSV/TSV file: {_first_line(error)}") from None


def _sniff_delimiter(path: str) -> str:
    """The delimiter of a text table, from its first 64 kB (a comma when nothing else fits)."""
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
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;| ").delimiter
    except csv.Error:
        return "\t" if "\t" in lines[0] else ","


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


def _from_arrow(arrow, target: str | None, features: Sequence[str] | None, source: str) -> Table:
    """The :class:`Table` of an Arrow table."""
    return _from_batches(arrow.schema, arrow.to_batches(), target, features, source)


def _from_batches(schema, batches, target: str | None, features: Sequence[str] | None,
                  source: str) -> Table:
    """The :class:`Table` of Arrow record batches of ``schema``.

    Each batch's numeric feature columns become one float64 block, and the blocks one array at
    the end; wholly empty rows are skipped.
    """
    header = [str(name).strip() for name in schema.names]
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
    where = {name: i for i, name in enumerate(header)}
    kinds = {name: _kind(schema.field(where[name]).type, name, source) for name in names}
    numeric = [name for name in names if kinds[name] == "numeric"]
    blocks: list[Array] = []
    text: dict[str, list[Array]] = {name: [] for name in names if kinds[name] == "text"}
    y: list[Array] = []
    at = 0
    for batch in batches:
        batch = _without_empty_rows(batch)
        k = batch.num_rows
        if not k:
            continue
        block = np.empty((k, len(numeric)), order="F")
        for j, name in enumerate(numeric):
            block[:, j] = _numeric_values(batch.column(where[name]), name, source, at)
        blocks.append(block)
        for name, parts in text.items():
            parts.append(_text_values(batch.column(where[name])))
        if target_name is not None:
            y.append(_target_values(batch.column(where[target_name]), target_name, source))
        at += k
    if at == 0:
        raise ValueError(f"{source} has a header but no data rows")
    target_values = None
    if target_name is not None:
        target_values = np.concatenate(y)
        if target_values.dtype.kind == "f" and np.isnan(target_values).all():
            raise ValueError(f"target column {target_name!r} in {source} is empty")
    X = _joined(blocks, at)
    return Table(X, numeric, {name: np.concatenate(parts) for name, parts in text.items()},
                 names, target_values, target_name, source)


def _joined(blocks: list[Array], rows: int) -> Array:
    """The blocks stacked into one C-ordered array; each block is freed once copied, so the
    array's pages fill in as the blocks' are given back (memory holds the numbers about once)."""
    X = np.empty((rows, blocks[0].shape[1]))
    at = 0
    blocks.reverse()
    while blocks:
        block = blocks.pop()
        X[at : at + len(block)] = block
        at += len(block)
        del block
    return X


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
    if np.isinf(values).any():
        row = first_row + int(np.flatnonzero(np.isinf(values))[0])
        raise ValueError(f"feature column {name!r} in {source} holds {values[row - first_row]} "
                         f"(data row {row + 1}); remove it or mark it missing")
    return values


def _text_values(column) -> Array:
    """An object array of strings (``None`` where missing); ``True``/``False`` stay booleans."""
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
    column = pc.utf8_trim_whitespace(column)
    column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
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
