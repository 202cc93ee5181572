"""Credentials sent only to the hosts they are for, over connections the egress policy allows.

Every request to a vendor goes through `vendor_client`: its connections pass `models.egress`
(no loopback, private or metadata address unless the operator allows it), and its auth, any
block's `httpx.Auth`, is applied only to the spec's own hosts (`RequestSpec.foreign`). A
paginator already refuses a next-page URL on another host; this is the second lock, for any
request that would carry the credentials elsewhere.
"""

from __future__ import annotations

from typing import Any

import httpx

from models.egress import EgressRefused, guarded_client
from models.spec import RequestSpec


class HostBoundAuth(httpx.Auth):
    """Applies `auth` to requests on the spec's own hosts; raises `EgressRefused` for any other."""

    def __init__(self, auth: httpx.Auth, request: RequestSpec):
        self._auth = auth
        self._request = request
        self.requires_request_body = auth.requires_request_body  # SigV4 signs the body
        self.requires_response_body = auth.requires_response_body

    def auth_flow(self, request: httpx.Request):
        problem = self._request.foreign(str(request.url))
        if problem:
            raise EgressRefused(f"refused to apply the credentials to a request {problem}")
        yield from self._auth.auth_flow(request)

    def __repr__(self) -> str:
        return f"HostBoundAuth({self._auth!r}, host={self._request.host!r})"


def vendor_client(auth: httpx.Auth | None, request: RequestSpec, **options: Any) -> httpx.Client:
    """A client for the vendor of `request`: guarded connections, credentials bound to its hosts.

    The timeouts and headers are the spec's unless `options` (any `httpx.Client` option) say otherwise.
    """
    options.setdefault("timeout", httpx.Timeout(request.timeout_seconds, connect=request.connect_timeout_seconds))
    options.setdefault("headers", request.headers)
    return guarded_client(auth=HostBoundAuth(auth, request) if auth is not None else None, **options)
