-- Hostile input that used to crash the server (issues 9 and 10): over-long
-- linkage values, unreadable model params, clusters of any bigint ids.
-- Each case must end in a result or an error, never a signal.
\set SHOW_CONTEXT never

-- a model of our own (the person spec, trained on a small fixed relation),
-- so that nothing here depends on what earlier tests trained; its rules have
-- no block limit, so that every pair of a block of equal values is produced
SELECT sp.create_linkage_model('hostile', jsonb_set((SELECT spec FROM sp.linkage_model WHERE name = 'person'),
                                                    '{blocking}', '[["national_id"], ["name_keys(given_name, family_name)"]]'));
CREATE TEMP TABLE hostile_train AS
SELECT g::bigint AS id, 'Given' || (g % 37) AS given_name, 'Family' || (g % 41) AS family_name,
       date '1960-01-01' + g * 11 AS birth_date, lpad((g * 7919 % 100000)::text, 8, '0') AS national_id
FROM generate_series(1, 300) g;
SELECT (sp.train_linkage_model('hostile', 'hostile_train') -> 'training' ->> 'records')::int AS trained_on;

-- 1. values longer than the 1000 characters linkage keeps.  262 rows with
--    one 65,535-character national ID crashed the backend; 100 rows that
--    differ only after the cut gave 3,486 pairs instead of 4,950.
CREATE TEMP TABLE long_ids AS SELECT g::bigint AS id, repeat('7', 65535) AS national_id FROM generate_series(1, 262) g;
SELECT count(*) AS pairs, count(*) = 262 * 261 / 2 AS every_pair FROM sp.match_pairs('hostile', 'long_ids');
CREATE TEMP TABLE long_tails AS SELECT g::bigint AS id, repeat('1', 65535) || g AS national_id FROM generate_series(1, 100) g;
SELECT count(*) AS pairs, count(*) = 100 * 99 / 2 AS every_pair FROM sp.match_pairs('hostile', 'long_tails');
-- they agree exactly on what is kept
SELECT level FROM sp.explain_match('hostile', 'long_tails', 1, 'long_tails', 2) WHERE comparison = 'national_id';
-- multi-byte values are cut at a character boundary: 1500 Cyrillic letters
-- (2 bytes each, transliterated to 3000), and 4-byte emoji after one ASCII
-- letter (a cut by bytes would split the 1000th character) agree on their
-- first 1000 characters
CREATE TEMP TABLE long_names (id bigint, given_name text, family_name text, admin_area_code text);
INSERT INTO long_names VALUES
    (1, repeat('Ж', 1500) || 'a', 'Иванова', NULL),
    (2, repeat('Ж', 1500) || 'b', 'Иванова', NULL),
    (3, 'Ama', 'Ama', 'a' || repeat('😀', 1000) || 'x'),
    (4, 'Ama', 'Ama', 'a' || repeat('😀', 1000) || 'y');
SELECT left_id, right_id FROM sp.match_pairs('hostile', 'long_names') ORDER BY 1, 2;
SELECT comparison, level FROM sp.explain_match('hostile', 'long_names', 1, 'long_names', 2)
WHERE comparison IN ('given_name', 'family_name') ORDER BY 1;
SELECT comparison, level FROM sp.explain_match('hostile', 'long_names', 3, 'long_names', 4)
WHERE comparison = 'admin_area_code';
-- linking two relations and scoring given pairs read the same way
SELECT count(*) AS linked FROM sp.match_pairs('hostile', 'long_ids', 'long_tails');
SELECT count(*) AS scored FROM sp_internal.score_pairs('hostile', 'long_ids', ARRAY[1, 2, 3]::bigint[], ARRAY[2, 3, 1]::bigint[]);
-- dates far outside any lifetime are missing, not wrapped around
CREATE TEMP TABLE odd_dates (id bigint, birth_date date, family_name text);
INSERT INTO odd_dates VALUES (1, '5874897-12-31', 'Kamau'), (2, '4713-01-01 BC', 'Kamau'), (3, 'infinity', 'Kamau'),
                             (4, '1985-03-14', 'Kamau');
SELECT comparison, level FROM sp.explain_match('hostile', 'odd_dates', 1, 'odd_dates', 2) WHERE comparison = 'birth_date';

