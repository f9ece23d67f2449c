"""
MAML on sinusoids: a few gradient steps from a meta-learned start
=================================================================

The classic demonstration of model-agnostic meta-learning (MAML, Finn et
al., 2017): every task is a sine wave ``y = a sin(x - b)`` with its own
amplitude and phase, and a new task comes with only 5 points. No model can
fit a sine from 5 points from scratch; MAML meta-learns the initial weights
of a small network from which two gradient steps on those 5 points give
a good fit of the whole wave.

:class:`~sklearn_meta.gradient.MAMLRegressor` is a scikit-learn regressor:
``fit`` on many tasks, ``adapt`` on a new task's support set, ``predict``.
Meta-SGD, ANIL and Reptile (:mod:`sklearn_meta.gradient`) are used the same
way. ``max_iter`` is kept small here so the example runs in seconds; the
fit improves with more iterations.
"""

# %% [markdown]
# Tasks
# -----
# 400 training sine waves of 20 points each and 30 new ones.

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.neighbors import KNeighborsRegressor

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_sinusoid_tasks
from sklearn_meta.gradient import MAMLRegressor
from sklearn_meta.model_selection import episodic_scorer

train = make_sinusoid_tasks(n_tasks=400, n_samples_per_task=20, random_state=0)
test = make_sinusoid_tasks(n_tasks=30, n_samples_per_task=20, return_params=True,
                           random_state=1)

# %% [markdown]
# Meta-training
# -------------
# Two inner gradient steps (``inner_steps=2``) with learning rate
# ``inner_lr`` on 5 support points per task (``n_shots=5``); the outer loop
# updates the initial weights with Adam (``meta_lr``) over meta-batches of
# 16 tasks, backpropagating through the inner steps.

# %%
maml = MAMLRegressor(hidden_layer_sizes=(40, 40), n_shots=5, inner_lr=0.01,
                     inner_steps=2, meta_lr=1e-2, max_iter=300, random_state=0)
maml.fit(train.tasks)

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(maml.loss_curve_)
ax.set_xlabel("meta-iteration")
ax.set_ylabel("query loss after adaptation")
ax.set_yscale("log")
fig.tight_layout()

# %% [markdown]
# One new task
# ------------
# Before ``adapt`` the regressor predicts with the meta-learned weights
# (zero-shot): a starting point shaped to be adapted quickly, not a fit of
# this wave. After two gradient steps on 5 points it follows the new wave
# over most of the range; a per-task model (2 nearest neighbours) only
# interpolates the 5 points.

# %%
X_task, y_task = test.tasks[0]
rng = np.random.default_rng(0)
support = rng.choice(len(y_task), size=5, replace=False)
grid = np.linspace(-5, 5, 200).reshape(-1, 1)
amplitude, phase = test.amplitude[0], test.phase[0]

before = maml.predict(grid)
after = maml.adapt(X_task[support], y_task[support]).predict(grid)
knn = PerTaskEstimator(KNeighborsRegressor(n_neighbors=2)).fit(train.tasks)
knn_pred = knn.adapt(X_task[support], y_task[support]).predict(grid)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid, amplitude * np.sin(grid - phase), "k", label="true wave")
ax.plot(grid, before, ":", label="MAML before adapt")
ax.plot(grid, after, label="MAML after adapt")
ax.plot(grid, knn_pred, "--", alpha=0.7, label="2-nearest neighbours")
ax.scatter(X_task[support], y_task[support], c="k", zorder=3, label="5 support points")
ax.legend(fontsize="small", loc="lower left")
fig.tight_layout()

# %% [markdown]
# Over many new tasks
# -------------------
# :func:`~sklearn_meta.model_selection.episodic_scorer` draws 5 support
# points of every test task, adapts, and scores the other 15 points; here
# with the mean squared error (negated, as scikit-learn's scorers are).
# Adaptation is a few gradient steps, so it is fast.

# %%
mse = episodic_scorer("neg_mean_squared_error", n_shots=5, random_state=0)
for name, est in [("MAML", maml), ("2-nearest neighbours", knn)]:
    print(f"{name:>21}: MSE {-mse(est, test.X, test.y, groups=test.groups):.2f}")
print(f"{'predict 0':>21}: MSE {np.mean(test.y ** 2):.2f}")
