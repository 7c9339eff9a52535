-- Geo-targeting (issue 13): real boundaries imported from OCHA COD-AB style
-- GeoJSON with their versions kept, a subdivided copy of every current area
-- for fast point-in-polygon, the area of a point, households whose location
-- disagrees with the area they declared, and households in a footprint
-- (a flood polygon, a point with a radius, a river with a buffer in metres).
--
-- PostGIS lives in a schema chosen when it was installed; bodies run with
-- search_path = pg_catalog, pg_temp, so every PostGIS name is written @gis@
-- below and resolved once, now.

CREATE TABLE sp.boundary_import (
    import_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    level         smallint NOT NULL CHECK (level BETWEEN 0 AND 10),
    version       text NOT NULL CHECK (length(version) BETWEEN 1 AND 100),
    digest        bytea NOT NULL,
    valid_from    date NOT NULL,
    features      integer NOT NULL,
    added         integer NOT NULL,
    changed       integer NOT NULL,
    unchanged     integer NOT NULL,
    retired       integer NOT NULL,
    repaired      jsonb NOT NULL DEFAULT '[]',
    mapping       jsonb NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT now(),
    imported_by   text NOT NULL DEFAULT sp_internal.caller(),
    countries     text[] NOT NULL
);
CREATE INDEX boundary_import_version_idx ON sp.boundary_import (level, version);
COMMENT ON TABLE sp.boundary_import IS 'Each version of a level''s boundaries loaded by sp.import_admin_areas: the countries it covers (level-0 P-codes), what it added, changed, left unchanged and retired, the geometries it repaired (and why), the field mapping used, who and when. A version is imported once per level and country. Append-only.';
CREATE TRIGGER boundary_import_append_only BEFORE UPDATE OR DELETE ON sp.boundary_import
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

DO $geo$
DECLARE
    gis text;
