#!/usr/bin/env bash
# make demo: runs inside a throwaway cluster (pg_virtualenv). Installs the
# extension, loads a synthetic country through the public API and shows the
# main chain: registration, replays, rejections, corrections with history,
# lookups by national ID with an audit trail, payments, grievances and appeals,
# geo-targeting, other ministries' beneficiary lists and the monitoring report.
set -euo pipefail
cd "$(dirname "$0")/.."

HOUSEHOLDS="${DEMO_HOUSEHOLDS:-50000}"
BATCH="${DEMO_BATCH:-1000}"
DB=sp_demo

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
say() { printf '\n== %s\n' "$*"; }

createdb -E UTF8 -T template0 "$DB"
say "Installing sp_registry into database $DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q -Atc "SELECT 'sp_registry ' || extversion || ' with PostGIS ' || postgis_lib_version() FROM pg_extension WHERE extname = 'sp_registry'"

say "Creating the synthetic country of Sintara (P-codes SY, SYrr, SYrrdd, SYrrddww)"
q -f scripts/synth_country.sql >/dev/null
q -Atc "SELECT synth.create_country() || ' wards created'"
q -c "SELECT level, count(*) AS areas, min(code) AS first_code, max(code) AS last_code
      FROM sp.admin_area GROUP BY level ORDER BY level"

say "Generating $HOUSEHOLDS household registration documents (about 3% are duplicate registrations)"
start=$(date +%s.%N)
q -c "CREATE TABLE synth.docs AS SELECT row_number() OVER () AS i, d FROM synth.household_docs($HOUSEHOLDS, 2026) d"
gen=$(echo "$(date +%s.%N) - $start" | bc)
printf 'generated in %.1f s\n' "$gen"

say "Importing through sp.import_registrations in batches of $BATCH (one transaction per batch)"
q -c "CREATE TABLE synth.batches AS
      SELECT (i - 1) / $BATCH AS b, jsonb_agg(d ORDER BY i) AS batch FROM synth.docs GROUP BY 1"
start=$(date +%s.%N)
q -Atc "SELECT format('SELECT sp.import_registrations(batch) - ''errors'' FROM synth.batches WHERE b = %s;', b)
        FROM synth.batches ORDER BY b" | q -f - >/dev/null
took=$(echo "$(date +%s.%N) - $start" | bc)
q -Atc "SELECT format('imported %s households and %s persons in %s s: %s households/s',
                      (SELECT count(*) FROM sp.household), (SELECT count(*) FROM sp.person),
                      round($took, 1), round((SELECT count(*) FROM sp.household) / $took))"

say "A device that lost its connection resends 200 documents it had already sent: nothing is registered twice"
q -c "SELECT sp.import_registrations(jsonb_agg(d ORDER BY i)) - 'errors' - 'batch_id' AS resend
      FROM synth.docs WHERE i <= 200"

say "A batch with bad documents: good ones land, bad ones wait in sp.import_error with the field to fix"
q -c "SELECT sp.import_registrations(jsonb_build_array(
        jsonb_set(jsonb_set(d, '{submission_id}', '\"7e0c4a4e-0000-4000-8000-000000000001\"'),
                  '{members,0,birth_date}', '\"2031-02-30\"'),
        jsonb_set(jsonb_set(d, '{submission_id}', '\"7e0c4a4e-0000-4000-8000-000000000002\"'),
                  '{admin_area_code}', '\"SY99\"'),
        jsonb_set(jsonb_set(d, '{submission_id}', '\"7e0c4a4e-0000-4000-8000-000000000003\"'),
                  '{attributes,dwelling_type}', '\"palace\"'),
        jsonb_set(d, '{submission_id}', '\"7e0c4a4e-0000-4000-8000-000000000004\"')))
        - 'errors' - 'batch_id' AS mixed_batch
      FROM synth.docs WHERE i = 7"
q -c "SELECT batch_index, field, sqlstate, message FROM sp.import_error ORDER BY error_id"

say "What was registered, by region"
q -c "SELECT r.code AS region, r.name, count(DISTINCT h.household_id) AS households, count(p.person_id) AS persons,
             round(count(p.person_id)::numeric / nullif(count(DISTINCT h.household_id), 0), 2) AS avg_size,
             round(100.0 * count(*) FILTER (WHERE (h.attributes ->> 'urban')::boolean) / count(*), 1) AS pct_persons_urban
      FROM sp.admin_area r
      JOIN sp.admin_area w ON w.code LIKE r.code || '%' AND w.level = 3
      JOIN sp.household h ON h.admin_area_code = w.code
      JOIN sp.person p ON p.household_id = h.household_id
      WHERE r.level = 1 GROUP BY r.code, r.name ORDER BY r.code"
q -c "SELECT birth_date_precision, count(*), round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
      FROM sp.person GROUP BY 1 ORDER BY 2 DESC"
q -c "SELECT count(*) FILTER (WHERE national_id_hash IS NOT NULL) AS persons_with_national_id,
             count(*) FILTER (WHERE phone_hash IS NOT NULL) AS persons_with_phone,
             count(DISTINCT national_id_hash) AS distinct_national_ids
      FROM sp.person"
q -c "SELECT count(*) AS national_ids_registered_more_than_once,
             sum(n) AS persons_involved
      FROM (SELECT national_id_hash, count(*) AS n FROM sp.person WHERE national_id_hash IS NOT NULL
            GROUP BY 1 HAVING count(*) > 1) s"
echo "(duplicate registrations like these are what the linkage engine resolves; the blind index finds the exact ones)"

say "Training the person linkage model on the registry itself, without labels"
start=$(date +%s.%N)
q -c "SELECT jsonb_pretty(sp.train_linkage_model('person', 'sp_internal.person_linkage_input') -> 'training') AS training"
took=$(echo "$(date +%s.%N) - $start" | bc)
printf 'trained in %.1f s\n' "$took"

say "Deduplicating the registry: exact national IDs, then the model; confident pairs cluster, the grey zone waits for a person"
start=$(date +%s.%N)
q -c "SELECT sp.deduplicate_persons('person', 0.95, 0.5) AS run"
took=$(echo "$(date +%s.%N) - $start" | bc)
printf 'deduplicated in %.1f s\n' "$took"
q -c "SELECT c.cluster_id, p.person_id, p.given_name, p.family_name, p.birth_date, p.birth_date_precision, p.household_id
      FROM sp.person_cluster c JOIN sp.person p USING (person_id)
      WHERE c.cluster_id = (SELECT min(cluster_id) FROM sp.person_cluster) ORDER BY p.person_id"
