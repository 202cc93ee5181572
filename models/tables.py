"""Every table of the hub: importing this module registers them all on `SQLModel.metadata` (Alembic reads it)."""

from models.config import (
    Customer,
    EndpointStatus,
    FieldMapping,
    Integration,
    IntegrationAction,
    IntegrationEndpoint,
    IntegrationStatus,
)
from models.logs import ActionLog, ActionRequest, ActionStatus, Trigger
from models.records import Asset, CustomRecord, Person

__all__ = [
    "ActionLog",
    "ActionRequest",
    "ActionStatus",
    "Asset",
    "Customer",
    "CustomRecord",
    "EndpointStatus",
    "FieldMapping",
    "Integration",
    "IntegrationAction",
    "IntegrationEndpoint",
    "IntegrationStatus",
    "Person",
    "Trigger",
]
