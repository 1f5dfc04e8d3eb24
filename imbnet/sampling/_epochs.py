"""What each epoch trains on: the epoch sources.

A fit gathers its data once into a :class:`FitData` (the training rows, their
encoded labels, network targets and loss weights, and the fit's seeds); an
epoch source made from it hands the training loop one
:class:`imbnet.engine._records.Epoch` per epoch:

- :class:`PlainEpochs`: the same arrays every epoch, rows in a fresh order;
- :class:`BalancedBatchEpochs`: the same arrays, batches that each hold the
  classes at a capped ratio (:class:`imbnet.sampling._batching.BalancedBatchPlan`);
- :class:`SamplerEpochs`: an imbalanced-learn sampler's draw, redrawn every
  epoch (or once), so the arrays themselves change;
- :class:`MemberDraws`: for networks trained side by side (an ensemble), each
  member's own balanced draw, redrawn every epoch: an order of shape
  (n_rows, n_members) that feeds every member its own rows.

When the rows change every epoch (a sampler redrawn, an ensemble's draws),
the loss of an epoch's draw jumps with the draw, and a stopping rule on it
stops on that noise: :func:`steady_rows` are the rows such a fit's rule
watches instead.

A source answers the same epoch twice with the same draw (the loop may look
ahead, and the output-bias initialisation looks at epoch 0 first), and
tallies the class mix it hands out (:class:`imbnet.weighting._priors.PriorTally`).
This module knows nothing of estimators.
"""

from typing import NamedTuple

import numpy as np

from ..engine._records import Epoch
from ._batching import BalancedBatchPlan, epoch_order
from ._row_draws import member_plan, random_subsets, row_plan
from ._samplers import resample, seeded_clone, stack_draws

__all__ = [
    "BalancedBatchEpochs",
    "DeferredReweighting",
    "FitData",
    "MemberDraws",
    "PlainEpochs",
    "SamplerEpochs",
    "out_of_bag_rows",
    "steady_rows",
]


class FitData(NamedTuple):
    """One fit's training data, as the epoch sources need it.

    ``y`` holds the encoded labels, ``targets`` what the network is trained
    to output for them (:meth:`encode` of the target), ``weights`` the loss
    weight of every row (class weight × sample weight; per entry for a
    multilabel target), ``class_weight`` the weight of each encoded class
    (None for multilabel), ``sample_weight`` the caller's weights or None.
    """

    X: np.ndarray
    y: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    class_weight: np.ndarray
    sample_weight: np.ndarray
    target: object
    seeds: object
    augment_rows: np.ndarray = None


class _EpochSource:
    """Base of the sources: memoised draws and the tally of the class mix."""

    redraws = False

    def __init__(self, data):
        self.data = data
        self.tally = data.target.tally()
        self._drawn = {}

    def __call__(self, epoch):
        if epoch not in self._drawn:
            arrays = self._drawn[epoch] = self._draw(epoch)
            self.tally.add(epoch, arrays.y, arrays.w, arrays.order, self.data.target.encoding)
            for old in [e for e in self._drawn if e < epoch - 1]:
                del self._drawn[old]
        return self._drawn[epoch]

    def _draw(self, epoch):
        raise NotImplementedError


class PlainEpochs(_EpochSource):
    """The training arrays every epoch, in a fresh row order (or in order).

    Every epoch feeds every row once, so the class mix is the same each
    epoch: tallied once. :meth:`epochs` draws many epochs' orders at once.
    """

    def __init__(self, data, *, shuffle):
        super().__init__(data)
        self.shuffle = shuffle
        self._rng = data.seeds.rng("batches")
        self._mix = None

    def __call__(self, epoch):
        return self.epochs(epoch, 1)[0]

    def epochs(self, first, count):
        """Epochs ``first .. first + count - 1`` (drawn ones as they were drawn)."""
        d = self.data
        n_rows = d.X.shape[0]
        new = [e for e in range(first, first + count) if e not in self._drawn]
        if new:
            if self.shuffle:
                orders = self._rng.permuted(
                    np.broadcast_to(np.arange(n_rows), (len(new), n_rows)), axis=1
                )
            else:
                orders = np.broadcast_to(np.arange(n_rows), (len(new), n_rows))
            for e, order in zip(new, orders):
                self._drawn[e] = Epoch(d.X, d.targets, d.weights, order, d.augment_rows)
                if self._mix is None:
                    self.tally.add(e, d.targets, d.weights, order, d.target.encoding)
                    self._mix = self.tally.mass(e)
                else:
                    self.tally.set_mass(e, self._mix)
            for old in [e for e in self._drawn if e < first - 1]:
                del self._drawn[old]
        return [self._drawn[e] for e in range(first, first + count)]


