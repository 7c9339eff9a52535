#!/usr/bin/env bash
# Installs the Debian packages sp_registry needs to build, test and demo, only when
# something is missing. Quiet when everything is already present; idempotent.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
packages=(
  build-essential
  "postgresql-${PG_MAJOR}"
  "postgresql-server-dev-${PG_MAJOR}"
  "postgresql-${PG_MAJOR}-postgis-3"
  "postgresql-${PG_MAJOR}-pgtap"
  "postgresql-${PG_MAJOR}-similarity"
  "postgresql-${PG_MAJOR}-cron"
  postgresql-contrib
  postgresql-common
  libtap-parser-sourcehandler-pgtap-perl
  libicu-dev
  libpq-dev
  libmicrohttpd-dev
  libcurl4-openssl-dev
  python3
  openssl
  pkg-config
  perl
  bc
  jq
  python3-yaml
  nodejs
  chromium
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

# npm (make bench: the DuckDB peer): Debian's package, unless the installed
# node already brings its own (NodeSource builds do, and conflict with it)
command -v npm >/dev/null 2>&1 || missing+=(npm)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
