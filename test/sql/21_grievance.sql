-- Grievances and appeals (issue 12): intake on every channel with its checks,
-- replays, anonymous and confidential cases, the status machine (legal and
-- illegal moves), officers of the area, messages to the complainant, SLA
-- escalation on a fixed clock (received_at in the past: a transaction's now()
-- does not move), an appeal that reassesses the household, the event history.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('GV', NULL, 0, 'Grievland'), ('GV01', 'GV', 1, 'East'), ('GV0101', 'GV01', 2, 'Riverside'), ('GV0102', 'GV01', 2, 'Hills');
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_gro_d1') THEN CREATE ROLE sp_test_gro_d1 IN ROLE sp_grievance_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_gro_d2') THEN CREATE ROLE sp_test_gro_d2 IN ROLE sp_grievance_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_gro_r1') THEN CREATE ROLE sp_test_gro_r1 IN ROLE sp_grievance_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_gro_nat') THEN CREATE ROLE sp_test_gro_nat IN ROLE sp_grievance_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_sms') THEN CREATE ROLE sp_test_sms IN ROLE sp_integration; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_gclerk') THEN CREATE ROLE sp_test_gclerk IN ROLE sp_registrar; END IF;
END $$;
SELECT sp.grant_area_scope('sp_test_gro_d1', 'GV0101') ->> 'admin_area_code' AS d1,
       sp.grant_area_scope('sp_test_gro_d2', 'GV0102') ->> 'admin_area_code' AS d2,
       sp.grant_area_scope('sp_test_gro_r1', 'GV01') ->> 'admin_area_code' AS r1,
       sp.grant_area_scope('sp_test_gro_nat', 'GV') ->> 'admin_area_code' AS nat,
       sp.grant_area_scope('sp_test_sms', 'GV') ->> 'admin_area_code' AS sms,
       sp.grant_area_scope('sp_test_gclerk', 'GV0101') ->> 'admin_area_code' AS clerk;
-- the national officer covers every country of this database
SELECT count(*) > 0 AS national FROM sp.admin_area a, LATERAL sp.grant_area_scope('sp_test_gro_nat', a.code) g
WHERE a.level = 0 AND a.code <> 'GV';

CREATE FUNCTION pg_temp.hh(label text, area text, phone text) RETURNS bigint LANGUAGE sql AS $$
    SELECT (sp.register_household(jsonb_build_object('admin_area_code', area,
        'attributes', jsonb_build_object('rooms', 1, 'dwelling_type', 'hut', 'monthly_income', 100),
        'members', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('given_name', label, 'relationship_to_head', 'head',
                                                                          'birth_date', '1980-01-01', 'sex', 'F', 'phone', phone))))) ->> 'household_id')::bigint
$$;
SELECT pg_temp.hh('G1', 'GV0101', '+254711000001') AS g1, pg_temp.hh('G2', 'GV0101', NULL) AS g2,
       pg_temp.hh('G3', 'GV0102', '+254711000003') AS g3 \gset
SELECT person_id AS g1p FROM sp.person WHERE household_id = :g1 \gset
SELECT person_id AS g2p FROM sp.person WHERE household_id = :g2 \gset
SELECT person_id AS g3p FROM sp.person WHERE household_id = :g3 \gset

