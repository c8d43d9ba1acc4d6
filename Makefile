# The README's two commands: `make run` (set up + start the dashboard) and `make test` (set up + all tests).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test test-fast setup browser-deps bench assets lint

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/decision-atlas ui --port $(PORT) --headless

test: $(STAMP) browser-deps lint
	$(PY) -m pytest

# Everything but the tests marked slow (the heaviest: about 10 s of CPU time each or more) and the browser test.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser"

# Headless Chromium for the browser test, and nginx for the test of the classroom proxy
# (deploy/nginx-classroom.conf): Debian's packages, installed when we are root and they are missing.
browser-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && \
		{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
			nginx-light >/dev/null; \
	else echo "chromium/chromedriver/nginx missing and not root: the browser tests will be skipped"; fi

bench: $(STAMP)
	$(PY) -m bench.run_all

assets: $(STAMP)
	$(PY) assets/make_assets.py

lint: $(STAMP)
	$(VENV)/bin/ruff check geometry app tests bench assets
	$(PY) -m mypy geometry app

# A classroom (issue 12): N concurrent headless-Chromium sessions walk the guided tour against one server;
# records per-step times, server and browser CPU, bytes and server memory in bench/results.md (needs psutil).
# PROXY=nginx puts deploy/nginx-classroom.conf (gzip) in front, as README's "Teaching a class" does.
.PHONY: classroom
SESSIONS ?= 1,5,10,15
PROXY ?= none
classroom: $(STAMP) browser-deps
	@$(PY) -c "import psutil" 2>/dev/null || $(PY) -m pip install --quiet psutil
	$(PY) -m bench.classroom --sessions $(SESSIONS) --proxy $(PROXY) --write
