"""Limit/offset pages from the demo vendor over real HTTP on loopback."""

import httpx
import pytest

from blocks import ApiTokenCredentials
from ihub.demo import demo_spec
from models.errors import CredentialsRejected, VendorError
from models.spec import ConnectorSpec, OffsetPagination
from tasks.http import RetryPolicy, retry_after_seconds
from tasks.paginate import OffsetPaginator, Page, PageRequest, Stop, batched, fetch_pages


def spec_for(base_url, **changes) -> ConnectorSpec:
    return demo_spec(base_url, **changes)


def auth(token):
    return ApiTokenCredentials(token=token).auth()


def test_offset_paginator_stops_at_total_on_short_or_empty_pages():
    paginator = OffsetPaginator(OffsetPagination(limit=2))
    first = paginator.first(PageRequest("http://x"))
    assert first.params == {"limit": 2, "offset": 0}
    second = paginator.next(first, Page([1, 2]), None, None)
    assert second.params["offset"] == 2
    assert paginator.next(second, Page([3]), None, None) is None  # short page, no total
    assert paginator.next(second, Page([]), None, None) is None
    assert paginator.next(second, Page([3, 4], total=4), None, None) is None  # reached the total
    # a vendor that caps the page below the limit still gets read to its total
    assert paginator.next(first, Page([1], total=5), None, None).params["offset"] == 1


def test_all_pages_stream_from_the_vendor(vendor):
    url, data = vendor
    pages = list(fetch_pages(spec_for(url, pagination={"type": "offset", "limit": 100, "total_path": "meta.total"}),
                             auth(data.token)))
    assert [len(p.records) for p in pages] == [100, 100, 100, 50]
    assert [r["id"] for p in pages for r in p.records] == [a["id"] for a in data.records["assets"]]
    assert pages[0].total == 350


def test_without_total_it_stops_on_the_short_page(vendor):
    url, data = vendor
    pages = list(fetch_pages(spec_for(url, pagination={"type": "offset", "limit": 60}), auth(data.token)))
    assert [len(p.records) for p in pages] == [60, 60, 60, 60, 60, 50]


def test_max_pages_caps_the_run(vendor):
    url, data = vendor
    spec = spec_for(url, pagination={"type": "offset", "limit": 100, "max_pages": 2})
    assert len(list(fetch_pages(spec, auth(data.token)))) == 2


def test_the_pages_say_where_they_are_and_the_generator_why_it_stopped(vendor):
    url, data = vendor
    pages = fetch_pages(spec_for(url, pagination={"type": "offset", "limit": 100, "max_pages": 2}), auth(data.token))
    assert [page.at for page in (next(pages), next(pages))] == ["offset 0", "offset 100"]
    with pytest.raises(StopIteration) as stopped:
        next(pages)
    assert stopped.value.value is Stop.max_pages
    assert list(fetch_pages(spec_for(url), auth(data.token)))[-1].at == "offset 300"


def test_a_wrong_token_says_the_credentials_were_rejected_without_showing_them(vendor):
    url, _ = vendor
    with pytest.raises(CredentialsRejected) as caught:
        list(fetch_pages(spec_for(url), auth("wrong-secret-token")))
    assert str(caught.value) == ("credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets): "
                                 "invalid or missing API token")
    assert "wrong-secret-token" not in str(caught.value)


def test_a_missing_record_path_names_the_path_and_the_keys_found(vendor):
    url, data = vendor
    with pytest.raises(VendorError) as caught:
        list(fetch_pages(spec_for(url, records={"path": "$.items"}), auth(data.token)))
    assert "record path '$.items' is not in the Demo Asset Vendor response; the response has: data, meta" in str(
        caught.value)


