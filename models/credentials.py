"""Credentials as the hub sees them, without Prefect: the fields of each type, and who uses a block.

The secrets themselves live in Prefect blocks (`blocks/`), on the Prefect server the runs use;
the hub's database only names them: an integration's spec (`auth: {type, block}`) and a partner
endpoint's `credentials_block`. These rules are shared by the CLI, the REST API and the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from models.config import Customer, Integration, IntegrationEndpoint, IntegrationSource
from models.errors import Invalid


@dataclass(frozen=True)
class CredentialType:
    """The fields of one type of credentials: secrets (in the order they are asked for) and settings."""

    secrets: tuple[str, ...]
    settings: tuple[str, ...]
    required_settings: tuple[str, ...] = ()
    optional_secrets: frozenset[str] = frozenset()

    def required_secrets(self, settings: dict[str, Any]) -> list[str]:
        """The secrets these settings need; a refresh token only for the refresh_token grant."""
        needed = [name for name in self.secrets if name not in self.optional_secrets]
        if settings.get("grant") == "refresh_token":
            needed.append("refresh_token")
        return needed


CREDENTIAL_TYPES: dict[str, CredentialType] = {
    "api_token": CredentialType(secrets=("token",), settings=("placement", "header_name", "prefix", "query_param")),
    "basic": CredentialType(secrets=("password",), settings=("username",), required_settings=("username",)),
    "oauth2": CredentialType(secrets=("client_secret", "refresh_token"),
                             settings=("token_url", "client_id", "grant", "scopes", "client_auth"),
                             required_settings=("token_url", "client_id"), optional_secrets=frozenset({"refresh_token"})),
    "aws": CredentialType(secrets=("secret_access_key", "session_token"), settings=("access_key_id", "region", "service"),
                          required_settings=("access_key_id", "region", "service"),
                          optional_secrets=frozenset({"session_token"})),
}
"""Auth type (as in a connector spec) -> its fields; each is a field of the type's block."""

SECRET_ENV_PREFIX = "IHUB_CREDENTIALS_"
"""A secret may come from the environment: IHUB_CREDENTIALS_TOKEN, IHUB_CREDENTIALS_PASSWORD, ..."""

_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62})")


def credential_type(auth_type: str) -> CredentialType:
    found = CREDENTIAL_TYPES.get(auth_type)
    if found is None:
        raise Invalid(f"credentials type {auth_type!r} is not one of {', '.join(CREDENTIAL_TYPES)}")
    return found


def check_block_name(name: str) -> str:
    """What Prefect accepts as a block name: lower-case letters, digits and dashes."""
    if not _NAME.fullmatch(name or ""):
        problem = (f"credentials name {name!r} is not valid: use 1 to 63 lower-case letters, digits or '-', "
                   "starting with a letter or digit (e.g. acme-crm-token)")
        raise Invalid(problem, fields={"name": problem})
    return name


def check_fields(auth_type: str, settings: dict[str, Any], secrets: dict[str, Any]) -> None:
    """Refuse fields that are not the type's (naming the ones it has), never showing a value."""
    kind = credential_type(auth_type)
    problems = []
    foreign = sorted(set(settings) - set(kind.settings))
    if foreign:
        problems.append(f"{', '.join(foreign)} {'is not a setting' if len(foreign) == 1 else 'are not settings'} "
                        f"of {auth_type} credentials; its settings are {', '.join(kind.settings)}")
    foreign = sorted(set(secrets) - set(kind.secrets))
    if foreign:
        problems.append(f"{', '.join(foreign)} {'is not a secret' if len(foreign) == 1 else 'are not secrets'} "
                        f"of {auth_type} credentials; its secrets are {', '.join(kind.secrets)}")
    if problems:
        raise Invalid("; ".join(problems))


def check_complete(auth_type: str, settings: dict[str, Any], secrets: dict[str, Any]) -> None:
    """Every setting and secret the type needs is given (not empty); each one missing is named as its field."""
    kind = credential_type(auth_type)
    missing = [name for name in kind.required_settings if settings.get(name) in (None, "", [])]
    missing += [name for name in kind.required_secrets(settings) if not secrets.get(name)]
    if missing:
        raise Invalid(f"{auth_type} credentials need {', '.join(missing)}",
                      fields={name: f"{auth_type} credentials need {name}" for name in missing})


@dataclass
class Users:
    """What uses one credentials block: integrations (customer/name) and partner endpoints."""

    integrations: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.integrations or self.endpoints)

    def describe(self) -> str:
        parts = []
        if self.integrations:
            parts.append(f"integration{'s' if len(self.integrations) > 1 else ''} {', '.join(self.integrations)}")
        if self.endpoints:
            parts.append(f"partner endpoint{'s' if len(self.endpoints) > 1 else ''} {', '.join(self.endpoints)}")
        return " and ".join(parts)


def credential_users(db: Session) -> dict[tuple[str, str], Users]:
    """(auth type, block name) -> what uses it: the specs' `auth`, and partner endpoints' blocks.

    A partner integration runs with its endpoint's block, whatever its stored spec says.
    """
    from models.partners import PartnerError, get_partner

    customers = {c.id: c.name for c in db.exec(select(Customer))}
    endpoints = {e.id: e for e in db.exec(select(IntegrationEndpoint))}
    users: dict[tuple[str, str], Users] = {}

    def partner_auth(endpoint: IntegrationEndpoint) -> str | None:
        try:
            return get_partner(endpoint.partner).auth_type
        except PartnerError:  # a partner no longer in the catalog
            return None

    for endpoint in sorted(endpoints.values(), key=lambda e: (customers[e.customer_id], e.name)):
        if endpoint.partner and endpoint.credentials_block and (auth_type := partner_auth(endpoint)):
            users.setdefault((auth_type, endpoint.credentials_block), Users()).endpoints.append(
                f"{customers[endpoint.customer_id]}/{endpoint.name}")
    integrations = db.exec(select(Integration).where(Integration.spec.is_not(None)))
    for integration in sorted(integrations, key=lambda i: (customers[i.customer_id], i.name)):
        auth = (integration.spec or {}).get("auth") or {}
        auth_type, block = auth.get("type"), auth.get("block")
        endpoint = endpoints.get(integration.endpoint_id)
        if integration.source == IntegrationSource.partner and endpoint is not None and endpoint.credentials_block:
            block = endpoint.credentials_block
        if auth_type and auth_type != "none" and block:
            users.setdefault((auth_type, block), Users()).integrations.append(
                f"{customers[integration.customer_id]}/{integration.name}")
    return users
