# The front door: `make setup`, `make test`, `make demo`. `make test` is `lint` then
# `pytest`; CI runs those in separate jobs (lint-python, security and manifests, pytest).
# Delivery (docs/delivery.md): `make lint` includes the security scans and the
# manifest checks; `make audit`, `make image` and the k8s-* targets need the
# network or Docker and are run by .github/workflows/ci.yml, not by `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := prometheus prometheus-alertmanager chromium wrk valgrind
# Present when systemd runs the host (sd_booted(3)).
SYSTEMD_RUN_DIR ?= /run/systemd/system

.PHONY: setup system-deps lint format test pytest unit integration demo bench clean \
	lint-python security manifests lock audit image gate kind-up k8s-render k8s-dev-secrets k8s-deploy \
	k8s-smoke

setup: $(BIN)/.installed system-deps

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Prometheus/promtool, Alertmanager/amtool, Chromium (web page tests), wrk and valgrind
# (bench/) from Debian, when missing. On a host run by systemd, Debian starts Prometheus and
# Alertmanager as services on 9090 and 9093, where docker-compose's would go: the
# ones installed here are only binaries for the tests and the demo, so their
# services are stopped and disabled (never those of a Prometheus installed before).
system-deps:
	@if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null \
		|| ! command -v chromium >/dev/null || ! command -v wrk >/dev/null \
		|| ! command -v valgrind >/dev/null; then \
		fresh=""; \
		command -v prometheus >/dev/null || fresh="prometheus"; \
		command -v prometheus-alertmanager >/dev/null || fresh="$$fresh prometheus-alertmanager"; \
		echo "installing $(DEBIAN_PACKAGES) from Debian"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES) && \
		if [ -n "$$fresh" ] && [ -d $(SYSTEMD_RUN_DIR) ]; then \
			echo "stopping and disabling the services Debian started:$$fresh (systemctl enable --now to keep them)"; \
			$(SUDO) systemctl disable --now $$fresh; \
		fi; \
	fi

lint: lint-python security manifests

# The Python tools only: no Debian packages (the lint job installs none).
lint-python: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Offline security scans: bandit on the code (config in pyproject.toml), the
# secrets scan against .secrets.baseline, hadolint on the Dockerfiles, shellcheck
# on the pipeline's scripts.
security: $(BIN)/.installed
	$(BIN)/bandit --quiet -c pyproject.toml -r sloctl server sample_service tools
	$(BIN)/python -m tools.secrets_scan
	$(BIN)/hadolint deploy/docker/*.Dockerfile
	$(BIN)/shellcheck deploy/ci/*.sh .ci/run

# deploy/k8s rendered and validated (Kubernetes schemas, PrometheusRule schema,
# promtool), and the workflow's make targets.
manifests: setup
	$(BIN)/python -m tools.manifests

# requirements.lock: the runtime dependencies pinned, what the images install and
# pip-audit reads. Refresh after changing pyproject.toml dependencies.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --python-platform linux \
		--custom-compile-command "make lock" --quiet -o requirements.lock

# Known vulnerabilities in the locked dependencies (asks PyPI's advisory data).
audit: $(BIN)/.installed
	$(BIN)/pip-audit --requirement requirements.lock --no-deps --disable-pip --strict \
		--progress-spinner off

IMAGE_TAG ?= dev
image:
	docker build -f deploy/docker/orders.Dockerfile -t sloctl/orders:$(IMAGE_TAG) .
	docker build -f deploy/docker/server.Dockerfile -t sloctl/server:$(IMAGE_TAG) .

# The budget gate of a pipeline: exit 0, or 3 with the reason (deploy/ci/gate.sh).
SERVICE ?= orders
gate:
	deploy/ci/gate.sh $(SERVICE)

KIND_CLUSTER ?= sloctl-dev
K8S_NAMESPACE ?= sloctl-dev
# prometheus-operator's CRDs, so the cluster accepts the PrometheusRule objects;
# kind-up waits until the PrometheusRule CRD is served, as k8s-deploy applies one next.
PROMETHEUS_OPERATOR_VERSION ?= v0.82.2
kind-up:
	kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --name $(KIND_CLUSTER) --wait 120s
	kind load docker-image --name $(KIND_CLUSTER) sloctl/orders:$(IMAGE_TAG) sloctl/server:$(IMAGE_TAG)
	kubectl apply --server-side -f https://github.com/prometheus-operator/prometheus-operator/releases/download/$(PROMETHEUS_OPERATOR_VERSION)/stripped-down-crds.yaml
	kubectl wait --for=condition=Established crd/prometheusrules.monitoring.coreos.com --timeout=60s

# The dev overlay as this repository's offline renderer produces it (tools/kustomize.py).
k8s-render: setup
	@$(BIN)/python -m tools.kustomize deploy/k8s/overlays/dev

k8s-dev-secrets:
	deploy/ci/dev-secrets.sh $(K8S_NAMESPACE)

k8s-deploy: k8s-dev-secrets
	kubectl apply -k deploy/k8s/overlays/dev
	kubectl -n $(K8S_NAMESPACE) rollout status deployment/postgres --timeout=180s
	kubectl -n $(K8S_NAMESPACE) rollout status deployment/sloctl-server --timeout=180s
	kubectl -n $(K8S_NAMESPACE) rollout status deployment/orders --timeout=180s

k8s-smoke:
	deploy/ci/smoke.sh $(K8S_NAMESPACE)

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Lint first, then the whole test suite; `make pytest` is the suite alone.
test: lint pytest

pytest: setup
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
	$(BIN)/python bench/instrumentation_inprocess.py
	$(BIN)/python bench/instrumentation_instructions.py --repeat 3
	$(BIN)/python bench/server.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/rules_eval.py
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/webhook_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
