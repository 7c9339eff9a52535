-- Coverage of a programme by area (issue 13): registered, eligible, enrolled
-- and paid households per area of a level, with small-cell suppression that
-- also withholds a second cell wherever one suppressed cell could be
-- recovered from the total of its parent; as a table, as GeoJSON, as vector
-- tiles, and as a map a person can open offline.

-- The programme's cycle whose payments count as paid: its latest sent or
-- closed one.  With the owner's rights (cycles are no one's personal data,
-- and sp.benefits_by_person, an owner's view, reads it for readers who may
-- not read the cycles); granted to no role.
CREATE VIEW sp_internal.last_sent_cycle AS
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

-- Poverty as measured today: whether any current PMT assessment is below its
-- cut-off, and any current MPI assessment poor (NULL: not assessed).
CREATE VIEW sp_internal.household_poverty WITH (security_invoker = true) AS
SELECT h.household_id, h.admin_area_code, p.poor AS pmt_poor, m.poor AS mpi_poor
FROM sp.household h
LEFT JOIN (SELECT a.household_id, bool_or(a.below_cutoff) AS poor FROM sp.current_assessment a GROUP BY 1) p ON p.household_id = h.household_id
LEFT JOIN (SELECT a.household_id, bool_or(a.poor) AS poor FROM sp.current_mpi_assessment a GROUP BY 1) m ON m.household_id = h.household_id
WHERE h.status = 'active';
COMMENT ON VIEW sp_internal.household_poverty IS 'Active households with whether a current PMT assessment is below its cut-off (pmt_poor) and a current MPI assessment poor (mpi_poor); NULL when not assessed.';

-- ------------------------------------------------------------------------
-- Small-cell suppression of tables of counts
-- ------------------------------------------------------------------------
--
-- A published table adds up along several hierarchies at once: areas add up
-- to their parent area; programmes' combinations or deciles to the area's
-- total; and a count nested in another of the same area (enrolled within
-- eligible, beneficiaries within households) is, with its complement (the
-- eligible not enrolled), a part of it - publishing both gives the
-- complement.  The rules of sp_internal.suppress_counts (C,
-- src/core/sp_suppress.c) are applied over each hierarchy in turn until
-- nothing changes (sp_internal.suppress_hierarchies).  Where a withheld
-- count equals its parent in another hierarchy (a district where nobody is
-- eligible: its not eligible are its households), the parent is withheld
-- too.  So a count's pattern depends on everything decided with it: the
-- functions that publish the same counts decide them in one call, with the
-- same inputs (sp_internal.registry_area_cells).

