#!/usr/bin/env bash
# Cost of the security model: row-level security by area scope on reads, and
# registration through the SECURITY DEFINER API as a scoped role, each beside
# the same work done by the table owner (a superuser, whom the policies and
# scope checks do not apply to) in the same run, on the same data.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_RLS_HOUSEHOLDS:-250000}"     # about 1,000,000 persons
NREG="${BENCH_RLS_REGISTER:-20000}"     # households registered by each of the two roles
BATCH=1000
RUNS=7
DB=sp_bench_rls

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }

createdb -E UTF8 -T template0 "$DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q -f scripts/synth_country.sql >/dev/null
q -Atc "SELECT synth.create_country()" >/dev/null

echo "loading $N households"
q -c "CREATE TABLE synth.docs AS SELECT row_number() OVER () AS i, d FROM synth.household_docs($N + 2 * $NREG, 11) d"
q -c "CREATE TABLE synth.batches AS
      SELECT (i - 1) / $BATCH AS b, jsonb_agg(d ORDER BY i) AS batch FROM synth.docs WHERE i <= $N GROUP BY 1"
# one transaction per batch, as a sync server would send them
q -Atc "SELECT format('SELECT sp.import_registrations(batch) IS NOT NULL FROM synth.batches WHERE b = %s;', b) FROM synth.batches ORDER BY b" > /tmp/sp_bench_rls_load.sql
q -f /tmp/sp_bench_rls_load.sql >/dev/null
rm -f /tmp/sp_bench_rls_load.sql
q -c "VACUUM ANALYZE"
persons=$(q -Atc "SELECT count(*) FROM sp.person")
region=SY03
region_persons=$(q -Atc "SELECT count(*) FROM sp.person p JOIN sp.household h USING (household_id) WHERE h.admin_area_code LIKE '$region%'")

# A registrar scoped to one region, and one with national scope for registering.
q -c "DROP ROLE IF EXISTS bench_registrar; DROP ROLE IF EXISTS bench_national"
q -c "CREATE ROLE bench_registrar IN ROLE sp_registrar" -c "CREATE ROLE bench_national IN ROLE sp_registrar"
q -Atc "SELECT sp.grant_area_scope('bench_registrar', '$region'), sp.grant_area_scope('bench_national', 'SY')" >/dev/null
q -c "GRANT USAGE ON SCHEMA synth TO bench_national" -c "GRANT SELECT ON ALL TABLES IN SCHEMA synth TO bench_national"

