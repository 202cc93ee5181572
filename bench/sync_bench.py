"""How fast `sync_integration` moves records on loopback, next to a bare loop, in one run.

Starts the demo vendor in its own process with 100k assets and every page pre-rendered (so the
vendor is never the bottleneck), then for page sizes 100 and 1000 times, interleaved:
  - the bare baseline: httpx GETs one page at a time, orjson, the same field picking, and an
    `executemany` upsert a page (sqlite3, or psycopg on PostgreSQL);
  - the flow: `sync_integration` on a fresh hub database with the spec's defaults
    (`http.concurrency` 4, 10,000 records a batch), first load and re-sync, run as `ihub run`
    runs it, Prefect's own cost (creating the run, its states) included.
The figure is the flow's records/s over the baseline's, the medians of the interleaved runs.

    .venv/bin/python bench/sync_bench.py --databases sqlite,postgresql
"""

from __future__ import annotations

import argparse
import sqlite3
import time
import uuid
from statistics import median

from harness import (PG_URL, TOKEN, WORK, bench_integration, figure, load, say, start_vendor, sync,  # noqa: I001
                     use_database, warm_up)

import httpx
import orjson

PAGE_SIZES = (100, 1000)
COLUMNS = ("sync_key", "name", "asset_tag", "serial_number", "model", "manufacturer", "category", "status",
           "assigned_to", "location", "purchased_at", "cost")
BASELINE_TABLE = (f"CREATE TABLE IF NOT EXISTS asset (sync_key TEXT PRIMARY KEY, "
                  f"{', '.join(f'{name} TEXT' for name in COLUMNS[1:-1])}, cost REAL)")


def baseline_upsert(placeholder: str) -> str:
    updates = ", ".join(f"{name}=excluded.{name}" for name in COLUMNS[1:])
    return (f"INSERT INTO asset VALUES ({', '.join([placeholder] * len(COLUMNS))}) "
            f"ON CONFLICT(sync_key) DO UPDATE SET {updates}")


def pick(record: dict) -> tuple:
    return (str(record["id"]), record["name"], record["asset_tag"], record["serial"], record["model"]["name"],
            record["model"]["manufacturer"], record["model"]["category"], record["status"],
            (record["assignee"] or {}).get("email"), record["location"]["site"], record["purchase"]["date"],
            record["purchase"]["cost"])


def bare_loop(url: str, limit: int, write) -> tuple[int, float]:
    """The least a sync can do: fetch, decode, pick fields, upsert a page at a time (`write(rows)`)."""
    started = time.perf_counter()
    count = offset = 0
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        while True:
            body = orjson.loads(client.get(f"{url}/api/v1/assets", params={"limit": limit, "offset": offset}).content)
            records = body["data"]["assets"]
            write([pick(record) for record in records])
            count += len(records)
            offset += len(records)
            if offset >= body["meta"]["total"] or not records:
                break
    return count, time.perf_counter() - started


class SqliteBaseline:
    def __init__(self, name: str):
        self.db = sqlite3.connect(WORK / f"{name}.db")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(BASELINE_TABLE)
        self.sql = baseline_upsert("?")

    def write(self, rows: list[tuple]) -> None:
        with self.db:
            self.db.executemany(self.sql, rows)

    def close(self) -> None:
        self.db.close()


class PostgresBaseline:
    def __init__(self, name: str):
        import psycopg

        self.schema = f"bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
        self.db = psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        self.db.execute(f"CREATE SCHEMA {self.schema}")
        self.db.execute(f"SET search_path TO {self.schema}")
        self.db.execute(BASELINE_TABLE.replace("cost REAL", "cost DOUBLE PRECISION"))
        self.sql = baseline_upsert("%s")

    def write(self, rows: list[tuple]) -> None:
        with self.db.transaction(), self.db.cursor() as cursor:
            cursor.executemany(self.sql, rows)

    def close(self) -> None:
        self.db.execute(f"DROP SCHEMA {self.schema} CASCADE")
        self.db.close()


class Databases:
    """A fresh hub database per flow attempt, on SQLite or in a throwaway PostgreSQL schema."""

    def __init__(self, kind: str):
        self.kind, self.schemas, self.urls = kind, [], []

    def fresh(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{WORK / f'hub-{name}.db'}"
        import psycopg

        schema = f"bench_hub_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
            db.execute(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        self.urls.append(f"{PG_URL}?options=-csearch_path%3D{schema}")
        return self.urls[-1]

    def drop(self) -> None:
        if not self.schemas:
            return
        import psycopg

        from models.engine import get_engine

        for url in self.urls:
            get_engine(url).dispose()
        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
            for schema in self.schemas:
                db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


BASELINES = {"sqlite": SqliteBaseline, "postgresql": PostgresBaseline}


def measure(url: str, kind: str, limit: int, repeat: int, batch_records: int) -> None:
    databases = Databases(kind)
    bare, flow = [], []
    try:
        for attempt in range(repeat):  # interleaved, so both see the same machine weather
            baseline = BASELINES[kind](f"base-{limit}-{attempt}")
            try:
                bare.append([bare_loop(url, limit, baseline.write) for _ in range(2)])
            finally:
                baseline.close()
            use_database(databases.fresh(f"{limit}-{attempt}"))
            bench_integration(url, pagination={"type": "offset", "limit": limit, "total_path": "meta.total"},
                              batch_records=batch_records)
            flow.append([sync() for _ in range(2)])
    finally:
        databases.drop()
    for run, name in enumerate(("first_load", "resync")):
        counts = {attempt[run][0] for attempt in bare + flow}
        assert len(counts) == 1, counts
        records = counts.pop()
        bare_rate = median(records / attempt[run][1] for attempt in bare)
        flow_rate = median(records / attempt[run][1] for attempt in flow)
        say(f"{kind} page {limit} {name}: bare {bare_rate:,.0f} rec/s, flow {flow_rate:,.0f} rec/s")
        figure(f"loopback_{kind}_page{limit}_{name}_ratio", f"{flow_rate / bare_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--batch-records", type=int, default=10_000)
    parser.add_argument("--page-sizes", default=",".join(map(str, PAGE_SIZES)), help="e.g. 100,1000")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql, or both")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved runs of each; medians are shown")
    args = parser.parse_args()

    page_sizes = tuple(int(size) for size in args.page_sizes.split(","))
    vendor, url = start_vendor(args.assets, prerender=page_sizes)
    try:
        say(f"demo vendor: {args.assets} assets, pages pre-rendered, at {url}; load average {load()}")
        say(f"Prefect server start + warm-up flow run: {warm_up(url):.1f}s (not timed)")
        for kind in args.databases.split(","):
            for limit in page_sizes:
                measure(url, kind, limit, args.repeat, args.batch_records)
        say(f"load average at the end: {load()}")
    finally:
        vendor.terminate()
        vendor.wait()


if __name__ == "__main__":
    main()
