"""`ihub connectors`: try a connector spec before launching it, and write specs from an OpenAPI document.

`test` reads the first pages and writes nothing to the hub; it talks to Prefect only when the
spec's credentials are a Prefect block. `from-openapi` reads a document and writes YAML files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from ihub.commands.common import console, done, fail
from models.errors import HubError

app = typer.Typer(help="Connector specs: test-read one before launching it, or write them from an OpenAPI document.",
                  no_args_is_help=True)

SHOWN_COLUMNS = 8


def _uses_block(auth: Any) -> bool:
    """Whether the spec's credentials are a saved Prefect block (so the read needs Prefect's server)."""
    return getattr(auth, "block", None) is not None


def _load(source: str) -> tuple[Any, str, Path | None]:
    """The spec of SPEC_FILE or of the integration REF; its YAML text; the file, if it is one."""
    from models.spec import ConnectorSpec, SpecError
    from models.spec_hints import spec_yaml

    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        try:
            return ConnectorSpec.from_yaml(path), path.read_text(), path
        except SpecError as exc:
            fail(f"the spec cannot be used:\n{exc}")
    from ihub.commands.common import hub
    from models.integrations import connector_spec, find_integration

    with hub() as db:
        spec = connector_spec(db, find_integration(db, source))
    return spec, spec_yaml(spec.model_dump(mode="json", exclude_defaults=True)), None


@app.command("test")
def test_command(
    source: str = typer.Argument(..., metavar="SPEC_FILE|REF", help="A spec YAML file, or customer/name of an "
                                                                    "integration"),
    pages: int = typer.Option(2, "--pages", min=1, max=20, help="How many pages to read."),
    apply: bool = typer.Option(False, "--apply", help="Write the suggested changes back to SPEC_FILE."),
) -> None:
    """Read the first pages of a spec's endpoint and show what a sync would make of them; writes nothing.

    Shows the requests (URLs without secrets), status and time of each, the records found, what
    the mapping makes of them, each rejection, the next page's request and why the paginator stops,
    and suggested spec changes as a diff when the records path or the pagination looks wrong.
    """
    spec, text, path = _load(source)
    from tasks.preview import preview_spec, revision

    try:
        auth = _credentials(spec)
        with console.status(f"Reading the first {pages} page(s) of {spec.vendor}"):
            preview = preview_spec(spec, auth, pages=pages)
    except HubError as exc:
        fail(str(exc))
    _show(preview)
    revised = revision(text, preview, path.name if path else f"{source}.yaml")
    if revised is not None:
        new_text, diff = revised
        console.print("\n[bold]Suggested changes[/]")
        for suggestion in preview.suggestions:
            console.print(f"  • {escape(suggestion.reason)}", highlight=False)
        console.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
        if path is not None and apply:
            path.write_text(new_text)
            done(f"Applied to {path}; test it again: ihub connectors test {path}")
        elif path is not None:
            console.print(f"Apply them with: ihub connectors test {path} --apply")
        else:
            console.print(f"Apply them: save the spec with the changes to a file, then "
                          f"ihub integrations edit {source} --spec FILE")
    if preview.error:
        raise typer.Exit(1)


def _credentials(spec: Any):
    """The spec's auth, resolved as a run resolves it (tasks.authenticate); Prefect's server only for a block."""
    if _uses_block(spec.auth):
        from ihub.embedded import use_own_session_server

        use_own_session_server()
    from tasks.authenticate import authenticate

    return authenticate.fn(spec.auth)


def _cell(value: Any, width: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return escape(text if len(text) <= width else text[:width - 1] + "…")


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    table = Table(title=title, title_justify="left")
    shown = columns[:SHOWN_COLUMNS]
    for column in shown:
        table.add_column(column, overflow="fold")
    if len(columns) > len(shown):
        table.add_column(f"+{len(columns) - len(shown)} more")
    for row in rows:
        cells = [_cell(row.get(column, "")) if column in row else "" for column in shown]
        table.add_row(*cells, *([""] if len(columns) > len(shown) else []))
    return table


def _show(preview) -> None:
    requests = Table(title=f"Requests to {escape(preview.vendor)}", title_justify="left")
    for column in ("#", "method", "URL", "status", "time"):
        requests.add_column(column, overflow="fold")
    for number, request in enumerate(preview.requests, 1):
        url = request.url + (f"\nbody {request.body}" if request.body else "")
        status = str(request.status) if request.status is not None else "no answer"
        seconds = f"{request.seconds * 1000:.0f} ms" if request.seconds is not None else "—"
        requests.add_row(str(number), request.method, escape(url), status, seconds)
    console.print(requests)
    console.print(f"Records at {escape(preview.records_path)}: {preview.record_count} in "
                  f"{len(preview.pages)} page(s) ({', '.join(preview.pages) or 'none'})", highlight=False)
    if preview.records:
        records = [r if isinstance(r, dict) else {"record": r} for r in preview.records]
        console.print(_table(f"First {len(records)} records", records))
    if preview.top_level_keys is not None:
        console.print(f"The answer's top-level keys: {escape(', '.join(preview.top_level_keys) or 'none')}",
                      highlight=False)
    if preview.mapping_note:
        console.print(f"[yellow]Mapping:[/] {escape(preview.mapping_note)}", highlight=False)
    elif preview.record_count:
        console.print(f"The mapping makes {preview.mapped_count} row(s) and rejects {preview.rejected_count}",
                      highlight=False)
        if preview.rows:
            rows = [{"sync_key": row["sync_key"], **(row["data"] if isinstance(row.get("data"), dict) else
                                                     {k: v for k, v in row.items() if k != "sync_key"})}
                    for row in preview.rows]
            console.print(_table(f"First {len(rows)} mapped rows", rows))
        if preview.rejections:
            rejected = Table(title="Rejected records", title_justify="left")
            rejected.add_column("sync key")
            rejected.add_column("reason", overflow="fold")
            for rejection in preview.rejections:
                rejected.add_row(escape(rejection.sync_key or "?"),
                                 escape(rejection.reason) + (" (drift)" if rejection.drift else ""))
            console.print(rejected)
    if preview.next_request is not None:
        body = f" body {preview.next_request.body}" if preview.next_request.body else ""
        console.print(f"Next request: {preview.next_request.method} {escape(preview.next_request.url)}"
                      f"{escape(body)}", highlight=False)
    if preview.stop:
        console.print(f"Stops: {escape(preview.stop)}", highlight=False)
    if preview.error:
        console.print(f"[red]Error:[/] {escape(preview.error)}", highlight=False)
