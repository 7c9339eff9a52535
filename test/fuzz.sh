#!/usr/bin/env bash
# Hostile input against every C entry point a role can reach: the LANGUAGE C
# functions of schemas sp and sp_internal and the SQL functions that call
# into C (comparators, normalisers, date parsing, validators, registration
# and import, linkage training / matching / explaining / scoring, clusters,
# PMT scoring, the document fingerprint).  Random bytes and invalid UTF-8
# (text made from bytea through a cast that skips validation: a superuser,
# a corrupt page or another extension can hand such text to a C function),
# 1 MB values, NULLs (in every argument of every C function, found in the
# catalog), empty strings, empty relations, negative and extreme ids, NaN /
# Infinity / 1e400 in numbers and model params, deeply nested JSON, huge
# arrays.  About 30 seconds.
#
# Errors are the expected outcome; a signal is not.  A case fails when the
# server log shows "terminated by signal", when the postmaster start time
# changed (the server restarted) or when the connection was lost.  The last
# "case ..." notice a failing case printed names the call that did it.
#
# Usage: test/fuzz.sh [seed]  (PG* environment of a running cluster, as a
# superuser; make test runs it through scripts/run-tests.sh).  Output is TAP.
# Deterministic: the corpora come from setseed(seed) and fixed lists.
set -uo pipefail
cd "$(dirname "$0")/.."

seed="${1:-${FUZZ_SEED:-20261130}}"
timeout="${FUZZ_STATEMENT_TIMEOUT:-60s}"
db=sp_registry_fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# The server log: pg_lsclusters lists it for the cluster on our port (what
# pg_virtualenv and Debian clusters use); else the logging collector's file.
server_log=$(pg_lsclusters -h 2>/dev/null | awk -v port="${PGPORT:-5432}" '$3 == port { print $7; exit }')
if [ -z "$server_log" ] || [ ! -r "$server_log" ]; then
  server_log=$(q -d postgres -c "SELECT CASE WHEN pg_current_logfile() IS NULL THEN '' WHEN pg_current_logfile() LIKE '/%' THEN pg_current_logfile()
                                  ELSE current_setting('data_directory') || '/' || pg_current_logfile() END" 2>/dev/null)
fi
[ -n "$server_log" ] && [ -r "$server_log" ] || server_log=""
log_bytes() { if [ -n "$server_log" ]; then stat -c %s "$server_log" 2>/dev/null || echo 0; else echo 0; fi; }
start_time() { q -d postgres -c "SELECT pg_postmaster_start_time()" 2>/dev/null; }
wait_for_server() { for _ in $(seq 1 60); do pg_isready -q -d postgres && return 0; sleep 0.5; done; return 1; }

started=$(start_time)
if [ -z "$started" ]; then echo "Bail out! no server to fuzz (PG* environment?)"; exit 1; fi

# ---------------------------------------------------------------------------
# Set-up: a database with the extension, a small registry and the corpora.
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db" >/dev/null
createdb -E UTF8 -T template0 "$db"

common_setup=$(cat <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION sp_registry CASCADE;
CREATE SCHEMA fuzz;
-- Runs one call; an error is an outcome like any other.  The notice goes to
-- the client at once, so a crash leaves the case that caused it as the last
-- line the client received.
CREATE FUNCTION fuzz.try(label text, query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'case %', label;
    EXECUTE query;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    -- the message may echo invalid bytes: shown as escaped bytes
    RAISE NOTICE 'error % %', SQLSTATE, encode(substring(textsend(SQLERRM) FROM 1 FOR 300), 'escape');
    RETURN SQLSTATE;
END
$$;
-- Outcomes of many tries, as "ok:12 22023:3".
CREATE FUNCTION fuzz.tally(outcomes text[]) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(o || ':' || n, ' ' ORDER BY o) FROM (SELECT o, count(*) AS n FROM unnest(outcomes) o GROUP BY o) s
$$;
-- Random strings of code points drawn from many scripts (and controls).
CREATE FUNCTION fuzz.random_text(len int) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(chr(CASE (random() * 9)::int
        WHEN 0 THEN 1 + (random() * 31)::int                 -- C0 controls
        WHEN 1 THEN 32 + (random() * 94)::int                -- ASCII
        WHEN 2 THEN 128 + (random() * 127)::int              -- C1 and Latin-1
        WHEN 3 THEN 1024 + (random() * 255)::int             -- Cyrillic
        WHEN 4 THEN 1536 + (random() * 255)::int             -- Arabic
        WHEN 5 THEN 768 + (random() * 111)::int              -- combining marks
        WHEN 6 THEN 19968 + (random() * 20000)::int          -- CJK
        WHEN 7 THEN 127744 + (random() * 1000)::int          -- emoji
        ELSE 57344 + (random() * 8000)::int END), ''), '')   -- private use and beyond
    FROM generate_series(1, len)
$$;
CREATE TABLE fuzz.text (i int PRIMARY KEY, v text);
CREATE TABLE fuzz.json (i int PRIMARY KEY, v jsonb);
CREATE TABLE fuzz.ids (i int PRIMARY KEY, v bigint);
INSERT INTO fuzz.ids (i, v) SELECT row_number() OVER (), v FROM unnest(ARRAY[
    -9223372036854775808, -9223372036854775807, -1, 0, 1, 2, 42, 2147483647, 2147483648, 9223372036854775807]::bigint[]) v;
-- a small registry to work on
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('FZ', NULL, 0, 'Fuzzland'), ('FZ01', 'FZ', 1, 'Fuzz North');
SELECT sp.register_household(jsonb_build_object('admin_area_code', 'FZ01',
    'attributes', jsonb_build_object('rooms', g % 5, 'electricity', g % 2 = 0),
    'members', jsonb_build_array(
        jsonb_build_object('given_name', 'Given' || (g % 23), 'family_name', 'Family' || (g % 19), 'sex', 'F',
                           'birth_date', (date '1950-01-01' + g * 97)::text, 'relationship_to_head', 'head',
                           'national_id', 'FZ' || lpad(g::text, 6, '0'), 'phone', '+2547' || lpad(g::text, 8, '0')),
        jsonb_build_object('given_name', 'Child' || g, 'family_name', 'Family' || (g % 19), 'sex', 'M',
                           'birth_date', (2000 + g % 20)::text, 'relationship_to_head', 'child'))))
FROM generate_series(1, 120) g;
CREATE TABLE fuzz.people AS
SELECT g::bigint AS id, 'Given' || (g % 37) AS given_name, 'Family' || (g % 41) AS family_name,
       date '1960-01-01' + g * 11 AS birth_date, lpad((g * 7919 % 100000)::text, 8, '0') AS national_id
FROM generate_series(1, 300) g;
SELECT sp.train_linkage_model('person', 'fuzz.people') IS NOT NULL;
SELECT sp.create_pmt_model('fz', '{"intercept": 1, "terms": [{"variable": "rooms", "coefficient": 0.5, "transform": "log1p"},
    {"variable": "electricity", "coefficient": 1}, {"variable": "household_size", "coefficient": -0.1, "transform": "log"}],
    "cutoffs": [{"value": 2}]}') IS NOT NULL;
SELECT sp.activate_pmt_model('fz', 1) IS NULL;
SQL
)

