"""Several page requests in flight (`http.concurrency`), over real HTTP against the demo vendor on loopback.

Pages are read ahead on threads but used in order: every pagination style at concurrency 8 leaves
the hub's table equal to the vendor's records; a stop mid-flight neither loses nor repeats a
record; a Retry-After holds back every request of the read; the rate limit holds with 8 threads
sending, counted at the vendor.
"""

import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.demo import demo_spec
from ihub.vendor import Fault, Mutation, make_vendor, running_vendor
from models.engine import session
from models.integrations import onboard
from tasks.paginate import fetch_pages
from tests.conftest import stored_assets
from tests.test_pagination_styles import STYLES, example

OFFSET_WITHOUT_TOTAL = {"type": "offset", "limit": 100}


@pytest.fixture
def slow_vendor():
    """The demo vendor answering every request 20 ms late: several requests are really in flight at once."""
    data = make_vendor(assets=950, users=40, token="concurrency-token", latency=0.02)
    with running_vendor(data) as url:
        yield url, data


def read_all(spec, data) -> list:
    return [page for page in fetch_pages(spec, ApiTokenCredentials(token=data.token).auth())]


def vendor_rows(data) -> dict:
    """The vendor's assets as every example spec maps them: sync key -> name, serial, model."""
    return {str(a["id"]): (a["name"], a["serial"], a["model"]["name"]) for a in data.records["assets"]}


def hub_rows(integration_id) -> dict:
    return {key: (a.name, a.serial_number, a.model) for key, a in stored_assets(integration_id).items()}


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("style", ["offset", *STYLES])
def test_every_style_at_concurrency_8_leaves_the_table_equal_to_the_vendor(style, sqlite_url, slow_vendor):
    url, data = slow_vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    spec = demo_spec(url) if style == "offset" else example(style, url)
    spec.http.concurrency = 8
    with session() as db:
        integration = onboard(db, "acme", "vendor", "demo", style, spec)
    summary = sync_integration(f"acme/{style}")
    assert (summary.fetched, summary.inserted, summary.rejected) == (950, 950, 0)
    assert hub_rows(integration.id) == vendor_rows(data)
    assert sync_integration(f"acme/{style}").unchanged == 950  # and again: nothing new, nothing twice


def test_pages_read_ahead_with_a_total_are_each_read_once_and_nothing_logs_an_error(slow_vendor, caplog):
    url, data = slow_vendor
    spec = demo_spec(url)  # offset pages with the vendor's total: each answer sends the next guess
    spec.http.concurrency = 8
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            data.requests = 0
            pages = read_all(spec, data)
            assert [page.at for page in pages] == [f"offset {n}" for n in range(0, 950, 100)]
            assert data.requests == len(pages)  # the total bounds the guesses: none past the last page
    assert [record.getMessage() for record in caplog.records] == []  # e.g. "exception calling callback"


def test_a_page_answered_and_being_decoded_holds_no_request_slot(slow_vendor, monkeypatch):
    """At concurrency 2, while the pages answered are still being decoded (here: each waits until the
    requests two pages further on have gone out), the next requests go out: only unanswered requests
    count against the concurrency, not an answer its thread is still reading."""
    import tasks.paginate as paginate

    url, data = slow_vendor
    spec = demo_spec(url)  # pages of 100 with the vendor's total: 950 records, offsets 0 to 900
    spec.http.concurrency = 2
    sent, news, waited_in_vain = [], threading.Condition(), []
    real_send, real_decode = paginate.send, paginate.decode_json

    def send(client, request, *args):
        with news:
            sent.append(int(request.url.params["offset"]))
            news.notify_all()
        return real_send(client, request, *args)

    def decode(response, vendor):
        offset = int(response.request.url.params["offset"])
        if offset:  # the first page goes alone: the guesses follow once it is read
            with news:
                if not news.wait_for(lambda: max(sent) >= min(offset + 200, 900), timeout=3):
                    waited_in_vain.append(offset)
        return real_decode(response, vendor)

    monkeypatch.setattr(paginate, "send", send)
    monkeypatch.setattr(paginate, "decode_json", decode)
    pages = read_all(spec, data)
    assert [page.at for page in pages] == [f"offset {n}" for n in range(0, 950, 100)]
    assert waited_in_vain == []
    assert sorted(sent) == list(range(0, 950, 100))  # and each page asked for once


def test_a_short_page_mid_flight_stops_the_read_and_no_guess_beyond_it_is_read(slow_vendor):
    url, data = slow_vendor
    spec = demo_spec(url, pagination=OFFSET_WITHOUT_TOTAL)  # no total: only the short page at 900 ends it
    spec.http.concurrency = 8
    pages = read_all(spec, data)
    assert [page.at for page in pages] == [f"offset {n}" for n in range(0, 1000, 100)]
    ids = [record["id"] for page in pages for record in page.records]
    assert ids == [a["id"] for a in data.records["assets"]]  # each once, in order
    assert data.requests <= len(pages) + 7  # at most the 7 guesses in flight beyond the last page


