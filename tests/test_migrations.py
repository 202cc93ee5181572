"""The Alembic migrations create exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables)
from models.engine import get_engine, migrate


def test_migrations_match_the_models(db_url):
    with get_engine(db_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == [], "a model changed without a migration: add one in models/migrations/versions"


def test_migrating_twice_changes_nothing(db_url):
    migrate(db_url)  # already at head from the fixture
    with get_engine(db_url).connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0001"
