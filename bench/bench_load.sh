#!/usr/bin/env bash
# Load (issue 10): the registry's everyday API under concurrent use.  A base
# registry is loaded, scored and enrolled; then 16 pgbench clients, logged in
# as one non-superuser role that holds the job roles a district office would
# (registrar and caseworker, national scope), run six kinds of transaction at
# once for a fixed time: register a household, correct a person, look up a
# national ID, reassess a household, open and suspend an enrolment, register
# a near-duplicate of a registered head.  Afterwards the integrity checks and
# the audit chain must still hold.
#
# The conflict the API documents for a transaction (an enrolment already
# open for the household) is caught by a helper in schema bench that catches
# only that SQLSTATE and constraint and counts it in bench.outcome; a stale expected_version (40001)
# is retried by pgbench (--max-tries), as a client would read again and
# reapply.  Every other error aborts the pgbench client and is reported,
# never hidden.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_LOAD_HOUSEHOLDS:-20000}"
DURATION="${BENCH_LOAD_SECONDS:-120}"
CLIENTS=16
THREADS=2
BATCH=1000
MAX_TRIES=10
SEED=13
DB=sp_bench_load
ROLE=sp_bench_load_user
PROGRAMME=bench_grant
WORK=$(mktemp -d /tmp/sp_bench_load.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

createdb -E UTF8 -T template0 "$DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q -f scripts/synth_country.sql >/dev/null
q -Atc "SELECT synth.create_country()" >/dev/null

# --- the base registry, as bench_rls.sh loads it ---------------------------
echo "loading $N households"
q -c "CREATE TABLE synth.docs AS SELECT row_number() OVER () AS i, d FROM synth.household_docs($N, $SEED, date '2026-01-01') d"
q -c "CREATE TABLE synth.batches AS
      SELECT (i - 1) / $BATCH AS b, jsonb_agg(d ORDER BY i) AS batch FROM synth.docs GROUP BY 1"
# one transaction per batch, as a sync server would send them
q -Atc "SELECT format('SELECT sp.import_registrations(batch) IS NOT NULL FROM synth.batches WHERE b = %s;', b) FROM synth.batches ORDER BY b" > "$WORK/load.sql"
q -f "$WORK/load.sql" >/dev/null
rejected=$(q -Atc "SELECT coalesce(sum(rejected), 0) FROM sp.import_batch")
[ "$rejected" = 0 ] || { echo "bench_load: $rejected synthetic documents rejected at load" >&2; exit 1; }

# Duplicate check at registration needs the trained person model.
q -Atc "SELECT sp.train_linkage_model('person', 'sp_internal.person_linkage_input')" >/dev/null

# A PMT model on the synthetic questionnaire, every household scored, and a
# household programme (poor by PMT with a child under 15) with quotas per
# region, as in test/roundtrip.sh; eligibility and enrolment run once.
q >/dev/null <<SQL
SELECT sp.create_pmt_model('bench', '{"intercept": 9.0, "terms": [
    {"variable": "rooms", "coefficient": 0.10},
    {"variable": "electricity", "coefficient": 0.20},
    {"variable": "dwelling_type", "categories": {"hut": -0.30, "tent": -0.40, "apartment": 0.25}},
    {"variable": "monthly_income", "coefficient": 0.0001, "transform": "per_capita"},
    {"variable": "household_size", "coefficient": -0.05},
    {"variable": "children_under_5", "coefficient": -0.10}],
  "cutoffs": [{"value": 9.4}]}', 'load bench');
SELECT sp.activate_pmt_model('bench', 1);
SELECT sp.score_households('bench');
INSERT INTO sp.programme (name, title, benefit_type, rule, ranking, review_margin)
VALUES ('$PROGRAMME', 'Load bench grant', 'cash',
        '{"all": [{"pmt": {"model": "bench", "below_cutoff": true}}, {"members": {"age": {"max": 14}}, "min": 1}]}',
        '{"pmt": "bench"}', 0.05);
