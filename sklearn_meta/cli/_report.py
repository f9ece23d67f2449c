"""Output of the ``benchmark`` command: the leaderboard and the result files."""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np

#: Columns of results.csv, in order.
CSV_COLUMNS = (
    "learner", "family", "estimator_class", "n_shots", "scoring", "mean", "ci_low",
    "ci_high", "std", "n_episodes", "fit_time", "adapt_time", "rank", "best",
)

PLOT_FILE = "few_shot_curve.png"


def _float(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def rank_results(rows):
    """Add ``rank`` (1 = best mean score) and ``best`` per shot count, in place."""
    for k in sorted({r["n_shots"] for r in rows}):
        group = [r for r in rows if r["n_shots"] == k]
        group.sort(key=lambda r: -(_float(r["mean"]) if _float(r["mean"]) is not None
                                   else -math.inf))
        for i, r in enumerate(group, start=1):
            r["rank"] = i
            r["best"] = i == 1
    return rows


def format_leaderboard(rows, *, scoring, unit="per class"):
    """One table per shot count, sorted by mean score, the best marked ``*``."""
    lines = []
    name_w = max([len("learner")] + [len(r["learner"]) for r in rows])
    for k in sorted({r["n_shots"] for r in rows}):
        group = sorted((r for r in rows if r["n_shots"] == k), key=lambda r: r["rank"])
        n_ep = group[0].get("n_episodes", "?")
        lines.append(f"{k} shot{'s' if k != 1 else ''} ({k} labelled row{'s' if k != 1 else ''} "
                     f"{unit}; {n_ep} episodes), {scoring}, higher is better:")
        lines.append(f"     {'#':>2}  {'learner':<{name_w}}  {scoring:>9}  "
                     f"{'95% CI':<17}  {'fit (s)':>8}  {'adapt (ms/task)':>15}")
        for r in group:
            mark = "*" if r["best"] else " "
            mean, lo, hi = (_float(r.get(c)) for c in ("mean", "ci_low", "ci_high"))
            ci = (f"[{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else "-")
            fit, adapt = _float(r.get("fit_time")), _float(r.get("adapt_time"))
            lines.append(
                f"   {mark} {r['rank']:>2}  {r['learner']:<{name_w}}  "
                f"{(f'{mean:.3f}' if mean is not None else 'nan'):>9}  {ci:<17}  "
                f"{(f'{fit:.2f}' if fit is not None else '-'):>8}  "
                f"{(f'{adapt * 1e3:.2f}' if adapt is not None else '-'):>15}"
            )
        lines.append("")
    lines.append("* best mean score at that shot count; 95% CI: t-interval over episodes; "
                 "fit: meta-training time; adapt: adaptation time per task.")
    return "\n".join(lines)


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return _float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    return v


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for r in sorted(rows, key=lambda r: (r["n_shots"], r["rank"])):
            writer.writerow({c: _jsonable(r.get(c)) for c in CSV_COLUMNS})


def write_json(path, rows, meta):
    doc = dict(meta)
    doc["results"] = [{c: _jsonable(r.get(c)) for c in CSV_COLUMNS}
                      for r in sorted(rows, key=lambda r: (r["n_shots"], r["rank"]))]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_jsonable(doc), f, indent=2)
        f.write("\n")


def write_plot(path, rows, *, scoring, title, xlabel):
    """Save the few-shot curves (metric against shots, 95% CI bands) as PNG.

    Returns the :class:`~sklearn_meta.display.FewShotCurveDisplay`, or None
    when matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..display import FewShotCurveDisplay

    best_last = sorted(rows, key=lambda r: (-r["n_shots"], r["rank"]))
    names = list(dict.fromkeys(r["learner"] for r in best_last))
    records = [{**r, "estimator": r["learner"]} for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    display = FewShotCurveDisplay.from_results(
        records, estimator_names=names, score_name=scoring, ax=ax, xlabel=xlabel)
    ax.set_title(title, fontsize="medium")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small",
              title="learner")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return display


def write_outputs(directory, rows, meta, *, scoring, title, xlabel):
    """Write results.csv, results.json and the PNG; return the paths written."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        from ._data import CLIError

        raise CLIError(f"--output: cannot create '{directory}': {exc.strerror or exc}.") from None
    paths = [os.path.join(directory, "results.csv"), os.path.join(directory, "results.json")]
    write_csv(paths[0], rows)
    write_json(paths[1], rows, meta)
    png = os.path.join(directory, PLOT_FILE)
    display = write_plot(png, rows, scoring=scoring, title=title, xlabel=xlabel)
    if display is not None:
        paths.append(png)
    return paths, display
