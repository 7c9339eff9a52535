-- The transactional outbox (issue 15): events written with the change they
-- tell of (none for a change rolled back), claimed and acknowledged per
-- consumer in commit order, given again after a crash between claim and
-- acknowledgement, limited to the consumer's area scope.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('OB', NULL, 0, 'Outboxia'), ('OB01', 'OB', 1, 'East'), ('OB02', 'OB', 1, 'West');
CREATE ROLE sp_test_ob_int IN ROLE sp_integration;
CREATE ROLE sp_test_ob_east IN ROLE sp_integration;
CREATE ROLE sp_test_ob_other IN ROLE sp_integration;
SELECT sp.grant_area_scope('sp_test_ob_int', 'OB') ->> 'admin_area_code' AS ministry_scope,
       sp.grant_area_scope('sp_test_ob_east', 'OB01') ->> 'admin_area_code' AS east_scope;

-- a payment platform (enrolments and payments; a claim lease of 0: given
-- again at once unless acknowledged), a ministry's system (everything,
-- an hour's lease), and a district's system; each starts from now
SELECT c - 'created_at' - 'created_by' - 'acked_event_id' AS consumer
FROM sp.create_outbox_consumer('ob.payments', 'sp_test_ob_int', '{ENROL,EXIT,PAYMENT}', '0 seconds', 'the payment platform') c;
SELECT sp.create_outbox_consumer('ob.ministry', 'sp_test_ob_int', NULL, '1 hour') ->> 'name' AS consumer;
SELECT sp.create_outbox_consumer('ob.east', 'sp_test_ob_east') ->> 'name' AS consumer;
SELECT count(*) AS nothing_yet FROM sp.outbox_claim('ob.ministry', 10);
-- bad consumers
SELECT sp.create_outbox_consumer('OB', 'sp_test_ob_int');
SELECT sp.create_outbox_consumer('ob.x', 'nobody_at_all');
SELECT sp.create_outbox_consumer('ob.x', current_user);
SELECT sp.create_outbox_consumer('ob.x', 'sp_test_ob_int', '{BIRTH}');
SELECT sp.create_outbox_consumer('ob.x', 'sp_test_ob_int', NULL, '-1 second');
SELECT sp.create_outbox_consumer('ob.ministry', 'sp_test_ob_int');

-- changes, each its own transaction: two households registered (the
-- members registered with them are part of REGISTER), a member added
-- later, an update, a death, an enrolment and an exit
SELECT (sp.register_household('{"admin_area_code": "OB01", "members": [{"given_name": "Amina", "family_name": "Bari", "relationship_to_head": "head"},
        {"given_name": "Bile", "family_name": "Bari", "relationship_to_head": "spouse"}]}') ->> 'household_id')::bigint AS h1 \gset
SELECT (sp.register_household('{"admin_area_code": "OB02", "members": [{"given_name": "Caano", "family_name": "Dheere", "relationship_to_head": "head"}]}')
        ->> 'household_id')::bigint AS h2 \gset
SELECT sp.add_member(:h1, '{"given_name": "Dahir", "family_name": "Bari", "relationship_to_head": "child"}') IS NOT NULL AS member_added;
SELECT sp.update_household(:h1, '{"attributes": {"rooms": 2}}', 'rooms counted') ->> 'version' AS version;
SELECT max(person_id) FILTER (WHERE relationship_to_head = 'spouse') AS spouse FROM sp.person WHERE household_id = :h1 \gset
SELECT sp.set_person_status(:spouse, 'deceased', 'reported by the family') IS NOT NULL AS death_recorded;
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('ob_cash', 'Outboxia cash', 'cash', '{"area": "OB"}');
INSERT INTO sp.enrolment (programme, household_id, state, reason) VALUES ('ob_cash', :h1, 'enrolled', 'test'), ('ob_cash', :h2, 'enrolled', 'test');
UPDATE sp.enrolment SET state = 'exited', reason = 'moved away' WHERE programme = 'ob_cash' AND household_id = :h2;
-- a registration rolled back writes nothing
BEGIN;
SELECT sp.register_household('{"admin_area_code": "OB01", "members": [{"given_name": "Eeg", "family_name": "Gone", "relationship_to_head": "head"}]}') IS NOT NULL AS registered;
ROLLBACK;

-- what was written, in commit order: no names, no identifiers
SELECT event_type, CASE household_id WHEN :h1 THEN 'h1' WHEN :h2 THEN 'h2' END AS household, person_id IS NOT NULL AS about_a_person,
       admin_area_code, programme, detail - 'version' AS detail
