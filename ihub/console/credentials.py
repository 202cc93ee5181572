"""Credentials ("third-party service authorizations", seed 002; "create the credentials first",
seed 004): hub-wide, as Prefect blocks on the Prefect server in use, through `ihub.credentials`.

Screens: the list (`/credentials`), New (`/credentials/new`: the type first, then its fields),
a block's page (`/credentials/{name}`: Replace, Test) and Delete. A secret is a password input,
never filled in, never echoed back (not even after a refusal); a block's page shows only whether
it is set, and a secret left blank keeps the one saved.

Other screens pick credentials with `credentials_listing()` and send the operator to
`new_credentials_url(return_to)`: after Save the browser goes back to `return_to` (a path of this
console only) with `credentials=<name>` added to its query.

Every page that reads Prefect asks `prefect_reach.reach()` first, so a Prefect server that is
still starting makes the page say so and refresh itself instead of hanging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import Request
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from ihub.api.deps import Db
from ihub.console import prefect_reach
from ihub.console.pages import console_path, console_router, form_errors, redirect, render, said
from models.config import Customer, Integration
from models.credentials import CREDENTIAL_TYPES
from models.errors import HubError, Invalid

router = console_router()

REFRESH_SECONDS = 2
NO_AUTH = "none"
TYPE_LABELS = {"api_token": "API Token Authentication", "basic": "Basic Authentication",
               "oauth2": "OAuth2 Authentication", "aws": "AWS Authentication", NO_AUTH: "No Authentication"}
"""Seed 004's names for the auth types."""
TYPE_HINTS = {"api_token": "A token sent in a header (with a prefix such as Bearer) or as a query parameter.",
              "basic": "A user name and password, sent as HTTP Basic authentication.",
              "oauth2": "An OAuth2 client: tokens from the vendor's token URL (client credentials or refresh token).",
              "aws": "An AWS access key: requests signed with Signature Version 4 for a region and service.",
              NO_AUTH: "An open API: nothing is sent, so nothing is saved."}


@dataclass(frozen=True)
class FieldLook:
    """How one setting or secret is asked for (the rules themselves are the service's)."""

    label: str
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    blank_means_empty: bool = False  # sent even when blank ("" is a value); otherwise blank = not given


FIELDS = {
    "placement": FieldLook("Placement", choices=(("header", "In a header"), ("query", "As a query parameter"))),
    "header_name": FieldLook("Header name", "The header that carries the token, e.g. Authorization or X-API-Key."),
    "prefix": FieldLook("Prefix", "Written before the token in the header, e.g. Bearer; empty for the token alone.",
                        blank_means_empty=True),
    "query_param": FieldLook("Query parameter", "For placement in a query parameter, e.g. api_key."),
    "token": FieldLook("Token"),
    "username": FieldLook("Username"),
    "password": FieldLook("Password"),
    "token_url": FieldLook("Token URL", "The vendor's OAuth2 token endpoint, e.g. https://auth.example.com/oauth/token."),
    "client_id": FieldLook("Client ID"),
    "client_secret": FieldLook("Client secret"),
    "grant": FieldLook("Grant", choices=(("client_credentials", "Client credentials"),
                                         ("refresh_token", "Refresh token"))),
    "refresh_token": FieldLook("Refresh token", "For the refresh token grant; kept current as the vendor rotates it."),
    "scopes": FieldLook("Scopes", "The scopes to ask for, separated by spaces; empty for none."),
    "client_auth": FieldLook("Client authentication", choices=(("body", "Client ID and secret in the form body"),
                                                               ("basic", "HTTP Basic (client_secret_basic)"))),
    "access_key_id": FieldLook("Access key ID"),
    "secret_access_key": FieldLook("Secret access key"),
    "session_token": FieldLook("Session token", "Only for temporary credentials."),
    "region": FieldLook("Region", "The region to sign for, e.g. us-east-1."),
    "service": FieldLook("Service", "The service's signing name, e.g. execute-api."),
}


@dataclass
class FormField:
    name: str
    look: FieldLook
    secret: bool
    required: bool
    value: str = ""  # a setting's value; always "" for a secret


# -- for other screens -----------------------------------------------------------------------------

def credentials_listing() -> tuple[list, str | None]:
    """The credentials blocks (never a secret) for a form to pick from, or why they cannot be listed now:
    while the Prefect server is still being reached in the background (prefect_reach), the page says so
    instead of hanging on it."""
    attempt = prefect_reach.reach()
    if attempt is not None:
        if not attempt.done.is_set():
            at = f" at {attempt.server}" if attempt.server else ""
            return [], (f"the Prefect server{at} is being reached ({attempt.seconds} s so far); "
                        "reload this page in a moment")
        return [], attempt.problem
    from ihub.credentials import list_credentials  # Prefect: only where credentials are listed

    try:
        return list_credentials().credentials, None
    except HubError as exc:
        return [], said(exc)


def new_credentials_url(return_to: str | None = None) -> str:
    """The New credentials page; with `return_to`, Save goes back there with `credentials=<name>`."""
    return "/credentials/new" + (f"?return_to={quote(return_to, safe='')}" if return_to else "")


