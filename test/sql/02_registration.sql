-- Registration happy path, replays and batch import.
\set SHOW_CONTEXT never

INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from, valid_to, geom) VALUES
    ('TL', NULL, 0, 'Testland', '2000-01-01', NULL,
     ST_Multi(ST_MakeEnvelope(30, -5, 40, 5, 4326))),
    ('TL01', 'TL', 1, 'North', '2000-01-01', NULL, ST_Multi(ST_MakeEnvelope(30, 0, 40, 5, 4326))),
    ('TL0101', 'TL01', 2, 'North Hills', '2000-01-01', NULL, ST_Multi(ST_MakeEnvelope(30, 0, 35, 5, 4326))),
    ('TL0102', 'TL01', 2, 'North Lakes', '2000-01-01', '2020-01-01', NULL);

-- a child must be one level below its parent
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('TL010101X', 'TL0101', 4, 'Too deep');
SELECT code, depth FROM sp.admin_area_subtree('TL01') ORDER BY code;

SELECT sp.register_household($${
  "submission_id": "00000000-0000-4000-8000-000000000001",
  "device_time": "2026-03-01T08:15:00+03:00",
  "source": "tablet-17",
  "admin_area_code": "TL0101",
  "location": {"lat": 2.5, "lon": 32.25},
  "attributes": {"rooms": 2, "electricity": false, "dwelling_type": "hut", "land_area_ha": 0.75},
  "members": [
    {"given_name": "Amina", "family_name": "Odhiambo", "birth_date": "1985-03-14", "sex": "F",
     "relationship_to_head": "head", "national_id": "12-345-678", "phone": "+254 712 345 678",
     "attributes": {"education_level": "secondary", "employment": "farmer"}},
    {"given_name": "Baraka", "family_name": "Odhiambo", "birth_date": "2015-06", "sex": "M",
     "relationship_to_head": "child", "attributes": {"in_school": true}},
    {"given_name": "Zoë", "family_name": "Ódhiambo-Núñez", "other_names": "Мария", "birth_date": "1950",
     "sex": "F", "relationship_to_head": "parent"}
  ]}$$) AS result;

SELECT person_id, household_id, given_name, family_name, other_names, birth_date, birth_date_precision,
       sex, relationship_to_head, national_id_enc IS NOT NULL AS id_encrypted,
       length(national_id_hash) AS hash_bytes, phone_hash IS NOT NULL AS phone_indexed, attributes, status, version
FROM sp.person ORDER BY person_id;

SELECT household_id, admin_area_code, ST_AsText(location) AS location, attributes, status, version
FROM sp.household;

-- the household sits inside its area's boundary
SELECT ST_Contains(a.geom, h.location) AS inside_area
FROM sp.household h JOIN sp.admin_area a ON a.code = h.admin_area_code;

SELECT submission_id, household_id, person_ids, source, device_time AT TIME ZONE 'UTC' AS device_time_utc,
       received_at <= now() AS received_by_server
FROM sp.registration_submission;

-- the encrypted national ID is not the plain text
SELECT position('12345678' IN encode(national_id_enc, 'escape')) = 0
   AND position('12-345-678' IN encode(national_id_enc, 'escape')) = 0 AS ciphertext_hides_id
FROM sp.person WHERE person_id = 1;

-- replay of the same submission: same ids, nothing inserted
SELECT sp.register_household($${
  "submission_id": "00000000-0000-4000-8000-000000000001",
  "device_time": "2026-03-02T09:00:00+03:00",
  "source": "tablet-17",
  "admin_area_code": "TL0101",
  "location": {"lat": 2.5, "lon": 32.25},
  "attributes": {"rooms": 2, "electricity": false, "dwelling_type": "hut", "land_area_ha": 0.75},
  "members": [
    {"given_name": "Amina", "family_name": "Odhiambo", "birth_date": "1985-03-14", "sex": "F",
     "relationship_to_head": "head", "national_id": "12-345-678", "phone": "+254 712 345 678",
     "attributes": {"education_level": "secondary", "employment": "farmer"}},
    {"given_name": "Baraka", "family_name": "Odhiambo", "birth_date": "2015-06", "sex": "M",
     "relationship_to_head": "child", "attributes": {"in_school": true}},
    {"given_name": "Zoë", "family_name": "Ódhiambo-Núñez", "other_names": "Мария", "birth_date": "1950",
     "sex": "F", "relationship_to_head": "parent"}
  ]}$$) AS replay;
SELECT (SELECT count(*) FROM sp.household) AS households, (SELECT count(*) FROM sp.person) AS persons;

-- a document without submission_id registers (on-demand desk) but cannot be replayed
SELECT sp.register_household('{"admin_area_code": "TL0101",
  "members": [{"family_name": "Mwangi", "relationship_to_head": "head", "sex": "X"}]}') AS walk_in;

