"""The learners the ``benchmark`` command knows, by short name.

Each entry names the classes it builds (looked up by class name in the
package's family modules when the command runs), so learners that land in
the package later are picked up without changing the command. An entry
whose class is absent is listed as unavailable by ``--list-learners``.

Settings are chosen to keep the default run (every default learner, three
shot counts, on the bundled churn data) under three minutes on two CPU
cores; a setting is applied only when the learner has that parameter.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field

from ._data import CLIError

#: Family subpackages of sklearn_meta searched for a learner's class.
FAMILY_MODULES = (
    "baselines", "gradient", "metric", "model_based", "ensemble", "prior",
    "selection", "continual", "mixed_effects",
)

#: Settings of the torch learners: a small network, a short meta-training.
_TORCH = {
    "hidden_layer_sizes": (32, 32),
    "max_iter": 300,
    "meta_batch_size": 8,
    "inner_steps": 1,
    "early_stopping": False,
}


@dataclass(frozen=True)
class Learner:
    """One entry of the registry.

    Attributes
    ----------
    name : str
        The short name used on the command line.
    family : str
        The meta-learning family (as in the design document).
    classifier, regressor : str or None
        Class names built for classification and regression tasks.
    params : dict
        Settings applied when the class has those parameters.
    default : bool
        Whether the entry is run when ``--learners`` is not given.
    build : callable or None
        ``build(cls, task_type)`` returning the estimator; ``cls()`` when None.
    summary : str
        One line for ``--list-learners``.
    """

    name: str
    family: str
    classifier: str | None
    regressor: str | None
    summary: str
    params: dict = field(default_factory=dict)
    default: bool = True
    build: object = None

    def class_name(self, task_type):
        return self.classifier if task_type == "classification" else self.regressor


def _per_task(cls, task_type):
    from sklearn.linear_model import LogisticRegression, Ridge

    inner = LogisticRegression() if task_type == "classification" else Ridge()
    return cls(inner)


def _hgb(task_type):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task_type == "classification":
        return HistGradientBoostingClassifier(max_iter=100)
    return HistGradientBoostingRegressor(max_iter=100)


def _pooled(cls, task_type):
    return cls(_hgb(task_type))


def _pooled_refit(cls, task_type):
    return _pooled(cls, task_type).set_params(refit=True, support_weight=5)


def _heterogeneous_residual(cls, task_type):
    return cls(base_estimator=_hgb(task_type))


def _first_order(cls, task_type):
    return cls(first_order=True)


def _warm_start(cls, task_type):
    from sklearn.linear_model import LogisticRegression, Ridge

    if task_type == "classification":
        return cls(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0, 100.0]})
    return cls(Ridge(), {"alpha": [0.01, 0.1, 1.0, 10.0, 100.0]})


def _algorithm_selector(cls, task_type):
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    if task_type == "classification":
        return cls([LogisticRegression(), GaussianNB(), KNeighborsClassifier(n_neighbors=1),
                    DummyClassifier()])
    return cls([Ridge(), KNeighborsRegressor(n_neighbors=1), DummyRegressor()])


REGISTRY = (
    Learner("per-task", "baseline", "PerTaskEstimator", "PerTaskEstimator",
            "LogisticRegression / Ridge fitted on the support set only",
            build=_per_task),
    Learner("pooled", "baseline", "PooledEstimator", "PooledEstimator",
            "one HistGradientBoosting model fitted on all training tasks' rows",
            build=_pooled),
    Learner("pooled-refit", "baseline", "PooledEstimator", "PooledEstimator",
            "the pooled HistGradientBoosting model refitted with the support rows "
            "(weight 5)", build=_pooled_refit, default=False),
    Learner("mixed-effects", "mixed effects", "MixedEffectsClassifier",
            "MixedEffectsRegressor",
            "pooled HistGradientBoosting plus per-task random effects with a learned prior"),
    Learner("finetune", "baseline", "FineTuneClassifier", "FineTuneRegressor",
            "MLP pretrained on the pooled tasks, fine-tuned on the support set",
            params=_TORCH, default=False),
    Learner("maml", "gradient", "MAMLClassifier", "MAMLRegressor",
            "MAML (second order)", params=_TORCH),
    Learner("fomaml", "gradient", "MAMLClassifier", "MAMLRegressor",
            "first-order MAML", params=_TORCH, default=False, build=_first_order),
    Learner("metasgd", "gradient", "MetaSGDClassifier", "MetaSGDRegressor",
            "Meta-SGD (learned per-parameter inner learning rates)",
            params=_TORCH, default=False),
    Learner("anil", "gradient", "ANILClassifier", "ANILRegressor",
            "ANIL (only the head adapts)", params=_TORCH, default=False),
    Learner("reptile", "gradient", "ReptileClassifier", "ReptileRegressor",
            "Reptile", params=_TORCH, default=False),
    Learner("protonet", "metric", "ProtoNetClassifier", None,
            "prototypical network", params=_TORCH),
    Learner("neural-process", "model-based", "NeuralProcessClassifier",
            "NeuralProcessRegressor",
            "neural-process in-context learner (adapts in one forward pass)",
            params=_TORCH),
    Learner("heterogeneous-np", "model-based", "HeterogeneousNeuralProcessClassifier",
            "HeterogeneousNeuralProcessRegressor",
            "neural process over (column, value) cells: tasks with different columns "
            "(base_estimator='auto': alone or over pooled HGB, chosen on held-out "
            "training tasks)", params={"max_iter": 300}, default=False),
    Learner("heterogeneous-np-plain", "model-based",
            "HeterogeneousNeuralProcessClassifier", "HeterogeneousNeuralProcessRegressor",
            "heterogeneous-np, the network alone (base_estimator=None)",
            params={"max_iter": 300, "base_estimator": None}, default=False),
    Learner("heterogeneous-np-residual", "model-based",
            "HeterogeneousNeuralProcessClassifier", "HeterogeneousNeuralProcessRegressor",
            "heterogeneous-np over a pooled HistGradientBoosting model (residual mode)",
            params={"max_iter": 300}, default=False, build=_heterogeneous_residual),
    Learner("task-ensemble", "model fusion", "TaskEnsembleClassifier",
            "TaskEnsembleRegressor",
            "per-task experts weighted on the support set"),
    Learner("moe", "model fusion", "MixtureOfExpertsClassifier",
            "MixtureOfExpertsRegressor", "mixture of experts with a learned gate",
            default=False),
    Learner("meta-prior", "meta-parameter", "MetaPriorLogisticRegression",
            "MetaPriorRidge", "linear model shrunk toward a prior learned from the tasks"),
    Learner("hp-warmstart", "meta-parameter", "HyperparameterWarmStart",
            "HyperparameterWarmStart",
            "LogisticRegression C / Ridge alpha chosen from similar training tasks",
            default=False, build=_warm_start),
    Learner("algo-select", "meta-knowledge", "AlgorithmSelector", "AlgorithmSelector",
            "picks logistic/ridge, naive Bayes, 1-NN or a constant from task "
            "meta-features", build=_algorithm_selector),
)

_BY_NAME = {learner.name: learner for learner in REGISTRY}


def _find_class(name):
    """The class called ``name`` in one of the family modules, or None."""
    for module in FAMILY_MODULES:
        try:
            mod = importlib.import_module(f"sklearn_meta.{module}")
        except ImportError:
            continue
        cls = getattr(mod, name, None)
        if inspect.isclass(cls):
            return cls
    return None


def availability(learner, task_type):
    """``(cls, None)`` when ``learner`` runs on ``task_type``, else ``(None, why)``."""
    class_name = learner.class_name(task_type)
    if class_name is None:
        return None, f"no {task_type} version"
    cls = _find_class(class_name)
    if cls is None:
        return None, f"{class_name} is not in this installation"
    return cls, None


def make_learner(learner, task_type, *, random_state=None, device=None, n_jobs=None,
                 scoring=None):
    """Build the estimator of a registry entry for ``task_type``.

    The entry's settings, ``random_state``, ``device``, ``n_jobs`` and
    ``scoring`` (the benchmark's metric, for learners that choose among
    models by a score) are applied where the estimator has those parameters.
    """
    cls, why = availability(learner, task_type)
    if cls is None:
        raise CLIError(f"--learners: '{learner.name}' is not available: {why}.")
    est = learner.build(cls, task_type) if learner.build else cls()
    wanted = {**learner.params, "random_state": random_state, "verbose": 0}
    if device is not None:
        wanted["device"] = device
    if n_jobs is not None:
        wanted["n_jobs"] = n_jobs
    if scoring is not None:
        wanted["scoring"] = scoring
    accepted = est.get_params(deep=False)
    est.set_params(**{k: v for k, v in wanted.items() if k in accepted})
    return est


def select_learners(names, task_type):
    """The registry entries to run: ``names``, "all", or the defaults.

    Raises
    ------
    CLIError
        For an unknown name, or a learner unavailable for ``task_type``.
    """
    if not names:
        chosen = [lrn for lrn in REGISTRY if lrn.default
                  and availability(lrn, task_type)[0] is not None]
        if not chosen:  # pragma: no cover - the baselines are always there
            raise CLIError(f"no learner is available for {task_type}.")
        return chosen
    if list(names) == ["all"]:
        return [lrn for lrn in REGISTRY if availability(lrn, task_type)[0] is not None]
    unknown = [n for n in names if n not in _BY_NAME]
    if unknown:
        raise CLIError(
            f"--learners: unknown learner(s) {unknown}; choose from "
            f"{[lrn.name for lrn in REGISTRY]} or 'all' (see --list-learners)."
        )
    chosen = []
    for n in dict.fromkeys(names):
        learner = _BY_NAME[n]
        _, why = availability(learner, task_type)
        if why is not None:
            raise CLIError(
                f"--learners: '{n}' cannot run on this {task_type} benchmark: {why}. "
                "See --list-learners."
            )
        chosen.append(learner)
    return chosen


def format_learner_list():
    """The table printed by ``--list-learners``."""
    head = ("name", "family", "classification", "regression", "default")
    rows = []
    for lrn in REGISTRY:
        cells = []
        for task_type in ("classification", "regression"):
            cls, why = availability(lrn, task_type)
            name = lrn.class_name(task_type)
            cells.append("-" if name is None else name if cls else f"({name}: missing)")
        rows.append((lrn.name, lrn.family, *cells, "yes" if lrn.default else ""))
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("")
    lines += [f"{lrn.name:<{widths[0]}}  {lrn.summary}" for lrn in REGISTRY]
    lines.append("")
    lines.append(
        "'(X: missing)' marks a learner whose class this installation lacks. "
        "Default: the entries marked 'yes' that are available."
    )
    return "\n".join(lines)


def family_of(name):
    """The family of the registry entry ``name``."""
    return _BY_NAME[name].family
