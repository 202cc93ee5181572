"""The logger of the Prefect run in progress, for the steps that log what they do."""

from __future__ import annotations

import logging
import sys


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's logger of the flow or task run in progress, whose lines reach the run's log in the
    UI; outside a run (a test-read from the CLI, which never imports Prefect) the `ihub` logger."""
    if "prefect.context" in sys.modules:
        from prefect.context import FlowRunContext, TaskRunContext
        from prefect.logging import get_run_logger

        if FlowRunContext.get() or TaskRunContext.get():
            return get_run_logger()
    return logging.getLogger("ihub")
