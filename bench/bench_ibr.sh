#!/usr/bin/env bash
# The integrated beneficiary registry at national scale (issue 14): a
# ministry's list of about 1,000,000 rows linked to a registry of about
# 1,000,000 persons, both from tools/registry_gen with the truth:
#  - run A (seed 11) registers every household twice: the first
#    registrations, and the second ones of a fifth of the households (a
#    registry has its duplicates, and the person model is trained on them),
#    are the registry (loaded through sp.import_registrations); the second
#    registrations of the other households - typos, spelling variants,
#    swapped names, other scripts, missing and mistyped IDs, moves - are the
#    ministry's rows of people who are registered;
#  - run B (seed 12) gives the ministry's rows of people who are not.
# Then sp.import_external_beneficiaries (validation, blind indexes, history,
# linking by ID and by the trained person model) is timed, and the links are
# counted against the truth.  Then sp.programme_overlap(2) with a registry
# programme and the list.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_IBR_PERSONS:-1000000}"
DB=sp_bench_ibr
WORK=$(mktemp -d /tmp/sp_bench_ibr.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }

make -s tools/registry_gen
createdb -E UTF8 -T template0 "$DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"

tools/registry_gen --records $((2 * N)) --seed 11 --dup-rate 1 > "$WORK/a.csv"
tools/registry_gen --records $((N / 4)) --seed 12 --dup-rate 0 > "$WORK/b.csv"
for t in gen_a gen_b; do
  q -c "CREATE TABLE $t (id bigint, entity bigint, household bigint, submission bigint, given_name text, family_name text,
                         birth_date text, birth_precision text, sex text, national_id text, phone text,
                         admin_area_code text, relationship text, tags text)"
done
q -c "\\copy gen_a FROM '$WORK/a.csv' WITH (FORMAT csv, HEADER true)"
q -c "\\copy gen_b FROM '$WORK/b.csv' WITH (FORMAT csv, HEADER true)"
rm -f "$WORK/a.csv" "$WORK/b.csv"

# the areas the generator uses: SO, regions SOrr, districts SOrrdd, villages SOrrddvvv
q -c "INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('SO', NULL, 0, 'Somalia (synthetic)')"
q -c "WITH c AS (SELECT DISTINCT admin_area_code AS v FROM gen_a UNION SELECT DISTINCT admin_area_code FROM gen_b)
      INSERT INTO sp.admin_area (code, parent_code, level, name)
      SELECT DISTINCT left(v, 4), 'SO', 1, 'Region ' || left(v, 4) FROM c
      UNION ALL SELECT DISTINCT left(v, 6), left(v, 4), 2, 'District ' || left(v, 6) FROM c
      UNION ALL SELECT v, left(v, 6), 3, 'Village ' || v FROM c
      ORDER BY 3, 1"

# the registry: run A's first registrations, a document per household, 5,000 a call
q -c "CREATE TABLE reg_docs AS
      SELECT household, row_number() OVER (ORDER BY household) AS n,
             jsonb_build_object('submission_id', md5('a' || household)::uuid, 'admin_area_code', min(admin_area_code),
                 'members', jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                     'given_name', nullif(given_name, ''), 'family_name', nullif(family_name, ''),
                     'birth_date', nullif(birth_date, ''), 'sex', nullif(sex, ''), 'national_id', nullif(national_id, ''),
                     'phone', nullif(phone, ''),
                     'relationship_to_head', CASE WHEN relationship = 'head' THEN 'head' WHEN relationship IN ('spouse', 'child', 'parent', 'sibling', 'grandchild') THEN relationship ELSE 'other_relative' END))
                   ORDER BY CASE WHEN relationship = 'head' THEN 0 ELSE 1 END, id)) AS doc
      FROM gen_a WHERE coalesce(tags, '') NOT LIKE '%dup%' OR household % 5 = 0 GROUP BY household"
