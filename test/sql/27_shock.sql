-- Shock response (issue 13): a shock declared by hand or by an early
-- warning, vertical and horizontal scale-up in one call each, every
-- household's decision recorded, idempotency, top-ups paid once with the
-- next payment list, temporary enrolments ended on their date.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('SX', NULL, 0, 'Shockland'), ('SX01', 'SX', 1, 'Riverside'), ('SX02', 'SX', 1, 'Hills');
CREATE FUNCTION pg_temp.hh(label text, area text, lon float8, lat float8, members int) RETURNS bigint LANGUAGE sql AS $$
    SELECT (sp.register_household(jsonb_build_object('admin_area_code', area, 'location', jsonb_build_object('lon', lon, 'lat', lat),
        'members', (SELECT jsonb_agg(jsonb_build_object('given_name', label || CASE WHEN i = 1 THEN '' ELSE '-' || i END,
                                                        'relationship_to_head', CASE WHEN i = 1 THEN 'head' ELSE 'child' END,
                                                        'birth_date', CASE WHEN i = 1 THEN '1980-01-01' ELSE '2015-01-01' END,
                                                        'phone', CASE WHEN i = 1 THEN '+25471000' || ascii(left(label, 1)) || ascii(right(label, 1)) END))
                    FROM generate_series(1, members) i))) ->> 'household_id')::bigint
$$;
-- beneficiaries: B1 and B2 by the river, B3 in the hills
SELECT pg_temp.hh('B1', 'SX01', 30.10, -1.10, 2) AS b1, pg_temp.hh('B2', 'SX01', 30.12, -1.10, 3) AS b2,
       pg_temp.hh('B3', 'SX02', 30.90, -1.60, 2) AS b3 \gset
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('sx_cash', 'Shockland cash transfer', 'cash', '{"area": "SX"}');
SELECT sp.determine_eligibility('sx_cash') ->> 'eligible' AS eligible, sp.enrol('sx_cash') ->> 'newly_enrolled' AS enrolled;
INSERT INTO sp.payment_provider (name, title, fa_type, payer_fa, currency, batch_size)
VALUES ('sxmobile', 'Shockland mobile money', 'mobile', 'account:77@sxmobile', 'KES', 100);
SELECT sp.set_entitlement('sx_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 100}]}', 'sxmobile', 'base rule') IS NOT NULL AS rule_set;
UPDATE sp.enrolment SET state = 'suspended', reason = 'missed recertification' WHERE programme = 'sx_cash' AND household_id = :b2;
-- registered after the enrolment: not beneficiaries; N1 to N3 scored, N4 not
SELECT pg_temp.hh('N1', 'SX01', 30.11, -1.11, 1) AS n1, pg_temp.hh('N2', 'SX01', 30.13, -1.12, 4) AS n2,
       pg_temp.hh('N3', 'SX01', 30.14, -1.09, 6) AS n3 \gset
SELECT sp.create_pmt_model('sx_pmt', '{"intercept": 10, "terms": [{"variable": "household_size", "coefficient": -0.1}], "cutoffs": [{"value": 9.9}]}') AS v \gset
SELECT sp.activate_pmt_model('sx_pmt', :v);
SELECT sp.score_households('sx_pmt', 'SX') IS NOT NULL AS scored;
UPDATE sp.programme SET ranking = '{"pmt": "sx_pmt"}' WHERE name = 'sx_cash';
SELECT pg_temp.hh('N4', 'SX01', 30.15, -1.10, 2) AS n4 \gset
CREATE TEMP VIEW lab AS
SELECT h.household_id, p.given_name AS label FROM sp.household h
JOIN sp.person p ON p.household_id = h.household_id AND p.relationship_to_head = 'head' WHERE h.admin_area_code LIKE 'SX%';

-- bad declarations, each naming its field; nothing stored
SELECT sp.declare_shock('{"name": "Flood", "shock_type": "flood", "severity": "high"}');
SELECT sp.declare_shock('{"name": "Flood", "shock_type": "flood", "severity": "high", "footprint": {"type": "Polygon", "coordinates": "x"}}');
SELECT sp.declare_shock('{"name": "Flood", "shock_type": "meteor", "severity": "high", "footprint": {"type": "Point", "coordinates": [30.1, -1.1]}}');
SELECT sp.declare_shock('{"name": "Flood", "shock_type": "flood", "severity": "high", "footprint": {"type": "Point", "coordinates": [300, -1.1]}}');
SELECT sp.declare_shock('{"name": "Flood", "shock_type": "flood", "severity": "high", "footprint": {"type": "Point", "coordinates": [30.1, -1.1]}, "buffer_m": -5}');
SELECT sp.declare_shock('{"name": "Flood", "shock_type": "flood", "severity": "high", "source": "early_warning", "footprint": {"type": "Point", "coordinates": [30.1, -1.1]}}');
SELECT sp.declare_shock('{"name": "Flood", "shock_type": "flood", "severity": "high", "footprint": {"type": "Point", "coordinates": [30.1, -1.1]}, "colour": "blue"}');
SELECT count(*) AS shocks FROM sp.shock_event;
-- an early warning (river gauge above its threshold): the flood plain within
-- 3 km of the river; the same trigger firing again is the same shock
SELECT event_id AS flood FROM sp.declare_shock(jsonb_build_object('name', 'Riverside flood', 'shock_type', 'flood', 'severity', 'high',
    'source', 'early_warning', 'source_ref', 'gauge-7/2026-11', 'buffer_m', 3000,
    'footprint', ST_AsGeoJSON(ST_GeomFromText('LINESTRING(30.0 -1.1, 30.2 -1.1)'))::jsonb)) \gset
