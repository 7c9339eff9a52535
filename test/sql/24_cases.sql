-- Case management (issue 12): change requests validated as they will be
-- applied, decided by a second person (a caseworker), applied as a new
-- version against the version asked about; cases with notes, officers of the
-- area and referrals to other services, every step an event.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('CM', NULL, 0, 'Casia'), ('CM01', 'CM', 1, 'Upland'), ('CM02', 'CM', 1, 'Lowland');
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_cmreg') THEN CREATE ROLE sp_test_cmreg IN ROLE sp_registrar; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_cw1') THEN CREATE ROLE sp_test_cw1 IN ROLE sp_caseworker; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_cw2') THEN CREATE ROLE sp_test_cw2 IN ROLE sp_caseworker; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_cwx') THEN CREATE ROLE sp_test_cwx IN ROLE sp_caseworker; END IF;
END $$;
SELECT sp.grant_area_scope('sp_test_cmreg', 'CM01') ->> 'admin_area_code' AS reg, sp.grant_area_scope('sp_test_cw1', 'CM01') ->> 'admin_area_code' AS cw1,
       sp.grant_area_scope('sp_test_cw2', 'CM01') ->> 'admin_area_code' AS cw2, sp.grant_area_scope('sp_test_cwx', 'CM02') ->> 'admin_area_code' AS cwx;
