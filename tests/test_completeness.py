"""A run either reads every record the vendor has or says it did not (tasks/completeness.py).

The check on its own first, then a fault matrix over real HTTP through the sync flow: the demo
vendor on loopback answers an empty page, or has records inserted, deleted or updated while a
run reads it (`data.mutations`, made just before the Nth request). After each run the hub's
table is compared with the vendor's records, keys and values, exactly.
"""

import pytest
from sqlmodel import select

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.demo import demo_spec
from ihub.vendor import Fault, Mutation
from models.config import Integration
from models.engine import session
from models.integrations import save_sync_state
from models.logs import ActionLog, ActionStatus
from models.spec import CursorPagination, NoPagination, OffsetPagination, PagePagination
from tasks.completeness import CompletenessCheck
from tasks.paginate import OffsetPaginator, Page, PagePaginator, PageRequest, Stop, fetch_pages
from tests.conftest import make_integration, stored_assets

OFFSET = OffsetPagination(limit=100, total_path="meta.total")


def pages(*sizes, total=None, totals=None, at="offset", stop=Stop.end, start_key=0):
    """Pages of `sizes` records with consecutive keys, as `fetch_pages` yields them."""
    totals = totals or [total] * len(sizes)
    key = start_key
    made = []
    for number, (size, page_total) in enumerate(zip(sizes, totals)):
        records = [{"id": key + n} for n in range(size)]
        key += size
        made.append(Page(records, page_total, at=f"{at} {sum(sizes[:number])}" if at == "offset" else f"page {number + 1}"))

    def generate():
        yield from made
        return stop

    return generate()


def read(check, pages_, keys=None):
    """Run one read of `pages_` through `check`, telling it each record's key (its id, or `keys(record)`)."""
    for page in check.watch(pages_):
        check.read(str(record["id"]) if keys is None else keys(record) for record in page.records)


def test_a_read_that_adds_up_to_the_total_is_proven():
    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 100, 50, total=350))
    assert check.verdict().proven


def test_an_empty_page_before_the_total_is_incomplete_and_says_where():
    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 100, 100, 0, total=2500))
    verdict = check.verdict()
    assert (verdict.proven, verdict.incomplete) == (False, True)
    assert verdict.reason == ("read 400 distinct records of the 2500 the vendor reports; "
                              "an empty page came back at offset 400")
    assert verdict.cause == "a page came back empty or short"


def test_a_total_that_changes_during_the_run_is_incomplete_even_when_the_count_agrees():
    # one record deleted behind the offset: the next page starts one record later, so one is skipped,
    # while the deleted record was read: 349 distinct records of the 349 the vendor reports at the end
    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 100, 49, totals=[350, 349, 349, 349]))
    verdict = check.verdict()
    assert verdict.incomplete
    assert verdict.reason == "the vendor's total changed during the run, from 350 to 349"
    assert verdict.cause == "the vendor's records shifted during the run"


def test_short_pages_size_changes_and_too_many_pages_are_named():
    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 60, 100, 90, total=350))
    assert check.verdict().reason == ("a short page (60 of 100 records) came back at offset 100 before the end")

    check = CompletenessCheck(OFFSET)
    read(check, pages(50, 100, 100, 100, total=350))
    assert check.verdict().reason == "the page size changed from 50 to 100 at offset 50"

    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 100, 100, 50, total=350), keys=lambda record: str(record["id"] % 350))
    assert check.verdict().reason == "read 5 pages where the 350 records fill 4"


def test_a_vendor_that_caps_every_page_below_the_limit_is_still_proven():
    check = CompletenessCheck(OFFSET)  # asked for 100, got 50 a page: the offset moves by what came
    read(check, pages(*[50] * 7, total=350))
    assert check.verdict().proven


def test_records_the_filter_drops_and_records_without_a_key_count_towards_the_total():
    def filtered():  # the spec's filter left the first 10 records of each page out
        for page in pages(100, 100, 100, 50, total=350):
            yield Page(page.records[10:], page.total, size=len(page.records), at=page.at)
        return Stop.end

    check = CompletenessCheck(OFFSET)
    for page in check.watch(filtered()):
        check.read([None] * 5 + [str(record["id"]) for record in page.records[5:]])  # 5 rejected without a key
    assert check.verdict().proven
    assert (check.passes[0].dropped, check.passes[0].unkeyed) == (40, 20)


