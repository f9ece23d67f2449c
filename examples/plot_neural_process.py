"""
Neural processes: adapt in one forward pass, with uncertainty
=============================================================

A neural process (:class:`~sklearn_meta.model_based.NeuralProcessRegressor`)
is a network that *reads* a task's support set: ``adapt`` encodes the
labelled rows in one forward pass (no gradient step), and ``predict``
attends from every query row to them. Meta-training on many tasks teaches
the network to do this well. ``predict(X, return_std=True)`` also returns a
predicted standard deviation.
:class:`~sklearn_meta.model_based.NeuralProcessClassifier` does the same
for classification.

The tasks are sine waves ``y = a sin(x - b)`` with their own amplitude and
phase. ``max_iter`` is small so that the example runs in seconds; the fit
improves with more iterations.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sklearn_meta.datasets import make_sinusoid_tasks
from sklearn_meta.model_based import NeuralProcessRegressor
from sklearn_meta.model_selection import episodic_scorer

train = make_sinusoid_tasks(n_tasks=400, n_samples_per_task=20, random_state=0)
test = make_sinusoid_tasks(n_tasks=30, n_samples_per_task=20, return_params=True,
                           random_state=1)

# %% [markdown]
# Meta-training
# -------------
# Every meta-iteration draws tasks, splits each into ``n_shots`` context
# rows and ``n_queries`` target rows, and minimises the Gaussian negative
# log-likelihood of the targets given the context.

# %%
neural_process = NeuralProcessRegressor(n_shots=5, max_iter=700, random_state=0)
neural_process.fit(train.tasks)

# %% [markdown]
# One new wave, 3 to 10 support points
# ------------------------------------
# The same new wave, adapted to 3, 6 and 10 of its points. The band is plus or minus two
# predicted standard deviations: the network's own estimate of its error,
# learned with the likelihood.

# %%
X_task, y_task = test.tasks[0]
order = np.random.default_rng(0).permutation(len(y_task))
grid = np.linspace(-5, 5, 200).reshape(-1, 1)

fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
for ax, k in zip(axes, (3, 6, 10)):
    support = order[:k]
    neural_process.adapt(X_task[support], y_task[support])
    mean, std = neural_process.predict(grid, return_std=True)
    ax.plot(grid, test.amplitude[0] * np.sin(grid - test.phase[0]), "k", lw=1,
            label="true wave")
    ax.plot(grid, mean, label="predicted mean")
    ax.fill_between(grid.ravel(), mean - 2 * std, mean + 2 * std, alpha=0.3,
                    label="mean ± 2 std")
    ax.scatter(X_task[support], y_task[support], c="k", zorder=3, s=15)
    ax.set_title(f"{k} support points")
axes[0].legend(fontsize="x-small", loc="lower left")
fig.tight_layout()

# %% [markdown]
# Over many new tasks
# -------------------
# Episodic mean squared error on the 30 new waves (5 support points each),
# against predicting zero for every row. Meta-training longer improves it
# markedly (``max_iter=1000`` roughly halves the error on this data).

# %%
mse = episodic_scorer("neg_mean_squared_error", n_shots=5, random_state=0)
print(f"neural process: MSE {-mse(neural_process, test.X, test.y, groups=test.groups):.2f}")
print(f"predict 0:      MSE {np.mean(test.y ** 2):.2f}")
