"""The package's one docstring mechanism: shared paragraphs filled into placeholder lines.

Every docstring is a literal in its class or function body. A paragraph that several
estimators share verbatim (a parameter, a group of them, attributes) is written once,
in :data:`PARAGRAPHS` or a family's own dict, and stands in the docstring as a line
that holds only ``%(name)s``; :func:`fill_doc` replaces that line, when the class or
function is created, by the paragraph indented like it, so the rendered ``__doc__``
(what ``help``, Sphinx and the doctests read) is plain numpydoc. The other ``%`` signs
and braces of a docstring are left alone. Nothing else builds docstrings (no
``str.format``, f-string or ``__doc__`` assignment), and ``tests/test_structure.py``
checks that every public estimator documents exactly its ``__init__`` parameters.
"""

import re
import textwrap

__all__ = ["PARAGRAPHS", "fill_doc"]

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
    "meta_support": """\
support : {"auto", "per_class", "random"}, default="auto"
    How the support sets of the meta-training episodes are drawn. ``"per_class"``:
    N-way K-shot sized sets: ``n_shots`` rows of each class with per-task labels,
    ``n_shots * n_classes`` rows at random with a shared label set. ``"random"``:
    ``n_shots`` rows at random from the task, whatever their classes, as a new task's
    labelled rows come (``score`` draws them so by default with shared labels); with
    per-task labels the query rows are of the classes the support set shows.
    ``"auto"``: ``"per_class"`` (on the bundled churn tasks, meta-training on random
    support sets gained nothing consistent, benchmarks/RESULTS.md). With a shared
    label set, a class an episode's support set lacks is borrowed from the other tasks
    of the meta-batch where the learner's ``adapt`` borrows it (prototypical networks,
    neural processes). Given a ``support``,
    :func:`~sklearn_meta.model_selection.evaluate_few_shot` and ``sklearn-meta
    benchmark --support`` set ``"auto"`` to it (train as tested).""",
    # the episodic torch learners (metric and model-based families)
    "validation_monitoring": """\
validation_fraction : float, default=0.1
    Fraction of tasks held out with ``early_stopping``.
validation_interval : int, default=20
    Meta-iterations between two checks.
n_iter_no_change : int, default=10
    Checks without improvement before stopping.
lr_schedule : {"constant", "plateau"}, default="constant"
    ``"plateau"`` divides ``meta_lr`` by 5 when the monitored score stalls.""",
    "replay": """\
replay_buffer_size : int, default=100
    Past tasks kept for experience replay by :meth:`partial_fit`; 0 disables it.
replay_ratio : float, default=0.5
    Fraction of each meta-batch of :meth:`partial_fit` drawn from the replay buffer.""",
    # the fitted state of the episodic torch classifiers, after their network's own
    # lines (with the fitted features, added below)
    "episodic_classifier_attributes": """\
meta_classes_ : ndarray
    All labels seen in ``fit``.
classes_ : ndarray
    Labels of the adapted task, else ``meta_classes_``.
n_iter_ : int
    Meta-iterations run.
loss_curve_ : list of float
    Training loss of every meta-iteration.
validation_scores_ : list of float or None
    Validation accuracy at every check (``early_stopping``).
best_validation_score_ : float or None
    Best of them.""",
    "torch_runtime": """\
device : {"auto", "cpu", "cuda"}, default="auto"
    Where to compute; the fitted model is stored on the CPU.
distributed : {"auto", True, False}, default="auto"
    Meta-train on the ranks of an initialised ``torch.distributed`` process group (a
    script launched with ``torchrun``): every rank draws the same meta-batch and
    computes the meta-gradient of its slice of the tasks, the meta-gradients are
    all-reduced, and all ranks end with the meta-parameters of a one-process fit.
    ``"auto"``: when a process group is initialised; ``True``: an error when none is;
    ``False``: this process alone.
verbose : int, default=0
    Show a progress bar of meta-training.
warm_start : bool, default=False
    Continue from the previous fit's network.
random_state : int, RandomState instance or None, default=None
    Seeds the network's weights, the episodes and ``score``.""",
}

PARAGRAPHS["episodic_classifier_attributes"] += "\n" + PARAGRAPHS["fitted_features"]

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def _fill(doc, paragraphs=None):
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
        target.__doc__ = _fill(target.__doc__, paragraphs)
        return target

    return decorate if obj is None else decorate(obj)