-- Counts per leaf area and column rolled up the P-code paths, national,
-- with the cells to withhold for a threshold k, decided over every level at
-- once (a withheld district can make its region's count one to withhold
-- too, so asking for regions alone must not decide differently), and
-- returned for the level asked.  nest holds pairs (c, p), one after the
-- other: column c counts a subset of column p's households in each area, so
-- c and the rest, p - c (published by difference), are the parts of p and
-- the rest is protected like any count.  known lists the columns the
-- reader can count already from records they read: never withheld to
-- protect another count (only, when from 1 to k - 1, not shown), and
-- counted as shown, which is what protects what is nested in them.  Every
-- area with a figure has every column.
CREATE FUNCTION sp_internal.area_counts(leaf_codes text[], cols integer[], vals bigint[], lvl integer, k integer,
                                        nest integer[] DEFAULT NULL, known integer[] DEFAULT NULL)
    RETURNS TABLE (area_code text, area_name text, col integer, v bigint, hidden boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH leaf AS (SELECT u.code, u.col, u.v FROM unnest(leaf_codes, cols, vals) u (code, col, v)),
    rolled AS (
        SELECT split_part(a.path, '/', l + 2) AS code, leaf.col, sum(leaf.v)::bigint AS v
        FROM leaf JOIN sp.admin_area a ON a.code = leaf.code
        CROSS JOIN generate_series(0, a.level) l
        GROUP BY 1, 2
    ),
    grid AS (
        SELECT ar.code, c.col, coalesce(r.v, 0) AS v
        FROM (SELECT DISTINCT r.code FROM rolled r) ar
        CROSS JOIN (SELECT DISTINCT u.col FROM unnest(cols) u (col)) c
        LEFT JOIN rolled r ON r.code = ar.code AND r.col = c.col
    ),
    -- pair j: column c within column p; the rest of p as column -j
    pairs AS (
        SELECT j, nest[2 * j - 1] AS c, nest[2 * j] AS p
        FROM generate_series(1, coalesce(cardinality(nest), 0) / 2) j
    ),
    full_grid AS (
        SELECT g.code, g.col, g.v, g.col = ANY (coalesce(known, '{}')) AS kn FROM grid g
        UNION ALL
        SELECT g.code, -x.j, p.v - g.v, g.col = ANY (coalesce(known, '{}')) AND p.col = ANY (coalesce(known, '{}'))
        FROM pairs x JOIN grid g ON g.col = x.c JOIN grid p ON p.code = g.code AND p.col = x.p
    ),
    cells AS (
        SELECT f.code, f.col, f.v, f.kn, a.parent_code, a.level AS lv, a.name,
               -- ties between equal counts go to the first P-code (byte order, whatever the collation)
               row_number() OVER (ORDER BY f.col, f.code COLLATE "C")::integer AS i
        FROM full_grid f JOIN sp.admin_area a ON a.code = f.code
    ),
    -- hierarchy 0: the areas, each column its own tree; hierarchy j: pair
    -- j's column c and its rest -j are the parts of column p, area by area
    hier AS (
        SELECT 0 AS j, c.i, g.i AS parent FROM cells c JOIN cells g ON g.code = c.parent_code AND g.col = c.col
        UNION ALL
        SELECT x.j, c.i, p.i
        FROM pairs x JOIN cells c ON c.col IN (x.c, -x.j) JOIN cells p ON p.code = c.code AND p.col = x.p
    ),
    decided AS (
        SELECT sp_internal.suppress_hierarchies((SELECT coalesce(array_agg(c.v ORDER BY c.i), '{}') FROM cells c),
                                                coalesce(array_agg(h.i), '{}'), coalesce(array_agg(h.parent), '{}'), coalesce(array_agg(h.j), '{}'),
                                                greatest(k, 1), (SELECT coalesce(array_agg(c.kn ORDER BY c.i), '{}') FROM cells c)) AS h
        FROM hier h
    )
    SELECT c.code, c.name, c.col, c.v, coalesce(d.h[c.i], false) OR (c.kn AND k > 1 AND c.v BETWEEN 1 AND k - 1)
    FROM cells c CROSS JOIN decided d
    WHERE c.lv = lvl AND c.col > 0
$$;
COMMENT ON FUNCTION sp_internal.area_counts(text[], integer[], bigint[], integer, integer, integer[], integer[]) IS 'Counts given per leaf area and column, rolled up the P-code paths (national; every area with a figure has every column, 0 where none), with the cells of the level asked to withhold for a threshold k, decided over every level at once: 1 to k - 1, and enough others that no count gives one back by addition or subtraction, through the parent area or through nesting - nest holds pairs (c, p): column c is part of column p in each area, and p - c is protected like any count. Columns in known are counts the reader makes from records they read: never withheld to protect another (only not shown when from 1 to k - 1), counted as shown. k of 1 or less withholds nothing (sp_internal.suppress_hierarchies).';

-- A national count for an analyst: NULL when from 1 to k - 1.
CREATE FUNCTION sp_internal.shown(n bigint, k integer)
    RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN k > 1 AND n > 0 AND n < k THEN NULL ELSE n END;
COMMENT ON FUNCTION sp_internal.shown(bigint, integer) IS 'n, or NULL when it is from 1 to k - 1 (k of 1 or less: always n).';

-- The level check shared by the aggregates.
CREATE FUNCTION sp_internal.check_aggregate_level(level integer)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF level IS NULL OR level < 0 OR level > 10 THEN
        RAISE EXCEPTION 'level must be 0 to 10, not %', coalesce(level::text, 'NULL') USING ERRCODE = 'invalid_parameter_value', COLUMN = 'level';
    END IF;
    PERFORM sp_internal.require_disclosable_level(level);
END
$$;
COMMENT ON FUNCTION sp_internal.check_aggregate_level(integer) IS 'Raises 22023 for a level outside 0 to 10, 42501 for an analyst below the de-identified level.';

-- The registry's figures per area, one table for every function that
-- publishes them (coverage by area, the monitoring report), so that a count
-- is withheld the same way wherever it appears.  Columns, each nested in the
-- one named after the arrow:
--   1 households (active)   2 pmt_assessed -> 1   3 mpi_assessed -> 1   4 mpi_poor -> 3
-- and per programme (the j-th of p_programmes, from 0), at 5 + 6j:
--   +0 eligible -> 1        +1 enrolled -> +0     +2 paid -> 1 (in the latest sent or closed cycle)
--   +3 enrolled_assessed (with an MPI assessment) -> +1
--   +4 enrolled_not_poor (assessed, not MPI-poor) -> +3
--   +5 poor_not_enrolled (MPI-poor) -> 4
-- Coverage and the monitoring report both ask for every programme, so both
-- publish one pattern.
CREATE FUNCTION sp_internal.registry_area_cells(p_programmes text[], lvl integer, k integer, reader_counts_records boolean DEFAULT false)
    RETURNS TABLE (programme text, area_code text, area_name text, measure text, v bigint, hidden boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH g AS (SELECT u.name, (u.j - 1)::integer AS j FROM unnest(p_programmes) WITH ORDINALITY u (name, j)),
    hp AS MATERIALIZED (SELECT x.household_id, x.admin_area_code, x.pmt_poor, x.mpi_poor FROM sp_internal.household_poverty x),
    glob AS (
        SELECT x.admin_area_code AS code, count(*) AS n, count(x.pmt_poor) AS pmt, count(x.mpi_poor) AS mpi,
               count(*) FILTER (WHERE x.mpi_poor) AS mpi_poor
        FROM hp x GROUP BY 1
    ),
    paid AS (
        SELECT DISTINCT g.j, p.household_id
        FROM g JOIN sp_internal.last_sent_cycle l ON l.programme = g.name
        JOIN sp.payment p ON p.cycle_id = l.cycle_id AND p.status = 'paid'
    ),
    per AS (
        SELECT coalesce(s.j, pd.j) AS j, x.admin_area_code AS code,
               count(*) FILTER (WHERE s.eligible) AS eligible, count(*) FILTER (WHERE s.enrolled) AS enrolled,
               count(pd.household_id) AS paid,
               count(*) FILTER (WHERE s.enrolled AND x.mpi_poor IS NOT NULL) AS enrolled_assessed,
               count(*) FILTER (WHERE s.enrolled AND NOT x.mpi_poor) AS enrolled_not_poor,
               count(*) FILTER (WHERE s.enrolled AND x.mpi_poor) AS enrolled_poor
        FROM (SELECT g.j, st.household_id, st.eligible, st.enrolled
              FROM g JOIN sp_internal.enrolment_status st ON st.programme = g.name) s
        FULL JOIN paid pd ON pd.j = s.j AND pd.household_id = s.household_id
        JOIN hp x ON x.household_id = coalesce(s.household_id, pd.household_id)
        GROUP BY 1, 2
    ),
    leaf AS (
        SELECT gl.code, x.col, x.v
        FROM glob gl CROSS JOIN LATERAL (VALUES (1, gl.n), (2, gl.pmt), (3, gl.mpi), (4, gl.mpi_poor)) x (col, v)
        UNION ALL
        SELECT p.code, 5 + 6 * p.j + x.c, x.v
        FROM per p
        LEFT JOIN glob gl ON gl.code = p.code
        CROSS JOIN LATERAL (VALUES (0, p.eligible), (1, p.enrolled), (2, p.paid), (3, p.enrolled_assessed), (4, p.enrolled_not_poor),
                                   (5, coalesce(gl.mpi_poor, 0) - p.enrolled_poor)) x (c, v)
        UNION ALL
        -- every programme has its columns, also where it has no household
        SELECT gl.code, 5 + 6 * g.j + x.c, CASE WHEN x.c = 5 THEN gl.mpi_poor ELSE 0 END
        FROM glob gl CROSS JOIN g CROSS JOIN generate_series(0, 5) x (c)
        WHERE NOT EXISTS (SELECT 1 FROM per p WHERE p.j = g.j AND p.code = gl.code)
    ),
    -- (child, parent) pairs, as in the list above
    nest AS (
        SELECT ARRAY[2, 1, 3, 1, 4, 3] || coalesce((SELECT array_agg(y.v ORDER BY g.j, x.c, y.o)
                                                     FROM g CROSS JOIN LATERAL (VALUES (0, 1), (1, 5 + 6 * g.j), (2, 1), (3, 6 + 6 * g.j),
                                                                                       (4, 8 + 6 * g.j), (5, 4)) x (c, p)
                                                     CROSS JOIN LATERAL (VALUES (1, 5 + 6 * g.j + x.c), (2, x.p)) y (o, v)), '{}') AS a
    )
    SELECT CASE WHEN c.col > 4 THEN p_programmes[(c.col - 5) / 6 + 1] END, c.area_code, c.area_name,
           CASE WHEN c.col <= 4 THEN (ARRAY['households', 'pmt_assessed', 'mpi_assessed', 'mpi_poor'])[c.col]
                ELSE (ARRAY['eligible', 'enrolled', 'paid', 'enrolled_assessed', 'enrolled_not_poor', 'poor_not_enrolled'])[(c.col - 5) % 6 + 1] END,
           c.v, c.hidden
    FROM sp_internal.area_counts((SELECT array_agg(l.code) FROM leaf l), (SELECT array_agg(l.col) FROM leaf l),
                                 (SELECT array_agg(l.v) FROM leaf l), lvl, k, (SELECT n.a FROM nest n),
                                 -- what an analyst counts from the de-identified records: all but the payments
                                 CASE WHEN reader_counts_records
                                      THEN ARRAY[1, 2, 3, 4] || coalesce((SELECT array_agg(5 + 6 * g.j + x.c) FROM g CROSS JOIN unnest(ARRAY[0, 1, 3, 4, 5]) x (c)), '{}') END) c
$$;
COMMENT ON FUNCTION sp_internal.registry_area_cells(text[], integer, integer, boolean) IS 'The registry''s figures of every area of a level (national) with the cells to withhold for k (sp_internal.area_counts): households (active), pmt_assessed, mpi_assessed, mpi_poor (programme NULL), and per programme given: eligible (an open enrolment), enrolled, paid (in its latest sent or closed cycle), enrolled_assessed (with an MPI assessment), enrolled_not_poor, poor_not_enrolled (MPI-poor) - each nested in the count it is a part of, so that no difference of two published counts gives a withheld one. reader_counts_records: the reader (an analyst) counts all but paid from the de-identified records they read, so those are known (never withheld to protect another; not shown from 1 to k - 1). Callers that publish the same counts ask for every programme (sp.programme by name), so that they publish one pattern.';

-- The threshold of the registry's figures: coverage's own setting, for
-- analysts at least their min_cell_size; the monitoring report uses the
-- same one for analysts (one threshold, one pattern).
CREATE FUNCTION sp_internal.registry_cells_k()
    RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
RETURN greatest(sp_internal.privacy_setting('coverage_min_cell_size'), sp_internal.suppression_threshold());
COMMENT ON FUNCTION sp_internal.registry_cells_k() IS 'The small-cell threshold of the registry''s figures by area: the privacy setting coverage_min_cell_size, for analysts at least min_cell_size.';

CREATE FUNCTION sp.coverage_by_area(programme text, level integer, area text DEFAULT NULL)
    RETURNS TABLE (area_code text, area_name text, parent_code text, registered bigint, eligible bigint, enrolled bigint,
                   paid bigint, coverage_rate numeric, suppressed text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
AS $$
#variable_conflict use_column
DECLARE
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
    RETURN QUERY
    WITH pivot AS (
        SELECT c.area_code,
               max(c.v) FILTER (WHERE c.measure = 'households' AND NOT c.hidden) AS registered,
               max(c.v) FILTER (WHERE c.measure = 'eligible' AND NOT c.hidden) AS eligible,
               max(c.v) FILTER (WHERE c.measure = 'enrolled' AND NOT c.hidden) AS enrolled,
               max(c.v) FILTER (WHERE c.measure = 'paid' AND NOT c.hidden) AS paid,
               coalesce(array_agg(CASE c.measure WHEN 'households' THEN 'registered' ELSE c.measure END
                                  ORDER BY array_position(ARRAY['households', 'eligible', 'enrolled', 'paid'], c.measure))
                        FILTER (WHERE c.hidden), '{}') AS suppressed
        -- every programme, as the monitoring report asks: one pattern for both
        FROM sp_internal.registry_area_cells((SELECT array_agg(g.name ORDER BY g.name) FROM sp.programme g), coverage_by_area.level,
                                             sp_internal.registry_cells_k(), sp_internal.suppression_threshold() > 1) c
        WHERE (c.programme IS NULL AND c.measure = 'households')
           OR (c.programme = coverage_by_area.programme AND c.measure IN ('eligible', 'enrolled', 'paid'))
        GROUP BY c.area_code
    )
    -- every current area of the level, 0 where no household is
    SELECT a.code, a.name, a.parent_code, coalesce(p.registered, CASE WHEN p.area_code IS NULL THEN 0 END),
           coalesce(p.eligible, CASE WHEN p.area_code IS NULL THEN 0 END), coalesce(p.enrolled, CASE WHEN p.area_code IS NULL THEN 0 END),
           coalesce(p.paid, CASE WHEN p.area_code IS NULL THEN 0 END),
           -- the rate only where both counts are shown (else it would give one from the other)
           CASE WHEN p.enrolled IS NOT NULL AND p.eligible > 0 THEN round(p.enrolled::numeric / p.eligible, 4) END,
           coalesce(p.suppressed, '{}')
    FROM sp.admin_area a LEFT JOIN pivot p ON p.area_code = a.code
    WHERE a.level = coverage_by_area.level AND a.valid_to IS NULL
      AND a.code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
      AND (root IS NULL OR starts_with(a.path, root))
    ORDER BY a.code;
END
$$;
COMMENT ON FUNCTION sp.coverage_by_area(text, integer, text) IS 'Per current area of a level (in the caller''s scope, under the given area when one is given): active households registered, eligible (an open enrolment), enrolled and paid (in the programme''s latest sent or closed cycle), and the coverage rate (enrolled / eligible). Counts from 1 to k - 1 are NULL (k: privacy setting coverage_min_cell_size, default 5; for analysts at least min_cell_size), and more are withheld so that no published count gives one back, through a parent area or through a difference within the area (eligible less enrolled, registered less eligible or paid): sp_internal.registry_area_cells, decided for the whole country, whatever the caller, level or area, and the same pattern as the monitoring report''s; suppressed lists the withheld columns. Analysts get no level below deidentified_area_level. The counts cover the whole country, also households outside the caller''s scope, but only areas in the scope are returned.';

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
