"""What ``imbnet compare`` shows and writes: the terminal summary, JSON, CSV, HTML, snippet."""

import base64
import csv
import json
import os

from ._figures import FIGURES, write_figures

__all__ = ["format_summary", "format_table", "plain", "verdict_lines", "write_outputs"]

WIDTH = 120  # the terminal table's limit


def _ran(results):
    return [r for r in results["strategies"] if not r["error"] and not r["skipped"]]


def _pm(score, digits=3):
    return f"{score['mean']:.{digits}f} ± {score['sd']:.{digits}f}"


def _columns(results):
    """(heading, cell function) of the terminal table, objective first."""
    objective = results["objective"]
    digits = 1 if objective["name"] == "cost" else 3
    columns = [(objective["label"], lambda r: _pm(r["scores"]["objective"], digits))]
    columns += [
        ("ROC AUC", lambda r: f"{r['scores']['roc_auc']['mean']:.3f}"),
        ("avg prec", lambda r: f"{r['scores']['average_precision']['mean']:.3f}"),
        ("recall", lambda r: f"{r['scores']['recall']['mean']:.3f}"),
        ("precision", lambda r: f"{r['scores']['precision']['mean']:.3f}"),
    ]
    if not results["multiclass"]:
        columns.append(("threshold", lambda r: f"{r['threshold']['mean']:.3f}"))
    if results.get("cost") and objective["name"] != "cost":
        columns.append(("cost/1000", lambda r: f"{r['scores']['cost']['mean']:.1f}"))
    columns += [
        ("Brier", lambda r: f"{r['scores']['brier']['mean']:.4f}"),
        ("fit s", lambda r: f"{r['fit_time']['mean']:.1f}"),
    ]
    return columns


def format_table(results):
    """The ranked table, as text for the terminal (at most ``WIDTH`` columns)."""
    columns = _columns(results)
    header = ["rank", "strategy", *(heading for heading, _ in columns)]
    rows = [
        [str(rank), r["name"], *(cell(r) for _, cell in columns)]
        for rank, r in enumerate(_ran(results), 1)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 1 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line[:WIDTH] for line in lines)


def _headline(results):
    settings = results.get("settings", {})
    objective = results["objective"]["text"]
    positive = repr(results["minority"])
    if results["multiclass"]:
        how = f"{objective} of the most probable class; recall and precision of class {positive}"
    else:
        how = (
            f"threshold tuned for {objective} of class {positive} inside each training fold "
            f"({results['inner_cv']}-fold inner CV)"
        )
    return f"{settings.get('cv', '')}-fold stratified CV; {how}"


def _recommendation_lines(results):
    rec = results.get("recommendation")
    if rec is None:
        return []
    label = results["objective"]["label"]
    digits = 1 if results["objective"]["name"] == "cost" else 3
    verdict = rec.get("verdict")
    model = f"{rec['strategy']} ({rec['description']}): {label} {_pm(rec['objective'], digits)}"
    if rec["threshold"]:
        model += f" at threshold {_pm(rec['threshold'], 2)}"
    lines = verdict_lines(verdict, model)
    runner = rec["runner_up"]
    if runner:
        noise = "beyond fold noise" if runner["beyond_noise"] else "within fold noise"
        lines.append(
            f"  vs runner-up {runner['strategy']}: {runner['difference']['mean']:+.{digits}f} "
            f"± {runner['difference']['sd']:.{digits}f} over the same folds, corrected paired "
            f"t-test p = {runner['p']:.2g}: {noise}"
        )
    best = next(r for r in results["strategies"] if r["name"] == rec["strategy"])
    if results.get("cost"):
        s = best["scores"]
        lines.append(
            f"  expected cost per 1,000 cases: {s['cost']['mean']:.1f} (flag nothing: "
            f"{s['cost_flag_nothing']['mean']:.1f}, flag everything: "
            f"{s['cost_flag_everything']['mean']:.1f})"
        )
    if rec.get("fit_command"):
        if verdict and verdict["kind"] == "trivial":
            lines.append(f"  to deploy {rec['strategy']} all the same: {rec['fit_command']}")
        else:
            lines.append(f"  deploy it (threshold tuned on all rows): {rec['fit_command']}")
    return lines


