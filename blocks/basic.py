"""Username + password credentials (seed 004's "Basic Authentication")."""

from __future__ import annotations

import httpx
from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.schema import schema_made_once
from models.redact import basic_form


@schema_made_once
class BasicCredentials(Block):
    """A username and password, sent as HTTP Basic authentication."""

    _block_type_name = "IHub Basic Credentials"
    _block_type_slug = "ihub-basic-credentials"
    _description = "A username and password for a vendor API, used by Integration Hub connectors."

    username: str = Field(description="The user name.")
    password: SecretStr = Field(description="The password.")

    def secret_values(self) -> list[str]:
        """What `models.redact` must keep out of every message: the password, and the header a server may echo."""
        password = self.password.get_secret_value()
        return [password, basic_form(self.username, password)]

    def auth(self) -> httpx.Auth:
        return httpx.BasicAuth(self.username, self.password.get_secret_value())