echo "Why the first pair in the review queue might be one person:"
q -c "SELECT e.* FROM (SELECT person_id, other_person_id FROM sp.match_review WHERE status = 'pending'
                      ORDER BY match_probability DESC, review_id LIMIT 1) r,
      sp.explain_match('person', 'sp_internal.person_linkage_input', r.person_id,
                       'sp_internal.person_linkage_input', r.other_person_id) e WHERE e.weight <> 0"
q -c "SELECT sp.review_match((SELECT min(review_id) FROM sp.match_review WHERE status = 'pending'), 'reject',
                            'demo: household visit showed two different people') ->> 'decision' AS reviewer_decided"

say "Someone registered before comes back to the office: the new registration is flagged, not refused"
q -c "SELECT sp.register_household(jsonb_build_object('admin_area_code', h.admin_area_code, 'source', 'district office',
         'members', jsonb_build_array(jsonb_build_object('given_name', p.family_name, 'family_name', p.given_name,
                                                         'birth_date', to_char(p.birth_date, 'YYYY'), 'sex', p.sex,
                                                         'relationship_to_head', 'head'))))
             -> 'possible_duplicates' AS possible_duplicates
      FROM sp.person p JOIN sp.household h USING (household_id) WHERE p.person_id = 5"

say "Needs assessment: a proxy-means test with regional weights and cut-offs (log per-capita consumption)"
q <<'SQL'
SELECT sp.create_pmt_model('national', $${
  "intercept": 7.2,
  "terms": [
    {"variable": "monthly_income", "coefficient": 0.35, "transform": "log1p", "missing": {"impute": 3000}},
    {"variable": "household_size", "coefficient": -0.09},
    {"variable": "children_under_5", "coefficient": -0.06},
    {"variable": "dependency_ratio", "coefficient": -0.05},
    {"variable": "rooms", "coefficient": 0.05},
    {"variable": "electricity", "coefficient": 0.12},
    {"variable": "land_area_ha", "coefficient": 0.08, "transform": "log1p"},
    {"variable": "livestock_tlu", "coefficient": 0.04, "transform": "log1p"},
    {"variable": "dwelling_type", "categories": {"apartment": 0.15, "hut": -0.12, "tent": -0.25}},
    {"variable": "roof_material", "categories": {"concrete": 0.08, "thatch": -0.06, "plastic": -0.10}},
    {"variable": "water_source", "categories": {"piped": 0.07, "surface": -0.08}},
    {"variable": "toilet_type", "categories": {"flush": 0.10, "none": -0.10}},
    {"variable": "head_education", "categories": {"secondary": 0.10, "tertiary": 0.22}}
  ],
  "overrides": [
    {"area_prefix": "SY08", "urban": true, "intercept": 7.35, "coefficients": {"rooms": 0.08}},
    {"area_prefix": "SY02", "coefficients": {"livestock_tlu": 0.07, "land_area_ha": 0.12}},
    {"area_prefix": "SY05", "urban": false, "coefficients": {"livestock_tlu": 0.07}}
  ],
  "cutoffs": [{"area_prefix": "", "value": 10.05}, {"area_prefix": "SY08", "urban": true, "value": 10.35},
              {"area_prefix": "SY02", "value": 9.95}],
  "scale": {"type": "linear"}
}$$, 'PMT 2026: log per-capita consumption, from the 2025 household survey') AS version;
SQL
q -c "SELECT sp.activate_pmt_model('national', 1)"
start=$(date +%s.%N)
q -Atc "SELECT sp.score_households('national') || ' households scored in C'"
printf 'in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
q -c "SELECT left(h.admin_area_code, 4) AS region, count(*) AS households, round(avg(a.score)::numeric, 2) AS mean_score,
             min(a.poverty_line) AS cutoff_min, max(a.poverty_line) AS cutoff_max,
             round(100.0 * count(*) FILTER (WHERE a.below_cutoff) / count(*), 1) AS pct_below_cutoff
      FROM sp.current_assessment a JOIN sp.household h USING (household_id) WHERE a.model = 'national'
      GROUP BY 1 ORDER BY 1"
echo "Why household 42 scored what it did (what a caseworker shows at an appeal):"
q -c "SELECT variable, value, round(coefficient::numeric, 3) AS coefficient, round(contribution::numeric, 3) AS contribution
      FROM sp.pmt_explain('national', 42)"

say "Multidimensional poverty (Alkire-Foster, k = 1/3): education, health, living standards"
q >/dev/null <<'SQL'
SELECT sp.create_mpi_model('mpi', '{"k": 0.3333, "dimensions": [
  {"name": "education", "indicators": [
     {"name": "schooling", "deprived_if": {"members": {"all": [{"age": {"min": 15}}, {"variable": "education_level", "in": ["primary", "secondary", "tertiary"]}]}, "max": 0}},
     {"name": "attendance", "deprived_if": {"members": {"all": [{"age": {"min": 6, "max": 14}}, {"variable": "in_school", "value": false}]}}}]},
  {"name": "health", "indicators": [
     {"name": "disability", "deprived_if": {"variable": "disabled_members", "op": ">", "value": 0}},
     {"name": "dependency", "deprived_if": {"variable": "dependency_ratio", "op": ">=", "value": 2}}]},
  {"name": "living_standards", "indicators": [
     {"name": "electricity", "deprived_if": {"variable": "electricity", "value": false}},
     {"name": "water", "deprived_if": {"variable": "water_source", "in": ["surface", "other"]}},
     {"name": "sanitation", "deprived_if": {"variable": "toilet_type", "in": ["none", "pit_latrine"]}},
     {"name": "housing", "deprived_if": {"any": [{"variable": "dwelling_type", "in": ["hut", "tent"]}, {"variable": "roof_material", "in": ["thatch", "plastic"]}]}}]}]}',
  'MPI 2026') AS version;
SQL
q -c "SELECT sp.activate_mpi_model('mpi', 1)"
start=$(date +%s.%N)
q -Atc "SELECT sp.mpi_assess_households('mpi') || ' households assessed'"
printf 'in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
q -c "SELECT area_code AS region, area_name, households, poor_households, round(h::numeric, 3) AS h, round(a::numeric, 3) AS a,
             round(m0::numeric, 3) AS m0 FROM sp.mpi_area_summary('mpi', 1)"

say "Two programmes: a child grant (poor by the PMT, a child under 15; district quotas) and a social pension (65+, poor by PMT or MPI; regional quotas)"
q <<'SQL'
INSERT INTO sp.programme (name, title, benefit_type, rule, ranking, review_margin, recertify_months) VALUES
      ('child_grant', 'Child grant', 'cash',
       '{"all": [{"pmt": {"model": "national", "below_cutoff": true}}, {"members": {"age": {"max": 14}}, "min": 1}]}',
       '{"pmt": "national"}', 0.01, 24);