-- batch import: 2 new, 1 replay of the first registration (device time restamped), 2 bad, 1 repeated inside the batch
SELECT sp.import_registrations($$[
  {"submission_id": "00000000-0000-4000-8000-000000000010", "admin_area_code": "TL01",
   "members": [{"given_name": "Juma", "relationship_to_head": "head", "birth_date": "1970"}]},
  {"submission_id": "00000000-0000-4000-8000-000000000011", "admin_area_code": "TL0101",
   "device_time": "2026-11-01",
   "members": [{"given_name": "Neema", "relationship_to_head": "head", "national_id": "99 88 77"},
               {"given_name": "Imani", "relationship_to_head": "spouse", "national_id": "99-88-76"}]},
  {"submission_id": "00000000-0000-4000-8000-000000000001", "device_time": "2026-03-05T00:00:00Z",
   "source": "tablet-17", "admin_area_code": "TL0101", "location": {"lat": 2.5, "lon": 32.25},
   "attributes": {"rooms": 2, "electricity": false, "dwelling_type": "hut", "land_area_ha": 0.75},
   "members": [
    {"given_name": "Amina", "family_name": "Odhiambo", "birth_date": "1985-03-14", "sex": "F",
     "relationship_to_head": "head", "national_id": "12-345-678", "phone": "+254 712 345 678",
     "attributes": {"education_level": "secondary", "employment": "farmer"}},
    {"given_name": "Baraka", "family_name": "Odhiambo", "birth_date": "2015-06", "sex": "M",
     "relationship_to_head": "child", "attributes": {"in_school": true}},
    {"given_name": "Zoë", "family_name": "Ódhiambo-Núñez", "other_names": "Мария", "birth_date": "1950",
     "sex": "F", "relationship_to_head": "parent"}]},
  {"submission_id": "00000000-0000-4000-8000-000000000012", "admin_area_code": "TL0102",
   "members": [{"given_name": "Retired", "relationship_to_head": "head"}]},
  {"admin_area_code": "TL0101", "members": [{"given_name": "NoId", "relationship_to_head": "head",
   "national_id": "5551234"}]},
  {"submission_id": "00000000-0000-4000-8000-000000000010", "admin_area_code": "TL01",
   "members": [{"given_name": "Juma", "relationship_to_head": "head", "birth_date": "1970"}]}
]$$) AS import;

SELECT batch_index, submission_id, document, sqlstate, field, message FROM sp.import_error ORDER BY error_id;
SELECT documents, inserted, duplicates_skipped, rejected FROM sp.import_batch;

-- replaying the whole batch inserts nothing new
SELECT sp.import_registrations($$[
  {"submission_id": "00000000-0000-4000-8000-000000000010", "admin_area_code": "TL01",
   "members": [{"given_name": "Juma", "relationship_to_head": "head", "birth_date": "1970"}]},
  {"submission_id": "00000000-0000-4000-8000-000000000011", "admin_area_code": "TL0101",
   "device_time": "2026-11-01",
   "members": [{"given_name": "Neema", "relationship_to_head": "head", "national_id": "99 88 77"},
               {"given_name": "Imani", "relationship_to_head": "spouse", "national_id": "99-88-76"}]}
]$$) - 'batch_id' AS replayed_import;
SELECT (SELECT count(*) FROM sp.household) AS households, (SELECT count(*) FROM sp.person) AS persons;

-- a corrected resubmission of a rejected document lands
SELECT sp.import_registrations($$[
  {"submission_id": "00000000-0000-4000-8000-000000000012", "admin_area_code": "TL0101",
   "members": [{"given_name": "Retired", "relationship_to_head": "head"}]}]$$) - 'batch_id' AS corrected;

-- an empty batch is fine
SELECT sp.import_registrations('[]') - 'batch_id' AS empty_batch;

-- the same submission_id twice in one batch with different content: the second is refused
SELECT sp.import_registrations($$[
  {"submission_id": "00000000-0000-4000-8000-000000000020", "admin_area_code": "TL01",
   "members": [{"given_name": "First", "relationship_to_head": "head"}]},
  {"submission_id": "00000000-0000-4000-8000-000000000020", "admin_area_code": "TL01",
   "members": [{"given_name": "Second", "relationship_to_head": "head"}]}
]$$) - 'batch_id' AS conflicting_batch;

-- replay detection ignores key order, white space and device_time, but not content
CREATE FUNCTION pg_temp.fp(d jsonb) RETURNS bytea LANGUAGE sql AS $$ SELECT sp_internal.document_fingerprint(d, '\x000102030405060708090a0b0c0d0e0f'::bytea) $$;
SELECT pg_temp.fp('{"a": 1, "b": {"c": [1, 2]}, "device_time": "2026-01-01"}')
     = pg_temp.fp('{ "b" : {"c":[1,2]} , "a":1 }') AS same_document,
       pg_temp.fp('{"a": 1, "b": {"c": [1, 2]}}')
    <> pg_temp.fp('{"a": 1, "b": {"c": [2, 1]}}') AS array_order_matters,
       pg_temp.fp('{"a": "1"}') <> pg_temp.fp('{"a": 1}') AS string_differs_from_number,
       pg_temp.fp('{"x": {"device_time": 1}}') <> pg_temp.fp('{"x": {}}') AS only_top_level_device_time_ignored,
       pg_temp.fp('{"a": 1, "b": 2}') <> pg_temp.fp('{"ab": 12}') AS keys_and_values_are_framed,
       pg_temp.fp('{"a": 1}') <> sp_internal.document_fingerprint('{"a": 1}', '\x101112131415161718191a1b1c1d1e1f') AS keyed,
       pg_temp.fp('{"a": 1}') <> sha256(convert_to('{"a": 1}', 'UTF8')) AS not_a_bare_digest;
SELECT sp_internal.document_fingerprint('{"a": 1}', '\x0001');
