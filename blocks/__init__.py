"""Prefect credential blocks. Each one turns into an `httpx.Auth`; secrets stay inside the block."""

from blocks.api_token import ApiTokenAuth, ApiTokenCredentials

CREDENTIAL_BLOCKS = {"api_token": ApiTokenCredentials}
"""Auth type in a connector spec -> the block class that holds those credentials."""

__all__ = ["ApiTokenAuth", "ApiTokenCredentials", "CREDENTIAL_BLOCKS"]
