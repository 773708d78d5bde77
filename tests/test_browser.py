"""End to end in a real browser: the server on loopback, Debian's Chromium driven by Playwright.

Loads the home page, runs a named query in YASGUI and reads its rows, opens a resource page;
on the way, checks that no page breaks its Content-Security-Policy or asks another host for anything.
Screenshots go to $PLAN_KG_SCREENSHOTS when set (to look at them), else to the test's tmp dir.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import stop

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright for Python (pip install playwright)"),
    pytest.mark.skipif(
        importlib.util.find_spec("plan_kg.server") is None or importlib.util.find_spec("plan_kg.build") is None,
        reason="needs plan_kg.build and plan_kg.server (the pipeline and the endpoint)",
    ),
]

_SERVE = """
import sys
from pathlib import Path
from plan_kg.config import Settings
from plan_kg.server.run import run_serve
dist, store, port = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
run_serve(Settings(dist_dir=dist), host="127.0.0.1", port=port, store_dir=store)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app (plan_kg.server.create_app with these web routes) over a fresh build, on loopback."""
    from plan_kg.build import build
    from plan_kg.config import Settings

    dist = tmp_path_factory.mktemp("dist")
    build(Settings(), out_dir=dist)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(dist), str(tmp_path_factory.mktemp("store")), str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                    pytest.fail(f"the server did not start:\n{output}")
                time.sleep(0.2)
        yield url
    finally:
        stop(process)
        if process.stdout:
            process.stdout.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


def _chromium(playwright: object, profile: Path, **options: object) -> object:
    return playwright.chromium.launch_persistent_context(  # type: ignore[attr-defined]
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 1280, "height": 900}, locale="ja-JP", **options,
    )


@pytest.fixture(scope="module")
def browser(playwright: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    context = _chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def browser_without_script(playwright: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Chromium with JavaScript off, as some readers browse (and as a page looks before its scripts run)."""
    context = _chromium(playwright, tmp_path_factory.mktemp("chromium-profile-no-script"), java_script_enabled=False)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("PLAN_KG_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Watch:
    """What a page did that it should not: console errors (CSP violations among them), requests elsewhere."""

    def __init__(self, page: object, origin: str) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self._request(request.url, origin))

    def _request(self, url: str, origin: str) -> None:
        if not url.startswith((origin, "data:", "blob:")):
            self.foreign.append(url)


def test_run_a_named_query_in_yasgui_and_see_its_rows(server: str, browser: object, shots: Path) -> None:
    yasgui = Path(__file__).parents[1] / "node_modules" / "@zazuko" / "yasgui" / "build" / "yasgui.min.js"
    assert yasgui.is_file(), "the query editor is not installed: run `npm ci` at the repository root"
    page = browser.new_page()
    watch = Watch(page, server)
    page.goto(server + "/")
    assert "西東京市" in page.title()
    levels = page.locator("section.levels tbody tr")
    assert levels.count() == 4 and "109" in levels.nth(3).inner_text()

    page.wait_for_selector("#yasgui .yasqe .CodeMirror", timeout=20_000)  # YASGUI replaced the plain form
    page.click('button.open-query[data-query="counts-per-level"]')
    rows = page.locator("#yasgui .tabPanel.active .yasr table tbody tr")
    rows.first.wait_for(timeout=20_000)
    page.wait_for_function(
        "() => document.querySelectorAll('#yasgui .tabPanel.active .yasr table tbody tr').length === 4", timeout=20_000
    )
    table = page.locator("#yasgui .tabPanel.active .yasr table").inner_text()
    for level, count in (("基本目標", "6"), ("施策", "15"), ("基本施策", "37"), ("目標の実現に向けた取組内容", "109")):
        assert level in table and count in table
    # typing a class or property must not ask prefix.cc or Linked Open Vocabularies for suggestions
    page.locator("#yasgui .tabPanel.active .CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# ?s a foaf:Per")
    page.keyboard.type("\nPREFIX sk")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / "home-query.png"), full_page=True)
    page.locator("#yasgui").screenshot(path=str(shots / "yasgui.png"))
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], watch.foreign
    page.close()


