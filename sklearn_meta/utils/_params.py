"""The one way the project's estimators declare their constructor parameters.

scikit-learn reads an estimator's parameters from the signature of its ``__init__``, which
must store every argument unchanged, under its own name, and do nothing else. The public
estimators share groups of parameters (the training loop of the torch learners, their
network, their episodes, the label setting), so each group is written once, as a dict of
``name -> default`` in signature order, and :func:`make_init` turns a class's dict into its
``__init__``::

    class MyLearner(BaseMetaRegressor):
        __init__ = make_init({"estimator": REQUIRED, "n_shots": 5}, positional=1)

The result is an ordinary scikit-learn constructor: ``inspect.signature`` (hence
``get_params``, ``clone``, the ``repr`` and Sphinx) sees the named parameters with their
defaults, a wrong name or a missing required argument raises a ``TypeError`` naming the
class and its parameters, and the body only stores the arguments.
"""

import inspect

__all__ = ["REQUIRED", "make_init"]

#: Default of a parameter the caller must pass (e.g. a wrapped ``estimator``).
REQUIRED = inspect.Parameter.empty


def make_init(params, *, positional=0):
    """An ``__init__`` taking ``params`` (``{name: default}``) and storing each one.

    Parameters
    ----------
    params : dict of str to object
        The parameters in signature order with their defaults (:data:`REQUIRED` for
        none). Build a class's dict from shared groups with ``{**GROUP, "name": value}``;
        a later key overrides an earlier default and keeps its place.
    positional : int, default=0
        How many leading parameters may also be passed by position (scikit-learn passes
        a wrapped estimator so); the others are keyword-only.

    Returns
    -------
    __init__ : function
        The constructor, with the matching ``__signature__``.
    """
    items = list(dict(params).items())
    kind = inspect.Parameter
    signature = inspect.Signature(
        [kind("self", kind.POSITIONAL_OR_KEYWORD)]
        + [kind(name, kind.POSITIONAL_OR_KEYWORD if i < positional else kind.KEYWORD_ONLY,
                default=default) for i, (name, default) in enumerate(items)])
    names = [name for name, _ in items]

    def __init__(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as exc:  # name the class, as Python's own message does
            raise TypeError(f"{type(self).__name__}(): {exc}; its parameters are "
                            f"{', '.join(names)}") from None
        bound.apply_defaults()
        for name in names:
            setattr(self, name, bound.arguments[name])

    __init__.__signature__ = signature
    __init__.__doc__ = "Store the parameters (see the class docstring)."
    return __init__
