"""Prefect credential blocks. Each one turns into an `httpx.Auth`; secrets stay inside the block.

Each block's module is imported when its class is first asked for: AWS's (botocore) and OAuth2's
(authlib) take ~0.6 s of CPU to import, which a run or a command with a token does not need.
"""

from __future__ import annotations

from importlib import import_module
from typing import Iterator, Mapping

from models.prefect_tls import share_prefect_tls_context

_MODULES = {
    "ApiTokenAuth": "blocks.api_token",
    "ApiTokenCredentials": "blocks.api_token",
    "AwsCredentials": "blocks.aws",
    "BasicCredentials": "blocks.basic",
    "OAuth2Credentials": "blocks.oauth2",
}


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module 'blocks' has no attribute {name!r}")
    share_prefect_tls_context()  # blocks are saved and read through Prefect's API clients
    return getattr(import_module(_MODULES[name]), name)


class _CredentialBlocks(Mapping):
    _CLASSES = {"api_token": "ApiTokenCredentials", "basic": "BasicCredentials", "oauth2": "OAuth2Credentials",
                "aws": "AwsCredentials"}

    def __getitem__(self, auth_type: str):
        return __getattr__(self._CLASSES[auth_type])

    def __iter__(self) -> Iterator[str]:
        return iter(self._CLASSES)

    def __len__(self) -> int:
        return len(self._CLASSES)


CREDENTIAL_BLOCKS: Mapping[str, type] = _CredentialBlocks()
"""Auth type in a connector spec -> the block class that holds those credentials."""

__all__ = ["ApiTokenAuth", "ApiTokenCredentials", "AwsCredentials", "BasicCredentials", "CREDENTIAL_BLOCKS", "OAuth2Credentials"]
