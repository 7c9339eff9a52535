-- Coverage of a programme by area (issue 13): registered, eligible, enrolled
-- and paid households per area of a level, with small-cell suppression that
-- also withholds a second cell wherever one suppressed cell could be
-- recovered from the total of its parent; as a table, as GeoJSON, as vector
-- tiles, and as a map a person can open offline.

-- The programme's cycle whose payments count as paid: its latest sent or
-- closed one.
CREATE VIEW sp_internal.last_sent_cycle WITH (security_invoker = true) AS
SELECT DISTINCT ON (c.programme) c.programme, c.cycle_id, c.period_start, c.period_end
FROM sp.payment_cycle c
WHERE c.status IN ('sent', 'closed')
ORDER BY c.programme, c.period_start DESC, c.cycle_id DESC;
COMMENT ON VIEW sp_internal.last_sent_cycle IS 'Per programme, its latest sent or closed payment cycle (by period, then id): the cycle whose payments count as paid in coverage and as benefit values.';

-- Each household's state in each programme today: eligible (an open
-- enrolment: eligible, waitlisted, enrolled or suspended) and enrolled.
CREATE VIEW sp_internal.enrolment_status WITH (security_invoker = true) AS
SELECT e.programme, e.household_id, bool_or(e.state IN ('eligible', 'waitlisted', 'enrolled', 'suspended')) AS eligible,
       bool_or(e.state = 'enrolled') AS enrolled
FROM sp.enrolment e
WHERE e.state <> 'exited'
GROUP BY e.programme, e.household_id;
COMMENT ON VIEW sp_internal.enrolment_status IS 'Per programme and household with an enrolment that is not exited: eligible (eligible, waitlisted, enrolled or suspended) and enrolled.';

-- The figures of every current area of every level, national (suppression
-- must not depend on who asks, or for which part of the country: a pattern
-- computed over a filtered set is undone by asking for a smaller one), from
-- the counts per household area rolled up the P-code paths.
CREATE FUNCTION sp_internal.coverage_counts(p_programme text)
    RETURNS TABLE (level integer, area_code text, area_name text, parent_code text,
                   registered bigint, eligible bigint, enrolled bigint, paid bigint)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH en AS (
        SELECT s.household_id, s.eligible, s.enrolled FROM sp_internal.enrolment_status s WHERE s.programme = p_programme
    ),
    pd AS (
        SELECT DISTINCT p.household_id FROM sp.payment p
        WHERE p.cycle_id = (SELECT l.cycle_id FROM sp_internal.last_sent_cycle l WHERE l.programme = p_programme) AND p.status = 'paid'
    ),
    -- per area households are registered in
    leaf AS (
        SELECT h.admin_area_code AS code, count(*) AS registered, count(*) FILTER (WHERE en.eligible) AS eligible,
               count(*) FILTER (WHERE en.enrolled) AS enrolled, count(pd.household_id) AS paid
        FROM sp.household h
        LEFT JOIN en ON en.household_id = h.household_id
        LEFT JOIN pd ON pd.household_id = h.household_id
        WHERE h.status = 'active'
        GROUP BY h.admin_area_code
    ),
    -- rolled up: each area's path holds the P-code of every ancestor
    rolled AS (
        SELECT split_part(a.path, '/', l + 2) AS code, sum(leaf.registered) AS registered, sum(leaf.eligible) AS eligible,
               sum(leaf.enrolled) AS enrolled, sum(leaf.paid) AS paid
        FROM leaf JOIN sp.admin_area a ON a.code = leaf.code
        CROSS JOIN generate_series(0, a.level) l
        GROUP BY 1
    )
    SELECT a.level::integer, a.code, a.name, a.parent_code,
           coalesce(r.registered, 0)::bigint, coalesce(r.eligible, 0)::bigint, coalesce(r.enrolled, 0)::bigint, coalesce(r.paid, 0)::bigint
    FROM sp.admin_area a LEFT JOIN rolled r ON r.code = a.code
    WHERE a.valid_to IS NULL
$$;
COMMENT ON FUNCTION sp_internal.coverage_counts(text) IS 'Registered (active), eligible (an open enrolment: eligible, waitlisted, enrolled or suspended), enrolled and paid (in the programme''s latest sent or closed cycle) households of every current area of every level, national, before suppression.';

