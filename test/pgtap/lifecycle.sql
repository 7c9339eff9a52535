-- Registration lifecycle: replays, batches, history, statuses.
BEGIN;
SELECT plan(15);

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('LC', NULL, 0, 'Lifecycleland');

-- 40 generated documents: every 5th has a future birth date
CREATE TEMP TABLE docs AS
SELECT i, jsonb_build_object(
    'submission_id', gen_random_uuid(),
    'admin_area_code', 'LC',
    'attributes', jsonb_build_object('rooms', i % 5),
    'members', jsonb_build_array(
        jsonb_build_object('given_name', 'Head' || i, 'relationship_to_head', 'head',
                           'birth_date', CASE WHEN i % 5 = 0 THEN '2999-01-01' ELSE (1950 + i)::text END),
        jsonb_build_object('given_name', 'Child' || i, 'relationship_to_head', 'child'))) AS doc
FROM generate_series(1, 40) i;

SELECT is(sp.import_registrations((SELECT jsonb_agg(doc ORDER BY i) FROM docs)) - 'batch_id' - 'errors' - 'possible_duplicates',
          '{"inserted": 32, "duplicates_skipped": 0, "rejected": 8}', 'first import: 32 in, 8 rejected');
SELECT is(sp.import_registrations((SELECT jsonb_agg(doc ORDER BY i) FROM docs)) - 'batch_id' - 'errors' - 'possible_duplicates',
          '{"inserted": 0, "duplicates_skipped": 32, "rejected": 8}', 'replay: nothing inserted twice');
SELECT is((SELECT count(*)::int FROM sp.household WHERE admin_area_code = 'LC'), 32, '32 households');
SELECT is((SELECT count(*)::int FROM sp.person p JOIN sp.household h USING (household_id) WHERE h.admin_area_code = 'LC'),
          64, '64 persons');
SELECT is((SELECT count(*)::int FROM sp.import_error e JOIN sp.import_batch b USING (batch_id)
           WHERE e.field = 'members[0].birth_date' AND e.sqlstate = '22008'), 16,
          'each rejection stored with field and SQLSTATE, per attempt');
SELECT is((SELECT sum(documents)::int FROM sp.import_batch), 80, 'batches count their documents');
SELECT is((SELECT array_agg(s.household_id ORDER BY d.i) FROM docs d
           JOIN sp.registration_submission s ON s.submission_id = (d.doc ->> 'submission_id')::uuid),
          (SELECT array_agg(s.household_id ORDER BY s.household_id) FROM docs d
           JOIN sp.registration_submission s ON s.submission_id = (d.doc ->> 'submission_id')::uuid),
          'household ids follow the order of the documents in the batch');

-- replays return the first ids
SELECT results_eq(
    $$SELECT (sp.register_household(doc) ->> 'household_id')::bigint FROM docs WHERE i = 1$$,
    $$SELECT household_id FROM sp.registration_submission s JOIN docs d ON s.submission_id = (d.doc ->> 'submission_id')::uuid WHERE d.i = 1$$,
    'a replay through register_household returns the stored household_id');

-- history: three updates leave three versions with their reasons, in order
SELECT household_id AS hid FROM sp.registration_submission s JOIN docs d ON s.submission_id = (d.doc ->> 'submission_id')::uuid
WHERE d.i = 2 \gset
SELECT sp.update_household(:hid, '{"attributes": {"rooms": 1}}', 'first visit');
SELECT sp.update_household(:hid, '{"attributes": {"rooms": 2}}', 'second visit');
SELECT sp.set_household_status(:hid, 'inactive', 'moved away');
SELECT results_eq(
    format('SELECT version, change_reason FROM sp.household_history WHERE household_id = %s ORDER BY history_id', :hid),
    $$VALUES (1, 'first visit'), (2, 'second visit'), (3, 'moved away')$$,
    'each version kept with its reason');
SELECT is((SELECT version FROM sp.household WHERE household_id = :hid), 4, 'current version is 4');
SELECT is((SELECT status FROM sp.household WHERE household_id = :hid), 'inactive', 'status changed, row kept');

-- a person cannot be deleted; a death is a status
SELECT (sp.register_household('{"admin_area_code": "LC", "members": [{"given_name": "Old", "relationship_to_head": "head"}]}')
        -> 'person_ids' ->> 0)::bigint AS pid \gset
SELECT throws_ok(format('DELETE FROM sp.person WHERE person_id = %s', :pid), '23001', NULL, 'persons are never deleted');
SELECT lives_ok(format('SELECT sp.set_person_status(%s, %L, %L)', :pid, 'deceased', 'civil registry death notice'),
                'death recorded as a status');
SELECT is((SELECT status FROM sp.person WHERE person_id = :pid), 'deceased', 'person kept as deceased');
-- with the head deceased, a new head can be named
SELECT lives_ok(format($$SELECT sp.add_member(%s, '{"given_name": "Heir", "relationship_to_head": "head"}')$$,
                       (SELECT household_id FROM sp.person WHERE person_id = :pid)),
                'a new head replaces a deceased one');

SELECT * FROM finish();
ROLLBACK;
