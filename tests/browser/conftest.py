"""Real-browser fixtures: the app on a real HTTP server, Debian's Chromium driven by Playwright.

The browser is the system's ``/usr/bin/chromium`` (never one Playwright downloads itself) and
axe-core comes from the npm registry (``.ci/run`` installs both when missing). Without them the
journeys are skipped with the reason locally and fail under CI=true, like the other integration
tests. Every page a journey visits is screenshotted under ``tests/artifacts/browser/`` and checked
with axe-core against WCAG 2.0/2.1 level A and AA; the count of pages and violations is printed
at the end of the run.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import unavailable

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, why: n.failureSummary})),
  }));
}"""


@dataclass
class AxeTally:
    """Every page axe checked in this run, and what it found."""

    pages: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


TALLY = AxeTally()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.pages:
        terminalreporter.write_sep(
            "-",
            f"axe-core checked {len(TALLY.pages)} pages: {len(TALLY.violations)} violations",
        )
        for line in TALLY.violations:
            terminalreporter.write_line(line)


def describe(violations: list[dict[str, Any]]) -> str:
    """Axe's violations as a human reads them: rule, impact, help, and each failing element."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['url']})")
        for node in v["nodes"]:
            lines.append(f"    at {node['target']}: {node['html'][:160]}")
            lines.append("      " + node["why"].replace("\n", "\n      "))
    return "\n".join(lines)


@dataclass
class Journey:
    """A browser tab that screenshots and axe-checks every step of a journey."""

    page: Any
    base_url: str
    folder: Path
    step: int = 0
    console: list[str] = field(default_factory=list)
    tally: bool = True  # False for the self-check, whose violations are deliberate

    def go(self, path: str) -> None:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status < 500, path

    def check(self, name: str) -> None:
        """Screenshot the page as step ``name`` and assert axe finds no WCAG A/AA violation."""
        self.step += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.page.screenshot(path=str(self.folder / f"{self.step:02d}-{slug}.png"), full_page=True)
        violations = self.page.evaluate(AXE_RUN, WCAG_TAGS)
        where = f"{self.folder.name}/{self.step:02d} {name} ({self.page.url})"
        if self.tally:
            TALLY.pages.append(where)
            TALLY.violations.extend(f"{where}: {v['id']}" for v in violations)
        assert not violations, f"axe found violations on {where}:\n" + describe(violations)
        assert not self.csp_errors, f"CSP blocked something on {where}: {self.csp_errors}"

    @property
    def csp_errors(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]

    def submit(self, form_selector: str = "main form.form") -> None:
        """Submit a form with the keyboard: focus its submit button and press Enter."""
        button = self.page.locator(f"{form_selector} button[type=submit]").first
        button.focus()
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def login(self, email: str, password: str) -> None:
        self.go("/login")
        self.check("login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.submit()

    def logout(self) -> None:
        self.open_menu_holding("header form[action$='/logout'] button")
        with self.page.expect_navigation():
            self.page.locator("header form[action$='/logout'] button").click()

    def open_menu_holding(self, selector: str) -> None:
        """Open the header's disclosure menu that holds ``selector``, with the keyboard."""
        inner = selector.removeprefix("header ").removeprefix("nav ")  # relative to the menu
        menu = self.page.locator("header details.menu", has=self.page.locator(inner))
        if menu.count() and not menu.first.evaluate("d => d.open"):
            menu.first.locator("summary").focus()
            self.page.keyboard.press("Enter")

    def nav(self, href_suffix: str) -> None:
        """Follow a header link (opening its menu first, as a person would)."""
        selector = f"header nav a[href$='{href_suffix}']"
        self.open_menu_holding(selector)
        with self.page.expect_navigation():
            self.page.locator(selector).first.click()

    def text(self) -> str:
        return self.page.inner_text("main")


@pytest.fixture(scope="session")
def browser_tools() -> tuple[Any, Path]:
    """Playwright and axe-core, or the reason they are missing (skip, or fail in CI)."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not AXE.exists():
        unavailable(f"{AXE} is missing (npm install --prefix tests/browser axe-core@4)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    return sync_playwright, AXE


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server in a thread, on a free loopback port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="session")
def chromium(browser_tools: tuple[Any, Path]) -> Iterator[Any]:
    sync_playwright, _axe = browser_tools
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def open_journey(chromium: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Open a fresh tab (own cookies) in a language; its screenshots go to a folder per test."""
    contexts = []
    test_folder = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")

    def open_(who: str, lang: str) -> Journey:
        context = chromium.new_context(
            locale="nl-NL" if lang == "nl" else "en-GB",
            viewport={"width": 1100, "height": 800},
        )
        contexts.append(context)
        # The CSP stays on (the pages are tested as served); axe is injected by the browser
        # itself, which CSP does not govern.
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        page.set_default_timeout(10_000)
        folder = ARTIFACTS / test_folder / who
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        journey = Journey(page, live_server, folder)
        page.on("console", lambda msg: journey.console.append(msg.text))
        return journey

    yield open_
    for context in contexts:
        context.close()