SQL
q <<'SQL'
INSERT INTO sp.programme (name, title, benefit_type, target_unit, rule, ranking, recertify_months) VALUES
      ('social_pension', 'Social pension', 'cash', 'person',
       '{"all": [{"person": {"age": {"min": 65}}},
                  {"any": [{"pmt": {"model": "national", "below_cutoff": true}}, {"mpi": {"model": "mpi", "poor": true}}]}]}',
       '{"mpi": "mpi"}', 36);
SQL
# quotas: the budget covers about 80% of the poor households with children in each district, and 800 pensioners a region
q -c "INSERT INTO sp.programme_quota (programme, area_code, quota)
      SELECT 'child_grant', d.code, ceil(0.8 * count(a.household_id))::int
      FROM sp.admin_area d
      LEFT JOIN sp.admin_area w ON w.parent_code = d.code
      LEFT JOIN sp.household h ON h.admin_area_code = w.code
      LEFT JOIN sp.current_assessment a ON a.household_id = h.household_id AND a.model = 'national' AND a.below_cutoff
      WHERE d.level = 2 GROUP BY d.code"
q -c "INSERT INTO sp.programme_quota (programme, area_code, quota) SELECT 'social_pension', code, 800 FROM sp.admin_area WHERE level = 1"
for prog in child_grant social_pension; do
  start=$(date +%s.%N)
  q -c "SELECT jsonb_pretty(sp.determine_eligibility('$prog') - 'run_id') AS eligibility_$prog"
  printf 'determined in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
  start=$(date +%s.%N)
  q -c "SELECT jsonb_pretty(sp.enrol('$prog') - 'by_quota_area') AS enrolment_$prog"
  printf 'enrolled in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
done

say "By region: who is eligible, enrolled and waitlisted"
q -c "SELECT c.area_code AS region, c.area_name, c.enrolled AS child_grant_enrolled, c.waitlisted AS child_grant_waitlisted,
             c.quota AS child_grant_quota, p.enrolled AS pension_enrolled, p.waitlisted AS pension_waitlisted, p.quota AS pension_quota
      FROM sp.programme_summary('child_grant', 1) c FULL JOIN sp.programme_summary('social_pension', 1) p USING (area_code)
      ORDER BY 1"
echo "Why one household is not in the child grant (every automated decision keeps the conditions it failed):"
q -c "SELECT household_id, eligible, failed_conditions, round(rank_score::numeric, 3) AS score, round(cutoff::numeric, 3) AS cutoff
      FROM sp.eligibility_decision WHERE programme = 'child_grant' AND NOT eligible ORDER BY household_id LIMIT 2"
echo "Borderline scores wait for a person:"
q -c "SELECT programme, kind, eligible, count(*) FROM sp.eligibility_review WHERE status = 'pending' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
q -c "SELECT sp.review_eligibility((SELECT min(review_id) FROM sp.eligibility_review WHERE status = 'pending' AND NOT eligible),
                                  'include', 'demo: home visit found no income since the harvest failed') AS reviewer_decided"

say "A caseworker suspends a grant for missed health visits, then reinstates it; the history keeps both"
eid=$(q -Atc "SELECT min(enrolment_id) FROM sp.enrolment WHERE programme = 'child_grant' AND state = 'enrolled'")
q -c "SELECT state, reason FROM sp.set_enrolment_state($eid, 'suspended', 'two missed health visits (conditionality)')"
q -c "SELECT state, reason FROM sp.set_enrolment_state($eid, 'enrolled', 'visits made up')"
q -c "SELECT from_state, to_state, reason, recertification_due FROM sp.enrolment_history WHERE enrolment_id = $eid ORDER BY history_id"

say "A caseworker corrects a household after a home visit: the old version is kept with the reason"
q -c "SELECT sp.update_household(10, '{\"attributes\": {\"rooms\": 2, \"electricity\": true}}', 'home visit: grid connection seen') AS updated"
q -c "SELECT household_id, version, attributes ->> 'rooms' AS rooms, attributes ->> 'electricity' AS electricity,
             changed_by, change_reason FROM sp.household_history WHERE household_id = 10"
q -c "SELECT sp.set_person_status((SELECT min(person_id) FROM sp.person WHERE household_id = 11), 'deceased',
                                 'civil registry death notice 2026/4411') AS death_recorded"

say "A payment cycle of the child grant: what it pays, the list generated by one officer and approved by another"
q -c "INSERT INTO sp.payment_provider (name, title, fa_type, payer_fa, currency, batch_size)
      VALUES ('mpesa', 'M-Pesa', 'mobile', 'account:100200@mpesa', 'KES', 1000)"
q -c "SELECT version, provider, rule FROM sp.set_entitlement('child_grant',
        '{\"currency\": \"KES\", \"components\": [{\"kind\": \"flat\", \"amount\": 1500},
          {\"kind\": \"per_child\", \"amount\": 300, \"under_age\": 5, \"max\": 3}], \"cap\": 2200, \"rounding\": 50}',
        'mpesa', 'demo: budget circular 2026/3')"
cycle=$(q -Atc "SELECT cycle_id FROM sp.create_payment_cycle('child_grant', date_trunc('month', current_date)::date, (date_trunc('month', current_date) + interval '1 month - 1 day')::date)")
q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS demo_payer_a" -c "DROP ROLE IF EXISTS demo_payer_b" \
  -c "CREATE ROLE demo_payer_a IN ROLE sp_payment_officer" -c "CREATE ROLE demo_payer_b IN ROLE sp_payment_officer" >/dev/null
q -Atc "SELECT sp.grant_area_scope(r, a.code) FROM unnest(ARRAY['demo_payer_a', 'demo_payer_b']) r, sp.admin_area a WHERE a.level = 0" >/dev/null
start=$(date +%s.%N)
q -c "SET ROLE demo_payer_a" -c "SELECT jsonb_pretty(sp.generate_payment_list($cycle)) AS generated_by_officer_a"
printf 'generated in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
echo "Generated again (nothing is created twice):"
q -c "SET ROLE demo_payer_a" -c "SELECT sp.generate_payment_list($cycle) -> 'created' AS created_the_second_time"
echo "The officer who generated the list cannot approve it (four eyes):"
q -c "SET ROLE demo_payer_a" -c "SELECT sp.approve_payment_cycle($cycle, 'looks right')" 2>&1 | grep ERROR || true
q -c "SET ROLE demo_payer_b" -c "SELECT status, payments, total_amount, currency, generated_by, approved_by
      FROM sp.approve_payment_cycle($cycle, 'demo: totals checked against the budget')"
