"""The operations that reach beyond the database, shared by the CLI and the REST API:
connecting a partner (a credentials block, then the `connect_endpoint` flow), starting the run
of an action request, and removing a deleted customer's credential blocks.
"""

from __future__ import annotations

from models.config import IntegrationEndpoint
from models.engine import session
from models.endpoints import partner_endpoint
from models.names import slug


def connect_partner(customer: str, endpoint: str, region: str, secrets: dict[str, str],
                    tenant: str | None = None) -> IntegrationEndpoint:
    """Save the credentials, then test the connection: Enabled and connected, or Failed with the vendor's reason.

    Everything the operator typed is checked before anything is saved.
    """
    from blocks.credentials import credentials_block
    from flows.connect import connect_endpoint
    from ihub.embedded import use_own_session_server
    from models.partners import get_partner

    use_own_session_server()
    with session() as db:
        found = partner_endpoint(db, customer, endpoint)
        partner = get_partner(found.partner)
        base_url = partner.base_url(region, tenant)
        block = credentials_block(partner.auth_type, secrets, partner.block_settings(), region=region)
        block_name = found.credentials_block or slug(customer, endpoint, "credentials")
        block.save(block_name, overwrite=True)
        found.region, found.base_url, found.credentials_block = region, base_url, block_name
        db.add(found)
        db.commit()
    connect_endpoint(f"{customer}/{endpoint}")
    with session() as db:
        return partner_endpoint(db, customer, endpoint)


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
