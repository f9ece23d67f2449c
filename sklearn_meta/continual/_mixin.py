"""``partial_fit`` over a stream of task batches, with experience replay."""

import copy
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import BaseMetaEstimator, _seed
from ..tasks import as_task_arrays, is_task_sequence
from ._replay import _TaskReplayBuffer, mixed_meta_batch

__all__ = ["ContinualMixin"]


class ContinualMixin:
    """Adds :meth:`partial_fit` (continual meta-learning with replay) to a meta-learner.

    The learner provides ``_partial_meta_fit(tasks, replay, task_picker, first)``: meta-train
    ``max_iter`` iterations from its current state (from scratch when ``first``) on the
    episodes of ``tasks`` (a validated :class:`~sklearn_meta.tasks.TaskSet`) and of
    ``replay`` (a TaskSet of past tasks or None): with
    ``train, n_new = with_replay(tasks, replay)`` it sets the episode sampler's
    ``task_picker = partial(task_picker, n_new=n_new, n_total=train.n_tasks)``. It has
    the constructor parameters ``replay_buffer_size`` and ``replay_ratio``.
    """

    _parameter_constraints: dict = {
        "replay_buffer_size": [Interval(Integral, 0, None, closed="left")],
        "replay_ratio": [Interval(Real, 0, 1, closed="both")],
    }

    def fit(self, X, y=None, groups=None):
        self.__dict__.pop("replay_buffer_", None)  # a new fit starts a new stream
        return super().fit(X, y, groups=groups)

    fit.__doc__ = BaseMetaEstimator.fit.__doc__

    def partial_fit(self, X, y=None, groups=None, classes=None):
        """Continue meta-training on one more batch of tasks of a stream.

        Each call runs ``max_iter`` meta-iterations from the current meta-parameters on
        episodes of the new tasks, mixed with tasks replayed from a buffer of past tasks:
        a fraction ``replay_ratio`` of every meta-batch comes from the buffer, which
        keeps a uniform sample of ``replay_buffer_size`` tasks of the whole stream
        (reservoir sampling). This protects what was learned on earlier tasks from being
        forgotten when the task distribution drifts. ``replay_buffer_size=0`` trains on
        the new tasks only. Early stopping is not used by ``partial_fit``.

        Parameters
        ----------
        X : sequence of (X, y) pairs, or array-like of shape (n_rows, n_features)
            The new tasks, in any input form of :meth:`fit`.
        y : array-like of shape (n_rows,), default=None
            Targets of all rows; omitted when ``X`` is a list of tasks.
        groups : array-like of shape (n_rows,), default=None
            The task id of every row.
        classes : array-like, default=None
            Classifiers: all labels the stream will use, needed on the first call only
            when tasks share one label set and later batches bring labels the first one
            lacks.

        Returns
        -------
        self : object
            The estimator, meta-trained on the stream so far.
        """
        self._validate_params()
        first = not hasattr(self, "n_features_in_")
        if first:
            tasks = self._validate_tasks(X, y, groups)
            if classes is not None and self._is_classifier():
                tasks = self._with_classes(tasks, np.union1d(self.meta_classes_, classes))
        else:
            tasks = self._validate_more_tasks(X, y, groups)
        buffer = getattr(self, "replay_buffer_", None)
        if buffer is None:
            buffer = _TaskReplayBuffer(self.replay_buffer_size, _seed(self.random_state))
        replay = buffer.as_taskset(tasks.label_space) if self.replay_ratio > 0 else None
        picker = partial(mixed_meta_batch, batch_size=self.meta_batch_size,
                         ratio=self.replay_ratio)
        self.__dict__.pop("adapted_", None)
        self._partial_meta_fit(tasks, replay, picker, first)
        buffer.add(tasks)
        self.replay_buffer_ = buffer
        return self

    # -- validation of later batches ---------------------------------------------------
    def _validate_more_tasks(self, X, y, groups):
        check_is_fitted(self)
        if is_task_sequence(X, y):
            if groups is not None:
                raise ValueError(
                    "groups was given with a list of (X, y) tasks; pass either a list "
                    "of tasks or flat X, y with groups."
                )
            X, y, groups = as_task_arrays(X)
        # the same columns (and names) as the first batch
        validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False)
        helper = copy.copy(self)
        if self._is_classifier():
            helper.label_space = self._label_space_
        tasks = helper._validate_tasks(X, y, groups)
        if not self._is_classifier():
            return tasks
        if self._label_space_ == "per_task":
            self.meta_classes_ = np.union1d(self.meta_classes_, helper.meta_classes_)
            return tasks
        unknown = np.setdiff1d(helper.meta_classes_, self.meta_classes_)
        if unknown.size:
            raise ValueError(
                f"partial_fit got label(s) {unknown.tolist()} not seen before (classes "
                f"{self.meta_classes_.tolist()}); with one label set shared by all tasks, "
                "pass every label of the stream on the first call (classes=...), or use "
                "label_space='per_task'."
            )
        tasks.y = np.searchsorted(self.meta_classes_, helper.meta_classes_[tasks.y])
        tasks.classes = [self.meta_classes_] * tasks.n_tasks
        return tasks

    def _with_classes(self, tasks, classes):
        """Re-encode shared-label tasks into the label set ``classes``."""
        old = self.meta_classes_
        self.meta_classes_ = classes
        if tasks.label_space == "shared":
            tasks.y = np.searchsorted(classes, old[tasks.y])
            tasks.classes = [classes] * tasks.n_tasks
        return tasks