# The text corpus: fixed hostile values, then seeded random ones.
text_corpus=$(cat <<'SQL'
SELECT setseed(:seed_fraction);
INSERT INTO fuzz.text (i, v) SELECT row_number() OVER (), v FROM unnest(ARRAY[
    NULL, '', ' ', E'\t', '  a  ', 'a', 'Amina', 'O''Brien', 'Ódhiambo-Núñez', 'Иван Петров', 'محمد عبد الله', '王小明',
    'ß', repeat('Щ', 1000), repeat('中', 1000), repeat('😀', 1000), repeat('e' || chr(769), 600),
    repeat('x', 1000), repeat('x', 1001), repeat('x', 65535), repeat('x', 1048576), repeat('Ж', 524288),
    repeat('7', 65535), repeat('1', 1000) || 'é', repeat('a b ', 5000), repeat(' ', 10000),
    '%s%s%s%n%x', '\', '"', '''; DROP TABLE sp.person; --', '1e400', '-1e400', 'NaN', 'Infinity', '-0', '0',
    '12-345-678', '+254 712 345 678', '++254712', '(((((', repeat('9', 64), repeat('9', 65), repeat('9', 21),
    '0000', '0000-00-00', '2024-02-30', '2023-02-29', '2024-02-29', '9999-12-31', '10000-01-01', '1985-13-01',
    '1985-1-1', '19850314', '1985-03', '1985', '-1985', '+1985', '1985-03-14T00:00:00', 'today', 'infinity',
    '00000000-0000-4000-8000-000000000001', '00000000000040008000000000000001', '{00000000-0000-4000-8000-000000000001}',
    chr(8203) || chr(8205) || chr(65279), chr(8238) || 'evil', chr(1114111), chr(65533), chr(127), chr(133)
]::text[]) v;
INSERT INTO fuzz.text (i, v)
SELECT 1000 + g, fuzz.random_text(CASE WHEN g % 10 = 0 THEN 1500 ELSE (random() * 60)::int END)
FROM generate_series(1, 60) g;
SQL
)

# Random bytes and broken UTF-8.  The database is UTF8 and validates all
# text input, so the bytes go in through a binary-coercible cast from bytea,
# which exists only while the corpus is built.
bytes_corpus=$(cat <<'SQL'
SELECT setseed(:seed_fraction);
CREATE CAST (bytea AS text) WITHOUT FUNCTION;
INSERT INTO fuzz.text (i, v) SELECT 2000 + row_number() OVER (), b::text FROM unnest(ARRAY[
    '\xff', '\xfeff', '\xc3', '\xc328', '\xe282', '\xe228a1', '\xf09f98', '\xf888808080', '\xc0af', '\xe080af', '\xeda080', '\xedbfbf', '\xf4908080', '\x80', '\xbfbfbf', '\x416d696e61ff', '\xd098d0', '\x3132ff3334', '\x00', '\x410042', '\x41e282ac42', '\xefbbbf414141'
]::bytea[]) b;
INSERT INTO fuzz.text (i, v)
SELECT 3000 + g, decode(string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), ''), 'hex')::text
FROM generate_series(1, 60) g, generate_series(1, CASE WHEN g % 15 = 0 THEN 2000 ELSE 1 + g * 3 END) k
GROUP BY g;
INSERT INTO fuzz.text (i, v) SELECT 4000, repeat(('\xffc3'::bytea)::text, 524288);
DROP CAST (bytea AS text);
SQL
)

# The JSON corpus: hostile shapes and values, and mutations of a valid
# registration document (each field and each member field replaced by each
# hostile value).
json_corpus=$(cat <<'SQL'
INSERT INTO fuzz.json (i, v) SELECT row_number() OVER (), v FROM unnest(ARRAY[
    NULL, 'null', 'true', '0', '-1', '1e400', '-1e400', '1e-400', '"NaN"', '"Infinity"', '""', '[]', '{}', '[null]', '[[]]',
    '{"": null}', '{"members": null}', '{"members": {}}', '{"members": [null]}', '{"members": [[]]}', '{"members": [{}]}',
    '{"comparisons": null}', '{"comparisons": [null]}', '{"terms": [null]}', '{"terms": {}}', '{"intercept": "x"}'
]::jsonb[]) v;
INSERT INTO fuzz.json (i, v) VALUES
    (100, (repeat('[', 5000) || repeat(']', 5000))::jsonb),
    (101, (repeat('{"a": ', 3000) || '1' || repeat('}', 3000))::jsonb),
    (102, (SELECT jsonb_agg(g) FROM generate_series(1, 20000) g)),
    (103, (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 50000) g)),
    (104, jsonb_build_object('x', repeat('x', 1048576))),
    (105, jsonb_build_array(repeat('Ж', 524288))),
    (106, (SELECT jsonb_agg(jsonb_build_object('given_name', 'M' || g, 'relationship_to_head', 'child')) FROM generate_series(1, 20000) g));
-- a valid document and its mutations
CREATE TABLE fuzz.hostile_value (i int PRIMARY KEY, v jsonb);
INSERT INTO fuzz.hostile_value (i, v) SELECT row_number() OVER (), v FROM unnest(ARRAY[
    'null', 'true', '-1', '0', '1e400', '-1e400', '1e-400', '123456789012345678901234567890', '"NaN"', '""', '" "',
    '[]', '{}', '[null]', '{"a": {"b": {"c": [1, [2, [3]]]}}}', '"1985-02-30"', '"00000000-0000-4000-8000-000000000099"'
]::jsonb[]) v;
INSERT INTO fuzz.hostile_value (i, v) VALUES (100, to_jsonb(repeat('x', 1048576))), (101, to_jsonb(repeat('Ж', 100000))),
    (102, (repeat('[', 2000) || repeat(']', 2000))::jsonb);
CREATE TABLE fuzz.doc AS SELECT '{"submission_id": "00000000-0000-4000-8000-0000000000f1", "device_time": "2026-03-01T08:15:00+03:00",
    "source": "fuzz", "admin_area_code": "FZ01", "location": {"lat": 2.5, "lon": 32.25},
    "attributes": {"rooms": 2, "electricity": false, "dwelling_type": "hut", "land_area_ha": 0.75},
    "members": [{"given_name": "Amina", "family_name": "Odhiambo", "other_names": "Z", "birth_date": "1985-03-14", "sex": "F",
                 "relationship_to_head": "head", "national_id": "12-345-678", "phone": "+254 712 345 678",
                 "attributes": {"education_level": "secondary", "employment": "farmer", "disability": false}}]}'::jsonb AS v;
