"""The small Keras network the tests build: one hidden layer, sigmoid or softmax output."""

import keras


def build(meta, units=8):
    """Binary: one sigmoid unit; multiclass: one softmax unit per class."""
    n_classes = meta["n_classes_"]
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(1 if n_classes == 2 else n_classes,
                           activation="sigmoid" if n_classes == 2 else "softmax"),
    ])