q -c "SELECT amount, count(*) AS households FROM sp.payment WHERE cycle_id = $cycle GROUP BY 1 ORDER BY 1"
echo "Who is not paid this cycle, and why:"
q -c "SELECT reason, count(*) FROM sp.payment_exclusion WHERE cycle_id = $cycle GROUP BY 1 ORDER BY 2 DESC"

say "The approved cycle is sent to M-Pesa (G2P Connect disburse, batches of 1000, every export audited) and reconciled"
q -c "SET ROLE demo_payer_a" -c "SELECT jsonb_array_length(sp.disburse_request($cycle, 'mpesa')) AS disburse_requests"
q -c "SET ROLE demo_payer_a" -c "SELECT jsonb_pretty(jsonb_set(r, '{message,disbursements}', jsonb_build_array(r #> '{message,disbursements,0}'))) AS first_request_first_payment
      FROM sp.disburse_request($cycle, 'mpesa', 1) r"
q -c "SELECT action, acting_role, cardinality(person_ids) AS recipients, accesses, purpose FROM sp.audit_log WHERE action = 'disburse' ORDER BY log_id"
echo "M-Pesa answers: every payment paid but two whose numbers it does not know, and one reference it invents:"
q -c "SET ROLE demo_payer_b" -c "SELECT jsonb_pretty(sp.reconcile_payments($cycle, 'mpesa', jsonb_build_object(
        'header', jsonb_build_object('action', 'on-disburse', 'total_count', count(*) + 1),
        'message', jsonb_build_object('transaction_id', 'child_grant-$cycle-1', 'disbursements_status',
            jsonb_agg(jsonb_build_object('reference_id', p.reference_id, 'timestamp', now(),
                      'status', CASE WHEN n <= 2 THEN 'rjct' ELSE 'succ' END,
                      'status_reason_code', CASE WHEN n <= 2 THEN 'rjct.payee_fa.invalid' END,
                      'amount', to_char(p.amount, 'FM9999999990.00')))
            || jsonb_build_array(jsonb_build_object('reference_id', 'child_grant-0-0', 'status', 'succ')))))) AS reconciled
      FROM (SELECT p.*, row_number() OVER (ORDER BY p.payment_id) AS n FROM sp.payment p WHERE p.cycle_id = $cycle AND p.status = 'sent') p"
q -c "SET ROLE demo_payer_b" -c "SELECT status, payments, total_amount FROM sp.close_payment_cycle($cycle, 'demo: provider answered for every payment')"
q -c "SELECT status, count(*), sum(amount) FROM sp.payment WHERE cycle_id = $cycle GROUP BY 1 ORDER BY 1"
echo "A failed payment is re-issued, once, in next month's cycle (to the phone registered now):"
next=$(q -Atc "SELECT cycle_id FROM sp.create_payment_cycle('child_grant', (date_trunc('month', current_date) + interval '1 month')::date, (date_trunc('month', current_date) + interval '2 month - 1 day')::date)")
failed=$(q -Atc "SELECT min(payment_id) FROM sp.payment WHERE cycle_id = $cycle AND status = 'failed'")
q -c "SET ROLE demo_payer_a" -c "SELECT payment_id, cycle_id, amount, status, reissue_of FROM sp.reissue_payment($failed, $next, 'demo: the family gave a new number')"
q -c "SET ROLE demo_payer_a" -c "SELECT sp.reissue_payment($failed, $next, 'demo: again')" 2>&1 | grep ERROR || true
q -c "SELECT payment_id, status, status_reason FROM sp.payment WHERE payment_id = $failed"
q -c "DROP OWNED BY demo_payer_a, demo_payer_b" -c "DROP ROLE demo_payer_a" -c "DROP ROLE demo_payer_b" >/dev/null

say "Grievances: an appeal against exclusion, a complaint that escalates when nobody answers it, pg_cron on watch"
district=$(q -Atc "SELECT h.admin_area_code FROM sp.eligibility_decision d JOIN sp.household h USING (household_id)
                   WHERE d.programme = 'child_grant' AND NOT d.eligible ORDER BY d.household_id LIMIT 1")
region=${district:0:4}
q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS demo_grm_district" -c "DROP ROLE IF EXISTS demo_grm_region" \
  -c "DROP ROLE IF EXISTS demo_sms_gateway" -c "CREATE ROLE demo_grm_district IN ROLE sp_grievance_officer" \
  -c "CREATE ROLE demo_grm_region IN ROLE sp_grievance_officer" -c "CREATE ROLE demo_sms_gateway IN ROLE sp_integration" >/dev/null
q -Atc "SELECT sp.grant_area_scope('demo_grm_district', '$district'), sp.grant_area_scope('demo_grm_region', '$region'),
               sp.grant_area_scope('demo_sms_gateway', 'SY')" >/dev/null
echo "A mother whose household was left out of the child grant appeals at the $district district office:"
hh=$(q -Atc "SELECT d.household_id FROM sp.eligibility_decision d JOIN sp.household h USING (household_id)
             WHERE d.programme = 'child_grant' AND NOT d.eligible AND h.admin_area_code = '$district' ORDER BY d.household_id LIMIT 1")
head=$(q -Atc "SELECT person_id FROM sp.person WHERE household_id = $hh AND relationship_to_head = 'head' AND status = 'active' LIMIT 1")
appeal=$(q -Atc "SET ROLE demo_grm_district" -c "SELECT sp.submit_grievance('{\"channel\": \"walk_in\", \"category\": \"exclusion\",
    \"complainant_person_id\": $head, \"household_id\": $hh, \"programme\": \"child_grant\",
    \"description\": \"We were left out; our income fell when the harvest failed\"}') ->> 'grievance_id'" | tail -1)
q -c "SET ROLE demo_grm_district" -c "SELECT status FROM sp.set_grievance_status($appeal, 'acknowledged', 'told at the desk: answer within 30 days')" \
  -c "SELECT status, assigned_to FROM sp.set_grievance_status($appeal, 'in_review')" \
  -c "SELECT jsonb_pretty(sp.reassess_for_grievance($appeal, 'home visit: harvest lost, income fell')) AS appeal_reassessment" \
  -c "SELECT status FROM sp.set_grievance_status($appeal, 'resolved', 'Reassessed after the home visit; eligibility is decided again at the next run')" \
  -c "SELECT sp.record_grievance_message($appeal, 'in_person', 'outcome', 'Your household was visited and scored again; the next eligibility run decides, and you may appeal again.') AS message_id" \
  -c "SELECT status FROM sp.set_grievance_status($appeal, 'closed', 'outcome told in person')"
q -c "SELECT event, to_status, happened_by, left(detail, 90) AS detail FROM sp.grievance_event WHERE grievance_id = $appeal ORDER BY event_id"
echo "An SMS complaint about a failed payment, sent three days ago, never acknowledged (the payment SLA gives two days):"
payee=$(q -Atc "SELECT recipient_id FROM sp.payment WHERE payment_id = $failed")
late=$(q -Atc "SET ROLE demo_sms_gateway" -c "SELECT sp.submit_grievance(jsonb_build_object('channel', 'sms', 'external_id', 'sms-demo-1',
    'category', 'payment', 'complainant_person_id', $payee, 'payment_id', $failed,
    'description', 'The money did not arrive', 'received_at', now() - interval '3 days')) ->> 'grievance_id'" | tail -1)
q -c "SET ROLE demo_sms_gateway" -c "SELECT sp.submit_grievance(jsonb_build_object('channel', 'sms', 'external_id', 'sms-demo-1',
    'category', 'payment', 'complainant_person_id', $payee, 'payment_id', $failed,
    'description', 'The money did not arrive', 'received_at', now() - interval '3 days')) ->> 'replayed' AS gateway_resent_it_replayed"
