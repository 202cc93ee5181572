"""The connector's advanced editor: the whole spec (mapping included) as YAML, saved through
`edit_spec` (records, logs, state, schedule and API key kept) with each validation error shown on
its YAML line; and "Test", the dry run of `ihub connectors test`, on the guided steps and here.

A Test's suggestions come as a diff with an "Apply" button, which saves the spec with them made.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import Form, Request
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from sqlmodel import Session

from ihub.api.deps import Db
from ihub.console import connector
from ihub.console.pages import console_router, redirect, render, safe_next, said
from models.config import Integration
from models.errors import Conflict, HubError
from models.integrations import connector_spec, find_integration
from models.redact import redact
from models.spec import ConnectorSpec, Problem, SpecError, yaml_problem
from models.spec_edit import edit_spec
from models.spec_hints import spec_yaml

router = console_router()


def stored_yaml(db: Session, integration: Integration) -> str:
    """The spec in force as YAML, defaults left out (as `GET …/spec` and `ihub connectors test REF` give it)."""
    return spec_yaml(connector_spec(db, integration).document())


def line_of(root: Any, loc: tuple[str | int, ...]) -> int | None:
    """The YAML line (from 1) that holds the spec's part at `loc`, or its nearest parent that is written there."""
    line, node = None, root
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, node = node.lc.key(part)[0] + 1, node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, node = node.lc.item(part)[0] + 1, node[part]
        else:
            break
    return line


class _Unusable(Exception):
    """YAML text that is not a usable spec: each problem with its line (None: not on one line)."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def parse_yaml(text: str) -> ConnectorSpec:
    """The spec in `text`, validated whole, or `_Unusable` with each problem on its line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _Unusable([(mark.line + 1 if mark else None, yaml_problem(exc))]) from None
    try:
        return ConnectorSpec.parse(data, source="")
    except SpecError as exc:
        problems = exc.problems or [Problem((), str(exc))]
    try:
        root = YAML().load(text)
    except RuamelError:  # PyYAML read it, ruamel.yaml does not: the problems without their lines
        root = None
    placed = []
    for problem in problems:
        where = ".".join(map(str, problem.loc))
        placed.append((line_of(root, problem.loc), f"{where}: {problem.message}" if where else problem.message))
    raise _Unusable(placed)


def _editor(request: Request, db: Session, customer: str, integration: Integration, text: str,
            status_code: int = 200, problems: list[tuple[int | None, str]] | None = None,
            problem: str | None = None, force_offered: bool = False, report: dict | None = None):
    problems = problems or []
    by_line: dict[int, list[str]] = {}
    for line, message in problems:
        if line is not None:
            by_line.setdefault(line, []).append(message)
    request.state.report = report
    return render(request, "spec_editor.html", status_code,
                  **connector.frame(request, db, customer, integration, "yaml"), text=text,
                  lines=text.splitlines(), by_line=by_line, problems=problems,
                  unplaced=[message for line, message in problems if line is None], problem=problem,
                  force_offered=force_offered)


@router.get("/customers/{customer}/integrations/{name}/spec")
def spec_page(request: Request, db: Db, customer: str, name: str):
    integration = find_integration(db, f"{customer}/{name}")
    return _editor(request, db, customer, integration, stored_yaml(db, integration))


@router.post("/customers/{customer}/integrations/{name}/spec")
def save_spec(request: Request, db: Db, customer: str, name: str, spec_yaml_text: str = Form("", alias="spec"),
              force: str = Form(""), return_to: str = Form("")):
    """Replace the spec, validated whole; a new sync key or target with records stored needs "force"."""
    integration = find_integration(db, f"{customer}/{name}")
    try:
        spec = parse_yaml(spec_yaml_text)
        done = edit_spec(db, integration, spec, force=force == "yes")
    except _Unusable as exc:
        return _editor(request, db, customer, integration, spec_yaml_text, 422, problems=exc.problems)
    except Conflict as exc:
        return _editor(request, db, customer, integration, spec_yaml_text, 409, problem=said(exc),
                       force_offered=True)
    except HubError as exc:
        return _editor(request, db, customer, integration, spec_yaml_text, 422, problem=said(exc))
    back = safe_next(return_to) if return_to else f"{connector.integration_base(customer, name)}/spec"
    return redirect(back, f"Spec saved: {done.summary()}.", request)


# ---------------------------------------------------------------- Test

def test_read(spec: ConnectorSpec, text: str, name: str) -> dict:
    """The dry run `ihub connectors test` makes: the report, and its suggestions as a diff and the revised YAML."""
    from ihub.embedded import use_own_session_server
    from tasks.authenticate import authenticate  # the run's machinery imports Prefect: only when a test is asked
    from tasks.preview import preview_spec, revision

    if spec.auth.block is not None:  # credentials are a Prefect block: on the server the runs use
        use_own_session_server()
    try:
        preview = preview_spec(spec, authenticate.fn(spec.auth))
    except HubError as exc:
        return {"preview": None, "error": redact(str(exc))}
    revised = revision(text, preview, name)
    return {"preview": preview, "error": None, "revised": revised[0] if revised else None,
            "diff": revised[1] if revised else None, "columns": _columns(preview.records),
            "row_columns": _columns(preview.rows)}


def _columns(rows: list[Any], most: int = 8) -> list[str]:
    """The keys of the first records, in order of appearance (at most `most`), for the report's tables."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in (row if isinstance(row, dict) else {}) if key not in columns]
    return columns[:most]


@router.post("/customers/{customer}/integrations/{name}/spec/test")
def test_yaml(request: Request, db: Db, customer: str, name: str, spec_yaml_text: str = Form("", alias="spec")):
    """Test the YAML as typed (saved or not): the report below the editor, the text kept."""
    integration = find_integration(db, f"{customer}/{name}")
    try:
        spec = parse_yaml(spec_yaml_text)
    except _Unusable as exc:
        return _editor(request, db, customer, integration, spec_yaml_text, 422, problems=exc.problems)
    report = test_read(spec, spec_yaml_text, f"{name}.yaml")
    report["return_to"] = f"{connector.integration_base(customer, name)}/spec"
    return _editor(request, db, customer, integration, spec_yaml_text, report=report)


@router.post("/customers/{customer}/integrations/{name}/connector/test")
def test_step(request: Request, db: Db, customer: str, name: str, step: str = Form("request")):
    """Test the saved spec from a guided step: that step's page again, with the report below it."""
    integration = find_integration(db, f"{customer}/{name}")
    text = stored_yaml(db, integration)
    report = test_read(connector_spec(db, integration), text, f"{name}.yaml")
    step = step if step in dict(connector.STEPS) else "request"
    report["return_to"] = connector.step_url(customer, name, step)
    request.state.report = report
    return connector.STEP_PAGES[step](request, db, customer, name)