def test_an_unreachable_vendor_fails_after_its_retries_without_sleeping():
    slept = []
    policy = RetryPolicy(max_attempts=3, sleep=slept.append, jitter=lambda: 1.0)
    with pytest.raises(VendorError, match="cannot reach Demo Asset Vendor at 127.0.0.1:9 .* after 3 attempts"):
        list(fetch_pages(spec_for("http://127.0.0.1:9"), auth("t"), policy))
    assert slept == [0.5, 1.0]  # exponential backoff between the three attempts


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    def response(value):
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after_seconds(response("7"), now=lambda: 0) == 7
    assert retry_after_seconds(response("Thu, 01 Jan 1970 00:01:40 GMT"), now=lambda: 40) == 60
    assert retry_after_seconds(response("soon"), now=lambda: 0) is None
    policy = RetryPolicy(jitter=lambda: 1.0)
    assert policy.delay(1, response("30")) == 30  # the vendor asked for longer than the backoff


@pytest.mark.parametrize("placement", [
    {"placement": "header"},                                      # Authorization: Bearer <token>
    {"placement": "header", "prefix": "SSWS"},                    # Okta
    {"placement": "header", "header_name": "X-API-Key", "prefix": ""},
    {"placement": "query", "query_param": "api_key"},
])
def test_api_tokens_go_where_the_vendor_wants_them(vendor, placement):
    url, data = vendor
    spec = spec_for(url, pagination={"type": "offset", "limit": 100, "total_path": "meta.total"})
    assert sum(len(p.records) for p in fetch_pages(spec, ApiTokenCredentials(token=data.token, **placement).auth())) == 350
    with pytest.raises(CredentialsRejected) as caught:
        list(fetch_pages(spec, ApiTokenCredentials(token="leaked-if-shown", **placement).auth()))
    assert "leaked-if-shown" not in str(caught.value) and "?" not in str(caught.value)


def test_the_token_auth_repr_hides_the_token():
    auth = ApiTokenCredentials(token="s3cr3t-value").auth()
    assert "s3cr3t-value" not in repr(auth)
    assert "s3cr3t-value" not in repr(ApiTokenCredentials(token="s3cr3t-value"))


def test_a_filter_in_the_record_path_keeps_only_matching_records(vendor):
    url, data = vendor
    spec = spec_for(url, records={"path": "data.assets", "filter": "@.status != 'retired'"},
                    pagination={"type": "offset", "limit": 100})  # short pages after the filter: not the end
    kept = [r["id"] for page in fetch_pages(spec, auth(data.token)) for r in page.records]
    assert kept == [a["id"] for a in data.records["assets"] if a["status"] != "retired"]
    assert 0 < len(kept) < 350


def test_wildcards_in_the_record_path_collect_from_nested_lists():
    from models.paths import compile_path
    from tasks.mapped_pages import records_in

    body = {"groups": [{"members": [{"id": 1}, {"id": 2}]}, {"members": [{"id": 3}]}, {"members": []}]}
    spec = spec_for("http://x", records={"path": "$.groups[*].members[*]"})
    assert [r["id"] for r in records_in(body, compile_path(spec.records.path), spec)] == [1, 2, 3]


def test_batches_fill_while_the_vendor_keeps_up_and_close_early_while_it_is_awaited():
    def pages(count, vendor_seconds, records=500):
        return iter([Page(list(range(records)), vendor_seconds=vendor_seconds) for _ in range(count)])

    # 2 ms a page of 500 is 4 µs a record: quicker than the records are written, so batches fill
    assert [len(batch.records) for batch in batched(pages(50, 0.002), 10_000)] == [10_000, 10_000, 5_000]
    # 50 ms a page: a batch is written once it holds 2,500 records
    assert [(len(b.records), b.pages) for b in batched(pages(11, 0.05), 10_000)] == [(2500, 5), (2500, 5), (500, 1)]
    # however slow the vendor, a smaller batch is not written on its own, and a spec's smaller batches stay
    assert [len(b.records) for b in batched(pages(12, 1.0, records=200), 10_000)] == [2400]
    assert [len(b.records) for b in batched(pages(4, 1.0, records=100), 120)] == [200, 200]
