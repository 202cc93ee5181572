"""Prefect's embedded server for CLI runs, in a session of its own.

With no `PREFECT_API_URL`, Prefect starts a local server subprocess for the run. In the same
process group as the CLI, Ctrl+C kills that server too, and the interrupted run then hangs
reporting its end to a server that is gone. Started in its own session, the server outlives
the interrupt long enough for the run to be recorded as cancelled; Prefect stops it at exit.

The commands that talk to Prefect call `use_own_session_server` before their first flow run,
block or API read.
"""

from __future__ import annotations

import functools
import subprocess
import sys

STARTING = "starting the local Prefect server (first time ~15 s)..."


def use_own_session_server() -> None:
    """Make the embedded server (if one is needed) start in its own session, saying so on stderr.

    Like `prefect_test_harness`, this registers the instance under the default key, which is
    where Prefect's clients look for the embedded server. Prefect's server code (~2 s of CPU to
    import) is imported only when there is no Prefect server to use (no PREFECT_API_URL).
    """
    from prefect.settings import get_current_settings

    from models.prefect_tls import share_prefect_tls_context

    share_prefect_tls_context()
    if get_current_settings().api.url:
        return
    from prefect.server.api.server import SubprocessASGIServer

    if None in SubprocessASGIServer._instances:
        return

    class OwnSessionServer(SubprocessASGIServer):
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

    OwnSessionServer()
