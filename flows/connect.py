"""Connect a partner endpoint (seed 001): test credentials and record the outcome.

Outside `trying_new_credentials`, the endpoint's saved credentials are tested: Enabled and currently
connected when the partner accepts them, Failed with the partner's reason when it does not.
Inside it (a block saved just for the test), they replace the saved ones only if the partner
accepts them; refused while the endpoint is connected, the working ones stay in use and the
endpoint stays Enabled (`models.endpoints.record_connection`). A refusal is an outcome, not an
error: the flow returns Failed. What the operator has yet to do (no credentials saved) raises.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, NamedTuple

from prefect import flow, get_run_logger
from prefect.states import State

from flows.outcome import NOT_PERSISTED, reported
from models.config import EndpointStatus
from models.endpoints import get_endpoint, record_connection
from models.engine import session
from models.errors import CredentialsNotFound, HubError, NotFound
from models.names import slug
from models.partners import get_partner
from models.redact import redact
from models.spec import AuthRef
from tasks.authenticate import authenticate
from tasks.connect import check_connection


class NewCredentials(NamedTuple):
    block: str
    """A credentials block saved just for the test."""
    region: str | None
    tenant: str | None


_NEW: ContextVar[NewCredentials | None] = ContextVar("ihub_new_credentials", default=None)


@contextmanager
def trying_new_credentials(block: str, region: str | None, tenant: str | None) -> Iterator[None]:
    """Runs of `connect_endpoint` inside test `block` (in `region`, with `tenant`) in place of the saved
    credentials. Kept out of the flow's parameters, as `started_as` keeps a run's trigger: the Prefect
    UI offers a flow's parameters in its run dialog, and a throwaway block's name is not for a person."""
    token = _NEW.set(NewCredentials(block, region, tenant))
    try:
        yield
    finally:
        _NEW.reset(token)


@flow(name="connect-endpoint", flow_run_name="{endpoint}", **NOT_PERSISTED)
@reported
def connect_endpoint(endpoint: str) -> EndpointStatus | State:
    """Test the connection of a partner endpoint and set its status: Enabled and connected, or
    Failed with the partner's reason.

    Args:
        endpoint: The partner endpoint, as customer/endpoint (e.g. acme/okta).
    """
    from blocks.store import promote

    trying = _NEW.get()
    new_credentials, region, tenant = trying if trying is not None else (None, None, None)

    customer, _, name = endpoint.rpartition("/")
    with session() as db:
        found = get_endpoint(db, customer, name)
    get_run_logger().info("testing the credentials of %s (%s, %s)", endpoint, found.partner or "not a partner",
                          found.base_url or "no region yet")
    if found.partner is None:
        raise NotFound(f"'{endpoint}' is not a partner application, so it has no connection to test")
    partner = get_partner(found.partner)
    if new_credentials is None:
        if not (found.credentials_block and found.base_url):
            raise CredentialsNotFound(f"{endpoint} has no credentials or region yet: connect it with them first")
        block, base_url = found.credentials_block, found.base_url
    else:
        block, base_url = new_credentials, partner.base_url(region or found.region, tenant)
    auth = authenticate(AuthRef(type=partner.auth_type, block=block))
    try:
        accepted, message = True, check_connection(partner, base_url, auth)
    except HubError as exc:
        accepted, message = False, redact(str(exc))
    new = None
    if new_credentials is not None:
        saved_as = found.credentials_block or slug(customer, name, "credentials")
        new = (region or found.region, base_url, saved_as)
        if accepted:
            promote(partner.auth_type, new_credentials, saved_as)
    with session() as db:
        row = record_connection(db, found.id, accepted, message, new)
    log = get_run_logger()
    (log.info if accepted else log.warning)("%s is %s: %s", endpoint, row.status.value, row.status_message)
    return EndpointStatus.enabled if accepted else EndpointStatus.failed