CREATE TABLE fuzz.doc_mutation AS
SELECT row_number() OVER (ORDER BY path, h.i) AS i, path, jsonb_set(d.v, path::text[], h.v) AS v
FROM fuzz.doc d, fuzz.hostile_value h,
     unnest(ARRAY['{submission_id}', '{device_time}', '{source}', '{admin_area_code}', '{location}', '{location,lat}',
                  '{location,lon}', '{attributes}', '{attributes,rooms}', '{attributes,electricity}', '{attributes,dwelling_type}',
                  '{attributes,land_area_ha}', '{attributes,unknown_variable}', '{members}', '{members,0}',
                  '{members,0,given_name}', '{members,0,family_name}', '{members,0,other_names}', '{members,0,birth_date}',
                  '{members,0,sex}', '{members,0,relationship_to_head}', '{members,0,national_id}', '{members,0,phone}',
                  '{members,0,attributes}', '{members,0,attributes,education_level}', '{members,0,attributes,disability}']::text[]) path;
SQL
)

seed_fraction=$(awk -v s="$seed" 'BEGIN { printf "%.9f", (s % 2000000) / 2000000 - 0.5 }')
setup() {
  { echo "$common_setup"; echo "$text_corpus"; echo "$bytes_corpus"; echo "$json_corpus"; } |
    q -d "$db" -v seed_fraction="$seed_fraction" -f - >/dev/null
}
t_setup=$(date +%s)
if ! setup 2>"$work/setup.err"; then
  echo "Bail out! set-up failed: $(head -c 2000 "$work/setup.err")"
  exit 1
fi

# ---------------------------------------------------------------------------
# Cases: each runs many calls in one session and reports their outcomes.
n=0
fail=0
cases=()
case_db=()
case_sql=()
add() { cases+=("$1"); case_db+=("$2"); case_sql+=("$3"); }

# --- text in, text out ------------------------------------------------------
for d in "$db"; do
  add "normalisers and date parsing" "$d" "
SELECT fuzz.tally(array_agg(fuzz.try(f || '(text ' || t.i || ')', format('SELECT %s(v) FROM fuzz.text WHERE i = %s', f, t.i))))
FROM fuzz.text t, unnest(ARRAY['sp.normalize_name', 'sp.name_key', 'sp.normalize_national_id', 'sp.normalize_phone',
                               'sp.parse_birth_date', 'sp_internal.is_uuid']) f;"
  add "string comparators" "$d" "
SELECT fuzz.tally(array_agg(fuzz.try(f || '(text ' || a.i || ', text ' || b.i || ')',
    format('SELECT %s(a.v, b.v) FROM fuzz.text a, fuzz.text b WHERE a.i = %s AND b.i = %s', f, a.i, b.i))))
FROM fuzz.text a, fuzz.text b, unnest(ARRAY['sp.jaro', 'sp.jaro_winkler', 'sp.levenshtein', 'sp.damerau_levenshtein']) f
WHERE (a.i * 7 + b.i * 13) % 11 = 0 OR a.i = b.i;"
done

# --- documents and validators -------------------------------------------------
for d in "$db"; do
  add "validators and fingerprint on hostile JSON" "$d" "
SELECT fuzz.tally(array_agg(fuzz.try(f || '(json ' || j.i || ')', format(f, j.i))))
FROM fuzz.json j, unnest(ARRAY[
    'SELECT sp_internal.document_sha256(v) FROM fuzz.json WHERE i = %s',
    'SELECT count(*) FROM fuzz.json j, sp_internal.registration_problems(j.v, true) WHERE j.i = %s',
    'SELECT * FROM sp_internal.registration_problems((SELECT jsonb_build_array(v, v) FROM fuzz.json WHERE i = %s), false)',
    'SELECT sp_internal.member_problem(v, ''members[0]'', false) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.member_problem(v, NULL, true) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.household_fields_problem(v, false) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.household_fields_problem(v, NULL) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.attributes_problem(v, ''household'', ''attributes'', false) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.attributes_problem(v, ''person'', NULL, true) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.attributes_problem(v, NULL, NULL, NULL) FROM fuzz.json WHERE i = %s',
    'SELECT sp.validate_attributes(v) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.validate_linkage_spec(v) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.validate_linkage_params(''person'', (SELECT spec FROM sp.linkage_model WHERE name = ''person''), v) FROM fuzz.json WHERE i = %s',
    'SELECT sp_internal.pmt_validate_spec(v) FROM fuzz.json WHERE i = %s']) f;"
  add "validators on hostile text inside documents" "$d" "
SELECT fuzz.tally(array_agg(fuzz.try(k || '(text ' || t.i || ')', format(
    'SELECT count(*) FROM fuzz.text t, sp_internal.registration_problems(jsonb_build_array(jsonb_set((SELECT v FROM fuzz.doc), %L, to_jsonb(t.v))), true) p WHERE t.i = %s',
    k, t.i))))
FROM fuzz.text t, unnest(ARRAY['{source}', '{admin_area_code}', '{submission_id}', '{device_time}', '{members,0,given_name}',
    '{members,0,birth_date}', '{members,0,sex}', '{members,0,national_id}', '{members,0,phone}',
    '{members,0,relationship_to_head}', '{attributes,dwelling_type}', '{attributes,hostile_key}']) k
WHERE t.v IS NOT NULL;"
  add "document fingerprint and member checks on hostile text" "$d" "
SELECT fuzz.tally(array_agg(fuzz.try(f || '(text ' || t.i || ')', format(f, t.i))))
FROM fuzz.text t, unnest(ARRAY[
    'SELECT sp_internal.document_sha256(jsonb_build_object(v, v)) FROM fuzz.text WHERE i = %s',
    'SELECT sp_internal.member_problem(jsonb_build_object(''given_name'', v), v, false) FROM fuzz.text WHERE i = %s',
    'SELECT sp_internal.attributes_problem(jsonb_build_object(v, v), v, v, false) FROM fuzz.text WHERE i = %s',
    'SELECT sp_internal.attributes_problem(''{\"rooms\": 1}'', v, ''x'', true) FROM fuzz.text WHERE i = %s']) f
WHERE t.v IS NOT NULL;"
done
add "register_household with mutated documents" "$db" "
SELECT fuzz.tally(array_agg(fuzz.try('register_household(mutation ' || m.i || ' at ' || m.path || ')',
    format('SELECT sp.register_household(jsonb_set(v, ''{submission_id}'', to_jsonb(gen_random_uuid()::text))) FROM fuzz.doc_mutation WHERE i = %s', m.i))))
FROM fuzz.doc_mutation m;"
add "register_household and import_registrations with hostile JSON" "$db" "
SELECT fuzz.tally(array_agg(fuzz.try(f || '(json ' || j.i || ')', format(f, j.i))))
FROM fuzz.json j, unnest(ARRAY[
    'SELECT sp.register_household(v) FROM fuzz.json WHERE i = %s',
    'SELECT sp.import_registrations(v) FROM fuzz.json WHERE i = %s',
    'SELECT sp.import_registrations(jsonb_build_array(v)) FROM fuzz.json WHERE i = %s']) f;"
