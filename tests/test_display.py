"""FewShotCurveDisplay: scikit-learn's Display conventions for few-shot curves."""

import matplotlib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.display import FewShotCurveDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _results():
    rows = []
    for name, base in (("maml", 0.6), ("per-task", 0.5)):
        for k in (1, 5, 10):
            m = base + 0.02 * k
            rows.append({"estimator": name, "n_shots": k, "scoring": "accuracy",
                         "mean": m, "ci_low": m - 0.03, "ci_high": m + 0.03})
    return rows


def test_from_results_draws_lines_bands_labels_and_legend():
    display = FewShotCurveDisplay.from_results(_results())
    assert display.ax_.get_xlabel() == "Number of shots (labelled rows per class)"
    assert display.ax_.get_ylabel() == "accuracy"  # the table's scoring
    assert display.figure_ is display.ax_.figure
    assert [line.get_label() for line in display.lines_] == ["maml", "per-task"]
    np.testing.assert_allclose(display.lines_[0].get_xdata(), [1, 5, 10])
    np.testing.assert_allclose(display.lines_[1].get_ydata(), [0.52, 0.6, 0.7])
    assert len(display.fill_between_) == 2 and display.errorbar_ is None
    legend = display.ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["maml", "per-task"]
    np.testing.assert_allclose(display.scores, [[0.62, 0.7, 0.8], [0.52, 0.6, 0.7]])


def test_from_results_accepts_a_dataframe_order_and_existing_axes():
    pd = pytest.importorskip("pandas")
    _, ax = plt.subplots()
    display = FewShotCurveDisplay.from_results(
        pd.DataFrame(_results()), estimator_names=["per-task"], ax=ax,
        score_name="Accuracy", xlabel="shots")
    assert display.ax_ is ax
    assert [line.get_label() for line in display.lines_] == ["per-task"]
    assert ax.get_ylabel() == "Accuracy" and ax.get_xlabel() == "shots"


def test_plot_styles_and_missing_points():
    rows = _results()[:-1]  # per-task has no 10-shot point
    display = FewShotCurveDisplay.from_results(rows, ci_display_style="errorbar")
    assert len(display.errorbar_) == 2 and display.fill_between_ is None
    assert len(display.lines_[1].get_xdata()) == 2
    assert np.isnan(display.scores[1, 2])
    display.plot(ci_display_style=None, legend=False)
    assert display.fill_between_ is None and display.errorbar_ is None
    assert display.ax_.get_legend() is None


def test_plot_without_intervals():
    rows = [{k: v for k, v in r.items() if not k.startswith("ci_")} for r in _results()]
    display = FewShotCurveDisplay.from_results(rows)
    assert display.ci_low is None and display.fill_between_ is None
    assert display.ax_.get_ylabel() == "accuracy"


def test_constructor_then_plot():
    display = FewShotCurveDisplay(n_shots=[1, 2], scores=[[0.1, 0.2]],
                                  estimator_names=["a"])
    assert display.plot().ax_.get_ylabel() == "Score"


@pytest.mark.parametrize("bad, match", [
    ([], "results is empty"),
    ([{"estimator": "a", "mean": 0.5}], r"lacks the column\(s\) \['n_shots'\]"),
    ("table", "results must be the table"),
])
def test_from_results_errors(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        FewShotCurveDisplay.from_results(bad)


def test_from_results_unknown_name_and_bad_shapes():
    with pytest.raises(ValueError, match="does not contain"):
        FewShotCurveDisplay.from_results(_results(), estimator_names=["protonet"])
    with pytest.raises(ValueError, match="scores has shape"):
        FewShotCurveDisplay(n_shots=[1, 2, 3], scores=[[0.1, 0.2]],
                            estimator_names=["a"]).plot()
    with pytest.raises(ValueError, match="ci_display_style"):
        FewShotCurveDisplay.from_results(_results(), ci_display_style="bars")


def test_from_estimator_runs_evaluate_few_shot():
    data = make_classification_tasks(n_tasks=8, random_state=0)
    est = PerTaskEstimator(LogisticRegression())
    display = FewShotCurveDisplay.from_estimator(
        {"per-task": est}, data.tasks[:5], data.tasks[5:], n_shots=(1, 3),
        n_episodes=3, random_state=0)
    assert [line.get_label() for line in display.lines_] == ["per-task"]
    assert display.ax_.get_ylabel() == "accuracy"
    np.testing.assert_allclose(display.n_shots, [1, 3])
    assert len(display.results_) == 2
    single = FewShotCurveDisplay.from_estimator(
        est, data.tasks[:5], data.tasks[5:], n_shots=1, n_episodes=2, random_state=0)
    assert [line.get_label() for line in single.lines_] == ["PerTaskEstimator"]
