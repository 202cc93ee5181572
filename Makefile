# `make demo` and `make test` do all the set-up on a fresh machine: uv (from PyPI if it is
# missing), then the locked dependencies into .venv, then the job itself.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
PYTHON ?= python3

.PHONY: demo test sync bench cli-bench clean

demo: sync
	.venv/bin/ihub demo

test: sync
	.venv/bin/pytest

# one `name: value` line per figure on stdout; progress and load averages on stderr
bench: sync
	.venv/bin/python bench/sync_bench.py --databases sqlite,postgresql
	.venv/bin/python bench/latency_bench.py
	.venv/bin/python bench/memory_bench.py

cli-bench: sync
	.venv/bin/python bench/cli_bench.py

sync: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

clean:
	rm -rf .venv .tools .ihub