SELECT event_id = :flood AS same_shock, shock_type, severity, source, buffer_m FROM sp.declare_shock(jsonb_build_object('name', 'again', 'shock_type', 'flood', 'severity', 'low',
    'source', 'early_warning', 'source_ref', 'gauge-7/2026-11', 'footprint', '{"type": "Point", "coordinates": [0, 0]}'::jsonb));
UPDATE sp.shock_event SET severity = 'low' WHERE event_id = :flood;
DELETE FROM sp.shock_event WHERE event_id = :flood;

-- bad responses
SELECT sp.shock_response(:flood, 'sx_cash', 'diagonal', 50);
SELECT sp.shock_response(:flood, 'sx_cash', 'vertical', 50.005);
SELECT sp.shock_response(:flood, 'sx_cash', 'vertical', 0);
SELECT sp.shock_response(:flood, 'sx_cash', 'vertical', 50, 10);
SELECT sp.shock_response(:flood, 'sx_cash', 'horizontal', 50, 0);
SELECT sp.shock_response(:flood, 'nope', 'vertical', 50);
SELECT sp.shock_response(-1, 'sx_cash', 'vertical', 50);
SELECT sp.shock_response(:flood, 'sx_cash', 'horizontal', 50, 2, '2000-01-01');

-- vertical: the beneficiaries in the footprint are topped up; everyone else there is told why not
SELECT r - 'response_id' - 'event_id' AS vertical FROM sp.shock_response(:flood, 'sx_cash', 'vertical', 50) r;
SELECT l.label, d.decision, d.reason, d.distance_m < 3000 AS within_3km
FROM sp.shock_decision d JOIN sp.shock_response r USING (response_id) JOIN lab l USING (household_id)
WHERE r.event_id = :flood AND r.mode = 'vertical' ORDER BY l.label;
-- the same call again: what was decided; other terms: refused
SELECT r ->> 'replayed' AS replayed, r -> 'decisions' AS decisions FROM sp.shock_response(:flood, 'sx_cash', 'vertical', 50) r;
SELECT sp.shock_response(:flood, 'sx_cash', 'vertical', 75);
SELECT count(*) AS top_ups FROM sp.shock_top_up t JOIN sp.shock_response r USING (response_id) WHERE r.event_id = :flood;

-- horizontal: registered households that are not beneficiaries, poorest first, at most two
SELECT r - 'response_id' - 'event_id' - 'ends_on' AS horizontal FROM sp.shock_response(:flood, 'sx_cash', 'horizontal', 80, 2) r;
SELECT l.label, d.decision, d.rank, round(d.pmt_score::numeric, 2) AS score, d.reason ~ '^temporarily enrolled until \d{4}-\d\d-\d\d for shock \d+ \(rank \d\ by PMT score\)$' AS reason_given,
       CASE WHEN d.decision <> 'enrolled' THEN d.reason END AS why_not
FROM sp.shock_decision d JOIN sp.shock_response r USING (response_id) JOIN lab l USING (household_id)
WHERE r.event_id = :flood AND r.mode = 'horizontal' ORDER BY l.label;
SELECT l.label, e.state, e.ends_on = (current_date + interval '3 months')::date AS ends_in_three_months, e.shock_response_id IS NOT NULL AS temporary
FROM sp.enrolment e JOIN lab l USING (household_id) WHERE e.programme = 'sx_cash' AND e.state <> 'exited' ORDER BY l.label;
-- a household enrolled by the horizontal response is owed its amount once:
-- a vertical response of the same shock and programme decided after it does not top it up again
SELECT event_id AS flood2 FROM sp.declare_shock(jsonb_build_object('name', 'Second wave', 'shock_type', 'flood', 'severity', 'high',
    'buffer_m', 3000, 'footprint', ST_AsGeoJSON(ST_GeomFromText('LINESTRING(30.0 -1.1, 30.2 -1.1)'))::jsonb)) \gset
