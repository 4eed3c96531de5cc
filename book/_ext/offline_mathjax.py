"""Serve MathJax 3 from the site itself, so that math renders with no network.

Jupyter Book 1.x (Sphinx's ``sphinx.ext.mathjax``) loads ``tex-mml-chtml.js`` from a CDN by
default; a reader on a train or on a locked-down campus machine then sees raw TeX. This extension
copies the ES5 build of MathJax 3.2.2 that the PyPI package ``django-static-mathjax`` installs (the
scripts, the TeX extensions and the CHTML web fonts; no Django needed) into ``_static/mathjax`` and
points Sphinx's ``mathjax_path`` at it. Nothing is committed into the repository.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: The MathJax component every page loads (TeX + MathML input, CommonHTML output).
COMPONENT = "tex-mml-chtml.js"
#: Large alternative builds the site never loads (SVG output, full/speech bundles, node).
SKIP = ("*-svg*.js", "tex-chtml*.js", "mml-chtml.js", "node-main.js", "svg")


def mathjax_dir() -> Path:
    """The installed ``es5`` folder of MathJax 3 (from ``django-static-mathjax``)."""
    try:
        root = Path(str(resources.files("mathjax"))) / "static" / "mathjax" / "es5"
    except ModuleNotFoundError:
        root = None
    if root is None or not (root / COMPONENT).is_file():
        raise ExtensionError(
            "offline_mathjax: MathJax 3 is not installed; run `pip install -r requirements.txt` "
            "(it needs the package django-static-mathjax)"
        )
    return root


def _config_inited(app: Sphinx, config) -> None:
    mathjax_dir()  # fail early, with the message above
    config.mathjax_path = f"mathjax/{COMPONENT}"


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(mathjax_dir(), target, ignore=shutil.ignore_patterns(*SKIP), dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
