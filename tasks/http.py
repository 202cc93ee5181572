"""One HTTP request, retried the way a polite API client should.

429, 5xx, timeouts, connection errors and responses cut off mid-body are retried with
exponential backoff and jitter, waiting at least what `Retry-After` asks. One `RetryPolicy` is
shared by the requests of a read, which may be several in flight at once (tasks/paginate.py): the
rate limit hands each request its own slot, and a `Retry-After` holds back every request of the
read, not only the one that was told. `sleep` and `now` are injectable so tests run on a fake clock. The messages carry a vendor's own words redacted of
secrets (`models.redact`): an error body may echo the token or the URL it was sent.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable

import httpx
import orjson

from models.errors import CredentialsRejected, HubError, VendorError
from models.redact import redact
from models.spec import HttpSpec
from tasks.run_logger import run_logger

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SNIPPET_SCAN_CHARS = 4000
"""How much of an error body is read for its first 200 characters (a 5xx page can be megabytes)."""


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    status_rules: dict[int, str] = field(default_factory=dict)
    requests_per_second: float | None = None
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    jitter: Callable[[], float] = field(default=random.random)
    logger: logging.Logger | logging.LoggerAdapter = field(default_factory=run_logger, repr=False)
    """Where each retry is told: the run's log when the policy is made inside a run."""
    _last_request: float | None = field(default=None, init=False, repr=False)
    _not_before: float = field(default=0.0, init=False, repr=False)
    """No request goes out before this time: a vendor's Retry-After, for every request in flight."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @classmethod
    def from_spec(cls, http: HttpSpec, **clock: Any) -> RetryPolicy:
        return cls(max_attempts=http.max_attempts, base_delay=http.backoff_seconds,
                   max_delay=http.max_backoff_seconds, status_rules=dict(http.status_rules),
                   requests_per_second=http.requests_per_second, **clock)

    def rule(self, status: int) -> str:
        """retry, ignore, fail, or ok: the spec's rule for this status, else the defaults."""
        if status in self.status_rules:
            return self.status_rules[status]
        if status in RETRY_STATUSES:
            return "retry"
        return "fail" if status >= 400 else "ok"

    def pace(self, waited_out: float = 0.0) -> None:
        """Hold back a request until the rate limit and any Retry-After allow it.

        Each request takes the next free slot under the lock, then waits for it outside the lock,
        so requests sent from several threads are spaced as one client's would be. `waited_out`:
        the hold this request set itself and has already waited for in its backoff."""
        with self._lock:
            now = self.now()
            start = max(now, self._not_before if self._not_before > waited_out else now)
            if self.requests_per_second is not None:
                if self._last_request is not None:
                    start = max(start, self._last_request + 1 / self.requests_per_second)
                self._last_request = start
        if start > now:
            self.sleep(start - now)

    def hold(self, seconds: float) -> float:
        """The vendor asked to wait `seconds` (Retry-After): no request of this read goes out before then;
        returns the time until which requests are held."""
        with self._lock:
            self._not_before = max(self._not_before, self.now() + seconds)
            return self._not_before

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * (0.5 + self.jitter() / 2)
        asked = retry_after_seconds(response, self.now) if response is not None else None
        return max(backoff, asked) if asked is not None else backoff

    def retrying(self, request: httpx.Request, what: str, attempt: int, response: httpx.Response | None) -> float:
        """The wait before the next attempt, told in the run's log."""
        wait = self.delay(attempt, response)
        self.logger.info("%s %s: %s, retrying in %.1f s (attempt %s of %s)", request.method, request.url.path, what,
                         wait, attempt + 1, self.max_attempts)
        return wait