def verdict_lines(verdict, model):
    """The recommendation's first line(s): the model, or why the objective is not met."""
    if verdict is None:
        return [f"recommended: {model}"]
    if verdict["kind"] == "trivial":
        return [
            f"recommended: {verdict['policy']} (expected cost {verdict['policy_cost']:.1f} "
            f"per 1,000 cases): no strategy beats it; the best, {model}, costs "
            f"{verdict['best_cost']:.1f}"
        ]
    bound, target, reached = verdict["bound"], verdict["target"], verdict["reached"]
    return [
        f"no strategy reaches {bound} >= {target:g} in the held-out folds",
        f"closest to the constraint (not meeting it): {model}, {bound} {reached:.3f}",
    ]


def _wrap(line):
    import textwrap

    indent = " " * (len(line) - len(line.lstrip()))
    return textwrap.fill(line, WIDTH, subsequent_indent=indent + "  ") if line else line


def format_summary(results, out_dir=None):
    """Everything the terminal shows after the progress bar (at most ``WIDTH`` columns)."""
    lines = [_wrap(_headline(results)), "", format_table(results)]
    prose = []
    for r in results["strategies"]:
        if r["error"]:
            prose.append(f"failed: {r['name']}: {r['error']}")
        elif r["skipped"]:
            prose.append(f"{r['name']}: {r['skipped']}")
        elif r.get("note"):
            prose.append(f"{r['name']}: {r['note']}")
    prose += [f"note: {note}" for note in results.get("notes", [])]
    prose += [""] + _recommendation_lines(results) if results.get("recommendation") else []
    if out_dir:
        prose.append(
            f"wrote report.html, recommended.py, results.json, results.csv and figures to {out_dir}"
        )
    return "\n".join(lines + [_wrap(line) for line in prose])


def plain(results):
    """``results`` without arrays and objects (JSON-ready)."""
    dropped = ("oof_score", "oof_score_corrected")
    strategies = [{k: v for k, v in r.items() if k not in dropped} for r in results["strategies"]]
    return {**{k: v for k, v in results.items() if k != "setup"}, "strategies": strategies}


CSV_SCORES = (
    "objective",
    "roc_auc",
    "average_precision",
    "recall",
    "precision",
    "f1",
    "balanced_accuracy",
    "brier",
    "log_loss",
    "ece",
)


def write_outputs(out_dir, results, y):
    """Write results.json, results.csv, recommended.py, the figures and report.html."""
    os.makedirs(out_dir, exist_ok=True)
    data = plain(results)
    with open(os.path.join(out_dir, "results.json"), "w") as file:
        json.dump(data, file, indent=2, default=str)
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["rank", "strategy", "description"]
            + [f"{m}_{s}" for m in CSV_SCORES for s in ("mean", "sd")]
            + ["threshold_mean", "fit_time_mean", "skipped", "error"]
        )
        for rank, r in enumerate(data["strategies"], 1):
            ok = r["scores"]
            scores = [ok[m][s] if m in ok else "" for m in CSV_SCORES for s in ("mean", "sd")]
            threshold = r.get("threshold", {}).get("mean", "") if ok else ""
            fit = r["fit_time"]["mean"] if ok else ""
            writer.writerow(
                [
                    rank,
                    r["name"],
                    r["description"],
                    *scores,
                    threshold,
                    fit,
                    r["skipped"] or "",
                    r["error"] or "",
                ]
            )
    if results.get("recommendation"):
        with open(os.path.join(out_dir, "recommended.py"), "w") as file:
            file.write(results["recommendation"]["snippet"])
    figures = write_figures(out_dir, results, y) if _ran(results) else []
    from ._html import report_html

    with open(os.path.join(out_dir, "report.html"), "w", encoding="utf-8") as file:
        file.write(report_html(results, _images(out_dir, figures), _headline(results)))


def _images(out_dir, keys):
    images = {}
    for key in keys:
        filename, caption = FIGURES[key]
        with open(os.path.join(out_dir, filename), "rb") as file:
            data = base64.b64encode(file.read()).decode("ascii")
        images[key] = (caption, f"data:image/png;base64,{data}")
    return images
