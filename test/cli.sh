#!/usr/bin/env bash
# The command-line tool (sp_registry) against a database of its own in the
# running cluster (PG* environment): imports of CSV and JSON lines with bad
# rows (good households land, bad ones are listed with line, field and
# reason), a re-import, an external list refused whole, dedupe, report,
# --help and exit statuses.  TAP output.
set -euo pipefail
cd "$(dirname "$0")/.."

db=sp_cli_test
work=$(mktemp -d)
trap 'PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cli="$(pg_config --bindir)/sp_registry"
[ -x "$cli" ] || cli=src/cli/sp_registry
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
n=0
fail=0
ok() {  # ok <condition-exit-status> <description> [diagnostic]
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"; fail=1; fi
}
run() {  # run ARGS...: output in $out, status in $rc
  out=$("$cli" --no-progress -d "$db" "$@" 2>&1) && rc=0 || rc=$?
}

PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db"
createdb -E UTF8 -T template0 "$db"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE" \
  -c "INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('CL', NULL, 0, 'Clistan'), ('CL01', 'CL', 1, 'North'), ('CL02', 'CL', 1, 'South')" \
  -c "INSERT INTO sp.external_programme (name, title, owner_ministry, benefit_type, frequency, amount, currency) VALUES ('cl_meals', 'Meals', 'Education', 'in_kind', 'daily', 1, 'USD')"

echo "1..20"

# a registration CSV: a row per member, a household column, household fields
# on the first row, attributes typed by the catalogue, quotes, bad rows
cat > "$work/reg.csv" <<'CSV'
household,admin_area_code,lat,lon,household.rooms,given_name,family_name,birth_date,sex,relationship_to_head,national_id
h1,CL01,2.05,45.3,2,Amina,Bari,1980-05-02,F,head,CL-1
h1,CL01,,,,Bile,Bari,1978,M,spouse,
h2,CL02,,,3,Caano,"Dheere, Jr",1990,M,head,CL-2
h3,CL02,,,two,Dega,Cali,2001,F,head,
h4,XX99,,,1,Eeg,Gone,1999,M,head,
h2,CL02,,,,Faarax,Dheere,2015,M,child,
h5,CL01,,,07,Zero,Lead,2000,F,head,
h6,CL01,,,,Future,Born,2999-01-01,F,head,
CSV
run import "$work/reg.csv"
ok "$([ "$rc" = 3 ] && grep -q '2 registered, 0 already there, 4 rejected' <<<"$out"; echo $?)" \
   "import CSV: the good households land, exit 3 because some rows were rejected" "rc=$rc $out"
ok "$([ "$(q -c "SELECT string_agg(given_name, ',' ORDER BY given_name) FROM sp.person")" = "Amina,Bile,Caano,Faarax" ]; echo $?)" \
   "the members of a household come together, whatever the order of its rows" "$(q -c "SELECT string_agg(given_name, ',' ORDER BY given_name) FROM sp.person")"
ok "$([ "$(q -c "SELECT attributes ->> 'rooms' || ' ' || round(ST_Y(location)::numeric, 2) FROM sp.household WHERE admin_area_code = 'CL01'")" = "2 2.05" ]; echo $?)" \
   "household attributes are typed by the catalogue (rooms a number) and lat, lon make the location"
errors=$(cat "$work/reg.csv.errors.csv")
ok "$(grep -q '^5,"5","attributes.rooms","22023"' <<<"$errors" && grep -q '^6,"6","admin_area_code","23503"' <<<"$errors" \
      && grep -q '^8,"8","attributes.rooms","22023"' <<<"$errors" \
      && grep -q '^9,"9","members\[0\].birth_date","22008"' <<<"$errors"; echo $?)" \
   "the error report lists each rejected row: line, field, SQLSTATE, reason" "$errors"
run import "$work/reg.csv"
ok "$([ "$rc" = 3 ] && grep -q '0 registered, 2 already there' <<<"$out" && [ "$(q -c "SELECT count(*) FROM sp.household")" = 2 ]; echo $?)" \
   "the same file again: nothing registered twice (submission ids from the content)" "$out"
