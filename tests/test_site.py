"""The built site as a reader sees it: headless Chromium, with every host but the site blocked.

For each page of the table of contents: the mathematics is typeset by the site's own MathJax (no raw
TeX left, no MathJax error), every image decodes, no asset is requested from another host, no local
asset is missing, no executed cell shows ``<Figure size ...>`` instead of its figure, and notebook
pages carry the launch (Colab, JupyterHub) and download buttons. A full-page screenshot of every
page is written to ``_build/screenshots/`` for a human look.

Needs the built site (``jupyter-book build . -W -n --keep-going``; ``NNSCRATCH_SITE`` points at
another build's ``html`` folder) and Debian's ``chromium`` (``apt-get install chromium``). Without
them the test is skipped locally, and fails under CI (``CI=true``), which must run it.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from book_pages import REPO, toc_pages

SITE = Path(os.environ.get("NNSCRATCH_SITE", REPO / "_build" / "html"))
SHOTS = SITE.parent / "screenshots"
CHROMIUM = os.environ.get("NNSCRATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Chromium as root in a container, with no background traffic of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.slow


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must run the browser test, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "book" / "intro.html").is_file():
        _missing(
            f"the site is not built at {SITE} (run: jupyter-book build . -W -n --keep-going, "
            "or set NNSCRATCH_SITE)"
        )
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _missing(
            f"Chromium not found at {CHROMIUM}: install it with "
            "`apt-get update && apt-get install -y chromium` (Debian's package)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -r requirements.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# Runs in the page once it has loaded and MathJax (if any) has finished.
CHECK_JS = r"""
async () => {
  const article = document.querySelector('article.bd-article') || document.body;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  for (const img of document.images) { img.loading = 'eager'; }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(r => { img.onload = img.onerror = r; })));
  await document.fonts.ready;
  // Text outside code: raw TeX left there means MathJax did not typeset it.
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, mjx-container, script, style, .highlight')
       .forEach(e => e.remove());
  const text = clone.textContent;
  const rawTex = ['$$', '\\begin{', '\\(', '\\[', '\\frac', '\\sigma', '\\delta', '\\partial']
       .filter(s => text.includes(s));
  const mathNodes = article.querySelectorAll('.math');
  const typeset = article.querySelectorAll('.math mjx-container, mjx-container').length;
  return {
    title: document.title,
    mathNodes: mathNodes.length,
    untypeset: [...mathNodes].filter(m => !m.querySelector('mjx-container')).length,
    typeset: typeset,
    mathErrors: article.querySelectorAll('mjx-merror').length,
    rawTex: rawTex,
    mathjaxSrc: [...document.scripts].map(s => s.src).filter(s => s.includes('mathjax')),
    mjxFonts: [...document.fonts].filter(f => f.family.includes('MJX'))
       .map(f => f.family + ':' + f.status),
    images: [...document.images].map(i => ({src: i.currentSrc || i.src,
                                            ok: i.complete && i.naturalWidth > 0})),
    figureText: /<\w*Figure size/.test(article.textContent),
    stderr: [...article.querySelectorAll('.output.stderr')].map(e => e.textContent.slice(0, 200)),
    launch: [...document.querySelectorAll('a')].map(a => a.href)
       .filter(h => h.includes('colab.research.google.com') || h.includes('git-pull')),
    download: [...document.querySelectorAll('a')].map(a => a.getAttribute('href') || '')
       .filter(h => h.includes('_sources/') && h.endsWith('.ipynb')),
  };
}
"""


def _only_local(route, request=None, *, outside: list[str]) -> None:
    """Let requests to the site through; record and abort everything else."""
    url = route.request.url
    if url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1":
        route.continue_()
    else:
        outside.append(url)
        route.abort()


@pytest.fixture(scope="module")
def page_reports(site_url, browser):
    """Load every page of the toc once; return ``{docname: report}``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    reports = {}
    for doc, suffix in toc_pages():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        outside: list[str] = []
        broken: list[str] = []

        context.route("**/*", functools.partial(_only_local, outside=outside))
        page = context.new_page()
        page.on(
            "response",
            lambda resp, broken=broken: broken.append(f"{resp.status} {resp.url}")
            if resp.status >= 400
            else None,
        )
        page.goto(f"{site_url}/{doc}.html", wait_until="load")
        report = page.evaluate(CHECK_JS)
        report.update(outside=outside, broken=broken, suffix=suffix)
        page.screenshot(path=str(SHOTS / (doc.replace("/", "__") + ".png")), full_page=True)
        context.close()
        reports[doc] = report
    return reports


