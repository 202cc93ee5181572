"""The operations that reach beyond the database, shared by the CLI and the REST API:
connecting a partner (a credentials block, then the `connect_endpoint` flow), starting the run
of an action request, and removing a deleted customer's credential blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from models.config import EndpointStatus, IntegrationEndpoint
from models.engine import session
from models.endpoints import partner_endpoint
from models.names import slug


@dataclass
class Connected:
    """What connecting did: the endpoint as it now is, and whether the partner accepted the new credentials."""

    endpoint: IntegrationEndpoint
    accepted: bool

    @property
    def kept(self) -> bool:
        """The new credentials were refused and the working ones stay in use (still connected)."""
        return not self.accepted and self.endpoint.connected


def connect_partner(customer: str, endpoint: str, region: str, secrets: dict[str, str],
                    tenant: str | None = None) -> Connected:
    """Test new credentials, and only if the partner accepts them make them the endpoint's (Enabled).

    Everything the operator typed is checked before anything is saved. The new credentials go
    into a block of their own for the test (never a flow parameter), deleted after it; refused,
    they change nothing of a connected endpoint, and a not connected one becomes Failed with the
    partner's reason.
    """
    from blocks.credentials import credentials_block
    from blocks.store import delete, save
    from flows.connect import connect_endpoint, trying_new_credentials
    from ihub.embedded import use_own_session_server
    from models.partners import get_partner

    with session() as db:
        found = partner_endpoint(db, customer, endpoint)
        partner = get_partner(found.partner)
        partner.base_url(region, tenant)
        block = credentials_block(partner.auth_type, secrets, partner.block_settings(), region=region)
    use_own_session_server()
    candidate = slug(customer, endpoint, "new-credentials", uuid4().hex[:8])
    save(block, candidate, overwrite=False)
    try:
        with trying_new_credentials(candidate, region, tenant):
            status = connect_endpoint(f"{customer}/{endpoint}")
    finally:
        delete(partner.auth_type, candidate)  # already gone when it was accepted
    with session() as db:
        return Connected(partner_endpoint(db, customer, endpoint), accepted=status == EndpointStatus.enabled)


def start_request(request_id: int) -> None:
    """Run an action request's flow in this process (the log it moves along was written Queued already)."""
    from flows.requests import fail_queued, run_action_request
    from ihub.embedded import use_own_session_server

    use_own_session_server()
    try:
        run_action_request(request_id, return_state=True)
    except BaseException as exc:  # the run never started: say so in the request's log
        fail_queued(request_id, f"the run could not start: {exc}")
        if not isinstance(exc, Exception):
            raise


def remove_blocks(names: list[str]) -> None:
    """Delete a removed customer's credential blocks, whatever their type."""
    if not names:
        return
    from prefect.blocks.core import Block
    from prefect.exceptions import ObjectNotFound

    from blocks import CREDENTIAL_BLOCKS
    from ihub.embedded import use_own_session_server

    use_own_session_server()
    for name in names:
        for block_class in CREDENTIAL_BLOCKS.values():
            try:
                Block.delete(f"{block_class.get_block_type_slug()}/{name}")
            except ObjectNotFound:
                continue
