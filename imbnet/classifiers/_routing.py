"""Routed parameters, model builders, and Keras optimizers and losses made from settings.

scikeras's conventions, which Keras users know: ``model__units=64`` reaches
the model builder as ``units=64``, ``optimizer__learning_rate`` the
optimizer, ``loss__from_logits`` the loss, and ``fit__epochs`` /
``fit__batch_size`` / ``fit__callbacks`` override the fit settings. A builder
may take ``meta`` (what is known of the data) and ``compile_kwargs`` (the
optimizer and loss it should compile with). This module knows nothing of
estimators.
"""

import inspect

import keras

from .._validation import add_hint, did_you_mean

__all__ = [
    "FIT_ROUTED",
    "ROUTING_PREFIXES",
    "builder_parameters",
    "call_builder",
    "check_routed",
    "is_routed",
    "make_keras_loss",
    "make_optimizer",
    "routed",
]

ROUTING_PREFIXES = ("model", "optimizer", "loss", "fit")
FIT_ROUTED = ("epochs", "batch_size", "callbacks")
# Arguments imbnet itself passes to a model builder.
_BUILDER_FILLED = ("meta", "compile_kwargs")


def is_routed(name):
    """Whether ``name`` is a routed parameter (``prefix__rest``)."""
    prefix, separator, rest = name.partition("__")
    return bool(separator) and bool(rest) and prefix in ROUTING_PREFIXES


def routed(params, prefix):
    """``{rest: value}`` of the parameters named ``prefix__rest``."""
    start = prefix + "__"
    return {name[len(start) :]: value for name, value in params.items() if name.startswith(start)}


def _takes(function, name):
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def builder_parameters(model):
    """Names a model builder takes as routed parameters; None if it takes any."""
    if model is None or isinstance(model, keras.Model):
        return None
    try:
        parameters = inspect.signature(model).parameters.values()
    except (TypeError, ValueError):  # a callable without a signature
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [
        p.name
        for p in parameters
        if p.name not in _BUILDER_FILLED and p.kind is not p.VAR_POSITIONAL
    ]


def call_builder(build, routed_params, meta, compile_kwargs):
    """``build(**routed_params)``, with ``meta`` and ``compile_kwargs`` where it takes them."""
    kwargs = dict(routed_params)
    if _takes(build, "meta"):
        kwargs["meta"] = meta
    if _takes(build, "compile_kwargs"):
        kwargs["compile_kwargs"] = compile_kwargs()
    model = build(**kwargs)
    if not isinstance(model, keras.Model):
        raise TypeError(f"the model builder returned {type(model).__name__}, not a keras.Model.")
    return model


def check_routed(names, *, model, loss, own, imbnet_losses):
    """Every routed parameter reaches something that takes it; else a TypeError."""
    builder = builder_parameters(model)
    for name in names:
        prefix, _, rest = name.partition("__")
        if prefix == "fit" and rest not in FIT_ROUTED:
            raise TypeError(
                f"{name!r} is not a routed fit setting; the ones there are: "
                + ", ".join(f"fit__{setting}" for setting in FIT_ROUTED)
                + ". imbnet runs its own fit loop rather than model.fit."
                + did_you_mean(name, [f"fit__{setting}" for setting in FIT_ROUTED])
            )
        if not is_routed(name):
            hint = (
                f" Did you mean 'model__{name}'?"
                if builder and name in builder
                else did_you_mean(name, own)
            )
            raise TypeError(
                f"ResampledKerasClassifier got an unexpected parameter {name!r}. "
                "Parameters for the model builder, optimizer or loss take a prefix: "
                f"model__{name.split('__')[-1]}, optimizer__..., loss__...{hint}"
            )
        if prefix == "model" and isinstance(model, keras.Model):
            raise TypeError(
                f"{name!r} is routed to a model builder, but model is a keras.Model, "
                "which is cloned as it is. Pass a function that builds the model, "
                f"e.g. def build(meta, {rest}): ..., as model=build."
            )
        if prefix == "model" and builder is not None and rest not in builder:
            raise TypeError(
                f"{name!r} is not a parameter of the model builder "
                f"{getattr(model, '__name__', 'model')}({', '.join(builder)})."
                + did_you_mean(name, [f"model__{param}" for param in builder])
                + " Add the parameter to the builder or fix the name."
            )
        if prefix == "loss" and isinstance(loss, str) and loss in imbnet_losses:
            raise TypeError(
                f"{name!r} is routed to the loss, but loss={loss!r} is imbnet's "
                "and takes no routed parameters (focal_gamma, logit_tau and "
                "ldam_margin set them). "
                "To configure a Keras loss, pass it: loss='binary_crossentropy', "
                f"{name}=..."
            )


