"""Peak memory of a sync: the sync's own process for 10k and for 1M records (pages of 1000).

Each sync runs in a child process of its own (the demo vendor and Prefect's local server are
other processes), and reports its peak resident set size (`ru_maxrss`), and its page workers'
(tasks/mapped_pages.py: a listing past 20,000 records is mapped in them; their peak `VmHWM`, summed).
Pages stream and batches are bounded, so the two differ by little. The one thing a run keeps that grows with the vendor's
records is the set of sync keys it read, kept when "deleted" is applied or the vendor gives a
total; this benchmark's spec has neither, and the key set's own growth is measured apart, per
100k keys like the vendor's ids.

    .venv/bin/python bench/memory_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tracemalloc

from harness import TOKEN, WORK, bench_integration, figure, load, say, start_vendor, sync, use_database  # noqa: I001

PAGE_SIZE = 1000


def child(url: str, records: int) -> None:
    """Run one sync of `records` records and print what it read and its peak RSS in MB."""
    from blocks import ApiTokenCredentials

    ApiTokenCredentials(token=TOKEN).save("demo-vendor-token", overwrite=True)
    use_database(f"sqlite:///{WORK / f'hub-memory-{records}.db'}")
    bench_integration(url, pagination={"type": "offset", "limit": PAGE_SIZE}, batch_records=10_000)
    fetched, seconds, _ = sync()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from tasks.mapped_pages import WORKERS

    workers_kb = sum(_peak_kb(worker.process.pid) for worker in WORKERS.workers)
    print(json.dumps({"fetched": fetched, "seconds": seconds, "peak_mb": peak_kb / 1024,
                      "workers_mb": workers_kb / 1024}))


def _peak_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def peak_rss(records: int) -> tuple[float, float]:
    vendor, url = start_vendor(records)
    try:
        command = [sys.executable, __file__, "--child", str(records), "--url", url]
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=True)
    finally:
        vendor.terminate()
        vendor.wait()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["fetched"] == records, result
    say(f"{records:,} records: {result['seconds']:.1f}s, peak RSS {result['peak_mb']:.0f} MB, "
        f"its page workers' {result['workers_mb']:.0f} MB; load {load()}")
    return result["peak_mb"], result["workers_mb"]


def key_set_mb_per_100k() -> float:
    """What the set of sync keys a run keeps grows by for 100k keys (the vendor's ids, as text)."""
    from models.spec import OffsetPagination
    from tasks.completeness import CompletenessCheck, Pass

    check = CompletenessCheck(OffsetPagination(limit=PAGE_SIZE, total_path="meta.total"))
    check.passes.append(Pass())  # the read under way, as `watch` starts it
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    check.read(str(n) for n in range(1, 100_001))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return grown / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.url, args.child)
        return
    (small, small_workers), (large, large_workers) = peak_rss(args.small), peak_rss(args.large)
    figure(f"peak_rss_{args.small:_}_records_mb", f"{small:.0f}")
    figure(f"peak_rss_{args.large:_}_records_mb", f"{large:.0f}")
    figure("peak_rss_difference_mb", f"{large - small:.0f}")
    figure(f"page_workers_peak_rss_{args.small:_}_records_mb", f"{small_workers:.0f}")
    figure(f"page_workers_peak_rss_{args.large:_}_records_mb", f"{large_workers:.0f}")
    figure("deleted_key_set_mb_per_100k_keys", f"{key_set_mb_per_100k():.1f}")


if __name__ == "__main__":
    main()
