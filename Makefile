# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
DOCS_PORT ?= 8000

# Test processes (pytest-xdist): one per core. Tests that start processes or
# servers of their own share one of them (OWN_PROCESSES in tests/conftest.py).
TEST_WORKERS ?= auto

.PHONY: install dev-env demo test node-tools vendor translations docs docs-serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installed again only when the package's metadata changes. Without compiling every module of
# every dependency (a third of the install's time): those imported are compiled on first use.
$(VENV)/.installed: $(BIN)/python setup.cfg setup.py pyproject.toml
	$(BIN)/pip install --quiet --no-compile -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The development settings (a secret key) in .env, which every `flask` command run here reads:
# made once, then kept (a new key would break the demo's sessions, links and receipts' checks).
dev-env: $(BIN)/python
	@$(BIN)/python scripts/dev_env.py .env --legacy instance/secret_key

demo: install dev-env
	$(BIN)/flask --app wsgi db upgrade
	CONSENT_BASE_URL=http://$(HOST):$(PORT) $(BIN)/flask --app wsgi demo --sample-mail
	@echo "Open http://$(HOST):$(PORT)/login — e-mails are written to instance/outbox/*.eml"
	export CONSENT_BASE_URL=http://$(HOST):$(PORT); \
	$(BIN)/flask --app wsgi outbox deliver & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# The tests' Node tools (package-lock.json), where npm is there (the tests that need them skip, saying
# why, without them): axe-core for the browser tests, jose to verify receipts as a third party would.
# Installed on a fresh clone, and again whenever the lock is newer than what npm installed; a failed
# npm ci (offline) leaves those tests skipping rather than stopping `make test`.
node-tools:
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  if command -v npm >/dev/null 2>&1; then \
	    npm ci --no-audit --no-fund --silent || echo "npm ci failed: the browser tests and the npm jose receipt check will be skipped"; \
	  else echo "npm not found: the browser tests and the npm jose receipt check will be skipped"; fi; \
	fi

# Swagger UI for /api/v1/docs, copied from npm's swagger-ui-dist (the version package-lock.json pins)
# into static/vendor/swagger-ui/, which is committed: the app itself needs no npm. To upgrade, change
# the version in package.json, `npm install`, `make vendor`, and commit the three together
# (tests/test_api_reference.py fails while the copy and the lock differ).
vendor:
	npm ci --no-audit --no-fund --silent
	$(PYTHON) scripts/vendor_swagger_ui.py

# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set (as on our CI hosts): without it every
# worker, and every server or command a test starts, compiles the package and rewrites the tests'
# asserts again (14 s of collection per worker instead of 5).
test: install node-tools
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS)

# The manual as a site (mkdocs.yml; MkDocs and its Material theme come with the test extras).
# --strict: a broken link or anchor fails the build, as in tests/test_docs_site.py. Material's
# notice about its future (printed on every start) is turned off.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Rebuilt on every change; warnings are shown, not fatal, while you write.
docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --no-strict --dev-addr $(HOST):$(DOCS_PORT)

translations:
	PATH=$(BIN):$$PATH PYTHON=$(BIN)/python scripts/i18n.sh $(TABLE)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache site
