"""Prefect credential blocks. Each one turns into an `httpx.Auth`; secrets stay inside the block."""

from blocks.api_token import ApiTokenAuth, ApiTokenCredentials
from blocks.aws import AwsCredentials
from blocks.basic import BasicCredentials
from blocks.oauth2 import OAuth2Credentials

CREDENTIAL_BLOCKS = {
    "api_token": ApiTokenCredentials,
    "basic": BasicCredentials,
    "oauth2": OAuth2Credentials,
    "aws": AwsCredentials,
}
"""Auth type in a connector spec -> the block class that holds those credentials."""

__all__ = ["ApiTokenAuth", "ApiTokenCredentials", "AwsCredentials", "BasicCredentials", "CREDENTIAL_BLOCKS", "OAuth2Credentials"]
