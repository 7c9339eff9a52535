-- Payments (issue 12): providers, validated entitlement rules, payment cycles
-- approved by a second person, the payment list (once per beneficiary and
-- cycle, whatever is run again), exclusions with their reasons, the payment
-- lifecycle and its history, area scopes.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('PY', NULL, 0, 'Payland'), ('PY01', 'PY', 1, 'North'), ('PY02', 'PY', 1, 'South');
-- cycles are for the current month (a unit enrolled after a period is not paid
-- for it); ages are counted on its first day
SELECT date_trunc('month', current_date)::date AS ps, (date_trunc('month', current_date) + interval '1 month - 1 day')::date AS pe \gset
CREATE FUNCTION pg_temp.born(years int) RETURNS text LANGUAGE sql AS
$$ SELECT to_char(date_trunc('month', current_date) - make_interval(years => years, days => 10), 'YYYY-MM-DD') $$;
-- a household: its head (with a phone or not) and children of the given ages
CREATE FUNCTION pg_temp.hh(label text, area text, phone text, VARIADIC child_ages int[] DEFAULT '{}') RETURNS bigint LANGUAGE sql AS $$
    SELECT (sp.register_household(jsonb_build_object('admin_area_code', area,
        'members', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('given_name', label, 'relationship_to_head', 'head',
                                                                          'birth_date', pg_temp.born(40), 'phone', phone)))
                   || coalesce((SELECT jsonb_agg(jsonb_build_object('given_name', label || '-child' || a, 'relationship_to_head', 'child',
                                                                    'birth_date', pg_temp.born(a)))
                                FROM unnest(child_ages) a), '[]'))) ->> 'household_id')::bigint
$$;
SELECT pg_temp.hh('P1', 'PY01', '+254700000001') AS p1,
       pg_temp.hh('P2', 'PY01', '+254700000002', 2, 4) AS p2,
       pg_temp.hh('P3', 'PY01', '+254700000003', 1, 2, 3, 4, 9) AS p3,
       pg_temp.hh('P4', 'PY02', NULL, 3) AS p4,
       pg_temp.hh('P5', 'PY02', '+254700000005') AS p5,
       pg_temp.hh('P6', 'PY02', '+254700000006', 1) AS p6 \gset
CREATE TEMP VIEW lab AS
SELECT h.household_id, p.given_name AS label FROM sp.household h
JOIN sp.person p ON p.household_id = h.household_id AND p.relationship_to_head = 'head' WHERE h.admin_area_code LIKE 'PY%';

INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('py_cash', 'Payland cash transfer', 'cash', '{"area": "PY"}');
SELECT sp.determine_eligibility('py_cash') ->> 'eligible' AS eligible, sp.enrol('py_cash') ->> 'newly_enrolled' AS enrolled;

-- providers: national configuration
INSERT INTO sp.payment_provider (name, title, fa_type, payer_fa, currency, batch_size)
VALUES ('mpesa', 'M-Pesa', 'mobile', 'account:100200@mpesa', 'KES', 2),
       ('zaad', 'Zaad', 'mobile', 'account:9@zaad', 'SOS', 100);
INSERT INTO sp.payment_provider (name, title, fa_type, payer_fa, currency) VALUES ('bank', 'Bank', 'account', 'account:1@bank', 'KES');
INSERT INTO sp.payment_provider (name, title, fa_type, payer_fa, currency) VALUES ('mpesa2', 'M-Pesa', 'mobile', 'account 1', 'KES');

-- bad entitlement rules are refused with the field at fault; nothing is stored
SELECT sp.set_entitlement('py_cash', '{"currency": "KES"}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "kes", "components": [{"kind": "flat", "amount": 100}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100.005}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": -5}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "per_child", "amount": 100}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "bonus", "amount": 100}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100, "max": 2}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}], "floor": 500, "cap": 400}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}], "rounding": 0}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}], "extra": 1}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "SOS", "components": [{"kind": "flat", "amount": 100}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}]}', 'nobody', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}]}', 'mpesa', ' ');
SELECT sp.set_entitlement('nope', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '[1]', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}], "rounding": null}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "per_member", "amount": 2000000000}]}', 'mpesa', 'first');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "per_member", "amount": 10, "max": 2.5}]}', 'mpesa', 'first');
SELECT count(*) AS rules_stored FROM sp.programme_entitlement WHERE programme = 'py_cash';
SELECT sp.create_payment_cycle('py_cash', :'ps', :'pe');

