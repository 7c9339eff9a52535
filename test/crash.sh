#!/usr/bin/env bash
# Crash safety (docs/dba-guide.md, "Crashes and replays").
#
# Kills the server with `pg_ctlcluster … stop -m immediate` (no checkpoint, no
# clean shutdown: what a power cut or kill -9 of the postmaster leaves) in the
# middle of each long write of the delivery chain, as the staff roles run
# them:
#
#   1. a 10,000-document import sent as ten batches of 1,000 (killed inside
#      the sixth batch, after 500 of its households were written),
#   2. an eligibility run (killed after 1,000 decisions were written),
#   3. an enrolment run (killed after 100 enrolments were written),
#   4. a deduplication run (killed while it writes its clusters),
#   5. a merge (killed after the person was marked merged and the merge row
#      written, before enrolments follow the person),
#   6. an identifier lookup inside a transaction left open.
#
# "In the middle" is made exact, not timed: a test-only trigger (schema
# crash_point, never part of the extension) waits on an advisory lock that
# this script holds when the Nth row of a table is written; the server is
# killed once the operation is seen waiting there, i.e. with its first N rows
# written and not committed.  After recovery nothing of the killed transaction
# may be visible (row counts as before it), sp_internal.verify_integrity() and
# sp.verify_audit_chain() must be ok, the same calls re-run to completion, and
# replaying them registers nothing twice: 0 duplicates, 0 lost rows.
#
# Needs a running cluster made by pg_createcluster (make test's pg_virtualenv):
# the server is stopped and started with pg_ctlcluster.  TAP output.
set -euo pipefail
cd "$(dirname "$0")/.."

