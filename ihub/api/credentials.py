"""Credentials of universal-connector integrations (Prefect blocks on the Prefect server in use).

Secrets are write-only: they go in with a create or an update and never come back out; an
answer says only which secrets are set.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, SecretStr

from ihub.api.errors import answers
from ihub.api.schemas import Message, _In
from ihub.api.security import operator

router = APIRouter(prefix="/credentials", tags=["credentials"], dependencies=[Depends(operator)],
                   responses=answers(401, 403, 422))
MISSING, CLASH = answers(404), answers(404, 409)

AuthType = Literal["api_token", "basic", "oauth2", "aws"]
_SECRETS = ("write-only: api_token: token; basic: password; oauth2: client_secret, refresh_token; "
            "aws: secret_access_key, session_token")
_SETTINGS = ("api_token: placement, header_name, prefix, query_param; basic: username; oauth2: token_url, "
             "client_id, grant, scopes, client_auth; aws: access_key_id, region, service")


class CredentialsCreate(_In):
    name: str = Field(max_length=63, description="lower-case letters, digits and '-': what a spec's auth.block names")
    type: AuthType
    settings: dict[str, Any] = Field(default_factory=dict, description=_SETTINGS)
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description=_SECRETS)


class CredentialsUpdate(_In):
    settings: dict[str, Any] = Field(default_factory=dict, description="the settings to change; the others are kept")
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description=f"the secrets to replace ({_SECRETS})")
    test_with: str | None = Field(default=None, max_length=400,
                                  description="customer/name of an integration: replace them only if one request to "
                                              "its vendor succeeds with the new ones (else 422, the old ones kept)")


class CredentialsPublic(BaseModel):
    name: str
    type: AuthType
    settings: dict[str, Any]
    secrets_set: dict[str, bool] = Field(description="which secrets are set; their values are never returned")
    integrations: list[str] = Field(description="the integrations (customer/name) that use them")
    endpoints: list[str] = Field(description="the partner endpoints (customer/name) that use them")


class CredentialsListing(BaseModel):
    prefect_server: str = Field(description="the Prefect server the credentials were read from")
    credentials: list[CredentialsPublic]


class CredentialsTest(_In):
    integration: str = Field(max_length=400, description="customer/name of the integration whose vendor to ask")


class CredentialsCopy(_In):
    to_api_url: str = Field(max_length=2000, description="the target Prefect server's API URL, e.g. "
                                                         "http://prefect.internal:4200/api")
    overwrite: bool = Field(default=False, description="replace credentials of the same name there")


class CredentialsCopied(Message):
    copied: list[str]
    skipped: list[str] = Field(description="names the target already had, kept (without overwrite)")


def _public(found) -> CredentialsPublic:
    return CredentialsPublic(name=found.name, type=found.type, settings=found.settings,
                             secrets_set=found.secrets_set, integrations=found.users.integrations,
                             endpoints=found.users.endpoints)


def _plain(secrets: dict[str, SecretStr]) -> dict[str, str]:
    return {name: value.get_secret_value() for name, value in secrets.items()}


@router.get("", summary="List the credentials on the Prefect server in use")
def list_credentials() -> CredentialsListing:
    from ihub.credentials import list_credentials as listing

    found = listing()
    return CredentialsListing(prefect_server=found.prefect_server, credentials=[_public(c) for c in found.credentials])


@router.post("", status_code=201, summary="Create credentials", responses=answers(409),
             description="Saved as a Prefect block on the Prefect server in use; refused (409) when the name is "
                         "taken there.")
def create_credentials(body: CredentialsCreate) -> CredentialsPublic:
    from ihub.credentials import create_credentials as create

    return _public(create(body.name, body.type, body.settings, _plain(body.secrets)))


@router.get("/{name}", summary="Show credentials (never a secret)", responses=MISSING)
def show_credentials(name: str) -> CredentialsPublic:
    from ihub.credentials import show_credentials as show

    return _public(show(name))


@router.patch("/{name}", summary="Rotate secrets or change settings", responses=MISSING,
              description="What is not given is kept.")
def update_credentials(name: str, body: CredentialsUpdate) -> CredentialsPublic:
    from ihub.credentials import update_credentials as update

    return _public(update(name, body.settings, _plain(body.secrets), test_with=body.test_with))


@router.delete("/{name}", summary="Delete credentials", responses=CLASH,
               description="Refused (409) while integrations or partner endpoints use them; the message names them.")
def delete_credentials(name: str) -> Message:
    from ihub.credentials import delete_credentials as delete

    auth_type = delete(name)
    return Message(message=f"{auth_type} credentials '{name}' deleted")


@router.post("/{name}/test", summary="Send one request with them to an integration's vendor", responses=MISSING,
             description="The integration's first page (or its partner's connection test). A refusal is a 422 "
                         "with the vendor's reason.")
def test_credentials(name: str, body: CredentialsTest) -> Message:
    from ihub.credentials import test_credentials as probe

    return Message(message=f"credentials '{name}' work with {body.integration}: {probe(name, body.integration)}")


@router.post("/copy", summary="Copy every credentials block to another Prefect server",
             description="From the Prefect server in use (e.g. the embedded one) to a production one. A name the "
                         "target already has is kept unless `overwrite`.")
def copy_credentials(body: CredentialsCopy) -> CredentialsCopied:
    from ihub.credentials import copy_credentials as copy

    source, result = copy(body.to_api_url, body.overwrite)
    return CredentialsCopied(message=f"copied {len(result.copied)} credentials from {source} to {body.to_api_url}",
                             copied=result.copied, skipped=result.skipped)
