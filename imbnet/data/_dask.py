"""Dask collections: fit on data larger than memory, predict on the cluster.

The one module that knows Dask (imported lazily: dask stays optional).

Fitting (:func:`fit_dask`, called by ``ResampledKerasClassifier.fit`` for a
Dask ``X``) trains in memory on a fresh down-sample every epoch, drawn on the
cluster:

1. One pass over ``y`` (and ``sample_weight``) on the workers: the rows,
   weight and hold-out rows of every class, reduced to a few numbers on the
   client (:func:`_class_stats`). The class weights, ``class_prior_`` and the
   sampler's keep rates (``sampler.keep_rates(class_counts)``, as
   :class:`imbnet.NegativeDownsampler` gives them) come from these counts.
2. Every epoch, each partition is down-sampled where it lives
   (:func:`imbnet.data._dask_partitions.sample_partition`): every row is kept
   or not by its own coin,
   seeded by (fit seed, epoch, partition), so the draw does not depend on
   the number of workers. Only the kept rows (as NumPy) reach the client,
   where they enter the usual training loop as an epoch source that
   ``redraws`` (:class:`DaskSampleEpochs`).
3. With ``early_stopping``, rows are held out by a seeded coin per row
   (per partition); the held-out rows, down-sampled once with the same keep
   rates and weighted by ``1 / rate``, estimate the validation loss of the
   whole hold-out.

Predicting (:func:`predict_dask`) returns a lazy Dask array: every
partition is predicted on a worker by the fitted estimator, which is one
object of the graph (shipped once to each worker that needs it), not copied
into every partition's task.
"""

from typing import NamedTuple

import numpy as np
from sklearn.base import clone
from sklearn.utils.multiclass import type_of_target

from .._naming import private_layer_names
from .._random import SeedStream, fit_seed
from ..engine._records import Epoch
from ..sampling._batching import epoch_order
from ..sampling._epochs import FitData, _EpochSource
from ..weighting._class_weight import class_weight_from_counts
from ..weighting._targets import ClassTarget
from ._dask_partitions import partition_stats, predict_block, sample_partition

__all__ = [
    "DaskRows",
    "check_in_memory",
    "dask_epochs",
    "fit_dask",
    "is_dask_collection",
    "predict_dask",
]


def is_dask_collection(value):
    """Whether ``value`` is one of Dask's collections (without importing Dask or
    building its graph; xarray and others that may wrap Dask are not)."""
    return (
        not isinstance(value, type)
        and type(value).__module__.partition(".")[0] == "dask"
        and callable(getattr(value, "__dask_graph__", None))
    )


def check_in_memory(estimator, X, y, sample_weight=None, *, method="fit"):
    """Refuse a Dask collection given to a fit that trains on rows in memory.

    Without this, scikit-learn's validation would turn a Dask collection into
    NumPy by computing all of it on the client, silently, however large.
    ``ResampledKerasClassifier`` trains out of core on a Dask ``X`` (and a
    matching ``y``) and calls this only for its in-memory path.

    Raises
    ------
    TypeError
        If any of ``X``, ``y``, ``sample_weight`` is a Dask collection, with
        the fix in the message.
    """
    given = [
        f"{name} is a {type(value).__module__.partition('.')[0]} {type(value).__name__}"
        for name, value in (("X", X), ("y", y), ("sample_weight", sample_weight))
        if is_dask_collection(value)
    ]
    if not given:
        return
    name = type(estimator).__name__
    if method == "partial_fit":
        fix = (
            "partial_fit takes one chunk in memory per call: compute the chunks one by "
            "one, e.g. for part in ddf.partitions: clf.partial_fit(part[features]."
            "compute(), part['label'].compute(), classes=classes)."
        )
    elif is_dask_collection(X):
        fix = (
            "Compute it into memory first (X.compute(), y.compute()) if it fits; for data "
            "larger than memory use imbnet.ResampledKerasClassifier(build_model, "
            "sampler=imbnet.NegativeDownsampler(rate=...)), which fits on a Dask X and y "
            "by drawing a down-sample on the cluster every epoch."
        )
    else:
        fix = (
            "X is in memory: compute the others too (e.g. y.compute()), or pass X as the "
            "matching Dask collection to ResampledKerasClassifier to train out of core."
        )
    raise TypeError(
        f"{name}.{method} trains on rows held in memory and does not take a Dask "
        f"collection ({', '.join(given)}). {fix}"
    )


