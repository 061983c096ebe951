"""Fixtures of the dashboard tests: a real web server and a real headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard_support import CHROMIUM, CHROMIUM_ARGS
from tests.processes import Proc, web


@pytest.fixture(scope="module")
def _module_server(django_db_setup: Any) -> Iterator[dict[str, Proc]]:
    """Holds the module's web process (started by the first test that asks for `server`)
    and stops it when the module ends, before the test database goes."""
    holder: dict[str, Proc] = {}
    yield holder
    if "proc" in holder:
        holder["proc"].stop()


@pytest.fixture
def server(clean_redis: Any, _module_server: dict[str, Proc]) -> Proc:
    """The Procfile's web process with default settings, shared by a module's tests: each
    test still starts with an empty Redis (clean_redis) and its own rows (transaction=True
    flushes the database after each), and the pages earlier tests opened are closed
    (_close_pages), so no socket of theirs, nor the per-socket state behind it, is left.
    The process caches the gate schedule's period for 5 s: a test that edits the schedule
    starts its own web process. Restarted if a test stopped it."""
    proc = _module_server.get("proc")
    if proc is None or not proc.alive():
        proc = _module_server["proc"] = web().start()
    return proc


@pytest.fixture(autouse=True)
def _close_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's pages (their sockets included) close when it ends, not when the module does."""
    yield
    if "browser" in request.fixturenames:
        from playwright.sync_api import Error as PlaywrightError

        for context in list(request.getfixturevalue("browser").contexts):
            try:
                context.close()
            except PlaywrightError:  # already gone with its browser: nothing to close
                pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not package: test_dashboard_font.py starts its own Playwright, and two
    # sync Playwrights cannot share this thread.
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests
    # make between page actions are plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium or set CHROMIUM_PATH")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
