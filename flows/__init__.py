"""The Prefect flows. What their runs log through Prefect (their own lines, Prefect's tracebacks
and state changes) is redacted of secrets before it is sent to the server."""

from models.redact import redact_logs

redact_logs("prefect.flow_runs", "prefect.task_runs")
