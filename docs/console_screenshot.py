"""Take the README's screenshot of the console (docs/console.png) from a real `ihub up`.

    .venv/bin/python docs/console_screenshot.py

Starts `ihub up` on free loopback ports in a throwaway hub, onboards two customers through the
REST API, signs in with Playwright on Debian's Chromium (/usr/bin/chromium), saves the Integration
Endpoint screen, and stops the hub with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = Path(__file__).with_name("console.png")
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_hub(home: Path, hub: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            sys.exit(f"ihub up stopped with {hub.returncode}")
        try:
            state = json.loads((home / "up.json").read_text())
            if "children" in state:
                return state
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    sys.exit("ihub up was not up within 240 s")


def onboard(api_url: str, token: str) -> None:
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        for customer, endpoints in {
            "acme": {"asset-inventory": "Laptops and monitors from the asset-management system",
                          "hr-directory": "Employees, synced nightly from the HR system",
                          "service-desk": "Tickets and their requesters"},
            "globex": {"fleet": "Vehicles and their drivers"},
        }.items():
            api.post("/customers", json={"name": customer}).raise_for_status()
            for name, description in endpoints.items():
                api.post(f"/customers/{customer}/endpoints",
                         json={"name": name, "description": description}).raise_for_status()


def screenshot(console_url: str, token: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page(base_url=console_url, viewport={"width": 1280, "height": 500})
        page.goto("/sign-in")
        page.get_by_label("Admin token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/customers")
        page.goto("/customers/acme/endpoints")
        page.screenshot(path=OUTPUT)
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ihub-screenshot-") as folder:
        home = Path(folder) / "home"
        env = {**os.environ, "IHUB_HOME": str(home)}
        for name in ("PREFECT_API_URL", "PREFECT_HOME", "IHUB_DATABASE_URL", "IHUB_ADMIN_TOKEN"):
            env.pop(name, None)
        hub = subprocess.Popen([sys.executable, "-m", "ihub", "up", "--port", str(free_port()),
                                "--prefect-port", str(free_port())], cwd=ROOT, env=env, start_new_session=True)
        try:
            state = wait_for_hub(home, hub)
            token = (home / "admin-token").read_text().strip()
            onboard(state["api_url"], token)
            screenshot(state["console_url"].rstrip("/"), token)
        finally:
            hub.send_signal(signal.SIGTERM)
            hub.wait(90)
    print(f"{OUTPUT} ({OUTPUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