add "import_registrations with a batch of every mutation" "$db" "
SELECT fuzz.tally(ARRAY[fuzz.try('import_registrations(all mutations)',
    'SELECT sp.import_registrations((SELECT jsonb_agg(jsonb_set(v, ''{submission_id}'', to_jsonb(gen_random_uuid()::text))) FROM fuzz.doc_mutation))')]);"
add "updates of households and persons with hostile patches" "$db" "
SELECT fuzz.tally(array_agg(fuzz.try(f || '(' || h.i || ', id ' || ids.v || ')', format(f, h.i, ids.v))))
FROM fuzz.hostile_value h, (SELECT v FROM fuzz.ids UNION ALL SELECT 1 UNION ALL SELECT 3) ids, unnest(ARRAY[
    'SELECT sp.update_household(%2\$s, jsonb_build_object(''attributes'', jsonb_build_object(''rooms'', (SELECT v FROM fuzz.hostile_value WHERE i = %1\$s))), ''fuzz'')',
    'SELECT sp.update_household(%2\$s, (SELECT v FROM fuzz.hostile_value WHERE i = %1\$s), ''fuzz'')',
    'SELECT sp.update_person(%2\$s, jsonb_build_object(''given_name'', (SELECT v FROM fuzz.hostile_value WHERE i = %1\$s)), ''fuzz'')',
    'SELECT sp.update_person(%2\$s, (SELECT v FROM fuzz.hostile_value WHERE i = %1\$s), ''fuzz'')']) f;"
add "register_household with invalid UTF-8 and random bytes in names" "$db" "
SELECT fuzz.tally(array_agg(fuzz.try('register_household(text ' || t.i || ')', format(
    'SELECT sp.register_household(jsonb_set(jsonb_set((SELECT v FROM fuzz.doc), ''{submission_id}'', to_jsonb(gen_random_uuid()::text)), ''{members,0,given_name}'', to_jsonb(v))) FROM fuzz.text WHERE i = %s', t.i))))
FROM fuzz.text t WHERE t.i >= 2000;"

# --- linkage ----------------------------------------------------------------------
linkage_relations="
CREATE TEMP TABLE r_empty (id bigint, given_name text, family_name text, birth_date date, national_id text);
CREATE TEMP TABLE r_nulls AS SELECT g::bigint AS id, NULL::text AS given_name, NULL::text AS family_name, NULL::date AS birth_date,
    NULL::text AS national_id, NULL::text AS phone FROM generate_series(1, 50) g;
CREATE TEMP TABLE r_ids AS SELECT v AS id, 'Same' AS given_name, 'Name' AS family_name, date '1980-01-01' AS birth_date,
    '12345678' AS national_id FROM fuzz.ids;
CREATE TEMP TABLE r_dup_ids AS SELECT 7::bigint AS id, 'Amina' AS given_name, 'Odhiambo' AS family_name FROM generate_series(1, 20);
CREATE TEMP TABLE r_null_id AS SELECT NULL::bigint AS id, 'Amina' AS given_name;
CREATE TEMP TABLE r_text_id AS SELECT 'x'::text AS id, 'Amina' AS given_name;
CREATE TEMP TABLE r_numeric_id AS SELECT 1e30::numeric AS id, 'Amina' AS given_name;
CREATE TEMP TABLE r_no_id AS SELECT 'Amina' AS given_name;
CREATE TEMP TABLE r_text AS SELECT i::bigint AS id, v AS given_name, v AS family_name, v AS other_names, v AS birth_date, v AS sex,
    v AS national_id, v AS phone, v AS address, v AS postcode, v AS admin_area_code FROM fuzz.text;
CREATE TEMP TABLE r_text_rev AS SELECT -i::bigint AS id, v || 'x' AS given_name, v AS family_name, v AS national_id FROM fuzz.text;
CREATE TEMP TABLE r_wrong_types AS SELECT g::bigint AS id, g AS given_name, g::float8 / 0.7 AS family_name, now() AS birth_date,
    jsonb_build_object('a', g) AS national_id, ARRAY[g] AS phone, point(g, g) AS postcode FROM generate_series(1, 30) g;
CREATE TEMP TABLE r_dates AS SELECT g::bigint AS id, 'Amina' AS given_name,
    (ARRAY['infinity', '-infinity', '4713-01-01 BC', '5874897-12-31', '2000-02-29', '1900-01-01']::date[])[1 + g % 6] AS birth_date
    FROM generate_series(1, 60) g;
CREATE TEMP TABLE r_long AS SELECT g::bigint AS id, repeat('7', 65535) AS national_id, repeat('Ж', 70000) AS given_name,
    repeat('ab', 40000) AS family_name FROM generate_series(1, 262) g;
CREATE TEMP VIEW r_failing AS SELECT g::bigint AS id, (1 / (g - 5))::text AS given_name FROM generate_series(1, 10) g;
"
add "linkage: match_pairs, explain_match, score_pairs, training on hostile relations" "$db" "
$linkage_relations
SELECT sp.create_linkage_model('scratch', (SELECT spec FROM sp.linkage_model WHERE name = 'person'));
SELECT fuzz.tally(array_agg(fuzz.try(f || ' on ' || r, format(f, r))))
FROM unnest(ARRAY['r_empty', 'r_nulls', 'r_ids', 'r_dup_ids', 'r_null_id', 'r_text_id', 'r_numeric_id', 'r_no_id', 'r_text',
                  'r_text_rev', 'r_wrong_types', 'r_dates', 'r_long', 'r_failing', 'pg_class', 'sp.person', 'fuzz.people']) r,
     unnest(ARRAY[
    'SELECT count(*) FROM sp.match_pairs(''person'', %1\$L)',
    'SELECT count(*) FROM sp.match_pairs(''person'', %1\$L, ''r_text'')',
    'SELECT count(*) FROM sp.match_pairs(''person'', ''fuzz.people'', %1\$L, 0.5)',
    'SELECT count(*) FROM sp.match_pairs(''person'', %1\$L, NULL, ''NaN'')',
    'SELECT count(*) FROM sp.match_pairs(''person'', %1\$L, NULL, ''-Infinity'')',
    'SELECT count(*) FROM sp.explain_match(''person'', %1\$L, 1, %1\$L, 2)',
    'SELECT count(*) FROM sp.explain_match(''person'', %1\$L, -9223372036854775808, ''r_ids'', 9223372036854775807)',
    'SELECT count(*) FROM sp_internal.score_pairs(''person'', %1\$L, ARRAY[1, 2, -1, 0, 9223372036854775807]::bigint[], ARRAY[2, 1, -9223372036854775808, 0, 1]::bigint[])',
    'SELECT count(*) FROM sp_internal.score_pairs(''person'', %1\$L, ''{}'', ''{}'')',
    'SELECT count(*) FROM sp_internal.score_pairs(''person'', %1\$L, ARRAY(SELECT g FROM generate_series(1, 5000) g), ARRAY(SELECT g + 1 FROM generate_series(1, 5000) g))',
    'SELECT sp.train_linkage_model(''scratch'', %1\$L)']) f;
