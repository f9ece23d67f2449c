"""Distributed meta-training: 2 gloo ranks launched with torch.distributed.run.

The ranks run tests/_distributed_fits.py (small MAML, Reptile and ProtoNet fits); the
test fits the same estimators in this process and compares.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

import _distributed_fits
from _distributed_fits import FITS, PER_RANK_RANDOMNESS

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="this torch has no gloo backend",
)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What each of the 2 ranks learned (a list, rank order)."""
    out = tmp_path_factory.mktemp("distributed")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node=2", str(Path(_distributed_fits.__file__)), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


@pytest.fixture(scope="module")
def single():
    """The same fits in this process alone (no process group: distributed='auto' is off)."""
    assert not dist.is_initialized()
    return {name: _distributed_fits.fit(name)[0] for name in FITS
            if name not in PER_RANK_RANDOMNESS}


@pytest.mark.parametrize("name", list(FITS))
def test_ranks_end_with_identical_meta_parameters(ranks, name):
    a, b = ranks[0][name], ranks[1][name]
    assert ranks[0]["world_size"] == 2
    assert a["n_iter"] == b["n_iter"]
    assert a["loss_curve"] == b["loss_curve"]
    assert a["validation_scores"] == b["validation_scores"]
    for k in a["params"]:
        np.testing.assert_array_equal(a["params"][k], b["params"][k])
    np.testing.assert_array_equal(a["prediction"], b["prediction"])


@pytest.mark.parametrize("name", sorted(set(FITS) - PER_RANK_RANDOMNESS))
def test_matches_the_one_process_fit(ranks, single, name):
    d, s = ranks[0][name], single[name]
    # the same early-stopping decision and history
    assert d["n_iter"] == s["n_iter"]
    np.testing.assert_allclose(d["loss_curve"], s["loss_curve"], rtol=1e-5, atol=1e-7)
    if s["validation_scores"] is not None:
        np.testing.assert_allclose(d["validation_scores"], s["validation_scores"], rtol=1e-5)
    np.testing.assert_allclose(d["prediction"], s["prediction"], rtol=1e-5, atol=1e-6)
    names = list(s["params"])
    if name == "protonet":
        # prototypical distances do not change when every embedding moves by the same
        # vector: the gradient of the last layer's bias is 0 up to rounding, and Adam
        # turns that rounding noise into steps. It is not part of what was learned.
        names.remove("net.2.bias")
    scale = max(np.abs(s["params"][k]).max() for k in names)
    for k in names:
        np.testing.assert_allclose(d["params"][k], s["params"][k], rtol=1e-5,
                                   atol=1e-5 * scale, err_msg=k)


def test_each_rank_computes_its_slice_of_the_meta_batch(ranks, single):
    # meta_batch_size=5 on 2 ranks: rank 0 embeds tasks 0, 2, 4 of every meta-batch,
    # rank 1 tasks 1, 3
    assert set(ranks[0]["protonet"]["batch_sizes"]) == {3}
    assert set(ranks[1]["protonet"]["batch_sizes"]) == {2}
    assert set(single["protonet"]["batch_sizes"]) == {5}


def test_only_rank_0_shows_a_progress_bar(ranks):
    assert "ProtoNetClassifier" in ranks[0]["protonet_stderr"]
    assert ranks[1]["protonet_stderr"] == ""


@pytest.mark.parametrize("what, shown", [("tasks", "n_tasks: rank 0: 30, rank 1: 29"),
                                         ("settings", "settings_checksum: rank 0: ")])
def test_ranks_with_different_tasks_fail_alike_instead_of_hanging(ranks, what, shown):
    for r in ranks:
        message = r["mismatched_" + what]
        assert message is not None and shown in message
        assert "same tasks and parameters" in message


def test_the_process_group_is_gone_after_destroy_process_group(ranks):
    # torch 2.13 keeps the group (and its gloo threads) alive past
    # destroy_process_group when torch.distributed._shard is first imported after
    # init_process_group (a torch optimiser's first step does it); sklearn_meta imports
    # it up front. A group left alive is torn down at interpreter exit, where it can
    # abort a rank that finished ("terminate called without an active exception").
    for r in ranks:
        threads = r["threads_after_destroy"]
        if threads is None:
            pytest.skip("no /proc/self/task on this platform")
        assert not [t for t in threads if "gloo" in t], threads