def _named_query_run(browser: object, server: str, name: str) -> tuple[object, Watch]:
    """A new page on the home page, with the named query `name` opened in the query editor and its first row shown."""
    page = browser.new_page()
    watch = Watch(page, server)
    page.goto(server + "/")
    page.wait_for_selector("#yasgui .yasqe .CodeMirror", timeout=20_000)
    page.click(f'button.open-query[data-query="{name}"]')
    page.locator("#yasgui .tabPanel.active .yasr table tbody tr").first.wait_for(timeout=20_000)
    return page, watch


def test_the_iris_in_the_editors_results_lead_to_their_pages_here(server: str, browser: object) -> None:
    """A result IRI in the query editor links to its page on this server, as the results page without script
    does; YASGUI linked the IRI itself (https://w3id.org/plan-kg/…), which leads away from this server."""
    page, watch = _named_query_run(browser, server, "initiatives-of-policy")
    hrefs = page.eval_on_selector_all("#yasgui .tabPanel.active .yasr table a.iri", "links => links.map(a => a.href)")
    assert hrefs and all(href.startswith(server + "/id/132292/basic-plan-3/") for href in hrefs), hrefs
    resource = page.context.new_page()  # where the link leads (YASGUI opens it in a new tab)
    resource.goto(hrefs[0])
    assert resource.url.startswith(server + "/id/132292/basic-plan-3/") and resource.locator("h1 .code").count() == 1
    resource.close()
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], watch.foreign
    page.close()


def test_every_control_of_the_query_editor_has_a_name(server: str, browser: object) -> None:
    """A screen reader names each field of the editor: YASGUI left its query text, endpoint, answer formats and
    rows-per-page unnamed (announced as "edit text" or "combo box" alone, WCAG 4.1.2); home.js names them."""
    page, watch = _named_query_run(browser, server, "counts-per-level")
    page.click("#yasgui .tabsList .addTab")  # a tab added later is named too
    page.wait_for_function("() => document.querySelectorAll('#yasgui .tabsList .tab').length === 3", timeout=20_000)
    unnamed = page.evaluate("""() => Array.from(document.querySelectorAll('#yasgui input, #yasgui textarea, #yasgui select'))
        .filter(control => !(control.getAttribute('aria-label') || control.getAttribute('aria-labelledby')
                             || control.title || (control.labels && control.labels.length)))
        .map(control => control.outerHTML.slice(0, 120))""")
    assert unnamed == [], unnamed
    names = page.eval_on_selector_all("#yasgui [aria-label]", "els => els.map(e => e.getAttribute('aria-label'))")
    assert "SPARQL クエリ / SPARQL query" in names and "1 ページの行数 / Rows per page" in names, names
    assert watch.errors == [], watch.errors
    page.close()


def test_a_link_from_the_share_button_opens_the_query_it_was_made_for(server: str, browser: object) -> None:
    """YASGUI's "Share query" gives …/#query=…&tabTitle=…&endpoint=…; the page it opened showed the first
    named query instead (populateFromUrl is off, so that a link cannot point the editor at another endpoint)."""
    page, watch = _named_query_run(browser, server, "counts-per-level")
    page.click("#yasgui .tabPanel.active button.yasqe_share")
    link = page.locator("#yasgui .tabPanel.active .yasqe_sharePopup input").input_value()
    assert "#query=" in link
    elsewhere = link + "&endpoint=" + urllib.parse.quote("http://198.51.100.7/sparql", safe="")  # not taken
    shared = browser.new_page()
    shared_watch = Watch(shared, server)
    shared.goto(elsewhere)
    shared.wait_for_selector("#yasgui .yasqe .CodeMirror", timeout=20_000)
    editor_text = "() => document.querySelector('#yasgui .tabPanel.active .CodeMirror').CodeMirror.getValue()"
    text = shared.evaluate(editor_text)
    counts = (Path(__file__).parents[1] / "queries" / "counts-per-level.rq").read_text(encoding="utf-8")
    assert text.strip() == counts.strip()
    assert "階層ごとの項目数" in shared.locator("#yasgui .tabsList .tab.active").inner_text()
    assert shared.locator("#yasgui .tabPanel.active input.autocomplete").input_value() == server + "/sparql"
    shared.click("#yasgui .tabPanel.active button.yasqe_queryButton")
    shared.wait_for_function(
        "() => document.querySelectorAll('#yasgui .tabPanel.active .yasr table tbody tr').length === 4", timeout=20_000
    )
    # another shared link followed from this page changes only the fragment: its query opens in a tab of its own
    shared.evaluate("q => { window.location.hash = 'query=' + encodeURIComponent(q) + '&tabTitle=ask'; }", "ASK {}")
    shared.wait_for_function("() => document.querySelectorAll('#yasgui .tabsList .tab').length === 2", timeout=20_000)
    assert shared.evaluate(editor_text) == "ASK {}"
    for w in (watch, shared_watch):
        assert w.errors == [], w.errors
        assert w.foreign == [], w.foreign
    shared.close()
    page.close()


