"""Integration Source Configurations (seed 002, step 0): a customer's sources, "Create a new Integration Source"
(the source from the catalog or the universal connector, a name, an authorization picked in the "See third-party
service authorizations" pop-up, "Save"), and a source's page: its "Data transfer" section, where "Add" makes
an integration configuration of one type of data, shown Inactive, with a gear icon menu holding "Mapping" and
"Activate" (refused with the service's reason until the mapping has a primary key).

The authorizations are the credentials blocks on the Prefect server in use (ihub/credentials.py): names, types
and users only, never a secret. The pop-up is static/dialog.js; without JavaScript its links open pages.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import Form, Request

from ihub.api.deps import Db
from ihub.api.errors import status_for
from ihub.console.credentials import credentials_listing
from ihub.console.mapping import checked_return, mapping_url
from ihub.console.pages import console_router, form_errors, redirect, render, said
from models.customers import get_customer
from models.endpoints import get_endpoint, list_endpoints
from models.errors import HubError
from models.integration_setup import activate
from models.integrations import find_integration
from models.sources import (UNIVERSAL, add_data_type, configurations, create_source, data_types, source_choices,
                            source_label)

router = console_router()


def sources_url(customer: str) -> str:
    return f"/customers/{quote(customer, safe='')}/sources"


def source_url(customer: str, source: str) -> str:
    return f"{sources_url(customer)}/{quote(source, safe='')}"


def new_source_url(customer: str) -> str:
    return f"/customers/{quote(customer, safe='')}/new-source"


def connector_url(customer: str, source: str) -> str:
    """The universal connector's steps for a source (branch connector's wizard)."""
    return f"/customers/{quote(customer, safe='')}/connector/new?{urlencode({'endpoint': source})}"


@router.get("/customers/{customer}/sources")
def sources_page(request: Request, db: Db, customer: str):
    found = get_customer(db, customer)
    sources = [(endpoint, source_label(endpoint), configurations(db, endpoint))
               for endpoint in list_endpoints(db, customer)]
    return render(request, "sources.html", customer=found, tab="sources", sources=sources)


@router.get("/customers/{customer}/new-source")
def new_source_page(request: Request, db: Db, customer: str, source: str = "", name: str = "", credentials: str = ""):
    """The form; `credentials` preselects an authorization (coming back from the list or from new credentials)."""
    return _source_form(request, db, customer, source, name, credentials)


@router.post("/customers/{customer}/new-source")
def save_source(request: Request, db: Db, customer: str, source: str = Form(""), name: str = Form(""),
                credentials: str = Form("")):
    try:
        created = create_source(db, customer, name, source, credentials, _type_of(credentials))
    except HubError as exc:
        return _source_form(request, db, customer, source, name, credentials, exc)
    return redirect(source_url(customer, created.name), f"Integration source '{created.name}' saved. Next, choose "
                    "the type of data to transfer: in the Data transfer section, click Add.", request)


@router.get("/customers/{customer}/authorizations")
def authorizations_page(request: Request, db: Db, customer: str, return_to: str = ""):
    """The third-party service authorizations (credentials), each with Select back to the source's form."""
    found = get_customer(db, customer)
    back = checked_return(return_to) or new_source_url(customer)
    rows, problem = _authorizations()
    separator = "&" if "?" in back else "?"
    picks = [(row, f"{back}{separator}{urlencode({'credentials': row.name})}") for row in rows or []]
    return render(request, "authorizations.html", customer=found, tab="sources", picks=picks, problem=problem,
                  back=back, new_credentials=f"/credentials/new?{urlencode({'return_to': back})}")


@router.get("/customers/{customer}/sources/{source}")
def source_page(request: Request, db: Db, customer: str, source: str):
    return _source_page(request, db, customer, source)


@router.post("/customers/{customer}/sources/{source}/data")
def add_data(request: Request, db: Db, customer: str, source: str, data_type: str = Form("")):
    """"Add" a type of data to transfer: its integration configuration, Inactive until mapped and activated."""
    try:
        added = add_data_type(db, customer, source, data_type)
    except HubError as exc:
        return _source_page(request, db, customer, source, status_for(exc), problem=said(exc), adding=True)
    return redirect(source_url(customer, source), f"Integration configuration '{added.name}' added; it is Inactive. "
                    "To enable it, open the gear icon menu: Mapping, then Activate.", request)


@router.post("/customers/{customer}/sources/{source}/activate")
def activate_configuration(request: Request, db: Db, customer: str, source: str, name: str = Form("")):
    get_endpoint(db, customer, source)
    try:
        activate(db, find_integration(db, f"{customer}/{name}"))
    except HubError as exc:
        return _source_page(request, db, customer, source, status_for(exc), problem=said(exc))
    return redirect(source_url(customer, source), f"Integration configuration '{name}' is Active.", request)


def _type_of(credentials: str) -> str | None:
    """The type of the credentials chosen, which must exist; a refusal is shown beside the Authorization field."""
    from ihub.credentials import show_credentials

    if not credentials:
        return None
    try:
        return show_credentials(credentials).type
    except HubError as exc:
        raise type(exc)(said(exc), fields={"credentials": said(exc)}) from None


def _authorizations():
    """(the credentials on the Prefect server in use, or None when they cannot be listed now; why not)."""
    rows, problem = credentials_listing()
    return (None, f"The third-party service authorizations cannot be listed: {problem}") if problem else (rows, None)


def _source_form(request: Request, db: Db, customer: str, source: str, name: str, credentials: str,
                 exc: HubError | None = None):
    found = get_customer(db, customer)
    errors, problem = form_errors(exc) if exc else ({}, None)
    authorizations, unlisted = _authorizations()
    form_url = new_source_url(customer)
    return render(request, "source_form.html", 422 if exc else 200, customer=found, tab="sources",
                  choices=source_choices(), source=source, name=name, credentials=credentials,
                  authorizations=authorizations or [], unlisted=unlisted, errors=errors, problem=problem,
                  authorizations_url=f"/customers/{quote(customer, safe='')}/authorizations?"
                                     f"{urlencode({'return_to': form_url})}",
                  new_credentials=f"/credentials/new?{urlencode({'return_to': form_url})}")


def _source_page(request: Request, db: Db, customer: str, source: str, status_code: int = 200,
                 problem: str | None = None, adding: bool = False):
    found = get_customer(db, customer)
    endpoint = get_endpoint(db, customer, source)
    page = source_url(customer, source)
    rows = [(integration, mapping_url(customer, integration.name, page)) for integration in configurations(db, endpoint)]
    return render(request, "source.html", status_code, customer=found, tab="sources", endpoint=endpoint,
                  label=source_label(endpoint), rows=rows, data_types=data_types(endpoint), problem=problem, adding=adding,
                  universal=endpoint.partner is None, universal_value=UNIVERSAL,
                  connector_url=connector_url(customer, source), page=page,
                  partner_url=f"/customers/{quote(customer, safe='')}/partners/{quote(source, safe='')}")
