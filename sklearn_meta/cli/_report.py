"""Output of the ``benchmark`` command: the leaderboard and the result files."""

from __future__ import annotations

import csv
import json
import math
import os
import zlib

import numpy as np

#: Columns of results.csv, in order.
CSV_COLUMNS = (
    "learner", "family", "estimator_class", "n_shots", "support", "scoring", "mean",
    "ci_low", "ci_high", "std", "n_tasks", "n_episodes", "n_tasks_skipped", "reference",
    "diff", "diff_low", "diff_high", "fit_time", "adapt_time", "rank", "best",
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


def _fmt(v, spec=".3f", missing="-"):
    v = _float(v)
    return missing if v is None else format(v, spec)


def _decimals(*values, start=3, most=8):
    """The fewest decimals (at least ``start``) at which no nonzero value prints as
    zero: a CI bound of 0.0004 prints ``+0.0004``, never ``+0.000``, so a printed
    interval says on which side of 0 it lies, as the verdict decides."""
    values = [abs(v) for v in map(_float, values) if v]
    for d in range(start, most + 1):
        if all(float(format(v, f".{d}f")) > 0 for v in values):
            return d
    return most


def _fmt_diff(d, lo, hi):
    """``(difference, "[low, high]")`` with the same, sufficient, decimals."""
    n = _decimals(d, lo, hi)
    spec = f"+.{n}f"
    ci = (f"[{_fmt(lo, spec)}, {_fmt(hi, spec)}]" if _float(lo) is not None else "-")
    return _fmt(d, spec), ci


def format_leaderboard(rows, *, scoring, unit="in the support set"):
    """One table per shot count, sorted by mean score, the best marked ``*``.

    Every row: the mean, its 95% CI (bootstrap over held-out tasks), the paired
    difference to the reference (the best baseline) with its CI, the number of tasks
    and episodes the figure rests on, and the times.
    """
    lines = []
    name_w = max([len("learner")] + [len(r["learner"]) for r in rows])
    for k in sorted({r["n_shots"] for r in rows}):
        group = sorted((r for r in rows if r["n_shots"] == k), key=lambda r: r["rank"])
        first = group[0]
        n_t, n_skip = first.get("n_tasks", "?"), first.get("n_tasks_skipped", 0)
        skipped = (f"; {n_skip} task{'s' if n_skip != 1 else ''} too small, skipped"
                   if n_skip else "")
        ref = first.get("reference")
        lines.append(
            f"{k} shot{'s' if k != 1 else ''} ({k} labelled row{'s' if k != 1 else ''} "
            f"{unit}; {first.get('n_episodes', '?')} episodes on {n_t} held-out "
            f"tasks{skipped}), {scoring}, higher is better:")
        diff_head = f"vs {ref}" if ref else "vs baseline"
        lines.append(f"     {'#':>2}  {'learner':<{name_w}}  {'mean':>9}  "
                     f"{'95% CI':<17}  {diff_head:>8} {'95% CI':<17}  {'tasks':>5}  "
                     f"{'fit (s)':>8}  {'adapt (ms/task)':>15}")
        for r in group:
            mark = "*" if r["best"] else " "
            ci = (f"[{_fmt(r.get('ci_low'))}, {_fmt(r.get('ci_high'))}]"
                  if _float(r.get("ci_low")) is not None else "-")
            if r["learner"] == ref:
                diff, dci = "(ref)", ""
            elif _float(r.get("diff")) is not None:
                diff, dci = _fmt_diff(r["diff"], r.get("diff_low"), r.get("diff_high"))
            else:
                diff, dci = "-", ""
            adapt = _float(r.get("adapt_time"))
            lines.append(
                f"   {mark} {r['rank']:>2}  {r['learner']:<{name_w}}  "
                f"{_fmt(r.get('mean'), missing='nan'):>9}  {ci:<17}  {diff:>8} {dci:<17}  "
                f"{r.get('n_tasks', '?'):>5}  {_fmt(r.get('fit_time'), '.2f'):>8}  "
                f"{(f'{adapt * 1e3:.2f}' if adapt is not None else '-'):>15}"
            )
        lines.append("")
    lines.append("* best mean at that shot count; mean over the pooled query rows; 95% CI: "
                 "bootstrap over held-out tasks (episodes nested in tasks); vs: paired "
                 "difference to the best baseline on the same episodes; tasks: held-out "
                 "tasks the figure rests on; fit: meta-training time; adapt: adaptation "
                 "time per task.")
    return "\n".join(lines)


def verdict_lines(rows, *, scoring):
    """One line per shot count: does the best meta-learner beat the best baseline?

    It does when its paired difference to the best baseline (same episodes) has a 95%
    CI (bootstrap over tasks) above 0. The bounds are printed with as many decimals as
    it takes for a nonzero bound not to print as 0, so what is printed agrees with the
    decision (a lower bound of 0.0004 is a win and prints ``+0.0004``).
    """
    lines = []
    for k in sorted({r["n_shots"] for r in rows}):
        group = [r for r in rows if r["n_shots"] == k and _float(r.get("mean")) is not None]
        at = f"at {k} shot{'s' if k != 1 else ''}"
        if not group:
            lines.append(f"{at}: no learner could be scored.")
            continue
        ref = group[0].get("reference")
        meta = [r for r in group if not r.get("baseline")]
        n_t = group[0].get("n_tasks")
        if ref is None or not meta:
            best = max(group, key=lambda r: r["mean"])
            lines.append(f"{at}: best {best['learner']} ({scoring} {_fmt(best['mean'])}, "
                         f"{n_t} tasks); no meta-learner and baseline to compare.")
            continue
        ref_row = next(r for r in group if r["learner"] == ref)
        best = max(meta, key=lambda r: r["mean"])
        d, lo, hi = (_float(best.get(c)) for c in ("diff", "diff_low", "diff_high"))
        use = ref_row.get("reference_class") or ref
        diff, dci = _fmt_diff(d, lo, hi)
        if d is not None and lo is not None and lo > 0:
            shown = f"{diff} {scoring} {dci}"
            lines.append(f"{at}: meta-learning pays here: {best['learner']} {shown} over "
                         f"{ref} (paired, {n_t} tasks); use {best.get('estimator_class')}.")
        else:
            detail = (f"best meta-learner {best['learner']}: {diff} {dci} vs {ref}"
                      if d is not None else f"best meta-learner {best['learner']}")
            lines.append(f"{at}: no meta-learner beats the {ref} model on these tasks "
                         f"({detail}, paired, {n_t} tasks); use {use}.")
    return lines


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


def learner_color(name):
    """A fixed colour per learner, the same in every run: its place in the registry
    (tab20), or a stable hash of its name for other learners."""
    from matplotlib import colormaps

    from ._learners import REGISTRY

    names = [lrn.name for lrn in REGISTRY]
    if name in names:
        i = names.index(name)
    else:
        i = zlib.crc32(name.encode())
    return colormaps["tab20"](i % 20)


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
    baselines = {r["learner"] for r in rows if r.get("baseline")}
    display = FewShotCurveDisplay.from_results(
        records, estimator_names=names, score_name=scoring, ax=ax, xlabel=xlabel,
        colors={n: learner_color(n) for n in names},
        linestyles={n: "--" for n in baselines}, robust_ylim=True)
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
