"""Dependent (parent-child) streams, over real HTTP against the demo vendor on loopback: a group's
members read once per group (`ihub/connectors/demo-vendor-group-members.yaml`), compared with the
vendor's data group by group, through failures, concurrency, re-syncs and deletions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.demo import demo_spec
from ihub.vendor import Fault, make_vendor, running_vendor
from models.config import Integration
from models.engine import session
from models.integrations import onboard
from models.logs import ActionLog, ActionStatus
from models.records import CustomRecord
from models.spec import ConnectorSpec, SpecError
from tests.test_run_story import run_log_lines

SPEC = Path(__file__).parents[1] / "ihub" / "connectors" / "demo-vendor-group-members.yaml"
FAST_HTTP = {"max_attempts": 2, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05}
BY_CURSOR = {  # the members paged by a cursor in the body instead of page numbers
    "pagination": {"type": "cursor", "cursor_path": "next_cursor", "size": 10, "size_param": "limit"},
    "records": {"path": "$.results"},
}


@pytest.fixture
def groups():
    """The demo vendor with 30 groups of up to 25 members (every seventh group empty), answering 10 ms late."""
    data = make_vendor(assets=5, users=60, token="groups-token", latency=0.01)
    with running_vendor(data) as url:
        ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
        yield url, data


def members_spec(url: str, paging: str = "page", **changes) -> ConnectorSpec:
    spec = demo_spec(url, SPEC, **changes, **(BY_CURSOR if paging == "cursor" else {}))
    if paging == "cursor":
        spec.request.path = "/api/cursor/groups/{parent.id}/members"
    return spec


def onboarded(spec: ConnectorSpec, name: str = "members", types=None) -> int:
    with session() as db:
        integration = onboard(db, "acme", "vendor", "demo", name, spec)
        if types is not None:
            integration.update_types = types
            db.add(integration)
            db.commit()
        return integration.id


def hub_members(integration_id: int) -> dict[str, dict]:
    """The hub's memberships that are not marked deleted, by sync key."""
    with session() as db:
        rows = db.exec(select(CustomRecord).where(CustomRecord.integration_id == integration_id)).all()
        return {row.sync_key: row.data for row in rows if row.deleted_at is None}


def vendor_members(data) -> dict[str, dict]:
    """Every group's members as the example spec maps them."""
    names = {group["id"]: group["name"] for group in data.records["groups"]}
    return {f"{group}:{member['id']}": {
        "group_id": group, "group_name": names[group], "user_id": member["id"], "email": member["email"],
        "display_name": f"{member['name']['first']} {member['name']['last']}", "role": member["role"],
        "updated_at": member["updated_at"]}
        for group, members in data.members.items() if group in names for member in members}


def last_log(integration_id: int) -> ActionLog:
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)
                       .order_by(ActionLog.id.desc())).first()


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("paging", ["page", "cursor"])
def test_every_groups_members_land_as_the_vendor_has_them_and_a_resync_writes_nothing(paging, sqlite_url, groups):
    url, data = groups
    integration = onboarded(members_spec(url, paging))
    expected = vendor_members(data)
    assert any(not data.members[group] for group in data.members)  # groups without members are part of it

    summary = sync_integration("acme/members")

    assert (summary.fetched, summary.inserted, summary.rejected) == (len(expected), len(expected), 0)
    assert hub_members(integration) == expected  # include_from_parent: group_id and group_name from the group
    assert last_log(integration).status == ActionStatus.completed and not summary.completeness
    again = sync_integration("acme/members")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(expected))


@pytest.mark.usefixtures("prefect_server")
def test_the_run_log_tells_the_parents_and_a_line_per_batch_of_them(sqlite_url, groups):
    url, data = groups
    onboarded(members_spec(url, batch_records=100))
    state = sync_integration("acme/members", return_state=True)
    infos = [message for level, message in run_log_lines(state) if level == "INFO"]
    start = next(message for message in infos if message.startswith("Import group_member of acme/members"))
    assert f"GET {url}/api/v1/groups/{{parent.id}}/members for each group of GET /api/v1/groups" in start
    parent_batches = [message for message in infos if message.startswith("members of ")]
    assert parent_batches[0].startswith("members of ") and " groups (group 1 … group " in parent_batches[0]
    told = sum(int(line.split(": ")[1].split(" members")[0]) for line in parent_batches)
    assert told == len(vendor_members(data)) and len(parent_batches) >= 3


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("fault", [404, 500])
def test_a_failing_group_fails_the_run_naming_it_and_nothing_is_lost_or_deleted(fault, sqlite_url, groups):
    url, data = groups
    integration = onboarded(members_spec(url, http={**FAST_HTTP, "concurrency": 4}),
                            types=["created", "updated", "deleted"])
    before = sync_integration("acme/members")
    assert before.inserted == len(vendor_members(data))
    kept = hub_members(integration)

    data.members[3].pop()  # a member gone: the failed run must not judge it
    if fault == 404:
        del data.members[5]  # listed, but its members answer 404 (deleted in between)
    else:
        data.group_faults[5] = Fault(500)
    state = sync_integration("acme/members", return_state=True)

    assert state.is_failed()
    log = last_log(integration)
    words = {404: "Demo Asset Vendor answered HTTP 404 on /api/v1/groups/5/members: {\"error\":\"no such group: 5\"}",
             500: "Demo Asset Vendor answered HTTP 500 on /api/v1/groups/5/members after 2 attempts"}[fault]
    assert log.status == ActionStatus.failed and log.message.startswith(f"members of group 5: {words}")
    assert hub_members(integration) == kept  # no deletion applied, nothing lost


