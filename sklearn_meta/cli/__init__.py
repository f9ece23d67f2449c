"""The ``sklearn-meta`` command line (also ``python -m sklearn_meta``).

``sklearn-meta benchmark`` answers "would meta-learning help on my tasks,
and which learner?": it meta-trains every learner of the suite (and the
baselines) on some tasks, evaluates few-shot episodes on held-out tasks, and
prints a leaderboard per shot count. Run ``sklearn-meta benchmark --help``.
"""

from __future__ import annotations

import argparse
import sys

from ._data import CLIError

__all__ = ["main", "build_parser", "CLIError"]

_DESCRIPTION = """\
Few-shot leaderboard of sklearn-meta's learners against the baselines.

Tasks (the values of --group) are split into meta-training tasks and
held-out tasks (--test-size). Every learner is meta-trained on all training
tasks, once per shot count; then, on --episodes episodes spread evenly over
the held-out tasks, it adapts to a support set of N labelled rows (drawn at
random; --support per_class: N per class) and is scored on the task's other
rows. Held-out tasks too small for N are skipped at that shot count.

Every figure comes with a 95% CI bootstrapped over held-out tasks and the
number of tasks it rests on; every learner is compared, paired on the same
episodes, with the best baseline. The run ends with a verdict per shot
count: does a meta-learner beat the best baseline (paired CI above 0)?

Without --data it runs on churn by state, bundled with the package
(modeldata's mlc_churn: 5000 customers, 51 US states as tasks, binary).

With --data FILE.csv, the target and group columns are taken from the file
and every other column is a feature (except --drop). Preprocessing, fitted
on the meta-training tasks only: numeric columns are median-imputed and
standardised; text columns are imputed with their most frequent value and
one-hot encoded (at most 20 levels per column, unseen levels as zeros).
"""

_EPILOG = """\
examples:
  sklearn-meta benchmark
  sklearn-meta benchmark --learners per-task pooled maml --shots 1 5
  sklearn-meta benchmark --data visits.csv --target readmitted --group hospital
  sklearn-meta benchmark --data mesures.csv --sep ';' --decimal , --target y --group site
  sklearn-meta benchmark --list-learners

Outputs (in --output): results.csv, results.json and few_shot_curve.png.
Exit status: 0 on success, 1 when a learner failed, 2 for a usage error.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    """The argument parser of ``sklearn-meta``.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with the ``benchmark`` subcommand.
    """
    from .. import __version__

    parser = _Parser(prog="sklearn-meta",
                     description="sklearn-meta: scikit-learn compatible meta-learners.")
    parser.add_argument("--version", action="version", version=f"sklearn-meta {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    b = sub.add_parser(
        "benchmark", help="few-shot leaderboard on bundled data or your own CSV",
        description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = b.add_argument_group("data")
    data.add_argument("--data", metavar="FILE.csv",
                      help="your table (CSV, optionally .gz); default: bundled churn by state")
    data.add_argument("--target", metavar="COL", help="the column to predict")
    data.add_argument("--group", metavar="COL",
                      help="the column holding the task id of every row (site, store, ...)")
    data.add_argument("--task-type", choices=("classification", "regression"),
                      help="default: inferred (text or <= 10 integer values: classification)")
    data.add_argument("--drop", nargs="+", metavar="COL", default=None,
                      help="columns that are not features (ids, dates, leaks)")
    data.add_argument("--sep", default=None,
                      help="CSV field separator, e.g. ';' or '\\t' for tab (default: "
                           "guessed among , ; tab |)")
    data.add_argument("--decimal", default=".",
                      help="decimal mark of the numbers: '.' (default) or ',' (3,14)")
    data.add_argument("--drop-small-tasks", action="store_true", help=argparse.SUPPRESS)
    ev = b.add_argument_group("evaluation")
    ev.add_argument("--learners", nargs="+", metavar="NAME", default=None,
                    help="learners to compare (see --list-learners), or 'all'; default: "
                         "one per family present, plus the baselines")
    ev.add_argument("--list-learners", action="store_true",
                    help="list the learners and exit")
    ev.add_argument("--shots", nargs="+", type=int, metavar="N", default=None,
                    help="labelled rows in the support set (per class with --support "
                         "per_class); default: 1 5 10. Tasks too small for a shot count "
                         "are skipped in its evaluation (and counted), never in "
                         "meta-training")
    ev.add_argument("--support", choices=("random", "per_class"), default=None,
                    help="how support sets are drawn: 'random' (default): N rows at random "
                         "from the task, as a new site has them; 'per_class': N rows of "
                         "every class (N-way K-shot). When given, the episodic torch "
                         "learners also meta-train on support sets drawn that way")
    ev.add_argument("--episodes", type=int, default=100,
                    help="episodes per learner and shot count (default: 100)")
    ev.add_argument("--test-size", type=float, default=0.3,
                    help="fraction of tasks held out for evaluation (default: 0.3)")
    ev.add_argument("--scoring", default=None,
                    help="a scikit-learn scorer name; default: roc_auc (binary), accuracy "
                         "(multiclass), neg_mean_squared_error (regression: over the pooled "
                         "query rows)")
    ev.add_argument("--seed", type=int, default=0,
                    help="seeds the task split, the episodes and the learners (default: 0)")
    run = b.add_argument_group("run")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                     help="device of the torch learners (default: cpu)")
    run.add_argument("--jobs", type=int, default=None, metavar="N",
                     help="n_jobs of the learners that have it (default: their own)")
    run.add_argument("--threads", type=int, default=1, metavar="N",
                     help="threads of BLAS, OpenMP and torch during the run (default: 1: "
                          "the problems are small, and more threads slow a busy machine)")
    run.add_argument("--output", default="benchmark-results", metavar="DIR",
                     help="folder for results.csv, results.json and the PNG "
                          "(default: ./benchmark-results)")
    run.add_argument("--quiet", action="store_true",
                     help="print only the leaderboard (no progress bar, no notes)")
    run.add_argument("--verbose", action="store_true",
                     help="print the learners' warnings")
    return parser


def main(argv=None):
    """Run ``sklearn-meta`` with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when a learner failed, 2 for a
        usage error (printed without a traceback).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = argv
    from ._benchmark import run

    try:
        return run(args)
    except CLIError as exc:
        print(f"sklearn-meta {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - output piped into `head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("sklearn-meta: interrupted", file=sys.stderr)
        return 130
