# Two commands on a fresh machine: `make run` and `make test`. Everything they need
# (virtualenv, pinned Python packages, system libraries, the CJK font, Chromium for
# the browser tests) is installed here, so the next machine may be bare.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WEB_WORKERS ?= 2
export FLASK_APP := app
LOCK := requirements.lock
PIP_TOOLS := pip-tools==7.6.2

# Debian packages: venv for Python, WeasyPrint's Pango stack, a CJK font for the forms.
SYSTEM_PACKAGES := python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
# ...plus what the tests drive and read: Chromium, and poppler for pdftotext/pdffonts.
TEST_SYSTEM_PACKAGES := chromium poppler-utils

.PHONY: run test setup test-setup system-packages test-system-packages translations lock bench cluster-check clean

setup: system-packages $(VENV)/.installed translations

# Every package, the ones pyproject.toml pulls in too, at the version and with the hashes of
# requirements.lock: a changed or substituted file on the index is refused, not installed. The portal
# itself then goes in without resolving anything (its build backend, setuptools, is in the lock).
$(VENV)/.installed: $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# pyproject.toml stays the source of the pins; this writes what they pull in, with hashes, to
# requirements.lock. After changing a pin: `make lock`; to move the unpinned ones too: `make lock UPGRADE=1`.
# pip-tools runs in a virtualenv of its own, thrown away afterwards: it is no part of the portal.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PY) -m venv "$$tmp" && "$$tmp/bin/pip" install --quiet $(PIP_TOOLS) && \
	CUSTOM_COMPILE_COMMAND="make lock" "$$tmp/bin/pip-compile" --quiet --generate-hashes --allow-unsafe \
		--extra test --strip-extras --build-deps-for editable --no-emit-index-url --no-emit-find-links \
		$(if $(UPGRADE),--upgrade) --output-file $(LOCK) pyproject.toml

system-packages:
	@bash scripts/system-packages.sh $(SYSTEM_PACKAGES)

test-system-packages:
	@bash scripts/system-packages.sh $(TEST_SYSTEM_PACKAGES)

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy -d translations >/dev/null

run: setup
	$(BIN)/flask init-db
	@if [ -z "$$NO_DEMO" ]; then $(BIN)/flask seed-demo --if-empty; fi
	@echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl-C stops the web server and the task consumer)"
	@trap 'kill 0' EXIT INT TERM; \
	$(BIN)/huey_consumer consumer.huey --workers 2 --worker-type thread --flush-locks --quiet & \
	$(BIN)/gunicorn -c gunicorn.conf.py --workers $(WEB_WORKERS) --bind 127.0.0.1:$(PORT) & \
	wait

test: setup test-system-packages
	$(BIN)/pytest -q -n auto

# Seeds 10 k, 100 k and 1 M records, serves with gunicorn and writes docs/perf.md
# (BENCH_SIZES=10000 BENCH_SECONDS=3 for a quick look).
bench: setup
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) translations/*/LC_MESSAGES/*.mo

# Two web servers and two task consumers from deploy/Procfile on PostgreSQL + Redis, 32 writers, one
# server and the periodic consumer killed half-way: every record once, numbers without gaps, each
# escalation and mail once, the same board from both (CLUSTER_DATABASE_URL, CLUSTER_HUEY_URL).
cluster-check: setup
	$(BIN)/python scripts/cluster_check.py
