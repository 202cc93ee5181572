"""The end-to-end operations tests (tests/operations_e2e.py) with Prefect's server and the hub on SQLite.

The same tests on PostgreSQL are test_operations_e2e_postgresql.py: a module of their own, so that
pytest-xdist runs the two stacks in two processes at once."""

from tests.operations_e2e import *  # noqa: F401,F403 the tests, in their order
from tests.operations_e2e import stack_fixture

stack = stack_fixture("sqlite")