# ------------------------------------------------------------------ fit
class DaskRows(NamedTuple):
    """The training data of an out-of-core fit, where :class:`FitData` holds ``X``.

    ``parts`` holds one ``(X, y, sample_weight or None)`` triple of Dask
    delayed partitions per partition; ``shape`` and ``dtype`` describe the
    training rows as a whole (for the model builder's ``meta``).
    """

    parts: list
    shape: tuple
    dtype: np.dtype
    classes: np.ndarray
    keep_rates: np.ndarray  # by encoded class
    class_weight: np.ndarray  # by encoded class
    holdout: tuple  # (seed, fraction)
    majority: int  # encoded most frequent class (augmentation spares it)
    expected_rows: float  # of a down-sample of the training rows

    def sample(self, seed, *, validation=False):
        """One down-sample of the training rows (or of the held-out rows),
        computed on the cluster: ``(X float32, encoded labels, weights float32)``."""
        import dask

        task = dask.delayed(sample_partition, pure=True)
        settings = dict(
            classes=self.classes,
            keep_rates=self.keep_rates,
            class_weight=self.class_weight,
            seed=seed,
            holdout=self.holdout,
            validation=validation,
        )
        parts = _compute(
            [task(X, y, w, index, **settings) for index, (X, y, w) in enumerate(self.parts)]
        )
        X = np.concatenate([part[0] for part in parts]).reshape(-1, self.shape[1])
        return (
            X,
            np.concatenate([part[1] for part in parts]),
            np.concatenate([part[2] for part in parts]),
        )


def fit_dask(estimator, X, y, sample_weight):
    """``estimator._fit`` for Dask collections (see the module docstring)."""
    _check_supported(estimator)
    parts, n_features, names = _partitions(X, y, sample_weight)
    estimator.n_features_in_ = n_features
    if names is not None:
        estimator.feature_names_in_ = names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    seeds = SeedStream(fit_seed(estimator.random_state))
    holdout = (
        seeds.seed_for("validation"),
        estimator.validation_fraction if estimator.early_stopping else 0.0,
    )
    classes, counts, train_counts, train_weight = _class_stats(parts, holdout)
    if type_of_target(classes) not in ("binary", "multiclass"):
        raise ValueError(
            f"y holds {type_of_target(classes)} values, not class labels: a classifier "
            "needs discrete labels (integers or strings)."
        )
    if classes.shape[0] < 2:
        raise ValueError(
            f"y contains only one class ({classes[0].item()!r}); a classifier needs "
            "samples of at least two classes."
        )
    target = ClassTarget(classes)
    estimator._target = target
    estimator.classes_ = classes
    estimator.n_classes_ = target.n_classes
    estimator.class_weight_ = class_weight_from_counts(
        estimator.class_weight,
        classes=classes,
        counts=counts,
        mu=estimator.class_weight_mu,
        beta=estimator.class_weight_beta,
    )
    sampler = clone(estimator.sampler)
    rates = sampler.keep_rates(dict(zip(classes.tolist(), train_counts.tolist())))
    estimator.class_prior_ = train_weight / train_weight.sum()
    rows = DaskRows(
        parts=parts,
        shape=(int(train_counts.sum()), n_features),
        dtype=np.dtype(np.float32),
        classes=classes,
        keep_rates=np.array([rates[label] for label in classes.tolist()]),
        class_weight=target.class_weight_vector(estimator.class_weight_),
        holdout=holdout,
        majority=int(np.argmax(counts)),
        expected_rows=float(np.dot(train_counts, [rates[label] for label in classes.tolist()])),
    )
    data = FitData(
        X=rows,
        y=None,
        targets=None,
        weights=None,
        class_weight=rows.class_weight,
        sample_weight=None,
        target=target,
        seeds=seeds,
    )
    estimator._check_fit_data(rows, None)
    validation = None
    if estimator.early_stopping:
        X_val, y_val, w_val = rows.sample(seeds.seed_for("validation-sample"), validation=True)
        if np.unique(y_val).shape[0] < 2:
            raise ValueError(
                "early_stopping: the held-out down-sample has rows of one class only "
                f"({X_val.shape[0]} rows); raise validation_fraction or the sampler's rate."
            )
        validation = (X_val, y_val, w_val)
    with private_layer_names():  # as in ImbalancedKerasClassifier._fit
        estimator._initialize_model(data)
        if validation is not None:
            validation = (validation[0], target.encode(validation[1]), validation[2])
        source = estimator._initialize_epochs(data)
        result = estimator._fit_loop(source, validation, data)
    estimator._record_fit(result, source)
    return estimator


