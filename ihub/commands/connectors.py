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
    return spec, spec_yaml(spec.document()), None


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
    if preview.parent:
        console.print(f"A dependent stream: the children of the first parent, {escape(preview.parent)}",
                      highlight=False)
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
            if preview.rejected_count > len(preview.rejections):
                console.print(f"({preview.rejected_count - len(preview.rejections)} more rejected records not shown)")
    if preview.next_request is not None:
        body = f" body {preview.next_request.body}" if preview.next_request.body else ""
        console.print(f"Next request: {preview.next_request.method} {escape(preview.next_request.url)}"
                      f"{escape(body)}", highlight=False)
    if preview.stop:
        console.print(f"Stops: {escape(preview.stop)}", highlight=False)
    if preview.error:
        console.print(f"[red]Error:[/] {escape(preview.error)}", highlight=False)


@app.command("from-openapi")
def from_openapi(
    source: str = typer.Argument(..., metavar="FILE|URL", help="An OpenAPI 3 or Swagger 2 document, JSON or YAML."),
    path: Optional[str] = typer.Option(None, "--path", help="Only this path (e.g. /things), even one with "
                                                            "{parameters}."),
    out: Path = typer.Option(Path("."), "--out", help="Directory the spec files are written to."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="The API's address, when the document's "
                                                                    "servers are not where it is reached."),
    force: bool = typer.Option(False, "--force", help="Overwrite spec files that exist."),
) -> None:
    """Write a connector spec for each list endpoint of an OpenAPI document (or the one --path names).

    Each spec has the base URL, path and method, the auth the document declares, the records path,
    the pagination, a primary key guess and a mapping of the scalar fields; every guess is marked
    with a YAML comment. Test one with `ihub connectors test FILE`.
    """
    from models.openapi import describe_source, generate

    document, url = _read_document(source)
    try:
        generated = generate(document, describe_source(source), source_url=url, only_path=path, base_url=base_url)
    except HubError as exc:
        fail(str(exc))
    if not generated:
        fail(f"{source} has no list endpoint: no GET (or paged POST) that answers an array of objects, or an "
             "object holding one; name one with --path")
    files = [out / spec.file_name for spec in generated]
    existing = [file.name for file in files if file.exists()]
    if existing and not force:
        fail(f"{', '.join(existing[:3])}{' and more' if len(existing) > 3 else ''} exist in {out}: "
             "use --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"Specs written to {out}", title_justify="left")
    for column in ("file", "endpoint", "records", "pagination", "primary key", "target", "guessed"):
        table.add_column(column, overflow="fold")
    for spec, file in zip(generated, files):
        file.write_text(spec.yaml)
        connector = spec.spec
        key = connector.mapping["external_id"].source if "external_id" in connector.mapping else "none"
        target = connector.target.custom_type or connector.target.object
        table.add_row(file.name, f"{spec.method} {escape(spec.path)}", escape(connector.records.path),
                      connector.pagination.type, escape(key), target, ", ".join(spec.guesses) or "—")
    console.print(table)
    done(f"{len(generated)} spec(s) written; test one with: ihub connectors test {files[0]}")


def _read_document(source: str) -> tuple[Any, str | None]:
    """The document at a file or an http(s) URL (through the egress policy), parsed; and its URL."""
    import yaml

    if source.startswith(("http://", "https://")):
        import httpx

        from models.egress import guarded_client

        try:
            with guarded_client(timeout=30, follow_redirects=True) as client:
                response = client.get(source)
        except httpx.HTTPError as exc:
            fail(f"cannot read {source}: {type(exc).__name__}")
        except HubError as exc:
            fail(f"cannot read {source}: {exc}")
        if response.status_code != 200:
            fail(f"cannot read {source}: HTTP {response.status_code}")
        text, url = response.text, str(response.url)
    else:
        try:
            text, url = Path(source).read_text(), None
        except OSError as exc:
            fail(f"cannot read {source}: {exc.strerror}")
    try:
        return json.loads(text), url
    except ValueError:
        pass
    try:
        return yaml.safe_load(text), url
    except yaml.YAMLError as exc:
        fail(f"{source} is neither JSON nor YAML: {exc}")
