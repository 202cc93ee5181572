"""Secrets out of messages, before a message is stored or shown.

A vendor's error body, a URL, an exception's text can echo a credential. `redact` removes:
every secret value registered in this process (the credentials of the runs it made, with the
forms a server may echo them in: URL-encoded, JSON-escaped, base64), anything that looks like
an `Authorization` value (`Bearer …`, `SSWS …`, `Basic …`), `key=value` and `"key": "value"`
pairs whose key names a secret (token, key, secret, password, signature, credential, auth…),
headers such as `X-Api-Key: …`, and the query string of URLs.

The registry is process-wide on purpose: Prefect runs tasks in threads of its own, where a
context variable set by the flow would not be seen. Values are only ever added.

It runs on messages (a few hundred characters), never on records. `redact_logs` puts it on
loggers too (the Prefect run loggers), for the tracebacks and messages Prefect writes itself.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"  # upper case: rich does not take it for markup

MIN_SECRET_CHARS = 6
"""Shorter values are not registered: they would blank out ordinary words of every message."""

_lock = threading.Lock()
_secrets: set[str] = set()
_known: re.Pattern[str] | None = None

_SCHEME = re.compile(r"\b(Bearer|SSWS|Basic|Token|Digest|AWS4-HMAC-SHA256)\s+([A-Za-z0-9\-._~+/=]+)", re.IGNORECASE)
_SECRET_KEY = r"[\w.-]*(?:token|key|secret|passw(?:or)?d|pwd|signature|credential|auth|session)[\w.-]*"
_KEY_VALUE = re.compile(rf"(?i)\b({_SECRET_KEY})(\s*=\s*)([^\s&,;\"'<>)\]]+)")
_HEADER = re.compile(r"(?i)\b((?:[a-z0-9]+-)+(?:token|key|secret|signature|credential|auth[a-z]*|session)[a-z0-9-]*"
                     r"|authorization|cookie)(\s*:\s*)(?!bearer\b|ssws\b|basic\b|token\b|digest\b)([^\s,;\"'<>]+)")
_JSON_PAIR = re.compile(rf"(?i)(\\?\"{_SECRET_KEY}\\?\"\s*:\s*\\?\")([^\"\\]+)")
_QUERY = re.compile(r"((?:\bhttps?://|(?<![\w/])/)[^\s?#\"'<>]*)\?[^\s#\"'<>]+")


def register(*values: str | None) -> None:
    """Remember secret values (and the forms they may be echoed in) for every later `redact`."""
    forms = {form for value in values if value and len(value) >= MIN_SECRET_CHARS for form in _forms(value)}
    global _known
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        ordered = sorted(_secrets, key=len, reverse=True)  # a longer form before the value inside it
        _known = re.compile("|".join(map(re.escape, ordered)))


def basic_form(username: str, password: str) -> str:
    """The base64 of `username:password`, as an `Authorization: Basic` header carries it."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def _forms(value: str) -> set[str]:
    encoded = base64.b64encode(value.encode()).decode()
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], encoded, encoded.rstrip("=")}


def redact(message: str) -> str:
    """`message` without the registered secrets, Authorization values, secret `key=value`s and query strings."""
    if not message:
        return message
    known = _known
    if known is not None:
        message = known.sub(REDACTED, message)
    message = _SCHEME.sub(_scheme_value, message)
    message = _KEY_VALUE.sub(lambda found: f"{found[1]}{found[2]}{REDACTED}", message)
    message = _HEADER.sub(lambda found: f"{found[1]}{found[2]}{REDACTED}", message)
    message = _JSON_PAIR.sub(lambda found: f"{found[1]}{REDACTED}", message)
    return _QUERY.sub(lambda found: f"{found[1]}?{REDACTED}", message)


def _scheme_value(found: re.Match[str]) -> str:
    """`Bearer <token>` loses the token; `Basic credentials`, plain words, stay as they are."""
    if not _looks_like_a_credential(found[2]):
        return found[0]
    return f"{found[1]} {REDACTED}"


def _looks_like_a_credential(value: str) -> bool:
    if len(value) >= 20:
        return True
    return len(value) >= 8 and any(char.isdigit() or char in "-._~+/=" for char in value)


class RedactingFilter(logging.Filter):
    """Redacts each record of a logger in place: its message and the text of its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_logs(*names: str) -> None:
    """Redact every record logged on the loggers `names` (once each, however often it is called)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
            logger.addFilter(RedactingFilter())
