#!/usr/bin/env bash
# The command-line tool (issue 15): `sp_registry import` of about 100,000
# households from a CSV (a row per member) against the same households sent
# with sp.import_registrations directly, in batches of 1,000 documents built
# in SQL; each into a fresh registry, same run.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS="${BENCH_CLI_RECORDS:-493000}"   # persons; about 4.9 per household
WORK=$(mktemp -d /tmp/sp_bench_cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }
cli="$(pg_config --bindir)/sp_registry"

make -s tools/registry_gen
tools/registry_gen --records "$RECORDS" --seed 31 --dup-rate 0 > "$WORK/gen.csv"

setup() {  # a fresh registry with the generator's areas; the generator's rows in gen
  local db=$1
  createdb -E UTF8 -T template0 "$db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION sp_registry CASCADE;
CREATE TABLE gen (id bigint, entity bigint, household bigint, submission bigint, given_name text, family_name text,
                  birth_date text, birth_precision text, sex text, national_id text, phone text,
                  admin_area_code text, relationship text, tags text);
\\copy gen FROM '$WORK/gen.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('SO', NULL, 0, 'Somalia (synthetic)');
WITH c AS (SELECT DISTINCT admin_area_code AS v FROM gen)
INSERT INTO sp.admin_area (code, parent_code, level, name)
SELECT DISTINCT left(v, 4), 'SO', 1, 'Region ' || left(v, 4) FROM c
UNION ALL SELECT DISTINCT left(v, 6), left(v, 4), 2, 'District ' || left(v, 6) FROM c
UNION ALL SELECT v, left(v, 6), 3, 'Village ' || v FROM c
ORDER BY 3, 1;
SQL
}
rel="CASE WHEN relationship = 'head' THEN 'head' WHEN relationship IN ('spouse', 'child', 'parent', 'sibling', 'grandchild') THEN relationship ELSE 'other_relative' END"

# the CLI: the CSV a data manager would have, a row per member
setup sp_bench_cli
psql -X -q -d sp_bench_cli -c "\\copy (SELECT household, admin_area_code, given_name, family_name, birth_date, sex, $rel AS relationship_to_head, national_id, phone
      FROM gen ORDER BY household, CASE WHEN relationship = 'head' THEN 0 ELSE 1 END, id) TO '$WORK/households.csv' WITH (FORMAT csv, HEADER true)"
households=$(psql -X -At -d sp_bench_cli -c "SELECT count(DISTINCT household) FROM gen")
t=$(now)
"$cli" --no-progress -d sp_bench_cli import --batch 1000 "$WORK/households.csv" > "$WORK/cli.out" 2>&1 || { cat "$WORK/cli.out"; exit 1; }
cli_s=$(printf '%.1f' "$(secs "$t")")
cli_hh=$(psql -X -At -d sp_bench_cli -c "SELECT count(*) FROM sp.household")
echo "cli: $(cat "$WORK/cli.out")"
dropdb sp_bench_cli

# the peer: sp.import_registrations called directly, the same households, batches of 1,000
setup sp_bench_cli_sql
psql -X -q -d sp_bench_cli_sql -c "CREATE TABLE reg_docs AS
      SELECT household, row_number() OVER (ORDER BY household) AS n,
             jsonb_build_object('submission_id', md5('cli' || household)::uuid, 'admin_area_code', min(admin_area_code),
                 'members', jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                     'given_name', nullif(given_name, ''), 'family_name', nullif(family_name, ''),
                     'birth_date', nullif(birth_date, ''), 'sex', nullif(sex, ''), 'national_id', nullif(national_id, ''),
                     'phone', nullif(phone, ''), 'relationship_to_head', $rel))
                   ORDER BY CASE WHEN relationship = 'head' THEN 0 ELSE 1 END, id)) AS doc
      FROM gen GROUP BY household" -c "CREATE INDEX ON reg_docs (n)" -c "ANALYZE reg_docs"
batches=$(psql -X -At -d sp_bench_cli_sql -c "SELECT ceil(count(*) / 1000.0)::int FROM reg_docs")
t=$(now)
for ((b = 0; b < batches; b++)); do
  psql -X -q -d sp_bench_cli_sql -c "SELECT sp.import_registrations((SELECT jsonb_agg(doc ORDER BY n) FROM reg_docs WHERE n > $b * 1000 AND n <= ($b + 1) * 1000)) IS NOT NULL" >/dev/null
done
sql_s=$(printf '%.1f' "$(secs "$t")")
sql_hh=$(psql -X -At -d sp_bench_cli_sql -c "SELECT count(*) FROM sp.household")
dropdb sp_bench_cli_sql

cat > bench/out/cli.md <<EOF
## Command-line import (issue 15)

$households households ($RECORDS persons, \`tools/registry_gen --records $RECORDS --seed 31 --dup-rate 0\`), each into a
fresh registry. The CLI reads a CSV of a row per member (\`household\` column; names, birth dates, sex,
relationship, national IDs, phones), builds the documents, sends batches of 1,000 and writes the error
report; the peer sends the same documents, built in SQL from the generator's table, to
\`sp.import_registrations\` in batches of 1,000 from psql. Times include everything each does.

| import | households registered | s | households/s |
|---|---:|---:|---:|
| \`sp_registry import households.csv\` | $cli_hh | $cli_s | $(echo "scale=0; $cli_hh / $cli_s" | bc) |
| peer: \`sp.import_registrations\` called directly | $sql_hh | $sql_s | $(echo "scale=0; $sql_hh / $sql_s" | bc) |

EOF