-- 2. model params are checked when written and when read.  A null (or any
--    non-number) in an m/u entry made every later registration crash.
CREATE TEMP TABLE saved_params AS SELECT params FROM sp.linkage_model WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,given_name,m,1}', 'null') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,national_id,u,0}', '"0.5"') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,national_id,u,0}', '"NaN"') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,national_id,u,0}', '1e400') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,sex,m,0}', '0') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,sex,m,0}', '-0.5') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,sex,u,1}', '1.0000001') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,birth_date,m}', '[0.5, 0.5]') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,birth_date,m}', '{"0": 0.5}') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = params #- '{comparisons,phone,u}' WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = params #- '{comparisons,postcode}' WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons}', '[]') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{prior}', '1') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = params - 'prior' WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = 'null' WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = '[0.5]' WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,"sex",m}',
    (SELECT jsonb_agg(x) FROM generate_series(1, 100000) x)) WHERE name = 'hostile';
-- a spec change that the stored params no longer fit is refused too
UPDATE sp.linkage_model SET spec = jsonb_set(spec, '{comparisons,0,thresholds}', '[0.95, 0.9, 0.8]') WHERE name = 'hostile';
INSERT INTO sp.linkage_model (name, spec, params) VALUES ('smuggled', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]]}',
    '{"prior": 0.01, "comparisons": {"a": {"m": [0.9, null], "u": [0.1, 0.9]}}}');
SELECT count(*) AS smuggled FROM sp.linkage_model WHERE name = 'smuggled';
-- every refusal left the model as it was
SELECT params = (SELECT params FROM saved_params) AS params_unchanged FROM sp.linkage_model WHERE name = 'hostile';
-- hand-written params that are valid are accepted
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,sex,m}', '[0.95, 0.05]') WHERE name = 'hostile';
SELECT params -> 'comparisons' -> 'sex' -> 'm' AS sex_m FROM sp.linkage_model WHERE name = 'hostile';

-- the check runs for an admin writing params directly too (whatever the
-- admin may execute), and lets a valid write through
CREATE ROLE regress_hostile_admin;
GRANT sp_admin TO regress_hostile_admin;
-- linkage parameters serve the whole registry: changing them needs national scope
SELECT bool_and(g ? 'scope_id') AS national_scope FROM sp.admin_area a, LATERAL sp.grant_area_scope('regress_hostile_admin', a.code) g
WHERE a.parent_code IS NULL;
SET ROLE regress_hostile_admin;
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,sex,u,0}', '"x"') WHERE name = 'hostile';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,sex,u}', '[0.5, 0.5]') WHERE name = 'hostile';
RESET ROLE;
SELECT params -> 'comparisons' -> 'sex' -> 'u' AS sex_u FROM sp.linkage_model WHERE name = 'hostile';
SELECT bool_and((sp.revoke_area_scope('regress_hostile_admin', a.code) ->> 'revoked')::boolean) AS revoked
FROM sp.admin_area a WHERE a.parent_code IS NULL;
DROP ROLE regress_hostile_admin;

-- should bad params get past the trigger all the same (a superuser turning
-- it off), the reader refuses them with the same message instead of crashing
ALTER TABLE sp.linkage_model DISABLE TRIGGER linkage_model_check;
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,given_name,m,1}', 'null') WHERE name = 'hostile';
ALTER TABLE sp.linkage_model ENABLE TRIGGER linkage_model_check;
SELECT count(*) FROM sp.match_pairs('hostile', 'long_ids');
SELECT * FROM sp_internal.score_pairs('hostile', 'long_ids', ARRAY[1]::bigint[], ARRAY[2]::bigint[]);
SELECT * FROM sp.explain_match('hostile', 'long_ids', 1, 'long_ids', 2);
UPDATE sp.linkage_model SET params = (SELECT params FROM saved_params) WHERE name = 'hostile';

