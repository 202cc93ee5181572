"""The hub's data: SQLModel tables, the connector spec, and the engine/session.

Importing this package registers every table on `SQLModel.metadata` (Alembic reads it).
"""

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
