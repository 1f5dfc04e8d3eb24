"""What ``imbnet compare`` shows and writes: the ranked table, JSON, CSV, figures, HTML."""

import base64
import csv
import html
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay  # noqa: E402

from ._compare import METRICS  # noqa: E402

__all__ = ["format_table", "write_outputs"]

FIGURES = {"roc": "roc_curves.png", "pr": "precision_recall_curves.png"}


def _rows(results):
    """(rank, name, description, cells...) of the strategies that ran, best first."""
    rows = []
    for rank, result in enumerate((r for r in results["strategies"] if not r["error"]), 1):
        cells = [f"{s['mean']:.3f} ± {s['sd']:.3f}" for s in result["scores"].values()]
        cells.append(f"{result['fit_time']['mean']:.2f}")
        rows.append([str(rank), result["name"], *cells])
    return rows


def format_table(results):
    """The ranked table, as text for the terminal."""
    header = ["rank", "strategy", *METRICS.values(), "fit s"]
    rows = _rows(results)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if i != 1 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    for result in results["strategies"]:
        if result["error"]:
            lines.append(f"failed: {result['name']}: {result['error']}")
    return "\n".join(lines)


def _plain(results):
    """``results`` without the held-out scores (JSON-ready)."""
    strategies = [{k: v for k, v in r.items() if k != "oof_score"} for r in results["strategies"]]
    return {**results, "strategies": strategies}


def write_outputs(out_dir, results, y):
    """Write results.json, results.csv, the two figures and report.html to ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    plain = _plain(results)
    with open(os.path.join(out_dir, "results.json"), "w") as file:
        json.dump(plain, file, indent=2)
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["rank", "strategy", "description"]
            + [f"{m}_{s}" for m in METRICS for s in ("mean", "sd")]
            + ["fit_time_mean", "error"]
        )
        for rank, r in enumerate(plain["strategies"], 1):
            scores = [
                r["scores"][m][s] if not r["error"] else "" for m in METRICS for s in ("mean", "sd")
            ]
            fit = r["fit_time"]["mean"] if not r["error"] else ""
            writer.writerow([rank, r["name"], r["description"], *scores, fit, r["error"] or ""])
    _write_figures(out_dir, results, y)
    with open(os.path.join(out_dir, "report.html"), "w", encoding="utf-8") as file:
        file.write(_html(results, out_dir))


def _write_figures(out_dir, results, y):
    truth = y == results["minority"]
    for kind, filename in FIGURES.items():
        fig, ax = plt.subplots(figsize=(6.4, 5.2))
        for r in results["strategies"]:
            if r["error"]:
                continue
            display = RocCurveDisplay if kind == "roc" else PrecisionRecallDisplay
            display.from_predictions(truth, r["oof_score"], name=r["name"], ax=ax)
        ax.set_title(
            ("ROC" if kind == "roc" else "Precision-recall")
            + f" curves, minority class {results['minority']!r} (held-out folds)"
        )
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, filename), dpi=100)
        plt.close(fig)


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: right; white-space: nowrap; }
td:nth-child(2), th:nth-child(2), td:nth-child(3), th:nth-child(3) { text-align: left; }
th { background: #e8eef6; }
.figures img { max-width: 48%; margin-right: 1%; }
.error { color: #a00; }
"""


def _html(results, out_dir):
    header = ["rank", "strategy", "description", *METRICS.values(), "fit s"]
    by_name = {r["name"]: r["description"] for r in results["strategies"]}
    body = []
    for row in _rows(results):
        cells = [row[0], row[1], by_name[row[1]], *row[2:]]
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    failures = "".join(
        f'<p class="error">{html.escape(r["name"])} failed: {html.escape(r["error"])}</p>'
        for r in results["strategies"]
        if r["error"]
    )
    images = []
    for kind, filename in FIGURES.items():
        with open(os.path.join(out_dir, filename), "rb") as file:
            data = base64.b64encode(file.read()).decode("ascii")
        images.append(f'<img id="{kind}" alt="{kind} curves" src="data:image/png;base64,{data}">')
    counts = ", ".join(
        f"{html.escape(str(c))}: {n}" for c, n in zip(results["classes"], results["counts"])
    )
    settings = results.get("settings", {})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>imbnet compare</title>
<style>{_STYLE}</style></head>
<body>
<h1>imbnet compare</h1>
<p>Data: {html.escape(str(settings.get("data", "")))}; classes {counts};
minority class {html.escape(repr(results["minority"]))}.
{settings.get("cv", "")}-fold stratified cross-validation, {settings.get("epochs", "")} epochs,
random_state={settings.get("random_state", "")}. Ranked by average precision; mean ± sd over folds;
minority metrics at the default threshold.</p>
<table id="results"><thead><tr>{"".join(f"<th>{html.escape(h)}</th>" for h in header)}</tr></thead>
<tbody>{"".join(body)}</tbody></table>
{failures}
<div class="figures">{"".join(images)}</div>
</body></html>
"""
