"""The credentials service: what `ihub credentials`, `/api/v1/credentials` and the console call.

Credentials are Prefect blocks on the Prefect server the runs use (`blocks.store`); the hub's
database says who uses them (`models.credentials`). Each function checks what it was given
before it starts Prefect, refuses with a `HubError` (the same words on every face), and never
returns a secret: settings in full, secrets only as set or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.credentials import Users, check_block_name, check_complete, check_fields, credential_users
from models.endpoints import KEPT
from models.engine import session
from models.errors import Conflict, CredentialsRejected, HubError, Invalid


@dataclass
class Credentials:
    """One credentials block as shown: never a secret value."""

    name: str
    type: str
    settings: dict[str, Any]
    secrets_set: dict[str, bool]
    users: Users = field(default_factory=Users)


@dataclass
class Listing:
    prefect_server: str
    credentials: list[Credentials]


def _prefect() -> None:
    """Use the Prefect server the operator runs, else the embedded one (saying so as it starts)."""
    from ihub.embedded import use_own_session_server

    use_own_session_server()


def _users() -> dict[tuple[str, str], Users]:
    with session() as db:
        return credential_users(db)


def _shown(block, name: str) -> Credentials:
    from blocks.store import split, type_of

    settings, secrets = split(block)
    auth_type = type_of(block)
    return Credentials(name, auth_type, settings, {key: bool(value) for key, value in secrets.items()},
                       _users().get((auth_type, name), Users()))


def prefect_server() -> str:
    """Which Prefect server the credentials are read from and saved to."""
    from blocks.store import server_in_use

    _prefect()
    return server_in_use()


def list_credentials() -> Listing:
    from blocks.store import listed, server_in_use

    _prefect()
    users = _users()
    rows = [Credentials(row.name, row.type, row.settings, row.secrets_set, users.get((row.type, row.name), Users()))
            for row in listed()]
    return Listing(server_in_use(), rows)


def show_credentials(name: str) -> Credentials:
    from blocks.store import find

    check_block_name(name)
    _prefect()
    return _shown(find(name), name)


def create_credentials(name: str, auth_type: str, settings: dict[str, Any], secrets: dict[str, Any]) -> Credentials:
    """Save new credentials; refused when the name is taken (on the server in use)."""
    from blocks.store import build, exists, save, server_in_use

    check_block_name(name)
    check_fields(auth_type, settings, secrets)
    check_complete(auth_type, settings, secrets)
    _prefect()
    block = build(auth_type, settings, secrets)
    taken = exists(name)
    if taken is not None:
        problem = (f"credentials named '{name}' ({taken}) already exist on {server_in_use()}; "
                   f"change them with `ihub credentials rotate {name}`")
        raise Conflict(problem, fields={"name": problem})
    save(block, name, overwrite=False)
    return _shown(block, name)


def update_credentials(name: str, settings: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None,
                       test_with: str | None = None) -> Credentials:
    """Replace some settings and/or secrets (a rotation); what is not given is kept.

    With `test_with` (an integration, customer/name), the new credentials must first pass
    `test_credentials` against its vendor; refused, the ones in use are kept.
    """
    from blocks.store import build, find, save, split, type_of

    check_block_name(name)
    settings, secrets = settings or {}, secrets or {}
    if not (settings or secrets):
        raise Invalid("give the settings or secrets to change")
    target = _test_target(test_with) if test_with else None
    _prefect()
    block = find(name)
    auth_type = type_of(block)
    check_fields(auth_type, settings, secrets)
    old_settings, old_secrets = split(block)
    new_settings, new_secrets = {**old_settings, **settings}, {**old_secrets, **secrets}
    check_complete(auth_type, new_settings, new_secrets)
    fresh = build(auth_type, new_settings, new_secrets)
    if target is not None:
        try:
            _probe(target, fresh.auth())
        except HubError as exc:
            raise CredentialsRejected(f"{KEPT}: {exc}") from None
    save(fresh, name, overwrite=True)
    return _shown(fresh, name)


def delete_credentials(name: str) -> str:
    """Delete credentials nothing uses; returns their type. Refused while in use, naming the users."""
    from blocks.store import delete, find, type_of

    check_block_name(name)
    _prefect()
    auth_type = type_of(find(name))
    users = _users().get((auth_type, name))
    if users:
        raise Conflict(f"credentials '{name}' are used by {users.describe()}; point them at other credentials "
                       "(or delete them) first")
    delete(auth_type, name)
    return auth_type


def test_credentials(name: str, integration: str) -> str:
    """One request with the credentials to the integration's vendor: what answered, or a `HubError` saying why not.

    The integration's first page, or for a partner integration its partner's connection test,
    against its endpoint's region.
    """
    from blocks.store import find

    check_block_name(name)
    target = _test_target(integration)
    _prefect()
    return _probe(target, find(name).auth())


@dataclass
class _Target:
    """Where a credentials test goes: a connector spec's first page, or a partner's connection test."""

    spec: Any
    partner: Any = None
    base_url: str | None = None


def _test_target(integration: str) -> _Target:
    from models.config import IntegrationEndpoint, IntegrationSource
    from models.integrations import connector_spec, find_integration
    from models.partners import get_partner
    from models.spec import SpecError

    with session() as db:
        found = find_integration(db, integration)
        try:
            spec = connector_spec(db, found)
        except SpecError as exc:
            raise Invalid(str(exc)) from None
        endpoint = db.get(IntegrationEndpoint, found.endpoint_id)
    if found.source == IntegrationSource.partner and endpoint.partner and endpoint.base_url:
        return _Target(spec, get_partner(endpoint.partner), endpoint.base_url)
    return _Target(spec)


def _probe(target: _Target, auth) -> str:
    from tasks.connect import probe_connection, probe_first_page

    if target.partner is not None:
        return probe_connection(target.partner, target.base_url, auth)
    return probe_first_page(target.spec, auth)


def copy_credentials(to_api_url: str, overwrite: bool = False):
    """Copy every credentials block to the Prefect server at `to_api_url` (a production one, say).

    Checks first that a Prefect server answers there.
    """
    import httpx

    from blocks.store import copy_to, server_in_use

    url = to_api_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise Invalid(f"the Prefect API URL must start with http:// or https://, e.g. "
                      f"http://prefect.internal:4200/api; got {to_api_url!r}")
    try:
        health = httpx.get(f"{url}/health", timeout=5.0)
    except httpx.HTTPError as exc:
        raise Invalid(f"no Prefect server answers at {url} ({type(exc).__name__}); "
                      "give its API URL, e.g. http://prefect.internal:4200/api") from None
    if health.status_code != 200:
        raise Invalid(f"{url}/health answered HTTP {health.status_code}: is {url} a Prefect server's API URL "
                      "(it ends in /api)?")
    _prefect()
    source = server_in_use()
    if source == f"the Prefect server at {url}":
        raise Invalid(f"{url} is the Prefect server in use already: nothing to copy")
    return source, copy_to(url, overwrite=overwrite)
