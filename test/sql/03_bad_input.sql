-- Every bad input gets a clear error with an errcode and the offending field,
\set SHOW_CONTEXT never
-- and nothing is stored.  Runs after 02_registration (areas TL, TL0101 exist).

CREATE FUNCTION pg_temp.try_register(doc jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    col text;
BEGIN
    PERFORM sp.register_household(doc);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, col = COLUMN_NAME;
    RETURN st || ' [' || coalesce(col, '-') || '] ' || msg;
END
$$;

-- a valid base document, changed one way per case
CREATE TEMP TABLE base AS SELECT $${
  "submission_id": "00000000-0000-4000-8000-0000000000b0",
  "admin_area_code": "TL0101",
  "location": {"lat": 1.5, "lon": 31.0},
  "attributes": {"rooms": 3, "electricity": true},
  "members": [
    {"given_name": "Halima", "family_name": "Said", "birth_date": "1990-02-28", "sex": "F",
     "relationship_to_head": "head", "national_id": "A1234567"},
    {"given_name": "Omar", "family_name": "Said", "birth_date": "2019", "sex": "M",
     "relationship_to_head": "child"}
  ]}$$::jsonb AS doc;

CREATE TEMP TABLE counts_before AS
SELECT (SELECT count(*) FROM sp.household) AS households, (SELECT count(*) FROM sp.person) AS persons,
       (SELECT count(*) FROM sp.registration_submission) AS submissions;

SELECT name, pg_temp.try_register(doc) AS outcome FROM (VALUES
  ('not an object',            '[1, 2]'::jsonb),
  ('unknown top-level field',  (SELECT doc || '{"members_x": []}' FROM base)),
  ('bad submission_id',        (SELECT jsonb_set(doc, '{submission_id}', '"not-a-uuid"') FROM base)),
  ('missing admin area',       (SELECT doc - 'admin_area_code' - 'location' FROM base)),
  ('no area, point nowhere',   (SELECT jsonb_set(doc - 'admin_area_code', '{location}', '{"lat": -60, "lon": -150}') FROM base)),
  ('unknown admin area',       (SELECT jsonb_set(doc, '{admin_area_code}', '"ZZ99"') FROM base)),
  ('retired admin area',       (SELECT jsonb_set(doc, '{admin_area_code}', '"TL0102"') FROM base)),
  ('latitude out of range',    (SELECT jsonb_set(doc, '{location,lat}', '91') FROM base)),
  ('longitude out of range',   (SELECT jsonb_set(doc, '{location,lon}', '-180.5') FROM base)),
  ('location as string',       (SELECT jsonb_set(doc, '{location}', '"1.5,31.0"') FROM base)),
  ('unknown variable',         (SELECT jsonb_set(doc, '{attributes,favourite_colour}', '"blue"') FROM base)),
  ('integer as string',        (SELECT jsonb_set(doc, '{attributes,rooms}', '"three"') FROM base)),
  ('integer with fraction',    (SELECT jsonb_set(doc, '{attributes,rooms}', '2.5') FROM base)),
  ('integer above max',        (SELECT jsonb_set(doc, '{attributes,rooms}', '51') FROM base)),
  ('numeric below min',        (SELECT jsonb_set(doc, '{attributes,land_area_ha}', '-1') FROM base)),
  ('boolean as string',        (SELECT jsonb_set(doc, '{attributes,electricity}', '"yes"') FROM base)),
  ('category not allowed',     (SELECT jsonb_set(doc, '{attributes,dwelling_type}', '"castle"') FROM base)),
  ('person variable wrong',    (SELECT jsonb_set(doc, '{members,0,attributes}', '{"education_level": "phd"}') FROM base)),
  ('household var on person',  (SELECT jsonb_set(doc, '{members,0,attributes}', '{"rooms": 1}') FROM base)),
  ('attributes not object',    (SELECT jsonb_set(doc, '{attributes}', '[1]') FROM base)),
  ('members missing',          (SELECT doc - 'members' FROM base)),
  ('members empty',            (SELECT jsonb_set(doc, '{members}', '[]') FROM base)),
  ('members not array',        (SELECT jsonb_set(doc, '{members}', '{}') FROM base)),
  ('101 members',              (SELECT jsonb_set(doc, '{members}', (SELECT jsonb_agg(CASE WHEN i = 1 THEN doc -> 'members' -> 0 ELSE doc -> 'members' -> 1 END) FROM generate_series(1, 101) i)) FROM base)),
  ('member not object',        (SELECT jsonb_set(doc, '{members,1}', '"Omar"') FROM base)),
  ('unknown member field',     (SELECT jsonb_set(doc, '{members,1,nickname}', '"O"') FROM base)),
  ('no name',                  (SELECT jsonb_set(doc, '{members,1}', (doc -> 'members' -> 1) - 'given_name' - 'family_name') FROM base)),
  ('blank name',               (SELECT jsonb_set(doc, '{members,1,given_name}', '"   "') FROM base)),
  ('name not string',          (SELECT jsonb_set(doc, '{members,1,given_name}', '42') FROM base)),
  ('name with control char',   (SELECT jsonb_set(doc, '{members,1,given_name}', '"Om\u0007ar"') FROM base)),
  ('name with newline',        (SELECT jsonb_set(doc, '{members,1,family_name}', '"Said\nDROP"') FROM base)),
  ('name 201 characters',      (SELECT jsonb_set(doc, '{members,1,given_name}', to_jsonb(repeat('é', 201))) FROM base)),
  ('name 1 MB',                (SELECT jsonb_set(doc, '{members,1,given_name}', to_jsonb(repeat('x', 1048576))) FROM base)),
  ('birth date in future',     (SELECT jsonb_set(doc, '{members,1,birth_date}', '"2999-01-01"') FROM base)),
  ('birth year in future',     (SELECT jsonb_set(doc, '{members,1,birth_date}', to_jsonb((extract(year FROM current_date) + 1)::text)) FROM base)),
  ('birth date Feb 30',        (SELECT jsonb_set(doc, '{members,1,birth_date}', '"2019-02-30"') FROM base)),
  ('birth date Feb 29 1900',   (SELECT jsonb_set(doc, '{members,1,birth_date}', '"1900-02-29"') FROM base)),
  ('birth month 13',           (SELECT jsonb_set(doc, '{members,1,birth_date}', '"2019-13"') FROM base)),
  ('birth date 1800',          (SELECT jsonb_set(doc, '{members,1,birth_date}', '"1800-01-01"') FROM base)),
  ('birth date day-first',     (SELECT jsonb_set(doc, '{members,1,birth_date}', '"28/02/2019"') FROM base)),
  ('birth date as number',     (SELECT jsonb_set(doc, '{members,1,birth_date}', '2019') FROM base)),
  ('sex lower case',           (SELECT jsonb_set(doc, '{members,1,sex}', '"m"') FROM base)),
  ('unknown relationship',     (SELECT jsonb_set(doc, '{members,1,relationship_to_head}', '"cousin_twice_removed"') FROM base)),
  ('missing relationship',     (SELECT jsonb_set(doc, '{members,1}', (doc -> 'members' -> 1) - 'relationship_to_head') FROM base)),
  ('two heads',                (SELECT jsonb_set(doc, '{members,1,relationship_to_head}', '"head"') FROM base)),
  ('no head',                  (SELECT jsonb_set(doc, '{members,0,relationship_to_head}', '"spouse"') FROM base)),
  ('national ID with symbols', (SELECT jsonb_set(doc, '{members,0,national_id}', '"A12#4567"') FROM base)),
  ('national ID too long',     (SELECT jsonb_set(doc, '{members,0,national_id}', to_jsonb(repeat('9', 65))) FROM base)),
  ('national ID twice',        (SELECT jsonb_set(doc, '{members,1,national_id}', '"a-1234567"') FROM base)),
  ('phone with letters',       (SELECT jsonb_set(doc, '{members,0,phone}', '"call me"') FROM base)),
  ('device_time not a time',   (SELECT jsonb_set(doc, '{device_time}', '"yesterday"') FROM base)),
  ('device_time Feb 30',       (SELECT jsonb_set(doc, '{device_time}', '"2026-02-30T10:00:00Z"') FROM base))
) AS cases (name, doc)
ORDER BY name;

SELECT pg_temp.try_register(NULL) AS null_document;

-- malformed JSON and invalid UTF-8 never reach the function
SELECT sp.register_household('{"admin_area_code": "TL0101", "members": [');
SELECT sp.register_household('{"admin_area_code": "TL0101", "members": [{"given_name": "\ud800"}]}');
SELECT sp.register_household(convert_from('\x7b2261223a2022ff227d'::bytea, 'UTF8')::jsonb);

-- nothing was stored by any of the above
SELECT (SELECT count(*) FROM sp.household) - households AS new_households,
       (SELECT count(*) FROM sp.person) - persons AS new_persons,
       (SELECT count(*) FROM sp.registration_submission) - submissions AS new_submissions
FROM counts_before;

-- the base document itself is fine, and a changed replay of it is refused
SELECT pg_temp.try_register(doc) AS base_document FROM base;
SELECT pg_temp.try_register(jsonb_set(doc, '{members,1,given_name}', '"Umar"')) AS changed_replay FROM base;

-- bad batches: the batch must be an array; bad documents go to sp.import_error
SELECT sp.import_registrations('{"not": "an array"}');
SELECT sp.import_registrations(NULL);
SELECT r - 'batch_id' - 'errors' AS counts, jsonb_array_length(r -> 'errors') AS errors
FROM sp.import_registrations((SELECT jsonb_agg(d) FROM (
    SELECT jsonb_set(jsonb_set(doc, '{submission_id}', to_jsonb(format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')))),
                     '{members,1,birth_date}', to_jsonb(CASE WHEN i % 3 = 0 THEN '2999' ELSE '2019' END)) AS d
    FROM base, generate_series(1000, 1011) i) s)) r;
SELECT field, sqlstate, message, count(*) FROM sp.import_error
WHERE batch_id = (SELECT max(batch_id) FROM sp.import_batch) GROUP BY 1, 2, 3;
