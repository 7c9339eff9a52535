-- Schemas and shipped roles.
--
-- sp           public API and registry tables (created by CREATE EXTENSION).
-- sp_internal  helpers and secrets; nothing in it is meant to be called directly.

-- Names, comparators and blind indexes work on UTF-8; refuse other encodings
-- up front rather than mangle names later.
DO $encoding$
BEGIN
    IF pg_catalog.current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'sp_registry requires a UTF8 database, this one is %',
            pg_catalog.current_setting('server_encoding')
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'CREATE DATABASE ... ENCODING ''UTF8'' TEMPLATE template0, then install the extension there.';
    END IF;
END
$encoding$;

CREATE SCHEMA sp_internal;
COMMENT ON SCHEMA sp_internal IS 'sp_registry internals: helpers, keys and validation. Not a public API.';
REVOKE ALL ON SCHEMA sp_internal FROM PUBLIC;

-- Roles are cluster-wide, so they survive DROP EXTENSION and are created only
-- when missing.  They are NOLOGIN groups: a DBA grants them to login roles.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['sp_admin', 'sp_registrar', 'sp_analyst', 'sp_pii_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

COMMENT ON ROLE sp_admin IS 'sp_registry: manages catalogues, admin areas and registry data; can do what sp_registrar and sp_analyst can.';
COMMENT ON ROLE sp_registrar IS 'sp_registry: registers and updates households and persons, looks up persons by national ID.';
COMMENT ON ROLE sp_analyst IS 'sp_registry: reads de-identified registry data and catalogues.';
COMMENT ON ROLE sp_pii_reader IS 'sp_registry: may decrypt national IDs and phone numbers; every read is audited.';

GRANT USAGE ON SCHEMA sp TO sp_admin, sp_registrar, sp_analyst, sp_pii_reader;
GRANT USAGE ON SCHEMA sp_internal TO sp_admin, sp_registrar, sp_pii_reader;