-- Which counts are withheld, decided for the whole country and every level
-- at once (so that no call, whatever its level, area or caller, undoes
-- another's): a count from 1 to k - 1; then, level by level from the top, in
-- every group of areas under one parent and for each column: if the parent's
-- count is withheld, at least one non-zero child count is too (else the
-- children add up to it); if it is shown, the withheld children are none, or
-- at least two whose sum is k or more (else the parent less the others gives
-- them) - the smallest other non-zero counts are withheld until that holds.
-- The rules are sp_internal.suppress_counts (C, src/core/sp_suppress.c).
CREATE FUNCTION sp_internal.coverage_cells(p_programme text, k integer)
    RETURNS TABLE (level integer, area_code text, col integer, v bigint, hidden boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- no temporary table: this runs on a read-only standby too
    WITH cells AS (
        SELECT c.level, c.area_code, c.parent_code, x.col, x.v,
               -- ties between equal counts go to the first P-code (byte order, whatever the collation)
               row_number() OVER (ORDER BY x.col, c.area_code COLLATE "C")::integer AS i
        FROM sp_internal.coverage_counts(p_programme) c
        CROSS JOIN LATERAL (VALUES (1, c.registered), (2, c.eligible), (3, c.enrolled), (4, c.paid)) x (col, v)
    ),
    linked AS (
        SELECT c.*, p.i AS parent_i
        FROM cells c LEFT JOIN cells p ON p.area_code = c.parent_code AND p.col = c.col
    ),
    decided AS (
        SELECT sp_internal.suppress_counts(coalesce(array_agg(l.v ORDER BY l.i), '{}'),
                                           coalesce(array_agg(l.parent_i ORDER BY l.i), '{}'), k) AS h
        FROM linked l
    )
    SELECT l.level, l.area_code, l.col, l.v, d.h[l.i]
    FROM linked l CROSS JOIN decided d
$$;
COMMENT ON FUNCTION sp_internal.coverage_cells(text, integer) IS 'Every count of every current area and level with whether it is withheld: primary (1 to k - 1) and secondary suppression decided nationally, top-down, so that no published count of any level gives a withheld one back by addition or subtraction within a parent.';

CREATE FUNCTION sp.coverage_by_area(programme text, level integer, area text DEFAULT NULL)
    RETURNS TABLE (area_code text, area_name text, parent_code text, registered bigint, eligible bigint, enrolled bigint,
                   paid bigint, coverage_rate numeric, suppressed text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    k integer;
    root text;
BEGIN
    IF programme IS NULL OR NOT EXISTS (SELECT 1 FROM sp.programme g WHERE g.name = coverage_by_area.programme) THEN
        RAISE EXCEPTION 'programme "%" does not exist', coalesce(left(programme, 64), 'NULL') USING ERRCODE = 'no_data_found', COLUMN = 'programme';
    END IF;
    IF level IS NULL OR level < 0 OR level > 10 THEN
        RAISE EXCEPTION 'level must be 0 to 10, not %', coalesce(level::text, 'NULL') USING ERRCODE = 'invalid_parameter_value', COLUMN = 'level';
    END IF;
    IF area IS NOT NULL THEN
        SELECT a.path INTO root FROM sp.admin_area a WHERE a.code = coverage_by_area.area;
        IF root IS NULL THEN
            RAISE EXCEPTION 'area "%" does not exist', left(area, 64) USING ERRCODE = 'no_data_found', COLUMN = 'area';
        END IF;
    END IF;
    PERFORM sp_internal.require_disclosable_level(coverage_by_area.level);
    k := greatest(sp_internal.privacy_setting('coverage_min_cell_size'), sp_internal.suppression_threshold());
    RETURN QUERY
    WITH cells AS (SELECT * FROM sp_internal.coverage_cells(coverage_by_area.programme, k) c WHERE c.level = coverage_by_area.level),
    pivot AS (
        SELECT c.area_code,
               max(c.v) FILTER (WHERE c.col = 1 AND NOT c.hidden) AS registered,
               max(c.v) FILTER (WHERE c.col = 2 AND NOT c.hidden) AS eligible,
               max(c.v) FILTER (WHERE c.col = 3 AND NOT c.hidden) AS enrolled,
               max(c.v) FILTER (WHERE c.col = 4 AND NOT c.hidden) AS paid,
               coalesce(array_agg((ARRAY['registered', 'eligible', 'enrolled', 'paid'])[c.col] ORDER BY c.col) FILTER (WHERE c.hidden), '{}') AS suppressed
        FROM cells c GROUP BY c.area_code
    )
    SELECT a.code, a.name, a.parent_code, p.registered, p.eligible, p.enrolled, p.paid,
           -- the rate only where both counts are shown (else it would give one from the other)
           CASE WHEN p.enrolled IS NOT NULL AND p.eligible > 0 THEN round(p.enrolled::numeric / p.eligible, 4) END,
           p.suppressed
    FROM pivot p JOIN sp.admin_area a ON a.code = p.area_code
    WHERE a.code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
      AND (root IS NULL OR starts_with(a.path, root))
    ORDER BY a.code;
END
$$;
COMMENT ON FUNCTION sp.coverage_by_area(text, integer, text) IS 'Per current area of a level (in the caller''s scope, under the given area when one is given): active households registered, eligible (an open enrolment), enrolled and paid (in the programme''s latest sent or closed cycle), and the coverage rate (enrolled / eligible). Counts from 1 to k - 1 are NULL (k: privacy setting coverage_min_cell_size, default 5; for analysts at least min_cell_size), and more are withheld so that no published count of any level gives one back (sp_internal.coverage_cells: decided for the whole country, whatever the caller, level or area); suppressed lists the withheld columns. Analysts get no level below deidentified_area_level. The counts cover the whole country, also households outside the caller''s scope, but only areas in the scope are returned.';

DO $geo$
DECLARE
    gis text;
BEGIN
    SELECT pg_catalog.quote_ident(n.nspname) INTO STRICT gis
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'postgis';
    EXECUTE pg_catalog.replace($ddl$

CREATE TYPE sp_internal.coverage_map_area AS (area_code text, area_name text, rate numeric, geom @gis@.geometry);

CREATE FUNCTION sp.coverage_geojson(programme text, level integer, area text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('type', 'FeatureCollection', 'features', coalesce(jsonb_agg(jsonb_build_object(
               'type', 'Feature', 'id', c.area_code,
               'geometry', (SELECT @gis@.ST_AsGeoJSON(@gis@.ST_SimplifyPreserveTopology(a.geom, 0.005), 5)::jsonb
                            FROM sp.admin_area a WHERE a.code = c.area_code),
               'properties', jsonb_build_object('area_code', c.area_code, 'area_name', c.area_name, 'registered', c.registered,
                                                'eligible', c.eligible, 'enrolled', c.enrolled, 'paid', c.paid,
                                                'coverage_rate', c.coverage_rate, 'suppressed', to_jsonb(c.suppressed)))
               ORDER BY c.area_code), '[]'))
    FROM sp.coverage_by_area(programme, level, area) c
$$;

-- The level of the areas a vector tile of zoom z shows: regions up to zoom 5,
-- then the lowest level with boundaries (at most districts below zoom 8).
CREATE FUNCTION sp_internal.coverage_tile_level(z integer)
    RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN z <= 5 THEN least(1, m) WHEN z <= 8 THEN least(2, m) ELSE m END
    FROM (SELECT coalesce(max(a.level), 1)::integer AS m FROM sp.admin_area a WHERE a.geom IS NOT NULL AND a.valid_to IS NULL) x
$$;

CREATE FUNCTION sp.coverage_mvt(programme text, z integer, x integer, y integer)
    RETURNS bytea
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tile bytea;
    env @gis@.geometry;
BEGIN
    IF z IS NULL OR z < 0 OR z > 22 THEN
        RAISE EXCEPTION 'zoom must be 0 to 22, not %', coalesce(z::text, 'NULL') USING ERRCODE = 'invalid_parameter_value', COLUMN = 'z';
    END IF;
    IF x IS NULL OR y IS NULL OR x < 0 OR y < 0 OR x >= (1::bigint << z) OR y >= (1::bigint << z) THEN
        RAISE EXCEPTION 'tile %/%/% does not exist', z, coalesce(x::text, 'NULL'), coalesce(y::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'x', DETAIL = format('At zoom %s, x and y are 0 to %s.', z, (1::bigint << z) - 1);
    END IF;
    env := @gis@.ST_TileEnvelope(z, x, y);
    SELECT @gis@.ST_AsMVT(t, 'coverage', 4096, 'geom') INTO tile
    FROM (SELECT @gis@.ST_AsMVTGeom(@gis@.ST_Transform(a.geom, 3857), env, 4096, 64, true) AS geom,
                 c.area_code, c.area_name, c.registered, c.eligible, c.enrolled, c.paid, c.coverage_rate::float8 AS coverage_rate,
                 array_to_string(c.suppressed, ',') AS suppressed
          FROM sp.coverage_by_area(programme, sp_internal.coverage_tile_level(z)) c
          JOIN sp.admin_area a ON a.code = c.area_code
          WHERE a.geom OPERATOR(@gis@.&&) @gis@.ST_Transform(env, 4326)) t
    WHERE t.geom IS NOT NULL;
    RETURN coalesce(tile, ''::bytea);
END
$$;

-- A map a person can open offline: one HTML file, the areas as inline SVG
-- coloured by coverage rate, a legend, suppressed and empty areas hatched.
CREATE FUNCTION sp.coverage_map_html(programme text, level integer, title text DEFAULT NULL, area text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    w constant float8 := 700;
    ext record;
    sx float8;
    h float8;
    paths text;
    legend text;
    colours constant text[] := ARRAY['#d7301f', '#fc8d59', '#fdcc8a', '#a1d99b', '#31a354'];
    bounds constant numeric[] := ARRAY[0.2, 0.4, 0.6, 0.8];
    t text := coalesce(title, format('Coverage of %s by area (level %s)', programme, level));
    areas sp_internal.coverage_map_area[];
BEGIN
    -- (no temporary table: one a caller left in the session, with triggers of
    -- its own, would run them as the owner)
    SELECT array_agg(ROW(c.area_code, c.area_name, c.coverage_rate, @gis@.ST_SimplifyPreserveTopology(a.geom, 0.01))::sp_internal.coverage_map_area
                     ORDER BY c.area_code)
    INTO areas
    FROM sp.coverage_by_area(programme, level, area) c JOIN sp.admin_area a ON a.code = c.area_code
    WHERE a.geom IS NOT NULL;
    SELECT min(@gis@.ST_XMin(m.geom)) AS x0, max(@gis@.ST_XMax(m.geom)) AS x1, min(@gis@.ST_YMin(m.geom)) AS y0, max(@gis@.ST_YMax(m.geom)) AS y1
    INTO ext FROM unnest(areas) m;
    IF ext.x0 IS NULL THEN
        RAISE EXCEPTION 'no area of level % in scope has a boundary', level USING ERRCODE = 'no_data_found',
            HINT = 'Load boundaries with sp.import_admin_areas.';
    END IF;
    -- equirectangular at the map's middle latitude: shapes look right at the scale of a country
    sx := least(w / greatest((ext.x1 - ext.x0) * cos(radians((ext.y0 + ext.y1) / 2)), 1e-9),
                w / greatest(ext.y1 - ext.y0, 1e-9));
    h := (ext.y1 - ext.y0) * sx;
    SELECT string_agg(format('<path d="%s" fill="%s" stroke="#ffffff" stroke-width="0.6"><title>%s (%s): %s</title></path>',
                             @gis@.ST_AsSVG(@gis@.ST_Affine(m.geom, sx * cos(radians((ext.y0 + ext.y1) / 2)), 0, 0, sx,
                                                            -ext.x0 * sx * cos(radians((ext.y0 + ext.y1) / 2)), -ext.y0 * sx), 0, 1),
                             CASE WHEN m.rate IS NULL THEN 'url(#nodata)'
                                  ELSE colours[1 + (SELECT count(*) FROM unnest(bounds) b WHERE m.rate >= b)::integer] END,
                             sp_internal.html_text(m.area_name), sp_internal.html_text(m.area_code),
                             CASE WHEN m.rate IS NULL THEN 'no rate (no eligible household, or withheld to protect small numbers)'
                                  ELSE format('%s%% of eligible households enrolled', round(m.rate * 100)) END),
                      E'\n' ORDER BY m.area_code)
    INTO paths FROM unnest(areas) m;
    SELECT string_agg(format('<rect x="12" y="%s" width="18" height="14" fill="%s" stroke="#123456" stroke-width="0.5"/><text x="36" y="%s">%s</text>',
                             20 + 22 * (i - 1), colours[i], 32 + 22 * (i - 1),
                             CASE i WHEN 1 THEN 'under 20 %' WHEN 5 THEN '80 % and more'
                                    ELSE format('%s to %s %%', (bounds[i - 1] * 100)::integer, (bounds[i] * 100)::integer) END), '' ORDER BY i)
    INTO legend FROM generate_series(1, 5) i;
    legend := legend || format('<rect x="12" y="130" width="18" height="14" fill="url(#nodata)" stroke="#123456" stroke-width="0.5"/><text x="36" y="142">no rate or withheld</text>');
    RETURN format($html$<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%1$s</title>
<style>body{font-family:sans-serif;margin:16px;color:#222}h1{font-size:18px;margin:0 0 4px}p{font-size:12px;margin:0 0 8px;color:#555}
svg text{font-size:12px;font-family:sans-serif}.map{display:flex;align-items:flex-start;gap:16px}</style></head>
<body><h1>%1$s</h1>
<p>Coverage rate: enrolled households as a share of eligible ones. Counts under %6$s are withheld (small-cell suppression). Generated %7$s.</p>
<div class="map">
<svg xmlns="http://www.w3.org/2000/svg" width="%2$s" height="%3$s" viewBox="0 %4$s %2$s %5$s" role="img" aria-label="%1$s">
<defs><pattern id="nodata" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999999" stroke-width="2"/></pattern></defs>
<g id="areas">
%8$s
</g>
</svg>
<svg xmlns="http://www.w3.org/2000/svg" width="240" height="156" id="legend" role="img" aria-label="legend">
<rect x="1" y="1" width="238" height="154" fill="#ffffff" stroke="#123456" stroke-width="2"/>
<text x="12" y="14" font-weight="bold">Coverage rate</text>
%9$s
</svg>
</div>
</body></html>
$html$, sp_internal.html_text(t), round((ext.x1 - ext.x0) * sx * cos(radians((ext.y0 + ext.y1) / 2))), round(h), round(-h), round(h),
        greatest(sp_internal.privacy_setting('coverage_min_cell_size'), sp_internal.suppression_threshold()),
        to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), paths, legend);
END
$$;

$ddl$, '@gis@', gis);
END
$geo$;

CREATE FUNCTION sp_internal.html_text(t text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON TYPE sp_internal.coverage_map_area IS 'An area of a coverage map: code, name, coverage rate and simplified boundary.';
COMMENT ON FUNCTION sp_internal.html_text(text) IS 'Text escaped for HTML and SVG (& < > " '').';
COMMENT ON FUNCTION sp.coverage_geojson(text, integer, text) IS 'sp.coverage_by_area as a GeoJSON FeatureCollection: each area''s boundary (simplified to about 500 m) with its figures, withheld counts as null and their names in suppressed.';
COMMENT ON FUNCTION sp_internal.coverage_tile_level(integer) IS 'The area level a coverage vector tile of zoom z shows: level 1 up to zoom 5, level 2 up to zoom 8, the lowest level with boundaries beyond.';
COMMENT ON FUNCTION sp.coverage_mvt(text, integer, integer, integer) IS 'A Mapbox vector tile (ST_AsMVT, layer "coverage", EPSG:3857) of tile z/x/y with the areas of the level that zoom shows (sp_internal.coverage_tile_level) and their suppressed coverage figures; empty bytea where no area is. Serve it from any tile server that calls SQL (pg_tileserv, Martin, or a plain HTTP handler).';
COMMENT ON FUNCTION sp.coverage_map_html(text, integer, text, text) IS 'A self-contained HTML page (no script, no network at view time): the areas of a level as inline SVG coloured by coverage rate in five classes, areas without a rate (none eligible, or withheld) hatched, each with a tooltip, and a legend. Write it to a file with psql -Atc and open it in any browser.';
