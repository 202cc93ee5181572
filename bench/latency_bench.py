"""Pages in flight at vendor latency: the flow at `http.concurrency` 8 against the same flow at 1, and
against a bare asyncio/httpx loop with 8 requests in flight, in one run.

The demo vendor (its own process) adds 50 ms to every answer and serves 20k assets; every reader
asks for pages of 100 (200 requests) and writes them to SQLite. Runs are interleaved; the figures
are ratios of median records/s, by the wall clock (Prefect's own cost per flow run included: creating
the flow run and its states) and, `_sync_time`, by the sync's own clock (the run's `seconds`: authentication, every read and write, the logs).

    .venv/bin/python bench/latency_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from statistics import median

from harness import TOKEN, WORK, bench_integration, figure, load, say, start_vendor, sync, use_database, warm_up  # noqa: I001

import httpx
import orjson

from sync_bench import BASELINE_TABLE, baseline_upsert, pick


async def bare_async(url: str, records: int, limit: int, in_flight: int, attempt: int) -> tuple[int, float]:
    """httpx.AsyncClient with `in_flight` requests at once (the offsets are known), orjson, field
    picking and a sqlite3 upsert a page: what a hand-written concurrent reader does."""
    db = sqlite3.connect(WORK / f"bare-async-{attempt}.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(BASELINE_TABLE)
    sql = baseline_upsert("?")
    gate = asyncio.Semaphore(in_flight)
    count = 0
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits) as client:
        async def page(offset: int) -> None:
            nonlocal count
            async with gate:
                response = await client.get(f"{url}/api/v1/assets", params={"limit": limit, "offset": offset})
            rows = [pick(record) for record in orjson.loads(response.content)["data"]["assets"]]
            with db:
                db.executemany(sql, rows)
            count += len(rows)

        await asyncio.gather(*(page(offset) for offset in range(0, records, limit)))
    seconds = time.perf_counter() - started
    db.close()
    return count, seconds


def flow(url: str, limit: int, concurrency: int, attempt: int) -> tuple[int, float, float]:
    use_database(f"sqlite:///{WORK / f'hub-latency-{concurrency}-{attempt}.db'}")
    bench_integration(url, pagination={"type": "offset", "limit": limit, "total_path": "meta.total"},
                      http={"concurrency": concurrency}, batch_records=10_000)
    return sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    vendor, url = start_vendor(args.assets, prerender=(args.page_size,), latency_ms=args.latency_ms)
    try:
        say(f"demo vendor: {args.assets} assets, {args.latency_ms:g} ms a request, at {url}; load {load()}")
        say(f"Prefect server start + warm-up flow run: {warm_up(url):.1f}s (not timed)")
        one, eight, bare = [], [], []
        for attempt in range(args.repeat):
            one.append(flow(url, args.page_size, 1, attempt))
            eight.append(flow(url, args.page_size, 8, attempt))
            bare.append(asyncio.run(bare_async(url, args.assets, args.page_size, 8, attempt)))
        assert {run[0] for run in one + eight + bare} == {args.assets}
        rate = {name: median(args.assets / run[1] for run in runs)
                for name, runs in (("one", one), ("eight", eight), ("bare", bare))}
        own = {name: median(args.assets / run[2] for run in runs) for name, runs in (("one", one), ("eight", eight))}
        say(f"records/s: concurrency 1 {rate['one']:,.0f}, concurrency 8 {rate['eight']:,.0f}, "
            f"bare asyncio with 8 in flight {rate['bare']:,.0f}; load {load()}")
        prefect = {name: median(run[1] - run[2] for run in runs) for name, runs in (("one", one), ("eight", eight))}
        say(f"seconds a run, whole flow / sync's own clock: concurrency 1 {median(r[1] for r in one):.2f} / "
            f"{median(r[2] for r in one):.2f}, concurrency 8 {median(r[1] for r in eight):.2f} / "
            f"{median(r[2] for r in eight):.2f}; Prefect's own part (the flow run's creation and states) "
            f"{prefect['one']:.2f} s and {prefect['eight']:.2f} s")
        figure("latency50ms_concurrency8_over_concurrency1", f"{rate['eight'] / rate['one']:.2f}")
        figure("latency50ms_concurrency8_over_bare_asyncio8", f"{rate['eight'] / rate['bare']:.2f}")
        figure("latency50ms_concurrency8_over_concurrency1_sync_time", f"{own['eight'] / own['one']:.2f}")
        figure("latency50ms_concurrency8_over_bare_asyncio8_sync_time", f"{own['eight'] / rate['bare']:.2f}")
    finally:
        vendor.terminate()
        vendor.wait()


if __name__ == "__main__":
    main()