"
add "linkage: hostile specs, then training and matching with them" "$db" "
$linkage_relations
CREATE TEMP TABLE specs AS SELECT row_number() OVER () AS i, s::jsonb AS spec FROM unnest(ARRAY[
  '{\"comparisons\": [{\"name\": \"g\", \"column\": \"given_name\", \"method\": \"jaro_winkler\", \"thresholds\": [0.99999999, 1e-300]}], \"blocking\": [[\"first(given_name, 100)\"]]}',
  '{\"comparisons\": [{\"name\": \"g\", \"column\": \"given_name\", \"method\": \"levenshtein\", \"thresholds\": [1, 2, 3, 4, 5, 6]}], \"blocking\": [[\"name_key(given_name)\"], [\"first(given_name, 1)\"]]}',
  '{\"comparisons\": [{\"name\": \"g\", \"column\": \"given_name\", \"method\": \"damerau_levenshtein\", \"thresholds\": [1, 1e300]}], \"blocking\": [[\"given_name\"]]}',
  '{\"comparisons\": [{\"name\": \"g\", \"column\": \"national_id\", \"method\": \"damerau_levenshtein\", \"thresholds\": [1, 2], \"normalize\": \"digits\", \"tf_adjust\": true}], \"blocking\": [[\"first(national_id, 1)\"]]}',
  '{\"comparisons\": [{\"name\": \"d\", \"column\": \"birth_date\", \"method\": \"date\"}, {\"name\": \"g\", \"column\": \"given_name\", \"method\": \"exact\", \"normalize\": \"name\", \"tf_adjust\": true}], \"blocking\": [[\"year(birth_date)\"], [\"year(given_name)\"], [\"name_keys(given_name, given_name)\"]]}',
  '{\"comparisons\": [{\"name\": \"a\", \"column\": \"given_name\", \"method\": \"jaro_winkler\", \"thresholds\": [0.9], \"swap_with\": \"b\"}, {\"name\": \"b\", \"column\": \"family_name\", \"method\": \"jaro_winkler\", \"thresholds\": [0.9], \"depends_on\": [\"a\", \"a\", \"a\", \"a\"]}], \"blocking\": [[\"name_keys(given_name, family_name)\", \"first(given_name, 1)\", \"first(family_name, 1)\", \"given_name\"]]}',
  '{\"comparisons\": [{\"name\": \"\", \"column\": \"given_name\", \"method\": \"exact\"}], \"blocking\": [[\"given_name\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"' || repeat('c', 63) || '\", \"method\": \"exact\"}], \"blocking\": [[\"' || repeat('c', 63) || '\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"' || repeat('c', 64) || '\", \"method\": \"exact\"}], \"blocking\": [[\"x\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"exact\"}], \"blocking\": [[\"first(a, 99999999999999999999)\"], [\"first(a,)\"], [\"name_keys(,)\"], [\"((()))\"], [\")\"], [\"(\"], [\"\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"exact\"}], \"blocking\": [[\"first(a, 0)\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"exact\", \"thresholds\": []}], \"blocking\": [[\"a\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"levenshtein\", \"thresholds\": [\"1\"]}], \"blocking\": [[\"a\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"levenshtein\", \"thresholds\": [1e400]}], \"blocking\": [[\"a\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"jaro_winkler\", \"thresholds\": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]}], \"blocking\": [[\"a\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"exact\", \"swap_with\": \"x\"}], \"blocking\": [[\"a\"]]}',
  '{\"comparisons\": [{\"name\": \"x\", \"column\": \"a\", \"method\": \"exact\", \"depends_on\": [\"y\"]}], \"blocking\": [[\"a\"]]}'
]) s;
INSERT INTO specs SELECT 100 + row_number() OVER (), jsonb_set((SELECT spec FROM sp.linkage_model WHERE name = 'person'), p::text[], h.v)
FROM fuzz.hostile_value h, unnest(ARRAY['{comparisons,0}', '{comparisons,0,name}', '{comparisons,0,column}', '{comparisons,0,method}',
    '{comparisons,0,thresholds}', '{comparisons,0,thresholds,0}', '{comparisons,0,normalize}', '{comparisons,0,swap_with}',
    '{comparisons,0,tf_adjust}', '{comparisons,4,depends_on}', '{comparisons,4,depends_on,0}', '{blocking}', '{blocking,0}',
    '{blocking,0,0}', '{comparisons}']::text[]) p;
SELECT fuzz.tally(array_agg(o)) FROM (
    SELECT fuzz.try('create model from spec ' || s.i, format('SELECT sp.create_linkage_model(%L, (SELECT spec FROM specs WHERE i = %s))', 'fz' || s.i, s.i)) AS o FROM specs s
    UNION ALL
    SELECT fuzz.try(format('%s with model fz%s on %s', f, m.i, r), format(f, 'fz' || m.i, r))
    FROM specs m, unnest(ARRAY['r_text', 'r_long', 'r_dates', 'r_nulls', 'fuzz.people']) r,
         unnest(ARRAY['SELECT sp.train_linkage_model(%L, %L)', 'SELECT count(*) FROM sp.match_pairs(%L, %L)',
                      'SELECT count(*) FROM sp.explain_match(%1\$L, %2\$L, 1, %2\$L, 3)']) f
    WHERE m.i < 100 OR m.i % 7 = 0) s;
"
add "linkage: hostile params read by the scoring code (write check off)" "$db" "
$linkage_relations
ALTER TABLE sp.linkage_model DISABLE TRIGGER linkage_model_check;
CREATE TEMP TABLE good AS SELECT params FROM sp.linkage_model WHERE name = 'person';
CREATE TEMP TABLE bad_params AS
SELECT row_number() OVER () AS i, jsonb_set((SELECT params FROM good), p::text[], h.v) AS params
FROM fuzz.hostile_value h, unnest(ARRAY['{prior}', '{comparisons}', '{comparisons,given_name}', '{comparisons,given_name,m}',
    '{comparisons,given_name,m,0}', '{comparisons,given_name,u,3}', '{comparisons,birth_date,u}', '{comparisons,national_id,m,2}']::text[]) p
UNION ALL SELECT 1000 + i, v FROM fuzz.json WHERE i < 100;
SELECT fuzz.tally(array_agg(fuzz.try(format('%s with params %s', f, b.i),
    format('UPDATE sp.linkage_model SET params = (SELECT params FROM bad_params WHERE i = %s) WHERE name = ''person''; ', b.i) || f)))
FROM bad_params b, unnest(ARRAY['SELECT count(*) FROM sp.match_pairs(''person'', ''r_text'')',
    'SELECT count(*) FROM sp.explain_match(''person'', ''fuzz.people'', 1, ''fuzz.people'', 2)',
    'SELECT count(*) FROM sp_internal.score_pairs(''person'', ''fuzz.people'', ARRAY[1]::bigint[], ARRAY[2]::bigint[])',
    'SELECT sp.register_household(jsonb_set((SELECT v FROM fuzz.doc), ''{submission_id}'', to_jsonb(gen_random_uuid()::text)))']) f;
