"""The Integrations tab (seed 001): a customer's partner applications, ADD PARTNERS from the catalog,
and a partner's configuration page whose CONNECT runs the connect flow.

Connecting can take seconds (the vendor answers; the first time, Prefect's embedded server
starts), so the POST starts it in a background thread and redirects to the configuration page,
which shows the progress and refreshes itself until the outcome is in (no JavaScript needed).
The secrets typed live only in that thread's arguments: never in a page, a message or a log.
"""

from __future__ import annotations

import contextvars
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import JSONResponse

from ihub.api.deps import Db
from ihub.console.pages import console_router, form_errors, redirect, render, said
from models.customers import get_customer
from models.endpoints import add_partners, list_endpoints, partner_endpoint
from models.errors import HubError, Invalid
from models.partners import CREDENTIAL_FIELDS, OPTIONAL_FIELDS, TENANT, catalog, get_partner
from models.redact import redact

router = console_router()

LABELS = {"api_key": "API Key", "username": "Username", "password": "Password", "access_key_id": "Access Key ID",
          "secret_access_key": "Secret Access Key", "session_token": "Session Token"}
SECRETS = frozenset({"api_key", "password", "secret_access_key", "session_token"})
REFRESH_SECONDS = 2


@dataclass
class Connecting:
    """A connect running (or run) in the background for one partner endpoint of this process."""

    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    problem: str | None = None  # a refusal before the connection test (the test's outcome is on the endpoint)

    @property
    def seconds(self) -> int:
        return int(time.monotonic() - self.started)


_connects: dict[tuple[str, str], Connecting] = {}
_lock = threading.Lock()


def _base(customer: str, partner: str | None = None) -> str:
    url = f"/customers/{quote(customer, safe='')}/partners"
    return f"{url}/{quote(partner, safe='')}" if partner else url


@router.get("/customers/{customer}/partners")
def partners_page(request: Request, db: Db, customer: str):
    """The partner applications added to the customer: Partner Name, Status, Currently Connected."""
    found = get_customer(db, customer)
    partners = [(e, catalog().get(e.partner)) for e in list_endpoints(db, customer) if e.partner]
    return render(request, "partners.html", customer=found, tab="partners", partners=partners)


@router.get("/customers/{customer}/partners/add")
def add_page(request: Request, db: Db, customer: str):
    return _add_form(request, db, customer)


@router.post("/customers/{customer}/partners/add")
def add_chosen(request: Request, db: Db, customer: str, chosen: list[str] = Form([], alias="partners")):
    try:
        added = add_partners(db, customer, chosen)
    except HubError as exc:
        return _add_form(request, db, customer, 422, problem=said(exc), chosen=chosen)
    names = ", ".join(get_partner(e.partner).name for e in added)
    return redirect(_base(customer), f"Added {names} to {customer} (status Available). Open one with Edit "
                                     "to enter its API key and region, then CONNECT.", request)


def _add_form(request: Request, db: Db, customer: str, status_code: int = 200, problem: str | None = None,
              chosen: list[str] = ()):
    found = get_customer(db, customer)
    added = {e.partner for e in list_endpoints(db, customer) if e.partner}
    return render(request, "partners_add.html", status_code, customer=found, tab="partners", problem=problem,
                  applications=list(catalog().values()), added=added, chosen=set(chosen))


@router.get("/customers/{customer}/partners/{partner}")
def configuration_page(request: Request, db: Db, customer: str, partner: str):
    """The partner's configuration page; while a connect runs, its progress (refreshing itself)."""
    return _configuration(request, db, customer, partner)


@router.get("/customers/{customer}/partners/{partner}/status")
def connect_status(db: Db, customer: str, partner: str):
    """The endpoint's status and whether a connect is running, for the page's own script."""
    endpoint = partner_endpoint(db, customer, partner)
    running = _connects.get((customer, partner))
    return JSONResponse({"status": endpoint.status.value, "connected": endpoint.connected,
                         "connecting": bool(running and not running.finished)})