# ------------------------------------------------------ optimizer, loss
_OPTIMIZER_FIX = (
    "Could not interpret optimizer",
    "optimizer must be a Keras optimizer name ('adam', 'sgd', 'rmsprop', 'adamw', ...), "
    "class or instance.",
)
_LOSS_FIX = (
    "Could not interpret loss",
    "loss must be 'log_loss', 'focal', 'logit_adjusted', 'balanced_softmax', 'ldam', "
    "a Keras loss name ('binary_crossentropy', "
    "'categorical_crossentropy', ...), class, instance or function.",
)


def _optimizer_class(setting):
    if isinstance(setting, str):
        return type(keras.optimizers.get(setting))
    return setting


def _loss_class(setting):
    """A Keras loss class for a name ('binary_crossentropy' -> BinaryCrossentropy)
    where there is one, else what ``keras.losses.get`` gives (a function)."""
    if not isinstance(setting, str):
        return setting
    found = keras.losses.get(setting)
    camel = "".join(part[:1].upper() + part[1:] for part in setting.split("_"))
    for name in (camel, camel.replace("Crossentropy", "CrossEntropy")):
        cls = getattr(keras.losses, name, None)
        if isinstance(cls, type) and issubclass(cls, keras.losses.Loss):
            return cls
    return found


def _instantiate(setting, params):
    if isinstance(setting, type):
        return setting(**params)
    if params and isinstance(setting, (keras.optimizers.Optimizer, keras.losses.Loss)):
        return type(setting).from_config({**setting.get_config(), **params})
    if params:
        raise TypeError(
            f"{getattr(setting, '__name__', setting)!r} takes no routed parameters "
            f"({', '.join(params)}): pass a Keras class or name instead."
        )
    return setting


def make_optimizer(setting, params):
    """A fresh optimizer from a name, class or instance, with routed ``params``.

    An instance is copied: it would carry its state (step count, moments)
    from one fit into the next.
    """
    try:
        optimizer = _instantiate(_optimizer_class(setting), params)
        if isinstance(optimizer, keras.optimizers.Optimizer) and optimizer is setting:
            optimizer = type(optimizer).from_config(optimizer.get_config())
        return optimizer
    except (ValueError, TypeError) as error:
        add_hint(error, _routed_hints("optimizer", setting, params, _OPTIMIZER_FIX))
        raise


def make_keras_loss(setting, params):
    """A Keras loss from a name, class, instance or function, with routed ``params``."""
    try:
        return _instantiate(_loss_class(setting), params)
    except (ValueError, TypeError) as error:
        add_hint(error, _routed_hints("loss", setting, params, _LOSS_FIX))
        raise


def _routed_hints(kind, target, params, unknown_name_fix):
    """Fixes for an error making ``target`` from routed ``{kind}__*`` parameters:
    a bad name, or a misspelt parameter."""
    getter = _optimizer_class if kind == "optimizer" else _loss_class
    try:
        target_class = getter(target)
    except (ValueError, TypeError):
        target_class = None
    if not inspect.isclass(target_class):
        return [unknown_name_fix]
    accepted = [name for name in inspect.signature(target_class).parameters if name != "kwargs"]
    unknown = [name for name in params if "__" not in name and name not in accepted]
    if not unknown:
        return [unknown_name_fix]
    fix = f"{kind}__{unknown[0]} is not a parameter of {target_class.__name__}." + did_you_mean(
        f"{kind}__{unknown[0]}", [f"{kind}__{name}" for name in accepted]
    )
    return [unknown_name_fix, ("not recognized", fix), ("unexpected keyword", fix)]
