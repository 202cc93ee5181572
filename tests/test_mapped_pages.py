"""Pages mapped as they are read, and in the page worker processes for a big listing."""

import time

import orjson
import pytest

import tasks.mapped_pages as mapped_pages
from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.demo import DEMO_SPEC, demo_spec
from ihub.vendor import make_assets, make_users
from models.engine import get_engine
from models.errors import Invalid, VendorError
from models.spec import ConnectorSpec
from tasks.bind import bind_rows, dialect_name
from tasks.map import RecordMapper
from tasks.mapped_pages import WORKERS, PagePlan, can_map_pages, map_page
from tests.conftest import make_integration, stored_assets

SPEC = ConnectorSpec.from_yaml(DEMO_SPEC)
DIALECT = "sqlite+pysqlite"


def page_bytes(count=5, total=5):
    return orjson.dumps({"data": {"assets": make_assets(count, make_users(3))}, "meta": {"total": total}})


def request(content=None, content_type="application/json"):
    """What a page worker is sent: the spec, the dialect to bind the rows for, the page."""
    return (SPEC.model_dump_json(), DIALECT, page_bytes() if content is None else content, content_type,
            "/api/v1/assets")


def ready_worker():
    """The page workers started, and one of them ready."""
    WORKERS.submit(request())
    deadline = time.monotonic() + 30
    while not any(worker.ready.is_set() for worker in WORKERS.workers):
        assert time.monotonic() < deadline, "no page worker became ready in 30 s"
        time.sleep(0.01)
    return next(worker for worker in WORKERS.workers if worker.ready.is_set())


@pytest.fixture
def one_worker(monkeypatch):
    monkeypatch.setenv(mapped_pages.WORKERS_ENV, "1")
    WORKERS.stop()
    yield ready_worker()
    WORKERS.stop()


def test_a_big_listing_is_mapped_in_the_worker_and_stores_what_mapping_here_stores(
        prefect_server, sqlite_url, vendor, one_worker, monkeypatch):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, batch_records=120)
    monkeypatch.setattr(mapped_pages, "WORKER_RECORDS", 1)  # big from the first page on

    first = sync_integration("acme/assets")
    assert (first.fetched, first.inserted, first.pages) == (350, 350, 4)
    assert one_worker.answered >= 3  # the first page is mapped here, as it says the listing is big
    stored = stored_assets(integration.id)
    for record in data.records["assets"]:
        row = stored[str(record["id"])]
        assert (row.name, row.model, row.cost) == (record["name"], record["model"]["name"], record["purchase"]["cost"])
        assert row.purchased_at.date().isoformat() == record["purchase"]["date"]

    monkeypatch.setenv(mapped_pages.WORKERS_ENV, "0")
    WORKERS.stop()
    again = sync_integration("acme/assets")  # mapped and hashed here: the worker's digests are the same
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 350)


@pytest.mark.parametrize("target", ["asset", "person", "custom"])
def test_rows_bound_in_a_worker_are_what_the_upsert_binds_in_the_run(db_url, one_worker, target):
    spec = {"asset": SPEC,
            "person": demo_spec("http://x", target={"object": "person"},
                                mapping={"external_id": "id", "email": "serial", "title": "model.name"}),
            "custom": demo_spec("http://x", target={"object": "custom", "custom_type": "device"},
                                mapping={"external_id": "id", "model": "model", "cost": "purchase.cost",
                                         "bought": {"source": "purchase.date", "type": "date"}})}[target]
    dialect = dialect_name(get_engine().dialect)
    content = page_bytes(20, 20)
    future = one_worker.submit((spec.model_dump_json(), dialect, content, "application/json", "/x"))
    there = future.result(timeout=30).mapped.bound
    here = RecordMapper(spec).map(orjson.loads(content)["data"]["assets"])  # as map-records maps a batch
    in_the_run = bind_rows(here.rows, target, get_engine().dialect)
    assert len(there) == 20
    assert there.names == in_the_run.names
    assert plain(there.values) == plain(in_the_run.values)


def plain(rows: list[tuple]) -> list[tuple]:
    """Bound values to compare: psycopg's JSON wrapper compares by identity, its document by value."""
    return [tuple(getattr(value, "obj", value) for value in row) for row in rows]


def test_a_vendors_bad_page_fails_in_the_worker_with_the_words_it_has_here(one_worker):
    plan = PagePlan(SPEC, DIALECT)
    with pytest.raises(VendorError) as here:
        plan.map(b"<html>login</html>", "text/html", "/api/v1/assets")
    future = one_worker.submit(request(b"<html>login</html>", "text/html"))
    with pytest.raises(VendorError) as there:
        future.result(timeout=30)
    assert str(there.value) == str(here.value) == "expected JSON, got text/html from Demo Asset Vendor /api/v1/assets"


def test_a_page_whose_worker_died_is_mapped_here(one_worker):
    one_worker.process.kill()
    one_worker.process.wait()
    page = map_page(PagePlan(SPEC, DIALECT), SPEC.model_dump_json(), True, page_bytes(7, 7), "application/json",
                    "/api/v1/assets")
    assert page.size == 7 and len(page.mapped.bound) == 7
    assert all(len(values[-1]) == 32 for values in page.mapped.bound.values)  # each with its digest
    assert page.body == {"data": {"assets": []}, "meta": {"total": 7}}
    deadline = time.monotonic() + 10
    while not one_worker.ended:  # its answers' reader saw it end
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert WORKERS.submit(request()) is None  # a new one starts
    assert WORKERS.workers and one_worker not in WORKERS.workers


def test_the_number_of_workers_is_checked(monkeypatch):
    monkeypatch.setenv(mapped_pages.WORKERS_ENV, "two")
    with pytest.raises(Invalid, match="IHUB_PAGE_WORKERS must be a whole number of processes"):
        mapped_pages.worker_count()
    monkeypatch.setenv(mapped_pages.WORKERS_ENV, "0")
    assert mapped_pages.worker_count() == 0


def test_pages_are_mapped_apart_only_when_the_paginator_reads_nothing_among_the_records():
    assert can_map_pages(SPEC)
    cursor = SPEC.model_copy(update={"pagination": ConnectorSpec.model_validate(
        {**SPEC.model_dump(), "pagination": {"type": "cursor", "cursor_path": "data.assets[-1].id"}}).pagination})
    assert not can_map_pages(cursor)
    wildcard = ConnectorSpec.model_validate({**SPEC.model_dump(), "records": {"path": "$.data[*].assets"}})
    assert not can_map_pages(wildcard)


def test_a_worker_that_cannot_start_is_not_started_again(monkeypatch):
    monkeypatch.setattr(mapped_pages, "WORKERS", mapped_pages._Workers())
    monkeypatch.setattr(mapped_pages.sys, "executable", "/bin/false")  # ends at once, never ready
    monkeypatch.setenv(mapped_pages.WORKERS_ENV, "1")
    assert mapped_pages.WORKERS.submit(request()) is None
    (worker,) = mapped_pages.WORKERS.workers
    worker.process.wait(10)
    deadline = time.monotonic() + 10
    while not worker.ended:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert mapped_pages.WORKERS.submit(request()) is None
    assert mapped_pages.WORKERS.failed and mapped_pages.WORKERS.workers == []
    page = map_page(PagePlan(SPEC, DIALECT), SPEC.model_dump_json(), True, page_bytes(), "application/json",
                    "/x")  # mapped here
    assert len(page.mapped.bound) == 5
