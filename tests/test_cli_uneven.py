"""The benchmark command on real, uneven tables: tiny and one-class tasks at the
default shots, the verdict, paired differences, and the pandas CSV reader (issue 11)."""

import json

import numpy as np
import pytest

from sklearn_meta.__main__ import main
from sklearn_meta.cli import _data, _report

FAST = ["--episodes", "6", "--quiet"]


def _uneven_table(path, *, sep=",", decimal=".", row_id=False, seed=0):
    """10 districts of 40 rows, 2 of 3 rows, 2 with a single class, gappy columns."""
    rng = np.random.default_rng(seed)
    sizes = {f"district {i}": 40 for i in range(10)}
    sizes.update({"district 10": 3, "district 11": 3, "district 12": 30, "district 13": 30})
    head = ["id"] * row_id + ["district", "age", "income", "plan", "churned"]
    lines, n = [sep.join(head)], 0
    for t, (name, size) in enumerate(sizes.items()):
        shift = rng.normal()
        for i in range(size):
            n += 1
            age, income = rng.normal(size=2)
            label = "yes" if age + shift + 0.5 * rng.normal() > 0 else "no"
            if name == "district 12":
                label = "yes"
            if name == "district 13":
                label = "no"
            inc = "" if i % 9 == 4 else f"{income:.3f}".replace(".", decimal)
            plan = ["basic", "plus", ""][i % 3]
            cells = [str(n)] * row_id + [name, f"{age:.3f}".replace(".", decimal), inc, plan,
                                         label]
            lines.append(sep.join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(tmp_path, *args):
    return main(["benchmark", *args, "--output", str(tmp_path / "out"), *FAST])


def test_tiny_and_one_class_tasks_at_default_shots(tmp_path, capsys):
    path = _uneven_table(tmp_path / "churn.csv")
    code = _run(tmp_path, "--data", str(path), "--target", "churned", "--group", "district",
                "--learners", "per-task", "pooled", "meta-prior")
    out = capsys.readouterr().out
    assert code == 0, out
    # the default shots 1 5 10 run although two tasks have 3 rows and two one class
    for k in (1, 5, 10):
        assert f"{k} shot{'s' if k > 1 else ''} ({k} labelled row" in out
    assert "vs pooled" in out or "vs per-task" in out
    verdict = out[out.index("Verdict:"):].splitlines()[1:4]
    assert [line.split(":")[0].strip() for line in verdict] == [
        "at 1 shot", "at 5 shots", "at 10 shots"]
    assert all("meta-learning pays here" in v or "no meta-learner beats" in v
               for v in verdict)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["verdict"] and doc["support"] == "random"
    res = doc["results"]
    ref = {r["reference"] for r in res}
    assert len(ref) >= 1 and ref <= {"per-task", "pooled"}
    for r in res:
        assert r["n_tasks"] >= 1 and r["n_tasks_skipped"] >= 0
        if r["learner"] != r["reference"]:
            assert r["diff"] is not None and r["diff_low"] <= r["diff"] <= r["diff_high"]
    assert (tmp_path / "out" / "few_shot_curve.png").read_bytes().startswith(b"\x89PNG")


def test_support_per_class_option(tmp_path, capsys):
    path = _uneven_table(tmp_path / "churn.csv")
    code = _run(tmp_path, "--data", str(path), "--target", "churned", "--group", "district",
                "--learners", "per-task", "pooled", "--shots", "2", "--support", "per_class")
    out = capsys.readouterr().out
    assert code == 0 and "2 labelled rows per class" in out
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["support"] for r in doc["results"]} == {"per_class"}


def test_verdict_lines():
    def row(name, mean, diff=None, lo=None, hi=None, baseline=False):
        return dict(learner=name, n_shots=5, mean=mean, diff=diff, diff_low=lo,
                    diff_high=hi, baseline=baseline, reference="pooled", n_tasks=12,
                    estimator_class=name.upper(), reference_class="PooledEstimator")
    pays = [row("pooled", 0.70, baseline=True), row("maml", 0.74, 0.04, 0.02, 0.06)]
    (line,) = _report.verdict_lines(pays, scoring="roc_auc")
    assert line == ("at 5 shots: meta-learning pays here: maml +0.040 roc_auc [+0.020, "
                    "+0.060] over pooled (paired, 12 tasks); use MAML.")
    tie = [row("pooled", 0.70, baseline=True), row("maml", 0.71, 0.01, -0.02, 0.03)]
    (line,) = _report.verdict_lines(tie, scoring="roc_auc")
    assert "no meta-learner beats the pooled model on these tasks" in line
    assert line.endswith("use PooledEstimator.")

    # a lower bound just above 0 is a win, and it is printed so: never "+0.000"
    barely = [row("pooled", 0.70, baseline=True), row("maml", 0.71, 0.01, 0.0004, 0.02)]
    (line,) = _report.verdict_lines(barely, scoring="roc_auc")
    assert "meta-learning pays here" in line and "[+0.0004, +0.0200]" in line
    assert "+0.000," not in line
    # ... and one just below 0 is not, printed with its sign
    below = [row("pooled", 0.70, baseline=True), row("maml", 0.71, 0.01, -0.0004, 0.02)]
    (line,) = _report.verdict_lines(below, scoring="roc_auc")
    assert "no meta-learner beats" in line and "[-0.0004, +0.0200]" in line
    # the leaderboard prints the same interval as the verdict
    rows = _report.rank_results([dict(r, n_episodes=40, n_tasks_skipped=0) for r in barely])
    board = _report.format_leaderboard(rows, scoring="roc_auc")
    assert "+0.0100 [+0.0004, +0.0200]" in board


