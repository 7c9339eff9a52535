-- Conditionality of a conditional cash transfer (issue 12): validated rules
-- with history; school and health feeds taken once, checked before anything
-- is stored, matched to registered persons of the caller's areas; each
-- cycle's conditions applied before its list: warning, suspension (not
-- paid), reinstatement, each step recorded with who missed what.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('CC', NULL, 0, 'Conditia'), ('CC01', 'CC', 1, 'Lakeside');
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_moe') THEN CREATE ROLE sp_test_moe IN ROLE sp_integration; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_ccpo') THEN CREATE ROLE sp_test_ccpo IN ROLE sp_programme_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_ccpay') THEN CREATE ROLE sp_test_ccpay IN ROLE sp_payment_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_cccw') THEN CREATE ROLE sp_test_cccw IN ROLE sp_caseworker; END IF;
END $$;
SELECT sp.grant_area_scope('sp_test_moe', 'CC') ->> 'admin_area_code' AS moe, sp.grant_area_scope('sp_test_cccw', 'CC01') ->> 'admin_area_code' AS cw;
SELECT count(*) > 0 AS national FROM sp.admin_area a, LATERAL (SELECT sp.grant_area_scope(r, a.code) FROM unnest(ARRAY['sp_test_ccpo', 'sp_test_ccpay']) r) g
WHERE a.level = 0;

-- ages that hold in every window of the test: 8 and 2 years and a half
SELECT to_char(date_trunc('month', current_date) - interval '8 years 6 months', 'YYYY-MM-DD') AS born8,
       to_char(date_trunc('month', current_date) - interval '2 years 6 months', 'YYYY-MM-DD') AS born2,
       to_char(date_trunc('month', current_date) - interval '10 years 6 months', 'YYYY-MM-DD') AS born10 \gset
CREATE FUNCTION pg_temp.reg(members jsonb) RETURNS bigint LANGUAGE sql AS
$$ SELECT (sp.register_household(jsonb_build_object('admin_area_code', 'CC01', 'members', members)) ->> 'household_id')::bigint $$;
SELECT pg_temp.reg(jsonb_build_array(
           '{"given_name": "Kamau", "relationship_to_head": "head", "birth_date": "1980-01-01", "phone": "+254744000001"}'::jsonb,
           jsonb_build_object('given_name', 'Wanjiru', 'relationship_to_head', 'child', 'birth_date', :'born8', 'national_id', 'CC-8001'),
           jsonb_build_object('given_name', 'Njeri', 'relationship_to_head', 'child', 'birth_date', :'born2'))) AS k1,
       pg_temp.reg(jsonb_build_array(
           '{"given_name": "Otieno", "relationship_to_head": "head", "birth_date": "1975-01-01", "phone": "+254744000002"}'::jsonb,
           jsonb_build_object('given_name', 'Akinyi', 'relationship_to_head', 'child', 'birth_date', :'born10'))) AS k2,
       pg_temp.reg('[{"given_name": "Chebet", "relationship_to_head": "head", "birth_date": "1950-01-01", "phone": "+254744000003"}]') AS k3 \gset
SELECT person_id AS wanjiru FROM sp.person WHERE household_id = :k1 AND given_name = 'Wanjiru' \gset
SELECT person_id AS njeri FROM sp.person WHERE household_id = :k1 AND given_name = 'Njeri' \gset
SELECT person_id AS akinyi FROM sp.person WHERE household_id = :k2 AND given_name = 'Akinyi' \gset
-- errors with their ids as N (ids depend on the tests before)
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d+', 'N', 'g');
END $$;
CREATE TEMP VIEW who AS
SELECT h.household_id, p.given_name AS label FROM sp.household h
JOIN sp.person p ON p.household_id = h.household_id AND p.relationship_to_head = 'head' WHERE h.admin_area_code LIKE 'CC%';

INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('cc_cct', 'Conditia CCT', 'cash', '{"area": "CC"}');
SELECT sp.determine_eligibility('cc_cct') ->> 'eligible' AS eligible, sp.enrol('cc_cct') ->> 'newly_enrolled' AS enrolled;
SELECT version FROM sp.set_entitlement('cc_cct', '{"currency": "KES", "components": [{"kind": "flat", "amount": 700}]}', 'mpesa', 'cct');

-- rules: validated, national, with history
SET ROLE sp_test_ccpo;
SELECT sp.set_conditionality('cc_cct', '{"conditions": []}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "church_attendance", "min_age": 6, "max_age": 17}]}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "school_attendance", "min_age": 6, "max_age": 17, "min_rate": 85}]}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "school_attendance", "min_age": 17, "max_age": 6, "min_rate": 0.85}]}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "health_visits", "min_age": 0, "max_age": 4, "min_visits": 0.5}]}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "health_visits", "min_age": 0, "max_age": 4, "min_rate": 1}]}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "health_visits", "min_age": 0, "max_age": 4, "min_visits": 1}], "strikes": 3}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "health_visits", "min_age": 0, "max_age": 4, "min_visits": 1}], "missing_report": "ignore"}', 'x');
SELECT sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "health_visits", "min_age": 0, "max_age": 4, "min_visits": 1}]}', ' ');
SELECT sp.set_conditionality('no_such', '{"conditions": [{"kind": "health_visits", "min_age": 0, "max_age": 4, "min_visits": 1}]}', 'x');
SELECT programme, version FROM sp.set_conditionality('cc_cct', '{"conditions": [{"kind": "health_visits", "min_age": 0, "max_age": 4, "min_visits": 2}]}', 'draft');
SELECT programme, version FROM sp.set_conditionality('cc_cct',
    '{"conditions": [{"kind": "school_attendance", "min_age": 6, "max_age": 17, "min_rate": 0.85},
                     {"kind": "health_visits", "min_age": 0, "max_age": 4, "min_visits": 1}],
      "warnings_before_suspension": 1, "compliant_cycles_to_reinstate": 1}', 'CCT operations manual 2026');
RESET ROLE;
SELECT version, reason FROM sp.programme_conditionality_history WHERE programme = 'cc_cct' ORDER BY history_id;

-- feeds: checked whole before anything is stored
SET ROLE sp_test_moe;
SELECT sp.record_compliance('[1]');
SELECT sp.record_compliance('{"records": []}');
SELECT sp.record_compliance('{"source": "MoE", "records": []}');
SELECT sp.record_compliance('{"source": "moe", "records": {}}');
SELECT sp.record_compliance('{"source": "moe", "records": [], "term": 3}');
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %s, "month": "2026-13", "kind": "school_attendance", "rate": 0.9}]}', :wanjiru)::jsonb);
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %s, "month": "2999-01", "kind": "school_attendance", "rate": 0.9}]}', :wanjiru)::jsonb);
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %s, "month": "2026-01", "kind": "school", "rate": 0.9}]}', :wanjiru)::jsonb);
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %s, "month": "2026-01", "kind": "school_attendance", "rate": 90}]}', :wanjiru)::jsonb);
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %s, "month": "2026-01", "kind": "health_visits", "visits": 1.5}]}', :wanjiru)::jsonb);
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %s, "national_id": "CC-8001", "month": "2026-01", "kind": "health_visits", "visits": 1}]}', :wanjiru)::jsonb);
SELECT sp.record_compliance('{"source": "moe", "records": [{"id": "a", "month": "2026-01", "kind": "health_visits", "visits": 1}]}');
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %1$s, "month": "2026-01", "kind": "health_visits", "visits": 1},
                                                                  {"id": "b", "person_id": %1$s, "month": "2026-01", "kind": "health_visits", "visits": 1, "clinic": "x"}]}', :wanjiru)::jsonb);
SELECT sp.record_compliance(format('{"source": "moe", "records": [{"id": "a", "person_id": %1$s, "month": "2026-01", "kind": "health_visits", "visits": 1},
                                                                  {"id": "a", "person_id": %1$s, "month": "2026-02", "kind": "health_visits", "visits": 1}]}', :wanjiru)::jsonb);
