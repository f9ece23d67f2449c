"""The ``benchmark`` subcommand: a few-shot leaderboard of the suite's learners."""

from __future__ import annotations

import math
import os
import platform
import sys
import time
import warnings

import numpy as np

from . import _data, _learners, _report
from ..display import _records
from ._data import CLIError

#: Shot counts when --shots is not given (tasks too small for one are skipped there).
DEFAULT_SHOTS = (1, 5, 10)


def load_dataset(args):
    """The benchmark's data: the user's CSV, or the bundled churn tasks."""
    if args.data is None:
        if args.target or args.group:
            raise CLIError("--target and --group need --data FILE.csv.")
        from ..datasets import load_churn

        bunch = load_churn(as_frame=False)
        X = np.asarray(bunch.X, dtype=np.float64)
        labels = np.asarray(bunch.target_names, dtype=object)
        ds = _data.Dataset(
            name="churn by state (bundled: modeldata mlc_churn, one task per US state)",
            X=X, y=labels[np.asarray(bunch.y, dtype=np.int64)],
            groups=np.asarray(bunch.groups, dtype=object), task_type="classification",
            feature_names=list(bunch.feature_names),
        )
        if args.task_type == "regression":
            raise CLIError("--task-type regression: the bundled churn data is classification.")
        return ds
    if not args.target or not args.group:
        missing = [o for o, v in (("--target", args.target), ("--group", args.group)) if not v]
        raise CLIError(f"--data needs {' and '.join(missing)}: name the target column and "
                       "the column holding the task id of every row.")
    table = _data.read_csv(args.data, sep=args.sep, decimal=args.decimal)
    return _data.dataset_from_table(
        table, target=args.target, group=args.group, task_type=args.task_type,
        drop=args.drop or (), name=os.path.basename(str(args.data)),
    )


def _default_scoring(ds):
    if ds.task_type == "regression":
        # over the pooled query rows: stable on small query sets (per-episode R^2 is not)
        return "neg_mean_squared_error"
    y = ds.y.astype(str) if ds.y.dtype == object else ds.y
    return "roc_auc" if np.unique(y).size == 2 else "accuracy"


def _check_scoring(scoring):
    from sklearn.metrics import get_scorer

    try:
        get_scorer(scoring)
    except ValueError:
        raise CLIError(
            f"--scoring: '{scoring}' is not a scikit-learn scorer name; see "
            "sklearn.metrics.get_scorer_names() (e.g. accuracy, roc_auc, "
            "balanced_accuracy, r2, neg_mean_absolute_error)."
        ) from None


