"""Plot few-shot learning curves: a score against the number of shots.

:class:`FewShotCurveDisplay` follows scikit-learn's Display conventions
(:class:`sklearn.metrics.RocCurveDisplay`,
:class:`sklearn.model_selection.LearningCurveDisplay`): the constructor
stores the numbers, :meth:`~FewShotCurveDisplay.plot` draws them, and the
class methods :meth:`~FewShotCurveDisplay.from_results` and
:meth:`~FewShotCurveDisplay.from_estimator` build one from the table of
:func:`sklearn_meta.model_selection.evaluate_few_shot` or by running it.
matplotlib is needed to plot only (extra ``plot``).
"""

from __future__ import annotations

import numpy as np

from .utils._docstrings import fill_doc

__all__ = ["FewShotCurveDisplay"]

_REQUIRED_COLUMNS = ("estimator", "n_shots", "mean")


# Docstring paragraphs shared by the two constructors.
_DOCS = {
    "plot_target": """\
ax : matplotlib Axes, default=None
    Axes to draw on; a new figure and axes when None.
**plot_kw : dict
    Further keyword arguments of :meth:`plot`.""",
}


def _check_matplotlib(caller):
    try:
        import matplotlib.pyplot  # noqa: F401
    except ImportError as exc:  # pragma: no cover - matplotlib is installed in tests
        raise ImportError(
            f"{caller} needs matplotlib; install it with "
            "`pip install sklearn-meta[plot]` (or `pip install matplotlib`)."
        ) from exc


def _records(results):
    """The rows of an ``evaluate_few_shot`` table as a list of dicts."""
    if hasattr(results, "to_dict") and hasattr(results, "columns"):
        return results.to_dict(orient="records")
    if isinstance(results, dict):
        return [results]
    records = list(results)
    if not all(isinstance(r, dict) for r in records):
        raise TypeError(
            "results must be the table returned by evaluate_few_shot: a pandas "
            "DataFrame or a list of dicts, one per (estimator, n_shots); got "
            f"{type(results).__name__}."
        )
    return records


