"""`ihub up`: the whole hub on one machine, until Ctrl+C or SIGTERM.

Three processes, each in a session of its own (so Ctrl+C reaches only this one, which then
stops them in order): a persistent Prefect server (`prefect server start`; its database under
the hub's home, blocks encrypted with the hub's key), `ihub serve` (deployments and schedules),
and the web app of `ihub api` (the console at `/`, the REST API at `/api/v1`). They stop in
the reverse order, as Prefect wants: serve first, then the web app, then the server.

Once everything answers, the state file (`ihub.running_hub`) tells every other `ihub` command on
this hub which Prefect server to use. With `PREFECT_API_URL` set, that server is used and no
local one is started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ihub.running_hub import answers, remove_state, running_hub, write_state

STARTUP_TIMEOUT_SECONDS = 180.0
"""The first start of the Prefect server creates its database: ~15 s, more on a busy machine."""
STOP_TIMEOUT_SECONDS = {"ihub serve": 30.0, "web app": 10.0, "Prefect server": 20.0}


class UpError(Exception):
    """Why the hub could not start, in words for the operator."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen

    def stop(self) -> None:
        """SIGTERM (it stops what it started, e.g. serve its flow runs, as it means to), then SIGKILL to
        its whole process group if it is still there after its timeout."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS[self.name])
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop within {STOP_TIMEOUT_SECONDS[self.name]:g} s: killed", file=sys.stderr)
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Hub:
    home: Path
    host: str
    port: int
    prefect_port: int
    poll: float
    children: list[Child] = field(default_factory=list)

    def run(self) -> int:
        """Start everything, wait for a signal (or a child's death), stop everything; the exit code."""
        running = running_hub(self.home)
        if running is not None:
            raise UpError(f"the hub in {self.home} is already up (pid {running['pid']}): console "
                          f"{running['console_url']}, Prefect UI {running['prefect_ui_url']}")
        operator_url = os.environ.get("PREFECT_API_URL")
        if not operator_url:
            _check_free(self.host, self.prefect_port, "--prefect-port")
        _check_free(self.host, self.port, "--port")

        from ihub.api.security import admin_token
        from models.engine import migrate

        migrate()
        _token, token_file = admin_token()
        previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                state = self._start(operator_url)
            except KeyboardInterrupt:
                return 130
            write_state(self.home, state)
            self._welcome(state, token_file)
            return self._wait()
        finally:
            for sig in previous:  # a second Ctrl+C does not cut the orderly stop short
                signal.signal(sig, signal.SIG_IGN)
            remove_state(self.home, os.getpid())
            self._stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, operator_url: str | None) -> dict:
        env = {**os.environ, "IHUB_HOME": str(self.home)}
        address = _url_host(self.host)
        if operator_url:
            api_url = operator_url
            ui_url = api_url.rstrip("/").removesuffix("/api")
        else:
            ui_url = f"http://{address}:{self.prefect_port}"
            api_url = f"{ui_url}/api"
            log = self.home / "prefect-server.log"
            server = self._spawn("Prefect server", [sys.executable, "-m", "prefect", "server", "start",
                                                    "--host", self.host, "--port", str(self.prefect_port)], env, log)
            print(f"Starting the Prefect server on {ui_url} (its log: {log}; the first start takes ~15 s)...",
                  flush=True)
            self._await(server, f"{api_url}/health")
        env["PREFECT_API_URL"] = api_url
        console_url = f"http://{address}:{self.port}/"
        web = self._spawn("web app", [sys.executable, "-m", "uvicorn", "--factory", "ihub.api.app:create_app",
                                      "--host", self.host, "--port", str(self.port), "--log-level", "warning"], env)
        self._await(web, console_url)
        self._spawn("ihub serve", [sys.executable, "-m", "ihub", "serve", "--poll", f"{self.poll:g}"], env)
        return {"pid": os.getpid(), "prefect_api_url": api_url, "prefect_ui_url": ui_url, "console_url": console_url,
                "api_url": f"{console_url}api/v1", "children": {c.name: c.process.pid for c in self.children}}

    def _spawn(self, name: str, command: list[str], env: dict, log: Path | None = None) -> Child:
        output = open(log, "ab") if log else None
        try:
            process = subprocess.Popen(command, env=env, start_new_session=True, stdout=output,
                                       stderr=subprocess.STDOUT if output else None, preexec_fn=die_with_parent)
        finally:
            if output:
                output.close()
        child = Child(name, process)
        self.children.append(child)
        return child

    def _await(self, child: Child, url: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not answers(url):
            if child.process.poll() is not None:
                raise UpError(f"the {child.name} stopped while starting (exit code {child.process.returncode})")
            if time.monotonic() > deadline:
                raise UpError(f"the {child.name} did not answer at {url} within {STARTUP_TIMEOUT_SECONDS:g} s")
            time.sleep(0.25)

    def _welcome(self, state: dict, token_file: Path | None) -> None:
        token = f"the file {token_file}" if token_file else "IHUB_ADMIN_TOKEN"
        print(f"The hub is up.\n"
              f"  Console:    {state['console_url']}  (sign in with the admin token: {token})\n"
              f"  REST API:   {state['api_url']}  (docs: {state['console_url']}docs)\n"
              f"  Prefect UI: {state['prefect_ui_url']}\n"
              f"Every `ihub` command on this hub now uses this Prefect server. Ctrl+C stops the hub.", flush=True)

    def _wait(self) -> int:
        try:
            while True:
                for child in self.children:
                    if child.process.poll() is not None:
                        print(f"{child.name} stopped (exit code {child.process.returncode}): stopping the hub",
                              file=sys.stderr, flush=True)
                        return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("Stopping the hub: ihub serve, then the web app, then the Prefect server...", flush=True)
            return 0

    def _stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        if self.children:
            print("The hub is down.", flush=True)


def _check_free(host: str, port: int, option: str) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UpError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another port with {option}")


def _url_host(host: str) -> str:
    """Where a client on this machine reaches a server listening on `host`."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def die_with_parent() -> None:
    """In the child: SIGTERM when `ihub up` dies, even by SIGKILL, so nothing outlives the hub (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
