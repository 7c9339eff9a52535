-- Entitlements for members meeting a condition (issue 12): per_member_with
-- pays per member with a catalogue attribute (a disability) or in an age
-- range (the elderly), up to a max, validated with the field at fault, and
-- computed once per household profile in the payment list.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('EN', NULL, 0, 'Entitla');
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_test_enpay') THEN CREATE ROLE sp_test_enpay IN ROLE sp_payment_officer; END IF;
END $$;
SELECT count(*) > 0 AS national FROM sp.admin_area a, LATERAL sp.grant_area_scope('sp_test_enpay', a.code) g WHERE a.level = 0;
SELECT to_char(current_date - interval '70 years', 'YYYY-MM-DD') AS born70, to_char(current_date - interval '30 years', 'YYYY-MM-DD') AS born30 \gset
CREATE FUNCTION pg_temp.reg(label text, members jsonb) RETURNS bigint LANGUAGE sql AS
$$ SELECT (sp.register_household(jsonb_build_object('admin_area_code', 'EN', 'members',
       jsonb_build_array(jsonb_build_object('given_name', label, 'relationship_to_head', 'head', 'phone', '+2547550' || lpad(length(label)::text || ascii(label)::text, 5, '0'))) || members))
       ->> 'household_id')::bigint $$;
SELECT pg_temp.reg('E1', '[]') AS e1,
       pg_temp.reg('E22', jsonb_build_array(jsonb_build_object('given_name', 'Gran', 'relationship_to_head', 'parent', 'birth_date', :'born70'),
                                            jsonb_build_object('given_name', 'Son', 'relationship_to_head', 'child', 'birth_date', :'born30',
                                                               'attributes', jsonb_build_object('disability', true)))) AS e2,
       pg_temp.reg('E333', jsonb_build_array(jsonb_build_object('given_name', 'A', 'relationship_to_head', 'child', 'attributes', jsonb_build_object('disability', true)),
                                             jsonb_build_object('given_name', 'B', 'relationship_to_head', 'child', 'attributes', jsonb_build_object('disability', true)),
                                             jsonb_build_object('given_name', 'C', 'relationship_to_head', 'child', 'attributes', jsonb_build_object('disability', true)),
                                             jsonb_build_object('given_name', 'D', 'relationship_to_head', 'child', 'attributes', jsonb_build_object('disability', false)))) AS e3 \gset
CREATE TEMP VIEW who AS
SELECT h.household_id, p.given_name AS label FROM sp.household h
JOIN sp.person p ON p.household_id = h.household_id AND p.relationship_to_head = 'head' WHERE h.admin_area_code = 'EN';
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('en_cash', 'Entitla cash', 'cash', '{"area": "EN"}');
SELECT sp.determine_eligibility('en_cash') ->> 'eligible' AS eligible, sp.enrol('en_cash') ->> 'newly_enrolled' AS enrolled;

-- bad conditions are refused with the field at fault
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_member_with", "amount": 500}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_member_with", "amount": 500, "attribute": "wealth", "equals": true}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_member_with", "amount": 500, "attribute": "rooms", "equals": 1}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_member_with", "amount": 500, "attribute": "disability"}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_member_with", "amount": 500, "attribute": "disability", "equals": {"a": 1}}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_member_with", "amount": 500, "min_age": 70, "max_age": 60}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_member_with", "amount": 500, "min_age": 60.5}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "per_child", "amount": 500, "under_age": 5, "min_age": 1}]}', 'mpesa', 'x');
SELECT count(*) AS rules FROM sp.programme_entitlement WHERE programme = 'en_cash';

-- 1,000 a household, 500 per member with a disability (at most 2), 400 per member aged 65 or more
SELECT version FROM sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 1000},
    {"kind": "per_member_with", "amount": 500, "attribute": "disability", "equals": true, "max": 2},
    {"kind": "per_member_with", "amount": 400, "min_age": 65}]}', 'mpesa', 'disability and old-age top-ups');
SELECT sp_internal.entitlement_amount(rule, 3, '{}', '{1, 1}') AS e2_by_hand, sp_internal.entitlement_amount(rule, 5, '{}', '{3, 0}') AS e3_capped,
       sp_internal.entitlement_amount(rule, 1, '{}') AS no_counts
FROM sp.programme_entitlement WHERE programme = 'en_cash';
SELECT cycle_id AS cy FROM sp.create_payment_cycle('en_cash', date_trunc('month', current_date)::date, (date_trunc('month', current_date) + interval '1 month - 1 day')::date) \gset
SET ROLE sp_test_enpay;
SELECT sp.generate_payment_list(:cy) -> 'total_amount' AS total;
RESET ROLE;
SELECT w.label, p.amount FROM sp.payment p JOIN who w USING (household_id) WHERE p.cycle_id = :cy ORDER BY 1;

-- a top-up: 300 more for the cycles that begin this month and next, in this country only
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 1000}, {"kind": "top_up", "amount": 300}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 1000}, {"kind": "top_up", "amount": 300, "from": "2026-12-01", "to": "2026-11-01"}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 1000}, {"kind": "top_up", "amount": 300, "from": "2026-02-30", "to": "2026-03-01"}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 1000}, {"kind": "top_up", "amount": 300, "from": "2026-01-01", "to": "2026-03-01", "area": "NOWHERE"}]}', 'mpesa', 'x');
SELECT sp.set_entitlement('en_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 1000}, {"kind": "top_up", "amount": 300, "from": "2026-01-01", "to": "2026-03-01", "max": 2}]}', 'mpesa', 'x');
SELECT version FROM sp.set_entitlement('en_cash', format('{"currency": "KES", "components": [{"kind": "flat", "amount": 1000},
    {"kind": "top_up", "amount": 300, "from": "%s", "to": "%s", "area": "EN"},
    {"kind": "top_up", "amount": 999, "from": "%s", "to": "%s", "area": "PY"}]}',
    to_char(date_trunc('month', current_date), 'YYYY-MM-DD'), to_char(date_trunc('month', current_date) + interval '1 month', 'YYYY-MM-DD'),
    to_char(date_trunc('month', current_date), 'YYYY-MM-DD'), to_char(date_trunc('month', current_date) + interval '1 month', 'YYYY-MM-DD'))::jsonb,
    'mpesa', 'drought top-up');
SELECT cycle_id AS cy2 FROM sp.create_payment_cycle('en_cash', (date_trunc('month', current_date) + interval '1 month')::date, (date_trunc('month', current_date) + interval '2 month - 1 day')::date) \gset
SELECT cycle_id AS cy3 FROM sp.create_payment_cycle('en_cash', (date_trunc('month', current_date) + interval '2 month')::date, (date_trunc('month', current_date) + interval '3 month - 1 day')::date) \gset
SET ROLE sp_test_enpay;
SELECT sp.generate_payment_list(:cy2) -> 'total_amount' AS with_top_up, sp.generate_payment_list(:cy3) -> 'total_amount' AS after_it;
RESET ROLE;

DROP OWNED BY sp_test_enpay;
DROP ROLE sp_test_enpay;
