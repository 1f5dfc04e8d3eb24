"""``report.html``: one self-contained page, laid out for a laptop screen (1280 px)."""

from html import escape as _escape

__all__ = ["report_html"]


def escape(value):
    return _escape(str(value))


_STYLE = """
body { font-family: system-ui, sans-serif; color: #222; line-height: 1.45;
       max-width: 1180px; margin: 0 auto; padding: 1em 1.5em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #e8eef6; }
td.name, th.name, td.text, th.text { text-align: left; }
td.text { max-width: 32em; }
tr.best td { background: #f1f8ec; }
.sd { color: #777; font-size: 85%; }
.verdict { font-weight: bold; }
.note { color: #555; }
.error { color: #a00; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa;
      border: 1px solid #ddd; padding: .8em; font-size: 12.5px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
           gap: 1em; }
figure { margin: 0; }
figure.wide { grid-column: 1 / -1; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; }
.matrices { display: flex; flex-wrap: wrap; gap: 1.2em; }
"""


def _pm(score, digits=3):
    return f'{score["mean"]:.{digits}f} <span class="sd">± {score["sd"]:.{digits}f}</span>'


def _ran(results):
    return [r for r in results["strategies"] if not r["error"] and not r["skipped"]]


def _table(table_id, header, rows, text_columns=(1,), best_first=True):
    head = "".join(
        f'<th class="{"text" if i in text_columns else ""}">{escape(h)}</th>'
        for i, h in enumerate(header)
    )
    body = []
    for n, row in enumerate(rows):
        cells = "".join(
            f'<td class="{"name" if i in text_columns else ""}">{c}</td>' for i, c in enumerate(row)
        )
        best = ' class="best"' if best_first and n == 0 else ""
        body.append(f"<tr{best}>{cells}</tr>")
    return (
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _recommendation(results):
    rec = results.get("recommendation")
    if rec is None:
        return '<p class="error">No strategy ran to the end: nothing to recommend.</p>'
    label = escape(results["objective"]["label"])
    digits = 1 if results["objective"]["name"] == "cost" else 3
    parts = []
    verdict = rec.get("verdict")
    if verdict and verdict["kind"] == "trivial":
        parts.append(
            f'<p class="verdict" id="verdict">Recommended: {escape(verdict["policy"])} '
            f"(expected cost {verdict['policy_cost']:.1f} per 1,000 cases). No strategy "
            f"beats it; the best strategy costs {verdict['best_cost']:.1f}:</p>"
        )
    elif verdict:
        parts.append(
            f'<p class="verdict" id="verdict">No strategy reaches {escape(verdict["bound"])} '
            f"≥ {verdict['target']:g} in the held-out folds. Closest to the constraint (not "
            f"meeting it, {escape(verdict['bound'])} {verdict['reached']:.3f}):</p>"
        )
    parts += [
        f"<p><b>{escape(rec['strategy'])}</b> ({escape(rec['description'])}): "
        f"{label} {_pm(rec['objective'], digits)}"
        + (f" at a threshold of {_pm(rec['threshold'], 3)}" if rec["threshold"] else "")
        + " (mean ± sd over the held-out folds).</p>"
    ]
    runner = rec["runner_up"]
    if runner:
        verdict = (
            "It beats the runner-up beyond fold noise."
            if runner["beyond_noise"]
            else "The difference is within fold noise: either is a reasonable choice."
        )
        parts.append(
            f"<p>Against the runner-up <b>{escape(runner['strategy'])}</b> "
            f"({label} {_pm(runner['objective'], digits)}), over the same "
            f"{len(runner['difference']['folds'])} folds: difference "
            f"{runner['difference']['mean']:+.{digits}f} "
            f"± {runner['difference']['sd']:.{digits}f}, "
            f"corrected paired t-test (Nadeau and Bengio) t = {runner['t']:.2f}, "
            f'p = {runner["p"]:.2g}. <span class="verdict">{verdict}</span></p>'
        )
    if rec.get("fit_command"):
        parts.append(
            "<p>To deploy it (its threshold tuned on all the rows, then "
            "<code>imbnet predict --model model.imbnet --data new.csv</code>):</p>"
            f'<pre id="fit-command">{escape(rec["fit_command"])}</pre>'
        )
    parts.append('<p>Its settings and the code that rebuilds it: <a href="#rebuild">below</a>.</p>')
    return "".join(parts)


def _rebuild(results):
    rec = results.get("recommendation")
    if rec is None:
        return ""
    return (
        f'<section id="rebuild"><h2>Rebuild {escape(rec["strategy"])}</h2>'
        '<p>A ready-to-paste script (<a href="recommended.py">recommended.py</a>) that '
        "rebuilds exactly this pipeline, cross-validates it on the same folds (it gives "
        "the scores above) and fits it on every row:</p>"
        f'<pre id="snippet">{escape(rec["snippet"])}</pre></section>'
    )


def _results_table(results):
    objective = results["objective"]["label"]
    digits = 1 if results["objective"]["name"] == "cost" else 3
    header = ["rank", "strategy", objective]
    if not results["multiclass"]:
        header.append("threshold")
    # One column per measure: the objective's own column is not repeated.
    decided = [
        (key, heading)
        for key, heading in (
            ("recall", "recall"),
            ("precision", "precision"),
            ("f1", "F1"),
            ("balanced_accuracy", "balanced acc"),
        )
        if key != results["objective"]["name"] or results["multiclass"]
    ]
    header += [heading for _, heading in decided]
    header += ["ROC AUC", "avg precision", "fit s"]
    rows = []
    for rank, r in enumerate(_ran(results), 1):
        s = r["scores"]
        row = [str(rank), escape(r["name"]), _pm(s["objective"], digits)]
        if not results["multiclass"]:
            row.append(_pm(r["threshold"], 3))
        row += [f"{s[k]['mean']:.3f}" for k, _ in decided]
        row += [_pm(s["roc_auc"]), _pm(s["average_precision"]), f"{r['fit_time']['mean']:.1f}"]
        rows.append(row)
    return _table("results", header, rows)


def _costs_table(results):
    if not results.get("cost"):
        return ""
    fp, fn = results["cost"]
    rows = []
    for r in _ran(results):
        s = r["scores"]
        trivial = min(s["cost_flag_nothing"]["mean"], s["cost_flag_everything"]["mean"])
        rows.append(
            [
                escape(r["name"]),
                _pm(s["cost"], 1),
                f"{s['cost_flag_nothing']['mean']:.1f}",
                f"{s['cost_flag_everything']['mean']:.1f}",
                f"{trivial - s['cost']['mean']:+.1f}",
            ]
        )
    header = [
        "strategy",
        "cost per 1,000",
        "flag nothing",
        "flag everything",
        "saving vs the better trivial policy",
    ]
    return (
        f"<h2>Costs</h2><p>A false positive costs {fp:g}, a false negative {fn:g}. "
        "Expected cost per 1,000 cases at each strategy's tuned threshold, beside the "
        "trivial policies of flagging no case and every case (same folds).</p>"
        + _table("costs", header, rows, text_columns=(0,))
    )


def _confusion(results):
    classes = [escape(c) for c in results["classes"]]
    blocks = []
    for r in _ran(results):
        head = "".join(f"<th>{c}</th>" for c in classes)
        body = "".join(
            f"<tr><th>{c}</th>{''.join(f'<td>{v}</td>' for v in row)}</tr>"
            for c, row in zip(classes, r["confusion"])
        )
        blocks.append(
            f"<table><caption>{escape(r['name'])}</caption><thead><tr><th>true \\ predicted"
            f"</th>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    return (
        "<h2>Confusion matrices</h2><p>Held-out rows of every fold, summed, at the "
        "decisions above.</p>"
        f'<div class="matrices" id="confusion">{"".join(blocks)}</div>'
    )


def _probabilities(results):
    rows = []
    for r in _ran(results):
        s = r["scores"]
        row = [escape(r["name"])] + [f"{s[k]['mean']:.4f}" for k in ("brier", "log_loss", "ece")]
        if "brier_corrected" in s:
            row += [f"{s[k + '_corrected']['mean']:.4f}" for k in ("brier", "log_loss", "ece")]
        else:
            row += ["—"] * 3
        rows.append(row)
    header = [
        "strategy",
        "Brier",
        "log loss",
        "ECE",
        "Brier, corrected",
        "log loss, corrected",
        "ECE, corrected",
    ]
    return (
        "<h2>Probabilities</h2><p>Brier score, log loss and expected calibration error "
        "(equal-count bins, averaged over classes) of the held-out probabilities, as trained "
        "and with <code>prior_correction=True</code> for the strategies whose classifier "
        "changes the class mix it learns from (— : it does not). Lower is better. "
        "Ranking metrics and tuned decisions are unchanged by the correction.</p>"
        + _table("probabilities", header, rows, text_columns=(0,), best_first=False)
    )


def _per_class(results):
    if not results["multiclass"]:
        return ""
    classes = results["classes"]
    rows = [
        [escape(r["name"])] + [f"{r['scores'][f'recall[{c}]']['mean']:.3f}" for c in classes]
        for r in _ran(results)
    ]
    return "<h2>Recall per class</h2>" + _table(
        "per-class",
        ["strategy", *[f"recall {c}" for c in classes]],
        rows,
        text_columns=(0,),
        best_first=False,
    )


def _strategies(results):
    rows = []
    for r in results["strategies"]:
        status = (
            f'<span class="error">failed: {escape(r["error"])}</span>'
            if r["error"]
            else escape(r["skipped"] or r.get("note") or "")
        )
        rows.append([escape(r["name"]), escape(r["description"]), str(r["epochs"] or "—"), status])
    return "<h2>Strategies</h2>" + _table(
        "strategies",
        ["strategy", "what it is", "epochs", "status"],
        rows,
        text_columns=(0, 1, 3),
        best_first=False,
    )


def report_html(results, images, headline):
    """The whole page; ``images`` maps figure key -> (caption, data URL)."""
    settings = results.get("settings", {})
    counts = ", ".join(f"{escape(c)}: {n}" for c, n in zip(results["classes"], results["counts"]))
    notes = "".join(f'<p class="note">Note: {escape(n)}</p>' for n in results.get("notes", []))
    figures = "".join(
        f'<figure class="{"wide" if key == "calibration" else ""}">'
        f'<img id="{key}" alt="{escape(caption)}" src="{url}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
        for key, (caption, url) in images.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imbnet compare</title><style>{_STYLE}</style></head>
<body>
<h1>imbnet compare</h1>
<p>Data: {escape(settings.get("data", ""))}; target {escape(repr(settings.get("target", "")))};
classes {counts}; positive class {escape(repr(results["minority"]))}.
{escape(headline)}; {settings.get("epochs", "")} epochs,
random_state={settings.get("random_state", "")}.
Mean ± sd over the held-out folds.</p>
{notes}
<section id="recommendation"><h2>Recommendation</h2>{_recommendation(results)}</section>
<section><h2>Results at the tuned decision</h2>{_results_table(results)}</section>
{_costs_table(results)}
{_probabilities(results)}
{_per_class(results)}
{_confusion(results)}
{_strategies(results)}
<h2>Figures</h2><div class="figures">{figures}</div>
{_rebuild(results)}
</body></html>
"""