-- 1,000 per household, 250 per child under 5 (at most 3), at most 1,600,
-- rounded to 50
SELECT version, provider FROM sp.set_entitlement('py_cash',
    '{"currency": "KES", "components": [{"kind": "flat", "amount": 1000}, {"kind": "per_child", "amount": 250, "under_age": 5, "max": 3}],
      "cap": 1600, "rounding": 50}', 'mpesa', 'first rule');
SELECT sp_internal.entitlement_amount(rule, 6, ARRAY[40, 1, 2, 3, 4, 9]) AS capped,
       sp_internal.entitlement_amount(rule, 2, ARRAY[40, NULL]) AS unknown_age_not_a_child
FROM sp.programme_entitlement WHERE programme = 'py_cash';
SELECT sp_internal.entitlement_amount('{"currency": "KES", "components": [{"kind": "per_member", "amount": 333.75, "max": 4}], "floor": 500, "rounding": 5}', 5, '{}')
    AS half_up_1335,
       sp_internal.entitlement_amount('{"currency": "KES", "components": [{"kind": "flat", "amount": 1300}], "cap": 1600, "rounding": 1000}', 1, '{}') AS cap_wins_over_rounding,
       sp_internal.entitlement_amount('{"currency": "KES", "components": [{"kind": "flat", "amount": 1300}], "floor": 1400, "rounding": 1000}', 1, '{}') AS floor_wins_over_rounding,
       sp_internal.entitlement_amount('{"currency": "KES", "components": [{"kind": "per_member", "amount": 10, "max": 2.0}]}', 3, '{}') AS max_written_2_0,
       sp_internal.entitlement_amount('{"currency": "KES", "components": [{"kind": "per_member", "amount": 100}], "floor": 500}', 1, '{}') AS floor;

-- cycles: one period of a programme at a time
SELECT cycle_id AS cycle, status FROM sp.create_payment_cycle('py_cash', :'ps', :'pe') \gset
SELECT status FROM sp.create_payment_cycle('py_cash', :'ps'::date + 14, :'pe'::date + 14);
SELECT status FROM sp.create_payment_cycle('py_cash', :'pe'::date + 40, :'pe'::date + 10);
SELECT status FROM sp.create_payment_cycle('py_cash', :'pe'::date + 1, 'infinity');
SELECT status FROM sp.create_payment_cycle('py_cash', :'pe'::date + 1, :'pe'::date + 400);
SELECT status FROM sp.create_payment_cycle('nope', :'pe'::date + 1, :'pe'::date + 30);
-- NULLs and oversized input: a clear error, nothing stored
SELECT status FROM sp.create_payment_cycle(NULL, :'pe'::date + 1, :'pe'::date + 30);
SELECT status FROM sp.create_payment_cycle('py_cash', NULL, :'pe'::date + 30);
SELECT sp.generate_payment_list(NULL);
SELECT status FROM sp.approve_payment_cycle(NULL, 'checked');
SELECT status FROM sp.approve_payment_cycle(:cycle, NULL);
SELECT status FROM sp.cancel_payment(NULL, 'no id');
SELECT sp.set_entitlement('py_cash', NULL, 'mpesa', 'no rule');
SELECT sp.set_entitlement('py_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}]}', 'mpesa', repeat('x', 1001));
SELECT count(*) AS cycles, (SELECT version FROM sp.programme_entitlement WHERE programme = 'py_cash') AS rule_version
FROM sp.payment_cycle WHERE programme = 'py_cash';

-- who is left out and why: a suspended household, a head without a phone
SELECT state FROM sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE programme = 'py_cash' AND household_id = :p5),
                                         'suspended', 'did not collect three times');
SELECT sp.generate_payment_list(:cycle) - 'cycle_id' AS generated;
SELECT l.label, p.amount, p.currency, p.status, p.provider, p.reference_id = format('py_cash-%s-%s', :cycle, p.payment_id) AS reference_ok,
       p.recipient_id = (SELECT person_id FROM sp.person WHERE household_id = p.household_id AND relationship_to_head = 'head') AS paid_to_head
FROM sp.payment p JOIN lab l USING (household_id) WHERE p.cycle_id = :cycle ORDER BY l.label;
SELECT l.label, x.reason FROM sp.payment_exclusion x JOIN lab l USING (household_id) WHERE x.cycle_id = :cycle ORDER BY l.label;

-- generating again creates nothing twice
SELECT sp.generate_payment_list(:cycle) ->> 'created' AS created_again;
-- the draft follows the registry: the head of P6 died (the payment not yet
-- approved is cancelled, the household left out), P1 had a baby (its payment
-- is replaced by one of the new amount)
SELECT sp.set_person_status((SELECT person_id FROM sp.person WHERE household_id = :p6 AND relationship_to_head = 'head'),
                            'deceased', 'death reported by the chief') ->> 'status' AS p6_head;