def test_plot_colours_fixed_baselines_dashed_outlier_kept_off(tmp_path):
    pytest.importorskip("matplotlib")
    rows = []
    for k in (1, 5):
        for name, mean, base in (("pooled", 0.70, True), ("per-task", 0.60, True),
                                 ("maml", 0.72, False), ("protonet", 0.69, False),
                                 ("meta-prior", 0.71, False), ("anil", -5.0, False)):
            rows.append(dict(learner=name, n_shots=k, mean=mean + 0.01 * k, ci_low=mean,
                             ci_high=mean + 0.02 * k, rank=1, baseline=base))
    display = _report.write_plot(str(tmp_path / "p.png"), rows, scoring="roc_auc",
                                 title="t", xlabel="x")
    lines = {line.get_label(): line for line in display.lines_}
    assert lines["pooled"].get_linestyle() == "--" and lines["maml"].get_linestyle() == "-"
    assert lines["maml"].get_color() == _report.learner_color("maml")
    assert lines["pooled"].get_color() != lines["per-task"].get_color()
    low, high = display.ax_.get_ylim()
    assert low > -1 and high < 1  # the outlier (-5) does not squash the others
    assert any("anil" in t.get_text() for t in display.ax_.texts)


# --- reading tables ----------------------------------------------------------------------

def test_tab_separator_and_decimal_comma(tmp_path, capsys):
    path = _uneven_table(tmp_path / "t.tsv", sep="\t", decimal=",")
    for sep in ("\\t", "\t"):
        table = _data.read_csv(path, sep=sep, decimal=",")
        assert table.is_numeric("age") and table.is_numeric("income")
    with pytest.raises(_data.CLIError, match="decimal comma.*--decimal ','"):
        _data.read_csv(path, sep="\t")
    code = _run(tmp_path, "--data", str(path), "--sep", "\\t", "--decimal", ",",
                "--target", "churned", "--group", "district", "--learners", "pooled",
                "--shots", "2")
    assert code == 0


def test_notes_id_columns_and_imputed_columns(tmp_path, capsys):
    path = _uneven_table(tmp_path / "t.csv", row_id=True)
    code = main(["benchmark", "--data", str(path), "--target", "churned", "--group",
                 "district", "--learners", "pooled", "--shots", "2", "--episodes", "4",
                 "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "dropped ID-like column(s) ['id']" in out
    assert "imputed missing values in 2 column(s)" in out and "income (10%)" in out
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "id" not in doc["dataset"]["feature_columns"]


def test_group_column_all_missing_is_named(tmp_path, capsys):
    path = tmp_path / "g.csv"
    path.write_text("site,x,y\n" + "".join(f",{i},{i % 2}\n" for i in range(30)))
    code = _run(tmp_path, "--data", str(path), "--target", "y", "--group", "site")
    err = capsys.readouterr().err
    assert code == 2 and "--group: column 'site' has no values" in err


def test_verbose_warnings_name_the_learner(tmp_path, capsys, monkeypatch):
    import warnings

    from sklearn_meta import model_selection

    original = model_selection.evaluate_few_shot

    def noisy(estimators, *args, **kwargs):
        warnings.warn("something odd", RuntimeWarning)
        return original(estimators, *args, **kwargs)

    monkeypatch.setattr(model_selection, "evaluate_few_shot", noisy)
    path = _uneven_table(tmp_path / "t.csv")
    code = main(["benchmark", "--data", str(path), "--target", "churned", "--group",
                 "district", "--learners", "per-task", "pooled", "--shots", "5",
                 "--episodes", "4", "--verbose", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning [per-task]: RuntimeWarning: something odd" in err
    assert "warning [pooled]: RuntimeWarning: something odd" in err
