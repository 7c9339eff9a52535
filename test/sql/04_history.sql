-- History: every update and delete keeps the previous version with who, when and why.
\set SHOW_CONTEXT never

SELECT sp.update_household(1, '{"attributes": {"rooms": 3, "land_area_ha": null}}', 'home visit 2026-04') AS updated;
SELECT household_id, attributes, version FROM sp.household WHERE household_id = 1;
SELECT household_id, operation, attributes, version, changed_by = current_user AS by_me, change_reason
FROM sp.household_history ORDER BY history_id;

-- the change reason does not leak into later statements of the transaction
BEGIN;
SET LOCAL sp_registry.change_reason = 'outer reason';
SELECT sp.update_household(2, '{"attributes": {"rooms": 1}}', 'inner reason') ->> 'version' AS version;
SELECT current_setting('sp_registry.change_reason') AS reason_after;
COMMIT;
SELECT change_reason FROM sp.household_history WHERE household_id = 2;

-- a reason is required
SELECT sp.update_household(1, '{"attributes": {"rooms": 4}}', '');
SELECT sp.update_household(1, '{"attributes": {"rooms": 4}}', NULL);
-- optimistic locking: version 1 is stale now
SELECT sp.update_household(1, '{"attributes": {"rooms": 4}}', 'recount', expected_version => 1);
SELECT sp.update_household(1, '{"attributes": {"rooms": 4}}', 'recount', expected_version => 2) AS with_version;
-- patches are validated like registrations
SELECT sp.update_household(1, '{"attributes": {"rooms": "many"}}', 'typo');
SELECT sp.update_household(1, '{"admin_area_code": "NOPE"}', 'move');
SELECT sp.update_household(1, '{"status": "inactive"}', 'move');
SELECT sp.update_household(999999, '{"attributes": {"rooms": 1}}', 'ghost');
SELECT sp.update_household(1, '{"location": {"lat": 3, "lon": 33}, "admin_area_code": "TL01"}', 'moved north') AS moved;
SELECT household_id, admin_area_code, ST_AsText(location), version FROM sp.household WHERE household_id = 1;

-- a no-op update writes no history
UPDATE sp.household SET attributes = attributes WHERE household_id = 1;
SELECT count(*) AS household_versions FROM sp.household_history WHERE household_id = 1;

-- persons
SELECT sp.update_person(2, '{"given_name": "Barack", "birth_date": "2015-06-11", "attributes": {"in_school": false}}',
                        'birth certificate seen') AS corrected;
SELECT person_id, given_name, birth_date, birth_date_precision, attributes, version FROM sp.person WHERE person_id = 2;
SELECT person_id, given_name, birth_date, birth_date_precision, version, change_reason FROM sp.person_history ORDER BY history_id;
SELECT sp.update_person(2, '{"relationship_to_head": "head"}', 'wrong head');
SELECT sp.update_person(2, '{"given_name": null, "family_name": null}', 'erase names');
SELECT sp.update_person(2, '{"birth_date": "2999-01-01"}', 'typo');
SELECT sp.update_person(2, '{"household_id": 5}', 'move');
SELECT sp.set_person_status(3, 'deceased', 'death registered by civil registry') AS death;
SELECT sp.set_person_status(3, 'merged', 'shortcut');
SELECT sp.set_person_status(3, 'gone', 'typo');
SELECT person_id, status, version FROM sp.person WHERE person_id = 3;
SELECT sp.add_member(1, '{"given_name": "Newborn", "family_name": "Odhiambo", "birth_date": "2026-01", "relationship_to_head": "grandchild"}') AS birth;
SELECT sp.add_member(1, '{"given_name": "Second", "relationship_to_head": "head"}');
SELECT sp.set_household_status(2, 'inactive', 'household moved abroad') AS inactive;

-- direct SQL updates are versioned too, with the reason from the setting
BEGIN;
SET LOCAL sp_registry.change_reason = 'bulk fix of dwelling codes';
UPDATE sp.household SET attributes = attributes || '{"dwelling_type": "house"}' WHERE household_id = 3;
COMMIT;
SELECT household_id, attributes ->> 'dwelling_type' AS dwelling, change_reason FROM sp.household_history
WHERE household_id = 3;

-- nothing is ever deleted
DELETE FROM sp.person WHERE person_id = 1;
DELETE FROM sp.household WHERE household_id = 1;
-- nor truncated, which would skip the row triggers (the list of tables the
-- cascade reaches, in creation order, is not what this tests)
SET client_min_messages = warning;
TRUNCATE sp.person, sp.household CASCADE;
RESET client_min_messages;
TRUNCATE sp.person_history;
SELECT count(*) > 0 AS persons_kept, (SELECT count(*) > 0 FROM sp.person_history) AS history_kept FROM sp.person;
-- attributes the catalogue does not allow are refused even in a superuser's direct UPDATE
UPDATE sp.person SET attributes = attributes || '{"disability": "maybe"}' WHERE person_id = 1;
UPDATE sp.household SET attributes = attributes || '{"rooms": -3}' WHERE household_id = 1;
-- not even by an unprivileged role that tries the setting
CREATE ROLE sp_test_intruder;
SET ROLE sp_test_intruder;
SET sp_registry.allow_hard_delete = on;
RESET ROLE;
-- a superuser may (court-ordered erasure), and the deleted version is kept in history
BEGIN;
SET LOCAL sp_registry.allow_hard_delete = on;
SET LOCAL sp_registry.change_reason = 'court order 2026/17';
INSERT INTO sp.household (admin_area_code) VALUES ('TL') RETURNING household_id AS temp_household \gset
DELETE FROM sp.household WHERE household_id = :temp_household;
SELECT operation, change_reason FROM sp.household_history WHERE household_id = :temp_household;
ROLLBACK;

-- history is append-only
UPDATE sp.person_history SET given_name = 'forged';
DELETE FROM sp.household_history;
DROP ROLE sp_test_intruder;
