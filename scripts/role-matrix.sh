#!/usr/bin/env bash
# The role matrix in docs/security.md, generated from a database with the
# extension installed.
#   scripts/role-matrix.sh check DB   fails (and shows the diff) when the docs differ from the grants
#   scripts/role-matrix.sh write DB   rewrites the docs section
set -euo pipefail
cd "$(dirname "$0")/.."
mode=$1 db=$2
doc=docs/security.md
generated=$(mktemp); documented=$(mktemp)
trap 'rm -f "$generated" "$documented"' EXIT

psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -f scripts/role-matrix.sql > "$generated"
sed -n '/<!-- role-matrix:begin -->/,/<!-- role-matrix:end -->/p' "$doc" | sed '1d;$d' > "$documented"

case $mode in
  check)
    if ! diff -u "$documented" "$generated"; then
      echo "docs/security.md: the role matrix differs from the grants (above: - documented, + granted)." >&2
      echo "If the change of grants is intended, run 'make role-matrix' and commit docs/security.md." >&2
      exit 1
    fi
    echo "role matrix: $(wc -l < "$generated") lines, matches docs/security.md"
    ;;
  write)
    awk -v gen="$generated" '
      /<!-- role-matrix:begin -->/ { print; while ((getline line < gen) > 0) print line; skip = 1; next }
      /<!-- role-matrix:end -->/ { skip = 0 }
      !skip { print }' "$doc" > "$doc.new"
    mv "$doc.new" "$doc"
    echo "wrote the role matrix into $doc"
    ;;
  *) echo "usage: $0 check|write DB" >&2; exit 2 ;;
esac
