-- Civil-registration events (issue 12): deaths and births applied once by
-- event id; a death marks the person deceased, exits enrolments left without
-- anyone, cancels payments not yet sent, lists those sent for periods after
-- the death; a birth adds the child to the mother's household; persons found
-- by national ID or, with certainty, by the person model; the rest queued for
-- review and decided by a caseworker.  Bad events are refused with the field.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('CR', NULL, 0, 'Civilia'), ('CR01', 'CR', 1, 'Capital'), ('CR02', 'CR', 1, 'Coast');
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_crvs') THEN CREATE ROLE sp_test_crvs IN ROLE sp_integration; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_crcw') THEN CREATE ROLE sp_test_crcw IN ROLE sp_caseworker; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_crchk') THEN CREATE ROLE sp_test_crchk IN ROLE sp_payment_officer; END IF;
END $$;
SELECT sp.grant_area_scope('sp_test_crvs', 'CR') ->> 'admin_area_code' AS crvs,
       sp.grant_area_scope('sp_test_crcw', 'CR01') ->> 'admin_area_code' AS caseworker;
SELECT count(*) > 0 AS checker_national FROM sp.admin_area a, LATERAL sp.grant_area_scope('sp_test_crchk', a.code) g WHERE a.level = 0;

-- the households answer what the PMT models of the earlier tests ask, so
-- that they can be reassessed, but for Hodan's (not scored: the event stands)
CREATE FUNCTION pg_temp.reg(doc text, scored boolean DEFAULT true) RETURNS bigint LANGUAGE sql AS
$$ SELECT (sp.register_household(jsonb_build_object('admin_area_code', 'CR01', 'members', doc::jsonb)
           || CASE WHEN scored THEN '{"attributes": {"rooms": 1, "dwelling_type": "hut", "monthly_income": 100}}'::jsonb ELSE '{}' END)
           ->> 'household_id')::bigint $$;
SELECT pg_temp.reg('[{"given_name": "Amina", "family_name": "Yusuf", "sex": "F", "birth_date": "1980-03-04", "national_id": "CR-1001",
                      "phone": "+254733000001", "relationship_to_head": "head"},
                     {"given_name": "Omar", "family_name": "Yusuf", "sex": "M", "birth_date": "2018-05-06", "relationship_to_head": "child"}]') AS c1,
       pg_temp.reg('[{"given_name": "Halima", "family_name": "Dahir", "sex": "F", "birth_date": "1950-01-01", "national_id": "CR-1002",
                      "phone": "+254733000002", "relationship_to_head": "head"}]') AS c2,
       pg_temp.reg('[{"given_name": "Fatuma", "family_name": "Ali", "sex": "F", "birth_date": "1995-07-08", "phone": "+254733000003",
                      "relationship_to_head": "head"},
                     {"given_name": "Abdi", "family_name": "Ali", "sex": "M", "birth_date": "1990-02-02", "relationship_to_head": "spouse"}]') AS c3,
       pg_temp.reg('[{"given_name": "Hodan", "family_name": "Warsame", "sex": "F", "birth_date": "1985", "phone": "+254733000004",
                      "relationship_to_head": "head"}]', false) AS c4,
       pg_temp.reg('[{"given_name": "Hodan", "family_name": "Warsame", "sex": "F", "birth_date": "1985", "phone": "+254733000005",
                      "relationship_to_head": "head"}]') AS c5 \gset
