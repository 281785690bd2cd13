"""Playwright (sync API) on Debian's Chromium, against pytest-django's live server.

Playwright never downloads a browser here: the one Debian packages is launched
from /usr/bin/chromium. Without it the browser tests are skipped with the
reason, except in CI (CI=true), where a missing browser fails the run.

Every test gets screenshots under test-output/browser/ (see `shots`), and a
failing test keeps its Playwright trace there too
(`playwright show-trace test-output/browser/<test>-trace.zip`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = Path("/usr/bin/chromium")
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
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
PHONE = {"width": 375, "height": 812}


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module.

    Playwright's sync API keeps an asyncio loop running in this thread, and
    Django refuses ORM calls from a thread with a running loop. While the
    browser is open (and only then: module scope, so no other test runs
    meanwhile) the test's own ORM calls are allowed explicitly.
    """
    problem = _unavailable()
    if problem:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"browser tests cannot run in CI: {problem}")
        pytest.skip(f"browser tests need a browser: {problem}")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _test_name(request) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)


@pytest.fixture
def new_context(browser, request, live_server):
    """Open browser contexts (one per person) that trace while the test runs.

    The traces of a failed test are saved as test-output/browser/<test>[-N]-trace.zip.
    """
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for stale in OUTPUT.glob(f"{_test_name(request)}*-trace.zip"):
        stale.unlink()  # a trace left by an earlier failed run would mislead
    opened = []

    def open_context(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(15_000)
        context.tracing.start(screenshots=True, snapshots=True, sources=False)
        opened.append(context)
        return context

    yield open_context
    failed = any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )
    for number, context in enumerate(opened):
        suffix = f"-{number}" if number else ""
        if failed:
            context.tracing.stop(path=OUTPUT / f"{_test_name(request)}{suffix}-trace.zip")
        else:
            context.tracing.stop()
        context.close()


@pytest.fixture
def shots(request):
    """`shots(page, "label")` saves test-output/browser/<test>-NN-label.png."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    name = _test_name(request)
    for old in OUTPUT.glob(f"{name}-[0-9][0-9]-*.png"):
        old.unlink()
    count = 0

    def shot(page, label: str, *, full_page: bool = True) -> Path:
        nonlocal count
        count += 1
        path = OUTPUT / f"{name}-{count:02d}-{label}.png"
        page.screenshot(path=path, full_page=full_page)
        return path

    return shot


def no_horizontal_scroll(page) -> tuple[int, int]:
    """(scrollWidth, clientWidth) of the document: the first must not exceed the second."""
    return page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
