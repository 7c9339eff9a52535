-- Offline form sync (issue 15): ODK Collect / KoboToolbox submissions
-- mapped to the registration document; instanceID makes a resend harmless,
-- deprecatedID marks an edit, applied only to the version it was made on
-- (else a conflict, reported and kept); device and receipt times kept.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('OD', NULL, 0, 'Odkland'), ('OD01', 'OD', 1, 'North'), ('OD0101', 'OD01', 2, 'Hills'), ('OD02', 'OD', 1, 'South');
CREATE ROLE sp_test_odk_reg IN ROLE sp_registrar;
CREATE ROLE sp_test_odk_app IN ROLE sp_integration;
CREATE ROLE sp_test_odk_south IN ROLE sp_registrar;
SELECT sp.grant_area_scope('sp_test_odk_reg', 'OD') IS NOT NULL AS reg,
       sp.grant_area_scope('sp_test_odk_app', 'OD') IS NOT NULL AS app,
       sp.grant_area_scope('sp_test_odk_south', 'OD02') IS NOT NULL AS south;

-- the mapping of the household survey form
SELECT m - 'updated_at' - 'updated_by' AS mapping FROM sp.set_form_mapping('hh_survey', '{
    "admin_area_code": "location/village",
    "location": "location/gps",
    "attributes": {"rooms": "dwelling/rooms"},
    "members": {"repeat": "members",
                "fields": {"given_name": "members/given_name", "family_name": "members/family_name", "birth_date": "members/dob",
                           "sex": "members/sex", "relationship_to_head": "members/relation", "national_id": "members/nid"}},
    "values": {"sex": {"female": "F", "male": "M"}, "relationship_to_head": {"1": "head", "2": "spouse", "3": "child"}}}', 'Household survey 2026') m;
-- bad mappings are refused, naming the problem
SELECT sp.set_form_mapping('bad', '{"members": {"repeat": "m", "fields": {"given_name": "m/g"}}}');
SELECT sp.set_form_mapping('bad', '{"attributes": {"nonexistent_var": "x"}, "members": {"repeat": "m", "fields": {"relationship_to_head": "m/r"}}}');
SELECT sp.set_form_mapping('bad', '{"members": {"repeat": "m", "fields": {"password": "m/p", "relationship_to_head": "m/r"}}}');
SELECT sp.set_form_mapping('bad', '{"sql": "DROP TABLE sp.person", "members": {"repeat": "m", "fields": {"relationship_to_head": "m/r"}}}');
SELECT sp.set_form_mapping('1bad', '{}');

-- a submission as KoboToolbox exports it: flat "group/field" keys, the
-- repeat a list of flat objects, numbers and codes as text
CREATE FUNCTION pg_temp.kobo(instance text, deprecated text, rooms text, members jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'start', '2026-11-20T08:00:00.000+03:00', 'end', '2026-11-20T08:25:13.000+03:00',
        'location/village', 'OD0101', 'location/gps', '2.0469 45.3182 9 4.5', 'dwelling/rooms', rooms,
        'members', members, '__version__', 'v3',
        'meta/instanceID', instance, 'meta/deprecatedID', deprecated))
$$;
-- ODK Central's JSON: nested groups
CREATE FUNCTION pg_temp.odk(instance text, deprecated text, rooms integer) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'end', '2026-11-21T10:00:00Z',
        'location', jsonb_build_object('village', 'OD0101'), 'dwelling', jsonb_build_object('rooms', rooms),
        'members', jsonb_build_array(jsonb_build_object('given_name', 'Faduma', 'family_name', 'Nur', 'sex', 'female', 'relation', '1')),
        'meta', jsonb_strip_nulls(jsonb_build_object('instanceID', instance, 'deprecatedID', deprecated))))
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;

