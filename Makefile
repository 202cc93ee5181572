# `make demo` and `make test` do all the set-up on a fresh machine: uv (from PyPI if it is
# missing), then the locked dependencies into .venv, then the job itself.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
PYTHON ?= python3

.PHONY: demo test up sync browser bench cli-bench console-bench clean

# The demo's hub is the clone's own .ihub/ (which `make clean` removes), unless IHUB_HOME says otherwise.
demo: sync
	IHUB_HOME="$${IHUB_HOME:-$(CURDIR)/.ihub}" .venv/bin/ihub demo

test: sync browser
	.venv/bin/pytest -n 3 --dist loadfile --durations 10

# The whole hub until Ctrl+C: a Prefect server (UI included), `ihub serve`, the console and the REST API.
up: sync
	IHUB_HOME="$${IHUB_HOME:-$(CURDIR)/.ihub}" .venv/bin/ihub up

# one `name: value` line per figure on stdout; progress and load averages on stderr
bench: sync
	.venv/bin/python bench/sync_bench.py --databases sqlite,postgresql
	.venv/bin/python bench/latency_bench.py
	.venv/bin/python bench/memory_bench.py

cli-bench: sync
	.venv/bin/python bench/cli_bench.py

console-bench: sync
	.venv/bin/python bench/console_bench.py

# The console's browser tests drive Debian's Chromium: installed when missing and we may (root);
# otherwise those tests are skipped, saying why.
browser:
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "could not install Chromium: the console's browser tests will be skipped"

# Bytecode compiled at install: this machine sets PYTHONDONTWRITEBYTECODE, so otherwise every process
# (a CLI command, a server, a flow run) compiles Prefect again, about 4 s of CPU each.
sync: $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON) --quiet

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

clean:
	rm -rf .venv .tools .ihub
