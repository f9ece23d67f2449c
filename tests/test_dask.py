"""Scale-out: per-task fits through joblib's Dask backend give the n_jobs=1 result."""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from joblib import parallel_config  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from sklearn_meta.datasets import make_classification_tasks  # noqa: E402
from sklearn_meta.ensemble import TaskEnsembleClassifier  # noqa: E402
from sklearn_meta.selection import HyperparameterWarmStart  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.mark.parametrize("make", [
    lambda n_jobs: TaskEnsembleClassifier(n_jobs=n_jobs),
    lambda n_jobs: HyperparameterWarmStart(LogisticRegression(), {"C": [0.1, 1.0]},
                                           n_episodes=1, n_jobs=n_jobs, random_state=0),
])
def test_dask_backend_gives_the_sequential_result(client, make):
    data = make_classification_tasks(n_tasks=8, n_samples_per_task=20, n_features=5,
                                     random_state=0)
    X, y = data.tasks[7]
    local = make(1).fit(data.tasks[:7]).adapt(X[:6], y[:6]).predict_proba(X)
    with parallel_config(backend="dask"):
        est = make(-1).fit(data.tasks[:7])
    assert client.run_on_scheduler(lambda dask_scheduler: True)   # the cluster is up
    np.testing.assert_allclose(est.adapt(X[:6], y[:6]).predict_proba(X), local)
