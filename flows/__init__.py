"""The Prefect flows. What their runs log through Prefect (their own lines, Prefect's tracebacks
and state changes) is redacted of secrets before it is sent to the server, and a failure the hub
understands is told once, without traceback (flows/outcome.py)."""

from flows.outcome import quiet_expected_failures
from models.prefect_tls import share_prefect_tls_context
from models.redact import redact_logs

redact_logs("prefect.flow_runs", "prefect.task_runs")
quiet_expected_failures("prefect.flow_runs", "prefect.task_runs")
share_prefect_tls_context()
