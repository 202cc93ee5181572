"""`ihub demo`: the hub's main job end to end, against the bundled demo vendor.

Starts the demo vendor on a free loopback port, onboards a demo customer with an endpoint, an
API-token credentials block and an integration from `connectors/demo-vendor-assets.yaml`, then
syncs twice to show that a re-run duplicates nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from sqlmodel import delete

from models.config import Integration, IntegrationStatus
from models.egress import ALLOWED_HOSTS
from models.engine import session
from models.integrations import onboard
from models.records import Asset
from models.spec import ConnectorSpec

DEMO_SPEC = Path(__file__).parent / "connectors" / "demo-vendor-assets.yaml"
CUSTOMER, ENDPOINT, INTEGRATION = "demo", "demo-vendor", "assets"



def demo_spec(base_url: str, path: Path = DEMO_SPEC, **changes) -> ConnectorSpec:
    """A shipped spec (the demo's by default) pointed at `base_url`, with any top-level fields replaced."""
    data = ConnectorSpec.from_yaml(path).model_dump(mode="json")
    data["request"]["base_url"] = base_url
    data.update(changes)
    return ConnectorSpec.parse(data)


def onboard_demo(base_url: str, token: str) -> Integration:
    """Create (or refresh) the demo customer, endpoint, credentials and integration."""
    from blocks import ApiTokenCredentials
    from ihub.embedded import use_own_session_server

    use_own_session_server()
    spec = demo_spec(base_url)
    ApiTokenCredentials(token=token).save(spec.auth.block, overwrite=True)
    with session() as db:
        integration = onboard(db, CUSTOMER, ENDPOINT, "The bundled demo asset-management vendor", INTEGRATION, spec)
        integration.status = IntegrationStatus.active
        db.add(integration)
        db.exec(delete(Asset).where(Asset.integration_id == integration.id))  # the demo starts empty
        db.commit()
        return integration


def run_demo(console: Console, assets: int) -> bool:
    from ihub.report import log_detail, run_table
    from ihub.runs import run_sync
    from ihub.vendor import make_vendor, running_vendor

    os.environ.setdefault(ALLOWED_HOSTS, "127.0.0.1,localhost")  # the demo vendor is on loopback
    vendor = make_vendor(assets=assets)
    with running_vendor(vendor) as base_url:
        console.print(f"Demo vendor serving {assets} assets at [bold]{base_url}[/]")
        with console.status("Onboarding the demo customer (the first start of Prefect takes a few seconds)"):
            integration = onboard_demo(base_url, vendor.token)
        ref = f"{CUSTOMER}/{INTEGRATION}"
        console.print(f"Integration [bold]{ref}[/]: {DEMO_SPEC.name}, limit/offset pages, sync key external_id")
        for title in ("First sync", "Second sync (a re-run duplicates nothing)"):
            log = run_sync(console, integration.id, ref)
            if log is None:
                console.print("[red]The sync did not start; see the Prefect logs.[/]")
                return False
            if log.status.value != "Completed":  # the counts only if it read something; the reason once
                if log.pages:
                    console.print(run_table(f"{title} of {ref}", log))
                console.print(f"[red]Sync failed:[/] {log.message} (action log #{log.id}: `ihub log {log.id}`)")
                return False
            console.print(run_table(f"{title} of {ref}", log))
            console.print(log_detail(log, ref))
    return True
