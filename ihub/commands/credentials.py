"""`ihub credentials`: the credentials of universal-connector integrations, as Prefect blocks.

They live on the Prefect server the runs use (PREFECT_API_URL, else the embedded one), and every
command says which. Secrets are never options: each is asked for without echo, read from stdin
with `--secret-stdin` (one a line, in the order `ihub credentials create --help` gives), or taken
from IHUB_CREDENTIALS_<SECRET> (IHUB_CREDENTIALS_TOKEN, IHUB_CREDENTIALS_PASSWORD, ...).
"""

from __future__ import annotations

import os
from typing import Any, List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ihub.commands.common import console, done, fail
from ihub.commands.secrets import read_secrets
from models.credentials import CREDENTIAL_TYPES, SECRET_ENV_PREFIX, credential_type
from models.errors import HubError

app = typer.Typer(help="Credentials for universal-connector integrations, kept as Prefect blocks.",
                  no_args_is_help=True)

_SECRETS_HELP = ("Read the secrets from stdin, one a line: api_token: the token; basic: the password; oauth2: the "
                 "client secret, then the refresh token; aws: the secret access key, then the session token.")


class _Settings:
    """The non-secret options shared by `create` and `rotate`, each belonging to one type."""

    placement = typer.Option(None, help="api_token: header (default) or query.")
    header_name = typer.Option(None, help="api_token: the header that carries the token (default Authorization).")
    prefix = typer.Option(None, help="api_token: written before the token (default Bearer; '' for none).")
    query_param = typer.Option(None, help="api_token: the query parameter, with --placement query.")
    username = typer.Option(None, help="basic: the user name.")
    token_url = typer.Option(None, help="oauth2: the vendor's token endpoint.")
    client_id = typer.Option(None, help="oauth2: the client id.")
    grant = typer.Option(None, help="oauth2: client_credentials (default) or refresh_token.")
    scope = typer.Option(None, "--scope", help="oauth2: a scope to ask for; repeat.")
    client_auth = typer.Option(None, help="oauth2: send the client secret in the form body (default) or as basic.")
    access_key_id = typer.Option(None, help="aws: the access key id.")
    region = typer.Option(None, help="aws: the region to sign for, e.g. us-east-1.")
    service = typer.Option(None, help="aws: the service's signing name, e.g. execute-api.")


def _given(**options: Any) -> dict[str, Any]:
    settings = {name: value for name, value in options.items() if value is not None and name != "scope"}
    if options.get("scope"):
        settings["scopes"] = list(options["scope"])
    return settings


def _secrets(auth_type: str, settings: dict[str, Any], from_stdin: bool) -> dict[str, str]:
    kind = credential_type(auth_type)
    required = kind.required_secrets(settings)
    given = {name: os.environ.get(SECRET_ENV_PREFIX + name.upper()) or None for name in kind.secrets}
    return read_secrets(list(kind.secrets), given, optional=set(kind.secrets) - set(required), from_stdin=from_stdin)


def _call(function, *args, **kwargs):
    """`function`'s answer, on a migrated hub database; a HubError ends the command with its message."""
    from models.engine import migrate

    migrate()
    try:
        return function(*args, **kwargs)
    except HubError as exc:
        fail(escape(str(exc)))


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return "''" if value == "" else str(value)


@app.command()
def create(
    name: str = typer.Argument(..., help="Lower-case letters, digits and '-': what a spec's auth.block names."),
    type_: str = typer.Option(..., "--type", help=f"{', '.join(CREDENTIAL_TYPES)}."),
    placement: Optional[str] = _Settings.placement, header_name: Optional[str] = _Settings.header_name,
    prefix: Optional[str] = _Settings.prefix, query_param: Optional[str] = _Settings.query_param,
    username: Optional[str] = _Settings.username, token_url: Optional[str] = _Settings.token_url,
    client_id: Optional[str] = _Settings.client_id, grant: Optional[str] = _Settings.grant,
    scope: Optional[List[str]] = _Settings.scope, client_auth: Optional[str] = _Settings.client_auth,
    access_key_id: Optional[str] = _Settings.access_key_id, region: Optional[str] = _Settings.region,
    service: Optional[str] = _Settings.service,
    secret_stdin: bool = typer.Option(False, "--secret-stdin", help=_SECRETS_HELP),
) -> None:
    """Create credentials on the Prefect server in use; the secrets are asked for without echo.

    Or read from stdin with --secret-stdin, or taken from IHUB_CREDENTIALS_TOKEN, _PASSWORD, _CLIENT_SECRET, _REFRESH_TOKEN, _SECRET_ACCESS_KEY or _SESSION_TOKEN.
    """
    from ihub.credentials import create_credentials
    from models.credentials import check_block_name, check_fields

    settings = _given(placement=placement, header_name=header_name, prefix=prefix, query_param=query_param,
                      username=username, token_url=token_url, client_id=client_id, grant=grant, scope=scope,
                      client_auth=client_auth, access_key_id=access_key_id, region=region, service=service)
    _call(check_block_name, name)
    _call(check_fields, type_, settings, {})
    secrets = _secrets(type_, settings, secret_stdin)
    created = _call(create_credentials, name, type_, settings, secrets)
    done(escape(f"{created.type} credentials '{name}' created on {_call(_server)}. Use them in a spec with "
                f"auth: {{type: {created.type}, block: {name}}}."))