UPDATE sp.linkage_model SET params = (SELECT params FROM good) WHERE name = 'person';
ALTER TABLE sp.linkage_model ENABLE TRIGGER linkage_model_check;
"
add "linkage on invalid UTF-8 and random bytes" "$db" "
$linkage_relations
SELECT fuzz.tally(array_agg(fuzz.try(f || ' on ' || r, format(f, r))))
FROM unnest(ARRAY['r_text', 'r_text_rev']) r, unnest(ARRAY[
    'SELECT count(*) FROM sp.match_pairs(''person'', %1\$L)',
    'SELECT count(*) FROM sp.match_pairs(''person'', %1\$L, ''fuzz.people'')',
    'SELECT count(*) FROM sp.explain_match(''person'', %1\$L, 2001, %1\$L, 2002)',
    'SELECT count(*) FROM sp_internal.score_pairs(''person'', %1\$L, ARRAY(SELECT i FROM fuzz.text), ARRAY(SELECT i + 1 FROM fuzz.text))',
    'SELECT sp.train_linkage_model(''person'', %1\$L)']) f;
"
add "clusters with extreme, negative, repeated and huge id arrays" "$db" "
SELECT fuzz.tally(array_agg(fuzz.try('clusters ' || k, format('SELECT count(*), min(cluster_id), max(person_id) FROM sp_internal.clusters(%s)', a))))
FROM (VALUES
    (1, '''{}'', ''{}'''), (2, 'NULL, ''{}'''), (3, '''{1}'', ''{}'''), (4, 'ARRAY[NULL]::bigint[], ARRAY[1]::bigint[]'),
    (5, 'ARRAY[[1,2],[3,4]]::bigint[], ARRAY[[1,2],[3,4]]::bigint[]'),
    (6, '(SELECT array_agg(v) FROM fuzz.ids), (SELECT array_agg(v ORDER BY i DESC) FROM fuzz.ids)'),
    (7, 'ARRAY(SELECT -g FROM generate_series(1, 1000000) g), ARRAY(SELECT -g - 1 FROM generate_series(1, 1000000) g)'),
    (8, 'ARRAY(SELECT g % 7 FROM generate_series(1, 300000) g), ARRAY(SELECT -(g % 11) FROM generate_series(1, 300000) g)'),
    (9, 'ARRAY(SELECT (random() * 1e18)::bigint FROM generate_series(1, 200000)), ARRAY(SELECT (random() * -1e18)::bigint FROM generate_series(1, 200000))'),
    (10, 'ARRAY[-9223372036854775808, -9223372036854775808]::bigint[], ARRAY[9223372036854775807, -1]::bigint[]'),
    (11, '''[5:6]={1,2}''::bigint[], ''[-3:-2]={2,3}''::bigint[]')) c(k, a);"

# --- PMT ----------------------------------------------------------------------------
add "PMT: hostile specs, attributes written past validation, hostile ids and names" "$db" "
CREATE TEMP TABLE pmt_specs AS SELECT row_number() OVER () AS i, jsonb_set(s, p::text[], h.v) AS spec
FROM (SELECT spec AS s FROM sp.pmt_model WHERE name = 'fz') base, fuzz.hostile_value h,
     unnest(ARRAY['{intercept}', '{terms}', '{terms,0}', '{terms,0,variable}', '{terms,0,coefficient}', '{terms,0,transform}',
                  '{terms,0,missing}', '{terms,0,categories}', '{cutoffs}', '{cutoffs,0}', '{cutoffs,0,value}',
                  '{cutoffs,0,area_prefix}', '{overrides}', '{scale}']::text[]) p;
INSERT INTO pmt_specs VALUES (1000, jsonb '{\"intercept\": 0, \"terms\": [{\"variable\": \"dwelling_type\", \"categories\": {\"hut\": 1e300, \"house\": -1e300}}], \"cutoffs\": [{\"value\": 0}]}'),
    (1001, jsonb '{\"intercept\": 1e308, \"terms\": [{\"variable\": \"rooms\", \"coefficient\": 1e308}], \"cutoffs\": [{\"value\": 1e308}]}'),
    (1002, ('{\"intercept\": 0, \"terms\": [{\"variable\": \"rooms\", \"coefficient\": 1, \"transform\": \"log\"}, {\"variable\": \"household_size\", \"coefficient\": 1, \"transform\": \"per_capita\"}], \"cutoffs\": [{\"value\": 0}], \"overrides\": [{\"area_prefix\": \"' || repeat('F', 63) || '\", \"intercept\": 1}]}')::jsonb);
-- attributes no validator would accept, written directly
ALTER TABLE sp.household DISABLE TRIGGER USER;
UPDATE sp.household SET attributes = (ARRAY['{\"rooms\": 1e400}', '{\"rooms\": -1e400}', '{\"rooms\": \"x\"}', '{\"rooms\": null}',
    '{\"rooms\": []}', '{\"rooms\": {}}', '{\"rooms\": -1}', '{\"rooms\": 1e-400}', '{\"electricity\": \"yes\"}', '{}',
    '{\"dwelling_type\": 5}', '{\"rooms\": 123456789012345678901234567890}', '{\"dwelling_type\": \"hut\", \"rooms\": 1e308}']::jsonb[])[1 + household_id % 13]
WHERE household_id % 3 = 0;
ALTER TABLE sp.household ENABLE TRIGGER USER;
SELECT fuzz.tally(array_agg(o)) FROM (
    SELECT fuzz.try('create PMT model from spec ' || s.i, format('SELECT sp.create_pmt_model(%L, (SELECT spec FROM pmt_specs WHERE i = %s))', 'p' || s.i, s.i)) AS o
    FROM pmt_specs s
    UNION ALL
    SELECT fuzz.try('activate PMT model ' || s.i, format('SELECT sp.activate_pmt_model(%L, 1)', 'p' || s.i)) FROM pmt_specs s
    UNION ALL
    SELECT fuzz.try(format('%s for %s', f, m), format(f, m)) FROM (SELECT 'fz' AS m UNION ALL SELECT 'p' || i FROM pmt_specs WHERE i % 5 = 0 OR i >= 1000) m,
    unnest(ARRAY['SELECT count(*), sum(score) FROM sp_internal.pmt_evaluate_all(%L, NULL)',
                 'SELECT count(*) FROM sp_internal.pmt_evaluate_all(%L, ''FZ'')',
                 'SELECT sum(sp.pmt_score(%L, household_id)) FROM sp.household',
                 'SELECT count(*) FROM sp.household h, sp.pmt_explain(%L, h.household_id)',
                 'SELECT count(*) FROM sp.household h, sp_internal.pmt_evaluate_household(%L, h.household_id)',
                 'SELECT sp.score_households(%L)']) f
    UNION ALL
    SELECT fuzz.try(format('PMT %s with id %s', f, ids.v), format(f, ids.v)) FROM fuzz.ids ids,
    unnest(ARRAY['SELECT sp.pmt_score(''fz'', %s)', 'SELECT count(*) FROM sp.pmt_explain(''fz'', %s)',
                 'SELECT sp_internal.pmt_evaluate_household(''fz'', %s)']) f
    UNION ALL
    -- (a NULL model name: see the catalog-driven case below)
    SELECT fuzz.try(format('PMT %s with name text %s', f, t.i), format(f, t.i)) FROM (SELECT * FROM fuzz.text WHERE v IS NOT NULL) t,
    unnest(ARRAY['SELECT sp.pmt_score(v, 1) FROM fuzz.text WHERE i = %s',
                 'SELECT count(*) FROM fuzz.text t, sp_internal.pmt_evaluate_all(''fz'', t.v) p WHERE t.i = %s',
                 'SELECT count(*) FROM fuzz.text t, sp_internal.pmt_evaluate_all(t.v, NULL) p WHERE t.i = %s',
                 'SELECT sp.create_linkage_model(v, ''{}'') FROM fuzz.text WHERE i = %s',
                 'SELECT count(*) FROM fuzz.text t, sp.match_pairs(t.v, ''fuzz.people'') p WHERE t.i = %s',
                 'SELECT count(*) FROM fuzz.text t, sp.explain_match(t.v, ''fuzz.people'', 1, ''fuzz.people'', 2) p WHERE t.i = %s']) f
) s;"

# --- small-cell suppression: random hierarchies, cycles, hostile arrays -------
add "suppress_counts with random parents, cycles, extreme counts and odd arrays" "$db" "
SELECT setseed(0.42);
SELECT fuzz.tally(array_agg(fuzz.try(label, query))) FROM (
    SELECT 'random hierarchy ' || n, format('SELECT sp_internal.suppress_counts(%L::bigint[], %L::integer[], %s)',
           (SELECT array_agg(CASE WHEN random() < 0.05 THEN -1 WHEN random() < 0.05 THEN 9223372036854775807 ELSE (random() * 40)::bigint END ORDER BY g) FROM generate_series(1, n) g),
           (SELECT array_agg(CASE WHEN random() < 0.1 THEN NULL ELSE (random() * (n + 2))::integer - 1 END ORDER BY g) FROM generate_series(1, n) g),
           (random() * 12)::integer - 1)
    FROM generate_series(1, 300) n
    UNION ALL
    -- trees (each parent earlier), counts up to the largest bigint: these succeed
    SELECT 'random tree ' || n, format('SELECT sp_internal.suppress_counts(%L::bigint[], %L::integer[], %s)',
           (SELECT array_agg(CASE WHEN random() < 0.05 THEN 9223372036854775807 ELSE (random() * 40)::bigint END ORDER BY g) FROM generate_series(1, n) g),
           (SELECT array_agg((random() * (g - 1))::integer ORDER BY g) FROM generate_series(1, n) g),
           1 + (random() * 12)::integer)
    FROM generate_series(1, 300) n
    UNION ALL SELECT 'a long chain', 'SELECT cardinality(sp_internal.suppress_counts(array_agg(3::bigint), array_agg(i - 1), 5)) FROM generate_series(1, 200000) i'
    UNION ALL SELECT 'a long cycle', 'SELECT sp_internal.suppress_counts(array_agg(3::bigint), array_agg(CASE WHEN i = 1 THEN 200000 ELSE i - 1 END), 5) FROM generate_series(1, 200000) i'
    UNION ALL SELECT 'one parent of many', 'SELECT cardinality(sp_internal.suppress_counts(array_agg((i % 7)::bigint), array_agg(CASE WHEN i = 1 THEN 0 ELSE 1 END), 5)) FROM generate_series(1, 200000) i'
    UNION ALL SELECT 'two dimensions', 'SELECT sp_internal.suppress_counts(''{{1,2},{3,4}}''::bigint[], ''{{0,1},{1,1}}''::integer[], 5)'
    UNION ALL SELECT 'lengths differ', 'SELECT sp_internal.suppress_counts(''{1,2,3}''::bigint[], ''{0}''::integer[], 5)'
    UNION ALL SELECT 'NULL counts', 'SELECT sp_internal.suppress_counts(''{1,NULL}''::bigint[], ''{0,1}''::integer[], 5)'
    UNION ALL SELECT 'lower bound not 1', 'SELECT sp_internal.suppress_counts(''[5:6]={1,2}''::bigint[], ''[-3:-2]={0,1}''::integer[], 5)'
    UNION ALL SELECT 'extreme parents', 'SELECT sp_internal.suppress_counts(''{1,2}''::bigint[], ''{-2147483648,2147483647}''::integer[], 5)'
    UNION ALL SELECT 'extreme k', 'SELECT sp_internal.suppress_counts(''{1,2}''::bigint[], ''{0,1}''::integer[], -9223372036854775808)'
    UNION ALL SELECT 'forced of another length', 'SELECT sp_internal.suppress_counts(''{1,2}''::bigint[], ''{0,1}''::integer[], 5, ''{true}'')'
    UNION ALL SELECT 'forced with NULLs and two dimensions', 'SELECT sp_internal.suppress_counts(''{1,2}''::bigint[], ''{0,1}''::integer[], 5, ''{{NULL,true}}'')'
    UNION ALL SELECT 'forced everywhere on a long chain', 'SELECT cardinality(sp_internal.suppress_counts(array_agg(30::bigint), array_agg(i - 1), 5, array_agg(i % 2 = 0))) FROM generate_series(1, 200000) i'
) c (label, query);"

add "suppress_hierarchies with random edges, two parents, cycles and odd arrays" "$db" "
SELECT setseed(0.43);
SELECT fuzz.tally(array_agg(fuzz.try(label, query))) FROM (
    -- anything goes: edges out of range, a cell its own parent, two parents, cycles, negative hierarchies
    SELECT 'random edges ' || n, format('SELECT sp_internal.suppress_hierarchies(%L::bigint[], %L::integer[], %L::integer[], %L::integer[], %s)',
           (SELECT array_agg(CASE WHEN random() < 0.03 THEN -1 WHEN random() < 0.05 THEN 9223372036854775807 ELSE (random() * 40)::bigint END ORDER BY g) FROM generate_series(1, n) g),
           (SELECT array_agg(CASE WHEN random() < 0.05 THEN NULL ELSE (random() * (n + 2))::integer - 1 END ORDER BY g) FROM generate_series(1, 2 * n) g),
           (SELECT array_agg(CASE WHEN random() < 0.05 THEN NULL ELSE (random() * (n + 2))::integer - 1 END ORDER BY g) FROM generate_series(1, 2 * n) g),
           (SELECT array_agg(CASE WHEN random() < 0.03 THEN -1 ELSE (random() * 3)::integer END ORDER BY g) FROM generate_series(1, 2 * n) g),
           (random() * 12)::integer - 1)
    FROM generate_series(1, 300) n
    UNION ALL
    -- three forests over the same cells (each parent earlier): these succeed
    SELECT 'three forests ' || n, format('SELECT sp_internal.suppress_hierarchies(%L::bigint[], %L::integer[], %L::integer[], %L::integer[], %s)',
           (SELECT array_agg((random() * 40)::bigint ORDER BY g) FROM generate_series(1, n) g),
           (SELECT array_agg(g ORDER BY h, g) FROM generate_series(2, n) g, generate_series(0, 2) h),
           (SELECT array_agg(1 + (random() * (g - 2))::integer ORDER BY h, g) FROM generate_series(2, n) g, generate_series(0, 2) h),
           (SELECT array_agg(h ORDER BY h, g) FROM generate_series(2, n) g, generate_series(0, 2) h),
           1 + (random() * 12)::integer)
    FROM generate_series(2, 300) n
    UNION ALL SELECT 'many hierarchies on a long chain', 'SELECT cardinality(sp_internal.suppress_hierarchies(array_agg(3::bigint), array_agg(i), array_agg(i - 1), array_agg(i % 50), 5)) FROM generate_series(2, 100000) i'
    UNION ALL SELECT 'edges of other lengths', 'SELECT sp_internal.suppress_hierarchies(''{1,2}''::bigint[], ''{2}''::integer[], ''{1,1}''::integer[], ''{0}''::integer[], 5)'
    UNION ALL SELECT 'two dimensions', 'SELECT sp_internal.suppress_hierarchies(''{{1,2},{3,4}}''::bigint[], ''{2}''::integer[], ''{1}''::integer[], ''{0}''::integer[], 5)'
    UNION ALL SELECT 'extreme positions', 'SELECT sp_internal.suppress_hierarchies(''{1,2}''::bigint[], ''{-2147483648}''::integer[], ''{2147483647}''::integer[], ''{2147483647}''::integer[], 5)'
    UNION ALL SELECT 'extreme k', 'SELECT sp_internal.suppress_hierarchies(''{1,2}''::bigint[], ''{2}''::integer[], ''{1}''::integer[], ''{0}''::integer[], -9223372036854775808)'
    UNION ALL SELECT 'no cells, edges', 'SELECT sp_internal.suppress_hierarchies(''{}''::bigint[], ''{1}''::integer[], ''{1}''::integer[], ''{0}''::integer[], 5)'
) c (label, query);"

# --- every C function, from the catalog: NULL in each argument -----------------
# No call is exempt: a crash found here is fixed, not listed.
known_crashes="''"
every_c_function=$(cat <<'SQL'
CREATE TEMP TABLE c_functions AS
SELECT p.oid::regprocedure::text AS signature, p.oid::regproc::text AS name, p.pronargs,
       array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS types
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ('sp', 'sp_internal') AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
  AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
  AND p.oid::regprocedure::text NOT IN (@KNOWN@);
-- a plain, harmless value of each argument type
CREATE FUNCTION pg_temp.plain(t text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE t WHEN 'text' THEN quote_literal('') WHEN 'jsonb' THEN quote_literal('{}') WHEN 'bigint' THEN '-1'
                  WHEN 'integer' THEN '-1' WHEN 'double precision' THEN quote_literal('NaN') WHEN 'boolean' THEN 'false'
                  WHEN 'regclass' THEN quote_literal('fuzz.people') WHEN 'bigint[]' THEN quote_literal('{}')
                  ELSE 'NULL' END || '::' || t
$$;
-- each function with every argument NULL, with one NULL at a time, and with none
SELECT fuzz.tally(array_agg(fuzz.try(call, 'SELECT * FROM ' || call)))
FROM (
    SELECT f.name || '(' || coalesce((
               SELECT string_agg(CASE WHEN k = nullpos OR nullpos = 0 THEN 'NULL::' || f.types[k]
                                      WHEN nullpos < 0 THEN pg_temp.plain(f.types[k])
                                      ELSE pg_temp.plain(f.types[k]) END, ', ' ORDER BY k)
               FROM generate_series(1, f.pronargs) k), '') || ')' AS call
    FROM c_functions f, generate_series(-1, f.pronargs) nullpos
) calls;
SQL
)
add "every LANGUAGE C function with NULL and plain arguments, position by position" "$db" "${every_c_function//@KNOWN@/$known_crashes}"
add "sp_internal.pmt_evaluate_all with a NULL model (crashed before it checked)" "$db" "
SELECT fuzz.tally(ARRAY[fuzz.try('pmt_evaluate_all(NULL, NULL)', 'SELECT * FROM sp_internal.pmt_evaluate_all(NULL, NULL)')]);"

# ---------------------------------------------------------------------------
echo "1..${#cases[@]}"
echo "# seed $seed; set-up $(( $(date +%s) - t_setup ))s; server log: ${server_log:-none (restarts are detected by the postmaster start time)}"
for k in "${!cases[@]}"; do
  n=$((k + 1))
  name=${cases[$k]}
  before=$(log_bytes)
  t0=$(date +%s.%N)
  printf 'SET statement_timeout = %s;\n%s\n' "'$timeout'" "${case_sql[$k]}" |
    psql -X -q -At -d "${case_db[$k]}" -v ON_ERROR_STOP=0 -f - >"$work/out" 2>"$work/err"
  rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  wait_for_server
  now=$(start_time)
  crash=""
  if [ -n "$server_log" ]; then
    sleep 0.1
    signal=$(tail -c +"$((before + 1))" "$server_log" | grep -m1 "terminated by signal")
    [ -n "$signal" ] && crash="server log: $signal"
  fi
  [ -z "$crash" ] && [ "$now" != "$started" ] && crash="the server restarted (postmaster started $started, now ${now:-down})"
  [ -z "$crash" ] && [ "$rc" -eq 2 ] && crash="the connection was lost"
  if [ -n "$crash" ]; then
    echo "not ok $n - $name: $crash"
    # diagnostics on stderr too, so that prove shows them without -v
    { echo "# $name: $crash"
      echo "#   last call reached: $(grep -a -o 'NOTICE:  case .*' "$work/err" | tail -1 | cut -c 15-)"
      echo "#   reproduce: test/fuzz.sh $seed"; } | tee /dev/stderr
    fail=1
    started=$now
  else
    outcome=$(grep -a -v '^SET$' "$work/out" | tail -1)
    problems=$(grep -a -E '^(psql:|ERROR)' "$work/err" | grep -v 'NOTICE' | head -3)
    if [ "${outcome#skipped: }" != "$outcome" ]; then
      echo "ok $n # SKIP $name: ${outcome#skipped: }"
      continue
    fi
    echo "ok $n - $name [$outcome] ${secs}s"
    [ -n "$problems" ] && echo "#   note: $problems"
    if [ -n "${FUZZ_VERBOSE:-}" ]; then
      grep -a -o 'NOTICE:  error .*' "$work/err" | cut -c 16- | sort | uniq -c | sort -rn | head -25 | sed 's/^/#     /'
    fi
  fi
done

PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db" >/dev/null 2>&1
exit $fail
