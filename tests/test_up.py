"""`ihub up` as an operator runs it: a real process on free loopback ports, with the Prefect
server, `ihub serve` and the web app it starts; other `ihub` commands find its Prefect server
through the hub's home; SIGTERM stops all of it.

The hub is started once for the module (the Prefect server's first start costs ~15 s); the
test that stops it comes last. Whatever happens, the teardown stops `ihub up` and its children.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from ihub.running_hub import process_alive, running_hub, state_path, write_state
from ihub.up import die_with_parent

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def hub_env(home: Path) -> dict:
    """The environment of an operator's shell: this hub, and none of the test session's Prefect settings."""
    env = {**os.environ, "IHUB_HOME": str(home), "COLUMNS": "200"}
    for name in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_SERVER_ENCRYPTION_KEY", "IHUB_DATABASE_URL",
                 "IHUB_ADMIN_TOKEN"):
        env.pop(name, None)
    return env


@dataclass
class Up:
    process: subprocess.Popen
    home: Path
    state: dict
    output: Path

    def printed(self) -> str:
        return self.output.read_text()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    home = tmp_path_factory.mktemp("up") / "home"
    home.mkdir()
    # Left behind by an `ihub up` that was killed: its pid is gone, nothing answers at its URL.
    write_state(home, {"pid": dead_pid(), "prefect_api_url": "http://127.0.0.1:9/api"})
    output = home.parent / "up.out"
    command = [sys.executable, "-m", "ihub", "up", "--port", str(free_port()), "--prefect-port", str(free_port()),
               "--poll", "2"]
    with open(output, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=hub_env(home), stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=die_with_parent)
    children: list[int] = []
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while (state := running_hub(home)) is None or "children" not in state:
            assert process.poll() is None, f"ihub up stopped:\n{output.read_text()}"
            assert time.monotonic() < deadline, f"ihub up was not up in {STARTUP_SECONDS} s:\n{output.read_text()}"
            time.sleep(0.5)
        children = list(state["children"].values())
        yield Up(process, home, state, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_up_serves_the_console_the_api_and_prefect(hub):
    state, home = hub.state, hub.home
    sign_in = httpx.get(state["console_url"], follow_redirects=True, timeout=30)
    assert sign_in.status_code == 200 and "Operators sign in with the hub's admin token" in sign_in.text
    token = (home / "admin-token").read_text().strip()
    customers = httpx.get(f"{state['api_url']}/customers", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert customers.status_code == 200, customers.text
    health = httpx.get(f"{state['prefect_api_url']}/health", timeout=30)
    assert health.status_code == 200 and health.json() is True
    assert (home / "prefect" / "prefect.db").exists()  # the server's database lives under the hub's home
    printed = hub.printed()
    assert f"Console:    {state['console_url']}" in printed
    assert f"Prefect UI: {state['prefect_ui_url']}" in printed
    assert f"sign in with the admin token: the file {home / 'admin-token'}" in printed
    assert state["pid"] == hub.process.pid
    assert set(state["children"]) == {"Prefect server", "web app", "ihub serve"}


def test_a_second_up_on_the_same_hub_says_where_the_first_one_is(hub):
    second = subprocess.run([sys.executable, "-m", "ihub", "up", "--port", str(free_port()),
                             "--prefect-port", str(free_port())], cwd=ROOT, env=hub_env(hub.home),
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert f"is already up (pid {hub.process.pid})" in second.stdout
    assert hub.state["console_url"] in second.stdout and hub.state["prefect_ui_url"] in second.stdout


def test_other_commands_use_its_prefect_server(hub):
    demo = subprocess.run([sys.executable, "-m", "ihub", "demo", "--assets", "60"], cwd=ROOT, env=hub_env(hub.home),
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "starting the local Prefect server" not in demo.stdout + demo.stderr
    runs = asyncio.run(sync_runs(hub.state["prefect_api_url"]))
    by_hand = [run.state_name for run in runs if run.deployment_id is None]
    assert by_hand == ["Completed", "Completed"]  # the demo syncs twice, and those runs are in this server
    # `ihub serve` finds the demo's integration in the same hub (it polls) and schedules its sync on this server too
    deadline = time.monotonic() + 120
    while not any(run.deployment_id is not None and run.state_name == "Scheduled" for run in runs):
        assert time.monotonic() < deadline, "ihub serve scheduled no run of the demo's deployment on this server"
        time.sleep(1)
        runs = asyncio.run(sync_runs(hub.state["prefect_api_url"]))


async def sync_runs(api_url: str):
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with PrefectClient(api_url) as client:
        return await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["sync-integration"])))


def test_sigterm_stops_all_of_it(hub):
    """Last: it stops the module's hub."""
    children = hub.state["children"]
    hub.process.send_signal(signal.SIGTERM)
    assert hub.process.wait(90) == 0
    assert [name for name, pid in children.items() if process_alive(pid)] == []
    assert not state_path(hub.home).exists()
    printed = hub.printed()
    assert "Stopping the hub: ihub serve, then the web app, then the Prefect server" in printed
    assert printed.rstrip().endswith("The hub is down.")


class _PrefectHealth(BaseHTTPRequestHandler):
    def do_GET(self):
        found = self.path == "/api/health"
        self.send_response(200 if found else 404)
        self.end_headers()
        self.wfile.write(b"true" if found else b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def answering_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PrefectHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


def test_commands_find_the_running_hub_and_ignore_a_stale_state_file(tmp_path, monkeypatch, answering_server):
    from ihub.settings import configure_environment

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("IHUB_HOME", str(home))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)

    def found(pid: int, api_url: str) -> str | None:
        write_state(home, {"pid": pid, "prefect_api_url": api_url})
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        configure_environment()
        return os.environ.get("PREFECT_API_URL")

    assert found(os.getpid(), answering_server) == answering_server
    assert found(dead_pid(), answering_server) is None  # its `ihub up` is gone
    assert found(os.getpid(), f"http://127.0.0.1:{free_port()}/api") is None  # its server does not answer
    state_path(home).write_text("{not json")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    configure_environment()
    assert "PREFECT_API_URL" not in os.environ


def test_the_operators_prefect_api_url_wins(tmp_path, monkeypatch, answering_server):
    from ihub.settings import configure_environment

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("IHUB_HOME", str(home))
    write_state(home, {"pid": os.getpid(), "prefect_api_url": answering_server})
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    configure_environment()
    assert os.environ["PREFECT_API_URL"] == "http://prefect.example:4200/api"