@app.command()
def rotate(
    name: str,
    keep_secrets: bool = typer.Option(False, "--keep-secrets", help="Change only the settings given."),
    test_with: Optional[str] = typer.Option(None, "--test-with", help="customer/name: replace them only if one "
                                                                      "request to its vendor succeeds with the new ones."),
    placement: Optional[str] = _Settings.placement, header_name: Optional[str] = _Settings.header_name,
    prefix: Optional[str] = _Settings.prefix, query_param: Optional[str] = _Settings.query_param,
    username: Optional[str] = _Settings.username, token_url: Optional[str] = _Settings.token_url,
    client_id: Optional[str] = _Settings.client_id, grant: Optional[str] = _Settings.grant,
    scope: Optional[List[str]] = _Settings.scope, client_auth: Optional[str] = _Settings.client_auth,
    access_key_id: Optional[str] = _Settings.access_key_id, region: Optional[str] = _Settings.region,
    service: Optional[str] = _Settings.service,
    secret_stdin: bool = typer.Option(False, "--secret-stdin", help=_SECRETS_HELP),
) -> None:
    """Replace the secrets of credentials (and any settings given); the integrations using them keep their name.

    The new secrets come as for `create`; settings not given are kept.
    """
    from ihub.credentials import show_credentials, update_credentials

    settings = _given(placement=placement, header_name=header_name, prefix=prefix, query_param=query_param,
                      username=username, token_url=token_url, client_id=client_id, grant=grant, scope=scope,
                      client_auth=client_auth, access_key_id=access_key_id, region=region, service=service)
    current = _call(show_credentials, name)
    secrets = {} if keep_secrets else _secrets(current.type, {**current.settings, **settings}, secret_stdin)
    updated = _call(update_credentials, name, settings, secrets, test_with=test_with)
    changed = [*settings, *(["secrets"] if secrets else [])]
    used = f"; used by {updated.users.describe()}" if updated.users else ""
    tested = f", after a request to {test_with} succeeded with them" if test_with else ""
    done(escape(f"credentials '{name}' updated ({', '.join(changed)}) on {_call(_server)}{tested}{used}."))


def _server() -> str:
    from ihub.credentials import prefect_server

    return prefect_server()


@app.command("list")
def list_() -> None:
    """The credentials on the Prefect server in use: type, name and what uses them; never a secret."""
    from ihub.credentials import list_credentials

    listing = _call(list_credentials)
    console.print(escape(f"Credentials on {listing.prefect_server}:"), highlight=False)
    if not listing.credentials:
        console.print("None yet: `ihub credentials create NAME --type api_token|basic|oauth2|aws`.")
        return
    table = Table()
    for column in ("type", "name", "used by", "settings"):
        table.add_column(column, overflow="fold")
    for row in listing.credentials:
        settings = ", ".join(f"{key}={_value(value)}" for key, value in row.settings.items() if value is not None)
        table.add_row(row.type, row.name, escape(row.users.describe() or "nothing"), escape(settings))
    console.print(table)


@app.command()
def show(name: str) -> None:
    """One credentials block: its settings, which secrets are set, and what uses it."""
    from ihub.credentials import show_credentials

    found = _call(show_credentials, name)
    console.print(escape(f"{found.type} credentials '{name}' on {_call(_server)}:"), highlight=False)
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in found.settings.items():
        table.add_row(key, escape(_value(value)) if value is not None else "not set")
    for key, is_set in found.secrets_set.items():
        table.add_row(key, "set (secret)" if is_set else "not set")
    table.add_row("used by", escape(found.users.describe() or "nothing"))
    console.print(table)


@app.command()
def test(name: str, integration: str = typer.Option(..., "--integration", "-i",
                                                    help="customer/name: send one request to its vendor.")) -> None:
    """Send one request with the credentials to an integration's vendor, and say what answered."""
    from ihub.credentials import test_credentials

    answer = _call(test_credentials, name, integration)
    done(escape(f"credentials '{name}' work with {integration}: {answer}."))


@app.command()
def delete(name: str) -> None:
    """Delete credentials; refused while integrations or partner endpoints use them."""
    from ihub.credentials import delete_credentials

    auth_type = _call(delete_credentials, name)
    done(escape(f"{auth_type} credentials '{name}' deleted from {_call(_server)}."))


@app.command()
def copy(
    to_api_url: str = typer.Option(..., "--to-api-url", help="The target server's API URL, e.g. "
                                                             "http://prefect.internal:4200/api."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace credentials of the same name there."),
) -> None:
    """Copy every credentials block from the Prefect server in use to another, e.g. from the embedded one to production."""
    from ihub.credentials import copy_credentials

    source, result = _call(copy_credentials, to_api_url, overwrite)
    target = to_api_url.rstrip("/")
    if result.copied:
        done(escape(f"copied {len(result.copied)} credentials from {source} to {target}: {', '.join(result.copied)}."))
    else:
        console.print(escape(f"No credentials copied from {source} to {target}."), highlight=False)
    if result.skipped:
        console.print(escape(f"Kept the ones {target} already has (--overwrite replaces them): "
                             f"{', '.join(result.skipped)}."), highlight=False)
