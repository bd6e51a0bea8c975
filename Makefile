# The two commands: `make run` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test fuzz faults bench lint chromium screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tenantry db upgrade
	$(BIN)/tenantry demo
	$(BIN)/tenantry serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

# Browser tests drive Debian's Chromium (Playwright's own download does not work everywhere).
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else \
	    echo "Chromium is missing: sudo apt-get install chromium"; exit 1; \
	  fi; }

# The suite runs in parallel: one worker per core (TENANTRY_TEST_WORKERS=4, or 0 for one
# process). A module's tests stay on one worker, so a module's served process starts once.
TENANTRY_TEST_WORKERS ?= auto
test: install lint chromium
	$(BIN)/pytest -n $(TENANTRY_TEST_WORKERS) --dist loadscope

# Refresh the README's screenshots (docs/screenshots) from the browser tests.
screenshots: install chromium
	TENANTRY_SCREENSHOTS=1 $(BIN)/pytest tests/web -k sqlite

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# The escalation search (tests/security), longer than in `make test`.
FUZZ_EXAMPLES ?= 100
fuzz: install
	TENANTRY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:cacheprovider -s tests/security

# The fault tests alone (part of `make test`), printing the figures the README reports.
faults: install
	$(BIN)/pytest -p no:cacheprovider -s tests/operations/test_faults.py