def dask_epochs(estimator, data):
    """The epoch source of an out-of-core fit (``data.X`` is a :class:`DaskRows`)."""
    return DaskSampleEpochs(
        data,
        per_epoch=estimator.resample == "epoch",
        shuffle=estimator.shuffle,
        augment=estimator.augment is not None,
    )


class DaskSampleEpochs(_EpochSource):
    """Every epoch (or once), a down-sample drawn on the cluster.

    The arrays are padded with zero-weight rows (never in the epoch's
    ``order``) to a capacity that changes only when a draw outgrows it, so the
    compiled program keeps its shapes although each draw's size varies.
    """

    redraws = True

    def __init__(self, data, *, per_epoch, shuffle, augment):
        super().__init__(data)
        self.rows = data.X
        self.per_epoch = per_epoch
        self.shuffle = shuffle
        self.augment = augment
        self._rng = data.seeds.rng("batches")
        expected = self.rows.expected_rows  # a draw's size is binomial around it
        self.capacity = _round_up(expected + 6 * np.sqrt(expected) + 64)
        self._arrays = {}

    def _sampled(self, draw):
        if draw not in self._arrays:
            X, codes, w = self.rows.sample(self.data.seeds.seed_for(f"dask-sample{draw}"))
            n = X.shape[0]
            if n == 0:
                raise ValueError(
                    "the down-sample of this epoch is empty: the data has no rows, or "
                    "the sampler's rate is too low for it."
                )
            if n > self.capacity:
                self.capacity = _round_up(n * 1.1)
            targets = self.data.target.encode(codes)
            augment = None
            if self.augment:  # every class but the most frequent one
                augment = _pad(codes != self.rows.majority, self.capacity)
            self._arrays = {
                draw: (
                    _pad(X, self.capacity),
                    _pad(targets, self.capacity),
                    _pad(w, self.capacity),
                    n,
                    augment,
                )
            }
        return self._arrays[draw]

    def _draw(self, epoch):
        X, targets, w, n, augment = self._sampled(epoch if self.per_epoch else 0)
        return Epoch(X, targets, w, epoch_order(n, shuffle=self.shuffle, rng=self._rng), augment)


