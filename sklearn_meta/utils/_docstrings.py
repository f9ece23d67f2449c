"""Docstring paragraphs shared by several estimators, and how they are filled in.

A docstring line that holds only ``%(name)s`` is replaced, when the class or function
is created, by the paragraph ``name`` indented like that line, so the rendered
``__doc__`` (what ``help``, Sphinx and the doctests read) is plain numpydoc. The other
``%`` signs and braces of a docstring are left alone.
"""

import re
import textwrap

__all__ = ["PARAGRAPHS", "fill_doc", "fill_docstring"]

PARAGRAPHS = {
    "fitted_features": """\
n_features_in_ : int
    Number of features seen during ``fit``.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Feature names seen during ``fit`` (DataFrames only).""",
    "wrapped_estimator": """\
estimator : estimator object
    Any scikit-learn classifier or regressor.""",
    "query_rows": """\
X : array-like of shape (n_samples, n_features)
    Query rows.""",
    "support_set": """\
X_support : array-like of shape (n_support, n_features)
    Labelled rows of the new task.
y_support : array-like of shape (n_support,)
    Their targets.""",
}

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def fill_docstring(doc, paragraphs=None):
    """``doc`` with every placeholder line ``%(name)s`` replaced by its paragraph.

    ``paragraphs`` adds to (or overrides) the shared :data:`PARAGRAPHS`; an unknown
    name raises ``KeyError`` (at import time, so a typo cannot ship).
    """
    if doc is None:
        return None
    table = PARAGRAPHS if paragraphs is None else {**PARAGRAPHS, **paragraphs}

    def paragraph(match):
        indent, name = match.groups()
        return textwrap.indent(textwrap.dedent(table[name]).strip("\n"), indent)

    return _PLACEHOLDER.sub(paragraph, doc)


def fill_doc(obj=None, /, **paragraphs):
    """Decorator filling the placeholders of a class's or function's docstring.

    Use it bare (``@fill_doc``) for the shared paragraphs, or with keyword paragraphs
    of a module (``@fill_doc(**_DOCS)``).
    """

    def decorate(target):
        target.__doc__ = fill_docstring(target.__doc__, paragraphs)
        return target

    return decorate if obj is None else decorate(obj)
