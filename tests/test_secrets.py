"""No secret leaves its block: a vendor that echoes the token, the Basic header or a URL with the
token in its query string fails runs, CLI commands and API calls, and then the hub's database,
Prefect's database, its logs, artifacts and flow run states, and the CLI and API output are
searched for every secret value used. The redactor's rules are tested on their own first.
"""

import base64
import json
import os
import stat
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, make_url, text
from sqlmodel import select
from typer.testing import CliRunner

from blocks import ApiTokenCredentials, AwsCredentials, BasicCredentials, OAuth2Credentials
from ihub.vendor import Fault
from models.redact import REDACTED, basic_form, redact, register
from tests.conftest import make_integration

# -- the redactor ---------------------------------------------------------------------------------


def test_a_registered_value_is_removed_in_every_form_a_server_may_echo_it_in():
    secret = f"s3cr3t/{uuid.uuid4().hex} +é="
    register(secret)
    forms = (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
             base64.b64encode(secret.encode()).decode())
    assert len(set(forms)) == 5
    for form in forms:
        assert redact(f"the vendor said: {form}!") == f"the vendor said: {REDACTED}!"


@pytest.mark.parametrize(("message", "redacted"), [
    ("echo: Bearer abc.def-123_456", "echo: Bearer [REDACTED]"),
    ("Authorization: SSWS 00aBcDeFgHiJkLmNoPqRsTuV", "Authorization: SSWS [REDACTED]"),
    ("got basic ZGVtbzpzM2NyM3Q= from you", "got basic [REDACTED] from you"),
    ("AWS4-HMAC-SHA256 Credential=AKIAX/20260101/eu-west-1/ssm/aws4_request, SignedHeaders=host, "
     "Signature=0a1b2c3d", "AWS4-HMAC-SHA256 [REDACTED], SignedHeaders=host, Signature=[REDACTED]"),
    ("X-Amz-Credential=AKIAX%2F2026&X-Amz-Signature=9f9f", "X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]"),
    ("bad password=hunter22; client_secret = abc", "bad password=[REDACTED]; client_secret = [REDACTED]"),
    ('{"access_token": "at-1", "refresh_token":"rt-2", "name": "kept"}',
     '{"access_token": "[REDACTED]", "refresh_token":"[REDACTED]", "name": "kept"}'),
    ("header X-Api-Key: k-123 was wrong", "header X-Api-Key: [REDACTED] was wrong"),
    ("see https://vendor.example/a/b?page=2&user=x#top", "see https://vendor.example/a/b?[REDACTED]#top"),
    ("GET /api/v1/assets?limit=100&offset=200 failed", "GET /api/v1/assets?[REDACTED] failed"),
])
def test_what_looks_like_a_credential_or_a_query_string_is_removed_without_being_registered(message, redacted):
    assert redact(message) == redacted


@pytest.mark.parametrize("message", [
    "credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets)",
    "Basic credentials need username and password: username is missing",
    "no sync key: '' (from id) is empty",
    "Okta answered HTTP 200 to GET /api/v1/users with text/html, not JSON: is acme.okta.com its API?",
    "fetched 350 records in 4 pages: 350 inserted, 0 updated, 0 unchanged, 0 rejected",
    "no api_token credentials block named 'demo-vendor-token': create the credentials before running",
    "",
])
def test_the_hubs_own_messages_are_left_as_they_are(message):
    assert redact(message) == message


def test_values_too_short_to_tell_from_words_are_not_registered():
    register("demo1", None, "")
    assert redact("demo1 is the demo vendor") == "demo1 is the demo vendor"


def test_each_block_lists_its_secrets_with_the_forms_a_server_echoes():
    assert ApiTokenCredentials(token="tok-123456").secret_values() == ["tok-123456"]
    basic = BasicCredentials(username="hub", password="pa55word")
    assert basic.secret_values() == ["pa55word", base64.b64encode(b"hub:pa55word").decode()]
    aws = AwsCredentials(access_key_id="AKIAX", secret_access_key="wJalr/K7MDENG", session_token="FwoGZX",
                         region="eu-west-1", service="ssm")
    assert aws.secret_values() == ["wJalr/K7MDENG", "FwoGZX"]
    oauth = OAuth2Credentials(token_url="http://127.0.0.1:9/token", client_id="app", client_secret="cl-secret",
                              grant="refresh_token", refresh_token="rt-first")
    assert oauth.secret_values() == ["cl-secret", basic_form("app", "cl-secret"), "rt-first"]


def test_oauth2_tokens_fetched_during_a_run_are_redacted_too(vendor):
    url, data = vendor
    block = OAuth2Credentials(token_url=f"{url}/oauth/token", client_id=data.oauth_client_id, client_secret=data.token,
                              grant="refresh_token", refresh_token=data.issue_refresh_token())
    token = block.fetch_token()
    assert token["access_token"] and token["refresh_token"]
    message = f"vendor says {token['access_token']} and {token['refresh_token']}"
    assert redact(message) == f"vendor says {REDACTED} and {REDACTED}"


