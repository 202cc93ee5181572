"""API-token credentials (seed 004's "API Token Authentication")."""

from __future__ import annotations

from typing import Literal

import httpx
from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.schema import schema_made_once


class ApiTokenAuth(httpx.Auth):
    """Adds a token to every request, in a header (`Authorization: Bearer …`) or a query parameter."""

    def __init__(self, token: SecretStr, placement: str, header_name: str, prefix: str, query_param: str):
        self._token = token
        self._placement = placement
        self._header_name = header_name
        self._prefix = prefix
        self._query_param = query_param

    def auth_flow(self, request: httpx.Request):
        token = self._token.get_secret_value()
        if self._placement == "query":
            request.url = request.url.copy_merge_params({self._query_param: token})
        else:
            request.headers[self._header_name] = f"{self._prefix} {token}" if self._prefix else token
        yield request

    def __repr__(self) -> str:
        return f"ApiTokenAuth(placement={self._placement!r}, token=SecretStr('**********'))"


@schema_made_once
class ApiTokenCredentials(Block):
    """A vendor API token, sent in a header (with an optional prefix) or as a query parameter."""

    _block_type_name = "IHub API Token Credentials"
    _block_type_slug = "ihub-api-token-credentials"
    _description = "An API token for a vendor API, used by Integration Hub connectors."

    token: SecretStr = Field(description="The API token.")
    placement: Literal["header", "query"] = Field(default="header", description="Where the token goes.")
    header_name: str = Field(default="Authorization", description="Header that carries the token.")
    prefix: str = Field(default="Bearer", description="Written before the token in the header; may be empty.")
    query_param: str = Field(default="api_key", description="Query parameter name, for query placement.")

    def secret_values(self) -> list[str]:
        """What `models.redact` must keep out of every message."""
        return [self.token.get_secret_value()]

    def auth(self) -> httpx.Auth:
        return ApiTokenAuth(self.token, self.placement, self.header_name, self.prefix, self.query_param)
