"""Model selection with imbnet networks trained side by side.

Drop-ins for scikit-learn's :class:`~sklearn.model_selection.GridSearchCV`,
:class:`~sklearn.model_selection.RandomizedSearchCV`,
:func:`~sklearn.model_selection.cross_validate` and
:func:`~sklearn.model_selection.cross_val_score`: the same signatures and
results; the candidate x fold fits of a :class:`imbnet.CostSensitiveMLPClassifier`
(alone or at the end of a pipeline) train together in one compiled program.

- ``_members``: which fits train side by side (:func:`side_by_side_reason`); a fit
  as a member of the program;
- ``_tasks``: every fit of a search, before scikit-learn scores them;
- ``_search``: the searches; ``_validation``: cross-validation.
"""

from ._members import side_by_side_reason
from ._search import GridSearchCV, RandomizedSearchCV
from ._validation import cross_val_score, cross_validate

__all__ = [
    "GridSearchCV",
    "RandomizedSearchCV",
    "cross_val_score",
    "cross_validate",
    "side_by_side_reason",
]