# -- the flows, the CLI and the API against a vendor that echoes secrets --------------------------


def echoes(data) -> list[Fault]:
    """Refusals (not retried) whose bodies repeat the token, the Basic header value, a URL with the token."""
    basic = basic_form(data.basic_user, data.token)
    return [
        Fault(422, body=json.dumps({"error": f"token {data.token} may not read assets"})),
        Fault(400, body=f"<p>you sent {basic}</p>", content_type="text/html"),
        Fault(422, body=json.dumps({"error": "retry at", "url": f"http://127.0.0.1:1/api/v1/assets?api_key={data.token}"})),
    ]


def secrets_of(data) -> list[str]:
    return [data.token, basic_form(data.basic_user, data.token), quote(data.token, safe="")]


def assert_nothing_leaks(text_: str, data) -> None:
    for secret in secrets_of(data):
        assert secret not in text_


def hub_database_text(url: str) -> str:
    """Every row of every table of the hub's database, as text (the file itself for SQLite)."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return "".join(file.read_bytes().decode("latin-1") for file in path.parent.glob(path.name + "*"))
    from models.engine import get_engine

    engine = get_engine(url)
    with engine.connect() as connection:
        return "\n".join(str(row) for table in inspect(engine).get_table_names()
                         for row in connection.execute(text(f'SELECT * FROM "{table}"')))


def prefect_database_url() -> str:
    """The test Prefect server's database (PostgreSQL), for psycopg."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def prefect_database_text() -> str:
    """Every row of every table of the test Prefect server's database, as text."""
    return hub_database_text(prefect_database_url())