-- a new household, sent from an offline device by the integration app
SET ROLE sp_test_odk_app;
SELECT r - 'household_id' - 'person_ids' - 'possible_duplicates' AS first
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000001', NULL, '2', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/dob": "1980-05-02", "members/sex": "female", "members/relation": "1", "members/nid": "OD-1-1"},
    {"members/given_name": "Bile", "members/family_name": "Bari", "members/dob": "1978", "members/sex": "male", "members/relation": "2"}]')) r;
-- the device resends it (a flaky connection): the same answer, nothing new
SELECT r ->> 'replayed' AS replayed, r ->> 'status' AS status
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000001', NULL, '2', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/dob": "1980-05-02", "members/sex": "female", "members/relation": "1", "members/nid": "OD-1-1"},
    {"members/given_name": "Bile", "members/family_name": "Bari", "members/dob": "1978", "members/sex": "male", "members/relation": "2"}]')) r;
RESET ROLE;
SELECT h.household_id AS h1, h.version FROM sp.household h WHERE h.admin_area_code = 'OD0101' \gset
SELECT count(*) AS households, min(h.attributes ->> 'rooms') AS rooms, min(round(ST_Y(h.location)::numeric, 4)) AS lat,
       (SELECT string_agg(p.given_name || ' ' || p.sex || ' ' || p.relationship_to_head, ', ' ORDER BY p.person_id) FROM sp.person p WHERE p.household_id = :h1) AS members
FROM sp.household h WHERE h.admin_area_code LIKE 'OD%';
-- both times kept: the device's (the form's end) and the server's
SELECT s.status, s.device_time = '2026-11-20T05:25:13Z' AS device_time_kept, s.received_at IS NOT NULL AS received_at_kept, s.form_version,
       r.source, r.device_time = s.device_time AS registration_has_it
FROM sp.form_submission s JOIN sp.registration_submission r ON r.household_id = s.household_id
WHERE s.instance_id = 'uuid:6d3a4c00-0000-4000-8000-000000000001';

-- an edit (rooms corrected, a child added): applied to the version it was made on
SET ROLE sp_test_odk_reg;
SELECT r - 'household_id' - 'person_ids' - 'members_not_in_edit' AS edit
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000002', 'uuid:6d3a4c00-0000-4000-8000-000000000001', '3', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/dob": "1980-05-02", "members/sex": "female", "members/relation": "1", "members/nid": "OD-1-1"},
    {"members/given_name": "Bile", "members/family_name": "Bari", "members/dob": "1978", "members/sex": "male", "members/relation": "2"},
    {"members/given_name": "Cali", "members/family_name": "Bari", "members/dob": "2026-01", "members/sex": "male", "members/relation": "3"}]')) r;
RESET ROLE;
SELECT h.version, h.attributes ->> 'rooms' AS rooms,
       (SELECT string_agg(p.given_name, ', ' ORDER BY p.person_id) FROM sp.person p WHERE p.household_id = :h1) AS members,
       (SELECT change_reason FROM sp.household_history hh WHERE hh.household_id = :h1 ORDER BY history_id DESC LIMIT 1) AS reason
FROM sp.household h WHERE h.household_id = :h1;

