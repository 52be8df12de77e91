# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install demo test translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

demo: install instance/secret_key
	CONSENT_SECRET_KEY=$$(cat instance/secret_key) $(BIN)/flask --app wsgi db upgrade
	CONSENT_SECRET_KEY=$$(cat instance/secret_key) $(BIN)/flask --app wsgi demo
	@echo "Open http://$(HOST):$(PORT)/login — e-mails are written to instance/outbox/*.eml"
	export CONSENT_SECRET_KEY=$$(cat instance/secret_key) CONSENT_BASE_URL=http://$(HOST):$(PORT); \
	$(BIN)/flask --app wsgi outbox deliver & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest

translations:
	PATH=$(BIN):$$PATH PYTHON=$(BIN)/python scripts/i18n.sh $(TABLE)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
