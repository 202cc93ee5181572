"""`ihub smtp`: the e-mail server and sender of the alerts sent when an integration is disabled."""

from __future__ import annotations

import sys
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ihub.commands.common import console, done, fail
from models.errors import HubError
from models.integration_setup import normalize_email

app = typer.Typer(help="The SMTP server and sender address of the alert e-mails.", no_args_is_help=True)


def _notify():
    """The alert e-mail tasks (they import Prefect: only these commands pay for it), server set up."""
    from ihub.embedded import use_own_session_server
    from tasks import notify

    use_own_session_server()
    return notify


@app.command("set")
def set_(
    host: str = typer.Option(..., help="The SMTP server's host name."),
    port: Optional[int] = typer.Option(None, min=1, max=65535,
                                       help="Default: 587 for starttls, 465 for ssl, 25 for plain."),
    security: str = typer.Option("starttls", help="ssl, starttls, or plain (no encryption: a local relay)."),
    username: Optional[str] = typer.Option(None, help="Log in as; leave out for a relay that needs no login."),
    password: Optional[str] = typer.Option(
        None, envvar="IHUB_SMTP_PASSWORD", show_envvar=False,
        help="Visible in ps and shell history: leave it out to be asked without echo, or use --secret-stdin or "
             "IHUB_SMTP_PASSWORD."),
    secret_stdin: bool = typer.Option(False, "--secret-stdin", help="Read the password from the first line of stdin."),
    sender: Optional[str] = typer.Option(None, help="The From address of the alerts (kept if left out)."),
) -> None:
    """Save the SMTP settings (replacing any), in a Prefect block; the password is stored encrypted."""
    if (password is not None or secret_stdin) and not username:
        fail("--password needs --username")
    if secret_stdin and password is None:
        password = sys.stdin.readline().rstrip("\r\n")
    notify = _notify()
    try:
        if sender is not None:
            sender = normalize_email(sender)
        if security not in notify.SECURITY:
            fail(f"--security is {', '.join(notify.SECURITY)}, not {security!r}")
        if username and password is None:
            password = typer.prompt(f"SMTP password for {username}", hide_input=True, default="",
                                    show_default=False)
        block = notify.save_smtp(host, port, security, username, password)
        if sender is not None:
            notify.set_alert_sender(sender)
        from_address, _ = notify.alert_sender()
    except HubError as exc:
        fail(escape(str(exc)))
    login = f"as {username}, password {'set' if password else 'not set'}" if username else "without login"
    done(escape(f"SMTP settings saved in block '{notify.smtp_block_name()}': {notify.smtp_address(block)} "
                f"({security}), {login}; alerts come from {from_address}."))
    if username and security == "plain":
        console.print("[yellow]Warning:[/] with --security plain the password crosses the network unencrypted.")


@app.command()
def show() -> None:
    """The SMTP settings in force (never the password)."""
    notify = _notify()
    try:
        block = notify.load_smtp()
        sender, source = notify.alert_sender()
    except HubError as exc:
        fail(escape(str(exc)))
    table = Table(title=f"SMTP settings (block '{notify.smtp_block_name()}')", title_justify="left",
                  show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in (
        ("server", notify.smtp_address(block)),
        ("security", notify.security_of(block)),
        ("username", block.username or "none (no login)"),
        ("password", "set" if block.password.get_secret_value() else "not set"),
        ("sender", f"{sender} ({source})"),
    ):
        table.add_row(label, escape(value))
    console.print(table)


@app.command()
def test(to: str = typer.Option(..., "--to", help="Where to send the test e-mail.")) -> None:
    """Send a short test e-mail through the saved settings."""
    notify = _notify()
    try:
        to = normalize_email(to)
        sender, _ = notify.alert_sender()
        notify.send_alert(notify.check_message(to, sender))
        address = notify.smtp_address(notify.load_smtp())
    except HubError as exc:
        fail(escape(str(exc)))
    done(escape(f"Test e-mail sent to {to} from {sender} through {address}."))
