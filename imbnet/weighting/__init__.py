"""Weighting and losses: what a class is worth to the loss.

- ``_class_weight``: ``class_weight`` strings and dicts to per-class weights;
- ``_priors``: class priors, prior correction of probabilities, output bias;
- ``_losses`` / ``_long_tail_losses``: focal, logit-adjusted, balanced-softmax and
  LDAM losses;
- ``_targets``: one target object per kind of ``y`` (classes, multilabel, per-time-step).

Leaves: nothing here imports the engine or the estimators.
"""
