"""Sphinx configuration for imbnet's documentation site.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (``pip install -e
".[docs]"`` first). The API reference lists every name of ``imbnet.__all__``: the page
``api.rst`` is written here from that list at every build, and the build fails if a
name has no generated page.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

import imbnet  # noqa: E402

project = "imbnet"
author = "the imbnet developers"
copyright = "2026, the imbnet developers"
release = imbnet.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]
myst_heading_anchors = 3

# The public names, from the package itself: a new name in imbnet._EXPORTS gets a page.
PUBLIC = sorted(name for name in imbnet.__all__ if not name.startswith("_"))
MODEL_SELECTION = sorted(imbnet.model_selection.__all__)


def _kind(name, module=imbnet):
    return "class" if isinstance(getattr(module, name), type) else "function"


def _write_api_page():
    groups = {"class": [], "function": []}
    for name in PUBLIC:
        groups[_kind(name)].append(name)
    lines = [
        ".. This page is written by docs/conf.py from imbnet.__all__ at every build.",
        "",
        "API reference",
        "=============",
        "",
        "Every public name of ``imbnet`` (``imbnet.__all__``), generated from its docstring.",
        "",
        ".. currentmodule:: imbnet",
        "",
    ]
    titles = {"class": "Estimators, samplers, layers and losses", "function": "Functions"}
    for kind, names in groups.items():
        lines += [titles[kind], "-" * len(titles[kind]), "", ".. autosummary::"]
        lines += ["   :toctree: generated", f"   :template: imbnet_{kind}.rst", ""]
        lines += [f"   {name}" for name in names] + [""]
    title = "Model selection (``imbnet.model_selection``)"
    lines += [title, "-" * len(title), "", ".. currentmodule:: imbnet.model_selection", ""]
    for kind in ("class", "function"):
        names = [n for n in MODEL_SELECTION if _kind(n, imbnet.model_selection) == kind]
        template = "imbnet_search.rst" if kind == "class" else "imbnet_function.rst"
        lines += [".. autosummary::", "   :toctree: generated", f"   :template: {template}"]
        lines += [""] + [f"   {name}" for name in names] + [""]
    text = "\n".join(lines)
    page = DOCS / "api.rst"
    if not page.exists() or page.read_text() != text:
        page.write_text(text)


_write_api_page()

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"imbnet {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = ["_static"]
html_css_files = ["imbnet.css"]

sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "abort_on_example_error": True,
}


def _check_api_pages(app, exception):
    """Fail the build when a public name has no API page."""
    if exception is not None or app.builder.name != "html":
        return
    out = Path(app.outdir) / "generated"
    pages = [f"imbnet.{name}" for name in PUBLIC]
    pages += [f"imbnet.model_selection.{name}" for name in MODEL_SELECTION]
    missing = [page for page in pages if not (out / f"{page}.html").exists()]
    if missing:
        raise RuntimeError(f"no API page for {', '.join(missing)}")


def setup(app):
    app.connect("build-finished", _check_api_pages)