def retry_after_seconds(response: httpx.Response, now: Callable[[], float]) -> float | None:
    """`Retry-After` as seconds to wait; it may be a number of seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - now(), 0.0)
    except (TypeError, ValueError):
        return None


class Unwanted(Exception):
    """A request that was no longer wanted when its turn came (see `send`): it was not sent."""


def send(client: httpx.Client, request: httpx.Request, vendor: str, policy: RetryPolicy,
         wanted: Callable[[], bool] | None = None) -> httpx.Response:
    """Send `request`, retrying transient failures; raise a `HubError` a person can act on.

    `wanted`: asked each time the request's turn comes (after the rate limit and any Retry-After), so a
    request read ahead that the reader has since dropped raises `Unwanted` instead of going out."""
    held = 0.0
    for attempt in range(1, policy.max_attempts + 1):
        last = attempt == policy.max_attempts
        policy.pace(held)
        if wanted is not None and not wanted():
            raise Unwanted(request.url)
        response = None
        try:
            response = client.send(request, stream=True)
            response.read()  # apart from `send`, to tell a body cut off from a vendor out of reach
        except httpx.TransportError as exc:  # timeouts included
            if response is not None:
                response.close()
            if last:
                raise VendorError(_unreachable(vendor, request, exc, attempt, answered=response is not None)) from None
            policy.sleep(policy.retrying(request, type(exc).__name__, attempt, None))
            continue
        rule = policy.rule(response.status_code)
        if rule == "retry" and not last:
            if (asked := retry_after_seconds(response, policy.now)) is not None:
                held = policy.hold(asked)  # every request of the read waits, this one in its backoff
            policy.sleep(policy.retrying(request, f"HTTP {response.status_code}", attempt, response))
            continue
        if rule in ("ok", "ignore"):
            return response
        raise failure(response, vendor, attempts=attempt if rule == "retry" and attempt > 1 else None)
    raise AssertionError("unreachable")  # the loop returns or raises on its last attempt


def _unreachable(vendor: str, request: httpx.Request, exc: httpx.TransportError, attempts: int,
                 answered: bool = False) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{vendor} did not answer in time on {request.url.path} after {attempts} attempts"
    if answered:  # the status line and headers came, the body did not come whole
        return f"{vendor} cut off the response on {request.url.path} after {attempts} attempts"
    return (f"cannot reach {vendor} at {request.url.host}:{request.url.port or ''} "
            f"({type(exc).__name__}) after {attempts} attempts")


def failure(response: httpx.Response, vendor: str, attempts: int | None = None) -> HubError:
    """The error for a response that failed (not to be retried or ignored), for the caller to raise;
    `attempts` when it failed the same way every time it was retried."""
    status = response.status_code
    path = where(response.request)
    if status in (401, 403):
        reason = _refusal_reason(response)
        return CredentialsRejected(f"credentials rejected by {vendor} (HTTP {status} on {path})"
                                   + (f": {reason}" if reason else ""))
    message = f"{vendor} answered HTTP {status} on {path}" + (f" after {attempts} attempts" if attempts else "")
    snippet = _snippet(response)
    return VendorError(f"{message}: {snippet}" if snippet else message)


def where(request: httpx.Request) -> str:
    """The request's path, and for an AWS JSON API (every operation POSTed to `/`) the operation it named."""
    operation = request.headers.get("X-Amz-Target")
    return f"{request.url.path} ({operation})" if operation else request.url.path


def decode_json(response: httpx.Response, vendor: str) -> Any:
    """The body as JSON, whatever content type it is labelled with: some vendors (and moto, AWS's
    emulator) label JSON `text/html` or `text/plain`, and a body that parses is what matters. One
    that does not parse is named by its label, which says what came instead (an HTML login page)."""
    return decode_body(response.content, response.headers.get("content-type", ""), vendor,
                       response.request.url.path)


def decode_body(content: bytes, content_type: str, vendor: str, path: str) -> Any:
    """`decode_json` of an answer's bytes, its content-type header and its request's URL path."""
    content_type = content_type.split(";")[0].strip() or "no content type"
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        if "json" not in content_type:
            raise VendorError(f"expected JSON, got {content_type} from {vendor} {path}") from None
        raise VendorError(f"{vendor} sent malformed JSON on {path}: {exc}") from None


def parses_as_json(response: httpx.Response) -> bool:
    try:
        orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return False
    return True


REASON_CHARS = 120
_REASON_KEYS = ("__type", "code", "Code", "error", "errorCode", "errorSummary", "message", "Message",
                "error_description", "detail", "title")
_XML_REASON = re.compile(r"<(Code|Message)>([^<]{1,300})</\1>")


def _refusal_reason(response: httpx.Response) -> str | None:
    """The vendor's short reason for refusing the credentials, redacted: its error code and message
    from a JSON body (`SignatureDoesNotMatch: The request signature...`), or from AWS's XML
    (`<Code>AccessDenied</Code>`). A page of HTML or free text is not a reason."""
    text = response.text[:SNIPPET_SCAN_CHARS]
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        nested = body.get("error") if isinstance(body.get("error"), dict) else None  # {"error": {"code", "message"}}
        found = {key: (nested or body).get(key) for key in _REASON_KEYS}
        found["__type"] = str(found["__type"] or "").rpartition("#")[2]  # com.amazon.coral...#AccessDenied
        parts = [str(value).strip() for value in found.values() if isinstance(value, (str, int)) and value]
    else:
        parts = [value.strip() for _tag, value in _XML_REASON.findall(text)]
    reason = redact(": ".join(dict.fromkeys(part for part in parts if part)))  # each once, in order
    if len(reason) > REASON_CHARS:  # cut between words
        reason = reason[:REASON_CHARS].rsplit(" ", 1)[0] + "…"
    return reason or None


def _snippet(response: httpx.Response) -> str:
    """The start of the vendor's answer, redacted before it is cut (a secret cut in two would not match)."""
    text = redact(" ".join(response.text[:SNIPPET_SCAN_CHARS].split()))
    return text[:200] + ("…" if len(text) > 200 else "")