@pytest.mark.usefixtures("prefect_server")
def test_deleted_members_and_the_members_of_a_deleted_group_are_marked_after_a_complete_run(sqlite_url, groups):
    url, data = groups
    integration = onboarded(members_spec(url), types=["created", "updated", "deleted"])
    sync_integration("acme/members")
    gone = data.members[3].pop(1)
    dropped = data.records["groups"].pop(1)  # group 2 and its members are gone
    summary = sync_integration("acme/members")
    assert summary.deleted == 1 + len(data.members[2])
    assert hub_members(integration) == vendor_members(data)
    assert f"3:{gone['id']}" not in hub_members(integration) and dropped["id"] == 2


@pytest.mark.usefixtures("prefect_server")
def test_members_that_cannot_be_proven_whole_are_not_judged_deleted(sqlite_url, groups):
    url, data = groups
    spec = members_spec(url)
    spec.pagination.total_path = None  # page numbers without the total prove nothing
    integration = onboarded(spec, types=["created", "updated", "deleted"])
    sync_integration("acme/members")
    data.members[3].pop()
    summary = sync_integration("acme/members")
    assert summary.deleted == 0 and len(hub_members(integration)) == len(vendor_members(data)) + 1
    assert summary.deletions_skipped.startswith(
        "no records deleted: members of group 1: page pagination cannot prove a run read every record")
    assert "(and 29 more groups)" in summary.deletions_skipped


@pytest.mark.usefixtures("prefect_server")
def test_eight_groups_at_once_keep_the_rate_limit_and_give_the_same_table(sqlite_url, sent_times):
    sent = sent_times
    data = make_vendor(assets=5, users=60, token="groups-token", latency=0.03)
    with running_vendor(data) as url:
        ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
        one = onboarded(members_spec(url, http={"concurrency": 1}), name="one-by-one")
        eight = onboarded(members_spec(url, http={"concurrency": 8, "requests_per_second": 40}), name="eight")
        sync_integration("acme/one-by-one")
        data.arrivals.clear()
        sent.clear()
        summary = sync_integration("acme/eight")
    assert hub_members(eight) == hub_members(one) == vendor_members(data)
    assert summary.inserted == len(vendor_members(data))
    assert len(sent) == len(data.arrivals)
    arrivals = sorted(sent)
    busiest = max(sum(1 for at in arrivals if start <= at < start + 1) for start in arrivals)
    assert busiest <= 41  # 40 a second, and the first of the next second at its very edge
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) / 40 * 0.95


@pytest.mark.usefixtures("prefect_server")
def test_incremental_state_moves_for_the_members_and_the_groups_are_read_whole(sqlite_url, groups):
    url, data = groups
    integration = onboarded(members_spec(url, incremental={"cursor_field": "updated_at", "param": "updated_since"}))
    first = sync_integration("acme/members")
    newest = max(member["updated_at"] for members in data.members.values() for member in members)
    with session() as db:
        assert db.get(Integration, integration).sync_state == {"cursor": newest}
    data.members[4][0]["updated_at"] = "2026-01-01T00:00:00Z"
    data.members[4][0]["role"] = "admin"
    second = sync_integration("acme/members")
    assert first.fetched == len(vendor_members(data))
    assert (second.fetched, second.updated) == (2, 1)  # the newest one again (sent with >=), and the changed one
    assert hub_members(integration)[f"4:{data.members[4][0]['id']}"]["role"] == "admin"


@pytest.mark.parametrize("change, problem", [
    ({"parent": None}, "request.path: {parent.id} needs a parent stream: declare it under parent:"),
    ({"request": {"base_url": "http://x.example", "path": "/api/v1/groups/1/members"}},
     "parent: the request takes nothing from the parent record, so every parent would send the same request; "
     "put {parent.<field>} in request.path, params or body"),
    ({"request": {"base_url": "http://x.example", "path": "/api/v1/groups/{parent.tags[*]}/members"}},
     "request.path: {parent.tags[*]} must name one field of the parent record"),
    ({"include_from_parent": ["owners[*].id"]}, "include_from_parent: 'owners[*].id' must name one field"),
    ({"parent": {"request": {"path": "/api/v1/groups"}, "pagination": {"type": "offset", "limit": 0}}},
     "parent.pagination.limit: should be greater than 0"),
    ({"parent": {"request": {"path": "/api/v1/groups"}, "key": "id", "recrods": {}}},
     "parent.recrods: is not a known field; did you mean 'records'?"),
])
def test_a_dependent_spec_that_cannot_work_is_refused_at_load_naming_the_field(change, problem):
    data = ConnectorSpec.from_yaml(SPEC).model_dump(mode="json", exclude_none=True)
    data.update(change)
    if change.get("parent", "") is None:
        del data["parent"], data["include_from_parent"]
    with pytest.raises(SpecError) as refused:
        ConnectorSpec.parse(data)
    assert f"spec: {problem}" in str(refused.value)