SELECT sp.add_member(:p1, jsonb_build_object('given_name', 'P1-baby', 'relationship_to_head', 'child', 'birth_date', pg_temp.born(1))) IS NOT NULL AS p1_baby;
SELECT sp.generate_payment_list(:cycle) - 'cycle_id' AS generated_third_time;
SELECT l.label, p.amount, p.status, p.status_reason FROM sp.payment p JOIN lab l USING (household_id)
WHERE p.cycle_id = :cycle ORDER BY l.label, p.payment_id;
SELECT l.label, x.reason FROM sp.payment_exclusion x JOIN lab l USING (household_id) WHERE x.cycle_id = :cycle ORDER BY l.label;
-- a draft's payments are not cancelled by hand: generating again would bring them back
SELECT status FROM sp.cancel_payment((SELECT payment_id FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p2 AND status = 'created'), 'moved');
-- the unique indexes, not the function, decide: a second payment for a unit is refused
INSERT INTO sp.payment (cycle_id, programme, enrolment_id, household_id, recipient_id, provider, amount, currency, reference_id)
SELECT cycle_id, programme, enrolment_id, household_id, recipient_id, provider, amount, currency, reference_id || '-again'
FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p1;

-- four eyes: who generated the list cannot approve it
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_payer1') THEN CREATE ROLE sp_test_payer1 IN ROLE sp_payment_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_payer2') THEN CREATE ROLE sp_test_payer2 IN ROLE sp_payment_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_payer3') THEN CREATE ROLE sp_test_payer3 IN ROLE sp_payment_officer; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_payer_north') THEN CREATE ROLE sp_test_payer_north IN ROLE sp_payment_officer; END IF;
END $$;
SELECT count(*) > 0 AS national FROM sp.admin_area a, LATERAL (SELECT sp.grant_area_scope(r, a.code) FROM unnest(ARRAY['sp_test_payer1', 'sp_test_payer2', 'sp_test_payer3']) r) g
WHERE a.level = 0;
SELECT sp.grant_area_scope('sp_test_payer_north', 'PY01') ->> 'admin_area_code' AS north_scope;
SET ROLE sp_test_payer1;
SELECT sp.generate_payment_list(:cycle) ->> 'payments' AS payer1_generated;
SELECT status FROM sp.approve_payment_cycle(:cycle, 'checked against the enrolment list');
RESET ROLE;
-- nor can anyone who generated it before: payer 2 generates, payer 1 again, payer 2 is refused
SET ROLE sp_test_payer2;
SELECT sp.generate_payment_list(:cycle) ->> 'created' AS payer2_generated;
RESET ROLE;
SET ROLE sp_test_payer1;
SELECT sp.generate_payment_list(:cycle) ->> 'created' AS payer1_generated_again;
RESET ROLE;
SET ROLE sp_test_payer2;
SELECT status FROM sp.approve_payment_cycle(:cycle, 'checked');
RESET ROLE;
-- nor the same person through a team role (SET ROLE): the login is compared too
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_amina') THEN CREATE ROLE sp_test_amina LOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_pay_team') THEN CREATE ROLE sp_test_pay_team IN ROLE sp_payment_officer; END IF;
END $$;
GRANT sp_test_pay_team TO sp_test_amina;
SELECT count(*) > 0 AS team_national FROM sp.admin_area a, LATERAL sp.grant_area_scope('sp_test_pay_team', a.code) g WHERE a.level = 0;
SET SESSION AUTHORIZATION sp_test_amina;
SELECT sp.generate_payment_list(:cycle) ->> 'created' AS amina_generated;
SET ROLE sp_test_pay_team;
SELECT status FROM sp.approve_payment_cycle(:cycle, 'my team checked it');
RESET ROLE;
RESET SESSION AUTHORIZATION;
-- approval checks the list against the registry: a beneficiary suspended since it was generated
SELECT state FROM sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE programme = 'py_cash' AND household_id = :p2),
                                         'suspended', 'fraud investigation');
SET ROLE sp_test_payer3;
SELECT status FROM sp.approve_payment_cycle(:cycle, 'checked');
RESET ROLE;
SELECT state FROM sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE programme = 'py_cash' AND household_id = :p2),
                                         'enrolled', 'investigation closed');