@router.post("/customers/{customer}/partners/{partner}")
def connect(request: Request, db: Db, customer: str, partner: str, region: str = Form(""), tenant: str = Form(""),
            api_key: str = Form(""), username: str = Form(""), password: str = Form(""),
            access_key_id: str = Form(""), secret_access_key: str = Form(""), session_token: str = Form("")):
    """CONNECT: check what was typed, then save the credentials and test them in the background."""
    endpoint = partner_endpoint(db, customer, partner)
    application = get_partner(endpoint.partner)
    typed = {"api_key": api_key, "username": username, "password": password, "access_key_id": access_key_id,
             "secret_access_key": secret_access_key, "session_token": session_token}
    credentials = {name: typed[name] for name in CREDENTIAL_FIELDS[application.auth_type]}
    tenant = tenant.strip() or None
    try:
        _check(application, region, tenant, credentials)
    except HubError as exc:
        errors, problem = form_errors(exc)
        kept = {name: value for name, value in credentials.items() if name not in SECRETS}  # never a secret
        return _configuration(request, db, customer, partner, 422, errors=errors, problem=problem,
                              region=region, tenant=tenant or "", values=kept)
    given = {name: value for name, value in credentials.items() if value.strip()}
    with _lock:
        running = _connects.get((customer, partner))
        if not (running and not running.finished):
            job = _connects[(customer, partner)] = Connecting()
            context = contextvars.copy_context()  # the request's settings (e.g. which Prefect server) go along
            threading.Thread(target=context.run, args=(_connect, job, customer, partner, region, given, tenant),
                             name=f"connect {customer}/{partner}", daemon=True).start()
    return redirect(_base(customer, partner))


def _check(application, region: str, tenant: str | None, credentials: dict[str, str]) -> None:
    """What the operator typed, checked as the connect service checks it, before anything starts."""
    problems = {}
    try:
        application.base_url(region, tenant)
    except HubError as exc:
        problems["tenant" if region in application.regions else "region"] = str(exc)
    for name, value in credentials.items():
        if name not in OPTIONAL_FIELDS and not value.strip():
            problems[name] = f"{name} is missing"
    if problems:
        raise Invalid("; ".join(problems.values()), fields=problems)


def _connect(job: Connecting, customer: str, partner: str, region: str, credentials: dict[str, str],
             tenant: str | None) -> None:
    from ihub.operations import connect_partner  # Prefect loads here, in the background, not with the page

    try:
        connect_partner(customer, partner, region, credentials, tenant=tenant)
    except HubError as exc:
        job.problem = redact(str(exc))
    except Exception as exc:  # noqa: BLE001 - said on the page; the thread has no one else to tell
        job.problem = f"the connection could not be tried: {type(exc).__name__}: {redact(str(exc))}"
    finally:
        job.finished = True


def _configuration(request: Request, db: Db, customer: str, partner: str, status_code: int = 200,
                   errors: dict[str, str] | None = None, problem: str | None = None, region: str | None = None,
                   tenant: str = "", values: dict[str, str] | None = None):
    found = get_customer(db, customer)
    endpoint = partner_endpoint(db, customer, partner)
    application = get_partner(endpoint.partner)
    with _lock:
        running = _connects.get((customer, partner))
        if running and running.finished:  # its outcome is said once; the endpoint's status stays
            del _connects[(customer, partner)]
            problem = problem or running.problem
    fields = [(name, LABELS[name], "password" if name in SECRETS else "text", name not in OPTIONAL_FIELDS,
               (values or {}).get(name, "")) for name in CREDENTIAL_FIELDS[application.auth_type]]
    return render(request, "partner_connect.html", status_code, customer=found, tab="partners", endpoint=endpoint,
                  application=application, connecting=None if running is None or running.finished else running,
                  refresh=REFRESH_SECONDS, errors=errors or {}, problem=problem, fields=fields,
                  region=region or endpoint.region or next(iter(application.regions)), tenant=tenant,
                  tenant_regions=[r for r, url in application.regions.items() if TENANT in url])
