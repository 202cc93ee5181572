"""Connect a partner endpoint (seed 001): test credentials and record the outcome.

Without `new_credentials`, the endpoint's saved credentials are tested: Enabled and currently
connected when the partner accepts them, Failed with the partner's reason when it does not.
With them (a block saved just for the test), they replace the saved ones only if the partner
accepts them; refused while the endpoint is connected, the working ones stay in use and the
endpoint stays Enabled (`models.endpoints.record_connection`). A refusal is an outcome, not an
error: the flow returns Failed. What the operator has yet to do (no credentials saved) raises.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

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


@flow(name="connect-endpoint", flow_run_name="{endpoint}")
def connect_endpoint(endpoint: str, new_credentials: str | None = None, region: str | None = None,
                     tenant: str | None = None) -> EndpointStatus:
    """Test the connection of `endpoint` (customer/endpoint-name) and set its status.

    `new_credentials` names a credentials block to test (for `region`, and `tenant` where the
    region's URL has one) in place of the saved ones; it replaces them only if accepted.
    """
    from blocks.store import promote

    customer, _, name = endpoint.rpartition("/")
    with session() as db:
        found = get_endpoint(db, customer, name)
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
    get_run_logger().info("%s is %s: %s", endpoint, row.status.value, row.status_message)
    return EndpointStatus.enabled if accepted else EndpointStatus.failed
