"""Per-task work goes through joblib: ``n_jobs`` and the joblib backend are honoured.

Every learner that fits one model per training task (or per expert, per candidate and
task) hands those fits to joblib. A candidate estimator that records the process it was
fitted in shows where the work ran: in worker processes with ``n_jobs=2`` (loky) or
under Ray's joblib backend, in this process with ``n_jobs=1``. The Ray test runs where
Ray is installed (``pip install sklearn-meta[ray]``) and is skipped otherwise; the Dask
backend is tested in tests/test_dask.py.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.linear_model import LogisticRegression

from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.ensemble import MixtureOfExpertsClassifier, TaskEnsembleClassifier
from sklearn_meta.mixed_effects import MixedEffectsClassifier
from sklearn_meta.selection import AlgorithmSelector, HyperparameterWarmStart

ROOT = Path(__file__).resolve().parents[1]


def _recording_logistic(log_dir):
    """A LogisticRegression class whose ``fit`` leaves a file named by its process id
    in ``log_dir``. Defined in a function so that joblib's and Ray's cloudpickle send
    the class itself to the workers (they need not import this test module)."""
    log_dir = str(log_dir)

    class RecordingLogistic(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            Path(log_dir, str(os.getpid())).touch()
            return super().fit(X, y, sample_weight=sample_weight)

    return RecordingLogistic


LEARNERS = {
    "TaskEnsemble": lambda est, n_jobs: TaskEnsembleClassifier(est, n_jobs=n_jobs),
    "MixtureOfExperts": lambda est, n_jobs: MixtureOfExpertsClassifier(
        est, n_experts=2, max_iter=3, n_jobs=n_jobs, random_state=0),
    "HyperparameterWarmStart": lambda est, n_jobs: HyperparameterWarmStart(
        est, {"C": [0.1, 1.0]}, n_episodes=1, n_jobs=n_jobs, random_state=0),
    "AlgorithmSelector": lambda est, n_jobs: AlgorithmSelector(
        [est, LogisticRegression(C=0.01)], n_episodes=1, n_jobs=n_jobs, random_state=0),
    "MixedEffects": lambda est, n_jobs: MixedEffectsClassifier(est, cv=3, n_jobs=n_jobs),
}


@pytest.fixture(scope="module")
def data():
    return make_classification_tasks(n_tasks=8, n_samples_per_task=20, n_features=5,
                                     random_state=0)


def _fit(name, n_jobs, log_dir, data):
    """Predictions on a new task after adapt, and the processes that ran fits."""
    log_dir.mkdir()
    est = LEARNERS[name](_recording_logistic(log_dir)(), n_jobs).fit(data.tasks[:7])
    X, y = data.tasks[7]
    # adapt may fit the support set in this process: only the fit's processes count
    pids = {int(p.name) for p in log_dir.iterdir()}
    return est.adapt(X[:6], y[:6]).predict_proba(X), pids


@pytest.mark.parametrize("name", list(LEARNERS))
def test_n_jobs_runs_the_per_task_fits_in_worker_processes(name, data, tmp_path):
    proba_1, pids_1 = _fit(name, 1, tmp_path / "one", data)
    with parallel_config(backend="loky"):
        proba_2, pids_2 = _fit(name, 2, tmp_path / "two", data)
    assert pids_1 == {os.getpid()}
    assert pids_2 - {os.getpid()}, f"{name}(n_jobs=2) fitted nothing in a worker"
    np.testing.assert_allclose(proba_2, proba_1)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install "
                              "'sklearn-meta[ray]')")
    from ray.util.joblib import register_ray

    register_ray()
    # the workers import this checkout of sklearn_meta, as this process does
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


@pytest.mark.parametrize("name", ["TaskEnsemble", "HyperparameterWarmStart"])
def test_ray_backend_gives_the_sequential_result(name, data, tmp_path, ray_cluster):
    proba_1, _ = _fit(name, 1, tmp_path / "one", data)
    with parallel_config(backend="ray"):
        proba_ray, pids = _fit(name, -1, tmp_path / "ray", data)
    assert ray_cluster.is_initialized()
    assert pids - {os.getpid()}, f"{name} fitted nothing in a Ray worker"
    np.testing.assert_allclose(proba_ray, proba_1)
