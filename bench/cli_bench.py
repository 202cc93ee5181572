"""How long the CLI's quick commands take, next to the imports they cannot do without, in one run.

Against a throwaway hub (one customer, endpoint and integration made through the CLI), times
`ihub --help`, three database-only commands and a typo'd `ihub run`, each the median wall time
of N runs, beside two floors measured in the same rounds: `python -c "import typer, rich"` (all
that `--help` needs) and `python -c "import sqlmodel, typer, rich"` (all that a database command
needs). The rounds interleave the commands, so a busy machine slows every figure alike.

Python's bytecode caches go to a throwaway folder and a warm-up round fills them, so the figures
are those of an installed hub even where PYTHONDONTWRITEBYTECODE is set; `--no-bytecode` times
every run compiling from source instead.

    make cli-bench        # or: .venv/bin/python bench/cli_bench.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
IHUB = str(Path(sys.executable).with_name("ihub"))
SPEC = ROOT / "ihub" / "connectors" / "demo-vendor-assets.yaml"

FLOORS = {
    "import typer, rich": [sys.executable, "-c", "import typer, rich"],
    "import sqlmodel, typer, rich": [sys.executable, "-c", "import sqlmodel, typer, rich"],
}
COMMANDS = {  # name -> (arguments, the floor it is held to, the target ratio, the exit code expected)
    "ihub --help": (["--help"], "import typer, rich", 3.0, 0),
    "ihub customers list": (["customers", "list"], "import sqlmodel, typer, rich", 1.5, 0),
    "ihub integrations show acme/assets": (["integrations", "show", "acme/assets"],
                                           "import sqlmodel, typer, rich", 1.5, 0),
    "ihub logs": (["logs"], "import sqlmodel, typer, rich", 1.5, 0),
    "ihub run nosuch/thing": (["run", "nosuch/thing"], "import sqlmodel, typer, rich", 1.5, 1),
}
SETUP = (
    ["customers", "create", "acme"],
    ["endpoints", "add", "acme", "vendor", "--description", "The benchmark's vendor"],
    ["integrations", "create", "acme", "assets", "--endpoint", "vendor", "--spec", str(SPEC)],
)


def timed(command: list[str], expected: int = 0) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != expected:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}, not {expected}:\n{done.stdout}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs of each command; the median is printed.")
    parser.add_argument("--no-bytecode", action="store_true", help="Compile every module in every run.")
    options = parser.parse_args()
    runs = options.runs

    work = Path(tempfile.mkdtemp(prefix="ihub-cli-bench-"))
    if options.no_bytecode:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        os.environ["PYTHONPYCACHEPREFIX"] = str(work / "no-pycache")  # empty: nothing is read from a cache
    else:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    os.environ["IHUB_HOME"] = str(work / "home")
    os.environ["IHUB_DATABASE_URL"] = f"sqlite:///{work / 'hub.db'}"
    os.environ.pop("PREFECT_API_URL", None)  # nothing timed here may need a Prefect server
    for arguments in SETUP:
        timed([IHUB, *arguments])

    times: dict[str, list[float]] = {name: [] for name in [*FLOORS, *COMMANDS]}
    for _ in range(runs + 1):  # the first round warms the caches up and is not counted
        for name, command in FLOORS.items():
            times[name].append(timed(command))
        for name, (arguments, _floor, _target, expected) in COMMANDS.items():
            times[name].append(timed([IHUB, *arguments], expected))
    times = {name: values[1:] for name, values in times.items()}

    medians = {name: median(values) for name, values in times.items()}
    print(f"runs: {runs} each, median wall time ({'no ' if options.no_bytecode else ''}bytecode caches, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    for name in FLOORS:
        print(f"floor `{name}`: {medians[name]:.3f} s")
    for name, (_arguments, floor, target, _expected) in COMMANDS.items():
        ratio = medians[name] / medians[floor]
        verdict = "ok" if ratio <= target else "over"
        print(f"{name}: {medians[name]:.3f} s ({ratio:.2f}x `{floor}`, target {target:g}x: {verdict})")


if __name__ == "__main__":
    main()