q -c "SELECT grievance_id, category, status, responsible_area_code, overdue_by FROM sp.overdue_grievances ORDER BY grievance_id"
echo "pg_cron runs sp.escalate_overdue_grievances() every 15 minutes (docs/grievances.md); its run, done now:"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null 2>&1 \
  || psql -X -q -d postgres -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d postgres -Atc "SELECT cron.schedule_in_database('sp-escalate-grievances', '*/15 * * * *',
    'SELECT sp.escalate_overdue_grievances()', '$DB')" >/dev/null
psql -X -q -d postgres -c "SELECT jobname, schedule, command, database FROM cron.job"
q -c "SELECT sp.escalate_overdue_grievances() AS escalated"
q -c "SELECT grievance_id, status, escalation_level, responsible_area_code FROM sp.grievance WHERE grievance_id = $late"
q -c "SELECT event, escalation_level, responsible_area_code, detail FROM sp.grievance_event WHERE grievance_id = $late ORDER BY event_id"
q -c "DROP OWNED BY demo_grm_district, demo_grm_region, demo_sms_gateway" -c "DROP ROLE demo_grm_district" \
  -c "DROP ROLE demo_grm_region" -c "DROP ROLE demo_sms_gateway" >/dev/null

say "The child grant becomes conditional: school reports, a warning-free suspension, the family left out of the list"
q -c "SELECT programme, version FROM sp.set_conditionality('child_grant', '{\"conditions\": [{\"kind\": \"school_attendance\", \"min_age\": 6, \"max_age\": 14, \"min_rate\": 0.85}], \"warnings_before_suspension\": 0}', 'demo: attendance condition from the next cycle')"
echo "The ministry of education reports three children of beneficiary households (one attends 55% of days):"
q -c "SELECT sp.record_compliance(jsonb_build_object('source', 'moe', 'records', jsonb_agg(jsonb_build_object(
        'id', 'moe-' || c.person_id, 'person_id', c.person_id, 'month', to_char(current_date, 'YYYY-MM'),
        'kind', 'school_attendance', 'rate', CASE WHEN c.n = 1 THEN 0.55 ELSE 0.95 END)))) AS feed
      FROM (SELECT p.person_id, row_number() OVER (ORDER BY e.enrolment_id) AS n
            FROM sp.enrolment e JOIN sp.person p ON p.household_id = e.household_id AND p.status = 'active'
            WHERE e.programme = 'child_grant' AND e.state = 'enrolled' AND p.relationship_to_head = 'child'
              AND p.birth_date BETWEEN current_date - interval '13 years' AND current_date - interval '7 years'
            ORDER BY e.enrolment_id LIMIT 3) c"
echo "Next month's cycle: the conditions first (this month's reports), then the list:"
q -c "SELECT jsonb_pretty(sp.apply_conditionality($next)) AS conditions_applied"
q -c "SELECT s.outcome, s.step, s.detail -> 'missed' AS missed FROM sp.compliance_step s WHERE s.cycle_id = $next AND s.outcome = 'non_compliant'"
q -c "SELECT (sp.generate_payment_list($next)) -> 'excluded' AS left_out_of_next_month"

say "Civil registration reports a death and a birth: applied once each, whatever is sent again"
echo "(the head of a household enrolled in the child grant dies; the CRVS message carries her national ID)"
nid_dead=$(q -Atc "SELECT sp.person_national_id(p.person_id, 'demo: prepare a civil-registration message')
                   FROM sp.enrolment e JOIN sp.person p ON p.household_id = e.household_id AND p.relationship_to_head = 'head'
                   WHERE e.programme = 'child_grant' AND e.state = 'enrolled' AND p.status = 'active' AND p.national_id_hash IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM sp.person o WHERE o.national_id_hash = p.national_id_hash AND o.person_id <> p.person_id)
                     AND EXISTS (SELECT 1 FROM sp.payment x WHERE x.household_id = e.household_id AND x.cycle_id = $cycle AND x.status = 'paid')
                   ORDER BY e.enrolment_id LIMIT 1")
echo "(she died five days before this month's period began: this month's payment, already paid, is listed for recovery)"
q -c "SELECT jsonb_pretty(sp.apply_crvs_event(jsonb_build_object('event_id', 'DR-DEMO-1', 'type', 'death',
        'date', (date_trunc('month', current_date) - interval '5 days')::date,
        'person', jsonb_build_object('national_id', '$nid_dead')))) AS death"
q -c "SELECT sp.apply_crvs_event(jsonb_build_object('event_id', 'DR-DEMO-1', 'type', 'death', 'date', (date_trunc('month', current_date) - interval '5 days')::date,
        'person', jsonb_build_object('national_id', '$nid_dead'))) ->> 'replayed' AS sent_again_replayed"
mother=$(q -Atc "SELECT sp.person_national_id(p.person_id, 'demo: prepare a civil-registration message') FROM sp.person p
                 WHERE p.sex = 'F' AND p.relationship_to_head IN ('head', 'spouse') AND p.status = 'active' AND p.national_id_hash IS NOT NULL
                   AND p.birth_date > current_date - interval '40 years'
                   AND NOT EXISTS (SELECT 1 FROM sp.person o WHERE o.national_id_hash = p.national_id_hash AND o.person_id <> p.person_id)
                 ORDER BY p.person_id DESC LIMIT 1")
q -c "SELECT jsonb_pretty(sp.apply_crvs_event(jsonb_build_object('event_id', 'BR-DEMO-1', 'type', 'birth', 'date', current_date - 3,
        'mother', jsonb_build_object('national_id', '$mother'), 'child', jsonb_build_object('given_name', 'Amani', 'sex', 'F')))) AS birth"
