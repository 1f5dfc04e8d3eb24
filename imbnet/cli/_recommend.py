"""The recommendation: the best strategy, whether it beats the runner-up, and its code."""

import numpy as np

from ._compare import build_model, outer_cv
from ._data import data_code
from ._metrics import corrected_paired_t_test
from ._snippet import Code, Imports, estimator_code
from ._strategies import Context

__all__ = ["ALPHA", "recommend", "snippet"]

ALPHA = 0.05  # significance level of the paired comparison


def recommend(results, *, numeric, categorical, epochs, random_state, data_path, target, text=()):
    """The recommendation dict (or None when no strategy ran): see ``_report``."""
    ran = [r for r in results["strategies"] if not r["error"] and not r["skipped"]]
    if not ran:
        return None
    setup = results["setup"]
    objective = results["objective"]
    best, verdict = _choose(ran, results)
    ran = [best] + [r for r in ran if r is not best]
    ctx = Context(
        best["epochs"] or epochs, random_state, tuple(numeric), tuple(categorical), tuple(text)
    )
    recommendation = {
        "strategy": best["name"],
        "description": best["description"],
        "objective": best["scores"]["objective"],
        "threshold": best.get("threshold"),
        "settings": estimator_code(
            build_model(best["name"], ctx, setup, Code("scoring")), Imports()
        ),
        "snippet": snippet(best["name"], ctx, setup, objective["label"], data_path, target),
        "runner_up": None,
        "verdict": verdict,
    }
    if len(ran) > 1:
        runner = ran[1]
        sign = 1 if objective["greater_is_better"] else -1
        d = sign * (
            np.array(best["scores"]["objective"]["folds"])
            - np.array(runner["scores"]["objective"]["folds"])
        )
        t, p = corrected_paired_t_test(d, 1 / setup.cv)
        recommendation["runner_up"] = {
            "strategy": runner["name"],
            "objective": runner["scores"]["objective"],
            "difference": {"mean": float(d.mean()), "sd": float(d.std()), "folds": d.tolist()},
            "t": t,
            "p": p,
            "beyond_noise": bool(p < ALPHA),
        }
    return recommendation


def _choose(ran, results):
    """The strategy to recommend, and a verdict dict when it fails the objective (or None).

    With a cost, a strategy that does not beat the cheaper trivial policy (flag
    nothing, flag everything) is not worth deploying: the verdict names the
    policy. With ``recall@precision=P`` / ``precision@recall=R`` the first-ranked
    strategy whose mean held-out precision (recall) reaches the bound is chosen;
    when none does, the one that comes closest, labelled as such.
    """
    objective = results["objective"]
    best = ran[0]
    if results["multiclass"]:
        return best, None
    if objective["name"] == "cost":
        scores = best["scores"]
        policies = {
            "flag nothing": scores["cost_flag_nothing"]["mean"],
            "flag everything": scores["cost_flag_everything"]["mean"],
        }
        policy = min(policies, key=policies.get)
        if scores["cost"]["mean"] >= policies[policy]:
            return best, {
                "kind": "trivial",
                "policy": policy,
                "policy_cost": policies[policy],
                "best_cost": scores["cost"]["mean"],
            }
        return best, None
    if "@" in objective["name"]:
        bound = objective["name"].partition("@")[2]
        target = objective["target"]
        meeting = [r for r in ran if r["scores"][bound]["mean"] >= target]
        if meeting:
            return meeting[0], None
        closest = max(ran, key=lambda r: r["scores"][bound]["mean"])
        return closest, {
            "kind": "constraint",
            "bound": bound,
            "target": target,
            "reached": closest["scores"][bound]["mean"],
        }
    return best, None


def _scoring_code(setup, imports):
    from sklearn.metrics import make_scorer

    function, kwargs, greater = setup.score_function()
    arguments = [imports.name_of(function)]
    if not greater:
        arguments.append("greater_is_better=False")
    arguments += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{imports.name_of(make_scorer)}({', '.join(arguments)})"


def snippet(name, ctx, setup, label, data_path, target):
    """Python source that rebuilds strategy ``name``, cross-validates it as compare did, fits it."""
    from sklearn.model_selection import cross_validate

    imports = Imports()
    scoring = _scoring_code(setup, imports)
    model = estimator_code(build_model(name, ctx, setup, Code("scoring")), imports)
    cv = estimator_code(outer_cv(setup), imports)
    validate = imports.name_of(cross_validate)
    import imbnet

    imports_save = imports.name_of(imbnet.save)
    import_lines, functions = imports.lines()
    data = data_code(data_path, target)
    data_imports = [line for line in data if line.startswith(("from ", "import "))]
    data = [line for line in data if line not in data_imports]
    import_lines = sorted(import_lines + data_imports)
    sign = "" if setup.objective.greater_is_better else "-"
    tuned = not setup.multiclass
    how = " (decision threshold tuned inside each training fold)" if tuned else ""
    lines = [
        f'"""imbnet compare\'s recommendation: strategy {name!r}.',
        "",
        f"Rebuilds its pipeline{how},",
        "cross-validates it on the same folds as the report (the same scores, up to the",
        "float noise of the networks compare trained side by side) and fits it on every row.",
        '"""',
        "",
        "import numpy as np",
        "import pandas as pd",
        *import_lines,
        "",
    ]
    for source in functions:
        lines += ["", source.rstrip(), ""]
    lines += ["", *(data[1:] if data[0] == "" else data), ""]
    lines += [
        f"scoring = {scoring}",
        f"model = {model}",
        f"scores = {validate}(model, X, y, cv={cv}, scoring=scoring)",
        f'print("{label} per fold:", np.round({sign}scores["test_score"], 4))',
        "model.fit(X, y)",
    ]
    if tuned:
        _, kwargs, _ = setup.score_function()
        thresholded = kwargs.get("pos_label", setup.classes[1])
        lines.append(f'print("decision threshold on P({thresholded}):", model.best_threshold_)')
    lines += [
        "",
        "# The fitted model, its threshold included, for: imbnet predict --model "
        "recommended.imbnet --data NEW.csv",
        f'{imports_save}(model, "recommended.imbnet")',
        'print("saved recommended.imbnet")',
    ]
    return "\n".join(lines) + "\n"
