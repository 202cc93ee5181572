"""Credentials without Python: `ihub credentials` and /api/v1/credentials against the session Prefect
server and the demo vendor; open APIs (`auth: {type: none}`); a missing block's message."""

import re

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from blocks import ApiTokenCredentials, BasicCredentials
from flows.sync import sync_integration
from ihub.cli import app, console
from models.engine import session
from models.logs import ActionLog
from models.spec import ConnectorSpec, SpecError
from tests.conftest import hub_app, make_integration
from tests.partner_apis import serving

pytestmark = pytest.mark.usefixtures("prefect_server")
runner = CliRunner()
ADMIN = "admin-test-token"


def ihub(*args, input=None, env=None):
    console.width = 200
    result = runner.invoke(app, list(args), input=input, env=env)
    text = re.sub("[\u2500-\u257f]", " ", result.output)  # a table's lines: cells read as words
    return result.exit_code, " ".join(text.split())


def ok(*args, **kwargs) -> str:
    code, output = ihub(*args, **kwargs)
    assert code == 0, output
    assert "Traceback" not in output
    return output


def refused(*args, **kwargs) -> str:
    code, output = ihub(*args, **kwargs)
    assert code == 1, output
    assert "Traceback" not in output
    return output


def unique(name: str) -> str:
    """Blocks outlive a test on the session's Prefect server: each test uses names of its own."""
    import uuid

    return f"{name}-{uuid.uuid4().hex[:6]}"


def test_the_cli_creates_lists_tests_rotates_and_deletes_credentials(sqlite_url, vendor):
    url, data = vendor
    name = unique("demo-token")
    integration = make_integration(url, auth={"type": "api_token", "block": name})

    options = set(re.findall(r"--[a-z-]+", ok("credentials", "create", "--help")))
    assert options.isdisjoint({"--token", "--password", "--client-secret", "--secret-access-key"})  # never argv
    assert "credentials type 'bearer' is not one of api_token, basic, oauth2, aws" in refused(
        "credentials", "create", name, "--type", "bearer")
    assert "username is not a setting of api_token credentials" in refused(
        "credentials", "create", name, "--type", "api_token", "--username", "bob")
    created = ok("credentials", "create", name, "--type", "api_token", "--secret-stdin", input=data.token + "\n")
    assert f"api_token credentials '{name}' created on the Prefect server at http://127.0.0.1:" in created
    assert f"auth: {{type: api_token, block: {name}}}" in created and data.token not in created
    assert "already exist" in refused("credentials", "create", name, "--type", "api_token",
                                      "--secret-stdin", input="other\n")

    listed = ok("credentials", "list")
    assert "Credentials on the Prefect server at http://127.0.0.1:" in listed
    assert f"api_token {name} integration acme/assets" in listed and data.token not in listed
    shown = ok("credentials", "show", name)
    assert f"api_token credentials '{name}' on the Prefect server at" in shown
    assert "token set (secret)" in shown and "header_name Authorization" in shown and data.token not in shown

    works = ok("credentials", "test", name, "--integration", "acme/assets")
    assert f"credentials '{name}' work with acme/assets: Demo Asset Vendor answered HTTP 200 to GET /api/v1/assets" \
        in works
    assert sync_integration("acme/assets").inserted == 350

    kept = refused("credentials", "rotate", name, "--test-with", "acme/assets", input="a-wrong-token\n")
    assert ("the new credentials were refused, so the ones in use are kept: credentials rejected by Demo Asset "
            "Vendor (HTTP 401 on /api/v1/assets)") in kept and "a-wrong-token" not in kept
    ok("credentials", "test", name, "--integration", "acme/assets")
    rotated = ok("credentials", "rotate", name, input="a-wrong-token\n")  # asked without echo
    assert f"credentials '{name}' updated (secrets)" in rotated and "used by integration acme/assets" in rotated
    assert "a-wrong-token" not in rotated
    wrong = refused("credentials", "test", name, "--integration", "acme/assets")
    assert "credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets)" in wrong
    ok("credentials", "rotate", name, "--secret-stdin", input=data.token + "\n")
    ok("credentials", "test", name, "--integration", "acme/assets")

    assert (f"credentials '{name}' are used by integration acme/assets; point them at other credentials"
            in refused("credentials", "delete", name))
    ok("integrations", "delete", "acme/assets", "--yes")
    assert f"api_token credentials '{name}' deleted from the Prefect server" in ok("credentials", "delete", name)
    assert f"no credentials named '{name}' on the Prefect server at" in refused("credentials", "show", name)
    assert integration.id


