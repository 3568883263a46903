"""Data for the command line and for tables: reading, column roles, targets, the :class:`Model`.

- :mod:`.reading`: CSV/TSV, Parquet and Feather through Arrow, ``.npy``/``.npz``, DataFrames
  and built-in data sets, into a :class:`Table` (numeric columns as one float array).
- :mod:`.preprocessing`: the :class:`Preprocessor`: column roles (numeric, categorical,
  dropped), imputation with missing indicators, one-hot coding and scaling, stored as JSON.
- :mod:`.targets`: the task, class labels, target scaling and the output layer.
- :mod:`.model`: :class:`Model` (network + preprocessing), :func:`build_model`, and the
  :func:`holdout` rule deciding which rows the CLI holds out for validation.
"""

from .model import HOLDOUT, MIN_HOLDOUT_ROWS, Model, build_model, holdout, split_rows
from .preprocessing import Column, Preprocessor, category_text
from .reading import NA_STRINGS, Table, numeric_table, read_table
from .targets import (
    MAX_CLASSES,
    TASKS,
    Standardizer,
    check_classes,
    class_labels,
    drop_missing_target,
    encode_labels,
    infer_task,
    output_for,
    regression_targets,
    target_missing,
    task_reason,
)

__all__ = [
    "HOLDOUT", "MAX_CLASSES", "MIN_HOLDOUT_ROWS", "NA_STRINGS", "TASKS", "Column", "Model",
    "Preprocessor", "Standardizer", "Table", "build_model", "category_text", "check_classes",
    "class_labels", "drop_missing_target", "encode_labels", "holdout", "infer_task",
    "numeric_table", "output_for", "read_table", "regression_targets", "split_rows",
    "target_missing", "task_reason",
]