def test_without_a_total_offset_and_page_runs_are_not_proven_but_not_incomplete():
    for pagination in (OffsetPagination(limit=100), PagePagination(size=100, total_pages_path="pages")):
        check = CompletenessCheck(pagination)
        read(check, pages(100, 100, 100, 50))
        verdict = check.verdict()
        assert (verdict.proven, verdict.incomplete) == (False, False)
        assert verdict.reason.endswith("cannot prove a run read every record without the vendor's total; "
                                       "set pagination.total_path (or total_header)")


def test_cursor_and_single_page_runs_trust_the_vendors_end_unless_an_empty_page_came_first():
    cursor = CursorPagination(cursor_path="next")
    check = CompletenessCheck(cursor)
    read(check, pages(100, 100, 0, at="page"))  # the last page may be empty: nothing more to say
    assert check.verdict().proven
    check = CompletenessCheck(cursor)
    read(check, pages(100, 0, 100, at="page"))
    verdict = check.verdict()
    assert (verdict.proven, verdict.incomplete) == (False, False)
    assert verdict.reason == "an empty page came back at page 2 before the vendor's last page"
    check = CompletenessCheck(NoPagination())
    read(check, pages(350, at="page"))
    assert check.verdict().proven


def test_max_pages_is_never_proven():
    check = CompletenessCheck(OffsetPagination(limit=100, total_path="meta.total", max_pages=2))
    read(check, pages(100, 100, total=350, stop=Stop.max_pages))
    assert check.verdict().reason == ("the run stopped at pagination.max_pages (2 pages) "
                                      "and may not have seen every record")


def test_a_reread_that_adds_up_on_its_own_or_with_the_first_read_proves_the_run():
    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 0, total=350))
    read(check, pages(100, 100, 100, 50, total=350))
    assert check.verdict().proven

    # each read skipped a different record of a listing whose total never changed: together they read all
    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 100, 50, total=350), keys=lambda record: str(record["id"] if record["id"] else 7))
    read(check, pages(100, 100, 100, 50, total=350), keys=lambda record: str(record["id"] if record["id"] != 7 else 0))
    assert (len(check.passes[0].keys), len(check.passes[1].keys)) == (349, 349)
    assert check.verdict().proven

    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 0, total=350))
    read(check, pages(100, 0, total=350))
    verdict = check.verdict()
    assert verdict.incomplete
    assert verdict.reason == ("read 200 distinct records of the 350 the vendor reports; "  # both reads together
                              "an empty page came back at offset 100")


def test_deletions_go_by_the_reread_when_it_adds_up_on_its_own():
    check = CompletenessCheck(OFFSET)
    read(check, pages(100, 100, 100, 49, totals=[350, 349, 349, 349]))  # read key 5 before it was deleted
    read(check, pages(100, 100, 100, 49, total=349, start_key=1))
    assert check.verdict().proven
    assert "0" not in check.keys_at_the_vendor() and "0" in check.keys_read()


def test_the_stable_sort_is_sent_with_every_page():
    sort = {"sort": {"param": "sort", "value": "updated_at,id"}}
    offset = OffsetPaginator(OffsetPagination(limit=2, total_path="t", **sort))
    first = offset.first(PageRequest("http://x"))
    second = offset.next(first, Page([1, 2], total=5), None, None)
    assert first.params == {"sort": "updated_at,id", "limit": 2, "offset": 0}
    assert second.params == {"sort": "updated_at,id", "limit": 2, "offset": 2}
    paged = PagePaginator(PagePagination(size=2, total_path="t", location="body", **sort))
    first = paged.first(PageRequest("http://x"))
    assert paged.next(first, Page([1, 2], total=5), None, None).json == {"sort": "updated_at,id", "page": 2,
                                                                         "per_page": 2}


def test_a_sort_is_validated_where_it_is_given():
    from models.spec import SpecError

    with pytest.raises(SpecError, match="sort.param 'offset' is already the offset_param"):
        demo_spec("http://x", pagination={"type": "offset", "sort": {"param": "offset", "value": "id"}})
    with pytest.raises(SpecError, match="pagination.sort: 'sort' is also set in the request; give the order in one"):
        demo_spec("http://x", pagination={"type": "page", "sort": {"param": "sort", "value": "id"}},
                  request={"base_url": "http://x", "params": {"sort": "name"}})
    with pytest.raises(SpecError, match="sort: is not a known field"):
        demo_spec("http://x", pagination={"type": "cursor", "cursor_path": "next", "sort": {"param": "s", "value": "id"}})