def test_under_a_rate_limit_the_guesses_still_waiting_for_their_turn_are_not_sent_after_the_last_page(slow_vendor):
    url, data = slow_vendor
    # 5 a second: each guess waits its turn 200 ms after the one before; without a total, the guesses read
    # ahead reach past the short page at 900, and those still waiting when it is read are dropped unsent
    spec = demo_spec(url, pagination=OFFSET_WITHOUT_TOTAL, http={"requests_per_second": 5, "concurrency": 8})
    pages = read_all(spec, data)
    assert [page.at for page in pages] == [f"offset {n}" for n in range(0, 1000, 100)]
    assert data.requests <= len(pages) + 1  # at most the one whose turn came while the last page was read


def test_an_empty_page_mid_flight_ends_the_first_read_and_the_run_still_counts_each_record_once(
        sqlite_url, slow_vendor, prefect_server):
    url, data = slow_vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    spec = demo_spec(url, batch_records=200)
    spec.http.concurrency = 8
    with session() as db:
        integration = onboard(db, "acme", "vendor", "demo", "assets", spec)
    # the 4th request is one of the 8 in flight after the first page: its page comes back empty
    data.mutations.append(Mutation(before=data.requests + 4, fault=Fault(empty_page=True)))
    summary = sync_integration("acme/assets")
    assert summary.completeness.startswith("re-read the listing once: a page came back empty or short")
    assert (summary.fetched, summary.inserted, summary.updated, summary.unchanged) == (950, 950, 0, 0)
    assert hub_rows(integration.id) == vendor_rows(data)


def test_a_429_with_retry_after_while_8_are_in_flight_holds_every_request_back(monkeypatch):
    from tasks.http import RetryPolicy

    held_at = []  # when the hub read the 429 (a loaded machine can deliver it well after the vendor sent it)
    hold = RetryPolicy.hold

    def noted_hold(policy, seconds):
        held_at.append(time.monotonic())
        return hold(policy, seconds)

    monkeypatch.setattr(RetryPolicy, "hold", noted_hold)
    data = make_vendor(assets=4000, users=40, token="concurrency-token", latency=0.05)
    with running_vendor(data) as url:
        spec = demo_spec(url)
        spec.http.concurrency = 8
        data.mutations.append(Mutation(before=5, fault=Fault(429, retry_after="1")))
        started = time.monotonic()
        pages = read_all(spec, data)
    assert sum(len(page.records) for page in pages) == 4000
    assert len(data.arrivals) == 41 and len(held_at) == 1  # 40 pages, and the refused one again
    quiet = [at for at in data.arrivals if held_at[0] + 0.05 < at < held_at[0] + 0.95]
    assert quiet == []  # nothing sent by any thread while the vendor asked to wait
    assert len([at for at in data.arrivals if at >= held_at[0] + 0.95]) >= 20  # most of them after the wait
    assert time.monotonic() - started < 5


def test_the_rate_limit_holds_with_8_requests_in_flight(sent_times):
    sent = sent_times
    data = make_vendor(assets=3000, users=40, token="concurrency-token", latency=0.02)
    with running_vendor(data) as url:
        spec = demo_spec(url, http={"requests_per_second": 20, "concurrency": 8})
        pages = read_all(spec, data)
    assert sum(len(page.records) for page in pages) == 3000
    assert len(data.arrivals) == 30
    arrivals = sorted(sent)
    assert len(arrivals) == 30
    busiest = max(sum(1 for at in arrivals if start <= at < start + 1) for start in arrivals)
    assert busiest <= 21  # 20 a second, and the first of the next second at its very edge
    assert arrivals[-1] - arrivals[0] >= 29 / 20 * 0.95


def test_concurrency_is_4_by_default_and_1_to_32():
    assert demo_spec("http://127.0.0.1:9").http.concurrency == 4
    for wrong in (0, 33):
        with pytest.raises(Exception, match="http.concurrency"):
            demo_spec("http://127.0.0.1:9", http={"concurrency": wrong})


def test_the_vendors_latency_delays_every_answer_without_holding_up_the_others():
    # a latency long enough that a loaded machine's own delays (over a second seen) cannot pass for it
    data = make_vendor(assets=10, users=2, token="concurrency-token", latency=1.0)
    with running_vendor(data) as url, httpx.Client(headers={"Authorization": "Bearer concurrency-token"}) as client:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: client.get(f"{url}/api/v1/assets"), range(6)))
        took = time.monotonic() - started
    assert [answer.status_code for answer in answers] == [200] * 6
    assert 1.0 <= took < 3.5  # one after another they would take 6 s


def test_ihub_demo_vendor_takes_a_latency():
    command = [str(Path(sys.executable).parent / "ihub"), "demo-vendor", "--port", "0", "--assets", "5",
               "--users", "1", "--token", "cli-token", "--latency-ms", "250"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split("listening on", 1)[1].strip()
        deadline = time.monotonic() + 20
        while True:  # the port is bound before the server accepts on it
            started = time.monotonic()
            try:
                answer = httpx.get(f"{url}/api/v1/assets", headers={"Authorization": "Bearer cli-token"})
                break
            except httpx.ConnectError:
                assert started < deadline, "the demo vendor did not start"
                time.sleep(0.05)
        assert answer.status_code == 200 and len(answer.json()["data"]["assets"]) == 5
        assert time.monotonic() - started >= 0.25
    finally:
        process.terminate()
        process.wait(timeout=10)