def _guide_script():
    """The torchrun script of the user guide (doc/user_guide.rst)."""
    lines = (ROOT / "doc" / "user_guide.rst").read_text().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.strip().startswith('"""Meta-train MAML on every rank'))
    block = []
    for line in lines[start:]:
        if line.strip() and not line.startswith("   "):
            break
        block.append(line[3:])
    return "\n".join(block) + "\n"


def test_the_user_guide_torchrun_script_runs_on_2_ranks(tmp_path):
    import joblib

    script = tmp_path / "train_maml.py"
    script.write_text(_guide_script())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    est = joblib.load(tmp_path / "maml_sinusoid.joblib")
    assert est.n_iter_ > 0 and np.all(np.isfinite(est.loss_curve_))


def test_distributed_true_without_a_process_group_says_what_to_do():
    make_est, make_data = FITS["reptile"]
    X, y, groups, _ = make_data()
    with pytest.raises(ValueError, match="torchrun"):
        make_est().set_params(distributed=True).fit(X, y, groups=groups)


@pytest.mark.parametrize("value", ["yes", 2, None])
def test_bad_distributed_value_is_refused(value):
    make_est, make_data = FITS["reptile"]
    X, y, groups, _ = make_data()
    with pytest.raises(ValueError, match="distributed"):
        make_est().set_params(distributed=value).fit(X, y, groups=groups)


def test_every_torch_learner_has_the_distributed_parameter():
    from test_bad_inputs import _public_estimator_classes

    from sklearn_meta._torch import _TorchMetaLearnerMixin

    found = [c for c in _public_estimator_classes() if issubclass(c, _TorchMetaLearnerMixin)]
    for cls in found:
        assert cls().get_params()["distributed"] == "auto", cls.__name__
        assert "distributed : " in cls.__doc__, cls.__name__
    assert len(found) >= 9


def test_a_process_group_of_one_rank_fits_as_one_process():
    from torch.distributed import HashStore

    make_est, make_data = FITS["maml"]
    X, y, groups, new = make_data()
    alone = make_est().fit(X, y, groups=groups).adapt(*new[:2]).predict(new[2])
    dist.init_process_group("gloo", store=HashStore(), rank=0, world_size=1)
    try:
        in_group = make_est().fit(X, y, groups=groups).adapt(*new[:2]).predict(new[2])
    finally:
        dist.destroy_process_group()
    np.testing.assert_array_equal(in_group, alone)


def test_a_rank_without_a_task_computes_one_with_weight_0():
    from sklearn_meta._nn._sampler import _EpisodeSampler

    X, y, groups, _ = FITS["reptile"][1]()
    starts = np.r_[0, np.cumsum(np.bincount(groups))]
    shares = {}
    for rank in range(4):
        sampler = _EpisodeSampler(X, y, starts, kind="regression", n_shots=2, n_queries=2,
                                  meta_batch_size=3, rng=np.random.default_rng(0))
        sampler.shard = (rank, 4)
        episodes = sampler.sample()
        shares[rank] = (sampler.share, len(episodes.tasks))
    # positions 0, 1, 2 of the 3-task meta-batch go to ranks 0, 1, 2; rank 3 computes
    # the first task and counts it for nothing
    assert shares == {0: (1 / 3, 1), 1: (1 / 3, 1), 2: (1 / 3, 1), 3: (0.0, 1)}


def test_nccl_with_a_cpu_device_is_refused(monkeypatch):
    from torch.distributed import HashStore

    from sklearn_meta._nn import _distributed

    dist.init_process_group("gloo", store=HashStore(), rank=0, world_size=1)
    try:
        monkeypatch.setattr(dist, "get_backend", lambda group=None: "nccl")
        with pytest.raises(ValueError, match="device='cuda'.*gloo"):
            _distributed._MetaBatchShard(torch.device("cpu"), "MAMLRegressor")
    finally:
        monkeypatch.undo()
        dist.destroy_process_group()