q -c "CREATE INDEX ON reg_docs (n)" -c "ANALYZE reg_docs"
batches=$(q -Atc "SELECT ceil(count(*) / 5000.0)::int FROM reg_docs")
t=$(now)
for ((b = 0; b < batches; b++)); do
  q -c "SELECT sp.import_registrations((SELECT jsonb_agg(doc ORDER BY n) FROM reg_docs WHERE n > $b * 5000 AND n <= ($b + 1) * 5000)) IS NOT NULL" >/dev/null
done
reg_s=$(printf '%.1f' "$(secs "$t")")
persons=$(q -Atc "SELECT count(*) FROM sp.person")
households=$(q -Atc "SELECT count(*) FROM sp.household")
# the truth: which registry person is which entity (members are stored in document order)
q -c "CREATE TABLE person_entity AS
      WITH m AS (
          SELECT g.household, g.entity,
                 row_number() OVER (PARTITION BY g.household ORDER BY CASE WHEN g.relationship = 'head' THEN 0 ELSE 1 END, g.id) AS ord
          FROM gen_a g WHERE coalesce(g.tags, '') NOT LIKE '%dup%' OR g.household % 5 = 0
      )
      SELECT s.person_ids[m.ord] AS person_id, m.entity
      FROM m JOIN reg_docs d ON d.household = m.household
      JOIN sp.registration_submission s ON s.submission_id = (d.doc ->> 'submission_id')::uuid"
q -c "CREATE INDEX ON person_entity (person_id)" -c "ANALYZE person_entity"
t=$(now)
q -c "SELECT sp.train_linkage_model('person', 'sp_internal.person_linkage_input') IS NOT NULL" >/dev/null
train_s=$(printf '%.1f' "$(secs "$t")")

# the ministry's list: run A's second registrations the registry does not hold, and run B's people
q -c "CREATE TABLE list_rows AS
      SELECT 'A' || id AS source_record_id, entity, true AS registered, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code
      FROM gen_a WHERE coalesce(tags, '') LIKE '%dup%' AND household % 5 <> 0
      UNION ALL
      SELECT 'B' || id, entity, false, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code FROM gen_b"
rows=$(q -Atc "SELECT count(*) FROM list_rows")
registered=$(q -Atc "SELECT count(*) FROM list_rows WHERE registered")
q -c "INSERT INTO sp.external_programme (name, title, owner_ministry, benefit_type, frequency, amount, currency)
      VALUES ('fertiliser', 'Fertiliser vouchers', 'Ministry of Agriculture', 'voucher', 'annual', 60, 'USD')"
q -c "CREATE TABLE list_json AS
      SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('source_record_id', source_record_id, 'given_name', nullif(given_name, ''),
                 'family_name', nullif(family_name, ''), 'birth_date', nullif(birth_date, ''), 'sex', nullif(sex, ''),
                 'national_id', nullif(national_id, ''), 'phone', nullif(phone, ''), 'admin_area_code', admin_area_code))
                 ORDER BY source_record_id) AS rows
      FROM list_rows"
import_list() {  # the whole list in one call, timed by the server's clock
  q -At <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT sp.import_external_beneficiaries('fertiliser', rows) FROM list_json;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);
SQL
}
import_list > "$WORK/import.out"
result=$(head -1 "$WORK/import.out"); import_s=$(tail -1 "$WORK/import.out")
# the same list again: nothing changed
import_list > "$WORK/again.out"
unchanged=$(head -1 "$WORK/again.out" | jq -r '.unchanged'); again_s=$(tail -1 "$WORK/again.out")

# against the truth
IFS='|' read -r linked by_id by_model correct wrong_registered wrong_unregistered ambiguous unmatched ambiguous_with_truth <<<"$(q -Atc "
  SELECT count(*) FILTER (WHERE e.link_status = 'linked'),
         count(*) FILTER (WHERE e.linked_by = 'national_id'),
         count(*) FILTER (WHERE e.linked_by = 'linkage'),
         count(*) FILTER (WHERE e.link_status = 'linked' AND pe.entity = l.entity),
         count(*) FILTER (WHERE e.link_status = 'linked' AND l.registered AND pe.entity IS DISTINCT FROM l.entity),
         count(*) FILTER (WHERE e.link_status = 'linked' AND NOT l.registered),
         count(*) FILTER (WHERE e.link_status = 'ambiguous'),
         count(*) FILTER (WHERE e.link_status = 'unmatched'),
         count(*) FILTER (WHERE e.link_status = 'ambiguous' AND l.registered
                          AND EXISTS (SELECT 1 FROM jsonb_array_elements(e.candidates) c JOIN person_entity x ON x.person_id = (c ->> 'person_id')::bigint
                                      WHERE x.entity = l.entity))
  FROM sp.external_beneficiary e JOIN list_rows l USING (source_record_id)
  LEFT JOIN person_entity pe ON pe.person_id = e.person_id")"