def test_every_toc_page_is_checked(page_reports):
    assert len(page_reports) == len(toc_pages()) >= 4


def test_nothing_is_loaded_from_other_hosts(page_reports):
    bad = {doc: r["outside"] for doc, r in page_reports.items() if r["outside"]}
    assert not bad, f"pages request assets from other hosts (they must render offline): {bad}"


def test_no_local_asset_is_missing(page_reports):
    bad = {doc: r["broken"] for doc, r in page_reports.items() if r["broken"]}
    assert not bad, f"pages request local files that do not exist: {bad}"


def test_math_is_typeset_by_the_local_mathjax(page_reports):
    with_math = {doc: r for doc, r in page_reports.items() if r["mathNodes"]}
    assert with_math, "no page has mathematics: the check would prove nothing"
    for doc, r in with_math.items():
        assert r["mathjaxSrc"] and all(
            urlparse(s).hostname == "127.0.0.1" for s in r["mathjaxSrc"]
        ), f"{doc}: MathJax must come from the site itself, got {r['mathjaxSrc']}"
        assert r["untypeset"] == 0, f"{doc}: {r['untypeset']} of {r['mathNodes']} untypeset"
        assert r["mathErrors"] == 0, f"{doc}: {r['mathErrors']} MathJax errors (bad TeX)"
        assert not r["rawTex"], f"{doc}: raw TeX left in the text: {r['rawTex']}"
        failed = [f for f in r["mjxFonts"] if f.endswith(":error")]
        assert not failed, f"{doc}: MathJax fonts failed to load: {failed}"


def test_every_image_decodes(page_reports):
    bad = {
        doc: [i["src"] for i in r["images"] if not i["ok"]]
        for doc, r in page_reports.items()
        if any(not i["ok"] for i in r["images"])
    }
    assert not bad, f"images that do not decode: {bad}"


def test_executed_figures_are_images_not_text(page_reports):
    bad = [doc for doc, r in page_reports.items() if r["figureText"]]
    assert not bad, (
        f"{bad} show '<Figure size ...>' instead of a figure: MPLBACKEND=Agg reached the "
        "notebook kernels of the build (never export it for the book)"
    )


def test_no_stderr_output_on_the_site(page_reports):
    """Warnings and noise on stderr (TensorFlow banners, font-cache messages) never reach a page."""
    bad = {doc: r["stderr"] for doc, r in page_reports.items() if r["stderr"]}
    assert not bad, f"pages show stderr output: {bad}"


def test_math_renders_from_a_local_file_too(browser):
    """A reader who opens _build/html/index.html from disk (file://, no server) sees the math."""
    pages = [doc for doc, _ in toc_pages() if (SITE / f"{doc}.html").is_file()]
    if not pages:
        _missing(f"the site is not built at {SITE}")
    doc = next((d for d in pages if "notation" in d), pages[0])
    page = browser.new_page()
    try:
        page.goto((SITE / f"{doc}.html").resolve().as_uri(), wait_until="load")
        r = page.evaluate(CHECK_JS)
    finally:
        page.close()
    assert r["mathNodes"] and r["untypeset"] == 0 and not r["rawTex"], r


def test_notebook_pages_have_launch_and_download_buttons(page_reports):
    notebooks = {doc: r for doc, r in page_reports.items() if r["suffix"] == ".ipynb"}
    if not notebooks:
        pytest.skip("no notebook page in the toc yet")
    for doc, r in notebooks.items():
        assert any("colab.research.google.com" in h for h in r["launch"]), f"{doc}: no Colab button"
        assert any("git-pull" in h for h in r["launch"]), f"{doc}: no JupyterHub button"
        assert r["download"], f"{doc}: no .ipynb download button"
        for href in r["download"]:
            target = (SITE / doc).parent / href
            assert target.resolve().is_file(), f"{doc}: download link {href} points nowhere"
