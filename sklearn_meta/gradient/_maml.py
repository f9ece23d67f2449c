"""MAML (Finn et al., 2017), second and first order, on the gradient engine."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import CLASSIFIER_CONSTRAINTS, REGRESSOR_CONSTRAINTS, _GradientMetaLearner
from ..utils._params import make_init
from ._params import MAML_CLASSIFIER, MAML_REGRESSOR, PARAMS

__all__ = ["MAMLClassifier", "MAMLRegressor"]


@fill_doc(**PARAMS)
class MAMLClassifier(_GradientMetaLearner, BaseMetaClassifier):
    """Model-agnostic meta-learning (MAML) for classification.

    Meta-learns initial network weights from which ``inner_steps`` gradient steps on a new
    task's support set give a good model of that task: the meta-gradient of the query loss
    after adaptation is backpropagated through the inner steps (second order), or only
    through their end point with ``first_order=True`` [1]_. The tasks of a meta-batch are
    processed together (batched matrix products for the default MLP, ``torch.func.vmap``
    for a custom ``module``). ``adapt`` runs ``adapt_steps`` steps from the meta-learned
    weights on the support set; the meta-learned weights themselves never change.

    Parameters
    ----------
    %(maml_classifier_params)s

    Attributes
    ----------
    %(classifier_attributes)s

    See Also
    --------
    MetaSGDClassifier : MAML with learned per-parameter inner learning rates.
    ANILClassifier : MAML adapting only the last layer.
    ReptileClassifier : First-order meta-learning without query gradients.
    FineTuneClassifier : Pretrain on pooled tasks, fine-tune on the support set.

    References
    ----------
    .. [1] C. Finn, P. Abbeel and S. Levine, "Model-Agnostic Meta-Learning for Fast
       Adaptation of Deep Networks", ICML 2017.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.gradient import MAMLClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_features=5, random_state=0)
    >>> est = MAMLClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:10], y_new[:10]).predict(X_new[10:]).shape
    (30,)
    """

    _parameter_constraints = CLASSIFIER_CONSTRAINTS

    __init__ = make_init(MAML_CLASSIFIER)


@fill_doc(**PARAMS)
class MAMLRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Model-agnostic meta-learning (MAML) for regression.

    :class:`MAMLClassifier`'s algorithm and parameters, with the squared error as the
    loss and one output.

    Parameters
    ----------
    %(maml_regressor_params)s

    Attributes
    ----------
    %(regressor_attributes)s

    See Also
    --------
    MAMLClassifier : The classification counterpart, with the reference.
    ReptileRegressor : First-order meta-learning without query gradients.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import MAMLRegressor
    >>> data = make_sinusoid_tasks(n_tasks=20, random_state=0)
    >>> est = MAMLRegressor(inner_lr=0.01, inner_steps=1, max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:5], y_new[:5]).predict(X_new[5:]).shape
    (15,)
    """

    _parameter_constraints = REGRESSOR_CONSTRAINTS

    __init__ = make_init(MAML_REGRESSOR)
