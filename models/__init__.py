"""The hub's data: SQLModel tables, the connector spec, and the engine/session.

Importing this package registers every table on `SQLModel.metadata` (Alembic reads it).
"""

from models.config import Customer, FieldMapping, Integration, IntegrationEndpoint, IntegrationStatus
from models.logs import ActionLog, ActionStatus
from models.records import Asset, CustomRecord, Person

__all__ = [
    "ActionLog",
    "ActionStatus",
    "Asset",
    "Customer",
    "CustomRecord",
    "FieldMapping",
    "Integration",
    "IntegrationEndpoint",
    "IntegrationStatus",
    "Person",
]