def test_the_vendor_orders_by_the_sort_asked_and_an_updated_record_moves_to_the_end(vendor):
    url, data = vendor
    spec = demo_spec(url, pagination={"type": "offset", "limit": 100, "total_path": "meta.total",
                                      "sort": {"param": "sort", "value": "updated_at,id"}})
    data.mutations.append(Mutation(before=data.requests + 2, touch=5))
    ids = [record["id"] for page in fetch_pages(spec, ApiTokenCredentials(token=data.token).auth())
           for record in page.records]
    # asset 5 moved to the end after the first page: the second page starts one record later
    assert ids == [*range(1, 101), *range(102, 351), 5]


# --- the fault matrix, over HTTP through the sync flow ---------------------------------------------

ALL = ["created", "updated", "deleted"]


def vendor_table(data):
    """The vendor's assets as the demo mapping puts them in the hub: sync key -> the mapped values."""
    return {str(a["id"]): (a["asset_tag"], a["name"], a["serial"], a["model"]["name"], a["model"]["manufacturer"],
                           a["model"]["category"], a["status"], (a["assignee"] or {}).get("email"),
                           a["location"]["site"], a["purchase"]["date"], a["purchase"]["cost"])
            for a in data.records["assets"]}


def hub_table(integration_id):
    return {key: (a.asset_tag, a.name, a.serial_number, a.model, a.manufacturer, a.category, a.status, a.assigned_to,
                  a.location, a.purchased_at.date().isoformat(), a.cost)
            for key, a in stored_assets(integration_id).items() if a.deleted_at is None}


def last_log(integration_id):
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)
                       .order_by(ActionLog.id.desc())).first()


def failures(integration_id):
    with session() as db:
        return db.get(Integration, integration_id).consecutive_failures


@pytest.fixture
def hub(sqlite_url, vendor, prefect_server):
    """The demo integration with every update type ("deleted" removes), synced once: the hub equals the vendor."""
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)

    def integration(**spec_changes):
        # the faults name the vendor's Nth request: one page request at a time makes it the Nth page
        made = make_integration(url, batch_records=120, http={"concurrency": 1}, **spec_changes)
        with session() as db:
            row = db.get(Integration, made.id)
            row.update_types, row.deleted_mode = ALL, "remove"
            db.add(row)
            db.commit()
        assert sync_integration("acme/assets").inserted == 350
        assert hub_table(made.id) == vendor_table(data)
        return made

    return integration, url, data


def request(data, n):
    """The number of the vendor's nth request from now."""
    return data.requests + n


UPDATED_ORDER = {"type": "offset", "limit": 100, "total_path": "meta.total",
                 "sort": {"param": "sort", "value": "updated_at,id"}}


SHIFTED = "re-read the listing once: the vendor's records shifted during the run ({}); read twice, it adds up"


@pytest.mark.parametrize("pagination, mutations, counts, message", [
    pytest.param(None, lambda d: [Mutation(request(d, 3), fault=Fault(empty_page=True))], (350, 7, 0, 0),
                 "re-read the listing once: a page came back empty or short (read 200 distinct records of the 350 "
                 "the vendor reports; an empty page came back at offset 200); read twice, it adds up",
                 id="empty page once"),
    pytest.param(None, lambda d: [Mutation(request(d, 3), insert_at=0)], (352, 8, 1, 0),
                 SHIFTED.format("read 350 distinct records of the 351 the vendor reports; "
                                "the vendor's total changed during the run, from 350 to 351"),
                 id="insert behind the offset"),
    pytest.param(None, lambda d: [Mutation(request(d, 2), insert_at=340)], (351, 8, 1, 0),
                 SHIFTED.format("the vendor's total changed during the run, from 350 to 351"),
                 id="insert ahead of the offset"),
    pytest.param(None, lambda d: [Mutation(request(d, 2), delete_at=4)], (350, 8, 0, 1),
                 SHIFTED.format("the vendor's total changed during the run, from 350 to 349"),
                 id="delete behind the offset"),
    pytest.param(None, lambda d: [Mutation(request(d, 2), delete_at=300)], (349, 8, 0, 1),
                 SHIFTED.format("the vendor's total changed during the run, from 350 to 349"),
                 id="delete ahead of the offset"),
    pytest.param(UPDATED_ORDER, lambda d: [Mutation(request(d, 2), touch=5, changes={"name": "Renamed 5"})],
                 (351, 8, 0, 0), SHIFTED.format("read 349 distinct records of the 350 the vendor reports"),
                 id="update moves a record to the end"),
])
def test_a_run_that_does_not_add_up_reads_again_and_then_equals_the_vendor(hub, pagination, mutations, counts,
                                                                          message):
    make, url, data = hub
    integration = make(**({"pagination": pagination} if pagination else {}))
    data.mutations += mutations(data)
    summary = sync_integration("acme/assets")
    log = last_log(integration.id)
    assert log.status == ActionStatus.completed
    assert log.message.endswith(message)
    assert hub_table(integration.id) == vendor_table(data)  # keys and values; the deleted record removed
    # fetched: the first read's records (one twice when a shift made it read one again) and those the
    # re-read found that the first had not; pages: both reads'
    assert (summary.fetched, summary.pages, summary.inserted, summary.deleted) == counts


