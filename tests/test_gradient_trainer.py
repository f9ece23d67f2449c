"""The reusable meta-training loop of the torch learners (sklearn_meta._torch)."""

import pickle

import warnings

import numpy as np
import pytest
import torch

from sklearn_meta._torch import _resolve_device, _TorchMetaLearnerMixin


class _Loop(_TorchMetaLearnerMixin):
    def __init__(self, **kw):
        params = dict(meta_lr=0.1, max_iter=50, early_stopping=True, validation_interval=5,
                      n_iter_no_change=100, tol=0.0, lr_schedule="constant", device="cpu",
                      verbose=0, warm_start=False)
        params.update(kw)
        self.__dict__.update(params)


def _quadratic_step(p):
    def step(it):
        loss = ((p - 3.0) ** 2).sum()
        return loss, None
    return step


def test_early_stopping_restores_the_best_checked_parameters():
    p = torch.zeros(2, requires_grad=True)
    seen = []
    scores = iter([0.1, 0.5, 0.9, 0.3, 0.2, 0.8, 0.1, 0.0, 0.4, 0.2])

    def score():
        seen.append(p.detach().clone())
        return next(scores)

    loop = _Loop()
    loop._train_loop([p], _quadratic_step(p), score)
    assert loop.validation_scores_ == [0.1, 0.5, 0.9, 0.3, 0.2, 0.8, 0.1, 0.0, 0.4, 0.2]
    assert loop.best_validation_score_ == 0.9
    assert torch.equal(p.detach(), seen[2])  # parameters of the best check, not the last
    assert loop.n_iter_ == 50 and len(loop.loss_curve_) == 50


def test_stops_after_n_iter_no_change_and_plateau_lowers_lr():
    p = torch.zeros(1, requires_grad=True)
    loop = _Loop(n_iter_no_change=2, lr_schedule="plateau", max_iter=500, tol=1e-4)
    loop._train_loop([p], _quadratic_step(p), lambda: 0.5)
    assert loop.n_iter_ == 5 * 3  # first check sets the best, two more without change


def test_tol_zero_never_stops_and_noisy_training_loss_never_stops():
    p = torch.zeros(1, requires_grad=True)
    loop = _Loop(n_iter_no_change=2, max_iter=100, tol=0.0)
    loop._train_loop([p], _quadratic_step(p), lambda: 0.5)
    assert loop.n_iter_ == 100  # tol=0: never stop on tol
    rng = np.random.default_rng(0)

    def noisy(it):  # a stochastic loss on a plateau: training must run max_iter
        return ((p - 3.0) ** 2).sum() * 0 + float(rng.random()), None

    loop = _Loop(early_stopping=False, n_iter_no_change=2, max_iter=200, tol=1e-2)
    loop._train_loop([p], noisy)
    assert loop.n_iter_ == 200


def test_divergence_from_the_first_iteration_is_detected():
    """A loss that is 1e10 from iteration 1 on: the first loss is no sane reference."""
    p = torch.zeros(1, requires_grad=True)

    def step(it):
        return ((p - 3.0) ** 2).sum() + 1e10, None

    loop = _Loop(early_stopping=False, max_iter=40)
    with pytest.warns(RuntimeWarning, match="diverged at iteration 1 "):
        loop._train_loop([p], step, reference=1.0)
    assert loop.n_iter_ == 0 and torch.equal(p.detach(), torch.zeros(1))


def test_keyboard_interrupt_keeps_best_parameters_and_warns():
    p = torch.zeros(2, requires_grad=True)
    seen = []
    scores = iter([0.1, 0.9, 0.3])

    def score():
        seen.append(p.detach().clone())
        return next(scores)

    def step(it):
        if it == 17:
            raise KeyboardInterrupt
        return ((p - 3.0) ** 2).sum(), None

    loop = _Loop(max_iter=50)
    with pytest.warns(UserWarning, match="interrupted after 17 meta-iterations"):
        loop._train_loop([p], step, score)
    assert loop.n_iter_ == 17 and len(loop.loss_curve_) == 17
    assert loop.validation_scores_ == [0.1, 0.9, 0.3]
    assert torch.equal(p.detach(), seen[1])


def test_divergence_stops_keeps_best_and_names_iteration():
    p = torch.zeros(1, requires_grad=True)

    def step(it):
        loss = ((p - 3.0) ** 2).sum()
        return (loss * float("nan") if it == 12 else loss), None

    loop = _Loop(early_stopping=False)
    with pytest.warns(RuntimeWarning, match="diverged at iteration 13"):
        loop._train_loop([p], step)
    assert loop.n_iter_ == 12 and len(loop.loss_curve_) == 12
    assert torch.isfinite(p).all()
    assert np.isfinite(loop.loss_curve_).all()


def test_exploding_finite_loss_counts_as_divergence():
    """A finite loss 1e4 times its start stops training like a NaN: no garbage model."""
    p = torch.zeros(1, requires_grad=True)
    seen = []

    def step(it):
        seen.append(p.detach().clone())
        loss = ((p - 3.0) ** 2).sum() + 1.0
        return (loss * 1e6 if it >= 25 else loss), None

    loop = _Loop(early_stopping=False, max_iter=100)
    with pytest.warns(RuntimeWarning, match="diverged at iteration 26"):
        loop._train_loop([p], step)
    assert loop.n_iter_ == 25 and len(loop.loss_curve_) == 25
    # the parameters after the interval (5 iterations) of lowest mean loss are restored
    means = np.asarray(loop.loss_curve_).reshape(5, 5).mean(1)
    assert torch.equal(p.detach(), seen[5 * (int(np.argmin(means)) + 1)])