def prefect_run_text(flow_run_id: str) -> str:
    """What Prefect shows of a flow run: its state message, its logs (flushed first), its artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
    assert logs and artifacts  # there is something to search
    return "\n".join([run.state.message or "", *(log.message for log in logs),
                      *(f"{a.description} {json.dumps(a.data)}" for a in artifacts)])


@pytest.mark.usefixtures("prefect_server")
def test_syncs_against_a_vendor_echoing_secrets_leave_them_nowhere(db_url, vendor):
    from flows.sync import sync_integration
    from models.engine import session
    from models.logs import ActionLog

    url, data = vendor
    ApiTokenCredentials(token=data.token).save("secrets-token", overwrite=True)
    BasicCredentials(username=data.basic_user, password=data.token).save("secrets-basic", overwrite=True)
    make_integration(url, name="assets", auth={"type": "api_token", "block": "secrets-token"})
    make_integration(url, name="basic", auth={"type": "basic", "block": "secrets-basic"})
    data.faults += echoes(data)
    for ref in ("acme/assets", "acme/basic", "acme/assets"):
        assert sync_integration(ref, return_state=True).is_failed()

    with session() as db:
        logs = db.exec(select(ActionLog).order_by(ActionLog.id)).all()
    assert [log.message for log in logs] == [
        f'Demo Asset Vendor answered HTTP 422 on /api/v1/assets: {{"error": "token {REDACTED} may not read assets"}}',
        f"Demo Asset Vendor answered HTTP 400 on /api/v1/assets: <p>you sent {REDACTED}</p>",
        f'Demo Asset Vendor answered HTTP 422 on /api/v1/assets: {{"error": "retry at", "url": '
        f'"http://127.0.0.1:1/api/v1/assets?{REDACTED}"}}',
    ]
    for log in logs:
        assert_nothing_leaks(prefect_run_text(log.flow_run_id), data)
    assert_nothing_leaks(hub_database_text(db_url), data)
    assert_nothing_leaks(prefect_database_text(), data)


@pytest.mark.usefixtures("prefect_server")
def test_what_a_run_logs_through_prefect_is_redacted_tracebacks_included():
    import flows  # noqa: F401  (the flows package puts the filter on Prefect's run loggers)
    from prefect import flow, get_run_logger

    secret = "logged-" + uuid.uuid4().hex
    register(secret)

    @flow(name="secrets-logging")
    def leaky() -> None:
        get_run_logger().warning("the vendor sent %s", secret)
        try:
            raise RuntimeError(f"Authorization: Bearer {secret}")
        except RuntimeError:
            get_run_logger().exception("while reading https://vendor.example/x?api_key=abc")

    state = leaky(return_state=True)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        logs = [log.message for log in client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))]
    warning, error = [message for message in logs if "vendor" in message]
    assert warning == f"the vendor sent {REDACTED}"
    assert error.startswith("while reading https://vendor.example/x?[REDACTED]\nTraceback")
    assert f"RuntimeError: Authorization: Bearer {REDACTED}" in error and secret not in "".join(logs)


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_the_cli_shows_no_secret_a_vendor_echoed(vendor, monkeypatch):
    from ihub.cli import app, console
    from models.partners import get_partner

    url, data = vendor
    runner = CliRunner()
    console.width = 200
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    make_integration(url)
    data.faults += echoes(data)[:1]
    run = runner.invoke(app, ["run", "acme/assets"])
    assert run.exit_code == 1 and f"token {REDACTED} may not read assets" in run.output
    shown = run.output + runner.invoke(app, ["logs", "acme/assets"]).output

    monkeypatch.setitem(get_partner("demo-vendor").regions, "local", url)
    assert runner.invoke(app, ["partners", "add", "acme", "demo-vendor"]).exit_code == 0
    data.faults += [Fault(403, body=json.dumps({"error": f"key {data.token} lacks the users scope"}))]
    connect = runner.invoke(app, ["partners", "connect", "acme", "demo-vendor", "--region", "local", "--secret-stdin"],
                            input=data.token + "\n")
    assert connect.exit_code == 1 and f"key {REDACTED} lacks the users scope" in connect.output
    shown += connect.output + runner.invoke(app, ["partners", "list", "acme"]).output
    assert_nothing_leaks(shown, data)
    assert_nothing_leaks(prefect_database_text(), data)


@pytest.mark.usefixtures("prefect_server")
def test_the_api_answers_no_secret_a_vendor_echoed(db_url, vendor, monkeypatch):
    from models.partners import get_partner
    from tests.conftest import hub_app

    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    monkeypatch.setitem(get_partner("demo-vendor").regions, "local", url)
    shown = []
    with TestClient(hub_app("admin-secrets-test"), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = "Bearer admin-secrets-test"

        def call(method, path, expect, **kwargs):
            response = client.request(method, "/api/v1" + path, **kwargs)
            shown.append(response.text)
            assert response.status_code == expect, response.text
            return response.json()

        call("POST", "/customers", 201, json={"name": "acme"})
        call("POST", "/customers/acme/endpoints", 201, json={"name": "vendor", "description": "Demo vendor"})
        spec = make_spec(url)
        call("POST", "/customers/acme/integrations", 201, json={"name": "assets", "endpoint": "vendor", "spec": spec})
        data.faults += echoes(data)[2:]
        queued = call("POST", "/customers/acme/integrations/assets/requests", 202, json={"action": "Import Assets"})
        log = call("GET", f"/logs/{queued['id']}", 200)
        assert log["status"] == "Failed" and log["message"].endswith(f'"http://127.0.0.1:1/api/v1/assets?{REDACTED}"}}')
        call("GET", "/logs", 200)

        call("POST", "/customers/acme/partners", 201, json={"partners": ["demo-vendor"]})
        data.faults += [Fault(403, body=json.dumps({"error": f"key {data.token} lacks the users scope"}))]
        endpoint = call("POST", "/customers/acme/partners/demo-vendor/connect", 200,
                        json={"region": "local", "credentials": {"api_key": data.token}})
        assert endpoint["status"] == "Failed" and f"key {REDACTED} lacks the users scope" in endpoint["status_message"]
        refused = call("GET", f"/customers/acme/endpoints/{quote('Bearer ' + data.token)}", 404)
        assert refused["detail"] == f"customer 'acme' has no integration endpoint 'Bearer {REDACTED}'"
    assert_nothing_leaks("\n".join(shown), data)
    assert_nothing_leaks(hub_database_text(db_url), data)


def make_spec(url: str) -> dict:
    from ihub.demo import demo_spec

    return demo_spec(url).model_dump(mode="json", exclude_none=True)


# -- the files that hold secrets on the embedded defaults ---------------------------------------


def test_the_encryption_key_is_made_once_private_and_an_operators_own_wins(tmp_path, monkeypatch, capsys):
    from ihub.settings import ENCRYPTION_KEY_ENV, configure_environment

    monkeypatch.setenv("IHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home" / "prefect"))
    monkeypatch.delenv(ENCRYPTION_KEY_ENV)
    configure_environment()
    key_file = tmp_path / "home" / "encryption-key"
    key = os.environ[ENCRYPTION_KEY_ENV]
    assert key_file.read_text() == key and len(base64.urlsafe_b64decode(key)) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert capsys.readouterr().err.startswith(f"Creating a new hub in {tmp_path / 'home'} ")

    key_file.chmod(0o644)
    monkeypatch.delenv(ENCRYPTION_KEY_ENV)
    configure_environment()
    assert os.environ[ENCRYPTION_KEY_ENV] == key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert capsys.readouterr().err == f"warning: {key_file} was readable by others (mode 0644); its mode is now 0600\n"

    monkeypatch.setenv(ENCRYPTION_KEY_ENV, "the-operators-own")
    configure_environment()
    assert os.environ[ENCRYPTION_KEY_ENV] == "the-operators-own" and capsys.readouterr().err == ""


def test_an_embedded_prefect_database_hands_its_key_over(tmp_path, monkeypatch):
    import sqlite3

    from ihub.settings import ENCRYPTION_KEY_ENV, configure_environment

    prefect_home = tmp_path / "home" / "prefect"
    prefect_home.mkdir(parents=True)
    with sqlite3.connect(prefect_home / "prefect.db") as connection:
        connection.execute("CREATE TABLE configuration (key TEXT, value JSON)")
        connection.execute("INSERT INTO configuration VALUES ('ENCRYPTION_KEY', ?)", (json.dumps({"fernet_key": "old-key"}),))
    monkeypatch.setenv("IHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))
    monkeypatch.delenv(ENCRYPTION_KEY_ENV)
    configure_environment()
    assert os.environ[ENCRYPTION_KEY_ENV] == "old-key" == (tmp_path / "home" / "encryption-key").read_text()


@pytest.mark.usefixtures("prefect_server")
def test_blocks_on_the_test_server_are_encrypted_with_our_key_not_one_in_its_database():
    from models.engine import get_engine

    secret = "enc-" + uuid.uuid4().hex
    ApiTokenCredentials(token=secret).save("secrets-encrypted", overwrite=True)
    assert ApiTokenCredentials.load("secrets-encrypted").token.get_secret_value() == secret
    with get_engine(prefect_database_url()).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM configuration WHERE key = 'ENCRYPTION_KEY'")).one() == (0,)
    assert secret not in prefect_database_text()


def test_the_admin_token_file_is_kept_private(tmp_path, monkeypatch, capsys):
    from ihub.api.security import admin_token

    monkeypatch.setenv("IHUB_HOME", str(tmp_path))
    monkeypatch.delenv("IHUB_ADMIN_TOKEN", raising=False)
    token, path = admin_token()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(token) > 30
    path.chmod(0o640)
    assert admin_token() == (token, path) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "was readable by others (mode 0640)" in capsys.readouterr().err


# -- secrets off the command line ---------------------------------------------------------------


def test_secret_options_warn_that_they_show_in_ps():
    from ihub.cli import app

    runner = CliRunner()
    def shown(*args):
        return " ".join(runner.invoke(app, [*args, "--help"]).output.replace("│", " ").split())

    partners = shown("partners", "connect")
    assert partners.count("Visible in ps and shell history") == 4 and "--secret-stdin" in partners
    smtp = shown("smtp", "set")
    assert "Visible in ps and shell history" in smtp and "--secret-stdin" in smtp


@pytest.mark.usefixtures("sqlite_url")
def test_secret_stdin_needs_the_other_fields_as_options_and_a_line_per_secret():
    from ihub.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["customers", "create", "acme"]).exit_code == 0
    assert runner.invoke(app, ["partners", "add", "acme", "servicenow", "demo-vendor"]).exit_code == 0
    asked = runner.invoke(app, ["partners", "connect", "acme", "servicenow", "--region", "servicenow",
                                "--secret-stdin"], input="pw-123456\n")
    assert asked.exit_code == 1 and "--secret-stdin reads only the secrets: give --username on the command line" in asked.output
    empty = runner.invoke(app, ["partners", "connect", "acme", "demo-vendor", "--region", "local", "--secret-stdin"],
                          input="")
    assert empty.exit_code == 1 and "--secret-stdin: no line for the api key on stdin" in empty.output


@pytest.mark.usefixtures("prefect_server")
def test_a_server_default_result_storage_gets_nothing_of_a_run(db_url, vendor, tmp_path):
    """An operator may give Prefect's server a default result storage for flows of their own; the hub's
    runs write nothing there, neither a summary nor a failure's exception (pickles of the hub's classes,
    of no use without its code): what a run did is in its action log and its artifact."""
    from prefect.client.orchestration import get_client
    from prefect.filesystems import LocalFileSystem

    from flows.sync import sync_integration

    url, data = vendor
    ApiTokenCredentials(token=data.token).save("results-token", overwrite=True)
    make_integration(url, name="assets", auth={"type": "api_token", "block": "results-token"})
    results = tmp_path / "results"
    block_id = LocalFileSystem(basepath=str(results)).save(f"results-{uuid.uuid4().hex[:8]}")
    with get_client(sync_client=True) as client:
        client.update_server_default_result_storage(block_id)
        try:
            assert sync_integration("acme/assets").fetched == 350
            data.faults += echoes(data)[:1]
            assert sync_integration("acme/assets", return_state=True).is_failed()
        finally:
            client.clear_server_default_result_storage()
    assert list(results.rglob("*")) == []