class FewShotCurveDisplay:
    """Few-shot learning curve: a score against the number of shots.

    One line per estimator, the mean episodic score at each shot count, with
    its 95% confidence interval as a band (or error bars). Build it with
    :meth:`from_results` (the table of
    :func:`~sklearn_meta.model_selection.evaluate_few_shot`) or
    :meth:`from_estimator` (which runs the evaluation); call :meth:`plot` to
    draw it again on other axes. All attributes are read by :meth:`plot`.

    Parameters
    ----------
    n_shots : array-like of shape (n_points,)
        The shot counts, in increasing order.
    scores : array-like of shape (n_estimators, n_points)
        Mean score of every estimator at every shot count; NaN where an
        estimator was not evaluated.
    ci_low : array-like of shape (n_estimators, n_points), default=None
        Lower end of the 95% confidence interval of ``scores``.
    ci_high : array-like of shape (n_estimators, n_points), default=None
        Upper end of the 95% confidence interval of ``scores``.
    estimator_names : list of str
        Name of every estimator, in the row order of ``scores``.
    score_name : str, default=None
        The score's name, used as the y-axis label; "Score" when None.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.
    lines_ : list of matplotlib Line2D
        The mean-score line of every estimator.
    fill_between_ : list of matplotlib PolyCollection or None
        The confidence bands, when ``ci_display_style="fill_between"``.
    errorbar_ : list of matplotlib ErrorbarContainer or None
        The error bars, when ``ci_display_style="errorbar"``.

    See Also
    --------
    sklearn_meta.model_selection.evaluate_few_shot : The evaluation it plots.
    sklearn.model_selection.LearningCurveDisplay : Score against training size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_meta.display import FewShotCurveDisplay
    >>> results = [
    ...     {"estimator": "maml", "n_shots": 1, "mean": 0.61, "ci_low": 0.58, "ci_high": 0.64},
    ...     {"estimator": "maml", "n_shots": 5, "mean": 0.74, "ci_low": 0.72, "ci_high": 0.76},
    ...     {"estimator": "per-task", "n_shots": 1, "mean": 0.52, "ci_low": 0.50, "ci_high": 0.54},
    ...     {"estimator": "per-task", "n_shots": 5, "mean": 0.66, "ci_low": 0.63, "ci_high": 0.69},
    ... ]
    >>> display = FewShotCurveDisplay.from_results(results, score_name="Accuracy")
    >>> display.ax_.get_ylabel()
    'Accuracy'
    >>> [line.get_label() for line in display.lines_]
    ['maml', 'per-task']
    """

    def __init__(self, *, n_shots, scores, ci_low=None, ci_high=None,
                 estimator_names, score_name=None):
        self.n_shots = n_shots
        self.scores = scores
        self.ci_low = ci_low
        self.ci_high = ci_high
        self.estimator_names = estimator_names
        self.score_name = score_name

    def plot(self, ax=None, *, score_name=None, xlabel=None,
             ci_display_style="fill_between", line_kw=None,
             fill_between_kw=None, errorbar_kw=None, legend=True, colors=None,
             linestyles=None, robust_ylim=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes when None.
        score_name : str, default=None
            y-axis label; ``self.score_name`` (else "Score") when None.
        xlabel : str, default=None
            x-axis label; "Number of shots (labelled rows per class)" when None.
        ci_display_style : {"fill_between", "errorbar"} or None, \
                default="fill_between"
            How the 95% confidence intervals are drawn: shaded bands, error
            bars, or not at all (None). Ignored when the intervals are absent.
        line_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot`.
        fill_between_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.fill_between`.
        errorbar_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.errorbar`.
        legend : bool, default=True
            Whether to draw a legend naming the estimators.
        colors : dict, default=None
            ``{estimator name: colour}``: a fixed colour per estimator (e.g. the same
            across runs); matplotlib's colour cycle for the others.
        linestyles : dict, default=None
            ``{estimator name: line style}``, e.g. ``"--"`` for the baselines.
        robust_ylim : bool, default=False
            Fit the y-axis to the bulk of the curves, so that one outlying estimator
            does not squash the others: points beyond three interquartile ranges of
            the means are left off the axis and named in a note on the plot.

        Returns
        -------
        display : FewShotCurveDisplay
            The display, with ``ax_``, ``figure_``, ``lines_`` set.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ci_display_style not in ("fill_between", "errorbar", None):
            raise ValueError(
                f"ci_display_style={ci_display_style!r}; use 'fill_between', "
                "'errorbar' or None."
            )
        x = np.asarray(self.n_shots, dtype=float)
        scores = np.atleast_2d(np.asarray(self.scores, dtype=float))
        names = list(self.estimator_names)
        if scores.shape != (len(names), x.shape[0]):
            raise ValueError(
                f"scores has shape {scores.shape} but there are {len(names)} "
                f"estimator_names and {x.shape[0]} n_shots; scores must have "
                "shape (n_estimators, n_points)."
            )
        has_ci = self.ci_low is not None and self.ci_high is not None
        if has_ci:
            low = np.atleast_2d(np.asarray(self.ci_low, dtype=float))
            high = np.atleast_2d(np.asarray(self.ci_high, dtype=float))
        if ax is None:
            _, ax = plt.subplots()
        line_kw = {"marker": "o", **(line_kw or {})}
        fill_between_kw = {"alpha": 0.2, **(fill_between_kw or {})}
        errorbar_kw = {"capsize": 3, "linestyle": "none", **(errorbar_kw or {})}

        self.lines_, self.fill_between_, self.errorbar_ = [], None, None
        if has_ci and ci_display_style == "fill_between":
            self.fill_between_ = []
        elif has_ci and ci_display_style == "errorbar":
            self.errorbar_ = []
        colors, linestyles = colors or {}, linestyles or {}
        for i, name in enumerate(names):
            ok = np.isfinite(scores[i])
            kw = dict(line_kw)
            if name in colors:
                kw["color"] = colors[name]
            if name in linestyles:
                kw["linestyle"] = linestyles[name]
            (line,) = ax.plot(x[ok], scores[i, ok], label=name, **kw)
            self.lines_.append(line)
            if self.fill_between_ is not None:
                band = ok & np.isfinite(low[i]) & np.isfinite(high[i])
                self.fill_between_.append(ax.fill_between(
                    x[band], low[i, band], high[i, band], color=line.get_color(),
                    **fill_between_kw))
            elif self.errorbar_ is not None:
                err = np.vstack([scores[i, ok] - low[i, ok], high[i, ok] - scores[i, ok]])
                self.errorbar_.append(ax.errorbar(
                    x[ok], scores[i, ok], yerr=np.abs(err), color=line.get_color(),
                    **errorbar_kw))
        if robust_ylim:
            self._robust_ylim(ax, scores, names)
        ax.set_xticks(x)
        ax.set_xticklabels([f"{v:g}" for v in x])
        ax.set_xlabel(xlabel or "Number of shots (labelled rows per class)")
        ax.set_ylabel(score_name or self.score_name or "Score")
        ax.grid(True, alpha=0.3)
        if legend:
            ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @staticmethod
    def _robust_ylim(ax, scores, names):
        """y-limits around the bulk of the means; name the points left off."""
        vals = scores[np.isfinite(scores)]
        if vals.size < 4:
            return
        q1, q3 = np.percentile(vals, [25, 75])
        iqr = q3 - q1
        if iqr <= 0:
            return
        lo, hi = max(vals.min(), q1 - 3 * iqr), min(vals.max(), q3 + 3 * iqr)
        if lo <= vals.min() and hi >= vals.max():
            return
        pad = 0.08 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        off = sorted({names[i] for i, j in zip(*np.nonzero(np.isfinite(scores)))
                      if not lo - pad <= scores[i, j] <= hi + pad})
        if off:
            ax.text(0.01, 0.01, "off the axis: " + ", ".join(off), transform=ax.transAxes,
                    fontsize="x-small", va="bottom", ha="left", alpha=0.8)

    @classmethod
    @fill_doc(**_DOCS)
    def from_results(cls, results, *, estimator_names=None, score_name=None,
                     ax=None, **plot_kw):
        """Plot the table returned by ``evaluate_few_shot``.

        Parameters
        ----------
        results : pandas DataFrame or list of dict
            One row per (estimator, shot count) with at least ``estimator``,
            ``n_shots`` and ``mean``; ``ci_low`` and ``ci_high`` draw the
            confidence intervals; ``scoring`` names the score.
        estimator_names : list of str, default=None
            Which estimators to draw, in this order; all, in order of first
            appearance, when None.
        score_name : str, default=None
            y-axis label; the table's ``scoring`` (else "Score") when None.
        %(plot_target)s

        Returns
        -------
        display : FewShotCurveDisplay
            The plotted display.
        """
        records = _records(results)
        if not records:
            raise ValueError("results is empty: there is nothing to plot.")
        missing = [c for c in _REQUIRED_COLUMNS if c not in records[0]]
        if missing:
            raise ValueError(
                f"results lacks the column(s) {missing}; pass the table "
                "returned by sklearn_meta.model_selection.evaluate_few_shot."
            )
        if estimator_names is None:
            estimator_names = list(dict.fromkeys(str(r["estimator"]) for r in records))
        else:
            estimator_names = [str(n) for n in estimator_names]
            unknown = set(estimator_names) - {str(r["estimator"]) for r in records}
            if unknown:
                raise ValueError(
                    f"estimator_names has {sorted(unknown)} that results does not "
                    "contain."
                )
        n_shots = np.array(sorted({int(r["n_shots"]) for r in records}))
        shape = (len(estimator_names), len(n_shots))
        scores = np.full(shape, np.nan)
        has_ci = all("ci_low" in r and "ci_high" in r for r in records)
        low, high = np.full(shape, np.nan), np.full(shape, np.nan)
        row = {n: i for i, n in enumerate(estimator_names)}
        col = {k: j for j, k in enumerate(n_shots)}
        for r in records:
            i = row.get(str(r["estimator"]))
            if i is None:
                continue
            j = col[int(r["n_shots"])]
            scores[i, j] = r["mean"]
            if has_ci:
                low[i, j], high[i, j] = r["ci_low"], r["ci_high"]
        if score_name is None:
            scoring = {str(r["scoring"]) for r in records if r.get("scoring") is not None}
            score_name = scoring.pop() if len(scoring) == 1 else None
        display = cls(
            n_shots=n_shots, scores=scores,
            ci_low=low if has_ci else None, ci_high=high if has_ci else None,
            estimator_names=estimator_names, score_name=score_name,
        )
        return display.plot(ax=ax, **plot_kw)

    @classmethod
    @fill_doc(**_DOCS)
    def from_estimator(cls, estimator, train, test, *, n_shots=(1, 5),
                       n_episodes=100, n_way=None, n_queries=None, scoring=None,
                       support=None, random_state=None, verbose=0, score_name=None,
                       ax=None, **plot_kw):
        """Evaluate estimators with ``evaluate_few_shot`` and plot the curves.

        Parameters
        ----------
        estimator : estimator, list of estimators or dict of name -> estimator
            The meta-learner(s) to evaluate (cloned, not modified).
        train : list of (X, y) tasks, tuple (X, y, groups) or Bunch
            Meta-training tasks.
        test : list of (X, y) tasks, tuple (X, y, groups) or Bunch
            Tasks the episodes are drawn from.
        n_shots : sequence of int, default=(1, 5)
            Shot counts to evaluate.
        n_episodes : int, default=100
            Episodes per shot count.
        n_way : int, default=None
            Classes per episode (classification); all of the task's by default.
        n_queries : int, default=None
            Query rows per class (or in total, ``support="random"``); all the other
            rows of the task by default.
        scoring : str or callable, default=None
            A scikit-learn scorer name or callable; when None, accuracy (classifiers)
            or the mean squared error over the pooled query rows (regressors).
        support : {"per_class", "random"}, default=None
            How support sets are drawn, in the evaluation and in the meta-training of
            learners with ``support="auto"``; see
            :func:`~sklearn_meta.model_selection.evaluate_few_shot`.
        random_state : int, RandomState instance or None, default=None
            Seeds the episodes.
        verbose : int, default=0
            Progress output of the evaluation.
        score_name : str, default=None
            y-axis label; the scoring's name when None.
        %(plot_target)s

        Returns
        -------
        display : FewShotCurveDisplay
            The plotted display; the evaluation table is in ``results_``.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        from .model_selection import evaluate_few_shot

        if not isinstance(estimator, (list, tuple, dict)):
            estimator = [estimator]
        results = evaluate_few_shot(
            estimator, train, test, n_shots=n_shots, n_episodes=n_episodes,
            n_way=n_way, n_queries=n_queries, scoring=scoring, support=support,
            random_state=random_state, verbose=verbose,
        )
        display = cls.from_results(results, score_name=score_name, ax=ax, **plot_kw)
        display.results_ = results
        return display
