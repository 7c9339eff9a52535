#!/usr/bin/env bash
# The coverage map (issue 13) rendered as a person sees it: Somalia's real
# district boundaries (../shared/data/cod-ab), households and enrolments in
# every district, sp.coverage_map_html written to a file, opened offline by
# headless Chromium and saved as a PNG; the PNG must show areas filled with
# more than one colour of the legend's scale, and the legend.
# Usage: test/map_render.sh (PG* environment of a running cluster, as a
# superuser; make test runs it through scripts/run-tests.sh).  Output is TAP.
set -euo pipefail
cd "$(dirname "$0")/.."

data="$(cd .. && pwd)/shared/data/cod-ab/somalia"
db=sp_registry_map
work=$(mktemp -d)
chmod 755 "$work"
trap '[ -n "${KEEP_MAP:-}" ] && cp "$work/map.png" "$work/map.html" "$KEEP_MAP"/; rm -rf "$work"' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
n=0
check() {  # description, then a command that succeeds or fails
  local what=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}

echo "1..4"
dropdb --if-exists "$db" 2>/dev/null
createdb -E UTF8 -T template0 "$db"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q -v cod="$data" -f scripts/somalia_boundaries.psql >/dev/null
q >/dev/null <<'SQL'
SET client_min_messages = warning;
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('so_cash', 'Somalia cash transfer', 'cash', '{"area": "SO"}');
-- 60 to 99 households per district; 80 % of them eligible; a share enrolled
-- that differs from district to district (10 % to 90 %)
CREATE TEMP TABLE d AS
SELECT code, 60 + (row_number() OVER (ORDER BY code) * 7) % 40 AS n, 0.1 + 0.2 * (row_number() OVER (ORDER BY code) % 5) AS share
FROM sp.admin_area WHERE level = 2;
INSERT INTO sp.household (admin_area_code) SELECT d.code FROM d, generate_series(1, d.n) ORDER BY 1;
INSERT INTO sp.enrolment (programme, household_id, state, reason)
SELECT 'so_cash', h.household_id,
       CASE WHEN h.k <= d.share * d.n THEN 'enrolled' ELSE 'eligible' END, 'map test'
FROM (SELECT household_id, admin_area_code, row_number() OVER (PARTITION BY admin_area_code ORDER BY household_id) AS k FROM sp.household) h
JOIN d ON d.code = h.admin_area_code
WHERE h.k <= 0.8 * d.n
ORDER BY h.household_id;
SQL
q -Atc "SELECT sp.coverage_map_html('so_cash', 2, 'Somalia cash transfer: coverage by district')" > "$work/map.html"
check "the map is a self-contained HTML page with one path per district" \
  test "$(grep -o '<path ' "$work/map.html" | wc -l)" -eq 74

# Chromium as root needs --no-sandbox; the page loads nothing from the network
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,1100 \
  --screenshot="$work/map.png" "file://$work/map.html" >"$work/chromium.log" 2>&1 || true
check "headless Chromium rendered it to a PNG" test -s "$work/map.png"

counts=$(python3 test/png_colours.py "$work/map.png" d7301f fc8d59 fdcc8a a1d99b 31a354 123456 2>&1 || true)
fills=$(echo "$counts" | awk 'NR > 1 && $1 != "123456" && $2 > 300 { n++ } END { print n + 0 }')
legend=$(echo "$counts" | awk '$1 == "123456" { print $2 }')
check "areas are filled with more than one colour of the scale ($fills of 5 classes with more than 300 pixels)" test "$fills" -ge 2
check "the legend is drawn (${legend:-0} pixels of its frame)" test "${legend:-0}" -gt 200
[ "$fills" -ge 2 ] || { echo "# $counts"; sed 's/^/# /' "$work/chromium.log" | tail -5; }
dropdb "$db"
