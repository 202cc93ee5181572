"""The console in a real browser: the web app (`ihub api`) on a free loopback port, on the session's
Prefect server, Debian's Chromium driven by Playwright, one signed-in browser context, and screenshots
of each screen. All modules share `console_server` (each with customers and credentials of its own
names), whose demo-vendor partner template points at the package's `demo_vendor`: a web app that runs
flows costs seconds of CPU to start and to import Prefect, so each test process starts one.

The fixtures are package-scoped: started once for all of tests/console/ and stopped right after
them (also when the run is interrupted), because Playwright's sync API marks its event loop as
running in the main thread for as long as it lives, which the rest of the suite must not inherit.

Without Chromium the browser tests are skipped with one line saying why, unless
IHUB_REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.live_prefect import LOOPBACK

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
ADMIN = "console-browser-test-token"
# `ihub api`, with the demo vendor partner template's one region moved to the URL given first.
SERVE_WITH_VENDOR = ("import sys; from models.partners import get_partner; "
                     "get_partner('demo-vendor').regions['local'] = sys.argv.pop(1); "
                     "from ihub.entry import main; sys.argv[0] = 'ihub'; main()")


@dataclass
class Console:
    url: str
    token: str
    log: Path  # the web app's output
    database_url: str  # its hub's

    def api(self) -> httpx.Client:
        """The same app's REST API, as the admin, to set up what a test needs besides the screen it drives."""
        return httpx.Client(base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {self.token}"},
                            timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: SIGTERM when pytest itself dies (even by SIGKILL), so no server outlives it."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture(scope="package")
def demo_vendor():
    """The demo vendor on loopback, its (URL, data): the shared console connects to it and tests credentials on it."""
    from ihub.vendor import make_vendor, running_vendor

    data = make_vendor(assets=60, users=10, token="right-token-" + uuid.uuid4().hex)
    with running_vendor(data) as url:
        yield url, data


@pytest.fixture(scope="package")
def console_server(tmp_path_factory, prefect_server, demo_vendor) -> Console:
    """The shared console: a fresh hub, its credentials and runs on the session's Prefect server (a web app
    reaching Prefect costs seconds of CPU: once here), loopback allowed (IHUB_ALLOWED_HOSTS) and the demo
    vendor partner's region at `demo_vendor`."""
    from prefect.settings import PREFECT_API_URL

    home = tmp_path_factory.mktemp("console-hub")
    with running_console(home, [sys.executable, "-c", SERVE_WITH_VENDOR, demo_vendor[0]],
                         PREFECT_API_URL=PREFECT_API_URL.value(), IHUB_ALLOWED_HOSTS="127.0.0.1") as console:
        yield console


@contextmanager
def running_console(home: Path, command: list[str], **env: str) -> Iterator[Console]:
    """`command` (an `ihub` that takes the `api` arguments) serving a fresh hub in `home` on a free
    port, with `env` on top; stopped on the way out, whatever happened. Its output is `home`/server.log."""
    port = _free_port()
    env = {**os.environ, "IHUB_HOME": str(home), "IHUB_DATABASE_URL": f"sqlite:///{home / 'ihub.db'}",
           "IHUB_ADMIN_TOKEN": ADMIN, **env}
    log = open(home / "server.log", "wb")
    server = subprocess.Popen([*command, "api", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, url, home / "server.log")
        yield Console(url, ADMIN, home / "server.log", env["IHUB_DATABASE_URL"])
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_up(server: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the web app exited with {server.returncode}:\n{log.read_text()}")
        try:
            if LOOPBACK.get(f"{url}/sign-in", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the web app did not answer within {timeout:.0f} s:\n{log.read_text()}")


def _browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError as exc:
        return f"Playwright is not installed ({exc}); run `make sync`"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (`apt-get install chromium` as root, or `make test` as root)"
    return None


def pytest_collection_modifyitems(items) -> None:
    """Without a browser, skip the tests that need one: one line per file saying why (a failure in CI)."""
    why = _browser_missing()
    if why is None or os.environ.get("IHUB_REQUIRE_BROWSER") == "1":
        return
    skip = pytest.mark.skip(reason=f"console browser tests skipped: {why}")
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="package")
def browser():
    """Debian's Chromium through Playwright (browsers cannot be downloaded here)."""
    why = _browser_missing()
    if why is not None:
        pytest.fail(f"console browser tests need a browser (IHUB_REQUIRE_BROWSER=1): {why}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def signed_in(browser, console_server):
    """A browser context (1280 px wide) whose operator signed in through the sign-in page."""
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/customers")
    assert page.url.endswith("/sign-in?next=%2Fcustomers")
    page.get_by_label("Admin token").fill(console_server.token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customers")
    page.close()
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(signed_in):
    """A fresh tab of the signed-in operator."""
    tab = signed_in.new_page()
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture
def screenshot():
    """`screenshot(page, name)` saves what the operator sees (tests/console/screenshots/, not committed) when
    IHUB_TEST_SCREENSHOTS=1: look at them. Off by default: the suite's 79 full-page pictures cost Chromium
    and the test process about 9 s of CPU, and assert nothing."""

    def save(page, name: str) -> None:
        if os.environ.get("IHUB_TEST_SCREENSHOTS") != "1":
            return
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    return save
