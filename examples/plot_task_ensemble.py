"""
Ensembles of per-task experts: reuse the past tasks that look alike
===================================================================

When many past tasks have been modelled already, a new task may well
resemble some of them. :class:`~sklearn_meta.ensemble.TaskEnsembleRegressor`
keeps one expert per training task (any scikit-learn estimator, fitted on
that task alone) and, on a new task, weights the experts by how well they
predict its few labelled rows: the experts of similar tasks get the
weight. :class:`~sklearn_meta.ensemble.TaskEnsembleClassifier` does the same
for classification; the mixtures of experts of :mod:`sklearn_meta.ensemble`
learn a gate instead.

The tasks are sine waves ``y = a sin(x - b)`` with their own amplitude and
phase, 20 noisy points each.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.neighbors import KNeighborsRegressor
from sklearn.svm import SVR

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_sinusoid_tasks
from sklearn_meta.ensemble import TaskEnsembleRegressor
from sklearn_meta.model_selection import evaluate_few_shot

train = make_sinusoid_tasks(n_tasks=200, n_samples_per_task=20, noise=0.1,
                            return_params=True, random_state=0)
test = make_sinusoid_tasks(n_tasks=30, n_samples_per_task=20, noise=0.1,
                           return_params=True, random_state=1)

# %% [markdown]
# One expert per training task
# ----------------------------
# ``fit`` fits a clone of the expert on every training task (in parallel
# with ``n_jobs``). A support vector regression fits a sine from 20 points.

# %%
ensemble = TaskEnsembleRegressor(SVR(C=10.0), n_shots=5)
ensemble.fit(train.tasks)
print(len(ensemble.estimators_), "experts")

# %% [markdown]
# Weighting the experts on a new task
# -----------------------------------
# ``adapt`` scores every expert on the 5 support points (Gaussian likelihood)
# and turns the scores into weights (``weighting="softmax"``: Bayesian
# model averaging; ``"stacking"``: non-negative least squares). The
# experts with the most weight are those of waves close to the new one.
# Here the weight is spread over many experts, which flattens the average a
# little; a lower ``temperature`` concentrates it on the closest ones.

# %%
X_task, y_task = test.tasks[0]
support = np.random.default_rng(0).choice(len(y_task), size=5, replace=False)
ensemble.adapt(X_task[support], y_task[support])
top = np.argsort(ensemble.weights_)[::-1][:3]
print(f"new wave: amplitude {test.amplitude[0]:.2f}, phase {test.phase[0]:.2f}")
for i in top:
    print(f"  expert {i:3d}: weight {ensemble.weights_[i]:.2f}, amplitude "
          f"{train.amplitude[i]:.2f}, phase {train.phase[i]:.2f}")

grid = np.linspace(-5, 5, 200).reshape(-1, 1)
alone = PerTaskEstimator(SVR(C=10.0)).fit(train.tasks)
alone.adapt(X_task[support], y_task[support])

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid, test.amplitude[0] * np.sin(grid - test.phase[0]), "k", label="true wave")
ax.plot(grid, ensemble.predict(grid), label="weighted experts")
ax.plot(grid, alone.predict(grid), "--", label="SVR on the 5 points")
for i in top[:2]:
    ax.plot(grid, ensemble.estimators_[i].predict(grid), ":", alpha=0.8,
            label=f"expert {i} (weight {ensemble.weights_[i]:.2f})")
ax.scatter(X_task[support], y_task[support], c="k", zorder=3, label="5 support points")
ax.legend(fontsize="x-small", loc="lower left")
fig.tight_layout()

# %% [markdown]
# Over many new tasks
# -------------------
# The ensemble against the expert fitted on the support set alone and a
# nearest-neighbour rule, on the same episodes of the 30 new waves, by mean
# squared error (negated, as scikit-learn's scorers are).

# %%
results = evaluate_few_shot(
    {
        "weighted experts": TaskEnsembleRegressor(SVR(C=10.0)),
        "SVR on the support set": PerTaskEstimator(SVR(C=10.0)),
        "2-nearest neighbours": PerTaskEstimator(KNeighborsRegressor(n_neighbors=2)),
    },
    train.tasks, test.tasks, n_shots=[2, 5], n_episodes=30,
    scoring="neg_mean_squared_error", random_state=0)
print(results[["estimator", "n_shots", "mean", "ci_low", "ci_high", "fit_time", "adapt_time"]]
      .round(3).to_string(index=False))

# %% [markdown]
# The ensemble needs enough past tasks to cover the new ones, and adapting
# costs one prediction per expert; with few or unlike past tasks, set
# ``include_task_model=True`` to add a model of the support set itself to
# the ensemble.