def _round_up(n, step=1024):
    return int(-(-int(np.ceil(n)) // step) * step)


def _pad(array, n_rows):
    if array.shape[0] == n_rows:
        return array
    padded = np.zeros((n_rows,) + array.shape[1:], array.dtype)
    padded[: array.shape[0]] = array
    return padded


def _check_supported(estimator):
    """Refuse, before reading any data, what cannot train out of core."""
    sampler = estimator.sampler
    if estimator.batch_ratio is not None:
        raise ValueError(
            "batch_ratio draws balanced batches from every row in memory; on a Dask "
            "collection use sampler=NegativeDownsampler(rate=...) instead (and leave "
            "batch_ratio=None)."
        )
    if sampler is None:
        raise ValueError(
            "fitting on a Dask collection trains on a down-sample drawn on the cluster "
            "every epoch: set sampler=imbnet.NegativeDownsampler(rate=...) (e.g. 0.01), "
            "or compute X and y into memory (X.compute()) to train on every row."
        )
    if not callable(getattr(sampler, "keep_rates", None)):
        raise TypeError(
            f"{type(sampler).__name__} cannot resample a Dask collection: it needs all "
            "rows in memory at once. Use sampler=imbnet.NegativeDownsampler(rate=...), "
            "which draws partition by partition on the cluster; or fit on a sample "
            "computed into memory (e.g. ddf.sample(frac=0.1).compute()) with "
            f"{type(sampler).__name__}."
        )


def _partitions(X, y, sample_weight):
    """One ``(X, y, w)`` triple of delayed partitions per partition; n_features; names."""
    import dask.array as da
    import dask.dataframe as dd

    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None and not is_dask_collection(value):
            raise TypeError(
                f"X is a Dask collection but {name} is a {type(value).__name__}: pass {name} "
                "as the matching Dask Series or Array, e.g. X = ddf[features], "
                "y = ddf['label'], so that their partitions line up."
            )
    if isinstance(X, dd.DataFrame):
        return _frame_partitions(X, y, sample_weight)
    if not isinstance(X, da.Array):
        raise TypeError(
            f"X is a {type(X).__name__}; out of core, X must be a Dask DataFrame or a "
            "2-D Dask Array (e.g. dask.dataframe.read_parquet(...)[features])."
        )
    if X.ndim != 2:
        raise ValueError(f"a Dask Array X must be 2-D (rows, features); got {X.ndim} dimensions.")
    X = X.rechunk({1: -1})
    x_parts = list(X.to_delayed()[:, 0])
    y_parts = _vector_parts(y, "y", X.chunks[0])
    w_parts = (
        [None] * len(x_parts)
        if sample_weight is None
        else _vector_parts(sample_weight, "sample_weight", X.chunks[0])
    )
    for name, parts in (("y", y_parts), ("sample_weight", w_parts)):
        if len(parts) != len(x_parts):
            raise ValueError(
                f"X has {len(x_parts)} chunks of rows but {name} has {len(parts)}: chunk "
                f"them alike, e.g. {name}.rechunk(X.chunks[0])."
            )
    return list(zip(x_parts, y_parts, w_parts)), X.shape[1], None


_Y, _W = "__imbnet_y__", "__imbnet_w__"


def _frame_partitions(X, y, sample_weight):
    """A Dask DataFrame ``X``: ``y`` and ``sample_weight`` joined to it as columns,
    so that one read of each partition gives all three, lined up."""
    import dask.dataframe as dd

    for column, dtype in X.dtypes.items():
        if not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)):
            raise ValueError(
                f"X must be numeric; column {column!r} has dtype {dtype}: encode string "
                "or categorical columns first (e.g. with map_partitions)."
            )
    columns = list(X.columns)
    extra = {}
    for name, key, value in (("y", _Y, y), ("sample_weight", _W, sample_weight)):
        if value is None:
            continue
        if isinstance(value, dd.DataFrame) and len(value.columns) == 1:
            value = value[value.columns[0]]
        if not isinstance(value, dd.Series):
            raise TypeError(
                f"X is a Dask DataFrame, so {name} must be a Dask Series of the same "
                f"frame (e.g. ddf['label']); got a {type(value).__name__}"
                + (
                    " (multilabel targets are not supported on Dask collections)."
                    if isinstance(value, dd.DataFrame)
                    else "."
                )
            )
        extra[key] = value
    try:
        frame = X.assign(**extra)
    except (ValueError, TypeError, NotImplementedError) as error:
        raise ValueError(
            f"X, y and sample_weight must line up row by row ({error}): take them from "
            "one Dask DataFrame, e.g. X = ddf[features], y = ddf['label']."
        ) from error
    parts = [
        (part[columns], part[_Y], part[_W] if _W in extra else None) for part in frame.to_delayed()
    ]
    names = np.asarray(columns, dtype=object) if all(isinstance(c, str) for c in columns) else None
    return parts, len(columns), names