INSERT INTO sp.programme_quota (programme, area_code, quota)
SELECT '$PROGRAMME', code, greatest($N / 40, 1) FROM sp.admin_area WHERE level = 1;
SELECT sp.determine_eligibility('$PROGRAMME');
SELECT sp.enrol('$PROGRAMME');
SQL

# --- what the clients pick from --------------------------------------------
# Targets are drawn by a random index into these tables (pgbench \set
# random), so every draw hits a row.  The national IDs are the clear values
# of the synthetic documents: what a person shows at the office; the
# registry itself only holds them encrypted.
q >/dev/null <<SQL
CREATE SCHEMA bench;
CREATE TABLE bench.outcome (script text NOT NULL, outcome text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE bench.ward AS
    SELECT row_number() OVER (ORDER BY code)::int AS i, code FROM sp.admin_area WHERE level = 3;
CREATE TABLE bench.household_ref AS
    SELECT row_number() OVER (ORDER BY household_id)::int AS i, household_id FROM sp.household;
CREATE TABLE bench.unenrolled AS
    SELECT row_number() OVER (ORDER BY h.household_id)::int AS i, h.household_id FROM sp.household h
    WHERE NOT EXISTS (SELECT 1 FROM sp.enrolment e WHERE e.programme = '$PROGRAMME' AND e.household_id = h.household_id
                                                   AND e.person_id IS NULL AND e.state <> 'exited');
CREATE TABLE bench.person_ref AS
    SELECT row_number() OVER (ORDER BY person_id)::int AS i, person_id FROM sp.person;
CREATE TABLE bench.person_nid AS
    SELECT s.person_ids[m.k] AS person_id, m.member ->> 'national_id' AS national_id
    FROM synth.docs d
    JOIN sp.registration_submission s ON s.submission_id = (d.d ->> 'submission_id')::uuid
    CROSS JOIN LATERAL jsonb_array_elements(d.d -> 'members') WITH ORDINALITY m (member, k)
    WHERE m.member ? 'national_id';
CREATE TABLE bench.nid AS
    SELECT row_number() OVER (ORDER BY person_id)::int AS i, national_id FROM bench.person_nid;
CREATE TABLE bench.head AS
    SELECT row_number() OVER (ORDER BY p.person_id)::int AS i, p.person_id, n.national_id
    FROM sp.person p LEFT JOIN bench.person_nid n USING (person_id) WHERE p.relationship_to_head = 'head';
ALTER TABLE bench.ward ADD PRIMARY KEY (i);
ALTER TABLE bench.household_ref ADD PRIMARY KEY (i);
ALTER TABLE bench.person_ref ADD PRIMARY KEY (i);
ALTER TABLE bench.unenrolled ADD PRIMARY KEY (i);
ALTER TABLE bench.nid ADD PRIMARY KEY (i);
ALTER TABLE bench.head ADD PRIMARY KEY (i);

-- (e) open an enrolment by hand, enrol it by hand and suspend it.  The one
-- documented conflict: the household already has an open enrolment in the
-- programme (another client opened one a moment ago), refused by the unique
-- index enrolment_open_household_idx (23505).  Only that is caught; the
-- helper runs with the caller's rights.
CREATE FUNCTION bench.open_and_suspend(p_household_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = pg_catalog, pg_temp
AS \$\$
DECLARE
    e sp.enrolment;
    c text;
BEGIN
    BEGIN
        e := sp.open_enrolment('$PROGRAMME', p_household_id, NULL, 'load bench: came back to the office');
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME;
        IF c IS DISTINCT FROM 'enrolment_open_household_idx' THEN
            RAISE;
        END IF;
        INSERT INTO bench.outcome (script, outcome) VALUES ('e_enrolment', 'already open (23505)');
        RETURN 'already open';
    END;
    -- eligible -> suspended is not a transition the lifecycle allows
    -- (55000): a hand-opened enrolment is enrolled first, then suspended.
    PERFORM sp.set_enrolment_state(e.enrolment_id, 'enrolled', 'load bench: enrolled by hand');
    PERFORM sp.set_enrolment_state(e.enrolment_id, 'suspended', 'load bench: missed the health visit');
    RETURN 'suspended';
END
\$\$;
SQL

# A login role that holds only job roles: registrar (register, update, look
# up) and caseworker (reassess, open and move enrolments), national scope.
# It reuses the cluster's password (pg_virtualenv puts it in PGPASSWORD).
q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $ROLE"
q -c "CREATE ROLE $ROLE LOGIN PASSWORD '${PGPASSWORD:-}' IN ROLE sp_registrar, sp_caseworker"
q -Atc "SELECT sp.grant_area_scope('$ROLE', 'SY')" >/dev/null
q -c "GRANT USAGE ON SCHEMA bench TO $ROLE" \
  -c "GRANT SELECT ON ALL TABLES IN SCHEMA bench TO $ROLE" \
  -c "GRANT INSERT ON bench.outcome TO $ROLE" \
  -c "GRANT EXECUTE ON FUNCTION bench.open_and_suspend(bigint) TO $ROLE"
q -c "VACUUM ANALYZE" -c "CHECKPOINT"

households=$(q -Atc "SELECT count(*) FROM sp.household")
persons=$(q -Atc "SELECT count(*) FROM sp.person")
n_person=$(q -Atc "SELECT count(*) FROM bench.person_ref")
n_household=$(q -Atc "SELECT count(*) FROM bench.household_ref")
n_unenrolled=$(q -Atc "SELECT count(*) FROM bench.unenrolled")
n_nid=$(q -Atc "SELECT count(*) FROM bench.nid")
n_head=$(q -Atc "SELECT count(*) FROM bench.head")
n_ward=$(q -Atc "SELECT count(*) FROM bench.ward")
enrolled=$(q -Atc "SELECT count(*) FROM sp.enrolment WHERE programme = '$PROGRAMME' AND state IN ('enrolled', 'suspended')")
open_enrolments=$(q -Atc "SELECT count(*) FROM sp.enrolment WHERE programme = '$PROGRAMME' AND state <> 'exited'")
audit_before=$(q -Atc "SELECT count(*) FROM sp.audit_log")
dup_before=$(q -Atc "SELECT count(*) FROM sp.registration_duplicate")

# --- the six scripts ---------------------------------------------------------
# name|weight; weights: lookups and corrections are the daily bulk of an
# office, registrations next, reassessments and enrolment changes less often.
declare -A WEIGHT=([a_register]=20 [b_update_person]=25 [c_lookup]=30 [d_reassess]=10 [e_enrolment]=10 [f_near_duplicate]=5)
declare -A WHAT=(
  [a_register]='register a new household (1-6 members, random names, birth dates, ward; `sp.register_household`)'
  [b_update_person]='correct a person: read its version, `sp.update_person` (new phone, attribute) with that `expected_version`'
  [c_lookup]='look up a registered national ID (`sp.find_person_by_national_id`, audited)'
  [d_reassess]='reassess a household (`sp.reassess_household`)'
  [e_enrolment]='`sp.open_enrolment` on a household that had no open enrolment at the start, then enrolled and suspended (`sp.set_enrolment_state`)'
  [f_near_duplicate]='register a household whose head is a registered head again (typo in the given name with the same national ID, or the same names with a year-only birth date)'
)
SCRIPTS=(a_register b_update_person c_lookup d_reassess e_enrolment f_near_duplicate)

cat > "$WORK/a_register.sql" <<'SQL'
\set w random(1, :n_ward)
\set size random(1, 6)
SELECT sp.register_household(jsonb_build_object(
    'submission_id', gen_random_uuid(),
    'source', 'bench-load-register',
    'admin_area_code', (SELECT code FROM bench.ward WHERE i = :w),
    'attributes', jsonb_build_object('rooms', 1 + floor(random() * 5)::int, 'electricity', random() < 0.4,
                                     'urban', random() < 0.35, 'monthly_income', round((exp(8 + random() * 3))::numeric, -1),
                                     'dwelling_type', (ARRAY['house', 'apartment', 'hut', 'tent', 'other'])[1 + floor(random() * 5)::int]),
    'members', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                    'given_name', (ARRAY['Juma', 'Baraka', 'Omar', 'Peter', 'Musa', 'Kofi', 'Amina', 'Halima', 'Grace',
                                         'Neema', 'Zawadi', 'Aisha', 'Joyce', 'Chipo', 'Olga', 'Thabo'])[1 + floor(random() * 16)::int],
                    'family_name', f.fam,
                    'birth_date', to_char(current_date - CASE WHEN k = 1 THEN 6600 + floor(random() * 20000)
                                                              ELSE floor(random() * 6500) END::int, 'YYYY-MM-DD'),
                    'sex', CASE WHEN random() < 0.5 THEN 'F' ELSE 'M' END,
                    'relationship_to_head', CASE WHEN k = 1 THEN 'head' ELSE 'child' END,
                    'national_id', CASE WHEN k = 1 THEN '9' || lpad(floor(random() * 1e8)::bigint::text, 8, '0') END))
                  ORDER BY k)
                FROM generate_series(1, :size) k,
                     (SELECT (ARRAY['Odhiambo', 'Kamau', 'Mwangi', 'Mensah', 'Moyo', 'Banda', 'Phiri', 'Haile',
                                    'Okafor', 'Nkosi', 'Lyimo', 'Temba'])[1 + floor(random() * 12)::int] AS fam) f)
)) ->> 'household_id';
SQL

