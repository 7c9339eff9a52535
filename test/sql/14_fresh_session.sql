-- Integrity settings in a fresh session (issue 9, findings 5 and 6).  Before
-- the module is loaded, PostgreSQL accepts any sp_registry.* value as a
-- placeholder, from SET or from the connection's options; loading the module
-- (the first call into it) must throw away what a non-superuser set, since
-- the settings are superuser-only.  pgTAP runs inside one session, hence
-- this test: it logs in as a registrar.
\set SHOW_CONTEXT never
\set VERBOSITY terse
SELECT current_user AS superuser \gset
\getenv password PGPASSWORD
\if :{?password}
\else
\set password 'unused'
\endif

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('FS', NULL, 0, 'Fresh');
SELECT (sp.register_household('{"admin_area_code": "FS", "members": [{"given_name": "Fay", "relationship_to_head": "head"}]}')
        ->> 'household_id')::bigint AS fs_household \gset
CREATE ROLE sp_test_fresh LOGIN PASSWORD :'password' IN ROLE sp_registrar;
SELECT sp.grant_area_scope('sp_test_fresh', 'FS') ->> 'admin_area_code' AS scoped;

-- 1. SET before the module is loaded: a placeholder, discarded at the load
\c - sp_test_fresh
SET sp_registry.repointing_enrolments = on;
SET sp_registry.duplicate_flag_probability = 0;
SET sp_registry.change_reason = 'forged by the registrar';
SHOW sp_registry.repointing_enrolments;
SELECT sp.normalize_name('Ünïcode');
SHOW sp_registry.repointing_enrolments;
SHOW sp_registry.duplicate_flag_probability;
SHOW sp_registry.change_reason;
-- and once loaded, the settings are refused outright
SET sp_registry.change_reason = 'forged by the registrar';

-- 2. a placeholder set before the module is loaded and the first call of the
-- session is an API change: the history keeps the API's reason
\c - sp_test_fresh
SET sp_registry.change_reason = 'forged by the registrar';
SELECT sp.update_household(:fs_household, '{"attributes": {"rooms": 2}}', 'rooms counted again') ->> 'version' AS version;
SHOW sp_registry.change_reason;

-- 3. the same settings passed as connection options
\c -reuse-previous=on "user=sp_test_fresh options='-c sp_registry.repointing_enrolments=on -c sp_registry.change_reason=forged'"
SHOW sp_registry.repointing_enrolments;
SELECT sp.update_household(:fs_household, '{"attributes": {"rooms": 3}}', 'rooms counted a third time') ->> 'version' AS version;
SHOW sp_registry.repointing_enrolments;

-- 4. as the role's default
ALTER ROLE sp_test_fresh SET sp_registry.change_reason = 'forged';

\c -reuse-previous=on "options=''"
\c - :superuser
SELECT version, change_reason, changed_by FROM sp.household_history WHERE household_id = :fs_household ORDER BY history_id;
SELECT count(*) AS role_defaults FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = 'sp_test_fresh';
DROP ROLE sp_test_fresh;