def test_include_from_parent_needs_a_parent():
    data = ConnectorSpec.from_yaml(SPEC).model_dump(mode="json", exclude_none=True)
    del data["parent"]
    data["request"]["path"] = "/api/v1/users"
    with pytest.raises(SpecError, match="include_from_parent: copies fields of a parent record, so it needs a parent"):
        ConnectorSpec.parse(data)


@pytest.mark.usefixtures("prefect_server")
def test_okta_group_members_sync_group_by_group_through_link_header_pages(sqlite_url):
    from tests.partner_apis import Okta, serving
    from tests.test_partners import connected_integration, save_block

    okta = Okta()
    save_block("okta", "okta-test", {"api_key": okta.token})

    def smaller_pages(spec):
        spec.parent.request.params.update(limit=3)  # groups 3 a page, members 4 a page
        spec.request.params.update(limit=4)

    with serving(okta.app()) as url:
        integration = connected_integration("okta", "group-members", url, "okta-test", smaller_pages)
        summary = sync_integration("acme/group-members")
    expected = {f"{group['id']}:{user['id']}": {
        "group_id": group["id"], "group_name": group["profile"]["name"], "user_id": user["id"],
        "email": user["profile"]["email"].lower(), "login": user["profile"]["login"], "status": user["status"]}
        for group in okta.groups for user in okta.group_users(group["id"])}
    assert okta.members[okta.groups[-1]["id"]] == [] and len(expected) > 20
    assert (summary.fetched, summary.inserted, summary.rejected) == (len(expected), len(expected), 0)
    assert hub_members(integration) == expected


@pytest.mark.usefixtures("prefect_server")
def test_a_test_read_shows_the_parents_first_page_then_the_first_parents_children(sqlite_url, groups, tmp_path):
    from typer.testing import CliRunner

    from ihub.cli import app, console

    url, data = groups
    spec_file = tmp_path / "members.yaml"
    spec_file.write_text(SPEC.read_text().replace("http://127.0.0.1:8765", url))
    console.width = 250
    result = CliRunner().invoke(app, ["connectors", "test", str(spec_file), "--pages", "1"])
    out = result.output
    assert result.exit_code == 0, out
    requests = [line for line in out.splitlines() if " GET " in line and "Next request" not in line]
    assert f"{url}/api/v1/groups?limit=20&offset=0 " in requests[0]
    assert f"{url}/api/v1/groups/1/members?page=1&per_page=10 " in requests[1] and len(requests) == 2
    assert "A dependent stream: the children of the first parent, group 1" in out
    assert "The mapping makes 10 row(s) and rejects 0" in out
    first = data.members[1][0]
    assert f"1:{first['id']}" in out and data.records["groups"][0]["name"] in out  # _parent_ fields mapped
    assert f"Next request: GET {url}/api/v1/groups/1/members?page=2&per_page=10" in out


@pytest.mark.usefixtures("prefect_server")
def test_a_group_whose_members_do_not_add_up_twice_ends_the_run_incomplete_naming_it(sqlite_url, groups):
    url, data = groups
    integration = onboarded(members_spec(url), types=["created", "updated", "deleted"])
    data.group_faults[2] = Fault(empty_page=True)  # its pages come back empty, its total of 23 kept
    state = sync_integration("acme/members", return_state=True)
    assert state.is_failed()
    log = last_log(integration)
    assert log.status == ActionStatus.incomplete
    assert log.message.startswith(f"incomplete: members of group 2: read 0 distinct records of the "
                                  f"{len(data.members[2])} the vendor reports")
    assert "; read twice, they still do not add up; what was written is kept" in log.message
    assert "no records deleted" in log.message
    written = hub_members(integration)
    assert not any(key.startswith("2:") for key in written) and len(written) == log.inserted


@pytest.mark.usefixtures("prefect_server")
def test_the_groups_synced_too_are_an_integration_of_their_own_beside_the_members(sqlite_url, groups):
    url, data = groups
    groups_id = onboarded(demo_spec(url, SPEC.with_name("demo-vendor-groups.yaml")), name="groups")
    members_id = onboarded(members_spec(url))
    assert sync_integration("acme/groups").inserted == len(data.records["groups"])
    assert sync_integration("acme/members").inserted == len(vendor_members(data))
    stored_groups = hub_members(groups_id)
    assert {key: row["name"] for key, row in stored_groups.items()} == {
        str(group["id"]): group["name"] for group in data.records["groups"]}
    assert {row["group_name"] for row in hub_members(members_id).values()} <= {
        row["name"] for row in stored_groups.values()}
