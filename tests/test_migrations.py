"""The Alembic migrations create exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables)
from models.engine import MIGRATIONS, get_engine, migrate


def test_migrations_match_the_models(db_url):
    with get_engine(db_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == [], "a model changed without a migration: add one in models/migrations/versions"


def test_migrating_twice_changes_nothing(db_url):
    migrate(db_url)  # already at head from the fixture
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with get_engine(db_url).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == ScriptDirectory.from_config(config).get_current_head()
