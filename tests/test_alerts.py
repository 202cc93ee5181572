"""The alert e-mail of a disabled integration, delivered to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
import uuid
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from prefect.variables import Variable
from prefect_email import EmailServerCredentials
from typer.testing import CliRunner

from ihub.commands import smtp
from ihub.commands.common import console
from models.errors import HubError, Invalid
from tasks.notify import SENDER_VARIABLE, SMTP_BLOCK_ENV, disabled_alert, send_alert

runner = CliRunner()


def ihub_smtp(*args, input=None):
    console.width = 200  # one message a line, as in a wide terminal
    return runner.invoke(smtp.app, list(args), input=input)


def rows(output: str) -> dict[str, str]:
    """The label -> value rows of `ihub smtp show`'s table."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines() if line.startswith("│")]
    return dict(cells)


def free_port() -> int:
    """A loopback port nothing listens on (closed again at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                              message_from_bytes(envelope.original_content, policy=policy.default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox():
    """A real SMTP server on a free loopback port: yields (its inbox, its port)."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp_block(prefect_server, monkeypatch):
    """A fresh SMTP settings block name for the test, and no sender from the environment or a variable."""
    name = f"ihub-smtp-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(SMTP_BLOCK_ENV, name)
    monkeypatch.delenv("IHUB_ALERT_SENDER", raising=False)
    Variable.unset(SENDER_VARIABLE)
    yield name
    Variable.unset(SENDER_VARIABLE)


def save_plain_block(name: str, port: int) -> None:
    EmailServerCredentials(smtp_server="127.0.0.1", smtp_type="INSECURE", smtp_port=port).save(name, overwrite=True)


def alert(**changes):
    values = dict(ref="acme/assets", customer="acme", failures=5, threshold=5,
                  last_error="credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets)",
                  recipients=["ops@acme.example", "oncall@acme.example"], sender="hub@hub.example")
    return disabled_alert(**{**values, **changes})


def test_the_alert_reaches_every_address_and_says_what_happened_and_how_to_re_enable(inbox, smtp_block):
    handler, port = inbox
    save_plain_block(smtp_block, port)
    send_alert(alert())

    [(mail_from, rcpt_tos, message)] = handler.received
    assert mail_from == "hub@hub.example"
    assert rcpt_tos == ["ops@acme.example", "oncall@acme.example"]
    assert message["Subject"] == "[Integration Hub] acme/assets disabled after 5 failed runs"
    body = message.get_content()
    assert "disabled the integration acme/assets of customer acme" in body
    assert "Consecutive failed runs: 5 (its error threshold is 5)" in body
    assert "credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets)" in body
    assert "ihub integrations activate acme/assets" in body
    assert "POST /api/v1/customers/acme/integrations/assets/activate" in body


def test_without_a_sender_the_alert_comes_from_the_configured_one(smtp_block, monkeypatch):
    assert alert(sender=None)["From"] == "integration-hub@localhost"
    monkeypatch.setenv("IHUB_ALERT_SENDER", "alerts@hub.example")
    assert alert(sender=None)["From"] == "alerts@hub.example"


def test_an_alert_needs_an_address():
    with pytest.raises(Invalid, match="acme/assets has no alert e-mail addresses"):
        alert(recipients=[])


def test_without_smtp_settings_the_error_says_how_to_set_them(smtp_block):
    with pytest.raises(HubError, match=f"no SMTP settings .*'{smtp_block}'.*`ihub smtp set --host HOST"):
        send_alert(alert())
    result = ihub_smtp("test", "--to", "ops@acme.example")
    assert result.exit_code == 1
    assert result.output.startswith("Error: no SMTP settings") and "Traceback" not in result.output


def test_an_unreachable_server_is_a_readable_error(smtp_block):
    port = free_port()
    save_plain_block(smtp_block, port)
    with pytest.raises(HubError) as error:
        send_alert(alert())
    assert str(error.value) == f"cannot send the alert e-mail through 127.0.0.1:{port}: Connection refused"

    result = ihub_smtp("test", "--to", "ops@acme.example")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == f"Error: cannot send the alert e-mail through 127.0.0.1:{port}: Connection refused"


def test_smtp_set_show_and_test_deliver_from_the_saved_sender(inbox, smtp_block):
    handler, port = inbox
    result = ihub_smtp("set", "--host", "127.0.0.1", "--port", str(port), "--security", "plain",
                       "--sender", "Hub@Hub.example")
    assert result.exit_code == 0, result.output
    assert (f"SMTP settings saved in block '{smtp_block}': 127.0.0.1:{port} (plain), without login; "
            "alerts come from Hub@hub.example.") in result.output

    result = ihub_smtp("show")
    assert result.exit_code == 0, result.output
    assert rows(result.output) == {"server": f"127.0.0.1:{port}", "security": "plain", "username": "none (no login)",
                                   "password": "not set",
                                   "sender": f"Hub@hub.example (Prefect variable {SENDER_VARIABLE})"}

    result = ihub_smtp("test", "--to", "ops@acme.example")
    assert result.exit_code == 0, result.output
    assert f"Test e-mail sent to ops@acme.example from Hub@hub.example through 127.0.0.1:{port}." in result.output
    [(mail_from, rcpt_tos, message)] = handler.received
    assert (mail_from, rcpt_tos) == ("Hub@hub.example", ["ops@acme.example"])
    assert message["Subject"] == "[Integration Hub] test e-mail"


def test_the_password_is_asked_for_stored_and_never_shown(inbox, smtp_block):
    handler, port = inbox
    result = ihub_smtp("set", "--host", "127.0.0.1", "--port", str(port), "--security", "plain",
                       "--username", "hub", input="s3cret-pw\n")
    assert result.exit_code == 0, result.output
    assert "SMTP password for hub" in result.output and "as hub, password set" in result.output
    assert EmailServerCredentials.load(smtp_block).password.get_secret_value() == "s3cret-pw"

    result = ihub_smtp("show")
    assert rows(result.output)["password"] == "set" and "s3cret-pw" not in result.output
    # The loopback server offers no AUTH: the login fails with the server's words, not the password.
    result = ihub_smtp("test", "--to", "ops@acme.example")
    assert result.exit_code == 1 and handler.received == []
    assert f"Error: cannot send the alert e-mail through 127.0.0.1:{port}: SMTP AUTH extension not supported" \
        in result.output
    assert "s3cret-pw" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("args", "error"), [
    (["--sender", "not an address"], "Error: 'not an address' is not an e-mail address"),
    (["--security", "tls"], "Error: --security is ssl, starttls, plain, not 'tls'"),
    (["--password", "pw"], "Error: --password needs --username"),
])
def test_smtp_set_refuses_what_it_cannot_use(smtp_block, args, error):
    result = ihub_smtp("set", "--host", "smtp.example", *args)
    assert result.exit_code == 1
    assert result.output.startswith(error) and "Traceback" not in result.output
    with pytest.raises(ValueError):
        EmailServerCredentials.load(smtp_block)
