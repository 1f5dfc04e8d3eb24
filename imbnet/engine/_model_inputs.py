"""What a compiled program feeds a model: sparse rows, augmented rows.

Shared by both training paths (the compiled program, :mod:`imbnet.engine._program`,
and ``model.fit``, :mod:`imbnet.engine._keras_fit`).
"""

import keras

__all__ = ["augment_rows", "takes_sparse_rows"]


def takes_sparse_rows(model):
    """Whether a program can train ``model`` on sparse rows.

    Sparse rows are a float32 array of shape ``(n_rows, k, 2)``: each row's
    ``k`` (column, value) pairs, padded with ``(0, 0)``. The model must be
    sequential with a plain ``Dense`` first layer on flat input: the program
    computes that layer as the value-weighted sum of the kernel rows of the
    row's columns, never a dense row.
    """
    if not isinstance(model, keras.Sequential) or not model.layers:
        return False
    first = model.layers[0]
    return (
        len(model.inputs[0].shape) == 2
        and type(first) is keras.layers.Dense
        and first.activity_regularizer is None
        and not getattr(first, "lora_enabled", False)
        and getattr(first, "quantization_mode", None) is None
        and first.compute_dtype == "float32"
    )


def augment_rows(augment, x_batch, row_mask):
    """``augment(x_batch)`` on the rows of ``row_mask``, the other rows unchanged."""
    if isinstance(augment, keras.layers.Layer):
        augmented = augment(x_batch, training=True)
    else:
        augmented = augment(x_batch)
    mask = keras.ops.reshape(row_mask, (-1,) + (1,) * (len(x_batch.shape) - 1))
    return keras.ops.where(mask, augmented, x_batch)