def test_the_page_says_how_to_leave_the_query_editor_from_the_keyboard(server: str, browser: object) -> None:
    """CodeMirror keeps Tab for indenting, so Tab alone never leaves the editor: the way out (Esc, then Tab)
    must be told on the page (WCAG 2.1.2), and must work."""
    page = browser.new_page()
    page.goto(server + "/")
    page.wait_for_selector("#yasgui .yasqe .CodeMirror", timeout=20_000)
    note = page.locator("p.editor-keys")
    assert note.is_visible()
    assert "Esc" in note.locator("[lang=ja]").inner_text() and "Esc" in note.locator("[lang=en]").inner_text()
    in_editor = ("() => document.activeElement === "
                 "document.querySelector('#yasgui .tabPanel.active .CodeMirror textarea')")
    page.locator("#yasgui .tabPanel.active .CodeMirror").click()
    page.keyboard.press("Tab")
    assert page.evaluate(in_editor)  # Tab indents
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate(in_editor)
    assert page.evaluate("() => document.activeElement.closest('#yasgui') !== null")  # on to the editor's next control
    page.close()


@pytest.mark.parametrize("path", ["/", "/id/132292/basic-plan-3", "/id/132292/basic-plan-3/1-3-2",
                                  "/id/132292/basic-plan-3/1-3-2-1/sdg/16.6", "/ontology",
                                  "/downloads/ontology.html"])
def test_a_page_fits_a_phone_screen_without_scrolling_sideways(server: str, browser: object, shots: Path,
                                                                path: str) -> None:
    """At 360 px the table of statements (a 16 rem column of properties, then IRIs that could not wrap) and
    the downloads (long file names) made the whole page wider than the screen; so did the license IRI in
    pyLODE's page, whose table of contents covered half the screen."""
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(server + path)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    page.screenshot(path=str(shots / ("phone" + path.replace("/", "-") + ".png")), full_page=True)
    assert widths[0] <= widths[1], widths
    page.close()


def test_open_a_resource_page_and_walk_up_the_breadcrumbs(server: str, browser: object, shots: Path) -> None:
    page = browser.new_page()
    watch = Watch(page, server)
    response = page.goto(server + "/id/132292/basic-plan-3/1-3-2")
    assert response is not None and response.url.endswith("/id/132292/basic-plan-3/1-3-2.html")  # after the 303
    assert page.locator("h1 .code").inner_text() == "1-3-2"
    assert page.locator("section.children li").count() == 5
    page.screenshot(path=str(shots / "resource.png"), full_page=True)
    page.locator("nav.breadcrumbs a", has_text="1-3").click()
    page.wait_for_url("**/id/132292/basic-plan-3/1-3.html")
    assert page.locator("section.children li").count() == 3  # 1-3-1, 1-3-2 and the planned 1-3-3
    assert "名称未定" in page.locator("section.children").inner_text()
    page.screenshot(path=str(shots / "policy.png"), full_page=True)
    page.goto(server + "/ontology")
    assert page.locator("section.term#Measure").count() == 1
    page.screenshot(path=str(shots / "ontology.png"))
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], watch.foreign
    page.close()