def _split(ds, test_size, seed):
    """Hold out whole tasks: (train, test) as (X, y, groups) tuples."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    tr, te = next(splitter.split(ds.X, ds.y, ds.groups))
    return ((ds.X[tr], ds.y[tr], ds.groups[tr]), (ds.X[te], ds.y[te], ds.groups[te]))


def _make_model(pre, est):
    from sklearn.base import clone

    from ..pipeline import make_pipeline

    pre = clone(pre)
    if getattr(est, "_reads_absent_columns", False) and any(
            name == "numeric" for name, _, _ in pre.transformers):
        # a learner that tells a column a task lacks from a missing value (the
        # heterogeneous neural process): numeric NaN is kept (StandardScaler passes it
        # through), so a column missing on every row of a task stays absent there
        pre.set_params(numeric__simpleimputer="passthrough")
    return make_pipeline(pre, est)


def _versions():
    import sklearn

    from .. import __version__

    out = {"sklearn_meta": __version__, "scikit-learn": sklearn.__version__,
           "numpy": np.__version__, "python": platform.python_version()}
    try:
        import torch

        out["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    return out


def _say(args, msg=""):
    if not args.quiet:
        print(msg, file=sys.stdout, flush=True)


def _evaluate(models, shots, pre, train, test, args, scoring, bar):
    """evaluate_few_shot per learner and shot count, then the paired statistics.

    Returns ``(rows, failures, caught)``: one row per learner and shot count with the
    statistics of :func:`sklearn_meta.model_selection.evaluate_few_shot` (the paired
    differences to the best baseline computed over all learners), the learners that
    failed, and ``(learner, warning)`` pairs.
    """
    from ..model_selection import _summarise, evaluate_few_shot

    rows, failures, caught, scores, episodes = [], {}, [], {}, {}
    for name, est in models.items():
        for k in shots:
            bar.set_postfix_str(f"{name}, {k} shot{'s' if k != 1 else ''}")
            model = _make_model(pre, est)
            model.set_params(**{f"{model.steps[-1][0]}__n_shots": k})
            try:
                with warnings.catch_warnings(record=True) as record:
                    warnings.simplefilter("always")
                    res = evaluate_few_shot(
                        {name: model}, train, test, n_shots=[k], n_episodes=args.episodes,
                        scoring=scoring, support=args.support, random_state=args.seed)
                caught.extend((name, w) for w in record)
            except Exception as exc:  # noqa: BLE001 - one learner's failure is reported
                caught.extend((name, w) for w in record)
                failures[name] = f"{type(exc).__name__}: {exc}"
                bar.update(len(shots) - shots.index(k))
                break
            scores[(name, k)] = res.attrs["scores"][(name, k)]
            episodes[k] = res.attrs["episodes"][k]
            for r in _records(res):
                r.update(learner=name, family=_learners.family_of(name),
                         estimator_class=type(est).__name__,
                         baseline=_learners.family_of(name) == "baseline")
                rows.append(r)
            bar.update(1)
    # a learner that failed at a later shot count is left out at every shot count
    rows = [r for r in rows if r["learner"] not in failures]
    _summarise(rows, scores, episodes, seed=args.seed)
    for r in rows:
        r["reference_class"] = models[r["reference"]].__class__.__name__ \
            if r.get("reference") in models else None
    return rows, failures, caught


class _Threads:
    """Limit BLAS, OpenMP and torch to ``n`` threads during the run, then restore.

    The learners' problems are small (support sets of a few rows, small
    networks): extra threads bring little and, on a busy machine, cost far
    more than they bring (measured: ProtoNet's meta-training took 14x the
    CPU time with 2 threads than with 1 on a loaded 2-core machine).
    """

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=self.n)
        self._torch = sys.modules.get("torch")
        if self._torch is not None:
            self._torch_threads = self._torch.get_num_threads()
            self._torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self._torch is not None:
            self._torch.set_num_threads(self._torch_threads)
        self._limits.restore_original_limits()
        return False


def run(args):
    """Run the benchmark described by the parsed ``args``; return the exit code."""
    if args.list_learners:
        print(_learners.format_learner_list())
        return 0
    start = time.perf_counter()
    if args.threads < 1:
        raise CLIError(f"--threads {args.threads}: must be at least 1.")
    if args.episodes < 1:
        raise CLIError(f"--episodes {args.episodes}: must be at least 1.")
    if args.jobs is not None and args.jobs == 0:
        raise CLIError("--jobs 0: give the number of parallel jobs (1 or more), or -1 for "
                       "all cores.")
    if not 0 < args.test_size < 1:
        raise CLIError(f"--test-size {args.test_size:g}: must be a fraction between 0 and 1 "
                       "(the share of tasks held out for evaluation).")
    if args.shots is not None and min(args.shots) < 1:
        raise CLIError(f"--shots {' '.join(map(str, args.shots))}: shot counts must be >= 1.")
    ds = load_dataset(args)
    shots = sorted(set(args.shots or DEFAULT_SHOTS))
    ds = _data.check_tasks(ds, test_size=args.test_size)
    if args.drop_small_tasks:
        ds.notes.append("--drop-small-tasks is no longer needed and does nothing: "
                        "meta-training uses every task, and evaluation skips the tasks "
                        "too small for a shot count (counted in the leaderboard)")
    scoring = args.scoring or _default_scoring(ds)
    _check_scoring(scoring)
    chosen = _learners.select_learners(args.learners, ds.task_type)
    models = {lrn.name: _learners.make_learner(
        lrn, ds.task_type, random_state=args.seed, device=args.device, n_jobs=args.jobs,
        scoring=scoring)
        for lrn in chosen}
    try:
        os.makedirs(args.output, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--output: cannot create '{args.output}': {exc.strerror or exc}.") from None

    train, test = _split(ds, args.test_size, args.seed)
    n_train, n_test = np.unique(train[2]).size, np.unique(test[2]).size
    unit = ("per class" if args.support == "per_class" and ds.task_type == "classification"
            else "in the support set")
    trained = ("evaluation and meta-training" if args.support else
               "evaluation; the torch learners meta-train with their support='auto'")
    for note in ds.notes:
        _say(args, f"note: {note}")
    _say(args, f"data: {ds.name}")
    _say(args, f"      {ds.y.shape[0]} rows, {len(ds.feature_names)} feature columns "
               f"({len(ds.categorical)} categorical), {ds.task_ids.size} tasks: "
               f"{n_train} to meta-train, {n_test} held out")
    _say(args, f"learners: {', '.join(models)}; shots (labelled rows {unit}): "
               f"{' '.join(map(str, shots))}; support: {args.support or 'random'} "
               f"({trained}); "
               f"{args.episodes} episodes; metric: {scoring}; seed {args.seed}")
    _say(args)

    from tqdm.auto import tqdm

    pre = _data.make_preprocessor(ds)
    bar = tqdm(total=len(models) * len(shots), disable=args.quiet or None,
               desc="benchmark", unit="fit", file=sys.stderr, dynamic_ncols=True)
    with _Threads(args.threads):
        rows, failures, caught = _evaluate(models, shots, pre, train, test, args,
                                           scoring, bar)
    bar.close()
    elapsed = time.perf_counter() - start

    if args.verbose:
        for name, w in caught:
            print(f"warning [{name}]: {w.category.__name__}: {w.message}", file=sys.stderr)
    elif caught:
        kinds = sorted({w.category.__name__ for _, w in caught})
        _say(args, f"note: {len(caught)} warning(s) from the learners "
                   f"({', '.join(kinds)}); --verbose shows them")
    for name, msg in failures.items():
        print(f"error: learner '{name}' failed and is left out: {msg}", file=sys.stderr)
    if not rows:
        print("sklearn-meta: error: every learner failed; nothing to report.", file=sys.stderr)
        return 1
    _report.rank_results(rows)
    print()
    print(f"Few-shot leaderboard: {ds.name}")
    print(f"{n_test} held-out tasks (episodes spread evenly over those a shot count can use), "
          f"{n_train} meta-training tasks (all used)")
    print()
    print(_report.format_leaderboard(rows, scoring=scoring, unit=unit))
    verdicts = _report.verdict_lines(rows, scoring=scoring)
    print()
    print("Verdict:")
    for line in verdicts:
        print(f"  {line}")

    meta = {
        "command": "sklearn-meta benchmark",
        "argv": list(args.argv),
        "dataset": {
            "name": ds.name, "task_type": ds.task_type, "n_rows": int(ds.y.shape[0]),
            "feature_columns": ds.feature_names, "categorical_columns": ds.categorical,
            "n_tasks": int(ds.task_ids.size), "n_train_tasks": int(n_train),
            "n_test_tasks": int(n_test),
            "test_tasks": [str(t) for t in np.unique(test[2])],
            "notes": ds.notes,
        },
        "scoring": scoring, "n_shots": shots, "n_episodes": args.episodes,
        "support": args.support or "random", "verdict": verdicts,
        "test_size": args.test_size, "seed": args.seed, "device": args.device,
        "learners": {name: repr(est) for name, est in models.items()},
        "failures": failures, "elapsed_seconds": round(elapsed, 2),
        "versions": _versions(),
    }
    title = f"{ds.name.split(' (')[0]}: {n_test} held-out tasks, {args.episodes} episodes"
    xlabel = f"Shots (labelled rows {unit})"
    paths, _ = _report.write_outputs(args.output, rows, meta, scoring=scoring,
                                     title=title, xlabel=xlabel)
    if len(paths) < 3:
        _say(args, "note: matplotlib is not installed, so no plot was written "
                   "(pip install 'sklearn-meta[plot]')")
    print()
    print(f"wrote {', '.join(paths)} ({math.ceil(elapsed)} s)")
    return 1 if failures else 0