def test_secrets_come_from_the_environment_and_settings_are_checked(sqlite_url, monkeypatch):
    name = unique("crm-login")
    assert "basic credentials need username" in refused("credentials", "create", name, "--type", "basic",
                                                        input="pw\n")
    created = ok("credentials", "create", name, "--type", "basic", "--username", "svc",
                 env={"IHUB_CREDENTIALS_PASSWORD": "from-the-environment"})
    assert f"basic credentials '{name}' created" in created
    block = BasicCredentials.load(name)
    assert (block.username, block.password.get_secret_value()) == ("svc", "from-the-environment")

    aws = unique("aws-keys")
    refused_aws = refused("credentials", "create", aws, "--type", "aws", "--access-key-id", "AKIDEXAMPLE",
                          "--secret-stdin", input="secret-key\n")
    assert "aws credentials need region, service" in refused_aws
    ok("credentials", "create", aws, "--type", "aws", "--access-key-id", "AKIDEXAMPLE", "--region", "eu-west-1",
       "--service", "ssm", "--secret-stdin", input="secret-key\n")  # no line for the optional session token
    shown = ok("credentials", "show", aws)
    assert "secret_access_key set (secret)" in shown and "session_token not set" in shown
    assert "secret-key" not in shown and "region eu-west-1" in shown

    ok("credentials", "rotate", aws, "--keep-secrets", "--region", "us-east-1")
    assert "region us-east-1" in ok("credentials", "show", aws)
    assert "--secret-stdin: no line for the secret access key on stdin" in refused(
        "credentials", "rotate", aws, "--secret-stdin", input="")
    assert "credentials name 'Bad_Name' is not valid" in refused("credentials", "show", "Bad_Name")
    for created_name in (name, aws):
        ok("credentials", "delete", created_name)


def test_the_api_keeps_secrets_write_only_and_refuses_like_the_cli(sqlite_url, vendor):
    url, data = vendor
    name = unique("api-token")
    make_integration(url, auth={"type": "api_token", "block": name})
    with TestClient(hub_app(ADMIN), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN}"

        def call(method, path, expect, **kwargs):
            response = client.request(method, "/api/v1/credentials" + path, **kwargs)
            assert response.status_code == expect, response.text
            assert data.token not in response.text
            return response.json()

        body = {"name": name, "type": "api_token", "secrets": {"token": data.token}}
        created = call("POST", "", 201, json=body)
        assert created["secrets_set"] == {"token": True} and created["integrations"] == ["acme/assets"]
        assert "already exist" in call("POST", "", 409, json=body)["detail"]
        assert "basic credentials need password" in call("POST", "", 422, json={
            "name": unique("b"), "type": "basic", "settings": {"username": "u"}})["detail"]
        listing = call("GET", "", 200)
        assert listing["prefect_server"].startswith("the Prefect server at http://127.0.0.1:")
        assert name in [row["name"] for row in listing["credentials"]]
        assert call("GET", f"/{name}", 200)["settings"]["header_name"] == "Authorization"
        assert "no credentials named 'nothing-here'" in call("GET", "/nothing-here", 404)["detail"]

        test = {"integration": "acme/assets"}
        assert "answered HTTP 200 to GET /api/v1/assets" in call("POST", f"/{name}/test", 200, json=test)["message"]
        assert "the ones in use are kept" in call("PATCH", f"/{name}", 422, json={
            "secrets": {"token": "revoked-value"}, "test_with": "acme/assets"})["detail"]
        call("POST", f"/{name}/test", 200, json=test)
        call("PATCH", f"/{name}", 200, json={"secrets": {"token": "revoked-value"}})
        assert "HTTP 401" in call("POST", f"/{name}/test", 422, json=test)["detail"]
        assert "used by integration acme/assets" in call("DELETE", f"/{name}", 409)["detail"]
        assert "the Prefect API URL must start with http://" in call("POST", "/copy", 422,
                                                                    json={"to_api_url": "ftp://x"})["detail"]
        client.delete("/api/v1/customers/acme?force=true")
        assert call("DELETE", f"/{name}", 200)["message"] == f"api_token credentials '{name}' deleted"


def test_a_missing_block_names_the_command_that_creates_it_and_the_server(sqlite_url, vendor):
    url, _ = vendor
    integration = make_integration(url, auth={"type": "api_token", "block": "never-saved"})
    assert sync_integration("acme/assets", return_state=True).is_failed()
    with session() as db:
        message = db.query(ActionLog).filter(ActionLog.integration_id == integration.id).one().message
    assert message.startswith("no api_token credentials named 'never-saved' on the Prefect server at http://127.0.0.1:")
    assert "create them there with `ihub credentials create never-saved --type api_token`" in message
    assert "`ihub credentials copy --to-api-url URL`" in message


