-- Dropping the registry by accident: refused while it holds persons.

CREATE FUNCTION sp_internal.guard_drop()
    RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'sp_guard_drop'
    LANGUAGE C;
COMMENT ON FUNCTION sp_internal.guard_drop() IS 'Event trigger: refuses DROP EXTENSION sp_registry and DROP SCHEMA sp / sp_internal while sp.person has rows, unless sp_registry.allow_hard_delete is on (superuser).';

CREATE EVENT TRIGGER sp_registry_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION sp_internal.guard_drop();
COMMENT ON EVENT TRIGGER sp_registry_guard_drop IS 'sp_registry: refuses to drop the registry while it holds persons (see sp_internal.guard_drop).';
