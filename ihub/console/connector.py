"""The universal connector (seed 004) as a guided form, one page per step: add the integration, add
credentials, schedule, map fields and pick the sync field, launch.

The draft is the integration itself: step 1 creates it Inactive from a spec with no mapping yet,
and every later step changes it through the services (`edit_spec`, `set_schedule`,
`set_sync_key`, `activate`), so each step is validated as it is saved, by the spec's own rules,
and the YAML editor (spec_editor.py) shows the same spec at any point.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Form, Request
from sqlmodel import Session

from ihub.api.deps import Db
from ihub.console.credentials import credentials_listing, new_credentials_url
from ihub.console.mapping import mapping_url
from ihub.console.pages import console_router, form_errors, redirect, render, said
from ihub.console.spec_form import (
    PAGINATION_FIELDS,
    PAGINATION_LABELS,
    TARGETS,
    FormProblem,
    form_values,
    problems_by_field,
    spec_data,
)
from models.config import Integration, IntegrationEndpoint, IntegrationStatus
from models.customers import get_customer
from models.endpoints import add_endpoint, list_endpoints
from models.errors import HubError, check_fields
from models.integration_setup import activate, check_cron, check_timezone, create_integration, set_schedule
from models.integrations import connector_spec, find_integration
from models.mapping import mapping_rows, set_sync_key
from models.names import check_name
from models.schedules import schedule_of
from models.spec import ConnectorSpec, SpecError
from models.spec_edit import edit_spec

router = console_router()

STEPS = (("request", "Add the integration"), ("credentials", "Add credentials"), ("schedule", "Schedule"),
         ("mapping", "Map fields"), ("launch", "Launch"))
"""Seed 004's steps, in its words."""
NEW_ENDPOINT = "+new"


def integration_base(customer: str, name: str) -> str:
    return f"/customers/{quote(customer, safe='')}/integrations/{quote(name, safe='')}"


def step_url(customer: str, name: str, step: str) -> str:
    return f"{integration_base(customer, name)}/connector" + ("" if step == "request" else f"/{step}")


def frame(request: Request, db: Session, customer: str, integration: Integration | None, step: str) -> dict:
    """What every step's page shows: the customer's tabs, the steps, the links to the YAML and to Test, and
    the report of a Test just run from this page (spec_editor.test_step)."""
    found = get_customer(db, customer)
    urls = {key: step_url(customer, integration.name, key) for key, _ in STEPS} if integration else {}
    base = integration_base(customer, integration.name) if integration else None
    return dict(customer=found, tab="integrations", integration=integration, step=step, steps=STEPS, urls=urls,
                base=base, report=getattr(request.state, "report", None))


def _spec_dict(db: Session, integration: Integration) -> dict:
    return connector_spec(db, integration).document()


# ---------------------------------------------------------------- step 1: add the integration

def _request_page(request: Request, db: Session, customer: str, integration: Integration | None,
                  values: dict, status_code: int = 200, errors: dict | None = None,
                  others: list[str] | None = None, problem: str | None = None, **extra):
    endpoints = list_endpoints(db, customer)
    return render(request, "connector_request.html", status_code, **frame(request, db, customer, integration, "request"),
                  values=values, errors=errors or {}, others=others or [], problem=problem, endpoints=endpoints,
                  new_endpoint=NEW_ENDPOINT, pagination_fields=PAGINATION_FIELDS,
                  pagination_labels=PAGINATION_LABELS, targets=TARGETS, **extra)


@router.get("/customers/{customer}/connector/new")
def new_connector_page(request: Request, db: Db, customer: str, endpoint: str = ""):
    """Step 1 of a new universal connector; `?endpoint=` preselects the endpoint it is added to."""
    get_customer(db, customer)
    chosen = endpoint if endpoint in {e.name for e in list_endpoints(db, customer)} else ""
    values = {**form_values({}), "name": "", "endpoint": chosen or (NEW_ENDPOINT if not list_endpoints(db, customer)
                                                                     else ""),
              "new_endpoint_name": "", "new_endpoint_description": ""}
    return _request_page(request, db, customer, None, values)