def test_an_empty_page_in_both_reads_ends_incomplete_keeps_everything_and_counts_as_a_failure(hub):
    make, url, data = hub
    integration = make()
    data.mutations += [Mutation(request(data, 3), fault=Fault(empty_page=True)),   # first read, page 3
                       Mutation(request(data, 6), fault=Fault(empty_page=True))]   # the re-read, page 3
    state = sync_integration("acme/assets", return_state=True)
    assert state.is_failed()
    log = last_log(integration.id)
    assert log.status == ActionStatus.incomplete
    assert log.message == ("incomplete: read 200 distinct records of the 350 the vendor reports; an empty page came "
                           "back at offset 200; read twice, the listing still does not add up; what was written is "
                           "kept (0 inserted, 0 updated), no records deleted")
    assert state.message.endswith(log.message)
    assert hub_table(integration.id) == vendor_table(data)  # "deleted" removed none of the 150 it did not see
    assert failures(integration.id) == 1
    assert sync_integration("acme/assets").fetched == 350  # the vendor is well again: a plain run
    assert failures(integration.id) == 0


def test_a_delete_in_both_reads_ends_incomplete_and_the_next_run_heals(hub):
    make, url, data = hub
    integration = make()
    data.mutations += [Mutation(request(data, 2), delete_at=4), Mutation(request(data, 6), delete_at=4)]
    assert sync_integration("acme/assets", return_state=True).is_failed()
    log = last_log(integration.id)
    assert log.status == ActionStatus.incomplete
    assert log.message.startswith("incomplete: read 350 distinct records, more than the 348 the vendor reports; "
                                  "the vendor's total changed during the run, from 349 to 348; read twice")
    assert set(hub_table(integration.id)) > set(vendor_table(data))  # nothing removed after an incomplete run
    assert sync_integration("acme/assets").deleted == 2
    assert hub_table(integration.id) == vendor_table(data)


def test_page_numbers_with_a_persistent_empty_page_end_incomplete(hub):
    make, url, data = hub
    integration = make(request={"base_url": url, "path": "/api/pages/assets"}, records={"path": "items"},
                       pagination={"type": "page", "size": 100, "total_path": "total"})
    data.mutations += [Mutation(request(data, 2), fault=Fault(empty_page=True)),
                       Mutation(request(data, 4), fault=Fault(empty_page=True))]
    assert sync_integration("acme/assets", return_state=True).is_failed()
    log = last_log(integration.id)
    assert (log.status, log.deleted) == (ActionStatus.incomplete, 0)
    assert log.message.startswith("incomplete: read 100 distinct records of the 350 the vendor reports; "
                                  "an empty page came back at page 2")
    assert hub_table(integration.id) == vendor_table(data)


