"""Data of the ``benchmark`` command: CSV reading, checks and preprocessing.

A CSV file is read with :func:`pandas.read_csv` (separator guessed or ``--sep``,
decimal mark ``--decimal``); a column whose every non-missing value is a number is
numeric, any other column is categorical. A text column that holds numbers written
with a decimal comma is an error that names ``--decimal``, not silently a text column.
The problems a user can fix (a missing file, an unknown column, too few tasks, one
class, a group column without values) raise :class:`CLIError`, which the command
prints without a traceback and exits with status 2. Tasks too small for a shot count
are no error: meta-training uses them, evaluation skips them (and counts them).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import math
import re
from dataclasses import dataclass, field

import numpy as np

#: Cell values read as missing (compared lower-cased, stripped).
NA_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "-nan"})

_NA_SPELLINGS = sorted({f(v) for v in NA_VALUES for f in (str, str.upper, str.title)})

#: Most levels one categorical column is one-hot encoded into; rarer levels
#: are merged into one "infrequent" column.
MAX_CATEGORIES = 20

#: Fewest tasks a benchmark can run on: 2 to meta-train, 1 to evaluate.
MIN_TRAIN_TASKS, MIN_TEST_TASKS = 2, 1


class CLIError(Exception):
    """A problem with the command's input that the user can fix.

    Printed as ``sklearn-meta: error: <message>``; the command exits with
    status 2 and no traceback.
    """


@dataclass
class Table:
    """Columns of a table: float64 (numeric, NaN missing) or object arrays."""

    name: str
    columns: list
    data: dict

    @property
    def n_rows(self):
        return len(next(iter(self.data.values()))) if self.data else 0

    def is_numeric(self, column):
        return self.data[column].dtype.kind == "f"


@dataclass
class Dataset:
    """A benchmark problem: features, target and task id of every row."""

    name: str
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    task_type: str
    feature_names: list
    categorical: list = field(default_factory=list)
    description: str = ""
    notes: list = field(default_factory=list)

    @property
    def task_ids(self):
        """The task ids in natural order ("site 2" before "site 10")."""
        from ..tasks import _natural_order

        ids = np.unique(self.groups)
        order = _natural_order(ids)
        return ids if order is None else ids[order]


def parse_sep(sep):
    """The separator given to ``--sep``: ``\\t`` (two characters) or ``tab`` is a tab."""
    if sep is None:
        return None
    if sep in ("\\t", "tab", "TAB"):
        return "\t"
    if len(sep) != 1:
        raise CLIError(f"--sep {sep!r}: give one character (e.g. ',' ';' '|' or '\\t' for "
                       "tab).")
    return sep


_DECIMAL_COMMA = re.compile(r"^\s*[-+]?(\d{1,3}(\.\d{3})+|\d+)?,\d+([eE][-+]?\d+)?\s*$")


def _check_decimal(path, frame, decimal):
    """A text column of decimal-comma numbers means ``--decimal ,`` is missing."""
    import pandas as pd

    if decimal == ",":
        return
    for col in frame.columns:
        values = frame[col].dropna()
        if pd.api.types.is_numeric_dtype(values.dtype) or not len(values):
            continue
        sample = values.astype(str).head(200)
        if sample.map(lambda v: bool(_DECIMAL_COMMA.match(v))).all():
            raise CLIError(
                f"--data: column '{col}' of '{path}' holds numbers with a decimal comma "
                f"(e.g. {sample.iloc[0]!r}); pass --decimal ',' (and --sep ';' if the "
                "fields are separated by semicolons) to read them as numbers."
            )


def read_csv(path, sep=None, decimal="."):
    """Read a CSV file (optionally compressed) into a :class:`Table` with pandas.

    Parameters
    ----------
    path : str or path-like
        The file. The first row holds the column names.
    sep : str, default=None
        Field separator; guessed among ``, ; tab |`` when None. ``\\t`` (the two
        characters) stands for a tab.
    decimal : str, default="."
        Decimal mark of the numbers (``","`` for decimal commas).

    Returns
    -------
    Table
        The columns, numeric ones as float64 with NaN for missing cells.

    Raises
    ------
    CLIError
        When the file is missing, unreadable, not text, empty, has a row with more
        fields than the header, or numbers with a decimal comma without
        ``--decimal ,``.
    """
    import pandas as pd

    sep = parse_sep(sep)
    if decimal is None or len(decimal) != 1:
        raise CLIError(f"--decimal {decimal!r}: give one character ('.' or ',').")
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                first = f.read(20000)
        else:
            with open(path, "rb") as f:
                first = f.read(20000)
        text = first.decode("utf-8-sig")
    except FileNotFoundError:
        raise CLIError(f"--data: file '{path}' does not exist.") from None
    except IsADirectoryError:
        raise CLIError(f"--data: '{path}' is a directory, not a CSV file.") from None
    except PermissionError:
        raise CLIError(f"--data: cannot read '{path}': permission denied.") from None
    except UnicodeDecodeError as exc:
        if exc.start < len(first) - 4:  # not just a character cut at the end
            raise CLIError(
                f"--data: cannot read '{path}': it is not a UTF-8 text CSV file "
                "(or a gzip of one). Save it as CSV (UTF-8) and try again."
            ) from None
        text = first[:exc.start].decode("utf-8-sig")
    except (gzip.BadGzipFile, EOFError):
        raise CLIError(f"--data: cannot read '{path}': a damaged gzip file.") from None
    except OSError as exc:
        raise CLIError(f"--data: cannot read '{path}': {exc.strerror or exc}.") from None
    if not text.strip():
        raise CLIError(f"--data: '{path}' is empty; it needs a header row and data rows.")
    if sep is None:
        try:
            sep = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
    if sep == decimal:
        raise CLIError(f"--sep and --decimal are both {sep!r}; they must differ.")
    try:
        frame = pd.read_csv(
            path, sep=sep, decimal=decimal, na_values=_NA_SPELLINGS, keep_default_na=True,
            skipinitialspace=True, encoding="utf-8-sig", low_memory=False,
            compression="infer",
        )
    except pd.errors.EmptyDataError:
        raise CLIError(f"--data: '{path}' is empty; it needs a header row and data rows.") from None
    except pd.errors.ParserError as exc:
        raise CLIError(
            f"--data: '{path}' is not a valid CSV file with separator {sep!r}: "
            f"{str(exc).strip()}. Fix the row or pass --sep."
        ) from None
    except UnicodeDecodeError:
        raise CLIError(
            f"--data: cannot read '{path}': it is not a UTF-8 text CSV file "
            "(or a gzip of one). Save it as CSV (UTF-8) and try again."
        ) from None
    header = [str(h).strip() for h in frame.columns]
    dup = sorted({re.sub(r"\.\d+$", "", h) for h in header if re.search(r"\.\d+$", h)}
                 & set(header))
    if dup:
        raise CLIError(f"--data: '{path}' has duplicate column names {dup}; rename them.")
    frame.columns = header
    if not len(frame):
        raise CLIError(f"--data: '{path}' has a header but no data rows.")
    _check_decimal(path, frame, decimal)
    data = {}
    for h in header:
        col = frame[h]
        if col.dtype.kind in "biuf":
            num = np.array(col.to_numpy(dtype=np.float64, na_value=np.nan))
            num[~np.isfinite(num)] = math.nan
            data[h] = num
        else:
            obj = col.to_numpy(dtype=object)
            missing = col.isna().to_numpy()
            out = np.empty(len(obj), dtype=object)
            out[:] = [math.nan if m else str(v).strip() for v, m in zip(obj, missing)]
            data[h] = out
    return Table(name=str(path), columns=header, data=data)


def _check_column(table, column, option):
    if column in table.data:
        return
    close = difflib.get_close_matches(column, table.columns, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise CLIError(
        f"{option}: column '{column}' is not in {table.name}; its columns are "
        f"{table.columns}.{hint}"
    )


def _as_labels(col):
    """Target labels: ints when a numeric column holds integers."""
    if col.dtype.kind == "f" and np.all(col == np.round(col)):
        return col.astype(np.int64)
    return col


def _group_names(col):
    if col.dtype.kind == "f":
        return np.array([f"{v:g}" for v in col], dtype=object)
    return col.astype(object)


def infer_task_type(y):
    """``"classification"`` for text or few integer values, else regression.

    Parameters
    ----------
    y : ndarray
        The target column, missing values removed.

    Returns
    -------
    str
        ``"classification"`` when the target is text, or integers with at most
        10 distinct values; ``"regression"`` otherwise.
    """
    if y.dtype.kind not in "f":
        return "classification"
    if np.all(y == np.round(y)) and np.unique(y).size <= 10:
        return "classification"
    return "regression"


def dataset_from_table(table, *, target, group, task_type=None, drop=(), name=None):
    """Pick the target, group and feature columns of a table.

    Rows with a missing target or group are dropped (noted). Every other
    column, except those in ``drop``, is a feature.

    Returns
    -------
    Dataset
    """
    _check_column(table, target, "--target")
    _check_column(table, group, "--group")
    for col in drop:
        _check_column(table, col, "--drop")
    if target == group:
        raise CLIError(f"--target and --group are both '{target}'; they must differ.")
    y, g = table.data[target], table.data[group]
    for col, option in ((group, "--group"), (target, "--target")):
        if _is_missing(table.data[col]).all():
            raise CLIError(
                f"{option}: column '{col}' has no values (every row is missing); "
                + ("it must hold the task id of every row (site, store, ...)."
                   if option == "--group" else "it must hold what to predict.")
            )
    miss_y, miss_g = _is_missing(y), _is_missing(g)
    keep = ~(miss_y | miss_g)
    notes = []
    if not keep.all():
        notes.append(
            f"dropped {int((~keep).sum())} row(s) with a missing value: "
            f"{int(miss_y.sum())} in target '{target}', {int(miss_g.sum())} in group "
            f"'{group}'"
        )
    y, g = y[keep], g[keep]
    inferred = task_type is None
    if inferred:
        task_type = infer_task_type(y)
        notes.append(
            f"task type: {task_type} (inferred from column '{target}'; set "
            "--task-type to override)"
        )
    if task_type == "classification":
        y = _as_labels(y)
        labels = np.unique(y.astype(str) if y.dtype == object else y)
        if labels.size < 2:
            raise CLIError(
                f"--target: column '{target}' has a single class '{_fmt_label(labels[0])}' in "
                "every row; a classification benchmark needs at least 2 classes."
            )
    else:
        if y.dtype.kind != "f":
            raise CLIError(
                f"--task-type regression: column '{target}' is not numeric (e.g. "
                f"{y[0]!r}); use --task-type classification or another target."
            )
        if np.unique(y).size < 2:
            raise CLIError(
                f"--target: column '{target}' has the single value {y[0]:g} in "
                "every row; there is nothing to predict."
            )
    features = [c for c in table.columns if c not in {target, group, *drop}]
    ids = [c for c in features if _id_like(table.data[c][keep])]
    if ids:
        features = [c for c in features if c not in ids]
        notes.append(
            f"dropped ID-like column(s) {ids}: a different value in every row, so they "
            "cannot generalise (--drop names other columns to leave out)"
        )
    if not features:
        raise CLIError(
            f"{table.name} has no feature columns besides --target '{target}' and "
            f"--group '{group}'."
        )
    categorical = [c for c in features if not table.is_numeric(c)]
    gaps = [(c, float(_is_missing(table.data[c][keep]).mean())) for c in features]
    gaps = [(c, f) for c, f in gaps if f > 0]
    if gaps:
        listed = ", ".join(f"{c} ({100 * f:.0f}%)" if f >= 0.005 else f"{c} (<1%)"
                           for c, f in gaps)
        notes.append(
            f"imputed missing values in {len(gaps)} column(s) (numeric: median, text: most "
            f"frequent level, learned on the meta-training tasks; heterogeneous-np keeps "
            f"numeric ones missing, a column missing in a whole task is absent there): "
            f"{listed}"
        )
    if categorical:
        X = np.empty((int(keep.sum()), len(features)), dtype=object)
        for j, c in enumerate(features):
            X[:, j] = table.data[c][keep]
    else:
        X = np.column_stack([table.data[c][keep] for c in features]).astype(np.float64)
    return Dataset(
        name=name or table.name, X=X, y=y, groups=_group_names(g), task_type=task_type,
        feature_names=features, categorical=categorical, notes=notes,
    )


def _id_like(col):
    """A column with a different value in every row (more than 20 rows): text, or
    integers that count rows (like a row number)."""
    n = col.shape[0]
    if n <= 20 or _is_missing(col).any():
        return False
    if col.dtype.kind == "f":
        if not np.all(col == np.round(col)):
            return False
        values = np.unique(col)
        return values.size == n and values[-1] - values[0] == n - 1
    return np.unique(col.astype(str)).size == n


def _is_missing(col):
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.array([isinstance(v, float) and math.isnan(v) for v in col], dtype=bool)


def _fmt_label(v):
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def check_tasks(ds, *, test_size, group_option="--group"):
    """Check that ``ds`` has enough tasks to meta-train and to evaluate.

    Small tasks are no error: meta-training uses every task (a small one with fewer
    shots), and evaluation skips the tasks too small for a shot count and says on how
    many tasks each figure rests.

    Returns
    -------
    Dataset
        ``ds``.
    """
    n_tasks = ds.task_ids.size
    n_test = math.ceil(test_size * n_tasks)
    if n_tasks - n_test < MIN_TRAIN_TASKS or n_test < MIN_TEST_TASKS:
        raise CLIError(
            f"{group_option}: too few tasks: {n_tasks} distinct value(s) "
            f"{list(map(str, ds.task_ids[:10]))}; with --test-size {test_size:g} the "
            f"benchmark needs at least {MIN_TRAIN_TASKS} tasks to meta-train and "
            f"{MIN_TEST_TASKS} to evaluate (at least {MIN_TRAIN_TASKS + MIN_TEST_TASKS} "
            "tasks). Use a group column with more distinct values."
        )
    return ds


def make_preprocessor(ds):
    """The preprocessing pipeline of the benchmark, fitted on training tasks only.

    * numeric columns: missing values imputed by the column's median, then
      standardised (``SimpleImputer(strategy="median")``, ``StandardScaler``);
    * categorical (text) columns: missing values imputed by the most frequent
      level, then one-hot encoded (``OneHotEncoder(handle_unknown="ignore",
      max_categories=20)``: levels unseen in training encode as all zeros).

    Returns
    -------
    sklearn.compose.ColumnTransformer
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = [j for j, c in enumerate(ds.feature_names) if c not in ds.categorical]
    cat = [j for j, c in enumerate(ds.feature_names) if c in ds.categorical]
    parts = []
    if num:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median"),
                                               StandardScaler()), num))
    if cat:
        parts.append(("categorical", make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", max_categories=MAX_CATEGORIES,
                          sparse_output=False)), cat))
    return ColumnTransformer(parts, sparse_threshold=0.0)