BEGIN
    SELECT pg_catalog.quote_ident(n.nspname) INTO STRICT gis
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'postgis';
    EXECUTE pg_catalog.replace($ddl$

-- every version of every boundary: the current one has valid_to NULL
CREATE TABLE sp.admin_area_boundary (
    code        text NOT NULL REFERENCES sp.admin_area (code),
    version     text NOT NULL,
    level       smallint NOT NULL,
    name        text NOT NULL,
    names       jsonb NOT NULL DEFAULT '{}',
    geom        @gis@.geometry(MultiPolygon, 4326) NOT NULL,
    valid_from  date NOT NULL,
    valid_to    date,
    import_id   bigint REFERENCES sp.boundary_import (import_id),
    PRIMARY KEY (code, version),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX admin_area_boundary_current_idx ON sp.admin_area_boundary (code) WHERE valid_to IS NULL;

-- the current boundaries cut into pieces of at most 256 vertices: a point is
-- tested against one small piece instead of a country's coastline
CREATE TABLE sp.admin_area_part (
    part_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL REFERENCES sp.admin_area (code),
    level       smallint NOT NULL,
    geom        @gis@.geometry(Geometry, 4326) NOT NULL
);
CREATE INDEX admin_area_part_geom_idx ON sp.admin_area_part USING gist (geom);
CREATE INDEX admin_area_part_code_idx ON sp.admin_area_part (code);

CREATE FUNCTION sp_internal.refresh_area_parts(codes text[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM sp.admin_area_part p WHERE p.code = ANY (codes);
    INSERT INTO sp.admin_area_part (code, level, geom)
    SELECT a.code, a.level, @gis@.ST_Subdivide(a.geom, 256)
    FROM sp.admin_area a
    WHERE a.code = ANY (codes) AND a.geom IS NOT NULL AND a.valid_to IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- The lowest current area (or the one of the level asked for) whose boundary
-- holds the point.  A point on a border shared by two areas lies in both:
-- the smaller P-code is returned, so the answer does not depend on row order.
CREATE FUNCTION sp.area_at_point(point @gis@.geometry, level integer DEFAULT NULL)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.code
    FROM sp.admin_area_part p
    WHERE @gis@.ST_Intersects(p.geom, CASE WHEN @gis@.ST_SRID(point) IN (0, 4326) THEN @gis@.ST_SetSRID(point, 4326)
                                           ELSE @gis@.ST_Transform(point, 4326) END)
      AND (area_at_point.level IS NULL OR p.level = area_at_point.level)
    ORDER BY p.level DESC, p.code
    LIMIT 1
$$;

-- The footprint as the caller gave it, checked: SRID 4326 (or none, taken as
-- 4326), a point, line or polygon with lon/lat coordinates, a buffer from 0
-- to 500 km.
CREATE FUNCTION sp_internal.check_footprint(footprint @gis@.geometry, buffer_m float8)
    RETURNS @gis@.geometry
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g @gis@.geometry;
BEGIN
    IF footprint IS NULL THEN
        RAISE EXCEPTION 'a footprint is needed' USING ERRCODE = 'null_value_not_allowed', COLUMN = 'footprint';
    END IF;
    IF @gis@.ST_SRID(footprint) NOT IN (0, 4326) THEN
        RAISE EXCEPTION 'the footprint has SRID %, not 4326', @gis@.ST_SRID(footprint)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'footprint',
                  HINT = 'Give longitude and latitude (EPSG:4326), e.g. ST_Transform(geom, 4326).';
    END IF;
    g := @gis@.ST_Force2D(@gis@.ST_SetSRID(footprint, 4326));
    IF @gis@.ST_IsEmpty(g) THEN
        RAISE EXCEPTION 'the footprint is empty' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'footprint';
    END IF;
    IF @gis@.GeometryType(g) NOT IN ('POINT', 'MULTIPOINT', 'LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON') THEN
        RAISE EXCEPTION 'a footprint is a point, line or polygon, not %', lower(@gis@.GeometryType(g))
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'footprint';
    END IF;
    IF @gis@.ST_XMin(g) < -180 OR @gis@.ST_XMax(g) > 180 OR @gis@.ST_YMin(g) < -90 OR @gis@.ST_YMax(g) > 90 THEN
        RAISE EXCEPTION 'the footprint''s coordinates are not longitude and latitude'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'footprint',
                  DETAIL = format('Its extent is %s.', @gis@.ST_AsText(@gis@.ST_Envelope(g), 3));
    END IF;
    IF NOT (@gis@.ST_IsValidDetail(g)).valid THEN
        RAISE EXCEPTION 'the footprint is not a valid geometry: %', @gis@.ST_IsValidReason(g)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'footprint', HINT = 'Repair it with ST_MakeValid.';
    END IF;
    IF buffer_m IS NULL OR buffer_m < 0 OR buffer_m > 500000 OR buffer_m = 'NaN'::float8 THEN
        RAISE EXCEPTION 'buffer_m must be between 0 and 500000 metres, not %', coalesce(buffer_m::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'buffer_m';
    END IF;
    RETURN g;
END
$$;

-- Households in a footprint, or within buffer_m metres of it, measured on the
-- spheroid (right at any latitude).  Runs as the caller: row-level security
-- limits it to the caller's areas.  A flood polygon or a river can have tens
-- of thousands of vertices, so the footprint is cut into pieces
-- (ST_Subdivide), and each piece's box finds candidate households through
-- the location index.  Two parts:
--   inside: households in a polygon (or exactly on a line or point when there
--     is no buffer), decided by the piece itself, distance 0;
--   near: with a buffer, households within buffer_m of the polygon's rings
--     (or of the line or point) and not inside: each piece's box is widened
--     by the buffer in degrees at the piece's latitude, and the distance on
--     the spheroid to that piece decides.  Only the rings, not the polygon's
--     interior: households deep inside are not measured once per piece.
-- Each test runs once per candidate and piece (the OFFSET 0 keeps the planner
-- from evaluating it again after the sort).
--
-- Why pieces and not the footprint itself: PostGIS caches a prepared
-- geometry per call site, and checks on every call that the argument is the
-- one it prepared: cheap for a value read from a table (a TOAST pointer), a
-- comparison of every byte for a value built in memory, as an argument is
-- (at 1,000,000 households against 54,974 vertices: 3.8 s against 0.35 s).
-- Pieces are small, so that comparison costs little, and their boxes are
-- tight.  Inside, pieces of up to 1024 vertices (fewer to cut, measured
-- fastest); near, 256 (each box is widened by the buffer, so smaller pieces
-- bring fewer candidates).  The work memory is raised for the call so that
-- the candidates are grouped in memory; JIT is off (the estimates for the
-- joins are large, and compiling cost 0.5 s of a 0.8 s call).
CREATE FUNCTION sp.households_in_footprint(footprint @gis@.geometry, buffer_m float8 DEFAULT 0)
    RETURNS TABLE (household_id bigint, admin_area_code text, distance_m float8)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    SET work_mem = '64MB'
    SET jit = off
AS $$
DECLARE
    g @gis@.geometry := sp_internal.check_footprint(footprint, buffer_m);
    polygonal boolean := @gis@.GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON');
    -- what distances are measured to: a polygon's rings, or the line or point
    edge @gis@.geometry := CASE WHEN buffer_m = 0 THEN NULL WHEN polygonal THEN @gis@.ST_Boundary(g) ELSE g END;
BEGIN
    RETURN QUERY
    WITH inside AS MATERIALIZED (
        SELECT h.household_id, h.admin_area_code
        FROM (SELECT @gis@.ST_Subdivide(g, 1024) AS p WHERE polygonal OR buffer_m = 0) b
        JOIN sp.household h ON h.location OPERATOR(@gis@.&&) b.p
        WHERE h.status = 'active' AND @gis@.ST_Intersects(b.p, h.location)
        -- a household on the edge between two pieces is in both
        GROUP BY h.household_id, h.admin_area_code
    ),
    pieces AS MATERIALIZED (
        -- each piece also as geography, its edges cut to 0.01 degree so that
        -- they follow the lines drawn in longitude and latitude, not great
        -- circles (a buffer must only ever add households)
        SELECT x.p, @gis@.ST_Segmentize(x.p, 0.01)::@gis@.geography AS pg,
               @gis@.ST_XMin(x.p) AS x0, @gis@.ST_XMax(x.p) AS x1, @gis@.ST_YMin(x.p) AS y0, @gis@.ST_YMax(x.p) AS y1,
               buffer_m * 1.01 / 110574.0 AS dlat
        FROM (SELECT @gis@.ST_Subdivide(edge, 256) AS p WHERE edge IS NOT NULL) x
    ),
    -- a degree of longitude shrinks with the cosine of the latitude: taken at
    -- the piece's edge nearest a pole (1 % margin for the spheroid); near a
    -- pole, every longitude; across the antimeridian, the part beyond it too
    reach AS (
        SELECT pc.*, CASE WHEN greatest(abs(pc.y0), abs(pc.y1)) + pc.dlat >= 89.0 THEN 360.0
                          ELSE buffer_m * 1.01 / (111320.0 * cos(radians(greatest(abs(pc.y0), abs(pc.y1)) + pc.dlat))) END AS dlon
        FROM pieces pc
    ),
    boxes AS MATERIALIZED (
        SELECT r.pg, @gis@.ST_MakeEnvelope(greatest(r.x0 - r.dlon, -180), greatest(r.y0 - r.dlat, -90),
                                           least(r.x1 + r.dlon, 180), least(r.y1 + r.dlat, 90), 4326) AS box
        FROM reach r
        UNION ALL
        SELECT r.pg, @gis@.ST_MakeEnvelope(r.x0 - r.dlon + 360, greatest(r.y0 - r.dlat, -90), 180, least(r.y1 + r.dlat, 90), 4326)
        FROM reach r WHERE r.x0 - r.dlon < -180 AND r.dlon < 360
        UNION ALL
        SELECT r.pg, @gis@.ST_MakeEnvelope(-180, greatest(r.y0 - r.dlat, -90), r.x1 + r.dlon - 360, least(r.y1 + r.dlat, 90), 4326)
        FROM reach r WHERE r.x1 + r.dlon > 180 AND r.dlon < 360
    ),
    near AS (
        SELECT h.household_id, h.admin_area_code, dd.d
        FROM boxes b
        JOIN sp.household h ON h.location OPERATOR(@gis@.&&) b.box
        CROSS JOIN LATERAL (SELECT @gis@.ST_Distance(h.location::@gis@.geography, b.pg)::float8 AS d OFFSET 0) dd
        WHERE h.status = 'active'
          AND NOT EXISTS (SELECT 1 FROM inside i WHERE i.household_id = h.household_id)
    )
    SELECT i.household_id, i.admin_area_code, 0::float8 FROM inside i
    UNION ALL
    SELECT n.household_id, n.admin_area_code, min(n.d)
    FROM near n
    WHERE n.d <= buffer_m
    GROUP BY n.household_id, n.admin_area_code
    ORDER BY 1;
END
$$;

-- Households whose location lies outside the area they declared (or its
-- subtree): listed, never moved.  Runs as the caller (row-level security).
CREATE FUNCTION sp.household_area_mismatches(area text DEFAULT NULL)
    RETURNS TABLE (household_id bigint, declared_area text, located_area text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.household_id, h.admin_area_code, loc.code
    FROM sp.household h
    JOIN sp.admin_area d ON d.code = h.admin_area_code
    LEFT JOIN LATERAL (SELECT sp.area_at_point(h.location) AS code) loc ON true
    LEFT JOIN sp.admin_area l ON l.code = loc.code
    WHERE h.location IS NOT NULL AND h.status = 'active'
      AND (household_area_mismatches.area IS NULL
           OR starts_with(d.path, (SELECT a.path FROM sp.admin_area a WHERE a.code = household_area_mismatches.area)))
      -- known boundaries only: a point nowhere (no boundary loaded there) is listed;
      -- a point in the declared area, below it or above it (a coarser
      -- boundary) agrees
      AND (l.code IS NULL OR NOT (starts_with(l.path, d.path) OR starts_with(d.path, l.path)))
      AND EXISTS (SELECT 1 FROM sp.admin_area_part)
    ORDER BY h.household_id
$$;

-- The import.  Every feature is read and checked before anything is written:
-- one refused feature refuses the collection, named by its index and P-code.
CREATE FUNCTION sp.import_admin_areas(geojson jsonb, level integer, version text, mapping jsonb DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    m jsonb;
    crs text;
    f record;
    g @gis@.geometry;
    fixed @gis@.geometry;
    f_code text;
    f_parent text;
    nm text;
    nms jsonb;
    vfrom date;
    vto date;
    repaired jsonb := '[]';
    dig bytea;
    prev sp.boundary_import;
    imp_id bigint;
    n_added integer;
    n_changed integer;
    n_unchanged integer;
    n_retired integer;
    starts date;
    bad text;
    k text;
    release_countries text[];
BEGIN
    IF NOT pg_catalog.pg_has_role(sp_internal.caller(), 'sp_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'importing boundaries needs the sp_admin role' USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM sp_internal.require_national_scope('Importing boundaries');
    IF level IS NULL OR level < 0 OR level > 10 THEN
        RAISE EXCEPTION 'level must be 0 to 10, not %', coalesce(level::text, 'NULL') USING ERRCODE = 'invalid_parameter_value', COLUMN = 'level';
    END IF;
    IF version IS NULL OR length(btrim(version)) = 0 OR length(version) > 100 THEN
        RAISE EXCEPTION 'a boundary version (1 to 100 characters) is needed, e.g. the COD''s date' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'version';
    END IF;
    IF geojson IS NULL OR jsonb_typeof(geojson) <> 'object' OR geojson ->> 'type' IS DISTINCT FROM 'FeatureCollection'
       OR jsonb_typeof(geojson -> 'features') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'boundaries come as a GeoJSON FeatureCollection with a features array'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geojson';
    END IF;
    IF jsonb_array_length(geojson -> 'features') = 0 THEN
        RAISE EXCEPTION 'the FeatureCollection has no features' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geojson';
    END IF;
    crs := geojson #>> '{crs,properties,name}';
    IF crs IS NOT NULL AND crs NOT IN ('urn:ogc:def:crs:OGC:1.3:CRS84', 'urn:ogc:def:crs:OGC::CRS84', 'urn:ogc:def:crs:EPSG::4326', 'EPSG:4326') THEN
        RAISE EXCEPTION 'the FeatureCollection''s coordinates are in %, not longitude and latitude (EPSG:4326)', left(crs, 100)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'crs', HINT = 'Reproject it first, e.g. ogr2ogr -t_srs EPSG:4326.';
    END IF;
    -- the field mapping: COD-AB names by default, the caller's where given
    m := jsonb_build_object('code', format('ADM%s_PCODE', level), 'parent_code', CASE WHEN level > 0 THEN format('ADM%s_PCODE', level - 1) END,
                            'name', format('ADM%s_EN', level), 'valid_from', 'validOn', 'valid_to', 'validTo');
    IF mapping IS NOT NULL THEN
        IF jsonb_typeof(mapping) <> 'object' THEN
            RAISE EXCEPTION 'the mapping is a JSON object of field names' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'mapping';
        END IF;
        FOR k IN SELECT jsonb_object_keys(mapping) LOOP
            IF k NOT IN ('code', 'parent_code', 'name', 'names', 'valid_from', 'valid_to') THEN
                RAISE EXCEPTION 'mapping key "%" is not one of code, parent_code, name, names, valid_from, valid_to', left(k, 50)
                    USING ERRCODE = 'invalid_parameter_value', COLUMN = 'mapping';
            END IF;
            IF (k = 'names' AND jsonb_typeof(mapping -> k) <> 'object') OR (k <> 'names' AND jsonb_typeof(mapping -> k) NOT IN ('string', 'null')) THEN
                RAISE EXCEPTION 'mapping key "%" names a property (names: an object of language to property)', k
                    USING ERRCODE = 'invalid_parameter_value', COLUMN = 'mapping';
            END IF;
        END LOOP;
        m := m || mapping;
    END IF;
    IF m ->> 'code' IS NULL THEN
        RAISE EXCEPTION 'the mapping names no P-code property' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'mapping';
    END IF;
    IF level > 0 AND m ->> 'parent_code' IS NULL THEN
        RAISE EXCEPTION 'the mapping names no parent P-code property for level %', level USING ERRCODE = 'invalid_parameter_value', COLUMN = 'mapping';
    END IF;

    -- one import of a level at a time
    -- one import at a time, whatever its level (a level-1 release retiring a
    -- region while a level-2 import checks its parent is current)
    PERFORM pg_advisory_xact_lock(hashtext('sp.import_admin_areas'));
    dig := sha256(convert_to(geojson::text || coalesce(m::text, ''), 'UTF8'));

    IF to_regclass('pg_temp.sp_boundary_features') IS NOT NULL THEN
        DROP TABLE pg_temp.sp_boundary_features;
    END IF;
    CREATE TEMP TABLE sp_boundary_features (item integer, code text, parent_code text, name text, names jsonb,
                                            valid_from date, valid_to date, geom @gis@.geometry) ON COMMIT DROP;
    FOR f IN SELECT x.v, x.ord::integer AS item FROM jsonb_array_elements(geojson -> 'features') WITH ORDINALITY x (v, ord) LOOP
        IF jsonb_typeof(f.v) <> 'object' OR f.v ->> 'type' IS DISTINCT FROM 'Feature' OR jsonb_typeof(f.v -> 'properties') IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'feature % is not a GeoJSON Feature with properties', f.item
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'features';
        END IF;
        f_code := f.v -> 'properties' ->> (m ->> 'code');
        IF f_code IS NULL OR f_code !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' THEN
            RAISE EXCEPTION 'feature % has no valid P-code in property "%": %', f.item, m ->> 'code', coalesce(quote_literal(left(f_code, 70)), 'missing')
                USING ERRCODE = 'invalid_parameter_value', COLUMN = m ->> 'code',
                      DETAIL = 'A P-code is letters, digits, _ . - (at most 64).';
        END IF;
        f_parent := CASE WHEN level > 0 THEN f.v -> 'properties' ->> (m ->> 'parent_code') END;
        IF level > 0 AND f_parent IS NULL THEN
            RAISE EXCEPTION 'feature % (%) has no parent P-code in property "%"', f.item, f_code, m ->> 'parent_code'
                USING ERRCODE = 'invalid_parameter_value', COLUMN = m ->> 'parent_code';
        END IF;
        IF level > 0 AND NOT starts_with(f_code, f_parent) THEN
            RAISE EXCEPTION 'feature % (%): its P-code does not start with its parent''s, %', f.item, f_code, left(f_parent, 64)
                USING ERRCODE = 'invalid_parameter_value', COLUMN = m ->> 'code';
        END IF;
        IF level > 0 AND NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = f_parent AND a.level = import_admin_areas.level - 1
                                     AND a.valid_to IS NULL) THEN
            RAISE EXCEPTION 'feature % (%): its parent % is not a current area of level %', f.item, f_code, left(f_parent, 64), level - 1
                USING ERRCODE = 'foreign_key_violation', COLUMN = m ->> 'parent_code',
                      HINT = 'Import the level above first.';
        END IF;
        -- names: the mapping's languages, else every ADM<level>_<XX> property
        IF m ? 'names' THEN
            SELECT coalesce(jsonb_object_agg(lower(l.key), f.v -> 'properties' ->> l.value) FILTER (WHERE f.v -> 'properties' ->> l.value IS NOT NULL), '{}')
            INTO nms FROM jsonb_each_text(m -> 'names') l;
        ELSE
            SELECT coalesce(jsonb_object_agg(lower(substr(p.key, length(format('ADM%s_', level)) + 1)), p.value), '{}')
            INTO nms FROM jsonb_each_text(f.v -> 'properties') p
            WHERE p.key ~ ('^ADM' || level || '_[A-Z]{2}$') AND p.key NOT IN (format('ADM%s_ID', level)) AND p.value IS NOT NULL;
        END IF;
        nm := coalesce(f.v -> 'properties' ->> (m ->> 'name'), nms ->> 'en', (SELECT v FROM jsonb_each_text(nms) e (k, v) ORDER BY k LIMIT 1));
        IF nm IS NULL OR length(btrim(nm)) = 0 OR length(nm) > 200 THEN
            RAISE EXCEPTION 'feature % (%) has no name (1 to 200 characters) in property "%"', f.item, f_code, m ->> 'name'
                USING ERRCODE = 'invalid_parameter_value', COLUMN = m ->> 'name';
        END IF;
        BEGIN
            vfrom := coalesce(left(f.v -> 'properties' ->> (m ->> 'valid_from'), 10)::date, current_date);
            vto := left(f.v -> 'properties' ->> (m ->> 'valid_to'), 10)::date;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
            RAISE EXCEPTION 'feature % (%) has a validity date that is not a date', f.item, f_code
                USING ERRCODE = 'invalid_datetime_format', COLUMN = m ->> 'valid_from';
        END;
        IF vto IS NOT NULL AND vto <= vfrom THEN
            RAISE EXCEPTION 'feature % (%) ends (%) before it begins (%)', f.item, f_code, vto, vfrom
                USING ERRCODE = 'invalid_parameter_value', COLUMN = m ->> 'valid_to';
        END IF;
        IF jsonb_typeof(f.v -> 'geometry') IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'feature % (%) has no geometry', f.item, f_code USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geometry';
        END IF;
        BEGIN
            g := @gis@.ST_GeomFromGeoJSON(f.v -> 'geometry');
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'feature % (%) has a geometry that is not valid GeoJSON', f.item, f_code
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geometry', DETAIL = left(SQLERRM, 200);
        END;
        IF @gis@.ST_SRID(g) NOT IN (0, 4326) THEN
            RAISE EXCEPTION 'feature % (%) has SRID %, not 4326', f.item, f_code, @gis@.ST_SRID(g)
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geometry', HINT = 'Reproject it to longitude and latitude first.';
        END IF;
        g := @gis@.ST_Force2D(@gis@.ST_SetSRID(g, 4326));
        IF @gis@.GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON') OR @gis@.ST_IsEmpty(g) THEN
            RAISE EXCEPTION 'feature % (%) is a %, not a polygon', f.item, f_code, lower(@gis@.GeometryType(g))
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geometry';
        END IF;
        IF @gis@.ST_XMin(g) < -180 OR @gis@.ST_XMax(g) > 180 OR @gis@.ST_YMin(g) < -90 OR @gis@.ST_YMax(g) > 90 THEN
            RAISE EXCEPTION 'feature % (%) has coordinates that are not longitude and latitude', f.item, f_code
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geometry',
                      DETAIL = format('Its extent is %s.', @gis@.ST_AsText(@gis@.ST_Envelope(g), 3));
        END IF;
        IF NOT (@gis@.ST_IsValidDetail(g)).valid THEN
            fixed := @gis@.ST_CollectionExtract(@gis@.ST_MakeValid(g), 3);
            IF fixed IS NULL OR @gis@.ST_IsEmpty(fixed) OR @gis@.ST_Area(fixed) = 0 THEN
                RAISE EXCEPTION 'feature % (%) has an invalid geometry that cannot be repaired: %', f.item, f_code, @gis@.ST_IsValidReason(g)
                    USING ERRCODE = 'invalid_parameter_value', COLUMN = 'geometry';
            END IF;
            repaired := repaired || jsonb_build_object('item', f.item, 'code', f_code, 'reason', @gis@.ST_IsValidReason(g),
                                                       'area_before', round(@gis@.ST_Area(g::@gis@.geography)::numeric),
                                                       'area_after', round(@gis@.ST_Area(fixed::@gis@.geography)::numeric));
            g := fixed;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_temp.sp_boundary_features b WHERE b.code = f_code) THEN
            RAISE EXCEPTION 'feature % repeats P-code %', f.item, f_code USING ERRCODE = 'unique_violation', COLUMN = m ->> 'code';
        END IF;
        INSERT INTO pg_temp.sp_boundary_features VALUES (f.item, f_code, f_parent, nm, nms, vfrom, vto, @gis@.ST_Multi(g));
    END LOOP;

    -- a release covers its countries: what it no longer has is retired there,
    -- and nowhere else (the countries its areas are in: the first P-code of their paths)
    SELECT array_agg(DISTINCT split_part(coalesce(a.path, '/' || b.code || '/'), '/', 2)) INTO release_countries
    FROM pg_temp.sp_boundary_features b LEFT JOIN sp.admin_area a ON a.code = b.parent_code;

    -- a version is imported once per level and country: the same content again is a replay
    SELECT * INTO prev FROM sp.boundary_import b WHERE b.level = import_admin_areas.level AND b.version = import_admin_areas.version
      AND b.countries && release_countries ORDER BY b.import_id LIMIT 1;
    IF FOUND THEN
        IF prev.digest = dig THEN
            DROP TABLE pg_temp.sp_boundary_features;
            RETURN jsonb_build_object('import_id', prev.import_id, 'level', prev.level, 'version', prev.version, 'replayed', true,
                                      'features', prev.features, 'added', prev.added, 'changed', prev.changed,
                                      'unchanged', prev.unchanged, 'retired', prev.retired, 'repaired', prev.repaired);
        END IF;
        RAISE EXCEPTION 'version "%" of level % was imported before with other content', version, level
            USING ERRCODE = 'unique_violation', COLUMN = 'version',
                  HINT = 'Give the new boundaries a new version (e.g. the date of the COD release).';
    END IF;

    -- the version begins when its earliest feature does
    SELECT min(b.valid_from) INTO starts FROM pg_temp.sp_boundary_features b;
    -- a code of this level used by another level, or a version older than the current one
    SELECT b.code INTO bad FROM pg_temp.sp_boundary_features b JOIN sp.admin_area a ON a.code = b.code
    WHERE a.level <> import_admin_areas.level LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'P-code % is already an area of another level', bad USING ERRCODE = 'unique_violation', COLUMN = m ->> 'code';
    END IF;
    SELECT x.code INTO bad FROM sp.admin_area_boundary x JOIN pg_temp.sp_boundary_features b ON b.code = x.code
    WHERE x.valid_to IS NULL AND x.valid_from >= b.valid_from LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'the boundary of % in force is as recent as this version''s', bad
            USING ERRCODE = 'invalid_parameter_value', COLUMN = m ->> 'valid_from',
                  DETAIL = 'A new version of the boundaries begins after the one it replaces (validOn).';
    END IF;

    -- what the version adds, changes, leaves and retires
    SELECT count(*) FILTER (WHERE a.code IS NULL),
           count(*) FILTER (WHERE a.code IS NOT NULL AND (a.geom IS NULL OR NOT @gis@.ST_Equals(a.geom, b.geom) OR a.name <> b.name
                                                          OR a.names <> b.names OR a.parent_code IS DISTINCT FROM b.parent_code
                                                          OR a.valid_to IS NOT NULL)),
           count(*) FILTER (WHERE a.code IS NOT NULL AND a.geom IS NOT NULL AND @gis@.ST_Equals(a.geom, b.geom) AND a.name = b.name
                                  AND a.names = b.names AND a.parent_code IS NOT DISTINCT FROM b.parent_code AND a.valid_to IS NULL)
    INTO n_added, n_changed, n_unchanged
    FROM pg_temp.sp_boundary_features b LEFT JOIN sp.admin_area a ON a.code = b.code;
    SELECT count(*) INTO n_retired FROM sp.admin_area a
    WHERE a.level = import_admin_areas.level AND a.valid_to IS NULL AND split_part(a.path, '/', 2) = ANY (release_countries)
      AND NOT EXISTS (SELECT 1 FROM pg_temp.sp_boundary_features b WHERE b.code = a.code);

    INSERT INTO sp.boundary_import (level, version, digest, valid_from, features, added, changed, unchanged, retired, repaired, mapping, countries)
    VALUES (level, version, dig, starts, n_added + n_changed + n_unchanged, n_added, n_changed, n_unchanged, n_retired, repaired, m, release_countries)
    RETURNING import_id INTO imp_id;

    -- the old versions are closed, not overwritten
    UPDATE sp.admin_area_boundary x SET valid_to = b.valid_from
    FROM pg_temp.sp_boundary_features b
    WHERE x.code = b.code AND x.valid_to IS NULL;
    -- areas of those countries missing from the new version are retired
    -- (their households keep them)
    IF to_regclass('pg_temp.sp_boundary_retired') IS NOT NULL THEN
        DROP TABLE pg_temp.sp_boundary_retired;
    END IF;
    CREATE TEMP TABLE sp_boundary_retired ON COMMIT DROP AS
    SELECT a.code FROM sp.admin_area a
    WHERE a.level = import_admin_areas.level AND a.valid_to IS NULL AND split_part(a.path, '/', 2) = ANY (release_countries)
      AND NOT EXISTS (SELECT 1 FROM pg_temp.sp_boundary_features b WHERE b.code = a.code);
    UPDATE sp.admin_area_boundary x SET valid_to = greatest(starts, x.valid_from)
    FROM pg_temp.sp_boundary_retired r WHERE x.code = r.code AND x.valid_to IS NULL;
    UPDATE sp.admin_area a SET valid_to = greatest(starts, a.valid_from + 1)
    FROM pg_temp.sp_boundary_retired r WHERE a.code = r.code;
    INSERT INTO sp.admin_area (code, parent_code, level, name, names, valid_from, valid_to, geom, boundary_version)
    SELECT b.code, b.parent_code, import_admin_areas.level, b.name, b.names, b.valid_from, b.valid_to, b.geom, import_admin_areas.version
    FROM pg_temp.sp_boundary_features b
    ORDER BY b.item
    ON CONFLICT (code) DO UPDATE
    SET parent_code = excluded.parent_code, name = excluded.name, names = excluded.names, geom = excluded.geom,
        valid_to = excluded.valid_to, boundary_version = excluded.boundary_version;
    INSERT INTO sp.admin_area_boundary (code, version, level, name, names, geom, valid_from, valid_to, import_id)
    SELECT b.code, import_admin_areas.version, import_admin_areas.level, b.name, b.names, b.geom, b.valid_from, b.valid_to, imp_id
    FROM pg_temp.sp_boundary_features b;

    -- (the subdivided pieces follow each area's boundary and validity: trigger admin_area_parts)

    RETURN jsonb_build_object('import_id', imp_id, 'level', level, 'version', version, 'replayed', false,
                              'features', n_added + n_changed + n_unchanged, 'added', n_added, 'changed', n_changed,
                              'unchanged', n_unchanged, 'retired', n_retired, 'repaired', repaired,
                              'households_in_retired_areas',
                              (SELECT count(*) FROM sp.household h JOIN sp.admin_area a ON a.code = h.admin_area_code
                               WHERE a.level = import_admin_areas.level AND a.valid_to IS NOT NULL AND h.status = 'active'
                                 AND split_part(a.path, '/', 2) = ANY (release_countries)));
END
$$;

-- A registration document without admin_area_code but with a GPS location
-- gets the area of its point: the document as the registry stores it.  The
-- replay fingerprint is taken of the document as sent.
CREATE FUNCTION sp_internal.locate_document(doc jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    area text;
BEGIN
    IF jsonb_typeof(doc) IS DISTINCT FROM 'object' OR doc ? 'admin_area_code'
       OR jsonb_typeof(doc -> 'location') IS DISTINCT FROM 'object'
       OR jsonb_typeof(doc #> '{location,lat}') IS DISTINCT FROM 'number'
       OR jsonb_typeof(doc #> '{location,lon}') IS DISTINCT FROM 'number' THEN
        RETURN doc;
    END IF;
    IF abs((doc #>> '{location,lat}')::numeric) > 90 OR abs((doc #>> '{location,lon}')::numeric) > 180 THEN
        RETURN doc;     -- the validator names the field
    END IF;
    area := sp.area_at_point(sp_internal.location_point(doc -> 'location'));
    IF area IS NULL THEN
        RETURN doc;     -- no boundary holds the point: admin_area_code is required, and the validator says so
    END IF;
    RETURN doc || jsonb_build_object('admin_area_code', area);
END
$$;

$ddl$, '@gis@', gis);
END
$geo$;

COMMENT ON TABLE sp.admin_area_boundary IS 'Every version of every area''s boundary, with its names and validity: the current one has valid_to NULL. A new version of a level''s boundaries closes the old rows (valid_to) instead of overwriting them.';
COMMENT ON TABLE sp.admin_area_part IS 'The current boundaries subdivided (ST_Subdivide, at most 256 vertices a piece) with a GiST index: what point-in-polygon tests use. Rebuilt by sp.import_admin_areas for the areas it changes.';
COMMENT ON FUNCTION sp_internal.refresh_area_parts(text[]) IS 'Rebuilds the subdivided pieces (sp.admin_area_part) of the given areas from their current boundaries.';
COMMENT ON FUNCTION sp_internal.locate_document(jsonb) IS 'A registration document without admin_area_code whose location lies in a loaded boundary, with the lowest such area added; any other document unchanged.';
COMMENT ON FUNCTION sp.area_at_point(geometry, integer) IS 'The P-code of the lowest current area (or of the given level) whose boundary holds the point (EPSG:4326 or no SRID; another SRID is transformed). A point on a border shared by two areas is given the smaller P-code. NULL when no loaded boundary holds it.';
COMMENT ON FUNCTION sp_internal.check_footprint(geometry, float8) IS 'Checks a footprint (SRID 4326 or none, point, line or polygon, lon/lat coordinates, valid) and a buffer (0 to 500,000 m); returns the footprint with SRID 4326.';
COMMENT ON FUNCTION sp.households_in_footprint(geometry, float8) IS 'Active households inside a footprint (polygon, point or line, EPSG:4326) or within buffer_m metres of it, measured on the spheroid, with their area and distance in metres (0 inside). Uses the location index; limited to the caller''s area scope by row-level security.';
COMMENT ON FUNCTION sp.household_area_mismatches(text) IS 'Active households (in the given area''s subtree, or all the caller may see) whose location lies in none of the loaded boundaries of the area they declared, its subtree or its ancestors: listed for a registrar to check, never moved.';
COMMENT ON FUNCTION sp.import_admin_areas(jsonb, integer, text, jsonb) IS 'Loads one level of boundaries from an OCHA COD-AB style GeoJSON FeatureCollection (EPSG:4326): P-code, parent P-code, names per language and validOn/validTo read through a field mapping (default ADM<level>_PCODE, ADM<level-1>_PCODE, ADM<level>_EN, validOn, validTo; e.g. {"code": "admin2Pcod"}). Every feature is checked first (P-code, parent a current area of the level above and a prefix of the P-code, names, dates, GeoJSON, SRID 4326, polygon); invalid geometries are repaired with ST_MakeValid and reported, or refused; one refused feature refuses the whole collection, named by index and P-code. A new version closes the old boundaries (sp.admin_area_boundary keeps them) and retires areas it no longer has (their households keep them); the same version again with the same content is a replay, with other content an error. Needs sp_admin and national scope.';

-- After a boundary release retired areas: their households move to the
-- current area of their GPS point, each through sp.update_household (a new
-- version, the old one kept in sp.household_history, the reason recorded).
CREATE FUNCTION sp.reassign_households(reason text, area text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    moved integer := 0;
    no_location integer := 0;
    outside integer := 0;
    out_of_scope integer := 0;
    target text;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Moving households to new areas records why.');
    IF area IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = reassign_households.area) THEN
        RAISE EXCEPTION 'area "%" does not exist', left(area, 64) USING ERRCODE = 'no_data_found', COLUMN = 'area';
    END IF;
    FOR r IN
        SELECT h.household_id, h.location, h.version
        FROM sp.household h JOIN sp.admin_area a ON a.code = h.admin_area_code
        WHERE h.status = 'active' AND a.valid_to IS NOT NULL AND a.valid_to <= current_date
          AND (reassign_households.area IS NULL
               OR starts_with(a.path, (SELECT x.path FROM sp.admin_area x WHERE x.code = reassign_households.area)))
          AND sp_internal.area_in_scope(h.admin_area_code)
        ORDER BY h.household_id
        FOR UPDATE OF h
    LOOP
        IF r.location IS NULL THEN
            no_location := no_location + 1;
            CONTINUE;
        END IF;
        target := sp.area_at_point(r.location);
        IF target IS NULL THEN
            outside := outside + 1;
            CONTINUE;
        END IF;
        BEGIN
            PERFORM sp.update_household(r.household_id, jsonb_build_object('admin_area_code', target),
                                        left('boundaries changed: ' || reason, 1000), r.version);
            moved := moved + 1;
        EXCEPTION WHEN insufficient_privilege THEN
            out_of_scope := out_of_scope + 1;     -- the new area is not the caller's
        END;
    END LOOP;
    RETURN jsonb_build_object('moved', moved, 'without_location', no_location, 'outside_every_boundary', outside,
                              'new_area_out_of_scope', out_of_scope);
END
$$;
COMMENT ON FUNCTION sp.reassign_households(text, text) IS 'Moves the active households of retired areas (under the given area, within the caller''s scope) to the current area of their location, each as a new version through sp.update_household (history kept, the reason recorded). Households without a location, or whose point lies in no current boundary, stay where they are for a registrar and are counted, as are those whose new area is outside the caller''s scope.';

-- The subdivided pieces follow an area's boundary and validity, however they
-- change (an import, or an administrator's UPDATE); a restore brings its own.
-- (as the owner: an administrator who may change an area may not write the
-- pieces, which are derived)
CREATE FUNCTION sp_internal.admin_area_parts()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    PERFORM sp_internal.refresh_area_parts(ARRAY[NEW.code]);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.admin_area_parts() IS 'Trigger: rebuilds the subdivided pieces (sp.admin_area_part) of an area whose boundary, validity or level changed.';
CREATE TRIGGER admin_area_parts AFTER INSERT OR UPDATE OF geom, valid_to, level ON sp.admin_area
    FOR EACH ROW EXECUTE FUNCTION sp_internal.admin_area_parts();
