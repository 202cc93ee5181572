"""The quick commands stay quick: `ihub --help` imports neither Prefect nor SQLModel, and the
commands that only read or write the hub's database, their mistakes included, import no Prefect.

Each check runs `ihub` the way the console script does, in a fresh Python process, and reads
`sys.modules` after every command.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ihub.cli import COMMANDS, GROUPS, app
from tests.conftest import make_integration

ROOT = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent("""
    import contextlib, io, json, sys

    from ihub.entry import main

    results_file, commands = sys.argv[1], json.loads(sys.argv[2])
    results = []
    for args in commands:
        sys.argv = ["ihub", *args]
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                main()
                code = 0
            except SystemExit as exit:
                code = exit.code or 0
        loaded = sorted({name.split(".")[0] for name in sys.modules} & {"prefect", "sqlmodel", "alembic"})
        results.append({"args": args, "code": code, "output": output.getvalue(), "loaded": loaded})
    with open(results_file, "w") as file:
        json.dump(results, file)
""")


def ihub_in_a_new_process(tmp_path, *commands: list[str]) -> list[dict]:
    """Run the commands one after the other in one new process; for each: exit code, output, and
    which of Prefect, SQLModel and Alembic had been imported by then."""
    results = tmp_path / "results.json"
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("PREFECT_API_URL", None)
    subprocess.run([sys.executable, "-c", PROBE, str(results), json.dumps(commands)], cwd=ROOT, env=env,
                   check=True, timeout=120)
    return json.loads(results.read_text())


def test_help_imports_neither_prefect_nor_sqlmodel(tmp_path, monkeypatch):
    monkeypatch.setenv("IHUB_HOME", str(tmp_path / "home"))
    [result] = ihub_in_a_new_process(tmp_path, ["--help"])
    assert result["code"] == 0
    assert "customers" in result["output"] and "Run an integration's sync now" in result["output"]
    assert result["loaded"] == []


@pytest.mark.usefixtures("sqlite_url")
def test_database_commands_and_their_mistakes_import_no_prefect(tmp_path):
    make_integration()
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("vendor: Acme\nrequest: {path: /things}\n")
    results = ihub_in_a_new_process(
        tmp_path,
        ["customers", "--help"],
        ["integrations", "--help"],
        ["customers", "list"],
        ["endpoints", "list", "acme"],
        ["integrations", "list"],
        ["integrations", "show", "acme/assets"],
        ["mapping", "show", "acme/assets"],
        ["integrations", "schedule", "acme/assets", "--cron", "61 * * * *"],
        ["integrations", "create", "acme", "other", "--endpoint", "vendor", "--spec", str(bad_spec)],
        ["logs"],
        ["status"],
        ["actions", "list", "acme/assets"],
        ["partners", "catalog"],
        ["run", "nosuch/x"],
        ["credentials", "--help"],
        ["credentials", "create", "Bad_Name", "--type", "api_token"],
        ["credentials", "create", "ok-name", "--type", "bearer"],
        ["integrations", "edit", "acme/assets", "--spec", str(bad_spec)],
    )
    for result in results:
        assert "prefect" not in result["loaded"], f"ihub {' '.join(result['args'])} imported Prefect"
        assert "Traceback" not in result["output"], result["output"]
    by_command = {" ".join(result["args"][:2]): result for result in results}
    assert by_command["customers list"]["code"] == 0 and "acme" in by_command["customers list"]["output"]
    assert by_command["integrations show"]["code"] == 0
    assert "Integration acme/assets" in by_command["integrations show"]["output"]
    assert by_command["integrations schedule"]["code"] == 1
    assert "'61 * * * *' is not a valid cron expression" in by_command["integrations schedule"]["output"]
    assert by_command["integrations create"]["code"] == 1
    assert "the spec cannot be used" in by_command["integrations create"]["output"]
    assert by_command["run nosuch/x"]["code"] == 1
    assert by_command["run nosuch/x"]["output"].strip() == "Error: no integration 'nosuch/x'"
    assert "is not one of api_token" in by_command["credentials create"]["output"]  # the second one
    assert by_command["integrations edit"]["code"] == 1
    assert "the spec cannot be used (nothing was changed)" in by_command["integrations edit"]["output"]


def test_each_lazy_command_is_summarised_as_its_own_help_says():
    from typer.main import get_command

    group = get_command(app)
    for name, (_target, summary) in {**COMMANDS, **GROUPS}.items():
        loaded = group.commands[name].load()
        first_paragraph = " ".join(loaded.help.split("\n\n")[0].split())
        assert summary == first_paragraph, f"the summary of `ihub {name}` in ihub/cli.py differs from its help"
