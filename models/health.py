"""Consecutive failures and auto-disable (seed 002): after `error_threshold` failed runs in a
row an active integration is Disabled; a successful run or re-activation resets the count."""

from __future__ import annotations

from dataclasses import dataclass

from models.config import Customer, Integration, IntegrationStatus
from models.engine import session


@dataclass
class Disabled:
    """An integration this failure has just disabled: what the alert e-mail needs."""

    ref: str
    customer: str
    failures: int
    threshold: int
    last_error: str
    alert_emails: list[str]


def record_success(integration_id: int) -> None:
    with session() as db:
        integration = db.get(Integration, integration_id)
        if integration is not None and integration.consecutive_failures:
            integration.consecutive_failures = 0
            db.add(integration)
            db.commit()


def record_failure(integration_id: int, error: str) -> Disabled | None:
    """Count a failed run; disable the integration when it reaches its threshold while Active.

    The row is locked while it is counted, so two runs failing together count twice.
    """
    with session() as db:
        integration = db.get(Integration, integration_id, with_for_update=True)
        if integration is None:
            return None
        integration.consecutive_failures += 1
        disable = (integration.status == IntegrationStatus.active
                   and integration.consecutive_failures >= integration.error_threshold)
        if disable:
            integration.status = IntegrationStatus.disabled
            integration.disabled_reason = error
        db.add(integration)
        db.commit()
        if not disable:
            return None
        customer = db.get(Customer, integration.customer_id).name
        return Disabled(ref=f"{customer}/{integration.name}", customer=customer,
                        failures=integration.consecutive_failures, threshold=integration.error_threshold,
                        last_error=error, alert_emails=list(integration.alert_emails))
