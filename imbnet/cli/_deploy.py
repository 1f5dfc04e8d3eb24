"""``imbnet fit`` and ``imbnet predict``: the decision saved with the model, and said.

For two classes ``imbnet fit`` wraps the strategy's pipeline as ``imbnet
compare`` evaluates it: in scikit-learn's ``TunedThresholdClassifierCV`` (the
threshold tuned for the objective by an inner stratified cross-validation of the
training rows, then the pipeline refitted on all of them), or, given
``--threshold T``, in ``FixedThresholdClassifier``. The saved file holds the
wrapper, so ``imbnet predict`` labels at that threshold.
"""

from ._warnings import convergence_line, counting_convergence, replay, split_warnings

__all__ = [
    "FitCommand",
    "convergence_line",
    "counting_convergence",
    "decision_text",
    "deployed_model",
    "fit_command",
    "inner_pipeline",
    "positive_class",
    "replay",
    "split_warnings",
]


def deployed_model(name, ctx, setup, threshold=None):
    """Strategy ``name``'s pipeline with its decision: tuned, fixed, or (multiclass) none."""
    from ._compare import build_model
    from ._strategies import make_pipeline

    if setup.multiclass:
        return make_pipeline(name, ctx)
    if threshold is not None:
        from sklearn.model_selection import FixedThresholdClassifier

        return FixedThresholdClassifier(
            make_pipeline(name, ctx),
            threshold=threshold,
            pos_label=setup.pos_label,
            response_method="predict_proba",
        )
    return build_model(name, ctx, setup, setup.scorer())


def inner_pipeline(model):
    """The fitted pipeline inside a threshold wrapper (or ``model`` itself)."""
    return getattr(model, "estimator_", model)


def _positive_and_threshold(model):
    """``(positive class, threshold on its probability, how)``, or None without a threshold."""
    from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV

    if isinstance(model, TunedThresholdClassifierCV):
        kwargs = getattr(model.scoring, "_kwargs", {})
        positive = kwargs.get("pos_label", model.classes_[1])
        if positive is None:
            positive = model.classes_[1]
        what = _objective_words(model.scoring, kwargs)
        return positive, float(model.best_threshold_), f"tuned for {what} inside the training rows"
    if isinstance(model, FixedThresholdClassifier):
        positive = model.classes_[1] if model.pos_label is None else model.pos_label
        threshold = 0.5 if model.threshold == "auto" else float(model.threshold)
        return positive, threshold, "given with --threshold"
    return None


def _objective_words(scorer, kwargs):
    name = getattr(getattr(scorer, "_score_func", None), "__name__", "")
    if name == "cost_per_1000":
        return f"the expected cost (FP {kwargs['fp_cost']:g}, FN {kwargs['fn_cost']:g})"
    if name == "recall_at_precision":
        return f"recall at precision >= {kwargs['min_precision']:g}"
    if name == "precision_at_recall":
        return f"precision at recall >= {kwargs['min_recall']:g}"
    return {"f1_score": "F1", "balanced_accuracy_score": "balanced accuracy"}.get(
        name, name or "the objective"
    )


def positive_class(model):
    """The class whose probability the saved threshold applies to, or None."""
    found = _positive_and_threshold(model)
    return None if found is None else found[0]


def decision_text(model):
    """How ``model`` labels rows, in words ("label ... when ...")."""
    found = _positive_and_threshold(model)
    if found is None:
        if len(getattr(model, "classes_", ())) > 2:
            return "each row gets its most probable class"
        return (
            "labels at the default threshold 0.5 (this model holds no tuned threshold: "
            "refit it with 'imbnet fit' to save one)"
        )
    positive, threshold, how = found
    return f"label {positive!r} when P({positive!r}) >= {threshold:.4g} (threshold {how})"


class FitCommand:
    """The ``imbnet fit`` command line that reproduces a recommendation."""

    def __init__(
        self,
        strategy,
        *,
        data_path,
        target,
        epochs,
        random_state,
        objective,
        cost,
        text_columns=None,
    ):
        self.parts = ["imbnet", "fit"]
        if data_path:
            self.parts += ["--data", data_path, "--target", target]
        if text_columns is not None:
            self.parts += ["--text-columns", text_columns]
        self.parts += ["--strategy", strategy, "--epochs", str(epochs)]
        self.parts += ["--random-state", str(random_state)]
        if objective:
            self.parts += ["--optimize", objective]
        if cost:
            self.parts += ["--cost", ",".join(f"{c:g}" for c in cost)]
        self.parts += ["--save", "model.imbnet"]

    def __str__(self):
        import shlex

        return " ".join(shlex.quote(p) for p in self.parts)


def fit_command(name, results, settings):
    """The ``imbnet fit`` command (text) that refits strategy ``name`` as compare evaluated it."""
    objective = results["objective"]
    spec = objective["name"]
    if objective["target"] is not None:
        spec = f"{spec}={objective['target']:g}"
    best = next(r for r in results["strategies"] if r["name"] == name)
    command = FitCommand(
        name,
        data_path=settings.get("data_path"),
        target=settings.get("target"),
        epochs=best["epochs"] or settings["epochs"],
        random_state=settings["random_state"],
        objective=None if results["multiclass"] else spec,
        cost=settings.get("cost"),
        text_columns=settings.get("text_columns_given"),
    )
    return str(command)