# The version read first is the one the clerk saw: a concurrent change of the
# same person in between raises 40001, which pgbench retries from the top.
cat > "$WORK/b_update_person.sql" <<'SQL'
\set i random(1, :n_person)
SELECT r.person_id AS pid, p.version AS v FROM bench.person_ref r JOIN sp.person p USING (person_id) WHERE r.i = :i \gset
SELECT sp.update_person(:pid,
    jsonb_build_object('phone', '+2556' || lpad(floor(random() * 1e8)::bigint::text, 8, '0'),
                       'attributes', jsonb_build_object('disability', random() < 0.05)),
    'load bench: phone number changed at the office', :v) ->> 'version';
SQL

cat > "$WORK/c_lookup.sql" <<'SQL'
\set i random(1, :n_nid)
SELECT count(*) FROM sp.find_person_by_national_id((SELECT national_id FROM bench.nid WHERE i = :i),
                                                   'load bench: identity check at a pay point');
SQL

cat > "$WORK/d_reassess.sql" <<'SQL'
\set i random(1, :n_household)
SELECT count(*) FROM sp.reassess_household((SELECT household_id FROM bench.household_ref WHERE i = :i),
                                           'load bench: home visit after an appeal');
SQL

# A household that had no open enrolment in the programme when the run
# started, as a caseworker would pick from a list; a household picked a second
# time (by another client or later) already has one: the conflict the helper
# counts.  (Searching sp.household for one without an open enrolment under
# row-level security at every call cost more than the API calls themselves.)
cat > "$WORK/e_enrolment.sql" <<'SQL'
\set i random(1, :n_unenrolled)
SELECT bench.open_and_suspend((SELECT household_id FROM bench.unenrolled WHERE i = :i));
SQL

