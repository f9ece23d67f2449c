"""
Quickstart: fit on many tasks, adapt to a new one, predict
==========================================================

A meta-learner is fitted on many small related tasks, then **adapts** to a
new task from a handful of labelled rows (its *support set*) and predicts
the rest of that task (its *query set*). This example walks through that
workflow with the two baselines of :mod:`sklearn_meta.baselines`, on
synthetic tasks from :func:`~sklearn_meta.datasets.make_classification_tasks`.
Every meta-learner of sklearn-meta is used the same way.
"""

# %% [markdown]
# Many small tasks
# ----------------
# 60 binary classification tasks of 40 rows each, 20 features. All tasks
# share a low-dimensional subspace in which their decision boundaries live,
# which is what a meta-learner can learn across tasks. ``data.tasks`` is a
# list of ``(X, y)`` pairs; ``data.X, data.y, data.groups`` hold the same
# rows as flat arrays with the task id of every row.

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.model_selection import task_train_test_split

data = make_classification_tasks(n_tasks=60, random_state=0)
print(len(data.tasks), "tasks;", "first task:", data.tasks[0][0].shape)

# %% [markdown]
# Split tasks, not rows: the test tasks are new tasks the model never saw.

# %%
train, test = task_train_test_split(data.tasks, test_size=0.2, random_state=0)
print(len(train), "training tasks,", len(test), "test tasks")

# %% [markdown]
# fit, adapt, predict
# -------------------
# :class:`~sklearn_meta.baselines.PerTaskEstimator` is the simplest
# "meta-learner": ``adapt`` fits a fresh copy of any scikit-learn estimator
# on the support set alone. ``n_shots`` is the number of labelled rows per
# class that ``score`` draws for each task.

# %%
est = PerTaskEstimator(LogisticRegression(), n_shots=5, random_state=0)
est.fit(train)  # meta-train on many tasks

X_new, y_new = test[0]
est.adapt(X_new[:10], y_new[:10])  # a few labelled rows of a new task
print("accuracy on the rest of the new task:",
      accuracy_score(y_new[10:], est.predict(X_new[10:])))

# %% [markdown]
# ``adapt`` returns the estimator, so it chains; adapting to another task
# replaces the task-specific state and never changes what ``fit`` learned.

# %%
X_other, y_other = test[1]
proba = est.adapt(X_other[:10], y_other[:10]).predict_proba(X_other[10:])
print("predict_proba:", proba.shape, "classes:", est.classes_)

# %% [markdown]
# Three forms of ``fit``
# ----------------------
# The same tasks can be given as a list of ``(X, y)`` pairs, as flat arrays
# with ``groups`` (the task id of every row), or as flat arrays without
# ``groups``, in which case all rows are one task.

# %%
X_tr, X_te, y_tr, y_te, g_tr, g_te = task_train_test_split(
    data.X, data.y, data.groups, test_size=0.2, random_state=0)

pooled = PooledEstimator(LogisticRegression())
pooled.fit(train)                      # 1. a list of tasks
pooled.fit(X_tr, y_tr, groups=g_tr)    # 2. flat arrays + task ids
pooled.fit(X_tr, y_tr)                 # 3. all rows are one task
print("pooled model fitted on", pooled.n_features_in_, "features")

# %% [markdown]
# Episodic scoring
# ----------------
# ``score(X, y, groups)`` is *episodic*: for every task it draws ``n_shots``
# support rows per class, adapts to them and scores the other rows of that
# task. It is what :class:`~sklearn.model_selection.GridSearchCV` and
# :func:`~sklearn.model_selection.cross_validate` see.
#
# :class:`~sklearn_meta.baselines.PooledEstimator` fits one model on all
# training rows and ignores the support set; on these tasks the class names
# mean nothing across tasks, so it is at chance, while 5 labelled rows per
# class are enough for the per-task model to do better.

# %%
est.fit(X_tr, y_tr, groups=g_tr)
print(f"per-task, 5 shots: {est.score(X_te, y_te, groups=g_te):.3f}")
print(f"pooled:            {pooled.score(X_te, y_te, groups=g_te):.3f}")

# %% [markdown]
# More shots help the per-task model: ``n_shots`` is an ordinary parameter.

# %%
for k in (1, 5, 10):
    score = est.set_params(n_shots=k).score(X_te, y_te, groups=g_te)
    print(f"per-task, {k:2d} shots: {score:.3f}")
