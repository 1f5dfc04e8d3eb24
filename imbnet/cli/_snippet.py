"""Python source that rebuilds an estimator: the recommendation's ready-to-paste snippet.

:func:`estimator_code` writes an (unfitted) estimator as the constructor calls
that build it, giving only the parameters that differ from their defaults, with
the imports it needs. Functions of ``imbnet.cli``'s private modules are imported
from ``imbnet.cli`` when it exports them (the model builder, the text
conversion, the metrics: a saved model then refers to importable names), and
their source is copied into the snippet otherwise. :class:`Code` stands for a value written as
given (a scorer).
"""

import inspect
import sys
import textwrap

import numpy as np

__all__ = ["Code", "Imports", "estimator_code"]

LINE = 96  # longest line before a call is broken over several lines


class Code:
    """A value written as ``text`` (a variable of the snippet, say)."""

    def __init__(self, text):
        self.text = text


class Imports:
    """The snippet's ``import`` lines and copied functions, names kept unambiguous."""

    def __init__(self):
        self.names = {}  # name in the snippet -> (module, attribute)
        self.functions = {}  # name -> source

    def name_of(self, obj):
        """The name under which ``obj`` (a class or function) is available in the snippet."""
        module, attribute = obj.__module__, obj.__qualname__
        if module == "builtins":
            return attribute
        if module.startswith("imbnet.cli"):
            # The package is imported already (this module is part of it); looked up,
            # not imported, so that the package and its modules import no circle.
            exported = getattr(sys.modules["imbnet.cli"], attribute, None)
            if exported is not obj:
                self.copy(obj)
                return attribute
            module = "imbnet.cli"
            self.names[attribute] = (module, attribute)
            return attribute
        module = _public_module(obj)
        name = attribute
        if self.names.get(name, (module, attribute)) != (module, attribute):
            name = f"{module.split('.')[0]}_{attribute}"
        self.names[name] = (module, attribute)
        return name

    def copy(self, function):
        self.functions[function.__name__] = textwrap.dedent(inspect.getsource(function))

    def lines(self):
        """``import`` lines (one per module, sorted), and the copied functions."""
        by_module = {}
        for name, (module, attribute) in self.names.items():
            alias = attribute if name == attribute else f"{attribute} as {name}"
            by_module.setdefault(module, []).append(alias)
        out = [f"from {m} import {', '.join(sorted(by_module[m]))}" for m in sorted(by_module)]
        return out, [self.functions[k] for k in sorted(self.functions)]


def _public_module(obj):
    """The shortest public module that exports ``obj`` (not a private submodule)."""
    import importlib

    parts = obj.__module__.split(".")
    for end in range(1, len(parts) + 1):
        candidate = ".".join(parts[:end])
        if any(p.startswith("_") for p in parts[1:end]):
            break
        try:
            if getattr(importlib.import_module(candidate), obj.__name__, None) is obj:
                return candidate
        except ImportError:
            continue
    return obj.__module__


def _same(value, default):
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _node(value, imports):
    """``value`` as a code tree: a string, or ``(head, [items], tail)``."""
    if isinstance(value, Code):
        return value.text
    if not isinstance(value, type) and (
        hasattr(value, "get_params") or hasattr(value, "get_n_splits")
    ):  # an estimator or a cross-validation splitter
        cls = type(value)
        head = f"{imports.name_of(cls)}("  # named before its parts: the outer name is plain
        signature = inspect.signature(cls.__init__).parameters
        if hasattr(value, "get_params"):
            params = value.get_params(deep=False)
        else:
            params = {k: getattr(value, k) for k in signature if k != "self"}
        order = [k for k in signature if k in params] + [k for k in params if k not in signature]
        items = []
        for key in order:
            param = params[key]
            known = signature.get(key)
            if known is not None and known.default is not inspect.Parameter.empty:
                if _same(param, known.default):
                    continue
            items.append((f"{key}=", _node(param, imports)))
        return (head, items, ")")
    if inspect.isfunction(value) or isinstance(value, type):
        return imports.name_of(value)
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, list):
        return ("[", [("", _node(v, imports)) for v in value], "]")
    if isinstance(value, tuple):
        items = [("", _node(v, imports)) for v in value]
        return ("(", items, ",)" if len(items) == 1 else ")")
    if isinstance(value, dict):
        return ("{", [(f"{k!r}: ", _node(v, imports)) for k, v in value.items()], "}")
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as Python source")


def _flat(node):
    if isinstance(node, str):
        return node
    head, items, tail = node
    body = ", ".join(prefix + _flat(item) for prefix, item in items)
    return head + body + (tail if tail != ",)" else ",)")


def _format(node, indent=0, column=None):
    """``node`` as source starting at ``column``, its continuation lines at ``indent``."""
    column = indent if column is None else column
    flat = _flat(node)
    if isinstance(node, str) or column + len(flat) <= LINE:
        return flat
    head, items, tail = node
    pad = " " * (indent + 4)
    lines = [head]
    for prefix, item in items:
        text = _format(item, indent + 4, indent + 4 + len(prefix))
        lines.append(pad + prefix + text + ",")
    lines.append(" " * indent + tail.lstrip(","))
    return "\n".join(lines)


def estimator_code(estimator, imports, indent=0):
    """Source of the constructor calls that build ``estimator``, imports added to ``imports``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> imports = Imports()
    >>> estimator_code(LogisticRegression(C=0.5), imports)
    'LogisticRegression(C=0.5)'
    >>> imports.lines()[0]
    ['from sklearn.linear_model import LogisticRegression']
    """
    return _format(_node(estimator, imports), indent)