cat > "$WORK/f_near_duplicate.sql" <<'SQL'
\set i random(1, :n_head)
SELECT sp.register_household(jsonb_build_object(
    'submission_id', gen_random_uuid(),
    'source', 'bench-load-near-duplicate',
    'admin_area_code', h.admin_area_code,
    'attributes', h.attributes,
    'members', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
        'given_name', CASE WHEN r.national_id IS NOT NULL AND length(p.given_name) > 3
                           THEN overlay(p.given_name placing '' from length(p.given_name) - 1 for 1)
                           ELSE upper(p.given_name) END,
        'family_name', p.family_name,
        'birth_date', CASE WHEN r.national_id IS NULL THEN to_char(p.birth_date, 'YYYY')
                           ELSE to_char(p.birth_date, CASE p.birth_date_precision WHEN 'day' THEN 'YYYY-MM-DD'
                                                                                  WHEN 'month' THEN 'YYYY-MM' ELSE 'YYYY' END) END,
        'sex', p.sex,
        'relationship_to_head', 'head',
        'national_id', r.national_id))))) -> 'possible_duplicates'
FROM bench.head r JOIN sp.person p USING (person_id) JOIN sp.household h ON h.household_id = p.household_id
WHERE r.i = :i;
SQL

# --- the run -----------------------------------------------------------------
# Where the server logs, to report its errors of the run (pg_virtualenv as
# root: /var/log/postgresql/postgresql-15-regress.log; with a log collector:
# pg_current_logfile()).
server_log=$(q -Atc "SELECT CASE WHEN pg_current_logfile() LIKE '/%' THEN pg_current_logfile()
                                 ELSE current_setting('data_directory') || '/' || pg_current_logfile() END")
if [ -z "$server_log" ] || [ ! -r "$server_log" ]; then
  server_log=$(pg_lsclusters -h 2>/dev/null | awk -v p="$(q -Atc "SHOW port")" '$3 == p {print $7}' | head -1)
fi
log_offset=0
[ -n "$server_log" ] && [ -r "$server_log" ] && log_offset=$(stat -c %s "$server_log")

pgb_args=()
for s in "${SCRIPTS[@]}"; do pgb_args+=(-f "$WORK/$s.sql@${WEIGHT[$s]}"); done
echo "running $CLIENTS clients for $DURATION s as $ROLE"
pgb_rc=0
(cd "$WORK" && PGUSER=$ROLE PGDATABASE=$DB pgbench -n -c "$CLIENTS" -j "$THREADS" -T "$DURATION" \
   --max-tries="$MAX_TRIES" --failures-detailed --random-seed="$SEED" -l --log-prefix="$WORK/tx" \
   -D n_ward="$n_ward" -D n_person="$n_person" -D n_household="$n_household" -D n_unenrolled="$n_unenrolled" -D n_nid="$n_nid" -D n_head="$n_head" \
   "${pgb_args[@]}") > "$WORK/pgbench.out" 2> "$WORK/pgbench.err" || pgb_rc=$?
cat "$WORK/pgbench.out"
if [ "$pgb_rc" != 0 ]; then
  echo "pgbench exited with $pgb_rc:" >&2
  grep -v '^pgbench: client [0-9]* .*\(retried\|serialization\|deadlock\)' "$WORK/pgbench.err" | head -40 >&2 || true
fi

# --- figures -----------------------------------------------------------------
# Per-transaction log lines: client_id transaction_no time script_no
# time_epoch time_us retries; time is the latency in microseconds, or
# "failed" when a serialization or deadlock error persisted after
# --max-tries.
cat "$WORK"/tx.* > "$WORK/tx.log" 2>/dev/null || : > "$WORK/tx.log"
declare -A n_tx tps mean p95 retried retries failed conflicts errors
for idx in "${!SCRIPTS[@]}"; do
  s=${SCRIPTS[$idx]}
  awk -v k="$idx" '$4 == k && $3 != "failed" && $3 != "skipped" {print $3}' "$WORK/tx.log" | sort -n > "$WORK/lat.$idx"
  n_tx[$s]=$(wc -l < "$WORK/lat.$idx")
  tps[$s]=$(echo "scale=1; ${n_tx[$s]} / $DURATION" | bc)
  if [ "${n_tx[$s]}" -gt 0 ]; then
    mean[$s]=$(awk '{t += $1} END {printf "%.1f", t / NR / 1000}' "$WORK/lat.$idx")
    p95[$s]=$(awk -v n="${n_tx[$s]}" 'NR == int(0.95 * n + 0.999) {printf "%.1f", $1 / 1000}' "$WORK/lat.$idx")
  else
    mean[$s]=-; p95[$s]=-
  fi
  read -r retried[$s] retries[$s] failed[$s] < <(awk -v k="$idx" '$4 == k {if ($7 > 0) {r++; t += $7} if ($3 == "failed") f++}
                                                     END {print r + 0, t + 0, f + 0}' "$WORK/tx.log")
  conflicts[$s]=$(q -Atc "SELECT count(*) FROM bench.outcome WHERE script = '$s'")
  # a client aborted by any other error: "client N script S aborted in command M query Q: ERROR: ..."
  errors[$s]=$(grep -c "client [0-9]* script $idx aborted in command" "$WORK/pgbench.err" || true)
done
total() { local t=0 s; for s in "${SCRIPTS[@]}"; do t=$((t + $(eval echo "\${$1[$s]}"))); done; echo "$t"; }
tot_tx=$(total n_tx)
tot_tps=$(echo "scale=1; $tot_tx / $DURATION" | bc)
sort -n -o "$WORK/lat.all" "$WORK"/lat.[0-9]*
tot_mean=$(awk '{t += $1} END {if (NR) printf "%.1f", t / NR / 1000; else print "-"}' "$WORK/lat.all")
tot_p95=$(awk -v n="$tot_tx" 'NR == int(0.95 * n + 0.999) {printf "%.1f", $1 / 1000}' "$WORK/lat.all")
aborted=$(grep -c "aborted in command" "$WORK/pgbench.err" || true)

# Server errors of the run, by message.  Errors the API raised and pgbench
# retried (40001) show here too; helpers' caught conflicts do not.
server_errors=""
deadlocks=""
if [ -n "$server_log" ] && [ -r "$server_log" ]; then
  tail -c +"$((log_offset + 1))" "$server_log" > "$WORK/server.log"
  server_errors=$(sed -n 's/^.*\(ERROR\|FATAL\|PANIC\): *//p' "$WORK/server.log" | sed 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -20)
  # every deadlock with the statements involved
  deadlocks=$(awk '/ERROR: *deadlock detected/ {on = 1} on {print} on && /STATEMENT:/ {on = 0; print ""}' "$WORK/server.log" | head -200)
  log_note="server log \`$server_log\`"
else
  log_note="server log not found (errors below are pgbench's only)"
fi

# --- after the run: integrity and audit chain ------------------------------
integrity=$(q -Atc "SELECT CASE WHEN bool_and(ok) THEN 'ok (' || count(*) || ' checks)'
                           ELSE 'FAILED: ' || string_agg(check_name || ': ' || coalesce(detail, ''), '; ') FILTER (WHERE NOT ok) END
                    FROM sp_internal.verify_integrity()")
audit=$(q -Atc "SELECT CASE WHEN ok THEN 'ok (' || rows_checked || ' records)'
                       ELSE 'FAILED at log_id ' || first_bad_log_id || ': ' || problem END FROM sp.verify_audit_chain()")
# every lookup that returned wrote exactly one audit record before returning
audit_new=$(( $(q -Atc "SELECT count(*) FROM sp.audit_log") - audit_before ))
lookups_done=${n_tx[c_lookup]}
dup_new=$(( $(q -Atc "SELECT count(*) FROM sp.registration_duplicate") - dup_before ))
# households of each script with at least one member flagged, and flags
flagged() { q -Atc "SELECT count(DISTINCT s.submission_id) FILTER (WHERE d.person_id IS NOT NULL) || ' of ' || count(DISTINCT s.submission_id)
                           || ' households (' || count(d.person_id) || ' flags)'
                    FROM sp.registration_submission s LEFT JOIN sp.registration_duplicate d ON d.person_id = ANY (s.person_ids)
                    WHERE s.source = '$1'"; }
near_flagged=$(flagged bench-load-near-duplicate)
random_flagged=$(flagged bench-load-register)
registered=$(q -Atc "SELECT count(*) FROM sp.registration_submission WHERE source LIKE 'bench-load-%'")
conflict_kinds=$(q -Atc "SELECT string_agg(script || ': ' || outcome || ' x' || n, '; ') FROM
                        (SELECT script, outcome, count(*) AS n FROM bench.outcome GROUP BY 1, 2 ORDER BY 1, 2) o")

# --- report ------------------------------------------------------------------
settings=$(q -Atc "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
                   WHERE name IN ('shared_buffers', 'max_wal_size', 'synchronous_commit', 'fsync', 'max_worker_processes', 'max_connections')")
{
  cat <<MD
## Load: $CLIENTS clients

$households households and $persons persons before the run: $N synthetic households (\`synth.household_docs($N, $SEED, date '2026-01-01')\`)
imported in batches of $BATCH, person linkage model trained, PMT model \`bench\` active with every household scored, programme
\`$PROGRAMME\` (poor by PMT with a child under 15, quotas per region) with eligibility and enrolment run: $open_enrolments open
enrolments, $enrolled enrolled. Then \`pgbench -c $CLIENTS -j $THREADS -T $DURATION --max-tries=$MAX_TRIES\`, the six scripts at once by
weight, every client logged in as \`$ROLE\` (not a superuser; member of \`sp_registrar\` and \`sp_caseworker\`, national scope).
Settings: $settings. pgbench exit status $pgb_rc; $aborted clients aborted.

| script | what | weight | transactions | tps | mean ms | p95 ms | retried (40001/40P01) | failed after $MAX_TRIES tries | conflicts | errors |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
MD
  for s in "${SCRIPTS[@]}"; do
    echo "| $s | ${WHAT[$s]} | ${WEIGHT[$s]} | ${n_tx[$s]} | ${tps[$s]} | ${mean[$s]} | ${p95[$s]} | ${retried[$s]} (${retries[$s]} retries) | ${failed[$s]} | ${conflicts[$s]} | ${errors[$s]} |"
  done
  echo "| **total** | | | $tot_tx | $tot_tps | $tot_mean | $tot_p95 | $(total retried) ($(total retries) retries) | $(total failed) | $(total conflicts) | $(total errors) |"
  cat <<MD

Latencies are of successful transactions (a retried one counts from its first try). Conflicts are the documented ones the
helper caught and counted in \`bench.outcome\`: ${conflict_kinds:-none}. Errors are clients pgbench aborted on any other error.
$registered households registered during the run, $dup_new possible duplicates flagged at registration: near-duplicate heads
(f) flagged in $near_flagged; new random households (a) flagged in $random_flagged. Audit records written during the
run: $audit_new for $lookups_done lookups that returned.

After the run: \`sp_internal.verify_integrity()\` $integrity; \`sp.verify_audit_chain()\` $audit.

Server errors during the run ($log_note), by message (digits as N):

\`\`\`
${server_errors:-none}
\`\`\`
MD
  if [ -n "$deadlocks" ]; then
    printf '\nDeadlocks, with the statements involved:\n\n```\n%s\n```\n' "$deadlocks"
  fi
  if [ "$aborted" != 0 ]; then
    printf '\npgbench errors:\n\n```\n%s\n```\n' "$(grep 'aborted in command' "$WORK/pgbench.err" | head -20)"
  fi
} > bench/out/60_load.md
cat bench/out/60_load.md

dropdb "$DB"
psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ROLE"