-- a second edit of the ORIGINAL (made on another tablet before the first
-- edit arrived): the household changed since: a conflict, nothing changed
SET ROLE sp_test_odk_reg;
SELECT r - 'household_id' - 'current' AS stale_edit
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000003', 'uuid:6d3a4c00-0000-4000-8000-000000000001', '9', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/sex": "female", "members/relation": "1"}]')) r;
-- resent (the instanceID written in capitals: the same instance): the same conflict
SELECT r ->> 'status' AS status, r ->> 'replayed' AS replayed
FROM sp.submit_form('hh_survey', pg_temp.kobo('UUID:6D3A4C00-0000-4000-8000-000000000003', 'uuid:6d3a4c00-0000-4000-8000-000000000001', '9', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/sex": "female", "members/relation": "1"}]')) r;
-- the same instanceID with other content is refused
SELECT sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000003', 'uuid:6d3a4c00-0000-4000-8000-000000000001', '8', '[]'));
RESET ROLE;
SELECT h.version, h.attributes ->> 'rooms' AS rooms_unchanged FROM sp.household h WHERE h.household_id = :h1;

-- an edit of the last applied one that leaves a member out, or puts another
-- person at a registered person's position, is a conflict: nobody's record
-- is overwritten with someone else's
SELECT r ->> 'status' AS status, r ->> 'reason' AS reason
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000011', 'uuid:6d3a4c00-0000-4000-8000-000000000002', '3', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/dob": "1980-05-02", "members/sex": "female", "members/relation": "1"},
    {"members/given_name": "Cali", "members/family_name": "Bari", "members/dob": "2026-01", "members/sex": "male", "members/relation": "3"}]')) r;
SELECT r ->> 'status' AS status, r ->> 'reason' AS reason
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000012', 'uuid:6d3a4c00-0000-4000-8000-000000000002', '3', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/dob": "1980-05-02", "members/sex": "female", "members/relation": "1"},
    {"members/given_name": "Cali", "members/family_name": "Bari", "members/dob": "2026-01", "members/sex": "male", "members/relation": "3"},
    {"members/given_name": "Bile", "members/family_name": "Bari", "members/dob": "1978", "members/sex": "male", "members/relation": "2"}]')) r;
RESET ROLE;
SELECT string_agg(p.given_name || ' ' || p.relationship_to_head, ', ' ORDER BY p.person_id) AS members_unchanged FROM sp.person p WHERE p.household_id = :h1;
SET ROLE sp_test_odk_reg;
-- an office correction of a member after the last edit: an edit of that
-- edit made on the device is a conflict too (the member changed)
SELECT min(person_id) AS amina FROM sp.person WHERE household_id = :h1 \gset
SET ROLE sp_test_odk_reg;
SELECT sp.update_person(:amina, '{"other_names": "Xalimo"}', 'office correction') ->> 'version' AS corrected;
SELECT r ->> 'status' AS status, r ->> 'reason' AS reason
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000004', 'uuid:6d3a4c00-0000-4000-8000-000000000002', '4', '[
    {"members/given_name": "Amina", "members/family_name": "Bari", "members/sex": "female", "members/relation": "1"}]')) r;
-- an edit whose original never arrived
SELECT r ->> 'status' AS status, r ->> 'reason' AS reason
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000005', 'uuid:6d3a4c00-0000-4000-8000-0000000000ff', '1', '[]')) r;
RESET ROLE;
SELECT instance_id, status, deprecated_id FROM sp.form_submission WHERE form_id = 'hh_survey' ORDER BY instance_id;

-- the integration app may register but not edit; a registrar of the South
-- cannot edit a household of the North
SET ROLE sp_test_odk_app;
SELECT sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-000000000006', 'uuid:6d3a4c00-0000-4000-8000-000000000002', 5));
SET ROLE sp_test_odk_south;
-- (answered as an edit of a submission never received: nothing says it exists elsewhere)
SELECT r ->> 'status' AS south_edit, r ->> 'reason' AS reason, r ? 'household_id' AS names_household
FROM sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-000000000007', 'uuid:6d3a4c00-0000-4000-8000-000000000002', 5)) r;
-- nor learn about it by resending its instanceID
SELECT sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000001', NULL, '2', '[]'));
-- a caseworker may edit but not register
RESET ROLE;
CREATE ROLE sp_test_odk_cw IN ROLE sp_caseworker;
SELECT sp.grant_area_scope('sp_test_odk_cw', 'OD') IS NOT NULL AS cw;
SET ROLE sp_test_odk_cw;
SELECT sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-000000000013', NULL, 1));
RESET ROLE;
-- an edit that blanks an answer removes it
SET ROLE sp_test_odk_reg;
SELECT r ->> 'status' AS registered FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000020', NULL, '4', '[
    {"members/given_name": "Hawa", "members/family_name": "Jama", "members/sex": "female", "members/relation": "1"}]')) r;