FROM sp.outbox_event WHERE admin_area_code LIKE 'OB%' ORDER BY txid, event_id;
SELECT count(*) AS events_with_names FROM sp.outbox_event WHERE admin_area_code LIKE 'OB%' AND detail::text ~ 'Amina|Bile|Caano|Dahir|Bari|Dheere|Eeg';

-- the ministry's system claims three, then the rest (the three are under
-- their claim), and acknowledges all but the second
SET ROLE sp_test_ob_int;
CREATE TEMP TABLE m1 AS SELECT * FROM sp.outbox_claim('ob.ministry', 3);
CREATE TEMP TABLE m2 AS SELECT * FROM sp.outbox_claim('ob.ministry', 100);
SELECT 1 AS claim, event_type, admin_area_code, attempts FROM m1 UNION ALL SELECT 2, event_type, admin_area_code, attempts FROM m2 ORDER BY 1;
SELECT r - 'position' AS ack
FROM sp.outbox_ack('ob.ministry', ARRAY(SELECT x.event_id FROM (SELECT event_id FROM m1 UNION ALL SELECT event_id FROM m2) x
                                        WHERE x.event_id <> (SELECT event_id FROM m1 ORDER BY event_id OFFSET 1 LIMIT 1))) r;
-- its position stops before the unacknowledged one; nothing is claimable while its claim holds
SELECT (sp.outbox_ack('ob.ministry', '{}') ->> 'position')::bigint = (SELECT min(event_id) FROM m1) AS position_at_first;
SELECT count(*) AS while_claimed FROM sp.outbox_claim('ob.ministry', 100);
RESET ROLE;
SELECT consumer, acked_position IS NOT NULL AS has_position, claimed, lease_expired FROM sp.outbox_backlog() WHERE consumer LIKE 'ob.%';
-- the hour passes: the system had crashed before acknowledging it; it is given again
UPDATE sp_internal.outbox_delivery SET claimed_until = now() - interval '1 second' WHERE consumer = 'ob.ministry' AND acked_at IS NULL;
SET ROLE sp_test_ob_int;
CREATE TEMP TABLE m3 AS SELECT * FROM sp.outbox_claim('ob.ministry', 100);
SELECT event_type, attempts, event_id = (SELECT event_id FROM m1 ORDER BY event_id OFFSET 1 LIMIT 1) AS the_second FROM m3;
SELECT r ->> 'acked' AS acked, (r ->> 'position')::bigint = (SELECT max(event_id) FROM m2) AS position_at_last
FROM sp.outbox_ack('ob.ministry', ARRAY(SELECT event_id FROM m3)) r;
-- each event exactly once acknowledged, nothing left
SELECT count(*) AS claimed_events, count(DISTINCT event_id) AS distinct_events FROM (SELECT event_id FROM m1 UNION ALL SELECT event_id FROM m2) x;
SELECT count(*) AS left_over FROM sp.outbox_claim('ob.ministry', 100);

-- the payment platform: its types only; it crashes between claim and
-- acknowledgement (lease 0: given again at once), then acknowledges twice
CREATE TEMP TABLE p1 AS SELECT * FROM sp.outbox_claim('ob.payments', 10);
SELECT event_type, programme, detail ->> 'state' AS state, attempts FROM p1 ORDER BY event_id;
CREATE TEMP TABLE p2 AS SELECT * FROM sp.outbox_claim('ob.payments', 10);
SELECT count(*) AS given_again, min(attempts) AS attempts, (SELECT array_agg(event_id ORDER BY event_id) FROM p1) = array_agg(event_id ORDER BY event_id) AS same_events FROM p2;
SELECT r - 'position' AS ack FROM sp.outbox_ack('ob.payments', ARRAY(SELECT event_id FROM p2)) r;
SELECT r - 'position' AS ack_again FROM sp.outbox_ack('ob.payments', ARRAY(SELECT event_id FROM p2) || 0::bigint) r;
SELECT count(*) AS left_over FROM sp.outbox_claim('ob.payments', 10);
RESET ROLE;

-- the district's system sees the East's events only
SET ROLE sp_test_ob_east;
CREATE TEMP TABLE e1 AS SELECT * FROM sp.outbox_claim('ob.east', 100);
SELECT event_type, admin_area_code FROM e1 ORDER BY event_id;
-- and no other consumer: a consumer the caller may not act as does not exist
SELECT * FROM sp.outbox_claim('ob.ministry', 1);
RESET ROLE;
SET ROLE sp_test_ob_other;
SELECT * FROM sp.outbox_ack('ob.payments', '{1}');
-- nor the events themselves
SELECT count(*) FROM sp.outbox_event;
RESET ROLE;

