#!/usr/bin/env bash
# PMT scoring: sp.score_households (C) vs the same model written by hand as
# one SQL expression over the jsonb attributes and a member aggregate, same
# run, same households.  Households and persons are inserted directly (this
# measures scoring, not registration).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_HOUSEHOLDS_PMT:-1000000}"
DB=sp_bench_pmt
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

createdb -E UTF8 -T template0 "$DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q -f scripts/synth_country.sql >/dev/null
q -Atc "SELECT synth.create_country()" >/dev/null

echo "creating $N households and their members"
q -c "CREATE TEMP TABLE wards AS SELECT row_number() OVER (ORDER BY code) - 1 AS w, code FROM sp.admin_area WHERE level = 3;
      INSERT INTO sp.household (household_id, admin_area_code, attributes)
      SELECT i, (SELECT code FROM wards WHERE wards.w = (i::bigint * 7919) % 240),
             jsonb_strip_nulls(jsonb_build_object(
                 'rooms', 1 + i % 6,
                 'land_area_ha', CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 17) * 0.25 END,
                 'dwelling_type', (ARRAY['house', 'apartment', 'hut', 'tent', 'other'])[1 + i % 5],
                 'urban', i % 3 = 0,
                 'monthly_income', 300 + (i * 37) % 5000))
      FROM generate_series(1, $N) i"
q -c "INSERT INTO sp.person (household_id, given_name, family_name, birth_date, birth_date_precision, sex,
                             relationship_to_head, attributes)
      SELECT h, 'G' || h || '_' || k, 'F' || h, current_date - ((h * 31 + k * 4019) % 30000), 'day',
             CASE WHEN (h + k) % 2 = 0 THEN 'F' ELSE 'M' END,
             CASE WHEN k = 1 THEN 'head' ELSE 'child' END,
             jsonb_strip_nulls(jsonb_build_object(
                 'education_level', CASE WHEN k = 1 THEN (ARRAY['none', 'primary', 'secondary', 'tertiary'])[1 + h % 4] END,
                 'disability', CASE WHEN (h * k) % 25 = 0 THEN true END))
      FROM generate_series(1, $N) h, generate_series(1, 1 + h % 7) k"
q -c "VACUUM ANALYZE sp.household" -c "VACUUM ANALYZE sp.person"
persons=$(q -Atc "SELECT count(*) FROM sp.person")

spec='{"intercept": 9.0,
  "terms": [
    {"variable": "rooms", "coefficient": 0.10},
    {"variable": "land_area_ha", "coefficient": 0.20, "transform": "log1p", "missing": {"impute": 1.0}},
    {"variable": "dwelling_type", "categories": {"hut": -0.30, "apartment": 0.25}},
    {"variable": "monthly_income", "coefficient": 0.001, "transform": "per_capita"},
    {"variable": "household_size", "coefficient": -0.05},
    {"variable": "children_under_5", "coefficient": -0.10},
    {"variable": "dependency_ratio", "coefficient": -0.04},
    {"variable": "share_disabled", "coefficient": -0.20},
    {"variable": "head_female", "coefficient": -0.02},
    {"variable": "head_education", "categories": {"secondary": 0.15, "tertiary": 0.30}}],
  "overrides": [{"area_prefix": "SY01", "coefficients": {"rooms": 0.15}},
                {"area_prefix": "SY08", "urban": true, "intercept": 9.5}],
  "cutoffs": [{"area_prefix": "", "value": 9.6}, {"area_prefix": "SY01", "urban": false, "value": 9.4}]}'
q -c "SELECT sp.create_pmt_model('bench', '$spec')" -c "SELECT sp.activate_pmt_model('bench', 1)" >/dev/null

