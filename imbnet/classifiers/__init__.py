"""The estimators.

- ``_base``: ``ImbalancedKerasClassifier``, the fit in named steps both networks share;
- ``_mlp``: ``CostSensitiveMLPClassifier``, the drop-in for ``MLPClassifier``;
- ``_resampled``: ``ResampledKerasClassifier``, any Keras model (``_routing``: its
  ``model__`` / ``fit__`` parameters);
- ``_incremental``: ``partial_fit``;
- ``_ensemble``: ``BalancedEnsembleClassifier``.
"""
