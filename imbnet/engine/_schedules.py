"""scikit-learn's learning-rate schedules of the "sgd" solver, as a Keras callback.

scikit-learn's ``MLPClassifier`` changes the learning rate of "sgd" between
epochs, never within one:

- "invscaling": after every epoch, ``learning_rate_init / (t + 1) ** power_t``
  with ``t`` the number of training rows fed so far (over all the epochs of
  the estimator, warm starts and ``partial_fit`` calls included);
- "adaptive": the stopping rule (:mod:`imbnet.engine._stopping`) counts the epochs
  whose loss (the validation loss with early stopping) did not improve by
  ``tol``; where it would stop, the learning rate is divided by 5 and the count
  starts again, unless the learning rate is already at most 1e-6: then
  training stops.

:class:`EpochLearningRate` does this after every epoch, from the logs the fit
loop hands its callbacks; it sets the optimizer's ``learning_rate`` variable,
which the next epoch reads. This module knows nothing of estimators.
"""

import keras

from .._compat import to_numpy
from . import _stopping

__all__ = ["EpochLearningRate"]

# scikit-learn's floor: "adaptive" stops instead of going below it.
_SMALLEST_RATE = 1e-6


class EpochLearningRate(keras.callbacks.Callback):
    """Sets the learning rate after every epoch, as scikit-learn's "sgd" does.

    Parameters
    ----------
    schedule : {"invscaling", "adaptive"}
    learning_rate_init : float
    power_t : float
        Exponent of "invscaling".
    rows_per_epoch : int
        Training rows fed per epoch (``t`` grows by it).
    t : int, default=0
        Rows fed before this fit (a warm start or an earlier ``partial_fit``).
    monitor : {"loss", "val_loss"} or None, default="loss"
        What "adaptive" watches; None: never change the rate on it.
    tol, n_iter_no_change : float, int
        scikit-learn's stopping rule, for "adaptive".
    start : int, default=0
        The first epoch the rule counts (deferred re-weighting).
    state : StoppingState or None
        The rule's state carried over from an earlier call (``partial_fit``).
    verbose : bool, default=False

    Attributes
    ----------
    t : int
        Rows fed so far.
    state : StoppingState
        The rule's state after the last epoch.
    stopped : bool
        Whether "adaptive" stopped training (learning rate at its floor).
    """

    def __init__(
        self,
        schedule,
        learning_rate_init,
        power_t,
        rows_per_epoch,
        *,
        t=0,
        monitor="loss",
        tol=1e-4,
        n_iter_no_change=10,
        start=0,
        state=None,
        verbose=False,
    ):
        super().__init__()
        self.schedule = schedule
        self.learning_rate_init = float(learning_rate_init)
        self.power_t = float(power_t)
        self.rows_per_epoch = int(rows_per_epoch)
        self.t = int(t)
        self.monitor = monitor
        self.tol = float(tol)
        self.n_iter_no_change = int(n_iter_no_change)
        self.start = start
        self.state = _stopping.initial_state() if state is None else state
        self.verbose = verbose
        self.stopped = False
        self._best_weights = None

    def _rate(self):
        return float(to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        self.t += self.rows_per_epoch
        if self.schedule == "invscaling":
            self.model.optimizer.learning_rate = (
                self.learning_rate_init / (self.t + 1) ** self.power_t
            )
        elif self.schedule == "adaptive" and self.monitor is not None and epoch >= self.start:
            self._adapt(float(logs[self.monitor]))

    def _adapt(self, loss):
        self.state, improved, stop = _stopping.update(
            self.state, loss, tol=self.tol, n_iter_no_change=self.n_iter_no_change
        )
        if improved and self.monitor == "val_loss":
            self._best_weights = self.model.get_weights()
        if not stop:
            return
        rate = self._rate()
        if rate <= _SMALLEST_RATE:
            self.stopped = True
            self.model.stop_training = True
            if self.verbose:
                print(f"{self._message()} Learning rate too small. Stopping.")
            return
        self.model.optimizer.learning_rate = rate / 5.0
        self.state = self.state._replace(count=0)
        if self.verbose:
            print(f"{self._message()} Setting learning rate to {rate / 5.0:f}")

    def _message(self):
        what = "Validation loss" if self.monitor == "val_loss" else "Training loss"
        return (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )

    def on_train_end(self, logs=None):
        # With early stopping the rule's best epoch is kept, as the fit loop
        # keeps it when the rule stops training.
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)
