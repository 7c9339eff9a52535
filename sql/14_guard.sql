-- Dropping the registry by accident: refused while it holds persons,
-- whatever the path (src/pg/guard.c).  The refusal itself is an object
-- access hook of the module, called for each object a DROP deletes, cascades
-- included; this event trigger makes sure the module is loaded before any
-- DDL statement, and refuses to detach members with ALTER EXTENSION ... DROP.

CREATE FUNCTION sp_internal.guard_drop()
    RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'sp_guard_drop'
    LANGUAGE C;
COMMENT ON FUNCTION sp_internal.guard_drop() IS 'Event trigger at the start of every DDL statement: loads the drop guard (any DROP that would delete sp.person while it has rows is refused, e.g. DROP EXTENSION postgis CASCADE or DROP SCHEMA public CASCADE), and refuses ALTER EXTENSION sp_registry DROP while sp.person has rows; sp_registry.allow_hard_delete (superuser) overrides both.';

-- No WHEN TAG: a cascade can start from many kinds of statement.  ENABLE
-- ALWAYS: session_replication_role = replica does not turn it off.
CREATE EVENT TRIGGER sp_registry_guard_drop ON ddl_command_start
    EXECUTE FUNCTION sp_internal.guard_drop();
ALTER EVENT TRIGGER sp_registry_guard_drop ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER sp_registry_guard_drop IS 'sp_registry: loads the drop guard, which refuses any DROP that would take sp.person and its rows with it, and refuses ALTER EXTENSION sp_registry DROP while persons exist (see sp_internal.guard_drop).';
