#!/usr/bin/env bash
# Runs the server-side suites against the cluster in the environment
# (make test starts it with pg_virtualenv): pg_regress, pgTAP, concurrency, fuzz,
# dump and restore, crash safety.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0

regress() {
  rm -rf results regression.diffs regression.out
  if ! make -s installcheck; then
    status=1
    [ -f regression.diffs ] && cat regression.diffs
  fi
}

echo "== pg_regress (test/sql vs expected/)"
regress

echo "== pgTAP (test/pgtap)"
db=sp_registry_tap
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db"
createdb -E UTF8 -T template0 "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
  -c 'SET client_min_messages = warning' \
  -c 'CREATE EXTENSION pgtap' \
  -c 'CREATE EXTENSION sp_registry CASCADE'
if ! pg_prove -d "$db" --failures test/pgtap/*.sql; then
  status=1
fi

echo "== role matrix (docs/security.md matches the grants)"
if ! scripts/role-matrix.sh check "$db"; then
  status=1
fi

echo "== concurrency (test/concurrency.sh)"
if ! prove --exec "bash" test/concurrency.sh :: "$db"; then
  status=1
fi
dropdb "$db"

# Hostile input against every C entry point; fails on a signal or a restart.
echo "== fuzz (test/fuzz.sh)"
if ! prove --exec "bash" test/fuzz.sh; then
  status=1
fi

echo "== dump and restore (test/roundtrip.sh)"
if ! prove --exec "bash" test/roundtrip.sh; then
  status=1
fi

echo "== G2P Connect shapes (test/g2p_shapes.sh)"
if ! prove --exec "bash" test/g2p_shapes.sh; then
  status=1
fi

echo "== DCI gateway over HTTP (test/gateway.sh)"
if ! prove --exec "bash" test/gateway.sh; then
  status=1
fi

echo "== command-line tool (test/cli.sh)"
if ! prove --exec "bash" test/cli.sh; then
  status=1
fi

echo "== coverage map rendered (test/map_render.sh)"
if ! prove --exec "bash" test/map_render.sh; then
  status=1
fi

# The suite must run again in the same cluster: roles are cluster-wide, and a
# test that leaves one behind (or any other trace outside its database) makes
# the second run fail.
echo "== pg_regress again, in the same cluster"
regress

# Last: it stops the server with -m immediate (six times) and starts it again.
echo "== crash safety (test/crash.sh)"
if ! prove --exec "bash" test/crash.sh; then
  status=1
fi

exit $status
