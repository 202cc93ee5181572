"""Prefect credential blocks. Each one turns into an `httpx.Auth`; secrets stay inside the block."""

from blocks.api_token import ApiTokenAuth, ApiTokenCredentials
from blocks.basic import BasicCredentials

CREDENTIAL_BLOCKS = {"api_token": ApiTokenCredentials, "basic": BasicCredentials}
"""Auth type in a connector spec -> the block class that holds those credentials."""

__all__ = ["ApiTokenAuth", "ApiTokenCredentials", "BasicCredentials", "CREDENTIAL_BLOCKS"]