SELECT r -> 'decisions' AS horizontal_first FROM sp.shock_response(:flood2, 'sx_cash', 'horizontal', 10, 1) r;
SELECT r -> 'decisions' AS then_vertical FROM sp.shock_response(:flood2, 'sx_cash', 'vertical', 10) r;
SELECT count(*) AS owed_twice FROM (SELECT t.household_id FROM sp.shock_top_up t JOIN sp.shock_response r USING (response_id)
                                    WHERE r.event_id = :flood2 GROUP BY t.household_id HAVING count(*) > 1) x;
SELECT l.label, d.reason FROM sp.shock_decision d JOIN sp.shock_response r USING (response_id) JOIN lab l USING (household_id)
WHERE r.event_id = :flood2 AND r.mode = 'vertical' AND d.reason LIKE 'already owed%';
-- an eligibility run leaves the temporary enrolments alone: with a rule that
-- now covers the hills only, the regular beneficiaries by the river go to a
-- person for review, the temporary ones do not
UPDATE sp.programme SET rule = '{"area": "SX02"}' WHERE name = 'sx_cash';
SELECT sp.determine_eligibility('sx_cash') IS NOT NULL AS run;
SELECT l.label, v.kind FROM sp.eligibility_review v JOIN lab l USING (household_id) WHERE v.programme = 'sx_cash' ORDER BY l.label;
SELECT l.label, e.state FROM sp.enrolment e JOIN lab l USING (household_id) WHERE e.programme = 'sx_cash' AND e.shock_response_id IS NOT NULL ORDER BY l.label;

-- paid once, with the next list: base amount plus the top-up
SELECT date_trunc('month', current_date)::date AS ps, (date_trunc('month', current_date) + interval '1 month - 1 day')::date AS pe \gset
SELECT cycle_id AS c1 FROM sp.create_payment_cycle('sx_cash', :'ps', :'pe') \gset
SELECT sp.generate_payment_list(:c1) ->> 'created' AS created;
SELECT l.label, p.amount FROM sp.payment p JOIN lab l USING (household_id) WHERE p.cycle_id = :c1 AND p.live ORDER BY l.label;
-- generated again: the same amounts, the top-ups still this cycle's
SELECT sp.generate_payment_list(:c1) ->> 'created' AS created_again;
SELECT count(*) AS top_ups_in_cycle FROM sp.shock_top_up WHERE cycle_id = :c1;
-- the next cycle pays the base amount only
SELECT cycle_id AS c2 FROM sp.create_payment_cycle('sx_cash', (:'pe'::date + 1), (:'pe'::date + interval '1 month')::date) \gset
SELECT sp.generate_payment_list(:c2) ->> 'created' AS created;
SELECT l.label, p.amount FROM sp.payment p JOIN lab l USING (household_id) WHERE p.cycle_id = :c2 AND p.live ORDER BY l.label;

-- temporary enrolments end on their date
SELECT sp.end_temporary_enrolments() AS ended_before_their_date;
UPDATE sp.enrolment SET ends_on = current_date WHERE shock_response_id IS NOT NULL;
SELECT sp.end_temporary_enrolments() AS ended;
SELECT l.label, e.state, e.reason ~ '^temporary enrolment ended on \d{4}-\d\d-\d\d \(shock response \d+\)$' AS reason_given
FROM sp.enrolment e JOIN lab l USING (household_id) WHERE e.shock_response_id IS NOT NULL ORDER BY l.label;

-- a closed shock takes no new response; its decisions stay
SELECT status, close_reason FROM sp.close_shock(:flood, 'waters receded');
SELECT sp.close_shock(:flood, 'again');
SELECT event_id AS landslide FROM sp.declare_shock('{"name": "Hill landslide", "shock_type": "other", "severity": "moderate",
    "footprint": {"type": "Point", "coordinates": [30.9, -1.6]}, "buffer_m": 500}') \gset
SELECT status FROM sp.close_shock(:landslide, 'declared by mistake');
SELECT sp.shock_response(:landslide, 'sx_cash', 'vertical', 80);
SELECT r ->> 'replayed' AS replayed_after_closing FROM sp.shock_response(:flood, 'sx_cash', 'vertical', 50) r;

-- a programme officer of one region cannot decide responses; the decisions are append-only
CREATE ROLE sp_test_shock_officer IN ROLE sp_programme_officer;
SELECT sp.grant_area_scope('sp_test_shock_officer', 'SX01') ->> 'admin_area_code' AS scope;
SET ROLE sp_test_shock_officer;
SELECT sp.declare_shock('{"name": "Drought", "shock_type": "drought", "severity": "moderate", "footprint": {"type": "Point", "coordinates": [30.1, -1.1]}}');
SELECT count(*) AS decisions_seen FROM sp.shock_decision;
RESET ROLE;
UPDATE sp.shock_decision SET decision = 'enrolled' WHERE decision = 'not_selected';
SELECT sp.revoke_area_scope('sp_test_shock_officer', 'SX01') IS NOT NULL AS revoked;
DROP OWNED BY sp_test_shock_officer;
DROP ROLE sp_test_shock_officer;
