#!/usr/bin/env bash
# pg_virtualenv -t on a free port.
#
# With -t, pg_virtualenv creates its cluster under a temporary configuration
# root, so pg_createcluster does not see the machine's other clusters and
# always picks port 5432: beside a running main cluster, or a second
# `make test`, the throwaway server would fail to start ("Port conflict").
# This wrapper picks a random port in 54320-55319 that no server listens on
# (neither TCP nor a Unix socket in /var/run/postgresql) and passes it down
# through PGPORT, which pg_virtualenv hands to pg_createcluster.
set -euo pipefail

in_use() {
  [ -e "/var/run/postgresql/.s.PGSQL.$1" ] && return 0
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
  return 1
}

for _ in $(seq 1 200); do
  port=$((54320 + RANDOM % 1000))
  if ! in_use "$port"; then
    export PGPORT=$port
    exec pg_virtualenv -t "$@"
  fi
done
echo "virtualenv.sh: no free port found in 54320-55319" >&2
exit 1