-- registration scores every new person with the person model: it keeps
-- working after every refused write above
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('HX', NULL, 0, 'Hostile test land');
CREATE TEMP TABLE saved_person AS SELECT params FROM sp.linkage_model WHERE name = 'person';
UPDATE sp.linkage_model SET params = (SELECT params FROM sp.linkage_model WHERE name = 'hostile') WHERE name = 'person';
UPDATE sp.linkage_model SET params = jsonb_set(params, '{comparisons,given_name,m,1}', 'null') WHERE name = 'person';
SELECT r ? 'household_id' AS registered FROM sp.register_household('{"admin_area_code": "HX", "members": [
  {"given_name": "Hostile", "family_name": "Tester", "birth_date": "1979-08-12", "sex": "F",
   "relationship_to_head": "head", "national_id": "HX-000-001"}]}') r;
SELECT r ? 'household_id' AS registered_again FROM sp.register_household('{"admin_area_code": "HX", "members": [
  {"given_name": "Hostile", "family_name": "Tester", "birth_date": "1979-08-12", "sex": "F",
   "relationship_to_head": "head", "national_id": "HX-000-001"}]}') r;
UPDATE sp.linkage_model SET params = (SELECT params FROM saved_person) WHERE name = 'person';

-- 3. clusters: any bigint is an id (negative ones, the extremes); no value
--    is a sentinel
SELECT cluster_id, person_id FROM sp_internal.clusters(
    ARRAY[-5, -3, 9223372036854775807, -9223372036854775808, 0, 42]::bigint[],
    ARRAY[-3, -1, -9223372036854775808, 0, 0, 42]::bigint[]) ORDER BY person_id;
SELECT cluster_id, person_id FROM sp_internal.clusters(ARRAY[-1, -2]::bigint[], ARRAY[-2, -1]::bigint[]) ORDER BY person_id;
SELECT count(*) AS from_nothing FROM sp_internal.clusters('{}', '{}');
SELECT * FROM sp_internal.clusters(ARRAY[1, 2]::bigint[], ARRAY[3]::bigint[]);
SELECT * FROM sp_internal.clusters(ARRAY[1, NULL]::bigint[], ARRAY[3, 4]::bigint[]);
SELECT * FROM sp_internal.clusters(ARRAY[[1, 2]]::bigint[], ARRAY[[3, 4]]::bigint[]);
-- a chain of 100,000 ids is one cluster named by its smallest id
SELECT count(DISTINCT cluster_id) AS clusters, min(cluster_id) AS cluster_id, count(*) AS members
FROM sp_internal.clusters(ARRAY(SELECT -g FROM generate_series(1, 100000) g),
                          ARRAY(SELECT -g - 1 FROM generate_series(1, 100000) g));
-- an error in the middle of the call (here the result spilling past
-- temp_file_limit) leaves no memory of it behind
SET work_mem = '64kB';
SET temp_file_limit = '64kB';
SELECT count(*) FROM sp_internal.clusters(ARRAY(SELECT g FROM generate_series(1, 200000) g),
                                          ARRAY(SELECT g + 1 FROM generate_series(1, 200000) g));
RESET temp_file_limit;
RESET work_mem;
SELECT count(*) AS contexts_left FROM pg_backend_memory_contexts WHERE name = 'sp_clusters';

-- a coordinate that passes validation but underflows float8 lands as 0, it does not abort the batch
SELECT r - 'batch_id' - 'errors' AS tiny_coordinates FROM sp.import_registrations('[{"submission_id": "00000000-0000-4000-8000-0000000000e1",
  "admin_area_code": "HX", "location": {"lat": 1e-400, "lon": -1e-400},
  "members": [{"given_name": "Tiny", "relationship_to_head": "head"}]}]') r;

-- a rejected 5 MB document is kept truncated, with its size, not whole
SELECT r ->> 'rejected' AS rejected FROM sp.import_registrations(jsonb_build_array(jsonb_build_object(
  'submission_id', '00000000-0000-4000-8000-0000000000e2', 'admin_area_code', 'HX', 'huge', repeat('x', 5000000),
  'members', jsonb_build_array(jsonb_build_object('given_name', 'Big', 'relationship_to_head', 'head', 'national_id', 'HX-1'))))) r;
SELECT document ->> 'truncated' AS truncated, (document ->> 'bytes')::int > 5000000 AS size_kept,
       length(document ->> 'head') AS head_chars, pg_column_size(document) < 70000 AS small
FROM sp.import_error WHERE submission_id = '00000000-0000-4000-8000-0000000000e2';