def _vector_parts(value, name, row_chunks):
    """The row chunks of a 1-D Dask Array ``value``, chunked as ``X``'s rows."""
    import dask.array as da

    if not isinstance(value, da.Array):
        raise TypeError(
            f"X is a Dask Array, so {name} must be a 1-D Dask Array chunked like X's rows; "
            f"got a {type(value).__name__} (e.g. ddf['label'].to_dask_array(lengths=True))."
        )
    if value.ndim == 2 and value.shape[1] == 1:
        value = value[:, 0]
    if value.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D; got shape {value.shape} (multilabel targets are not "
            "supported on Dask collections)."
        )
    if not np.isnan(sum(row_chunks)) and value.chunks[0] != row_chunks:
        value = value.rechunk({0: row_chunks})
    return list(value.to_delayed())


def _class_stats(parts, holdout):
    """Per class: all rows, training rows and the training rows' total sample
    weight, reduced on the cluster; only these numbers reach the client."""
    import dask

    task = dask.delayed(partition_stats, pure=True)
    stats = _compute([task(y, w, index, holdout) for index, (_, y, w) in enumerate(parts)])
    classes = np.unique(np.concatenate([labels for labels, *_ in stats]))
    totals = np.zeros((3, classes.shape[0]))
    for labels, *numbers in stats:
        codes = np.searchsorted(classes, labels)
        for total, number in zip(totals, numbers):
            np.add.at(total, codes, number)
    if not totals[2].sum() > 0:
        raise ValueError(
            "sample_weight must contain at least one non-zero number among the training "
            "rows. Give at least one sample a positive weight."
        )
    return classes, totals[0], totals[1], totals[2]


def _compute(tasks):
    """Compute ``tasks`` (on the cluster, with a Dask client): every array that
    reaches the client in a fit passes through here."""
    import dask

    return dask.compute(*tasks)


# -------------------------------------------------------------- predict
def predict_dask(estimator, X, method="predict_proba"):
    """``estimator.<method>(X)`` as a lazy Dask array, one block per partition of ``X``.

    The estimator is one object of the graph that every block's task depends
    on: Dask ships it once to each worker that computes a block.
    """
    import dask
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(X, dd.DataFrame):
        parts, lengths = list(X.to_delayed()), None
    elif isinstance(X, da.Array) and X.ndim >= 2:
        X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
        parts = list(X.to_delayed().reshape(X.numblocks[0], -1)[:, 0])
        lengths = X.chunks[0]
    else:
        raise TypeError(
            f"X is a {type(X).__name__}; to predict out of core pass a Dask DataFrame "
            "or a Dask Array with one row per sample."
        )
    fitted = dask.delayed(estimator, pure=False)
    if method == "predict":
        width, dtype = (), estimator.classes_.dtype
    else:
        width, dtype = (estimator.n_classes_,), np.dtype(np.float64)
        if estimator._target.multilabel:
            width = (estimator.classes_.shape[0],)
    task = dask.delayed(predict_block, pure=True)
    blocks = [
        da.from_delayed(
            task(fitted, part, method),
            dtype=dtype,
            shape=(np.nan if lengths is None else lengths[i],) + width,
        )
        for i, part in enumerate(parts)
    ]
    return da.concatenate(blocks, axis=0)