def test_large_but_steady_losses_are_not_divergence():
    p = torch.zeros(1, requires_grad=True)

    def step(it):  # a loss in large units that falls: nothing to flag
        return ((p - 3.0) ** 2).sum() * 1e9 + 1e9, None

    loop = _Loop(early_stopping=False, max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loop._train_loop([p], step)
    assert loop.n_iter_ == 60


def test_pseudo_gradient_and_warm_start():
    p = torch.zeros(1, requires_grad=True)
    loop = _Loop(early_stopping=False, max_iter=10)

    def step(it):  # a Reptile-style update: the gradient is given, not backpropagated
        return torch.tensor(1.0), [torch.ones(1)]

    loop._train_loop([p], step)
    assert float(p.detach()) < 0  # Adam moved against the given gradient
    loop.warm_start = True
    loop._train_loop([p], step)
    assert loop.n_iter_ == 20 and len(loop.loss_curve_) == 20


def test_resolve_device():
    assert _resolve_device("cpu") == torch.device("cpu")
    assert _resolve_device("auto").type in {"cpu", "cuda"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            _resolve_device("cuda")


def test_getstate_drops_nothing_but_caches():
    loop = _Loop()
    loop.params_ = {"w": torch.ones(2)}
    loop._device_params()
    state = pickle.loads(pickle.dumps(loop)).__dict__
    assert set(state) == set(loop.__dict__)


def test_callback_hooks_between_backward_and_step_and_on_validation():
    from sklearn_meta._nn._trainer import Callback

    p = torch.zeros(1, requires_grad=True)
    grads_seen = []

    class Halve(Callback):  # what a meta-gradient all-reduce does: rewrite p.grad
        def on_grads(self, trainer):
            grads_seen.append(float(trainer.params[0].grad))
            trainer.params[0].grad.mul_(0.0)
            trainer.loss = trainer.loss * 0 + 7.0

        def on_validation(self, trainer, value):
            return value + 1.0

    class Loop(_Loop):
        def _callbacks(self, desc, reference=None, shard=None):
            return super()._callbacks(desc, reference, shard) + [Halve()]

    loop = Loop(max_iter=10)
    loop._train_loop([p], _quadratic_step(p), lambda: 0.5)
    assert grads_seen[0] == -6.0 and torch.equal(p.detach(), torch.zeros(1))
    assert loop.loss_curve_ == [7.0] * 10 and loop.validation_scores_ == [1.5, 1.5]


def _spiky_step(p, spikes, seen):
    def step(it):
        seen.append(p.detach().clone())
        loss = ((p - 3.0) ** 2).sum() + 1.0
        return (loss * 1e6 if it in spikes else loss), None

    return step


def test_single_exploded_meta_batch_is_skipped_and_counted():
    """One meta-batch whose inner loop blew up (finite loss 1e6 times the others): its
    optimizer step is skipped, training runs on, one warning counts the skips."""
    p = torch.zeros(1, requires_grad=True)
    seen = []
    loop = _Loop(early_stopping=False, max_iter=50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop._train_loop([p], _spiky_step(p, {12, 30, 31}, seen), reference=10.0)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert messages[0].startswith("3 of 50 meta-batches skipped: the inner loop blew up")
    assert loop.n_iter_ == 50 and len(loop.loss_curve_) == 50
    # no step on the exploded meta-batches: the parameters after them are the ones before
    assert torch.equal(seen[13], seen[12]) and torch.equal(seen[32], seen[30])
    assert not torch.equal(seen[12], seen[11])
    assert abs(float(p.detach()) - 3.0) < 0.5  # and training went on to a good model


def test_exploded_meta_batches_in_a_row_are_divergence_across_checks():
    """Three exploded meta-batches in a row (iterations 9-11, over a check at 10) stop
    training at the first of them, as if the run had stopped there."""
    p = torch.zeros(1, requires_grad=True)
    seen = []
    loop = _Loop(early_stopping=False, max_iter=50)
    with pytest.warns(RuntimeWarning, match="diverged at iteration 9 ") as rec:
        loop._train_loop([p], _spiky_step(p, {8, 9, 10}, seen), reference=10.0)
    assert not [w for w in rec if "skipped" in str(w.message)]
    assert loop.n_iter_ == 8 and len(loop.loss_curve_) == 8
    assert np.max(loop.loss_curve_) < 100
    assert torch.isfinite(p).all() and len(seen) == 11


def test_maml_inner_loop_spike_is_skipped_not_divergence():
    """make_sinusoid_tasks: one meta-batch's inner loop blows up (random_state=12 with
    the chunked episode stream: loss 1.9e34 at iteration 12, 23 at 13): skipped and
    counted, the run goes on to max_iter."""
    from sklearn_meta.datasets import make_sinusoid_tasks
    from sklearn_meta.gradient import MAMLRegressor

    d = make_sinusoid_tasks(n_tasks=30, random_state=0)
    est = MAMLRegressor(hidden_layer_sizes=(16,), meta_batch_size=5, max_iter=20,
                        random_state=12)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(d.X, d.y, groups=d.groups)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "diverged" in m], messages
    assert any(m.startswith("1 of 20 meta-batches skipped") for m in messages), messages
    assert est.n_iter_ == 20 and np.max(est.loss_curve_) > 1e8