q -c "SELECT r ->> 'status' AS status, r ->> 'review_reason' AS review_reason FROM sp.apply_crvs_event('{\"event_id\": \"DR-DEMO-2\",
        \"type\": \"death\", \"date\": \"2026-11-01\", \"person\": {\"national_id\": \"NOBODY-1\"}}') r"

say "Real boundaries: Somalia's OCHA COD-AB (18 regions, 74 districts) imported, checked and cut for point-in-polygon"
cod="$(cd .. && pwd)/shared/data/cod-ab/somalia"
if [ -f "$cod/som_admbnda_adm1_ocha_20230308_dv.geojson" ]; then
  q -v cod="$cod" -f scripts/somalia_boundaries.psql
  q -c "SELECT count(DISTINCT code) AS areas, count(*) AS pieces, max(ST_NPoints(geom)) AS max_vertices_a_piece
        FROM sp.admin_area_part WHERE code LIKE 'SO%'"
  echo "Which district holds a GPS point (Mogadishu, Hargeisa, the sea):"
  q -c "SELECT p.name, sp.area_at_point(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) AS district, a.name AS district_name
        FROM (VALUES ('Mogadishu', 45.3182, 2.0469), ('Hargeisa', 44.0650, 9.5600), ('Indian Ocean', 50.0, -5.0)) p (name, lon, lat)
        LEFT JOIN sp.admin_area a ON a.code = sp.area_at_point(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))"
else
  echo "(../shared/data/cod-ab/somalia not found: skipped)"
fi

say "A flood along a river in Sintara: households within 3 km, top-ups for beneficiaries, temporary enrolment of the poorest others"
river=$(q -Atc "SELECT ST_AsGeoJSON(ST_MakeLine(ARRAY(SELECT ST_Centroid(geom) FROM sp.admin_area WHERE level = 3 AND code LIKE 'SY01%'
                                                      ORDER BY code LIMIT 4)))")
flood=$(q -Atc "SELECT event_id FROM sp.declare_shock(jsonb_build_object('name', 'Demo river flood', 'shock_type', 'flood',
          'severity', 'high', 'source', 'early_warning', 'source_ref', 'gauge-demo-1', 'buffer_m', 3000, 'footprint', '$river'::jsonb))")
q -c "SELECT admin_area_code AS ward, count(*) AS households, round(max(distance_m)) AS farthest_m
      FROM sp.households_in_footprint((SELECT footprint FROM sp.shock_event WHERE event_id = $flood), 3000)
      GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
q -c "SELECT r ->> 'mode' AS mode, r -> 'decisions' AS decisions, r ->> 'total_amount' AS total_kes
      FROM (VALUES (sp.shock_response($flood, 'child_grant', 'vertical', 1000)),
                   (sp.shock_response($flood, 'child_grant', 'horizontal', 1000, 10))) x (r)"
echo "The same early warning fires again, and the response is asked for again: nothing changes"
q -c "SELECT (sp.declare_shock(jsonb_build_object('name', 'again', 'shock_type', 'flood', 'severity', 'high', 'source', 'early_warning',
          'source_ref', 'gauge-demo-1', 'footprint', '$river'::jsonb))).event_id = $flood AS same_shock,
             sp.shock_response($flood, 'child_grant', 'vertical', 1000) ->> 'replayed' AS replayed"
echo "Why one household by the river was not enrolled (every household in the footprint has a decision):"
q -c "SELECT d.household_id, d.decision, d.rank, round(d.pmt_score::numeric, 3) AS score, d.reason
      FROM sp.shock_decision d JOIN sp.shock_response r USING (response_id)
      WHERE r.event_id = $flood AND r.mode = 'horizontal' AND d.decision = 'not_selected' ORDER BY d.rank LIMIT 1"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -Atc "SELECT cron.schedule_in_database('sp-end-temporary-enrolments', '15 0 * * *',
    'SELECT sp.end_temporary_enrolments()', '$DB')" >/dev/null
echo "(pg_cron ends the temporary enrolments on their date: job sp-end-temporary-enrolments, daily)"

say "Coverage of the child grant by district, small cells withheld, and a map to open offline"
q -c "SELECT area_code, area_name, registered, eligible, enrolled, coverage_rate, suppressed
      FROM sp.coverage_by_area('child_grant', 2, 'SY') LIMIT 8"
mkdir -p demo-output
q -Atc "SELECT sp.coverage_map_html('child_grant', 2, 'Sintara child grant: coverage by district', 'SY')" > demo-output/coverage.html
if command -v chromium >/dev/null 2>&1; then
  timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,900 \
    --screenshot="$PWD/demo-output/coverage.png" "file://$PWD/demo-output/coverage.html" >/dev/null 2>&1 || true
fi
ls -l demo-output/coverage.html demo-output/coverage.png 2>/dev/null | awk '{print $5, $9}'
[ -s demo-output/coverage.png ] && python3 test/png_colours.py demo-output/coverage.png d7301f fc8d59 fdcc8a a1d99b 31a354 \
  | awk 'NR == 1 {print "PNG " $1 "x" $2 ", " $3 " colours"} NR > 1 {print "pixels of class colour #" $1 ": " $2}'
echo "(open demo-output/coverage.html in any browser, offline; the PNG is what headless Chromium drew)"

say "The integrated beneficiary registry: the ministry of agriculture's list, linked without a shared identifier"
q -c "INSERT INTO sp.external_programme (name, title, owner_ministry, benefit_type, frequency, amount, currency)
      VALUES ('fertiliser_vouchers', 'Fertiliser vouchers', 'Ministry of Agriculture', 'voucher', 'annual', 60, 'USD')"
# heads of every 20th household as the ministry typed them (every third without the ID, every
# seventh family name misspelt), and 200 farmers the registry does not have
q -c "CREATE TABLE synth.moa AS
      SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('source_record_id', 'MOA-' || i,
                 'national_id', CASE WHEN i % 3 <> 0 THEN x.mem ->> 'national_id' END, 'given_name', x.mem ->> 'given_name',
                 'family_name', x.mem ->> 'family_name' || CASE WHEN i % 7 = 0 THEN 'h' ELSE '' END,
                 'birth_date', x.mem ->> 'birth_date', 'sex', x.mem ->> 'sex', 'admin_area_code', d ->> 'admin_area_code')) ORDER BY i)
             || (SELECT jsonb_agg(jsonb_build_object('source_record_id', 'MOA-X' || n, 'given_name', 'Farmer', 'family_name', 'Outside' || n,
                                                     'birth_date', (1960 + n % 30)::text)) FROM generate_series(1, 200) n) AS rows
      FROM synth.docs, LATERAL (SELECT d -> 'members' -> 0 AS mem) x WHERE i % 20 = 0"
