"""The Integration Manager and the status overview without a browser (TestClient, SQLite): the
header's stale heartbeat, the log filters and pages, a request's Queued log, escaping, the API key
shown once, CSRF, and the Prefect UI links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from models.actions import add_action, report_log
from models.api_keys import integration_for_key
from models.config import Integration, IntegrationStatus, utcnow
from models.customers import create_customer
from models.endpoints import add_endpoint
from models.engine import session
from models.integration_setup import create_integration
from models.logs import ActionLog, ActionStatus
from tests.conftest import hub_app
from tests.console.test_console_rules import ADMIN, csrf_of, sign_in

BASE = "/customers/acme/integrations/crm"
KEY = re.compile(r"ihk_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def operator(sqlite_url, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    with session() as db:
        create_customer(db, "acme")
        add_endpoint(db, "acme", "erp", "the ERP")
        crm = create_integration(db, "acme", "crm", "erp", external=True, author="CustomSoft",
                                 support_contact="help@customsoft.example")
        add_action(db, crm, "Export Quote", "export")
        add_action(db, crm, "Import Contact", "import")
    with TestClient(hub_app(ADMIN), follow_redirects=False) as client:
        assert sign_in(client).status_code == 303
        yield client


def _logs(count: int, action: str = "Import Contact", status: ActionStatus = ActionStatus.completed,
          age: timedelta = timedelta(0)) -> None:
    with session() as db:
        crm = db.exec(Integration.__table__.select()).first()
        db.add_all([ActionLog(integration_id=crm.id, action=action, status=status, message=f"{action} {n}",
                              updated_at=utcnow() - age) for n in range(count)])
        db.commit()


def _set(**changes) -> None:
    with session() as db:
        crm = db.get(Integration, 1)
        for name, value in changes.items():
            setattr(crm, name, value)
        db.add(crm)
        db.commit()


def test_the_header_says_who_built_it_and_turns_stale_when_it_stops_phoning_home(operator):
    page = operator.get(BASE)
    assert page.status_code == 200
    assert "CustomSoft" in page.text and 'href="mailto:help@customsoft.example"' in page.text
    assert "Not expected" in page.text  # Inactive: nobody expects it to phone home
    _set(status=IntegrationStatus.active, last_heartbeat_at=utcnow() - timedelta(minutes=5))
    assert 'class="beat beat-ok"' in operator.get(BASE).text
    _set(last_heartbeat_at=utcnow() - timedelta(hours=25))
    page = operator.get(BASE).text
    assert 'class="beat beat-stale"' in page and "no heartbeat for over 24 h" in page


def test_logs_filter_by_status_action_and_time_and_page_through_the_newest_first(operator):
    _logs(30)
    _logs(3, action="Export Quote", status=ActionStatus.failed)
    _logs(2, action="Export Quote", age=timedelta(days=3))
    first = operator.get(BASE).text
    assert first.count('data-label="Log"') == 25 and "Older →" in first and "← Newer" not in first
    ids = [int(n) for n in re.findall(r'data-label="Log"><a href="[^"]+">#(\d+)', first)]
    assert ids == sorted(ids, reverse=True) and ids[0] == 35
    older = re.search(r'href="(\?before=\d+)" rel="next"', first).group(1)
    second = operator.get(BASE + older).text
    second_ids = [int(n) for n in re.findall(r'#(\d+)</a>', second)]
    assert second_ids == list(range(10, 0, -1)) and "Older →" not in second
    newer = re.search(r'href="(\?after=\d+)" rel="prev"', second).group(1).replace("&amp;", "&")
    assert [int(n) for n in re.findall(r'#(\d+)</a>', operator.get(BASE + newer).text)] == ids

    failed = operator.get(BASE, params={"status": "Failed"}).text
    assert failed.count('data-label="Log"') == 3 and "Import Contact" not in failed.split("<tbody>")[1]
    exports = operator.get(BASE, params={"action": "Export Quote"}).text
    assert exports.count('data-label="Log"') == 5
    recent_exports = operator.get(BASE, params={"action": "Export Quote", "within": "24h"}).text
    assert recent_exports.count('data-label="Log"') == 3
    nothing = operator.get(BASE, params={"status": "Cancelled"}).text
    assert "No action logs match these filters." in nothing


def test_paging_keeps_the_filters(operator):
    _logs(30, action="Export Quote", status=ActionStatus.failed)
    _logs(5)
    page = operator.get(BASE, params={"status": "Failed"}).text
    older = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    assert "status=Failed" in older
    rest = operator.get(BASE + older).text
    assert rest.count('data-label="Log"') == 5 and "Import Contact" not in rest.split("<tbody>")[1]


def test_a_log_s_details_say_how_it_was_triggered_its_message_and_counts(operator):
    with session() as db:
        log = report_log(db, db.get(Integration, 1), action="Import Contact", status=ActionStatus.completed,
                         message="<script>alert(1)</script> imported")
    page = operator.get(f"{BASE}/logs/{log.id}").text
    assert "an operator (manual run)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; imported" in page and "<script>alert" not in page
    assert "fetched" in page and "inserted" in page
    assert "none (not run by Prefect)" in page
    assert operator.get(f"{BASE}/logs/999").status_code == 404


def test_the_flow_run_and_deployment_link_to_the_prefect_ui_only_when_one_is_configured(operator, monkeypatch):
    _logs(1)
    with session() as db:
        log = db.get(ActionLog, 1)
        log.flow_run_id = "0b1c2d3e-run"
        db.add(log)
        db.commit()
    page = operator.get(f"{BASE}/logs/1").text
    assert "no Prefect UI configured" in page and "/runs/flow-run/" not in page
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert 'href="http://127.0.0.1:4200/runs/flow-run/0b1c2d3e-run"' in operator.get(f"{BASE}/logs/1").text
    monkeypatch.setenv("PREFECT_UI_URL", "https://prefect.example/")
    assert 'href="https://prefect.example/runs/flow-run/0b1c2d3e-run"' in operator.get(f"{BASE}/logs/1").text
    external = operator.get(f"{BASE}/deployment")
    assert external.status_code == 404 and "runs outside the hub" in external.text


def test_a_request_writes_its_queued_log_at_once_and_its_status_can_be_polled(operator):
    form = operator.get(f"{BASE}/requests")
    answer = operator.post(f"{BASE}/requests", data={"action": "Export Quote", "record": "Q-42",
                                                     "csrf_token": csrf_of(form)})
    assert (answer.status_code, answer.headers["location"]) == (303, f"{BASE}/requests")
    page = operator.get(f"{BASE}/requests").text
    assert "Request #1 queued: Export Quote of Q-42 (action log #1)" in page
    assert f'data-poll="{BASE}/logs/1/status"' in page and "Queued" in page
    assert '<script src="/static/manager.js" defer></script>' in page
    assert operator.get(f"{BASE}/logs/1/status").json()["status"] == "Queued"
    with session() as db:
        report_log(db, db.get(Integration, 1), log_id=1, status=ActionStatus.completed, message="exported")
    assert operator.get(f"{BASE}/logs/1/status").json() == {
        "id": 1, "status": "Completed", "message": "exported", "finished": True,
        "updated": operator.get(f"{BASE}/logs/1/status").json()["updated"]}
    assert 'data-poll' not in operator.get(f"{BASE}/requests").text


def test_a_request_is_refused_in_the_service_s_words_beside_the_form(operator):
    form = operator.get(f"{BASE}/requests")
    answer = operator.post(f"{BASE}/requests", data={"action": "Export Quote", "record": "",
                                                     "csrf_token": csrf_of(form)})
    assert answer.status_code == 422
    assert "Export Quote needs the record to export, e.g. its sync key 42" in answer.text
    with session() as db:
        assert db.get(ActionLog, 1) is None


def test_the_api_key_is_shown_once_and_never_again(operator):
    page = operator.get(f"{BASE}/connectivity")
    assert "Generate API key" in page.text and not KEY.search(page.text)
    issued = operator.post(f"{BASE}/connectivity", data={"csrf_token": csrf_of(page)})
    key = KEY.search(issued.text).group(0)
    assert issued.status_code == 200 and "it is shown only this once" in issued.text
    assert issued.headers["Cache-Control"] == "no-store"
    with session() as db:
        assert integration_for_key(db, key).name == "crm"
    for path in (f"{BASE}/connectivity", BASE, f"{BASE}/requests", "/status"):
        assert key not in operator.get(path).text and not KEY.search(operator.get(path).text)
    again = operator.post(f"{BASE}/connectivity", data={"csrf_token": csrf_of(issued)})
    assert again.status_code == 409 and "it is shown only once, so rotate it" in again.text
    assert not KEY.search(again.text)
    rotated = operator.post(f"{BASE}/connectivity", data={"rotate": "yes", "csrf_token": csrf_of(issued)})
    new_key = KEY.search(rotated.text).group(0)
    with session() as db:
        assert integration_for_key(db, key) is None and integration_for_key(db, new_key).name == "crm"


def test_requests_and_keys_are_refused_without_the_session_s_csrf_token(operator):
    for path, data in ((f"{BASE}/requests", {"action": "Import Contact"}), (f"{BASE}/connectivity", {})):
        refused = operator.post(path, data={**data, "csrf_token": "forged"})
        assert refused.status_code == 403 and "Form refused" in refused.text
    with session() as db:
        assert db.get(ActionLog, 1) is None and db.get(Integration, 1).api_key_hash is None


def test_names_and_messages_are_escaped_everywhere(operator):
    _set(author='<img src=x onerror="alert(1)">', support_contact="<b>bold</b>")
    with session() as db:
        report_log(db, db.get(Integration, 1), action="Import Contact", status=ActionStatus.failed,
                   message='"><script>alert(2)</script>')
    for path in (BASE, f"{BASE}/logs/1", f"{BASE}/requests", "/status"):
        page = operator.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page


def test_the_status_overview_lists_every_integration_with_its_last_run_and_heartbeat(operator):
    _logs(2, action="Import Contact", status=ActionStatus.failed)
    _set(status=IntegrationStatus.active, last_heartbeat_at=utcnow() - timedelta(days=2))
    page = operator.get("/status").text
    row = page.split("<tbody>")[1]
    assert "acme" in row and f'href="{BASE}"' in row and "Active" in row and "outside the hub" in row
    assert f'href="{BASE}/logs/2">Import Contact</a>' in row and "Failed" in row
    assert 'class="beat beat-stale"' in row and "1 integration." in page
