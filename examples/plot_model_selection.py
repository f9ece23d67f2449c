"""
Model selection over tasks: GridSearchCV, GroupKFold and metadata routing
=========================================================================

Meta-learners plug into scikit-learn's model selection as they are. Two
things differ from ordinary estimators:

* folds must be sets of **tasks** (rows of one task never end up on both
  sides), which :class:`~sklearn.model_selection.GroupKFold` does when given
  the task ids as ``groups``;
* the meta-learner needs those task ids too, in ``fit`` (which rows form a
  task) and in ``score`` (which is episodic: per task, adapt to a few rows
  and score the others). scikit-learn's **metadata routing** carries
  ``groups`` to them.

This example tunes a :class:`sklearn_meta.pipeline.Pipeline` with
:class:`~sklearn.model_selection.GridSearchCV`, cross-validates it with an
episodic ROC AUC, and shows the warning given when routing is off.
"""

# %% [markdown]
# Data and pipeline
# -----------------
# 40 synthetic binary tasks. The pipeline scales the features (fitted on all
# meta-training rows), then fits a logistic regression on each new task's
# support set. :func:`sklearn_meta.pipeline.make_pipeline` builds a
# scikit-learn pipeline that also has ``adapt``.

# %%
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.model_selection import episodic_scorer, task_train_test_split
from sklearn_meta.pipeline import make_pipeline

data = make_classification_tasks(n_tasks=40, random_state=0)
X_tr, X_te, y_tr, y_te, g_tr, g_te = task_train_test_split(
    data.X, data.y, data.groups, test_size=0.25, random_state=0)

pipe = make_pipeline(StandardScaler(),
                     PerTaskEstimator(LogisticRegression(), n_shots=5, random_state=0))
pipe

# %% [markdown]
# Grid search over tasks
# ----------------------
# Enable metadata routing once; ``groups`` given to ``GridSearchCV.fit``
# then reaches the splitter, the meta-learner's ``fit`` and its episodic
# ``score``. Every candidate is scored on whole held-out tasks.

# %%
sklearn.set_config(enable_metadata_routing=True)

search = GridSearchCV(pipe, {"pertaskestimator__estimator__C": [0.01, 0.1, 1.0, 10.0]},
                      cv=GroupKFold(n_splits=3))
search.fit(X_tr, y_tr, groups=g_tr)
print("best parameters:", search.best_params_)
print("mean episodic accuracy per C:",
      np.round(search.cv_results_["mean_test_score"], 3))

# %% [markdown]
# The refitted best pipeline adapts to a new task like any meta-learner, and
# its ``score`` is episodic over the test tasks.

# %%
best = search.best_estimator_
X_new, y_new = X_te[g_te == g_te[0]], y_te[g_te == g_te[0]]
print("first query predictions:", best.adapt(X_new[:10], y_new[:10]).predict(X_new[10:15]))
print(f"episodic accuracy on held-out tasks: {best.score(X_te, y_te, groups=g_te):.3f}")

# %% [markdown]
# Cross-validation with any metric, episodically
# ----------------------------------------------
# A plain scorer name given to ``cross_validate`` scores the meta-learned
# model's predictions *without* adaptation (zero-shot), and the meta-learner
# warns about it; here the zero-shot column is wanted, so that warning is
# silenced.
# :func:`~sklearn_meta.model_selection.episodic_scorer` turns any
# scikit-learn metric into an episodic one: per test task, draw ``n_shots``
# support rows per class, ``adapt``, score the rest of the task.

# %%
scoring = {
    "accuracy": episodic_scorer("accuracy"),
    "roc_auc": episodic_scorer("roc_auc"),
    "roc_auc_10_shots": episodic_scorer("roc_auc", n_shots=10),
    "zero_shot_accuracy": "accuracy",
}
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*plain scikit-learn scorer")
    cv = cross_validate(pipe, data.X, data.y, params={"groups": data.groups},
                        cv=GroupKFold(n_splits=4), scoring=scoring)
for name in scoring:
    scores = cv[f"test_{name}"]
    print(f"{name:>20}: {scores.mean():.3f} +/- {scores.std():.3f}")

# %% [markdown]
# The per-task model has nothing to predict with before it adapts but the
# model fitted on all rows; on these tasks class names mean nothing across
# tasks, so its zero-shot accuracy is at chance, as expected.

# %% [markdown]
# Forgetting to enable routing
# ----------------------------
# Without metadata routing, scikit-learn gives ``groups`` to the splitter
# only: the meta-learner would silently see all training rows as one big
# task. sklearn-meta notices and warns.

# %%
with sklearn.config_context(enable_metadata_routing=False), \
        warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    cross_validate(pipe, data.X, data.y, groups=data.groups, cv=GroupKFold(n_splits=2))
messages = {str(w.message) for w in caught if issubclass(w.category, UserWarning)}
for message in messages:
    print("UserWarning:", message)