-- bad submissions are refused with the field at fault, and nothing is stored
SET ROLE sp_test_gro_d1;
SELECT sp.submit_grievance(NULL);
SELECT sp.submit_grievance('[1]');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "colour": "red"}');
SELECT sp.submit_grievance('{"channel": "fax", "category": "payment", "description": "x", "anonymous": true}');
SELECT sp.submit_grievance('{"channel": 7, "category": "payment", "description": "x", "anonymous": true}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "weather", "description": "x", "anonymous": true}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "  ", "anonymous": true}');
SELECT sp.submit_grievance(jsonb_build_object('channel', 'sms', 'category', 'payment', 'description', repeat('x', 4001), 'anonymous', true));
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": "yes"}');
SELECT sp.submit_grievance(format('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "complainant_person_id": %s}', :g1p)::jsonb);
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x"}');
SELECT sp.submit_grievance(format('{"channel": "sms", "category": "payment", "description": "x", "complainant_person_id": "%s"}', :g1p)::jsonb);
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": 1.5}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": -3}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "admin_area_code": "GV0101", "received_at": "last tuesday"}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "admin_area_code": "GV0101", "received_at": "2999-01-01"}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "admin_area_code": "GV0101", "received_at": "2001-01-01"}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true}');
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "admin_area_code": "ZZ99"}');
SELECT sp.submit_grievance(format('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": %s, "admin_area_code": "GV0102"}', :g1)::jsonb);
SELECT sp.submit_grievance(format('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": %s, "programme": "no_such"}', :g1)::jsonb);
SELECT sp.submit_grievance(format('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": %s, "person_id": %s}', :g1, :g3p)::jsonb);
-- outside the officer's district: the same answer as a household that does not exist
SELECT sp.submit_grievance(format('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": %s}', :g3)::jsonb);
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": 999999999}');
-- naming an area does not tell whether (or where) a household outside the scope is registered
CREATE FUNCTION pg_temp.failure(doc jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sp.submit_grievance(doc);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d+', 'N', 'g');
END $$;
SELECT pg_temp.failure(format('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": %s, "admin_area_code": "GV0101"}', :g3)::jsonb) AS elsewhere,
       pg_temp.failure('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "household_id": 999999999, "admin_area_code": "GV0101"}') AS nowhere;
SELECT sp.submit_grievance('{"channel": "sms", "category": "payment", "description": "x", "anonymous": true, "admin_area_code": "GV0102"}');
RESET ROLE;
SELECT count(*) AS grievances_stored FROM sp.grievance WHERE admin_area_code LIKE 'GV%';

-- an appeal: G1's head says she was wrongly left out (walk-in at the district office)
SET ROLE sp_test_gro_d1;
SELECT r - 'acknowledge_due' - 'resolve_due' - 'grievance_id' AS appeal,
       (r ->> 'resolve_due')::timestamptz - (r ->> 'acknowledge_due')::timestamptz AS ack_to_resolve
FROM sp.submit_grievance(format('{"channel": "walk_in", "category": "exclusion", "complainant_person_id": %s,
    "household_id": %s, "description": "Not in the cash transfer though we have one room and no income"}', :g1p, :g1)::jsonb) r;
SELECT grievance_id AS appeal FROM sp.grievance WHERE household_id = :g1 AND category = 'exclusion' \gset
RESET ROLE;

-- an SMS gateway sends the same message twice: one case; the same id with other text is refused
SET ROLE sp_test_sms;
SELECT r ->> 'replayed' AS replayed, r ->> 'status' AS status FROM sp.submit_grievance(format('{"channel": "sms", "external_id": "sms-4711",
    "category": "payment", "complainant_person_id": %s, "description": "Payment of this month not received"}', :g3p)::jsonb) r;
SELECT r ->> 'replayed' AS replayed, r ->> 'status' AS status FROM sp.submit_grievance(format('{"channel": "sms", "external_id": "sms-4711",
    "category": "payment", "complainant_person_id": %s, "description": "Payment of this month not received"}', :g3p)::jsonb) r;
SELECT sp.submit_grievance(format('{"channel": "sms", "external_id": "sms-4711",
    "category": "payment", "complainant_person_id": %s, "description": "Something else entirely"}', :g3p)::jsonb);
-- the same id on another channel is another complaint
SELECT r ->> 'replayed' AS replayed FROM sp.submit_grievance('{"channel": "web", "external_id": "sms-4711",
    "category": "other", "anonymous": true, "admin_area_code": "GV0102", "description": "How do I register?"}') r;
RESET ROLE;
SELECT count(*) AS sms_4711 FROM sp.grievance WHERE external_id = 'sms-4711';

-- anonymous misconduct in Riverside: handled by the region, unseen by the district
SET ROLE sp_test_gclerk;
SELECT r ->> 'responsible_area_code' AS handled_by, r ->> 'status' AS status
FROM sp.submit_grievance('{"channel": "community", "category": "misconduct", "anonymous": true, "admin_area_code": "GV0101",
    "description": "The registration agent asked for money"}') r;
RESET ROLE;
SELECT grievance_id AS misconduct FROM sp.grievance WHERE category = 'misconduct' AND admin_area_code = 'GV0101' \gset
SET ROLE sp_test_gro_d1;
SELECT count(*) AS d1_sees_misconduct FROM sp.grievance WHERE category = 'misconduct';
SELECT count(*) AS d1_sees_its_events FROM sp.grievance_event WHERE grievance_id = :misconduct;
SELECT sp.add_grievance_note(:misconduct, 'I heard about it');
RESET ROLE;
SET ROLE sp_test_gro_r1;
SELECT grievance_id = :misconduct AS r1_sees_it, escalation_level, confidential FROM sp.grievance WHERE category = 'misconduct';
RESET ROLE;

-- the status machine, from the district officer's chair
SET ROLE sp_test_gro_d1;
SELECT sp.set_grievance_status(:appeal, 'in_review');
SELECT sp.set_grievance_status(:appeal, 'resolved', 'too early');
SELECT sp.set_grievance_status(:appeal, 'closed');
SELECT sp.set_grievance_status(:appeal, 'received');
SELECT sp.set_grievance_status(:appeal, 'lost');
SELECT status, version FROM sp.set_grievance_status(:appeal, 'acknowledged', 'acknowledged at the desk');
SELECT status FROM sp.set_grievance_status(:appeal, 'acknowledged');
SELECT status FROM sp.set_grievance_status(:appeal, 'in_review', NULL, 1);
SELECT sp.reassess_for_grievance(:appeal, 'home visit');
SELECT status, assigned_to, version FROM sp.set_grievance_status(:appeal, 'in_review', NULL, 2);
RESET ROLE;
-- the Hills officer does not see it; a registrar cannot handle it
SET ROLE sp_test_gro_d2;
SELECT sp.set_grievance_status(:appeal, 'resolved', 'not mine');
SELECT count(*) AS d2_sees FROM sp.grievance WHERE grievance_id = :appeal;
RESET ROLE;
SET ROLE sp_test_gclerk;
SELECT sp.set_grievance_status(:appeal, 'resolved', 'not mine');
UPDATE sp.grievance SET status = 'closed' WHERE grievance_id = :appeal;
RESET ROLE;
-- nor is its record changed behind the API
UPDATE sp.grievance SET description = 'something milder' WHERE grievance_id = :appeal;
UPDATE sp.grievance SET status = 'closed' WHERE grievance_id = :appeal;
DELETE FROM sp.grievance_event WHERE grievance_id = :appeal;
DELETE FROM sp.grievance WHERE grievance_id = :appeal;

-- the appeal reassesses the household: scores before and after kept with the case
SET ROLE sp_test_gro_d1;
SELECT sp.reassess_for_grievance(:appeal, ' ');
SELECT jsonb_array_length(r -> 'assessments') > 0 AS reassessed,
       (SELECT bool_and(a ? 'previous_score' AND a ? 'score' AND a ? 'below_cutoff') FROM jsonb_array_elements(r -> 'assessments') a) AS before_and_after
FROM sp.reassess_for_grievance(:appeal, 'home visit found one room, no income') r;
SELECT count(*) > 0 AS linked, bool_and(a.reason LIKE format('appeal, grievance %s: home visit%%', :appeal)) AS reason_recorded
FROM sp.grievance_reassessment r JOIN sp.assessment a USING (assessment_id) WHERE r.grievance_id = :appeal;
-- decided: the outcome is told before the case closes
SELECT sp.set_grievance_status(:appeal, 'resolved');
SELECT status, resolution FROM sp.set_grievance_status(:appeal, 'resolved', 'Reassessed below the cut-off: enrolled at the next run');
SELECT sp.set_grievance_status(:appeal, 'closed');
SELECT sp.record_grievance_message(:appeal, 'pigeon', 'outcome', 'x');
SELECT sp.record_grievance_message(:appeal, 'sms', 'verdict', 'x');
SELECT sp.record_grievance_message(:appeal, 'sms', 'outcome', '');
SELECT sp.record_grievance_message(:appeal, 'sms', 'outcome', 'Your household was reassessed and will be enrolled next month.') > 0 AS told;
SELECT status, closed_at IS NOT NULL AS closed_at FROM sp.set_grievance_status(:appeal, 'closed', 'told by SMS');
SELECT status FROM sp.set_grievance_status(:appeal, 'in_review', 'she called again');
SELECT sp.record_grievance_message(:appeal, 'sms', 'update', 'x');
SELECT sp.add_grievance_note(:appeal, '  ');
SELECT sp.add_grievance_note(:appeal, 'She thanked us') > 0 AS noted;
RESET ROLE;
-- what happened, in order
-- (times, and the scores of the other tests' models, which depend on the day, as placeholders)
SELECT event, from_status, to_status, assigned_to,
       regexp_replace(regexp_replace(detail, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} UTC', '<time>', 'g'),
                      '(not assessed|[0-9.]+) -> [0-9.]+', '<before> -> <score>', 'g') AS detail
FROM sp.grievance_event WHERE grievance_id = :appeal ORDER BY event_id;
SELECT kind, channel, to_person_id = :g1p AS to_complainant, body FROM sp.grievance_message WHERE grievance_id = :appeal;

-- a decided case is reopened with a reason; an anonymous complainant is told in person
SET ROLE sp_test_gro_r1;
SELECT status FROM sp.set_grievance_status(:misconduct, 'acknowledged');
SELECT status, assigned_to FROM sp.set_grievance_status(:misconduct, 'in_review');
SELECT status FROM sp.set_grievance_status(:misconduct, 'rejected', 'No agent was working in Riverside that week');
SELECT sp.set_grievance_status(:misconduct, 'in_review');
SELECT status FROM sp.set_grievance_status(:misconduct, 'in_review', 'A second witness came forward');
SELECT status FROM sp.set_grievance_status(:misconduct, 'resolved', 'Agent suspended, money returned');
SELECT sp.record_grievance_message(:misconduct, 'sms', 'outcome', 'x');
SELECT sp.record_grievance_message(:misconduct, 'in_person', 'outcome', 'Announced at the community meeting') > 0 AS told;
SELECT status FROM sp.set_grievance_status(:misconduct, 'closed');
RESET ROLE;
SELECT event, from_status, to_status FROM sp.grievance_event WHERE grievance_id = :misconduct ORDER BY event_id;

-- assignment: to a grievance officer whose scope covers the area handling the case
SELECT grievance_id AS sms FROM sp.grievance WHERE external_id = 'sms-4711' AND channel = 'sms' \gset
SET ROLE sp_test_gro_d2;
SELECT sp.assign_grievance(:sms, 'sp_test_gclerk', 'clerk');
SELECT sp.assign_grievance(:sms, 'sp_test_gro_d1', 'other district');
SELECT sp.assign_grievance(:sms, 'no_such_role', 'nobody');
SELECT sp.assign_grievance(:sms, 'sp_test_gro_r1', '');
-- a superuser holds every role, but is nobody's grievance officer
DO $$ BEGIN
    PERFORM sp.assign_grievance((SELECT grievance_id FROM sp.grievance WHERE external_id = 'sms-4711' AND channel = 'sms'), session_user, 'x');
    RAISE NOTICE 'assigned to a superuser';
EXCEPTION WHEN invalid_parameter_value THEN RAISE NOTICE 'a superuser is refused (%)', SQLSTATE;
END $$;
SELECT assigned_to FROM sp.assign_grievance(:sms, 'sp_test_gro_d2', 'my case');
RESET ROLE;
-- an SMS to a complainant without a phone is refused
SET ROLE sp_test_gro_d1;
SELECT grievance_id AS nophone FROM sp.submit_grievance(format('{"channel": "phone", "category": "data_correction", "complainant_person_id": %s,
    "description": "My name is misspelt"}', :g2p)::jsonb) r, LATERAL (SELECT (r ->> 'grievance_id')::bigint AS grievance_id) x \gset
SELECT sp.record_grievance_message(:nophone, 'sms', 'acknowledgement', 'We received your complaint');
SELECT sp.record_grievance_message(:nophone, 'letter', 'acknowledgement', 'We received your complaint') > 0 AS by_letter;
-- only an appeal against exclusion reassesses
SELECT sp.reassess_for_grievance(:nophone, 'not an appeal');
RESET ROLE;

-- escalation on a fixed clock: complaints made days ago, entered now
SET ROLE sp_test_gro_d1;
-- payment: acknowledge within 2 days; made 3 days ago, never acknowledged
SELECT (sp.submit_grievance(format('{"channel": "community", "category": "payment", "complainant_person_id": %s,
    "description": "Agent kept part of the money", "received_at": "%s"}', :g1p, now() - interval '3 days')::jsonb) ->> 'grievance_id')::bigint AS late_ack \gset
-- other: resolve within 45 days; acknowledged, made 50 days ago
SELECT (sp.submit_grievance(format('{"channel": "walk_in", "category": "other", "complainant_person_id": %s,
    "description": "Office closed on market day", "received_at": "%s"}', :g1p, now() - interval '50 days')::jsonb) ->> 'grievance_id')::bigint AS late_fix \gset
SELECT status FROM sp.set_grievance_status(:late_fix, 'acknowledged');
-- on time: made an hour ago
SELECT (sp.submit_grievance(format('{"channel": "walk_in", "category": "payment", "complainant_person_id": %s,
    "description": "Wrong amount", "received_at": "%s"}', :g1p, now() - interval '1 hour')::jsonb) ->> 'grievance_id')::bigint AS on_time \gset
SELECT assigned_to FROM sp.assign_grievance(:late_ack, 'sp_test_gro_d1', 'mine');
RESET ROLE;
SET ROLE sp_test_gro_d2;
SELECT (sp.submit_grievance(format('{"channel": "walk_in", "category": "payment", "complainant_person_id": %s,
    "description": "Not paid", "received_at": "%s"}', :g3p, now() - interval '10 days')::jsonb) ->> 'grievance_id')::bigint AS hills_late \gset
RESET ROLE;
SET ROLE sp_test_gro_d1;
SELECT grievance_id = :late_ack AS late_ack, grievance_id = :late_fix AS late_fix, status, escalation_level, responsible_area_code
FROM sp.overdue_grievances WHERE admin_area_code = 'GV0101' ORDER BY grievance_id;
-- the district's run escalates its own overdue cases, not those of Hills
SELECT sp.escalate_overdue_grievances() AS escalated_by_d1;
SELECT grievance_id = :late_ack AS late_ack, status, escalation_level, responsible_area_code, assigned_to
FROM sp.grievance WHERE grievance_id IN (:late_ack, :late_fix, :on_time, :hills_late) ORDER BY grievance_id;
-- now the region's: the district can still see it and add notes, not act on it
SELECT sp.set_grievance_status(:late_ack, 'acknowledged');
SELECT sp.add_grievance_note(:late_ack, 'Told the region what I know') > 0 AS noted;
-- run again at once: the region has escalate_within (7 days) before the next level
SELECT sp.escalate_overdue_grievances() AS escalated_again;
RESET ROLE;
SET ROLE sp_test_gro_r1;
SELECT count(*) AS overdue_for_region FROM sp.overdue_grievances WHERE admin_area_code LIKE 'GV%';
SELECT sp.escalate_overdue_grievances() AS escalated_by_region;
SELECT grievance_id = :hills_late AS hills_late, escalation_level, responsible_area_code FROM sp.grievance WHERE grievance_id = :hills_late;
SELECT event, to_status, escalation_level, responsible_area_code, assigned_to, regexp_replace(detail, '[0-9]{4}-.*$', '<time>') AS detail
FROM sp.grievance_event WHERE grievance_id = :late_ack ORDER BY event_id;
RESET ROLE;
-- a case decided late and reopened gets time again: not overdue at once
SET ROLE sp_test_gro_d1;
SELECT (sp.submit_grievance(format('{"channel": "walk_in", "category": "payment", "complainant_person_id": %s,
    "description": "Paid twice, want to return it", "received_at": "%s"}', :g1p, now() - interval '20 days')::jsonb) ->> 'grievance_id')::bigint AS reopened \gset
SELECT status FROM sp.set_grievance_status(:reopened, 'acknowledged');
SELECT status FROM sp.set_grievance_status(:reopened, 'in_review');
SELECT status FROM sp.set_grievance_status(:reopened, 'resolved', 'Told how to return it');
SELECT status, reopened_at IS NOT NULL AS reopened_at FROM sp.set_grievance_status(:reopened, 'in_review', 'The agent refused the money');
SELECT count(*) AS reopened_overdue FROM sp.overdue_grievances WHERE grievance_id = :reopened;
RESET ROLE;
-- a case at the top cannot go higher: the run says so
SET ROLE sp_test_gro_nat;
SELECT sp.submit_grievance(format('{"channel": "web", "category": "other", "anonymous": true, "admin_area_code": "GV",
    "description": "Website down", "received_at": "%s"}', now() - interval '60 days')::jsonb) ->> 'responsible_area_code' AS top;
SELECT sp.escalate_overdue_grievances() AS escalated_by_nation;
RESET ROLE;

-- categories: national configuration, with history; cases keep the levels they came under
SET ROLE sp_test_gro_nat;
SELECT sp.set_grievance_category('payment', 'Payment problems', '1 day', '10 days', '5 days', false, 'faster');
RESET ROLE;
SELECT sp.set_grievance_category('payment', 'Payment problems', '1 day', '12 hours', '5 days', false, 'faster');
SELECT sp.set_grievance_category('Pay ment', 'Payment problems', '1 day', '10 days', '5 days', false, 'faster');
SELECT sp.set_grievance_category('payment', 'Payment problems', '-1 day', '10 days', '5 days', false, 'faster');
SELECT code, acknowledge_within, resolve_within FROM sp.set_grievance_category('payment', 'Payment problems', '1 day', '10 days', '5 days', false, 'faster: a new directive');
SELECT code, resolve_within, reason FROM sp.grievance_category_history WHERE code = 'payment' ORDER BY history_id;
SELECT resolve_due - received_at AS kept FROM sp.grievance WHERE grievance_id = :on_time;
SELECT code FROM sp.set_grievance_category('payment', 'Payment problems', '1 day', '10 days', '5 days', false, 'retired', false);
SET ROLE sp_test_gro_d1;
SELECT sp.submit_grievance(format('{"channel": "sms", "category": "payment", "complainant_person_id": %s, "description": "x"}', :g1p)::jsonb);
RESET ROLE;
SELECT code FROM sp.set_grievance_category('payment', 'Payment not received, short, late or taken by someone else', '2 days', '14 days', '7 days', false, 'back to the default');

-- the records agree with their events
SELECT check_name, ok FROM sp_internal.verify_integrity() WHERE check_name LIKE 'sp.grievance%';

-- roles are cluster-wide: none is left behind
DROP OWNED BY sp_test_gro_d1, sp_test_gro_d2, sp_test_gro_r1, sp_test_gro_nat, sp_test_sms, sp_test_gclerk;
DROP ROLE sp_test_gro_d1;
DROP ROLE sp_test_gro_d2;
DROP ROLE sp_test_gro_r1;
DROP ROLE sp_test_gro_nat;
DROP ROLE sp_test_sms;
DROP ROLE sp_test_gclerk;
