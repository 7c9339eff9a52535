-- TRUNCATE removes rows without firing row triggers, so it would bypass the
-- delete guard, the history and the append-only audit: every table of the
-- extension refuses it (unless a superuser sets sp_registry.allow_hard_delete).
-- This file runs after every table is created; tables added by later issues
-- belong in files numbered below it.
CREATE FUNCTION sp_internal.forbid_truncate()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'sp_forbid_truncate'
    LANGUAGE C;
COMMENT ON FUNCTION sp_internal.forbid_truncate() IS
'BEFORE TRUNCATE trigger: registry tables are never truncated unless a superuser sets sp_registry.allow_hard_delete.';

DO $truncate$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind IN ('r', 'p') ORDER BY 1 LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.forbid_truncate()', t);
    END LOOP;
END
$truncate$;
