"""How fast `sync_integration` moves records, next to a bare httpx + sqlite3 loop, in one run.

Starts the demo vendor in its own process with 100k assets and every page pre-rendered (so the
vendor is never the bottleneck), then for page sizes 100 and 1000 times:
  - the bare baseline: httpx GETs, orjson, the same field picking, sqlite3 executemany upsert;
  - the flow: `sync_integration` on a fresh hub database, first load and re-sync.
The Prefect server is started (and a warm-up flow run made) before anything is timed.

    make bench            # or: .venv/bin/python bench/sync_bench.py --assets 100000
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from statistics import median
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORK = Path(tempfile.mkdtemp(prefix="ihub-bench-"))
os.environ["IHUB_HOME"] = str(WORK / "home")
os.environ["IHUB_DATABASE_URL"] = f"sqlite:///{WORK / 'warmup.db'}"
os.environ.setdefault("IHUB_ALLOWED_HOSTS", "127.0.0.1")  # the benchmark's vendor is on loopback

from ihub.settings import configure_environment  # noqa: E402

configure_environment()

import httpx  # noqa: E402
import orjson  # noqa: E402

TOKEN = "bench-token"
PAGE_SIZES = (100, 1000)


def start_vendor(assets: int) -> tuple[subprocess.Popen, str]:
    command = [str(ROOT / ".venv" / "bin" / "ihub"), "demo-vendor", "--port", "0", "--assets", str(assets),
               "--users", "10", "--token", TOKEN, "--prerender", ",".join(map(str, PAGE_SIZES))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the demo vendor did not start: {line!r}")
    return process, line.split("listening on", 1)[1].strip()


BASELINE_SQL = """
CREATE TABLE IF NOT EXISTS asset (sync_key TEXT PRIMARY KEY, name TEXT, asset_tag TEXT, serial_number TEXT,
  model TEXT, manufacturer TEXT, category TEXT, status TEXT, assigned_to TEXT, location TEXT,
  purchased_at TEXT, cost REAL)
"""
BASELINE_UPSERT = """
INSERT INTO asset VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sync_key) DO UPDATE SET name=excluded.name,
  asset_tag=excluded.asset_tag, serial_number=excluded.serial_number, model=excluded.model,
  manufacturer=excluded.manufacturer, category=excluded.category, status=excluded.status,
  assigned_to=excluded.assigned_to, location=excluded.location, purchased_at=excluded.purchased_at,
  cost=excluded.cost
"""


def baseline_runs(url: str, limit: int, attempt: int) -> list[tuple[int, float]]:
    """First load and re-sync into a fresh table."""
    database = WORK / f"baseline-{limit}-{attempt}.db"
    return [baseline(url, limit, database) for _ in range(2)]


def baseline(url: str, limit: int, database: Path) -> tuple[int, float]:
    """The least a sync can do: fetch, decode, pick fields, upsert a page at a time."""
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(BASELINE_SQL)
    started = time.perf_counter()
    count = offset = 0
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        while True:
            body = orjson.loads(client.get(f"{url}/api/v1/assets", params={"limit": limit, "offset": offset}).content)
            records = body["data"]["assets"]
            rows = [(str(r["id"]), r["name"], r["asset_tag"], r["serial"], r["model"]["name"],
                     r["model"]["manufacturer"], r["model"]["category"], r["status"],
                     (r["assignee"] or {}).get("email"), r["location"]["site"], r["purchase"]["date"],
                     r["purchase"]["cost"]) for r in records]
            with db:
                db.executemany(BASELINE_UPSERT, rows)
            count += len(records)
            offset += len(records)
            if offset >= body["meta"]["total"] or not records:
                break
    seconds = time.perf_counter() - started
    db.close()
    return count, seconds


def bench_integration(url: str, **spec_changes) -> None:
    """The demo spec against the benchmark's vendor, saved as bench/assets in a migrated database."""
    from ihub.demo import demo_spec
    from models.engine import migrate, session
    from models.integrations import onboard

    migrate()
    with session() as db:
        onboard(db, "bench", "demo-vendor", "benchmark vendor", "assets", demo_spec(url, **spec_changes))


def flow_runs(url: str, limit: int, batch_records: int, attempt: int) -> list[tuple[int, float]]:
    """First load and re-sync of a fresh integration through `sync_integration`."""
    from flows.sync import sync_integration

    os.environ["IHUB_DATABASE_URL"] = f"sqlite:///{WORK / f'hub-{limit}-{attempt}.db'}"
    bench_integration(url, pagination={"type": "offset", "limit": limit, "total_path": "meta.total"},
                      batch_records=batch_records)
    results = []
    for _ in range(2):
        started = time.perf_counter()
        summary = sync_integration("bench/assets")
        results.append((summary.fetched, time.perf_counter() - started))
    return results


def warm_up(url: str) -> float:
    """Start Prefect's local server and make one small flow run, so no timed run pays for it."""
    from blocks import ApiTokenCredentials
    from flows.sync import sync_integration

    started = time.perf_counter()
    ApiTokenCredentials(token=TOKEN).save("demo-vendor-token", overwrite=True)
    bench_integration(url, pagination={"type": "offset", "limit": 100, "max_pages": 1})
    sync_integration("bench/assets")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--batch-records", type=int, default=10_000)
    parser.add_argument("--page-sizes", default=",".join(map(str, PAGE_SIZES)), help="e.g. 100,1000")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each; medians are shown")
    args = parser.parse_args()

    vendor, url = start_vendor(args.assets)
    try:
        print(f"demo vendor: {args.assets} assets, pages pre-rendered, at {url}")
        print(f"Prefect server start + warm-up flow run: {warm_up(url):.1f}s (not timed below)")
        print(f"flow batches: {args.batch_records} records per map/upsert task pair; "
              f"medians of {args.repeat} interleaved runs\n")
        header = f"{'page':>5} {'run':<10} {'baseline rec/s':>15} {'flow rec/s':>11} {'ratio':>6}"
        print(header)
        print("-" * len(header))
        for limit in [int(size) for size in args.page_sizes.split(",")]:
            bare, flow = [], []
            for attempt in range(args.repeat):  # interleaved, so both see the same machine weather
                bare.append(baseline_runs(url, limit, attempt))
                flow.append(flow_runs(url, limit, args.batch_records, attempt))
            for run, name in enumerate(("first load", "re-sync")):
                counts = {n for attempt in bare + flow for n, _ in [attempt[run]]}
                assert counts == {args.assets}, counts
                bare_rate = median(args.assets / attempt[run][1] for attempt in bare)
                flow_rate = median(args.assets / attempt[run][1] for attempt in flow)
                print(f"{limit:>5} {name:<10} {bare_rate:>15,.0f} {flow_rate:>11,.0f} {flow_rate / bare_rate:>6.2f}")
    finally:
        vendor.terminate()
        vendor.wait()


if __name__ == "__main__":
    main()
