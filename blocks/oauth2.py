"""OAuth2 credentials (seed 004's "OAuth2 Authentication"): client-credentials and refresh-token grants.

Token requests go through authlib. The access token is cached until shortly before it
expires and fetched again then, or once when the vendor answers 401. A refresh token that the
vendor rotates is written back to the block, so the next run starts from the new one.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Literal

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.schema import schema_made_once
from models.egress import GuardedTransport
from models.errors import CredentialsRejected
from models.redact import basic_form, register

EARLY_REFRESH_SECONDS = 60
"""A token this close to its expiry is replaced before use."""


@schema_made_once
class OAuth2Credentials(Block):
    """An OAuth2 client: a token URL, a client id and secret, and for the refresh grant a refresh token."""

    _block_type_name = "IHub OAuth2 Credentials"
    _block_type_slug = "ihub-oauth2-credentials"
    _description = "An OAuth2 client for a vendor API, used by Integration Hub connectors."

    token_url: str = Field(description="The vendor's token endpoint.")
    client_id: str
    client_secret: SecretStr
    grant: Literal["client_credentials", "refresh_token"] = "client_credentials"
    refresh_token: SecretStr | None = Field(default=None, description="For the refresh_token grant; kept current.")
    scopes: list[str] = Field(default_factory=list)
    client_auth: Literal["body", "basic"] = Field(
        default="body", description="Send the client id and secret in the form body or as HTTP Basic."
    )

    def secret_values(self) -> list[str]:
        """What `models.redact` must keep out of every message: the client secret (also as the Basic header of
        `client_auth: basic`) and the refresh token. The tokens fetched during a run are added as they come."""
        secret = self.client_secret.get_secret_value()
        values = [secret, basic_form(self.client_id, secret)]
        return values + ([self.refresh_token.get_secret_value()] if self.refresh_token else [])

    def auth(self) -> httpx.Auth:
        return OAuth2Auth(self)

    def fetch_token(self) -> dict[str, Any]:
        """One token request for this block's grant; a rotated refresh token is saved back."""
        method = "client_secret_post" if self.client_auth == "body" else "client_secret_basic"
        scope = " ".join(self.scopes) or None
        where = httpx.URL(self.token_url)
        try:
            with OAuth2Client(self.client_id, self.client_secret.get_secret_value(), token_endpoint_auth_method=method,
                              scope=scope, transport=GuardedTransport()) as client:
                if self.grant == "refresh_token":
                    if self.refresh_token is None:
                        raise CredentialsRejected("the refresh_token grant needs a refresh token in the block")
                    token = client.refresh_token(self.token_url, refresh_token=self.refresh_token.get_secret_value())
                else:
                    token = client.fetch_token(self.token_url, grant_type="client_credentials")
        except OAuthError as exc:
            raise CredentialsRejected(
                f"the OAuth2 token endpoint {where.host}{where.path} refused the credentials ({exc.error})"
            ) from None
        except httpx.HTTPError as exc:
            raise CredentialsRejected(
                f"cannot get an OAuth2 token from {where.host}{where.path} ({type(exc).__name__})"
            ) from None
        rotated = token.get("refresh_token")
        register(token.get("access_token"), rotated)
        if self.grant == "refresh_token" and rotated and rotated != self.refresh_token.get_secret_value():
            self.refresh_token = SecretStr(rotated)
            if self._block_document_name:
                self.save(self._block_document_name, overwrite=True)
        return dict(token)


class OAuth2Auth(httpx.Auth):
    """Bearer tokens from an `OAuth2Credentials` block, cached, renewed on expiry and once on a 401.

    Pages are fetched on several threads at once: one token request at a time, so a refresh token
    that rotates on use is used once."""

    def __init__(self, credentials: OAuth2Credentials, now: Callable[[], float] = time.time):
        self._credentials = credentials
        self._now = now
        self._token: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request):
        used = self._access_token()
        request.headers["Authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code == 401:  # revoked or expired early: one new token, one more try
            with self._lock:  # pages in flight got the 401 too: the first one renews the token, once
                if self._token is not None and self._token["access_token"] == used:
                    self._token = None
            request.headers["Authorization"] = f"Bearer {self._access_token()}"
            yield request

    def _access_token(self) -> str:
        with self._lock:
            token = self._token
            if token is None or token.get("expires_at", float("inf")) - EARLY_REFRESH_SECONDS <= self._now():
                token = self._token = self._credentials.fetch_token()
            return token["access_token"]

    def __repr__(self) -> str:
        return f"OAuth2Auth(token_url={self._credentials.token_url!r})"