ok "$([ "$(q -c "SELECT count(*) FROM sp.import_error")" -ge 3 ]; echo $?)" "the rejected documents are also in sp.import_error (identifiers redacted)"
# a row that cannot be read: its household is unknown, so nothing is sent
printf 'household,admin_area_code,given_name,relationship_to_head\nq1,CL01,Ann,head\nq1,CL01,"Bob"x,spouse\nq1,CL01,Cat,child\n' > "$work/broken.csv"
run import "$work/broken.csv"
ok "$([ "$rc" = 3 ] && grep -q 'nothing was sent' <<<"$out" && grep -q '^3,"","\$","22P02"' "$work/broken.csv.errors.csv" \
      && [ "$(q -c "SELECT count(*) FROM sp.person WHERE given_name IN ('Ann', 'Cat')")" = 0 ]; echo $?)" \
   "a row that cannot be read: the file is refused whole, no household lands with a member missing" "rc=$rc $out"
# a row without a household key: its household is unknown too
printf 'household,admin_area_code,given_name,relationship_to_head\ne1,CL01,Eve,head\n,CL01,Lost,child\n' > "$work/nokey.csv"
run import "$work/nokey.csv"
ok "$([ "$rc" = 3 ] && grep -q 'nothing was sent' <<<"$out" && grep -q '^3,"","household","23502"' "$work/nokey.csv.errors.csv" \
      && [ "$(q -c "SELECT count(*) FROM sp.person WHERE given_name = 'Eve'")" = 0 ]; echo $?)" \
   "a row with an empty household key: the file is refused whole" "rc=$rc $out"
# households with the same rows under different keys are different households; a
# household's rows that disagree on a household field, or a bad coordinate, are rejected
printf 'household,admin_area_code,lat,lon,given_name,relationship_to_head\ntw1,CL01,,,Twin,head\ntw2,CL01,,,Twin,head\nd1,CL01,,,Dee,head\nd1,CL02,,,Dum,child\ng1,CL01,nan,45,Gps,head\ng2,CL01,2.0,,Half,head\n' > "$work/twins.csv"
run import "$work/twins.csv"
errors=$(cat "$work/twins.csv.errors.csv")
ok "$([ "$rc" = 3 ] && grep -q '2 registered, 0 already there, 3 rejected' <<<"$out" && grep -q '^4,"4,5","admin_area_code","22023"' <<<"$errors" \
      && grep -q '^6,"6","lat","22023"' <<<"$errors" && grep -q '^7,"7","lon","22023"' <<<"$errors"; echo $?)" \
   "identical rows under two keys: two households; disagreeing rows and bad coordinates: rejected, named" "rc=$rc $out $errors"

# JSON lines: a document per line; broken lines are reported, not sent
printf '%s\n' '{"admin_area_code": "CL02", "members": [{"given_name": "Json", "relationship_to_head": "head"}]}' \
  '{"admin_area_code": "CL02", "members": [' '' '[1, 2]' \
  '{"admin_area_code": "CL02", "submission_id": "6f1c0000-0000-4000-8000-000000000001", "members": [{"given_name": "Own", "relationship_to_head": "head"}]}' \
  > "$work/reg.jsonl"
run import "$work/reg.jsonl"
errors=$(cat "$work/reg.jsonl.errors.csv")
ok "$([ "$rc" = 3 ] && grep -q '2 registered, 0 already there, 2 rejected' <<<"$out" && grep -q '^2,"","\$","22P02"' <<<"$errors" \
      && grep -q '^4,"","\$","22P02"' <<<"$errors"; echo $?)" "import JSON lines: good lines land, broken ones listed by line" "$out $errors"
ok "$([ "$(q -c "SELECT count(*) FROM sp.registration_submission WHERE submission_id = '6f1c0000-0000-4000-8000-000000000001'")" = 1 ]; echo $?)" \
   "a document's own submission_id is kept"
