"""What the benchmarks share: a throwaway hub home, the demo vendor in its own process, the bench
integration, a warmed-up Prefect server, and how figures are printed.

Importing this module sets the hub's environment (IHUB_HOME, IHUB_DATABASE_URL) to a temporary
directory, so a benchmark never touches a real hub. Figures go to stdout as `name: value` lines;
everything else (progress, tables) goes to stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORK = Path(os.environ.get("IHUB_BENCH_WORK") or tempfile.mkdtemp(prefix="ihub-bench-"))
"""A child process of a benchmark shares its parent's directory (and so its Prefect home)."""
os.environ["IHUB_BENCH_WORK"] = str(WORK)
os.environ["IHUB_HOME"] = str(WORK / "home")
os.environ["IHUB_DATABASE_URL"] = f"sqlite:///{WORK / 'warmup.db'}"
os.environ.setdefault("IHUB_ALLOWED_HOSTS", "127.0.0.1")  # the benchmark's vendor is on loopback

from ihub.settings import configure_environment  # noqa: E402

configure_environment()

TOKEN = "bench-token"
PG_URL = os.environ.get("IHUB_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def figure(name: str, value: Any) -> None:
    """One figure, as `make bench` prints it."""
    print(f"{name}: {value}", flush=True)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load() -> str:
    """The machine's load averages, for the record: the benchmarks share two cores with others."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def start_vendor(assets: int, prerender: tuple[int, ...] = (), latency_ms: float = 0) -> tuple[subprocess.Popen, str]:
    """The demo vendor in its own process (so it never competes for the sync's interpreter)."""
    command = [str(ROOT / ".venv" / "bin" / "ihub"), "demo-vendor", "--port", "0", "--assets", str(assets),
               "--users", "10", "--token", TOKEN, "--latency-ms", str(latency_ms)]
    if prerender:
        command += ["--prerender", ",".join(map(str, prerender))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the demo vendor did not start: {line!r}")
    return process, line.split("listening on", 1)[1].strip()


def use_database(url: str) -> None:
    os.environ["IHUB_DATABASE_URL"] = url


def bench_integration(url: str, **spec_changes) -> None:
    """The demo spec against the benchmark's vendor, saved as bench/assets in the current hub database."""
    from ihub.demo import demo_spec
    from models.engine import migrate, session
    from models.integrations import onboard

    migrate()
    with session() as db:
        onboard(db, "bench", "demo-vendor", "benchmark vendor", "assets", demo_spec(url, **spec_changes))


def sync(name: str = "bench/assets") -> tuple[int, float, float]:
    """One run of the sync flow, as `ihub run` runs it: (records fetched, wall seconds with Prefect's
    own part (creating the flow run, its states) included, the sync's own seconds)."""
    from flows.sync import sync_integration
    from ihub.runs import without_prefect_heartbeat

    started = time.perf_counter()
    with without_prefect_heartbeat():  # as `ihub run` runs it
        summary = sync_integration(name)
    return summary.fetched, time.perf_counter() - started, summary.seconds


def warm_up(url: str) -> float:
    """Start Prefect's local server and make one small flow run, so no timed run pays for it."""
    from blocks import ApiTokenCredentials

    started = time.perf_counter()
    ApiTokenCredentials(token=TOKEN).save("demo-vendor-token", overwrite=True)
    bench_integration(url, pagination={"type": "offset", "limit": 100, "max_pages": 1})
    sync()
    return time.perf_counter() - started
