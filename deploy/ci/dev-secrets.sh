#!/usr/bin/env bash
# Creates (or replaces) the sloctl-secrets Secret of the dev overlay with fresh
# random values. Nothing is written to disk or to the repository; the values
# live only in the cluster. Production takes its Secret from its own store
# (External Secrets, Sealed Secrets, Vault agent files): the manifests only
# reference it. Usage: deploy/ci/dev-secrets.sh [NAMESPACE]
set -euo pipefail
ns="${1:-sloctl-dev}"
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
pg_password="$(rand)"
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
kubectl -n "$ns" create secret generic sloctl-secrets \
    --from-literal=postgres-password="$pg_password" \
    --from-literal=orders-database-url="postgresql://app:${pg_password}@postgres:5432/orders" \
    --from-literal=database-url="postgresql://app:${pg_password}@postgres:5432/sloctl" \
    --from-literal=api-token="$(rand)" \
    --from-literal=webhook-token="$(rand)" \
    --from-literal=orders-admin-token="$(rand)" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
echo "secret $ns/sloctl-secrets ready"
