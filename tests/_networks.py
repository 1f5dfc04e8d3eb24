"""The small Keras network the tests build: one hidden layer, the output the target needs."""

import keras


def build(meta, units=8, dropout=0.0):
    """Binary: one sigmoid unit; multiclass: one softmax unit per class;
    multilabel: one sigmoid unit per label. ``dropout`` after the hidden layer."""
    n_classes = meta["n_classes_"]
    if meta.get("target_type_") == "multilabel-indicator":
        width, activation = n_classes, "sigmoid"
    else:
        width = 1 if n_classes == 2 else n_classes
        activation = "sigmoid" if n_classes == 2 else "softmax"
    shape = meta["X_shape_"][1:] if "X_shape_" in meta else (meta["n_features_in_"],)
    layers = [keras.Input(shape), keras.layers.Dense(units, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return keras.Sequential([*layers, keras.layers.Dense(width, activation=activation)])