RESET ROLE;
SELECT count(*) AS stored FROM sp.compliance_report;

-- the months before next month's cycle (this month), and before this month's (last month)
SELECT to_char(date_trunc('month', current_date) - interval '1 month', 'YYYY-MM') AS m_prev,
       to_char(date_trunc('month', current_date), 'YYYY-MM') AS m_this \gset
SELECT min(person_id) AS elsewhere FROM sp.person WHERE admin_area_code LIKE 'PY%' \gset
SET ROLE sp_test_moe;
-- Wanjiru misses school both months; Njeri goes to the clinic; Akinyi's first
-- report is corrected by a later one; a child nobody registered, and one
-- registered elsewhere (out of this feed's areas), are not matched
SELECT sp.record_compliance(jsonb_build_object('source', 'moe', 'records', jsonb_build_array(
    jsonb_build_object('id', 'moe-1', 'national_id', 'CC 8001', 'month', :'m_prev', 'kind', 'school_attendance', 'rate', 0.70),
    jsonb_build_object('id', 'moe-2', 'person_id', :wanjiru, 'month', :'m_this', 'kind', 'school_attendance', 'rate', 0.60),
    jsonb_build_object('id', 'moe-3', 'person_id', :akinyi, 'month', :'m_prev', 'kind', 'school_attendance', 'rate', 0.50),
    jsonb_build_object('id', 'moe-4', 'person_id', :akinyi, 'month', :'m_prev', 'kind', 'school_attendance', 'rate', 0.90),
    jsonb_build_object('id', 'moe-5', 'person_id', :akinyi, 'month', :'m_this', 'kind', 'school_attendance', 'rate', 0.95),
    jsonb_build_object('id', 'moe-6', 'national_id', 'CC-NOBODY', 'month', :'m_this', 'kind', 'school_attendance', 'rate', 0.95),
    jsonb_build_object('id', 'moe-7', 'person_id', :elsewhere,
                       'month', :'m_this', 'kind', 'school_attendance', 'rate', 0.95)))) AS school;
SELECT sp.record_compliance(jsonb_build_object('source', 'moh', 'records', jsonb_build_array(
    jsonb_build_object('id', 'moh-1', 'person_id', :njeri, 'month', :'m_prev', 'kind', 'health_visits', 'visits', 1),
    jsonb_build_object('id', 'moh-2', 'person_id', :njeri, 'month', :'m_this', 'kind', 'health_visits', 'visits', 2)))) AS health;
-- sent again: nothing twice; the same id with another value is refused
SELECT sp.record_compliance(jsonb_build_object('source', 'moh', 'records', jsonb_build_array(
    jsonb_build_object('id', 'moh-1', 'person_id', :njeri, 'month', :'m_prev', 'kind', 'health_visits', 'visits', 1)))) AS resent;
SELECT sp.record_compliance(jsonb_build_object('source', 'moh', 'records', jsonb_build_array(
    jsonb_build_object('id', 'moh-1', 'person_id', :njeri, 'month', :'m_prev', 'kind', 'health_visits', 'visits', 0))));
RESET ROLE;
SELECT source, count(*) FROM sp.compliance_report GROUP BY 1 ORDER BY 1;
-- a caseworker of the area reads them; an integration of another country sees nothing
SET ROLE sp_test_cccw;
SELECT count(*) AS caseworker_sees FROM sp.compliance_report;
RESET ROLE;

-- cycle 1 (this month): the conditions come first; the window is last month
SELECT date_trunc('month', current_date)::date AS ps1, (date_trunc('month', current_date) + interval '1 month - 1 day')::date AS pe1,
       (date_trunc('month', current_date) + interval '1 month')::date AS ps2, (date_trunc('month', current_date) + interval '2 month - 1 day')::date AS pe2,
       (date_trunc('month', current_date) + interval '2 month')::date AS ps3, (date_trunc('month', current_date) + interval '3 month - 1 day')::date AS pe3 \gset
SELECT cycle_id AS cy1 FROM sp.create_payment_cycle('cc_cct', :'ps1', :'pe1') \gset
SELECT cycle_id AS cy2 FROM sp.create_payment_cycle('cc_cct', :'ps2', :'pe2') \gset
SELECT cycle_id AS cy3 FROM sp.create_payment_cycle('cc_cct', :'ps3', :'pe3') \gset
SET ROLE sp_test_ccpay;
SELECT pg_temp.try(format('SELECT sp.generate_payment_list(%s)', :cy1)) AS list_first;
RESET ROLE;
SET ROLE sp_test_cccw;
SELECT sp.apply_conditionality(:cy1);
RESET ROLE;
SET ROLE sp_test_ccpo;
SELECT r - 'window_start' - 'window_end' - 'cycle_id' AS steps, (r ->> 'window_start')::date = :'ps1'::date - interval '1 month' AS window_last_month
FROM sp.apply_conditionality(:cy1) r;
SELECT (sp.apply_conditionality(:cy1)) ->> 'already_applied' AS again;
RESET ROLE;
SELECT w.label, s.outcome, s.step, s.warnings, s.suspended,
       (SELECT jsonb_agg(m - 'person_id' || jsonb_build_object('wanjiru', (m ->> 'person_id')::bigint = :wanjiru)) FROM jsonb_array_elements(s.detail -> 'missed') m) AS missed
FROM sp.compliance_step s JOIN who w USING (household_id) WHERE s.cycle_id = :cy1 ORDER BY 1;
SET ROLE sp_test_ccpay;
SELECT sp.generate_payment_list(:cy1) -> 'payments' AS paid_cycle1;
RESET ROLE;
SET ROLE sp_test_ccpo;
SELECT sp.apply_conditionality(:cy1) ->> 'already_applied' AS after_the_list;
RESET ROLE;

-- cycle 2 (next month): Wanjiru missed school again (this month): suspended, not paid
SET ROLE sp_test_ccpo;
SELECT r - 'window_start' - 'window_end' - 'cycle_id' AS steps FROM sp.apply_conditionality(:cy2) r;
RESET ROLE;
SELECT w.label, s.outcome, s.step, s.warnings, s.suspended FROM sp.compliance_step s JOIN who w USING (household_id) WHERE s.cycle_id = :cy2 ORDER BY 1;
SELECT w.label, e.state, regexp_replace(e.reason, 'cycle \d+', 'cycle N') AS reason FROM sp.enrolment e JOIN who w USING (household_id) WHERE e.programme = 'cc_cct' ORDER BY 1;
SET ROLE sp_test_ccpay;
SELECT r -> 'payments' AS paid, r -> 'excluded' AS excluded FROM sp.generate_payment_list(:cy2) r;
RESET ROLE;

-- cycle 3: nothing reported for next month (missing reports count as compliant): reinstated
SET ROLE sp_test_ccpo;
SELECT r - 'window_start' - 'window_end' - 'cycle_id' AS steps FROM sp.apply_conditionality(:cy3) r;
RESET ROLE;
SELECT w.label, s.outcome, s.step, s.warnings, s.suspended FROM sp.compliance_step s JOIN who w USING (household_id) WHERE s.cycle_id = :cy3 ORDER BY 1;
SELECT w.label, h.from_state, h.to_state, regexp_replace(h.reason, 'cycle \d+', 'cycle N') AS reason FROM sp.enrolment_history h JOIN who w USING (household_id)
WHERE h.programme = 'cc_cct' AND h.from_state IS NOT NULL ORDER BY h.history_id;
SELECT detail FROM sp.payment_cycle_history WHERE cycle_id = :cy1 ORDER BY history_id;
-- the steps are the record: they do not change
UPDATE sp.compliance_step SET step = 'compliant' WHERE cycle_id = :cy2;
DELETE FROM sp.compliance_report WHERE source = 'moe';

DROP OWNED BY sp_test_moe, sp_test_ccpo, sp_test_ccpay, sp_test_cccw;
DROP ROLE sp_test_moe;
DROP ROLE sp_test_ccpo;
DROP ROLE sp_test_ccpay;
DROP ROLE sp_test_cccw;
