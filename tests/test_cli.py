"""The ``sklearn-meta benchmark`` command: end to end and its user errors."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_meta.__main__ import main
from sklearn_meta.cli import _learners
from sklearn_meta.display import FewShotCurveDisplay

FAST = ["--episodes", "4", "--quiet"]
ROOT = str(Path(__file__).resolve().parents[1])


def _write_csv(path, *, n_tasks=6, rows=24, regression=False, single_class=False,
               small=None, seed=0):
    """A small task collection: sites with a numeric, a gappy and a text column."""
    rng = np.random.default_rng(seed)
    lines = ["site,x1,x2,colour,label"]
    for t in range(n_tasks):
        n = small.get(f"site{t}", rows) if small else rows
        shift = rng.normal()
        for i in range(n):
            x1, x2 = rng.normal(size=2)
            colour = ["red", "green", "blue", ""][i % 4]
            gap = "" if i % 7 == 3 else f"{x2:.3f}"
            if regression:
                label = f"{2 * x1 + shift + 0.1 * rng.normal():.4f}"
            elif single_class:
                label = "yes"
            else:
                label = "yes" if i % 2 else "no"
            lines.append(f"site{t},{x1 + shift * (i % 2):.3f},{gap},{colour},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _bench(tmp_path, *args):
    return main(["benchmark", *args, "--output", str(tmp_path / "out"), *FAST])


@pytest.fixture
def table(tmp_path):
    return _write_csv(tmp_path / "sites.csv")


def test_end_to_end_classification(tmp_path, table, capsys, monkeypatch):
    displays = []
    original = FewShotCurveDisplay.from_results.__func__

    def spy(cls, *args, **kwargs):
        displays.append(original(cls, *args, **kwargs))
        return displays[-1]

    monkeypatch.setattr(FewShotCurveDisplay, "from_results", classmethod(spy))
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    code = _bench(tmp_path, "--data", str(table), "--target", "label", "--group", "site",
                  "--learners", "per-task", "pooled", "--shots", "1", "3", "--seed", "1")
    assert torch.get_num_threads() == threads  # --threads is undone after the run
    out = capsys.readouterr().out
    assert code == 0
    assert "1 shot (1 labelled row in the support set" in out and "3 shots" in out
    assert "per-task" in out and "pooled" in out and "   * " in out

    with open(tmp_path / "out" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["learner"], r["n_shots"]) for r in rows} == {
        (n, k) for n in ("per-task", "pooled") for k in ("1", "3")}
    for r in rows:
        assert r["scoring"] == "roc_auc" and r["n_episodes"] == "4"
        assert 0 <= float(r["mean"]) <= 1
        assert float(r["ci_low"]) <= float(r["mean"]) <= float(r["ci_high"])
        assert float(r["fit_time"]) >= 0 and float(r["adapt_time"]) >= 0
    assert sum(r["best"] == "True" for r in rows) == 2

    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["dataset"]["n_tasks"] == 6 and doc["dataset"]["categorical_columns"] == ["colour"]
    assert doc["dataset"]["n_train_tasks"] + doc["dataset"]["n_test_tasks"] == 6
    assert len(doc["results"]) == 4 and doc["seed"] == 1

    png = (tmp_path / "out" / "few_shot_curve.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    (display,) = displays
    assert display.ax_.get_xlabel() in ("Shots (labelled rows in the support set)",
                                        "Shots (labelled rows per class)")
    assert display.ax_.get_ylabel() == "roc_auc"
    legend = display.ax_.get_legend()
    assert legend is not None
    assert sorted(t.get_text() for t in legend.get_texts()) == ["per-task", "pooled"]
    assert [line.get_label() for line in display.lines_] == ["pooled", "per-task"] or \
        [line.get_label() for line in display.lines_] == ["per-task", "pooled"]


def test_end_to_end_regression(tmp_path, capsys):
    path = _write_csv(tmp_path / "reg.csv", regression=True)
    code = _bench(tmp_path, "--data", str(path), "--target", "label", "--group", "site",
                  "--learners", "per-task", "--shots", "2", "5")
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    # the default regression metric is stable on small query sets: MSE over pooled rows
    assert doc["dataset"]["task_type"] == "regression"
    assert doc["scoring"] == "neg_mean_squared_error"
    assert [r["n_shots"] for r in doc["results"]] == [2, 5]
    assert "2 labelled rows in the support set" in out


def test_bundled_churn_runs(tmp_path, capsys):
    code = _bench(tmp_path, "--learners", "per-task", "--shots", "1", "--test-size", "0.1")
    out = capsys.readouterr().out
    assert code == 0
    assert "churn by state" in out
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["dataset"]["n_tasks"] == 51 and doc["dataset"]["n_test_tasks"] == 6


def _error(tmp_path, capsys, *args):
    code = _bench(tmp_path, *args)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    return err


def test_error_missing_file(tmp_path, capsys):
    err = _error(tmp_path, capsys, "--data", str(tmp_path / "nope.csv"),
                 "--target", "y", "--group", "g")
    assert "nope.csv" in err and "does not exist" in err


def test_error_unreadable_file(tmp_path, capsys):
    binary = tmp_path / "data.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    err = _error(tmp_path, capsys, "--data", str(binary), "--target", "y", "--group", "g")
    assert "cannot read" in err and "not a UTF-8 text CSV" in err


def test_error_directory_given(tmp_path, capsys):
    err = _error(tmp_path, capsys, "--data", str(tmp_path), "--target", "y", "--group", "g")
    assert "is a directory" in err


def test_error_unknown_target_column(tmp_path, table, capsys):
    err = _error(tmp_path, capsys, "--data", str(table), "--target", "lable",
                 "--group", "site")
    assert "--target: column 'lable' is not in" in err and "Did you mean 'label'" in err


def test_error_unknown_group_column(tmp_path, table, capsys):
    err = _error(tmp_path, capsys, "--data", str(table), "--target", "label",
                 "--group", "hospital")
    assert "--group: column 'hospital'" in err and "'site'" in err


def test_error_too_few_tasks(tmp_path, capsys):
    path = _write_csv(tmp_path / "two.csv", n_tasks=2)
    err = _error(tmp_path, capsys, "--data", str(path), "--target", "label",
                 "--group", "site", "--shots", "1")
    assert "--group: too few tasks" in err and "2 distinct value(s)" in err


def test_error_single_class_target(tmp_path, capsys):
    path = _write_csv(tmp_path / "one.csv", single_class=True)
    err = _error(tmp_path, capsys, "--data", str(path), "--target", "label",
                 "--group", "site", "--task-type", "classification")
    assert "single class 'yes'" in err and "at least 2 classes" in err


def test_small_tasks_are_no_error_and_drop_small_tasks_is_a_no_op(tmp_path, capsys):
    path = _write_csv(tmp_path / "small.csv", n_tasks=7, small={"site1": 6, "site4": 3})
    code = _bench(tmp_path, "--data", str(path), "--target", "label", "--group", "site",
                  "--shots", "1", "5", "--learners", "per-task", "--drop-small-tasks",
                  "--seed", "3")
    assert code == 0
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["dataset"]["n_tasks"] == 7  # every task is kept (meta-training uses all)
    assert any("--drop-small-tasks is no longer needed" in n for n in doc["dataset"]["notes"])
    assert {r["n_shots"] for r in doc["results"]} == {1, 5}


def test_error_unknown_learner(tmp_path, table, capsys):
    err = _error(tmp_path, capsys, "--data", str(table), "--target", "label",
                 "--group", "site", "--learners", "per-task", "mamll")
    assert "unknown learner(s) ['mamll']" in err and "per-task" in err


def test_error_usage_is_exit_2(capsys):
    assert main(["benchmark", "--shots", "one"]) == 2
    assert "invalid int value" in capsys.readouterr().err
    assert main([]) == 2


def test_list_learners(capsys):
    assert main(["benchmark", "--list-learners"]) == 0
    out = capsys.readouterr().out
    for learner in _learners.REGISTRY:
        assert learner.name in out
    assert "PerTaskEstimator" in out


def test_registry_builds_every_available_learner():
    for learner in _learners.REGISTRY:
        for task_type in ("classification", "regression"):
            if _learners.availability(learner, task_type)[0] is None:
                continue
            est = _learners.make_learner(learner, task_type, random_state=3, device="cpu")
            assert est.get_params()["random_state"] == 3
    default = _learners.select_learners(None, "classification")
    assert {"per-task", "pooled"} <= {lrn.name for lrn in default}


def test_console_entry_point():
    proc = subprocess.run([sys.executable, "-m", "sklearn_meta", "--version"],
                          capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("sklearn-meta ")


def test_default_learners_all_run(tmp_path, table, capsys):
    # every default learner present (torch ones included) runs in the pipeline
    code = main(["benchmark", "--data", str(table), "--target", "label", "--group", "site",
                 "--shots", "1", "--episodes", "2", "--quiet",
                 "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    ran = {r["learner"] for r in doc["results"]}
    assert ran == {lrn.name for lrn in _learners.select_learners(None, "classification")}
