#!/usr/bin/env bash
# The budget gate of a deploy pipeline: may SERVICE deploy now?
#
#   deploy/ci/gate.sh SERVICE      (or: make gate SERVICE=orders)
#
# Asks the sloctl server (SLOCTL_SERVER_URL, default http://127.0.0.1:8080)
# through `sloctl gate --service SERVICE`. Exit 0: every SLO of the service is
# within its budget policy. Exit 3: a policy says freeze; the reasons are on
# stderr, and on GitHub Actions also as an error annotation. Exit 1: the
# server could not answer (a pipeline should treat that as a failure, not as
# permission). The exit status of sloctl is passed through unchanged.
set -uo pipefail
service="${1:?usage: gate.sh SERVICE}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
sloctl="${SLOCTL:-$here/.venv/bin/sloctl}"
[ -x "$sloctl" ] || sloctl="sloctl"

reasons="$(mktemp)"
trap 'rm -f "$reasons"' EXIT
"$sloctl" gate --service "$service" 2> >(tee "$reasons" >&2)
status=$?
wait  # for tee to finish writing
if [ "$status" -eq 3 ]; then
    echo "deploy of $service stopped by its error budget policy" >&2
    if [ -n "${GITHUB_ACTIONS:-}" ]; then
        while IFS= read -r line; do
            echo "::error title=budget gate::${line#Error: }"
        done < "$reasons"
    fi
fi
exit "$status"
