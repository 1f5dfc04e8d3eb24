"""The training engine: how a network's epochs run, whoever asks for them.

- ``_loop``: the fit loop (``train``), read top to bottom;
- ``_records``: what the loop is handed and hands back (``Epoch``, ``Stopping``,
  ``TrainResult``);
- ``_program`` / ``_program_cache``: the whole fit as one XLA-compiled program, and
  which compiled program a fit runs on;
- ``_concrete_calls``: calls of a compiled function without TensorFlow's per-call
  binding of the arguments;
- ``_chunks``: a call's data in the program's shapes (padding, width buckets);
- ``_model_state`` / ``_held_state``: a model's state between fits, and whether a
  program still holds it (``partial_fit`` without copies);
- ``_penalties`` / ``_model_inputs``: weight penalties a program reads as data; the
  sparse and augmented rows it feeds a model;
- ``_member_training``: model selection's perceptrons side by side, each as if alone;
- ``_keras_fit``: the backend-independent path through ``model.fit``;
- ``_stopping`` / ``_schedules``: scikit-learn's stopping rule and learning-rate
  schedules;
- ``_stacking``: many networks of one architecture trained side by side;
- ``_worker_threads``: TensorFlow's thread pools inside joblib workers;
- ``_persistent_cache``: XLA's compilations kept on disk for the next process.

Internal: nothing here knows of the estimators, and nothing is public API.
"""
