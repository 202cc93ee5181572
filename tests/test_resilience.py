"""Retries, Retry-After and clear failures, against injected vendor faults over real HTTP.

Backoff is measured on a fake clock: the retry policy's `sleep` records and moves the clock on
instead of sleeping.
"""

import httpx
import pytest

from blocks import ApiTokenCredentials
from ihub.demo import demo_spec
from ihub.vendor import Fault
from models.errors import VendorError
from tasks.http import RetryPolicy
from tasks.paginate import fetch_pages


def fake_clock(slept: list[float]):
    """`now` and `sleep` for a retry policy: sleeping records how long and moves the clock on."""
    clock = [1_000_000.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds
    return {"now": lambda: clock[0], "sleep": sleep}


def fetch_all(url, data, slept, max_attempts=5, **spec_changes):
    policy = RetryPolicy(max_attempts=max_attempts, jitter=lambda: 1.0, **fake_clock(slept))
    spec = demo_spec(url, **spec_changes)
    return [r for page in fetch_pages(spec, ApiTokenCredentials(token=data.token).auth(), policy)
            for r in page.records]


def test_429_waits_as_long_as_retry_after_asks_then_goes_on(vendor):
    url, data = vendor
    data.faults += [Fault(429, retry_after="7"), Fault(429, retry_after="7")]
    slept = []
    assert len(fetch_all(url, data, slept)) == 350
    assert slept == [7.0, 7.0]  # the vendor's wish beats the shorter backoff (0.5 s, 1 s)


def test_5xx_backs_off_exponentially_then_goes_on(vendor):
    url, data = vendor
    data.faults += [Fault(500), Fault(502), Fault(503)]
    slept = []
    assert len(fetch_all(url, data, slept)) == 350
    assert slept == [0.5, 1.0, 2.0]


def test_a_vendor_that_keeps_failing_fails_the_run_after_the_last_attempt(vendor):
    url, data = vendor
    data.faults += [Fault(503)] * 3
    slept = []
    with pytest.raises(VendorError) as caught:
        fetch_all(url, data, slept, max_attempts=3)
    assert str(caught.value) == ('Demo Asset Vendor answered HTTP 503 on /api/v1/assets after 3 attempts: '
                                 '{"error":"injected fault 503"}')
    assert slept == [0.5, 1.0]


def test_an_empty_error_body_leaves_no_dangling_colon(vendor):
    url, data = vendor
    data.faults += [Fault(502, body="")] * 2 + [Fault(400, body="  ")]
    with pytest.raises(VendorError) as caught:
        fetch_all(url, data, [], max_attempts=2)
    assert str(caught.value) == "Demo Asset Vendor answered HTTP 502 on /api/v1/assets after 2 attempts"
    with pytest.raises(VendorError) as caught:  # not retried: no count of attempts
        fetch_all(url, data, [])
    assert str(caught.value) == "Demo Asset Vendor answered HTTP 400 on /api/v1/assets"


def test_a_response_cut_off_mid_body_is_retried_then_named(vendor):
    url, data = vendor
    data.faults.append(Fault(200, cut_off=True))
    slept = []
    assert len(fetch_all(url, data, slept)) == 350 and slept == [0.5]

    data.faults += [Fault(200, cut_off=True)] * 3
    with pytest.raises(VendorError) as caught:
        fetch_all(url, data, [], max_attempts=3)
    assert str(caught.value) == "Demo Asset Vendor cut off the response on /api/v1/assets after 3 attempts"


def test_a_vendor_out_of_reach_is_still_called_so(vendor):
    url, data = vendor
    with pytest.raises(VendorError) as caught:
        fetch_all("http://127.0.0.1:9", data, [], max_attempts=2)
    assert str(caught.value) == "cannot reach Demo Asset Vendor at 127.0.0.1:9 (ConnectError) after 2 attempts"


def test_a_slow_vendor_is_retried_after_the_timeout(vendor):
    url, data = vendor
    data.faults.append(Fault(200, delay=1.0))
    slept = []
    request = {"base_url": url, "path": "/api/v1/assets", "timeout_seconds": 0.3}
    assert len(fetch_all(url, data, slept, request=request)) == 350
    assert slept == [0.5]


def test_malformed_json_and_html_are_named_not_retried(vendor):
    url, data = vendor
    data.faults.append(Fault(200, body='{"data": [unclosed'))
    with pytest.raises(VendorError, match="Demo Asset Vendor sent malformed JSON on /api/v1/assets"):
        fetch_all(url, data, [])
    data.faults.append(Fault(200, body="<html>Maintenance</html>", content_type="text/html"))
    with pytest.raises(VendorError) as caught:
        fetch_all(url, data, [])
    assert str(caught.value) == "expected JSON, got text/html from Demo Asset Vendor /api/v1/assets"


def test_faults_can_be_queued_over_http(vendor):
    url, data = vendor
    answer = httpx.post(f"{url}/admin/faults", json=[{"status": 429, "retry_after": "2"}],
                        headers={"Authorization": f"Bearer {data.token}"})
    assert answer.json() == {"queued": 1}
    slept = []
    assert len(fetch_all(url, data, slept)) == 350 and slept == [2.0]


class FakeClock:
    def __init__(self):
        self.time, self.slept = 1000.0, []

    def now(self):
        return self.time

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.time += seconds


def fetch_with_spec(url, data, clock, **spec_changes):
    spec = demo_spec(url, **spec_changes)
    policy = RetryPolicy.from_spec(spec.http, sleep=clock.sleep, now=clock.now, jitter=lambda: 1.0)
    return [r for page in fetch_pages(spec, ApiTokenCredentials(token=data.token).auth(), policy)
            for r in page.records]


def test_the_rate_limit_spaces_requests_out(vendor):
    url, data = vendor
    clock = FakeClock()
    assert len(fetch_with_spec(url, data, clock, http={"requests_per_second": 4})) == 350
    assert clock.slept == [0.25, 0.25, 0.25]  # four pages, a quarter second apart


def test_status_rules_retry_ignore_or_fail(vendor):
    url, data = vendor
    clock = FakeClock()
    data.faults.append(Fault(409))
    assert len(fetch_with_spec(url, data, clock, http={"status_rules": {409: "retry"}})) == 350
    assert clock.slept == [0.5]

    data.faults.append(Fault(429, retry_after="30"))
    with pytest.raises(VendorError, match="answered HTTP 429"):
        fetch_with_spec(url, data, FakeClock(), http={"status_rules": {429: "fail"}})

    data.faults.append(Fault(404))
    assert fetch_with_spec(url, data, FakeClock(), http={"status_rules": {404: "ignore"}}) == []


def test_retry_settings_come_from_the_spec(vendor):
    url, data = vendor
    clock = FakeClock()
    data.faults += [Fault(500)] * 2
    with pytest.raises(VendorError, match="answered HTTP 500"):
        fetch_with_spec(url, data, clock, http={"max_attempts": 2, "backoff_seconds": 3})
    assert clock.slept == [3.0]