-- Nuur lives on the coast
SELECT (sp.register_household('{"admin_area_code": "CR02", "attributes": {"rooms": 1, "dwelling_type": "hut", "monthly_income": 100},
    "members": [{"given_name": "Nuur", "family_name": "Adan", "relationship_to_head": "head", "national_id": "CR-1006"},
                {"given_name": "Ayan", "family_name": "Adan", "relationship_to_head": "spouse", "sex": "F"}]}') ->> 'household_id')::bigint AS c6 \gset
-- someone in another country, with an ID
SELECT sp.register_household('{"admin_area_code": "PY01", "members": [{"given_name": "Outis", "relationship_to_head": "head", "national_id": "CR-OUT-1"}]}') ? 'household_id' AS elsewhere;
SELECT person_id AS amina FROM sp.person WHERE household_id = :c1 AND given_name = 'Amina' \gset
SELECT person_id AS halima FROM sp.person WHERE household_id = :c2 \gset
SELECT person_id AS fatuma FROM sp.person WHERE household_id = :c3 AND given_name = 'Fatuma' \gset
SELECT person_id AS hodan4 FROM sp.person WHERE household_id = :c4 \gset
CREATE TEMP VIEW who AS
SELECT h.household_id, p.given_name AS label FROM sp.household h
JOIN sp.person p ON p.household_id = h.household_id AND p.relationship_to_head = 'head' WHERE h.admin_area_code LIKE 'CR%';

-- enrolled in a cash programme, paid this month (sent) and next month (a draft list)
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('cr_cash', 'Civilia cash', 'cash', '{"area": "CR"}');
SELECT sp.determine_eligibility('cr_cash') ->> 'eligible' AS eligible, sp.enrol('cr_cash') ->> 'newly_enrolled' AS enrolled;
SELECT version FROM sp.set_entitlement('cr_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 500}]}', 'mpesa', 'crvs test');
SELECT date_trunc('month', current_date)::date AS ps, (date_trunc('month', current_date) + interval '1 month - 1 day')::date AS pe,
       (date_trunc('month', current_date) + interval '1 month')::date AS ps2, (date_trunc('month', current_date) + interval '2 month - 1 day')::date AS pe2 \gset
SELECT cycle_id AS cy1 FROM sp.create_payment_cycle('cr_cash', :'ps', :'pe') \gset
SELECT sp.generate_payment_list(:cy1) -> 'payments' AS this_month;
SET ROLE sp_test_crchk;
SELECT status FROM sp.approve_payment_cycle(:cy1, 'checked');
RESET ROLE;
SELECT jsonb_array_length(sp.disburse_request(:cy1, 'mpesa')) > 0 AS sent;
SELECT cycle_id AS cy2 FROM sp.create_payment_cycle('cr_cash', :'ps2', :'pe2') \gset
SELECT sp.generate_payment_list(:cy2) -> 'payments' AS next_month;

-- bad events are refused with the field at fault; nothing is stored
SET ROLE sp_test_crvs;
SELECT sp.apply_crvs_event(NULL);
SELECT sp.apply_crvs_event('"death"');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002"}, "cause": "x"}');
SELECT sp.apply_crvs_event('{"type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002"}}');
SELECT sp.apply_crvs_event('{"event_id": 7, "type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "marriage", "date": "2026-01-01", "person": {"national_id": "CR-1002"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2999-01-01", "person": {"national_id": "CR-1002"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "yesterday-ish", "person": {"national_id": "CR-1002"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "person": {"national_id": "CR-1002"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"given_name": "Halima"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002", "age": "76"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"national_id": 1002}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002", "birth_date": "1950-13"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002"}, "child": {"given_name": "x"}}');
SELECT sp.apply_crvs_event('{"event_id": "B-0", "type": "birth", "date": "2026-01-01", "mother": {"national_id": "CR-1001"}}');
SELECT sp.apply_crvs_event('{"event_id": "B-0", "type": "birth", "date": "2026-01-01", "mother": {"national_id": "CR-1001"}, "child": {"sex": "F"}}');
SELECT sp.apply_crvs_event('{"event_id": "B-0", "type": "birth", "date": "2026-01-01", "mother": {"national_id": "CR-1001"}, "child": {"given_name": "Z", "birth_date": "2026-01-01"}}');
SELECT sp.apply_crvs_event('{"event_id": "B-0", "type": "birth", "date": "2026-01-01", "mother": {"national_id": "CR-1001", "sex": "female"}, "child": {"given_name": "Z"}}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002"}, "admin_area_code": "ZZ"}');
SELECT sp.apply_crvs_event('{"event_id": "D-0", "type": "death", "date": "2026-01-01", "person": {"national_id": "CR-1002"}, "admin_area_code": "PY01"}');
RESET ROLE;
SELECT count(*) AS events_stored, (SELECT count(*) FROM sp.person WHERE admin_area_code LIKE 'CR%' AND status <> 'active') AS not_active
FROM sp.crvs_event;

-- Amina died three days before this month's period: her payment this month was
-- already sent (to recover); next month's is cancelled; Omar keeps the household's enrolment
SET ROLE sp_test_crvs;
SELECT r ->> 'status' AS status, r ->> 'matched_by' AS matched_by, r ->> 'person_id' = :'amina' AS amina,
       jsonb_array_length(r #> '{result,payments_cancelled}') AS cancelled,
       (SELECT array_agg(x ->> 'status') FROM jsonb_array_elements(r #> '{result,payments_sent_after_death}') x) AS to_recover,
       r #> '{result,enrolments_exited}' AS exited, jsonb_array_length(r #> '{result,reassessed}') > 0 AS reassessed
FROM sp.apply_crvs_event(format('{"source": "crvs", "event_id": "D-1001", "type": "death", "date": "%s", "person": {"national_id": "CR 1001"}}',
                                (:'ps'::date - 3))::jsonb) r;
-- Halima died on the first day of this month's period: her household has nobody left, its enrolment ends
SELECT r ->> 'status' AS status, jsonb_array_length(r #> '{result,payments_cancelled}') AS cancelled,
       jsonb_array_length(r #> '{result,payments_sent_after_death}') AS to_recover,
       jsonb_array_length(r #> '{result,enrolments_exited}') AS exited
FROM sp.apply_crvs_event(format('{"event_id": "D-1002", "type": "death", "date": "%s", "person": {"national_id": "CR-1002", "given_name": "Halima", "family_name": "Dahir"}}',
                                :'ps')::jsonb) r;
-- sent again: applied once
SELECT r ->> 'status' AS status, r ->> 'replayed' AS replayed, jsonb_array_length(r #> '{result,enrolments_exited}') AS exited
FROM sp.apply_crvs_event(format('{"event_id": "D-1002", "type": "death", "date": "%s", "person": {"national_id": "CR-1002"}}', :'ps')::jsonb) r;
SELECT sp.apply_crvs_event(format('{"event_id": "D-1002", "type": "death", "date": "%s", "person": {"national_id": "CR-1002"}}', :'ps'::date - 1)::jsonb);
-- a corrected record under another id: she is dead once
SELECT r ->> 'status' AS status, r -> 'result' AS result
FROM sp.apply_crvs_event(format('{"event_id": "D-1002-corrected", "type": "death", "date": "%s", "person": {"national_id": "CR-1002"}}', :'ps')::jsonb) r;
RESET ROLE;
SELECT w.label, p.given_name, p.status FROM sp.person p JOIN who w USING (household_id) WHERE p.household_id IN (:c1, :c2) ORDER BY 1, 2;
SELECT w.label, e.state, regexp_replace(e.reason, '\d{4}-\d{2}-\d{2}', '<date>') AS reason FROM sp.enrolment e JOIN who w USING (household_id) WHERE e.programme = 'cr_cash' AND e.household_id IN (:c1, :c2) ORDER BY 1;
SELECT w.label, c.period_start = :'ps' AS this_month, p.status, regexp_replace(p.status_reason, '\d{4}-\d{2}-\d{2}|cr_cash-\d+-\d+', '<...>', 'g') AS status_reason
FROM sp.payment p JOIN who w USING (household_id) JOIN sp.payment_cycle c USING (cycle_id)
WHERE p.household_id IN (:c1, :c2) ORDER BY 1, 2 DESC;
SELECT (SELECT payments FROM sp.payment_cycle WHERE cycle_id = :cy2) AS next_month_payments,
       (SELECT count(*) FROM sp.payment WHERE cycle_id = :cy2 AND status <> 'cancelled') AS counted;
SELECT regexp_replace(change_reason, '\d{4}-\d{2}-\d{2}', '<date>') AS change_reason FROM sp.person_history WHERE person_id = :halima ORDER BY history_id DESC LIMIT 1;

-- births: Amina's daughter (Amina died giving birth), registered with her ID;
-- Fatuma's son, Fatuma found by the person model (no ID given)
SET ROLE sp_test_crvs;
SELECT r ->> 'status' AS status, r ->> 'matched_by' AS matched_by, r #>> '{result,relationship_to_head}' AS relationship
FROM sp.apply_crvs_event(format('{"event_id": "B-2001", "type": "birth", "date": "%s", "mother": {"national_id": "CR-1001"},
                                  "child": {"given_name": "Zahra", "sex": "F", "national_id": "CR-2001"}}', :'ps'::date - 3)::jsonb) r;
SELECT r ->> 'status' AS status, r ->> 'matched_by' AS matched_by, r #>> '{result,relationship_to_head}' AS relationship
FROM sp.apply_crvs_event(format('{"event_id": "B-2002", "type": "birth", "date": "%s",
                                  "mother": {"given_name": "Fatuma", "family_name": "Ali", "birth_date": "1995-07-08", "sex": "F"},
                                  "child": {"given_name": "Yusuf", "sex": "M"}}', current_date - 5)::jsonb) r;
RESET ROLE;
SELECT w.label, p.given_name, p.family_name, p.relationship_to_head, p.birth_date = :'ps'::date - 3 OR p.birth_date = current_date - 5 AS born_on_the_day,
       p.national_id_hash IS NOT NULL AS has_id
FROM sp.person p JOIN who w USING (household_id) WHERE p.given_name IN ('Zahra', 'Yusuf') ORDER BY 1;
SELECT event_id, document ? 'mother' AS kept, document #> '{mother}' ? 'national_id' AS mother_id_kept,
       document #> '{child}' ? 'national_id' AS child_id_kept, had_national_id
FROM sp.crvs_event WHERE event_id IN ('B-2001', 'D-1001') ORDER BY event_id;

-- doubtful events wait for a person: two Hodan Warsames; an ID nobody has;
-- a person outside the interface's areas is not found (no existence leak)
SET ROLE sp_test_crvs;
SELECT r ->> 'status' AS status, (r ->> 'candidates')::int AS candidates
FROM sp.apply_crvs_event('{"event_id": "D-3001", "type": "death", "date": "2026-11-01", "admin_area_code": "CR01",
                           "person": {"given_name": "Hodan", "family_name": "Warsame", "birth_date": "1985", "sex": "F"}}') r;
SELECT r ->> 'status' AS status, r ->> 'review_reason' AS review_reason
FROM sp.apply_crvs_event('{"event_id": "D-3002", "type": "death", "date": "2026-11-01", "person": {"national_id": "CR-9999"}}') r;
SELECT r ->> 'status' AS status, r ->> 'review_reason' AS review_reason
FROM sp.apply_crvs_event('{"event_id": "D-3003", "type": "death", "date": "2026-11-01", "person": {"national_id": "CR-OUT-1"}}') r;
-- Nuur died in a hospital of the capital: the event names the capital, the family lives on the coast
SELECT r ->> 'status' AS status FROM sp.apply_crvs_event('{"event_id": "D-4001", "type": "death", "date": "2026-11-01", "admin_area_code": "CR01",
    "person": {"national_id": "CR-1006"}}') r;
-- a corrected birth record under another id: the child is there already
SELECT r ->> 'status' AS status, r #>> '{result,already_in_household}' AS already
FROM sp.apply_crvs_event(format('{"event_id": "B-2002-amended", "type": "birth", "date": "%s",
                                  "mother": {"given_name": "Fatuma", "family_name": "Ali", "birth_date": "1995-07-08", "sex": "F"},
                                  "child": {"given_name": "Yusuf", "sex": "M"}}', current_date - 5)::jsonb) r;
RESET ROLE;
SELECT count(*) AS yusufs FROM sp.person WHERE given_name = 'Yusuf' AND household_id = :c3;
SELECT event_id, admin_area_code, reported_area_code FROM sp.crvs_event WHERE event_id = 'D-4001';
-- a source's event ids are its own: a caseworker sends as "manual", not as the CRVS
SET ROLE sp_test_crcw;
SELECT sp.apply_crvs_event('{"source": "crvs", "event_id": "D-5001", "type": "death", "date": "2026-11-01", "person": {"national_id": "CR-1001"}}');
SELECT r ->> 'status' AS status, r #>> '{result,person_status}' AS person_status
FROM sp.apply_crvs_event('{"source": "manual", "event_id": "D-5001", "type": "death", "date": "2026-11-01", "person": {"national_id": "CR-1001"}}') r;
SELECT count(*) AS capital_caseworker_sees_the_coast FROM sp.crvs_event WHERE event_id = 'D-4001';
RESET ROLE;
SELECT event_id, status, review_reason IS NOT NULL AS has_reason, person_id FROM sp.crvs_event WHERE event_id LIKE 'D-300%' ORDER BY 1;
-- a caseworker of the area decides: the first Hodan; the others are not hers to see
SELECT crvs_event_id AS hodan_event FROM sp.crvs_event WHERE event_id = 'D-3001' \gset
SELECT crvs_event_id AS unknown_event FROM sp.crvs_event WHERE event_id = 'D-3002' \gset
SET ROLE sp_test_crcw;
SELECT count(*) AS caseworker_sees_in_review FROM sp.crvs_event WHERE status = 'review';
SELECT sp.resolve_crvs_event(:hodan_event, :hodan4, ' ');
SELECT r ->> 'status' AS status, r ->> 'person_id' = :'hodan4' AS the_first_hodan,
       r #>> '{result,not_reassessed}' LIKE 'household % cannot be scored: %' AS not_reassessed_and_why
FROM sp.resolve_crvs_event(:hodan_event, :hodan4, 'the family confirmed at the office') r;
SELECT sp.resolve_crvs_event(:hodan_event, :hodan4, 'again');
SELECT sp.resolve_crvs_event(:unknown_event, NULL, 'no such person');
RESET ROLE;
SELECT r ->> 'status' AS status FROM sp.resolve_crvs_event(:unknown_event, NULL, 'no registered person has this ID') r;
SELECT event_id, status, matched_by, decided_by, decision_reason FROM sp.crvs_event WHERE event_id LIKE 'D-300%' ORDER BY 1;
SELECT given_name, status FROM sp.person WHERE household_id IN (:c4, :c5) ORDER BY person_id;
-- an event is final: its record does not change behind the API
UPDATE sp.crvs_event SET status = 'review', review_reason = 'x' WHERE crvs_event_id = :hodan_event;
UPDATE sp.crvs_event SET event_date = '2020-01-01' WHERE crvs_event_id = :unknown_event;
DELETE FROM sp.crvs_event WHERE crvs_event_id = :unknown_event;

-- what the events changed agrees with its history and totals
SELECT check_name, ok FROM sp_internal.verify_integrity()
WHERE check_name IN ('sp.enrolment states agree with sp.enrolment_history', 'sp.payment states agree with sp.payment_history',
                     'sp.payment_cycle counts and totals match their payments', 'sp.person areas follow their households')
ORDER BY 1;

DROP OWNED BY sp_test_crvs, sp_test_crcw, sp_test_crchk;
DROP ROLE sp_test_crvs;
DROP ROLE sp_test_crcw;
DROP ROLE sp_test_crchk;
