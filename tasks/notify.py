"""The alert e-mail sent when the hub disables an integration (seed 002), and how it is sent.

The SMTP server lives in a prefect-email `EmailServerCredentials` block (password encrypted by
the server, editable in the UI); the sender address in a Prefect variable beside it, as a
block's username is often not an address. Plain functions, not tasks: a flow's state hook
calls them.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from prefect.variables import Variable
from prefect_email import EmailServerCredentials, SMTPServer, SMTPType

from models.errors import HubError, Invalid

SMTP_BLOCK_ENV = "IHUB_SMTP_BLOCK"
DEFAULT_SMTP_BLOCK = "ihub-smtp"
SENDER_ENV = "IHUB_ALERT_SENDER"
SENDER_VARIABLE = "ihub-alert-sender"
DEFAULT_SENDER = "integration-hub@localhost"
SMTP_TIMEOUT_SECONDS = 30
"""smtplib waits forever by default; a silent server must not hang the run that is reporting."""

SECURITY = {"ssl": SMTPType.SSL, "starttls": SMTPType.STARTTLS, "plain": SMTPType.INSECURE}
"""The CLI's words for prefect-email's SMTP types."""


class SmtpNotConfigured(HubError):
    pass


class AlertNotSent(HubError):
    """The SMTP server could not be reached or refused the message."""


def smtp_block_name(block_name: str | None = None) -> str:
    return block_name or os.environ.get(SMTP_BLOCK_ENV) or DEFAULT_SMTP_BLOCK


def load_smtp(block_name: str | None = None) -> EmailServerCredentials:
    name = smtp_block_name(block_name)
    try:
        return EmailServerCredentials.load(name)
    except ValueError:
        raise SmtpNotConfigured(
            f"no SMTP settings (e-mail server credentials block '{name}'), so alert e-mails cannot be sent: "
            "set them with `ihub smtp set --host HOST ...`"
        ) from None


def save_smtp(host: str, port: int | None = None, security: str = "starttls", username: str | None = None,
              password: str | None = None, block_name: str | None = None) -> EmailServerCredentials:
    """Save (overwrite) the SMTP settings block; `port` defaults to the security's usual port."""
    if security not in SECURITY:
        raise Invalid(f"the security is {', '.join(SECURITY)}, not {security!r}")
    host = host.strip()
    if not host or any(c.isspace() for c in host):
        raise Invalid(f"{host!r} is not a host name")
    block = EmailServerCredentials(smtp_server=host, smtp_type=SECURITY[security],
                                   smtp_port=port or SECURITY[security].value, username=username or None,
                                   password=password or "")
    block.save(smtp_block_name(block_name), overwrite=True)
    return block


def smtp_address(block: EmailServerCredentials) -> str:
    host = block.smtp_server.value if isinstance(block.smtp_server, SMTPServer) else block.smtp_server
    return f"{host}:{block.smtp_port or block.smtp_type.value}"


def security_of(block: EmailServerCredentials) -> str:
    return next(word for word, kind in SECURITY.items() if kind == block.smtp_type)


def alert_sender() -> tuple[str, str]:
    """The From address and where it comes from: the environment, `ihub smtp set --sender`, or the default."""
    if os.environ.get(SENDER_ENV):
        return os.environ[SENDER_ENV], SENDER_ENV
    stored = Variable.get(SENDER_VARIABLE, default=None)
    if stored:
        return stored, f"Prefect variable {SENDER_VARIABLE}"
    return DEFAULT_SENDER, "default"


def set_alert_sender(address: str) -> None:
    Variable.set(SENDER_VARIABLE, address, overwrite=True)


def disabled_alert(ref: str, customer: str, failures: int, threshold: int, last_error: str,
                   recipients: list[str], sender: str | None = None, *,
                   failed_at: datetime | None = None) -> EmailMessage:
    """The e-mail to an integration's alert addresses once the hub has disabled it.

    Pure, given a `sender`; without one it asks `alert_sender()` (the Prefect API).
    """
    if not recipients:
        raise Invalid(f"{ref} has no alert e-mail addresses")
    sender = sender or alert_sender()[0]
    name = ref.partition("/")[2]
    failed_at = (failed_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    message = _message(sender, recipients, f"[Integration Hub] {ref} disabled after {_runs(failures, 'failed')}")
    message.set_content(f"""\
Integration Hub has disabled the integration {ref} of customer {customer}.

Consecutive failed runs: {failures} (its error threshold is {threshold}).
Its schedule is paused: it will not run again until it is re-activated.

Last error, at {failed_at:%Y-%m-%d %H:%M:%S} UTC:

{_indent(last_error or "(no message)")}

Once the cause is fixed, re-activate it with the ihub CLI:

    ihub integrations activate {ref}

or through the REST API:

    POST /api/v1/customers/{customer}/integrations/{name}/activate
""")
    return message


def check_message(recipient: str, sender: str) -> EmailMessage:
    """What `ihub smtp test` sends."""
    message = _message(sender, [recipient], "[Integration Hub] test e-mail")
    message.set_content("This is a test from Integration Hub: its alert e-mails reach this address.\n")
    return message


def send_alert(message: EmailMessage, block_name: str | None = None) -> None:
    """Send through the SMTP settings block; failures become a HubError that never shows the password."""
    block = load_smtp(block_name)
    try:
        with _connect(block) as server:
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(f"{to} ({code} {_text(text)})" for to, (code, text) in exc.recipients.items())
        raise AlertNotSent(f"cannot send the alert e-mail through {smtp_address(block)}: the server refused "
                           f"the recipients {refused}") from None
    except smtplib.SMTPResponseException as exc:
        raise AlertNotSent(f"cannot send the alert e-mail through {smtp_address(block)}: the server answered "
                           f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertNotSent(f"cannot send the alert e-mail through {smtp_address(block)}: "
                           f"{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}") from None


def _connect(block: EmailServerCredentials) -> smtplib.SMTP:
    """The block's own `get_server()`, with a timeout (it has none)."""
    host, _, port = smtp_address(block).rpartition(":")
    context = ssl.create_default_context()
    if not block.verify:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if block.smtp_type == SMTPType.SSL:
        server = smtplib.SMTP_SSL(host, int(port), timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        server = smtplib.SMTP(host, int(port), timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if block.smtp_type == SMTPType.STARTTLS:
            server.starttls(context=context)
        if block.username:
            server.login(block.username, block.password.get_secret_value())
    except BaseException:
        server.close()
        raise
    return server


def _message(sender: str, recipients: list[str], subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    return message


def _runs(count: int, kind: str) -> str:
    return f"{count} {kind} run{'' if count == 1 else 's'}"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines())


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