SELECT r ->> 'status' AS edited FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000021', 'uuid:6d3a4c00-0000-4000-8000-000000000020', '', '[
    {"members/given_name": "Hawa", "members/family_name": "Jama", "members/sex": "female", "members/relation": "1"}]')) r;
RESET ROLE;
SELECT h.attributes ? 'rooms' AS still_has_rooms, h.version FROM sp.household h JOIN sp.person p USING (household_id) WHERE p.given_name = 'Hawa';
-- a caseworker's device edits it (a child added)
SET ROLE sp_test_odk_cw;
SELECT r ->> 'status' AS caseworker_edit, jsonb_array_length(r -> 'person_ids') AS members
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000022', 'uuid:6d3a4c00-0000-4000-8000-000000000021', '2', '[
    {"members/given_name": "Hawa", "members/family_name": "Jama", "members/sex": "female", "members/relation": "1"},
    {"members/given_name": "Iman", "members/family_name": "Jama", "members/sex": "female", "members/relation": "3"}]')) r;
RESET ROLE;
-- a question the submission leaves out (KoboToolbox omits unanswered and
-- hidden ones; an older form version lacks it) changes nothing: rooms and
-- the national ID stay
SET ROLE sp_test_odk_reg;
SELECT r ->> 'status' AS registered FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000030', NULL, '5', '[
    {"members/given_name": "Idil", "members/family_name": "Omar", "members/dob": "1990-07-07", "members/sex": "female", "members/relation": "1", "members/nid": "OD-3-1"},
    {"members/given_name": "Asha", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"},
    {"members/given_name": "Ayan", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"}]')) r;
SELECT r ->> 'status' AS edited FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000031', 'uuid:6d3a4c00-0000-4000-8000-000000000030', NULL, '[
    {"members/given_name": "Idil", "members/family_name": "Omar", "members/dob": "1990-07-07", "members/sex": "female", "members/relation": "1"},
    {"members/given_name": "Asha", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"},
    {"members/given_name": "Ayan", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"}]')) r;
RESET ROLE;
SELECT h.version AS household_version, h.attributes ->> 'rooms' AS rooms_kept, p.national_id_hash IS NOT NULL AS national_id_kept
FROM sp.household h JOIN sp.person p USING (household_id) WHERE p.given_name = 'Idil';
-- twins swapped in the repeat (same family name and birth date): each agrees
-- with the other's record as well as with their own, so a conflict; and a
-- member whose given name and birth date both changed at once is a conflict
SET ROLE sp_test_odk_reg;
SELECT r ->> 'status' AS twins_swapped, r ->> 'reason' AS reason
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000032', 'uuid:6d3a4c00-0000-4000-8000-000000000031', '5', '[
    {"members/given_name": "Idil", "members/family_name": "Omar", "members/dob": "1990-07-07", "members/sex": "female", "members/relation": "1"},
    {"members/given_name": "Ayan", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"},
    {"members/given_name": "Asha", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"}]')) r;
SELECT r ->> 'status' AS two_fields_changed
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000033', 'uuid:6d3a4c00-0000-4000-8000-000000000031', '5', '[
    {"members/given_name": "Ildi", "members/family_name": "Omar", "members/dob": "1991-07-07", "members/sex": "female", "members/relation": "1"},
    {"members/given_name": "Asha", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"},
    {"members/given_name": "Ayan", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"}]')) r;
-- one field corrected (the birth date) passes
SELECT r ->> 'status' AS one_field_corrected
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000034', 'uuid:6d3a4c00-0000-4000-8000-000000000031', '5', '[
    {"members/given_name": "Idil", "members/family_name": "Omar", "members/dob": "1991-07-07", "members/sex": "female", "members/relation": "1"},
    {"members/given_name": "Asha", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"},
    {"members/given_name": "Ayan", "members/family_name": "Omar", "members/dob": "2015-03-03", "members/sex": "female", "members/relation": "3"}]')) r;
RESET ROLE;
SELECT string_agg(p.given_name || ' ' || to_char(p.birth_date, 'YYYY-MM-DD'), ', ' ORDER BY p.person_id) AS omar_members
FROM sp.person p JOIN sp.person i ON i.household_id = p.household_id AND i.given_name = 'Idil';
-- once the key a fingerprint was made with is gone (retired after a
-- rotation), a resend cannot be compared: the first answer, and it says so
UPDATE sp.form_submission SET fingerprint_key = 32000 WHERE instance_id = 'uuid:6d3a4c00-0000-4000-8000-000000000030';
SET ROLE sp_test_odk_reg;
SELECT r ->> 'replayed' AS replayed, r ->> 'content_checked' AS content_checked
FROM sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000030', NULL, '6', '[]')) r;
RESET ROLE;
-- ODK Central's nested JSON registers too
SET ROLE sp_test_odk_app;
SELECT r ->> 'status' AS status, r ->> 'kind' AS kind FROM sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-000000000008', NULL, 1)) r;
-- bad submissions: named field, nothing stored
SELECT sp.submit_form('hh_survey', pg_temp.odk(NULL, NULL, 1));
SELECT sp.submit_form('hh_survey', pg_temp.odk('instance-7', NULL, 1));
SELECT sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-000000000009', 'uuid:6d3a4c00-0000-4000-8000-000000000009', 1));
SELECT sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-00000000000a', NULL, 1) || '{"end": "yesterday"}');
SELECT sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-00000000000b', NULL, 1) || '{"location": {"village": "OD0101", "gps": "north of the well"}}');
SELECT sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-00000000000c', NULL, 1) - 'members');
SELECT sp.submit_form('hh_survey', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-00000000000d', NULL, 1) || '{"dwelling": {"rooms": "many"}}');
SELECT sp.submit_form('hh_survey', jsonb_set(pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-00000000000e', NULL, 1), '{members,0,relation}', '"9"'));
SELECT sp.submit_form('no_such_form', pg_temp.odk('uuid:6d3a4c00-0000-4000-8000-00000000000f', NULL, 1));
SELECT sp.submit_form('hh_survey', '[1, 2]');
-- the same instanceID with other content is refused (the registration's fingerprint)
SELECT sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000010', NULL, '2', '[{"members/given_name": "Once", "members/relation": "1"}]')) ->> 'status' AS status;
RESET ROLE;
DELETE FROM sp.form_submission WHERE instance_id = 'uuid:6d3a4c00-0000-4000-8000-000000000010';
SET ROLE sp_test_odk_app;
SELECT sp.submit_form('hh_survey', pg_temp.kobo('uuid:6d3a4c00-0000-4000-8000-000000000010', NULL, '2', '[{"members/given_name": "Twice", "members/relation": "1"}]'));
RESET ROLE;
SELECT count(*) AS stored_submissions, count(*) FILTER (WHERE status = 'conflict') AS conflicts FROM sp.form_submission WHERE form_id = 'hh_survey';
-- no personal data kept with the submissions
SELECT count(*) AS with_names FROM sp.form_submission WHERE outcome::text ~ 'Amina|Bari|OD-1-1';
-- a mapping's versions are kept
SELECT sp.set_form_mapping('hh_survey', (SELECT mapping FROM sp.form_mapping WHERE form_id = 'hh_survey') - 'location', 'Household survey 2026, no GPS') ->> 'title' AS title;
SELECT form_id, title, mapping ? 'location' AS has_location FROM sp.form_mapping_history WHERE form_id = 'hh_survey' ORDER BY history_id;
SET ROLE sp_test_odk_reg;
SELECT sp.set_form_mapping('mine', '{"members": {"repeat": "m", "fields": {"relationship_to_head": "m/r"}}}');
RESET ROLE;

DROP OWNED BY sp_test_odk_reg, sp_test_odk_app, sp_test_odk_south, sp_test_odk_cw;
DROP ROLE sp_test_odk_reg, sp_test_odk_app, sp_test_odk_south, sp_test_odk_cw;
