"""One TLS context for all of a process's Prefect API clients.

Prefect 3 builds a new TLS context for every API client it makes, loading certifi's (or
`PREFECT_API_SSL_CERT_FILE`'s) CAs each time: 20-40 ms of CPU a client, and a flow run, a block
saved or read, a history read each make one or more. Upstream has no setting for it yet
(PrefectHQ/prefect#19106 proposes one), so the client module's `ssl` is given a stand-in whose
verified contexts are made once per CA file. A verified context is only read once made; the
unverified one (`PREFECT_API_TLS_INSECURE_SKIP_VERIFY`), which Prefect changes after making it,
is still made new each time.
"""

from __future__ import annotations

import ssl
from functools import cache
from types import ModuleType
from typing import Any


def share_prefect_tls_context() -> None:
    """Make Prefect's API clients share one verified TLS context per CA file; once per process."""
    import prefect.client.orchestration as orchestration

    if not isinstance(orchestration.ssl, _SharedContexts):
        orchestration.ssl = _SharedContexts()


class _SharedContexts(ModuleType):
    """`ssl`, except that a verified context for a CA file is made once."""

    def __init__(self):
        super().__init__("ssl")

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context(purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile: str | None = None,
                               capath: str | None = None, cadata: Any = None) -> ssl.SSLContext:
        if cafile is None or capath is not None or cadata is not None or purpose != ssl.Purpose.SERVER_AUTH:
            return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
        return _verified_context(cafile)


@cache
def _verified_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)
