"""Data of the ``benchmark`` command: CSV reading, checks and preprocessing.

Everything here works with numpy and the standard library only (no pandas):
a CSV file is read with :mod:`csv`; a column whose every non-missing value
parses as a number is numeric, any other column is categorical. The
problems a user can fix (a missing file, an unknown column, too few tasks,
one class, tasks too small for the asked shots) raise :class:`CLIError`,
which the command prints without a traceback and exits with status 2.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import math
from dataclasses import dataclass, field

import numpy as np

#: Cell values read as missing (compared lower-cased, stripped).
NA_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "-nan"})

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
        return np.unique(self.groups)


def _open_text(path):
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _column(values):
    """Parse one column of strings into float64 (numeric) or object."""
    missing = [v.strip().lower() in NA_VALUES for v in values]
    try:
        num = np.array(
            [math.nan if m else float(v) for v, m in zip(values, missing)],
            dtype=np.float64,
        )
    except ValueError:
        col = np.empty(len(values), dtype=object)
        col[:] = [math.nan if m else v.strip() for v, m in zip(values, missing)]
        return col
    num[~np.isfinite(num)] = math.nan
    return num


def read_csv(path, sep=None):
    """Read a CSV file (optionally gzipped) into a :class:`Table`.

    Parameters
    ----------
    path : str or path-like
        The file. The first row holds the column names.
    sep : str, default=None
        Field separator; guessed among ``, ; tab |`` when None.

    Returns
    -------
    Table
        The columns, numeric ones as float64 with NaN for missing cells.

    Raises
    ------
    CLIError
        When the file is missing, unreadable, not text, empty, or a row has
        a different number of fields than the header.
    """
    try:
        with _open_text(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise CLIError(f"--data: file '{path}' does not exist.") from None
    except IsADirectoryError:
        raise CLIError(f"--data: '{path}' is a directory, not a CSV file.") from None
    except PermissionError:
        raise CLIError(f"--data: cannot read '{path}': permission denied.") from None
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError):
        raise CLIError(
            f"--data: cannot read '{path}': it is not a UTF-8 text CSV file "
            "(or a gzip of one). Save it as CSV (UTF-8) and try again."
        ) from None
    except OSError as exc:
        raise CLIError(f"--data: cannot read '{path}': {exc.strerror or exc}.") from None
    if not text.strip():
        raise CLIError(f"--data: '{path}' is empty; it needs a header row and data rows.")
    if sep is None:
        try:
            sep = csv.Sniffer().sniff(text[:20000].split("\n", 1)[0], delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if r]
    except csv.Error as exc:
        raise CLIError(f"--data: '{path}' is not a valid CSV file: {exc}.") from None
    header = [h.strip() for h in rows[0]]
    if len(rows) < 2:
        raise CLIError(f"--data: '{path}' has a header but no data rows.")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise CLIError(f"--data: '{path}' has duplicate column names {dup}; rename them.")
    for line, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise CLIError(
                f"--data: '{path}' row {line} has {len(r)} fields but the header "
                f"has {len(header)} (separator {sep!r}); fix the row or pass --sep."
            )
    cols = list(zip(*rows[1:]))
    data = {h: _column(list(c)) for h, c in zip(header, cols)}
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
    keep = ~(_is_missing(y) | _is_missing(g))
    notes = []
    if not keep.all():
        notes.append(
            f"dropped {int((~keep).sum())} row(s) with a missing target or group value"
        )
    y, g = y[keep], g[keep]
    if y.size == 0:
        raise CLIError(f"--target: column '{target}' has no values (every row is missing).")
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
    if not features:
        raise CLIError(
            f"{table.name} has no feature columns besides --target '{target}' and "
            f"--group '{group}'."
        )
    categorical = [c for c in features if not table.is_numeric(c)]
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


def _is_missing(col):
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.array([isinstance(v, float) and math.isnan(v) for v in col], dtype=bool)


def _fmt_label(v):
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _short_tasks(ds, n_shots):
    """Tasks with too few rows for ``n_shots``: list of (task, description)."""
    short = []
    for t in ds.task_ids:
        y = ds.y[ds.groups == t]
        if ds.task_type == "regression":
            if y.size < n_shots + 2:
                short.append((t, f"{y.size} rows"))
            continue
        labels, counts = np.unique(y.astype(str) if y.dtype == object else y,
                                   return_counts=True)
        if labels.size < 2 or counts.min() < n_shots + 1:
            short.append((t, ", ".join(f"{_fmt_label(lab)}: {c}"
                                       for lab, c in zip(labels, counts))))
    return short


def _max_shots(ds):
    """The largest shot count every task of ``ds`` supports (0 if none)."""
    best = None
    for t in ds.task_ids:
        y = ds.y[ds.groups == t]
        if ds.task_type == "regression":
            k = y.size - 2
        else:
            _, counts = np.unique(y.astype(str) if y.dtype == object else y,
                                  return_counts=True)
            k = counts.min() - 1 if counts.size >= 2 else 0
        best = k if best is None else min(best, k)
    return max(int(best or 0), 0)


def check_tasks(ds, *, n_shots, test_size, drop_small=False, group_option="--group"):
    """Check that ``ds`` has enough tasks, and rows per task for ``n_shots``.

    Classification tasks need ``n_shots + 1`` rows of each of their classes
    (``n_shots`` support + 1 query) and at least 2 classes; regression tasks
    ``n_shots + 2`` rows. With ``drop_small`` such tasks are dropped (noted)
    instead of raising.

    Returns
    -------
    Dataset
        ``ds``, without the small tasks when ``drop_small``.
    """
    largest = max(n_shots)
    short = _short_tasks(ds, largest)
    if short and drop_small:
        bad = np.isin(ds.groups, [t for t, _ in short])
        ds.notes.append(
            f"--drop-small-tasks: left out {len(short)} task(s) with too few rows "
            f"for {largest} shot(s): " + ", ".join(str(t) for t, _ in short)
        )
        ds.X, ds.y, ds.groups = ds.X[~bad], ds.y[~bad], ds.groups[~bad]
    elif short:
        if ds.task_type == "regression":
            need = f"at least {largest + 2} rows ({largest} support + 2 query)"
        else:
            need = (f"at least {largest + 1} rows of each of its classes ({largest} "
                    "support + 1 query) and 2 classes")
        listed = "; ".join(f"{t!s} ({d})" for t, d in short[:20])
        more = f"; and {len(short) - 20} more" if len(short) > 20 else ""
        k = _max_shots(ds)
        hint = (f"lower --shots (every task supports up to {k})" if k >= 1
                else "lower --shots")
        raise CLIError(
            f"too few rows per task for --shots {largest}: every task needs {need}. "
            f"{len(short)} of {ds.task_ids.size} tasks have fewer: {listed}{more}. "
            f"Either {hint}, or pass --drop-small-tasks to leave those tasks out."
        )
    n_tasks = ds.task_ids.size
    n_test = math.ceil(test_size * n_tasks)
    if n_tasks - n_test < MIN_TRAIN_TASKS or n_test < MIN_TEST_TASKS:
        left = " (after --drop-small-tasks)" if short else ""
        raise CLIError(
            f"{group_option}: too few tasks{left}: {n_tasks} distinct value(s) "
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