db=sp_crash
work=$(mktemp -d)
holder=
victim=
cleanup() {
  for p in $holder $victim; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
n=0
fail=0
ok() {  # ok <condition-exit-status> <description> [diagnostic]
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"; fail=1; fi
}
is() {  # is <got> <expected> <description>
  if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3" "got:      $1
expected: $2"; fi
}

IFS=/ read -r ver cluster <<<"$(psql -X -At -d postgres -c 'SHOW cluster_name')"
if [ -z "${ver:-}" ] || [ -z "${cluster:-}" ] || ! pg_lsclusters -h "$ver" "$cluster" >/dev/null 2>&1; then
  echo "1..0 # SKIP the server is not a pg_createcluster cluster (cluster_name '${ver:-}/${cluster:-}'): cannot restart it"
  exit 0
fi

PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db"
createdb -E UTF8 -T template0 "$db"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q -c "SET client_min_messages = warning" -f scripts/synth_country.sql >/dev/null

# --- the registry, the staff, the fault-injection point ------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT synth.create_country();
CREATE TABLE synth.docs AS
SELECT i, d FROM synth.household_docs(10000, 23, date '2026-01-01') WITH ORDINALITY AS x(d, i);
CREATE TABLE synth.batches AS
SELECT (i - 1) / 1000 + 1 AS b, jsonb_agg(d ORDER BY i) AS batch FROM synth.docs GROUP BY 1;

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['crash_registrar', 'crash_officer', 'crash_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END $$;
GRANT sp_registrar TO crash_registrar;
GRANT sp_programme_officer TO crash_officer;
GRANT sp_admin TO crash_admin;
SELECT sp.grant_area_scope(r, 'SY') FROM unnest(ARRAY['crash_registrar', 'crash_officer', 'crash_admin']) r;
GRANT USAGE ON SCHEMA synth TO crash_registrar;
GRANT SELECT ON synth.batches TO crash_registrar;

-- The fault-injection point: the Nth row written to a table (counted by a
-- sequence, which no rollback resets) waits for advisory lock 4242.
CREATE SCHEMA crash_point;
CREATE SEQUENCE crash_point.seen;
CREATE FUNCTION crash_point.hold() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF nextval('crash_point.seen') = TG_ARGV[0]::bigint THEN
        PERFORM pg_advisory_lock(4242);
    END IF;
    RETURN NULL;
END
$$;
GRANT USAGE ON SCHEMA crash_point TO PUBLIC;
GRANT USAGE ON SEQUENCE crash_point.seen TO PUBLIC;
SQL

persons_in_docs=$(q -c "SELECT sum(jsonb_array_length(d -> 'members')) FROM synth.docs")

# arm <INSERT|UPDATE> <table> <nth row>: the next operation stops after
# writing that row (row triggers fire at the end of their statement: the
# statement's rows are written, the transaction is open).  ENABLE ALWAYS:
# registration inserts run with session_replication_role = replica
# (docs/dba-guide.md, "Triggers of your own").
arm() {
  q -c "SELECT setval('crash_point.seen', 1, false)" \
    -c "CREATE TRIGGER crash_point AFTER $1 ON $2 FOR EACH ROW EXECUTE FUNCTION crash_point.hold('$3')" \
    -c "ALTER TABLE $2 ENABLE ALWAYS TRIGGER crash_point" >/dev/null
  armed=$2
}
disarm() { q -c "DROP TRIGGER crash_point ON $armed" >/dev/null; }

# crash_during <label> <sql file>: runs the file in the background, waits
# until it is held at the injection point, then kills the server and brings
# it back.  Returns 1 if the operation ended before reaching the point.
crash_during() {
  local label=$1 file=$2 waited=0
  psql -X -q -d "$db" -c "SELECT pg_advisory_lock(4242)" -c "SELECT pg_sleep(86400)" >/dev/null 2>&1 &
  holder=$!
  until [ "$(q -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted")" = 1 ]; do
    sleep 0.05
  done
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$file" >"$work/$label.out" 2>&1 &
  victim=$!
  until [ "$(q -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted")" = 1 ]; do
    if ! kill -0 "$victim" 2>/dev/null || [ "$waited" -ge 6000 ]; then
      kill "$holder" "$victim" 2>/dev/null || true
      wait "$holder" "$victim" 2>/dev/null || true
      holder= victim=
      cat "$work/$label.out" | sed 's/^/# /'
      return 1
    fi
    sleep 0.05
    waited=$((waited + 1))
  done
  pg_ctlcluster "$ver" "$cluster" stop -m immediate
  wait "$holder" "$victim" 2>/dev/null || true
  holder= victim=
  pg_ctlcluster "$ver" "$cluster" start
  until pg_isready -q -d postgres; do sleep 0.1; done
  grep -q 'server closed the connection\|terminating connection' "$work/$label.out"
}

# the checks every recovery must pass
healthy() {
  local bad
  bad=$(q -c "SELECT string_agg(check_name || ': ' || coalesce(detail, ''), '; ') FROM sp_internal.verify_integrity() WHERE NOT ok")
  ok "$([ -z "$bad" ]; echo $?)" "$1: sp_internal.verify_integrity() is ok after recovery" "$bad"
  is "$(q -c "SELECT ok FROM sp.verify_audit_chain()")" t "$1: the audit chain verifies after recovery"
}

# --- 1. import ----------------------------------------------------------------
for b in $(seq 1 10); do
  echo "SET ROLE crash_registrar; SELECT sp.import_registrations(batch) FROM synth.batches WHERE b = $b;"
done > "$work/import.sql"
arm INSERT sp.household 5500
crash_during import "$work/import.sql"; ok $? "import: killed inside batch 6, after 5,500 households were written"
disarm
is "$(q -c "SELECT count(*), sum(inserted), sum(documents) FROM sp.import_batch")" "5|5000|5000" \
   "import: the five committed batches are there, complete; the sixth left no batch row"
is "$(q -c "SELECT (SELECT count(*) FROM sp.household), (SELECT count(*) FROM sp.registration_submission),
                   (SELECT count(*) FROM sp.household h WHERE NOT EXISTS (SELECT 1 FROM sp.person p WHERE p.household_id = h.household_id))")" \
   "5000|5000|0" "import: 5,000 households, each with its submission and members; nothing of batch 6"
healthy import
replay=$(sed 's/^SET ROLE crash_registrar; SELECT sp.import_registrations(batch)/SET ROLE crash_registrar; SELECT (sp.import_registrations(batch) - '"'"'errors'"'"')::text/' "$work/import.sql")
is "$(q -c "SET client_min_messages = warning" -c "$replay" | jq -s -c '{inserted: map(.inserted) | add, skipped: map(.duplicates_skipped) | add, rejected: map(.rejected) | add}')" \
   '{"inserted":5000,"skipped":5000,"rejected":0}' "import: the replay of all ten batches registers the 5,000 missing and skips the 5,000 done"
is "$(q -c "SET client_min_messages = warning" -c "$replay" | jq -s -c 'map(.inserted) | add')" 0 \
   "import: a second replay registers nothing"
is "$(q -c "SELECT (SELECT count(*) FROM sp.household), (SELECT count(*) FROM sp.person)")" "10000|$persons_in_docs" \
   "import: 10,000 households and every member of the documents, once (0 lost, 0 duplicated)"
is "$(q -c "SELECT count(*) FROM synth.docs d WHERE NOT EXISTS (SELECT 1 FROM sp.registration_submission s WHERE s.submission_id = (d.d ->> 'submission_id')::uuid)")" 0 \
   "import: every document's submission is registered"

# --- the chain the next kills interrupt -------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SET ROLE crash_admin;
SELECT sp.create_pmt_model('national', '{"intercept": 2, "terms": [{"variable": "rooms", "coefficient": 1, "missing": {"impute": 1}}],
                                         "cutoffs": [{"value": 4.5}]}');
SELECT sp.activate_pmt_model('national', 1);
SELECT sp.score_households('national');
SELECT sp.train_linkage_model('person', 'sp_internal.person_linkage_input');
SET ROLE crash_officer;
INSERT INTO sp.programme (name, title, benefit_type, rule, ranking)
VALUES ('crash_grant', 'Crash grant', 'cash', '{"pmt": {"model": "national", "below_cutoff": true}}', '{"pmt": "national"}');
SQL
households=$(q -c "SELECT count(*) FROM sp.household WHERE status = 'active'")

# --- 2. eligibility run ---------------------------------------------------------
# (a run decides every household and opens an "eligible" enrolment for each
# eligible one; sp.enrol then enrols them)
echo "SET ROLE crash_officer; SELECT sp.determine_eligibility('crash_grant');" > "$work/eligibility.sql"
arm INSERT sp.eligibility_decision 1000
crash_during eligibility "$work/eligibility.sql"; ok $? "eligibility: killed after 1,000 decisions were written"
disarm
is "$(q -c "SELECT (SELECT count(*) FROM sp.eligibility_run), (SELECT count(*) FROM sp.eligibility_decision),
                   (SELECT count(*) FROM sp.enrolment), (SELECT count(*) FROM sp.enrolment_history)")" "0|0|0|0" \
   "eligibility: no run, decision, enrolment or history row of the killed run"
healthy eligibility
q -c "SET ROLE crash_officer" -c "SELECT sp.determine_eligibility('crash_grant')" >/dev/null
is "$(q -c "SELECT count(*), count(DISTINCT household_id) FROM sp.eligibility_decision")" "$households|$households" \
   "eligibility: the re-run decides every active household once"
eligible=$(q -c "SELECT count(*) FROM sp.eligibility_decision WHERE eligible")
is "$(q -c "SELECT count(*), count(DISTINCT household_id) FILTER (WHERE state = 'eligible') FROM sp.enrolment")" "$eligible|$eligible" \
   "eligibility: one eligible enrolment per eligible household ($eligible)"

# --- 3. enrolment -----------------------------------------------------------------
states() { q -c "SELECT string_agg(state || '=' || n, ',' ORDER BY state) FROM (SELECT state, count(*) n FROM sp.enrolment GROUP BY 1) s"; }
before=$(states)
history=$(q -c "SELECT count(*) FROM sp.enrolment_history")
echo "SET ROLE crash_officer; SELECT sp.enrol('crash_grant');" > "$work/enrol.sql"
arm UPDATE sp.enrolment 100
crash_during enrol "$work/enrol.sql"; ok $? "enrolment: killed after 100 enrolments were moved (of $eligible eligible)"
disarm
is "$(states)|$(q -c "SELECT count(*) FROM sp.enrolment_history")" "$before|$history" \
   "enrolment: enrolment states and history as before the killed run"
healthy enrolment
q -c "SET ROLE crash_officer" -c "SELECT sp.enrol('crash_grant')" >/dev/null
is "$(q -c "SET ROLE crash_officer" -c "SELECT sp.enrol('crash_grant') ->> 'newly_enrolled'")" 0 \
   "enrolment: a replay enrols nobody"
is "$(q -c "SELECT count(*) FILTER (WHERE state = 'enrolled'), count(DISTINCT household_id),
                   (SELECT count(*) FROM sp.enrolment_history WHERE to_state = 'enrolled'),
                   (SELECT count(DISTINCT enrolment_id) FROM sp.enrolment_history WHERE to_state = 'enrolled')
            FROM sp.enrolment WHERE programme = 'crash_grant'")" "$eligible|$eligible|$eligible|$eligible" \
   "enrolment: every eligible household is enrolled exactly once, with one history row each"

# --- 4. deduplication --------------------------------------------------------------
echo "SET ROLE crash_admin; SELECT sp.deduplicate_persons('person', 0.9, 0.5);" > "$work/dedup.sql"
arm INSERT sp.person_cluster 2
crash_during dedup "$work/dedup.sql"; ok $? "dedup: killed while writing its clusters"
disarm
is "$(q -c "SELECT (SELECT count(*) FROM sp.dedup_run), (SELECT count(*) FROM sp.person_cluster), (SELECT count(*) FROM sp.match_review)")" "0|0|0" \
   "dedup: no run, cluster or review of the killed run"
healthy dedup
first=$(q -c "SET ROLE crash_admin" -c "SELECT (sp.deduplicate_persons('person', 0.9, 0.5))::text")
second=$(q -c "SET ROLE crash_admin" -c "SELECT (sp.deduplicate_persons('person', 0.9, 0.5))::text")
ok "$([ "$(jq '.persons_in_clusters' <<<"$first")" -gt 0 ]; echo $?)" "dedup: the re-run completes and finds duplicates" "$first"
is "$(jq -c '[.clusters, .persons_in_clusters, .queued_for_review]' <<<"$second")" \
   "$(jq -c '[.clusters, .persons_in_clusters, 0]' <<<"$first")" \
   "dedup: a replay finds the same clusters and queues no review twice"
is "$(q -c "SELECT count(*) FROM (SELECT 1 FROM sp.match_review GROUP BY person_id, other_person_id HAVING count(*) > 1) d")" 0 \
   "dedup: no pair is under review twice"

# --- 5. merge --------------------------------------------------------------------------
read -r survivor merged <<<"$(q -F' ' -c "SELECT min(person_id), max(person_id) FROM sp.person_cluster
                                           WHERE run_id = (SELECT min(run_id) FROM sp.dedup_run)
                                           GROUP BY cluster_id ORDER BY cluster_id LIMIT 1")"
before=$(q -c "SELECT status, merged_into IS NULL, (SELECT count(*) FROM sp.person_history h WHERE h.person_id = $merged),
                      (SELECT count(*) FROM sp.enrolment_history), (SELECT count(*) FROM sp.person_merge)
               FROM sp.person WHERE person_id = $merged")
echo "SET ROLE crash_registrar; SELECT sp.merge_persons($survivor, $merged, 'crash test: same person');" > "$work/merge.sql"
arm INSERT sp.person_merge 1
crash_during merge "$work/merge.sql"; ok $? "merge: killed after person $merged was marked merged into $survivor"
disarm
is "$(q -c "SELECT status, merged_into IS NULL, (SELECT count(*) FROM sp.person_history h WHERE h.person_id = $merged),
                   (SELECT count(*) FROM sp.enrolment_history), (SELECT count(*) FROM sp.person_merge)
            FROM sp.person WHERE person_id = $merged")" "$before" \
   "merge: person $merged, its history, enrolments and merges are as before the merge"
healthy merge
is "$(q -c "SET ROLE crash_registrar" -c "SELECT sp.merge_persons($survivor, $merged, 'crash test: same person') ->> 'merged_id'")" "$merged" \
   "merge: the re-run merges"
is "$(q -c "SET ROLE crash_registrar" -c "SELECT sp.merge_persons($survivor, $merged, 'crash test: same person')" 2>&1 | grep -c 'is already merged')" 1 \
   "merge: a replay is refused as already merged"
is "$(q -c "SELECT count(*), min(survivor_id), min(merged_id) FROM sp.person_merge")" "1|$survivor|$merged" \
   "merge: one merge row"

# --- 6. an audited lookup in a transaction that never commits ------------------------
nid=$(q -c "SELECT m ->> 'national_id' FROM synth.docs, jsonb_array_elements(d -> 'members') m
            WHERE m ? 'national_id' ORDER BY i LIMIT 1")
audits=$(q -c "SELECT count(*) FROM sp.audit_log")
cat > "$work/lookup.sql" <<SQL
SET ROLE crash_registrar;
BEGIN;
SELECT count(*) FROM sp.find_person_by_national_id('$nid', 'crash test: lookup before a crash');
SELECT pg_advisory_lock(4242);
SQL
crash_during lookup "$work/lookup.sql"; ok $? "lookup: killed with the looking-up transaction open"
is "$(q -c "SELECT count(*) FROM sp.audit_log WHERE purpose = 'crash test: lookup before a crash'")" 1 \
   "lookup: the lookup's audit row survived the crash"
is "$(q -c "SELECT count(*) - $audits FROM sp.audit_log")" 1 "lookup: and nothing else was added"
healthy lookup

dropdb "$db"
psql -X -q -d postgres -c "DROP ROLE crash_registrar, crash_officer, crash_admin"
echo "1..$n"
exit $fail