def checked_return_to(return_to: str | None) -> str | None:
    """`return_to` when it is a path of this console; refused otherwise (it would be an open redirect)."""
    if not return_to:
        return None
    if not console_path(return_to):
        problem = (f"return_to must be a path of this console, such as /customers/acme; {return_to[:200]!r} is not "
                   "(a link to another site is refused)")
        raise Invalid(problem, fields={"return_to": problem})
    return return_to


def back_with(return_to: str, name: str) -> str:
    """`return_to` with `credentials=<name>` in its query (replacing one already there)."""
    parts = urlsplit(return_to)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "credentials"]
    return urlunsplit(("", "", parts.path, urlencode([*query, ("credentials", name)]), parts.fragment))


# -- the list --------------------------------------------------------------------------------------

@router.get("/credentials")
def credentials_page(request: Request):
    """Every credentials block by type and name, with what uses each; secrets only as "set"."""
    reaching = prefect_reach.reach()
    if reaching is not None:
        return _reaching(request, reaching, "Credentials")
    from ihub.credentials import list_credentials

    listing = list_credentials()
    return render(request, "credentials.html", prefect_server=listing.prefect_server, rows=listing.credentials,
                  labels=TYPE_LABELS)


def _reaching(request: Request, reaching: prefect_reach.Reaching, title: str):
    return render(request, "credentials_reaching.html", 503 if reaching.problem else 200, title=title,
                  reaching=reaching, refresh=REFRESH_SECONDS)


# -- New -------------------------------------------------------------------------------------------

@router.get("/credentials/new")
def new_page(request: Request, type: str = "", return_to: str = ""):
    """The type first (a GET form, so it works without JavaScript), then that type's fields."""
    return_to = checked_return_to(return_to)
    reaching = prefect_reach.reach()  # under way while the operator chooses
    if type not in TYPE_LABELS:
        return _type_step(request, return_to, problem="Choose a type of credentials." if type else None)
    if reaching is not None:  # the form shows the server, and the type's defaults come from its block
        return _reaching(request, reaching, f"New Credentials: {TYPE_LABELS[type]}")
    return _new_form(request, type, return_to)


@router.post("/credentials/new")
async def create(request: Request):
    form = await request.form()
    return_to = checked_return_to(str(form.get("return_to", "")))
    auth_type = str(form.get("type", ""))
    if auth_type not in CREDENTIAL_TYPES:
        return _type_step(request, return_to, 422, problem="Choose a type of credentials.")
    name = str(form.get("name", "")).strip()
    settings, secrets = _typed(auth_type, form)
    from ihub.credentials import create_credentials, prefect_server

    try:
        await run_in_threadpool(prefect_reach.wait_until_reached)
        created = await run_in_threadpool(create_credentials, name, auth_type, settings, secrets)
    except HubError as exc:
        errors, problem = form_errors(exc)
        return _new_form(request, auth_type, return_to, 422, name=name, settings=settings, errors=errors,
                         problem=problem)
    message = (f"{created.type} credentials '{name}' created on {await run_in_threadpool(prefect_server)}. "
               f"Use them in a spec with auth: {{type: {created.type}, block: {name}}}.")
    return redirect(back_with(return_to, name) if return_to else "/credentials", message, request)


def _type_step(request: Request, return_to: str | None, status_code: int = 200, problem: str | None = None):
    return render(request, "credentials_type.html", status_code, labels=TYPE_LABELS, hints=TYPE_HINTS,
                  return_to=return_to, problem=problem)


def _new_form(request: Request, auth_type: str, return_to: str | None, status_code: int = 200, name: str = "",
              settings: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
              problem: str | None = None):
    from ihub.credentials import prefect_server

    fields = _fields(auth_type, settings if settings is not None else _defaults(auth_type)) \
        if auth_type != NO_AUTH else []
    return render(request, "credentials_form.html", status_code, found=None, auth_type=auth_type,
                  type_label=TYPE_LABELS[auth_type], name=name, fields=fields, errors=errors or {}, problem=problem,
                  return_to=return_to, prefect_server=prefect_server())


# -- a block's page: Replace, Test -----------------------------------------------------------------

@router.get("/credentials/{name}")
def credentials_detail(request: Request, db: Db, name: str):
    reaching = prefect_reach.reach()
    if reaching is not None:
        return _reaching(request, reaching, name)
    from ihub.credentials import show_credentials

    return _detail(request, db, show_credentials(name))


@router.post("/credentials/{name}")
async def replace(request: Request, db: Db, name: str):
    """Replace: the settings as shown, and only the secrets typed (a blank one keeps the saved one)."""
    from ihub.credentials import prefect_server, show_credentials, update_credentials

    form = await request.form()
    await run_in_threadpool(prefect_reach.wait_until_reached)
    found = await run_in_threadpool(show_credentials, name)
    settings, secrets = _typed(found.type, form)
    try:
        await run_in_threadpool(update_credentials, name, settings, secrets)
    except HubError as exc:
        errors, problem = form_errors(exc)
        found.settings = {**found.settings, **settings}
        return _detail(request, db, found, 422, errors=errors, problem=problem)
    changed = " and ".join(part for part, given in (("settings", True), ("secrets", bool(secrets))) if given)
    return redirect(f"/credentials/{quote(name, safe='')}",
                    f"credentials '{name}' updated ({changed}) on {await run_in_threadpool(prefect_server)}.", request)