SELECT (sp.register_household('{"admin_area_code": "CM01", "attributes": {"rooms": 1},
    "members": [{"given_name": "Mariam", "relationship_to_head": "head", "sex": "F", "birth_date": "1985-01-01"},
                {"given_name": "Ali", "relationship_to_head": "child", "sex": "M", "birth_date": "2015"}]}') ->> 'household_id')::bigint AS m1,
       (sp.register_household('{"admin_area_code": "CM02", "members": [{"given_name": "Baraka", "relationship_to_head": "head"}]}') ->> 'household_id')::bigint AS m2 \gset
SELECT person_id AS mariam FROM sp.person WHERE household_id = :m1 AND given_name = 'Mariam' \gset
SELECT person_id AS ali FROM sp.person WHERE household_id = :m1 AND given_name = 'Ali' \gset
SELECT person_id AS baraka FROM sp.person WHERE household_id = :m2 \gset
-- errors with their ids as N (ids depend on the tests before)
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d+', 'N', 'g');
END $$;

-- bad requests are refused with the field at fault; nothing is stored
SET ROLE sp_test_cmreg;
SELECT sp.request_change(NULL);
SELECT sp.request_change(format('{"person_id": %s, "patch": {"birth_date": "2015-03-04"}, "reason": "x", "channel": "walk_in", "colour": 1}', :ali)::jsonb);
SELECT sp.request_change(format('{"person_id": %s, "household_id": %s, "patch": {"birth_date": "2015-03-04"}, "reason": "x", "channel": "walk_in"}', :ali, :m1)::jsonb);
SELECT sp.request_change('{"patch": {"birth_date": "2015-03-04"}, "reason": "x", "channel": "walk_in"}');
SELECT sp.request_change(format('{"person_id": %s, "patch": {}, "reason": "x", "channel": "walk_in"}', :ali)::jsonb);
SELECT sp.request_change(format('{"person_id": %s, "patch": [1], "reason": "x", "channel": "walk_in"}', :ali)::jsonb);
SELECT sp.request_change(format('{"person_id": %s, "patch": {"birth_date": "2015-03-04"}, "reason": " ", "channel": "walk_in"}', :ali)::jsonb);
SELECT sp.request_change(format('{"person_id": %s, "patch": {"birth_date": "2015-03-04"}, "reason": "x", "channel": "pigeon"}', :ali)::jsonb);
SELECT sp.request_change(format('{"person_id": %s, "patch": {"birth_date": "2015-03-04"}, "reason": "x", "channel": "walk_in", "evidence": [{"kind": "x"}]}', :ali)::jsonb);
-- the patch is checked as sp.update_person checks it
SELECT sp.request_change(format('{"person_id": %s, "patch": {"sex": "Q"}, "reason": "x", "channel": "walk_in"}', :ali)::jsonb);
SELECT sp.request_change(format('{"household_id": %s, "patch": {"attributes": {"rooms": "many"}}, "reason": "x", "channel": "walk_in"}', :m1)::jsonb);
SELECT pg_temp.try(format('SELECT sp.request_change(''{"person_id": %s, "patch": {"given_name": "B"}, "reason": "x", "channel": "walk_in"}'')', :baraka)) AS elsewhere,
       pg_temp.try('SELECT sp.request_change(''{"person_id": 999999999, "patch": {"given_name": "B"}, "reason": "x", "channel": "walk_in"}'')') AS nowhere;
RESET ROLE;
SELECT count(*) AS requests, (SELECT version FROM sp.person WHERE person_id = :ali) AS ali_version FROM sp.change_request;

-- Mariam brings Ali's birth certificate: the registrar asks, a caseworker decides
SET ROLE sp_test_cmreg;
SELECT r ->> 'status' AS status, (r ->> 'target_version')::int AS target_version
FROM sp.request_change(format('{"person_id": %s, "patch": {"birth_date": "2015-03-04"}, "reason": "birth date from the certificate",
    "evidence": [{"type": "birth_certificate", "reference": "BC 2015/4471"}], "asked_by": %s, "channel": "walk_in"}', :ali, :mariam)::jsonb) r;
SELECT request_id AS cr1 FROM sp.change_request WHERE person_id = :ali \gset
SELECT sp.decide_change_request(:cr1, 'approve', 'I saw it');
RESET ROLE;
SELECT birth_date, birth_date_precision FROM sp.person WHERE person_id = :ali;
SET ROLE sp_test_cw1;
SELECT r ->> 'status' AS status, (r ->> 'applied_version')::int AS applied_version FROM sp.decide_change_request(:cr1, 'approve', 'certificate checked') r;
SELECT sp.decide_change_request(:cr1, 'reject', 'changed my mind');
RESET ROLE;
SELECT birth_date, birth_date_precision, version FROM sp.person WHERE person_id = :ali;
SELECT regexp_replace(change_reason, '\d+', 'N') AS change_reason FROM sp.person_history WHERE person_id = :ali ORDER BY history_id DESC LIMIT 1;
SELECT status, decided_by, decision_reason, evidence FROM sp.change_request WHERE request_id = :cr1;

-- a caseworker does not decide her own request; another rejects it
SET ROLE sp_test_cw1;
SELECT (sp.request_change(format('{"household_id": %s, "patch": {"attributes": {"rooms": 3}}, "reason": "new room built", "channel": "home_visit"}', :m1)::jsonb)
        ->> 'request_id')::bigint AS cr2 \gset
SELECT sp.decide_change_request(:cr2, 'approve', 'mine');
RESET ROLE;
SET ROLE sp_test_cw2;
SELECT sp.decide_change_request(:cr2, 'maybe', 'x');
SELECT r ->> 'status' AS status FROM sp.decide_change_request(:cr2, 'reject', 'the room is a shop, not living space') r;
RESET ROLE;
SELECT attributes ->> 'rooms' AS rooms FROM sp.household WHERE household_id = :m1;

-- a change approved against data that changed since it was asked is refused
SET ROLE sp_test_cw1;
SELECT (sp.request_change(format('{"household_id": %s, "patch": {"attributes": {"rooms": 2}}, "reason": "measured again", "channel": "home_visit"}', :m1)::jsonb)
        ->> 'request_id')::bigint AS cr3 \gset
RESET ROLE;
SET ROLE sp_test_cmreg;
SELECT (sp.update_household(:m1, '{"attributes": {"rooms": 4}}', 'registrar corrects meanwhile')) ->> 'version' AS changed_meanwhile;
RESET ROLE;
SET ROLE sp_test_cw2;
SELECT pg_temp.try(format('SELECT sp.decide_change_request(%s, ''approve'', ''looks right'')', :cr3)) AS stale;
SELECT sp.decide_change_request(:cr3, 'withdraw', 'not mine to withdraw');
RESET ROLE;
SET ROLE sp_test_cw1;
SELECT r ->> 'status' AS status FROM sp.decide_change_request(:cr3, 'withdraw', 'asked again with the new figure') r;
RESET ROLE;
SELECT status, count(*) FROM sp.change_request WHERE household_id = :m1 GROUP BY 1 ORDER BY 1;
-- the requests keep what was asked
UPDATE sp.change_request SET patch = '{"attributes": {"rooms": 9}}' WHERE request_id = :cr3;

-- a case: Ali is out of school
SET ROLE sp_test_cw1;
SELECT sp.open_case(:m1, 'schooling', 'x');
SELECT sp.open_case(:m1, 'education', '  ');
SELECT pg_temp.try(format('SELECT sp.open_case(%s, ''education'', ''x'', %s)', :m1, :baraka)) AS member_elsewhere;
SELECT pg_temp.try(format('SELECT sp.open_case(%s, ''education'', ''x'')', :m2)) AS elsewhere;
SELECT status, assigned_to, person_id = :ali AS about_ali FROM sp.open_case(:m1, 'education', 'Ali out of school since March', :ali);
SELECT case_id AS case1 FROM sp.service_case WHERE household_id = :m1 \gset
SELECT status FROM sp.update_case(:case1, 'in_progress', NULL, 'visited: no uniform, no fees');
SELECT sp.update_case(:case1);
SELECT sp.update_case(:case1, 'in_progress');
SELECT sp.update_case(:case1, NULL, 'sp_test_cwx');
SELECT sp.update_case(:case1, NULL, 'sp_test_cmreg');
SELECT assigned_to FROM sp.update_case(:case1, NULL, 'sp_test_cw2', 'Ms B. knows the school');
RESET ROLE;
SET ROLE sp_test_cw2;
SELECT (sp.update_case(:case1, NULL, NULL, 'talked to the head teacher')).case_id = :case1 AS noted;
SELECT sp.refer_case(:case1, 'schooling', 'x');
SELECT sp.refer_case(:case1, 'education', ' ');
SELECT service, provider, status FROM sp.refer_case(:case1, 'education', 'Upland primary school', 'enrol in grade 3; fees waived');
SELECT referral_id AS ref1 FROM sp.referral WHERE case_id = :case1 \gset
SELECT status FROM sp.update_referral(:ref1, 'accepted');
SELECT sp.update_referral(:ref1, 'completed');
SELECT status, outcome FROM sp.update_referral(:ref1, 'completed', 'Ali attends grade 3 since 2 September');
SELECT sp.update_referral(:ref1, 'declined', 'too late');
SELECT sp.update_case(:case1, 'closed');
SELECT status, closed_at IS NOT NULL AS closed_at FROM sp.update_case(:case1, 'closed', NULL, 'back in school');
SELECT sp.refer_case(:case1, 'health', 'Upland clinic');
SELECT status, closed_at IS NULL AS closed_at_cleared FROM sp.update_case(:case1, 'open', NULL, 'absent again');
RESET ROLE;
-- another district sees nothing of it and cannot touch it
SET ROLE sp_test_cwx;
SELECT (SELECT count(*) FROM sp.service_case) AS cases, (SELECT count(*) FROM sp.referral) AS referrals, (SELECT count(*) FROM sp.case_event) AS events,
       (SELECT count(*) FROM sp.change_request) AS requests;
SELECT pg_temp.try(format('SELECT sp.update_case(%s, NULL, NULL, ''x'')', :case1)) AS case_elsewhere,
       pg_temp.try('SELECT sp.update_case(999999999, NULL, NULL, ''x'')') AS case_nowhere,
       pg_temp.try(format('SELECT sp.update_referral(%s, ''declined'', ''x'')', :ref1)) AS referral_elsewhere,
       pg_temp.try('SELECT sp.update_referral(999999999, ''declined'', ''x'')') AS referral_nowhere;
RESET ROLE;
SELECT event, regexp_replace(detail, '\d{4}-\d{2}-\d{2}', '<date>') AS detail, happened_by FROM sp.case_event WHERE case_id = :case1 ORDER BY event_id;
UPDATE sp.case_event SET detail = 'x' WHERE case_id = :case1;
DELETE FROM sp.service_case WHERE case_id = :case1;

DROP OWNED BY sp_test_cmreg, sp_test_cw1, sp_test_cw2, sp_test_cwx;
DROP ROLE sp_test_cmreg;
DROP ROLE sp_test_cw1;
DROP ROLE sp_test_cw2;
DROP ROLE sp_test_cwx;