def test_without_javascript_the_query_form_answers_with_a_page_of_rows(
    server: str, browser_without_script: object, shots: Path
) -> None:
    page = browser_without_script.new_page()
    watch = Watch(page, server)
    page.goto(server + "/")
    assert page.locator("#yasgui .CodeMirror").count() == 0  # the plain form stays
    counts = (Path(__file__).parents[1] / "queries" / "counts-per-level.rq").read_text(encoding="utf-8")
    page.fill("#plain-query-text", counts)
    page.click("form.plain-query button[type=submit]")
    page.wait_for_url("**/sparql?query=*")
    assert page.title().startswith("問い合わせ結果")
    rows = page.locator("table.results tbody tr")
    assert rows.count() == 4
    table = page.locator("table.results").inner_text()
    for level, count in (("基本目標", "6"), ("施策", "15"), ("基本施策", "37"), ("目標の実現に向けた取組内容", "109")):
        assert level in table and count in table
    page.screenshot(path=str(shots / "results-page.png"), full_page=True)
    # The same answer as CSV, linked from the page; the query comes back in the form to run again.
    with page.expect_download() as download:
        page.locator("ul.formats a", has_text="CSV").click()
    assert "目標の実現に向けた取組内容" in Path(download.value.path()).read_text(encoding="utf-8")
    assert page.locator("#plain-query-text").input_value().replace("\r\n", "\n").strip() == counts.strip()
    # A mistake: the reason on a page, and the query back in the form to fix.
    page.fill("#plain-query-text", "SELECT * WHERE { ?s ?p }")
    page.click("form.plain-query button[type=submit]")
    page.wait_for_selector("article.query-error")
    assert "not valid SPARQL 1.1" in page.locator("pre.query-error-message").inner_text()
    assert page.locator("#plain-query-text").input_value() == "SELECT * WHERE { ?s ?p }"
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert watch.errors.count(refused) == 1  # Chromium logs the 400 itself; nothing else may be there
    watch.errors.remove(refused)
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], watch.foreign
    page.close()


@pytest.mark.parametrize("path", ["/downloads/sdg-coverage-by-city.svg",
                                  "/downloads/plans/132292-basic-plan-3-sdg-coverage.svg"])
def test_a_chart_opened_on_its_own_is_drawn_with_its_styles(server: str, browser: object, shots: Path,
                                                           path: str) -> None:
    """As from the catalog's downloadURL: the SVG alone, under its own policy. Under the site's, Chromium
    refused its <style> and ~100 style attributes (CSP errors, a black background, labels piled up)."""
    page = browser.new_page()
    watch = Watch(page, server)
    response = page.goto(server + path)
    assert response is not None and response.status == 200
    drawn = page.evaluate("""() => ({
        sheets: document.styleSheets.length,
        background: getComputedStyle(document.querySelector('#patch_1 path')).fill,
        label: getComputedStyle(document.querySelector('text')).fontSize,
        origin: window.origin,
    })""")
    page.screenshot(path=str(shots / (path.rsplit("/", 1)[1] + ".png")))
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], watch.foreign
    assert drawn["sheets"] == 1  # matplotlib's <style>
    assert drawn["background"] == "rgb(255, 255, 255)"  # style="fill: #ffffff" (unstyled: black)
    assert drawn["label"] == "10px"  # style="font-size: 10px; …" (unstyled: 16px, labels overlap)
    assert drawn["origin"] == "null"  # sandboxed: not this site's origin, should a script ever run
    page.close()


def test_a_chart_as_png_opened_on_its_own_breaks_no_policy(server: str, browser: object) -> None:
    """Chromium shows a PNG on a page it styles inline: that is allowed too, and the picture loads."""
    page = browser.new_page()
    watch = Watch(page, server)
    page.goto(server + "/downloads/sdg-coverage-by-city.png")
    assert page.evaluate("() => document.querySelector('img').naturalWidth") > 0
    assert watch.errors == [], watch.errors
    page.close()