@router.post("/credentials/{name}/test")
async def test(request: Request, db: Db, name: str):
    """Test: one request with the saved credentials to an integration's vendor (as `ihub credentials test`)."""
    from ihub.credentials import show_credentials, test_credentials

    integration = str((await request.form()).get("integration", ""))
    await run_in_threadpool(prefect_reach.wait_until_reached)
    try:
        if not integration:
            raise Invalid("choose the integration whose vendor to ask")
        answer = await run_in_threadpool(test_credentials, name, integration)
    except HubError as exc:
        found = await run_in_threadpool(show_credentials, name)
        return _detail(request, db, found, 422, tested=integration, test_problem=said(exc))
    return redirect(f"/credentials/{quote(name, safe='')}?tested={quote(integration, safe='')}",
                    f"Test passed: credentials '{name}' work with {integration}: {answer}.", request)


def _detail(request: Request, db: Db, found, status_code: int = 200, errors: dict[str, str] | None = None,
            problem: str | None = None, tested: str | None = None, test_problem: str | None = None):
    from ihub.credentials import prefect_server

    integrations = [(ref, ref) for ref in _integrations(db)]
    users = found.users.integrations
    chosen = tested or request.query_params.get("tested") or next(iter(users), None)
    return render(request, "credentials_form.html", status_code, found=found, auth_type=found.type,
                  type_label=TYPE_LABELS[found.type], name=found.name,
                  fields=_fields(found.type, found.settings, found.secrets_set), errors=errors or {}, problem=problem,
                  return_to=None, prefect_server=prefect_server(), integrations=integrations, chosen=chosen,
                  test_problem=test_problem)


def _integrations(db: Db) -> list[str]:
    """Every integration of the hub as customer/name: what Test can send a request to."""
    rows = db.exec(select(Customer.name, Integration.name).join(Customer).order_by(Customer.name, Integration.name))
    return [f"{customer}/{integration}" for customer, integration in rows]


# -- Delete ----------------------------------------------------------------------------------------

@router.get("/credentials/{name}/delete")
def delete_page(request: Request, name: str):
    reaching = prefect_reach.reach()
    if reaching is not None:
        return _reaching(request, reaching, name)
    from ihub.credentials import show_credentials

    return render(request, "credentials_delete.html", found=show_credentials(name), labels=TYPE_LABELS)


@router.post("/credentials/{name}/delete")
def delete(request: Request, name: str):
    """Delete, refused while integrations or partner endpoints use them (the service names them)."""
    from ihub.credentials import delete_credentials, prefect_server, show_credentials

    prefect_reach.wait_until_reached()
    try:
        auth_type = delete_credentials(name)
    except HubError as exc:
        return render(request, "credentials_delete.html", 409, found=show_credentials(name), labels=TYPE_LABELS,
                      problem=said(exc))
    return redirect("/credentials", f"{auth_type} credentials '{name}' deleted from {prefect_server()}.", request)


# -- the fields of a type --------------------------------------------------------------------------

def _fields(auth_type: str, settings: dict[str, Any], secrets_set: dict[str, bool] | None = None) -> list[FormField]:
    """A type's settings (with their values) and secrets (always blank), in the order the form asks for them."""
    kind = CREDENTIAL_TYPES[auth_type]
    fields = [FormField(name, FIELDS[name], False, name in kind.required_settings, _shown(settings.get(name)))
              for name in kind.settings]
    required = kind.required_secrets(settings)
    fields += [FormField(name, FIELDS[name], True, name in required and secrets_set is None)
               for name in kind.secrets]
    order = list(FIELDS)  # a secret beside the setting it goes with: client ID then client secret
    return sorted(fields, key=lambda f: order.index(f.name))


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def _defaults(auth_type: str) -> dict[str, Any]:
    """The settings a new block of this type starts with (the block's own defaults)."""
    from blocks import CREDENTIAL_BLOCKS
    from pydantic_core import PydanticUndefined

    model_fields = CREDENTIAL_BLOCKS[auth_type].model_fields
    return {name: model_fields[name].default for name in CREDENTIAL_TYPES[auth_type].settings
            if model_fields[name].default is not PydanticUndefined}


def _typed(auth_type: str, form) -> tuple[dict[str, Any], dict[str, str]]:
    """(settings, secrets) as typed: a blank setting is not given (unless blank is a value), nor is a blank secret."""
    kind = CREDENTIAL_TYPES[auth_type]
    settings: dict[str, Any] = {}
    for name in kind.settings:
        value = str(form.get(name, "")).strip()
        if name == "scopes":
            settings[name] = value.split()
        elif value or FIELDS[name].blank_means_empty:
            settings[name] = value
    secrets = {name: str(form.get(name, "")) for name in kind.secrets if str(form.get(name, "")).strip()}
    return settings, secrets
