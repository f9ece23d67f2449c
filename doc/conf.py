"""Sphinx configuration of the sklearn-meta documentation.

Build with ``python -m sphinx -b html doc doc/_build/html`` from the
repository root (needs the ``docs`` extra: sphinx, numpydoc, pydata-sphinx-theme).
"""

import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))

import sklearn_meta  # noqa: E402

project = "sklearn-meta"
author = "sklearn-meta developers"
copyright = "sklearn-meta developers, BSD-3-Clause licence"
release = sklearn_meta.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
# No intersphinx: the documentation builds without network access.

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

html_theme = "pydata_sphinx_theme"  # wide code blocks are not cut off
html_title = f"sklearn-meta {release}"
html_static_path = []


# ``ndarray of shape (n_features_in_,)`` in a numpydoc type is read by
# docutils as a reference to a target "n_features_in": escape a trailing
# underscore before "," or ")" on "of shape (...)" lines, so that docstrings
# can write shapes as scikit-learn's users read them.
_SHAPE_UNDERSCORE = re.compile(r"(?<=\w)_(?=[,)])")


def _escape_shape_underscores(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if "shape (" in line and not line.lstrip().startswith((">>>", "...")):
            lines[i] = _SHAPE_UNDERSCORE.sub(r"\\_", line)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shape_underscores, priority=400)