# RUNS timings (ms) of one query as the owner and as the registrar,
# interleaved so that load from elsewhere on the machine hits both alike;
# prints "owner_median registrar_median"
time_ms() { q -At -c "\\timing on" -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
medians() {
  local sql=$1 o=() r=()
  time_ms "$sql" >/dev/null; time_ms "SET ROLE bench_registrar; $sql" >/dev/null   # warm
  for ((i = 0; i < RUNS; i++)); do
    o+=("$(time_ms "$sql")")
    r+=("$(time_ms "SET ROLE bench_registrar; $sql")")
  done
  echo "$(printf '%s\n' "${o[@]}" | median) $(printf '%s\n' "${r[@]}" | median)"
}

AREA_Q="SELECT count(*), count(*) FILTER (WHERE p.sex = 'F'), avg(extract(year FROM p.birth_date))
        FROM sp.person p JOIN sp.household h USING (household_id) WHERE h.admin_area_code LIKE '$region%'"
ALL_Q="SELECT count(*) FROM sp.person p"
point_id=$(q -Atc "SELECT min(person_id) FROM sp.person WHERE admin_area_code LIKE '$region%'")
POINT_Q="SELECT p.given_name, p.family_name FROM sp.person p WHERE p.person_id = $point_id"
VIEW_Q="SELECT count(*), avg(age_years) FROM sp.person_deidentified WHERE admin_area_code LIKE '$region%'"

seen_owner=$(q -Atc "$AREA_Q" | cut -d'|' -f1)
seen_registrar=$(q -Atc "SET ROLE bench_registrar; $AREA_Q" | tail -1 | cut -d'|' -f1)
seen_all=$(q -Atc "SET ROLE bench_registrar; $ALL_Q" | tail -1)

declare -A ms
for name in AREA ALL POINT VIEW; do
  var="${name}_Q"
  read -r ms[${name}_owner] ms[${name}_reg] < <(medians "${!var}")
done
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "registering $NREG households as the owner and as a registrar with national scope"
q -c "CREATE TABLE synth.reg_batches AS
      SELECT CASE WHEN i <= $N + $NREG THEN 'owner' ELSE 'registrar' END AS who, (i - 1) / $BATCH AS b, jsonb_agg(d ORDER BY i) AS batch
      FROM synth.docs WHERE i > $N GROUP BY 1, 2" -c "GRANT SELECT ON synth.reg_batches TO bench_national"
for who in owner registrar; do
  set=""; [ "$who" = registrar ] && set="SET ROLE bench_national;"
  t=$(now)
  q -Atc "$set SELECT count(*) FROM (SELECT sp.import_registrations(batch) FROM synth.reg_batches WHERE who = '$who' ORDER BY b) x" >/dev/null
  declare "reg_$who=$(secs "$t")"
done
rate() { echo "scale=0; $1 / $2" | bc; }

cat > bench/out/15_rls.md <<MD
## Row-level security and scoped registration (issue 9)

$persons persons in $N households (\`synth.household_docs(n, 11)\`); region $region holds $region_persons of them.
The owner is the superuser that installed the extension (policies do not apply to it); the registrar is a role
in \`sp_registrar\` with the area scope $region. Median of $RUNS runs each, ms, the two interleaved run by run, one new session per run.

| query | owner ms | registrar ms | registrar / owner | rows the registrar sees |
|---|---:|---:|---:|---|
| persons of the region joined to households, counted and averaged (the area-filtered query) | ${ms[AREA_owner]} | ${ms[AREA_reg]} | $(ratio "${ms[AREA_reg]}" "${ms[AREA_owner]}") | $seen_registrar of $seen_owner |
| the same through \`sp.person_deidentified\` | ${ms[VIEW_owner]} | ${ms[VIEW_reg]} | $(ratio "${ms[VIEW_reg]}" "${ms[VIEW_owner]}") | |
| \`count(*)\` of all persons (the registrar's policy filters to its region) | ${ms[ALL_owner]} | ${ms[ALL_reg]} | $(ratio "${ms[ALL_reg]}" "${ms[ALL_owner]}") | $seen_all of $persons |
| one person by primary key | ${ms[POINT_owner]} | ${ms[POINT_reg]} | $(ratio "${ms[POINT_reg]}" "${ms[POINT_owner]}") | |

Target: the area-filtered query as a region-scoped registrar at most 1.2x the owner.

How the policies are evaluated: the caller's areas are computed once per query and hashed, with one
probe per household and per person row; the scoped scan runs with parallel workers like the owner's
(until 2026-11-30 the policy called the scope function in the sub-select's target list, which kept
scoped queries serial: 2.08x the owner). The point lookup and the short counts carry a fixed cost per
query: each run here is a new session, whose first use of the scope functions loads and plans them
(about 4 ms); within a session the scope costs under 1 ms per query.

Registration of $NREG further households in batches of $BATCH into that registry (${persons} persons):

| caller | seconds | households/s |
|---|---:|---:|
| owner (superuser) | $(printf '%.2f' "$reg_owner") | $(rate "$NREG" "$reg_owner") |
| registrar with national scope (definer API, scope check per area of each batch) | $(printf '%.2f' "$reg_registrar") | $(rate "$NREG" "$reg_registrar") |

Target: registration at least 5,000 households/s.
MD
cat bench/out/15_rls.md
dropdb "$DB"
q() { :; }
psql -X -q -d postgres -c "DROP ROLE IF EXISTS bench_registrar" -c "DROP ROLE IF EXISTS bench_national"