SET ROLE sp_test_payer_north;
SELECT status FROM sp.approve_payment_cycle(:cycle, 'checked');
SELECT sp.generate_payment_list(:cycle);
-- a regional officer sees the payments of its region only
SELECT household_id IN (:p1, :p2, :p3) AS in_the_north, count(*) FROM sp.payment GROUP BY 1;
SELECT count(*) AS visible_payments FROM sp.payment WHERE cycle_id = :cycle;
RESET ROLE;
SET ROLE sp_test_payer3;
SELECT status, generated_by, approved_by FROM sp.approve_payment_cycle(:cycle, 'checked against the enrolment list');
SELECT sp.generate_payment_list(:cycle);
RESET ROLE;
SELECT status, count(*) FROM sp.payment WHERE cycle_id = :cycle GROUP BY 1 ORDER BY 1;

-- the lifecycle: approved -> sent -> paid | failed; nothing else
UPDATE sp.payment SET status = 'paid' WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
UPDATE sp.payment SET amount = amount + 1 WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
-- what a payment pays, to whom and in which cycle never changes: each column is named
UPDATE sp.payment SET reference_id = reference_id || 'x' WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
UPDATE sp.payment SET recipient_id = recipient_id + 1 WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
UPDATE sp.payment SET payment_id = payment_id + 1000 WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
UPDATE sp.payment SET created_by = 'someone else' WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
UPDATE sp.payment SET currency = 'USD' WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
-- a status outside the lifecycle, or none, is not a move it allows
UPDATE sp.payment SET status = 'lost' WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
UPDATE sp.payment SET status = NULL WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
-- a new payment starts as created (an id given: the ids later tests print stay as they are)
INSERT INTO sp.payment (payment_id, cycle_id, programme, enrolment_id, household_id, recipient_id, provider, amount, currency, reference_id, status)
SELECT 999999, cycle_id, programme, enrolment_id, household_id, recipient_id, provider, amount, currency, reference_id || '-paid', 'paid'
FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p1;
-- the stamps are the guard's, not the statement's: version + 1, who and when
BEGIN;
SELECT version AS v0 FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved' \gset
UPDATE sp.payment SET version = 100, updated_by = 'forged', updated_at = '2000-01-01' WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
SELECT version = :v0 + 1 AS version_stamped, updated_by = current_user::text AS caller_stamped, updated_at = now() AS time_stamped,
       status_reason IS NOT NULL AS reason_kept_without_a_status_change
FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
ROLLBACK;
DELETE FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'approved';
SELECT status, status_reason FROM sp.cancel_payment((SELECT payment_id FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p2), 'beneficiary moved abroad');
SELECT status FROM sp.cancel_payment((SELECT payment_id FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p2), 'again');
SELECT status_reason FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p2;
SELECT status FROM sp.cancel_payment(-1, 'no such payment');
SELECT payments, total_amount FROM sp.payment_cycle WHERE cycle_id = :cycle;
UPDATE sp.payment SET status = 'sent' WHERE cycle_id = :cycle AND status = 'approved';
-- a status changed without a reason does not keep the last change's reason
SELECT status, status_reason FROM sp.payment WHERE cycle_id = :cycle AND household_id = :p1 AND status = 'sent';
UPDATE sp.payment SET status = 'failed', status_reason = 'rjct.payee_fa.invalid' WHERE cycle_id = :cycle AND household_id = :p3;
UPDATE sp.payment SET status = 'approved' WHERE cycle_id = :cycle AND household_id = :p3;
UPDATE sp.payment_cycle SET status = 'closed' WHERE cycle_id = :cycle;
UPDATE sp.payment_cycle SET status = 'sent', sent_at = now() WHERE cycle_id = :cycle;
UPDATE sp.payment_cycle SET period_end = period_end + 1 WHERE cycle_id = :cycle;

-- every step is in the history
SELECT l.label, h.from_status, h.to_status, h.amount, h.reason
FROM sp.payment_history h JOIN lab l USING (household_id) WHERE h.cycle_id = :cycle ORDER BY l.label, h.history_id;
SELECT from_status, to_status, payments, total_amount, detail,
       CASE WHEN changed_by LIKE 'sp\_test\_%' THEN changed_by ELSE '(the superuser)' END AS changed_by
FROM sp.payment_cycle_history WHERE cycle_id = :cycle ORDER BY history_id;
SELECT version, change_reason FROM sp.programme_entitlement_history WHERE programme = 'py_cash' ORDER BY history_id;

DROP OWNED BY sp_test_payer1, sp_test_payer2, sp_test_payer3, sp_test_payer_north, sp_test_pay_team, sp_test_amina;
DROP ROLE sp_test_payer1;
DROP ROLE sp_test_payer2;
DROP ROLE sp_test_payer3;
DROP ROLE sp_test_amina;
DROP ROLE sp_test_pay_team;
DROP ROLE sp_test_payer_north;
