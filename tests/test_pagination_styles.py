"""Every pagination style, end to end through the sync flow against the demo vendor on loopback.

Each test runs one of the example specs shipped in `ihub/connectors/examples/`.
"""

from pathlib import Path

import pytest
from sqlmodel import select

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.demo import CUSTOMER, demo_spec
from models.engine import session
from models.errors import VendorError
from models.integrations import onboard
from models.logs import ActionLog, ActionStatus
from models.records import Asset
from models.spec import ConnectorSpec
from tasks.paginate import fetch_pages

EXAMPLES = Path(__file__).parents[1] / "ihub" / "connectors" / "examples"
STYLES = sorted(path.stem for path in EXAMPLES.glob("*.yaml"))


def example(name: str, base_url: str, **changes) -> ConnectorSpec:
    return demo_spec(base_url, EXAMPLES / f"{name}.yaml", **changes)


PAGES = {"single-page": 1}  # every other example reads 350 records in pages of 100


def test_every_style_has_an_example():
    assert STYLES == ["cursor-in-body", "cursor-in-header", "link-header", "next-url-in-body", "page-numbers",
                      "post-body-token", "single-page"]


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("style", STYLES)
def test_each_style_reads_every_record_once(style, sqlite_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    with session() as db:
        integration = onboard(db, CUSTOMER, "demo-vendor", "demo", style, example(style, url))
    summary = sync_integration(f"{CUSTOMER}/{style}")
    assert (summary.fetched, summary.inserted, summary.rejected) == (350, 350, 0)
    assert summary.pages == PAGES.get(style, 4)
    with session() as db:
        stored = db.exec(select(Asset.sync_key).where(Asset.integration_id == integration.id)).all()
        log = db.exec(select(ActionLog).where(ActionLog.integration_id == integration.id)).one()
    assert sorted(stored) == sorted(str(a["id"]) for a in data.records["assets"])
    assert log.status == ActionStatus.completed


def test_max_pages_caps_every_style(vendor):
    url, data = vendor
    auth = ApiTokenCredentials(token=data.token).auth()
    for style in set(STYLES) - set(PAGES):
        spec = example(style, url)
        spec.pagination.max_pages = 2
        assert len(list(fetch_pages(spec, auth))) == 2, style


def test_a_vendor_that_hands_out_the_same_cursor_twice_is_refused(vendor):
    url, data = vendor
    spec = example("cursor-in-body", url, request={"base_url": url, "path": "/api/cursor/assets",
                                                   "params": {"loop": "1"}})
    pages = fetch_pages(spec, ApiTokenCredentials(token=data.token).auth())
    with pytest.raises(VendorError) as caught:
        list(pages)
    assert "sent the run back to a page it had already read (page 3 of /api/cursor/assets" in str(caught.value)
    assert "stopped to avoid a loop" in str(caught.value)


def test_a_cursor_spec_needs_exactly_one_cursor_source():
    data = ConnectorSpec.from_yaml(EXAMPLES / "cursor-in-body.yaml").model_dump(mode="json")
    data["pagination"]["cursor_header"] = "X-Next-Cursor"
    with pytest.raises(Exception, match="give exactly one of cursor_path .in the body. and cursor_header"):
        ConnectorSpec.parse(data)
