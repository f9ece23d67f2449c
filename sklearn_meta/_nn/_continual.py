"""What ``partial_fit`` (continual meta-learning) needs beyond the trainer: the
validation of a later batch of the stream against the first one."""

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ..tasks import _is_task_sequence, as_task_arrays

__all__ = []  # private


def _validate_more_tasks(self, X, y, groups):
    """The TaskSet of a later ``partial_fit`` batch, in the first batch's columns and
    label encoding (``self``: the estimator)."""
    check_is_fitted(self)
    task_list = _is_task_sequence(X, y)
    if task_list:
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
    tasks = helper._validate_tasks(X, y, groups, task_list=task_list)
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
    """Re-encode shared-label tasks into the label set ``classes`` (``self``: the
    estimator, whose ``meta_classes_`` becomes ``classes``)."""
    old = self.meta_classes_
    self.meta_classes_ = classes
    if tasks.label_space == "shared":
        tasks.y = np.searchsorted(classes, old[tasks.y])
        tasks.classes = [classes] * tasks.n_tasks
    return tasks
