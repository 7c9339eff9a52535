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
-- when missing.  They are NOLOGIN groups: a DBA grants them to login roles
-- (docs/security.md has the role matrix and how to map staff to roles and areas).
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['sp_admin', 'sp_registrar', 'sp_caseworker', 'sp_programme_officer',
                             'sp_payment_officer', 'sp_grievance_officer', 'sp_analyst', 'sp_auditor',
                             'sp_pii_reader', 'sp_integration'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

-- The HTTP gateway's group role (sql/79_dci.sql): it may authenticate API
-- clients and act as each registered client's role (SET ROLE), but it does
-- not inherit their privileges (NOINHERIT): a gateway login holds nothing of
-- its own beyond checking tokens.
DO $gateway$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sp_gateway') THEN
        CREATE ROLE sp_gateway NOLOGIN NOINHERIT;
    END IF;
END
$gateway$;

COMMENT ON ROLE sp_admin IS 'sp_registry: manages catalogues, admin areas, models, area scopes and deduplication runs; holds the registrar, caseworker, programme officer and analyst roles.';
COMMENT ON ROLE sp_registrar IS 'sp_registry: registers and updates households and persons in its areas, looks up persons by national ID (audited), decides possible duplicates.';
COMMENT ON ROLE sp_caseworker IS 'sp_registry: follows households of its areas: corrections, status changes, reassessment after appeals, enrolment suspensions and exits, eligibility reviews.';
COMMENT ON ROLE sp_programme_officer IS 'sp_registry: defines programmes and quotas, runs eligibility, enrolment and recertification.';
COMMENT ON ROLE sp_payment_officer IS 'sp_registry: prepares payments: opens payment cycles, generates and approves payment lists (never one it generated itself), cancels payments, sends approved cycles to providers (G2P Connect disburse, CSV), reconciles their reports, closes cycles, re-issues failed payments and records reversals; reads enrolments and payments of its areas.';
COMMENT ON ROLE sp_grievance_officer IS 'sp_registry: handles grievances and appeals of its areas: receives, acknowledges, takes and reviews them, resolves or rejects them, tells the complainant, closes them, escalates overdue ones, reassesses households after appeals; reads households, persons, enrolments and payments of its areas.';
COMMENT ON ROLE sp_analyst IS 'sp_registry: reads de-identified registry data, catalogues, models and aggregates of its areas.';
COMMENT ON ROLE sp_auditor IS 'sp_registry: reads the audit trail, history tables and decisions of its areas; changes nothing.';
COMMENT ON ROLE sp_pii_reader IS 'sp_registry: may decrypt national IDs and phone numbers of its areas; every read is audited.';
COMMENT ON ROLE sp_integration IS 'sp_registry: machine-to-machine clients (registration apps, interoperability gateways): registers and imports in its areas.';
COMMENT ON ROLE sp_gateway IS 'sp_registry: the DCI HTTP gateway (sp_registry_gateway): checks API clients'' bearer tokens and acts as each registered client''s role (every registered client role is granted to it; NOINHERIT, so it holds none of their privileges). Only the gateway''s login may be a member.';

GRANT USAGE ON SCHEMA sp TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer,
                            sp_grievance_officer, sp_analyst, sp_auditor, sp_pii_reader, sp_integration, sp_gateway;
-- sp_internal holds the helpers that row-level security policies and views call as the reader.
GRANT USAGE ON SCHEMA sp_internal TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer,
                                     sp_grievance_officer, sp_analyst, sp_auditor, sp_pii_reader, sp_integration, sp_gateway;