@router.post("/customers/{customer}/connector/new")
async def create_connector(request: Request, db: Db, customer: str):
    """Create the integration Inactive from step 1's spec (no credentials, no mapping yet), then go to step 2."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    values = {**form_values({}), **form}
    try:
        data = spec_data(form)
    except FormProblem as exc:
        return _request_page(request, db, customer, None, values, 422, errors={exc.field: str(exc)})
    try:
        spec = ConnectorSpec.parse(data, source="")
    except SpecError as exc:
        errors, others = problems_by_field(exc.problems, form.get("pagination", "none"))
        return _request_page(request, db, customer, None, values, 422, errors=errors, others=others)
    endpoint = form.get("endpoint", "")
    try:
        check_name("integration", form.get("name", ""))  # before a new endpoint is made for it
    except HubError as exc:
        return _request_page(request, db, customer, None, values, 422, errors=exc.fields)
    try:
        if endpoint == NEW_ENDPOINT:
            endpoint = add_endpoint(db, customer, form.get("new_endpoint_name", ""),
                                    form.get("new_endpoint_description", "")).name
            values["endpoint"] = endpoint
        elif not endpoint:
            problem = "choose the integration endpoint the connector belongs to, or create one"
            return _request_page(request, db, customer, None, values, 422, errors={"endpoint": problem})
    except HubError as exc:
        errors = {f"new_endpoint_{key}": problem for key, problem in exc.fields.items()}
        return _request_page(request, db, customer, None, values, 422, errors=errors,
                             problem=None if errors else said(exc))
    try:
        created = create_integration(db, customer, form.get("name", ""), endpoint, spec=spec)
    except HubError as exc:
        errors, problem = form_errors(exc)
        return _request_page(request, db, customer, None, values, 422, errors=errors, problem=problem)
    return redirect(step_url(customer, created.name, "credentials"),
                    f"Integration '{created.name}' added (Inactive) to endpoint '{endpoint}'. "
                    "Next: its credentials.", request)


@router.get("/customers/{customer}/integrations/{name}/connector")
def request_step(request: Request, db: Db, customer: str, name: str):
    integration = find_integration(db, f"{customer}/{name}")
    return _request_page(request, db, customer, integration, form_values(_spec_dict(db, integration)))


@router.post("/customers/{customer}/integrations/{name}/connector")
async def save_request_step(request: Request, db: Db, customer: str, name: str):
    integration = find_integration(db, f"{customer}/{name}")
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    values = {**form_values({}), **form}
    try:
        data = spec_data(form, _spec_dict(db, integration))
    except FormProblem as exc:
        return _request_page(request, db, customer, integration, values, 422, errors={exc.field: str(exc)})
    try:
        done = edit_spec(db, integration, ConnectorSpec.parse(data, source=""))
    except SpecError as exc:
        errors, others = problems_by_field(exc.problems, form.get("pagination", "none"))
        return _request_page(request, db, customer, integration, values, 422, errors=errors, others=others)
    except HubError as exc:
        return _request_page(request, db, customer, integration, values, 409, problem=said(exc))
    return redirect(step_url(customer, name, "credentials"), f"Saved: {done.summary()}.", request)


# ---------------------------------------------------------------- step 2: add credentials

def _credentials_page(request: Request, db: Session, customer: str, integration: Integration, chosen: str,
                      status_code: int = 200, errors: dict | None = None, problem: str | None = None):
    listing, unavailable = credentials_listing()
    here = step_url(customer, integration.name, "credentials")
    listed = {f"{row.type}:{row.name}" for row in listing}
    return render(request, "connector_credentials.html", status_code, **frame(request, db, customer, integration, "credentials"),
                  listing=listing, unavailable=unavailable, chosen=chosen,
                  missing=chosen if chosen != "none" and chosen not in listed else None, errors=errors or {}, problem=problem,
                  create_url=new_credentials_url(here))


@router.get("/customers/{customer}/integrations/{name}/connector/credentials")
def credentials_step(request: Request, db: Db, customer: str, name: str, credentials: str = ""):
    """`?credentials=NAME` (coming back from creating them) preselects that block."""
    integration = find_integration(db, f"{customer}/{name}")
    auth = connector_spec(db, integration).auth
    chosen = f"{auth.type}:{auth.block}" if auth.block else "none"
    if credentials:
        listing, _ = credentials_listing()
        chosen = next((f"{row.type}:{row.name}" for row in listing if row.name == credentials), chosen)
    return _credentials_page(request, db, customer, integration, chosen)


@router.post("/customers/{customer}/integrations/{name}/connector/credentials")
def save_credentials_step(request: Request, db: Db, customer: str, name: str, credentials: str = Form("")):
    integration = find_integration(db, f"{customer}/{name}")
    auth_type, _, block = credentials.partition(":")
    auth = {"type": auth_type or "none", **({"block": block} if block else {})}
    try:
        done = edit_spec(db, integration, ConnectorSpec.parse({**_spec_dict(db, integration), "auth": auth}, source=""))
    except SpecError as exc:
        message = "; ".join(p.message for p in exc.problems) or str(exc)
        return _credentials_page(request, db, customer, integration, credentials, 422, errors={"credentials": message})
    except HubError as exc:
        return _credentials_page(request, db, customer, integration, credentials, 409, problem=said(exc))
    used = f"credentials '{block}' ({auth_type})" if block else "no credentials (an open API)"
    return redirect(step_url(customer, name, "schedule"), f"{name} uses {used}. {done.summary()}.", request)


# ---------------------------------------------------------------- step 3: schedule

@router.get("/customers/{customer}/integrations/{name}/connector/schedule")
def schedule_step(request: Request, db: Db, customer: str, name: str):
    integration = find_integration(db, f"{customer}/{name}")
    schedule = schedule_of(integration)
    return render(request, "connector_schedule.html", **frame(request, db, customer, integration, "schedule"),
                  cron=schedule["cron"], timezone=schedule["timezone"], errors={}, problem=None,
                  interval=schedule.get("interval_seconds"))


@router.post("/customers/{customer}/integrations/{name}/connector/schedule")
def save_schedule_step(request: Request, db: Db, customer: str, name: str, cron: str = Form(""),
                       timezone: str = Form("")):
    integration = find_integration(db, f"{customer}/{name}")
    try:
        check_fields(cron=lambda: check_cron(cron), timezone=lambda: check_timezone(timezone.strip()))
        schedule = set_schedule(db, integration, cron, timezone.strip())
    except HubError as exc:
        errors, problem = form_errors(exc)
        return render(request, "connector_schedule.html", 422, **frame(request, db, customer, integration, "schedule"),
                      cron=cron, timezone=timezone, errors=errors, problem=problem, interval=None)
    return redirect(step_url(customer, name, "mapping"),
                    f"{name} runs on {schedule['cron']} ({schedule['timezone']}). Next: map its fields.", request)


# ---------------------------------------------------------------- step 4: map fields, the sync field

def _mapping_page(request: Request, db: Session, customer: str, integration: Integration, status_code: int = 200,
                  errors: dict | None = None):
    rows = mapping_rows(db, integration)
    return render(request, "connector_mapping.html", status_code, **frame(request, db, customer, integration, "mapping"),
                  rows=rows, sync_key=next((row.target_field for row in rows if row.is_sync_key), ""),
                  editor_url=mapping_url(customer, integration.name, step_url(customer, integration.name, "launch")),
                  errors=errors or {}, target=connector_spec(db, integration).target)


@router.get("/customers/{customer}/integrations/{name}/connector/mapping")
def mapping_step(request: Request, db: Db, customer: str, name: str):
    return _mapping_page(request, db, customer, find_integration(db, f"{customer}/{name}"))


@router.post("/customers/{customer}/integrations/{name}/connector/mapping")
def save_mapping_step(request: Request, db: Db, customer: str, name: str, sync_key: str = Form("")):
    """Pick the sync field (the primary key) among the mapped fields."""
    integration = find_integration(db, f"{customer}/{name}")
    try:
        set_sync_key(db, integration, sync_key)
    except HubError as exc:
        return _mapping_page(request, db, customer, integration, 422, errors={"sync_key": said(exc)})
    return redirect(step_url(customer, name, "launch"), f"The sync field of {name} is {sync_key}. Next: launch.",
                    request)


# ---------------------------------------------------------------- step 5: launch

def launch_page(request: Request, db: Session, customer: str, integration: Integration, status_code: int = 200,
                 problem: str | None = None):
    spec = connector_spec(db, integration)
    return render(request, "connector_launch.html", status_code, **frame(request, db, customer, integration, "launch"),
                  spec=spec, schedule=schedule_of(integration), problem=problem,
                  endpoint=db.get(IntegrationEndpoint, integration.endpoint_id),
                  active=integration.status == IntegrationStatus.active)


@router.get("/customers/{customer}/integrations/{name}/connector/launch")
def launch_step(request: Request, db: Db, customer: str, name: str):
    return launch_page(request, db, customer, find_integration(db, f"{customer}/{name}"))


@router.post("/customers/{customer}/integrations/{name}/connector/launch")
def launch(request: Request, db: Db, customer: str, name: str):
    """Activate: refused, with the reason, until the mapping has its sync field."""
    integration = find_integration(db, f"{customer}/{name}")
    try:
        activate(db, integration)
    except HubError as exc:
        return launch_page(request, db, customer, integration, 422, problem=said(exc))
    return redirect(step_url(customer, name, "launch"),
                    f"{name} is Active: it runs on its schedule. Run now to test it.", request)


STEP_PAGES = {"request": request_step, "credentials": credentials_step, "schedule": schedule_step,
              "mapping": mapping_step, "launch": launch_step}
"""Each step's page, for a Test run from it to show its report there."""