q -Atc "SELECT 'the list: ' || jsonb_array_length(rows) || ' rows' FROM synth.moa"
start=$(date +%s.%N)
q -c "SELECT jsonb_pretty(sp.import_external_beneficiaries('fertiliser_vouchers', rows) - 'import_id') AS first_import FROM synth.moa"
printf 'imported and linked in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
echo "The same list again next month (nothing changes, nothing is linked twice):"
q -Atc "SELECT 'unchanged: ' || (sp.import_external_beneficiaries('fertiliser_vouchers', rows) ->> 'unchanged') FROM synth.moa"
echo "The review queue (never guessed):"
q -c "SELECT link_status, count(*), min(link_note) AS for_example FROM sp.external_beneficiary
      WHERE programme = 'fertiliser_vouchers' GROUP BY 1 ORDER BY 1"
echo "Households by combination of programmes, per region: those with the ministry's vouchers, and those with nothing:"
q -c "SELECT area_name, programmes, households FROM sp.programme_overlap(1)
      WHERE programmes @> '{fertiliser_vouchers}' OR programmes = '{}' ORDER BY area_code, programmes = '{}', households DESC LIMIT 14"
echo "Who receives the same kind of benefit twice, or is listed twice:"
q -c "SELECT kind, count(*) FROM sp.duplicate_beneficiaries() GROUP BY 1 ORDER BY 1"
echo "How much reaches the poorest fifth (national PMT deciles, households receiving anything):"
q -c "SELECT decile, households, beneficiary_households, round(beneficiary_households::numeric / households, 3) AS reached
      FROM sp.benefit_incidence(0, 'national') ORDER BY decile"

say "The monitoring report of the last 30 days, by region (sp.monitoring_report), and a chart of it"
q -Atc "SELECT jsonb_pretty(jsonb_build_object('registrations', r -> 'registrations', 'payments', r -> 'payments',
                                               'grievances', r -> 'grievances', 'time_to_first_payment', r -> 'time_to_first_payment',
                                               'beneficiary_registry', r -> 'beneficiary_registry'))
        FROM sp.monitoring_report(current_date - 30, current_date, 1) r"
q -c "SELECT x ->> 'area_name' AS region, x -> 'eligible' AS eligible, x -> 'enrolled' AS enrolled, x -> 'inclusion_error' AS inclusion_error,
             x -> 'exclusion_error' AS exclusion_error
      FROM jsonb_array_elements(sp.monitoring_report(current_date - 30, current_date, 1) -> 'programmes') x
      WHERE x ->> 'programme' = 'child_grant' ORDER BY 1"
# the chart: per region, the child grant's coverage (enrolled / eligible) and the share of
# the region's beneficiary households that are in the poorest fifth of the country
q -At > demo-output/monitoring.html <<'SQL'
WITH cov AS (SELECT area_code, area_name, coverage_rate FROM sp.coverage_by_area('child_grant', 1, 'SY')),
inc AS (SELECT area_code, sum(beneficiary_households) FILTER (WHERE decile <= 2)::numeric / nullif(sum(beneficiary_households), 0) AS poorest
        FROM sp.benefit_incidence(1, 'national') GROUP BY area_code),
r AS (SELECT row_number() OVER (ORDER BY c.area_code) - 1 AS k, c.area_name, coalesce(c.coverage_rate, 0) AS cov, coalesce(i.poorest, 0) AS poor
      FROM cov c LEFT JOIN inc i USING (area_code))
SELECT '<!doctype html><html><head><meta charset="utf-8"><title>Sintara: coverage and incidence by region</title></head>'
    || '<body style="font-family: sans-serif; margin: 20px"><h2>Sintara: child grant coverage and benefit incidence by region</h2>'
    || format('<svg xmlns="http://www.w3.org/2000/svg" width="900" height="%s" role="img">', 90 + 48 * count(*))
    || '<rect x="0" y="0" width="900" height="100%" fill="#ffffff"/>'
    || string_agg(format('<text x="10" y="%s" font-size="14">%s</text>'
                         '<rect x="200" y="%s" width="%s" height="16" fill="#2b8cbe"><title>coverage %s</title></rect><text x="%s" y="%s" font-size="12">%s %%</text>'
                         '<rect x="200" y="%s" width="%s" height="16" fill="#e6550d"><title>poorest fifth %s</title></rect><text x="%s" y="%s" font-size="12">%s %%</text>',
                         60 + 48 * k + 20, replace(replace(area_name, '&', '&amp;'), '<', '&lt;'),
                         60 + 48 * k + 4, round(600 * cov), round(cov, 3), 206 + round(600 * cov), 60 + 48 * k + 17, round(100 * cov),
                         60 + 48 * k + 22, round(600 * poor), round(poor, 3), 206 + round(600 * poor), 60 + 48 * k + 35, round(100 * poor)), '' ORDER BY k)
    || '<rect x="200" y="20" width="14" height="14" fill="#2b8cbe"/><text x="220" y="32" font-size="13">child grant coverage (enrolled / eligible)</text>'
    || '<rect x="520" y="20" width="14" height="14" fill="#e6550d"/><text x="540" y="32" font-size="13">beneficiary households in the poorest fifth</text>'
    || '</svg></body></html>'
FROM r;
SQL
if command -v chromium >/dev/null 2>&1; then
  timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=960,700 \
    --screenshot="$PWD/demo-output/monitoring.png" "file://$PWD/demo-output/monitoring.html" >/dev/null 2>&1 || true
fi
ls -l demo-output/monitoring.html demo-output/monitoring.png 2>/dev/null | awk '{print $5, $9}'
[ -s demo-output/monitoring.png ] && python3 test/png_colours.py demo-output/monitoring.png 2b8cbe e6550d \
  | awk 'NR == 1 {print "PNG " $1 "x" $2 ", " $3 " colours"} NR > 1 {print "pixels of bar colour #" $1 ": " $2}'
echo "(open demo-output/monitoring.html in any browser, offline)"

say "Looking a person up by national ID (blind index, no decryption) and reading it back (audited)"
nid=$(q -Atc "SELECT d -> 'members' -> m ->> 'national_id' FROM synth.docs, generate_series(0, 8) m
              WHERE d -> 'members' -> m ? 'national_id' ORDER BY i LIMIT 1")
q -c "SELECT person_id, household_id, given_name, family_name, birth_date, status
      FROM sp.find_person_by_national_id('$nid', 'demo lookup')"
q -c "SELECT sp.person_national_id((SELECT person_id FROM sp.find_person_by_national_id('$nid', 'demo') LIMIT 1),
                                  'demo: verify identity at pay point') AS decrypted"
q -c "SELECT logged_at::time(0), login_role, action, person_ids, purpose FROM sp.audit_log ORDER BY log_id"

