"""The REST API against its own OpenAPI document (schemathesis, in-process over ASGI), on SQLite and
PostgreSQL: no operation answers 500, every status it answers is documented, and every body
conforms to the documented schema. A short, deterministic run: a few examples per operation."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ihub.demo import demo_spec
from models.api_keys import issue_key
from models.config import IntegrationStatus
from models.engine import session
from models.integrations import onboard
from tests.conftest import hub_app

ADMIN = "admin-contract-token"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# The app reads the hub's database from IHUB_DATABASE_URL at each request: one app serves both databases.
schema = schemathesis.openapi.from_asgi("/openapi.json", hub_app(ADMIN))
# Names that exist in the seeded hub, so that examples reach past "not found" into the services.
SEEDED = {"customer": "acme", "endpoint": "vendor", "name": "assets", "target": "name", "partner": "okta"}


@schema.hook
def map_path_parameters(context, path_parameters):
    """About half the examples (those of even length) name the seeded customer, endpoint, integration,
    field and partner instead of what was generated."""
    if not path_parameters:
        return path_parameters
    return {key: SEEDED[key] if key in SEEDED and len(str(value)) % 2 == 0 else value
            for key, value in path_parameters.items()}


@pytest.fixture
def integration_key(db_url, prefect_server) -> str:
    """A migrated hub database holding one customer, endpoint and active integration; its API key.
    (Deleting the customer removes its credentials block: Prefect's test server answers that.)"""
    with session() as db:
        integration = onboard(db, "acme", "vendor", "the demo vendor", "assets", demo_spec("http://127.0.0.1:9"))
        integration.status = IntegrationStatus.active
        db.add(integration)
        db.commit()
        return issue_key(db, integration)


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_the_document(case, integration_key):
    own_key = case.operation.path.startswith("/api/v1/integration/")  # the routes an integration calls
    token = integration_key if own_key else ADMIN
    # A generous read timeout: the first call of a route may import Prefect, slow on a busy machine.
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=60)