class BalancedBatchEpochs(_EpochSource):
    """The training arrays every epoch, in class-balanced batches."""

    def __init__(self, data, *, batch_size, ratio):
        super().__init__(data)
        self._plan = BalancedBatchPlan(data.y, batch_size, ratio, data.seeds.rng("batches"))

    def _draw(self, epoch):
        d = self.data
        return Epoch(d.X, d.targets, d.weights, self._plan.epoch(), d.augment_rows)


class SamplerEpochs(_EpochSource):
    """An imbalanced-learn sampler's draw, new every epoch (``per_epoch``) or once.

    A sampler redrawn every epoch that keeps rows of ``X`` as they are and
    says which (``sample_indices_``: random under- and over-sampling) is
    handed over as row orders into the same arrays, like
    :class:`PlainEpochs`, so that many epochs run per compiled call; the
    rows, their weights and their order are those of the resampled arrays.

    Parameters
    ----------
    data : FitData
    sampler : object with ``fit_resample``
        Cloned for every draw, its ``random_state`` set from the fit's seeds.
    per_epoch : bool
    shuffle : bool
    current_loss : callable or None
        ``current_loss() -> ndarray (n_samples,)``: every training row's loss
        under the model as trained so far, for samplers whose
        ``fit_resample`` takes ``sample_loss`` (hard-negative mining); drawn
        before every epoch but the first.
    minority_rows : callable or None
        ``minority_rows(y) -> bool mask`` of the rows to augment.
    """

    def __init__(self, data, *, sampler, per_epoch, shuffle, current_loss=None, minority_rows=None):
        super().__init__(data)
        self.sampler = sampler
        self.per_epoch = per_epoch
        self.shuffle = shuffle
        self.current_loss = current_loss
        self.minority_rows = minority_rows
        self._rng = data.seeds.rng("batches")
        # A sampler with redraw (GANOverSampler) is fitted at draw 0 only, then redrawn.
        self._fitted = [] if callable(getattr(sampler, "redraw", None)) else None
        self._resampled = {}
        self._resampled_arrays(
            0
        )  # now: a sampler that cannot resample this data fails before training
        # A sampler that keeps rows of X as they are (random under- or over-sampling)
        # is redrawn as row indices into the same arrays: many epochs per compiled call.
        self._rows = {}
        self._plan = None
        if per_epoch and current_loss is None and self._fitted is None and minority_rows is None:
            self._rows_of(0)
        self._by_index = bool(self._rows)
        # Drawn once, the arrays stay the same: many epochs per call too.
        self.redraws = per_epoch and not self._by_index

    def _rows_of(self, draw):
        """The rows draw ``draw`` keeps, by index (its ``sample_indices_``); None if the
        sampler does not give them or its rows are not ``X``'s rows as they are.

        A random under- or over-sampler's later draws come from :func:`row_plan` (its
        class counts, a fresh random choice of rows) rather than a new ``fit_resample``,
        whose validation costs more than a small network's epoch."""
        if draw not in self._rows:
            d = self.data
            if draw > 0 and self._plan is not None:
                self._rows = {draw: self._plan(d.seeds.rng(f"sampler{draw}"))}
                return self._rows[draw]
            if not isinstance(d.X, np.ndarray) or d.X.dtype.kind in "OUS":
                return None
            sampler = seeded_clone(self.sampler, d.seeds.seed_for(f"sampler{draw}"))
            X_new, _ = sampler.fit_resample(d.X.reshape(len(d.X), -1), d.y)
            rows = getattr(sampler, "sample_indices_", None)
            if rows is None or (
                draw == 0 and not np.array_equal(X_new, d.X[rows].reshape(len(rows), -1))
            ):
                return None
            if draw == 0:
                self._plan = row_plan(sampler, d.y, np.asarray(rows))
            self._rows = {draw: np.asarray(rows)}
        return self._rows[draw]

    def epochs(self, first, count):
        """Epochs ``first ..`` up to ``first + count - 1`` (drawn ones as they were drawn),
        ending before the first whose draw has another row count than epoch ``first``'s
        (a sampler that keeps a random number of rows): one compiled call trains epochs
        of one shape. That epoch stays drawn, and starts the next call."""
        found = [self(first)]
        for epoch in range(first + 1, first + count):
            drawn = self(epoch)
            if len(drawn.order) != len(found[0].order):
                break
            found.append(drawn)
        return found

    def _resampled_arrays(self, draw):
        if draw not in self._resampled:
            d = self.data
            sample_loss = (
                self.current_loss() if self.current_loss is not None and draw > 0 else None
            )
            X, y, w = resample(
                self.sampler,
                d.X,
                d.y,
                d.weights,
                d.class_weight,
                seed=d.seeds.seed_for(f"sampler{draw}"),
                user_weights=d.sample_weight is not None,
                sample_loss=sample_loss,
                fitted=self._fitted,
            )
            augment = self.minority_rows(y) if self.minority_rows is not None else None
            self._resampled = {draw: (X, d.target.encode(y), w, augment)}
        return self._resampled[draw]

    def _draw(self, epoch):
        if self._by_index:
            d, rows = self.data, self._rows_of(epoch)
            order = rows[epoch_order(rows.shape[0], shuffle=self.shuffle, rng=self._rng)]
            return Epoch(d.X, d.targets, d.weights, order)
        X, targets, w, augment = self._resampled_arrays(epoch if self.per_epoch else 0)
        order = epoch_order(X.shape[0], shuffle=self.shuffle, rng=self._rng)
        return Epoch(X, targets, w, order, augment)


