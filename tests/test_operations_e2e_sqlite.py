"""The end-to-end operations tests (tests/operations_e2e.py) with Prefect's server and the hub on SQLite.

The same tests on PostgreSQL are test_operations_e2e_postgresql.py: a module of their own, so that
pytest-xdist (`--dist loadfile`) runs the two stacks on two workers at once."""

from __future__ import annotations

import pytest

from tests.operations_e2e import (  # noqa: F401 collected here, in this order: the last one stops `ihub serve`
    running_stack,
    test_a_ui_run_a_failed_run_and_its_retry_are_one_log_each_and_the_history_shows_them,
    test_deployments_follow_the_database_without_a_restart,
    test_an_interval_schedule_fires_and_its_run_is_logged_as_scheduled,
    test_ihub_deploy_and_prefect_yaml_put_the_same_runs_on_a_work_pool_that_a_worker_runs,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack("sqlite", tmp_path_factory) as running:
        yield running