# a value the server cannot take in one document (a number too large for it): the batch is refused,
# then sent one by one, so the others land and that one is named
printf '%s\n' '{"admin_area_code": "CL02", "members": [{"given_name": "Big", "relationship_to_head": "head"}], "attributes": {"rooms": 1e999999}}' \
  '{"admin_area_code": "CL02", "members": [{"given_name": "Small", "relationship_to_head": "head"}]}' > "$work/big.jsonl"
run import "$work/big.jsonl"
ok "$([ "$rc" = 3 ] && grep -q '; 1 registered' <<<"$out" && grep -q '^1,"1","[^"]*","22003"' "$work/big.jsonl.errors.csv"; echo $?)" \
   "a document the server cannot take at all: named by its line with the server's SQLSTATE, the rest of the batch lands" "rc=$rc $out $(cat "$work/big.jsonl.errors.csv" 2>/dev/null)"
printf '%s\n' '{"admin_area_code": "CL02", "members": [{"given_name": "Clean", "relationship_to_head": "head"}]}' > "$work/clean.jsonl"
run import --errors "$work/none.csv" "$work/clean.jsonl"
ok "$([ "$rc" = 0 ] && [ ! -e "$work/none.csv" ]; echo $?)" "a clean file: exit 0 and no error report" "rc=$rc $out"

# an external programme's list is all or nothing: a bad row refuses it, naming its line
printf 'source_record_id,national_id,given_name,family_name,birth_date,amount\nm1,CL-1,Amina,Bari,1980-05-02,2\nm2,,Bile,Bari,1978,lots\n' > "$work/meals.csv"
run import --programme cl_meals "$work/meals.csv"
ok "$([ "$rc" = 3 ] && grep -q 'refused at line 3' <<<"$out" && [ "$(q -c "SELECT count(*) FROM sp.external_beneficiary")" = 0 ]; echo $?)" \
   "an external list with a bad row: refused whole, the row's line named, nothing imported" "rc=$rc $out"
sed -i 's/,lots$/,3/' "$work/meals.csv"
run import --programme cl_meals "$work/meals.csv"
ok "$([ "$rc" = 0 ] && [ "$(q -c "SELECT count(*) FROM sp.external_beneficiary")" = 2 ]; echo $?)" "corrected, the list is imported" "rc=$rc $out"

# dedupe (once the person model is trained) and report
q -c "CREATE TABLE public.people AS SELECT g::bigint AS id, 'Given' || (g % 37) AS given_name, 'Family' || (g % 41) AS family_name,
        date '1960-01-01' + g * 11 AS birth_date, lpad((g * 7919 % 100000)::text, 8, '0') AS national_id FROM generate_series(1, 300) g" \
  -c "SELECT sp.train_linkage_model('person', 'public.people') IS NOT NULL" >/dev/null
run dedupe --threshold 0.95
ok "$([ "$rc" = 0 ] && grep -q '"run_id"' <<<"$out"; echo $?)" "dedupe runs sp.deduplicate_persons and prints its result" "rc=$rc $out"
run report --level 1
ok "$([ "$rc" = 0 ] && grep -q '"registrations"' <<<"$out"; echo $?)" "report prints the monitoring report" "rc=$rc $(head -5 <<<"$out")"

# usage and failures
out=$("$cli" --help) && rc=0 || rc=$?
ok "$([ "$rc" = 0 ] && grep -q 'import FILE' <<<"$out" && grep -q 'Exit status' <<<"$out"; echo $?)" "--help" "$out"
run import --format xml "$work/reg.csv"
rc1=$rc
run frobnicate
ok "$([ "$rc1" = 1 ] && [ "$rc" = 1 ]; echo $?)" "a bad option or command: exit 1" "$rc1 $rc $out"
out=$("$cli" --no-progress -d sp_cli_no_such_db import "$work/clean.jsonl" 2>&1) && rc=0 || rc=$?
ok "$([ "$rc" = 2 ] && grep -q 'cannot connect' <<<"$out"; echo $?)" "a database that cannot be reached: exit 2" "rc=$rc $out"
exit $fail
