"""One HTTP request, retried the way a polite API client should.

429, 5xx, timeouts, connection errors and responses cut off mid-body are retried with
exponential backoff and jitter, waiting at least what `Retry-After` asks. `sleep` and `now` are
injectable so tests run on a fake clock. The messages carry a vendor's own words redacted of
secrets (`models.redact`): an error body may echo the token or the URL it was sent.
"""

from __future__ import annotations

import logging
import random
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

    def pace(self) -> None:
        """Hold back a request until the rate limit allows it."""
        if self.requests_per_second is None:
            return
        if self._last_request is not None:
            wait = self._last_request + 1 / self.requests_per_second - self.now()
            if wait > 0:
                self.sleep(wait)
        self._last_request = self.now()

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


def send(client: httpx.Client, request: httpx.Request, vendor: str, policy: RetryPolicy) -> httpx.Response:
    """Send `request`, retrying transient failures; raise a `HubError` a person can act on."""
    for attempt in range(1, policy.max_attempts + 1):
        last = attempt == policy.max_attempts
        policy.pace()
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
    path = response.request.url.path
    if status in (401, 403):
        return CredentialsRejected(f"credentials rejected by {vendor} (HTTP {status} on {path})")
    message = f"{vendor} answered HTTP {status} on {path}" + (f" after {attempts} attempts" if attempts else "")
    snippet = _snippet(response)
    return VendorError(f"{message}: {snippet}" if snippet else message)


def decode_json(response: httpx.Response, vendor: str) -> Any:
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if "json" not in content_type:
        raise VendorError(f"expected JSON, got {content_type} from {vendor} {response.request.url.path}")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise VendorError(f"{vendor} sent malformed JSON on {response.request.url.path}: {exc}") from None


def _snippet(response: httpx.Response) -> str:
    """The start of the vendor's answer, redacted before it is cut (a secret cut in two would not match)."""
    text = redact(" ".join(response.text[:SNIPPET_SCAN_CHARS].split()))
    return text[:200] + ("…" if len(text) > 200 else "")
