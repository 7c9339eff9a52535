-- Administrative areas: a P-code hierarchy (country > region > district > ...).

CREATE TABLE sp.admin_area (
    code        text PRIMARY KEY
                CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    parent_code text REFERENCES sp.admin_area (code),
    level       smallint NOT NULL CHECK (level BETWEEN 0 AND 10),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    valid_from  date NOT NULL DEFAULT current_date,
    valid_to    date,
    geom        geometry(MultiPolygon, 4326),
    names       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object'),
    boundary_version text,
    path        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK ((parent_code IS NULL) = (level = 0)),
    CHECK (parent_code IS DISTINCT FROM code)
);
CREATE INDEX admin_area_parent_idx ON sp.admin_area (parent_code);
CREATE INDEX admin_area_geom_idx ON sp.admin_area USING gist (geom);
-- Subtree lookups by P-code prefix (e.g. every area under 'KE01').
CREATE INDEX admin_area_code_pattern_idx ON sp.admin_area (code text_pattern_ops);
-- Subtree lookups by materialised path (area scopes, row-level security).
CREATE INDEX admin_area_path_idx ON sp.admin_area (path text_pattern_ops);

COMMENT ON TABLE sp.admin_area IS 'Administrative areas identified by P-code, with parent, level (0 = country), validity period and boundary (MultiPolygon, EPSG:4326).';
COMMENT ON COLUMN sp.admin_area.code IS 'P-code: letters, digits, underscore, dot, hyphen; at most 64 characters.';
COMMENT ON COLUMN sp.admin_area.parent_code IS 'The enclosing area; NULL only for level 0.';
COMMENT ON COLUMN sp.admin_area.names IS 'The name in each language the boundaries give, by language code: {"en": "Awdal", "so": "Awdal"}.';
COMMENT ON COLUMN sp.admin_area.boundary_version IS 'The version of the boundaries (sp.import_admin_areas) the current geometry comes from; NULL for an area entered by hand.';
COMMENT ON COLUMN sp.admin_area.path IS 'Materialised path of P-codes from the country down, e.g. /SY/SY01/SY0101/ (set by a trigger; P-codes cannot contain "/"). An area is in the subtree of another when its path starts with the other''s.';
COMMENT ON COLUMN sp.admin_area.valid_to IS 'First day the area no longer exists (boundary reform); NULL while current. Households cannot be registered in a retired area.';

-- A child is one level below its parent.
CREATE FUNCTION sp_internal.admin_area_check_level()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent_level smallint;
BEGIN
    IF NEW.parent_code IS NOT NULL THEN
        SELECT level INTO parent_level FROM sp.admin_area WHERE code = NEW.parent_code;
        IF parent_level IS NOT NULL AND NEW.level <> parent_level + 1 THEN
            RAISE EXCEPTION 'admin area "%" has level %, but its parent "%" has level %',
                NEW.code, NEW.level, NEW.parent_code, parent_level
                USING ERRCODE = 'check_violation',
                      DETAIL = 'A child area must be exactly one level below its parent.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.admin_area_check_level() IS 'Trigger: an admin area is one level below its parent.';

CREATE TRIGGER admin_area_check_level
    BEFORE INSERT OR UPDATE OF parent_code, level ON sp.admin_area
    FOR EACH ROW EXECUTE FUNCTION sp_internal.admin_area_check_level();

-- The materialised path follows the parent.  When the parent row is not there
-- yet (a data-only restore copies rows in physical order, before the foreign
-- keys exist) a path that already ends in the area's own code is kept.
CREATE FUNCTION sp_internal.admin_area_set_path()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent_path text;
BEGIN
    IF NEW.parent_code IS NULL THEN
        NEW.path := '/' || NEW.code || '/';
        RETURN NEW;
    END IF;
    SELECT a.path INTO parent_path FROM sp.admin_area a WHERE a.code = NEW.parent_code;
    IF parent_path IS NOT NULL THEN
        NEW.path := parent_path || NEW.code || '/';
    ELSIF NEW.path IS NULL OR NOT (NEW.path LIKE '%/' || NEW.parent_code || '/' || NEW.code || '/') THEN
        RAISE EXCEPTION 'parent area "%" of admin area "%" does not exist', NEW.parent_code, NEW.code
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = 'Insert the parent area first.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.admin_area_set_path() IS 'Trigger: sets the materialised path of an area from its parent''s.';

CREATE FUNCTION sp_internal.admin_area_move_subtree()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE sp.admin_area c SET path = NEW.path || c.code || '/' WHERE c.parent_code = NEW.code;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.admin_area_move_subtree() IS 'Trigger: when an area''s path changes, its children follow (recursively, through their own trigger).';

CREATE TRIGGER admin_area_set_path
    BEFORE INSERT OR UPDATE OF parent_code, code, path ON sp.admin_area
    FOR EACH ROW EXECUTE FUNCTION sp_internal.admin_area_set_path();
CREATE TRIGGER admin_area_move_subtree
    AFTER UPDATE OF path ON sp.admin_area
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION sp_internal.admin_area_move_subtree();

CREATE FUNCTION sp.admin_area_subtree(p_code text)
    RETURNS TABLE (code text, level smallint, depth integer)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE t AS (
        SELECT a.code, a.level, 0 AS depth FROM sp.admin_area a WHERE a.code = p_code
        UNION ALL
        SELECT c.code, c.level, t.depth + 1
        FROM sp.admin_area c JOIN t ON c.parent_code = t.code
    )
    SELECT t.code, t.level, t.depth FROM t;
$$;
COMMENT ON FUNCTION sp.admin_area_subtree(text) IS 'The area and every area below it, with its depth under the given area (0 for the area itself).';
