# `make demo` and `make test` do all the set-up on a fresh machine: uv (from PyPI if it is
# missing), then the locked dependencies into .venv, then the job itself.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
PYTHON ?= python3

.PHONY: demo test sync bench cli-bench clean

# The demo's hub is the clone's own .ihub/ (which `make clean` removes), unless IHUB_HOME says otherwise.
demo: sync
	IHUB_HOME="$${IHUB_HOME:-$(CURDIR)/.ihub}" .venv/bin/ihub demo

test: sync
	.venv/bin/pytest

bench: sync
	.venv/bin/python bench/sync_bench.py

cli-bench: sync
	.venv/bin/python bench/cli_bench.py

sync: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

clean:
	rm -rf .venv .tools .ihub
