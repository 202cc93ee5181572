"""How fast every console page answers on a big hub: 50 customers, 20 integrations each, 100k
action logs (one integration holds 20k of them, so its pages are the deep ones).

The hub is built with bulk inserts in a throwaway SQLite file (or the PostgreSQL URL given with
`--database-url`), then every page is requested through the app (FastAPI's TestClient, signed in
as the operator) `--runs` times; each line is `page: median ms`. The target is under 200 ms per page.

    make console-bench        # or: .venv/bin/python bench/console_bench.py --runs 7
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CUSTOMERS, PER_CUSTOMER, LOGS, BIG = 50, 20, 100_000, 20_000
TARGET_MS = 200.0
ADMIN = "console-bench-token"


def build_hub(url: str) -> dict:
    """The hub, bulk-inserted: returns what the pages to measure are named after."""
    from sqlalchemy import insert
    from sqlmodel import select

    from ihub.demo import demo_spec
    from models.config import (ActionKind, Customer, Integration, IntegrationAction, IntegrationEndpoint,
                               IntegrationSource, IntegrationStatus, utcnow)
    from models.engine import migrate, session
    from models.integrations import onboard
    from models.logs import ActionLog, ActionStatus, Trigger

    migrate(url)
    with session() as db:  # one integration made the ordinary way: its spec is every hub-run one's
        model = onboard(db, "customer-00", "erp", "the ERP", "integration-00", demo_spec("http://127.0.0.1:9"))
        spec, first_customer = model.spec, model.customer_id
    now = utcnow()
    with session() as db:
        connection = db.connection()
        connection.execute(insert(Customer.__table__), [{"name": f"customer-{c:02}", "created_at": now}
                                                        for c in range(1, CUSTOMERS)])
        customers = {name: id_ for id_, name in db.exec(select(Customer.id, Customer.name))}
        connection.execute(insert(IntegrationEndpoint.__table__), [
            {"customer_id": id_, "name": "erp", "description": "the ERP", "status": "Available", "connected": False,
             "created_at": now} for name, id_ in customers.items() if id_ != first_customer])
        endpoints = {c: e for e, c in db.exec(select(IntegrationEndpoint.id, IntegrationEndpoint.customer_id))}
        rows = []
        for name, customer in customers.items():
            for n in range(PER_CUSTOMER):
                if customer == first_customer and n == 0:
                    continue
                hub_run = n % 2 == 0
                rows.append({"uid": os.urandom(16).hex(), "customer_id": customer, "endpoint_id": endpoints[customer],
                             "name": f"integration-{n:02}", "spec": spec if hub_run else None,
                             "source": (IntegrationSource.connector if hub_run else IntegrationSource.external).value,
                             "status": random.choice([IntegrationStatus.active, IntegrationStatus.inactive]).value,
                             "author": "CustomSoft", "support_contact": "help@customsoft.example",
                             "update_types": ["created", "updated"], "deleted_mode": "mark", "alert_emails": [],
                             "error_threshold": 5, "consecutive_failures": 0, "disabled_reason": "",
                             "flow_retries": 0, "flow_retry_delay_seconds": 60,
                             "last_heartbeat_at": now - timedelta(minutes=random.randint(0, 3000)),
                             "last_log_update_at": now, "created_at": now})
        connection.execute(insert(Integration.__table__), rows)
        integrations = list(db.exec(select(Integration.id, Integration.spec)))
        connection.execute(insert(IntegrationAction.__table__), [
            {"integration_id": id_, "name": "Export Quote", "kind": ActionKind.export.value, "description": ""}
            for id_, spec_ in integrations if spec_ is None])
        connection.execute(insert(IntegrationAction.__table__), [
            {"integration_id": id_, "name": "Import Contact", "kind": ActionKind.import_.value, "description": ""}
            for id_, spec_ in integrations if spec_ is None])
        big = model.id
        others = [id_ for id_, _ in integrations if id_ != big]
        statuses = [ActionStatus.completed] * 45 + [ActionStatus.failed] * 4 + [ActionStatus.incomplete]
        batch = []
        for n in range(LOGS):
            owner = big if n % 5 == 0 else others[n % len(others)]
            updated = now - timedelta(seconds=(LOGS - n) * 30)
            batch.append({"integration_id": owner, "action": "Import Assets" if owner == big else "Import Contact",
                          "status": random.choice(statuses).value, "trigger": Trigger.schedule.value,
                          "message": "imported 120 records", "attempt": 1, "pages": 3, "fetched": 120,
                          "inserted": 0, "updated": 4, "unchanged": 116, "rejected": 0, "drifted": 0,
                          "skipped": 0, "deleted": 0, "started_at": updated - timedelta(seconds=5),
                          "updated_at": updated, "finished_at": updated})
            if len(batch) == 10_000:
                connection.execute(insert(ActionLog.__table__), batch)
                batch = []
        db.commit()
        middle = db.exec(select(ActionLog.id).where(ActionLog.integration_id == big)
                         .order_by(ActionLog.id).offset(BIG // 2).limit(1)).one()
        newest = db.exec(select(ActionLog.id).where(ActionLog.integration_id == big)
                         .order_by(ActionLog.id.desc()).limit(1)).one()
    return {"middle": middle, "newest": newest}


def pages(hub: dict) -> dict[str, str]:
    big = "/customers/customer-00/integrations/integration-00"
    external = "/customers/customer-07/integrations/integration-01"
    return {
        "customers": "/customers",
        "customer overview": "/customers/customer-07",
        "integration endpoints": "/customers/customer-07/endpoints",
        "integrations tab": "/customers/customer-07/partners",
        "integration list": "/customers/customer-07/integrations",
        "manager (20k logs)": big,
        "manager, deep page": f"{big}?before={hub['middle']}",
        "manager, newer page": f"{big}?after={hub['middle']}",
        "manager, status Failed": f"{big}?status=Failed",
        "manager, status Cancelled (none)": f"{big}?status=Cancelled",
        "manager, action + 24 h": f"{big}?action=Import+Assets&within=24h",
        "manager (external)": external,
        "log details": f"{big}/logs/{hub['newest']}",
        "log status (JSON)": f"{big}/logs/{hub['newest']}/status",
        "action requests": f"{external}/requests",
        "connectivity": f"{external}/connectivity",
        "status overview (page 1 of 20)": "/status",
        "status overview (last page)": "/status?page=20",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", help="a PostgreSQL URL with an empty schema (default: a SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="console-bench-") as home:
        url = options.database_url or f"sqlite:///{Path(home) / 'ihub.db'}"
        os.environ.update(IHUB_DATABASE_URL=url, IHUB_HOME=home)
        for name in ("PREFECT_API_URL", "PREFECT_UI_URL"):
            os.environ.pop(name, None)
        started = time.perf_counter()
        hub = build_hub(url)
        print(f"build: {time.perf_counter() - started:.1f} s ({CUSTOMERS} customers, "
              f"{CUSTOMERS * PER_CUSTOMER} integrations, {LOGS} action logs)")
        measure(pages(hub), options.runs)


def measure(paths: dict[str, str], runs: int) -> None:
    import re

    from fastapi.testclient import TestClient

    from ihub.api.app import create_app

    with TestClient(create_app(ADMIN), follow_redirects=False) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
        client.post("/sign-in", data={"token": ADMIN, "next": "/customers", "csrf_token": csrf})
        slowest = 0.0
        for name, path in paths.items():
            times = []
            for _ in range(runs + 1):  # the first request warms the caches and is not counted
                started = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    raise SystemExit(f"{name}: {path} answered {answer.status_code}")
            value = median(times[1:])
            slowest = max(slowest, value)
            print(f"{name}: {value:.1f} ms")
        print(f"slowest page: {slowest:.1f} ms (target under {TARGET_MS:.0f} ms): "
              f"{'met' if slowest < TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
