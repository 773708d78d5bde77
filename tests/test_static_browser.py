"""The static site in a real browser: `python -m http.server` on loopback, Debian's Chromium via Playwright.

Clicks from the home page to a plan and down its hierarchy to an initiative, and checks that
no request leaves the folder's server for a missing file.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback import free_port, stop, wait_until_up

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.export.static import publish_static

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright for Python (pip install playwright)"),
]



@pytest.fixture(scope="module")
def static_server(built: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("static-browser") / "site"
    publish_static(Settings.load(dist_dir=built.out_dir), out_dir=out)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                "--directory", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url)
        yield url
    finally:
        stop(process)


def test_click_from_home_down_to_an_initiative(static_server: str) -> None:
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(static_server)
                       else route.abort())  # nothing but the folder's own server
            page.goto(static_server)
            page.get_by_role("link", name="西東京市第3次総合計画", exact=False).first.click()
            page.wait_for_url("**/id/132292/basic-plan-3.html")
            for expected_level in ("基本目標", "施策", "基本施策", "目標の実現に向けた取組内容"):
                page.locator("section.children ol li a").first.click()
                page.wait_for_load_state()
                assert expected_level in page.locator("dl.facts").inner_text()
            assert page.url.endswith("/id/132292/basic-plan-3/1-1-1-1.html")
            assert page.locator("link[rel=stylesheet]").first.evaluate("e => e.sheet !== null")
            page.locator("ul.formats a", has_text="Turtle").first.click()  # the data beside the page
        finally:
            browser.close()
    assert not failed, failed
