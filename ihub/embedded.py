"""Prefect's embedded server for CLI runs, in a session of its own.

With no `PREFECT_API_URL`, Prefect starts a local server subprocess for the run. In the same
process group as the CLI, Ctrl+C kills that server too, and the interrupted run then hangs
reporting its end to a server that is gone. Started in its own session, the server outlives
the interrupt long enough for the run to be recorded as cancelled; Prefect stops it at exit.

Only the commands that talk to Prefect import this module (it imports Prefect's server), and
call `use_own_session_server` before their first flow run, block or API read.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

from prefect.server.api.server import SubprocessASGIServer

STARTING = "starting the local Prefect server (first time ~15 s)..."


class _OwnSessionServer(SubprocessASGIServer):
    def start(self, timeout: int | None = None) -> None:
        if not self.running:  # said once, when Prefect finds no server to use and starts this one
            print(STARTING, file=sys.stderr, flush=True)
        super().start(timeout)

    def _run_uvicorn_command(self) -> subprocess.Popen:
        popen = subprocess.Popen
        subprocess.Popen = functools.partial(popen, start_new_session=True)
        try:
            return super()._run_uvicorn_command()
        finally:
            subprocess.Popen = popen


def use_own_session_server() -> None:
    """Make the embedded server (if one is needed) start in its own session, saying so on stderr.

    Like `prefect_test_harness`, this registers the instance under the default key, which is
    where Prefect's clients look for the embedded server.
    """
    if not os.environ.get("PREFECT_API_URL") and None not in SubprocessASGIServer._instances:
        _OwnSessionServer()
