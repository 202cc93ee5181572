"""Where the suite's time goes: after the run, the ten test modules that took the most CPU, with
their wall time and the load average they ran under.

A module's CPU is this process's plus its processes': those that ended (reaped) and those still
running (the session's Prefect test server, a module's `ihub serve`), read from /proc, so a server
started by one module and used by the next counts where it worked. On a 2-core machine that other
jobs share, wall time says how busy the machine was; CPU seconds say what the suite costs.
Under pytest-xdist each worker measures its own tests and hands its table to the controller,
which prints them together.
"""

from __future__ import annotations

import os
import resource
import time
from collections import defaultdict
from pathlib import Path

import pytest

TICKS = os.sysconf("SC_CLK_TCK")
SHOWN = 10


def _live_descendants_cpu(pid: int) -> float:
    """CPU seconds of the running descendants of `pid` (theirs and their reaped children's)."""
    total, pending = 0.0, [pid]
    while pending:
        try:
            tasks = list(Path(f"/proc/{pending.pop()}/task").iterdir())
        except OSError:  # it ended since it was listed
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                try:
                    fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += sum(int(ticks) for ticks in fields[11:15]) / TICKS  # utime stime cutime cstime
                pending.append(int(child))
    return total


def _cpu() -> tuple[float, float]:
    """(this process's CPU, its processes' CPU) in seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, reaped.ru_utime + reaped.ru_stime + _live_descendants_cpu(os.getpid())


class ModuleTimes:
    def __init__(self) -> None:
        self.modules: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        wall, (own, children) = time.monotonic(), _cpu()
        yield
        after_own, after_children = _cpu()
        module = self.modules[item.nodeid.split("::")[0]]
        module["tests"] += 1
        module["wall"] += time.monotonic() - wall
        module["pytest"] += after_own - own
        module["processes"] += after_children - children
        module["load"] += os.getloadavg()[0]

    def pytest_sessionfinish(self, session) -> None:
        if hasattr(session.config, "workeroutput"):  # an xdist worker: its table goes to the controller
            session.config.workeroutput["module_times"] = {name: dict(m) for name, m in self.modules.items()}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        for name, times in getattr(node, "workeroutput", {}).get("module_times", {}).items():
            for key, value in times.items():
                self.modules[name][key] += value

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.modules:
            return
        rows = sorted(self.modules.items(), key=lambda row: -(row[1]["pytest"] + row[1]["processes"]))
        total = {key: sum(m[key] for m in self.modules.values()) for key in ("wall", "pytest", "processes")}
        write = terminalreporter.write_line
        terminalreporter.section(f"the {SHOWN} test modules that took the most CPU")
        write(f"{'CPU s':>7} {'pytest':>7} {'its processes':>13} {'wall s':>7} {'load':>5}  module")
        for name, m in rows[:SHOWN]:
            write(f"{m['pytest'] + m['processes']:7.1f} {m['pytest']:7.1f} {m['processes']:13.1f} {m['wall']:7.1f} "
                  f"{m['load'] / m['tests']:5.1f}  {name}")
        write(f"{total['pytest'] + total['processes']:7.1f} {total['pytest']:7.1f} {total['processes']:13.1f} "
              f"{total['wall']:7.1f} {'':>5}  all {len(rows)} modules")


def pytest_configure(config) -> None:
    config.pluginmanager.register(ModuleTimes(), "ihub-module-times")
