-- A session's parsed PMT models never outlive what they were parsed from:
-- a version number handed out again after a rollback, a catalogue edit, the
-- extension dropped and created again.  Each case scores in the same session
-- (the cache is per backend) before and after the change.  A database of its
-- own: the extension is dropped and created again at the end.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
CREATE DATABASE regress_sp_model_cache TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';
\c regress_sp_model_cache
SET client_min_messages = warning;
CREATE EXTENSION sp_registry CASCADE;
RESET client_min_messages;

CREATE FUNCTION pg_temp.cached_models() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'PMT model'
$$;
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('MC', NULL, 0, 'Model cache land');
INSERT INTO sp.variable (code, label, entity, value_type) VALUES ('cache_probe', 'A probe', 'household', 'integer');
SELECT (sp.register_household('{"admin_area_code": "MC", "attributes": {"rooms": 2, "dwelling_type": "hut", "cache_probe": 10},
  "members": [{"given_name": "A", "relationship_to_head": "head"}]}') ->> 'household_id')::bigint AS h \gset

-- 1. A rolled-back sp.create_pmt_model: the next one gets the same version
-- number with another spec, and scoring follows the new spec.
BEGIN;
SELECT sp.create_pmt_model('m', '{"intercept": 1, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 0}]}') AS version;
SELECT sp.activate_pmt_model('m', 1);
SELECT sp.pmt_score('m', :h) AS score_rolled_back;
ROLLBACK;
SELECT sp.create_pmt_model('m', '{"intercept": 100, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 0}]}') AS version;
SELECT sp.activate_pmt_model('m', 1);
SELECT sp.pmt_score('m', :h) AS score;
SELECT variable, value, contribution FROM sp.pmt_explain('m', :h);
SELECT sp.score_households('m') AS assessed;
SELECT version, score FROM sp.assessment WHERE model = 'm';

-- the same within a transaction, through a savepoint
BEGIN;
SAVEPOINT s;
SELECT sp.create_pmt_model('m', '{"intercept": 5, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 0}]}') AS version;
SELECT sp.activate_pmt_model('m', 2);
SELECT sp.pmt_score('m', :h) AS score_rolled_back;
ROLLBACK TO SAVEPOINT s;
SELECT sp.pmt_score('m', :h) AS score_version_1_again;
SELECT sp.create_pmt_model('m', '{"intercept": 50, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 0}]}') AS version;
SELECT sp.activate_pmt_model('m', 2);
SELECT sp.pmt_score('m', :h) AS score;
COMMIT;
SELECT sp.pmt_score('m', :h) AS score_after_commit;

-- 2. Catalogue edits: scoring validates against the catalogue as it is,
-- exactly as a new session would.
SELECT sp.create_pmt_model('probe', $${"intercept": 0, "terms": [{"variable": "cache_probe", "coefficient": 1},
                                       {"variable": "dwelling_type", "categories": {"hut": 1}}], "cutoffs": [{"value": 0}]}$$) AS version;
SELECT sp.activate_pmt_model('probe', 1);
SELECT sp.pmt_score('probe', :h) AS score;
-- the catalogue no longer has the category the model names
UPDATE sp.variable SET categories = array_remove(categories, 'hut') WHERE code = 'dwelling_type';
SELECT sp.pmt_score('probe', :h) AS score;
SELECT sp_internal.pmt_validate_spec(spec) FROM sp.pmt_model WHERE name = 'probe';
UPDATE sp.variable SET categories = categories || '{hut}' WHERE code = 'dwelling_type';
SELECT sp.pmt_score('probe', :h) AS score;
-- a variable of the model changes type, then leaves the catalogue
UPDATE sp.variable SET value_type = 'text' WHERE code = 'cache_probe';
SELECT sp.pmt_score('probe', :h) AS score;
UPDATE sp.variable SET value_type = 'integer' WHERE code = 'cache_probe';
SELECT sp.pmt_score('probe', :h) AS score;
DELETE FROM sp.variable WHERE code = 'cache_probe';
SELECT sp.pmt_score('probe', :h) AS score;
SELECT * FROM sp_internal.pmt_evaluate_all('probe', NULL);
INSERT INTO sp.variable (code, label, entity, value_type) VALUES ('cache_probe', 'A probe', 'household', 'integer');
SELECT sp.pmt_score('probe', :h) AS score;
-- an edit rolled back leaves scoring as it was
BEGIN;
DELETE FROM sp.variable WHERE code = 'cache_probe';
SAVEPOINT s;
SELECT sp.pmt_score('probe', :h) AS score;
ROLLBACK TO SAVEPOINT s;
ROLLBACK;
SELECT sp.pmt_score('probe', :h) AS score;

-- one parsed model per name is kept, however many versions were activated:
-- a replaced one is freed when its transaction ends
SELECT sp.create_pmt_model('m', '{"intercept": 7, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 0}]}') AS version;
SELECT sp.activate_pmt_model('m', 3);
SELECT sp.pmt_score('m', :h) AS score;
SELECT pg_temp.cached_models();

-- 3. The extension dropped and created again: the same model name, version
-- and household id come back with other contents.
SET sp_registry.allow_hard_delete = on;
SET client_min_messages = warning;
DROP EXTENSION sp_registry;
CREATE EXTENSION sp_registry;
RESET client_min_messages;
RESET sp_registry.allow_hard_delete;
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('MC', NULL, 0, 'Model cache land');
SELECT (sp.register_household('{"admin_area_code": "MC", "attributes": {"rooms": 4},
  "members": [{"given_name": "B", "relationship_to_head": "head"}]}') ->> 'household_id')::bigint = :h AS same_household_id;
SELECT sp.create_pmt_model('m', '{"intercept": 200, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 0}]}') AS version;
SELECT sp.activate_pmt_model('m', 1);
SELECT sp.pmt_score('m', :h) AS score;
SELECT sp.pmt_score('probe', :h) AS score;

\c :regress_db
DROP DATABASE regress_sp_model_cache;
