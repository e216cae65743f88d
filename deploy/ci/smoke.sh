#!/usr/bin/env bash
# Smoke test of the dev deployment: through port-forwards, the server is up,
# serves the orders SLOs from the specs baked in its image and refuses an
# unauthenticated write; the orders service is healthy and creates an order.
# Usage: deploy/ci/smoke.sh [NAMESPACE]
set -euo pipefail
ns="${1:-sloctl-dev}"
kubectl -n "$ns" port-forward svc/sloctl-server 18080:8080 >/dev/null 2>&1 &
pf_server=$!
kubectl -n "$ns" port-forward svc/orders 18001:8000 >/dev/null 2>&1 &
pf_orders=$!
trap 'kill "$pf_server" "$pf_orders" 2>/dev/null || true' EXIT
for _ in $(seq 1 30); do
    curl -fsS http://127.0.0.1:18080/healthz >/dev/null 2>&1 \
        && curl -fsS http://127.0.0.1:18001/healthz >/dev/null 2>&1 && break
    sleep 2
done
curl -fsS http://127.0.0.1:18080/healthz
slos="$(curl -fsS http://127.0.0.1:18080/api/v1/slos)"
echo "$slos" | python3 -c 'import json,sys; d=json.load(sys.stdin); ids=[s["id"] for s in d["data"]]; assert "orders-availability" in ids, ids; print("server SLOs:", ids)'
code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    -d '{"slos": []}' http://127.0.0.1:18080/api/v1/slos)"
[ "$code" = 401 ] || [ "$code" = 403 ] || { echo "unauthenticated write answered $code" >&2; exit 1; }
curl -fsS http://127.0.0.1:18001/healthz
curl -fsS -X POST -H 'Content-Type: application/json' \
    -d '{"customer": "smoke", "item": "smoke-test", "quantity": 1, "unit_price": "1.50"}' \
    http://127.0.0.1:18001/orders >/dev/null
echo "smoke test passed"
