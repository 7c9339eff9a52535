-- Least privilege, PII protection and search_path safety.
BEGIN;
SELECT plan(21);

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('SC', NULL, 0, 'Securityland');
SELECT sp.register_household('{"admin_area_code": "SC", "members": [{"given_name": "Ana", "relationship_to_head": "head",
  "national_id": "SEC-001", "phone": "0700 000 001"}]}') AS r \gset

CREATE ROLE tap_analyst IN ROLE sp_analyst;
CREATE ROLE tap_registrar IN ROLE sp_registrar;
CREATE ROLE tap_reader IN ROLE sp_pii_reader;
CREATE ROLE tap_nobody;
SELECT sp.grant_area_scope(r, 'SC') IS NOT NULL AS scoped FROM unnest(ARRAY['tap_analyst', 'tap_registrar', 'tap_reader']) r;

SELECT is_empty($$
    SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind IN ('r', 'v', 'S')
      AND has_table_privilege('tap_nobody', c.oid, 'SELECT')
$$, 'a role without sp_* membership reads no table, view or sequence');

SELECT is_empty($$
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND p.prosecdef
      AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']
$$, 'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');

SET LOCAL ROLE tap_analyst;
SELECT throws_ok('SELECT given_name FROM sp.person', '42501', NULL, 'analysts cannot read names');
SELECT throws_ok('SELECT * FROM sp_internal.pii_key', '42501', NULL, 'analysts cannot read keys');
SELECT lives_ok('SELECT count(*) FROM sp.person_deidentified', 'analysts read de-identified persons');
SELECT hasnt_column('sp', 'person_deidentified', 'given_name', 'the de-identified view has no names');
RESET ROLE;

SET LOCAL ROLE tap_registrar;
SELECT throws_ok('SELECT key FROM sp_internal.pii_key', '42501', NULL, 'registrars cannot read keys');
SELECT throws_ok('SELECT sp.person_national_id(1, ''x'')', '42501', NULL, 'registrars cannot decrypt national IDs');
SELECT throws_ok('SELECT sp_internal.decrypt_pii(national_id_enc) FROM sp.person LIMIT 1', '42501', NULL,
                 'registrars cannot call the decryption helper');
SELECT throws_ok('DELETE FROM sp.pii_access_log', '42501', NULL, 'registrars cannot erase the audit log');
SELECT throws_ok('UPDATE sp.person_history SET given_name = ''x''', '42501', NULL, 'registrars cannot rewrite history');
SELECT is((SELECT count(*)::int FROM sp.find_person_by_national_id('sec001')), 1, 'registrars look up by national ID');
SELECT lives_ok('SELECT given_name, birth_date, version FROM sp.person', 'registrars read names and birth dates');
SELECT throws_ok('SELECT national_id_hash FROM sp.person', '42501', NULL,
                 'registrars cannot read the blind index (no unaudited lookups)');
SELECT throws_ok('SELECT national_id_enc FROM sp.person_history', '42501', NULL,
                 'nor the identifiers kept in history');
SELECT lives_ok(format($$SELECT sp.update_person(%s, '{"phone": "0700 000 002", "given_name": "Anna"}', 'typo at registration')$$,
                       (:'r'::jsonb -> 'person_ids' ->> 0)::bigint),
                'registrars correct persons, identifiers included');
RESET ROLE;

SET LOCAL ROLE tap_reader;
SELECT is(sp.person_national_id((:'r'::jsonb -> 'person_ids' ->> 0)::bigint, 'tap test'), 'SEC-001',
          'PII readers decrypt national IDs');
RESET ROLE;
SELECT is((SELECT session_role || '/' || purpose FROM sp.pii_access_log ORDER BY log_id DESC LIMIT 1),
          session_user || '/tap test', 'the read is audited with the login role and purpose');

-- a hostile search_path cannot hijack function bodies
CREATE SCHEMA tap_evil;
CREATE FUNCTION tap_evil.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
CREATE FUNCTION tap_evil.btrim(text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
SET LOCAL search_path = tap_evil, public;
SELECT lives_ok($$SELECT sp.register_household('{"admin_area_code": "SC", "members": [{"given_name": "Bo", "relationship_to_head": "head"}]}')$$,
                'registration ignores functions planted on the caller''s search_path');
SELECT lives_ok($$SELECT * FROM sp.find_person_by_national_id('SEC-001')$$,
                'lookups ignore functions planted on the caller''s search_path');
RESET search_path;

SELECT isnt((SELECT national_id_hash FROM sp.person WHERE person_id = (:'r'::jsonb -> 'person_ids' ->> 0)::bigint),
            sha256(convert_to('national_id:SEC001', 'UTF8')), 'the blind index is keyed, not a bare hash');

SELECT * FROM finish();
ROLLBACK;
