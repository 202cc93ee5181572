"""Connect a partner endpoint (seed 001): test its saved credentials and record the outcome.

Enabled and currently connected when the partner accepts them, Failed with the partner's
reason when it does not. A refusal is an outcome, not an error: the flow returns Failed. What
the operator has yet to do (no credentials saved) raises.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.states import State

from flows.outcome import reported

from models.config import EndpointStatus, IntegrationEndpoint, utcnow
from models.endpoints import get_endpoint
from models.engine import session
from models.errors import CredentialsNotFound, HubError, NotFound
from models.partners import get_partner
from models.redact import redact
from models.spec import AuthRef
from tasks.authenticate import authenticate
from tasks.connect import check_connection


@flow(name="connect-endpoint", flow_run_name="{endpoint}")
@reported
def connect_endpoint(endpoint: str) -> EndpointStatus | State:
    """Test a partner endpoint's saved credentials and set its status: Enabled and connected, or
    Failed with the partner's reason.

    Args:
        endpoint: The partner endpoint, as customer/endpoint (e.g. acme/okta).
    """
    customer, _, name = endpoint.rpartition("/")
    with session() as db:
        found = get_endpoint(db, customer, name)
    get_run_logger().info("testing the credentials of %s (%s, %s)", endpoint, found.partner or "not a partner",
                          found.base_url or "no region yet")
    if found.partner is None:
        raise NotFound(f"'{endpoint}' is not a partner application, so it has no connection to test")
    if not (found.credentials_block and found.base_url):
        raise CredentialsNotFound(f"{endpoint} has no credentials or region yet: connect it with them first")
    partner = get_partner(found.partner)
    auth = authenticate(AuthRef(type=partner.auth_type, block=found.credentials_block))
    try:
        status, message = EndpointStatus.enabled, check_connection(partner, found.base_url, auth)
    except HubError as exc:
        status, message = EndpointStatus.failed, redact(str(exc))
    with session() as db:
        row = db.get(IntegrationEndpoint, found.id)
        row.status, row.status_message = status, message
        row.connected = status == EndpointStatus.enabled
        row.connected_at = utcnow() if row.connected else None
        db.add(row)
        db.commit()
    log = get_run_logger()
    (log.info if status == EndpointStatus.enabled else log.warning)("%s is %s: %s", endpoint, status.value, message)
    return status