# --- open APIs ---------------------------------------------------------------------------------


def test_a_spec_without_auth_or_with_type_none_needs_no_block():
    base = {"vendor": "Open Data", "request": {"base_url": "https://open.example"}, "mapping": {"name": "name"},
            "target": {"object": "asset"}}
    assert ConnectorSpec.parse(base).auth.open
    assert ConnectorSpec.parse({**base, "auth": {"type": "none"}}).auth.open
    with pytest.raises(SpecError, match="spec: auth: auth type none sends no credentials, so it takes no block"):
        ConnectorSpec.parse({**base, "auth": {"type": "none", "block": "x"}})
    with pytest.raises(SpecError, match=r"auth: auth type basic needs block: .*`ihub credentials create NAME --type "
                                        r"basic`"):
        ConnectorSpec.parse({**base, "auth": {"type": "basic"}})


def test_an_open_api_syncs_without_sending_any_credentials(sqlite_url):
    seen: list[str | None] = []

    async def things(request: Request) -> JSONResponse:
        seen.append(request.headers.get("authorization"))
        return JSONResponse({"data": [{"id": n, "name": f"thing {n}"} for n in range(3)]})

    with serving(Starlette(routes=[Route("/things", things)])) as url:
        data = {"vendor": "Open Data", "request": {"base_url": url, "path": "/things"},
                "records": {"path": "data"}, "mapping": {"external_id": "id", "name": "name"},
                "sync_key": "external_id", "target": {"object": "asset"}}
        from models.integrations import onboard

        with session() as db:
            onboard(db, "acme", "open", "an open API", "things", ConnectorSpec.parse(data))
        assert sync_integration("acme/things").inserted == 3
    assert seen == [None]


def test_credentials_blocks_saved_in_python_are_listed_too(sqlite_url):
    name = unique("from-python")
    ApiTokenCredentials(token="python-secret", header_name="X-API-Key", prefix="").save(name)
    listed = ok("credentials", "list")
    assert f"api_token {name} nothing" in listed and "header_name=X-API-Key" in listed and "prefix=''" in listed
    assert "python-secret" not in listed
    ok("credentials", "delete", name)


def test_saving_a_block_again_makes_no_json_schema_and_each_caller_gets_its_own(sqlite_url, monkeypatch):
    from pydantic.json_schema import GenerateJsonSchema

    name = unique("schema-once")
    BasicCredentials(username="ops", password="first-password").save(name)
    made = []
    generate = GenerateJsonSchema.generate
    monkeypatch.setattr(GenerateJsonSchema, "generate", lambda self, *a, **k: made.append(1) or generate(self, *a, **k))
    BasicCredentials(username="ops", password="second-password").save(name, overwrite=True)
    assert made == []  # Prefect asked for the schema about ten times: each one was the class's, made once
    assert BasicCredentials.load(name).password.get_secret_value() == "second-password"

    schema = BasicCredentials.model_json_schema()
    schema["properties"].clear()
    assert "password" in BasicCredentials.model_json_schema()["properties"]
    assert BasicCredentials.model_json_schema()["secret_fields"] == ["password"]


# --- moving to a production Prefect server ----------------------------------------------------


def test_copy_moves_every_credentials_block_to_another_prefect_server(sqlite_url, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.prefect_databases import migrated_prefect_server

    name = unique("to-production")
    ok("credentials", "create", name, "--type", "basic", "--username", "svc", "--secret-stdin", input="pw-1\n")
    assert "no Prefect server answers at http://127.0.0.1:9/api" in refused(
        "credentials", "copy", "--to-api-url", "http://127.0.0.1:9/api")
    with migrated_prefect_server(tmp_path) as production:
        copied = ok("credentials", "copy", "--to-api-url", production)
        assert "from the Prefect server at http://127.0.0.1:" in copied and f"to {production}:" in copied
        assert name in copied and "pw-1" not in copied
        ok("credentials", "rotate", name, "--secret-stdin", input="pw-2\n")
        again = ok("credentials", "copy", "--to-api-url", production)
        assert f"Kept the ones {production} already has (--overwrite replaces them):" in again and name in again
        with temporary_settings({PREFECT_API_URL: production}):
            assert BasicCredentials.load(name).password.get_secret_value() == "pw-1"
        ok("credentials", "copy", "--to-api-url", production, "--overwrite")
        with temporary_settings({PREFECT_API_URL: production}):
            copy = BasicCredentials.load(name)
            assert (copy.username, copy.password.get_secret_value()) == ("svc", "pw-2")
            listed = ok("credentials", "list")
            assert f"Credentials on the Prefect server at {production}:" in listed and name in listed
    ok("credentials", "delete", name)
