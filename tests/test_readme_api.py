"""The README's REST API examples, run as written (`curl` in bash) against the API served on loopback."""

import os
import re
import subprocess
import sys
from pathlib import Path

import uvicorn

from ihub.vendor import serving
from models.engine import session
from models.logs import ActionLog, ActionStatus
from tests.conftest import hub_app

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "admin-readme-token"
NOT_RUN = '/connect"'
"""Connecting a partner tests its real credentials against its real API: not run here."""


def readme_script() -> str:
    """The README's operator examples: the first sh block after "Operator routes, by area"."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("Operator routes, by area"):]
    script = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    commands = re.split(r"(?<!\\)\n", script)  # a command with its continuation lines is one
    return "\n".join(command for command in commands if NOT_RUN not in command)


def test_the_readme_curl_examples_work_as_written(sqlite_url, tmp_path):
    config = uvicorn.Config(hub_app(ADMIN), log_level="warning", access_log=False, lifespan="off")
    with serving(uvicorn.Server(config)) as url:
        script = readme_script().replace("http://127.0.0.1:8000", url).replace(".venv/bin/python", sys.executable)
        assert script.count("curl ") >= 30
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True,
                                text=True, timeout=120, env={**os.environ, "IHUB_ADMIN_TOKEN": ADMIN})
    assert result.returncode == 0, f"{result.stderr}\n{result.stdout[-2000:]}"
    assert '"name":"acme"' in result.stdout and '"status":"Active"' in result.stdout
    with session() as db:
        (log,) = db.query(ActionLog).all()
    assert (log.action, log.record_ref, log.status, log.message) == ("Export Quote", "Q-42", ActionStatus.completed,
                                                                    "quote Q-42 sent")
