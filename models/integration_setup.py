"""Creating and configuring integrations (seeds 002 and 004): source, activation, update types,
alert e-mails and error threshold, schedule.

Every rule lives here, so the CLI and the REST API refuse the same things with the same words.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from models.config import (
    DeletedMode,
    Integration,
    IntegrationSource,
    IntegrationStatus,
    UpdateType,
)
from models.cron import cron_problem
from models.customers import get_customer
from models.endpoints import get_endpoint
from models.errors import Conflict, Invalid, check_fields
from models.integrations import connector_spec, integration_ref, save_integration
from models.names import check_name, slug
from models.schedules import schedule_of
from models.spec import ConnectorSpec, SpecError

HUB_AUTHOR = "Integration Hub"
MAX_ERROR_THRESHOLD = 1000


def create_integration(db: Session, customer: str, name: str, endpoint: str, *, data_type: str | None = None,
                       spec: ConnectorSpec | None = None, external: bool = False,
                       author: str | None = None, support_contact: str | None = None) -> Integration:
    """An integration from a partner data type, a connector spec, or built outside the hub; it starts Inactive."""
    if sum((data_type is not None, spec is not None, external)) != 1:
        raise Invalid("create an integration from exactly one of: a partner data type, a connector spec, "
                      "or as external (built outside the hub)")
    found = get_customer(db, customer)
    name = check_name("integration", name)
    target = get_endpoint(db, found, endpoint)
    if db.exec(select(Integration).where(Integration.customer_id == found.id, Integration.name == name)).first():
        problem = f"customer '{customer}' already has an integration named '{name}'"
        raise Conflict(problem, fields={"name": problem})
    source, defaults = IntegrationSource.connector, (HUB_AUTHOR + " universal connector", "")
    if data_type is not None:
        partner = _partner_of(target)
        spec = partner.spec_for(data_type, target.base_url or next(iter(partner.regions.values())),
                                target.credentials_block or slug(customer, target.name, "credentials"))
        source, defaults = IntegrationSource.partner, (partner.author, partner.support_contact)
    if external:
        integration = Integration(customer_id=found.id, endpoint_id=target.id, name=name, spec=None)
        source, defaults = IntegrationSource.external, ("", "")
    else:
        integration = save_integration(db, found, target, name, spec)
    integration.source = source
    integration.data_type = data_type
    integration.author = author if author is not None else defaults[0]
    integration.support_contact = support_contact if support_contact is not None else defaults[1]
    db.add(integration)
    db.commit()
    return integration


def _partner_of(endpoint):
    from models.partners import get_partner

    if endpoint.partner is None:
        raise Invalid(f"integration endpoint '{endpoint.name}' is not a partner application, so it has no "
                      "data types; create the integration from a connector spec instead")
    return get_partner(endpoint.partner)


def activate(db: Session, integration: Integration) -> Integration:
    """Refused until the mapping has a primary (sync) key (seed 002)."""
    ref = integration_ref(db, integration)
    if integration.spec is not None:
        try:
            spec = connector_spec(db, integration)
        except SpecError as exc:
            raise Invalid(f"cannot activate {ref}: its spec is not valid:\n{exc}") from None
        if spec.sync_key is None:
            raise Invalid(f"cannot activate {ref}: its mapping has no primary (sync) key; "
                          f"mark one with `ihub mapping key {ref} <field>`")
    integration.status = IntegrationStatus.active
    integration.consecutive_failures, integration.disabled_reason = 0, ""
    db.add(integration)
    db.commit()
    return integration


def deactivate(db: Session, integration: Integration) -> Integration:
    integration.status = IntegrationStatus.inactive
    db.add(integration)
    db.commit()
    return integration


def delete_integration(db: Session, integration: Integration) -> None:
    """Its mapping, actions, requests, logs and synced records go with it."""
    db.delete(integration)
    db.commit()


def set_update_types(db: Session, integration: Integration, types: list[str],
                     deleted_mode: str | None = None) -> Integration:
    """Which vendor changes a sync applies; "deleted" removes or marks records a full sync no longer finds."""
    allowed = [t.value for t in UpdateType]
    unknown = [t for t in types if t not in allowed]
    if unknown:
        raise Invalid(f"unknown update type(s) {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}")
    if not types:
        raise Invalid(f"choose at least one update type: {', '.join(allowed)}")
    _hub_run(db, integration, "update types")
    if deleted_mode is not None:
        modes = [m.value for m in DeletedMode]
        if deleted_mode not in modes:
            raise Invalid(f"the deleted mode is {' or '.join(modes)}, not {deleted_mode!r}")
        integration.deleted_mode = DeletedMode(deleted_mode)
    integration.update_types = [t for t in allowed if t in types]  # one canonical order
    db.add(integration)
    db.commit()
    return integration


def set_alerts(db: Session, integration: Integration, add: list[str] = (), remove: list[str] = (),
               threshold: int | None = None) -> Integration:
    """Alert addresses and the number of consecutive failed runs that disables the integration."""
    emails = list(integration.alert_emails)
    for address in add:
        normalized = normalize_email(address)
        if normalized not in emails:
            emails.append(normalized)
    for address in remove:
        normalized = address.strip().lower()
        matches = [e for e in emails if e.lower() == normalized]
        if not matches:
            raise Invalid(f"{address!r} is not an alert address of {integration_ref(db, integration)}")
        emails.remove(matches[0])
    if threshold is not None:
        if not 1 <= threshold <= MAX_ERROR_THRESHOLD:
            raise Invalid(f"the error threshold counts consecutive failed runs: 1 to {MAX_ERROR_THRESHOLD}, "
                          f"not {threshold}")
        integration.error_threshold = threshold
    integration.alert_emails = emails
    db.add(integration)
    db.commit()
    return integration


MAX_FLOW_RETRIES = 10


def set_retries(db: Session, integration: Integration, retries: int | None = None,
                delay_seconds: int | None = None) -> Integration:
    """How often Prefect re-runs a failed run by itself, and after how long (the same flow run, one action log)."""
    _hub_run(db, integration, "runs")
    if retries is not None:
        if not 0 <= retries <= MAX_FLOW_RETRIES:
            raise Invalid(f"retries: 0 to {MAX_FLOW_RETRIES} automatic re-runs of a failed run, not {retries}")
        integration.flow_retries = retries
    if delay_seconds is not None:
        if not 0 <= delay_seconds <= 86400:
            raise Invalid(f"the retry delay is 0 to 86400 seconds, not {delay_seconds}")
        integration.flow_retry_delay_seconds = delay_seconds
    db.add(integration)
    db.commit()
    return integration


def normalize_email(address: str) -> str:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Invalid(f"{address!r} is not an e-mail address: {exc}") from None


def set_schedule(db: Session, integration: Integration, cron: str | None = None,
                 timezone: str | None = None) -> dict:
    """Change when the integration runs; returns the schedule now in force."""
    _hub_run(db, integration, "schedule")
    schedule = schedule_of(integration)
    checks = {}
    if cron is not None:
        checks["cron"] = lambda: check_cron(cron)
    if timezone is not None:
        checks["timezone"] = lambda: check_timezone(timezone)
    checked = check_fields(**checks)  # each problem named by its field, for a form
    if "cron" in checked:
        schedule.pop("interval_seconds", None)  # a cron given replaces an interval
    schedule.update(checked)
    integration.spec = {**integration.spec, "schedule": schedule}
    db.add(integration)
    db.commit()
    return schedule


def check_cron(cron: str) -> str:
    """`cron` with single spaces, if both the hub's heartbeat check and Prefect's schedules read it."""
    cron = " ".join(cron.split())
    problem = cron_problem(cron)
    if problem:
        raise Invalid(f"{cron!r} {problem}")
    return cron


def check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"{timezone!r} is not a time zone; use an IANA name such as UTC or Europe/Paris") from None
    return timezone


def _hub_run(db: Session, integration: Integration, what: str) -> None:
    if integration.spec is None:
        raise Invalid(f"{integration_ref(db, integration)} is built outside the hub: it has no {what} here")