# The same model by hand, as one SQL expression (what an analyst writes today).
cat > /tmp/sp_pmt_sql.sql <<'SQL'
CREATE TEMP TABLE sql_scores AS
SELECT h.household_id,
       CASE WHEN h.admin_area_code LIKE 'SY08%' AND (h.attributes->>'urban')::boolean THEN 9.5 ELSE 9.0 END
     + CASE WHEN h.admin_area_code LIKE 'SY01%' THEN 0.15 ELSE 0.10 END * coalesce((h.attributes->>'rooms')::float8, 0)
     + 0.20 * ln(1 + coalesce((h.attributes->>'land_area_ha')::float8, 1.0))
     + CASE h.attributes->>'dwelling_type' WHEN 'hut' THEN -0.30 WHEN 'apartment' THEN 0.25 ELSE 0 END
     + coalesce(0.001 * (h.attributes->>'monthly_income')::float8 / nullif(m.size, 0), 0)
     - 0.05 * coalesce(m.size, 0) - 0.10 * coalesce(m.under5, 0)
     - 0.04 * coalesce((m.under15 + m.over65)::float8 / greatest(m.working, 1), 0)
     - 0.20 * coalesce(m.disabled::float8 / nullif(m.size, 0), 0)
     - 0.02 * CASE WHEN m.head_sex = 'F' THEN 1 ELSE 0 END
     + CASE m.head_education WHEN 'secondary' THEN 0.15 WHEN 'tertiary' THEN 0.30 ELSE 0 END AS score
FROM sp.household h
LEFT JOIN (SELECT household_id, count(*) AS size, count(*) FILTER (WHERE age < 5) AS under5,
                  count(*) FILTER (WHERE age < 15) AS under15, count(*) FILTER (WHERE age >= 65) AS over65,
                  count(*) FILTER (WHERE age >= 15 AND age < 65) AS working,
                  count(*) FILTER (WHERE disabled) AS disabled,
                  max(sex) FILTER (WHERE head) AS head_sex, max(education) FILTER (WHERE head) AS head_education
           FROM (SELECT household_id, date_part('year', age(current_date, birth_date)) AS age, sex,
                        relationship_to_head = 'head' AS head, coalesce((attributes->>'disability')::boolean, false) AS disabled,
                        attributes->>'education_level' AS education
                 FROM sp.person WHERE status = 'active') p
           GROUP BY household_id) m USING (household_id);
SQL
cat > /tmp/sp_pmt_c.sql <<'SQL'
CREATE TEMP TABLE c_scores AS SELECT household_id, score FROM sp_internal.pmt_evaluate_all('bench', NULL);
SQL

ms() { q -c "\\timing on" -f "$1" | awk '/^Time:/ {print $2}' | tail -1; }
best() { local b=""; for r in 1 2 3; do t=$(ms "$1"); q -c "DROP TABLE IF EXISTS pg_temp.sql_scores, pg_temp.c_scores" >/dev/null 2>&1 || true
         if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi; done; echo "$b"; }
# temp tables vanish with each psql session, so each timing run is independent
echo "timing"
sql_ms=$(best /tmp/sp_pmt_sql.sql)
c_ms=$(best /tmp/sp_pmt_c.sql)
full_s=$(q -c "\\timing on" -c "SELECT sp.score_households('bench')" | awk '/^Time:/ {print $2 / 1000}')
diff=$(q -Atc "$(cat /tmp/sp_pmt_sql.sql) $(cat /tmp/sp_pmt_c.sql)
               SELECT coalesce(max(abs(s.score - c.score)), -1) FROM sql_scores s JOIN c_scores c USING (household_id)")
rate() { echo "scale=0; $N * 1000 / $1" | bc; }

cat > bench/out/40_pmt.md <<MD
## PMT scoring (issue: needs assessment and targeting)

$N households ($persons persons, inserted directly), a model with 10 terms (transforms, categories, imputation,
per-capita income, six member-derived variables) and regional/urban overrides. Best of 3 runs, same run.

| scoring $N households into a table | ms | households/s |
|---|---:|---:|
| \`sp_internal.pmt_evaluate_all\` (C; households and members merged in one pass) | $(printf '%.0f' "$c_ms") | $(rate "$c_ms") |
| the same model as one SQL expression over jsonb and a member GROUP BY | $(printf '%.0f' "$sql_ms") | $(rate "$sql_ms") |
| speed-up | **$(echo "scale=2; $sql_ms / $c_ms" | bc) x** | |

Largest difference between the two scores over all households: $diff (the two compute the same model).
\`sp.score_households\`, which also appends every result to \`sp.assessment\`: $(printf '%.1f' "$full_s") s.

Target (issue 5): >= 2x the SQL expression.
MD
cat bench/out/40_pmt.md
dropdb "$DB"
