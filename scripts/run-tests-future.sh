#!/usr/bin/env bash
# make test-future: the server suites against a cluster whose clock runs
# ahead (libfaketime in the cluster's environment, set up by the Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== server clock: $(psql -XAtc 'SELECT now()' postgres)"
export SP_TEST_FUTURE=on
exec scripts/run-tests.sh