-- bad calls
SET ROLE sp_test_ob_int;
SELECT * FROM sp.outbox_claim('ob.ministry', 0);
SELECT * FROM sp.outbox_claim('ob.ministry', 10001);
SELECT * FROM sp.outbox_claim('nope', 10);
SELECT sp.outbox_ack('ob.ministry', NULL);
RESET ROLE;
SELECT sp.prune_outbox('1 minute');
-- events go once every consumer has acknowledged them and they are old
-- enough: two hours pass; the district's system has not acknowledged yet
UPDATE sp.outbox_event SET occurred_at = occurred_at - interval '2 hours' WHERE admin_area_code LIKE 'OB%';
SELECT sp.prune_outbox('1 hour') AS pruned_while_one_lags;
SET ROLE sp_test_ob_east;
SELECT r - 'position' AS east_ack FROM sp.outbox_ack('ob.east', ARRAY(SELECT event_id FROM e1)) r;
RESET ROLE;
SELECT consumer, claimed, lease_expired, after_position FROM sp.outbox_backlog() WHERE consumer LIKE 'ob.%';
SELECT sp.prune_outbox('1 hour') AS pruned;
SELECT count(*) AS left_in_outboxia FROM sp.outbox_event WHERE admin_area_code LIKE 'OB%';

-- after a restore: the outbox as a restore leaves it (txid 0, the old
-- server's transaction ids beside).  There, writer A took transaction 900
-- first and committed last: its event has the higher id (9000002) but came
-- first.  The consumer had acknowledged up to A's event, had a claim on
-- 9000003 (its lease since run out) and had acknowledged 9000004 out of
-- order; B's event 9000001 it never got.
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('OBR', NULL, 0, 'Restoria');
CREATE ROLE sp_test_ob_rest IN ROLE sp_integration;
SELECT sp.grant_area_scope('sp_test_ob_rest', 'OBR') ->> 'admin_area_code' AS restored_scope;
INSERT INTO sp.outbox_event (event_id, txid, source_txid, event_type, admin_area_code, detail) OVERRIDING SYSTEM VALUE VALUES
    (9000001, '0', '901', 'REGISTER', 'OBR', '{}'), (9000002, '0', '900', 'REGISTER', 'OBR', '{}'),
    (9000003, '0', '902', 'REGISTER', 'OBR', '{}'), (9000004, '0', '903', 'REGISTER', 'OBR', '{}');
INSERT INTO sp.outbox_consumer (name, consumer_role, lease, acked_txid, acked_event_id, source_acked_txid) VALUES
    ('ob.restored', 'sp_test_ob_rest', '1 hour', '0', 9000002, '900'),
    -- restored twice without being used in between: its place is unknown
    ('ob.twice', 'sp_test_ob_rest', '1 hour', '0', 0, '0');
INSERT INTO sp_internal.outbox_delivery (consumer, event_id, txid, claimed_until, attempts, acked_at) VALUES
    ('ob.restored', 9000003, '0', now() - interval '1 minute', 1, NULL),
    ('ob.restored', 9000004, '0', now() - interval '1 hour', 1, now() - interval '1 hour');
-- the first claim settles the position: B's event and the lapsed claim come,
-- the two acknowledged there do not; once acknowledged, the consumer is level
SET ROLE sp_test_ob_rest;
SELECT event_id, attempts FROM sp.outbox_claim('ob.restored', 10) ORDER BY event_id;
-- (its position then moves on past the restored events: how far depends on
-- what else was written and on the transactions still open)
SELECT r - 'consumer' - 'position' AS restored_ack FROM sp.outbox_ack('ob.restored', '{9000001, 9000003}') r;
SELECT count(*) AS given_again FROM sp.outbox_claim('ob.restored', 10);
-- the consumer restored twice gets every restored event again: at least once
SELECT string_agg(event_id::text, ',' ORDER BY event_id) AS twice FROM sp.outbox_claim('ob.twice', 10);
RESET ROLE;
SELECT name, (acked_txid, acked_event_id) >= ('0'::xid8, 9000004::bigint) AS past_restored, source_acked_txid IS NULL AS settled FROM sp.outbox_consumer WHERE name IN ('ob.restored', 'ob.twice') ORDER BY name;

DROP TABLE m1, m2, m3, p1, p2, e1;
DELETE FROM sp.outbox_consumer WHERE name LIKE 'ob.%';
DELETE FROM sp.outbox_event WHERE admin_area_code = 'OBR';
DROP OWNED BY sp_test_ob_int, sp_test_ob_east, sp_test_ob_other, sp_test_ob_rest;
DROP ROLE sp_test_ob_int, sp_test_ob_east, sp_test_ob_other, sp_test_ob_rest;
