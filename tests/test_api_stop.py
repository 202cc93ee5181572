"""Stopping `ihub api` (SIGTERM, as a service manager does) stops the embedded Prefect server it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.live_prefect import PREFECT_NO_REGISTRATION, free_port, wait_for
from tests.prefect_databases import copy_sqlite_template

API_WITH_EMBEDDED_PREFECT = textwrap.dedent("""
    import sys
    from ihub.settings import configure_environment

    configure_environment()
    from ihub.embedded import use_own_session_server
    from prefect.server.api.server import SubprocessASGIServer

    use_own_session_server()  # as a run or a block read started from the API does
    server = SubprocessASGIServer()
    server.start()
    print("prefect", server.server_process.pid, flush=True)
    from ihub.api.app import serve

    serve("127.0.0.1", int(sys.argv[1]))
""")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone too
        return stat.read().split(") ")[1][0] != "Z"


def test_sigterm_stops_the_api_and_the_embedded_prefect_server_it_started(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update(IHUB_HOME=str(tmp_path / "hub"), IHUB_DATABASE_URL=f"sqlite:///{tmp_path / 'ihub.db'}")
    if copy_sqlite_template(tmp_path / "hub" / "prefect" / "prefect.db"):  # the embedded server's, not migrated again
        env.update(PREFECT_NO_REGISTRATION)
    errors = open(tmp_path / "stderr", "w")  # "starting the local Prefect server ...", uvicorn's lines
    api = subprocess.Popen([sys.executable, "-c", API_WITH_EMBEDDED_PREFECT, str(free_port())], env=env,
                           stdout=subprocess.PIPE, stderr=errors, text=True, start_new_session=True)
    prefect_pid = None
    try:
        line = api.stdout.readline()  # the script's own prints only: "" if it died
        assert line.startswith("prefect "), (tmp_path / "stderr").read_text()
        prefect_pid = int(line.split()[1])
        assert "REST API on" in api.stdout.readline()
        api.send_signal(signal.SIGTERM)
        assert api.wait(30) == 128 + signal.SIGTERM
        wait_for(lambda: not alive(prefect_pid), 10, "the embedded Prefect server to stop")
    finally:
        for pid in (api.pid, prefect_pid):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
        api.wait()
        errors.close()
