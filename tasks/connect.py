"""Test credentials with one small request: the one a partner's template names (seed 001's CONNECT),
or the first page of a universal-connector integration (`ihub credentials test`).

Connecting is interactive, so the test gives up quickly: short timeouts and two attempts. A
refusal carries the status and the vendor's own message (Okta's errorSummary, ServiceNow's
error.message...), never the query string or a credential.
"""

from __future__ import annotations

import httpx
from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.host_bound import vendor_client
from models.errors import CredentialsRejected, VendorError
from models.partners import PartnerApplication
from models.paths import MISSING, compile_path
from models.redact import redact
from models.spec import ConnectorSpec, RequestSpec
from tasks.http import RETRY_STATUSES, RetryPolicy, decode_json, parses_as_json, send
from tasks.paginate import PageRequest, paginator_for

ATTEMPTS = 2
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
REASON_CHARS = 200

_ANSWERS = {status: "ignore" for status in range(400, 600) if status not in RETRY_STATUSES}
"""Every refusal is returned for its reason to be read; 429 and 5xx are still retried first."""


@task(name="check-connection", cache_policy=NO_CACHE)
def check_connection(partner: PartnerApplication, base_url: str, auth: httpx.Auth) -> str:
    """Send the partner's connection test; say what answered, or raise a `HubError` with the vendor's reason."""
    return probe_connection(partner, base_url, auth)


def probe_first_page(spec: ConnectorSpec, auth: httpx.Auth | None) -> str:
    """Ask for the first page of the spec's records, once (a retry for 429 and 5xx): what answered, or why not.

    What `ihub credentials test` sends for a universal-connector integration.
    """
    policy = RetryPolicy(max_attempts=ATTEMPTS, base_delay=0.5, max_delay=5.0)
    first = paginator_for(spec).first(PageRequest(spec.request.url, dict(spec.request.params), spec.request.body))
    with vendor_client(auth, spec.request, timeout=TIMEOUT) as client:
        request = client.build_request(spec.request.method, first.url, params=first.params or None, json=first.json)
        response = send(client, request, spec.vendor, policy)
    decode_json(response, spec.vendor)
    return f"{spec.vendor} answered HTTP {response.status_code} to {spec.request.method} {request.url.path}"


def probe_connection(partner: PartnerApplication, base_url: str, auth: httpx.Auth) -> str:
    """The partner's connection test, outside a flow: what answered, or a `HubError` with the vendor's reason."""
    test = partner.connection_test
    policy = RetryPolicy(max_attempts=ATTEMPTS, base_delay=0.5, max_delay=5.0, status_rules=_ANSWERS)
    with vendor_client(auth, RequestSpec(base_url=base_url), timeout=TIMEOUT, headers=test.headers) as client:
        request = client.build_request(test.method, f"{base_url.rstrip('/')}/{test.path.lstrip('/')}",
                                       params=test.params or None, json=test.body)
        response = send(client, request, partner.name, policy)
    where = f"{test.method} {request.url.path}"
    if response.is_success:
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
        if not parses_as_json(response):  # whatever its label: some vendors (and moto) say text/html
            raise VendorError(f"{partner.name} answered HTTP {response.status_code} to {where} with {content_type}, "
                              f"not JSON: is {request.url.host} its API?")
        return f"HTTP {response.status_code} from {where}"
    message = f"{partner.name} refused the connection test: HTTP {response.status_code} on {where}"
    reason = _reason(response, test.error_message)
    refusal = CredentialsRejected if response.status_code in (401, 403) else VendorError
    raise refusal(f"{message}: {reason}" if reason else message)


def _reason(response: httpx.Response, paths: list[str]) -> str | None:
    """The vendor's own words: its error message fields, or where it redirected to."""
    if response.is_redirect:
        target = response.url.join(response.headers["location"])
        return redact(f"redirected to {target.host}{target.path}")
    try:
        body = response.json()
    except ValueError:
        return None
    found = [compile_path(path).first(body) for path in paths]
    text = redact(": ".join(str(value).strip() for value in found if value not in (MISSING, None, "")))
    return text[:REASON_CHARS] + ("…" if len(text) > REASON_CHARS else "") or None
