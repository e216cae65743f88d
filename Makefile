# The front door: `make setup`, `make test`, `make demo`. CI runs `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := prometheus prometheus-alertmanager chromium wrk

.PHONY: setup system-deps lint format test unit integration demo bench clean

setup: $(BIN)/.installed system-deps

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Prometheus/promtool, Alertmanager/amtool, Chromium (web page tests) and wrk (bench/)
# from Debian, when missing.
system-deps:
	@if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null \
		|| ! command -v chromium >/dev/null || ! command -v wrk >/dev/null; then \
		echo "installing $(DEBIAN_PACKAGES) from Debian"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES); \
	fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup lint
	$(BIN)/pytest

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

demo: setup
	$(BIN)/sloctl demo

bench: setup
	$(BIN)/python bench/compile.py
	$(BIN)/python bench/instrumentation.py
	$(BIN)/python bench/server.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