say "An analyst sees de-identified records (district, birth year, no names or location) and suppressed small cells"
q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS demo_analyst" -c "CREATE ROLE demo_analyst IN ROLE sp_analyst" >/dev/null
q -Atc "SELECT sp.grant_area_scope('demo_analyst', 'SY01')" >/dev/null
q -c "SET ROLE demo_analyst" -c "SELECT household_id, admin_area_code, household_size, head_female, attributes ->> 'rooms' AS rooms
      FROM sp.household_deidentified LIMIT 3"
q -c "SET ROLE demo_analyst" -c "SELECT * FROM sp.programme_summary('child_grant', 2) LIMIT 4"
echo "(a count from 1 to 9 would show as NULL to an analyst; a programme officer sees exact counts; wards are refused to analysts:)"
q -c "SET ROLE demo_analyst" -c "SELECT count(*) FROM sp.programme_summary('child_grant', 3)" 2>&1 | grep ERROR || true

say "Consent and retention: a withdrawal is recorded; retention is set and tried as a dry run"
q -c "SELECT purpose, granted, source FROM sp.record_consent(3, 'data_sharing', false, 'district office', 'asked not to share')"
q -c "INSERT INTO sp.privacy_setting (name, value) VALUES ('closed_record_retention_days', 3650), ('import_error_retention_days', 90)"
q -c "SELECT jsonb_pretty(sp.apply_retention(true)) AS retention_dry_run"
q -c "DROP OWNED BY demo_analyst" -c "DROP ROLE demo_analyst" >/dev/null

say "Telling other systems what changed: the outbox (written with each change, read per consumer, at least once)"
q -c "SELECT event_type, count(*) AS events FROM sp.outbox_event GROUP BY 1 ORDER BY 2 DESC"
q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS demo_platform" -c "CREATE ROLE demo_platform IN ROLE sp_integration" >/dev/null
q -Atc "SELECT count(*) FROM sp.admin_area a, LATERAL sp.grant_area_scope('demo_platform', a.code) g WHERE a.level = 0" >/dev/null
q -c "SELECT name, consumer_role, event_types, lease FROM jsonb_populate_record(NULL::sp.outbox_consumer,
        sp.create_outbox_consumer('demo.platform', 'demo_platform', NULL, '5 minutes', 'a payment platform'))"
q -Atc "SELECT sp.add_member(min(household_id), '{\"given_name\": \"Newborn\", \"relationship_to_head\": \"child\", \"birth_date\": \"$(date +%F)\"}')
        FROM sp.household WHERE status = 'active'" >/dev/null
echo "A child is added to a household; the platform claims what it has not seen, then acknowledges it:"
q -c "SET ROLE demo_platform" -c "CREATE TEMP TABLE got AS SELECT * FROM sp.outbox_claim('demo.platform', 10)" \
  -c "SELECT event_id, event_type, household_id, person_id, admin_area_code, detail, attempts FROM got" \
  -c "SELECT sp.outbox_ack('demo.platform', ARRAY(SELECT event_id FROM got))"
q -c "SELECT consumer, acked_position, claimed, after_position FROM sp.outbox_backlog()"
q -c "DELETE FROM sp.outbox_consumer WHERE name = 'demo.platform'" -c "DROP OWNED BY demo_platform" -c "DROP ROLE demo_platform" >/dev/null

say "The DCI social-registry API over HTTP: sp_registry_gateway, a ministry's system searching as its own role"
gw_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS demo_gateway" -c "DROP ROLE IF EXISTS demo_health_api" \
  -c "CREATE ROLE demo_gateway LOGIN PASSWORD '$gw_password' IN ROLE sp_gateway" \
  -c "CREATE ROLE demo_health_api NOLOGIN IN ROLE sp_analyst" >/dev/null
q -Atc "SELECT count(*) FROM sp.admin_area a, LATERAL sp.grant_area_scope('demo_health_api', a.code) g WHERE a.level = 0" >/dev/null
q -c "SELECT sender_id, client_role, callback_prefixes FROM jsonb_populate_record(NULL::sp.api_client,
        sp.register_api_client('health.example.org', '$token', 'demo_health_api', '{http://127.0.0.1:9/dci/}', 'Ministry of Health'))"
gw_port=$((55400 + RANDOM % 1000))
PGUSER=demo_gateway PGPASSWORD=$gw_password PGDATABASE=$DB \
  "$(pg_config --bindir)/sp_registry_gateway" --listen "127.0.0.1:$gw_port" --no-notify --access-log demo-output/gateway.log &
gw_pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$gw_port") 2>/dev/null && break; sleep 0.05; done
ts=$(psql -X -At -d "$DB" -c "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
hh=$(q -Atc "SELECT min(household_id) FROM sp.household WHERE status = 'active'")
request='{"header": {"version": "1.0.0", "message_id": "demo-1", "message_ts": "'$ts'", "action": "search", "sender_id": "health.example.org", "total_count": 1},
 "message": {"transaction_id": "demo-txn-1", "search_request": [{"reference_id": "r1", "timestamp": "'$ts'",
   "search_criteria": {"query_type": "predicate", "response_entity": "Group", "pagination": {"page_size": 2},
     "query": [{"seq_num": 1, "expression1": {"attribute_name": "group_size", "operator": "ge", "attribute_value": 6},
                "condition": "and", "expression2": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 9}}]}}]}}'
echo "POST /registry/sync/search (large households with a low PMT score; an analyst's client: de-identified records):"
curl -s -X POST "http://127.0.0.1:$gw_port/registry/sync/search" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
     --data-binary "$request" | jq -c '{status: .header.status, total_count: .message.search_response[0].pagination.total_count,
        first: (.message.search_response[0].data.reg_records[0] | {place, group_size, poverty_score, members: [.member_list[] | {sex: .demographic_info.sex, relationship_head}]})}'
echo "The same message again (a replay), and a request without a token:"
curl -s -X POST "http://127.0.0.1:$gw_port/registry/sync/search" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
     --data-binary "$request" | jq -c '{status: .header.status, reason: .header.status_reason_code}'
curl -s -w ' (HTTP %{http_code})\n' -X POST "http://127.0.0.1:$gw_port/registry/sync/search" -H 'Content-Type: application/json' --data-binary "$request"
kill -TERM "$gw_pid"; wait "$gw_pid" || true
echo "The gateway's access log (no tokens, no bodies):"
head -4 demo-output/gateway.log
q -c "SELECT sp.revoke_api_client('health.example.org') IS NOT NULL AS revoked" >/dev/null
q -c "DROP OWNED BY demo_health_api" -c "DROP ROLE demo_gateway" -c "DROP ROLE demo_health_api" >/dev/null

say "Done. The cluster is thrown away on exit."
