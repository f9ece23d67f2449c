"""The clear error for features that are not numbers (text, categories, dates).

Every learner validates its features to float64 before they reach any model, including
the scikit-learn estimator a wrapper holds. scikit-learn's own message for a text cell
("could not convert string to float: 'b'") names neither the column nor the task, and
says nothing of what to do; :func:`raise_for_non_numeric` says all three.
"""

import numpy as np

from ..tasks import _row_where

__all__ = []


def _non_numeric_cells(column):
    """Boolean mask of the cells of a pandas Series that are text or dates, not numbers."""
    import pandas as pd
    from pandas.api import types

    if types.is_datetime64_any_dtype(column) or types.is_timedelta64_dtype(column) \
            or isinstance(column.dtype, pd.PeriodDtype):
        return column.notna().to_numpy()
    if types.is_numeric_dtype(column) or types.is_bool_dtype(column):
        return np.zeros(len(column), dtype=bool)
    # text that does not read as a number; other objects keep scikit-learn's error
    values = column.astype(object)
    text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    numbers = pd.to_numeric(values.where(text), errors="coerce")
    return text & numbers.isna().to_numpy()


def raise_for_non_numeric(estimator, X, exc, name="X", groups=None, task_list=False):
    """Re-raise a failed conversion of ``X`` to numbers with what to do about it.

    Called with the ``ValueError``/``TypeError`` of the float64 validation. When
    ``X`` has cells that are not numbers, the error names the argument, the
    columns, one such value, its row and (given ``groups``) its task, and says how
    to encode the columns in front of the learner; any other error is re-raised
    unchanged.

    Parameters
    ----------
    estimator : meta-estimator
    X : array-like or DataFrame
        The rows as given (before validation).
    exc : Exception
        The validation error.
    name : str, default="X"
        The argument's name.
    groups : array-like of shape (n_rows,), default=None
        The task of every row, to name it in the message.
    task_list : bool, default=False
        Whether ``X`` stacks a list of tasks (``groups`` their positions): the row is
        then named within its task, ``tasks[i]``.
    """
    import pandas as pd

    try:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
    except Exception:  # not a table at all: scikit-learn's message stands
        raise exc from None
    bad = {}
    for j in range(frame.shape[1]):
        mask = _non_numeric_cells(frame.iloc[:, j])
        if mask.any():
            bad[j] = int(np.argmax(mask))
    if not bad:
        raise exc
    select = [str(frame.columns[j]) for j in bad] if frame is X else list(bad)
    j, row = next(iter(bad.items()))
    where = _row_where(row, groups, task_list)
    est = type(estimator).__name__
    value = frame.iloc[row, j]
    if len(select) == 1:
        what = f"{name} column {select[0]!r} is not numeric (e.g. {value!r} in {where})"
    else:
        what = (f"{name} columns {select} are not numeric (e.g. {value!r} in column "
                f"{select[0]!r}, {where})")
    inside = ""
    if getattr(estimator, "_accepts_categoricals", False):
        inside = (f" Or give the columns pandas' 'category' dtype (X[column].astype("
                  f"'category')): {est} hands those to its pooled model as categories.")
    if any(hasattr(v, "fit") for v in estimator.get_params(deep=False).values()):
        inside += (f" {est} validates the rows before the estimator it holds sees them, "
                  "so the encoder goes in front of it, not inside it.")
    raise ValueError(
        f"{what}. {est} needs numeric features: encode categorical and text columns "
        "(dates: as numbers, or drop them) before it, e.g. "
        "sklearn_meta.pipeline.make_pipeline(make_column_transformer("
        f"(OneHotEncoder(handle_unknown='ignore'), {select}), remainder='passthrough'), "
        f"{est}(...)).{inside}"
    ) from None