def test_a_cursor_run_with_an_empty_page_before_the_end_deletes_nothing(hub):
    make, url, data = hub
    integration = make(request={"base_url": url, "path": "/api/cursor/assets"}, records={"path": "results"},
                       pagination={"type": "cursor", "cursor_path": "next_cursor", "has_more_path": "has_more",
                                   "size": 100})
    data.records["assets"][:] = [a for a in data.records["assets"] if a["id"] != 7]  # gone at the vendor
    data.mutations.append(Mutation(request(data, 2), fault=Fault(empty_page=True)))
    summary = sync_integration("acme/assets")
    assert (summary.fetched, summary.deleted) == (249, 0)
    assert last_log(integration.id).message.endswith(
        "no records deleted: an empty page came back at page 2 before the vendor's last page")
    assert set(hub_table(integration.id)) == set(vendor_table(data)) | {"7"}


def test_offset_pages_without_a_total_delete_nothing_and_say_what_to_set(hub):
    make, url, data = hub
    integration = make(pagination={"type": "offset", "limit": 100})
    data.records["assets"][:] = [a for a in data.records["assets"] if a["id"] != 7]
    data.rendered.clear()
    summary = sync_integration("acme/assets")
    assert summary.deleted == 0
    assert last_log(integration.id).message.endswith(
        "no records deleted: offset pagination cannot prove a run read every record without the vendor's total; "
        "set pagination.total_path (or total_header)")
    assert set(hub_table(integration.id)) == set(vendor_table(data)) | {"7"}


# --- incremental runs --------------------------------------------------------------------------------

INCREMENTAL = {"cursor_field": "updated_at", "param": "updated_since"}


def stored_cursor(integration_id):
    with session() as db:
        return (db.get(Integration, integration_id).sync_state or {}).get("cursor")


def test_a_run_that_cannot_prove_it_read_everything_keeps_the_incremental_cursor(hub):
    make, url, data = hub
    integration = make(pagination={"type": "offset", "limit": 100}, incremental=INCREMENTAL)  # no total_path
    log = last_log(integration.id)
    assert log.status == ActionStatus.completed
    assert log.message == ("fetched 350 records in 4 pages: 350 inserted, 0 updated, 0 unchanged, 0 rejected; "
                           "no records deleted and the incremental cursor was not moved: offset pagination cannot "
                           "prove a run read every record without the vendor's total; set pagination.total_path "
                           "(or total_header)")
    assert stored_cursor(integration.id) is None


@pytest.fixture
def halfway(hub):
    """An incremental integration whose last run got to asset 100: the next run lists assets 100-350
    by updated_at, and asset 200, changed at the vendor since, is the one a shift makes a run skip."""
    make, url, data = hub
    integration = make(incremental=INCREMENTAL)
    cursor = data.records["assets"][99]["updated_at"]
    save_sync_state(integration.id, {"cursor": cursor})
    data.records["assets"][199]["name"] = "Changed at the vendor"
    return integration, data, cursor


def test_a_record_a_shift_made_the_run_skip_is_read_by_the_reread_and_the_cursor_moves(halfway):
    integration, data, cursor = halfway
    data.mutations.append(Mutation(request(data, 2), touch=110, changes={"name": "Renamed 110"}))
    summary = sync_integration("acme/assets")
    assert last_log(integration.id).status == ActionStatus.completed
    assert "re-read the listing once: the vendor's records shifted during the run" in summary.message()
    assert hub_table(integration.id) == vendor_table(data)
    assert stored_cursor(integration.id) == data.find("assets", 110)["updated_at"]


def test_a_record_a_shift_made_the_run_skip_is_read_by_the_next_incremental_run(halfway):
    integration, data, cursor = halfway
    data.mutations += [Mutation(request(data, 2), touch=110, changes={"name": "Renamed 110"}),
                       Mutation(request(data, 4), fault=Fault(empty_page=True))]  # the re-read gets nothing
    assert sync_integration("acme/assets", return_state=True).is_failed()
    log = last_log(integration.id)
    assert log.status == ActionStatus.incomplete
    assert log.message == ("incomplete: read 250 distinct records of the 251 the vendor reports; an empty page came "
                           "back at offset 0; read twice, the listing still does not add up; what was written is kept "
                           "(0 inserted, 1 updated), the incremental cursor was not moved")
    assert stored_cursor(integration.id) == cursor  # not past asset 200, which the run never read
    assert stored_assets(integration.id)["200"].name != "Changed at the vendor"

    summary = sync_integration("acme/assets")
    assert (summary.fetched, summary.updated) == (251, 1)  # asset 200 at last
    assert hub_table(integration.id) == vendor_table(data)
    assert stored_cursor(integration.id) == data.find("assets", 110)["updated_at"]
