"""
Prototypical networks: a learned embedding for nearest-centroid rules
=====================================================================

A nearest-centroid classifier is the natural few-shot rule: average the few
labelled rows of each class, assign every query row to the closest average.
It works only if distances mean something. A prototypical network
(:class:`~sklearn_meta.metric.ProtoNetClassifier`, Snell et al., 2017)
meta-learns an embedding, from many training tasks, in which they do; a new
task then only needs its class means in that embedding (``adapt`` is one
forward pass, no gradient step).

The tasks here are synthetic 3-way problems whose labels mean something
different in every task (``label_space="per_task"``), in 20 features of
which only a 2-dimensional subspace, the same for every task, matters.
``max_iter`` is small so that the example runs in seconds.
"""

# %%
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestCentroid

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.display import FewShotCurveDisplay
from sklearn_meta.metric import ProtoNetClassifier
from sklearn_meta.model_selection import evaluate_few_shot, task_train_test_split

# NearestCentroid warns that one row per class gives no within-class spread;
# it does not need it to predict.
warnings.filterwarnings("ignore", module="sklearn.neighbors._nearest_centroid")

data = make_classification_tasks(n_tasks=150, n_samples_per_task=60, n_classes=3,
                                 n_features=20, n_informative=2, per_task_labels=True,
                                 random_state=0)
train, test = task_train_test_split(data.tasks, test_size=0.2, random_state=0)
print("labels of the first three tasks:", [np.unique(y).tolist() for _, y in data.tasks[:3]])

# %% [markdown]
# Fit, adapt, predict
# -------------------
# ``fit`` draws episodes from the training tasks (``n_shots`` support and
# ``n_queries`` query rows per class) and trains the embedding so that query
# rows land near their class prototype. ``adapt`` computes the prototypes of
# a new task's support set; its labels can be anything.

# %%
proto = ProtoNetClassifier(n_shots=5, max_iter=200, random_state=0)
proto.fit(train)

X_new, y_new = test[0]
# the task's labels, renamed: labels are mapped per task, any values work
names = np.array(["cat", "dog", "owl"])[np.unique(y_new, return_inverse=True)[1]]
support = np.concatenate([np.flatnonzero(names == c)[:5] for c in ("cat", "dog", "owl")])
query = np.setdiff1d(np.arange(len(names)), support)
proto.adapt(X_new[support], names[support])
print("classes_:", proto.classes_)
print("predict_proba of two query rows:\n", proto.predict_proba(X_new[query[:2]]).round(3))
print(f"accuracy on this task: {np.mean(proto.predict(X_new[query]) == names[query]):.2f}")

# %% [markdown]
# Against the same rule without a learned embedding
# -------------------------------------------------
# :func:`~sklearn_meta.model_selection.evaluate_few_shot` compares it with a
# nearest-centroid rule and a logistic regression in the raw features, both
# fitted on each support set alone, on the same episodes of the held-out
# tasks. Chance is 1/3.

# %%
results = evaluate_few_shot(
    {
        "ProtoNet": proto,
        "nearest centroid": PerTaskEstimator(NearestCentroid()),
        "logistic regression": PerTaskEstimator(LogisticRegression()),
    },
    train, test, n_shots=[1, 5], n_episodes=40, random_state=0)
print(results[["estimator", "n_shots", "mean", "ci_low", "ci_high", "fit_time", "adapt_time"]]
      .round(3).to_string(index=False))

disp = FewShotCurveDisplay.from_results(results)
disp.ax_.set_title("3-way tasks, held-out tasks")
disp.figure_.tight_layout()

# %% [markdown]
# The learned embedding finds the subspace shared by the tasks, which a model
# fitted on one support set cannot see from a handful of rows. The gain
# depends on how much the training tasks have in common with the new ones:
# with few and unlike training tasks (for instance an embedding of the
# digits learned from 5 digits only, used on the 5 others) a nearest
# centroid in the raw features can be as good or better. Compare with
# :func:`~sklearn_meta.model_selection.evaluate_few_shot` before choosing.