# overlaps at district level: a registry programme for a third of the households, and the list
q -c "INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('cash', 'Cash transfer', 'cash', '{\"area\": \"SO\"}')"
q -c "INSERT INTO sp.enrolment (programme, household_id, state, reason, enrolled_at)
      SELECT 'cash', household_id, 'enrolled', 'bench', now() FROM sp.household WHERE household_id % 3 = 0"
q -c "VACUUM ANALYZE"
t=$(now)
q -c "SELECT count(*) FROM sp.programme_overlap(2)" >/dev/null
overlap_s=$(printf '%.2f' "$(secs "$t")")
overlap_rows=$(q -Atc "SELECT count(*) FROM sp.programme_overlap(2)")
t=$(now)
q -c "SELECT sp.monitoring_report(current_date - 30, current_date, 2) IS NOT NULL" >/dev/null
report_s=$(printf '%.2f' "$(secs "$t")")
t=$(now)
q -c "SELECT count(*) FROM sp.coverage_by_area('cash', 2)" >/dev/null
coverage_s=$(printf '%.2f' "$(secs "$t")")

pct() { echo "scale=4; $1 / $2" | bc | sed 's/^\./0./'; }
cat > bench/out/70_ibr.md <<MD
## Integrated beneficiary registry (issue 14)

Registry: $persons persons in $households households: the first registrations of \`tools/registry_gen --records $((2 * N)) --seed 11 --dup-rate 1\`,
and the second registrations of a fifth of its households (the registry's own duplicates),
loaded with \`sp.import_registrations\` in $reg_s s; the person model trained on it (\`sp.train_linkage_model\`) in $train_s s.
The ministry's list: $rows rows, $registered of them the second registrations of the other households' people (typos, spelling
variants, swapped names, other scripts, missing and mistyped IDs, moves), the other $((rows - registered)) people the registry does not
have (seed 12). One call of \`sp.import_external_beneficiaries\`: every row checked, blind indexes, linked by national
ID and then by the person model against the whole registry.

| step | s | rows/s |
|---|---:|---:|
| import and link $rows rows | $(printf '%.1f' "$import_s") | $(echo "$rows / $import_s" | bc) |
| the same list again (nothing changed: $unchanged unchanged) | $(printf '%.1f' "$again_s") | $(echo "$rows / $again_s" | bc) |
| \`sp.programme_overlap(2)\` ($households households, a registry programme for a third of them and the list; $overlap_rows rows) | $overlap_s | |
| \`sp.monitoring_report(current_date - 30, current_date, 2)\` (the same registry) | $report_s | |
| \`sp.coverage_by_area('cash', 2)\` (suppressed with the report's counts, every level and programme at once) | $coverage_s | |

| links | rows | share |
|---|---:|---:|
| linked | $linked | $(pct "$linked" "$rows") of the list |
| by national ID | $by_id | |
| by the person model | $by_model | |
| linked to the right person | $correct | precision $(pct "$correct" "$linked") |
| linked to the wrong person (registered people) | $wrong_registered | |
| linked although not registered | $wrong_unregistered | |
| registered people linked right | $correct | recall $(pct "$correct" "$registered") |
| ambiguous, in the review queue | $ambiguous | the right person among the candidates: $ambiguous_with_truth |
| unmatched | $unmatched | |

Import result: \`$result\`.
MD
cat bench/out/70_ibr.md
[ -n "${BENCH_KEEP:-}" ] || dropdb "$DB"
