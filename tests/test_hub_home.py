"""Where the hub lives: found like git finds a repository, and a new one is announced, never silent."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IHUB = str(Path(sys.executable).parent / "ihub")


def ihub(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("IHUB_HOME", "IHUB_DATABASE_URL")}
    return subprocess.run([IHUB, *args], cwd=cwd, env={**environment, "COLUMNS": "200", **env},
                          capture_output=True, text=True, timeout=60)


def test_a_command_run_below_a_project_uses_the_project_hub(tmp_path):
    project, data = tmp_path / "project", tmp_path / "data"
    (project / ".ihub").mkdir(parents=True)
    (project / "src" / "deep").mkdir(parents=True)
    made = ihub(project, "customers", "create", "acme", XDG_DATA_HOME=str(data))
    assert made.returncode == 0, made.stderr
    assert made.stderr == ""  # the hub was there already: nothing to announce

    listed = ihub(project / "src" / "deep", "customers", "list", XDG_DATA_HOME=str(data))
    assert "acme" in listed.stdout and listed.stderr == ""
    assert (project / ".ihub" / "ihub.db").exists() and not data.exists()
    assert not (project / "src" / "deep" / ".ihub").exists()


def test_elsewhere_the_user_hub_is_created_once_and_said_so(tmp_path):
    elsewhere, data = tmp_path / "elsewhere", tmp_path / "data"
    elsewhere.mkdir()
    first = ihub(elsewhere, "customers", "create", "globex", XDG_DATA_HOME=str(data))
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [
        f"Creating a new hub in {data / 'ihub'} (IHUB_HOME, or a .ihub/ folder here or above, chooses another)"]
    assert not (elsewhere / ".ihub").exists()

    second = ihub(elsewhere, "customers", "list", XDG_DATA_HOME=str(data))
    assert "globex" in second.stdout and second.stderr == ""


def test_ihub_home_wins_and_help_creates_no_hub(tmp_path):
    (tmp_path / ".ihub").mkdir()
    chosen = tmp_path / "chosen"
    helped = ihub(tmp_path, "--help", IHUB_HOME=str(chosen))
    assert helped.returncode == 0 and not chosen.exists() and helped.stderr == ""

    made = ihub(tmp_path, "customers", "list", IHUB_HOME=str(chosen))
    assert made.returncode == 0
    assert f"Creating a new hub in {chosen}" in made.stderr
    assert (chosen / "ihub.db").exists() and not (tmp_path / ".ihub" / "ihub.db").exists()
