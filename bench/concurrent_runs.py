"""20 concurrent `ihub run` against one real Prefect server, on SQLite and on PostgreSQL.

For each of Prefect's databases: `prefect server start` on a free loopback port, a fresh hub
database of the same kind (a SQLite file, or a new PostgreSQL database dropped afterwards), the demo vendor (its own process, on loopback), 20 integrations of one customer (so
no run waits for another's lease), then 20 `ihub run` subprocesses started at once. Prints one
line per figure:

    concurrent runs sqlite: 20/20 completed, 0 tracebacks, 20 action logs, 41.2 s

"completed" counts runs that exited 0 with a Completed action log; "action logs" counts the
integrations that have one (whatever its status); a run still going at --deadline is killed and
counts as not completed. Each run's output is kept under the work folder (named on stderr).

    .venv/bin/python bench/concurrent_runs.py [--runs 20] [--assets 500] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("IHUB_ALLOWED_HOSTS", "127.0.0.1")  # the benchmark's vendor is on loopback; runs inherit it
sys.path.insert(0, str(ROOT / "tests"))


from live_prefect import hub_env, postgres_database, prefect_server  # noqa: E402

IHUB = str(ROOT / ".venv" / "bin" / "ihub")
TOKEN = "bench-token-" + uuid.uuid4().hex
CUSTOMER = "bench"


@contextmanager
def demo_vendor(assets: int) -> Iterator[str]:
    process = subprocess.Popen([IHUB, "demo-vendor", "--port", "0", "--assets", str(assets), "--users", "1",
                                "--token", TOKEN], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"the demo vendor did not start: {line!r}")
        yield line.split("listening on", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def hub_database(backend: str, work: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'ihub.db'}"
        return
    with postgres_database("ihub_bench", driver="psycopg") as url:
        yield url


ONBOARD = """
import sys
from ihub.settings import configure_environment
configure_environment()
from blocks import ApiTokenCredentials
from ihub.demo import demo_spec
from models.config import IntegrationStatus
from models.engine import migrate, session
from models.integrations import onboard
import flows.sync  # compiles (and caches) what every run imports, once

base_url, token, customer, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
migrate()
spec = demo_spec(base_url)
ApiTokenCredentials(token=token).save(spec.auth.block, overwrite=True)
with session() as db:
    created = []
    for number in range(runs):
        integration = onboard(db, customer, "demo-vendor", "the demo vendor", f"assets-{number}", spec)
        integration.status = IntegrationStatus.active
        db.add(integration)
        created.append(integration)
    db.commit()
    print(" ".join(str(integration.id) for integration in created))
"""

COUNT_LOGS = """
from ihub.settings import configure_environment
configure_environment()
from sqlmodel import select
from models.engine import session
from models.logs import ActionLog
with session() as db:
    for log in db.exec(select(ActionLog)):
        print(log.integration_id, log.status.value, repr(log.message[:120]))
"""


def python(code: str, env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    if done.returncode:
        raise SystemExit(f"set-up step failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def finished(process: subprocess.Popen, deadline: float) -> int | None:
    """The run's exit code, or None for a run still going at the deadline (it is killed)."""
    try:
        return process.wait(max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def bench(backend: str, runs: int, assets: int, deadline: float) -> str:
    work = Path(tempfile.mkdtemp(prefix=f"ihub-concurrent-{backend}-"))
    with ExitStack() as stack:
        server_db = (f"sqlite+aiosqlite:///{work / 'prefect.db'}" if backend == "sqlite"
                     else stack.enter_context(postgres_database()))
        api_url = stack.enter_context(prefect_server(work, server_db))
        hub_url = stack.enter_context(hub_database(backend, work))
        vendor_url = stack.enter_context(demo_vendor(assets))
        env = hub_env(api_url, hub_url, work)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # 20 processes compiling Prefect from source is not the hub's time
        ids = [int(i) for i in python(ONBOARD, env, vendor_url, TOKEN, CUSTOMER, str(runs)).split()]

        started = time.monotonic()
        outputs = [open(work / f"run-{number}.log", "w+") for number in range(runs)]
        processes = [subprocess.Popen([IHUB, "run", f"{CUSTOMER}/assets-{number}"], env=env, cwd=ROOT,
                                      stdout=output, stderr=subprocess.STDOUT)
                     for number, output in enumerate(outputs)]
        codes = [finished(process, started + deadline) for process in processes]
        elapsed = time.monotonic() - started

        texts = []
        for output in outputs:
            output.seek(0)
            texts.append(output.read())
            output.close()
        logs = [line.split(" ", 2) for line in python(COUNT_LOGS, env).splitlines()]
    completed_ids = {int(i) for i, status, _ in logs if status == "Completed"}
    with_log = {int(i) for i, _, _ in logs}
    completed = sum(1 for code, i in zip(codes, ids) if code == 0 and i in completed_ids)
    tracebacks = sum(1 for text in texts if "Traceback" in text)
    for number, (code, text) in enumerate(zip(codes, texts)):
        if code != 0:
            last = text.strip().splitlines()[-1] if text.strip() else "(no output)"
            print(f"  run {number} {'hung' if code is None else f'exited {code}'}: {last[:200]}", file=sys.stderr)
    figure = (f"concurrent runs {backend}: {completed}/{runs} completed, "
              f"{tracebacks} tracebacks, {len(with_log)} action logs, {elapsed:.1f} s")
    print(f"  (outputs in {work})", file=sys.stderr)
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--assets", type=int, default=500, help="assets each run syncs")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--deadline", type=float, default=600, help="seconds after which a run counts as hung")
    options = parser.parse_args()
    os.environ.pop("PREFECT_API_URL", None)
    for backend in [options.only] if options.only else ["sqlite", "postgresql"]:
        print(bench(backend, options.runs, options.assets, options.deadline), flush=True)


if __name__ == "__main__":
    main()