class MemberDraws(_EpochSource):
    """Every epoch, a fresh balanced draw of the rows for each of ``n_members`` networks.

    Without a sampler, each member gets a random under-sample: every class
    cut to the size of the rarest, drawn by row index, so the arrays stay
    the same and only the order changes (many epochs per compiled call). The
    order has shape (n_rows, n_members): slot ``i`` feeds member ``k`` row
    ``order[i, k]``. :meth:`epochs` draws many epochs' orders for all
    members in a few vectorised NumPy calls. With an imbalanced-learn
    ``sampler`` each member's draw is the sampler's output, and the epoch's
    arrays stack the members' rows along a second axis (shorter draws padded
    with rows of weight 0). ``draws_per_epoch`` (without a sampler): each
    member's epoch is that many under-samples one after the other.
    ``out_of_bag`` (without a sampler): each member leaves this share of
    every class's rows (at least one of a class of two or more) out of all
    its draws, a random choice of its own; ``in_bag`` (shape (n_members,
    n_rows)) marks the rows it may draw. A random under- or over-sampler
    (as :func:`row_plan` knows them) is drawn as row indices too: its first
    draw resolves each class's count, and every member's draws keep those
    counts, so the arrays stay the same.
    """

    def __init__(self, data, *, n_members, sampler=None, draws_per_epoch=1, out_of_bag=None):
        super().__init__(data)
        self.n_members = n_members
        self.sampler = sampler
        self.draws_per_epoch = int(draws_per_epoch)
        self._rng = data.seeds.rng("members")
        self._plan = None if sampler is None else member_plan(sampler, data)
        self.redraws = sampler is not None and self._plan is None
        self._fitted = [
            [] if callable(getattr(sampler, "redraw", None)) else None for _ in range(n_members)
        ]
        by_class = [np.flatnonzero(data.y == c) for c in range(int(data.y.max()) + 1)]
        self._by_class = [rows for rows in by_class if rows.size]
        # Each class's rows a member draws from: shape (n_members, pool size).
        self._pools = [np.broadcast_to(rows, (n_members, rows.size)) for rows in self._by_class]
        self.in_bag = None
        if out_of_bag is not None and sampler is None:
            bag_rng = data.seeds.rng("bags")
            self._pools = []
            for rows in self._by_class:
                left_out = min(
                    rows.size - 1, max(int(rows.size > 1), round(out_of_bag * rows.size))
                )
                self._pools.append(
                    np.stack(
                        [np.sort(bag_rng.permutation(rows)[left_out:]) for _ in range(n_members)]
                    )
                )
            self.in_bag = np.zeros((n_members, data.y.shape[0]), bool)
            for pool in self._pools:
                np.put_along_axis(self.in_bag, pool, True, axis=1)
        # Rows of a class all weigh the same: every under-sample has the same class mix.
        weights = np.asarray(data.weights)
        self._mix = None
        self._same_mix = weights.ndim == 1 and all(
            np.ptp(weights[rows]) == 0 for rows in self._by_class
        )
        self(0)  # now: a sampler that cannot resample this data fails before training

    def __call__(self, epoch):
        return self.epochs(epoch, 1)[0]

    def epochs(self, first, count):
        """Epochs ``first .. first + count - 1`` (drawn ones as they were drawn)."""
        if self.redraws:
            return [super(MemberDraws, self).__call__(e) for e in range(first, first + count)]
        d = self.data
        new = [e for e in range(first, first + count) if e not in self._drawn]
        if new:
            if self._plan is None:
                orders = self._under_samples(len(new))
            else:
                orders = self._planned_draws(len(new))
            for e, order in zip(new, orders):
                self._drawn[e] = Epoch(d.X, d.targets, d.weights, order)
                if self._mix is None:
                    self.tally.add(e, d.targets, d.weights, order, d.target.encoding)
                    self._mix = self.tally.mass(e) if self._same_mix else None
                else:
                    self.tally.set_mass(e, self._mix)
            for old in [e for e in self._drawn if e < first - 1]:
                del self._drawn[old]
        return [self._drawn[e] for e in range(first, first + count)]

    def _under_samples(self, n_epochs):
        """``n_epochs`` orders of shape (n_rows, n_members): each column every class's
        rows cut at random to the rarest class's count, shuffled. Drawn in blocks
        of epochs of at most ``_DRAW_BLOCK`` row indices."""
        smallest = min(pool.shape[1] for pool in self._pools)
        n_order = smallest * len(self._pools)
        per_epoch = self.n_members * self.draws_per_epoch
        block = max(1, _DRAW_BLOCK // (n_order * per_epoch))
        orders = []
        for start in range(0, n_epochs, block):
            n_draws = min(block, n_epochs - start) * per_epoch
            # draw i is member (i // draws_per_epoch) % n_members's
            member = (np.arange(n_draws) // self.draws_per_epoch % self.n_members)[:, None]
            parts = [
                pool[member, random_subsets(self._rng, pool.shape[1], smallest, n_draws)]
                for pool in self._pools
            ]
            drawn = self._rng.permuted(np.concatenate(parts, axis=1), axis=1)
            # a member's draws of an epoch one after the other
            drawn = drawn.reshape(-1, self.n_members, self.draws_per_epoch * n_order)
            orders.extend(drawn.transpose(0, 2, 1))
        return orders

    def _planned_draws(self, n_epochs):
        """``n_epochs`` orders of shape (n_rows, n_members): each column a draw of the
        sampler's :func:`row_plan`, shuffled."""
        draws = np.stack([self._plan(self._rng) for _ in range(n_epochs * self.n_members)])
        drawn = self._rng.permuted(draws, axis=1).reshape(n_epochs, self.n_members, -1)
        return list(drawn.transpose(0, 2, 1))

    def _draw(self, epoch):
        d = self.data
        draws = [
            resample(
                self.sampler,
                d.X,
                d.y,
                d.weights,
                d.class_weight,
                seed=d.seeds.seed_for(f"member{k}-epoch{epoch}"),
                user_weights=d.sample_weight is not None,
                fitted=self._fitted[k],
            )
            for k in range(self.n_members)
        ]
        X, y, w = stack_draws(draws, self._rng)
        targets = d.target.encode(y)
        return Epoch(X, targets, w, self._rng.permutation(X.shape[0]))


def steady_rows(X, y, w, share, rng, *, per_class=256, limit=2048, pad_to=512):
    """Rows whose weighted loss a fit on redrawn rows may stop on: ``(X, y, w)``.

    The loss of an epoch's draw jumps with the draw; the loss of fixed rows
    does not. These are ``X``'s rows (``y`` encoded labels, ``w`` their loss
    weights): every row of a class with at most ``per_class`` rows (or twice
    the rarest class's count, if more; at most ``limit`` rows in all, if not None), else a
    random subset of that many, each class's weights scaled so that it holds
    the share ``share[c]`` of the weight it holds in the draws (e.g. equal
    shares under random under-sampling); the weights add up to the number of
    rows kept. Padded with rows of weight 0 to a
    power of two of at least ``pad_to`` rows, so that fits of other sizes
    share a compiled program.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> X, y_s, w = steady_rows(np.zeros((100, 2)), y, np.ones(100), np.array([0.5, 0.5]),
    ...                         np.random.default_rng(0), per_class=20)
    >>> X.shape, [float(w[y_s == c].sum()) for c in (0, 1)], int((w > 0).sum())
    ((512, 2), [15.0, 15.0], 30)
    """
    n_classes = share.shape[0]
    rows = _steady_indices(y, n_classes, rng, per_class, limit)
    X, y, w = X[rows], y[rows], np.asarray(w, np.float64)[rows]
    w = (w * _class_scale(y, w, share)[y] * y.shape[0]).astype(np.float32)
    return _padded_steady(X, y, w, pad_to)


def out_of_bag_rows(X, y, w, in_bag, share, rng, *, per_class=256, pad_to=512):
    """Rows each of several members may stop on, none of which it trains on.

    As :func:`steady_rows` (the same choice of rows, at most ``per_class``
    per class or twice the rarest class's count), but ``w`` becomes one
    column per member: a row weighs 0 for the members whose bag (``in_bag``,
    shape (n_members, n_rows)) holds it, and each member's out-of-bag rows
    of a class hold the share ``share[c]`` of its weight. Returns ``(X, y,
    w)``, ``w`` of shape (n_kept, n_members), padded as :func:`steady_rows`.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0] * 8 + [1] * 4)
    >>> in_bag = np.array([[True] * 6 + [False] * 2 + [True] * 3 + [False]] * 2)
    >>> X, y_s, w = out_of_bag_rows(np.zeros((12, 1)), y, np.ones(12), in_bag,
    ...                             np.array([0.5, 0.5]), np.random.default_rng(0))
    >>> w.shape, [float(w[y_s == c, 0].sum()) for c in (0, 1)]
    ((512, 2), [1.5, 1.5])
    """
    n_classes = share.shape[0]
    rows = _steady_indices(y, n_classes, rng, per_class, None)
    X, y, w = X[rows], y[rows], np.asarray(w, np.float64)[rows]
    weights = []
    for bag in np.asarray(in_bag)[:, rows]:
        w_k = np.where(bag, 0.0, w)
        weights.append(w_k * _class_scale(y, w_k, share)[y] * np.count_nonzero(w_k))
    return _padded_steady(X, y, np.stack(weights, axis=1).astype(np.float32), pad_to)


def _steady_indices(y, n_classes, rng, per_class, limit):
    """The rows :func:`steady_rows` keeps, in order."""
    counts = np.bincount(y, minlength=n_classes)
    smallest = counts[counts > 0].min()
    quota = max(per_class, 2 * smallest)
    if limit is not None:
        quota = min(quota, max(1, limit // n_classes))
    rows = []
    for c in range(n_classes):
        of_class = np.flatnonzero(y == c)
        if of_class.size > quota:
            of_class = np.sort(rng.choice(of_class, quota, replace=False))
        rows.append(of_class)
    return np.concatenate(rows)


def _class_scale(y, w, share):
    """Per class, the factor giving its rows' weights ``w`` the total ``share[c]``."""
    n_classes = share.shape[0]
    mass = np.bincount(y, weights=w, minlength=n_classes)
    return np.divide(share, mass, out=np.zeros(n_classes), where=mass > 0)


def _padded_steady(X, y, w, pad_to):
    """``(X, y, w)`` padded with rows of weight 0 to a power of two of at least ``pad_to``."""
    n_pad = max(pad_to, 1 << max(0, y.shape[0] - 1).bit_length())
    pad = n_pad - y.shape[0]
    return (
        np.concatenate([X, np.repeat(X[:1], pad, axis=0)]),
        np.concatenate([y, np.repeat(y[:1], pad)]),
        np.concatenate([w, np.zeros((pad,) + w.shape[1:], np.float32)]),
    )


_DRAW_BLOCK = 1 << 21  # row indices drawn at once by MemberDraws (16 MB)


class DeferredReweighting:
    """``source`` whose epochs before ``start`` carry no class weights.

    Deferred re-weighting (DRW, Cao et al., 2019): the first epochs train
    with the sample weights only, the rest with the class weights too. Each
    epoch's weights are divided by the class weight of its entries
    (``entry_class_weight(targets)``), once per array the source hands out.
    """

    def __init__(self, source, start, entry_class_weight, encoding):
        self.source = source
        self.start = start
        self.entry_class_weight = entry_class_weight
        self.encoding = encoding
        self.redraws = source.redraws
        self.tally = source.tally
        self._plain = (None, None)

    def __call__(self, epoch):
        arrays = self.source(epoch)
        if epoch >= self.start:
            return arrays
        if self._plain[0] is not arrays.w:
            plain = np.asarray(arrays.w, np.float64) / self.entry_class_weight(arrays.y)
            self._plain = (arrays.w, plain.astype(np.float32))
        arrays = arrays._replace(w=self._plain[1])
        # The class mix of what the epoch really trains on (replaces the source's).
        self.tally.add(epoch, arrays.y, arrays.w, arrays.order, self.encoding)
        return arrays
