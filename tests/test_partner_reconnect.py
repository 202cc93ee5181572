"""Re-connecting a partner with a wrong key keeps the working credentials and the Enabled status
(seed 001), through the CLI and the API, against the demo vendor and the session Prefect server."""

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.cli import app, console
from ihub.credentials import list_credentials
from tests.conftest import hub_app

pytestmark = pytest.mark.usefixtures("prefect_server")
runner = CliRunner()
ADMIN = "admin-test-token"


def ihub(*args, input=None):
    console.width = 200
    result = runner.invoke(app, list(args), input=input)
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(re.sub("[\u2500-\u257f]", " ", result.output).split())


@pytest.fixture
def demo_partner(sqlite_url, vendor, monkeypatch):
    from models.partners import get_partner

    url, data = vendor
    monkeypatch.setitem(get_partner("demo-vendor").regions, "local", url)  # the fixture's port, not 8765
    for args in (("customers", "create", "acme"), ("partners", "add", "acme", "demo-vendor")):
        assert ihub(*args)[0] == 0
    return data


def no_test_blocks_left():
    return not [row.name for row in list_credentials().credentials if "new-credentials" in row.name]


def test_a_wrong_key_on_reconnect_keeps_the_working_one_and_says_so(demo_partner):
    data = demo_partner
    code, out = ihub("partners", "connect", "acme", "demo-vendor", "--region", "local", "--secret-stdin",
                     input="first-wrong-key\n")
    assert code == 1 and "could not connect (status Failed)" in out  # nothing worked before: Failed
    code, out = ihub("partners", "connect", "acme", "demo-vendor", "--region", "local", input=data.token + "\n")
    assert code == 0 and "is connected (status Enabled, region local)" in out
    assert ihub("integrations", "create", "acme", "assets", "-e", "demo-vendor", "--data-type", "assets")[0] == 0

    code, out = ihub("partners", "connect", "acme", "demo-vendor", "--region", "local", "--secret-stdin",
                     input="a-typo-in-the-key\n")
    assert code == 1
    assert ("demo-vendor of acme: the new credentials were refused, so the ones in use are kept: Demo Asset Vendor "
            "refused the connection test: HTTP 401 on GET /api/v1/users: invalid or missing API token. It stays "
            "connected (status Enabled, region local).") in out
    assert "a-typo-in-the-key" not in out
    listed = ihub("partners", "list", "acme")[1]
    assert "demo-vendor Enabled ✓ local" in listed and "the new credentials were refused" in listed
    assert ApiTokenCredentials.load("acme-demo-vendor-credentials").token.get_secret_value() == data.token
    assert sync_integration("acme/assets").inserted == 350  # every sync goes on
    assert no_test_blocks_left()


def test_the_api_says_whether_new_credentials_were_accepted(demo_partner):
    data = demo_partner
    with TestClient(hub_app(ADMIN), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN}"
        path = "/api/v1/customers/acme/partners/demo-vendor/connect"
        good = client.post(path, json={"region": "local", "credentials": {"api_key": data.token}}).json()
        assert (good["accepted"], good["status"], good["connected"]) == (True, "Enabled", True)
        wrong = client.post(path, json={"region": "local", "credentials": {"api_key": "wrong-secret"}})
        assert wrong.status_code == 200, wrong.text
        kept = wrong.json()
        assert (kept["accepted"], kept["status"], kept["connected"]) == (False, "Enabled", True)
        assert kept["status_message"].startswith("the new credentials were refused, so the ones in use are kept: ")
        assert "wrong-secret" not in wrong.text
        rotated = client.post(path, json={"region": "local", "credentials": {"api_key": data.token}}).json()
        assert (rotated["accepted"], rotated["status_message"]) == (True, "HTTP 200 from GET /api/v1/users")
    assert ApiTokenCredentials.load("acme-demo-vendor-credentials").token.get_secret_value() == data.token
    assert no_test_blocks_left()
