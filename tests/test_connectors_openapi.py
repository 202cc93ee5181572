"""`ihub connectors from-openapi` on OpenAPI documents nobody here wrote: Prefect's own server's (served
by the session Prefect server), FastAPI's for a small app served on loopback, the hub's own, and the
Swagger 2 Petstore that ships with jsonschema. Every spec written validates; the generated specs
are then test-read against the APIs that published them, and one syncs Prefect's flow runs into
the hub."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import uvicorn
import yaml
from fastapi import FastAPI, Query, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from sqlmodel import select
from typer.testing import CliRunner

from blocks import ApiTokenCredentials
from ihub.cli import app, console
from ihub.vendor import serving
from models.engine import session
from models.records import CustomRecord
from models.spec import ConnectorSpec
from tests.conftest import hub_app

runner = CliRunner()
PETSTORE = Path(jsonschema.__file__).parent / "benchmarks" / "issue232" / "issue.json"


def ihub(*args):
    console.width = 250
    return runner.invoke(app, [str(arg) for arg in args])


def written(out: Path) -> dict[str, dict]:
    """Each spec file written, loaded (and validated as a ConnectorSpec on the way)."""
    specs = {}
    for file in sorted(out.glob("*.yaml")):
        ConnectorSpec.from_yaml(file)
        specs[file.name] = yaml.safe_load(file.read_text())
    return specs


# ---------------------------------------------------------------- FastAPI's document of a small app

class Device(BaseModel):
    id: int
    name: str
    serial: str
    model: str
    manufacturer: str
    tags: list[str] = []


class DevicePage(BaseModel):
    items: list[Device]
    total: int
    page: int
    per_page: int


class User(BaseModel):
    user_id: str
    email: str
    first_name: str
    last_name: str


class Event(BaseModel):
    uuid: str
    kind: str


class EventPage(BaseModel):
    data: list[Event]
    next_cursor: str | None
    has_more: bool


DEVICES = [Device(id=n, name=f"Laptop {n}", serial=f"SN{n:05}", model="X1", manufacturer="Lenovo") for n in
           range(1, 131)]
KEY = "small-vendor-key-0123456789"


def small_app() -> FastAPI:
    api = FastAPI(title="Small Vendor", version="2.1")
    api_key = APIKeyHeader(name="X-API-Key")

    def check(key: str) -> None:
        from fastapi import HTTPException

        if key != KEY:
            raise HTTPException(401, "bad key")

    @api.get("/devices")
    def devices(page: int = 1, per_page: int = Query(50, le=50), key: str = Security(api_key)) -> DevicePage:
        check(key)
        return DevicePage(items=DEVICES[(page - 1) * per_page:page * per_page], total=len(DEVICES), page=page,
                          per_page=per_page)

    @api.get("/devices/{device_id}")
    def device(device_id: int, key: str = Security(api_key)) -> Device:
        return DEVICES[device_id - 1]

    @api.get("/users")
    def users(offset: int = 0, limit: int = 100, key: str = Security(api_key)) -> list[User]:
        return []

    @api.get("/events")
    def events(cursor: str | None = None, limit: int = 20, key: str = Security(api_key)) -> EventPage:
        return EventPage(data=[], next_cursor=None, has_more=False)

    @api.post("/devices")
    def add_device(device: Device, key: str = Security(api_key)) -> Device:
        return device

    return api


@pytest.fixture
def small_vendor():
    config = uvicorn.Config(small_app(), log_level="warning", access_log=False, lifespan="off")
    with serving(uvicorn.Server(config)) as url:
        yield url


def test_fastapis_document_gives_a_spec_per_list_endpoint(small_vendor, tmp_path):
    result = ihub("connectors", "from-openapi", f"{small_vendor}/openapi.json", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 spec(s) written" in result.output
    specs = written(tmp_path)
    assert sorted(specs) == ["devices.yaml", "events.yaml", "users.yaml"]  # not /devices/{id}, not the POST

    devices = specs["devices.yaml"]
    assert devices["request"] == {"base_url": small_vendor, "path": "/devices", "method": "GET"}
    assert devices["auth"]["type"] == "api_token"
    assert devices["records"] == {"path": "$.items"}
    assert devices["pagination"] == {"type": "page", "size": 50, "page_param": "page", "size_param": "per_page",
                                     "total_path": "total"}
    assert devices["target"] == {"object": "asset"}
    assert devices["mapping"] == {"external_id": "id", "name": "name", "serial_number": "serial", "model": "model",
                                  "manufacturer": "manufacturer"}
    text = (tmp_path / "devices.yaml").read_text()
    assert "api key in the header 'X-API-Key'" in text.replace("API key", "api key")
    assert "external_id: id  # guessed: the primary key" in text
    assert re.search(r"serial_number: serial +# guessed: serial looks like the asset's serial_number", text)
    assert "Not mapped (objects and lists): tags" in text

    users = specs["users.yaml"]
    assert users["target"] == {"object": "person"} and users["mapping"]["external_id"] == "user_id"
    assert users["pagination"] == {"type": "offset", "limit": 100, "limit_param": "limit", "offset_param": "offset"}
    events = specs["events.yaml"]
    assert events["pagination"] == {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor",
                                    "has_more_path": "has_more", "size": 20, "size_param": "limit"}
    assert events["target"] == {"object": "custom", "custom_type": "events"}
    assert events["mapping"] == {"external_id": "uuid", "kind": "kind"}

    single = ihub("connectors", "from-openapi", f"{small_vendor}/openapi.json", "--path", "/devices/{device_id}")
    assert single.exit_code == 1 and "/devices/{device_id} answers no list of records" in single.output

    again = ihub("connectors", "from-openapi", f"{small_vendor}/openapi.json", "--out", tmp_path)
    assert again.exit_code == 1 and "use --force to overwrite" in " ".join(again.output.split())


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_a_generated_spec_reads_the_api_that_published_it(small_vendor, tmp_path):
    assert ihub("connectors", "from-openapi", f"{small_vendor}/openapi.json", "--out", tmp_path,
                "--path", "/devices").exit_code == 0
    spec = ConnectorSpec.from_yaml(tmp_path / "devices.yaml")
    ApiTokenCredentials(token=KEY, header_name="X-API-Key", prefix="").save(spec.auth.block, overwrite=True)
    result = ihub("connectors", "test", tmp_path / "devices.yaml", "--pages", "5")
    assert result.exit_code == 0, result.output
    assert "Records at $.items: 130 in 3 page(s) (page 1, page 2, page 3)" in result.output
    assert "The mapping makes 130 row(s) and rejects 0" in result.output
    assert "Stops: the pages read reach the total at total (130)" in result.output
    assert KEY not in result.output


# ---------------------------------------------------------------- Prefect's own server's document

def _prefect_api() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value().rstrip("/")


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_prefects_document_gives_its_filter_endpoints_paged_in_the_body(tmp_path):
    result = ihub("connectors", "from-openapi", f"{_prefect_api()}/openapi.json", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    specs = written(tmp_path)
    assert len(specs) >= 20
    runs = specs["post-flow-runs-filter.yaml"]
    assert runs["request"] == {"base_url": _prefect_api(), "path": "/flow_runs/filter", "method": "POST", "body": {}}
    assert runs["pagination"] == {"type": "offset", "limit": 100, "limit_param": "limit", "offset_param": "offset",
                                  "location": "body"}
    assert runs["records"] == {"path": "$"}
    assert runs["target"] == {"object": "custom", "custom_type": "flow_runs"}
    assert runs["mapping"]["external_id"] == "id" and runs["mapping"]["state_name"] == "state_name"
    assert "parameters" not in runs["mapping"]  # an object: named in the header comment instead
    assert specs["post-flows-paginate.yaml"]["pagination"]["type"] == "page"
    assert specs["post-events-filter.yaml"]["pagination"] == {"type": "advanced", "next_url_path": "next_page"}


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_a_spec_from_prefects_document_syncs_its_flow_runs_into_the_hub(tmp_path):
    from prefect import flow

    from flows.sync import sync_integration
    from models.integrations import onboard

    @flow(name="openapi-sample")
    def sample() -> int:
        return 1

    ran = {str(sample(return_state=True).state_details.flow_run_id) for _ in range(3)}
    assert ihub("connectors", "from-openapi", f"{_prefect_api()}/openapi.json", "--out", tmp_path,
                "--path", "/flow_runs/filter").exit_code == 0
    file = tmp_path / "post-flow-runs-filter.yaml"
    spec = ConnectorSpec.from_yaml(file)
    if spec.auth.block is not None:  # the document declares no auth: `none`, or a marked api_token guess
        ApiTokenCredentials(token="prefect-needs-none").save(spec.auth.block, overwrite=True)

    preview = ihub("connectors", "test", file)
    assert preview.exit_code == 0, preview.output
    assert 'body {"limit":100,"offset":0}' in preview.output  # paged in the POST body
    assert "The mapping makes" in preview.output and "rejects 0" in preview.output

    from tasks.preview import preview_spec

    read = preview_spec(spec, None, pages=1)  # as for an open API (auth none): no credentials at all
    assert read.error is None and read.record_count >= 3 and read.requests[0].status == 200

    with session() as db:
        onboard(db, "acme", "prefect", "Prefect's own API", "flow-runs", spec)
    summary = sync_integration("acme/flow-runs")
    assert summary.inserted >= 3
    with session() as db:
        stored = {r.sync_key: r for r in db.exec(select(CustomRecord).where(CustomRecord.object_type == "flow_runs"))}
    assert ran <= set(stored)
    assert {stored[run_id].data["state_name"] for run_id in ran} == {"Completed"}


# ---------------------------------------------------------------- the hub's own, and Swagger 2

def test_the_hubs_own_document_read_as_yaml(tmp_path):
    document = tmp_path / "hub.yaml"
    document.write_text(yaml.safe_dump(hub_app("x").openapi()))
    result = ihub("connectors", "from-openapi", document, "--out", tmp_path / "out",
                  "--base-url", "https://hub.example.com")
    assert result.exit_code == 0, result.output
    specs = written(tmp_path / "out")
    customers = specs["api-v1-customers.yaml"]
    assert customers["request"]["base_url"] == "https://hub.example.com"
    assert customers["auth"]["type"] == "api_token"
    assert customers["mapping"]["external_id"] == "name"
    assert "bearer token" in (tmp_path / "out" / "api-v1-customers.yaml").read_text()
    assert specs["api-v1-logs.yaml"]["pagination"] == {"type": "none"}


def test_swagger_2_petstore(tmp_path):
    document = tmp_path / "petstore.json"
    document.write_text(json.dumps(json.loads(PETSTORE.read_text())[0]["tests"][0]["data"]))
    result = ihub("connectors", "from-openapi", document, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    specs = written(tmp_path)
    pets = specs["pet-findbystatus.yaml"]
    assert pets["request"] == {"base_url": "http://petstore.swagger.io/v2", "path": "/pet/findByStatus",
                               "method": "GET", "params": {"status": "available"}}
    assert pets["auth"]["type"] == "oauth2" and pets["target"] == {"object": "custom", "custom_type": "pet"}
    assert pets["mapping"] == {"external_id": "id", "name": "name", "status": "status"}


def test_mistakes_are_told(tmp_path):
    missing = ihub("connectors", "from-openapi", tmp_path / "none.json")
    assert missing.exit_code == 1 and "cannot read" in missing.output
    odd = tmp_path / "odd.json"
    odd.write_text('{"hello": 1}')
    result = ihub("connectors", "from-openapi", odd)
    assert result.exit_code == 1 and "not an OpenAPI 3 or Swagger 2 document" in result.output
    document = tmp_path / "hub.json"
    document.write_text(json.dumps(hub_app("x").openapi()))
    result = ihub("connectors", "from-openapi", document, "--path", "/api/v1/nothing")
    assert result.exit_code == 1 and "the document has no path /api/v1/nothing" in result.output
    assert "Traceback" not in result.output
