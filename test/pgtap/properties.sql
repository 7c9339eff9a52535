-- Properties of validation that must hold for any input.
BEGIN;
SELECT plan(9);

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('PR', NULL, 0, 'Propertyland');

-- random printable names (no spaces, seeded): all accepted and stored exactly
SELECT setseed(0.42);
CREATE TEMP TABLE names AS
SELECT i, convert_from(decode(string_agg(lpad(to_hex(33 + (random() * 93)::int), 2, '0'), ''), 'hex'), 'UTF8') AS name
FROM generate_series(1, 200) i, generate_series(1, 1 + (i % 30)) j GROUP BY i;
SELECT is((SELECT count(*)::int FROM names n
           WHERE (sp.register_household(jsonb_build_object('admin_area_code', 'PR',
                  'members', jsonb_build_array(jsonb_build_object('given_name', n.name, 'relationship_to_head', 'head'))))
                  ->> 'household_id') IS NULL), 0, 'printable ASCII names of 1..30 characters are all accepted');
SELECT is((SELECT count(DISTINCT n.i)::int FROM names n JOIN sp.person p ON p.given_name = n.name), 200,
          'and stored exactly');

SELECT throws_ok($$SELECT sp.register_household('{"admin_area_code": "PR", "members": [{"given_name": "a\u0000b", "relationship_to_head": "head"}]}')$$,
                 '22P05', NULL, 'NUL escapes are refused by the JSON parser');
SELECT throws_ok($$SELECT sp.register_household('{"admin_area_code": "PR", "members": [{"given_name": "a\u001bb", "relationship_to_head": "head"}]}')$$,
                 '22P02', 'members[0].given_name: control character not allowed at character 2', 'ESC in a name is refused with its position');
SELECT throws_ok($$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'PR', 'members',
                   jsonb_build_array(jsonb_build_object('given_name', repeat('ß', 201), 'relationship_to_head', 'head'))))$$,
                 '22001', 'members[0].given_name: value longer than 200 characters', 'length is counted in characters');
SELECT lives_ok($$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'PR', 'members',
                   jsonb_build_array(jsonb_build_object('given_name', repeat('ß', 200), 'relationship_to_head', 'head'))))$$,
                'exactly 200 multi-byte characters are accepted');

-- the parser of partial dates agrees with PostgreSQL's calendar for every day of 1900..2030
SELECT is_empty($$
    SELECT d FROM generate_series('1900-01-01'::date, '2030-12-31', '1 day') d
    WHERE (sp.parse_birth_date(to_char(d, 'YYYY-MM-DD'))).birth_date <> d
$$, 'every real day parses to itself');
CREATE FUNCTION pg_temp.parses(value text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sp.parse_birth_date(value);
    RETURN true;
EXCEPTION WHEN datetime_field_overflow THEN
    RETURN false;
END
$$;
SELECT is((SELECT count(*)::int FROM generate_series(1900, 2030) y, generate_series(1, 12) m, generate_series(29, 31) dd
           WHERE pg_temp.parses(format('%s-%s-%s', y, lpad(m::text, 2, '0'), dd))),
          (SELECT count(*)::int FROM generate_series(1900, 2030) y, generate_series(1, 12) m, generate_series(29, 31) dd
           WHERE dd <= extract(day FROM (make_date(y, m, 1) + interval '1 month' - interval '1 day'))),
          'days 29-31 are accepted exactly when the month has them');
SELECT is((sp.parse_birth_date('1984')).birth_date_precision, 'year', 'year-only dates keep their precision');

SELECT * FROM finish();
ROLLBACK;
